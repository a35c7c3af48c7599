/*
 * clean.h - tidy the queue: stale tmp/ files, dead claims, stray
 * delivery records.
 */
#ifndef QCLEAN_H
#define QCLEAN_H

#include "dir.h"

#define QCLEAN_AGE	(36 * 3600)	/* the Maildir rule: 36 hours */

int	 qclean_run(const struct queue *);

#endif
