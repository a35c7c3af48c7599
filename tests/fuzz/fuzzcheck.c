/*
 * fuzzcheck.c - what the session fuzzers check alike: the report of a
 * broken invariant (then abort, so that libFuzzer keeps the input), the
 * private directories, reply lines, queued files and their envelopes,
 * new/ against the 250s and tmp/ empty.  Each target keeps what is its
 * own (BDAT, TLS, AUTH facts) and calls these for the rest.
 */
#define _GNU_SOURCE
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"		/* MAX_HOPS */
#include "fuzzcheck.h"

#ifdef HAVE_SPOOLFMT
#include "spoolfmt.h"
#endif

int fc_report_fd = 2;
static const char *fc_name = "fuzz";

/* fc_init - name the target; keep a copy of stderr (libFuzzer may close
 * fd 2 later, with -close_fd_mask=2) */
void
fc_init(const char *name)
{
	fc_name = name;
	if ((fc_report_fd = fcntl(2, F_DUPFD_CLOEXEC, 10)) < 0)
		fc_report_fd = 2;
}

/* fail - report a broken invariant (the first 400 octets of detail,
 * what is not printable as \xHH) and abort */
void
fail(const char *what, const void *detail, size_t n)
{
	char buf[2048], esc[1700];
	const unsigned char *d = detail;
	size_t i, o = 0;
	int len;

	for (i = 0; d != NULL && i < n && i < 400 && o + 5 < sizeof esc; i++) {
		if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '\\')
			esc[o++] = (char)d[i];
		else
			o += (size_t)snprintf(esc + o, sizeof esc - o,
			    "\\x%02x", d[i]);
	}
	esc[o] = '\0';
	len = snprintf(buf, sizeof buf, "%s: INVARIANT BROKEN: %s: %s\n",
	    fc_name, what, esc);
	if (len > 0)
		(void)!write(fc_report_fd, buf, (size_t)len < sizeof buf ?
		    (size_t)len : sizeof buf - 1);
	abort();
}

void
fail_errno(const char *what)
{
	const char *e = strerror(errno);

	fail(what, e, strlen(e));
}

/* fc_rm_files - unlink every entry of dir; how many there were */
int
fc_rm_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return n;
}

/* fc_rm_tree - remove a directory of files and directories of files */
void
fc_rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[700];

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (unlink(path) < 0)
			fc_rm_tree(path);	/* a directory */
	}
	closedir(d);
	rmdir(dir);
}

/* fc_rm_stale - remove BASE/PREFIX-PID-* of fuzzers that are gone (a
 * crash or a kill skips atexit) */
void
fc_rm_stale(const char *base, const char *prefix)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[600], *end;
	size_t plen = strlen(prefix);
	long pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strncmp(e->d_name, prefix, plen) != 0 ||
		    e->d_name[plen] != '-')
			continue;
		errno = 0;
		pid = strtol(e->d_name + plen + 1, &end, 10);
		if (errno != 0 || *end != '-' || pid <= 0 ||
		    kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		fc_rm_tree(path);
	}
	closedir(d);
}

static const char *fc_dir;	/* fc_private_dir's, removed at exit */

static void
fc_cleanup(void)
{
	if (fc_dir != NULL)
		fc_rm_tree(fc_dir);
}

/*
 * fc_private_dir - make dir (cap octets, static: it is removed at exit)
 * PREFIX-PID-XXXXXX in $FUZZ_TMPDIR, else /dev/shm where it can, else
 * /tmp; first remove those there of fuzzers that are gone
 */
void
fc_private_dir(const char *prefix, char *dir, size_t cap)
{
	const char *base = getenv("FUZZ_TMPDIR");
	int n;

	if (base == NULL)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	fc_rm_stale(base, prefix);
	n = snprintf(dir, cap, "%s/%s-%ld-XXXXXX", base, prefix,
	    (long)getpid());
	if (n < 0 || (size_t)n >= cap || mkdtemp(dir) == NULL)
		fail("mkdtemp", dir, strlen(dir));
	fc_dir = dir;
	atexit(fc_cleanup);
}

/* fc_read_file - a whole (small) file, malloc'ed, NUL after its end */
char *
fc_read_file(const char *path, size_t *lenp)
{
	struct stat st;
	char *b;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
		fail("cannot open", path, strlen(path));
	if ((b = malloc((size_t)st.st_size + 1)) == NULL)
		fail("malloc", NULL, 0);
	if (read(fd, b, (size_t)st.st_size) != st.st_size)
		fail("short read", path, strlen(path));
	close(fd);
	b[st.st_size] = '\0';
	*lenp = (size_t)st.st_size;
	return b;
}

/* fc_lowest_free_fd - the fd the next open gets: a leak moves it */
int
fc_lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* fc_starts - the line at p (len octets) begins with s */
int
fc_starts(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/*
 * fc_reply_line - the reply line at p (before end): CRLF-ended, at most
 * 512 octets, "DDD" SP/"-" printable text, a multi-line reply keeping
 * its code; r has the last line's code and dash.  Its length with CRLF.
 */
size_t
fc_reply_line(const char *p, const char *end, struct fc_reply *r)
{
	const char *eol, *q;
	size_t len;
	int code;

	eol = memchr(p, '\r', (size_t)(end - p));
	if (eol == NULL || eol + 1 >= end || eol[1] != '\n')
		fail("reply line not ended by CRLF", p, (size_t)(end - p));
	len = (size_t)(eol - p) + 2;
	if (len > FC_REPLY_LINE_MAX)
		fail("reply line over 512 octets", p, len);
	if (len < 6 || p[0] < '2' || p[0] > '5' || p[1] < '0' || p[1] > '9' ||
	    p[2] < '0' || p[2] > '9' || (p[3] != ' ' && p[3] != '-'))
		fail("reply line not DDD SP/- text", p, len);
	for (q = p + 4; q < eol; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			fail("reply text not printable ASCII", p, len);
	code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (r->more && code != r->code)
		fail("multi-line reply changes its code", p, len);
	r->code = code;
	r->more = p[3] == '-';
	return len;
}

/* fc_replies_end - the last reply line (at last, before end) has no dash */
void
fc_replies_end(const struct fc_reply *r, const char *last, const char *end)
{
	if (r->more)
		fail("last reply line has a dash", last,
		    (size_t)(end - last));
}

/* fc_queued_id - "250 2.0.0 OK queued as ID" CRLF (len octets): 1 and ID
 * in id (cap octets with its NUL), or 0 for any other line */
int
fc_queued_id(const char *p, size_t len, char *id, size_t cap)
{
	static const char k[] = "250 2.0.0 OK queued as ";
	size_t klen = sizeof k - 1;

	if (len < klen + 3 || memcmp(p, k, klen) != 0)
		return 0;
	len -= klen + 2;
	if (len >= cap)
		fail("queue id too long", p, klen + len);
	memcpy(id, p + klen, len);
	id[len] = '\0';
	return 1;
}

/*
 * fc_check_envelope - "Key: value" LF lines up to an empty one, Version
 * first, Id = name, a Recipient at least; what e says taken from it.
 * The length of the block with its empty line.
 */
size_t
fc_check_envelope(const char *f, size_t n, const char *name,
    struct fc_env *e)
{
	const char *p = f, *end = f + n, *nl, *colon, *v;
	size_t line = 0, nrcpt = 0, idlen = strlen(name), k, vlen;

	memset(e, 0, sizeof *e);
	for (;; p = nl + 1, line++) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			fail("envelope block has no empty line", f, n);
		if (nl == p)
			break;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon == NULL || colon == p || colon + 1 >= nl ||
		    colon[1] != ' ')
			fail("envelope line is not Key: value", p,
			    (size_t)(nl - p));
		if (memchr(p, '\r', (size_t)(nl - p)) != NULL ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL)
			fail("CR or NUL in the envelope", p,
			    (size_t)(nl - p));
		if (line == 0 && (nl - p != 10 || memcmp(p, "Version: 1", 10)))
			fail("envelope does not start with Version: 1", p,
			    (size_t)(nl - p));
		if (line == 1 && ((size_t)(nl - p) != 4 + idlen ||
		    memcmp(p, "Id: ", 4) || memcmp(p + 4, name, idlen)))
			fail("Id: is not the file name", p,
			    (size_t)(nl - p));
		k = (size_t)(colon - p);
		v = colon + 2;
		vlen = (size_t)(nl - v);
		if (k == 9 && memcmp(p, "Recipient", 9) == 0)
			nrcpt++;
		else if (k == 4 && memcmp(p, "Body", 4) == 0)
			e->binary = vlen == 10 && memcmp(v, "BINARYMIME",
			    10) == 0;
		else if (k == 3 && memcmp(p, "TLS", 3) == 0) {
			e->tls = v;
			e->tls_len = vlen;
		} else if (k == 15 && memcmp(p, "TLS-Client-Cert", 15) == 0) {
			e->cert = v;
			e->cert_len = vlen;
		} else if (k == 11 && memcmp(p, "Require-TLS", 11) == 0)
			e->requiretls = 1;
		else if (k == 4 && memcmp(p, "Helo", 4) == 0) {
			e->helo = v;
			e->helo_len = vlen;
		}
	}
	if (nrcpt == 0)
		fail("queued file without a Recipient", f, n);
	return (size_t)(p + 1 - f);
}

/*
 * fc_check_message - our Received: first; CRLF only (binary: any octets,
 * lines only where CRLF ends them); no more Received: lines than the
 * loop limit lets in; the body within max_size (0: no limit).  The
 * length of our Received: field (n if the message is that field alone).
 */
size_t
fc_check_message(const char *m, size_t n, unsigned long long max_size,
    int binary)
{
	size_t i, hops = 0, body, first = 0;
	int bol = 1, in_header = 1;

	if (n < 16 || memcmp(m, "Received: from ", 15) != 0)
		fail("message does not start with our Received:", m, n);
	if (!binary && (m[n - 2] != '\r' || m[n - 1] != '\n'))
		fail("message does not end in CRLF",
		    m + n - (n > 60 ? 60 : n), n > 60 ? 60 : n);
	for (i = 0; i < n; i++) {
		if (!binary && m[i] == '\0')
			fail("NUL in a queued message", m + i, n - i);
		if (!binary && m[i] == '\r' && (i + 1 == n ||
		    m[i + 1] != '\n'))
			fail("bare CR in a queued message", m + i, n - i);
		if (!binary && m[i] == '\n' && (i == 0 || m[i - 1] != '\r'))
			fail("bare LF in a queued message", m + i, n - i);
		if (bol && in_header) {
			if (m[i] == '\r' && i + 1 < n && m[i + 1] == '\n')
				in_header = 0;
			else if (n - i >= 9 && strncasecmp(m + i, "received:",
			    9) == 0)
				hops++;
		}
		if (first == 0 && m[i] == '\n' && i > 0 && m[i - 1] == '\r' &&
		    i + 1 < n && m[i + 1] != '\t' && m[i + 1] != ' ')
			first = i + 1;	/* end of our Received: field */
		bol = m[i] == '\n' && i > 0 && m[i - 1] == '\r';
	}
	if (hops > MAX_HOPS + 1)
		fail("more Received: lines than the loop limit", m, n);
	body = first ? n - first : 0;
	if (max_size != 0 && body > max_size)
		fail("message over --max-size was queued", m, 200);
	return first ? first : n;
}

/* fc_check_spoolfmt - the spool reader takes whatever the writer wrote:
 * its Id the file name, a recipient at least (f is left as it was) */
void
fc_check_spoolfmt(const char *f, size_t n, const char *name)
{
#ifdef HAVE_SPOOLFMT
	struct spoolfmt_env env;
	struct spoolfmt_error err;
	char why[200], *copy;

	if ((copy = malloc(n + 1)) == NULL)
		fail("malloc", NULL, 0);
	memcpy(copy, f, n);
	copy[n] = '\0';
	memset(&err, 0, sizeof err);
	if (spoolfmt_parse(copy, n, &env, &err) != SPOOLFMT_OK) {
		snprintf(why, sizeof why, "%s: %s (line %lu)",
		    err.key ? err.key : "-", err.what ? err.what : "?",
		    (unsigned long)err.line);
		fail("spoolfmt_parse refuses a file smtpd wrote", why,
		    strlen(why));
	}
	if (strcmp(env.id, name) != 0 || env.nrcpt == 0)
		fail("spoolfmt_parse: wrong Id or no recipient", name,
		    strlen(name));
	spoolfmt_free(&env);
	free(copy);
#else
	(void)f;
	(void)n;
	(void)name;
#endif
}

/* fc_check_tmp_empty - nothing left in tmp/ (missing_ok: nor a tmp/) */
void
fc_check_tmp_empty(const char *tmpdir, int missing_ok)
{
	DIR *d;
	struct dirent *e;

	if ((d = opendir(tmpdir)) == NULL) {
		if (missing_ok && errno == ENOENT)
			return;
		fail("opendir tmp", tmpdir, strlen(tmpdir));
	}
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			fail("file left in tmp/", e->d_name,
			    strlen(e->d_name));
	closedir(d);
}

/* id_cmp - qsort/bsearch order of records that start with a queue id */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * fc_check_queue - tmp/ of qdir is empty; new/ holds exactly the files
 * of the 250s: ids is nids records of size octets, each starting with a
 * queue id (sorted here), no id twice; each file, read whole, goes to
 * fn(arg, its record, its name, its octets, its length).
 */
void
fc_check_queue(const char *qdir, void *ids, size_t nids, size_t size,
    fc_file_fn *fn, void *arg)
{
	char path[600], *f, *rec;
	DIR *d;
	struct dirent *e;
	size_t i, n, seen = 0;

	snprintf(path, sizeof path, "%s/tmp", qdir);
	fc_check_tmp_empty(path, 0);
	qsort(ids, nids, size, id_cmp);
	for (i = 1; i < nids; i++)
		if (strcmp((char *)ids + (i - 1) * size,
		    (char *)ids + i * size) == 0)
			fail("one queue id given twice",
			    (char *)ids + i * size,
			    strlen((char *)ids + i * size));
	snprintf(path, sizeof path, "%s/new", qdir);
	if ((d = opendir(path)) == NULL)
		fail("opendir new", path, strlen(path));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((rec = bsearch(e->d_name, ids, nids, size, id_cmp)) ==
		    NULL)
			fail("file in new/ without its 250", e->d_name,
			    strlen(e->d_name));
		seen++;
		snprintf(path, sizeof path, "%s/new/%s", qdir, e->d_name);
		f = fc_read_file(path, &n);
		fn(arg, rec, e->d_name, f, n);
		free(f);
	}
	closedir(d);
	if (seen != nids)
		fail("a 250 without its file in new/", ids,
		    nids ? strlen((char *)ids) : 0);
}
