/*
 * clean.h - tidy the queue: stale tmp/ files, dead claims, stray
 * delivery records.
 */
#ifndef QUEUE_CLEAN_H
#define QUEUE_CLEAN_H

#include "dir.h"

int	 qclean_run(const struct queue *);

#endif
