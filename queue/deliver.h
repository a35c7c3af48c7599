/*
 * deliver.h - deliver one message: claim, run the command, record.
 * The outcome is the file's next place: gone, failed/, corrupt/, or back
 * in new/ with a retry time; and a report (DSN) to the sender when one
 * is due (notify.c).
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
	int	 no_bounce;		/* write no reports (DSNs) */
	int	 final;			/* the command delivers to mailboxes */
	unsigned long warn_after;	/* a delay warning then; 0: never */
	const char *hostname;		/* the reports' host; NULL: ours */
};

enum { QD_DONE, QD_SKIP, QD_STOP };	/* qdeliver_one results */

int	 qdeliver_one(const struct queue *, const struct qdeliver_opts *,
	    const char *, long long *);

#endif
