/*
 * sbuf.h - bounded string building.
 * The one append helper: every write is checked against the buffer's
 * size and a truncation is remembered, never silent.  No allocation.
 */
#ifndef SBUF_H
#define SBUF_H

#include <stddef.h>
#include <time.h>

struct sbuf {
	char	*p;
	size_t	 cap;		/* bytes at p, one kept for the NUL */
	size_t	 len;
	int	 overflow;	/* something did not fit */
};

void	 sb_init(struct sbuf *, char *, size_t);
void	 sb_add(struct sbuf *, const char *, size_t);
void	 sb_str(struct sbuf *, const char *);
void	 sb_num(struct sbuf *, unsigned long long);
void	 sb_num_padded(struct sbuf *, unsigned long long, size_t);
void	 sb_hex(struct sbuf *, const unsigned char *, size_t);
void	 sb_escaped(struct sbuf *, const char *, size_t);
void	 sb_date(struct sbuf *, time_t);

#endif
