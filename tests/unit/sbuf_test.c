/*
 * sbuf_test.c - unit tests for sbuf.c: bounds, escaping, and the RFC
 * 5322 date against the C library's gmtime_r()+strftime() over a wide
 * range of times.  Prints "sbuf: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"

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

/* check_numbers - sb_num, sb_num_padded and sb_hex against snprintf */
static void
check_numbers(void)
{
	static const unsigned long long v[] = { 0, 1, 9, 10, 11, 99, 100, 101,
	    999, 1000, 65535, 999999, 1000000, 1795900000, 4294967296ULL,
	    18446744073709551615ULL };
	unsigned char bytes[40];
	char a[96], b[96];
	struct sbuf sb;
	size_t i, w;

	for (i = 0; i < sizeof v / sizeof v[0]; i++)
		for (w = 0; w < 24; w += 5) {
			sb_init(&sb, a, sizeof a);
			sb_num_padded(&sb, v[i], w);
			snprintf(b, sizeof b, "%0*llu", (int)w, v[i]);
			expect(strcmp(a, b) == 0, b, a);
		}
	for (i = 0; i < sizeof bytes; i++)
		bytes[i] = (unsigned char)(i * 37 + 5);
	sb_init(&sb, a, sizeof a);
	sb_hex(&sb, bytes, sizeof bytes);
	for (i = 0; i < sizeof bytes; i++)
		snprintf(b + 2 * i, 3, "%02x", bytes[i]);
	expect(strcmp(a, b) == 0 && sb.len == 80, b, a);
}

/* check_escapes - every octet alone: itself if printable, else \xHH */
static void
check_escapes(void)
{
	char a[8], b[8], c;
	struct sbuf sb;
	int i;

	for (i = 0; i < 256; i++) {
		c = (char)i;
		sb_init(&sb, a, sizeof a);
		sb_escaped(&sb, &c, 1);
		if (i >= 0x20 && i < 0x7f && i != '\\' && i != '"')
			snprintf(b, sizeof b, "%c", i);
		else
			snprintf(b, sizeof b, "\\x%02x", (unsigned)i);
		expect(strcmp(a, b) == 0, b, a);
	}
}

/*
 * check_escape_runs - long strings (the 16-octet fast path) with one
 * octet to escape at every position: only that octet is escaped
 */
static void
check_escape_runs(void)
{
	static const unsigned char odd[] = { 0, 1, '\t', '\r', '\n', 0x1f,
	    '"', '\\', 0x7f, 0x80, 0xc3, 0xff };
	char in[48], got[256], want[256];
	struct sbuf sb;
	size_t k, j;

	for (j = 0; j < sizeof odd; j++)
		for (k = 0; k < sizeof in; k++) {
			memset(in, 'a', sizeof in);
			in[k] = (char)odd[j];
			sb_init(&sb, got, sizeof got);
			sb_escaped(&sb, in, sizeof in);
			snprintf(want, sizeof want, "%.*s\\x%02x%.*s", (int)k,
			    in, odd[j], (int)(sizeof in - k - 1), in + k + 1);
			expect(strcmp(got, want) == 0, want, got);
		}
	for (j = 0x20; j < 0x7f; j++) {	/* plain octets stay as they are */
		if (j == '"' || j == '\\')
			continue;
		memset(in, (int)j, sizeof in);
		sb_init(&sb, got, sizeof got);
		sb_escaped(&sb, in, sizeof in);
		expect(sb.len == sizeof in && memcmp(got, in, sizeof in) == 0,
		    "a plain run", got);
	}
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
	check_numbers();
	check_escapes();
	check_escape_runs();
	printf("sbuf: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
