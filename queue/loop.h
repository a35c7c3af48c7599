/*
 * loop.h - the delivery loop: one pass over new/, or --watch.
 * (Giving back the claims of deliverers that died is dir.h's.)
 */
#ifndef QUEUE_LOOP_H
#define QUEUE_LOOP_H

#include "deliver.h"
#include "dir.h"

int	 qloop_run(const struct queue *, const struct qdeliver_opts *);

#endif
