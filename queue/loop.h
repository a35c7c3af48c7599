/*
 * loop.h - the delivery loop: one pass over new/, or --watch; and
 * giving back the claims of deliverers that died.
 */
#ifndef QLOOP_H
#define QLOOP_H

#include "deliver.h"
#include "dir.h"

int	 qloop_run(const struct queue *, const struct qdeliver_opts *);
int	 qloop_recover(const struct queue *);

#endif
