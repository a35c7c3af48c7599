/*
 * log.c - smtpd-queue's log lines, to stderr.
 * A line is built in a fixed buffer and written with a single write(2);
 * every value is escaped (\xHH for all but printable ASCII) so a queue
 * file can never put control characters into a log.  Overlong: "...".
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* qlog_begin - start the line for one event */
void
qlog_begin(struct qlog *ql, const char *event)
{
	sb_init(&ql->sb, ql->buf, sizeof ql->buf - 4);
	sb_str(&ql->sb, "smtpd-queue[");
	sb_num(&ql->sb, (unsigned long long)getpid());
	sb_str(&ql->sb, "]: event=");
	sb_str(&ql->sb, event);
}

/* qlog_str - add key=value, quoted when empty or holding a space */
void
qlog_str(struct qlog *ql, const char *key, const char *val)
{
	size_t n = strlen(val);
	int quote = n == 0 || strchr(val, ' ') != NULL;

	sb_str(&ql->sb, " ");
	sb_str(&ql->sb, key);
	sb_str(&ql->sb, quote ? "=\"" : "=");
	sb_escaped(&ql->sb, val, n);
	if (quote)
		sb_str(&ql->sb, "\"");
}

/* qlog_num - add key=number */
void
qlog_num(struct qlog *ql, const char *key, unsigned long long v)
{
	sb_str(&ql->sb, " ");
	sb_str(&ql->sb, key);
	sb_str(&ql->sb, "=");
	sb_num(&ql->sb, v);
}

/* qlog_end - finish the line and write it in one go */
void
qlog_end(struct qlog *ql)
{
	struct sbuf *sb = &ql->sb;
	ssize_t w;

	if (sb->overflow) {
		sb->p[sb->len++] = '.';
		sb->p[sb->len++] = '.';
		sb->p[sb->len++] = '.';
	}
	sb->p[sb->len++] = '\n';
	do
		w = write(2, sb->p, sb->len);
	while (w < 0 && errno == EINTR);
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
