/*
 * fuzz_milter.c - libFuzzer target: the milter reply parser (milterparse.c)
 * on arbitrary packets, each copied to a buffer of exactly its size so
 * that any read past the end is an ASan error.  Input: one packet (its
 * letter and data, as after the length).  Beyond "no crash": what the
 * parser accepts points inside the packet, and a REPLYCODE it accepts
 * is safe to send: a 4xx/5xx code, at most MILTER_TEXT_LINES lines of
 * printable octets (no CR, LF or NUL), an enhanced code of its class.
 * The OPTNEG parser runs on the same bytes: what it accepts has at most
 * one macro list per stage, each inside the packet and within the caps.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fail - report a broken invariant and abort (libFuzzer keeps the input) */
static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_milter: INVARIANT BROKEN: %s\n", what);
	abort();
}

/* inside - [p, p+n) lies within the packet */
static void
inside(const void *p, size_t n, const uint8_t *buf, size_t len)
{
	const uint8_t *q = p;

	if (q != NULL && (q < buf || q + n > buf + len))
		fail("pointer outside the packet");
}

/* check_text - an accepted REPLYCODE is safe on the wire */
static void
check_text(const struct milter_reply *r, const uint8_t *buf, size_t len)
{
	size_t i, k;

	if (r->code < 421 || r->code > 599 || r->nlines < 1 ||
	    r->nlines > MILTER_TEXT_LINES)
		fail("REPLYCODE code or line count");
	if (r->esc[0] != '\0' && r->esc[0] != (char)('0' + r->code / 100))
		fail("enhanced code of another class");
	for (i = 0; i < r->nlines; i++) {
		inside(r->line[i], r->line_len[i], buf, len);
		for (k = 0; k < r->line_len[i]; k++)
			if ((unsigned char)r->line[i][k] < 0x20 ||
			    (unsigned char)r->line[i][k] > 0x7e)
				fail("control octet in REPLYCODE text");
	}
}

/* check_optneg - an accepted OPTNEG answer's macro lists */
static void
check_optneg(const struct milter_optneg *o, const uint8_t *buf, size_t len)
{
	uint32_t seen = 0;
	size_t total = 0, i;

	if (o->version < 2 || o->version > MILTER_VERSION ||
	    o->nlists > SMFIM_COUNT)
		fail("OPTNEG version or list count");
	for (i = 0; i < o->nlists; i++) {
		if (o->list[i].stage >= SMFIM_COUNT ||
		    (seen & (1u << o->list[i].stage)) != 0)
			fail("macro list stage unknown or repeated");
		seen |= 1u << o->list[i].stage;
		inside(o->list[i].names, strlen(o->list[i].names) + 1, buf,
		    len);
		total += 4 + strlen(o->list[i].names) + 1;
	}
	if (total > MILTER_SYMLIST_MAX)
		fail("macro lists over MILTER_SYMLIST_MAX");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct milter_reply r;
	struct milter_optneg o;
	uint8_t *buf = malloc(size > 0 ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	if (milter_parse_reply(buf, size, &r) == 0) {
		if (r.v == MV_REPLYCODE)
			check_text(&r, buf, size);
		if (r.name != NULL)
			inside(r.name, strlen(r.name) + 1, buf, size);
		if (r.value != NULL)
			inside(r.value, strlen(r.value) + 1, buf, size);
		inside(r.data, r.data_len, buf, size);
	}
	if (milter_parse_optneg(buf, size, &o) == 0)
		check_optneg(&o, buf, size);
	free(buf);
	return 0;
}
