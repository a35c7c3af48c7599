/*
 * requeue.h - the operator's moves: requeue a failed message (its
 * record reset), hold a queued one, release a held one.
 */
#ifndef QUEUE_REQUEUE_H
#define QUEUE_REQUEUE_H

#include "dir.h"

enum qop { QOP_REQUEUE, QOP_HOLD, QOP_RELEASE };

enum qop_status {		/* qrequeue_one results, besides -1 */
	QOP_OK = 0,
	QOP_NOTFOUND,		/* no message of that name anywhere */
	QOP_ELSEWHERE,		/* not where the move starts: *where says */
	QOP_BUSY,		/* a deliverer or another command has it */
	QOP_BAD			/* not a readable queue file */
};

int	 qrequeue_one(const struct queue *, enum qop, const char *,
	    enum qwhere *);

#endif
