/*
 * fuzz_auth.c - libFuzzer target: whole sessions around AUTH (RFC 4954:
 * PLAIN, RFC 4616, and LOGIN) with the password check behind them: a
 * checkpassword program (checkpw.c), or Dovecot's auth protocol
 * (dovecot.c) against a fake server in a thread, whose lines may come
 * from the input (dovecot.c's parser of them is the other parser of
 * input from outside that AUTH brings).
 * Input: two selector octets, in the Dovecot line modes the server's
 * handshake and answer (each a 2-octet little-endian length and that
 * many octets), then operations that the harness turns into the
 * client's bytes, so that it knows which credentials it sent.
 * Octet 0:
 *   bits 0-2  the backend: 0, 1 checkpassword (emulated: hook_run is
 *          wrapped, -Wl,--wrap=hook_run, and answers by the credentials
 *          smtpd wrote to its fd 3); 2 the same, octet 1 choosing a
 *          temporary failure (exit 111, a signal, the timeout) for each
 *          check; 3 a real checkpassword program (/bin/sh and cmp, made
 *          at start: rare by design, it forks); 4 Dovecot, an honest
 *          server (octet 1 picks the user= it gives, "temp", a wrong id,
 *          CRLF lines); 5, 6 Dovecot, the server's lines from the input;
 *          7 checkpassword without --auth-plaintext (538 for AUTH)
 *   bit 3  an untrusted client (192.0.2.7), else a local one
 *   bit 4  --require-auth
 *   bit 5  --auth-in-received
 *   bit 6  read in pieces of 1 to 13 octets (as fuzz_session)
 *   bit 7  --lf
 * Operations: an octet, kind (low 4 bits) and variant (high 4; 15: the
 * lines end in a bare LF), and their operands: raw octets, a line, EHLO
 * or HELO, AUTH PLAIN with an initial response or after "334 ", AUTH
 * LOGIN in two steps or with the user as initial response, "*" at each
 * step, a mail transaction (AUTH=<>, a mailbox, raw xtext; a relayed
 * or a local recipient), RSET/NOOP/QUIT/STARTTLS and odd AUTH lines,
 * lines near the 12288-octet limit and fields near 1024.  Credentials:
 * alice, other users, UTF-8 and unprintable ones, raw octets; alice's
 * password, or it with octets before or after; authzid empty, the user,
 * someone else, or no NUL split; base64 right, or broken at one place.
 * Every password the harness makes holds TOKEN ("Open s3same", alice's
 * whole password); the client's octets are scrubbed of it, so it can
 * only ever be seen where smtpd showed a decoded password (its first
 * letter is no hex digit: no "\xHH" in the log can end in it).
 * Invariants, any break aborts:
 *  - replies are "DDD" SP/"-" printable text CRLF, <= 512 octets; every
 *    334 is "334 " and "", "VXNlcm5hbWU6" or "UGFzc3dvcmQ6"; EHLO lists
 *    AUTH exactly when it is offered (--auth-plaintext and no AUTH yet);
 *  - the outcome of every exchange that reached a check is the check's:
 *    235 for a right password and only then (with the emulated and the
 *    honest checkers: alice's exact credentials; with the real program
 *    its exit status agrees), 454 for a temporary failure, 535 for a
 *    wrong one (also for a name smtpd refuses without asking), each
 *    after a wait of 1 s, then 2 s (poll(NULL, 0, ms) is wrapped and
 *    returns at once: -Wl,--wrap=poll), and at the third "421 4.7.0 ...
 *    too many failed authentications", after 4 s, as the last reply;
 *    at most one 235; the Dovecot replies as the protocol says
 *    (the harness parses the server's lines itself: VERSION 1, MECH
 *    PLAIN, DONE, then OK/FAIL with id 1, user=, temp), and smtpd asks
 *    exactly when the handshake was good;
 *  - what reaches a checker: "user\0password\0\0" on fd 3 with nothing
 *    in argv or the environment, or Dovecot's AUTH line with
 *    service=smtp, rip= the client's address (if any), no "secured", and
 *    resp= the base64 of "\0user\0password"; the user is printable
 *    UTF-8 without space (smtpd's rule);
 *  - TOKEN never appears in the log (write(2) on fd 2 is wrapped,
 *    -Wl,--wrap=write, and kept), in a reply or in a queue file; no log
 *    record shows an AUTH line past its mechanism (the initial response
 *    is base64 of the password); one auth record per success, one
 *    auth-failed per failure or temporary failure, with a user= word;
 *  - each "250 ... queued as ID" has its file in new/, nothing else is
 *    there, tmp/ is empty; spoolfmt_parse takes every file; a message
 *    from after the 235 has "Auth: NAME" (the checker's name for the
 *    user when Dovecot gives a usable one, else the name sent), an A in
 *    its protocol, and with --auth-in-received "(authenticated as
 *    NAME)" in Received; one from before has none of these and an
 *    Auth-Param of "<>" if any; with --require-auth there is none; an
 *    untrusted client relays (to example.net) only after AUTH;
 *  - the session returns, the fake server is idle, no fd is left open.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "hook.h"
#include "fuzzcheck.h"
#include "options.h"
#include "peer.h"
#include "session.h"
#include "spoolfmt.h"

#define HOST		"mx.fuzz.example"
#define USER		"alice"
#define TOKEN		"Open s3same"	/* alice's password; in every one */
#define FIELD_MAX	1024		/* smtpd's cap on user and password */
#define MAX_IDS		8192
#define MAX_EVENTS	8192
#define PIECES_MAX	16384
#define SERVER_MAX	8192		/* the server's lines from the input */
#define WAIT_S		5		/* the fake server's patience */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
ssize_t	 __real_read(int, void *, size_t);
ssize_t	 __wrap_read(int, void *, size_t);
ssize_t	 __real_write(int, const void *, size_t);
ssize_t	 __wrap_write(int, const void *, size_t);
int	 __real_poll(struct pollfd *, nfds_t, int);
int	 __wrap_poll(struct pollfd *, nfds_t, int);
int	 __real_hook_run(const char *, const char *, char *const [], unsigned,
	    int, int, struct hook_result *);
int	 __wrap_hook_run(const char *, const char *, char *const [], unsigned,
	    int, int, struct hook_result *);

enum backend {
	B_EMULATED, B_SCRIPTED, B_REAL, B_DOVECOT, B_DOVECOT_RAW, B_NOPLAIN
};
enum verdict { V_OK, V_BAD, V_TEMP };

/* what happened, in order: a check and its verdict, or a failure's wait */
struct event {
	char	 kind;			/* 'C' check, 'S' sleep */
	enum verdict v;
	unsigned ms;
	char	 name[FIELD_MAX + 1];	/* C/V_OK: the name to record */
};

/* the growing buffers: client bytes, replies, the log */
struct buf {
	char	*p;
	size_t	 len, cap;
};

/* the input as it is taken apart */
struct in {
	const uint8_t *p;
	size_t	 n, i;
};

static struct config cfg;
static struct client local_client, remote_client;
static struct session sess;
static char topdir[256], qdir[300], newdir[320], tmpdir[320], sockpath[300],
    checker[300], credfile[300];
static int in_fd = -1, listen_fd = -1, verbose;

/* per input: what the session and its helpers see */
static enum backend mode;
static unsigned script;			/* octet 1 */
static const uint8_t *srv_hs, *srv_ans;	/* Dovecot lines from the input */
static size_t srv_hs_len, srv_ans_len;
static int capturing;			/* fd 2 into logbuf */
static int remote;			/* the client is 192.0.2.7 */
static struct buf logbuf;
static const uint8_t *piece_data;
static size_t piece_len, piece_pos;
static unsigned nchecks;

/* the events and the fake server's state, shared with its thread */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t idle_cv = PTHREAD_COND_INITIALIZER;
static struct event *events;
static size_t nevents;
static int server_busy;

/* --- small tools ---------------------------------------------------- */

/* add - n octets to a buffer */
static void
add(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n + 1) {
		while (b->cap - b->len < n + 1)
			b->cap = b->cap ? b->cap * 2 : 65536;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			fail("realloc", NULL, 0);
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
adds(struct buf *b, const char *s)
{
	add(b, s, strlen(s));
}

/* next - the next input octet, 0 past the end */
static unsigned
next(struct in *in)
{
	return in->i < in->n ? in->p[in->i++] : 0;
}

/* take - up to n input octets; *got how many */
static const uint8_t *
take(struct in *in, size_t n, size_t *got)
{
	const uint8_t *p = in->p + in->i;

	if (n > in->n - in->i)
		n = in->n - in->i;
	in->i += n;
	*got = n;
	return p;
}

/* find - memmem that takes lengths */
static const char *
find(const char *h, size_t hn, const char *n, size_t nn)
{
	return memmem(h, hn, n, nn);
}

/* b64 - the harness's own base64 (RFC 4648), not smtpd's base64.c */
static void
b64(struct buf *b, const uint8_t *p, size_t n)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];
	unsigned v;
	size_t i;

	for (i = 0; i < n; i += 3) {
		v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = a[v >> 18];
		q[1] = a[(v >> 12) & 63];
		q[2] = i + 1 < n ? a[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? a[v & 63] : '=';
		add(b, q, 4);
	}
}

/* unb64 - decode strict base64; -1 if it is not */
static int
unb64(const char *s, size_t n, struct buf *out)
{
	size_t i, k;
	unsigned v, pad;
	int d;
	char c;
	uint8_t o[3];

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		pad = 0;
		for (k = 0; k < 4; k++) {
			c = s[i + k];
			if (c == '=' && i + 4 == n && k >= 2) {
				pad++;
				d = 0;
			} else if (pad > 0)
				return -1;
			else if (c >= 'A' && c <= 'Z')
				d = c - 'A';
			else if (c >= 'a' && c <= 'z')
				d = c - 'a' + 26;
			else if (c >= '0' && c <= '9')
				d = c - '0' + 52;
			else if (c == '+')
				d = 62;
			else if (c == '/')
				d = 63;
			else
				return -1;
			v = v << 6 | (unsigned)d;
		}
		o[0] = (uint8_t)(v >> 16);
		o[1] = (uint8_t)(v >> 8);
		o[2] = (uint8_t)v;
		add(out, o, 3 - pad);
	}
	return 0;
}

/* user_ok - smtpd's rule for a user name it may ask about and record */
static int
user_ok(const char *u, size_t n)
{
	size_t i;

	if (n == 0 || n > FIELD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	return addr_valid_utf8(u, n);
}

/*
 * settle - what event i says (set when it is recorded, or later: the
 * fake Dovecot takes its place in the order before smtpd can know the
 * outcome, and learns the outcome only later)
 */
static void
settle(size_t i, enum verdict v, const char *name, size_t n)
{
	struct event *e;

	pthread_mutex_lock(&mu);
	e = &events[i];
	e->v = v;
	if (n > FIELD_MAX)
		n = FIELD_MAX;
	memcpy(e->name, name, n);
	e->name[n] = '\0';
	pthread_mutex_unlock(&mu);
}

/* record - one event, in order, from any thread; its index */
static size_t
record(char kind, enum verdict v, unsigned ms, const char *name, size_t n)
{
	size_t i;

	pthread_mutex_lock(&mu);
	if (nevents == MAX_EVENTS)
		fail("more events than the harness holds", NULL, 0);
	i = nevents++;
	events[i].kind = kind;
	events[i].ms = ms;
	pthread_mutex_unlock(&mu);
	settle(i, v, name, n);
	return i;
}

/* honest - are these exactly alice's credentials? */
static int
honest(const char *u, size_t un, const char *p, size_t pn)
{
	return un == sizeof USER - 1 && memcmp(u, USER, un) == 0 &&
	    pn == sizeof TOKEN - 1 && memcmp(p, TOKEN, pn) == 0;
}

/* --- the wrapped calls ---------------------------------------------- */

/* __wrap_read - the input in pieces when asked to (as fuzz_session) */
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

/* __wrap_write - smtpd's log (fd 2, during a session) into logbuf */
ssize_t
__wrap_write(int fd, const void *p, size_t n)
{
	if (fd == 2 && capturing) {
		add(&logbuf, p, n);
		return (ssize_t)n;
	}
	return __real_write(fd, p, n);
}

/*
 * __wrap_poll - a pure sleep of a second or more (the failed-AUTH delay)
 * is noted and returns at once; any other poll is the real one, taken
 * again when a signal cuts it short: libFuzzer's SIGALRM (its -timeout
 * clock) must not look like a backend that went quiet (dovecot.c takes
 * a poll that fails for a failed check; smtpd itself catches no signal)
 */
int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int ms)
{
	int r;

	if (fds == NULL && nfds == 0 && ms >= 1000 && capturing) {
		record('S', V_BAD, (unsigned)ms, "", 0);
		return 0;
	}
	while ((r = __real_poll(fds, nfds, ms)) < 0 && errno == EINTR)
		;
	return r;
}

/* read_creds - what checkpw.c put on fd 3, whole, into b */
static void
read_creds(int fd, char *b, size_t cap, size_t *len)
{
	ssize_t r;

	*len = 0;
	for (;;) {
		r = __real_read(fd, b + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			fail("cannot read the checkpassword pipe",
			    strerror(errno), strlen(strerror(errno)));
		if (r == 0)
			break;
		*len += (size_t)r;
		if (*len == cap)
			fail("checkpassword input over 2 KiB", b, *len);
	}
}

/*
 * run_real - the real checkpassword program on the same octets (a new
 * pipe: the old one is read); its exit status must agree with honest
 */
static void
run_real(const char *prog, const char *arg, char *const envp[],
    unsigned secs, int errfd, const char *b, size_t n, int ok,
    struct hook_result *res)
{
	int p[2];

	if (pipe(p) < 0 || __real_write(p[1], b, n) != (ssize_t)n)
		fail("pipe for the real checker", NULL, 0);
	close(p[1]);
	(void)__real_hook_run(prog, arg, envp, secs, errfd, p[0], res);
	close(p[0]);
	if (res->timed_out || !WIFEXITED(res->status) ||
	    WEXITSTATUS(res->status) != (ok ? 0 : 1))
		fail("the real checkpassword program disagrees",
		    ok ? "should accept" : "should refuse", 13);
}

/*
 * emulate - the checker's answer without a process: by the credentials,
 * or (B_SCRIPTED) a temporary failure octet 1 chose for this check
 */
static void
emulate(int ok, struct hook_result *res)
{
	unsigned how = mode == B_SCRIPTED ? (script >> (2 * (nchecks & 3))) &
	    3 : 0;

	switch (how) {
	case 0:
		res->status = (ok ? 0 : 1) << 8;
		break;
	case 1:
		res->status = 111 << 8;		/* checkpassword's "later" */
		break;
	case 2:
		res->status = SIGKILL;		/* died */
		break;
	default:
		res->status = SIGKILL;		/* hung, and was killed */
		res->timed_out = 1;
		break;
	}
}

/*
 * __wrap_hook_run - checkpw.c's program: the octets on fd 3 must be
 * "user\0password\0\0" with a user smtpd accepts; then the emulated or
 * the real checker answers, and the check is recorded
 */
int
__wrap_hook_run(const char *prog, const char *arg, char *const envp[],
    unsigned secs, int errfd, int fd3, struct hook_result *res)
{
	char b[2 * FIELD_MAX + 8];
	const char *u, *pw, *z;
	size_t n, un, pn, i;
	enum verdict v;
	int ok;

	if (fd3 < 0)		/* a policy program: none is configured */
		fail("hook_run without fd 3", prog, strlen(prog));
	if (strcmp(prog, cfg.auth_backend) != 0 || arg == NULL ||
	    strcmp(arg, "/bin/true") != 0)
		fail("checkpassword run with the wrong argv", prog,
		    strlen(prog));
	for (i = 0; envp[i] != NULL; i++)
		if (strstr(envp[i], TOKEN) != NULL ||
		    (strncmp(envp[i], "PATH=", 5) != 0 &&
		    strncmp(envp[i], "TCPREMOTEIP=", 12) != 0))
			fail("checkpassword environment", envp[i],
			    strlen(envp[i]));
	read_creds(fd3, b, sizeof b, &n);
	u = b;
	if ((z = memchr(u, '\0', n)) == NULL)
		fail("checkpassword input: no NUL after the user", b, n);
	un = (size_t)(z - u);
	pw = z + 1;
	if ((z = memchr(pw, '\0', n - un - 1)) == NULL)
		fail("checkpassword input: no NUL after the password", b, n);
	pn = (size_t)(z - pw);
	if (un + pn + 3 != n || b[n - 1] != '\0')
		fail("checkpassword input is not user\\0password\\0\\0", b, n);
	if (!user_ok(u, un) || pn > FIELD_MAX)
		fail("a name smtpd must refuse reached the checker", u, un);
	ok = honest(u, un, pw, pn);
	memset(res, 0, sizeof *res);
	if (mode == B_REAL)
		run_real(prog, arg, envp, secs, errfd, b, n, ok, res);
	else
		emulate(ok, res);
	nchecks++;
	if (res->timed_out || !WIFEXITED(res->status))
		v = V_TEMP;
	else if (WEXITSTATUS(res->status) == 0)
		v = V_OK;
	else
		v = WEXITSTATUS(res->status) == 1 ? V_BAD : V_TEMP;
	res->verdict = v == V_OK ? HOOK_ACCEPT : HOOK_FAILED;
	record('C', v, 0, u, un);
	explicit_bzero(b, sizeof b);
	return res->verdict;
}

/* --- the fake Dovecot auth server ----------------------------------- */

/* send_all - write all, ignoring a peer that left */
static void
send_all(int fd, const void *p, size_t n)
{
	const char *q = p;
	ssize_t w;

	while (n > 0) {
		w = send(fd, q, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		q += w;
		n -= (size_t)w;
	}
}

/* recv_some - what comes within WAIT_S; 0 at EOF, -1 on error */
static ssize_t
recv_some(int fd, char *b, size_t cap)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r;

	while ((r = __real_poll(&pfd, 1, WAIT_S * 1000)) < 0 && errno == EINTR)
		;
	if (r == 0)
		fail("fake Dovecot: smtpd neither asks nor closes", NULL, 0);
	return recv(fd, b, cap, 0);
}

/*
 * model_handshake - dovecot.c's reading of the server's first lines, as
 * the protocol has it: lines of under 512 octets (C strings: a NUL ends
 * one early) up to "DONE", among them "VERSION\t1\t..." and "MECH\tPLAIN"
 * alone or before a tab.  1 if the client goes on (*after: the octets
 * after DONE), else 0.
 */
static int
model_handshake(const char *s, size_t n, size_t *after)
{
	const char *lf;
	size_t pos = 0, len, cl;
	int version = 0, plain = 0;

	for (;;) {
		if ((lf = memchr(s + pos, '\n', n - pos)) == NULL)
			return 0;
		len = (size_t)(lf - (s + pos));
		if (len >= 512)
			return 0;
		cl = strnlen(s + pos, len);
		if (cl == 4 && memcmp(s + pos, "DONE", 4) == 0)
			break;
		if (cl >= 10 && memcmp(s + pos, "VERSION\t1\t", 10) == 0)
			version = 1;
		else if (cl >= 10 && memcmp(s + pos, "MECH\tPLAIN", 10) == 0 &&
		    (cl == 10 || s[pos + 10] == '\t'))
			plain = 1;
		pos += len + 1;
	}
	*after = pos + len + 1;
	return version && plain;
}

/*
 * model_answer - dovecot.c's reading of the answer, the first line of
 * s: "OK\t1" (alone or before a tab) with the first "user=" word as the
 * name if it is printable UTF-8 without space (*name, else ""),
 * "FAIL\t1" (temporary with a word "temp", or Dovecot 2.3's
 * "code=temp_fail"), anything else temporary, as is a line of 1024
 * octets or more, or none
 */
static enum verdict
model_answer(const char *s, size_t n, char *name)
{
	const char *lf, *w, *e;
	char line[1024];
	size_t len;

	name[0] = '\0';
	if ((lf = memchr(s, '\n', n)) == NULL || (len = (size_t)(lf - s)) >=
	    sizeof line)
		return V_TEMP;
	memcpy(line, s, len);
	line[len] = '\0';
	len = strlen(line);		/* a NUL ends it, as in C */
	if (strncmp(line, "OK\t1", 4) == 0 && (line[4] == '\0' ||
	    line[4] == '\t')) {
		for (w = line + 4; *w != '\0'; w = e) {
			while (*w == '\t')
				w++;
			e = w + strcspn(w, "\t");
			if (strncmp(w, "user=", 5) == 0) {
				if (user_ok(w + 5, (size_t)(e - w - 5))) {
					memcpy(name, w + 5, (size_t)(e - w -
					    5));
					name[e - w - 5] = '\0';
				}
				break;
			}
		}
		return V_OK;
	}
	if (strncmp(line, "FAIL\t1", 6) == 0 && (line[6] == '\0' ||
	    line[6] == '\t')) {
		for (w = line + 6; *w != '\0'; w = e) {
			w++;			/* past its tab */
			e = w + strcspn(w, "\t");
			if ((e - w == 4 && memcmp(w, "temp", 4) == 0) ||
			    (e - w == 14 &&
			    memcmp(w, "code=temp_fail", 14) == 0))
				return V_TEMP;
		}
		return V_BAD;
	}
	return V_TEMP;
}

/* honest_handshake - what a Dovecot 2.3 says first (CRLF: broken) */
static void
honest_handshake(struct buf *b)
{
	const char *nl = (script & 0xc0) == 0xc0 ? "\r\n" : "\n";

	adds(b, "VERSION\t1\t2");
	adds(b, nl);
	adds(b, "MECH\tPLAIN\tplaintext");
	adds(b, nl);
	adds(b, "MECH\tLOGIN\tplaintext");
	adds(b, nl);
	adds(b, "SPID\t4242");
	adds(b, nl);
	adds(b, "CUID\t7");
	adds(b, nl);
	adds(b, "COOKIE\t0123456789abcdef0123456789abcdef");
	adds(b, nl);
	adds(b, "DONE");
	adds(b, nl);
}

/*
 * honest_answer - OK for alice's credentials, else FAIL; octet 1 picks
 * the user= (none, alice, another name, an unusable one), "temp" on a
 * FAIL, a parameter like user= before it, a wrong id
 */
static void
honest_answer(struct buf *b, int ok)
{
	static const char *const names[] = {
		NULL, "\tuser=" USER, "\tuser=Alice@Example.ORG",
		"\tuser=al\xc3(ce", NULL, "\tuser=" USER,
		"\tuser=j\xc3\xbcrgen", "\tuser="
	};

	adds(b, ok ? "OK\t" : "FAIL\t");
	adds(b, script & 0x20 ? "2" : "1");
	if (script & 0x10)
		adds(b, "\tuser_name=mallory\tusers=eve");
	if (names[script & 7] != NULL)
		adds(b, names[script & 7]);
	if (!ok && (script & 8))
		adds(b, script & 0x40 ? "\tcode=temp_fail" : "\ttemp");
	adds(b, "\n");
}

/*
 * check_ask - smtpd's side: VERSION, CPID, then one AUTH line with
 * service=smtp and resp= the base64 of "\0user\0password"; the user
 * and password into *u, *pw (NUL-ended, in dec)
 */
static void
check_ask(const char *b, size_t n, struct buf *dec, const char **u,
    size_t *un, const char **pw, size_t *pn)
{
	static const char hello[] = "VERSION\t1\t2\nCPID\t";
	const char *p, *lf, *r, *z;

	if (n < sizeof hello - 1 || memcmp(b, hello, sizeof hello - 1) != 0)
		fail("Dovecot client: no VERSION and CPID first", b, n);
	p = b + sizeof hello - 1;
	if ((lf = memchr(p, '\n', (size_t)(b + n - p))) == NULL ||
	    lf == p || strspn(p, "0123456789") != (size_t)(lf - p))
		fail("Dovecot client: bad CPID", b, n);
	p = lf + 1;
	if ((lf = memchr(p, '\n', (size_t)(b + n - p))) == NULL ||
	    lf + 1 != b + n)
		fail("Dovecot client: not one AUTH line", p,
		    (size_t)(b + n - p));
	if ((size_t)(lf - p) < 27 || memcmp(p, "AUTH\t1\tPLAIN\tservice=smtp"
	    "\t", 26) != 0)
		fail("Dovecot client: AUTH line", p, (size_t)(lf - p));
	if ((find(p, (size_t)(lf - p), "\trip=192.0.2.7\t", 15) != NULL) !=
	    remote || find(p, (size_t)(lf - p), "\tsecured", 8) != NULL)
		fail("Dovecot client: rip= or secured wrong", p,
		    (size_t)(lf - p));
	if ((r = find(p, (size_t)(lf - p), "\tresp=", 6)) == NULL)
		fail("Dovecot client: no resp=", p, (size_t)(lf - p));
	r += 6;
	dec->len = 0;
	if (unb64(r, (size_t)(lf - r), dec) < 0 || dec->len < 2 ||
	    dec->p[0] != '\0')
		fail("Dovecot client: resp= is not base64 of \\0user\\0pass", r,
		    (size_t)(lf - r));
	*u = dec->p + 1;
	if ((z = memchr(*u, '\0', dec->len - 1)) == NULL)
		fail("Dovecot client: resp= has no password", r,
		    (size_t)(lf - r));
	*un = (size_t)(z - *u);
	*pw = z + 1;
	*pn = dec->len - 2 - *un;
	if (!user_ok(*u, *un) || *pn > FIELD_MAX ||
	    memchr(*pw, '\0', *pn) != NULL)
		fail("Dovecot client: a user or password smtpd must refuse",
		    *u, *un);
}

/* asked - a whole AUTH line has come */
static int
asked(const struct buf *b)
{
	const char *a;

	if (b->len == 0 || (a = find(b->p, b->len, "AUTH\t", 5)) == NULL)
		return 0;
	return memchr(a, '\n', b->len - (size_t)(a - b->p)) != NULL;
}

/* drain_peer - read until smtpd closes; it must not ask */
static void
drain_peer(int fd, int must_not_ask)
{
	char b[4096];
	ssize_t r;

	while ((r = recv_some(fd, b, sizeof b)) > 0)
		if (must_not_ask && find(b, (size_t)r, "AUTH\t", 5) != NULL)
			fail("Dovecot client asks after a handshake it must "
			    "refuse", b, (size_t)r);
}

/* serve - one connection of dovecot.c's */
static void
serve(int fd)
{
	struct buf hs = { 0 }, ask = { 0 }, ans = { 0 }, dec = { 0 };
	char b[4096], name[FIELD_MAX + 1];
	const char *u, *pw;
	size_t after, un, pn, keep, ev;
	enum verdict v;
	ssize_t r;
	int raw = mode == B_DOVECOT_RAW, ok;

	if (raw)
		add(&hs, srv_hs, srv_hs_len);
	else
		honest_handshake(&hs);
	if (!model_handshake(hs.p, hs.len, &after)) {
		record('C', V_TEMP, 0, "", 0);
		send_all(fd, hs.p, hs.len);
		shutdown(fd, SHUT_WR);
		drain_peer(fd, 1);
		goto done;
	}
	/*
	 * the check's place in the order now: octets after DONE may hold
	 * the answer, which smtpd then has before this thread reads AUTH
	 */
	ev = record('C', V_TEMP, 0, "", 0);
	send_all(fd, hs.p, hs.len);
	while (!asked(&ask)) {
		if ((r = recv_some(fd, b, sizeof b)) <= 0)
			fail("Dovecot client went away after a good handshake",
			    ask.p, ask.len);
		add(&ask, b, (size_t)r);
		if (ask.len > 65536)
			fail("Dovecot client says too much", ask.p, 200);
	}
	check_ask(ask.p, ask.len, &dec, &u, &un, &pw, &pn);
	ok = honest(u, un, pw, pn);
	keep = hs.len - after;		/* octets after DONE come first */
	add(&ans, hs.p + after, keep);	/* (and ans.p is never NULL) */
	if (raw)
		add(&ans, srv_ans, srv_ans_len);
	else
		honest_answer(&ans, ok);
	v = model_answer(ans.p, ans.len, name);
	if (!raw && v == V_OK && !ok)
		fail("harness: the honest server said OK to wrong credentials",
		    u, un);
	if (v == V_OK && name[0] == '\0') {	/* no user=: the name sent */
		memcpy(name, u, un);
		name[un] = '\0';
	}
	settle(ev, v, name, strlen(name));
	send_all(fd, ans.p + keep, ans.len - keep);
	shutdown(fd, SHUT_WR);
	drain_peer(fd, 0);
done:
	if (dec.p != NULL)
		explicit_bzero(dec.p, dec.cap);
	free(hs.p);
	free(ask.p);
	free(ans.p);
	free(dec.p);
}

/*
 * no_alarm - a helper thread leaves SIGALRM to the fuzzing thread:
 * libFuzzer's -timeout clock only counts there
 */
static void
no_alarm(void)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
}

/*
 * server_main - accept dovecot.c's connections, one at a time.  It waits
 * in poll, not in accept: Linux gives a blocked accept its fd number at
 * once, which would move the session's lowest free fd under the leak
 * check.
 */
static void *
server_main(void *arg)
{
	struct pollfd pfd = { listen_fd, POLLIN, 0 };
	int fd;

	(void)arg;
	no_alarm();
	for (;;) {
		if (__real_poll(&pfd, 1, -1) < 0 && errno != EINTR)
			fail("poll", strerror(errno), strlen(strerror(errno)));
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EAGAIN)
				continue;
			fail("accept", strerror(errno),
			    strlen(strerror(errno)));
		}
		pthread_mutex_lock(&mu);
		server_busy = 1;
		pthread_mutex_unlock(&mu);
		serve(fd);
		close(fd);
		pthread_mutex_lock(&mu);
		server_busy = 0;
		pthread_cond_broadcast(&idle_cv);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/*
 * wait_server_idle - the fake server is done with its last connection,
 * and no other waits to be taken (smtpd always waits for the server's
 * lines, so there never should be one)
 */
static void
wait_server_idle(void)
{
	struct pollfd pfd = { listen_fd, POLLIN, 0 };
	struct timespec end;

	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += WAIT_S;
	pthread_mutex_lock(&mu);
	while (server_busy)
		if (pthread_cond_timedwait(&idle_cv, &mu, &end) == ETIMEDOUT)
			fail("fake Dovecot server still busy", NULL, 0);
	pthread_mutex_unlock(&mu);
	if (__real_poll(&pfd, 1, 0) > 0)
		fail("a connection to the fake Dovecot nobody waited for",
		    NULL, 0);
}

/* --- set-up --------------------------------------------------------- */

/* write_file - a small file, mode given */
static void
write_file(const char *path, const void *p, size_t n, mode_t m)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, m);

	if (fd < 0 || __real_write(fd, p, n) != (ssize_t)n || close(fd) < 0)
		fail("cannot write", path, strlen(path));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char creds[] = USER "\0" TOKEN "\0";	/* + NUL */
	struct conn nullconn = { -1, -1, 0, 0 };
	struct sockaddr_un sun;
	pthread_t th;
	char text[600];

	(void)argc;
	(void)argv;
	fc_init("fuzz_auth");
	verbose = getenv("FUZZ_AUTH_VERBOSE") != NULL;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	umask(027);
	fc_private_dir("smtpd-fuzzauth", topdir, sizeof topdir);
	snprintf(qdir, sizeof qdir, "%s/q", topdir);
	snprintf(newdir, sizeof newdir, "%s/new", qdir);
	snprintf(tmpdir, sizeof tmpdir, "%s/tmp", qdir);
	snprintf(sockpath, sizeof sockpath, "%s/auth-client", topdir);
	snprintf(checker, sizeof checker, "%s/checkpassword", topdir);
	snprintf(credfile, sizeof credfile, "%s/alice", topdir);
	/* the real checker: exit 0 when fd 3 is alice's, 1 when not */
	write_file(credfile, creds, sizeof creds, 0600);
	snprintf(text, sizeof text, "#!/bin/sh\nexec cmp -s - '%s' 0<&3\n",
	    credfile);
	write_file(checker, text, strlen(text), 0700);
	/* the fake Dovecot's socket, and its thread */
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(sockpath) >= sizeof sun.sun_path)
		fail("socket path too long", sockpath, strlen(sockpath));
	memcpy(sun.sun_path, sockpath, strlen(sockpath) + 1);
	if ((listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0 ||
	    bind(listen_fd, (struct sockaddr *)&sun, sizeof sun) < 0 ||
	    listen(listen_fd, 4) < 0)
		fail("fake Dovecot socket", strerror(errno),
		    strlen(strerror(errno)));
	if ((events = calloc(MAX_EVENTS, sizeof *events)) == NULL)
		fail("calloc", NULL, 0);
	if (pthread_create(&th, NULL, server_main, NULL) != 0)
		fail("pthread_create", NULL, 0);
	/* the two clients, found the way smtpd finds them */
	nullconn.in = nullconn.out = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsetenv("TCPREMOTEIP");
	unsetenv("REMOTE_ADDR");
	unsetenv("REMOTE_HOST");
	unsetenv("RELAYCLIENT");
	identify_client(&local_client, &nullconn, &cfg);
	setenv("TCPREMOTEIP", "192.0.2.7", 1);
	setenv("TCPREMOTEPORT", "40123", 1);
	setenv("TCPREMOTEHOST", "client.fuzz.example", 1);
	identify_client(&remote_client, &nullconn, &cfg);
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPREMOTEHOST");
	close(nullconn.in);
	if (local_client.trusted != 1 || remote_client.trusted != 0)
		fail("identify_client", "trust", 5);
	if ((in_fd = memfd_create("smtpd-fuzz-auth", MFD_CLOEXEC)) < 0)
		fail("memfd_create", strerror(errno), strlen(strerror(errno)));
	return 0;
}

/* set_config - smtpd's defaults, then this input's options */
static void
set_config(unsigned sel)
{
	config_defaults(&cfg);
	cfg.queue = qdir;
	memcpy(cfg.hostname, HOST, sizeof HOST);
	cfg.timeout = 2;
	cfg.session_max = 600;		/* the waits never reach it */
	cfg.log_mode = LOGMODE_STDERR;
	if (policy_add_domain(&cfg.domains, "example.com") < 0)
		fail("policy_add_domain", NULL, 0);
	cfg.auth_dovecot = mode == B_DOVECOT || mode == B_DOVECOT_RAW;
	cfg.auth_backend = cfg.auth_dovecot ? sockpath : checker;
	cfg.auth_plaintext = mode != B_NOPLAIN;
	cfg.require_auth = (sel >> 4) & 1;
	cfg.auth_in_received = (sel >> 5) & 1;
	cfg.lf = (sel >> 7) & 1;
}

/* --- the client's bytes --------------------------------------------- */

/* scrub - TOKEN never in what the client sends as it is */
static void
scrub(struct buf *b)
{
	char *p = b->p, *end;

	if (b->len == 0)
		return;
	end = b->p + b->len;
	while ((p = memmem(p, (size_t)(end - p), TOKEN, sizeof TOKEN - 1)))
		*p++ = '#';
}

/* one set of credentials, and how to spoil their base64 */
struct creds {
	struct buf user, pass, plain;	/* plain: RFC 4616's message */
	unsigned spoil;			/* 0: none, else where and how */
};

/* make_creds - from two octets (and raw octets when they ask) */
static void
make_creds(struct in *in, struct creds *c)
{
	static const char *const bad[] = {
		"", "al ice", "al\x01ice", "\xff\xfe", "al\x7f", "\xc3",
		"a\xe2\x80", "\xed\xa0\x80"
	};
	unsigned c0 = next(in), c1 = next(in);
	const uint8_t *p;
	size_t n;

	memset(c, 0, sizeof *c);
	switch (c0 & 7) {
	case 3: adds(&c->user, "bob"); break;
	case 4: adds(&c->user, "j\xc3\xbcrgen"); break;
	case 5: adds(&c->user, bad[c1 & 7]); break;
	case 6:
		p = take(in, 1 + (c1 & 15), &n);
		add(&c->user, p, n);
		break;
	case 7: adds(&c->user, "Alice"); break;
	default: adds(&c->user, USER); break;
	}
	switch ((c0 >> 3) & 3) {
	case 2:
		adds(&c->pass, TOKEN);
		p = take(in, 1 + (c1 >> 4), &n);
		add(&c->pass, p, n);
		break;
	case 3:
		p = take(in, 1 + (c1 >> 4), &n);
		add(&c->pass, p, n);
		adds(&c->pass, TOKEN);
		break;
	default: adds(&c->pass, TOKEN); break;
	}
	switch ((c0 >> 5) & 3) {
	case 1: add(&c->plain, c->user.p, c->user.len); break;
	case 2: adds(&c->plain, "mallory"); break;
	default: break;
	}
	if (((c0 >> 5) & 3) == 3) {		/* one NUL only */
		add(&c->plain, c->user.p, c->user.len);
		add(&c->plain, "", 1);
	} else {
		add(&c->plain, "", 1);
		add(&c->plain, c->user.p, c->user.len);
		add(&c->plain, "", 1);
	}
	add(&c->plain, c->pass.p, c->pass.len);
	c->spoil = c0 & 0x80 ? 0x100 | next(in) : 0;
}

static void
free_creds(struct creds *c)
{
	free(c->user.p);
	free(c->pass.p);
	free(c->plain.p);
}

/*
 * put_b64 - p as base64 onto the stream ("=" for nothing when ir), or
 * spoiled: a character not of the alphabet, one dropped, padding added
 * or changed, a space in it
 */
static void
put_b64(struct buf *o, const void *p, size_t n, int ir, unsigned spoil)
{
	struct buf t = { 0 };
	size_t at;

	b64(&t, p, n);
	if (t.len == 0 && ir)
		adds(&t, "=");
	if (spoil != 0 && t.len > 0) {
		at = ((spoil >> 2) & 63) * t.len / 64;
		switch (spoil & 3) {
		case 0: t.p[at] = "!*- \t.\x80:"[(spoil >> 5) & 7]; break;
		case 1:
			memmove(t.p + at, t.p + at + 1, t.len - at - 1);
			t.len--;
			break;
		case 2: adds(&t, spoil & 4 ? "=" : "A"); break;
		default:
			if (t.p[t.len - 1] == '=')
				t.p[t.len - 1] = "AQgw"[(spoil >> 2) & 3];
			else
				t.p[t.len - 1] ^= 1;
			break;
		}
	}
	if (t.len > 0)
		add(o, t.p, t.len);
	free(t.p);
}

/* put_long - about n octets of base64-looking text */
static void
put_long(struct buf *o, size_t n)
{
	static const char pat[] = "QUFBQUFB";
	size_t i;

	for (i = 0; i < n; i++)
		add(o, &pat[i % 8], 1);
}

/* build - the client's bytes from the operations */
static void
build(struct in *in, struct buf *o)
{
	struct creds c;
	const uint8_t *p;
	const char *eol;
	unsigned op, kind, v;
	size_t n;

	while (in->i < in->n) {
		op = next(in);
		kind = op & 15;
		v = op >> 4;
		eol = v == 15 ? "\n" : "\r\n";
		switch (kind) {
		case 11: kind = 3; break;
		case 12: kind = 5; break;
		case 13: kind = 4; break;
		case 14: kind = 6; break;
		case 15: kind = 8; break;
		default: break;
		}
		switch (kind) {
		case 0:			/* raw octets */
			p = take(in, next(in), &n);
			add(o, p, n);
			break;
		case 1:			/* a raw line */
			p = take(in, next(in), &n);
			add(o, p, n);
			adds(o, eol);
			break;
		case 2:			/* EHLO or HELO */
			adds(o, v & 1 ? "HELO " : "EHLO ");
			adds(o, v & 2 ? "other.example" : "client.example");
			adds(o, eol);
			break;
		case 3:			/* AUTH PLAIN with initial response */
			make_creds(in, &c);
			adds(o, v & 2 ? "auth plain " : "AUTH PLAIN ");
			put_b64(o, c.plain.p, c.plain.len, 1, c.spoil);
			adds(o, eol);
			free_creds(&c);
			break;
		case 4:			/* AUTH PLAIN, then the response */
			make_creds(in, &c);
			adds(o, "AUTH PLAIN");
			adds(o, eol);
			put_b64(o, c.plain.p, c.plain.len, v & 2, c.spoil);
			adds(o, eol);
			free_creds(&c);
			break;
		case 5:			/* AUTH LOGIN, user, password */
			make_creds(in, &c);
			adds(o, v & 2 ? "AUTH login" : "AUTH LOGIN");
			adds(o, eol);
			put_b64(o, c.user.p, c.user.len, 0,
			    c.spoil & 0x80 ? 0 : c.spoil);
			adds(o, eol);
			put_b64(o, c.pass.p, c.pass.len, v & 4,
			    c.spoil & 0x80 ? c.spoil : 0);
			adds(o, eol);
			free_creds(&c);
			break;
		case 6:			/* AUTH LOGIN user, password */
			make_creds(in, &c);
			adds(o, "AUTH LOGIN ");
			put_b64(o, c.user.p, c.user.len, 1,
			    c.spoil & 0x80 ? 0 : c.spoil);
			adds(o, eol);
			put_b64(o, c.pass.p, c.pass.len, v & 4,
			    c.spoil & 0x80 ? c.spoil : 0);
			adds(o, eol);
			free_creds(&c);
			break;
		case 7:			/* "*" at each step */
			switch (v & 3) {
			case 0: adds(o, "AUTH PLAIN"); break;
			case 1: adds(o, "AUTH LOGIN"); break;
			case 2: adds(o, "AUTH LOGIN"); adds(o, eol);
				adds(o, "YWxpY2U="); break;
			default: adds(o, "AUTH LOGIN YWxpY2U="); break;
			}
			adds(o, eol);
			adds(o, v & 4 ? "* " : "*");
			adds(o, eol);
			break;
		case 8:			/* a transaction */
			adds(o, "MAIL FROM:<s@example.org>");
			switch ((v >> 1) & 3) {
			case 1: adds(o, " AUTH=<>"); break;
			case 2: adds(o, " AUTH=alice+2Bx@example.org"); break;
			case 3:
				adds(o, " AUTH=");
				p = take(in, next(in) & 31, &n);
				add(o, p, n);
				break;
			default: break;
			}
			adds(o, eol);
			adds(o, v & 1 ? "RCPT TO:<c@example.net>" :
			    "RCPT TO:<b@example.com>");
			adds(o, eol);
			adds(o, "DATA");
			adds(o, eol);
			adds(o, "Subject: t");
			adds(o, eol);
			adds(o, eol);
			adds(o, "body");
			adds(o, eol);
			adds(o, ".");
			adds(o, eol);
			break;
		case 9: {		/* other commands, odd AUTH lines */
			static const char *const cmd[] = {
				"RSET", "NOOP", "QUIT", "STARTTLS", "AUTH",
				"AUTH CRAM-MD5 x", "AUTH PLAIN =",
				"AUTH LOGIN =", "AUTH PLAIN x y",
				"AUTH PLAIN  AGFsaWNl", "AUTH PLAIN ",
				"AUTH PLAINX", "AUTH =", "AUTH PLAIN ====",
				"AUTH LOGIN *", "AUTH XOAUTH2"
			};
			adds(o, cmd[v & 15]);
			adds(o, v == 15 ? "\r\n" : eol);
			break;
		}
		default: {		/* 10: near the limits */
			size_t d = next(in);

			switch (v & 7) {
			case 0:		/* AUTH line around 12288 */
				adds(o, "AUTH PLAIN ");
				put_long(o, 12288 - 11 - 128 + d);
				break;
			case 1:		/* a response around 12288 */
			case 2:
				adds(o, v & 1 ? "AUTH PLAIN" : "AUTH LOGIN");
				adds(o, eol);
				put_long(o, 12288 - 128 + d);
				break;
			default:	/* user or password near 1024 */
				make_creds(in, &c);
				n = FIELD_MAX - 8 + (d & 15);
				if (v & 1) {
					c.user.len = 0;
					while (c.user.len < n)
						adds(&c.user, "u");
					c.user.len = n;
				} else {
					while (c.pass.len < n)
						adds(&c.pass, TOKEN);
					c.pass.len = n;
				}
				c.plain.len = 0;
				add(&c.plain, "", 1);
				add(&c.plain, c.user.p, c.user.len);
				add(&c.plain, "", 1);
				add(&c.plain, c.pass.p, c.pass.len);
				if (v & 2) {
					adds(o, "AUTH PLAIN ");
					put_b64(o, c.plain.p, c.plain.len, 1,
					    0);
				} else {
					adds(o, "AUTH LOGIN ");
					put_b64(o, c.user.p, c.user.len, 1, 0);
					adds(o, eol);
					put_b64(o, c.pass.p, c.pass.len, 0, 0);
				}
				free_creds(&c);
				break;
			}
			adds(o, eol);
			break;
		}
		}
	}
}

/* --- the checks ------------------------------------------------------ */

/* what the reply stream says, in order */
struct seen {
	char	 ids[MAX_IDS][SPOOL_ID_MAX];
	int	 authed[MAX_IDS];	/* queued after the 235 */
	size_t	 nids;
	char	 outcome[MAX_EVENTS + 8];	/* O 235, F 535, X 421, T 454 */
	size_t	 nout;
};

/* is_line - the line (without CRLF, len octets) is exactly s */
static int
is_line(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

/* check_replies - the format, the 334s, EHLO's AUTH, the outcomes */
static void
check_replies(const char *p, size_t n, struct seen *sn)
{
	const char *end = p + n, *last = p;
	struct fc_reply r = { 0, 0 };
	char id[SPOOL_ID_MAX];
	size_t len, full;
	int more, code, authed = 0, in_ehlo = 0, ehlo_auth = 0;

	if (n == 0)
		fail("no reply at all", NULL, 0);
	for (; p < end; p += full) {
		more = r.more;		/* the line before this one */
		full = fc_reply_line(p, end, &r);
		len = full - 2;
		if (!more && sn->nout > 0 && sn->outcome[sn->nout - 1] == 'X')
			fail("a reply after the 421 of failed AUTHs", p, len);
		code = r.code;
		last = p;
		if (!more && code == 250 && p[3] == '-' &&
		    is_line(p + 4, len - 4, HOST)) {
			in_ehlo = 1;
			ehlo_auth = 0;
		}
		if (in_ehlo && code == 250 && is_line(p + 4, len - 4,
		    "AUTH PLAIN LOGIN"))
			ehlo_auth++;
		more = p[3] == '-';
		if (in_ehlo && !more) {
			in_ehlo = 0;
			if (ehlo_auth != (cfg.auth_plaintext && !authed))
				fail(authed ? "EHLO offers AUTH after it" :
				    "EHLO does not offer AUTH as it should",
				    p, len);
		}
		if (code == 334 && !is_line(p, len, "334 ") &&
		    !is_line(p, len, "334 VXNlcm5hbWU6") &&
		    !is_line(p, len, "334 UGFzc3dvcmQ6"))
			fail("334 with another challenge", p, len);
		if (more)
			continue;
		if (code == 235 || code == 535 || (code == 454 &&
		    find(p, len, "authentication", 14) != NULL) ||
		    (code == 421 && find(p, len, "failed authentications",
		    22) != NULL)) {
			if (sn->nout == MAX_EVENTS)
				fail("too many AUTH outcomes", p, len);
			sn->outcome[sn->nout++] = code == 235 ? 'O' :
			    code == 535 ? 'F' : code == 454 ? 'T' : 'X';
			if (code == 235 && authed)
				fail("a second 235", p, len);
			if (code == 235)
				authed = 1;
		}
		if (fc_queued_id(p, full, id, sizeof id)) {
			if (sn->nids == MAX_IDS)
				fail("too many queue ids", p, len);
			memcpy(sn->ids[sn->nids], id, sizeof id);
			sn->authed[sn->nids++] = authed;
		}
	}
	fc_replies_end(&r, last, end);
}

/*
 * expected - the outcomes the events ask for: 235 per OK, 454 per
 * temporary failure, per failure (a BAD check and its wait, or a wait
 * alone: a name smtpd refused itself) 535, the third 421; each wait
 * 1 s, 2 s, 4 s in turn; *ok_name the name of the OK
 */
static size_t
expected(char *out, size_t cap, const char **ok_name, size_t *nfail,
    size_t *ntemp, size_t *nok)
{
	size_t i, n = 0;

	*ok_name = NULL;
	*nfail = *ntemp = *nok = 0;
	for (i = 0; i < nevents; i++) {
		const struct event *e = &events[i];

		if (n + 1 >= cap)
			fail("too many events", NULL, 0);
		if (e->kind == 'C' && e->v == V_OK) {
			out[n++] = 'O';
			*ok_name = e->name;
			(*nok)++;
		} else if (e->kind == 'C' && e->v == V_TEMP) {
			out[n++] = 'T';
			(*ntemp)++;
		} else if (e->kind == 'C') {
			if (i + 1 == nevents || events[i + 1].kind != 'S')
				fail("a wrong password without its wait",
				    NULL, 0);
		} else {
			if (e->ms != 1000u << (*nfail < 8 ? *nfail : 8))
				fail("failed AUTH waits a wrong time", NULL, 0);
			(*nfail)++;
			out[n++] = *nfail >= 3 ? 'X' : 'F';
		}
	}
	out[n] = '\0';
	return n;
}

/*
 * check_record - one log line, "smtpd[PID]: ip=ADDR event=NAME ...":
 * the auth and auth-failed records counted, each with a user= word
 * first; the command= of any record must not show an AUTH line past
 * its mechanism (the rest is base64 of the password).  The structure,
 * not a search: a client's octets in a value cannot pose as a key.
 */
static void
check_record(const char *l, size_t n, size_t *nauth, size_t *nfailed)
{
	const char *end = l + n, *sp, *ev, *ee, *v;
	int auth;

	if (n < 8 || memcmp(l, "smtpd[", 6) != 0 ||
	    (sp = memchr(l, ' ', n)) == NULL ||
	    (sp = memchr(sp + 1, ' ', (size_t)(end - sp - 1))) == NULL ||
	    (size_t)(end - sp) < 8 || memcmp(sp + 1, "event=", 6) != 0)
		fail("log line not smtpd[PID]: ip=ADDR event=NAME", l, n);
	ev = sp + 7;
	if ((ee = memchr(ev, ' ', (size_t)(end - ev))) == NULL)
		ee = end;
	auth = (ee - ev == 4 && memcmp(ev, "auth", 4) == 0) ? 1 :
	    (ee - ev == 11 && memcmp(ev, "auth-failed", 11) == 0) ? 2 : 0;
	if (auth == 1)
		(*nauth)++;
	if (auth == 2)
		(*nfailed)++;
	if (auth && ((size_t)(end - ee) < 7 || memcmp(ee, " user=", 6) != 0 ||
	    ee[6] == ' ' || ee[6] == '"'))
		fail("an auth record without a user= word first", l, n);
	if ((v = find(ee, (size_t)(end - ee), " command=", 9)) == NULL)
		return;
	v += 9;
	if (v < end && *v == '"')
		v++;
	if ((size_t)(end - v) < 5 || strncasecmp(v, "AUTH ", 5) != 0)
		return;
	for (v += 5; v < end && *v == ' '; v++)
		;
	while (v < end && *v != ' ' && *v != '"')
		v++;
	while (v < end && *v == ' ')
		v++;
	if (v < end && *v != '"')
		fail("an AUTH initial response in the log", l, n);
}

/*
 * check_log - no TOKEN, no NUL; each record well-formed (check_record),
 * one auth record per success, one auth-failed per failure or
 * temporary failure
 */
static void
check_log(size_t nok, size_t nfail, size_t ntemp)
{
	const char *p, *nl, *end;
	size_t nauth = 0, nfailed = 0;

	if (logbuf.len == 0)
		fail("no log at all", NULL, 0);
	end = logbuf.p + logbuf.len;
	if (find(logbuf.p, logbuf.len, TOKEN, sizeof TOKEN - 1) != NULL)
		fail("a password in the log", logbuf.p, logbuf.len);
	if (memchr(logbuf.p, '\0', logbuf.len) != NULL)
		fail("NUL in the log", logbuf.p, logbuf.len);
	for (p = logbuf.p; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			fail("log not in whole lines", p, (size_t)(end - p));
		check_record(p, (size_t)(nl - p), &nauth, &nfailed);
	}
	if (nauth != nok || nfailed != nfail + ntemp)
		fail("auth/auth-failed records do not match the outcomes",
		    logbuf.p, logbuf.len);
}

/* check_file - one queued message, authenticated (name) or not */
static void
check_file(const char *id, int authed, const char *name, int untrusted)
{
	struct spoolfmt_env env;
	struct spoolfmt_error err;
	struct fc_env e;
	char path[700], *f, *copy, *rcv, *eor;
	const char *pr;
	size_t n, i, pl, n_head;

	snprintf(path, sizeof path, "%s/%s", newdir, id);
	f = fc_read_file(path, &n);
	if (find(f, n, TOKEN, sizeof TOKEN - 1) != NULL)
		fail("a password in a queue file", f, n);
	if ((copy = malloc(n + 1)) == NULL)
		fail("malloc", NULL, 0);
	memcpy(copy, f, n + 1);
	n_head = fc_check_envelope(f, n, id, &e);
	(void)fc_check_message(f + n_head, n - n_head, cfg.max_size,
	    e.binary);
	memset(&err, 0, sizeof err);
	if (spoolfmt_parse(copy, n, &env, &err) != SPOOLFMT_OK)
		fail("spoolfmt_parse refuses a file smtpd wrote", err.what ?
		    err.what : "?", err.what ? strlen(err.what) : 1);
	if (strcmp(env.id, id) != 0)
		fail("Id: is not the file name", id, strlen(id));
	if (authed && (name == NULL || strcmp(env.auth_user, name) != 0))
		fail("Auth: is not who authenticated", env.auth_user,
		    strlen(env.auth_user));
	if (!authed && env.auth_user[0] != '\0')
		fail("Auth: without a 235", env.auth_user,
		    strlen(env.auth_user));
	if (!authed && env.auth_param[0] != '\0' &&
	    strcmp(env.auth_param, "<>") != 0)
		fail("an untrusted AUTH= kept", env.auth_param,
		    strlen(env.auth_param));
	if (cfg.require_auth && !authed)
		fail("queued without AUTH under --require-auth", id,
		    strlen(id));
	pr = env.protocol;
	pl = strlen(pr);
	if (pl > 0 && strcmp(pr, "SMTP") != 0 && (pr[pl - 1] == 'A') != authed)
		fail("protocol and AUTH disagree", pr, pl);
	for (i = 0; i < env.nrcpt && untrusted && !authed; i++)
		if (strlen(env.rcpt[i].addr) > 12 && strcmp(env.rcpt[i].addr +
		    strlen(env.rcpt[i].addr) - 12, "@example.net") == 0)
			fail("an untrusted client relayed without AUTH",
			    env.rcpt[i].addr, strlen(env.rcpt[i].addr));
	rcv = f + env.head_len;
	eor = rcv;
	while ((eor = strstr(eor, "\r\n")) != NULL && eor[2] == '\t')
		eor += 2;
	if (eor == NULL)
		fail("no end of Received", rcv, n - env.head_len);
	*eor = '\0';
	if ((strstr(rcv, " (authenticated as ") != NULL) !=
	    (cfg.auth_in_received && authed))
		fail("Received names the user when it should not, or not",
		    rcv, strlen(rcv));
	if (cfg.auth_in_received && authed) {
		char want[FIELD_MAX + 32];

		snprintf(want, sizeof want, " (authenticated as %s) ", name);
		if (strstr(rcv, want) == NULL)
			fail("Received names another user", rcv, strlen(rcv));
	}
	spoolfmt_free(&env);
	free(copy);
	free(f);
}

/* check_queue - new/ holds exactly the 250s' files, tmp/ is empty */
static void
check_queue(struct seen *sn, const char *name, int untrusted)
{
	DIR *d;
	struct dirent *e;
	size_t i, seen = 0;

	fc_check_tmp_empty(tmpdir, 1);
	for (i = 0; i < sn->nids; i++)
		check_file(sn->ids[i], sn->authed[i], name, untrusted);
	if ((d = opendir(newdir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		for (i = 0; i < sn->nids; i++)
			if (strcmp(sn->ids[i], e->d_name) == 0)
				break;
		if (i == sn->nids)
			fail("file in new/ without its 250", e->d_name,
			    strlen(e->d_name));
		seen++;
	}
	closedir(d);
	if (seen != sn->nids)
		fail("a 250 without its file, or one id twice", NULL, 0);
}

/* open_fds - which of the fds 0-63 are open, as bits */
static uint64_t
open_fds(void)
{
	uint64_t m = 0;
	int fd;

	for (fd = 0; fd < 64; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			m |= 1ull << fd;
	return m;
}

/* drain - every reply octet until the session closes its end */
struct drain {
	int	 fd;
	struct buf b;
};

static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	char tmp[65536];
	ssize_t n;

	no_alarm();
	for (;;) {
		n = __real_read(d->fd, tmp, sizeof tmp);
		if (n > 0)
			add(&d->b, tmp, (size_t)n);
		else if (n == 0 || errno != EINTR)
			break;
	}
	return NULL;
}

/* server_lines - a Dovecot part from the input: length, octets */
static const uint8_t *
server_lines(struct in *in, size_t *len)
{
	size_t n = next(in);

	n |= (size_t)next(in) << 8;
	if (n > SERVER_MAX)
		n = SERVER_MAX;
	return take(in, n, len);
}

/* show - with FUZZ_AUTH_VERBOSE: what was sent, said, logged, checked */
static void
show(const struct buf *stream, const struct buf *replies)
{
	static const char vn[] = "OBT";
	char line[64];
	size_t i;
	int n;

	(void)!__real_write(fc_report_fd, "=== client\n", 11);
	(void)!__real_write(fc_report_fd, stream->p, stream->len);
	(void)!__real_write(fc_report_fd, "\n=== replies\n", 13);
	(void)!__real_write(fc_report_fd, replies->p, replies->len);
	(void)!__real_write(fc_report_fd, "=== log\n", 8);
	(void)!__real_write(fc_report_fd, logbuf.p, logbuf.len);
	(void)!__real_write(fc_report_fd, "=== events\n", 11);
	for (i = 0; i < nevents; i++) {
		n = snprintf(line, sizeof line, "%c %c %u %.30s\n",
		    events[i].kind, vn[events[i].v], events[i].ms,
		    events[i].name);
		(void)!__real_write(fc_report_fd, line, (size_t)n);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen sn;
	static const enum backend modes[8] = {
		B_EMULATED, B_EMULATED, B_SCRIPTED, B_REAL, B_DOVECOT,
		B_DOVECOT_RAW, B_DOVECOT_RAW, B_NOPLAIN
	};
	struct conn conn = { -1, -1, 0, 0 };
	struct in in = { data, size, 0 };
	struct buf stream = { 0 }, hs = { 0 }, ans = { 0 };
	struct drain d;
	char want[MAX_EVENTS + 8];
	const char *ok_name;
	const struct client *client;
	const uint8_t *p;
	size_t nwant, nfail, ntemp, nok, n;
	uint64_t fds_before;
	pthread_t th;
	unsigned sel;
	int fds[2], rc, free_fd;

	if (size < 2 || size > PIECES_MAX + 2 * SERVER_MAX + 8)
		return 0;
	free_fd = fc_lowest_free_fd();
	fds_before = open_fds();
	sel = next(&in);
	script = next(&in);
	mode = modes[sel & 7];
	client = (sel & 8) ? &remote_client : &local_client;
	remote = client == &remote_client;
	set_config(sel);
	if (mode == B_DOVECOT_RAW) {
		p = server_lines(&in, &n);
		add(&hs, p, n);
		p = server_lines(&in, &n);
		add(&ans, p, n);
		scrub(&hs);
		scrub(&ans);
	}
	srv_hs = (const uint8_t *)hs.p;
	srv_hs_len = hs.len;
	srv_ans = (const uint8_t *)ans.p;
	srv_ans_len = ans.len;
	build(&in, &stream);
	scrub(&stream);
	if (ftruncate(in_fd, 0) < 0 || (stream.len > 0 &&
	    pwrite(in_fd, stream.p, stream.len, 0) != (ssize_t)stream.len) ||
	    lseek(in_fd, 0, SEEK_SET) != 0)
		fail("memfd write", strerror(errno), strlen(strerror(errno)));
	piece_data = (sel & 0x40) && stream.len <= PIECES_MAX ?
	    (const uint8_t *)stream.p : NULL;
	piece_len = stream.len;
	piece_pos = 0;
	nevents = 0;
	nchecks = 0;
	logbuf.len = 0;
	sn.nids = sn.nout = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		fail("pipe2", strerror(errno), strlen(strerror(errno)));
	memset(&d, 0, sizeof d);
	d.fd = fds[0];
	if (pthread_create(&th, NULL, drain_main, &d) != 0)
		fail("pthread_create", NULL, 0);
	conn.in = in_fd;
	conn.out = fds[1];
	capturing = 1;
	session_init(&sess, &cfg, client, &conn);
	rc = session_run(&sess);
	session_free(&sess);
	capturing = 0;
	close(fds[1]);
	pthread_join(th, NULL);
	close(fds[0]);
	piece_data = NULL;
	wait_server_idle();
	if (rc != END_QUIT && rc != END_CLIENT && rc != END_TEMPFAIL)
		fail("session_run returned an unknown status", NULL, 0);
	add(&d.b, "", 0);
	if (verbose)
		show(&stream, &d.b);
	check_replies(d.b.p, d.b.len, &sn);
	if (find(d.b.p, d.b.len, TOKEN, sizeof TOKEN - 1) != NULL)
		fail("a password in a reply", d.b.p, d.b.len);
	nwant = expected(want, sizeof want, &ok_name, &nfail, &ntemp, &nok);
	sn.outcome[sn.nout] = '\0';
	if (nwant != sn.nout || memcmp(want, sn.outcome, nwant) != 0) {
		char both[2 * MAX_EVENTS + 32];

		snprintf(both, sizeof both, "checks say %s, replies say %s",
		    want, sn.outcome);
		fail("AUTH outcomes differ from the checks", both,
		    strlen(both));
	}
	if (nok > 1)
		fail("more than one successful check", NULL, 0);
	check_log(nok, nfail, ntemp);
	check_queue(&sn, ok_name, client == &remote_client);
	fc_rm_files(newdir);
	free(d.b.p);
	free(stream.p);
	free(hs.p);
	free(ans.p);
	if (fc_lowest_free_fd() != free_fd || open_fds() != fds_before) {
		char what[128];

		snprintf(what, sizeof what, "open before %#llx, after %#llx",
		    (unsigned long long)fds_before,
		    (unsigned long long)open_fds());
		fail("file descriptors differ after the session", what,
		    strlen(what));
	}
	return 0;
}
