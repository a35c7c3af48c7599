/*
 * bdat.c - BDAT (RFC 3030 CHUNKING) and BODY=BINARYMIME: a message in
 * chunks of exactly the octets each command announces, read through
 * data.c's machine (no dot-stuffing, no end to look for) into the spool
 * file, one reply per chunk; LAST ends the message as the final dot
 * does (transaction.c: the same checks, the same group commit).  A
 * chunk's octets are read whatever the reply, and never taken for
 * commands (that is how a lax server is made to smuggle); only a size
 * that cannot be read puts the octet stream out of step, and that ends
 * the session.
 */
#include <string.h>
#include <strings.h>

#include "bdat.h"
#include "chat.h"
#include "filter.h"
#include "transaction.h"
#include "words.h"

#define SIZE_DIGITS_MAX	19	/* 9999999999999999999 < 2^64 */

enum { BDAT_OK, BDAT_SYNTAX, BDAT_NO_SIZE };

/*
 * parse_bdat - "SP chunk-size [SP LAST]": BDAT_OK, BDAT_SYNTAX when the
 * size is known but the rest is wrong, BDAT_NO_SIZE when it is not
 */
static int
parse_bdat(const char *p, const char *end, unsigned long long *n, int *last)
{
	const char *q;
	unsigned long long v = 0;

	p = skip_spaces(p, end);
	for (q = p; q < end && *q >= '0' && *q <= '9'; q++)
		v = v * 10 + (unsigned long long)(*q - '0');
	if (q == p || q - p > SIZE_DIGITS_MAX || (q < end && *q != ' '))
		return BDAT_NO_SIZE;
	*n = v;
	*last = 0;
	p = skip_spaces(q, end);
	if (p == end)
		return BDAT_OK;
	if (end - p == 4 && strncasecmp(p, "LAST", 4) == 0) {
		*last = 1;
		return BDAT_OK;
	}
	return BDAT_SYNTAX;
}

/*
 * wait_more - the buffer is empty and the chunk is not: settle held
 * messages (their 250s go out before a read may block), then read
 */
static int
wait_more(struct session *s, struct data_machine *m)
{
	if (commit_pending(&s->commit))
		session_settle(s);
	if (s->closing)
		return IO_ERROR;
	return m != NULL ? data_fill(m, &s->io) : io_fill(&s->io);
}

/* skip_octets - read n octets and drop them */
static int
skip_octets(struct session *s, unsigned long long n)
{
	size_t k;
	int r;

	for (;;) {
		k = s->io.in_len - s->io.in_pos;
		if (n < k)
			k = (size_t)n;
		s->io.in_pos += k;
		if ((n -= k) == 0)
			return IO_OK;
		if ((r = wait_more(s, NULL)) != IO_OK)
			return r;
	}
}

/*
 * skip_chunk - a chunk refused before it is read: its octets are read
 * and dropped, then the reply id (R__COUNT: none, it was sent); a
 * client that leaves in the middle ends the session
 */
static void
skip_chunk(struct session *s, unsigned long long n, enum reply_id id)
{
	int r;

	if ((r = skip_octets(s, n)) != IO_OK) {
		bdat_abort(s);
		if (r == IO_TIMEOUT)
			timed_out(s);
		else {
			s->end_reason = r == IO_EOF ? "eof-in-data" :
			    "io-error";
			s->closing = 1;
		}
		return;
	}
	if (id != R__COUNT)
		session_reply(s, id, NULL);
}

/*
 * read_chunk - n octets through the machine into the spool file.  The
 * minimum data rate is judged per chunk: between chunks the client
 * waits for our reply.
 */
static int
read_chunk(struct session *s, unsigned long long n)
{
	struct data_machine *m = &s->chunks.m;
	int r;

	m->waited = 0;
	for (;;) {
		n -= data_feed_chunk(m, &s->io, n);
		if (n == 0)
			return IO_OK;
		if ((r = wait_more(s, m)) != IO_OK)
			return r;
	}
}

/* refusal - why this BDAT cannot add to a message, or R__COUNT */
static enum reply_id
refusal(const struct session *s)
{
	if (s->state == S_REFUSED)
		return R_NO_SERVICE;		/* a 554 greeting */
	if (s->state == S_GREET)
		return R_SEQ_HELO;
	if (s->state == S_READY)
		return R_SEQ_RCPT;		/* no MAIL */
	if (s->env.nrcpt == 0)
		return R_SEQ_DATA;		/* no valid RCPT */
	return R__COUNT;
}

/* start - the first chunk of a message: its spool file and head */
static int
start(struct session *s)
{
	struct data_limits lim;

	if (message_begin(s) < 0)
		return -1;
	if (filter_data(s)) {
		spool_abort(&s->spool);
		return -1;
	}
	message_limits(s, &lim);
	data_begin_chunks(&s->chunks.m, &s->spool, &lim, &s->chunks.res,
	    s->env.mp.body == BODY_BINARYMIME);
	s->chunks.open = 1;
	session_enter(s, S_BDAT);
	return 0;
}

/* too_big - over --max-size: 552, the transaction is dropped */
static void
too_big(struct session *s)
{
	char limit[24];
	struct sbuf sb;

	bdat_abort(s);
	s->refused++;
	sb_init(&sb, limit, sizeof limit);
	sb_num(&sb, s->cfg->max_size);
	session_reply(s, R_SIZE_LIMIT, limit);
	reset_transaction(s);
}

/* chunk_read - after a chunk: 250 for it, or the message's end */
static void
chunk_read(struct session *s, unsigned long long n, int last)
{
	char num[24];
	struct sbuf sb;

	if (s->chunks.res.flags & DATA_TOOBIG) {
		too_big(s);
		return;
	}
	if (!last) {
		sb_init(&sb, num, sizeof num);
		sb_num(&sb, n);
		session_reply(s, R_BDAT_OK, num);
		return;
	}
	data_end_chunks(&s->chunks.m);
	s->chunks.open = 0;
	message_end(s, &s->chunks.res);
	reset_transaction(s);
}

/*
 * bdat_garbled - a BDAT line that cannot be trusted (its size
 * unreadable, the line too long, with a control octet, ending in a bare
 * LF): where its octets end is unknown, so the reply id for the line,
 * then 421 and the end of the session
 */
void
bdat_garbled(struct session *s, enum reply_id id)
{
	bdat_abort(s);
	session_reply(s, id, NULL);
	if (s->closing)			/* that was one error too many */
		return;
	s->end_reason = "bdat-out-of-step";
	session_reply(s, R_BDAT_LOST, NULL);
}

/* cmd_bdat - RFC 3030 2: BDAT chunk-size [LAST] */
void
cmd_bdat(struct session *s, const char *arg, const char *end)
{
	unsigned long long n = 0;
	enum reply_id id;
	int last = 0, r;

	if ((r = parse_bdat(arg, end, &n, &last)) == BDAT_NO_SIZE) {
		bdat_garbled(s, R_BDAT_SIZE);
		return;
	}
	if (r == BDAT_SYNTAX) {		/* a message missing a chunk: gone */
		if (s->state & S_TRANSACTION)	/* its first chunk too */
			reset_transaction(s);
		skip_chunk(s, n, R_BDAT_SYNTAX);
		return;
	}
	if (s->state != S_BDAT) {
		if ((id = refusal(s)) != R__COUNT) {
			skip_chunk(s, n, id);
			return;
		}
		if (start(s) < 0) {	/* replied: no room, no file; */
			reset_transaction(s);	/* the chunk is lost, and */
			skip_chunk(s, n, R__COUNT);	/* so is its message */
			return;
		}
	}
	if ((r = read_chunk(s, n)) != IO_OK) {
		s->chunks.open = 0;
		message_cut(s, r, &s->chunks.res);
		return;
	}
	chunk_read(s, n, last);
}

/* bdat_abort - drop a message half-sent in chunks (RSET, HELO, errors) */
void
bdat_abort(struct session *s)
{
	if (!s->chunks.open)
		return;
	spool_abort(&s->spool);
	s->chunks.open = 0;
}

/* bdat_line - does a command line (maybe not a valid one) say BDAT? */
int
bdat_line(const char *p, size_t n)
{
	return n >= 4 && strncasecmp(p, "BDAT", 4) == 0 &&
	    (n == 4 || p[4] == ' ');
}
