/*
 * addr_test.c - table-driven unit tests for addr.c.
 * Checks paths, ESMTP parameters, domains and UTF-8 against RFC 5321,
 * RFC 6531, RFC 1870, RFC 6152, RFC 3461 and RFC 6533.  Prints one line
 * per failure and a summary; exits non-zero if anything failed.
 */
#include <stdio.h>
#include <string.h>

#include "addr.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct counts {
	int	 pass;
	int	 fail;
};

/* a path case: rest is what must follow *pp after success */
struct path_case {
	const char	*in;
	size_t		 len;		/* 0 = strlen(in) */
	int		 flags;
	int		 want;
	const char	*addr;		/* expected mailbox when ADDR_OK */
	const char	*rest;		/* expected rest of input, NULL = "" */
};

#define NUL	ADDR_ALLOW_NULL
#define PM	ADDR_ALLOW_POSTMASTER
#define OK	ADDR_OK
#define SYN	ADDR_SYNTAX
#define LONG	ADDR_TOOLONG
#define NREF	ADDR_NULL_REFUSED

static const struct path_case path_cases[] = {
	/* plain mailboxes */
	{ "<a@b>", 0, 0, OK, "a@b", NULL },
	{ "<user@example.com>", 0, 0, OK, "user@example.com", NULL },
	{ "<User.Name+tag@Example.COM>", 0, 0, OK,
	    "User.Name+tag@Example.COM", NULL },
	{ "<!#$%&'*+-/=?^_`{|}~@x.y>", 0, 0, OK,
	    "!#$%&'*+-/=?^_`{|}~@x.y", NULL },
	{ "<a.b.c@x-y.z9>", 0, 0, OK, "a.b.c@x-y.z9", NULL },
	{ "<a@1.2.3.4>", 0, 0, OK, "a@1.2.3.4", NULL },
	{ "<a@localhost>", 0, 0, OK, "a@localhost", NULL },
	{ "<a@x--y.z>", 0, 0, OK, "a@x--y.z", NULL },
	/* trailing text is left for the caller */
	{ "<a@b.c> SIZE=10", 0, 0, OK, "a@b.c", " SIZE=10" },
	{ "<a@b.c>>", 0, 0, OK, "a@b.c", ">" },
	{ "<a@b.c>junk", 0, 0, OK, "a@b.c", "junk" },
	/* quoted local parts */
	{ "<\"a b\"@x.y>", 0, 0, OK, "\"a b\"@x.y", NULL },
	{ "<\"a>b\"@x.y>", 0, 0, OK, "\"a>b\"@x.y", NULL },
	{ "<\"a@b\"@x.y>", 0, 0, OK, "\"a@b\"@x.y", NULL },
	{ "<\"a\\\"b\"@x.y>", 0, 0, OK, "\"a\\\"b\"@x.y", NULL },
	{ "<\"a\\\\b\"@x.y>", 0, 0, OK, "\"a\\\\b\"@x.y", NULL },
	{ "<\"\\ \"@x.y>", 0, 0, OK, "\"\\ \"@x.y", NULL },
	{ "<\"\"@x.y>", 0, 0, OK, "\"\"@x.y", NULL },
	{ "<\"a.b\"@x.y>", 0, 0, OK, "\"a.b\"@x.y", NULL },
	{ "<\"a\"b@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<a\"b\"@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"ab@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"a\tb\"@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"a\\\tb\"@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"a\\\x7f\"@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"a\\", 0, 0, SYN, NULL, NULL },
	{ "<\"a\\\"@x.y>", 0, 0, SYN, NULL, NULL },
	/* source routes are dropped */
	{ "<@a:u@c>", 0, 0, OK, "u@c", NULL },
	{ "<@a,@b:u@c>", 0, 0, OK, "u@c", NULL },
	{ "<@a.example,@b.example:\"q q\"@c.example>", 0, 0, OK,
	    "\"q q\"@c.example", NULL },
	{ "<@a:u@[1.2.3.4]>", 0, 0, OK, "u@[1.2.3.4]", NULL },
	{ "<@a,u@c>", 0, 0, SYN, NULL, NULL },
	{ "<@a:@b:u@c>", 0, 0, SYN, NULL, NULL },
	{ "<@a,:u@c>", 0, 0, SYN, NULL, NULL },
	{ "<@:u@c>", 0, 0, SYN, NULL, NULL },
	{ "<@[1.2.3.4]:u@c>", 0, 0, SYN, NULL, NULL },
	{ "<@a:>", 0, 0, SYN, NULL, NULL },
	{ "<@a:postmaster>", 0, PM, SYN, NULL, NULL },
	/* address literals */
	{ "<a@[1.2.3.4]>", 0, 0, OK, "a@[1.2.3.4]", NULL },
	{ "<a@[255.255.255.255]>", 0, 0, OK, "a@[255.255.255.255]", NULL },
	{ "<a@[0.0.0.0]>", 0, 0, OK, "a@[0.0.0.0]", NULL },
	{ "<a@[1.2.3.256]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1.2.3]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1.2.3.4.5]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1.2.3.0004]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1..2.3]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1.2.3.4>", 0, 0, SYN, NULL, NULL },
	{ "<a@[1.2.3.4]x>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:::1]>", 0, 0, OK, "a@[IPv6:::1]", NULL },
	{ "<a@[ipv6:::1]>", 0, 0, OK, "a@[ipv6:::1]", NULL },
	{ "<a@[IPv6:::]>", 0, 0, OK, "a@[IPv6:::]", NULL },
	{ "<a@[IPv6:2001:db8::1]>", 0, 0, OK, "a@[IPv6:2001:db8::1]", NULL },
	{ "<a@[IPv6:1:2:3:4:5:6:7:8]>", 0, 0, OK,
	    "a@[IPv6:1:2:3:4:5:6:7:8]", NULL },
	{ "<a@[IPv6:::ffff:1.2.3.4]>", 0, 0, OK,
	    "a@[IPv6:::ffff:1.2.3.4]", NULL },
	{ "<a@[IPv6:1:2:3:4:5:6:1.2.3.4]>", 0, 0, OK,
	    "a@[IPv6:1:2:3:4:5:6:1.2.3.4]", NULL },
	{ "<a@[IPv6:FE80::ABCD]>", 0, 0, OK, "a@[IPv6:FE80::ABCD]", NULL },
	{ "<a@[IPv6:1:2:3:4:5:6:7]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:1:2:3:4:5:6:7::]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:1::2::3]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6::::1]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:12345::1]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:g::1]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:::1.2.3.256]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:1.2.3.4]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:1:]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[IPv6:]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[x-tag:any>thing]>", 0, 0, OK, "a@[x-tag:any>thing]", NULL },
	{ "<a@[tag:]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[-tag-:v]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[tag:a b]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[tag:a\\b]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[tag:a[b]>", 0, 0, SYN, NULL, NULL },
	{ "<a@[ta_g:v]>", 0, 0, SYN, NULL, NULL },
	/* UTF-8 (RFC 6531) */
	{ "<j\xc3\xb6rg@example.com>", 0, 0, OK, "j\xc3\xb6rg@example.com",
	    NULL },
	{ "<u@b\xc3\xbc\x63her.example>", 0, 0, OK,
	    "u@b\xc3\xbc\x63her.example", NULL },
	{ "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\x85\xac"
	    "\xe5\x8f\xb8>", 0, 0, OK, "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b"
	    "\xe5\xad\x90.\xe5\x85\xac\xe5\x8f\xb8", NULL },
	{ "<\"\xc3\xa9 x\"@x.y>", 0, 0, OK, "\"\xc3\xa9 x\"@x.y", NULL },
	{ "<\xf0\x9f\x98\x80@x.y>", 0, 0, OK, "\xf0\x9f\x98\x80@x.y", NULL },
	{ "<\xc0\xaf@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\xe0\x80\xaf@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\xed\xa0\x80@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\xf4\x90\x80\x80@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\xc3@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\x80@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<\xff@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<a@x\xc3.y>", 0, 0, SYN, NULL, NULL },
	{ "<\"\\\xc3\xa9\"@x.y>", 0, 0, SYN, NULL, NULL },
	{ "<a@[\xc3\xa9:x]>", 0, 0, SYN, NULL, NULL },
	/* null path and postmaster */
	{ "<>", 0, NUL, OK, "", NULL },
	{ "<> BODY=8BITMIME", 0, NUL, OK, "", " BODY=8BITMIME" },
	{ "<>", 0, 0, NREF, NULL, NULL },
	{ "<>", 0, PM, NREF, NULL, NULL },
	{ "<postmaster>", 0, PM, OK, "postmaster", NULL },
	{ "<PostMaster>", 0, PM, OK, "PostMaster", NULL },
	{ "<POSTMASTER> x", 0, PM, OK, "POSTMASTER", " x" },
	{ "<postmaster>", 0, NUL, SYN, NULL, NULL },
	{ "<\"postmaster\">", 0, PM, SYN, NULL, NULL },
	{ "<postmistress>", 0, PM, SYN, NULL, NULL },
	{ "<postmaster@x.y>", 0, 0, OK, "postmaster@x.y", NULL },
	{ "<user>", 0, PM, SYN, NULL, NULL },
	/* plain syntax errors */
	{ "", 0, NUL | PM, SYN, NULL, NULL },
	{ "<", 0, NUL, SYN, NULL, NULL },
	{ "a@b", 0, 0, SYN, NULL, NULL },
	{ " <a@b>", 0, 0, SYN, NULL, NULL },
	{ "<a@b", 0, 0, SYN, NULL, NULL },
	{ "<a@b.c", 0, 0, SYN, NULL, NULL },
	{ "<a@b >", 0, 0, SYN, NULL, NULL },
	{ "< a@b>", 0, 0, SYN, NULL, NULL },
	{ "<a @b>", 0, 0, SYN, NULL, NULL },
	{ "<a@b.>", 0, 0, SYN, NULL, NULL },
	{ "<a@.b>", 0, 0, SYN, NULL, NULL },
	{ "<a@b..c>", 0, 0, SYN, NULL, NULL },
	{ "<a@@b>", 0, 0, SYN, NULL, NULL },
	{ "<@b>", 0, 0, SYN, NULL, NULL },
	{ "<a@>", 0, 0, SYN, NULL, NULL },
	{ "<a.@b>", 0, 0, SYN, NULL, NULL },
	{ "<.a@b>", 0, 0, SYN, NULL, NULL },
	{ "<a..b@c>", 0, 0, SYN, NULL, NULL },
	{ "<a(b)@c>", 0, 0, SYN, NULL, NULL },
	{ "<a,b@c>", 0, 0, SYN, NULL, NULL },
	{ "<a@-b.c>", 0, 0, SYN, NULL, NULL },
	{ "<a@b-.c>", 0, 0, SYN, NULL, NULL },
	{ "<a@b.-c>", 0, 0, SYN, NULL, NULL },
	{ "<a@b_c.d>", 0, 0, SYN, NULL, NULL },
	{ "<a@b\r>", 0, 0, SYN, NULL, NULL },
	{ "<a\x01@b>", 0, 0, SYN, NULL, NULL },
	{ "<<a@b>>", 0, 0, SYN, NULL, NULL },
	{ "<a@b@c>", 0, 0, SYN, NULL, NULL },
	{ "<a\0b@c.d>", 9, 0, SYN, NULL, NULL },
	{ "<a@c\0.d>", 8, 0, SYN, NULL, NULL },
	{ "<\"a\0b\"@c.d>", 11, 0, SYN, NULL, NULL },
	{ "<a@c.d>", 6, 0, SYN, NULL, NULL },	/* '>' outside the range */
};

/* a parsed-domain case */
struct dom_case {
	const char	*in;
	int		 want;
};

static const struct dom_case dom_cases[] = {
	{ "example.com", 1 },
	{ "a", 1 },
	{ "xn--bcher-kva.example", 1 },
	{ "b\xc3\xbc\x63her.example", 1 },
	{ "[1.2.3.4]", 1 },
	{ "[IPv6:::1]", 1 },
	{ "[tag:v]", 1 },
	{ "", 0 },
	{ ".", 0 },
	{ "a.", 0 },
	{ "a..b", 0 },
	{ "-a", 0 },
	{ "a-", 0 },
	{ "a b", 0 },
	{ "[1.2.3.4", 0 },
	{ "1.2.3.4]", 0 },
	{ "[1.2.3.4]]", 0 },
	{ "a\xc3", 0 },
	{ "a@b", 0 },
};

/* a UTF-8 case; len 0 means strlen */
struct utf8_case {
	const char	*in;
	size_t		 len;
	int		 want;
};

static const struct utf8_case utf8_cases[] = {
	{ "plain ascii", 0, 1 },
	{ "", 0, 1 },
	{ "\0", 1, 1 },
	{ "\xc2\x80", 0, 1 },
	{ "\xdf\xbf", 0, 1 },
	{ "\xe0\xa0\x80", 0, 1 },
	{ "\xed\x9f\xbf", 0, 1 },
	{ "\xee\x80\x80", 0, 1 },
	{ "\xf0\x90\x80\x80", 0, 1 },
	{ "\xf4\x8f\xbf\xbf", 0, 1 },
	{ "\xc1\xbf", 0, 0 },
	{ "\xe0\x9f\xbf", 0, 0 },
	{ "\xed\xa0\x80", 0, 0 },
	{ "\xed\xbf\xbf", 0, 0 },
	{ "\xf0\x8f\xbf\xbf", 0, 0 },
	{ "\xf4\x90\x80\x80", 0, 0 },
	{ "\xf5\x80\x80\x80", 0, 0 },
	{ "\xe2\x82", 0, 0 },
	{ "\xf0\x9f\x98", 0, 0 },
	{ "\xc3\x28", 0, 0 },
	{ "\xe2\x28\xa1", 0, 0 },
	{ "a\x80", 0, 0 },
	{ "\xfe", 0, 0 },
};

/* a MAIL parameters case */
struct mail_case {
	const char	*in;
	int		 want;
	int		 has_size;
	unsigned long long size;
	enum body_type	 body;
	int		 smtputf8;
	enum ret_type	 ret;
	const char	*envid;
};

#define PSYN	PARAM_SYNTAX
#define PUNK	PARAM_UNKNOWN
#define PDUP	PARAM_DUPLICATE

static const struct mail_case mail_cases[] = {
	{ "", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE, "" },
	{ "   ", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE, "" },
	{ " SIZE=12345", PARAM_OK, 1, 12345, BODY_NONE, 0, RET_NONE, "" },
	{ " size=0", PARAM_OK, 1, 0, BODY_NONE, 0, RET_NONE, "" },
	{ " SIZE=18446744073709551615", PARAM_OK, 1, 18446744073709551615ULL,
	    BODY_NONE, 0, RET_NONE, "" },
	/* 20 digits is valid syntax (RFC 1870); too big saturates */
	{ " SIZE=18446744073709551616", PARAM_OK, 1, 18446744073709551615ULL,
	    BODY_NONE, 0, RET_NONE, "" },
	{ " SIZE=99999999999999999999", PARAM_OK, 1, 18446744073709551615ULL,
	    BODY_NONE, 0, RET_NONE, "" },
	{ " SIZE=000000000000000000001", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=00000000000000000001", PARAM_OK, 1, 1, BODY_NONE, 0,
	    RET_NONE, "" },
	{ " SIZE", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=-1", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1k", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZEX=1", PUNK, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1 SIZE=2", PDUP, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1 size=2", PDUP, 0, 0, 0, 0, 0, "" },
	{ " BODY=7BIT", PARAM_OK, 0, 0, BODY_7BIT, 0, RET_NONE, "" },
	{ " body=8bitmime", PARAM_OK, 0, 0, BODY_8BITMIME, 0, RET_NONE, "" },
	{ " BODY=BINARYMIME", PARAM_OK, 0, 0, BODY_BINARYMIME, 0, RET_NONE,
	    "" },
	{ " body=binarymime", PARAM_OK, 0, 0, BODY_BINARYMIME, 0, RET_NONE,
	    "" },
	{ " BODY=BINARY", PSYN, 0, 0, 0, 0, 0, "" },
	{ " BODY=8BIT", PSYN, 0, 0, 0, 0, 0, "" },
	{ " BODY", PSYN, 0, 0, 0, 0, 0, "" },
	{ " BODY=7BIT BODY=7BIT", PDUP, 0, 0, 0, 0, 0, "" },
	{ " SMTPUTF8", PARAM_OK, 0, 0, BODY_NONE, 1, RET_NONE, "" },
	{ " smtputf8 ", PARAM_OK, 0, 0, BODY_NONE, 1, RET_NONE, "" },
	{ " SMTPUTF8=yes", PSYN, 0, 0, 0, 0, 0, "" },
	/* smtplib sends SMTPUTF8 twice; a valueless repeat is harmless */
	{ " SMTPUTF8 SMTPUTF8", PARAM_OK, 0, 0, BODY_NONE, 1, RET_NONE, "" },
	{ " BODY=7BIT BODY=7BIT", PDUP, 0, 0, 0, 0, 0, "" },
	{ " RET=FULL", PARAM_OK, 0, 0, BODY_NONE, 0, RET_FULL, "" },
	{ " ret=hdrs", PARAM_OK, 0, 0, BODY_NONE, 0, RET_HDRS, "" },
	{ " RET=ALL", PSYN, 0, 0, 0, 0, 0, "" },
	{ " RET", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID=QQ314159", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE,
	    "QQ314159" },
	{ " ENVID=a+2Bb+3D", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE,
	    "a+2Bb+3D" },
	{ " ENVID=a+2b", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID=a+2", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID=a+", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID=\xc3\xa9", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID", PSYN, 0, 0, 0, 0, 0, "" },
	{ " ENVID=a ENVID=b", PDUP, 0, 0, 0, 0, 0, "" },
	{ "  SIZE=10  BODY=8BITMIME   SMTPUTF8 RET=HDRS ENVID=x1  ",
	    PARAM_OK, 1, 10, BODY_8BITMIME, 1, RET_HDRS, "x1" },
	{ "SIZE=1", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1\t", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE==1", PSYN, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1=2", PSYN, 0, 0, 0, 0, 0, "" },
	{ " =1", PSYN, 0, 0, 0, 0, 0, "" },
	{ " -X=1", PSYN, 0, 0, 0, 0, 0, "" },
	{ " AUTH=<>", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE, "" },
	{ " AUTH=alice+40example.org", PARAM_OK, 0, 0, BODY_NONE, 0,
	    RET_NONE, "" },
	{ " AUTH=", PSYN, 0, 0, 0, 0, 0, "" },
	{ " AUTH", PSYN, 0, 0, 0, 0, 0, "" },
	{ " AUTH=a+2", PSYN, 0, 0, 0, 0, 0, "" },
	{ " AUTH=<> AUTH=<>", PDUP, 0, 0, 0, 0, 0, "" },
	{ " REQUIRETLS", PARAM_OK, 0, 0, BODY_NONE, 0, RET_NONE, "" },
	{ " REQUIRETLS=yes", PSYN, 0, 0, 0, 0, 0, "" },
	{ " BY=120;R", PUNK, 0, 0, 0, 0, 0, "" },
	{ " MT-PRIORITY=3", PUNK, 0, 0, 0, 0, 0, "" },
	{ " FOO", PUNK, 0, 0, 0, 0, 0, "" },
	{ " NOTIFY=NEVER", PUNK, 0, 0, 0, 0, 0, "" },
	{ " ORCPT=rfc822;a@b", PUNK, 0, 0, 0, 0, 0, "" },
	{ " SIZE=1 FOO=\xc3", PSYN, 0, 0, 0, 0, 0, "" },
	{ " X=\x7f", PSYN, 0, 0, 0, 0, 0, "" },
};

/* a RCPT parameters case */
struct rcpt_case {
	const char	*in;
	int		 want;
	unsigned	 notify;
	const char	*orcpt;
};

#define N_S	NOTIFY_SUCCESS
#define N_F	NOTIFY_FAILURE
#define N_D	NOTIFY_DELAY

static const struct rcpt_case rcpt_cases[] = {
	{ "", PARAM_OK, 0, "" },
	{ " NOTIFY=NEVER", PARAM_OK, NOTIFY_NEVER, "" },
	{ " notify=never", PARAM_OK, NOTIFY_NEVER, "" },
	{ " NOTIFY=SUCCESS", PARAM_OK, N_S, "" },
	{ " NOTIFY=SUCCESS,FAILURE,DELAY", PARAM_OK, N_S | N_F | N_D, "" },
	{ " NOTIFY=delay,Failure", PARAM_OK, N_F | N_D, "" },
	{ " NOTIFY=NEVER,SUCCESS", PSYN, 0, "" },
	{ " NOTIFY=SUCCESS,NEVER", PSYN, 0, "" },
	{ " NOTIFY=SUCCESS,SUCCESS", PSYN, 0, "" },
	{ " NOTIFY=SUCCESS,", PSYN, 0, "" },
	{ " NOTIFY=,SUCCESS", PSYN, 0, "" },
	{ " NOTIFY=SUCCESS,,DELAY", PSYN, 0, "" },
	{ " NOTIFY=ALWAYS", PSYN, 0, "" },
	{ " NOTIFY", PSYN, 0, "" },
	{ " NOTIFY=NEVER NOTIFY=NEVER", PDUP, 0, "" },
	{ " ORCPT=rfc822;a@b.c", PARAM_OK, 0, "rfc822;a@b.c" },
	{ " ORCPT=RFC822;a+2Bb@b.c", PARAM_OK, 0, "RFC822;a+2Bb@b.c" },
	{ " ORCPT=rfc822;a+b@c", PSYN, 0, "" },
	{ " ORCPT=rfc822;", PSYN, 0, "" },
	{ " ORCPT=rfc822", PSYN, 0, "" },
	{ " ORCPT=;a@b", PSYN, 0, "" },
	{ " ORCPT=rfc822;\xc3\xa9@b", PSYN, 0, "" },
	{ " ORCPT=utf-8;\xc3\xa9@b", PARAM_OK, 0, "utf-8;\xc3\xa9@b" },
	{ " ORCPT=UTF-8;a\\x{E9}@b", PARAM_OK, 0, "UTF-8;a\\x{E9}@b" },
	{ " ORCPT=utf-8;a\\x{D800}@b", PSYN, 0, "" },
	{ " ORCPT=utf-8;a\\x{110000}@b", PSYN, 0, "" },
	{ " ORCPT=utf-8;a\\x{}@b", PSYN, 0, "" },
	{ " ORCPT=utf-8;a\\x{E9@b", PSYN, 0, "" },
	{ " ORCPT=utf-8;a\\b", PSYN, 0, "" },
	{ " ORCPT=utf-8;\xc3", PSYN, 0, "" },
	{ " ORCPT", PSYN, 0, "" },
	{ " ORCPT=rfc822;a@b ORCPT=rfc822;a@b", PDUP, 0, "" },
	{ " NOTIFY=FAILURE ORCPT=rfc822;x@y ", PARAM_OK, N_F, "rfc822;x@y" },
	{ " orcpt=rfc822;x@y notify=DELAY", PARAM_OK, N_D, "rfc822;x@y" },
	{ " NOTIFYX=NEVER", PUNK, 0, "" },
	{ " SIZE=10", PUNK, 0, "" },
	{ " BODY=8BITMIME", PUNK, 0, "" },
	{ " SMTPUTF8", PUNK, 0, "" },
	{ " RET=FULL", PUNK, 0, "" },
	{ " ENVID=x", PUNK, 0, "" },
	{ "NOTIFY=NEVER", PSYN, 0, "" },
	{ " NOTIFY=NEVER,", PSYN, 0, "" },
};

/* fail - count and report one failure */
static void
fail(struct counts *c, const char *what, const char *in, const char *why)
{
	c->fail++;
	printf("FAIL %s [", what);
	for (; *in != '\0'; in++)
		if ((unsigned char)*in < 32 || (unsigned char)*in > 126)
			printf("\\x%02x", (unsigned char)*in);
		else
			putchar(*in);
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
		fail(c, what, in, why);
}

/* has_8bit - 1 if any octet >= 0x80 in s..s+n */
static int
has_8bit(const char *s, size_t n)
{
	while (n-- > 0)
		if ((unsigned char)s[n] >= 0x80)
			return 1;
	return 0;
}

/* path_fields_ok - the fields of a successful parse match the case */
static const char *
path_fields_ok(const struct path_case *t, const struct path *pa,
    const char *used, size_t len)
{
	const char	*at = strrchr(t->addr, '@');
	const char	*rest = t->rest ? t->rest : "";
	size_t		 doff = at ? (size_t)(at + 1 - t->addr) : 0;

	if (strcmp(pa->addr, t->addr) != 0 || pa->len != strlen(t->addr))
		return "wrong addr or len";
	if (pa->domain_off != doff)
		return "wrong domain_off";
	if (pa->utf8 != has_8bit(t->addr, strlen(t->addr)))
		return "wrong utf8 flag";
	if ((size_t)(t->in + len - used) != strlen(rest) ||
	    memcmp(used, rest, strlen(rest)) != 0)
		return "pointer not just past '>'";
	return NULL;
}

/* run_path_case - parse one path case and compare */
static void
run_path_case(struct counts *c, const struct path_case *t)
{
	size_t		 len = t->len ? t->len : strlen(t->in);
	const char	*p = t->in, *why = NULL;
	struct path	 pa;
	int		 r;

	r = addr_parse_path(&p, t->in + len, t->flags, &pa);
	if (r != t->want)
		why = "wrong status";
	else if (r == ADDR_OK)
		why = path_fields_ok(t, &pa, p, len);
	else if (p != t->in)
		why = "pointer moved on failure";
	check(c, why == NULL, "path", t->in, why ? why : "");
}

/* fill_domain - write a valid n-octet domain of 60-octet labels */
static void
fill_domain(char *d, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		d[i] = (i % 61 == 60) ? '.' : 'a' + i % 26;
}

/* run_long_path - build <local@domain> with given sizes and parse it */
static void
run_long_path(struct counts *c, size_t route, size_t local, size_t dom,
    int want)
{
	char		 buf[1024];
	const char	*p = buf;
	struct path	 pa;
	size_t		 n = 0;
	int		 r;

	if (route + local + dom + 5 > sizeof(buf)) {
		fail(c, "long path", "", "test buffer too small");
		return;
	}
	buf[n++] = '<';
	if (route > 0) {
		buf[n++] = '@';
		fill_domain(buf + n, route);
		n += route;
		buf[n++] = ':';
	}
	memset(buf + n, 'l', local);
	n += local;
	buf[n++] = '@';
	fill_domain(buf + n, dom);
	n += dom;
	buf[n++] = '>';
	buf[n] = '\0';
	r = addr_parse_path(&p, buf + n, 0, &pa);
	check(c, r == want && (r != ADDR_OK || (p == buf + n &&
	    pa.len == local + 1 + dom && pa.domain_off == local + 1 &&
	    strlen(pa.addr) == pa.len)), "long path", buf, "wrong result");
}

/* run_label_len - a mailbox whose first domain label has n octets */
static void
run_label_len(struct counts *c, size_t n, int want)
{
	char		 buf[128];
	const char	*p = buf;
	struct path	 pa;
	size_t		 len;

	memcpy(buf, "<a@", 3);
	memset(buf + 3, 'x', n);
	memcpy(buf + 3 + n, ".com>", 6);
	len = strlen(buf);
	check(c, addr_parse_path(&p, buf + len, 0, &pa) == want,
	    "label length", buf, "wrong status");
	check(c, addr_valid_domain(buf + 3, n + 4) == (want == ADDR_OK),
	    "label length (valid_domain)", buf, "wrong answer");
}

/* run_long_domain - addr_valid_domain on an n-octet domain */
static void
run_long_domain(struct counts *c, size_t n, int want)
{
	char	 buf[1024];

	if (n >= sizeof(buf)) {
		fail(c, "long domain", "", "test buffer too small");
		return;
	}
	fill_domain(buf, n);
	buf[n] = '\0';
	check(c, addr_valid_domain(buf, n) == want, "long domain", buf,
	    "wrong answer");
}

/* run_sizes - the length caps of RFC 5321 4.5.3.1 */
static void
run_sizes(struct counts *c)
{
	run_long_path(c, 0, 64, 3, ADDR_OK);
	run_long_path(c, 0, 65, 3, ADDR_TOOLONG);
	run_long_path(c, 0, 64, 189, ADDR_OK);		/* path 256 */
	run_long_path(c, 0, 64, 190, ADDR_TOOLONG);	/* path 257 */
	run_long_path(c, 0, 1, 252, ADDR_OK);		/* path 256 */
	run_long_path(c, 0, 1, 255, ADDR_TOOLONG);	/* path 259 */
	run_long_path(c, 0, 1, 256, ADDR_TOOLONG);
	run_long_path(c, 0, 1, 600, ADDR_TOOLONG);
	run_long_path(c, 0, 300, 3, ADDR_TOOLONG);
	run_long_path(c, 10, 10, 231, ADDR_OK);		/* path 256 */
	run_long_path(c, 10, 10, 232, ADDR_TOOLONG);	/* path 257 */
	run_label_len(c, 63, ADDR_OK);
	run_label_len(c, 64, ADDR_SYNTAX);
	run_long_domain(c, 255, 1);
	run_long_domain(c, 256, 0);
	run_long_domain(c, 1000, 0);
}

/* run_postmaster - addr_is_postmaster on parsed paths */
static void
run_postmaster(struct counts *c)
{
	static const struct {
		const char	*in;
		int		 want;
	} t[] = {
		{ "<postmaster>", 1 },
		{ "<PostMaster>", 1 },
		{ "<postmaster@example.com>", 1 },
		{ "<POSTMASTER@[1.2.3.4]>", 1 },
		{ "<\"postmaster\"@x.y>", 1 },
		{ "<\"Post\\master\"@x.y>", 1 },
		{ "<\"postmaster \"@x.y>", 0 },
		{ "<\"post\"@x.y>", 0 },
		{ "<\"\"@x.y>", 0 },
		{ "<postmaster1@x.y>", 0 },
		{ "<post@master>", 0 },
		{ "<\"postmaster@x\"@y.z>", 0 },
		{ "<>", 0 },
	};
	struct path	 pa;
	const char	*p;
	size_t		 i;

	for (i = 0; i < NITEMS(t); i++) {
		p = t[i].in;
		if (addr_parse_path(&p, p + strlen(p), NUL | PM, &pa) !=
		    ADDR_OK)
			fail(c, "postmaster", t[i].in, "did not parse");
		else
			check(c, addr_is_postmaster(&pa) == t[i].want,
			    "postmaster", t[i].in, "wrong answer");
	}
}

/*
 * run_octets - every octet alone in a local part, a domain label and a
 * parameter keyword, against the grammar's classes written out here:
 * atext (RFC 5322 3.2.3), Let-dig / Ldh-str (RFC 5321 4.1.2), esmtp-keyword
 */
static void
run_octets(struct counts *c)
{
	static const char sym[] = "!#$%&'*+-/=?^_`{|}~";
	char in[64], what[48];
	struct path pa;
	struct mail_params mp;
	const char *p;
	int o, alnum, atext, ldh, got;

	for (o = 1; o < 0x80; o++) {
		alnum = (o >= '0' && o <= '9') || (o >= 'a' && o <= 'z') ||
		    (o >= 'A' && o <= 'Z');
		atext = alnum || strchr(sym, o) != NULL;
		ldh = alnum || o == '-';
		snprintf(what, sizeof what, "octet 0x%02x", o);
		snprintf(in, sizeof in, "<a%cb@example.com>", o);
		p = in;
		got = addr_parse_path(&p, in + strlen(in), 0, &pa) == ADDR_OK &&
		    p == in + strlen(in);
		check(c, got == (atext || o == '.'), what, in, "local part");
		snprintf(in, sizeof in, "<a@x%cy.example>", o);
		p = in;
		got = addr_parse_path(&p, in + strlen(in), 0, &pa) == ADDR_OK &&
		    p == in + strlen(in);
		check(c, got == (ldh || o == '.'), what, in, "domain label");
		snprintf(in, sizeof in, " X%cY=1", o);
		got = addr_parse_mail_params(in, in + strlen(in), &mp) !=
		    PARAM_SYNTAX;
		check(c, got == (ldh || o == ' '), what, in, "keyword");
	}
}

/* run_mail_case - parse one MAIL parameter case and compare */
static void
run_mail_case(struct counts *c, const struct mail_case *t)
{
	struct mail_params	 mp;
	int			 r;

	memset(&mp, 0x5a, sizeof(mp));
	r = addr_parse_mail_params(t->in, t->in + strlen(t->in), &mp);
	if (r != t->want)
		fail(c, "mail params", t->in, "wrong status");
	else
		check(c, mp.has_size == t->has_size && mp.size == t->size &&
		    mp.body == t->body && mp.smtputf8 == t->smtputf8 &&
		    mp.ret == t->ret && strcmp(mp.envid, t->envid) == 0,
		    "mail params", t->in, "wrong fields");
}

/* run_rcpt_case - parse one RCPT parameter case and compare */
static void
run_rcpt_case(struct counts *c, const struct rcpt_case *t)
{
	struct rcpt_params	 rp;
	int			 r;

	memset(&rp, 0x5a, sizeof(rp));
	r = addr_parse_rcpt_params(t->in, t->in + strlen(t->in), &rp);
	if (r != t->want)
		fail(c, "rcpt params", t->in, "wrong status");
	else
		check(c, rp.notify == t->notify &&
		    strcmp(rp.orcpt, t->orcpt) == 0, "rcpt params", t->in,
		    "wrong fields");
}

/* run_long_params - ENVID and ORCPT length caps, NUL in parameters */
static void
run_long_params(struct counts *c)
{
	char			 buf[600];
	struct mail_params	 mp;
	struct rcpt_params	 rp;
	size_t			 n;

	memcpy(buf, " ENVID=", 7);
	memset(buf + 7, 'e', 101);
	check(c, addr_parse_mail_params(buf, buf + 7 + 100, &mp) ==
	    PARAM_OK && strlen(mp.envid) == 100, "envid 100", "", "");
	check(c, addr_parse_mail_params(buf, buf + 7 + 101, &mp) ==
	    PARAM_SYNTAX, "envid 101", "", "");
	memcpy(buf, " ORCPT=rfc822;", 14);
	memset(buf + 14, 'o', sizeof(buf) - 14);
	n = 7 + ADDR_ORCPT_MAX;
	check(c, addr_parse_rcpt_params(buf, buf + n, &rp) == PARAM_OK &&
	    strlen(rp.orcpt) == ADDR_ORCPT_MAX, "orcpt 500", "", "");
	check(c, addr_parse_rcpt_params(buf, buf + n + 1, &rp) ==
	    PARAM_SYNTAX, "orcpt 501", "", "");
	check(c, addr_parse_mail_params(" SIZE=1\0", &" SIZE=1\0"[8], &mp) ==
	    PARAM_SYNTAX, "mail NUL", "", "");
	check(c, addr_parse_rcpt_params(" NOTIFY=NEVER\0X", &" NOTIFY=NEVER"
	    "\0X"[15], &rp) == PARAM_SYNTAX, "rcpt NUL", "", "");
}

/* run_tables - the domain, UTF-8 and parameter tables */
static void
run_tables(struct counts *c)
{
	size_t	 i, n;

	for (i = 0; i < NITEMS(dom_cases); i++)
		check(c, addr_valid_domain(dom_cases[i].in,
		    strlen(dom_cases[i].in)) == dom_cases[i].want,
		    "valid_domain", dom_cases[i].in, "wrong answer");
	for (i = 0; i < NITEMS(utf8_cases); i++) {
		n = utf8_cases[i].len ? utf8_cases[i].len :
		    strlen(utf8_cases[i].in);
		check(c, addr_valid_utf8(utf8_cases[i].in, n) ==
		    utf8_cases[i].want, "valid_utf8", utf8_cases[i].in,
		    "wrong answer");
	}
	for (i = 0; i < NITEMS(mail_cases); i++)
		run_mail_case(c, &mail_cases[i]);
	for (i = 0; i < NITEMS(rcpt_cases); i++)
		run_rcpt_case(c, &rcpt_cases[i]);
}

/* main - run every table and print the summary */
int
main(void)
{
	struct counts	 c = { 0, 0 };
	size_t		 i;

	for (i = 0; i < NITEMS(path_cases); i++)
		run_path_case(&c, &path_cases[i]);
	run_sizes(&c);
	run_postmaster(&c);
	run_octets(&c);
	run_tables(&c);
	run_long_params(&c);
	printf("addr: %d passed, %d failed\n", c.pass, c.fail);
	return c.fail > 0;
}
