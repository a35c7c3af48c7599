/*
 * milter.c - the client side of the milter protocol, version 6: the
 * connection (unix:, inet:, inet6:, made before a deadline), packet
 * framing (a 4-octet network-order length, then the command letter and
 * its data), the OPTNEG exchange, and the argument lists of our
 * commands.  Never reads a packet longer than MILTER_PACKET_MAX, never
 * waits past the deadline of the reply it waits for; what a packet says
 * is milterparse.c's to read.  Facts from libmilter's mfdef.h/mfapi.h
 * and engine.c (packet layouts) and Postfix's milter8.c (what an MTA
 * sends).
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
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

/* take - up to n octets of what was read ahead; how many */
static size_t
take(struct milter *m, unsigned char *p, size_t n)
{
	size_t k = m->in_len - m->in_off;

	if (k > n)
		k = n;
	memcpy(p, m->in + m->in_off, k);
	m->in_off += k;
	return k;
}

/*
 * read_all - exactly n octets before the deadline: 0 or -1.  Short
 * wants are read through the read-ahead, so a reply's length and body,
 * and the packets a filter sends in a row at the message's end, cost
 * one read(); a long one goes straight to p.
 */
static int
read_all(struct milter *m, void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t k = take(m, p, n);
	ssize_t r;

	for (p += k, n -= k; n > 0; p += k, n -= k) {
		if (wait_for(m, POLLIN) < 0)
			return -1;
		if (n >= MILTER_READAHEAD)
			r = read(m->fd, p, n);
		else if ((r = read(m->fd, m->in, MILTER_READAHEAD)) > 0) {
			m->in_off = 0;
			m->in_len = (size_t)r;
		}
		if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
			k = 0;
			continue;
		}
		if (r == 0)
			errno = ECONNRESET;
		if (r <= 0)
			return -1;
		k = n >= MILTER_READAHEAD ? (size_t)r : take(m, p, n);
	}
	return 0;
}

/* put32 - a network-order 32-bit number (milter_get32 reads one) */
static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
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

/* frame - a packet's head (length, letter) and data as two iovecs */
static void
frame(struct iovec *iov, unsigned char head[5], char cmd, const void *data,
    size_t n)
{
	put32(head, (uint32_t)n + 1);
	head[4] = (unsigned char)cmd;
	iov[0].iov_base = head;
	iov[0].iov_len = 5;
	iov[1].iov_base = (void *)(uintptr_t)data;
	iov[1].iov_len = n;
}

/*
 * milter_send_after - a command packet (cmd, its n octets of data),
 * after a macro packet (mn octets of SMFIC_MACRO data, none when mn is
 * 0), in one sendmsg() while the socket has room; 0 or -1
 */
int
milter_send_after(struct milter *m, const void *macros, size_t mn, char cmd,
    const void *data, size_t n)
{
	unsigned char mhead[5], head[5];
	struct iovec iov[4];

	if (m->fd < 0 || n > MILTER_CHUNK + MILTER_CMD_MAX ||
	    mn > MILTER_CMD_MAX)
		return fail(m, "command too long");
	frame(iov, mhead, SMFIC_MACRO, macros, mn);
	frame(iov + 2, head, cmd, data, n);
	m->end = deadline_in(m->timeout);
	if (mn > 0 ? io_sendv_by(m->fd, iov, 4, m->end) < 0 :
	    io_sendv_by(m->fd, iov + 2, 2, m->end) < 0)
		return fail(m, "write");
	return 0;
}

/* milter_send - one command packet: length, letter, data; 0 or -1 */
int
milter_send(struct milter *m, char cmd, const void *data, size_t n)
{
	return milter_send_after(m, NULL, 0, cmd, data, n);
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
	n = milter_get32(head);
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
	if ((m->buf = malloc(MILTER_PACKET_MAX + MILTER_READAHEAD)) == NULL)
		return fail(m, "memory");
	m->in = m->buf + MILTER_PACKET_MAX;
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
	m->buf = m->in = NULL;
	m->in_off = m->in_len = 0;
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
