/*
 * notify.h - deliver's reports (DSNs): which recipients one covers,
 * and writing it exactly once, however the deliverer dies.
 */
#ifndef QUEUE_NOTIFY_H
#define QUEUE_NOTIFY_H

#include "deliver.h"
#include "spoolfmt.h"
#include "state.h"
#include "status.h"

/* one message after an attempt, as a report needs it */
struct qnotice {
	const struct queue *q;
	const struct qdeliver_opts *o;
	const char *name;		/* the message's id */
	int	 fd;			/* its queue file */
	const struct spoolfmt_env *env;
	struct qstate *st;		/* its record, saved here */
	long long now;
	const char *delay_status;	/* the last temporary error's */
	const char *delay_diag;
};

int	 qnotify_recover(const struct qnotice *);
int	 qnotify_send(const struct qnotice *);

#endif
