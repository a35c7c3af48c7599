/*
 * entry.c - one queued message as list, show and stats see it, and
 * the safe printing of what comes from queue files.  A value is printed
 * raw only when it is clean UTF-8 without control characters, else
 * escaped; JSON strings are always valid JSON.  Never follows a link.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "sbuf.h"

static const char *const where_name[Q__DIRS] = {
	[Q_NEW] = "queued", [Q_CLAIM] = "claimed", [Q_FAILED] = "failed",
	[Q_CORRUPT] = "corrupt", [Q_STATE] = "state", [Q_TMP] = "tmp",
	[Q_HOLD] = "held",
};

/* qentry_fmt_age - "45s", "12m", "3h05m", "2d04h" */
void
qentry_fmt_age(char *out, size_t cap, long long s)
{
	struct sbuf sb;
	long long big, small;
	const char *u1, *u2;

	sb_init(&sb, out, cap);
	if (s < 0)
		s = 0;
	if (s < 3600) {
		sb_num(&sb, (unsigned long long)(s < 60 ? s : s / 60));
		sb_str(&sb, s < 60 ? "s" : "m");
		return;
	}
	big = s < 86400 ? s / 3600 : s / 86400;
	small = s < 86400 ? s % 3600 / 60 : s % 86400 / 3600;
	u1 = s < 86400 ? "h" : "d";
	u2 = s < 86400 ? "m" : "h";
	sb_num(&sb, (unsigned long long)big);
	sb_str(&sb, u1);
	if (small < 10)
		sb_str(&sb, "0");
	sb_num(&sb, (unsigned long long)small);
	sb_str(&sb, u2);
}

/* qentry_fmt_time - "2026-11-28 20:49:30 UTC", or "-" for none */
void
qentry_fmt_time(char *out, size_t cap, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0) {
		out[0] = '-';	/* cap is always more than 2 */
		out[1] = '\0';
	}
}

/* clean_text - clean UTF-8 without control characters? */
static int
clean_text(const char *s)
{
	const char *p;

	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return 0;
	return addr_valid_utf8(s, (size_t)(p - s));
}

/* qentry_put - a value for a terminal: raw when clean, else escaped */
void
qentry_put(FILE *f, const char *s)
{
	char buf[1024];
	struct sbuf sb;

	if (clean_text(s)) {
		fputs(s, f);
		return;
	}
	sb_init(&sb, buf, sizeof buf);
	sb_escaped(&sb, s, strlen(s));
	fputs(buf, f);
}

/* qentry_json - a JSON string; bytes of bad UTF-8 as \u00XX */
void
qentry_json(FILE *f, const char *s)
{
	int raw = addr_valid_utf8(s, strlen(s));
	unsigned char c;

	putc('"', f);
	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !raw))
			fprintf(f, "\\u%04x", c);
		else
			putc(c, f);
	}
	putc('"', f);
}

/* qentry_free - release an entry */
void
qentry_free(struct qentry *e)
{
	qmsg_free(&e->m);
	qstate_free(&e->st);
}

/* qentry_load - read name in w: 0, 1 when it is gone, -1 (errno) */
int
qentry_load(const struct queue *q, enum qwhere w, int fd, const char *name,
    struct qentry *e)
{
	int r;

	memset(e, 0, sizeof *e);
	e->name = name;
	e->where = w;
	r = qmsg_load(&e->m, fd);
	close(fd);
	e->status = r;
	if (r > 0)
		qmsg_why(&e->m, r, e->why, sizeof e->why);
	if (r < 0 || qstate_init(&e->st, r == SPOOLFMT_OK ?
	    e->m.env.nrcpt : 0) < 0) {
		qentry_free(e);
		return -1;
	}
	e->has_state = qstate_load(q->fd[Q_STATE], name, &e->st) == 0;
	return 0;
}

/* qentry_open - open and load w/name: 0, 1 when it is gone, -1 */
int
qentry_open(const struct queue *q, enum qwhere w, const char *name,
    struct qentry *e)
{
	int fd;

	fd = openat(q->fd[w], name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd >= 0)
		return qentry_load(q, w, fd, name, e);
	if (errno != ELOOP)
		return errno == ENOENT ? 1 : -1;
	memset(e, 0, sizeof *e);	/* a link: shown, never followed */
	e->name = name;
	e->where = w;
	e->status = SPOOLFMT_NOTSPOOL;
	qstate_text(e->why, sizeof e->why, "a symbolic link", 15);
	if (fstatat(q->fd[w], name, &e->m.st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    qstate_init(&e->st, 0) < 0)
		return errno == ENOENT ? 1 : -1;
	e->has_state = qstate_load(q->fd[Q_STATE], name, &e->st) == 0;
	return 0;
}

/* qentry_state - queued, deferred, claimed, held, failed or corrupt */
const char *
qentry_state(const struct qentry *e)
{
	if (e->where == Q_NEW && e->st.attempts > 0)
		return "deferred";
	return where_name[e->where];
}

/* qentry_age - seconds since arrival (or since the file changed) */
long long
qentry_age(const struct qentry *e, long long now)
{
	if (e->status == SPOOLFMT_OK)
		return now - e->m.env.arrival;
	return now - (long long)e->m.st.st_mtime;
}

/* qentry_size - the message's size without the envelope */
long long
qentry_size(const struct qentry *e)
{
	long long n = (long long)e->m.st.st_size;

	return e->status == SPOOLFMT_OK ? n - (long long)e->m.env.head_len : n;
}
