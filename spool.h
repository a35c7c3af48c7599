/*
 * spool.h - atomic, durable queue writes.
 * A message is written under QUEUE/tmp/ID, fsync'ed, renamed into
 * QUEUE/new/ID without overwriting, and QUEUE/new is fsync'ed.  Only
 * then may the caller answer 250.  Nothing partial ever reaches new/.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <sys/types.h>

#include <stddef.h>
#include <string.h>

#include "sbuf.h"

#define SPOOL_ID_MAX	96
#define SPOOL_WBUF	65536
#define SPOOL_AIO_MAX	64		/* fsyncs in flight at once */
#define SPOOL_AIO_WORTH	100		/* us an fsync takes to make AIO pay */
#define SPOOL_ROOM	8192		/* what spool_room() offers at least */

enum spool_step {		/* where a queue set-up failed */
	SPOOL_STEP_MKDIR = 1,
	SPOOL_STEP_OPEN,
	SPOOL_STEP_ACCESS
};

struct spool {
	int	 tmpfd;			/* QUEUE/tmp */
	int	 newfd;			/* QUEUE/new */
	int	 fd;			/* the open tmp file, or -1 */
	int	 err;			/* first write errno, 0 if none */
	unsigned seq;			/* messages begun in this process */
	char	 id[SPOOL_ID_MAX];
	char	 pid[12];		/* ".PPPPPPP." of the ids */
	char	 host[34];		/* ".HOST" ending the ids */
	size_t	 pid_len, host_len;
	unsigned long aio;		/* AIO context for fsyncs, 0: none yet */
	int	 aio_off;		/* AIO missing or refused: fsync alone */
	size_t	 wlen;
	char	 wbuf[SPOOL_WBUF];
};

int	 spool_open(struct spool *, const char *, const char *, pid_t, int *);
int	 spool_space_ok(const struct spool *, unsigned long long);
int	 spool_begin(struct spool *, const char *, size_t, long);
void	 spool_write_more(struct spool *, const void *, size_t);
void	 spool_room(struct spool *, struct sbuf *);
void	 spool_took(struct spool *, const struct sbuf *);

/* spool_write - append bytes: a small piece that fits is just copied */
static inline void
spool_write(struct spool *sp, const void *p, size_t n)
{
	if (n < SPOOL_WBUF / 2 && n <= SPOOL_WBUF - sp->wlen && sp->fd >= 0 &&
	    sp->err == 0) {
		memcpy(sp->wbuf + sp->wlen, p, n);
		sp->wlen += n;
	} else
		spool_write_more(sp, p, n);
}
int	 spool_flush(struct spool *);
int	 spool_replace(struct spool *, int, const char *);
int	 spool_quarantine(struct spool *);
int	 spool_hold(struct spool *, int, int *);
void	 spool_fsync_all(struct spool *, const int *, int *, unsigned);
int	 spool_settle(struct spool *, int, const char *, int);
int	 spool_sync_new(struct spool *);
void	 spool_unpublish(struct spool *, const char *);
void	 spool_abort(struct spool *);
void	 spool_close(struct spool *);

#endif
