/*
 * milter.c - the client side of the milter protocol, version 6: the
 * connection, packet framing (a 4-octet network-order length, then the
 * command letter and its data), OPTNEG with the macro lists a filter
 * may add (SETSYMLIST), and the reply parser.  Never reads a packet
 * longer than MILTER_PACKET_MAX, never waits past the deadline of the
 * reply it waits for, and never lets a filter's text through
 * unchecked: milter_parse_text() admits a 4xx/5xx reply of printable
 * lines only.  Facts from libmilter's mfdef.h/mfapi.h and
 * engine.c (packet layouts) and Postfix's milter8.c (what an MTA sends).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "milter.h"
#include "sbuf.h"

/* fail - note why, for the session's one log record; -1 */
static int
fail(struct milter *m, const char *what)
{
	struct sbuf sb;

	sb_init(&sb, m->why, sizeof m->why);
	sb_str(&sb, what);
	if (errno != 0 && m->why[0] != '\0') {
		sb_str(&sb, ": ");
		sb_str(&sb, strerror(errno));
	}
	return -1;
}

/* milter_note - why the filter is to be given up, for the log */
void
milter_note(struct milter *m, const char *why)
{
	struct sbuf sb;

	sb_init(&sb, m->why, sizeof m->why);
	sb_str(&sb, why);
}

/* deadline_in - the monotonic time seconds from now */
static struct timespec
deadline_in(unsigned seconds)
{
	struct timespec t = io_now();

	t.tv_sec += seconds;
	return t;
}

/* wait_for - poll fd for events until the deadline: 0, or -1 */
static int
wait_for(struct milter *m, short events)
{
	struct pollfd pfd = { m->fd, events, 0 };
	int ms, r;

	for (;;) {
		if ((ms = ms_until(m->end)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((r = poll(&pfd, 1, ms)) > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* send_all - write n octets before the deadline: 0 or -1 */
static int
send_all(struct milter *m, const void *buf, size_t n)
{
	return io_send_by(m->fd, buf, n, m->end);
}

/* read_all - exactly n octets before the deadline: 0 or -1 */
static int
read_all(struct milter *m, void *buf, size_t n)
{
	char *p = buf;
	ssize_t r;

	while (n > 0) {
		if (wait_for(m, POLLIN) < 0)
			return -1;
		r = read(m->fd, p, n);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r == 0)
			errno = ECONNRESET;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* put32/get32 - network-order 32-bit numbers */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/*
 * connect_unix, connect_inet - a non-blocking connection, made before
 * the deadline, or -1.  inet hosts are numeric (no DNS wait without a
 * deadline); "localhost" means 127.0.0.1 or ::1.
 */
static int
connect_fd(struct milter *m, int family, const struct sockaddr *sa,
    socklen_t salen)
{
	int err = 0;
	socklen_t elen = sizeof err;

	m->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (m->fd < 0)
		return fail(m, "socket");
	if (connect(m->fd, sa, salen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return fail(m, "connect");
	if (wait_for(m, POLLOUT) < 0)
		return fail(m, "connect");
	if (getsockopt(m->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 ||
	    err != 0) {
		errno = err;
		return fail(m, "connect");
	}
	return 0;
}

static int
connect_unix(struct milter *m, const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof sun.sun_path)
		return fail(m, "socket path too long");
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n + 1);
	return connect_fd(m, AF_UNIX, (struct sockaddr *)&sun, sizeof sun);
}

static int
connect_inet(struct milter *m, const char *hostport, int six)
{
	char host[64];
	const char *colon = strrchr(hostport, ':');
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	size_t n;
	long port;
	char *end;

	if (colon == NULL || (n = (size_t)(colon - hostport)) >= sizeof host)
		return fail(m, "bad inet:host:port");
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return fail(m, "bad port");
	memcpy(host, hostport, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	if (strcmp(host, "localhost") == 0)
		memcpy(host, six ? "::1" : "127.0.0.1", six ? 4 : 10);
	memset(&sin, 0, sizeof sin);
	memset(&sin6, 0, sizeof sin6);
	if (!six && inet_pton(AF_INET, host, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)port);
		return connect_fd(m, AF_INET, (struct sockaddr *)&sin,
		    sizeof sin);
	}
	if (six && inet_pton(AF_INET6, host, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)port);
		return connect_fd(m, AF_INET6, (struct sockaddr *)&sin6,
		    sizeof sin6);
	}
	return fail(m, "inet host must be an address or localhost");
}

/* connect_spec - unix:/path, inet:host:port, inet6:host:port, /path */
static int
connect_spec(struct milter *m, const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return connect_unix(m, spec + 5);
	if (strncmp(spec, "local:", 6) == 0)
		return connect_unix(m, spec + 6);
	if (strncmp(spec, "inet:", 5) == 0)
		return connect_inet(m, spec + 5, 0);
	if (strncmp(spec, "inet6:", 6) == 0)
		return connect_inet(m, spec + 6, 1);
	if (spec[0] == '/')
		return connect_unix(m, spec);
	return fail(m, "unknown socket type");
}

/* milter_send - one command packet: length, letter, data; 0 or -1 */
int
milter_send(struct milter *m, char cmd, const void *data, size_t n)
{
	unsigned char head[5];

	if (m->fd < 0 || n > MILTER_CHUNK + MILTER_CMD_MAX)
		return fail(m, "command too long");
	put32(head, (uint32_t)n + 1);
	head[4] = (unsigned char)cmd;
	m->end = deadline_in(m->timeout);
	if (send_all(m, head, sizeof head) < 0 ||
	    (n > 0 && send_all(m, data, n) < 0))
		return fail(m, "write");
	return 0;
}

/*
 * milter_read - the next reply packet, within seconds, parsed into r:
 * 0, or -1 when the filter is broken (closed, slow, too long, garbage)
 */
int
milter_read(struct milter *m, unsigned seconds, struct milter_reply *r)
{
	unsigned char head[4];
	uint32_t n;

	errno = 0;
	m->end = deadline_in(seconds);
	if (read_all(m, head, sizeof head) < 0)
		return fail(m, errno == ETIMEDOUT ? "no reply in time" :
		    "read");
	n = get32(head);
	if (n == 0 || n > MILTER_PACKET_MAX) {
		errno = 0;
		return fail(m, n == 0 ? "empty packet" : "packet too long");
	}
	if (read_all(m, m->buf, n) < 0)
		return fail(m, "read");
	m->len = n;
	if (milter_parse_reply(m->buf, n, r) < 0) {
		errno = 0;
		return fail(m, "malformed reply");
	}
	return 0;
}

/* take_str - the NUL-ended string at *off in p[0..n), or NULL */
static const char *
take_str(const unsigned char *p, size_t n, size_t *off)
{
	const unsigned char *nul;
	const char *s;

	if (*off >= n || (nul = memchr(p + *off, '\0', n - *off)) == NULL)
		return NULL;
	s = (const char *)p + *off;
	*off = (size_t)(nul - p) + 1;
	return s;
}

/* count_names - the space-separated words of a macro list */
static size_t
count_names(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s != ' ' && (s[1] == ' ' || s[1] == '\0'))
			n++;
	return n;
}

/*
 * parse_symlists - the macro lists a version 6 filter may append to its
 * OPTNEG answer (SETSYMLIST): each a 4-octet stage (SMFIM_*) and a
 * NUL-ended list of names, at most one per stage, at most
 * MILTER_SYMLIST_NAMES names each, MILTER_SYMLIST_MAX octets in all.
 * 0, or -1 for anything else.
 */
static int
parse_symlists(const unsigned char *p, size_t n, struct milter_optneg *o)
{
	const char *names;
	size_t off = 0;
	uint32_t stage, seen = 0;

	if (n > MILTER_SYMLIST_MAX)
		return -1;
	while (off < n) {
		if (n - off < 4)
			return -1;
		stage = get32(p + off);
		off += 4;
		if (stage >= SMFIM_COUNT || (seen & (1u << stage)) != 0 ||
		    (names = take_str(p, n, &off)) == NULL ||
		    count_names(names) > MILTER_SYMLIST_NAMES)
			return -1;
		seen |= 1u << stage;
		o->list[o->nlists].stage = stage;
		o->list[o->nlists++].names = names;
	}
	return 0;
}

/*
 * milter_parse_optneg - the filter's OPTNEG answer: version 2 to 6, its
 * actions and steps, then the macro lists it may add (parse_symlists);
 * 0, or -1 when malformed.  A pure function, fuzzed like the replies.
 */
int
milter_parse_optneg(const unsigned char *p, size_t n,
    struct milter_optneg *o)
{
	memset(o, 0, sizeof *o);
	if (n < 13 || p[0] != SMFIC_OPTNEG)
		return -1;
	o->version = get32(p + 1);
	if (o->version < 2 || o->version > MILTER_VERSION)
		return -1;
	o->actions = get32(p + 5);
	o->steps = get32(p + 9);
	return parse_symlists(p + 13, n - 13, o);
}

/*
 * milter_open - connect to the filter at spec and negotiate: we offer
 * version 6, the actions we can carry out and the steps we can leave
 * out; the filter must ask for no more.  Its answer goes into *o (the
 * macro lists point into m->buf, valid until the next milter_read).
 * 0, or -1 (m->why says why).
 */
int
milter_open(struct milter *m, const char *spec, unsigned timeout,
    uint32_t actions, uint32_t steps, struct milter_optneg *o)
{
	unsigned char opt[12];
	struct milter_reply r;

	memset(m, 0, sizeof *m);
	memset(o, 0, sizeof *o);
	m->fd = -1;
	m->timeout = timeout;
	m->end = deadline_in(timeout);
	errno = 0;
	if (connect_spec(m, spec) < 0)
		return -1;
	if ((m->buf = malloc(MILTER_PACKET_MAX)) == NULL)
		return fail(m, "memory");
	put32(opt, MILTER_VERSION);
	put32(opt + 4, actions);
	put32(opt + 8, steps);
	if (milter_send(m, SMFIC_OPTNEG, opt, sizeof opt) < 0 ||
	    milter_read(m, timeout, &r) < 0)
		return -1;
	errno = 0;
	if (milter_parse_optneg(m->buf, m->len, o) < 0)
		return fail(m, "bad OPTNEG answer");
	if ((o->actions & ~actions) != 0 || (o->steps & ~steps) != 0)
		return fail(m, "filter wants actions or steps not offered");
	m->actions = o->actions;
	m->steps = o->steps;
	if (o->version <= 2)		/* steps older filters do not know, */
		m->steps |= SMFIP_NOUNKNOWN;	/* as Sendmail reads them */
	if (o->version <= 3)
		m->steps |= SMFIP_NODATA;
	return 0;
}

/* milter_close - say QUIT (best effort) and hang up */
void
milter_close(struct milter *m)
{
	if (m->fd >= 0) {
		m->timeout = 1;
		(void)milter_send(m, SMFIC_QUIT, NULL, 0);
		close(m->fd);
	}
	m->fd = -1;
	free(m->buf);
	m->buf = NULL;
}

/* milter_args_* - a command's data: strings each ending in NUL */
void
milter_args_init(struct milter_args *a)
{
	a->len = 0;
	a->overflow = 0;
}

void
milter_args_add(struct milter_args *a, const void *p, size_t n)
{
	if (n > sizeof a->buf - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void
milter_args_str(struct milter_args *a, const char *s)
{
	milter_args_add(a, s, strlen(s) + 1);
}

/* parse_strings - the reply's data as one or two strings (after index) */
static int
parse_strings(const unsigned char *p, size_t n, int two, int second_opt,
    struct milter_reply *r)
{
	size_t off = 0;

	if ((r->name = take_str(p, n, &off)) == NULL)
		return -1;
	r->value = two ? take_str(p, n, &off) : NULL;
	if (two && r->value == NULL && !second_opt)
		return -1;
	return 0;
}

/* parse_modify - the data of an EOB modification reply */
static int
parse_modify(char cmd, const unsigned char *p, size_t n,
    struct milter_reply *r)
{
	r->v = MV_MODIFY;
	switch (cmd) {
	case SMFIR_ADDHEADER:
		return parse_strings(p, n, 1, 0, r);
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (n < 4)
			return -1;
		r->index = get32(p);
		return parse_strings(p + 4, n - 4, 1, 0, r);
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_QUARANTINE:
		return parse_strings(p, n, 0, 0, r);
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		return parse_strings(p, n, 1, 1, r);
	case SMFIR_REPLBODY:
		r->data = p;
		r->data_len = n;
		return 0;
	}
	return -1;
}

/*
 * milter_parse_reply - one reply packet (letter and data, n >= 1) into
 * r, pointing into p; 0, or -1 for an unknown or malformed reply.  A
 * pure function: tests/fuzz/fuzz_milter.c drives it.
 */
int
milter_parse_reply(const unsigned char *p, size_t n, struct milter_reply *r)
{
	memset(r, 0, sizeof *r);
	if (n < 1)
		return -1;
	r->cmd = (char)p[0];
	switch (r->cmd) {
	case SMFIR_CONTINUE: r->v = MV_CONTINUE; return 0;
	case SMFIR_ACCEPT: r->v = MV_ACCEPT; return 0;
	case SMFIR_REJECT: r->v = MV_REJECT; return 0;
	case SMFIR_TEMPFAIL: r->v = MV_TEMPFAIL; return 0;
	case SMFIR_DISCARD: r->v = MV_DISCARD; return 0;
	case SMFIR_PROGRESS: r->v = MV_PROGRESS; return 0;
	case SMFIR_SKIP: r->v = MV_SKIP; return 0;
	case SMFIC_OPTNEG: r->v = MV_CONTINUE; return 0;
	case SMFIR_REPLYCODE:
		if (p[n - 1] != '\0')
			return -1;
		r->v = MV_REPLYCODE;
		return milter_parse_text((const char *)p + 1, n - 2, r);
	}
	if (parse_modify(r->cmd, p + 1, n - 1, r) < 0) {
		r->v = MV_BROKEN;
		return -1;
	}
	return 0;
}

/* printable - only SP..~ (and no CR, LF, NUL or other controls) */
static int
printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

/* take_esc - an RFC 3463 code "c.d{1,3}.d{1,3} " of class c at p */
static size_t
take_esc(const char *p, size_t n, char c, char *esc, size_t cap)
{
	size_t i = 1, part, digits;

	if (n < 6 || p[0] != c || p[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		i++;
		for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
		if (digits < 1 || digits > 3 || i >= n ||
		    p[i] != (part == 0 ? '.' : ' '))
			return 0;
	}
	if (i >= cap)
		return 0;
	memcpy(esc, p, i);
	esc[i] = '\0';
	return i + 1;
}

/* take_line - one "DDD[ -][esc ]text" line of a REPLYCODE text */
static int
take_line(const char *p, size_t n, struct milter_reply *r)
{
	unsigned code;
	size_t skip = 3, e;
	char esc[sizeof r->esc];

	if (n < 3 || (p[0] != '4' && p[0] != '5') || p[1] < '0' ||
	    p[1] > '9' || p[2] < '0' || p[2] > '9' ||
	    r->nlines == MILTER_TEXT_LINES)
		return -1;
	code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	    (unsigned)(p[2] - '0');
	if ((r->nlines > 0 && code != r->code) || code < 421)
		return -1;
	if (n > 3 && p[3] != ' ' && p[3] != '-')
		return -1;
	if (n > 3)
		skip = 4;
	e = take_esc(p + skip, n - skip, p[0], esc, sizeof esc);
	if (r->nlines == 0 && e > 0)
		memcpy(r->esc, esc, sizeof esc);
	skip += e;
	r->code = code;
	r->line[r->nlines] = p + skip;
	r->line_len[r->nlines++] = n - skip;
	return 0;
}

/*
 * milter_parse_text - a REPLYCODE text: one or more CRLF-separated
 * lines "DDD[ -][x.y.z ]text", one code of 421..599 throughout,
 * printable octets only, at most MILTER_TEXT_LINES lines and
 * MILTER_TEXT_MAX octets; so that nothing a filter says can end an
 * SMTP reply early or start another.  0, or -1.
 */
int
milter_parse_text(const char *p, size_t n, struct milter_reply *r)
{
	const char *crlf;
	size_t len;

	r->nlines = 0;
	r->esc[0] = '\0';
	if (n == 0 || n > MILTER_TEXT_MAX)
		return -1;
	for (;;) {
		crlf = NULL;
		for (len = 0; len + 1 < n; len++)
			if (p[len] == '\r' && p[len + 1] == '\n') {
				crlf = p + len;
				break;
			}
		if (crlf == NULL)
			len = n;
		if (!printable(p, len) || take_line(p, len, r) < 0)
			return -1;
		if (crlf == NULL)
			return 0;
		p += len + 2;
		n -= len + 2;
		if (n == 0)
			return 0;		/* a final CRLF */
	}
}
