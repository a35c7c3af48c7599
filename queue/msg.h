/*
 * msg.h - one queued message: its envelope, read from an open file,
 * and its body copied out with CRLF or LF line endings.
 */
#ifndef QUEUE_MSG_H
#define QUEUE_MSG_H

#include <sys/stat.h>
#include <sys/types.h>

#include "spoolfmt.h"

#define QMSG_WHY_MAX	160

struct qmsg {
	char	*buf;			/* the start of the file */
	size_t	 len, cap;
	struct stat st;
	struct spoolfmt_env env;	/* valid after SPOOLFMT_OK */
	struct spoolfmt_error err;
};

int	 qmsg_load(struct qmsg *, int);
void	 qmsg_why(const struct qmsg *, int, char *, size_t);
void	 qmsg_free(struct qmsg *);
size_t	 qmsg_lf(const char *, size_t, char *, int *);
int	 qmsg_copy(int, off_t, int, int);

#endif
