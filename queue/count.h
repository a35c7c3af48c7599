/*
 * count.h - the queue's counters (QUEUE/counters): how many messages
 * each move of the queue layer has made since the queue began, so that
 * what left the queue can still be counted (stats --prometheus).
 */
#ifndef QUEUE_COUNT_H
#define QUEUE_COUNT_H

enum qcount {
	QC_DELIVERED,		/* claim/ -> removed: every recipient has it */
	QC_FAILED,		/* claim/ -> failed/ */
	QC_DEFERRED,		/* claim/ -> new/: put back for a later try */
	QC_CORRUPT,		/* -> corrupt/: not a queue file */
	QC_RECOVERED,		/* a dead deliverer's claim/ -> new/ */
	QC_REQUEUED,		/* failed/ -> new/ (requeue) */
	QC_HELD,		/* new/ -> hold/ (hold) */
	QC_RELEASED,		/* hold/ -> new/ (release) */
	QC__N
};

extern const char *const qcount_name[QC__N];

void	 qcount_add(int, enum qcount);
int	 qcount_read(int, unsigned long long [QC__N]);

#endif
