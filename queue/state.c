/*
 * state.c - the delivery record of a queued message (QUEUE/state/ID).
 * Spool files are never changed; the record is a "Key: value" file
 * beside them: attempts, times, last error, reason, and "Delivered: N
 * <addr>" / "Failed: N <addr> why" per finished recipient (N from 1);
 * for the reports (DSNs): "Status: N X.Y.Z DIAG" per failed recipient,
 * "Reported: N" per recipient a report covered, "Dsn: ID" (the last
 * report) and "Warned: TIME" (the delay warning).
 * Saved as state/.tmp.ID, fsync, rename, fsync(state/): all or nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "msg.h"
#include "state.h"
#include "sbuf.h"

#define STATE_VERSION	1
#define STATE_FILE_MAX	(256u << 20)
#define TMP_PREFIX	".tmp."

/* a growing text buffer; err is set once anything failed to fit */
struct dbuf {
	char	*p;
	size_t	 len, cap;
	int	 err;
};

/* db_add - append n bytes */
static void
db_add(struct dbuf *db, const char *s, size_t n)
{
	size_t cap = db->cap ? db->cap : 1024;
	char *p;

	if (db->err || n == 0)
		return;
	while (cap - db->len < n)
		cap *= 2;
	if (cap != db->cap) {
		if ((p = realloc(db->p, cap)) == NULL) {
			db->err = 1;
			return;
		}
		db->p = p;
		db->cap = cap;
	}
	memcpy(db->p + db->len, s, n);
	db->len += n;
}

/* db_line - append "key: value\n" (value first made safe) */
static void
db_line(struct dbuf *db, const char *key, const char *val)
{
	db_add(db, key, strlen(key));
	db_add(db, ": ", 2);
	db_add(db, val, strlen(val));
	db_add(db, "\n", 1);
}

/* db_num - append "key: number\n" */
static void
db_num(struct dbuf *db, const char *key, unsigned long long v)
{
	char buf[24];
	struct sbuf sb;

	sb_init(&sb, buf, sizeof buf);
	sb_num(&sb, v);
	db_line(db, key, buf);
}

/*
 * qstate_text - copy at most n bytes of s into dst as one line of
 * printable ASCII: line ends and tabs become spaces, runs of spaces
 * one space, other octets '?'; cut to fit cap
 */
void
qstate_text(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	unsigned char c;

	for (; n > 0 && *s != '\0' && o + 1 < cap; s++, n--) {
		c = (unsigned char)*s;
		if (c == '\r' || c == '\n' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		if (c == ' ' && (o == 0 || dst[o - 1] == ' '))
			continue;
		dst[o++] = (char)c;
	}
	while (o > 0 && dst[o - 1] == ' ')
		o--;
	dst[o] = '\0';
}

/* qstate_init - a fresh record for nrcpt recipients, all pending */
int
qstate_init(struct qstate *st, size_t nrcpt)
{
	memset(st, 0, sizeof *st);
	st->nrcpt = nrcpt;
	st->rs = calloc(nrcpt + 1, 1);
	st->rep = calloc(nrcpt + 1, 1);
	st->stat_at = calloc(nrcpt + 1, sizeof *st->stat_at);
	if (st->rs == NULL || st->rep == NULL || st->stat_at == NULL) {
		qstate_free(st);
		return -1;
	}
	return 0;
}

/* qstate_free - release the record */
void
qstate_free(struct qstate *st)
{
	free(st->rs);
	free(st->failed);
	free(st->rep);
	free(st->stat_at);
	free(st->stat);
	st->rs = NULL;
	st->failed = NULL;
	st->rep = NULL;
	st->stat_at = NULL;
	st->stat = NULL;
}

/* qstate_count - how many recipients are in state s */
size_t
qstate_count(const struct qstate *st, enum rcpt_state s)
{
	size_t i, n = 0;

	for (i = 0; i < st->nrcpt; i++)
		if (st->rs[i] == s)
			n++;
	return n;
}

/* add_failed - keep one "Failed: ..." line (value without the key) */
static int
add_failed(struct qstate *st, const char *val, size_t n)
{
	struct dbuf db = { st->failed, st->failed_len, st->failed_cap, 0 };

	db_add(&db, "Failed: ", 8);
	db_add(&db, val, n);
	db_add(&db, "\n", 1);
	st->failed = db.p;
	st->failed_cap = db.cap;
	if (db.err)
		return -1;
	st->failed_len = db.len;
	return 0;
}

/*
 * qstate_fail - recipient i (from 0) failed for good, for this reason,
 * which is now the message's final error
 */
int
qstate_fail(struct qstate *st, size_t i, const char *addr, const char *why)
{
	char line[QSTATE_TEXT_MAX + ADDR_PATH_MAX + 32];
	struct sbuf sb;

	st->rs[i] = RS_FAILED;
	qstate_text(st->final_error, sizeof st->final_error, why, strlen(why));
	sb_init(&sb, line, sizeof line);
	sb_num(&sb, i + 1);
	sb_str(&sb, " <");
	sb_str(&sb, addr);
	sb_str(&sb, "> ");
	sb_str(&sb, why);
	return add_failed(st, line, sb.len);
}

/*
 * add_status - keep one "Status: N X.Y.Z DIAG" line (val: its value,
 * n octets) for recipient i (from 0)
 */
static int
add_status(struct qstate *st, size_t i, const char *val, size_t n)
{
	struct dbuf db = { st->stat, st->stat_len, st->stat_cap, 0 };
	size_t at = st->stat_len + 8;

	db_add(&db, "Status: ", 8);
	db_add(&db, val, n);
	db_add(&db, "\n", 1);
	st->stat = db.p;
	st->stat_cap = db.cap;
	if (db.err)
		return -1;
	st->stat_len = db.len;
	st->stat_at[i] = at + 1;
	return 0;
}

/*
 * qstate_status - the status of recipient i (from 0), for a report:
 * code ("5.1.1") and diag (a Diagnostic-Code value, one line)
 */
int
qstate_status(struct qstate *st, size_t i, const char *code,
    const char *diag)
{
	char line[QSTATE_TEXT_MAX + 64];
	struct sbuf sb;

	sb_init(&sb, line, sizeof line);
	sb_num(&sb, i + 1);
	sb_str(&sb, " ");
	sb_str(&sb, code);
	sb_str(&sb, " ");
	sb_str(&sb, diag);
	return add_status(st, i, line, sb.len);
}

/* copy_word - up to the first of stops (or the end) into out: its end */
static const char *
copy_word(const char *p, const char *end, const char *stops, char *out,
    size_t cap)
{
	const char *q = p;
	struct sbuf sb;

	while (q < end && strchr(stops, *q) == NULL)
		q++;
	sb_init(&sb, out, cap);
	sb_add(&sb, p, (size_t)(q - p));
	return q;
}

/*
 * qstate_status_of - recipient i's status as qstate_status kept it:
 * 0 with code and diag, or -1 when it has none
 */
int
qstate_status_of(const struct qstate *st, size_t i, char *code,
    size_t ccap, char *diag, size_t dcap)
{
	const char *p, *end = st->stat + st->stat_len;

	if (i >= st->nrcpt || st->stat_at[i] == 0)
		return -1;
	p = st->stat + st->stat_at[i] - 1;
	while (p < end && *p >= '0' && *p <= '9')	/* N */
		p++;
	if (p < end && *p == ' ')
		p++;
	p = copy_word(p, end, " \n", code, ccap);
	if (p < end && *p == ' ')
		p++;
	(void)copy_word(p, end, "\n", diag, dcap);
	return 0;
}

/* parse_u - a decimal number: 0, or -1 */
static int
parse_u(const char *s, unsigned long long *v)
{
	*v = 0;
	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (*v > (ULLONG_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (unsigned)(*s - '0');
	}
	return *s == '\0' || *s == ' ' ? 0 : -1;
}

/* set_rcpt - a Delivered or Failed line: the number, then free text */
static int
set_rcpt(struct qstate *st, struct spoolfmt_field *f, int failed)
{
	unsigned long long i;

	if (parse_u(f->val, &i) < 0 || i == 0 || i > st->nrcpt ||
	    st->rs[i - 1] != RS_PENDING)
		return -1;
	st->rs[i - 1] = failed ? RS_FAILED : RS_DELIVERED;
	return failed ? add_failed(st, f->val, f->val_len) : 0;
}

/* rcpt_no - the recipient (from 0) a line's value starts with, or -1 */
static long long
rcpt_no(const struct qstate *st, const char *val)
{
	unsigned long long i;

	if (parse_u(val, &i) < 0 || i == 0 || i > st->nrcpt)
		return -1;
	return (long long)(i - 1);
}

/* set_dsn - "Dsn: ID": a queue id (letters, digits, dots) */
static int
set_dsn(struct qstate *st, const struct spoolfmt_field *f)
{
	size_t i;

	if (f->val_len == 0 || f->val_len >= sizeof st->dsn ||
	    f->val[0] == '.')
		return -1;
	for (i = 0; i < f->val_len; i++)
		if (strchr("0123456789.abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ", f->val[i]) == NULL)
			return -1;
	memcpy(st->dsn, f->val, f->val_len + 1);
	return 0;
}

/* set_reported - "Reported: N" (a report covered it) or "Status: ..." */
static int
set_reported(struct qstate *st, const struct spoolfmt_field *f,
    int reported)
{
	long long i;

	if ((i = rcpt_no(st, f->val)) < 0)
		return -1;
	if (!reported)
		return add_status(st, (size_t)i, f->val, f->val_len);
	st->rep[i] = 1;
	return 0;
}

/* is - does the field have this key? */
static int
is(const struct spoolfmt_field *f, const char *key)
{
	return strlen(key) == f->key_len &&
	    memcmp(f->key, key, f->key_len) == 0;
}

/* set_time - a time in seconds since the epoch: 0, or -1 */
static int
set_time(const struct spoolfmt_field *f, long long *t)
{
	unsigned long long v;

	if (parse_u(f->val, &v) < 0)
		return -1;
	*t = (long long)v;
	return 0;
}

/* set_field - one line of the record (unknown keys are skipped) */
static int
set_field(struct qstate *st, struct spoolfmt_field *f)
{
	unsigned long long v = 0;
	static const char *const num[] = { "Version", "Recipients",
	    "Attempts", "First-Attempt", "Last-Attempt", "Next-Try", "Done",
	    "Warned" };
	size_t i;

	for (i = 0; i < sizeof num / sizeof num[0]; i++)
		if (is(f, num[i]) && parse_u(f->val, &v) < 0)
			return -1;
	if (is(f, "Version"))
		return v == STATE_VERSION ? 0 : -1;
	if (is(f, "Recipients"))
		return v == st->nrcpt ? 0 : -1;
	if (is(f, "Attempts"))
		st->attempts = (unsigned long)v;
	else if (is(f, "First-Attempt"))
		st->first_try = (long long)v;
	else if (is(f, "Last-Attempt"))
		st->last_try = (long long)v;
	else if (is(f, "Next-Try"))
		st->next_try = (long long)v;
	else if (is(f, "Done"))
		st->done = (long long)v;
	else if (is(f, "Warned"))
		st->warned = (long long)v;
	else if (is(f, "Dsn"))
		return set_dsn(st, f);
	else if (is(f, "Reported") || is(f, "Status"))
		return set_reported(st, f, is(f, "Reported"));
	else if (is(f, "Last-Error"))
		qstate_text(st->last_error, sizeof st->last_error, f->val,
		    f->val_len);
	else if (is(f, "Final-Error"))
		qstate_text(st->final_error, sizeof st->final_error, f->val,
		    f->val_len);
	else if (is(f, "Requeued"))
		return set_time(f, &st->requeued);
	else if (is(f, "Reason"))
		qstate_text(st->reason, sizeof st->reason, f->val, f->val_len);
	else if (is(f, "Delivered") || is(f, "Failed"))
		return set_rcpt(st, f, is(f, "Failed"));
	return 0;
}

/* parse - the whole file in buf[0..len) */
static int
parse(struct qstate *st, char *buf, size_t len)
{
	struct spoolfmt_field f;
	char *p = buf, *end = buf + len;
	int first = 1;

	while (p < end) {
		if (spoolfmt_field(&p, end, &f) <= 0)
			return -1;
		if (first && !is(&f, "Version"))
			return -1;
		first = 0;
		if (set_field(st, &f) < 0)
			return -1;
	}
	return first ? -1 : 0;
}

/* read_file - all of dir/name into a new buffer; NULL and errno */
static char *
read_file(int dir, const char *name, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t r = 0;
	int fd, saved;

	*len = 0;
	if ((fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return NULL;
	if (fstat(fd, &sb) == 0) {
		if (sb.st_size > (off_t)STATE_FILE_MAX)
			errno = EFBIG;
		else
			buf = malloc((size_t)sb.st_size + 1);
	}
	while (buf != NULL && *len < (size_t)sb.st_size) {
		r = read(fd, buf + *len, (size_t)sb.st_size - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		*len += (size_t)r;
	}
	saved = errno;
	close(fd);
	if (r < 0) {
		free(buf);
		buf = NULL;
	}
	errno = saved;
	return buf;
}

/*
 * last_failed_why - a record from before Final-Error: the final error
 * is the reason on its last "Failed: N <addr> why" line
 */
static void
last_failed_why(struct qstate *st)
{
	const char *p, *end;

	if (st->final_error[0] != '\0' || st->failed_len == 0)
		return;
	end = st->failed + st->failed_len - 1;		/* its newline */
	for (p = end; p > st->failed && p[-1] != '\n'; p--)
		;
	for (; p + 1 < end; p++)
		if (p[0] == '>' && p[1] == ' ') {
			qstate_text(st->final_error, sizeof st->final_error,
			    p + 2, (size_t)(end - p - 2));
			return;
		}
}

/*
 * qstate_load - read state/NAME into st (set up by qstate_init for the
 * envelope's recipients): 0 loaded, 1 there is none, -1 unreadable
 * (errno), -2 malformed (st is then fresh again).
 */
int
qstate_load(int dir, const char *name, struct qstate *st)
{
	char *buf;
	size_t len, nrcpt = st->nrcpt;
	int r;

	if (dir < 0)
		return 1;
	errno = 0;
	if ((buf = read_file(dir, name, &len)) == NULL)
		return errno == ENOENT ? 1 : -1;
	r = parse(st, buf, len);
	free(buf);
	if (r < 0) {
		qstate_free(st);
		if (qstate_init(st, nrcpt) < 0)
			return -1;
		return -2;
	}
	last_failed_why(st);
	return 0;
}

/*
 * peek - the number of key ("\nKey: ") in the head of state/NAME,
 * without claiming the message: 0 and *v, or -1 (none, or unreadable)
 */
static int
peek(int dir, const char *name, const char *key, unsigned long long *v)
{
	char buf[1024], *p, *nl;
	ssize_t n;
	int fd;

	if (dir < 0 ||
	    (fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if ((p = strstr(buf, key)) == NULL)
		return -1;
	p += strlen(key);
	if ((nl = strchr(p, '\n')) == NULL)
		return -1;
	*nl = '\0';
	return parse_u(p, v);
}

/*
 * qstate_peek - the Next-Try of state/NAME from the head of the file,
 * without claiming the message: 0 and *t, or -1 (none, or unreadable)
 */
int
qstate_peek(int dir, const char *name, long long *t)
{
	unsigned long long v;

	if (peek(dir, name, "\nNext-Try: ", &v) < 0)
		return -1;
	*t = (long long)v;
	return 0;
}

/*
 * qstate_peek_attempts - the Attempts of state/NAME, as qstate_peek:
 * 0 and *n, or -1 (no record, or unreadable)
 */
int
qstate_peek_attempts(int dir, const char *name, unsigned long long *n)
{
	return peek(dir, name, "\nAttempts: ", n);
}

/* format - the record as text */
static void
format(struct dbuf *db, const char *name, const struct qstate *st,
    const struct spoolfmt_env *env)
{
	char buf[24], id[QSTATE_TEXT_MAX];
	struct sbuf sb;
	size_t i;

	qstate_text(id, sizeof id, name, strlen(name));
	db_num(db, "Version", STATE_VERSION);
	db_line(db, "Id", id);
	db_num(db, "Recipients", st->nrcpt);
	db_num(db, "Attempts", st->attempts);
	db_num(db, "First-Attempt", (unsigned long long)st->first_try);
	db_num(db, "Last-Attempt", (unsigned long long)st->last_try);
	db_num(db, "Next-Try", (unsigned long long)st->next_try);
	if (st->requeued != 0)
		db_num(db, "Requeued", (unsigned long long)st->requeued);
	if (st->done != 0)
		db_num(db, "Done", (unsigned long long)st->done);
	if (st->last_error[0] != '\0')
		db_line(db, "Last-Error", st->last_error);
	if (st->final_error[0] != '\0')
		db_line(db, "Final-Error", st->final_error);
	if (st->reason[0] != '\0')
		db_line(db, "Reason", st->reason);
	if (st->warned != 0)
		db_num(db, "Warned", (unsigned long long)st->warned);
	if (st->dsn[0] != '\0')
		db_line(db, "Dsn", st->dsn);
	for (i = 0; i < st->nrcpt; i++) {
		if (st->rs[i] != RS_DELIVERED)
			continue;
		sb_init(&sb, buf, sizeof buf);
		sb_num(&sb, i + 1);
		db_add(db, "Delivered: ", 11);
		db_add(db, buf, sb.len);
		db_add(db, " <", 2);
		db_add(db, env->rcpt[i].addr, strlen(env->rcpt[i].addr));
		db_add(db, ">\n", 2);
	}
	db_add(db, st->failed, st->failed_len);
	db_add(db, st->stat, st->stat_len);
	for (i = 0; i < st->nrcpt; i++)
		if (st->rep[i])
			db_num(db, "Reported", i + 1);
}

/* write_tmp - write and fsync dir/tmp; -1 (errno) and no file on error */
static int
write_tmp(int dir, const char *tmp, const struct dbuf *db)
{
	int fd, r, saved;

	fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd < 0)
		return -1;
	r = fd_write_all(fd, db->p, db->len);
	if (r == 0)
		r = fsync(fd);
	saved = errno;
	if (close(fd) < 0 && r == 0) {
		saved = errno;
		r = -1;
	}
	if (r < 0) {
		(void)unlinkat(dir, tmp, 0);
		errno = saved;
	}
	return r;
}

/* qstate_save - write state/NAME atomically and durably: 0, or -1 */
int
qstate_save(int dir, const char *name, const struct qstate *st,
    const struct spoolfmt_env *env)
{
	struct dbuf db = { NULL, 0, 0, 0 };
	char tmp[NAME_MAX + 1];
	struct sbuf sb;
	int r = -1, saved;

	sb_init(&sb, tmp, sizeof tmp);
	sb_str(&sb, TMP_PREFIX);
	sb_str(&sb, name);
	format(&db, name, st, env);
	if (sb.overflow || db.err) {
		errno = sb.overflow ? ENAMETOOLONG : ENOMEM;
		goto out;
	}
	if (write_tmp(dir, tmp, &db) < 0)
		goto out;
	if (renameat(dir, tmp, dir, name) < 0) {
		saved = errno;
		(void)unlinkat(dir, tmp, 0);
		errno = saved;
		goto out;
	}
	if (fsync(dir) < 0 && errno != EINVAL)
		goto out;
	r = 0;
out:
	saved = errno;
	free(db.p);
	errno = saved;
	return r;
}

/* qstate_remove - forget state/NAME (it is fine if there is none) */
int
qstate_remove(int dir, const char *name)
{
	if (unlinkat(dir, name, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * qstate_requeue - the record of a message that requeue gives back: its
 * failed recipients pending again, with their statuses and the mark of
 * the report that told of them (their next outcome is reported anew),
 * the delivered ones kept (they never get it twice), attempts, times,
 * errors and the delay warning forgotten; from when, its time in the
 * queue counts again (qstate_since).  The last report's id stays.
 */
void
qstate_requeue(struct qstate *st, long long when)
{
	size_t i;

	for (i = 0; i < st->nrcpt; i++)
		if (st->rs[i] == RS_FAILED) {
			st->rs[i] = RS_PENDING;
			st->rep[i] = 0;
		}
	for (i = 0; i < st->nrcpt; i++)
		st->stat_at[i] = 0;	/* only failed recipients had one */
	free(st->stat);
	st->stat = NULL;
	st->stat_len = st->stat_cap = 0;
	st->warned = 0;
	free(st->failed);
	st->failed = NULL;
	st->failed_len = st->failed_cap = 0;
	st->attempts = 0;
	st->first_try = st->last_try = st->next_try = st->done = 0;
	st->last_error[0] = st->final_error[0] = st->reason[0] = '\0';
	st->requeued = when;
}

/*
 * qstate_since - from when --max-age counts: the arrival, or the last
 * requeue if that came later
 */
long long
qstate_since(const struct qstate *st, long long arrival)
{
	return st->requeued > arrival ? st->requeued : arrival;
}
