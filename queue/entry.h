/*
 * entry.h - one queued message as list, show and stats see it, and
 * the safe printing of what comes from queue files (text and JSON).
 */
#ifndef QUEUE_ENTRY_H
#define QUEUE_ENTRY_H

#include <stddef.h>
#include <stdio.h>

#include "dir.h"
#include "msg.h"
#include "state.h"

/* a message, its envelope (when valid) and its delivery record */
struct qentry {
	const char *name;
	enum qwhere where;
	int	 status;		/* a spoolfmt status */
	int	 has_state;
	struct qmsg m;
	struct qstate st;
	char	 why[QMSG_WHY_MAX];	/* when status is not OK */
};

void	 qentry_fmt_age(char *, size_t, long long);
void	 qentry_fmt_time(char *, size_t, long long);
void	 qentry_put(FILE *, const char *);
void	 qentry_json(FILE *, const char *);
int	 qentry_load(const struct queue *, enum qwhere, int, const char *,
	    struct qentry *);
int	 qentry_open(const struct queue *, enum qwhere, const char *,
	    struct qentry *);
void	 qentry_free(struct qentry *);
const char *qentry_state(const struct qentry *);
long long qentry_age(const struct qentry *, long long);
long long qentry_size(const struct qentry *);

#endif
