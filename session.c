/*
 * session.c - the SMTP state machine (RFC 5321, with RFC 1870 SIZE,
 * 2920 PIPELINING, 3461 DSN, 6152 8BITMIME, 6531 SMTPUTF8, 2034 codes).
 * One table says which command runs in which state; handlers check
 * arguments, never ordering.  Every reply goes through session_reply(),
 * which also counts errors and logs refusals.  Never writes to new/ but
 * through spool_commit(), and never answers 250 to DATA before it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "data.h"
#include "reply.h"
#include "session.h"

struct command {
	const char *verb;
	void	 (*run)(struct session *, const char *, const char *);
	unsigned states;		/* where it may run */
	enum reply_id out_of_order;	/* the 503 otherwise */
};

static void cmd_helo(struct session *, const char *, const char *);
static void cmd_ehlo(struct session *, const char *, const char *);
static void cmd_mail(struct session *, const char *, const char *);
static void cmd_rcpt(struct session *, const char *, const char *);
static void cmd_data(struct session *, const char *, const char *);
static void cmd_rset(struct session *, const char *, const char *);
static void cmd_noop(struct session *, const char *, const char *);
static void cmd_quit(struct session *, const char *, const char *);
static void cmd_vrfy(struct session *, const char *, const char *);
static void cmd_help(struct session *, const char *, const char *);
static void cmd_unimpl(struct session *, const char *, const char *);
static void cmd_forbidden(struct session *, const char *, const char *);

static const struct command commands[] = {
	{ "HELO", cmd_helo, S_ANY, R_DONE },
	{ "EHLO", cmd_ehlo, S_ANY, R_DONE },
	{ "MAIL", cmd_mail, S_READY, R_SEQ_MAIL },
	{ "RCPT", cmd_rcpt, S_MAIL | S_RCPT, R_SEQ_RCPT },
	{ "DATA", cmd_data, S_MAIL | S_RCPT, R_SEQ_RCPT },
	{ "RSET", cmd_rset, S_ANY, R_DONE },
	{ "NOOP", cmd_noop, S_ANY, R_DONE },
	{ "QUIT", cmd_quit, S_ANY, R_DONE },
	{ "VRFY", cmd_vrfy, S_ANY, R_DONE },
	{ "HELP", cmd_help, S_ANY, R_DONE },
	{ "EXPN", cmd_unimpl, S_ANY, R_DONE },
	{ "TURN", cmd_unimpl, S_ANY, R_DONE },
	{ "ETRN", cmd_unimpl, S_ANY, R_DONE },
	{ "ATRN", cmd_unimpl, S_ANY, R_DONE },
	{ "SEND", cmd_unimpl, S_ANY, R_DONE },
	{ "SOML", cmd_unimpl, S_ANY, R_DONE },
	{ "SAML", cmd_unimpl, S_ANY, R_DONE },
	{ "BDAT", cmd_unimpl, S_ANY, R_DONE },
	{ "AUTH", cmd_unimpl, S_ANY, R_DONE },
	{ "STARTTLS", cmd_unimpl, S_ANY, R_DONE },
	{ "VERB", cmd_unimpl, S_ANY, R_DONE },
	{ "GET", cmd_forbidden, S_ANY, R_DONE },
	{ "POST", cmd_forbidden, S_ANY, R_DONE },
	{ "HEAD", cmd_forbidden, S_ANY, R_DONE },
	{ "PUT", cmd_forbidden, S_ANY, R_DONE },
	{ "CONNECT", cmd_forbidden, S_ANY, R_DONE },
	{ "OPTIONS", cmd_forbidden, S_ANY, R_DONE },
	{ "DELETE", cmd_forbidden, S_ANY, R_DONE },
};

/* the EHLO keywords after the first line (RFC 5321 4.1.1.1) */
static const char *const ehlo_keywords[] = {
	"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN",
	"HELP",
};

/* session_init - a fresh session on fds in/out */
void
session_init(struct session *s, const struct config *cfg,
    const struct client *client, int in, int out)
{
	s->cfg = cfg;
	s->client = client;
	s->state = S_GREET;
	s->esmtp = 0;
	s->closing = 0;
	s->end = END_CLIENT;
	s->end_reason = "eof";
	s->errors = s->rcpt_refused = 0;
	s->queued = s->refused = 0;
	s->helo[0] = '\0';
	log_init(&s->log, 2, getpid(),
	    client->ip[0] != '\0' ? client->ip : "local");
	envelope_init(&s->env);
	s->spool.tmpfd = s->spool.newfd = s->spool.fd = -1;
	io_init(&s->io, in, out, cfg->timeout, cfg->session_max);
	s->io.lf_ok = cfg->lf;
}

/* session_free - release what the session holds */
void
session_free(struct session *s)
{
	spool_close(&s->spool);
	envelope_free(&s->env);
}

/* log_refusal - one log line for a 4xx/5xx reply */
static void
log_refusal(struct session *s, enum reply_id id, const char *arg)
{
	const struct reply *r = reply_get(id);
	struct logline ll;
	char text[256];
	size_t n = s->line_len < 80 ? s->line_len : 80;

	reply_text(id, arg, text, sizeof text);
	log_begin(&s->log, &ll, "reject");
	log_num(&ll, "code", r->code);
	if (r->esc != NULL)
		log_str(&ll, "status", r->esc);
	log_bytes(&ll, "command", s->line, n);
	log_str(&ll, "reason", text);
	log_end(&s->log, &ll);
}

/*
 * session_reply - send a reply from the table, and do what it implies:
 * log a refusal, count an error, close the session after a 421/221,
 * and close it after too many errors (RF_ERROR).
 */
static void
session_reply(struct session *s, enum reply_id id, const char *arg)
{
	const struct reply *r = reply_get(id);

	if (arg == NULL)
		arg = s->cfg->hostname;
	if (r->code >= 400)
		log_refusal(s, id, arg);
	if (reply_send(&s->io, id, arg) != IO_OK || s->io.wfail != IO_OK) {
		s->end_reason = "client-not-reading";
		s->closing = 1;
		return;
	}
	if (r->flags & RF_CLOSE)
		s->closing = 1;
	if ((r->flags & RF_ERROR) && ++s->errors >= s->cfg->max_errors &&
	    !s->closing) {
		s->end_reason = "too-many-errors";
		session_reply(s, R_TOO_MANY_ERRORS, NULL);
	}
}

/* session_enter - change state (the only place that does) */
static void
session_enter(struct session *s, unsigned state)
{
	s->state = state;
}

/* reset_transaction - forget sender and recipients (RSET, HELO, end) */
static void
reset_transaction(struct session *s)
{
	envelope_reset(&s->env);
	s->rcpt_refused = 0;
	if (s->state != S_GREET)
		session_enter(s, S_READY);
}

/* skip_spaces - pass SP and HT */
static const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* valid_helo - is the HELO/EHLO argument a name we may record? */
static int
valid_helo(const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	if (n == 0 || n > HELO_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c >= 0x80 ||
		    strchr(".-_:[]", c) != NULL))
			return 0;
	}
	return addr_valid_utf8(p, n);
}

/* take_helo - check and keep the HELO/EHLO name; 0 when refused */
static int
take_helo(struct session *s, const char *arg, const char *end)
{
	const char *word = skip_spaces(arg, end), *w_end = word;

	while (w_end < end && *w_end != ' ' && *w_end != '\t')
		w_end++;
	if (!valid_helo(word, (size_t)(w_end - word))) {
		session_reply(s, R_NEED_DOMAIN, NULL);
		return 0;
	}
	memcpy(s->helo, word, (size_t)(w_end - word));
	s->helo[w_end - word] = '\0';
	reset_transaction(s);
	session_enter(s, S_READY);
	return 1;
}

/* cmd_helo - RFC 5321 4.1.1.1, plain SMTP */
static void
cmd_helo(struct session *s, const char *arg, const char *end)
{
	if (!take_helo(s, arg, end))
		return;
	s->esmtp = 0;
	session_reply(s, R_HELO, NULL);
}

/* cmd_ehlo - RFC 5321 4.1.1.1: the multi-line list of extensions */
static void
cmd_ehlo(struct session *s, const char *arg, const char *end)
{
	char size[32];
	struct sbuf sb;
	size_t i;

	if (!take_helo(s, arg, end))
		return;
	s->esmtp = 1;
	sb_init(&sb, size, sizeof size);
	sb_str(&sb, "SIZE");
	if (s->cfg->max_size != 0) {
		sb_add(&sb, " ", 1);
		sb_num(&sb, s->cfg->max_size);
	}
	(void)reply_line(&s->io, 250, 1, NULL, s->cfg->hostname);
	(void)reply_line(&s->io, 250, 1, NULL, size);
	for (i = 0; i < sizeof ehlo_keywords / sizeof ehlo_keywords[0]; i++)
		(void)reply_line(&s->io, 250,
		    i + 1 < sizeof ehlo_keywords / sizeof ehlo_keywords[0],
		    NULL, ehlo_keywords[i]);
}

/* after_keyword - arg must start with kw ("FROM:"/"TO:"); the rest */
static const char *
after_keyword(const char *arg, const char *end, const char *kw)
{
	size_t n = strlen(kw);

	arg = skip_spaces(arg, end);
	if ((size_t)(end - arg) < n || strncasecmp(arg, kw, n) != 0)
		return NULL;
	return skip_spaces(arg + n, end);
}

/* path_reply - the reply for a failed addr_parse_path() */
static enum reply_id
path_reply(int status, int is_sender)
{
	if (status == ADDR_TOOLONG)
		return is_sender ? R_SENDER_TOOLONG : R_RCPT_TOOLONG;
	if (status == ADDR_NULL_REFUSED)
		return R_NULL_RCPT;
	return is_sender ? R_BAD_SENDER : R_BAD_RCPT;
}

/* param_reply - the reply for a failed parameter parse */
static enum reply_id
param_reply(int status)
{
	if (status == PARAM_UNKNOWN)
		return R_PARAM_UNKNOWN;
	if (status == PARAM_DUPLICATE)
		return R_PARAM_DUP;
	return R_PARAM_SYNTAX;
}

/* check_sender_params - SIZE and SMTPUTF8 rules for a parsed MAIL */
static int
check_sender_params(struct session *s, const struct path *from,
    const struct mail_params *mp)
{
	char limit[24];
	struct sbuf sb;

	if (from->utf8 && !mp->smtputf8) {
		session_reply(s, R_NEED_UTF8, NULL);
		return 0;
	}
	if (mp->has_size && s->cfg->max_size != 0 &&
	    mp->size > s->cfg->max_size) {
		sb_init(&sb, limit, sizeof limit);
		sb_num(&sb, s->cfg->max_size);
		session_reply(s, R_SIZE_LIMIT, limit);
		return 0;
	}
	if (mp->has_size && !spool_space_ok(&s->spool, mp->size)) {
		session_reply(s, R_NO_SPACE, NULL);
		return 0;
	}
	return 1;
}

/* cmd_mail - RFC 5321 4.1.1.2 with SIZE, BODY, SMTPUTF8, RET, ENVID */
static void
cmd_mail(struct session *s, const char *arg, const char *end)
{
	struct path from;
	struct mail_params mp;
	const char *p = after_keyword(arg, end, "FROM:");
	int r;

	if (p == NULL) {
		session_reply(s, R_SYNTAX, NULL);
		return;
	}
	if ((r = addr_parse_path(&p, end, ADDR_ALLOW_NULL, &from)) != ADDR_OK) {
		session_reply(s, path_reply(r, 1), NULL);
		return;
	}
	if (!s->esmtp && skip_spaces(p, end) != end) {
		session_reply(s, R_PARAM_NO_EHLO, NULL);
		return;
	}
	if ((r = addr_parse_mail_params(p, end, &mp)) != PARAM_OK) {
		session_reply(s, param_reply(r), NULL);
		return;
	}
	if (!check_sender_params(s, &from, &mp))
		return;
	s->env.sender = from;
	s->env.mp = mp;
	session_enter(s, S_MAIL);
	session_reply(s, R_SENDER_OK, NULL);
}

/*
 * relay_allowed - may this client send to rcpt?  Trusted clients: any.
 * Others: the listed domains, and postmaster (RFC 5321 4.5.1) bare, at
 * our host name or at a listed domain.  Never an open relay, even with
 * no domain set.
 */
static int
relay_allowed(const struct session *s, const struct path *rcpt)
{
	const char *d = rcpt->addr + rcpt->domain_off;
	size_t n = rcpt->len - rcpt->domain_off;

	if (s->client->trusted)
		return 1;
	if (rcpt->domain_off == 0)
		return addr_is_postmaster(rcpt);
	if (policy_domain_listed(&s->cfg->domains, d, n))
		return 1;
	return addr_is_postmaster(rcpt) && n == strlen(s->cfg->hostname) &&
	    strncasecmp(d, s->cfg->hostname, n) == 0;
}

/* check_rcpt - parse and judge one RCPT: R_RCPT_OK or the refusal */
static enum reply_id
check_rcpt(struct session *s, const char *arg, const char *end,
    struct path *to, struct rcpt_params *rp)
{
	const char *p = after_keyword(arg, end, "TO:");
	int r;

	if (p == NULL)
		return R_SYNTAX;
	if ((r = addr_parse_path(&p, end, ADDR_ALLOW_POSTMASTER, to)) !=
	    ADDR_OK)
		return path_reply(r, 0);
	if (!s->esmtp && skip_spaces(p, end) != end)
		return R_PARAM_NO_EHLO;
	if ((r = addr_parse_rcpt_params(p, end, rp)) != PARAM_OK)
		return param_reply(r);
	if (to->utf8 && !s->env.mp.smtputf8)
		return R_NEED_UTF8;
	if (s->env.nrcpt >= s->cfg->max_rcpt)
		return R_TOO_MANY_RCPT;
	if (!relay_allowed(s, to))
		return R_RELAY_DENIED;
	return R_RCPT_OK;
}

/*
 * cmd_rcpt - RFC 5321 4.1.1.3 with NOTIFY and ORCPT.  Refusals are
 * counted so that DATA can tell "all refused" (554) from "none" (503).
 */
static void
cmd_rcpt(struct session *s, const char *arg, const char *end)
{
	struct path to;
	struct rcpt_params rp;
	enum reply_id id = check_rcpt(s, arg, end, &to, &rp);
	int r;

	if (id == R_RCPT_OK && (r = envelope_add_rcpt(&s->env, &to, &rp)) != 0)
		id = r > 0 ? R_RCPT_DUP : R_SPOOL_FAIL;
	if (id == R_RCPT_OK || id == R_RCPT_DUP)
		session_enter(s, S_RCPT);
	else
		s->rcpt_refused++;
	session_reply(s, id, NULL);
}

/* protocol_name - the "with" of our Received line (RFC 3848, 6531) */
static const char *
protocol_name(const struct session *s)
{
	if (!s->esmtp)
		return "SMTP";
	return s->env.mp.smtputf8 ? "UTF8SMTP" : "ESMTP";
}

/* add_date - RFC 5322 date-time, in UTC */
static void
add_date(struct sbuf *sb, time_t t)
{
	char buf[64];
	struct tm tm;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	sb_add(sb, buf, n);
}

/* add_literal - an address literal: [192.0.2.1] or [IPv6:2001:db8::1] */
static void
add_literal(struct sbuf *sb, const char *ip)
{
	sb_str(sb, strchr(ip, ':') != NULL ? "[IPv6:" : "[");
	sb_str(sb, ip);
	sb_str(sb, "]");
}

/*
 * add_received - our trace line (RFC 5321 4.4), built only from checked
 * values.  "for" names the recipient only when there is exactly one,
 * so that other recipients (Bcc) are not disclosed.
 */
static void
add_received(const struct session *s, struct sbuf *sb, time_t t)
{
	const struct client *c = s->client;

	sb_str(sb, "Received: from ");
	sb_str(sb, s->helo);
	if (c->ip[0] != '\0') {
		sb_str(sb, " (");
		if (c->name[0] != '\0') {
			sb_str(sb, c->name);
			sb_str(sb, " ");
		}
		add_literal(sb, c->ip);
		sb_str(sb, ")");
	}
	sb_str(sb, "\r\n\tby ");
	sb_str(sb, s->cfg->hostname);
	if (c->local_ip[0] != '\0') {
		sb_str(sb, " (");
		if (c->local_name[0] != '\0') {
			sb_str(sb, c->local_name);
			sb_str(sb, " ");
		}
		add_literal(sb, c->local_ip);
		sb_str(sb, ")");
	}
	sb_str(sb, " with ");
	sb_str(sb, protocol_name(s));
	sb_str(sb, " id ");
	sb_str(sb, s->spool.id);
	if (s->env.nrcpt == 1) {
		sb_str(sb, "\r\n\tfor <");
		sb_add(sb, s->env.first_rcpt.addr, s->env.first_rcpt.len);
		sb_str(sb, ">");
	}
	sb_str(sb, "; ");
	add_date(sb, t);
	sb_str(sb, "\r\n");
}

/* write_head - the envelope block, the empty line, our Received line */
static void
write_head(struct session *s)
{
	char buf[4096];
	struct sbuf sb;
	struct envelope_meta m;
	time_t t = time(NULL);

	m.id = s->spool.id;
	m.arrival = (long long)t;
	m.client_ip = s->client->ip;
	m.client_port = s->client->port;
	m.client_name = s->client->name;
	m.helo = s->helo;
	m.protocol = protocol_name(s);
	m.trusted = s->client->trusted;
	sb_init(&sb, buf, sizeof buf);
	envelope_header(&s->env, &m, &sb);
	spool_write(&s->spool, buf, sb.len);
	spool_write(&s->spool, s->env.rcpts, s->env.rcpts_len);
	sb_init(&sb, buf, sizeof buf);
	sb_str(&sb, "\n");
	add_received(s, &sb, t);
	spool_write(&s->spool, buf, sb.len);
}

/* refusal_for - the reply for a message whose data was bad */
static enum reply_id
refusal_for(unsigned flags)
{
	if (flags & DATA_BARENL)
		return R_MSG_BARENL;
	if (flags & DATA_NUL)
		return R_MSG_NUL;
	if (flags & DATA_TOOBIG)
		return R_MSG_TOOBIG;
	return R_MSG_LOOP;
}

/* log_queued - one line per message accepted */
static void
log_queued(struct session *s, const struct data_result *res)
{
	struct logline ll;

	log_begin(&s->log, &ll, "queued");
	log_str(&ll, "id", s->spool.id);
	log_bytes(&ll, "from", s->env.sender.addr, s->env.sender.len);
	log_num(&ll, "rcpts", s->env.nrcpt);
	log_num(&ll, "size", res->size);
	log_end(&s->log, &ll);
}

/* log_spool_error - why a message could not be queued */
static void
log_spool_error(struct session *s, const char *step, int err)
{
	struct logline ll;

	log_begin(&s->log, &ll, "spool-error");
	log_str(&ll, "step", step);
	log_str(&ll, "error", strerror(err));
	log_end(&s->log, &ll);
}

/* spool_failed - 451 or, when out of space, 452 (RFC 3463 4.3.1) */
static void
spool_failed(struct session *s, const char *step, int err)
{
	log_spool_error(s, step, err);
	s->refused++;
	session_reply(s, err == ENOSPC || err == EDQUOT ?
	    R_SPOOL_FULL : R_SPOOL_FAIL, NULL);
}

/* finish_message - after CRLF.CRLF: refuse, or commit and say 250 */
static void
finish_message(struct session *s, const struct data_result *res)
{
	char limit[24];
	struct sbuf sb;

	if (res->flags != 0) {
		spool_abort(&s->spool);
		s->refused++;
		sb_init(&sb, limit, sizeof limit);
		sb_num(&sb, s->cfg->max_size);
		session_reply(s, refusal_for(res->flags), limit);
		return;
	}
	if (spool_commit(&s->spool) < 0) {
		spool_failed(s, "commit", errno);
		return;
	}
	s->queued++;
	log_queued(s, res);
	session_reply(s, R_QUEUED, s->spool.id);
}

/* timed_out - 421 for the idle limit or the session cap, then close */
static void
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

/* data_ended - the session ends inside DATA: EOF, timeout or error */
static void
data_ended(struct session *s, int r)
{
	spool_abort(&s->spool);
	if (r == IO_TIMEOUT)
		timed_out(s);
	else {
		s->end_reason = r == IO_EOF ? "eof-in-data" : "io-error";
		s->closing = 1;
	}
}

/* cmd_data - RFC 5321 4.1.1.4: spool the message, then answer */
static void
cmd_data(struct session *s, const char *arg, const char *end)
{
	struct data_result res;
	int r;

	if (skip_spaces(arg, end) != end) {
		session_reply(s, R_NO_ARGS, NULL);
		return;
	}
	if (s->env.nrcpt == 0) {
		session_reply(s, s->rcpt_refused > 0 ? R_NO_VALID_RCPT :
		    R_SEQ_DATA, NULL);
		return;
	}
	if (!spool_space_ok(&s->spool, s->env.mp.size)) {
		session_reply(s, R_NO_SPACE, NULL);
		return;
	}
	if (spool_begin(&s->spool) < 0) {
		spool_failed(s, "create", s->spool.err);
		return;
	}
	write_head(s);
	session_reply(s, R_START_DATA, NULL);
	r = data_receive(&s->io, &s->spool, s->cfg->max_size,
	    (unsigned)s->cfg->lf, &res);
	if (r != IO_OK)
		data_ended(s, r);
	else
		finish_message(s, &res);
	reset_transaction(s);
}

/* no_args - reply 501 unless the rest of the line is empty */
static int
no_args(struct session *s, const char *arg, const char *end)
{
	if (skip_spaces(arg, end) == end)
		return 1;
	session_reply(s, R_NO_ARGS, NULL);
	return 0;
}

/* cmd_rset - RFC 5321 4.1.1.5 */
static void
cmd_rset(struct session *s, const char *arg, const char *end)
{
	if (!no_args(s, arg, end))
		return;
	reset_transaction(s);
	session_reply(s, R_RESET, NULL);
}

/* cmd_noop - RFC 5321 4.1.1.9: any argument is ignored */
static void
cmd_noop(struct session *s, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	session_reply(s, R_DONE, NULL);
}

/* cmd_quit - RFC 5321 4.1.1.10 */
static void
cmd_quit(struct session *s, const char *arg, const char *end)
{
	if (!no_args(s, arg, end))
		return;
	s->end = END_QUIT;
	s->end_reason = "quit";
	session_reply(s, R_BYE, NULL);
}

/* cmd_vrfy - RFC 5321 3.5.3: we do not disclose mailboxes: 252 */
static void
cmd_vrfy(struct session *s, const char *arg, const char *end)
{
	if (skip_spaces(arg, end) == end) {
		session_reply(s, R_NEED_ARG, NULL);
		return;
	}
	session_reply(s, R_VRFY, NULL);
}

/* cmd_help - RFC 5321 4.1.1.8 */
static void
cmd_help(struct session *s, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	session_reply(s, R_HELP, NULL);
}

/* cmd_unimpl - a known command we do not offer: 502 */
static void
cmd_unimpl(struct session *s, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	session_reply(s, R_NOT_IMPL, NULL);
}

/* cmd_forbidden - HTTP or mail headers sent as commands: hang up */
static void
cmd_forbidden(struct session *s, const char *arg, const char *end)
{
	(void)arg;
	(void)end;
	s->end_reason = "not-smtp";
	session_reply(s, R_FORBIDDEN, NULL);
}

/* find_command - the table row for a verb, NULL if unknown */
static const struct command *
find_command(const char *verb, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strlen(commands[i].verb) == n &&
		    strncasecmp(commands[i].verb, verb, n) == 0)
			return &commands[i];
	return NULL;
}

/*
 * looks_like_header - a mail header sent as a command: a first word
 * ending in ':', or a well-known field name and ':' ("Received:from").
 * A client that does this is not speaking SMTP, or lost track of DATA.
 */
static int
looks_like_header(const char *w, size_t n)
{
	static const char *const fields[] = {
		"Received:", "From:", "To:", "Subject:", "Date:", "Message-ID:",
		"Return-Path:", "Host:", "User-Agent:", "Content-Type:",
		"MIME-Version:",
	};
	size_t i, k;

	if (n > 0 && w[n - 1] == ':')
		return 1;
	for (i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		k = strlen(fields[i]);
		if (n > k && strncasecmp(w, fields[i], k) == 0)
			return 1;
	}
	return 0;
}

/* has_control - NUL, CR or another control octet in a command line */
static int
has_control(const char *p, size_t n)
{
	for (; n > 0; p++, n--)
		if ((unsigned char)*p < 0x20 ? *p != '\t' : *p == 0x7f)
			return 1;
	return 0;
}

/* dispatch - run one complete command line */
static void
dispatch(struct session *s)
{
	const char *p = s->line, *end = s->line + s->line_len, *v_end = p;
	const struct command *cmd;

	while (v_end < end && *v_end != ' ')
		v_end++;
	cmd = find_command(p, (size_t)(v_end - p));
	if (s->line_len > (cmd != NULL && cmd->run == cmd_rcpt ?
	    RCPT_LINE_MAX : CMD_LINE_MAX))
		session_reply(s, R_TOOLONG, NULL);
	else if (has_control(p, s->line_len))
		session_reply(s, R_BADCHAR, NULL);
	else if (cmd == NULL && looks_like_header(p, (size_t)(v_end - p)))
		cmd_forbidden(s, v_end, end);
	else if (cmd == NULL)
		session_reply(s, R_UNKNOWN, NULL);
	else if ((cmd->states & s->state) == 0)
		session_reply(s, s->state == S_GREET ? R_SEQ_HELO :
		    cmd->out_of_order, NULL);
	else
		cmd->run(s, v_end, end);
}

/* log_disconnect - the session's end, with its counters */
static void
log_disconnect(struct session *s)
{
	struct logline ll;

	log_begin(&s->log, &ll, "disconnect");
	log_str(&ll, "reason", s->end_reason);
	log_num(&ll, "queued", s->queued);
	log_num(&ll, "refused", s->refused);
	log_num(&ll, "errors", s->errors);
	log_num(&ll, "bytes_in", s->io.bytes_in);
	log_num(&ll, "bytes_out", s->io.bytes_out);
	log_end(&s->log, &ll);
}

/* log_connect - who connected, and whether we trust them */
static void
log_connect(struct session *s)
{
	struct logline ll;

	log_begin(&s->log, &ll, "connect");
	if (s->client->port[0] != '\0')
		log_str(&ll, "port", s->client->port);
	if (s->client->name[0] != '\0')
		log_str(&ll, "name", s->client->name);
	log_str(&ll, "trusted", s->client->trusted ? "yes" : "no");
	log_end(&s->log, &ll);
}

/* read_failed - the command reader hit EOF, a timeout or an error */
static void
read_failed(struct session *s, int r)
{
	if (r == LINE_TIMEOUT) {
		timed_out(s);
		return;
	}
	s->end_reason = r == LINE_EOF ? "eof" : "io-error";
	s->closing = 1;
}

/*
 * session_refuse - answer 421 at greeting time because our side is not
 * usable (queue, configuration); logs why.  Returns the exit status.
 */
int
session_refuse(struct session *s, const char *what, const char *detail,
    int err)
{
	struct logline ll;

	log_begin(&s->log, &ll, "unavailable");
	log_str(&ll, "what", what);
	log_str(&ll, "detail", detail);
	if (err != 0)
		log_str(&ll, "error", strerror(err));
	log_end(&s->log, &ll);
	s->end_reason = "unavailable";
	session_reply(s, R_UNAVAILABLE, NULL);
	(void)io_flush(&s->io);
	log_disconnect(s);
	return END_TEMPFAIL;
}

/* session_run - greet, then read and run commands until the end */
int
session_run(struct session *s)
{
	static const char *const steps[] = { "", "mkdir", "open", "access" };
	int r, step = 0;

	log_connect(s);
	if (spool_open(&s->spool, s->cfg->queue, s->cfg->hostname,
	    &step) < 0)
		return session_refuse(s, s->cfg->queue, steps[step], errno);
	session_reply(s, R_GREETING, NULL);
	while (!s->closing) {
		s->line_len = 0;
		r = io_readline(&s->io, s->line, sizeof s->line,
		    &s->line_len);
		if (r == LINE_OK)
			dispatch(s);
		else if (r == LINE_TOOLONG)
			session_reply(s, R_TOOLONG, NULL);
		else if (r == LINE_BARELF)
			session_reply(s, R_BARELF, NULL);
		else
			read_failed(s, r);
	}
	(void)io_flush(&s->io);
	log_disconnect(s);
	return s->end;
}
