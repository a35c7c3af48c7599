/*
 * netaddr.c - IP addresses: parsed from text (IPv4 by hand, IPv6 by
 * inet_pton), written in the one canonical form every part of smtpd
 * compares and logs (dotted quad without leading zeros; an IPv4-mapped
 * IPv6 address as the IPv4 address it is; other IPv6 as inet_ntop()
 * writes it), taken from socket addresses, and matched against lists of
 * networks given as CIDR (--trust, --proxy-from).
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "netaddr.h"
#include "sbuf.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/*
 * parse_ipv4 - dotted-quad text into four octets, as inet_pton() takes
 * it (four decimal parts of 0-255, no leading zeros); the end of the
 * text at *end
 */
static int
parse_ipv4(const char *s, unsigned char *a, const char **end)
{
	unsigned v;
	int i, n;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return 0;
		for (v = 0, n = 0; *s >= '0' && *s <= '9' && n < 4; s++, n++)
			v = v * 10 + (unsigned)(*s - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[-n] == '0'))
			return 0;
		a[i] = (unsigned char)v;
	}
	*end = s;
	return 1;
}

/*
 * ip_unmap - an IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4
 * address it is: the same client either way
 */
void
ip_unmap(struct ipaddr *ip)
{
	if (!ip->v4 && memcmp(ip->a, v4mapped, sizeof v4mapped) == 0) {
		memmove(ip->a, ip->a + 12, 4);
		memset(ip->a + 4, 0, 12);
		ip->v4 = 1;
	}
}

/*
 * ip_parse - an address as text into octets: 1, or 0 if it is not one.
 * IPv4, the usual case, by hand: inet_pton() and inet_ntop() are libc
 * pages to fault in for every connection.  An IPv4-mapped IPv6 address
 * becomes IPv4: the same client either way.
 */
int
ip_parse(const char *s, struct ipaddr *ip)
{
	const char *end;

	memset(ip, 0, sizeof *ip);
	if (parse_ipv4(s, ip->a, &end) && *end == '\0') {
		ip->v4 = 1;
		return 1;
	}
	if (inet_pton(AF_INET6, s, ip->a) != 1)
		return 0;
	ip_unmap(ip);
	return 1;
}

/* ip_text - the canonical text of an address: 1, or 0 if it does not fit */
int
ip_text(const struct ipaddr *ip, char *out, size_t cap)
{
	struct sbuf sb;
	int i;

	if (!ip->v4)
		return inet_ntop(AF_INET6, ip->a, out, (socklen_t)cap) != NULL;
	sb_init(&sb, out, cap);
	for (i = 0; i < 4; i++) {
		if (i > 0)
			sb_add(&sb, ".", 1);
		sb_num(&sb, ip->a[i]);
	}
	return !sb.overflow;
}

/* ip_normalize - checked, canonical text for an address ("" if invalid) */
int
ip_normalize(const char *in, char *out, size_t cap)
{
	struct ipaddr ip;

	if (ip_parse(in, &ip) && ip_text(&ip, out, cap))
		return 1;
	if (cap > 0)
		out[0] = '\0';
	return 0;
}

/*
 * ip_from_sockaddr - the address and port of an inet socket address:
 * 1, or 0 for another family (AF_UNIX)
 */
int
ip_from_sockaddr(const struct sockaddr_storage *ss, struct ipaddr *ip,
    unsigned *port)
{
	memset(ip, 0, sizeof *ip);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		memcpy(ip->a, &sin->sin_addr, 4);
		ip->v4 = 1;
		*port = ntohs(sin->sin_port);
		return 1;
	}
	if (ss->ss_family != AF_INET6)
		return 0;
	{
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		memcpy(ip->a, sin6->sin6_addr.s6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	}
	ip_unmap(ip);
	return 1;
}

/* port_text - a port number as decimal text: 1, or 0 if it does not fit */
int
port_text(unsigned port, char *out, size_t cap)
{
	struct sbuf sb;

	sb_init(&sb, out, cap);
	sb_num(&sb, port);
	return !sb.overflow;
}

/* parse_bits - "/N" at the end of a network, N at most max; -1 if bad */
static int
parse_bits(const char *s, unsigned max)
{
	unsigned v = 0;
	int n = 0;

	if (*s == '\0')
		return (int)max;
	if (*s++ != '/')
		return -1;
	for (; *s >= '0' && *s <= '9' && n < 4; s++, n++)
		v = v * 10 + (unsigned)(*s - '0');
	if (n == 0 || *s != '\0' || v > max || (n > 1 && s[-n] == '0'))
		return -1;
	return (int)v;
}

/*
 * netlist_add - one network, "ADDRESS[/BITS]" (IPv4 or IPv6; without
 * /BITS the one address); an IPv4-mapped IPv6 network becomes the IPv4
 * network it covers.  0, or -1 if it is malformed or the list is full.
 * Bits past the prefix must be zero: 10.1.2.3/8 is a typo, not a net.
 */
int
netlist_add(struct netlist *l, const char *text)
{
	char buf[NET_TEXT_MAX];
	struct net *n;
	size_t len = strcspn(text, "/");
	int bits, mapped;
	unsigned i;

	if (l->n >= NETLIST_MAX || len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	n = &l->v[l->n];
	if (!ip_parse(buf, &n->addr))
		return -1;
	mapped = n->addr.v4 && strchr(buf, ':') != NULL;
	bits = parse_bits(text + len, n->addr.v4 && !mapped ? 32 : 128);
	if (bits < 0 || (mapped && bits < 96))
		return -1;
	n->bits = (unsigned)bits - (mapped ? 96 : 0);
	for (i = n->bits; i < (n->addr.v4 ? 32u : 128u); i++)
		if (n->addr.a[i / 8] & (0x80 >> (i % 8)))
			return -1;
	l->n++;
	return 0;
}

/* in_net - do the first bits of two addresses agree? */
static int
in_net(const struct net *n, const struct ipaddr *ip)
{
	unsigned whole = n->bits / 8, rest = n->bits % 8;

	if (n->addr.v4 != ip->v4 || memcmp(n->addr.a, ip->a, whole) != 0)
		return 0;
	return rest == 0 || ((n->addr.a[whole] ^ ip->a[whole]) &
	    (0xff00 >> rest) & 0xff) == 0;
}

/* netlist_has - is the address (text) in one of the list's networks? */
int
netlist_has(const struct netlist *l, const char *text)
{
	struct ipaddr ip;
	unsigned i;

	if (l->n == 0 || !ip_parse(text, &ip))
		return 0;
	for (i = 0; i < l->n; i++)
		if (in_net(&l->v[i], &ip))
			return 1;
	return 0;
}
