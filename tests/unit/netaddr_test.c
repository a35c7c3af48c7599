/*
 * netaddr_test.c - table-driven unit tests for netaddr.c and proxy.c:
 * addresses from text (ip_parse, ip_text, ip_normalize: leading zeros
 * refused, IPv4-mapped IPv6 as IPv4, IPv6 as inet_ntop writes it) and
 * from sockets, networks (netlist_add: host bits zero, the prefix within
 * the family, mapped networks as IPv4, 64 at most; netlist_has at the
 * edges of /0, /1, /31, /32, /127, /128 and across families), and the
 * PROXY header (proxy-protocol.txt v1 and v2: proxy_parse's length and
 * fields, proxy_room, and proxy_read on a socketpair taking the header
 * and not one octet more).  Prints one line per failure and a summary;
 * exits non-zero if anything failed.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "netaddr.h"
#include "proxy.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct counts {
	int	 pass;
	int	 fail;
};

/* fail - count and report one failure; in is n octets (escaped) */
static void
fail(struct counts *c, const char *what, const char *in, size_t n,
    const char *why)
{
	size_t i;

	c->fail++;
	printf("FAIL %s [", what);
	for (i = 0; i < n && i < 120; i++)
		if ((unsigned char)in[i] < 32 || (unsigned char)in[i] > 126)
			printf("\\x%02x", (unsigned char)in[i]);
		else
			putchar(in[i]);
	printf("]: %s\n", why);
}

/* check - count a pass, or report a failure */
static void
check(struct counts *c, int ok, const char *what, const char *in,
    const char *why)
{
	if (ok)
		c->pass++;
	else
		fail(c, what, in, strlen(in), why);
}

/* --- addresses ------------------------------------------------------ */

struct ip_case {
	const char	*in;
	int		 ok;
	int		 v4;
	const char	*text;		/* ip_text's, when ok */
};

static const struct ip_case ip_cases[] = {
	/* IPv4: dotted quad, 0-255, no leading zeros */
	{ "192.0.2.1", 1, 1, "192.0.2.1" },
	{ "0.0.0.0", 1, 1, "0.0.0.0" },
	{ "255.255.255.255", 1, 1, "255.255.255.255" },
	{ "10.0.0.10", 1, 1, "10.0.0.10" },
	{ "192.0.2.01", 0, 0, NULL },
	{ "01.2.3.4", 0, 0, NULL },
	{ "1.2.3.00", 0, 0, NULL },
	{ "1.2.3.0001", 0, 0, NULL },
	{ "192.0.2.256", 0, 0, NULL },
	{ "1234.1.1.1", 0, 0, NULL },
	{ "192.0.2", 0, 0, NULL },
	{ "192.0.2.1.5", 0, 0, NULL },
	{ "192.0.2.", 0, 0, NULL },
	{ "1..2.3", 0, 0, NULL },
	{ " 192.0.2.1", 0, 0, NULL },
	{ "192.0.2.1 ", 0, 0, NULL },
	{ "192.0.2.1/32", 0, 0, NULL },
	{ "0x1.2.3.4", 0, 0, NULL },
	{ "+1.2.3.4", 0, 0, NULL },
	{ "", 0, 0, NULL },
	{ "unknown", 0, 0, NULL },
	/* IPv4-mapped IPv6: the IPv4 address it is */
	{ "::ffff:192.0.2.1", 1, 1, "192.0.2.1" },
	{ "::FFFF:192.0.2.1", 1, 1, "192.0.2.1" },
	{ "::ffff:c000:201", 1, 1, "192.0.2.1" },
	{ "0:0:0:0:0:ffff:192.0.2.1", 1, 1, "192.0.2.1" },
	{ "0000:0000:0000:0000:0000:ffff:7f00:0001", 1, 1, "127.0.0.1" },
	{ "::ffff:192.0.2.01", 0, 0, NULL },
	/* IPv6: compressed, lower case, as inet_ntop writes it */
	{ "::1", 1, 0, "::1" },
	{ "::", 1, 0, "::" },
	{ "2001:db8::1", 1, 0, "2001:db8::1" },
	{ "2001:0db8:0000:0000:0000:0000:0000:0001", 1, 0, "2001:db8::1" },
	{ "2001:DB8::A", 1, 0, "2001:db8::a" },
	{ "2001:db8:0:0:1:0:0:1", 1, 0, "2001:db8::1:0:0:1" },
	{ "2001:db8:0:1:0:0:0:1", 1, 0, "2001:db8:0:1::1" },
	{ "1:2:3:4:5:6:7:8", 1, 0, "1:2:3:4:5:6:7:8" },
	{ "fe80::", 1, 0, "fe80::" },
	{ "::192.0.2.1", 1, 0, "::192.0.2.1" },	/* compatible, not mapped */
	{ "64:ff9b::192.0.2.1", 1, 0, "64:ff9b::c000:201" },
	{ "::fffe:192.0.2.1", 1, 0, "::fffe:c000:201" },
	{ "1:2:3:4:5:6:7:8:9", 0, 0, NULL },
	{ "2001:db8::1::2", 0, 0, NULL },
	{ "12345::", 0, 0, NULL },
	{ ":::", 0, 0, NULL },
	{ "[::1]", 0, 0, NULL },
	{ "fe80::1%eth0", 0, 0, NULL },
	{ "::g", 0, 0, NULL },
};

/* run_ip_case - ip_parse, ip_text, ip_normalize of one address */
static void
run_ip_case(struct counts *c, const struct ip_case *t)
{
	struct ipaddr ip, again;
	char text[NET_TEXT_MAX], norm[NET_TEXT_MAX];
	int ok = ip_parse(t->in, &ip), nok;

	nok = ip_normalize(t->in, norm, sizeof norm);
	if (!t->ok) {
		check(c, !ok, "ip_parse", t->in, "took a bad address");
		check(c, !nok && norm[0] == '\0', "ip_normalize", t->in,
		    "took a bad address or left text");
		return;
	}
	check(c, ok, "ip_parse", t->in, "refused a good address");
	if (!ok)
		return;
	check(c, ip.v4 == t->v4, "ip_parse", t->in, "wrong family");
	check(c, ip_text(&ip, text, sizeof text) && strcmp(text, t->text) ==
	    0, "ip_text", t->in, "not the canonical text");
	check(c, nok && strcmp(norm, t->text) == 0, "ip_normalize", t->in,
	    "not the canonical text");
	check(c, ip_parse(t->text, &again) && again.v4 == ip.v4 &&
	    memcmp(again.a, ip.a, sizeof ip.a) == 0, "ip_parse", t->text,
	    "canonical text parses otherwise");
}

/* run_text - ip_text and port_text: bounds, and raw octets */
static void
run_text(struct counts *c)
{
	struct ipaddr ip = { { 192, 0, 2, 1 }, 1 };
	char buf[NET_TEXT_MAX];

	check(c, ip_text(&ip, buf, 10) && strcmp(buf, "192.0.2.1") == 0,
	    "ip_text", "192.0.2.1", "cap 10 (just enough)");
	check(c, !ip_text(&ip, buf, 9), "ip_text", "192.0.2.1",
	    "cap 9 (one short) not refused");
	memset(&ip, 0, sizeof ip);
	ip.a[15] = 1;
	check(c, ip_text(&ip, buf, sizeof buf) && strcmp(buf, "::1") == 0,
	    "ip_text", "::1", "raw IPv6 octets");
	check(c, !ip_text(&ip, buf, 3), "ip_text", "::1",
	    "cap 3 (one short) not refused");
	check(c, port_text(0, buf, sizeof buf) && strcmp(buf, "0") == 0,
	    "port_text", "0", "wrong text");
	check(c, port_text(65535, buf, 6) && strcmp(buf, "65535") == 0,
	    "port_text", "65535", "cap 6 (just enough)");
	check(c, !port_text(65535, buf, 5), "port_text", "65535",
	    "cap 5 (one short) not refused");
	check(c, ip_normalize("192.0.2.1", buf, 9) == 0 && buf[0] == '\0',
	    "ip_normalize", "192.0.2.1", "cap 9 (one short) not refused");
}

/* run_sockaddr - ip_from_sockaddr for IPv4, IPv6, mapped and AF_UNIX */
static void
run_sockaddr(struct counts *c)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	struct ipaddr ip;
	char text[NET_TEXT_MAX];
	unsigned port = 0;

	memset(&ss, 0, sizeof ss);
	sin->sin_family = AF_INET;
	sin->sin_port = htons(25);
	inet_pton(AF_INET, "192.0.2.1", &sin->sin_addr);
	check(c, ip_from_sockaddr(&ss, &ip, &port) && ip.v4 && port == 25 &&
	    ip_text(&ip, text, sizeof text) && strcmp(text, "192.0.2.1") == 0,
	    "ip_from_sockaddr", "192.0.2.1:25", "wrong address or port");
	memset(&ss, 0, sizeof ss);
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(65535);
	inet_pton(AF_INET6, "2001:db8::1", &sin6->sin6_addr);
	check(c, ip_from_sockaddr(&ss, &ip, &port) && !ip.v4 &&
	    port == 65535 && ip_text(&ip, text, sizeof text) &&
	    strcmp(text, "2001:db8::1") == 0, "ip_from_sockaddr",
	    "[2001:db8::1]:65535", "wrong address or port");
	inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6->sin6_addr);
	check(c, ip_from_sockaddr(&ss, &ip, &port) && ip.v4 &&
	    ip_text(&ip, text, sizeof text) && strcmp(text, "192.0.2.1") == 0,
	    "ip_from_sockaddr", "[::ffff:192.0.2.1]", "mapped not IPv4");
	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	check(c, !ip_from_sockaddr(&ss, &ip, &port), "ip_from_sockaddr",
	    "AF_UNIX", "taken");
}

/* --- networks ------------------------------------------------------- */

struct net_case {
	const char	*in;
	int		 ok;
	const char	*addr;		/* the network's address, when ok */
	unsigned	 bits;
	int		 v4;
};

static const struct net_case net_cases[] = {
	{ "10.0.0.0/8", 1, "10.0.0.0", 8, 1 },
	{ "10.1.0.0/8", 0, NULL, 0, 0 },	/* host bits set: a typo */
	{ "10.128.0.0/8", 0, NULL, 0, 0 },	/* the first host bit */
	{ "10.128.0.0/9", 1, "10.128.0.0", 9, 1 },
	{ "10.0.0.1", 1, "10.0.0.1", 32, 1 },
	{ "10.0.0.1/32", 1, "10.0.0.1", 32, 1 },
	{ "10.0.0.0/33", 0, NULL, 0, 0 },
	{ "0.0.0.0/0", 1, "0.0.0.0", 0, 1 },
	{ "1.0.0.0/0", 0, NULL, 0, 0 },
	{ "10.0.0.0/08", 0, NULL, 0, 0 },
	{ "10.0.0.0/", 0, NULL, 0, 0 },
	{ "10.0.0.0/-8", 0, NULL, 0, 0 },
	{ "10.0.0.0/+8", 0, NULL, 0, 0 },
	{ "10.0.0.0/ 8", 0, NULL, 0, 0 },
	{ "10.0.0.0/8 ", 0, NULL, 0, 0 },
	{ "10.0.0.0/8x", 0, NULL, 0, 0 },
	{ "10.0.0.0/8/8", 0, NULL, 0, 0 },
	{ "10.0.0.0/0008", 0, NULL, 0, 0 },
	{ "010.0.0.0/8", 0, NULL, 0, 0 },
	{ "/8", 0, NULL, 0, 0 },
	{ "", 0, NULL, 0, 0 },
	{ "none", 0, NULL, 0, 0 },
	{ "localhost", 0, NULL, 0, 0 },
	/* IPv4-mapped networks: the IPv4 network they cover */
	{ "::ffff:10.0.0.0/104", 1, "10.0.0.0", 8, 1 },
	{ "::ffff:10.0.0.0/128", 1, "10.0.0.0", 32, 1 },
	{ "::ffff:10.0.0.1", 1, "10.0.0.1", 32, 1 },
	{ "::ffff:0.0.0.0/96", 1, "0.0.0.0", 0, 1 },
	{ "::ffff:10.0.0.0/96", 0, NULL, 0, 0 },
	{ "::ffff:0.0.0.0/95", 0, NULL, 0, 0 },
	{ "::ffff:10.0.0.0/129", 0, NULL, 0, 0 },
	/* IPv6 */
	{ "2001:db8::/32", 1, "2001:db8::", 32, 0 },
	{ "2001:db8::/29", 1, "2001:db8::", 29, 0 },
	{ "2001:db8::/28", 0, NULL, 0, 0 },	/* 0x0db8: bit 28 is set */
	{ "2001:db8:0:0:8000::/64", 0, NULL, 0, 0 },
	{ "2001:db8:0:0:8000::/65", 1, "2001:db8:0:0:8000::", 65, 0 },
	{ "::/0", 1, "::", 0, 0 },
	{ "::1/128", 1, "::1", 128, 0 },
	{ "::1", 1, "::1", 128, 0 },
	{ "::1/127", 0, NULL, 0, 0 },
	{ "::/129", 0, NULL, 0, 0 },
	{ "fe80::/10", 1, "fe80::", 10, 0 },
	{ "fe80::/8", 0, NULL, 0, 0 },	/* fe80: bit 8 is set */
	{ "fe80::1%eth0/128", 0, NULL, 0, 0 },
};

/* run_net_case - netlist_add of one network into an empty list */
static void
run_net_case(struct counts *c, const struct net_case *t)
{
	struct netlist l;
	char text[NET_TEXT_MAX];
	int r;

	memset(&l, 0, sizeof l);
	r = netlist_add(&l, t->in);
	if (!t->ok) {
		check(c, r == -1 && l.n == 0, "netlist_add", t->in,
		    "took a bad network");
		return;
	}
	check(c, r == 0 && l.n == 1, "netlist_add", t->in,
	    "refused a good network");
	if (l.n != 1)
		return;
	check(c, l.v[0].addr.v4 == t->v4 && l.v[0].bits == t->bits &&
	    ip_text(&l.v[0].addr, text, sizeof text) &&
	    strcmp(text, t->addr) == 0, "netlist_add", t->in,
	    "wrong address, family or bits");
}

/* run_net_full - 64 networks at most */
static void
run_net_full(struct counts *c)
{
	struct netlist l;
	char buf[32];
	int i, ok = 1;

	memset(&l, 0, sizeof l);
	for (i = 0; i < NETLIST_MAX; i++) {
		snprintf(buf, sizeof buf, "10.%d.0.0/16", i);
		ok &= netlist_add(&l, buf) == 0;
	}
	check(c, ok && l.n == NETLIST_MAX, "netlist_add", "64 networks",
	    "not all taken");
	check(c, netlist_add(&l, "192.0.2.0/24") == -1 && l.n == NETLIST_MAX,
	    "netlist_add", "the 65th network", "taken");
	check(c, netlist_has(&l, "10.63.255.255") &&
	    !netlist_has(&l, "10.64.0.0") && !netlist_has(&l, "192.0.2.1"),
	    "netlist_has", "64 networks", "wrong match");
}

struct has_case {
	const char	*net;		/* NULL: the empty list */
	const char	*addr;
	int		 in;
};

static const struct has_case has_cases[] = {
	/* /0: every address of its family, none of the other */
	{ "0.0.0.0/0", "0.0.0.0", 1 },
	{ "0.0.0.0/0", "255.255.255.255", 1 },
	{ "0.0.0.0/0", "::ffff:203.0.113.9", 1 },	/* mapped is IPv4 */
	{ "0.0.0.0/0", "::", 0 },
	{ "0.0.0.0/0", "::1", 0 },
	{ "0.0.0.0/0", "::192.0.2.1", 0 },		/* compatible is not */
	{ "::/0", "::", 1 },
	{ "::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
	{ "::/0", "0.0.0.0", 0 },
	{ "::/0", "192.0.2.1", 0 },
	{ "::/0", "::ffff:192.0.2.1", 0 },
	/* /1 */
	{ "128.0.0.0/1", "128.0.0.0", 1 },
	{ "128.0.0.0/1", "255.255.255.255", 1 },
	{ "128.0.0.0/1", "127.255.255.255", 0 },
	{ "0.0.0.0/1", "127.255.255.255", 1 },
	{ "0.0.0.0/1", "128.0.0.0", 0 },
	{ "8000::/1", "8000::", 1 },
	{ "8000::/1", "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0 },
	/* a prefix off the octet boundary */
	{ "10.128.0.0/9", "10.128.0.0", 1 },
	{ "10.128.0.0/9", "10.255.255.255", 1 },
	{ "10.128.0.0/9", "10.127.255.255", 0 },
	{ "10.128.0.0/9", "11.128.0.0", 0 },
	/* /31, /32 */
	{ "192.0.2.6/31", "192.0.2.6", 1 },
	{ "192.0.2.6/31", "192.0.2.7", 1 },
	{ "192.0.2.6/31", "192.0.2.5", 0 },
	{ "192.0.2.6/31", "192.0.2.8", 0 },
	{ "192.0.2.7/32", "192.0.2.7", 1 },
	{ "192.0.2.7/32", "192.0.2.6", 0 },
	{ "192.0.2.7/32", "192.0.2.8", 0 },
	{ "192.0.2.7", "::ffff:192.0.2.7", 1 },
	{ "::ffff:192.0.2.0/120", "192.0.2.255", 1 },
	{ "::ffff:192.0.2.0/120", "192.0.3.0", 0 },
	/* /127, /128 */
	{ "2001:db8::/127", "2001:db8::", 1 },
	{ "2001:db8::/127", "2001:db8::1", 1 },
	{ "2001:db8::/127", "2001:db8::2", 0 },
	{ "2001:db8::2/127", "2001:db8::3", 1 },
	{ "2001:db8::2/127", "2001:db8::1", 0 },
	{ "2001:db8::2/127", "2001:db8::4", 0 },
	{ "2001:db8::1/128", "2001:db8::1", 1 },
	{ "2001:db8::1/128", "2001:DB8:0::0001", 1 },
	{ "2001:db8::1/128", "2001:db8::", 0 },
	{ "2001:db8::1/128", "2001:db8::2", 0 },
	/* never across families; a malformed address is in nothing */
	{ "0.0.0.0/0", "", 0 },
	{ "10.0.0.0/8", "10.0.0.01", 0 },
	{ "10.0.0.0/8", "10.0.0.1 ", 0 },
	{ "10.0.0.0/8", "unknown", 0 },
	{ "::/0", "fe80::1%eth0", 0 },
	{ NULL, "192.0.2.1", 0 },
	{ NULL, "::1", 0 },
};

/* run_has_case - netlist_has of one address in a one-network list */
static void
run_has_case(struct counts *c, const struct has_case *t)
{
	struct netlist l;
	char what[128];

	memset(&l, 0, sizeof l);
	snprintf(what, sizeof what, "netlist_has %s", t->net ? t->net :
	    "(empty)");
	if (t->net != NULL && netlist_add(&l, t->net) < 0) {
		check(c, 0, what, t->addr, "the network refused");
		return;
	}
	check(c, netlist_has(&l, t->addr) == t->in, what, t->addr,
	    t->in ? "not in it" : "in it");
}

/* --- PROXY headers -------------------------------------------------- */

#define SIG	"\r\n\r\n\0\r\nQUIT\n"
#define B(s)	s, sizeof(s) - 1
/* the v2 address blocks: 192.0.2.1:56324 -> 198.51.100.2:25, and
 * 2001:db8::1 -> 2001:db8::2, the same ports */
#define A4	"\xc0\x00\x02\x01" "\xc6\x33\x64\x02" "\xdc\x04" "\x00\x19"
#define A6	"\x20\x01\x0d\xb8" "\0\0\0\0" "\0\0\0\0" "\0\0\0\x01" \
		"\x20\x01\x0d\xb8" "\0\0\0\0" "\0\0\0\0" "\0\0\0\x02" \
		"\xdc\x04" "\x00\x19"
#define AM	"\0\0\0\0" "\0\0\0\0" "\0\0\xff\xff" "\xc0\x00\x02\x01" \
		"\0\0\0\0" "\0\0\0\0" "\0\0\xff\xff" "\xc6\x33\x64\x02" \
		"\xdc\x04" "\x00\x19"
#define TLVS	"\x01\x00\x04" "smtp" "\x02\x00\x0e" "mx.example.org" \
		"\x04\x00\x00" "\x03\x00\x04" "\x12\x34\x56\x78"
#define TLVLEN	"\x22"			/* 7 + 17 + 3 + 7 = 34 */
#define AFTER	"EHLO client.example\r\n"
#define TLS	"\x16\x03\x01\x00\xf4\x01"

struct proxy_case {
	const char	*name;
	const char	*in;
	size_t		 n;
	long		 want;		/* length, 0 (more) or -1 */
	int		 version;
	int		 local;
	const char	*src, *dst;	/* NULL: not checked (local) */
	unsigned	 sport, dport;
};

static const struct proxy_case proxy_cases[] = {
	/* v1, good: the line's length, the client's octets after it kept */
	{ "v1 tcp4", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n"
	    AFTER), 44, 1, 0, "192.0.2.1", "198.51.100.2", 56324, 25 },
	{ "v1 tcp4 then tls", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 "
	    "25\r\n" TLS), 44, 1, 0, "192.0.2.1", "198.51.100.2", 56324, 25 },
	{ "v1 tcp6", B("PROXY TCP6 2001:db8::1 2001:db8::2 56324 25\r\n"
	    AFTER), 45, 1, 0, "2001:db8::1", "2001:db8::2", 56324, 25 },
	{ "v1 tcp6 uncompressed", B("PROXY TCP6 2001:0db8:0:0:0:0:0:1 "
	    "2001:DB8::2 1 65535\r\n"), 54, 1, 0, "2001:db8::1",
	    "2001:db8::2", 1, 65535 },
	{ "v1 tcp6 mapped", B("PROXY TCP6 ::ffff:192.0.2.1 ::ffff:198.51.100.2"
	    " 56324 25\r\n"), 58, 1, 0, "192.0.2.1", "198.51.100.2", 56324,
	    25 },
	{ "v1 ports 0", B("PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n"), 40,
	    1, 0, "0.0.0.0", "255.255.255.255", 0, 0 },
	{ "v1 unknown", B("PROXY UNKNOWN\r\n" AFTER), 15, 1, 1, NULL, NULL,
	    0, 0 },
	{ "v1 unknown 107", B("PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n" AFTER),
	    107, 1, 1, NULL, NULL, 0, 0 },
	/* v1, cut: more octets wanted */
	{ "v1 empty", B(""), 0, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 cut sig", B("PROX"), 0, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 cut", B("PROXY TCP4 192.0.2.1 198.5"), 0, 0, 0, NULL, NULL, 0,
	    0 },
	{ "v1 cut at cr", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r"),
	    0, 0, 0, NULL, NULL, 0, 0 },
	/* v1, bad */
	{ "v1 108", B("PROXY UNKNOWN "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655350\r\n"), -1,
	    0, 0, NULL, NULL, 0, 0 },
	{ "v1 107 without crlf", B("PROXY TCP4 "
	    "1111111111111111111111111111111111111111111111111111111111111111"
	    "11111111111111111111111111111111"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 bare lf", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\n"
	    AFTER), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 bare cr", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\rx\r\n"),
	    -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 port 65536", B("PROXY TCP4 192.0.2.1 198.51.100.2 65536 25\r\n"),
	    -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 port leading zero", B("PROXY TCP4 192.0.2.1 198.51.100.2 05 "
	    "25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 port 00", B("PROXY TCP4 192.0.2.1 198.51.100.2 1 00\r\n"), -1,
	    0, 0, NULL, NULL, 0, 0 },
	{ "v1 port sign", B("PROXY TCP4 192.0.2.1 198.51.100.2 +1 25\r\n"),
	    -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 address leading zero", B("PROXY TCP4 192.0.2.01 198.51.100.2 "
	    "56324 25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 double space", B("PROXY TCP4  192.0.2.1 198.51.100.2 56324 "
	    "25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 trailing space", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 "
	    "25 \r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 six fields", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324 25 "
	    "26\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 four fields", B("PROXY TCP4 192.0.2.1 198.51.100.2 56324\r\n"),
	    -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 tcp4 with ipv6", B("PROXY TCP4 2001:db8::1 2001:db8::2 56324 "
	    "25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 tcp4 with mapped", B("PROXY TCP4 ::ffff:192.0.2.1 198.51.100.2"
	    " 56324 25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 tcp6 with ipv4", B("PROXY TCP6 192.0.2.1 198.51.100.2 56324 "
	    "25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 tcp6 scope", B("PROXY TCP6 fe80::1%eth0 fe80::2 56324 25\r\n"),
	    -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 udp4", B("PROXY UDP4 192.0.2.1 198.51.100.2 56324 25\r\n"), -1,
	    0, 0, NULL, NULL, 0, 0 },
	{ "v1 lower case", B("proxy tcp4 192.0.2.1 198.51.100.2 56324 "
	    "25\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 unknownx", B("PROXY UNKNOWNX\r\n"), -1, 0, 0, NULL, NULL, 0,
	    0 },
	{ "v1 no fields", B("PROXY \r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 tab", B("PROXY TCP4\t192.0.2.1 198.51.100.2 56324 25\r\n"), -1,
	    0, 0, NULL, NULL, 0, 0 },
	{ "v1 8-bit", B("PROXY UNKNOWN \xc3\xa9\r\n"), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v1 nul", B("PROXY UNKNOWN \0\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "v1 no space", B("PROXY\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	/* v2, good: 16 + the length field, TLVs skipped */
	{ "v2 tcp4", B(SIG "\x21\x11\x00\x0c" A4 AFTER), 28, 2, 0,
	    "192.0.2.1", "198.51.100.2", 56324, 25 },
	{ "v2 tcp4 tlv", B(SIG "\x21\x11\x00" "\x2e" A4 TLVS TLS), 62, 2, 0,
	    "192.0.2.1", "198.51.100.2", 56324, 25 },
	{ "v2 tcp6", B(SIG "\x21\x21\x00\x24" A6 AFTER), 52, 2, 0,
	    "2001:db8::1", "2001:db8::2", 56324, 25 },
	{ "v2 tcp6 tlv", B(SIG "\x21\x21\x00" "\x46" A6 TLVS AFTER), 86, 2, 0,
	    "2001:db8::1", "2001:db8::2", 56324, 25 },
	{ "v2 tcp6 mapped", B(SIG "\x21\x21\x00\x24" AM AFTER), 52, 2, 0,
	    "192.0.2.1", "198.51.100.2", 56324, 25 },
	{ "v2 local", B(SIG "\x20\x00\x00\x00" AFTER), 16, 2, 1, NULL, NULL,
	    0, 0 },
	{ "v2 local with addresses", B(SIG "\x20\x11\x00\x0c" A4 AFTER), 28, 2,
	    1, NULL, NULL, 0, 0 },
	{ "v2 local any family", B(SIG "\x20\x31\x00\x04" "abcd"), 20, 2, 1,
	    NULL, NULL, 0, 0 },
	{ "v2 unspec", B(SIG "\x21\x00\x00\x00" AFTER), 16, 2, 1, NULL, NULL,
	    0, 0 },
	{ "v2 unspec tlv", B(SIG "\x21\x00\x00" TLVLEN TLVS), 50, 2, 1, NULL,
	    NULL, 0, 0 },
	/* v2, cut */
	{ "v2 cut sig", B("\r\n\r\n\0\r\nQU"), 0, 0, 0, NULL, NULL, 0, 0 },
	{ "v2 cut head", B(SIG "\x21\x11\x00"), 0, 0, 0, NULL, NULL, 0, 0 },
	{ "v2 cut body", B(SIG "\x21\x21\x00\x24" "\x20\x01\x0d\xb8"), 0, 0,
	    0, NULL, NULL, 0, 0 },
	{ "v2 cut tlv", B(SIG "\x21\x11\x00" "\x2e" A4 "\x01\x00\x04" "sm"),
	    0, 0, 0, NULL, NULL, 0, 0 },
	/* v2, bad */
	{ "v2 length 1025", B(SIG "\x21\x11\x04\x01" A4), -1, 0, 0, NULL,
	    NULL, 0, 0 },
	{ "v2 length 65535", B(SIG "\x21\x11\xff\xff" A4), -1, 0, 0, NULL,
	    NULL, 0, 0 },
	{ "v2 tcp4 short", B(SIG "\x21\x11\x00\x0b" A4), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 tcp6 short", B(SIG "\x21\x21\x00\x23" A6), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 udp4", B(SIG "\x21\x12\x00\x0c" A4), -1, 0, 0, NULL, NULL, 0,
	    0 },
	{ "v2 udp6", B(SIG "\x21\x22\x00\x24" A6), -1, 0, 0, NULL, NULL, 0,
	    0 },
	{ "v2 unix", B(SIG "\x21\x31\x00\x04" "abcd"), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 family ff", B(SIG "\x21\xff\x00\x24" A6), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 version 1", B(SIG "\x11\x11\x00\x0c" A4), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 version 3", B(SIG "\x31\x11\x00\x0c" A4), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 command 2", B(SIG "\x22\x11\x00\x0c" A4), -1, 0, 0, NULL, NULL,
	    0, 0 },
	{ "v2 bad sig", B("\r\n\r\n\0\r\nQUIT\r" "\x21\x11\x00\x0c" A4), -1,
	    0, 0, NULL, NULL, 0, 0 },
	/* neither */
	{ "smtp", B("EHLO client.example\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "http", B("GET / HTTP/1.0\r\n\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "tls", B(TLS), -1, 0, 0, NULL, NULL, 0, 0 },
	{ "P alone", B("P\r\n"), -1, 0, 0, NULL, NULL, 0, 0 },
};

/* hdr_ok - the fields of a header proxy_parse/proxy_read gave */
static const char *
hdr_ok(const struct proxy_case *t, const struct proxy_hdr *h)
{
	char src[NET_TEXT_MAX], dst[NET_TEXT_MAX];

	if (h->version != t->version)
		return "wrong version";
	if (h->local != t->local)
		return "wrong local flag";
	if (t->local)
		return h->sport == 0 && h->dport == 0 && !h->src.v4 &&
		    !h->dst.v4 ? NULL : "local with addresses or ports";
	if (!ip_text(&h->src, src, sizeof src) || strcmp(src, t->src) != 0 ||
	    h->src.v4 != (strchr(t->src, ':') == NULL))
		return "wrong source address";
	if (!ip_text(&h->dst, dst, sizeof dst) || strcmp(dst, t->dst) != 0 ||
	    h->dst.v4 != (strchr(t->dst, ':') == NULL))
		return "wrong destination address";
	if (h->sport != t->sport || h->dport != t->dport)
		return "wrong port";
	return NULL;
}

/* run_proxy_case - proxy_parse of one header, whole and cut */
static void
run_proxy_case(struct counts *c, const struct proxy_case *t)
{
	struct proxy_hdr h;
	const char *why, *bad;
	char what[96];
	long r;
	size_t k;

	snprintf(what, sizeof what, "proxy_parse %s", t->name);
	r = proxy_parse((const unsigned char *)t->in, t->n, &h, &why);
	if (r != t->want) {
		char msg[96];

		snprintf(msg, sizeof msg, "returned %ld, not %ld (%s)", r,
		    t->want, why ? why : "no reason");
		fail(c, what, t->in, t->n, msg);
		return;
	}
	c->pass++;
	check(c, (r == -1) == (why != NULL), what, t->name,
	    "a reason not exactly with -1");
	if (r <= 0)
		return;
	if ((bad = hdr_ok(t, &h)) != NULL)
		fail(c, what, t->in, t->n, bad);
	else
		c->pass++;
	/* each shorter prefix: more wanted, with room for it */
	for (k = 0; k < (size_t)r; k++)
		if (proxy_parse((const unsigned char *)t->in, k, &h, &why) != 0 ||
		    proxy_room((const unsigned char *)t->in, k) == 0)
			break;
	check(c, k == (size_t)r, what, t->name,
	    "a prefix of a good header not \"more, please\"");
}

/* run_room - proxy_room at the edges */
static void
run_room(struct counts *c)
{
	static const unsigned char v2[] = SIG "\x21\x11\x00\x0c" A4 AFTER;
	static const unsigned char v2long[] = SIG "\x21\x11\x04\x01";
	static const unsigned char v1[] = "PROXY TCP4 192.0.2.1";

	check(c, proxy_room(v2, 0) == 16, "proxy_room", "nothing yet",
	    "not 16 (the v2 head; v1 stops at its LF)");
	check(c, proxy_room(v2, 5) == 11, "proxy_room", "v2, 5 octets",
	    "not 11");
	check(c, proxy_room(v2, 16) == 12, "proxy_room", "v2 head",
	    "not its length field");
	check(c, proxy_room(v2, 20) == 8, "proxy_room", "v2 head + 4",
	    "not the rest");
	check(c, proxy_room(v2, 28) == 0, "proxy_room", "whole v2 header",
	    "not 0");
	check(c, proxy_room(v2long, 16) == 0, "proxy_room", "v2 length 1025",
	    "not 0");
	check(c, proxy_room(v1, 1) == 106, "proxy_room", "P", "not 106");
	check(c, proxy_room(v1, 20) == 87, "proxy_room", "v1, 20 octets",
	    "not 87");
}

/* run_read_case - proxy_read of one header on a socketpair, all of the
 * input written at once and the write side shut: the header's octets
 * taken, not one more */
static void
run_read_case(struct counts *c, const struct proxy_case *t)
{
	struct proxy_hdr h;
	const char *why = NULL, *bad;
	char rest[512], what[96];
	size_t have = 0, taken;
	ssize_t k;
	int sv[2], r;

	snprintf(what, sizeof what, "proxy_read %s", t->name);
	if (t->n >= sizeof rest || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    write(sv[1], t->in, t->n) != (ssize_t)t->n ||
	    shutdown(sv[1], SHUT_WR) < 0) {
		check(c, 0, what, t->name, "could not set up");
		return;
	}
	r = proxy_read(sv[0], 2, &h, &why);
	while ((k = read(sv[0], rest + have, sizeof rest - have)) > 0)
		have += (size_t)k;
	close(sv[0]);
	close(sv[1]);
	taken = t->n - have;
	if (t->want > 0) {
		check(c, r == 0, what, t->name, why ? why : "refused");
		check(c, taken == (size_t)t->want && memcmp(rest, t->in + taken,
		    have) == 0, what, t->name, taken > (size_t)t->want ?
		    "read past the header" : "left some of the header");
		if (r == 0 && (bad = hdr_ok(t, &h)) != NULL)
			check(c, 0, what, t->name, bad);
	} else if (t->want == 0)
		check(c, r == -1 && why != NULL && strstr(why, "closed") !=
		    NULL && taken == t->n, what, t->name,
		    "a cut header not read to its end and \"closed\"");
	else
		check(c, r == -1 && why != NULL && taken <= PROXY_MAX, what,
		    t->name, "a bad header taken");
}

/* run_read_timeout - nothing sent: "timeout" at the deadline (0 s) */
static void
run_read_timeout(struct counts *c)
{
	struct proxy_hdr h;
	const char *why = NULL;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		check(c, 0, "proxy_read", "timeout", "no socketpair");
		return;
	}
	check(c, write(sv[1], "PROXY TCP4 ", 11) == 11 &&
	    proxy_read(sv[0], 0, &h, &why) == -1 && why != NULL &&
	    strcmp(why, "timeout") == 0, "proxy_read", "half a header, 0 s",
	    "not a timeout");
	close(sv[0]);
	close(sv[1]);
}

/* main - run every table and print the summary */
int
main(void)
{
	struct counts	 c = { 0, 0 };
	size_t		 i;

	for (i = 0; i < NITEMS(ip_cases); i++)
		run_ip_case(&c, &ip_cases[i]);
	run_text(&c);
	run_sockaddr(&c);
	for (i = 0; i < NITEMS(net_cases); i++)
		run_net_case(&c, &net_cases[i]);
	run_net_full(&c);
	for (i = 0; i < NITEMS(has_cases); i++)
		run_has_case(&c, &has_cases[i]);
	for (i = 0; i < NITEMS(proxy_cases); i++) {
		run_proxy_case(&c, &proxy_cases[i]);
		run_read_case(&c, &proxy_cases[i]);
	}
	run_room(&c);
	run_read_timeout(&c);
	printf("netaddr: %d passed, %d failed\n", c.pass, c.fail);
	return c.fail > 0;
}
