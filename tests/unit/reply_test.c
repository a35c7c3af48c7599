/*
 * reply_test.c - unit tests for reply.c's table: every row's wire line
 * (precomputed by the compiler, or built when sent) is the code, the
 * enhanced code and the text with "%s" filled in, ends in CRLF and fits
 * 512 octets; a row has a part after its argument exactly when its
 * text has "%s"; a long argument is cut, never the line's end.
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
		expect((r->esc == NULL) == (r->code == 220 || r->code == 354 ||
		    id == R_HELO), id, "enhanced code unless greeting/HELO/354",
		    got);
	}
	check_long_argument();
	printf("reply: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
