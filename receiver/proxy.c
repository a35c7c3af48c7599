/*
 * proxy.c - the PROXY protocol header a load balancer (HAProxy, nginx
 * stream, a cloud balancer) sends ahead of the client's octets: taken
 * off the connection octet-exact, never further (what follows is the
 * client's: a TLS ClientHello, an early talker), under a deadline, and
 * parsed strictly.  Version 1 is one text line of at most 107 octets
 * ("PROXY TCP4|TCP6 SRC DST SPORT DPORT" or "PROXY UNKNOWN ..."),
 * version 2 a 16-octet binary head and at most PROXY_V2_LEN_MAX octets
 * of addresses and TLVs (skipped).  Parsing is apart from reading, so
 * that a fuzzer can drive it.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "proxy.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};
static const char v1sig[] = "PROXY ";

/* prefix_ok - could the n octets at p begin sig (len octets)? */
static int
prefix_ok(const unsigned char *p, size_t n, const void *sig, size_t len)
{
	return memcmp(p, sig, n < len ? n : len) == 0;
}

/*
 * v1_port - a port, 0-65535 in decimal without leading zeros; the n
 * octets at p
 */
static int
v1_port(const char *p, size_t n, unsigned *port)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 5 || (n > 1 && p[0] == '0'))
		return 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*port = v;
	return v <= 65535;
}

/* v1_addr - an address of the family the line named (TCP4: v4) */
static int
v1_addr(const char *p, size_t n, int v4, struct ipaddr *ip)
{
	char buf[NET_TEXT_MAX];

	if (n == 0 || n >= sizeof buf)
		return 0;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (v4 != (memchr(buf, ':', n) == NULL))
		return 0;		/* TCP4 with an IPv6 one, or so */
	return ip_parse(buf, ip);
}

/*
 * v1_fields - "TCP4|TCP6 SRC DST SPORT DPORT" or "UNKNOWN ..." (the
 * line without "PROXY " and CRLF): single spaces, nothing else
 */
static int
v1_fields(const char *p, size_t n, struct proxy_hdr *h, const char **why)
{
	const char *f[5], *end = p + n;
	size_t len[5];
	int i, v4;

	if (n >= 7 && memcmp(p, "UNKNOWN", 7) == 0 && (n == 7 || p[7] == ' ')) {
		h->local = 1;
		return 0;
	}
	for (i = 0; i < 5; i++) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		f[i] = p;
		len[i] = (size_t)((sp != NULL ? sp : end) - p);
		if ((sp == NULL) != (i == 4)) {
			*why = "v1: not five fields";
			return -1;
		}
		p = sp != NULL ? sp + 1 : end;
	}
	if (len[0] != 4 || (memcmp(f[0], "TCP4", 4) != 0 &&
	    memcmp(f[0], "TCP6", 4) != 0)) {
		*why = "v1: protocol not TCP4, TCP6 or UNKNOWN";
		return -1;
	}
	v4 = f[0][3] == '4';
	if (!v1_addr(f[1], len[1], v4, &h->src) ||
	    !v1_addr(f[2], len[2], v4, &h->dst) ||
	    !v1_port(f[3], len[3], &h->sport) ||
	    !v1_port(f[4], len[4], &h->dport)) {
		*why = "v1: bad address or port";
		return -1;
	}
	return 0;
}

/* parse_v1 - a v1 line: its length, 0 if incomplete, -1 if bad */
static long
parse_v1(const unsigned char *p, size_t n, struct proxy_hdr *h,
    const char **why)
{
	size_t i, lim = n < PROXY_V1_MAX ? n : PROXY_V1_MAX;

	for (i = sizeof v1sig - 1; i < lim; i++) {
		if (p[i] == '\r' && i + 1 < lim && p[i + 1] == '\n')
			break;
		if (p[i] < 0x20 || p[i] > 0x7e) {
			if (p[i] == '\r' && i + 1 == lim && lim < PROXY_V1_MAX)
				return 0;	/* the LF may follow */
			*why = "v1: control octet or bare CR/LF";
			return -1;
		}
	}
	if (i >= lim) {
		if (n >= PROXY_V1_MAX) {
			*why = "v1: longer than 107 octets";
			return -1;
		}
		return 0;
	}
	h->version = 1;
	if (v1_fields((const char *)p + 6, i - 6, h, why) < 0)
		return -1;
	return (long)i + 2;
}

/* v2_addrs - the address block of a v2 PROXY command */
static int
v2_addrs(const unsigned char *p, size_t len, int fam, struct proxy_hdr *h,
    const char **why)
{
	size_t alen = fam == 0x11 ? 4 : 16;

	if (fam == 0x00) {		/* UNSPEC: nothing to take */
		h->local = 1;
		return 0;
	}
	if (fam != 0x11 && fam != 0x21) {
		*why = "v2: family not TCP over IPv4 or IPv6";
		return -1;
	}
	if (len < 2 * alen + 4) {
		*why = "v2: address block shorter than its family's";
		return -1;
	}
	memcpy(h->src.a, p, alen);
	memcpy(h->dst.a, p + alen, alen);
	h->src.v4 = h->dst.v4 = alen == 4;
	ip_unmap(&h->src);		/* ::ffff:a.b.c.d is a.b.c.d, as */
	ip_unmap(&h->dst);		/* v1 and the socket give it */
	h->sport = (unsigned)p[2 * alen] << 8 | p[2 * alen + 1];
	h->dport = (unsigned)p[2 * alen + 2] << 8 | p[2 * alen + 3];
	return 0;			/* TLVs past it: skipped */
}

/* parse_v2 - a v2 header: its length, 0 if incomplete, -1 if bad */
static long
parse_v2(const unsigned char *p, size_t n, struct proxy_hdr *h,
    const char **why)
{
	size_t len;

	if (n < PROXY_V2_HEAD)
		return 0;
	if ((p[12] >> 4) != 2 || (p[12] & 0x0f) > 1) {
		*why = "v2: version not 2 or command not LOCAL/PROXY";
		return -1;
	}
	len = (size_t)p[14] << 8 | p[15];
	if (len > PROXY_V2_LEN_MAX) {
		*why = "v2: longer than 1024 octets after its head";
		return -1;
	}
	if (n < PROXY_V2_HEAD + len)
		return 0;
	h->version = 2;
	if ((p[12] & 0x0f) == 0)
		h->local = 1;		/* LOCAL: a health check */
	else if (v2_addrs(p + PROXY_V2_HEAD, len, p[13], h, why) < 0)
		return -1;
	return (long)(PROXY_V2_HEAD + len);
}

/*
 * proxy_parse - the header at the start of the n octets at p: its
 * length, 0 if more octets are needed to tell, or -1 (*why says why)
 */
long
proxy_parse(const unsigned char *p, size_t n, struct proxy_hdr *h,
    const char **why)
{
	memset(h, 0, sizeof *h);
	*why = NULL;
	if (n == 0)
		return 0;
	if (prefix_ok(p, n, v1sig, sizeof v1sig - 1))
		return n < sizeof v1sig - 1 ? 0 : parse_v1(p, n, h, why);
	if (prefix_ok(p, n, v2sig, sizeof v2sig))
		return parse_v2(p, n, h, why);
	*why = "no PROXY header";
	return -1;
}

/*
 * proxy_room - how many more octets may be taken after the n at p
 * without reading past the header, whatever it turns out to be (for
 * v1, the reader stops at the first LF itself)
 */
size_t
proxy_room(const unsigned char *p, size_t n)
{
	size_t len;

	if (n > 0 && p[0] == 'P')
		return n < PROXY_V1_MAX ? PROXY_V1_MAX - n : 0;
	if (n < PROXY_V2_HEAD)
		return PROXY_V2_HEAD - n;
	len = (size_t)p[14] << 8 | p[15];
	if (len > PROXY_V2_LEN_MAX || n >= PROXY_V2_HEAD + len)
		return 0;
	return PROXY_V2_HEAD + len - n;
}

/* ms_left - milliseconds until the deadline, 0 when past */
static int
ms_left(const struct timespec *end)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(end->tv_sec - now.tv_sec) * 1000 +
	    (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (int)ms : 0;
}

/* wait_readable - poll until fd has octets or the deadline: 1, or 0 */
static int
wait_readable(int fd, const struct timespec *end, const char **why)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int r;

	while ((r = poll(&pfd, 1, ms_left(end))) < 0 && errno == EINTR)
		;
	if (r > 0)
		return 1;
	*why = r == 0 ? "timeout" : "poll failed";
	return 0;
}

/*
 * take_more - wait for octets and take those that belong to the header:
 * at most room, and of a v1 line none past its LF (so a v1 line, or the
 * first octets that do not tell v1 from v2, are looked at with MSG_PEEK
 * first).  The count taken, or -1 (*why)
 */
static long
take_more(int fd, unsigned char *buf, size_t have, size_t room,
    const struct timespec *end, const char **why)
{
	const unsigned char *lf;
	ssize_t n;
	int peek = have == 0 || buf[0] == 'P';

	if (!wait_readable(fd, end, why))
		return -1;
	while ((n = recv(fd, buf + have, room, peek ? MSG_PEEK : 0)) < 0 &&
	    errno == EINTR)
		;
	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return 0;
		*why = n == 0 ? "closed before a whole PROXY header" :
		    "read failed";
		return -1;
	}
	if (!peek)
		return n;
	if (buf[0] == 'P' && (lf = memchr(buf + have, '\n', (size_t)n)) !=
	    NULL)
		n = lf - (buf + have) + 1;
	if (recv(fd, buf + have, (size_t)n, 0) != n) {	/* there: no wait */
		*why = "read failed";
		return -1;
	}
	return n;
}

/*
 * proxy_read - take the header off fd within seconds: 0, or -1 with
 * *why (timeout, closed, malformed, too long, no header at all)
 */
int
proxy_read(int fd, unsigned seconds, struct proxy_hdr *h, const char **why)
{
	unsigned char buf[PROXY_MAX];
	struct timespec end;
	size_t have = 0, room;
	long r;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += seconds;
	for (;;) {
		if ((r = proxy_parse(buf, have, h, why)) != 0)
			return r > 0 ? 0 : -1;
		if ((room = proxy_room(buf, have)) == 0) {
			*why = "malformed";	/* not reached: parse says */
			return -1;
		}
		if ((r = take_more(fd, buf, have, room, &end, why)) < 0)
			return -1;
		have += (size_t)r;
	}
}
