/*
 * state.h - the delivery record of a queued message (QUEUE/state/ID).
 * Attempts, times, the last error, why it failed, and which recipients
 * are done; written atomically so that a retry never re-sends to them.
 * Also what the reports (DSNs) need: each failed recipient's status,
 * which recipients a report covered, the last report's id.
 */
#ifndef QUEUE_STATE_H
#define QUEUE_STATE_H

#include <stddef.h>

#include "spoolfmt.h"

#define QSTATE_TEXT_MAX	256
#define QSTATE_ID_MAX	128		/* a report's id (Dsn:) */

enum rcpt_state { RS_PENDING = 0, RS_DELIVERED, RS_FAILED };

struct qstate {
	unsigned long attempts;
	long long first_try;		/* seconds since the epoch, 0: none */
	long long last_try;
	long long next_try;
	long long done;			/* when it went to failed/corrupt */
	long long requeued;		/* when requeue gave it back, 0: never */
	char	 last_error[QSTATE_TEXT_MAX];	/* the last temporary one */
	char	 final_error[QSTATE_TEXT_MAX];	/* the last permanent one */
	char	 reason[QSTATE_TEXT_MAX];	/* why it failed */
	size_t	 nrcpt;
	unsigned char *rs;		/* enum rcpt_state per recipient */
	char	*failed;		/* "Failed: N <addr> why\n" lines */
	size_t	 failed_len, failed_cap;
	/* the reports (DSNs, notify.c): Reported, Status, Dsn, Warned */
	unsigned char *rep;		/* 1: in a report already */
	size_t	*stat_at;		/* offset + 1 of its Status value */
	char	*stat;			/* "Status: N X.Y.Z DIAG\n" lines */
	size_t	 stat_len, stat_cap;
	char	 dsn[QSTATE_ID_MAX];	/* the last report's queue id */
	long long warned;		/* when the delay warning went */
};

int	 qstate_init(struct qstate *, size_t);
int	 qstate_load(int, const char *, struct qstate *);
int	 qstate_peek(int, const char *, long long *);
int	 qstate_peek_attempts(int, const char *, unsigned long long *);
int	 qstate_save(int, const char *, const struct qstate *,
	    const struct spoolfmt_env *);
int	 qstate_remove(int, const char *);
int	 qstate_fail(struct qstate *, size_t, const char *, const char *);
size_t	 qstate_count(const struct qstate *, enum rcpt_state);
int	 qstate_status(struct qstate *, size_t, const char *, const char *);
int	 qstate_status_of(const struct qstate *, size_t, char *, size_t,
	    char *, size_t);
void	 qstate_text(char *, size_t, const char *, size_t);
void	 qstate_free(struct qstate *);
void	 qstate_requeue(struct qstate *, long long);
long long qstate_since(const struct qstate *, long long);

#endif
