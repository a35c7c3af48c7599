/*
 * fuzz_session.c - libFuzzer target: one whole SMTP session fed
 * arbitrary client bytes, then the spool and the replies are checked.
 * Input: one selector octet (bits 0-1: configuration, bit 2: untrusted
 * client, bit 3: in pieces), then the client's bytes.  smtpd reads them
 * from a memfd; with bit 3 each read(2) returns one piece of 1 to 13
 * octets (the length taken from the data itself; read is wrapped at link
 * time, -Wl,--wrap=read), so the DATA machine and the line reader are
 * tried across every kind of read boundary, and a crash still
 * reproduces.  Replies go through a pipe a thread drains; the queue is a
 * private directory (tmpfs if there is one).  Invariants, any break aborts:
 * every reply line is "DDD" SP/"-" printable text CRLF, <= 512 octets;
 * each "250 ... queued as ID" has its file in new/ and no file is there
 * without one; every file in new/ is an envelope block, an empty line
 * and a message that starts with our Received: line and holds only CRLF
 * line ends (no bare CR, LF or NUL: nothing smuggled) unless its
 * envelope says "Body: BINARYMIME" (BDAT: any octets); tmp/ is empty and
 * no file descriptor is left open when the session is over.  BDAT (RFC
 * 3030): each "250 2.0.0 N octets received" has a BDAT command in the
 * input to answer (no more of them than "BDAT"s), its N octets were in
 * the input (all N together no more than the input); after "501 5.5.4
 * BDAT chunk size unreadable" comes a 421 and nothing else, and no
 * reply follows "421 4.5.0" (the session cannot tell where a chunk
 * ends, so it must end).
 * It links the receiver's own objects: config_defaults() (options.c)
 * and identify_client() (peer.c) set the session up as smtpd does.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "peer.h"
#include "session.h"

#ifdef HAVE_SPOOLFMT
#include "spoolfmt.h"
#endif

#define REPLY_LINE_MAX	512	/* RFC 5321 4.5.3.1.5, with the CRLF */
#define HOST		"mx.fuzz.example"
#define NCONFIG		4
#define MAX_IDS		8192	/* more 250s than an input can hold */
#define PIECES_MAX	16384	/* longer inputs are not read in pieces */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
ssize_t	 __real_read(int, void *, size_t);
ssize_t	 __wrap_read(int, void *, size_t);

static struct config configs[NCONFIG];
static struct client local_client, remote_client;
static struct session sess;
static char qdir[256], newdir[300], tmpdir[300];
static int in_fd = -1, report_fd = 2;

struct drain {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
};

/* the input, when it is read in pieces */
static const uint8_t *piece_data;
static size_t piece_len, piece_pos;

/* fail - report a broken invariant and abort (libFuzzer keeps the input) */
static void
fail(const char *what, const char *detail, size_t n)
{
	char buf[1024];
	int len;

	len = snprintf(buf, sizeof buf, "fuzz_session: INVARIANT BROKEN: %s: "
	    "%.*s\n", what, (int)(n > 400 ? 400 : n), detail ? detail : "");
	if (len > 0)
		(void)!write(report_fd, buf, (size_t)len < sizeof buf ?
		    (size_t)len : sizeof buf - 1);
	abort();
}

/* rm_files - unlink every entry of dir; returns how many there were */
static int
rm_files(const char *dir)
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

/* rm_queue - remove a queue directory and what is in it */
static void
rm_queue(const char *q)
{
	char sub[600];

	snprintf(sub, sizeof sub, "%s/tmp", q);
	rm_files(sub);
	rmdir(sub);
	snprintf(sub, sizeof sub, "%s/new", q);
	rm_files(sub);
	rmdir(sub);
	rmdir(q);
}

/*
 * rm_stale - remove the queues of fuzzers that are gone (a crash or a
 * kill skips atexit): BASE/smtpd-fuzz-PID-* of a PID no longer running.
 */
static void
rm_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[600];
	long pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "smtpd-fuzz-%ld-", &pid) != 1 ||
		    pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof path, "%s/%s", base, e->d_name);
		rm_queue(path);
	}
	closedir(d);
}

/* cleanup - remove the private queue at exit */
static void
cleanup(void)
{
	rm_queue(qdir);
}

/* set_config - defaults as smtpd has them, then the variant's options */
static void
set_config(struct config *cfg, int variant)
{
	config_defaults(cfg);
	cfg->queue = qdir;
	memcpy(cfg->hostname, HOST, sizeof HOST);
	cfg->timeout = 2;
	cfg->session_max = 20;
	cfg->log_mode = LOGMODE_STDERR;
	if (policy_add_domain(&cfg->domains, "example.com") < 0 ||
	    policy_add_domain(&cfg->domains, ".sub.example.com") < 0)
		fail("policy_add_domain", NULL, 0);
	switch (variant) {
	case 1:		/* tight limits: every limit path is near */
		cfg->max_size = 300;
		cfg->max_rcpt = 3;
		cfg->max_errors = 6;
		cfg->max_messages = 3;
		break;
	case 2:		/* hand-written transcripts: LF ends lines */
		cfg->lf = 1;
		break;
	case 3:		/* no size limit, lf and small recipient cap */
		cfg->max_size = 0;
		cfg->max_rcpt = 2;
		cfg->lf = 1;
		break;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = getenv("FUZZ_TMPDIR");
	struct conn nullconn = { -1, -1, 0, 0 };
	int i;

	(void)argc;
	(void)argv;
	/* libFuzzer may close stderr later (-close_fd_mask=2): keep a copy */
	if ((report_fd = fcntl(2, F_DUPFD_CLOEXEC, 10)) < 0)
		report_fd = 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	umask(027);
	if (base == NULL)
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	rm_stale(base);
	snprintf(qdir, sizeof qdir, "%s/smtpd-fuzz-%ld-XXXXXX", base,
	    (long)getpid());
	if (mkdtemp(qdir) == NULL)
		fail("mkdtemp", qdir, strlen(qdir));
	snprintf(newdir, sizeof newdir, "%s/new", qdir);
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", qdir);
	atexit(cleanup);
	for (i = 0; i < NCONFIG; i++)
		set_config(&configs[i], i);
	/* the two clients, found the way smtpd finds them */
	nullconn.in = nullconn.out = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsetenv("TCPREMOTEIP");
	unsetenv("REMOTE_ADDR");
	unsetenv("REMOTE_HOST");
	unsetenv("RELAYCLIENT");
	identify_client(&local_client, &nullconn, &configs[0]);
	setenv("TCPREMOTEIP", "192.0.2.7", 1);
	setenv("TCPREMOTEPORT", "40123", 1);
	setenv("TCPREMOTEHOST", "client.fuzz.example", 1);
	identify_client(&remote_client, &nullconn, &configs[0]);
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPREMOTEHOST");
	close(nullconn.in);
	if (local_client.trusted != 1 || remote_client.trusted != 0)
		fail("identify_client", "trust", 5);
	if ((in_fd = memfd_create("smtpd-fuzz-input", MFD_CLOEXEC)) < 0)
		fail("memfd_create", strerror(errno), strlen(strerror(errno)));
	return 0;
}

/* drain_main - read every reply byte until the session closes its end */
static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	ssize_t n;

	for (;;) {
		if (d->cap - d->len < 65536) {
			d->cap = d->cap ? d->cap * 2 : 262144;
			if ((d->buf = realloc(d->buf, d->cap)) == NULL)
				fail("realloc", NULL, 0);
		}
		n = read(d->fd, d->buf + d->len, d->cap - d->len);
		if (n > 0)
			d->len += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	return NULL;
}

/*
 * __wrap_read - read(2) as smtpd's objects see it: on the input, in
 * pieces when asked to; everything else as it is.
 */
ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	size_t want;
	ssize_t r;

	if (fd != in_fd || piece_data == NULL || piece_pos >= piece_len)
		return __real_read(fd, buf, n);
	want = 1 + piece_data[piece_pos] % 13;
	if (want > n)
		want = n;
	if ((r = __real_read(fd, buf, want)) > 0)
		piece_pos += (size_t)r;
	return r;
}

/* count_bdat - how many times "BDAT" (any case) is in the input */
static size_t
count_bdat(const uint8_t *in, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i + 4 <= n; i++)
		if ((in[i] | 0x20) == 'b' && (in[i + 1] | 0x20) == 'd' &&
		    (in[i + 2] | 0x20) == 'a' && (in[i + 3] | 0x20) == 't')
			c++;
	return c;
}

/* starts - the reply line at p (len octets with CRLF) begins with s */
static int
starts(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

/*
 * check_chunk_reply - "250 2.0.0 N octets received": N in digits, no
 * more than the input holds; adds N to *octets, counts it in *chunks
 */
static void
check_chunk_reply(const char *p, size_t len, size_t in_len,
    unsigned long long *octets, size_t *chunks)
{
	const char *q = p + 10, *tail = " octets received\r\n";
	unsigned long long v = 0;
	size_t t = strlen(tail);

	if (len < 10 + 1 + t || memcmp(p + len - t, tail, t) != 0)
		return;			/* another 250 2.0.0 */
	for (; q < p + len - t; q++) {
		if (*q < '0' || *q > '9' || v > 1000000000000ull)
			fail("BDAT reply's octet count is not a number", p, len);
		v = v * 10 + (unsigned long long)(*q - '0');
	}
	if (v > in_len || (*octets += v) > in_len)
		fail("BDAT replies count more octets than the input holds", p,
		    len);
	++*chunks;
}

/* check_replies - every line well-formed; returns the queued-id count */
static size_t
check_replies(const char *p, size_t n, char (*ids)[SPOOL_ID_MAX],
    const uint8_t *in, size_t in_len)
{
	const char *start = p, *end = p + n, *eol, *q, *k = "queued as ";
	size_t len, nids = 0, klen = strlen(k), chunks = 0;
	unsigned long long octets = 0;
	int more = 0, code = 0, lost = 0, unreadable = 0;

	if (n == 0)
		fail("no reply at all (not even a greeting)", NULL, 0);
	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		fail("first reply is not a greeting", p, n);
	for (; p < end; p = eol + 2) {
		eol = memchr(p, '\r', (size_t)(end - p));
		if (eol == NULL || eol + 1 >= end || eol[1] != '\n')
			fail("reply line not ended by CRLF", p,
			    (size_t)(end - p));
		len = (size_t)(eol - p) + 2;
		if (len > REPLY_LINE_MAX)
			fail("reply line over 512 octets", p, len);
		if (lost)
			fail("a reply after 421 4.5.0 (BDAT out of step)", p, len);
		if (unreadable && !starts(p, len, "421 "))
			fail("no 421 after an unreadable BDAT size", p, len);
		unreadable = starts(p, len,
		    "501 5.5.4 BDAT chunk size unreadable\r\n");
		lost = starts(p, len, "421 4.5.0 ");
		if (starts(p, len, "250 2.0.0 "))
			check_chunk_reply(p, len, in_len, &octets, &chunks);
		if (len < 6 || p[0] < '2' || p[0] > '5' || p[1] < '0' ||
		    p[1] > '9' || p[2] < '0' || p[2] > '9' ||
		    (p[3] != ' ' && p[3] != '-'))
			fail("reply line not DDD SP/- text", p, len);
		for (q = p + 4; q < eol; q++)
			if ((unsigned char)*q < 0x20 ||
			    (unsigned char)*q > 0x7e)
				fail("reply text not printable ASCII", p, len);
		if (more && (p[0] - '0') * 100 + (p[1] - '0') * 10 +
		    (p[2] - '0') != code)
			fail("multi-line reply changes its code", p, len);
		code = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
		more = p[3] == '-';
		if (code == 250 && !more && (size_t)(eol - p) > 14 + klen &&
		    memcmp(p + 4, "2.0.0 OK ", 9) == 0 &&
		    memcmp(p + 13, k, klen) == 0) {
			q = p + 13 + klen;
			if ((size_t)(eol - q) >= SPOOL_ID_MAX)
				fail("queue id too long", p, len);
			if (nids == MAX_IDS)
				fail("more 250s than the harness can hold", p,
				    len);
			memcpy(ids[nids], q, (size_t)(eol - q));
			ids[nids++][eol - q] = '\0';
		}
	}
	if (more)
		fail("last reply line has a dash", end - 40, 40);
	if (unreadable)
		fail("the session went on after an unreadable BDAT size", NULL,
		    0);
	if (chunks > count_bdat(in, in_len))
		fail("more BDAT chunk replies than BDAT commands", start,
		    n > 400 ? 400 : n);
	return nids;
}

/* read_file - the whole of new/name, malloc'ed */
static char *
read_file(const char *name, size_t *lenp)
{
	char path[600], *buf;
	struct stat st;
	int fd;

	snprintf(path, sizeof path, "%s/%s", newdir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0)
		fail("cannot open a file in new/", name, strlen(name));
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		fail("malloc", NULL, 0);
	if (read(fd, buf, (size_t)st.st_size) != st.st_size)
		fail("short read of a file in new/", name, strlen(name));
	close(fd);
	buf[st.st_size] = '\0';
	*lenp = (size_t)st.st_size;
	return buf;
}

/*
 * check_envelope - "Key: value" LF lines, Version first, Id = name;
 * *binary: the message is BODY=BINARYMIME ("Body: BINARYMIME")
 */
static size_t
check_envelope(const char *f, size_t n, const char *name, int *binary)
{
	const char *p = f, *end = f + n, *nl, *colon;
	size_t line = 0, nrcpt = 0, idlen = strlen(name);

	*binary = 0;

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
			fail("CR or NUL in the envelope", p, (size_t)(nl - p));
		if (line == 0 && (nl - p != 10 || memcmp(p, "Version: 1", 10)))
			fail("envelope does not start with Version: 1", p,
			    (size_t)(nl - p));
		if (line == 1 && ((size_t)(nl - p) != 4 + idlen ||
		    memcmp(p, "Id: ", 4) || memcmp(p + 4, name, idlen)))
			fail("Id: is not the file name", p, (size_t)(nl - p));
		if (colon - p == 9 && memcmp(p, "Recipient", 9) == 0)
			nrcpt++;
		if (nl - p == 16 && memcmp(p, "Body: BINARYMIME", 16) == 0)
			*binary = 1;
	}
	if (nrcpt == 0)
		fail("queued file without a Recipient", f, n);
	return (size_t)(p + 1 - f);
}

/*
 * check_message - our Received: first, CRLF only (binary: any octets
 * after our Received:, lines only where CRLF ends them), within the
 * limits
 */
static void
check_message(const char *m, size_t n, const struct config *cfg,
    int binary)
{
	size_t i, hops = 0, body, first;
	int bol = 1, in_header = 1;

	if (n < 16 || memcmp(m, "Received: from ", 15) != 0)
		fail("message does not start with our Received:", m, n);
	if (!binary && (m[n - 2] != '\r' || m[n - 1] != '\n'))
		fail("message does not end in CRLF", m + n - (n > 60 ? 60 : n),
		    n > 60 ? 60 : n);
	first = 0;
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
	if (cfg->max_size != 0 && body > cfg->max_size)
		fail("message over --max-size was queued", m, 200);
}

#ifdef HAVE_SPOOLFMT
/* check_reader - the spool reader takes whatever the writer wrote */
static void
check_reader(char *f, size_t n, const char *name)
{
	struct spoolfmt_env env;
	struct spoolfmt_error err;
	int r;

	memset(&err, 0, sizeof err);
	r = spoolfmt_parse(f, n, &env, &err);
	if (r != SPOOLFMT_OK)
		fail("spoolfmt_parse refuses a file smtpd wrote",
		    err.what ? err.what : "?", err.what ? strlen(err.what) : 1);
	if (strcmp(env.id, name) != 0 || env.nrcpt == 0)
		fail("spoolfmt_parse: wrong Id or no recipient", name,
		    strlen(name));
	spoolfmt_free(&env);
}
#endif

/* id_cmp - qsort/bsearch order of queue ids */
static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* check_queue - new/ matches the 250s exactly, tmp/ is empty */
static void
check_queue(char (*ids)[SPOOL_ID_MAX], size_t nids, const struct config *cfg)
{
	DIR *d;
	struct dirent *e;
	char *f;
	size_t n, i, head, seen = 0;
	int binary;

	if ((d = opendir(tmpdir)) == NULL)
		fail("opendir tmp", NULL, 0);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			fail("file left in tmp/", e->d_name,
			    strlen(e->d_name));
	closedir(d);
	qsort(ids, nids, SPOOL_ID_MAX, id_cmp);
	for (i = 1; i < nids; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail("one queue id given twice", ids[i],
			    strlen(ids[i]));
	if ((d = opendir(newdir)) == NULL)
		fail("opendir new", NULL, 0);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (bsearch(e->d_name, ids, nids, SPOOL_ID_MAX, id_cmp) ==
		    NULL)
			fail("file in new/ without its 250", e->d_name,
			    strlen(e->d_name));
		seen++;
		f = read_file(e->d_name, &n);
		head = check_envelope(f, n, e->d_name, &binary);
		check_message(f + head, n - head, cfg, binary);
#ifdef HAVE_SPOOLFMT
		check_reader(f, n, e->d_name);
#endif
		free(f);
	}
	closedir(d);
	if (seen != nids)
		fail("a 250 without its file in new/", ids[0], strlen(ids[0]));
}

/* lowest_free_fd - the fd the next open gets: a leak moves it */
static int
lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ids[MAX_IDS][SPOOL_ID_MAX];
	const struct config *cfg;
	const struct client *client;
	struct conn conn = { -1, -1, 0, 0 };	/* a memfd and a pipe */
	struct drain d;
	pthread_t th;
	int p[2], rc, free_fd, pieces;
	size_t nids;

	if (size == 0)
		return 0;
	free_fd = lowest_free_fd();
	cfg = &configs[data[0] & 3];
	client = (data[0] & 4) ? &remote_client : &local_client;
	pieces = (data[0] & 8) && size - 1 <= PIECES_MAX;
	data++;
	size--;
	if (ftruncate(in_fd, 0) < 0 || (size > 0 &&
	    pwrite(in_fd, data, size, 0) != (ssize_t)size) ||
	    lseek(in_fd, 0, SEEK_SET) != 0)
		fail("memfd write", strerror(errno), strlen(strerror(errno)));
	piece_data = pieces ? data : NULL;
	piece_len = size;
	piece_pos = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe2", strerror(errno), strlen(strerror(errno)));
	memset(&d, 0, sizeof d);
	d.fd = p[0];
	if (pthread_create(&th, NULL, drain_main, &d) != 0)
		fail("pthread_create", NULL, 0);
	conn.in = in_fd;
	conn.out = p[1];
	session_init(&sess, cfg, client, &conn);
	rc = session_run(&sess);
	session_free(&sess);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	piece_data = NULL;
	if (rc != END_QUIT && rc != END_CLIENT && rc != END_TEMPFAIL)
		fail("session_run returned an unknown status", NULL, 0);
	nids = check_replies(d.buf, d.len, ids, data, size);
	check_queue(ids, nids, cfg);
	free(d.buf);
	rm_files(newdir);
	if (lowest_free_fd() != free_fd)
		fail("file descriptor left open by the session", NULL, 0);
	return 0;
}
