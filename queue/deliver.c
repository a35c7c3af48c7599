/*
 * deliver.c - deliver one message: claim, run the command, record.
 * Each due message in new/ is claimed, handed to the command (pending
 * recipients together, or one by one), then removed (all delivered),
 * moved to failed/ (a recipient failed for good, or --max-age passed),
 * or put back with a later Next-Try; unreadable files go to corrupt/.
 * Before the message moves on, the report (DSN) its sender asked for
 * is written (notify.c); a failed recipient's RFC 3463 status is
 * recorded with it (status.c).  Every outcome is logged here, once.
 * At least once, never lost.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deliver.h"
#include "exec.h"
#include "log.h"
#include "msg.h"
#include "notify.h"
#include "state.h"
#include "sbuf.h"
#include "status.h"

#define CHUNK_MAX	1000	/* recipients per run of the command */

struct job {
	const struct queue *q;
	const struct qdeliver_opts *o;
	const char *name;
	int	 fd;			/* the claimed file, locked */
	int	 parsed;		/* m.env is valid */
	long long now;
	struct qmsg m;
	struct qstate st;
	size_t	 pending;		/* recipients still to do */
	int	 changed;		/* st has news not yet saved */
	int	 noexec;		/* the command cannot be run */
	char	 temp[QSTATE_TEXT_MAX];	/* the last temporary error */
	char	 perm[QSTATE_TEXT_MAX];	/* the first permanent one */
	char	 tstatus[QSTATUS_MAX];	/* the last temporary error's status */
	char	 tdiag[QSTATE_TEXT_MAX];	/* and Diagnostic-Code */
};

/* log_msg - the outcome for a message, with retry delay and reason */
static void
log_msg(const struct job *j, const char *event, long long retry,
    const char *reason)
{
	const struct spoolfmt_env *env = &j->m.env;
	struct qlog ql;

	qlog_begin(&ql, event);
	qlog_str(&ql, "id", j->name);
	if (j->parsed) {
		qlog_str(&ql, "from", env->sender[0] ? env->sender : "<>");
		qlog_num(&ql, "rcpts", env->nrcpt);
	}
	if (j->st.attempts > 0)
		qlog_num(&ql, "attempts", j->st.attempts);
	if (retry >= 0)
		qlog_num(&ql, "retry_in", (unsigned long long)retry);
	if (reason != NULL)
		qlog_str(&ql, "reason", reason);
	qlog_end(&ql);
}

/* log_rcpt - one recipient's outcome (with --per-recipient) */
static void
log_rcpt(const struct job *j, const char *event, const char *rcpt,
    const char *reason)
{
	struct qlog ql;

	qlog_begin(&ql, event);
	qlog_str(&ql, "id", j->name);
	qlog_str(&ql, "rcpt", rcpt);
	qlog_str(&ql, "reason", reason);
	qlog_end(&ql);
}

/* save - write the record; a failure is logged, delivery goes on */
static void
save(struct job *j)
{
	if (qstate_save(j->q->fd[Q_STATE], j->name, &j->st, &j->m.env) < 0)
		qlog_error(j->name, "write state", errno);
	j->changed = 0;
}

/* release - put the claimed message back into new/ */
static void
release(struct job *j)
{
	if (qdir_move(j->q, j->name, Q_CLAIM, Q_NEW, 0) < 0)
		qlog_error(j->name, "return to new/", errno);
}

/* set_aside - a file that is no queue file: to corrupt/, with why */
static void
set_aside(struct job *j, enum qwhere from, const char *why)
{
	if (qstate_init(&j->st, 0) == 0) {
		qstate_text(j->st.reason, sizeof j->st.reason, why,
		    strlen(why));
		j->st.done = j->now;
		save(j);
	}
	if (qdir_move(j->q, j->name, from, Q_CORRUPT, 1) < 0) {
		qlog_error(j->name, "move to corrupt/", errno);
		return;
	}
	log_msg(j, "bad-file", -1, why);
}

/* load_state - the record of earlier attempts: 0, or -1 (logged) */
static int
load_state(struct job *j)
{
	int r;

	if (qstate_init(&j->st, j->m.env.nrcpt) < 0) {
		qlog_error(j->name, "read state", errno);
		return -1;
	}
	r = qstate_load(j->q->fd[Q_STATE], j->name, &j->st);
	if (r == -1)
		qlog_error(j->name, "read state", errno);
	if (r == -2)
		log_msg(j, "warning", -1, "malformed state file ignored: "
		    "recipients may get the message again");
	j->pending = qstate_count(&j->st, RS_PENDING);
	return r == -1 ? -1 : 0;
}

/*
 * fail_rcpt - recipient i failed for good: why (for people), and the
 * status and Diagnostic-Code a report gives
 */
static void
fail_rcpt(struct job *j, size_t i, const char *why, const char *code,
    const char *diag)
{
	if (qstate_fail(&j->st, i, j->m.env.rcpt[i].addr, why) < 0 ||
	    qstate_status(&j->st, i, code, diag) < 0)
		qlog_error(j->name, "record a failed recipient", errno);
	if (j->perm[0] == '\0')
		qstate_text(j->perm, sizeof j->perm, why, strlen(why));
	j->pending--;
	j->changed = 1;
}

/*
 * mark_unsafe - with a %s/%r word not behind "--", an address that
 * starts with '-' could be taken for an option: never pass it
 */
static void
mark_unsafe(struct job *j)
{
	static const char why[] = "address starts with '-' and --command "
	    "has no \"--\" before its placeholder";
	const struct qcmd *c = &j->o->cmd;
	const struct spoolfmt_env *env = &j->m.env;
	int snd = c->sender_unsafe && env->sender[0] == '-';
	size_t i;

	for (i = 0; i < env->nrcpt; i++)
		if (j->st.rs[i] == RS_PENDING && (snd ||
		    (c->rcpt_unsafe && env->rcpt[i].addr[0] == '-')))
			fail_rcpt(j, i, why, snd ? "5.1.7" : "5.1.3",
			    "x-unix; address starts with '-'");
}

/*
 * next_chunk - from recipient *i on, up to max pending recipients for
 * one run (all with the same NOTIFY when it is passed as -N)
 */
static size_t
next_chunk(const struct job *j, size_t *i, size_t *idx, size_t max)
{
	const struct spoolfmt_rcpt *r = j->m.env.rcpt;
	size_t n = 0;

	for (; *i < j->m.env.nrcpt && n < max; (*i)++) {
		if (j->st.rs[*i] != RS_PENDING)
			continue;
		if (n > 0 && (j->o->dsn & QDSN_NOTIFY) &&
		    r[*i].notify != r[idx[0]].notify)
			break;
		idx[n++] = *i;
	}
	return n;
}

/*
 * outcome_status - a run's status of class cls and Diagnostic-Code:
 * from what the command printed last, else from why it failed
 */
static void
outcome_status(const struct qresult *res, char cls, char *code,
    size_t ccap, char *diag, size_t dcap)
{
	qstatus_pick(code, ccap, cls, res->code, res->line);
	qstatus_diag(diag, dcap, res->line[0] != '\0' ? res->line :
	    res->why);
}

/* record - what one run means for its recipients */
static void
record(struct job *j, const size_t *idx, size_t n, const struct qresult *res)
{
	char code[QSTATUS_MAX], diag[QSTATE_TEXT_MAX];
	size_t i;

	for (i = 0; i < n && res->kind == QX_OK; i++) {
		j->st.rs[idx[i]] = RS_DELIVERED;
		j->pending--;
		j->changed = 1;
	}
	if (res->kind == QX_PERM)
		outcome_status(res, '5', code, sizeof code, diag, sizeof diag);
	for (i = 0; i < n && res->kind == QX_PERM; i++)
		fail_rcpt(j, idx[i], res->why, code, diag);
	if (res->kind == QX_TEMP || res->kind == QX_NOEXEC) {
		qstate_text(j->temp, sizeof j->temp, res->why,
		    strlen(res->why));
		outcome_status(res, '4', j->tstatus, sizeof j->tstatus,
		    j->tdiag, sizeof j->tdiag);
	}
	if (res->kind == QX_NOEXEC)
		j->noexec = 1;
	if (j->o->per_rcpt && res->kind != QX_OK)
		log_rcpt(j, res->kind == QX_PERM ? "rcpt-failed" :
		    "rcpt-deferred", j->m.env.rcpt[idx[0]].addr, res->why);
}

/* run_chunk - one run of the command for recipients idx[0..n) */
static void
run_chunk(struct job *j, const size_t *idx, size_t n)
{
	const struct spoolfmt_env *env = &j->m.env;
	const char *rcpt[CHUNK_MAX], *auth;
	char authbuf[QCMD_AUTH_MAX + 1];
	struct qresult res;
	struct qargv av;
	struct qcall call;
	struct qrun run;
	struct sbuf sb;
	struct qdsn d;
	size_t i;

	for (i = 0; i < n; i++)
		rcpt[i] = env->rcpt[idx[i]].addr;
	qcmd_dsn(j->o->cmd.placeholders ? 0 : j->o->dsn,
	    env->rcpt[idx[0]].notify, env, &d);
	auth = qcmd_auth(env, authbuf, sizeof authbuf);
	call = (struct qcall){ env->sender, rcpt, n, d.opt, d.n,
	    env->requiretls, auth };
	run = (struct qrun){ j->fd, (off_t)env->head_len,
	    j->o->crlf || env->body == BODY_BINARYMIME,	/* never rewritten */
	    j->o->timeout, env->sender, j->o->per_rcpt ? rcpt[0] : NULL,
	    env->requiretls, env->auth_user[0] ? env->auth_user : NULL,
	    strcmp(auth, "<>") != 0 ? env->auth_param : NULL,
	    env->body != BODY_NONE ? addr_body_name(env->body) : NULL };
	if (qcmd_argv(&j->o->cmd, &call, &av) < 0) {
		res.kind = QX_TEMP;
		res.code = -1;
		res.line[0] = '\0';
		sb_init(&sb, res.why, sizeof res.why);
		sb_str(&sb, "out of memory");
	} else
		qexec_run(av.v, &run, &res);
	qcmd_argv_free(&av);
	record(j, idx, n, &res);
}

/* attempt - run the command for every pending recipient */
static void
attempt(struct job *j)
{
	size_t idx[CHUNK_MAX], n, i = 0;
	size_t max = j->o->per_rcpt ? 1 : CHUNK_MAX;

	mark_unsafe(j);
	while (!j->noexec && (n = next_chunk(j, &i, idx, max)) > 0) {
		run_chunk(j, idx, n);
		if (j->changed && j->pending > 0 && i < j->m.env.nrcpt)
			save(j);	/* a crash now must not re-send */
	}
}

/* finish_ok - every recipient has it: remove message and record */
static void
finish_ok(struct job *j)
{
	if (qdir_remove(j->q, Q_CLAIM, j->name) < 0) {
		qlog_error(j->name, "remove delivered message", errno);
		return;
	}
	if (qstate_remove(j->q->fd[Q_STATE], j->name) < 0)
		qlog_error(j->name, "remove state", errno);
	log_msg(j, "delivered", -1, NULL);
}

/*
 * failed_event - how a failure is logged: a message from the null
 * sender (a report, ours or another's) cannot be reported on; that
 * is the postmaster's to know (unless --no-bounce: no reports at all)
 */
static const char *
failed_event(const struct job *j)
{
	return j->m.env.sender[0] == '\0' && !j->o->no_bounce ?
	    "bounce-failed" : "failed";
}

/* finish_failed - no recipient pending, some failed: to failed/ */
static void
finish_failed(struct job *j)
{
	struct sbuf sb;
	size_t nfail = qstate_count(&j->st, RS_FAILED);

	sb_init(&sb, j->st.reason, sizeof j->st.reason);
	sb_num(&sb, nfail);
	sb_str(&sb, " of ");
	sb_num(&sb, j->m.env.nrcpt);
	sb_str(&sb, " recipients failed: ");
	sb_str(&sb, j->perm[0] ? j->perm : "see Failed lines");
	j->st.done = j->now;
	save(j);
	if (qdir_move(j->q, j->name, Q_CLAIM, Q_FAILED, 1) < 0) {
		qlog_error(j->name, "move to failed/", errno);
		return;
	}
	log_msg(j, failed_event(j), -1, j->st.reason);
}

/*
 * expire - too old to retry: every pending recipient fails, with
 * status 4.4.7 (RFC 3463: delivery time expired) and the last error
 */
static void
expire(struct job *j)
{
	char why[QSTATE_TEXT_MAX], diag[QSTATE_TEXT_MAX];
	struct sbuf sb;
	size_t i;

	sb_init(&sb, why, sizeof why);
	sb_str(&sb, "expired after ");
	sb_num(&sb, (unsigned long long)(j->now - j->m.env.arrival));
	sb_str(&sb, " s in the queue; last error: ");
	sb_str(&sb, j->st.last_error);
	if (j->tdiag[0] != '\0')
		memcpy(diag, j->tdiag, sizeof diag);
	else
		qstatus_diag(diag, sizeof diag, j->st.last_error);
	j->perm[0] = '\0';
	for (i = 0; i < j->m.env.nrcpt; i++)
		if (j->st.rs[i] == RS_PENDING)
			fail_rcpt(j, i, why, QSTATUS_EXPIRED, diag);
}

/* next_try - exponential backoff, but a last try at the maximum age */
static long long
next_try(const struct job *j)
{
	const struct qdeliver_opts *o = j->o;
	long long limit = qstate_since(&j->st, j->m.env.arrival) +
	    (long long)o->max_age, t;
	unsigned long d = o->backoff, i;

	for (i = 1; i < j->st.attempts && d < o->backoff_max; i++)
		d = d > ULONG_MAX / 2 ? ULONG_MAX : d * 2;
	if (d > o->backoff_max)
		d = o->backoff_max;
	t = j->now + (long long)d;
	if (t > limit)
		t = limit > j->now ? limit : j->now;
	return t;
}

/* defer - some recipients must wait: schedule, put back */
static void
defer(struct job *j, long long *next)
{
	struct qstate *st = &j->st;

	st->next_try = next_try(j);
	save(j);
	release(j);
	log_msg(j, "deferred", st->next_try - j->now, st->last_error);
	if (*next == 0 || st->next_try < *next)
		*next = st->next_try;
}

/*
 * hold - the report could not be written: keep what the attempt
 * learned, put the message back, and write the report on the next try
 * (after --backoff; the command is not run again for those it reached)
 */
static void
hold(struct job *j, long long *next, int e)
{
	char why[QSTATE_TEXT_MAX];
	struct sbuf sb;

	qlog_error(j->name, "write the report (DSN)", e);
	sb_init(&sb, why, sizeof why);
	sb_str(&sb, "cannot write the report: ");
	sb_str(&sb, strerror(e));
	j->st.next_try = j->now + (long long)j->o->backoff;
	save(j);
	release(j);
	log_msg(j, "deferred", (long long)j->o->backoff, why);
	if (*next == 0 || j->st.next_try < *next)
		*next = j->st.next_try;
}

/* notice - what a report on this message needs to know */
static void
notice(struct job *j, struct qnotice *n)
{
	*n = (struct qnotice){ j->q, j->o, j->name, j->fd, &j->m.env,
	    &j->st, j->now,
	    j->tstatus[0] ? j->tstatus : "4.0.0", j->tdiag };
}

/*
 * conclude - after the attempt: expired or not, the report due (before
 * the message moves on), then done, failed, or later
 */
static void
conclude(struct job *j, long long *next)
{
	struct qnotice n;

	j->now = (long long)time(NULL);
	j->st.attempts++;
	if (j->st.first_try == 0)
		j->st.first_try = j->now;
	j->st.last_try = j->now;
	if (j->pending > 0) {
		memcpy(j->st.last_error, j->temp, sizeof j->st.last_error);
		if (j->now - qstate_since(&j->st, j->m.env.arrival) >=
		    (long long)j->o->max_age)
			expire(j);
	}
	notice(j, &n);
	if (qnotify_send(&n) < 0)
		hold(j, next, errno);
	else if (j->pending > 0)
		defer(j, next);
	else if (qstate_count(&j->st, RS_FAILED) > 0)
		finish_failed(j);
	else
		finish_ok(j);
}

/* not_due - is a Next-Try recorded that is still ahead? */
static int
not_due(const struct queue *q, const char *name, long long now,
    long long *next)
{
	long long t;

	if (qstate_peek(q->fd[Q_STATE], name, &t) < 0 || t <= now)
		return 0;
	if (*next == 0 || t < *next)
		*next = t;
	return 1;
}

/* recover - a report recorded but not yet published goes out now */
static int
recover(struct job *j)
{
	struct qnotice n;

	notice(j, &n);
	return qnotify_recover(&n);
}

/* work - the claimed message: check it, then deliver or put it back */
static void
work(struct job *j, long long *next)
{
	char why[QMSG_WHY_MAX];
	int r;

	if ((r = qmsg_load(&j->m, j->fd)) < 0) {
		qlog_error(j->name, "read", errno);
		release(j);
		return;
	}
	if (r != SPOOLFMT_OK) {
		qmsg_why(&j->m, r, why, sizeof why);
		set_aside(j, Q_CLAIM, why);
		return;
	}
	j->parsed = 1;
	if (load_state(j) < 0)
		release(j);
	else if (recover(j) < 0) {
		qlog_error(j->name, "publish the report (DSN)", errno);
		release(j);
	} else if (!j->o->force && j->st.next_try > j->now) {
		if (*next == 0 || j->st.next_try < *next)
			*next = j->st.next_try;
		release(j);
	} else {
		attempt(j);
		conclude(j, next);
	}
}

/*
 * qdeliver_one - claim new/NAME and deliver it, or put it back, or set
 * it aside; *next: the earliest retry time seen (0: none)
 */
int
qdeliver_one(const struct queue *q, const struct qdeliver_opts *o,
    const char *name, long long *next)
{
	struct job j;
	int r;

	memset(&j, 0, sizeof j);
	j.q = q;
	j.o = o;
	j.name = name;
	j.now = (long long)time(NULL);
	if (!o->force && not_due(q, name, j.now, next))
		return QD_SKIP;
	if ((r = qdir_claim(q, name, &j.fd)) == QCLAIM_LINK)
		set_aside(&j, Q_NEW, "a symbolic link");
	if (r != QCLAIM_OK) {
		if (r < 0)
			qlog_error(name, "claim", errno);
		qstate_free(&j.st);
		return QD_SKIP;
	}
	work(&j, next);
	qstate_free(&j.st);
	qmsg_free(&j.m);
	close(j.fd);		/* the lock goes only now */
	return j.noexec ? QD_STOP : QD_DONE;
}
