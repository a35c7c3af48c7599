/*
 * commit.h - put a new message into the queue the way smtpd does: a
 * fresh id, the file written in tmp/, fsync, then renamed into new/ and
 * new/ synced.  Split in two (stage, publish) so that a caller can
 * record the id between them: what makes a report exactly-once.
 */
#ifndef QUEUE_COMMIT_H
#define QUEUE_COMMIT_H

#include "dir.h"

#define QCOMMIT_ID_MAX	96	/* as smtpd's SPOOL_ID_MAX */

struct qcommit {
	char	 id[QCOMMIT_ID_MAX];
	int	 fd;			/* tmp/ID being written, or -1 */
};

int	 qcommit_begin(const struct queue *, const char *, struct qcommit *);
int	 qcommit_stage(const struct queue *, struct qcommit *);
int	 qcommit_publish(const struct queue *, const char *);
void	 qcommit_abort(const struct queue *, struct qcommit *);
int	 qcommit_staged(const struct queue *, const char *);
int	 qcommit_wanted(const struct queue *, const char *);

#endif
