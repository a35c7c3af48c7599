/*
 * sbuf.c - bounded string building.
 * Appends into a caller's fixed buffer, always NUL-terminated, and flags
 * an overflow instead of writing past the end.  Client bytes go through
 * sb_escaped() so that logs never carry raw control characters.
 */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sbuf.h"

/* sb_init - start an empty string in buf (cap must be at least 1) */
void
sb_init(struct sbuf *sb, char *buf, size_t cap)
{
	sb->p = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->overflow = 0;
	buf[0] = '\0';
}

/* sb_add_cut - sb_add's slow case: as many as fit, flag the overflow */
void
sb_add_cut(struct sbuf *sb, const char *s, size_t n)
{
	size_t room = sb->cap - 1 - sb->len;

	if (n > room) {
		n = room;
		sb->overflow = 1;
	}
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

/* pairs - "00" to "99": numbers are written two digits a step */
static const char pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

/* sb_num_padded - append a number in decimal, at least width digits */
void
sb_num_padded(struct sbuf *sb, unsigned long long v, size_t width)
{
	char tmp[24];
	size_t i = sizeof tmp, k;

	while (v >= 100) {
		k = (size_t)(v % 100) * 2;
		v /= 100;
		tmp[--i] = pairs[k + 1];
		tmp[--i] = pairs[k];
	}
	if (v >= 10) {
		tmp[--i] = pairs[v * 2 + 1];
		tmp[--i] = pairs[v * 2];
	} else
		tmp[--i] = (char)('0' + v);
	while (sizeof tmp - i < width && i > 0)
		tmp[--i] = '0';
	sb_add(sb, tmp + i, sizeof tmp - i);
}

/* sb_num - append an unsigned number in decimal */
void
sb_num(struct sbuf *sb, unsigned long long v)
{
	sb_num_padded(sb, v, 1);
}

/* sb_hex - append bytes as lower-case hex digits, 16 bytes a step */
void
sb_hex(struct sbuf *sb, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[32];
	size_t i, k;

	while (n > 0) {
		k = n < sizeof tmp / 2 ? n : sizeof tmp / 2;
		for (i = 0; i < k; i++) {
			tmp[2 * i] = digits[p[i] >> 4];
			tmp[2 * i + 1] = digits[p[i] & 15];
		}
		sb_add(sb, tmp, 2 * k);
		p += k;
		n -= k;
	}
}

/* plain - octets a log line takes as they are: printable ASCII but \ and " */
#define R8	1, 1, 1, 1, 1, 1, 1, 1
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, R8,	/* 0x22 " */
	[0x30] = R8, R8,
	[0x40] = R8, R8,
	[0x50] = R8, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x5c \ */
	[0x60] = R8, R8,
	[0x70] = R8, 1, 1, 1, 1, 1, 1, 1, 0,	/* 0x7f DEL */
};

/* plain_run - how many octets from s need no escape */
static size_t
plain_run(const char *s, size_t n)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i bs = _mm_set1_epi8('\\'), dq = _mm_set1_epi8('"');
	__m128i v;
	unsigned bad;

	for (; i + 16 <= n; i += 16) {	/* signed: 0x80-0xff are < space */
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		bad = (unsigned)_mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del)),
		    _mm_or_si128(_mm_cmpeq_epi8(v, bs), _mm_cmpeq_epi8(v, dq))));
		if (bad != 0)
			return i + (size_t)__builtin_ctz(bad);
	}
#endif
	while (i < n && plain[(unsigned char)s[i]])
		i++;
	return i;
}

/*
 * sb_escaped - append client bytes: printable ASCII as is (copied a run
 * at a time), anything else (and the backslash and double quote) as
 * \xHH.
 */
void
sb_escaped(struct sbuf *sb, const char *s, size_t n)
{
	static const char esc[2] = { '\\', 'x' };
	size_t run;

	while (n > 0) {
		run = plain_run(s, n);
		sb_add(sb, s, run);
		if (run == n)
			break;
		sb_add(sb, esc, 2);
		sb_hex(sb, (const unsigned char *)s + run, 1);
		s += run + 1;
		n -= run + 1;
	}
}

/*
 * sb_date - append an RFC 5322 date-time in UTC, computed here:
 * gmtime_r() would read /etc/localtime (tzset) and strftime() consult
 * the locale, in every session, for a date that needs neither.
 */
void
sb_date(struct sbuf *sb, time_t t)
{
	static const char days[] = "ThuFriSatSunMonTueWed";
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	long long z = (long long)(t >= 0 ? t / 86400 : (t - 86399) / 86400);
	long long secs = (long long)t - z * 86400, era, doe, yoe, doy, mp;
	long long y, m, d;

	/* days since 1970-01-01 to a civil date (proleptic Gregorian) */
	sb_add(sb, days + ((z % 7 + 7) % 7) * 3, 3);
	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	sb_str(sb, ", ");
	sb_num_padded(sb, (unsigned long long)d, 2);
	sb_add(sb, " ", 1);
	sb_add(sb, months + (m - 1) * 3, 3);
	sb_add(sb, " ", 1);
	sb_num(sb, (unsigned long long)y);
	sb_add(sb, " ", 1);
	sb_num_padded(sb, (unsigned long long)(secs / 3600), 2);
	sb_add(sb, ":", 1);
	sb_num_padded(sb, (unsigned long long)(secs / 60 % 60), 2);
	sb_add(sb, ":", 1);
	sb_num_padded(sb, (unsigned long long)(secs % 60), 2);
	sb_str(sb, " +0000");
}
