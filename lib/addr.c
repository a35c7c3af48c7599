/*
 * addr.c - parse the path and parameters of MAIL FROM: and RCPT TO:.
 * Follows the grammar of RFC 5321 4.1.2 with RFC 6531 UTF-8, and the
 * parameters of RFC 1870, RFC 6152, RFC 6531, RFC 3461 and RFC 6533.
 * Input is a (ptr, end) range of untrusted bytes: never read past end,
 * never write past a fixed buffer, never allocate.
 */
#include <stdint.h>
#include <string.h>

#include "addr.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define LABEL_MAX	63	/* RFC 1035 2.3.4 */

/* is_digit - ASCII decimal digit */
static int
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Octet classes by table: ALNUM (ASCII letter or digit), ATEXT (RFC
 * 5322 atext, ASCII part), LDH (letter, digit, hyphen: a label's octets).
 */
#define C_ALNUM	1
#define C_ATEXT	2
#define C_LDH	4
#define A	(C_ALNUM | C_ATEXT | C_LDH)
#define S	C_ATEXT
#define A5	A, A, A, A, A
static const unsigned char octet_class[256] = {
	[0x20] = 0, S, 0, S, S, S, S, S, 0, 0, S, S, 0, S | C_LDH, 0, S,
	[0x30] = A5, A5, 0, 0, 0, S, 0, S,		/* 0-9 : ; < = > ? */
	[0x40] = 0, A5, A5, A5,				/* @ A-O */
	[0x50] = A5, A5, A, 0, 0, 0, S, S,		/* P-Z [ \ ] ^ _ */
	[0x60] = S, A5, A5, A5,				/* ` a-o */
	[0x70] = A5, A5, A, S, S, S, S, 0,		/* p-z { | } ~ DEL */
};
#undef A
#undef S
#undef A5

/* is_alnum - ASCII letter or digit */
static int
is_alnum(unsigned char c)
{
	return octet_class[c] & C_ALNUM;
}

/* is_ldh - ASCII letter, digit or hyphen */
static int
is_ldh(unsigned char c)
{
	return octet_class[c] & C_LDH;
}

/* is_upper_hex - digit or A-F, as xtext wants it */
static int
is_upper_hex(unsigned char c)
{
	return is_digit(c) || (c >= 'A' && c <= 'F');
}

/* hex_value - value of a hex digit of either case, -1 if none */
static int
hex_value(unsigned char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* is_atext - RFC 5322 atext, ASCII part */
static int
is_atext(unsigned char c)
{
	return octet_class[c] & C_ATEXT;
}

/* lower - ASCII lower case of c, whatever the locale */
static unsigned char
lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* ieq - s..s+n equals the literal lit, ignoring ASCII case */
static int
ieq(const char *s, size_t n, const char *lit)
{
	size_t	 i;

	if (strlen(lit) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (lower(s[i]) != lower(lit[i]))
			return 0;
	return 1;
}

/* utf8_len - length of the well-formed UTF-8 sequence at p, 0 if bad */
static size_t
utf8_len(const char *s, const char *end)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;	/* continuation, overlong lead or > U+10FFFF */
	if (p[0] < 0xe0)
		n = 2;
	else if (p[0] < 0xf0) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* > U+10FFFF */
	}
	if ((size_t)(end - s) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* utf8_nonascii - length of a UTF8-non-ascii char at p, 0 if none */
static size_t
utf8_nonascii(const char *p, const char *end)
{
	size_t	 n = utf8_len(p, end);

	return n > 1 ? n : 0;
}

/* addr_valid_utf8 - 1 if s..s+n is well-formed UTF-8 */
int
addr_valid_utf8(const char *s, size_t n)
{
	const char	*end = s + n;
	size_t		 l;

	while (s < end) {
		if ((l = utf8_len(s, end)) == 0)
			return 0;
		s += l;
	}
	return 1;
}

/* skip_label - skip one sub-domain (Let-dig [Ldh-str] or U-label) */
static int
skip_label(const char **pp, const char *end)
{
	const char	*p = *pp;
	size_t		 n;

	for (;;) {
		while (p < end && is_ldh((unsigned char)*p))
			p++;
		if (p == end || (unsigned char)*p < 0x80)
			break;
		if ((n = utf8_nonascii(p, end)) == 0)
			return 0;
		p += n;
	}
	if (p == *pp || p - *pp > LABEL_MAX || **pp == '-' || p[-1] == '-')
		return 0;
	*pp = p;
	return 1;
}

/* skip_domain - skip a Domain: labels separated by single dots */
static int
skip_domain(const char **pp, const char *end)
{
	const char	*p = *pp;

	for (;;) {
		if (!skip_label(&p, end))
			return 0;
		if (p == end || *p != '.')
			break;
		p++;
	}
	*pp = p;
	return 1;
}

/* skip_snum - skip a Snum (1-3 digits, 0..255); NULL if none */
static const char *
skip_snum(const char *p, const char *end)
{
	int	 v = 0, n = 0;

	while (p < end && is_digit(*p) && n < 3) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0 || v > 255 || (p < end && is_digit(*p)))
		return NULL;
	return p;
}

/* ipv4_valid - s..end is exactly Snum 3("." Snum) */
static int
ipv4_valid(const char *s, const char *end)
{
	int	 i;

	for (i = 0; i < 4; i++) {
		if (i > 0) {
			if (s == end || *s != '.')
				return 0;
			s++;
		}
		if ((s = skip_snum(s, end)) == NULL)
			return 0;
	}
	return s == end;
}

/* ipv6_group - count up to 5 hex digits at p */
static size_t
ipv6_group(const char *p, const char *end)
{
	size_t	 n = 0;

	while (p + n < end && n < 5 && hex_value(p[n]) >= 0)
		n++;
	return n;
}

/*
 * ipv6_valid - p..end is an RFC 5321 IPv6-addr: eight groups, or "::"
 * standing for at least two zero groups, optionally ending in IPv4.
 */
static int
ipv6_valid(const char *p, const char *end)
{
	int	 groups = 0, comp = 0;
	size_t	 n;

	if (end - p >= 2 && p[0] == ':' && p[1] == ':') {
		comp = 1;
		p += 2;
	}
	while (p < end) {
		n = ipv6_group(p, end);
		if (p + n < end && p[n] == '.') {
			if (!ipv4_valid(p, end))
				return 0;
			groups += 2;
			break;
		}
		if (n == 0 || n > 4)
			return 0;
		groups++;
		if ((p += n) == end)
			break;
		if (*p++ != ':' || p == end)
			return 0;
		if (*p == ':') {
			if (comp++)
				return 0;
			p++;
		}
	}
	return comp ? groups <= 6 : groups == 8;
}

/* general_valid - s..end is Standardized-tag ":" 1*dcontent */
static int
general_valid(const char *s, const char *end)
{
	const char	*p = s;

	while (p < end && is_ldh((unsigned char)*p))
		p++;
	if (p == s || p == end || *p != ':' || p[-1] == '-')
		return 0;
	if (ieq(s, p - s, "IPv6"))
		return ipv6_valid(p + 1, end);
	if (++p == end)
		return 0;
	for (; p < end; p++) {
		unsigned char c = *p;

		if (c < 33 || c > 126 || (c >= 91 && c <= 93))
			return 0;
	}
	return 1;
}

/* skip_literal - skip an address-literal, brackets included */
static int
skip_literal(const char **pp, const char *end)
{
	const char	*s = *pp + 1, *p;

	for (p = s; p < end && *p != ']'; p++)
		if (*p < 33 || *p > 126 || *p == '[' || *p == '\\')
			return 0;
	if (p == end)
		return 0;
	if (!ipv4_valid(s, p) && !general_valid(s, p))
		return 0;
	*pp = p + 1;
	return 1;
}

/* skip_domain_part - skip a Domain or an address-literal */
static int
skip_domain_part(const char **pp, const char *end)
{
	if (*pp < end && **pp == '[')
		return skip_literal(pp, end);
	return skip_domain(pp, end);
}

/* addr_valid_domain - 1 if s..s+n is a Domain or an address-literal */
int
addr_valid_domain(const char *s, size_t n)
{
	const char	*p = s;

	if (n == 0 || n > ADDR_DOMAIN_MAX)
		return 0;
	return skip_domain_part(&p, s + n) && p == s + n;
}

/* skip_route - skip A-d-l ":" (a source route, to be dropped) */
static int
skip_route(const char **pp, const char *end)
{
	const char	*p = *pp;

	for (;;) {
		if (p == end || *p != '@')
			return 0;
		p++;
		if (!skip_domain(&p, end) || p == end)
			return 0;
		if (*p == ':')
			break;
		if (*p != ',')
			return 0;
		p++;
	}
	*pp = p + 1;
	return 1;
}

/* skip_quoted - skip a Quoted-string of RFC 5321 with RFC 6531 UTF-8 */
static int
skip_quoted(const char **pp, const char *end)
{
	const char	*p = *pp + 1;
	size_t		 n;

	while (p < end && *p != '"') {
		if (*p == '\\') {
			if (end - p < 2 || p[1] < 32 || p[1] > 126)
				return 0;
			p += 2;
		} else if (*p >= 32 && *p <= 126)
			p++;
		else if ((n = utf8_nonascii(p, end)) != 0)
			p += n;
		else
			return 0;
	}
	if (p == end)
		return 0;
	*pp = p + 1;
	return 1;
}

/* skip_run - skip 1*(octets ok() accepts / UTF8-non-ascii) */
static int
skip_run(const char **pp, const char *end, int (*ok)(unsigned char))
{
	const char	*p = *pp;
	size_t		 n;

	for (;;) {
		while (p < end && ok((unsigned char)*p))
			p++;
		if (p == end || (n = utf8_nonascii(p, end)) == 0)
			break;
		p += n;
	}
	if (p == *pp)
		return 0;
	*pp = p;
	return 1;
}

/* skip_atom - skip 1*atext, UTF8-non-ascii included */
static int
skip_atom(const char **pp, const char *end)
{
	return skip_run(pp, end, is_atext);
}

/* skip_local - skip a Local-part: Dot-string or Quoted-string */
static int
skip_local(const char **pp, const char *end)
{
	const char	*p = *pp;

	if (p < end && *p == '"')
		return skip_quoted(pp, end);
	for (;;) {
		if (!skip_atom(&p, end))
			return 0;
		if (p == end || *p != '.')
			break;
		p++;
	}
	*pp = p;
	return 1;
}

/*
 * has_8bit - 1 if any octet of s..end is >= 0x80: eight octets a step,
 * the last step overlapping the one before
 */
static int
has_8bit(const char *s, const char *end)
{
	const uint64_t highs = 0x8080808080808080ull;
	size_t n = (size_t)(end - s), i;
	uint64_t v;

	if (n < 8) {
		for (; s < end; s++)
			if ((unsigned char)*s >= 0x80)
				return 1;
		return 0;
	}
	for (i = 0; i + 8 <= n; i += 8) {
		memcpy(&v, s + i, 8);
		if (v & highs)
			return 1;
	}
	memcpy(&v, end - 8, 8);
	return (v & highs) != 0;
}

/* set_path - fill out with the mailbox s..e (length known to fit) */
static void
set_path(struct path *out, const char *s, const char *e, size_t doff)
{
	out->len = e - s;
	memcpy(out->addr, s, out->len);
	out->addr[out->len] = '\0';
	out->domain_off = doff;
}

/* parse_null - the "<>" reverse-path, *pp at '<'; out is already empty */
static int
parse_null(const char **pp, int flags)
{
	if (!(flags & ADDR_ALLOW_NULL))
		return ADDR_NULL_REFUSED;
	*pp += 2;
	return ADDR_OK;
}

/* parse_postmaster - "<postmaster>" without a domain, lp..le the word */
static int
parse_postmaster(const char **pp, const char *lp, const char *le,
    int flags, struct path *out)
{
	if (!(flags & ADDR_ALLOW_POSTMASTER) || !ieq(lp, le - lp, "postmaster"))
		return ADDR_SYNTAX;
	set_path(out, lp, le, 0);
	*pp = le + 1;
	return ADDR_OK;
}

/*
 * addr_parse_path - parse "<" [A-d-l ":"] Mailbox ">" or "<>" at *pp;
 * on success *pp is moved past the '>'.
 */
int
addr_parse_path(const char **pp, const char *end, int flags,
    struct path *out)
{
	const char	*s = *pp, *p, *lp, *le, *dp;
	int		 route = 0;

	out->addr[0] = '\0';		/* empty, as <> leaves it */
	out->len = out->domain_off = 0;
	out->utf8 = 0;
	if (s >= end || *s != '<')
		return ADDR_SYNTAX;
	p = s + 1;
	if (p < end && *p == '>')
		return parse_null(pp, flags);
	if (p < end && *p == '@') {
		if (!skip_route(&p, end))
			return ADDR_SYNTAX;
		route = 1;
	}
	lp = p;
	if (!skip_local(&p, end) || p == end)
		return ADDR_SYNTAX;
	le = p;
	if (*p == '>' && !route && *lp != '"')
		return parse_postmaster(pp, lp, le, flags, out);
	if (*p != '@')
		return ADDR_SYNTAX;
	dp = ++p;
	if (!skip_domain_part(&p, end) || p == end || *p != '>')
		return ADDR_SYNTAX;
	if (le - lp > ADDR_LOCAL_MAX || p - dp > ADDR_DOMAIN_MAX ||
	    p + 1 - s > ADDR_PATH_MAX)
		return ADDR_TOOLONG;
	set_path(out, lp, p, dp - lp);
	out->utf8 = has_8bit(s, p);
	*pp = p + 1;
	return ADDR_OK;
}

/*
 * addr_is_routed - the local part holds a routing character: '%' (the
 * percent hack), '!' (a UUCP bang path) or '@' (inside quotes), which
 * relays such as Postfix and sendmail may act on to send mail elsewhere
 */
int
addr_is_routed(const struct path *p)
{
	size_t n = p->domain_off != 0 ? p->domain_off - 1 : p->len, i;

	for (i = 0; i < n; i++)
		if (p->addr[i] == '%' || p->addr[i] == '!' || p->addr[i] == '@')
			return 1;
	return 0;
}

/* addr_is_postmaster - 1 if the local part is postmaster, quoted or not */
int
addr_is_postmaster(const struct path *pa)
{
	const char	*want = "postmaster", *p = pa->addr, *e;
	size_t		 i = 0;

	e = p + (pa->domain_off > 0 ? pa->domain_off - 1 : pa->len);
	if (p == e || *p != '"')
		return ieq(p, e - p, want);
	if (e - p < 2 || e[-1] != '"')
		return 0;
	for (p++, e--; p < e; p++, i++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		if (want[i] == '\0' || lower(*p) != (unsigned char)want[i])
			return 0;
	}
	return want[i] == '\0';
}

/* one esmtp-param, split; val is NULL when there is no "=" */
struct param {
	const char	*kw;
	size_t		 kwlen;
	const char	*val;
	size_t		 vallen;
};

/* is_value_char - esmtp-value ASCII: %d33-60 / %d62-126 */
static int
is_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

/* skip_value - skip an esmtp-value: 1*(%d33-60 / %d62-126 / UTF-8) */
static int
skip_value(const char **pp, const char *end)
{
	return skip_run(pp, end, is_value_char);
}

/* next_param - split off the next param: 1 got one, 0 at end, -1 bad */
static int
next_param(const char **pp, const char *end, struct param *pa)
{
	const char	*p = *pp;

	if (p == end)
		return 0;
	if (*p != ' ')
		return -1;
	while (p < end && *p == ' ')
		p++;
	if ((*pp = p) == end)
		return 0;
	if (!is_alnum(*p))
		return -1;
	for (pa->kw = p; p < end && is_ldh((unsigned char)*p); p++)
		;
	pa->kwlen = p - pa->kw;
	pa->val = NULL;
	pa->vallen = 0;
	if (p < end && *p == '=') {
		pa->val = ++p;
		if (!skip_value(&p, end))
			return -1;
		pa->vallen = p - pa->val;
	}
	if (p < end && *p != ' ')
		return -1;
	*pp = p;
	return 1;
}

/* keyword_index - index of the param's keyword in kw[], -1 if absent */
static int
keyword_index(const char *const *kw, size_t n, const struct param *pa)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (ieq(pa->kw, pa->kwlen, kw[i]))
			return (int)i;
	return -1;
}

/* xtext_valid - s..e is RFC 3461 xtext: xchar or "+" and 2 HEXDIG */
static int
xtext_valid(const char *s, const char *e)
{
	while (s < e) {
		if (*s == '+') {
			if (e - s < 3 || !is_upper_hex(s[1]) ||
			    !is_upper_hex(s[2]))
				return 0;
			s += 3;
		} else if (*s >= 33 && *s <= 126 && *s != '=')
			s++;
		else
			return 0;
	}
	return 1;
}

/*
 * parse_size - SIZE=1*20DIGIT (RFC 1870).  Twenty digits can exceed
 * 2^64; such a value is still valid syntax, so it saturates (and is
 * then over any limit) instead of being a syntax error.
 */
static int
parse_size(const struct param *pa, unsigned long long *size)
{
	unsigned long long v = 0;
	size_t	 i;

	if (pa->val == NULL || pa->vallen == 0 || pa->vallen > 20)
		return PARAM_SYNTAX;
	for (i = 0; i < pa->vallen; i++) {
		unsigned d = pa->val[i] - '0';

		if (!is_digit(pa->val[i]))
			return PARAM_SYNTAX;
		v = v > (~0ULL - d) / 10 ? ~0ULL : v * 10 + d;
	}
	*size = v;
	return PARAM_OK;
}

/* the BODY= values (RFC 6152, RFC 3030), by enum body_type */
static const char *const body_names[] = { "", "7BIT", "8BITMIME",
	"BINARYMIME" };

/* addr_body_name - a BODY= value's name ("" for none) */
const char *
addr_body_name(enum body_type b)
{
	return (unsigned)b < sizeof body_names / sizeof body_names[0] ?
	    body_names[b] : "";
}

/*
 * parse_body - BODY=7BIT / 8BITMIME / BINARYMIME (the last only with
 * BDAT: the transaction checks that at DATA)
 */
static int
parse_body(const struct param *pa, enum body_type *body)
{
	unsigned i;

	if (pa->val == NULL)
		return PARAM_SYNTAX;
	for (i = 1; i < sizeof body_names / sizeof body_names[0]; i++)
		if (ieq(pa->val, pa->vallen, body_names[i])) {
			*body = (enum body_type)i;
			return PARAM_OK;
		}
	return PARAM_SYNTAX;
}

/* parse_ret - RET=FULL / HDRS */
static int
parse_ret(const struct param *pa, enum ret_type *ret)
{
	if (pa->val == NULL)
		return PARAM_SYNTAX;
	if (ieq(pa->val, pa->vallen, "FULL"))
		*ret = RET_FULL;
	else if (ieq(pa->val, pa->vallen, "HDRS"))
		*ret = RET_HDRS;
	else
		return PARAM_SYNTAX;
	return PARAM_OK;
}

/* copy_value - store the value as sent into dst of cap max + 1 */
static int
copy_value(const struct param *pa, char *dst, size_t max)
{
	if (pa->val == NULL || pa->vallen > max)
		return PARAM_SYNTAX;
	memcpy(dst, pa->val, pa->vallen);
	dst[pa->vallen] = '\0';
	return PARAM_OK;
}

/* parse_envid - ENVID=xtext, at most ADDR_ENVID_MAX as sent */
static int
parse_envid(const struct param *pa, char *envid)
{
	if (pa->val == NULL || !xtext_valid(pa->val, pa->val + pa->vallen))
		return PARAM_SYNTAX;
	return copy_value(pa, envid, ADDR_ENVID_MAX);
}

/* parse_auth - AUTH=xtext or AUTH=<> (RFC 4954 5), as sent */
static int
parse_auth(const struct param *pa, char *auth)
{
	if (pa->val == NULL || pa->vallen == 0)
		return PARAM_SYNTAX;
	if (!(pa->vallen == 2 && pa->val[0] == '<' && pa->val[1] == '>') &&
	    !xtext_valid(pa->val, pa->val + pa->vallen))
		return PARAM_SYNTAX;
	return copy_value(pa, auth, ADDR_AUTH_MAX);
}

enum {
	MK_SIZE, MK_BODY, MK_SMTPUTF8, MK_RET, MK_ENVID, MK_REQUIRETLS, MK_AUTH
};
static const char *const mail_kw[] = {
	"SIZE", "BODY", "SMTPUTF8", "RET", "ENVID", "REQUIRETLS", "AUTH"
};

/* mail_param - apply one known MAIL parameter */
static int
mail_param(void *out, int k, const struct param *pa)
{
	struct mail_params *mp = out;
	int	 r;

	switch (k) {
	case MK_SIZE:
		if ((r = parse_size(pa, &mp->size)) == PARAM_OK)
			mp->has_size = 1;
		return r;
	case MK_BODY:
		return parse_body(pa, &mp->body);
	case MK_SMTPUTF8:
		if (pa->val != NULL)
			return PARAM_SYNTAX;
		mp->smtputf8 = 1;
		return PARAM_OK;
	case MK_RET:
		return parse_ret(pa, &mp->ret);
	case MK_REQUIRETLS:
		if (pa->val != NULL)
			return PARAM_SYNTAX;
		mp->requiretls = 1;
		return PARAM_OK;
	case MK_AUTH:
		return parse_auth(pa, mp->auth);
	default:
		return parse_envid(pa, mp->envid);
	}
}

/*
 * parse_params - the loop both parameter lists share: each keyword from
 * kw[] at most once (but those in repeat_ok), applied by apply() into
 * out (emptied by clear() first and again on any error)
 */
static int
parse_params(const char *p, const char *end, const char *const *kw,
    size_t nkw, unsigned repeat_ok,
    int (*apply)(void *, int, const struct param *), void *out,
    void (*clear)(void *))
{
	struct param	 pa;
	unsigned	 seen = 0;
	int		 more = 0, r = PARAM_OK, k;

	clear(out);
	while (r == PARAM_OK && (more = next_param(&p, end, &pa)) > 0) {
		if ((k = keyword_index(kw, nkw, &pa)) < 0)
			r = PARAM_UNKNOWN;
		else if (seen & ~repeat_ok & (1U << k))
			r = PARAM_DUPLICATE;
		else {
			seen |= 1U << k;
			r = apply(out, k, &pa);
		}
	}
	if (r == PARAM_OK && more < 0)
		r = PARAM_SYNTAX;
	if (r != PARAM_OK)
		clear(out);
	return r;
}

/* clear_mail - no MAIL parameters */
static void
clear_mail(void *out)
{
	addr_clear_mail_params(out);
}

/*
 * addr_clear_mail_params - no MAIL parameters: each field emptied, not
 * the whole struct (its text fields are long, and this runs per MAIL)
 */
void
addr_clear_mail_params(struct mail_params *mp)
{
	mp->size = 0;
	mp->has_size = 0;
	mp->body = BODY_NONE;
	mp->smtputf8 = 0;
	mp->ret = RET_NONE;
	mp->envid[0] = '\0';
	mp->requiretls = 0;
	mp->auth[0] = '\0';
}

/* clear_rcpt - no RCPT parameters */
static void
clear_rcpt(void *out)
{
	struct rcpt_params *rp = out;

	rp->notify = 0;
	rp->orcpt[0] = '\0';
}

/* addr_parse_mail_params - parse the MAIL FROM parameters after '>' */
int
addr_parse_mail_params(const char *p, const char *end,
    struct mail_params *mp)
{
	/* SMTPUTF8 twice (Python's smtplib does it) is harmless */
	return parse_params(p, end, mail_kw, NITEMS(mail_kw),
	    1U << MK_SMTPUTF8, mail_param, mp, clear_mail);
}

/* notify_bit - the NOTIFY_* bit for one list item, 0 if none */
static unsigned
notify_bit(const char *s, size_t n)
{
	if (ieq(s, n, "NEVER"))
		return NOTIFY_NEVER;
	if (ieq(s, n, "SUCCESS"))
		return NOTIFY_SUCCESS;
	if (ieq(s, n, "FAILURE"))
		return NOTIFY_FAILURE;
	if (ieq(s, n, "DELAY"))
		return NOTIFY_DELAY;
	return 0;
}

/* parse_notify - NOTIFY=NEVER or a list of SUCCESS, FAILURE, DELAY */
static int
parse_notify(const struct param *pa, unsigned *notify)
{
	const char	*p, *q, *e;
	unsigned	 bits = 0, b;

	if (pa->val == NULL)
		return PARAM_SYNTAX;
	e = pa->val + pa->vallen;
	for (p = pa->val; ; p = q + 1) {
		for (q = p; q < e && *q != ','; q++)
			;
		if ((b = notify_bit(p, q - p)) == 0 || (bits & b))
			return PARAM_SYNTAX;
		bits |= b;
		if (q == e)
			break;
	}
	if ((bits & NOTIFY_NEVER) && bits != NOTIFY_NEVER)
		return PARAM_SYNTAX;
	*notify = bits;
	return PARAM_OK;
}

/* skip_embedded - skip an RFC 6533 "\x{HEX}"; a scalar value, not NUL */
static const char *
skip_embedded(const char *p, const char *e)
{
	unsigned long	 v = 0;
	int		 n = 0, h;

	if (e - p < 5 || p[1] != 'x' || p[2] != '{')
		return NULL;
	for (p += 3; p < e && n < 7 && (h = hex_value(*p)) >= 0; p++, n++)
		v = v * 16 + h;
	if (n == 0 || n > 6 || p == e || *p != '}' || v == 0 ||
	    v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return NULL;
	return p + 1;
}

/*
 * utf8_addr_valid - value of an RFC 6533 "utf-8" ORCPT: printable
 * ASCII, well-formed UTF-8 and "\x{HEX}" escapes.
 */
static int
utf8_addr_valid(const char *p, const char *e)
{
	size_t	 n;

	while (p < e) {
		if (*p == '\\') {
			if ((p = skip_embedded(p, e)) == NULL)
				return 0;
		} else if (*p >= 33 && *p <= 126 && *p != '=')
			p++;
		else if ((n = utf8_nonascii(p, e)) != 0)
			p += n;
		else
			return 0;
	}
	return 1;
}

/* parse_orcpt - ORCPT=addr-type ";" address, stored as sent */
static int
parse_orcpt(const struct param *pa, char *orcpt)
{
	const char	*p, *e;
	int		 ok;

	if (pa->val == NULL)
		return PARAM_SYNTAX;
	e = pa->val + pa->vallen;
	for (p = pa->val; p < e && is_atext(*p); p++)
		;
	if (p == pa->val || p == e || *p != ';' || p + 1 == e)
		return PARAM_SYNTAX;
	if (ieq(pa->val, p - pa->val, "utf-8"))
		ok = utf8_addr_valid(p + 1, e);
	else
		ok = xtext_valid(p + 1, e);
	if (!ok)
		return PARAM_SYNTAX;
	return copy_value(pa, orcpt, ADDR_ORCPT_MAX);
}

enum { RK_NOTIFY, RK_ORCPT };
static const char *const rcpt_kw[] = { "NOTIFY", "ORCPT" };

/* rcpt_param - apply one known RCPT parameter */
static int
rcpt_param(void *out, int k, const struct param *pa)
{
	struct rcpt_params *rp = out;

	return k == RK_NOTIFY ? parse_notify(pa, &rp->notify) :
	    parse_orcpt(pa, rp->orcpt);
}

/* addr_parse_rcpt_params - parse the RCPT TO parameters after '>' */
int
addr_parse_rcpt_params(const char *p, const char *end,
    struct rcpt_params *rp)
{
	return parse_params(p, end, rcpt_kw, NITEMS(rcpt_kw), 0, rcpt_param,
	    rp, clear_rcpt);
}
