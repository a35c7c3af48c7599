/*
 * reply_test.c - unit tests for reply.c's table: every row's wire line
 * (precomputed by the compiler, or built when sent) is the code, the
 * enhanced code and the text with "%s" filled in, ends in CRLF and fits
 * 512 octets; a row has a part after its argument exactly when its
 * text has "%s"; a long argument is cut, never the line's end; every
 * enhanced code is "class.subject.detail" (RFC 3463) with its class the
 * code's first digit, and only the greeting, the HELO/EHLO answer and 3xx
 * replies go without one (RFC 2034 3).
 * Prints "reply: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>

#include "reply.h"

static int pass, fail;

/* expect - count one check */
static void
expect(int ok, int id, const char *what, const char *got)
{
	if (ok)
		pass++;
	else {
		fail++;
		printf("FAIL row %d: %s: got [%s]\n", id, what, got);
	}
}

/* expected - the line as the RFCs want it, built the slow way */
static void
expected(const struct reply *r, const char *arg, char *out, size_t cap)
{
	char text[REPLY_BUF];
	const char *pct = strstr(r->text, "%s");

	if (pct != NULL)
		snprintf(text, sizeof text, "%.*s%s%s", (int)(pct - r->text),
		    r->text, arg, pct + 2);
	else
		snprintf(text, sizeof text, "%s", r->text);
	if (r->esc != NULL)
		snprintf(out, cap, "%u %s %s\r\n", r->code, r->esc, text);
	else
		snprintf(out, cap, "%u %s\r\n", r->code, text);
}

/* part - s past a '.' and 1-3 digits, or NULL if s does not start so */
static const char *
part(const char *s)
{
	size_t n = 0;

	if (*s++ != '.')
		return NULL;
	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n >= 1 && n <= 3 ? s + n : NULL;
}

/*
 * check_esc - row id's code is three digits, 200-599, and its enhanced
 * code (RFC 3463 2) is "class.subject.detail": class 2, 4 or 5 and the
 * code's first digit, subject and detail 1-3 digits.  RFC 2034 3: every
 * 2xx, 4xx and 5xx reply has one but the greeting and the HELO/EHLO
 * answer; 3xx (354 after DATA) has no class in RFC 3463, so none.
 */
static void
check_esc(int id, const struct reply *r)
{
	char code[8];
	const char *e = r->esc, *p;
	int bare = id == R_GREETING || id == R_HELO || r->code / 100 == 3;

	snprintf(code, sizeof code, "%u", r->code);
	expect(r->code >= 200 && r->code <= 599 && strlen(code) == 3, id,
	    "code is three digits, 200-599", code);
	expect((e == NULL) == bare, id, bare ?
	    "no enhanced code on the greeting, HELO/EHLO and 3xx" :
	    "an enhanced code on every other 2xx/4xx/5xx", e ? e : "NULL");
	if (e == NULL)
		return;
	expect(e[0] == code[0] && (e[0] == '2' || e[0] == '4' ||
	    e[0] == '5'), id, "enhanced class is the code's first digit", e);
	p = e[0] != '\0' ? part(e + 1) : NULL;	/* the subject */
	if (p != NULL)
		p = part(p);				/* the detail */
	expect(p != NULL && *p == '\0', id,
	    "enhanced code is class.subject.detail", e);
}

/* check_long_argument - a 600-octet argument: 512 octets, CRLF kept */
static void
check_long_argument(void)
{
	char got[REPLY_BUF], arg[601];
	size_t n;

	memset(arg, 'a', sizeof arg - 1);
	arg[sizeof arg - 1] = '\0';
	n = reply_format(got, R_BYE, arg);
	got[n] = '\0';
	expect(n == REPLY_LINE_MAX && memcmp(got, "221 2.0.0 aaa", 13) == 0 &&
	    memcmp(got + n - 22, "a closing connection\r\n", 22) == 0, R_BYE,
	    "long argument cut", got);
}

int
main(void)
{
	char got[REPLY_BUF], want[REPLY_BUF * 2];
	const struct reply *r;
	size_t n;
	int id;

	for (id = 0; id < R__COUNT; id++) {
		r = reply_get((enum reply_id)id);
		expect(r->text != NULL && r->code >= 200 && r->code < 600, id,
		    "has code and text", "");
		if (r->text == NULL)
			continue;
		expect((strstr(r->text, "%s") != NULL) == (r->tail.p != NULL),
		    id, "ARG rows are the ones with %s", r->text);
		n = reply_format(got, (enum reply_id)id, "host.example");
		got[n] = '\0';
		expected(r, "host.example", want, sizeof want);
		expect(strcmp(got, want) == 0, id, want, got);
		expect(n <= REPLY_LINE_MAX && n >= 6 &&
		    memcmp(got + n - 2, "\r\n", 2) == 0, id,
		    "ends in CRLF within 512 octets", got);
		check_esc(id, r);
	}
	check_long_argument();
	printf("reply: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
