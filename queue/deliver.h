/*
 * deliver.h - deliver one message: claim, run the command, record.
 * The outcome is the file's next place: gone, failed/, corrupt/, or back
 * in new/ with a retry time.
 */
#ifndef QUEUE_DELIVER_H
#define QUEUE_DELIVER_H

#include "cmd.h"
#include "dir.h"

struct qdeliver_opts {
	struct qcmd cmd;
	int	 per_rcpt;		/* one run per recipient */
	int	 crlf;			/* CRLF on stdin, as stored */
	int	 force;			/* ignore Next-Try */
	int	 watch;
	unsigned dsn;			/* QDSN_* */
	unsigned timeout;		/* seconds per run */
	unsigned long backoff;		/* first retry delay, seconds */
	unsigned long backoff_max;
	unsigned long max_age;		/* then a deferred message fails */
};

enum { QD_DONE, QD_SKIP, QD_STOP };	/* qdeliver_one results */

int	 qdeliver_one(const struct queue *, const struct qdeliver_opts *,
	    const char *, long long *);

#endif
