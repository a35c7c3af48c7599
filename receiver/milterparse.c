/*
 * milterparse.c - what a filter's packets say, read by pure functions
 * (no I/O, no state; tests/fuzz/fuzz_milter.c drives them): a reply and
 * its data, pointing into the packet; a REPLYCODE text, admitted only
 * as a 4xx/5xx reply of printable lines, so that nothing a filter says
 * can end an SMTP reply early or start another; the OPTNEG answer with
 * the macro lists a filter may add (SETSYMLIST), within their caps.
 * Packet layouts from libmilter's mfdef.h and engine.c.
 */
#include <string.h>

#include "milter.h"

/* take_str - the NUL-ended string at *off in p[0..n), or NULL */
static const char *
take_str(const unsigned char *p, size_t n, size_t *off)
{
	const unsigned char *nul;
	const char *s;

	if (*off >= n || (nul = memchr(p + *off, '\0', n - *off)) == NULL)
		return NULL;
	s = (const char *)p + *off;
	*off = (size_t)(nul - p) + 1;
	return s;
}

/* count_names - the space-separated words of a macro list */
static size_t
count_names(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		if (*s != ' ' && (s[1] == ' ' || s[1] == '\0'))
			n++;
	return n;
}

/*
 * parse_symlists - the macro lists a version 6 filter may append to its
 * OPTNEG answer (SETSYMLIST): each a 4-octet stage (SMFIM_*) and a
 * NUL-ended list of names, at most one per stage, at most
 * MILTER_SYMLIST_NAMES names each, MILTER_SYMLIST_MAX octets in all.
 * 0, or -1 for anything else.
 */
static int
parse_symlists(const unsigned char *p, size_t n, struct milter_optneg *o)
{
	const char *names;
	size_t off = 0;
	uint32_t stage, seen = 0;

	if (n > MILTER_SYMLIST_MAX)
		return -1;
	while (off < n) {
		if (n - off < 4)
			return -1;
		stage = milter_get32(p + off);
		off += 4;
		if (stage >= SMFIM_COUNT || (seen & (1u << stage)) != 0 ||
		    (names = take_str(p, n, &off)) == NULL ||
		    count_names(names) > MILTER_SYMLIST_NAMES)
			return -1;
		seen |= 1u << stage;
		o->list[o->nlists].stage = stage;
		o->list[o->nlists++].names = names;
	}
	return 0;
}

/*
 * milter_parse_optneg - the filter's OPTNEG answer: version 2 to 6, its
 * actions and steps, then the macro lists it may add (parse_symlists);
 * 0, or -1 when malformed.  A pure function, fuzzed like the replies.
 */
int
milter_parse_optneg(const unsigned char *p, size_t n,
    struct milter_optneg *o)
{
	memset(o, 0, sizeof *o);
	if (n < 13 || p[0] != SMFIC_OPTNEG)
		return -1;
	o->version = milter_get32(p + 1);
	if (o->version < 2 || o->version > MILTER_VERSION)
		return -1;
	o->actions = milter_get32(p + 5);
	o->steps = milter_get32(p + 9);
	return parse_symlists(p + 13, n - 13, o);
}

/* parse_strings - the reply's data as one or two strings (after index) */
static int
parse_strings(const unsigned char *p, size_t n, int two, int second_opt,
    struct milter_reply *r)
{
	size_t off = 0;

	if ((r->name = take_str(p, n, &off)) == NULL)
		return -1;
	r->value = two ? take_str(p, n, &off) : NULL;
	if (two && r->value == NULL && !second_opt)
		return -1;
	return 0;
}

/* parse_modify - the data of an EOB modification reply */
static int
parse_modify(char cmd, const unsigned char *p, size_t n,
    struct milter_reply *r)
{
	r->v = MV_MODIFY;
	switch (cmd) {
	case SMFIR_ADDHEADER:
		return parse_strings(p, n, 1, 0, r);
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		if (n < 4)
			return -1;
		r->index = milter_get32(p);
		return parse_strings(p + 4, n - 4, 1, 0, r);
	case SMFIR_ADDRCPT:
	case SMFIR_DELRCPT:
	case SMFIR_QUARANTINE:
		return parse_strings(p, n, 0, 0, r);
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_CHGFROM:
		return parse_strings(p, n, 1, 1, r);
	case SMFIR_REPLBODY:
		r->data = p;
		r->data_len = n;
		return 0;
	}
	return -1;
}

/*
 * milter_parse_reply - one reply packet (letter and data, n >= 1) into
 * r, pointing into p; 0, or -1 for an unknown or malformed reply.  A
 * pure function: tests/fuzz/fuzz_milter.c drives it.
 */
int
milter_parse_reply(const unsigned char *p, size_t n, struct milter_reply *r)
{
	memset(r, 0, sizeof *r);
	if (n < 1)
		return -1;
	r->cmd = (char)p[0];
	switch (r->cmd) {
	case SMFIR_CONTINUE: r->v = MV_CONTINUE; return 0;
	case SMFIR_ACCEPT: r->v = MV_ACCEPT; return 0;
	case SMFIR_REJECT: r->v = MV_REJECT; return 0;
	case SMFIR_TEMPFAIL: r->v = MV_TEMPFAIL; return 0;
	case SMFIR_DISCARD: r->v = MV_DISCARD; return 0;
	case SMFIR_PROGRESS: r->v = MV_PROGRESS; return 0;
	case SMFIR_SKIP: r->v = MV_SKIP; return 0;
	case SMFIC_OPTNEG: r->v = MV_CONTINUE; return 0;
	case SMFIR_REPLYCODE:
		if (p[n - 1] != '\0')
			return -1;
		r->v = MV_REPLYCODE;
		return milter_parse_text((const char *)p + 1, n - 2, r);
	}
	if (parse_modify(r->cmd, p + 1, n - 1, r) < 0) {
		r->v = MV_BROKEN;
		return -1;
	}
	return 0;
}

/* printable - only SP..~ (and no CR, LF, NUL or other controls) */
static int
printable(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] > 0x7e)
			return 0;
	return 1;
}

/* take_esc - an RFC 3463 code "c.d{1,3}.d{1,3} " of class c at p */
static size_t
take_esc(const char *p, size_t n, char c, char *esc, size_t cap)
{
	size_t i = 1, part, digits;

	if (n < 6 || p[0] != c || p[1] != '.')
		return 0;
	for (part = 0; part < 2; part++) {
		i++;
		for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
			digits++;
		if (digits < 1 || digits > 3 || i >= n ||
		    p[i] != (part == 0 ? '.' : ' '))
			return 0;
	}
	if (i >= cap)
		return 0;
	memcpy(esc, p, i);
	esc[i] = '\0';
	return i + 1;
}

/* take_line - one "DDD[ -][esc ]text" line of a REPLYCODE text */
static int
take_line(const char *p, size_t n, struct milter_reply *r)
{
	unsigned code;
	size_t skip = 3, e;
	char esc[sizeof r->esc];

	if (n < 3 || (p[0] != '4' && p[0] != '5') || p[1] < '0' ||
	    p[1] > '9' || p[2] < '0' || p[2] > '9' ||
	    r->nlines == MILTER_TEXT_LINES)
		return -1;
	code = (unsigned)(p[0] - '0') * 100 + (unsigned)(p[1] - '0') * 10 +
	    (unsigned)(p[2] - '0');
	if ((r->nlines > 0 && code != r->code) || code < 421)
		return -1;
	if (n > 3 && p[3] != ' ' && p[3] != '-')
		return -1;
	if (n > 3)
		skip = 4;
	e = take_esc(p + skip, n - skip, p[0], esc, sizeof esc);
	if (r->nlines == 0 && e > 0)
		memcpy(r->esc, esc, sizeof esc);
	skip += e;
	r->code = code;
	r->line[r->nlines] = p + skip;
	r->line_len[r->nlines++] = n - skip;
	return 0;
}

/*
 * milter_parse_text - a REPLYCODE text: one or more CRLF-separated
 * lines "DDD[ -][x.y.z ]text", one code of 421..599 throughout,
 * printable octets only, at most MILTER_TEXT_LINES lines and
 * MILTER_TEXT_MAX octets; so that nothing a filter says can end an
 * SMTP reply early or start another.  0, or -1.
 */
int
milter_parse_text(const char *p, size_t n, struct milter_reply *r)
{
	const char *crlf;
	size_t len;

	r->nlines = 0;
	r->esc[0] = '\0';
	if (n == 0 || n > MILTER_TEXT_MAX)
		return -1;
	for (;;) {
		crlf = NULL;
		for (len = 0; len + 1 < n; len++)
			if (p[len] == '\r' && p[len + 1] == '\n') {
				crlf = p + len;
				break;
			}
		if (crlf == NULL)
			len = n;
		if (!printable(p, len) || take_line(p, len, r) < 0)
			return -1;
		if (crlf == NULL)
			return 0;
		p += len + 2;
		n -= len + 2;
		if (n == 0)
			return 0;		/* a final CRLF */
	}
}
