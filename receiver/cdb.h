/*
 * cdb.h - read-only lookups in a constant database (the cdb format of
 * djb's cdb, tinycdb, tcprules and qmail).  Safe on corrupt files.
 */
#ifndef CDB_H
#define CDB_H

#include <stddef.h>
#include <sys/types.h>

#define CDB_HEADER_PEEK	2048	/* the header: 256 table pointers */

struct cdb {
	int	 fd;
	off_t	 size;
};

int	 cdb_open(struct cdb *, int);
int	 cdb_find(const struct cdb *, const char *, size_t);

#endif
