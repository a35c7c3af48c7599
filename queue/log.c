/*
 * log.c - smtpd-queue's log lines, to stderr.
 * The "smtpd-queue[PID]: event=NAME" prefix and qlog_error are ours
 * (no "smtpd-queue[PID]: " when stderr is journald's stream, which
 * stamps the name and pid itself);
 * the line (escaped values, so a queue file can never put control
 * characters into a log, "..." when overlong, one write(2)) is
 * lib/logline.h's, as for smtpd.
 */
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "logline.h"

/* qlog_begin - start the line for one event */
void
qlog_begin(struct qlog *ql, const char *event)
{
	logline_init(&ql->sb, ql->buf, sizeof ql->buf);
	if (!logline_journal_stream(2)) {	/* journald adds its own */
		sb_str(&ql->sb, "smtpd-queue[");
		sb_num(&ql->sb, (unsigned long long)getpid());
		sb_str(&ql->sb, "]: ");
	}
	sb_str(&ql->sb, "event=");
	sb_str(&ql->sb, event);
}

/* qlog_str - add key=value, quoted when empty or holding a space */
void
qlog_str(struct qlog *ql, const char *key, const char *val)
{
	logline_bytes(&ql->sb, key, strlen(key), val, strlen(val));
}

/* qlog_num - add key=number */
void
qlog_num(struct qlog *ql, const char *key, unsigned long long v)
{
	(void)logline_num(&ql->sb, key, strlen(key), v);
}

/* qlog_end - finish the line and write it in one go */
void
qlog_end(struct qlog *ql)
{
	logline_mark(&ql->sb);
	logline_write(&ql->sb);
}

/* qlog_error - a system error, about one message (id) or the queue */
void
qlog_error(const char *id, const char *what, int e)
{
	struct qlog ql;

	qlog_begin(&ql, "error");
	if (id != NULL)
		qlog_str(&ql, "id", id);
	qlog_str(&ql, "what", what);
	qlog_str(&ql, "error", strerror(e));
	qlog_end(&ql);
}
