/*
 * show.c - look into the queue: list, show, cat, stats.
 * Read-only: nothing here claims, moves or changes a queue file; values
 * from queue files are printed through entry.c, escaped where need be.
 * stats --prometheus FILE writes only FILE (metrics.c).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "entry.h"
#include "metrics.h"
#include "show.h"
#include "sbuf.h"

/* list_text - one line of list */
static void
list_text(FILE *f, const struct qentry *e, long long now)
{
	char age[32], word[32];
	const struct spoolfmt_env *env = &e->m.env;
	int ok = e->status == SPOOLFMT_OK;
	struct sbuf sb;

	qentry_fmt_age(age, sizeof age, qentry_age(e, now));
	sb_init(&sb, word, sizeof word);
	sb_str(&sb, qentry_state(e));
	if (e->st.attempts > 0) {
		sb_str(&sb, "/");
		sb_num(&sb, e->st.attempts);
	}
	qentry_put(f, e->name);
	fprintf(f, "  %6s %9lld %5zu  %-12s ", age, qentry_size(e),
	    ok ? env->nrcpt : 0, word);
	if (ok) {
		putc('<', f);
		qentry_put(f, env->sender);
		putc('>', f);
	}
	putc('\n', f);
	if (!ok || e->st.reason[0] != '\0') {
		fputs("    reason: ", f);
		qentry_put(f, ok ? e->st.reason : e->why);
		putc('\n', f);
	}
}

/* list_json_tls - the TLS session and REQUIRETLS ("", false: none) */
static void
list_json_tls(FILE *f, const struct spoolfmt_env *env)
{
	fputs(",\"tls_version\":", f);
	qentry_json(f, env->tls_version);
	fputs(",\"tls_cipher\":", f);
	qentry_json(f, env->tls_cipher);
	fputs(",\"tls_client_cert\":", f);
	qentry_json(f, env->tls_client_cert);
	fprintf(f, ",\"requiretls\":%s", env->requiretls ? "true" : "false");
}

/* list_json_auth - the AUTH user and MAIL AUTH= ("": none) */
static void
list_json_auth(FILE *f, const struct spoolfmt_env *env)
{
	fputs(",\"auth_user\":", f);
	qentry_json(f, env->auth_user);
	fputs(",\"auth_param\":", f);
	qentry_json(f, env->auth_param);
}

/* list_json - one object of list --json */
static void
list_json(FILE *f, const struct qentry *e, long long now)
{
	const struct spoolfmt_env *env = &e->m.env;
	int ok = e->status == SPOOLFMT_OK;

	fputs("{\"id\":", f);
	qentry_json(f, e->name);
	fprintf(f, ",\"state\":\"%s\",\"age\":%lld,\"size\":%lld",
	    qentry_state(e), qentry_age(e, now), qentry_size(e));
	if (ok) {
		fprintf(f, ",\"arrival\":%lld,\"sender\":", env->arrival);
		qentry_json(f, env->sender);
		fprintf(f, ",\"recipients\":%zu,\"delivered\":%zu",
		    env->nrcpt, qstate_count(&e->st, RS_DELIVERED));
		list_json_tls(f, env);
		list_json_auth(f, env);
	}
	fprintf(f, ",\"attempts\":%lu,\"next_try\":%lld,\"last_error\":",
	    e->st.attempts, e->st.next_try);
	qentry_json(f, e->st.last_error);
	fputs(",\"final_error\":", f);
	qentry_json(f, e->st.final_error);
	fputs(",\"reason\":", f);
	qentry_json(f, ok ? e->st.reason : e->why);
	putc('}', f);
}

/* list_dir - list the messages of one directory */
static int
list_dir(const struct queue *q, enum qwhere w, int json, int *first)
{
	struct qnames nm;
	struct qentry e;
	long long now = (long long)time(NULL);
	size_t i;
	int r = 0;

	if (qdir_list(q, w, 0, &nm) < 0)
		return -1;
	qdir_names_sort(&nm);
	for (i = 0; i < nm.n && r >= 0; i++) {
		if ((r = qentry_open(q, w, nm.v[i], &e)) != 0)
			continue;	/* gone meanwhile: not an error */
		if (json && !*first)
			putchar(',');
		*first = 0;
		if (json)
			list_json(stdout, &e, now);
		else
			list_text(stdout, &e, now);
		qentry_free(&e);
	}
	qdir_names_free(&nm);
	return r < 0 ? -1 : 0;
}

/*
 * qshow_list - one line per message in new/, claim/ and hold/ (with
 * failed, in failed/ and corrupt/), or a JSON array: QSHOW_OK or -1
 * (errno)
 */
int
qshow_list(const struct queue *q, int failed, int json)
{
	static const enum qwhere waiting[] = { Q_NEW, Q_CLAIM, Q_HOLD };
	static const enum qwhere done[] = { Q_FAILED, Q_CORRUPT };
	const enum qwhere *dirs = failed ? done : waiting;
	size_t i, n = failed ? sizeof done / sizeof done[0] :
	    sizeof waiting / sizeof waiting[0];
	int first = 1;

	if (json)
		putchar('[');
	for (i = 0; i < n; i++)
		if (list_dir(q, dirs[i], json, &first) < 0)
			return -1;
	if (json)
		puts("]");
	return QSHOW_OK;
}

/* show_line - "label       value" */
static void
show_line(const char *label, const char *val)
{
	printf("%-12s", label);
	qentry_put(stdout, val);
	putchar('\n');
}

/* show_tls - the TLS session ("none") and a verified client cert */
static void
show_tls(const struct spoolfmt_env *env)
{
	printf("%-12s", "tls");
	if (env->tls_version[0] == '\0')
		fputs("none", stdout);
	else {
		qentry_put(stdout, env->tls_version);
		fputs(" cipher ", stdout);
		qentry_put(stdout, env->tls_cipher);
	}
	putchar('\n');
	if (env->tls_client_cert[0] != '\0')
		show_line("client cert", env->tls_client_cert);
}

/* show_client - where the message came from */
static void
show_client(const struct spoolfmt_env *env)
{
	printf("%-12s", "client");
	if (env->client_addr[0] == '\0')
		fputs("local", stdout);
	else {
		qentry_put(stdout, env->client_addr);
		if (env->client_port[0] != '\0')
			printf(" port %s", env->client_port);
		if (env->client_name[0] != '\0') {
			fputs(" (", stdout);
			qentry_put(stdout, env->client_name);
			putchar(')');
		}
	}
	printf(" trusted %s\n", env->trusted == 1 ? "yes" :
	    env->trusted == 0 ? "no" : "-");
	show_line("helo", env->helo);
	show_tls(env);
	if (env->auth_user[0] != '\0')
		show_line("auth", env->auth_user);
	show_line("protocol", env->protocol);
}

/* show_params - the sender and the MAIL parameters */
static void
show_params(const struct qentry *e)
{
	const struct spoolfmt_env *env = &e->m.env;

	printf("%-12s<", "sender");
	qentry_put(stdout, env->sender);
	puts(">");
	printf("%-12s%lld bytes", "size", qentry_size(e));
	if (env->has_size)
		printf(" (declared %llu)", env->size);
	putchar('\n');
	if (env->body != BODY_NONE)
		show_line("body", addr_body_name(env->body));
	if (env->smtputf8)
		show_line("smtputf8", "yes");
	if (env->ret != RET_NONE)
		show_line("ret", env->ret == RET_FULL ? "FULL" : "HDRS");
	if (env->envid[0] != '\0')
		show_line("envid", env->envid);
	if (env->requiretls)
		show_line("requiretls", "yes");
	if (env->auth_param[0] != '\0')
		show_line("auth param", env->auth_param);
	if (env->dsn_of[0] != '\0')
		show_line("report on", env->dsn_of);
}

/* show_rcpts - each recipient, its DSN parameters and how it stands */
static void
show_rcpts(const struct qentry *e)
{
	static const char *const word[] = { "pending", "delivered", "failed" };
	static const char *const notify[] = {
		"NEVER", "SUCCESS", "FAILURE", "DELAY"
	};
	const struct spoolfmt_env *env = &e->m.env;
	size_t i, b;
	int sep;

	printf("%-12s%zu\n", "recipients", env->nrcpt);
	for (i = 0; i < env->nrcpt; i++) {
		fputs("  <", stdout);
		qentry_put(stdout, env->rcpt[i].addr);
		printf(">  %s", word[e->st.rs[i]]);
		for (b = 0, sep = '='; b < 4; b++)
			if (env->rcpt[i].notify & (1u << b)) {
				printf("%s%c%s", sep == '=' ? "  notify" : "",
				    sep, notify[b]);
				sep = ',';
			}
		if (env->rcpt[i].orcpt[0] != '\0') {
			fputs("  orcpt=", stdout);
			qentry_put(stdout, env->rcpt[i].orcpt);
		}
		putchar('\n');
	}
}

/* show_state - the delivery record */
static void
show_state(const struct qentry *e)
{
	const char *p, *nl, *end = e->st.failed + e->st.failed_len;
	char t[64];

	printf("%-12s%lu\n", "attempts", e->st.attempts);
	qentry_fmt_time(t, sizeof t, e->st.first_try);
	show_line("first try", t);
	qentry_fmt_time(t, sizeof t, e->st.last_try);
	show_line("last try", t);
	if (e->where != Q_FAILED && e->where != Q_CORRUPT) {
		qentry_fmt_time(t, sizeof t, e->st.next_try);
		show_line("next try", t);
	}
	if (e->st.requeued != 0) {
		qentry_fmt_time(t, sizeof t, e->st.requeued);
		show_line("requeued", t);
	}
	if (e->st.final_error[0] != '\0')
		show_line("final error", e->st.final_error);
	if (e->st.last_error[0] != '\0')
		show_line("temp error", e->st.last_error);
	if (e->st.reason[0] != '\0')
		show_line("reason", e->st.reason);
	if (e->st.dsn[0] != '\0')
		show_line("report", e->st.dsn);
	if (e->st.failed_len > 0) {
		puts("failures");
		for (p = e->st.failed; p < end; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(end - p));
			fputs("  ", stdout);
			fwrite(p, 1, (size_t)(nl - p) + 1, stdout);
		}
	}
}

/* show_entry - everything about one message */
static void
show_entry(const struct queue *q, const struct qentry *e)
{
	const struct spoolfmt_env *env = &e->m.env;
	char t[64], age[32];

	show_line("id", e->name);
	printf("%-12s%s (%s/%s/", "state", qentry_state(e), q->path,
	    qdir_sub[e->where]);
	qentry_put(stdout, e->name);
	puts(")");
	if (e->status != SPOOLFMT_OK)
		show_line("error", e->why);
	else {
		qentry_fmt_time(t, sizeof t, env->arrival);
		qentry_fmt_age(age, sizeof age,
		    qentry_age(e, (long long)time(NULL)));
		printf("%-12s%s (%s ago)\n", "arrival", t, age);
		show_client(env);
		show_params(e);
		show_rcpts(e);
	}
	if (e->has_state)
		show_state(e);
}

/* find - open and load NAME wherever it is */
static int
find(const struct queue *q, const char *name, struct qentry *e)
{
	enum qwhere w;
	int fd;

	if (!qdir_name_ok(name))
		return QSHOW_NOTFOUND;
	if ((fd = qdir_find(q, name, &w)) < 0 && errno == ELOOP)
		return qentry_open(q, w, name, e) != 0 ? -1 : QSHOW_OK;
	if (fd < 0)
		return errno == ENOENT ? QSHOW_NOTFOUND : -1;
	return qentry_load(q, w, fd, name, e) < 0 ? -1 : QSHOW_OK;
}

/* qshow_show - the envelope and the delivery record, readable */
int
qshow_show(const struct queue *q, const char *name)
{
	struct qentry e;
	int r;

	if ((r = find(q, name, &e)) != QSHOW_OK)
		return r;
	show_entry(q, &e);
	qentry_free(&e);
	return QSHOW_OK;
}

/* qshow_cat - the message alone (LF line ends with lf) to stdout */
int
qshow_cat(const struct queue *q, const char *name, int lf, char *why,
    size_t cap)
{
	struct qentry e;
	enum qwhere w;
	int fd, r;

	if (!qdir_name_ok(name))
		return QSHOW_NOTFOUND;
	if ((fd = qdir_find(q, name, &w)) < 0 && errno == ELOOP) {
		qstate_text(why, cap, "a symbolic link", 15);
		return QSHOW_BAD;
	}
	if (fd < 0)
		return errno == ENOENT ? QSHOW_NOTFOUND : -1;
	memset(&e, 0, sizeof e);
	if ((r = qmsg_load(&e.m, fd)) == SPOOLFMT_OK)
		r = qmsg_copy(fd, (off_t)e.m.env.head_len, 1, lf);
	else if (r > 0) {
		qmsg_why(&e.m, r, why, cap);
		r = QSHOW_BAD;
	}
	qmsg_free(&e.m);
	close(fd);
	return r;
}

/* the states of the files in each directory stats counts */
static const struct {
	enum qwhere w;
	enum qstat s;
} counted[] = {
	{ Q_NEW, QS_NEW }, { Q_CLAIM, QS_CLAIMED }, { Q_HOLD, QS_HELD },
	{ Q_FAILED, QS_FAILED }, { Q_CORRUPT, QS_CORRUPT }, { Q_TMP, QS_TMP },
};

/* tried - has the message in new/ a record of attempts (deferred)? */
static int
tried(const struct queue *q, const char *name)
{
	unsigned long long n;

	return qstate_peek_attempts(q->fd[Q_STATE], name, &n) == 0 && n > 0;
}

/* count_file - one file: its state, size and age */
static void
count_file(struct qfigures *f, enum qstat s, const struct stat *sb)
{
	long long t = (long long)sb->st_mtime;

	f->n[s]++;
	f->bytes[s] += (unsigned long long)sb->st_size;
	if (f->oldest[s] == 0 || t < f->oldest[s])
		f->oldest[s] = t;
	if (s == QS_TMP && f->now - t > QDIR_STALE_AGE)
		f->stale_tmp++;
}

/* count_dir - the files of one directory (none if it is missing) */
static int
count_dir(const struct queue *q, enum qwhere w, enum qstat s,
    struct qfigures *f)
{
	struct qnames nm;
	struct stat sb;
	size_t i;

	if (qdir_list(q, w, 0, &nm) < 0)
		return -1;
	for (i = 0; i < nm.n; i++) {
		if (fstatat(q->fd[w], nm.v[i], &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;	/* gone meanwhile */
		count_file(f, w == Q_NEW && tried(q, nm.v[i]) ? QS_DEFERRED :
		    s, &sb);
	}
	qdir_names_free(&nm);
	return 0;
}

/* count - every directory, and the counters with prometheus */
static int
count(const struct queue *q, int prometheus, struct qfigures *f)
{
	size_t i;

	memset(f, 0, sizeof *f);
	f->now = (long long)time(NULL);
	for (i = 0; i < sizeof counted / sizeof counted[0]; i++)
		if (count_dir(q, counted[i].w, counted[i].s, f) < 0)
			return -1;
	return prometheus ? qcount_read(q->root, f->count) : 0;
}

/* older - the earlier of two mtimes, 0 meaning none */
static long long
older(long long a, long long b)
{
	return a == 0 || (b != 0 && b < a) ? b : a;
}

/* stats_text - stats as text or JSON: the totals of new/ and claim/ */
static void
stats_text(const struct qfigures *f, int json)
{
	size_t queued = f->n[QS_NEW] + f->n[QS_DEFERRED];
	unsigned long long bytes = f->bytes[QS_NEW] + f->bytes[QS_DEFERRED] +
	    f->bytes[QS_CLAIMED];
	long long oldest = older(older(f->oldest[QS_NEW],
	    f->oldest[QS_DEFERRED]), f->oldest[QS_CLAIMED]);
	long long age = oldest ? f->now - oldest : 0;
	char a[32];

	if (json) {
		printf("{\"queued\":%zu,\"deferred\":%zu,\"claimed\":%zu,"
		    "\"held\":%zu,\"failed\":%zu,\"corrupt\":%zu,"
		    "\"tmp\":%zu,\"tmp_stale\":%zu,\"bytes\":%llu,"
		    "\"oldest_age\":%lld}\n", queued, f->n[QS_DEFERRED],
		    f->n[QS_CLAIMED], f->n[QS_HELD], f->n[QS_FAILED],
		    f->n[QS_CORRUPT], f->n[QS_TMP], f->stale_tmp, bytes, age);
		return;
	}
	qentry_fmt_age(a, sizeof a, age);
	printf("queued    %zu (deferred %zu)\nclaimed   %zu\nheld      %zu\n"
	    "failed    %zu\ncorrupt   %zu\ntmp       %zu (older than 36 h: "
	    "%zu)\nbytes     %llu\noldest    %s\n", queued, f->n[QS_DEFERRED],
	    f->n[QS_CLAIMED], f->n[QS_HELD], f->n[QS_FAILED],
	    f->n[QS_CORRUPT], f->n[QS_TMP], f->stale_tmp, bytes,
	    oldest ? a : "-");
}

/*
 * qshow_stats - how many messages where, bytes, the oldest: as text,
 * JSON, or (prometheus) the Prometheus text format to stdout or, when
 * file is not NULL, written atomically into file.  QSHOW_OK, or -1.
 */
int
qshow_stats(const struct queue *q, int json, int prometheus,
    const char *file)
{
	struct qfigures f;

	if (count(q, prometheus, &f) < 0)
		return -1;
	if (prometheus)
		return qmetrics_write(&f, file) < 0 ? -1 : QSHOW_OK;
	stats_text(&f, json);
	return QSHOW_OK;
}
