/*
 * metrics.h - the queue's figures, as stats counts them, and their
 * Prometheus text form, written atomically for node_exporter's
 * textfile collector (show.c's own).
 */
#ifndef QUEUE_METRICS_H
#define QUEUE_METRICS_H

#include <stddef.h>

#include "count.h"

enum qstat {			/* the states stats tells apart */
	QS_NEW,			/* in new/, not tried yet */
	QS_DEFERRED,		/* in new/, tried: waiting for a retry */
	QS_CLAIMED,		/* in claim/: being delivered */
	QS_HELD,		/* in hold/ */
	QS_FAILED,		/* in failed/ */
	QS_CORRUPT,		/* in corrupt/ */
	QS_TMP,			/* in tmp/: being written by smtpd */
	QS__N
};

struct qfigures {
	size_t	 n[QS__N];
	unsigned long long bytes[QS__N];	/* file sizes */
	long long oldest[QS__N];	/* oldest mtime, 0: none */
	size_t	 stale_tmp;		/* tmp/ files past 36 hours */
	unsigned long long count[QC__N];	/* the queue's counters */
	long long now;
};

extern const char *const qstat_name[QS__N];

int	 qmetrics_write(const struct qfigures *, const char *);

#endif
