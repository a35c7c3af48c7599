/*
 * requeue.c - the operator's moves: requeue (failed/ -> new/, with its
 * delivery record reset), hold (new/ -> hold/) and release (hold/ ->
 * new/).  A message is locked the way a deliverer locks what it
 * claims, so one that a deliverer (or another command) has is left
 * alone: QOP_BUSY.  A requeue rewrites the record before it moves the
 * file, so a crash leaves the message in failed/ (requeue it again),
 * never in new/ with the record of its failure.  Each move is logged.
 */
#include <sys/file.h>

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "msg.h"
#include "requeue.h"
#include "state.h"

/* where each operation takes a message from and to, and its event */
static const struct {
	enum qwhere from, to;
	const char *event;
} ops[] = {
	[QOP_REQUEUE] = { Q_FAILED, Q_NEW, "requeued" },
	[QOP_HOLD] = { Q_NEW, Q_HOLD, "held" },
	[QOP_RELEASE] = { Q_HOLD, Q_NEW, "released" },
};

/*
 * not_there - NAME is not where op starts: where it is (QOP_ELSEWHERE,
 * or QOP_BUSY for a hold of a message being delivered), QOP_NOTFOUND,
 * or -1 (errno)
 */
static int
not_there(const struct queue *q, enum qop op, const char *name,
    enum qwhere *where)
{
	int fd;

	if ((fd = qdir_find(q, name, where)) >= 0)
		close(fd);
	else if (errno == ENOENT)
		return QOP_NOTFOUND;
	else if (errno != ELOOP)
		return -1;
	return op == QOP_HOLD && *where == Q_CLAIM ? QOP_BUSY : QOP_ELSEWHERE;
}

/* log_move - the event of a move, with what it left behind */
static void
log_move(enum qop op, const char *name, const struct qmsg *m,
    const struct qstate *st, const char *was)
{
	struct qlog ql;

	qlog_begin(&ql, ops[op].event);
	qlog_str(&ql, "id", name);
	if (m != NULL) {
		qlog_str(&ql, "from", m->env.sender[0] ? m->env.sender : "<>");
		qlog_num(&ql, "rcpts", m->env.nrcpt);
		qlog_num(&ql, "pending", qstate_count(st, RS_PENDING));
	}
	if (was != NULL && was[0] != '\0')
		qlog_str(&ql, "reason", was);
	qlog_end(&ql);
}

/* warn_malformed - a record we cannot read is replaced by a fresh one */
static void
warn_malformed(const char *name)
{
	struct qlog ql;

	qlog_begin(&ql, "warning");
	qlog_str(&ql, "id", name);
	qlog_str(&ql, "reason", "malformed state file replaced: recipients "
	    "may get the message again");
	qlog_end(&ql);
}

/*
 * reset_state - give the record of the message m a fresh start
 * (qstate_requeue), saved durably, and log the requeue with why it had
 * failed: 0, or -1 (errno)
 */
static int
reset_state(const struct queue *q, const char *name, const struct qmsg *m)
{
	char was[QSTATE_TEXT_MAX];
	struct qstate st;
	int r;

	if (qstate_init(&st, m->env.nrcpt) < 0)
		return -1;
	if ((r = qstate_load(q->fd[Q_STATE], name, &st)) == -2)
		warn_malformed(name);
	if (r != -1) {
		memcpy(was, st.reason, sizeof was);
		qstate_requeue(&st, (long long)time(NULL));
		r = qstate_save(q->fd[Q_STATE], name, &st, &m->env);
	}
	if (r == 0)
		log_move(QOP_REQUEUE, name, m, &st, was);
	qstate_free(&st);
	return r;
}

/* reset - the record of the locked failed message fd: 0, QOP_BAD, -1 */
static int
reset(const struct queue *q, const char *name, int fd)
{
	struct qmsg m;
	int r;

	if ((r = qmsg_load(&m, fd)) == SPOOLFMT_OK)
		r = reset_state(q, name, &m);
	else if (r > 0)
		r = QOP_BAD;
	qmsg_free(&m);
	return r;
}

/*
 * move - the locked file to its new place, and close it.  Into new/
 * the lock goes first, so that a deliverer woken by the rename finds
 * the file free; the rename itself settles any race (it never
 * replaces a file, and the loser finds nothing to move).
 */
static int
move(const struct queue *q, enum qop op, const char *name, int fd)
{
	int r, saved;

	if (ops[op].to == Q_NEW)
		(void)flock(fd, LOCK_UN);
	r = qdir_move(q, name, ops[op].from, ops[op].to, 1);
	saved = errno;
	close(fd);
	errno = saved;
	if (r < 0)
		return errno == ENOENT ? QOP_NOTFOUND : -1;
	if (op != QOP_REQUEUE)
		log_move(op, name, NULL, NULL, NULL);
	return QOP_OK;
}

/*
 * qrequeue_one - requeue, hold or release the message NAME: QOP_OK,
 * QOP_NOTFOUND, QOP_ELSEWHERE (*where: where it is), QOP_BUSY,
 * QOP_BAD, or -1 (errno)
 */
int
qrequeue_one(const struct queue *q, enum qop op, const char *name,
    enum qwhere *where)
{
	int fd, r;

	if (!qdir_name_ok(name))
		return QOP_NOTFOUND;
	r = qdir_lock(q, ops[op].from, name, &fd);
	if (r == QLOCK_GONE)
		return not_there(q, op, name, where);
	if (r == QLOCK_BUSY || r == QLOCK_LINK || r < 0)
		return r == QLOCK_BUSY ? QOP_BUSY : r < 0 ? -1 : QOP_BAD;
	if (op == QOP_REQUEUE && (r = reset(q, name, fd)) != 0) {
		close(fd);
		return r;
	}
	return move(q, op, name, fd);
}
