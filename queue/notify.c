/*
 * notify.c - deliver's reports (DSNs, RFC 3461): which recipients one
 * covers, and writing it exactly once, however the deliverer dies.
 *
 * After each attempt, one report covers every recipient that has news
 * its sender asked for (NOTIFY) and no report yet: failed (FAILURE, or
 * no NOTIFY), delivered (SUCCESS, with --final and without --dsn
 * notify, where the command is told instead), and with --warn-after,
 * once, those still pending (DELAY, or no NOTIFY).  None for the null
 * sender: a report that fails is never reported on.
 *
 * The steps, each durable before the next: (1) the report is written
 * and staged in tmp/ under a fresh id (commit.c); (2) the message's
 * record names that id ("Dsn: ID") and marks the recipients reported;
 * (3) the report is published into new/; only then does the caller
 * move the message on.  A crash before (2) leaves the outcome unknown
 * to the record and a staged file nobody names: the next try runs the
 * command again and reports once (the orphan is clean's after 36 h).
 * After (2), the next try finds the named file still in tmp/ (crash
 * before (3): publish it now) or gone (published; perhaps delivered
 * already): never a second report, never none.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commit.h"
#include "log.h"
#include "notify.h"
#include "report.h"
#include "sbuf.h"

#define HOST_MAX	256

/* wants - does a recipient with these NOTIFY bits want this news? */
static int
wants(const struct qdeliver_opts *o, unsigned notify, enum qreport_action a)
{
	switch (a) {
	case QR_FAILED:
		return notify == 0 || (notify & NOTIFY_FAILURE);
	case QR_DELAYED:
		return notify == 0 || (notify & NOTIFY_DELAY);
	default:	/* QR_DELIVERED: only a final delivery may say so */
		return o->final && !(o->dsn & QDSN_NOTIFY) &&
		    (notify & NOTIFY_SUCCESS);
	}
}

/* delay_due - is the one delay warning due now? */
static int
delay_due(const struct qnotice *n)
{
	return n->o->warn_after > 0 && n->st->warned == 0 &&
	    n->now - qstate_since(n->st, n->env->arrival) >=
	    (long long)n->o->warn_after;
}

/* pick - the recipients this report covers, in envelope order: how many */
static size_t
pick(const struct qnotice *n, struct qreport_sel *sel)
{
	const struct qstate *st = n->st;
	int delay = delay_due(n);
	enum qreport_action a;
	size_t i, k = 0;

	for (i = 0; i < st->nrcpt; i++) {
		if (st->rs[i] == RS_PENDING && !delay)
			continue;
		if (st->rs[i] != RS_PENDING && st->rep[i])
			continue;
		a = st->rs[i] == RS_FAILED ? QR_FAILED :
		    st->rs[i] == RS_DELIVERED ? QR_DELIVERED : QR_DELAYED;
		if (wants(n->o, n->env->rcpt[i].notify, a))
			sel[k++] = (struct qreport_sel){ i, a };
	}
	return k;
}

/*
 * host_name - the reports' host: --hostname, else ours; letters,
 * digits, '-' and '.' only ("localhost" when nothing is left)
 */
static void
host_name(const struct qdeliver_opts *o, char *out, size_t cap)
{
	char raw[HOST_MAX];
	const char *p;
	struct sbuf sb;

	if (o->hostname != NULL)
		p = o->hostname;
	else if (gethostname(raw, sizeof raw) == 0) {
		raw[sizeof raw - 1] = '\0';
		p = raw;
	} else
		p = "";
	sb_init(&sb, out, cap);
	for (; *p != '\0'; p++)
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.')
			sb_add(&sb, p, 1);
	if (sb.len == 0)
		sb_str(&sb, "localhost");
}

/* kind - what a report is, for the log: its worst news */
static const char *
kind(const struct qreport_sel *sel, size_t k)
{
	size_t i;
	int delayed = 0;

	for (i = 0; i < k; i++) {
		if (sel[i].action == QR_FAILED)
			return "failure";
		delayed |= sel[i].action == QR_DELAYED;
	}
	return delayed ? "delay" : "success";
}

/* log_report - one line per report written (or found and published) */
static void
log_report(const struct qnotice *n, const char *event, const char *id,
    const char *what, size_t k)
{
	struct qlog ql;

	qlog_begin(&ql, event);
	qlog_str(&ql, "id", n->name);
	qlog_str(&ql, "dsn", id);
	if (what != NULL) {
		qlog_str(&ql, "type", what);
		qlog_num(&ql, "rcpts", k);
	}
	qlog_str(&ql, "to", n->env->sender);
	qlog_end(&ql);
}

/* stage - write the report into tmp/ under a fresh id: 0, or -1 */
static int
stage(const struct qnotice *n, const struct qreport_sel *sel, size_t k,
    struct qcommit *c)
{
	char host[HOST_MAX];
	struct qreport r;

	host_name(n->o, host, sizeof host);
	r = (struct qreport){ host, n->name, n->env, n->st, n->fd, n->now,
	    qstate_since(n->st, n->env->arrival) + (long long)n->o->max_age,
	    n->delay_status, n->delay_diag, sel, k };
	c->id[0] = '\0';
	if (qcommit_begin(n->q, host, c) < 0)
		return -1;
	if (qreport_write(c->fd, c->id, &r) < 0) {
		qcommit_abort(n->q, c);
		return -1;
	}
	return qcommit_stage(n->q, c);
}

/* mark - the record says: these are reported, by report id (or undo) */
static void
mark(struct qstate *st, const struct qreport_sel *sel, size_t k, int on)
{
	size_t i;

	for (i = 0; i < k; i++)
		if (sel[i].action != QR_DELAYED)
			st->rep[sel[i].idx] = (unsigned char)on;
}

/*
 * record - step (2): the record names the staged report and marks its
 * recipients, durably; on failure nothing is marked and it is dropped
 */
static int
record(const struct qnotice *n, const struct qreport_sel *sel, size_t k,
    struct qcommit *c)
{
	struct qstate *st = n->st;
	char dsn[sizeof st->dsn];
	long long warned = st->warned;
	struct sbuf sb;
	int saved;

	memcpy(dsn, st->dsn, sizeof dsn);
	mark(st, sel, k, 1);
	if (delay_due(n))
		st->warned = n->now;
	sb_init(&sb, st->dsn, sizeof st->dsn);
	sb_str(&sb, c->id);
	if (qstate_save(n->q->fd[Q_STATE], n->name, st, n->env) == 0)
		return 0;
	saved = errno;
	mark(st, sel, k, 0);
	st->warned = warned;
	memcpy(st->dsn, dsn, sizeof dsn);
	qcommit_abort(n->q, c);
	errno = saved;
	return -1;
}

/*
 * qnotify_send - write the report due after an attempt, if any, and
 * record it in the message's state: 0 (written, or none due), or -1
 * (errno; nothing is marked, so the next try writes it; or it is
 * recorded and staged, and the next try publishes it)
 */
int
qnotify_send(const struct qnotice *n)
{
	struct qreport_sel *sel;
	struct qcommit c;
	size_t k;
	int r = 0;

	if (n->o->no_bounce || n->env->sender[0] == '\0')
		return 0;
	if ((sel = calloc(n->st->nrcpt + 1, sizeof *sel)) == NULL)
		return -1;
	if ((k = pick(n, sel)) > 0) {
		if (stage(n, sel, k, &c) < 0 || record(n, sel, k, &c) < 0 ||
		    qcommit_publish(n->q, c.id) < 0)
			r = -1;
		else
			log_report(n, "report", c.id, kind(sel, k), k);
	}
	free(sel);
	return r;
}

/*
 * qnotify_recover - the record names a report: if it is still staged
 * (the deliverer died before step (3)), publish it now.  0, or -1
 * (errno: it stays staged for the next try)
 */
int
qnotify_recover(const struct qnotice *n)
{
	if (n->st->dsn[0] == '\0' || !qcommit_staged(n->q, n->st->dsn))
		return 0;
	if (qcommit_publish(n->q, n->st->dsn) < 0)
		return -1;
	log_report(n, "report-recovered", n->st->dsn, NULL, 0);
	return 0;
}
