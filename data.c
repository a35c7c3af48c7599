/*
 * data.c - the DATA phase: a byte state machine from client to spool.
 * Streams in constant memory, undoes dot-stuffing (RFC 5321 4.5.2) and
 * ends only at CRLF.CRLF.  A bare CR or LF anywhere marks the message
 * bad but never ends it, so no smuggled second message can start (the
 * "\n.\n", "\r.\r", "\n.\r\n" ... family); the reading goes on to the real
 * end so the session stays in step.  With lf mode (smtpd --lf, for
 * hand-written transcripts) a LF alone ends a line and is stored as CRLF.
 */
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "data.h"

enum dstate { D_BOL, D_DOT, D_DOTCR, D_TEXT, D_CR, D_END };

struct dm {
	enum dstate st;
	int	 lf_ok;
	int	 in_header;		/* still in the header section */
	int	 hmatch;		/* "received:" octets matched, -1 no */
	size_t	 line_len;		/* octets on this header line */
	unsigned long long max;		/* 0: no limit */
	struct spool *sp;
	struct data_result *res;
};

/* emit - store message octets (counted even once we stop storing) */
static void
emit(struct dm *m, const unsigned char *p, size_t n)
{
	m->res->size += n;
	if (m->max != 0 && m->res->size > m->max)
		m->res->flags |= DATA_TOOBIG;
	if (m->res->flags == 0)
		spool_write(m->sp, p, n);
}

/* header_octet - watch header lines for "Received:" */
static void
header_octet(struct dm *m, unsigned char c)
{
	static const char want[] = "received:";

	m->line_len++;
	if (m->hmatch < 0)
		return;
	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if (c != (unsigned char)want[m->hmatch]) {
		m->hmatch = -1;
		return;
	}
	if (++m->hmatch == (int)sizeof want - 1) {
		m->hmatch = -1;
		if (++m->res->hops > MAX_HOPS)
			m->res->flags |= DATA_LOOP;
	}
}

/* end_line - a CRLF (or lf-mode LF) ended a line */
static void
end_line(struct dm *m)
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
text_octet(struct dm *m, unsigned char c)
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
		m->res->flags |= DATA_BARENL;
	} else if (c == '\0')
		m->res->flags |= DATA_NUL;
	if (m->in_header)
		header_octet(m, c);
	emit(m, &c, 1);
}

/* bare_cr - a CR not followed by LF: mark the message, go on with c */
static void
bare_cr(struct dm *m, unsigned char c)
{
	static const unsigned char cr = '\r';

	m->res->flags |= DATA_BARENL;
	if (m->in_header)
		header_octet(m, cr);
	emit(m, &cr, 1);
	text_octet(m, c);
}

/* step - feed one octet to the machine */
static void
step(struct dm *m, unsigned char c)
{
	switch (m->st) {
	case D_BOL:
		if (c == '.') {
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

#define ONES	0x0101010101010101ull
#define HIGHS	0x8080808080808080ull

/* has_zero - nonzero if some octet of v is 0 */
static uint64_t
has_zero(uint64_t v)
{
	return (v - ONES) & ~v & HIGHS;
}

/* plain_run - how many octets from p are neither CR, LF nor NUL */
static size_t
plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t v;

	while (i + 8 <= n) {
		memcpy(&v, p + i, 8);
		if (has_zero(v) | has_zero(v ^ (ONES * '\r')) |
		    has_zero(v ^ (ONES * '\n')))
			break;
		i += 8;
	}
	while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
		i++;
	return i;
}

/*
 * clean_lines - how many octets from p are whole lines that need no
 * care: no leading dot, no CR, LF or NUL but their CRLF.  memchr() finds
 * those three fast, so the body of a message streams at memory speed.
 */
static size_t
clean_lines(const unsigned char *p, size_t n)
{
	const unsigned char *s = p, *end = p + n, *nl;

	while (s < end && *s != '.') {
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL || nl == s || nl[-1] != '\r' ||
		    memchr(s, '\r', (size_t)(nl - 1 - s)) != NULL ||
		    memchr(s, '\0', (size_t)(nl - 1 - s)) != NULL)
			break;
		s = nl + 1;
	}
	return (size_t)(s - p);
}

/* feed - run the machine over a buffer; returns octets consumed */
static size_t
feed(struct dm *m, const unsigned char *p, size_t n)
{
	size_t i = 0, run;

	while (i < n && m->st != D_END) {
		if (m->st == D_BOL && !m->in_header &&
		    (run = clean_lines(p + i, n - i)) > 0) {
			emit(m, p + i, run);	/* still at a line start */
			i += run;
			continue;
		}
		if (m->st == D_TEXT && (!m->in_header || m->hmatch < 0)) {
			run = plain_run(p + i, n - i);
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
 * data_receive - read the message up to CRLF.CRLF into the spool file.
 * IO_OK means the end was seen; res->flags then says whether the
 * message may be kept.  Any other result: the session is over.
 */
int
data_receive(struct io *io, struct spool *sp, unsigned long long max,
    unsigned lf_ok, struct data_result *res)
{
	struct dm m;
	int r;

	memset(res, 0, sizeof *res);
	memset(&m, 0, sizeof m);
	m.st = D_BOL;
	m.lf_ok = (int)lf_ok;
	m.in_header = 1;
	m.max = max;
	m.sp = sp;
	m.res = res;
	while (m.st != D_END) {
		if ((r = io_fill(io)) != IO_OK)
			return r;
		io->in_pos += feed(&m, io->inbuf + io->in_pos,
		    io->in_len - io->in_pos);
	}
	return IO_OK;
}
