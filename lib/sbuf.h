/*
 * sbuf.h - bounded string building.
 * The one append helper: every write is checked against the buffer's
 * size and a truncation is remembered, never silent.  No allocation.
 */
#ifndef SBUF_H
#define SBUF_H

#include <stddef.h>
#include <string.h>
#include <time.h>

struct sbuf {
	char	*p;
	size_t	 cap;		/* bytes at p, one kept for the NUL */
	size_t	 len;
	int	 overflow;	/* something did not fit */
};

void	 sb_init(struct sbuf *, char *, size_t);
void	 sb_add_cut(struct sbuf *, const char *, size_t);

/* sb_add - append n bytes, or as many as fit and flag the overflow */
static inline void
sb_add(struct sbuf *sb, const char *s, size_t n)
{
	if (n > sb->cap - 1 - sb->len) {
		sb_add_cut(sb, s, n);
		return;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

/* sb_str - append a C string */
static inline void
sb_str(struct sbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}
void	 sb_num(struct sbuf *, unsigned long long);
void	 sb_num_padded(struct sbuf *, unsigned long long, size_t);
void	 sb_hex(struct sbuf *, const unsigned char *, size_t);
void	 sb_escaped(struct sbuf *, const char *, size_t);
void	 sb_date(struct sbuf *, time_t);

#endif
