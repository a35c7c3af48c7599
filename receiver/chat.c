/*
 * chat.c - the reply path: every reply the session sends, and what a
 * reply implies (its log line, the error count, closing, the state it
 * leaves), and the door into group commit that must open before any
 * reply leaves.  The session and the transaction call down into it; it
 * calls only io, reply, commit, log and envelope (a reset), never a
 * command handler.
 */
#include <string.h>
#include <strings.h>

#include "bdat.h"
#include "chat.h"
#include "filter.h"

/* mech_char - may the octet be part of a SASL mechanism name (RFC 4422)? */
static int
mech_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * loggable - how much of the command line a log record may show: at
 * most 80 octets, and of a line that starts with AUTH only the verb, one
 * space and a mechanism-shaped word, whatever refused it and whatever
 * separates the rest (it may be a credential)
 */
static size_t
loggable(const char *line, size_t n)
{
	size_t k = 5;

	if (n >= 4 && strncasecmp(line, "AUTH", 4) == 0) {
		if (n < 5 || line[4] != ' ')
			return 4;
		while (k < n && k < 25 && mech_char((unsigned char)line[k]))
			k++;
		return k;
	}
	return n < 80 ? n : 80;
}

/* log_refusal - one log line for a 4xx/5xx reply */
void
log_refusal(struct session *s, enum reply_id id, const char *arg)
{
	const struct reply *r = reply_get(id);
	struct logline ll;
	char text[256];
	size_t n = loggable(s->line, s->line_len);

	reply_text(id, arg, text, sizeof text);
	log_begin(&s->log, &ll, "reject");
	log_num(&ll, "code", r->code);
	if (r->esc != NULL)
		log_str(&ll, "status", r->esc);
	if (s->line_hidden)
		log_str(&ll, "command", "[hidden]");
	else
		log_bytes(&ll, "command", s->line, n);
	log_str(&ll, "reason", text);
	log_end(&s->log, &ll);
}

/*
 * session_settle - make every held message durable, or refuse it, now:
 * the session's one door into group commit (commit.c), opened before
 * any reply can leave (a read that may block, a full reply buffer, the
 * end).  If a 250 could not be taken back, no reply goes out at all.
 */
void
session_settle(struct session *s)
{
	struct commit_result res;

	if (!commit_pending(&s->commit))
		return;
	if (commit_settle(&s->commit, &s->spool, &s->io, &s->log, &res) < 0) {
		io_abandon(&s->io);
		s->end_reason = "commit-reply-lost";
		s->closing = 1;
	}
	s->queued += res.queued;
	s->refused += res.refused;
}

/* chat_room - n more reply octets must not flush a held 250 */
void
chat_room(struct session *s, size_t n)
{
	if (commit_pending(&s->commit) && io_room(&s->io) < n)
		session_settle(s);
}

/*
 * session_error - count one error; past --max-errors, 421 and close
 * (Postfix's hard error limit)
 */
void
session_error(struct session *s)
{
	if (++s->errors >= s->cfg->max_errors && !s->closing) {
		s->end_reason = "too-many-errors";
		session_reply(s, R_TOO_MANY_ERRORS, NULL);
	}
}

/*
 * session_reply - send a reply from the table, and do what it implies:
 * log a refusal, count an error (RF_ERROR), close the session after a
 * 421/221.
 */
void
session_reply(struct session *s, enum reply_id id, const char *arg)
{
	const struct reply *r = reply_get(id);

	if (arg == NULL)
		arg = s->cfg->hostname;
	if (r->code >= 400)
		log_refusal(s, id, arg);
	chat_room(s, REPLY_LINE_MAX);
	if (reply_send(&s->io, id, arg) != IO_OK || s->io.wfail != IO_OK) {
		s->end_reason = "client-not-reading";
		s->closing = 1;
		return;
	}
	if (r->flags & RF_CLOSE)
		s->closing = 1;
	if (r->flags & RF_ERROR)
		session_error(s);
}

/*
 * session_reply_text - a mail filter's own reply (milters.c): its code
 * and lines, each checked by milter_parse_text() (4xx/5xx, printable,
 * no CR or LF); row id (its class) for the log and the session's
 * bookkeeping, and its enhanced code when the filter gave none
 */
void
session_reply_text(struct session *s, enum reply_id id,
    const struct milter_text *t)
{
	const struct reply *r = reply_get(id);
	const char *esc = t->esc[0] != '\0' ? t->esc : r->esc;
	unsigned i;

	log_refusal(s, id, t->line[0]);
	chat_room(s, REPLY_LINE_MAX * t->nlines);
	for (i = 0; i < t->nlines; i++)
		(void)reply_line(&s->io, t->code, i + 1 < t->nlines, esc,
		    t->line[i]);
	if (s->io.wfail != IO_OK) {
		s->end_reason = "client-not-reading";
		s->closing = 1;
		return;
	}
	if (t->code == 421) {
		s->end_reason = "milter-421";
		s->closing = 1;
	}
	if (r->flags & RF_ERROR)
		session_error(s);
}

/* log_discard - a message a mail filter discarded: 250, not queued */
void
log_discard(struct session *s)
{
	struct logline ll;

	log_begin(&s->log, &ll, "discard");
	log_str(&ll, "id", s->spool.id);
	log_str(&ll, "by", "milter");
	log_end(&s->log, &ll);
}

/* state_name - a state's name, for the --debug trace */
static const char *
state_name(unsigned state)
{
	switch (state) {
	case S_GREET: return "greet";
	case S_READY: return "ready";
	case S_MAIL: return "mail";
	case S_RCPT: return "rcpt";
	case S_BDAT: return "bdat";
	case S_REFUSED: return "refused";
	default: return "?";
	}
}

/*
 * chat_trace_state - with --debug, each change of state is logged as
 * "from -> to" (as OpenSMTPD does at debug level), so a session that
 * went wrong can be followed
 */
void
chat_trace_state(struct session *s, unsigned state)
{
	struct logline ll;

	if (state == s->state)
		return;
	log_begin(&s->log, &ll, "state");
	log_str(&ll, "from", state_name(s->state));
	log_str(&ll, "to", state_name(state));
	log_end(&s->log, &ll);
}

/* reset_transaction - forget sender and recipients (RSET, HELO, end) */
void
reset_transaction(struct session *s)
{
	bdat_abort(s);		/* a message half-sent in chunks */
	filter_abort(s);
	envelope_reset(&s->env);
	s->rcpt_refused = 0;
	s->relay_granted = 0;
	if (s->state != S_GREET)
		session_enter(s, S_READY);
}

/* timed_out - 421 for the idle limit or the session cap, then close */
void
timed_out(struct session *s)
{
	int cap = io_session_expired(&s->io);

	if (s->io.wfail != IO_OK) {	/* it does not read: just hang up */
		s->end_reason = "client-not-reading";
		s->closing = 1;
		return;
	}
	s->end_reason = cap ? "session-limit" : "timeout";
	io_grace(&s->io, 10);		/* time to send the 421 */
	session_reply(s, cap ? R_SESSION_LIMIT : R_TIMEOUT, NULL);
}
