/*
 * data.c - the DATA phase: a byte state machine from client to spool.
 * Streams in constant memory, undoes dot-stuffing (RFC 5321 4.5.2) and
 * ends only at CRLF.CRLF.  A bare CR or LF anywhere marks the message
 * bad but never ends it, so no smuggled second message can start (the
 * "\n.\n", "\r.\r", "\n.\r\n" ... family); the reading goes on to the real
 * end so the session stays in step.  With lf mode (smtpd --lf, for
 * hand-written transcripts) a LF alone ends a line and is stored as CRLF.
 * BDAT chunks (RFC 3030) go through the same machine with no dots and no
 * end to look for: the same line rules (a bare CR or LF, a NUL mark the
 * message), carried across chunks; under BODY=BINARYMIME none at all,
 * the octets stored exactly as they came.
 */
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif
#include <string.h>

#include "config.h"
#include "data.h"


/* the header field name whose lines are counted as hops */
static const char received[] = "received:";

/* is_special - CR, LF or NUL: the octets DATA must look at */
static int
is_special(unsigned char c)
{
	return c == '\r' || c == '\n' || c == '\0';
}

/* emit - store message octets (counted even once we stop storing) */
static void
emit(struct data_machine *m, const unsigned char *p, size_t n)
{
	m->res->size += n;
	if (m->max != 0 && m->res->size > m->max)
		m->res->flags |= DATA_TOOBIG;
	if (m->res->flags == 0)
		spool_write(m->sp, p, n);
}

/* count_hop - one more Received: line; too many is a loop */
static void
count_hop(struct data_machine *m)
{
	if (++m->res->hops > MAX_HOPS)
		m->res->flags |= DATA_LOOP;
}

/* header_octet - watch header lines for "Received:" */
static void
header_octet(struct data_machine *m, unsigned char c)
{
	m->line_len++;
	if (m->hmatch < 0)
		return;
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if (c != (unsigned char)received[m->hmatch]) {
		m->hmatch = -1;
		return;
	}
	if (++m->hmatch == (int)sizeof received - 1) {
		m->hmatch = -1;
		count_hop(m);
	}
}

/* end_line - a CRLF (or lf-mode LF) ended a line */
static void
end_line(struct data_machine *m)
{
	static const unsigned char crlf[2] = { '\r', '\n' };

	emit(m, crlf, 2);
	if (m->in_header && m->line_len == 0)
		m->in_header = 0;
	m->line_len = 0;
	m->hmatch = 0;
	m->st = D_BOL;
}

/* text_octet - one octet inside a line */
static void
text_octet(struct data_machine *m, unsigned char c)
{
	if (c == '\r') {
		m->st = D_CR;
		return;
	}
	m->st = D_TEXT;
	if (c == '\n') {
		if (m->lf_ok) {
			end_line(m);
			return;
		}
		if (!m->binary)
			m->res->flags |= DATA_BARENL;
	} else if (c == '\0' && !m->binary)
		m->res->flags |= DATA_NUL;
	if (m->in_header)
		header_octet(m, c);
	emit(m, &c, 1);
}

/* bare_cr - a CR not followed by LF: mark the message, go on with c */
static void
bare_cr(struct data_machine *m, unsigned char c)
{
	static const unsigned char cr = '\r';

	if (!m->binary)
		m->res->flags |= DATA_BARENL;
	if (m->in_header)
		header_octet(m, cr);
	emit(m, &cr, 1);
	text_octet(m, c);
}

/* step - feed one octet to the machine */
static void
step(struct data_machine *m, unsigned char c)
{
	switch (m->st) {
	case D_BOL:
		if (c == '.' && m->dots) {
			m->st = D_DOT;
			return;
		}
		text_octet(m, c);
		return;
	case D_DOT:
		if (c == '\r')
			m->st = D_DOTCR;
		else if (c == '\n' && m->lf_ok)
			m->st = D_END;
		else
			text_octet(m, c);	/* the stuffed dot is dropped */
		return;
	case D_DOTCR:
		if (c == '\n')
			m->st = D_END;
		else
			bare_cr(m, c);	/* ".\r" then not LF */
		return;
	case D_CR:
		if (c == '\n')
			end_line(m);
		else
			bare_cr(m, c);
		return;
	case D_TEXT:
		text_octet(m, c);
		return;
	case D_END:
		return;
	}
}

#ifndef __SSE2__
#define ONES	0x0101010101010101ull

/* has_zero - nonzero if some octet of v is 0 */
static uint64_t
has_zero(uint64_t v)
{
	return (v - ONES) & ~v & (ONES << 7);
}

/* word_special - some CR, LF or NUL in the 8 octets at p */
static int
word_special(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return (has_zero(v) | has_zero(v ^ ONES * '\r') |
	    has_zero(v ^ ONES * '\n')) != 0;
}
#endif

/*
 * mask16 - bit j set for each CR, LF or NUL at p[j], j < 16: the octets
 * DATA must look at.  Every message octet goes through here, 16 at a
 * time (SSE2 is part of every x86-64; elsewhere two 64-bit words tell a
 * block with none).
 */
static inline unsigned
mask16(const unsigned char *p)
{
#ifdef __SSE2__
	const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);

	return (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')),
	    _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
	    _mm_cmpeq_epi8(v, _mm_setzero_si128())));
#else
	unsigned m = 0, j;

	if (word_special(p) || word_special(p + 8))
		for (j = 0; j < 16; j++)
			if (is_special(p[j]))
				m |= 1u << j;
	return m;
#endif
}

/*
 * special_mask - bit j set for each CR, LF or NUL at p[i + j], j < 64
 * and i + j < n: 64 octets a step keeps the loops around it short
 */
static inline uint64_t
special_mask(const unsigned char *p, size_t i, size_t n)
{
	uint64_t m = 0;
	size_t j = 0;

	p += i;
	n -= i;
	if (n >= 64)
		return mask16(p) | (uint64_t)mask16(p + 16) << 16 |
		    (uint64_t)mask16(p + 32) << 32 | (uint64_t)mask16(p + 48) << 48;
	for (; j + 16 <= n; j += 16)
		m |= (uint64_t)mask16(p + j) << j;
	for (; j < n; j++)
		if (is_special(p[j]))
			m |= 1ull << j;
	return m;
}

/*
 * The scans below take the mask function as an argument so that each is
 * compiled twice: with special_mask() (SSE2, any x86-64 or none), and on
 * x86-64 with special_mask_avx2(), 32 octets an instruction, chosen at
 * run time when the CPU has AVX2.
 */
#ifdef __GNUC__
#define ALWAYS_INLINE	inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE	inline
#endif
typedef uint64_t mask_fn(const unsigned char *, size_t, size_t);

/* next_special_by - offset of the first CR, LF or NUL in p[0..n), or n */
static ALWAYS_INLINE size_t
next_special_by(const unsigned char *p, size_t n, mask_fn *mask)
{
	size_t i;
	uint64_t m;

	for (i = 0; i < n; i += 64)
		if ((m = mask(p, i, n)) != 0)
			return i + (size_t)__builtin_ctzll(m);
	return n;
}

/*
 * clean_lines_by - how many octets from p are whole lines that need no
 * care: no leading dot, no CR, LF or NUL but their CRLF.  One pass over
 * the buffer, 64 octets at a time, whatever the line lengths, so the
 * body of a message streams at memory speed.
 */
static ALWAYS_INLINE size_t
clean_lines_by(const unsigned char *p, size_t n, mask_fn *mask)
{
	size_t i, k, good = 0;		/* good: the end of the last line */
	uint64_t m;

	if (n == 0 || p[0] == '.')
		return 0;
	for (i = 0; i < n; i += 64)
		for (m = mask(p, i, n); m != 0; m &= m - 1) {
			k = i + (size_t)__builtin_ctzll(m);
			if (k < good)
				continue;	/* an LF taken in the last step */
			if (p[k] != '\r' || n - k < 2 || p[k + 1] != '\n')
				return good;
			good = k + 2;
			if (good < n && p[good] == '.')
				return good;
			m &= m - 1;		/* the LF, unless in the next step */
		}
	return good;
}

/* next_special, clean_lines - the scans with SSE2 (or 64-bit words) */
static size_t
next_special(const unsigned char *p, size_t n)
{
	return next_special_by(p, n, special_mask);
}

static size_t
clean_lines(const unsigned char *p, size_t n)
{
	return clean_lines_by(p, n, special_mask);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(DATA_NO_AVX2) && \
    defined(__has_include)
#if __has_include(<sys/platform/x86.h>)	/* glibc 2.33 and later */
#include <sys/platform/x86.h>
#define SCAN_AVX2	1
#endif
#endif

#ifdef SCAN_AVX2

/* special_mask_avx2 - special_mask() with two 32-octet compares */
__attribute__((target("avx2"))) static inline uint64_t
special_mask_avx2(const unsigned char *p, size_t i, size_t n)
{
	const __m256i cr = _mm256_set1_epi8('\r'), lf = _mm256_set1_epi8('\n');
	const __m256i nul = _mm256_setzero_si256();
	__m256i a, b;

	if (n - i < 64)
		return special_mask(p, i, n);
	a = _mm256_loadu_si256((const __m256i *)(const void *)(p + i));
	b = _mm256_loadu_si256((const __m256i *)(const void *)(p + i + 32));
	a = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(a, cr),
	    _mm256_cmpeq_epi8(a, lf)), _mm256_cmpeq_epi8(a, nul));
	b = _mm256_or_si256(_mm256_or_si256(_mm256_cmpeq_epi8(b, cr),
	    _mm256_cmpeq_epi8(b, lf)), _mm256_cmpeq_epi8(b, nul));
	return (uint32_t)_mm256_movemask_epi8(a) |
	    (uint64_t)(uint32_t)_mm256_movemask_epi8(b) << 32;
}

/* next_special_avx2, clean_lines_avx2 - the scans with AVX2 */
__attribute__((target("avx2"))) static size_t
next_special_avx2(const unsigned char *p, size_t n)
{
	return next_special_by(p, n, special_mask_avx2);
}

__attribute__((target("avx2"))) static size_t
clean_lines_avx2(const unsigned char *p, size_t n)
{
	return clean_lines_by(p, n, special_mask_avx2);
}
#endif

/*
 * pick_scans - the fastest scans this CPU runs.  glibc's own record of
 * the CPU (filled in by the dynamic loader anyway) says whether AVX2 is
 * there and enabled; libgcc's __builtin_cpu_supports() would run a
 * constructor in every process, a few page faults we need not pay.
 */
static void
pick_scans(struct data_machine *m)
{
#ifdef SCAN_AVX2
	if (CPU_FEATURE_ACTIVE(AVX2)) {
		m->clean_lines = clean_lines_avx2;
		m->next_special = next_special_avx2;
		return;
	}
#endif
	m->clean_lines = clean_lines;
	m->next_special = next_special;
}

/* is_received - the line at p (n octets) is a "Received:" field */
static int
is_received(const unsigned char *p, size_t n)
{
	size_t k;

	if (n < sizeof received - 1)
		return 0;
	for (k = 0; k < sizeof received - 1; k++)
		if ((p[k] >= 'A' && p[k] <= 'Z' ? p[k] + 32 : p[k]) !=
		    received[k])
			return 0;
	return 1;
}

/*
 * header_lines - clean_lines() for the header section: how many octets
 * from p are whole lines needing no care, up to and including the empty
 * line that ends the section, counting Received: lines on the way
 */
static size_t
header_lines(struct data_machine *m, const unsigned char *p, size_t n)
{
	size_t s = 0, k;

	while (s < n && p[s] != '.') {
		k = s + m->next_special(p + s, n - s);
		if (n - k < 2 || p[k] != '\r' || p[k + 1] != '\n')
			break;
		if (k == s) {			/* CRLF alone: the body starts */
			m->in_header = 0;
			return k + 2;
		}
		if (is_received(p + s, k - s))
			count_hop(m);
		s = k + 2;
	}
	return s;
}

/* feed - run the machine over a buffer; returns octets consumed */
static size_t
feed(struct data_machine *m, const unsigned char *p, size_t n)
{
	size_t i = 0, run;

	while (i < n && m->st != D_END) {
		if (m->st == D_BOL && (run = m->in_header ?
		    header_lines(m, p + i, n - i) :
		    m->clean_lines(p + i, n - i)) > 0) {
			emit(m, p + i, run);	/* still at a line start */
			i += run;
			continue;
		}
		if (m->st == D_TEXT && (!m->in_header || m->hmatch < 0)) {
			run = m->next_special(p + i, n - i);
			if (run > 0) {
				m->line_len += run;
				emit(m, p + i, run);
				i += run;
				continue;
			}
		}
		step(m, p[i++]);
	}
	return i;
}

/*
 * too_slow - the minimum data rate (Postfix's smtpd_min_data_rate): the
 * first idle period is free, after that each octet buys 1/rate s more.
 * Checked before each wait for more, so a trickle is cut within an idle
 * period of falling behind; plain silence is the idle limit's (io.c).
 */
static int
too_slow(const struct data_machine *m, const struct io *io)
{
	struct timespec t;
	long long ms;

	if (m->min_rate == 0)
		return 0;
	t = io_now();
	ms = (long long)(t.tv_sec - m->start.tv_sec) * 1000 +
	    (t.tv_nsec - m->start.tv_nsec) / 1000000 -
	    (long long)io->timeout * 1000;
	return ms > 0 &&
	    io->bytes_in - m->base < (unsigned long long)ms * m->min_rate / 1000;
}

/*
 * data_begin - a message starts after the 354: set the machine up for
 * the limits in lim, results in *res
 */
void
data_begin(struct data_machine *m, struct spool *sp,
    const struct data_limits *lim, struct data_result *res)
{
	memset(res, 0, sizeof *res);
	m->st = D_BOL;
	m->lf_ok = (int)lim->lf_ok;
	m->dots = 1;
	m->binary = 0;
	m->in_header = 1;
	m->hmatch = 0;
	m->line_len = 0;
	m->max = lim->max_size;
	m->min_rate = lim->min_rate;
	m->waited = 0;
	m->sp = sp;
	m->res = res;
	pick_scans(m);
}

/*
 * data_feed - run the machine over what input is buffered: 1 once
 * CRLF.CRLF was seen (res->flags then says whether the message may be
 * kept), 0 when it needs more (data_fill)
 */
int
data_feed(struct data_machine *m, struct io *io)
{
	io->in_pos += feed(m, io->inbuf + io->in_pos, io->in_len - io->in_pos);
	return m->st == D_END;
}

/*
 * data_fill - wait for more of the message.  Not IO_OK: the session is
 * over (DATA_SLOW in res->flags when the client fell below the minimum
 * rate).  The rate's clock starts when the message first has to be
 * waited for (the start of that wait: no clock reading of its own), so
 * a message that came whole with its commands costs none; the rate is
 * judged before each later wait, when what came has been fed, so a
 * message whose end has arrived is never refused for its pace.
 */
int
data_fill(struct data_machine *m, struct io *io)
{
	int r;

	if (m->waited && too_slow(m, io)) {	/* what came is all fed */
		m->res->flags |= DATA_SLOW;
		return IO_TIMEOUT;
	}
	if (!m->waited)
		m->base = io->bytes_in;
	if ((r = io_fill(io)) != IO_OK)
		return r;
	if (!m->waited) {
		m->waited = 1;
		m->start = io->wait_end;
		m->start.tv_sec -= io->timeout;
	}
	return IO_OK;
}

/*
 * data_begin_chunks - a BDAT message starts (its first chunk): the DATA
 * machine without dots or LF-alone lines; binary: BODY=BINARYMIME
 */
void
data_begin_chunks(struct data_machine *m, struct spool *sp,
    const struct data_limits *lim, struct data_result *res, int binary)
{
	struct data_limits l = *lim;

	l.lf_ok = 0;			/* octets are counted: no rewriting */
	data_begin(m, sp, &l, res);
	m->dots = 0;
	m->binary = binary;
}

/*
 * data_feed_chunk - run the machine over the buffered input, at most
 * left octets of the chunk: how many it took
 */
unsigned long long
data_feed_chunk(struct data_machine *m, struct io *io,
    unsigned long long left)
{
	size_t n = io->in_len - io->in_pos;

	if (left < n)
		n = (size_t)left;
	n = feed(m, io->inbuf + io->in_pos, n);
	io->in_pos += n;
	return n;
}

/*
 * data_end_chunks - BDAT LAST: a CR still held is a bare one (stored as
 * is under BINARYMIME); a text message that does not end its last line
 * gets the CRLF that every DATA message has, so it can be relayed
 * further with DATA
 */
void
data_end_chunks(struct data_machine *m)
{
	static const unsigned char cr = '\r', crlf[2] = { '\r', '\n' };

	if (m->st == D_CR) {
		if (!m->binary)
			m->res->flags |= DATA_BARENL;
		emit(m, &cr, 1);
	} else if (m->st == D_TEXT && !m->binary)
		emit(m, crlf, 2);
	m->st = D_END;
}
