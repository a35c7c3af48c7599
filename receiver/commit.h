/*
 * commit.h - group commit: complete messages whose "250 queued" waits
 * in the reply buffer until, before the replies go out, each file is
 * fsync'ed and renamed into new/ and one fsync of new/ covers them all.
 * The session calls commit_settle() before anything would flush.
 */
#ifndef COMMIT_H
#define COMMIT_H

#include <stddef.h>

#include "addr.h"
#include "io.h"
#include "log.h"
#include "reply.h"
#include "spool.h"

#define COMMIT_MAX	64	/* messages held at once */

/* one complete message, durable only once settled */
struct held {
	char	 id[SPOOL_ID_MAX];
	int	 fd;			/* the complete file, not yet fsync'ed */
	int	 err;			/* why settling it failed, 0 if not */
	size_t	 off, len;		/* its 250 in the reply buffer */
	unsigned nrcpt;			/* for the "queued" log line */
	unsigned long long size;
	size_t	 sender_len;
	char	 sender[ADDR_PATH_MAX + 1];
};

struct commit {
	unsigned n;
	struct held e[COMMIT_MAX];
};

/* what settling did, for the session's counters */
struct commit_result {
	unsigned queued, refused;
};

/* commit_pending - messages are held: settle before any flush */
static inline int
commit_pending(const struct commit *c)
{
	return c->n > 0;
}

/* commit_full - no room to hold one more */
static inline int
commit_full(const struct commit *c)
{
	return c->n == COMMIT_MAX;
}

struct held *commit_hold(struct commit *, const char *, int);
enum reply_id commit_spool_reply(int);
void	 commit_log_error(struct logger *, const char *, int);
int	 commit_settle(struct commit *, struct spool *, struct io *,
	    struct logger *, struct commit_result *);

#endif
