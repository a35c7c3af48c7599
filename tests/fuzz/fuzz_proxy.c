/*
 * fuzz_proxy.c - libFuzzer target: the PROXY protocol header (proxy.c:
 * proxy_parse, proxy_room, proxy_read) and the address code under it
 * (netaddr.c).
 * Input: one selector octet.  Bit 7 clear: the PROXY header.  Bits 0-2
 * say how many piece octets follow (0-7), each the length less one of
 * a piece that proxy_read is handed (the rest of the stream is the last
 * piece); bit 3: pieces of one octet instead.  Then the stream: a
 * header and whatever the client sent after it.  Bit 7 set: netaddr,
 * the rest being "NETWORK\nADDRESS" text.
 * Invariants of the header, any break aborts:
 *  - proxy_parse on every prefix of the stream (k octets, the octets
 *    past k poisoned for ASan, so a look past n is an error): -1 with a
 *    reason, 0 or a length 0 < L <= k, L <= PROXY_MAX, without a reason;
 *    0 only while k < PROXY_MAX; once -1, -1 for every longer prefix;
 *    once L, L with the same fields for every longer one; and L first
 *    at k = L: a header is known exactly when its last octet is there;
 *  - proxy_room: more than 0 while parse says 0, have + room within
 *    PROXY_MAX (proxy_read's buffer); for a header of length L and every
 *    k < L: for v2 k + room <= L (the reader never gets past it), for v1
 *    k + room <= 107 (the reader stops at the LF itself), and once the
 *    kind is known (v1: k >= 1, v2: k >= 16) k + room >= L (it gets
 *    there in one go); for v2 room 0 at L;
 *  - the result agrees with a model parser written here from
 *    proxy-protocol.txt and smtpd's rules (inet_pton for the addresses,
 *    an IPv4-mapped IPv6 address taken as the IPv4 address it is, as
 *    netaddr.c's canonical form says): same length or -1 or 0, same
 *    version, local flag, addresses and ports;
 *  - a v1 line is "PROXY " printable ASCII CRLF, at most 107 octets;
 *    TCP4 gives IPv4 addresses, and the line written again from the
 *    fields (ip_text, port_text) is the very line; TCP6 gives IPv6 ones
 *    that are not v4-mapped (a mapped one becomes IPv4) whose text is
 *    ip_normalize's of the field; local exactly for UNKNOWN, v2 LOCAL
 *    and UNSPEC, all addresses and ports zero then; every address is
 *    canonical (ip_text then ip_parse gives it back);
 *  - proxy_read on one end of a socketpair whose other end is fed the
 *    pieces, one each time proxy_read polls (poll is wrapped at link
 *    time, -Wl,--wrap=poll; when all are out the write side is shut, so
 *    a cut header ends "closed", never in the 1 s deadline): for a
 *    header of length L it returns 0 with parse's fields having taken
 *    exactly L octets, the rest still unread and in order (recv'd and
 *    compared); for a cut one -1 "closed" having taken all; for a bad
 *    one -1, having taken at most PROXY_MAX octets.
 * Invariants of netaddr: ip_parse agrees with inet_pton (IPv4 in
 * dotted quad, a mapped IPv6 address becoming IPv4), ip_text and
 * ip_normalize give text that parses back to the same address and is
 * its own normal form; netlist_add takes exactly what a model takes
 * (ADDRESS[/BITS], BITS without leading zeros and within the family,
 * host bits zero, a mapped network /96 or longer becoming IPv4), and
 * netlist_has agrees with the model's prefix match, never across
 * families.
 */
#define _GNU_SOURCE
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef __has_feature
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define HIDE(p, n)	__asan_poison_memory_region((p), (n))
#define SHOW(p, n)	__asan_unpoison_memory_region((p), (n))
#endif
#endif
#ifndef HIDE
#define HIDE(p, n)	((void)(p), (void)(n))
#define SHOW(p, n)	((void)(p), (void)(n))
#endif

#include "fuzzcheck.h"
#include "netaddr.h"
#include "proxy.h"

#define STREAM_MAX	4096	/* longer inputs are skipped */
#define READ_SECONDS	1	/* proxy_read's deadline: never reached */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
int	 __real_poll(struct pollfd *, nfds_t, int);
int	 __wrap_poll(struct pollfd *, nfds_t, int);

/* what __wrap_poll hands proxy_read: the stream in pieces */
static struct {
	int	 rd, wr;		/* proxy_read's end, ours */
	const unsigned char *p;
	size_t	 n, pos;
	const unsigned char *cuts;	/* piece lengths less one */
	size_t	 ncuts, cut;
	int	 one, shut;		/* one-octet pieces; SHUT_WR done */
} feed = { -1, -1, NULL, 0, 0, NULL, 0, 0, 0, 0 };

static const unsigned char sig_v2[12] = {
	'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n'
};
static const unsigned char mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* --- the model ------------------------------------------------------ */

/* canon - an address as smtpd keeps it: v4-mapped IPv6 as IPv4 */
static void
canon(struct ipaddr *ip)
{
	if (!ip->v4 && memcmp(ip->a, mapped_prefix, 12) == 0) {
		unsigned char v4[4];

		memcpy(v4, ip->a + 12, 4);
		memset(ip->a, 0, sizeof ip->a);
		memcpy(ip->a, v4, 4);
		ip->v4 = 1;
	}
}

/* m_addr - inet_pton's reading of n octets of text; mapped IPv6 too */
static int
m_addr(const unsigned char *s, size_t n, int family, struct ipaddr *ip)
{
	char text[128];

	memset(ip, 0, sizeof *ip);
	if (n == 0 || n >= sizeof text || memchr(s, '\0', n) != NULL)
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	if (family == AF_INET || family == 0) {
		if (inet_pton(AF_INET, text, ip->a) == 1) {
			ip->v4 = 1;
			return 1;
		}
		if (family == AF_INET)
			return 0;
	}
	if (inet_pton(AF_INET6, text, ip->a) != 1)
		return 0;
	canon(ip);
	return 1;
}

/* m_port - 0-65535, decimal, "0" the only one to begin with 0 */
static int
m_port(const unsigned char *s, size_t n, unsigned *port)
{
	unsigned long v = 0;
	size_t i;

	if (n < 1 || n > 5 || (s[0] == '0' && n != 1))
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	*port = (unsigned)v;
	return v < 65536;
}

/* m_line - the words of a v1 line (without "PROXY " and CRLF) */
static int
m_line(const unsigned char *s, size_t n, struct proxy_hdr *h)
{
	const unsigned char *w[6];
	size_t wl[6], i, nw = 0, start = 0;
	int fam;

	if (n >= 7 && memcmp(s, "UNKNOWN", 7) == 0 && (n == 7 || s[7] == ' ')) {
		h->local = 1;
		return 1;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != ' ')
			continue;
		if (nw == 6)
			return 0;
		w[nw] = s + start;
		wl[nw++] = i - start;
		start = i + 1;
	}
	if (nw != 5)
		return 0;
	if (wl[0] == 4 && memcmp(w[0], "TCP4", 4) == 0)
		fam = AF_INET;
	else if (wl[0] == 4 && memcmp(w[0], "TCP6", 4) == 0)
		fam = AF_INET6;
	else
		return 0;
	return m_addr(w[1], wl[1], fam, &h->src) &&
	    m_addr(w[2], wl[2], fam, &h->dst) &&
	    m_port(w[3], wl[3], &h->sport) && m_port(w[4], wl[4], &h->dport);
}

/* model_parse - what proxy_parse should say of the n octets at p */
static long
model_parse(const unsigned char *p, size_t n, struct proxy_hdr *h)
{
	size_t i, len;

	memset(h, 0, sizeof *h);
	if (n == 0)
		return 0;
	if (p[0] == 'P') {
		if (memcmp(p, "PROXY ", n < 6 ? n : 6) != 0)
			return -1;
		if (n < 6)
			return 0;
		for (i = 6; i < n && i < PROXY_V1_MAX; i++)
			if (p[i] < 0x20 || p[i] > 0x7e)
				break;
		if (i == PROXY_V1_MAX)
			return -1;	/* 107 octets and no CR yet */
		if (i == n)
			return 0;
		if (p[i] != '\r' || i + 2 > PROXY_V1_MAX)
			return -1;
		if (i + 1 == n)
			return 0;
		if (p[i + 1] != '\n')
			return -1;
		h->version = 1;
		if (!m_line(p + 6, i - 6, h)) {
			memset(h, 0, sizeof *h);
			return -1;
		}
		return (long)i + 2;
	}
	if (memcmp(p, sig_v2, n < 12 ? n : 12) != 0)
		return -1;
	if (n < 16)
		return 0;
	if (p[12] != 0x20 && p[12] != 0x21)
		return -1;
	len = (size_t)p[14] * 256 + p[15];
	if (len > 1024)
		return -1;
	if (n < 16 + len)
		return 0;
	h->version = 2;
	if (p[12] == 0x20 || p[13] == 0x00) {
		h->local = 1;
		return (long)(16 + len);
	}
	if (p[13] == 0x11 && len >= 12) {
		memcpy(h->src.a, p + 16, 4);
		memcpy(h->dst.a, p + 20, 4);
		h->src.v4 = h->dst.v4 = 1;
		h->sport = (unsigned)p[24] * 256 + p[25];
		h->dport = (unsigned)p[26] * 256 + p[27];
	} else if (p[13] == 0x21 && len >= 36) {
		memcpy(h->src.a, p + 16, 16);
		memcpy(h->dst.a, p + 32, 16);
		canon(&h->src);
		canon(&h->dst);
		h->sport = (unsigned)p[48] * 256 + p[49];
		h->dport = (unsigned)p[50] * 256 + p[51];
	} else {
		memset(h, 0, sizeof *h);
		return -1;
	}
	return (long)(16 + len);
}

/* --- checks of the header ------------------------------------------- */

static int
same_ip(const struct ipaddr *a, const struct ipaddr *b)
{
	return a->v4 == b->v4 && memcmp(a->a, b->a, sizeof a->a) == 0;
}

static int
same_hdr(const struct proxy_hdr *a, const struct proxy_hdr *b)
{
	return a->version == b->version && a->local == b->local &&
	    same_ip(&a->src, &b->src) && same_ip(&a->dst, &b->dst) &&
	    a->sport == b->sport && a->dport == b->dport;
}

/* check_ip - canonical: IPv4 with a[4..15] zero, IPv6 never v4-mapped,
 * and ip_text's text parses back to it */
static void
check_ip(const struct ipaddr *ip, const unsigned char *in, size_t n)
{
	static const unsigned char zero[12];
	char text[NET_TEXT_MAX];
	struct ipaddr again;

	if (ip->v4 != 0 && ip->v4 != 1)
		fail("v4 flag neither 0 nor 1", in, n);
	if (ip->v4 && memcmp(ip->a + 4, zero, 12) != 0)
		fail("IPv4 address with octets past the fourth", in, n);
	if (!ip->v4 && memcmp(ip->a, mapped_prefix, 12) == 0)
		fail("v4-mapped IPv6 address not taken as IPv4", in, n);
	if (!ip_text(ip, text, sizeof text))
		fail("ip_text failed on a parsed address", in, n);
	if (!ip_parse(text, &again) || !same_ip(ip, &again))
		fail("ip_text's text does not parse back", text, strlen(text));
}

/* word - the i-th space-separated word of s (n octets) */
static const unsigned char *
word(const unsigned char *s, size_t n, int i, size_t *len)
{
	const unsigned char *end = s + n, *sp;

	for (; i > 0; i--)
		s = (const unsigned char *)memchr(s, ' ', (size_t)(end - s)) + 1;
	sp = memchr(s, ' ', (size_t)(end - s));
	*len = (size_t)((sp != NULL ? sp : end) - s);
	return s;
}

/* check_v1 - a v1 line proxy_parse took: L octets at p */
static void
check_v1(const unsigned char *p, size_t L, const struct proxy_hdr *h)
{
	char ts[NET_TEXT_MAX], td[NET_TEXT_MAX], ps[8], pd[8], norm[NET_TEXT_MAX];
	char line[PROXY_V1_MAX + 64], fld[NET_TEXT_MAX];
	const unsigned char *w;
	struct proxy_hdr again;
	const char *why;
	size_t i, wl;
	int len, tcp4;

	if (L < 8 || L > PROXY_V1_MAX || memcmp(p, "PROXY ", 6) != 0 ||
	    p[L - 2] != '\r' || p[L - 1] != '\n')
		fail("v1 header not \"PROXY \" ... CRLF within 107", p, L);
	for (i = 6; i < L - 2; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			fail("v1 header with a control or 8-bit octet", p, L);
	if (L - 8 >= 7 && memcmp(p + 6, "UNKNOWN", 7) == 0 &&
	    (L - 8 == 7 || p[13] == ' ')) {
		if (!h->local)
			fail("UNKNOWN not local", p, L);
		return;
	}
	if (h->local)
		fail("local without UNKNOWN", p, L);
	tcp4 = memcmp(p + 6, "TCP4 ", 5) == 0;
	if (!tcp4 && memcmp(p + 6, "TCP6 ", 5) != 0)
		fail("v1 taken without TCP4, TCP6 or UNKNOWN", p, L);
	if (!ip_text(&h->src, ts, sizeof ts) ||
	    !ip_text(&h->dst, td, sizeof td) ||
	    !port_text(h->sport, ps, sizeof ps) ||
	    !port_text(h->dport, pd, sizeof pd))
		fail("v1 fields do not print", p, L);
	if (tcp4) {
		if (!h->src.v4 || !h->dst.v4)
			fail("TCP4 with an IPv6 address", p, L);
		/* written again from its fields, the line is the very line */
		len = snprintf(line, sizeof line, "PROXY TCP4 %s %s %s %s\r\n",
		    ts, td, ps, pd);
		if (len < 0 || (size_t)len != L || memcmp(line, p, L) != 0)
			fail("TCP4 line written again differs", line,
			    len > 0 ? (size_t)len : 0);
		return;
	}
	/* TCP6: each address is ip_normalize's text of its field */
	for (i = 1; i <= 2; i++) {

		w = word(p + 6, L - 8, (int)i, &wl);
		if (wl >= sizeof fld || memchr(w, ':', wl) == NULL)
			fail("TCP6 address without a colon", p, L);
		memcpy(fld, w, wl);
		fld[wl] = '\0';
		if (!ip_normalize(fld, norm, sizeof norm) ||
		    strcmp(norm, i == 1 ? ts : td) != 0)
			fail("TCP6 address not its field's normal form", p, L);
	}
	for (i = 3; i <= 4; i++) {
		w = word(p + 6, L - 8, (int)i, &wl);
		if (wl != strlen(i == 3 ? ps : pd) ||
		    memcmp(w, i == 3 ? ps : pd, wl) != 0)
			fail("v1 port written again differs", p, L);
	}
	if (h->src.v4 || h->dst.v4)
		return;			/* mapped: TCP6 with it no longer */
	len = snprintf(line, sizeof line, "PROXY TCP6 %s %s %s %s\r\n", ts, td,
	    ps, pd);
	if (len < 0 || (size_t)len >= sizeof line)
		fail("TCP6 line too long to write again", p, L);
	if (proxy_parse((const unsigned char *)line, (size_t)len, &again,
	    &why) != len || !same_hdr(h, &again))
		fail("TCP6 line written again parses otherwise", line,
		    (size_t)len);
}

/* check_v2 - a v2 header proxy_parse took: L octets at p */
static void
check_v2(const unsigned char *p, size_t L, const struct proxy_hdr *h)
{
	int local;

	if (L < 16 || memcmp(p, sig_v2, 12) != 0 ||
	    L != 16 + ((size_t)p[14] << 8 | p[15]))
		fail("v2 header length not 16 + its length field", p, L);
	if (p[12] != 0x20 && p[12] != 0x21)
		fail("v2 taken with a bad version or command", p, L);
	local = p[12] == 0x20 || p[13] == 0x00;
	if (h->local != local)
		fail("v2 local not exactly LOCAL or UNSPEC", p, L);
	if (!local && p[13] != 0x11 && p[13] != 0x21)
		fail("v2 taken with a family not TCP4/TCP6", p, L);
	if (!local && p[13] == 0x11 && (!h->src.v4 || !h->dst.v4))
		fail("v2 TCP4 with an IPv6 address", p, L);
}

/* check_header - the whole stream and every prefix of it */
static long
check_header(unsigned char *buf, size_t n, struct proxy_hdr *h)
{
	static size_t room[PROXY_MAX + 1];
	static const struct ipaddr none;
	struct proxy_hdr hk, model;
	const char *why;
	size_t k, kmax = n < PROXY_MAX ? n : PROXY_MAX, L;
	long r, prev = 0, m;

	memset(h, 0, sizeof *h);
	for (k = 0; k <= kmax; k++) {
		HIDE(buf + k, n - k);
		r = proxy_parse(buf, k, &hk, &why);
		room[k] = proxy_room(buf, k);
		SHOW(buf + k, n - k);
		if (r < -1 || r > (long)k || r > PROXY_MAX)
			fail("proxy_parse out of -1..n", buf, k);
		if ((r == -1) != (why != NULL) || (why != NULL && *why == '\0'))
			fail("a reason exactly when -1", buf, k);
		if (r == 0 && (k >= PROXY_MAX || room[k] == 0))
			fail("0 (more, please) without room for more", buf, k);
		if (k + room[k] > PROXY_MAX)
			fail("room past proxy_read's buffer", buf, k);
		if (prev == -1 && r != -1)
			fail("a refused prefix taken when longer", buf, k);
		if (prev > 0 && (r != prev || !same_hdr(&hk, h)))
			fail("a header changed by octets after it", buf, k);
		if (prev == 0 && r > 0 && r != (long)k)
			fail("a header not known at its last octet", buf, k);
		if (prev == 0 && r > 0)
			*h = hk;
		prev = r;
	}
	r = proxy_parse(buf, n, &hk, &why);
	if (r != prev || (r > 0 && !same_hdr(&hk, h)))
		fail("the whole stream parses otherwise than its prefix", buf,
		    n);
	m = model_parse(buf, n, &model);
	if (m != r)
		fail(r == -1 ? "refused what the model takes" : m == -1 ?
		    "took what the model refuses" : "length not the model's",
		    buf, n);
	if (r <= 0)
		return r;
	if (!same_hdr(h, &model))
		fail("fields not the model's", buf, (size_t)r);
	L = (size_t)r;
	if (h->version != (buf[0] == 'P' ? 1 : 2))
		fail("version not the header's", buf, L);
	if (h->local) {
		if (!same_ip(&h->src, &none) || !same_ip(&h->dst, &none) ||
		    h->sport != 0 || h->dport != 0)
			fail("local with addresses or ports", buf, L);
	} else {
		check_ip(&h->src, buf, L);
		check_ip(&h->dst, buf, L);
		if (h->sport > 65535 || h->dport > 65535)
			fail("port past 65535", buf, L);
	}
	if (h->version == 1)
		check_v1(buf, L, h);
	else
		check_v2(buf, L, h);
	/*
	 * room lets a reader get on (more than 0, checked above: parse said
	 * 0 before L), never past a v2 header's end, and once a header's
	 * kind (v1: its first octet; v2: its 16-octet head) is known, all
	 * the way to the end in one go
	 */
	for (k = 0; k < L; k++) {
		if (h->version == 2 && k + room[k] > L)
			fail("room past a v2 header's end", buf, k);
		if (k >= (h->version == 1 ? 1 : PROXY_V2_HEAD) &&
		    k + room[k] < L)
			fail("room short of a known header's end", buf, k);
		if (h->version == 1 && k + room[k] > PROXY_V1_MAX)
			fail("room past 107 octets for a v1 line", buf, k);
	}
	if (h->version == 2 && L <= kmax && room[L] != 0)
		fail("room after a whole v2 header", buf, L);
	return r;
}

/* --- proxy_read over a socketpair ----------------------------------- */

/* feed_next - the next piece into the socket, or the write side shut */
static void
feed_next(void)
{
	size_t len;
	ssize_t w;

	if (feed.pos >= feed.n) {
		if (!feed.shut && shutdown(feed.wr, SHUT_WR) < 0)
			fail("shutdown", NULL, 0);
		feed.shut = 1;
		return;
	}
	if (feed.one)
		len = 1;
	else if (feed.cut < feed.ncuts)
		len = (size_t)feed.cuts[feed.cut++] + 1;
	else
		len = feed.n - feed.pos;
	if (len > feed.n - feed.pos)
		len = feed.n - feed.pos;
	while ((w = write(feed.wr, feed.p + feed.pos, len)) < 0 &&
	    errno == EINTR)
		;
	if (w != (ssize_t)len)
		fail("write to the socketpair", NULL, 0);
	feed.pos += len;
}

/*
 * __wrap_poll - poll(2) as proxy.c sees it: when proxy_read waits on
 * its end of the socketpair, the next piece goes in first
 */
int
__wrap_poll(struct pollfd *fds, nfds_t nfds, int ms)
{
	if (feed.rd >= 0 && nfds == 1 && fds[0].fd == feed.rd)
		feed_next();
	return __real_poll(fds, nfds, ms);
}

/* check_read - proxy_read on the stream, in pieces */
static void
check_read(const unsigned char *p, size_t n, long r, const struct proxy_hdr *h,
    const unsigned char *cuts, size_t ncuts, int one)
{
	static unsigned char rest[STREAM_MAX + 1];
	struct proxy_hdr got;
	const char *why = NULL;
	size_t have = 0, taken;
	ssize_t k;
	int sv[2], ret;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail("socketpair", NULL, 0);
	feed.rd = sv[0];
	feed.wr = sv[1];
	feed.p = p;
	feed.n = n;
	feed.pos = 0;
	feed.cuts = cuts;
	feed.ncuts = ncuts;
	feed.cut = 0;
	feed.one = one;
	feed.shut = 0;
	ret = proxy_read(sv[0], READ_SECONDS, &got, &why);
	feed.rd = -1;
	/* what proxy_read left: all the rest sent, then read to the end */
	while (feed.pos < feed.n) {
		feed.one = 0;
		feed.ncuts = 0;
		feed_next();
	}
	feed_next();
	for (;;) {
		k = recv(sv[0], rest + have, sizeof rest - have, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			fail("recv of the rest", NULL, 0);
		if (k == 0)
			break;
		have += (size_t)k;
		if (have > n)
			fail("more octets came out than went in", p, n);
	}
	close(sv[0]);
	close(sv[1]);
	taken = n - have;
	if (memcmp(rest, p + taken, have) != 0)
		fail("the unread octets are not the stream's tail", p, n);
	if (ret != 0 && ret != -1)
		fail("proxy_read not 0 or -1", p, n);
	if (ret == -1 && (why == NULL || *why == '\0'))
		fail("proxy_read -1 without a reason", p, n);
	if (ret == -1 && strcmp(why, "timeout") == 0)
		fail("proxy_read waited out its deadline", p, n);
	if (r > 0) {
		if (ret != 0)
			fail("proxy_read refused a whole header", why,
			    strlen(why));
		if (taken != (size_t)r)
			fail(taken > (size_t)r ? "proxy_read took octets past "
			    "the header" : "proxy_read left octets of the "
			    "header", p, n);
		if (!same_hdr(&got, h))
			fail("proxy_read's fields not proxy_parse's", p, n);
	} else if (r == 0) {
		if (ret != -1 || strstr(why, "closed") == NULL)
			fail("a cut header not \"closed\"", p, n);
		if (taken != n)
			fail("a cut header not read to its end", p, n);
	} else {
		if (ret != -1)
			fail("proxy_read took a bad header", p, n);
		if (taken > PROXY_MAX)
			fail("proxy_read took more than PROXY_MAX", p, n);
	}
}

/* --- netaddr -------------------------------------------------------- */

/* m_net - the model of netlist_add: 1 and the network, or 0 */
static int
m_net(const char *s, struct net *net)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s), i;
	unsigned max, bits;
	int mapped;

	memset(net, 0, sizeof *net);
	if (!m_addr((const unsigned char *)s, alen, 0, &net->addr))
		return 0;
	mapped = net->addr.v4 && memchr(s, ':', alen) != NULL;
	max = net->addr.v4 && !mapped ? 32 : 128;
	if (slash == NULL)
		bits = max;
	else {
		const char *d = slash + 1;
		size_t dl = strlen(d);

		if (dl < 1 || dl > 3 || (d[0] == '0' && dl > 1))
			return 0;
		for (bits = 0, i = 0; i < dl; i++) {
			if (d[i] < '0' || d[i] > '9')
				return 0;
			bits = bits * 10 + (unsigned)(d[i] - '0');
		}
		if (bits > max)
			return 0;
	}
	if (mapped) {
		if (bits < 96)
			return 0;
		bits -= 96;
	}
	net->bits = bits;
	for (i = bits; i < (net->addr.v4 ? 32u : 128u); i++)
		if (net->addr.a[i / 8] >> (7 - i % 8) & 1)
			return 0;
	return 1;
}

/* m_in - the model of a match: same family, the first bits equal */
static int
m_in(const struct net *net, const struct ipaddr *ip)
{
	unsigned i;

	if (net->addr.v4 != ip->v4)
		return 0;
	for (i = 0; i < net->bits; i++)
		if ((net->addr.a[i / 8] ^ ip->a[i / 8]) >> (7 - i % 8) & 1)
			return 0;
	return 1;
}

/* check_netaddr - "NETWORK\nADDRESS" (n octets, NUL-terminated at s) */
static void
check_netaddr(char *s, size_t n)
{
	static struct netlist l;
	char *addr = memchr(s, '\n', n), text[NET_TEXT_MAX], again[NET_TEXT_MAX];
	struct ipaddr ip, mip, back;
	struct net mnet;
	int ok, mok, in;

	if (memchr(s, '\0', n) != NULL)
		return;			/* C strings only */
	if (addr != NULL)
		*addr++ = '\0';
	else
		addr = s + n;
	/* the address: ip_parse, ip_text, ip_normalize */
	ok = ip_parse(addr, &ip);
	mok = m_addr((const unsigned char *)addr, strlen(addr), 0, &mip);
	if (ok != mok || (ok && !same_ip(&ip, &mip)))
		fail(ok ? (mok ? "ip_parse's octets not inet_pton's" :
		    "ip_parse took what inet_pton refuses") :
		    "ip_parse refused what inet_pton takes", addr,
		    strlen(addr));
	if (ok) {
		check_ip(&ip, (const unsigned char *)addr, strlen(addr));
		if (!ip_normalize(addr, text, sizeof text) ||
		    !ip_normalize(text, again, sizeof again) ||
		    strcmp(text, again) != 0 || !ip_parse(text, &back) ||
		    !same_ip(&back, &ip))
			fail("ip_normalize not canonical", addr, strlen(addr));
		if (ip.v4 && strchr(text, ':') != NULL)
			fail("IPv4 address written as IPv6", text,
			    strlen(text));
	} else if (ip_normalize(addr, text, sizeof text) || text[0] != '\0')
		fail("ip_normalize took a bad address", addr, strlen(addr));
	/* the network: netlist_add, netlist_has */
	memset(&l, 0, sizeof l);
	ok = netlist_add(&l, s) == 0;
	mok = m_net(s, &mnet);
	if (ok != mok)
		fail(ok ? "netlist_add took what the model refuses" :
		    "netlist_add refused what the model takes", s, strlen(s));
	if (ok != (l.n == 1))
		fail("netlist_add's count", s, strlen(s));
	if (!ok) {
		if (netlist_has(&l, addr))
			fail("an empty list has an address", addr,
			    strlen(addr));
		return;
	}
	if (!same_ip(&l.v[0].addr, &mnet.addr) || l.v[0].bits != mnet.bits)
		fail("netlist_add's network not the model's", s, strlen(s));
	in = netlist_has(&l, addr);
	if (in != (mok && ip_parse(addr, &ip) && m_in(&mnet, &ip)))
		fail(in ? "netlist_has matched what the model does not" :
		    "netlist_has missed what the model matches", addr,
		    strlen(addr));
	if (in && ip.v4 != l.v[0].addr.v4)
		fail("netlist_has matched across families", addr,
		    strlen(addr));
	if (!ip_text(&l.v[0].addr, text, sizeof text) || !netlist_has(&l, text))
		fail("a network does not have its own address", s, strlen(s));
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fc_init("fuzz_proxy");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *cuts;
	unsigned char *buf;
	struct proxy_hdr h;
	size_t ncuts, n;
	long r;
	int sel;

	if (size == 0 || size > STREAM_MAX)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel & 0x80) {
		if ((buf = malloc(size + 1)) == NULL)
			return 0;
		memcpy(buf, data, size);
		buf[size] = '\0';
		check_netaddr((char *)buf, size);
		free(buf);
		return 0;
	}
	ncuts = (size_t)(sel & 7);
	if (ncuts > size)
		ncuts = size;
	cuts = data;
	data += ncuts;
	n = size - ncuts;
	/* the stream in a buffer of its own size: a look past it is an error */
	if ((buf = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(buf, data, n);
	r = check_header(buf, n, &h);
	check_read(buf, n, r, &h, cuts, ncuts, (sel & 8) != 0);
	free(buf);
	return 0;
}
