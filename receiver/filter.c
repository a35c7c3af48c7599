/*
 * filter.c - the session's side of its mail filters: builds the facts
 * milters.c sends at each stage (the real client, after PROXY too), and
 * turns the filters' outcome into the session's reply, always through
 * the reply table (a filter's own REPLYCODE text, checked by milterparse.c,
 * goes out through session_reply_text()).  A transaction the filters
 * saw MAIL for and that ends without its EOB is ABORTed for them.
 */
#include <errno.h>
#include <string.h>

#include "chat.h"
#include "filter.h"

/* facts - what the filters are told about this session */
static void
facts(const struct session *s, struct milter_facts *f)
{
	f->cfg = s->cfg;
	f->client = s->client;
	f->helo = s->helo;
	f->tls = &s->tls;
	f->auth_user = s->auth_user;
	f->auth_mech = s->auth_mech;
	f->mail_addr = s->env.sender.addr;
	f->queue_id = s->spool.fd >= 0 || s->chunks.open ? s->spool.id : "";
}

/*
 * answer - the reply for an outcome other than MO_CONTINUE, for a
 * command (message 0) or the message at its end (message 1)
 */
static void
answer(struct session *s, enum milter_outcome o, int message)
{
	switch (o) {
	case MO_REJECT:
		session_reply(s, message ? R_MILTER_REJECT_MSG :
		    R_MILTER_REJECT, NULL);
		break;
	case MO_TEMPFAIL:
		session_reply(s, R_MILTER_TEMP, NULL);
		break;
	case MO_REPLYCODE:
		session_reply_text(s, s->milters.text.code >= 500 ?
		    R_MILTER_REPLY : R_MILTER_REPLY_TEMP, &s->milters.text);
		break;
	case MO_FAILED_REJECT:
		session_reply(s, R_MILTER_FAILED_REJECT, NULL);
		break;
	case MO_DISCARD:
		session_reply(s, R_MILTER_DISCARDED, NULL);
		break;
	default:
		session_reply(s, R_MILTER_FAILED, NULL);
		break;
	}
}

/*
 * filter_connect - before the greeting: a refusal means a 554 greeting
 * (only QUIT after it, RFC 5321 3.1) or a 421
 */
int
filter_connect(struct session *s)
{
	struct milter_facts f;
	enum milter_outcome o;

	if (s->cfg->nmilters == 0)
		return 0;
	facts(s, &f);
	if ((o = milters_connect(&s->milters, &f)) == MO_CONTINUE)
		return 0;
	if (o == MO_TEMPFAIL || (o == MO_REPLYCODE &&
	    s->milters.text.code < 500)) {
		s->end_reason = "milter-connect";
		session_reply(s, R_CLIENT_TEMP, "rejected by a mail filter, "
		    "try again later");
		return 1;
	}
	session_reply(s, R_CLIENT_REJECT, "rejected by a mail filter");
	session_enter(s, S_REFUSED);
	return 1;
}

/* filter_helo - the HELO/EHLO name, before it is answered */
int
filter_helo(struct session *s)
{
	struct milter_facts f;
	enum milter_outcome o;

	if (s->cfg->nmilters == 0)
		return 0;
	facts(s, &f);
	if ((o = milters_helo(&s->milters, &f)) == MO_CONTINUE)
		return 0;
	answer(s, o == MO_DISCARD ? MO_REJECT : o, 0);
	return 1;
}

/* bracketed - "<" addr ">" into out (cap ADDR_PATH_MAX + 3) */
static void
bracketed(char *out, const char *addr, size_t len)
{
	out[0] = '<';
	memcpy(out + 1, addr, len);
	memcpy(out + 1 + len, ">", 2);
}

/*
 * envelope_outcome - a filter's word before the message: DISCARD marks
 * the transaction (its message will be dropped after a 250), CONTINUE
 * goes on; anything else is answered now.  1 when it was.
 */
static int
envelope_outcome(struct session *s, enum milter_outcome o)
{
	if (o == MO_DISCARD) {
		s->milter_discard = 1;
		return 0;
	}
	if (o == MO_CONTINUE)
		return 0;
	answer(s, o, 0);
	return 1;
}

/*
 * filter_mail - the sender (parsed into the envelope) and the text of
 * its ESMTP parameters; a DISCARD here drops the transaction at its end
 */
int
filter_mail(struct session *s, const char *params)
{
	struct milter_facts f;
	enum milter_outcome o;
	char path[ADDR_PATH_MAX + 3];

	if (s->cfg->nmilters == 0)
		return 0;
	filter_abort(s);
	bracketed(path, s->env.sender.addr, s->env.sender.len);
	facts(s, &f);
	s->milter_tx = 1;
	s->milter_discard = 0;
	o = milters_mail(&s->milters, &f, path, params);
	return envelope_outcome(s, o);
}

/* filter_rcpt - one recipient, before it is added */
int
filter_rcpt(struct session *s, const struct path *to, const char *params)
{
	struct milter_facts f;
	enum milter_outcome o;
	char path[ADDR_PATH_MAX + 3];

	if (s->cfg->nmilters == 0 || s->milter_discard)
		return 0;
	bracketed(path, to->addr, to->len);
	facts(s, &f);
	o = milters_rcpt(&s->milters, &f, path, params);
	return envelope_outcome(s, o);
}

/* filter_data - DATA or the first BDAT, its spool file begun */
int
filter_data(struct session *s)
{
	struct milter_facts f;
	enum milter_outcome o;

	if (s->cfg->nmilters == 0 || s->milter_discard)
		return 0;
	facts(s, &f);
	f.queue_id = s->spool.id;
	o = milters_data(&s->milters, &f);
	return envelope_outcome(s, o);
}

/*
 * filter_unknown - a command line whose verb we do not know, before its
 * 500: a filter's REJECT, TEMPFAIL or own reply answers it instead (1);
 * a DISCARD drops the open transaction's message at its end.  Never
 * sent: a line that may be a refused AUTH LOGIN's password, or one
 * between BDAT chunks (the filters were told DATA: libmilter takes no
 * UNKNOWN after it).
 */
int
filter_unknown(struct session *s)
{
	struct milter_facts f;
	enum milter_outcome o;

	if (s->cfg->nmilters == 0 || s->line_hidden || s->state == S_BDAT)
		return 0;
	facts(s, &f);
	o = milters_unknown(&s->milters, &f, s->line, s->line_len,
	    s->milter_tx);
	if (o == MO_DISCARD && s->milter_tx)
		s->milter_discard = 1;
	if (o == MO_CONTINUE || o == MO_DISCARD)
		return 0;
	answer(s, o, 0);
	return 1;
}

/*
 * quarantine - a filter said QUARANTINE: the message is committed into
 * hold/ (smtpd-queue never delivers from there until "smtpd-queue
 * release ID"), on its own, not in a group commit: fsync, rename, fsync
 * of hold/, then 250.  Always answers: 1.
 */
static int
quarantine(struct session *s)
{
	struct logline ll;

	if (spool_quarantine(&s->spool) < 0) {
		commit_log_error(&s->log, "quarantine", errno);
		s->refused++;
		session_reply(s, commit_spool_reply(errno), NULL);
		return 1;
	}
	log_begin(&s->log, &ll, "quarantine");
	log_str(&ll, "queue_id", s->spool.id);
	log_str(&ll, "reason", s->milters.quarantine_why);
	log_end(&s->log, &ll);
	s->queued++;
	session_reply(s, R_QUEUED, s->spool.id);
	return 1;
}

/*
 * filter_message - the complete message, written out to its tmp file
 * but not yet held for commit: each filter reads it back and says
 * whether it may be queued.  On a refusal or a DISCARD the tmp file is
 * dropped and the client answered: nothing reaches new/ that the client
 * was not told 250 for, and a discarded message never reaches it.
 */
int
filter_message(struct session *s)
{
	struct milter_facts f;
	enum milter_outcome o = MO_CONTINUE;

	if (s->cfg->nmilters == 0)
		return 0;
	s->milter_tx = 0;
	if (!s->milter_discard) {
		if (spool_flush(&s->spool) < 0)
			o = MO_FAILED_TEMP;
		else {
			facts(s, &f);
			f.queue_id = s->spool.id;
			o = milters_message(&s->milters, &f, &s->spool);
		}
	} else
		o = MO_DISCARD;
	if (o == MO_CONTINUE && s->milters.quarantine)
		return quarantine(s);
	if (o == MO_CONTINUE)
		return 0;
	spool_abort(&s->spool);
	if (o == MO_DISCARD)
		log_discard(s);
	else
		s->refused++;
	answer(s, o, 1);
	return 1;
}

/* filter_abort - a transaction the filters know of ends without EOB */
void
filter_abort(struct session *s)
{
	if (s->milter_tx)
		milters_abort(&s->milters);
	s->milter_tx = 0;
	s->milter_discard = 0;
}

/* filter_quit - the session is over */
void
filter_quit(struct session *s)
{
	if (s->cfg->nmilters > 0)
		milters_quit(&s->milters);
}
