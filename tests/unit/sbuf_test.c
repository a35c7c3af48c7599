/*
 * sbuf_test.c - unit tests for sbuf.c: bounds, escaping, and the RFC
 * 5322 date against the C library's gmtime_r()+strftime() over a wide
 * range of times.  Prints "sbuf: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../sbuf.h"

static int pass, fail;

/* expect - count one check */
static void
expect(int ok, const char *what, const char *got)
{
	if (ok)
		pass++;
	else {
		fail++;
		printf("FAIL %s: got [%s]\n", what, got);
	}
}

/* check_date - our date for t equals strftime's */
static void
check_date(long long t)
{
	char a[64], b[64];
	struct sbuf sb;
	struct tm tm;
	time_t tt = (time_t)t;

	sb_init(&sb, a, sizeof a);
	sb_date(&sb, tt);
	gmtime_r(&tt, &tm);
	strftime(b, sizeof b, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	expect(strcmp(a, b) == 0, b, a);
}

int
main(void)
{
	static const long long fixed[] = { 0, 59, 86399, 86400, 951782400,
	    951868800, 1709164800, 1795900000, 4102444800LL, -1, -86401,
	    253402300799LL };
	char small[8];
	struct sbuf sb;
	long long t;
	size_t i;

	for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		check_date(fixed[i]);
	for (t = -2000000000LL; t < 8000000000LL; t += 86399 * 37)
		check_date(t);
	sb_init(&sb, small, sizeof small);
	sb_str(&sb, "0123456789");
	expect(sb.overflow && sb.len == 7 && strcmp(small, "0123456") == 0,
	    "overflow is cut and flagged", small);
	sb_init(&sb, small, sizeof small);
	sb_escaped(&sb, "a\r\n\"", 4);
	expect(sb.overflow && strncmp(small, "a\\x0d", 5) == 0,
	    "escaping", small);
	sb_init(&sb, small, sizeof small);
	sb_num_padded(&sb, 42, 5);
	expect(strcmp(small, "00042") == 0, "padding", small);
	printf("sbuf: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
