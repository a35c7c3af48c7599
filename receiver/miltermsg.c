/*
 * miltermsg.c - the message at its end through the mail filters: read
 * back from its tmp spool file a piece at a time (never the whole
 * message in memory), each header, EOH, the body in pieces of at most
 * 65535 octets and EOB to one filter after another, as Postfix's
 * cleanup hands its queue file to its milters; a filter's header
 * changes are carried out (msgrewrite.c) before the next filter reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "milterstage.h"
#include "msgedit.h"

#define READ_BUF	MILTER_CHUNK	/* the message, read back in pieces */

/* the message read back from its spool file, a piece at a time */
struct reader {
	int	 fd;
	int	 err;			/* a read failed */
	size_t	 pos, len;
	unsigned char buf[READ_BUF];
	size_t	 hlen;			/* the header being put together */
	char	 hbuf[MILTER_HEADER_MAX + 2];
};

/* next_byte - the next octet of the file, or -1 at its end or an error */
static int
next_byte(struct reader *rd)
{
	ssize_t r;

	if (rd->pos == rd->len) {
		r = fd_read(rd->fd, rd->buf, sizeof rd->buf);
		if (r <= 0) {
			rd->err |= r < 0;
			return -1;
		}
		rd->len = (size_t)r;
		rd->pos = 0;
	}
	return rd->buf[rd->pos++];
}

/* peek_byte - the next octet without taking it, or -1 */
static int
peek_byte(struct reader *rd)
{
	int c = next_byte(rd);

	if (c >= 0)
		rd->pos--;
	return c;
}

/* rewind_past_envelope - to the message: after the first empty line */
static int
rewind_past_envelope(struct reader *rd)
{
	int c, prev = 0;

	rd->pos = rd->len = 0;
	if (lseek(rd->fd, 0, SEEK_SET) < 0)
		return -1;
	while ((c = next_byte(rd)) >= 0) {
		if (c == '\n' && prev == '\n')
			return 0;
		prev = c;
	}
	return -1;
}

/* hadd - one octet of the header, beyond the cap cut */
static void
hadd(struct reader *rd, char c)
{
	if (rd->hlen < MILTER_HEADER_MAX)
		rd->hbuf[rd->hlen++] = c;
}

/*
 * next_header - the next header field, its folded lines joined by LF
 * (as Postfix and Sendmail pass them): 1, or 0 at the empty line that
 * ends the header section (or the file's end)
 */
static int
next_header(struct reader *rd)
{
	int c;

	rd->hlen = 0;
	for (;;) {
		while ((c = next_byte(rd)) >= 0 && c != '\n')
			if (c != '\r')
				hadd(rd, (char)c);
		if (c < 0 || rd->hlen == 0)
			return rd->hlen > 0;
		c = peek_byte(rd);
		if (c != ' ' && c != '\t')
			return 1;
		hadd(rd, '\n');
	}
}

/*
 * header_args - "Name\0value\0" in place: the value without the one
 * space after the colon unless the filter asked for it (HDR_LEADSPC).
 * A line with no colon goes as a name with an empty value.
 */
static size_t
header_args(struct reader *rd, uint32_t steps)
{
	char *colon = memchr(rd->hbuf, ':', rd->hlen);
	size_t name, v;

	if (colon == NULL) {
		rd->hbuf[rd->hlen] = '\0';
		rd->hbuf[rd->hlen + 1] = '\0';
		return rd->hlen + 2;
	}
	name = (size_t)(colon - rd->hbuf);
	*colon = '\0';
	v = name + 1;
	if (!(steps & SMFIP_HDR_LEADSPC) && v < rd->hlen &&
	    rd->hbuf[v] == ' ') {
		memmove(rd->hbuf + v, rd->hbuf + v + 1, rd->hlen - v - 1);
		rd->hlen--;
	}
	rd->hbuf[rd->hlen] = '\0';
	return rd->hlen + 1;
}

/* send_headers - each header, then EOH, to filter i */
static enum milter_outcome
send_headers(struct milter_set *set, unsigned i,
    const struct milter_facts *f, struct reader *rd)
{
	enum milter_outcome o;
	size_t n;

	while (next_header(rd)) {
		n = header_args(rd, set->m[i].steps);
		o = milters_ask(set, i, ST_HEADER, f, NULL, rd->hbuf, n);
		if (o != MO_CONTINUE || !milters_asked(set, i))
			return o;
	}
	return milters_ask(set, i, ST_EOH, f, NULL, NULL, 0);
}

/* send_body - the body in pieces of at most 65535 octets to filter i */
static enum milter_outcome
send_body(struct milter_set *set, unsigned i, const struct milter_facts *f,
    struct reader *rd)
{
	enum milter_outcome o;
	size_t n;
	ssize_t r;

	set->skip_body = 0;
	if (rd->pos < rd->len) {		/* what the headers left */
		n = rd->len - rd->pos;
		o = milters_ask(set, i, ST_BODY, f, NULL, rd->buf + rd->pos, n);
		if (o != MO_CONTINUE || !milters_asked(set, i) || set->skip_body)
			return o;
	}
	for (;;) {
		r = fd_read(rd->fd, rd->buf, sizeof rd->buf);
		if (r <= 0) {
			rd->err |= r < 0;
			return MO_CONTINUE;
		}
		o = milters_ask(set, i, ST_BODY, f, NULL, rd->buf, (size_t)r);
		if (o != MO_CONTINUE || !milters_asked(set, i) || set->skip_body)
			return o;
	}
}

/* filter_message - the whole message to filter i, then EOB */
static enum milter_outcome
filter_message(struct milter_set *set, unsigned i,
    const struct milter_facts *f, struct reader *rd)
{
	enum milter_outcome o;

	if (rewind_past_envelope(rd) < 0) {
		rd->err = 1;
		return MO_CONTINUE;
	}
	o = send_headers(set, i, f, rd);
	if (o != MO_CONTINUE || !milters_asked(set, i))
		return o;
	o = send_body(set, i, f, rd);
	if (o != MO_CONTINUE || !milters_asked(set, i) || rd->err)
		return o;
	return milters_ask(set, i, ST_EOB, f, NULL, NULL, 0);
}

/*
 * apply_edits - filter i said yes with changes: rewrite the spool file
 * now (msgrewrite.c), so that the next filter reads the changed message;
 * 0, or -1 (logged) when the rewrite failed
 */
static int
apply_edits(struct milter_set *set, unsigned i, struct spool *sp,
    struct reader *rd)
{
	unsigned nrcpt = 1;
	int r;

	if (set->edits->n == 0 && set->edits->body_fd < 0)
		return 0;
	r = edits_rewrite(set->edits, sp, &nrcpt);
	milters_log(set, i, r < 0 ? "rewrite-failed" : "modified", "eob",
	    r < 0 ? strerror(errno) : NULL);
	if (r < 0)
		return -1;
	set->no_rcpt = nrcpt == 0;
	close(rd->fd);
	rd->fd = openat(sp->tmpfd, sp->id, O_RDONLY | O_CLOEXEC);
	return rd->fd < 0 ? -1 : 0;
}

/* each_filter - the message through each filter in turn */
static enum milter_outcome
each_filter(struct milter_set *set, const struct milter_facts *f,
    struct spool *sp, struct reader *rd)
{
	enum milter_outcome o = MO_CONTINUE;
	unsigned i;

	for (i = 0; i < set->n && o == MO_CONTINUE && !rd->err; i++) {
		if (!milters_asked(set, i))
			continue;
		edits_clear(set->edits);
		o = filter_message(set, i, f, rd);
		if (o != MO_CONTINUE)
			milters_log(set, i, o == MO_DISCARD ? "discard" :
			    "refused", "eob", NULL);
		else if (apply_edits(set, i, sp, rd) < 0)
			rd->err = 1;
		else if (set->no_rcpt)
			return MO_DISCARD;	/* every recipient deleted */
	}
	return o;
}

/*
 * milters_message - the complete message, read back from its spool file
 * (written out: spool_flush), through each filter in turn, the way
 * Postfix's cleanup hands its queue file to one milter after another;
 * a filter's header changes are carried out before the next one reads
 * it.  The outcome at end of message.
 */
enum milter_outcome
milters_message(struct milter_set *set, const struct milter_facts *f,
    struct spool *sp)
{
	struct reader *rd;
	enum milter_outcome o;

	if (set->failed)
		return milters_failed(set);
	rd = malloc(sizeof *rd);
	set->edits = malloc(sizeof *set->edits);
	if (rd == NULL || set->edits == NULL ||
	    (rd->fd = openat(sp->tmpfd, sp->id, O_RDONLY | O_CLOEXEC)) < 0) {
		free(rd);
		free(set->edits);
		set->edits = NULL;
		return MO_FAILED_TEMP;
	}
	rd->err = 0;
	edits_init(set->edits, sp, set->cfg->max_size);
	set->no_rcpt = 0;
	set->quarantine = 0;
	o = each_filter(set, f, sp, rd);
	if (rd->err && o == MO_CONTINUE)
		o = MO_FAILED_TEMP;
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd);
	edits_clear(set->edits);
	free(set->edits);
	set->edits = NULL;
	return o != MO_CONTINUE ? o : milters_failed(set);
}

