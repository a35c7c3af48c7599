/*
 * show.h - look into the queue: list, show, cat, stats.
 * Read-only: nothing here claims, moves or changes a file.
 */
#ifndef QUEUE_SHOW_H
#define QUEUE_SHOW_H

#include <stddef.h>

#include "dir.h"

enum qshow_status {
	QSHOW_OK = 0,
	QSHOW_NOTFOUND,		/* no such message */
	QSHOW_BAD		/* not a readable queue file: why says */
};

int	 qshow_list(const struct queue *, int, int);
int	 qshow_show(const struct queue *, const char *);
int	 qshow_cat(const struct queue *, const char *, int, char *, size_t);
int	 qshow_stats(const struct queue *, int, int, const char *);

#endif
