/*
 * transaction.c - one mail transaction: MAIL, RCPT and DATA (RFC 5321
 * 4.1.1.2-4.1.1.4), from the envelope to a complete queue file.  BDAT
 * (bdat.c) shares the start and the end of a message with DATA.
 * Decides relaying (policy.c, checks.c), has head.c write the head,
 * runs the DATA loop (data.c), and holds each complete message with its
 * 250 for group commit (commit.c): no 250 leaves before the file and its
 * name in new/ are durable.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addr.h"
#include "chat.h"
#include "filter.h"
#include "checks.h"
#include "data.h"
#include "head.h"
#include "transaction.h"
#include "words.h"

/* after_keyword - arg must start with kw ("FROM:"/"TO:"); the rest */
static const char *
after_keyword(const char *arg, const char *end, const char *kw)
{
	size_t n = strlen(kw);

	arg = skip_spaces(arg, end);
	if ((size_t)(end - arg) < n || !same_word(kw, arg, n))
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
static enum reply_id
check_sender_params(struct session *s, const struct path *from,
    struct mail_params *mp)
{
	if (mp->requiretls && !s->tls.active)	/* offered only under TLS */
		return R_PARAM_UNKNOWN;
	if (mp->auth[0] != '\0' && s->cfg->auth_backend == NULL)
		return R_PARAM_UNKNOWN;		/* AUTH is not offered */
	if (mp->auth[0] != '\0' && s->auth_user[0] == '\0')
		memcpy(mp->auth, "<>", 3);	/* RFC 4954 5: not trusted */
	if (from->utf8 && !mp->smtputf8)
		return R_NEED_UTF8;
	if (mp->has_size && s->cfg->max_size != 0 &&
	    mp->size > s->cfg->max_size)
		return R_SIZE_LIMIT;
	if (mp->has_size && !spool_space_ok(&s->spool, mp->size))
		return R_NO_SPACE;
	return R_SENDER_OK;
}

/*
 * run_check - a policy program for stage: R_DONE to go on, else the
 * refusal, its text (the program's words, or ours) in text
 */
static enum reply_id
run_check(struct session *s, const char *prog, const char *stage,
    const char *arg, char *text)
{
	struct check_facts f;

	f.cfg = s->cfg;
	f.client = s->client;
	f.helo = s->helo;
	f.sender = s->env.sender.addr;
	f.log = &s->log;
	f.tls = &s->tls;
	f.auth_user = s->auth_user;
	f.seconds_left = io_seconds_left(&s->io);
	switch (check_program(&f, prog, stage, arg, text, HOOK_TEXT_MAX + 1)) {
	case HOOK_ACCEPT: return R_DONE;
	case HOOK_REJECT: return R_CHECK_REJECT;
	case HOOK_TEMPFAIL: return R_CHECK_TEMP;
	default: return R_CHECK_FAILED;
	}
}

/* mailbox_reply - what the --recipients list's verdict means here */
static enum reply_id
mailbox_reply(enum mailbox_verdict v)
{
	switch (v) {
	case MBOX_VALID: return R_RCPT_OK;
	case MBOX_UNKNOWN: return R_NO_MAILBOX;
	case MBOX_ERROR: return R_LIST_FAILED;
	default: return R_DONE;
	}
}

/*
 * grants_relay - a --check-sender program that accepts with "RELAY" as
 * the first word of its output lets this transaction relay (a client
 * known by its TLS certificate, say: SMTPD_TLS_PEER_CERT_HASH)
 */
static int
grants_relay(const char *text)
{
	return strncasecmp(text, "RELAY", 5) == 0 &&
	    (text[5] == '\0' || text[5] == ' ');
}

/* check_mail - parse and judge one MAIL: R_SENDER_OK or the refusal */
static enum reply_id
check_mail(struct session *s, const char *arg, const char *end,
    struct path *from, struct mail_params *mp, char *text,
    const char **params)
{
	const char *p = after_keyword(arg, end, "FROM:");
	enum reply_id id;
	int r;

	if (p == NULL)
		return R_SYNTAX;
	if ((r = addr_parse_path(&p, end, ADDR_ALLOW_NULL, from)) != ADDR_OK)
		return path_reply(r, 1);
	*params = p;
	if (!s->esmtp && skip_spaces(p, end) != end)
		return R_PARAM_NO_EHLO;
	if ((r = addr_parse_mail_params(p, end, mp)) != PARAM_OK)
		return param_reply(r);
	if ((id = check_sender_params(s, from, mp)) != R_SENDER_OK)
		return id;
	if (s->cfg->check_sender != NULL) {
		if ((id = run_check(s, s->cfg->check_sender, "mail",
		    from->addr, text)) != R_DONE)
			return id;
		s->relay_granted = grants_relay(text);
	}
	return R_SENDER_OK;
}

/* copy_params - the ESMTP parameters' text, NUL-ended, for the filters */
static void
copy_params(char *out, size_t cap, const char *p, const char *end)
{
	size_t n = (size_t)(end - p);

	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* cmd_mail - RFC 5321 4.1.1.2 with SIZE, BODY, SMTPUTF8, RET, ENVID */
void
cmd_mail(struct session *s, const char *arg, const char *end)
{
	char text[HOOK_TEXT_MAX + 1], params[CMD_LINE_MAX + 1];
	const char *pp = end;
	struct sbuf sb;
	enum reply_id id;

	if (s->cfg->tls.require && !s->tls.active) {
		session_reply(s, R_NEED_TLS, NULL);
		return;
	}
	if (s->cfg->require_auth && s->auth_user[0] == '\0') {
		session_reply(s, R_NEED_AUTH, NULL);
		return;
	}
	if (s->queued + s->commit.n >= s->cfg->max_messages) {
		s->end_reason = "too-many-messages";
		session_reply(s, R_TOO_MANY_MSGS, NULL);
		return;
	}
	text[0] = '\0';
	id = check_mail(s, arg, end, &s->env.sender, &s->env.mp, text, &pp);
	if (id == R_SIZE_LIMIT) {
		sb_init(&sb, text, sizeof text);
		sb_num(&sb, s->cfg->max_size);
	}
	if (id != R_SENDER_OK) {
		envelope_reset(&s->env);	/* no sender after all */
		session_reply(s, id, text[0] != '\0' ? text : NULL);
		return;
	}
	copy_params(params, sizeof params, pp, end);
	if (filter_mail(s, params)) {
		envelope_reset(&s->env);
		return;
	}
	session_enter(s, S_MAIL);
	session_reply(s, R_SENDER_OK, NULL);
}

/*
 * may_relay - a trusted client, an authenticated one (RFC 4954), or
 * one --check-sender let relay
 */
static int
may_relay(const struct session *s)
{
	return s->client->trusted || s->auth_user[0] != '\0' ||
	    s->relay_granted;
}

/*
 * relay_allowed - may this client send to rcpt?  Trusted clients: any.
 * Others: the listed domains only.  Never an open relay, even with no
 * domain set.  (Our host name counts only for postmaster.)
 */
static int
relay_allowed(const struct session *s, const struct path *rcpt)
{
	if (may_relay(s))
		return 1;
	return rcpt->domain_off != 0 && policy_domain_listed(&s->cfg->domains,
	    rcpt->addr + rcpt->domain_off, rcpt->len - rcpt->domain_off);
}

/*
 * judge_rcpt - may mail go to this syntactically valid recipient?
 * The --recipients list first (listed: yes, unknown in a listed domain:
 * 550 5.1.1), else relay rules; postmaster (RFC 5321 4.5.1) bare or at
 * any domain we serve always; then the --check-recipient program.
 * Routing in the local part (% ! @: a relay further on may honour it)
 * only from trusted clients or for an address listed as it is.
 */
static enum reply_id
judge_rcpt(struct session *s, const struct path *to, char *text)
{
	int routed = !may_relay(s) && addr_is_routed(to);
	enum reply_id id = mailbox_reply(check_mailbox(s->cfg, to, routed));

	if (routed && id != R_RCPT_OK && id != R_LIST_FAILED)
		id = R_ROUTING_DENIED;
	else if (id == R_DONE && !relay_allowed(s, to))
		id = R_RELAY_DENIED;
	if (addr_is_postmaster(to) && (to->domain_off == 0 ||
	    id == R_NO_MAILBOX || policy_is_ours(&s->cfg->domains,
	    s->cfg->hostname, to->addr + to->domain_off,
	    to->len - to->domain_off)))
		id = R_DONE;
	if (id != R_DONE && id != R_RCPT_OK)
		return id;
	if (s->cfg->check_recipient != NULL &&
	    (id = run_check(s, s->cfg->check_recipient, "rcpt", to->addr,
	    text)) != R_DONE)
		return id;
	return R_RCPT_OK;
}

/* check_rcpt - parse and judge one RCPT: R_RCPT_OK or the refusal */
static enum reply_id
check_rcpt(struct session *s, const char *arg, const char *end,
    struct path *to, struct rcpt_params *rp, char *text,
    const char **params)
{
	const char *p = after_keyword(arg, end, "TO:");
	int r;

	if (p == NULL)
		return R_SYNTAX;
	if ((r = addr_parse_path(&p, end, ADDR_ALLOW_POSTMASTER, to)) !=
	    ADDR_OK)
		return path_reply(r, 0);
	*params = p;
	if (!s->esmtp && skip_spaces(p, end) != end)
		return R_PARAM_NO_EHLO;
	if ((r = addr_parse_rcpt_params(p, end, rp)) != PARAM_OK)
		return param_reply(r);
	if (to->utf8 && !s->env.mp.smtputf8)
		return R_NEED_UTF8;
	if (s->env.nrcpt >= s->cfg->max_rcpt)
		return R_TOO_MANY_RCPT;
	return judge_rcpt(s, to, text);
}

/* add_rcpt - keep an accepted recipient in the envelope, if it fits */
static enum reply_id
add_rcpt(struct session *s, const struct path *to,
    const struct rcpt_params *rp)
{
	switch (envelope_add_rcpt(&s->env, to, rp, s->cfg->max_envelope)) {
	case ENV_ADDED: return R_RCPT_OK;
	case ENV_DUPLICATE: return R_RCPT_DUP;
	case ENV_FULL: return R_ENVELOPE_FULL;
	default: return R_SPOOL_FAIL;
	}
}

/*
 * count_refusal - a refused recipient is an error, whatever its class,
 * so that a client hammering 452s is cut at --max-errors like one
 * collecting 550s.  Only the first RCPT_OVERSHOOT past a recipient limit
 * are free, as Postfix's smtpd_recipient_overshoot_limit: a client that
 * pipelined more recipients than we take (RFC 5321 4.5.3.1.10: it sends
 * the rest later) must not lose its whole transaction to a 421.
 */
static void
count_refusal(struct session *s, enum reply_id id)
{
	if (reply_get(id)->flags & RF_ERROR)
		return;			/* counted by session_reply */
	if ((id == R_TOO_MANY_RCPT || id == R_ENVELOPE_FULL) &&
	    s->overshoot < RCPT_OVERSHOOT) {
		s->overshoot++;
		return;
	}
	session_error(s);
}

/*
 * cmd_rcpt - RFC 5321 4.1.1.3 with NOTIFY and ORCPT.  Refusals are
 * counted so that DATA can tell "all refused" (554) from "none" (503),
 * and as errors (count_refusal).
 */
void
cmd_rcpt(struct session *s, const char *arg, const char *end)
{
	struct path to;
	struct rcpt_params rp;
	char text[HOOK_TEXT_MAX + 1], params[RCPT_LINE_MAX + 1];
	const char *pp = end;
	enum reply_id id;

	text[0] = '\0';
	id = check_rcpt(s, arg, end, &to, &rp, text, &pp);
	if (id == R_RCPT_OK) {
		copy_params(params, sizeof params, pp, end);
		if (filter_rcpt(s, &to, params)) {
			s->rcpt_refused++;
			return;
		}
	}

	if (id == R_RCPT_OK)
		id = add_rcpt(s, &to, &rp);
	if (id == R_RCPT_OK || id == R_RCPT_DUP)
		session_enter(s, S_RCPT);
	else
		s->rcpt_refused++;
	session_reply(s, id, text[0] != '\0' ? text : NULL);
	if (id != R_RCPT_OK && id != R_RCPT_DUP)
		count_refusal(s, id);
}

/* write_head - the spool file's head for this transaction */
static void
write_head(struct session *s)
{
	struct head_facts f;

	f.client = s->client;
	f.helo = s->helo;
	f.hostname = s->cfg->hostname;
	f.esmtp = s->esmtp;
	f.tls = &s->tls;
	f.auth_user = s->auth_user;
	f.auth_in_received = s->cfg->auth_in_received;
	head_write(&s->head, &s->clock, &f, &s->env, &s->spool);
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
		return R_SIZE_LIMIT;
	return R_MSG_LOOP;
}

/* spool_failed - log why the queue failed, and say so */
static void
spool_failed(struct session *s, const char *step, int err)
{
	commit_log_error(&s->log, step, err);
	s->refused++;
	session_reply(s, commit_spool_reply(err), NULL);
}

/*
 * hold_queued - say 250 for a complete message, held in the reply
 * buffer until commit_settle() has made it durable in new/.  Room for
 * the whole line is made first (settling what is held, then flushing),
 * so no flush can cut it in two or send it early, and chat_room() in
 * its session_reply() finds room and never settles this hold before
 * its place in the buffer is known.
 */
static void
hold_queued(struct session *s, const struct data_result *res, int fd)
{
	struct held *h;

	if (commit_full(&s->commit) || io_room(&s->io) < REPLY_LINE_MAX) {
		session_settle(s);
		(void)io_flush(&s->io);
	}
	h = commit_hold(&s->commit, s->spool.id, fd);
	h->nrcpt = s->env.nrcpt;
	h->size = res->size;
	h->sender_len = s->env.sender.len;
	memcpy(h->sender, s->env.sender.addr, h->sender_len);
	h->off = s->io.out_len;
	session_reply(s, R_QUEUED, s->spool.id);
	h->len = s->io.out_len - h->off;
}

/*
 * message_end - after CRLF.CRLF or BDAT LAST: refuse, or publish and
 * say 250
 */
void
message_end(struct session *s, const struct data_result *res)
{
	char limit[24];
	struct sbuf sb;
	int fd;

	if (res->flags != 0) {
		filter_abort(s);
		spool_abort(&s->spool);
		s->refused++;
		sb_init(&sb, limit, sizeof limit);
		sb_num(&sb, s->cfg->max_size);
		session_reply(s, refusal_for(res->flags), limit);
		return;
	}
	if (filter_message(s))
		return;
	if (spool_hold(&s->spool, io_buffered(&s->io), &fd) < 0) {
		spool_failed(s, "write", errno);
		return;
	}
	hold_queued(s, res, fd);
}

/*
 * message_cut - the session ends inside a message (DATA or a BDAT
 * chunk): EOF, timeout or error; nothing is kept
 */
void
message_cut(struct session *s, int r, const struct data_result *res)
{
	spool_abort(&s->spool);
	if (res->flags & DATA_SLOW) {
		s->end_reason = "data-too-slow";
		io_grace(&s->io, 10);		/* time to send the 421 */
		session_reply(s, R_DATA_SLOW, NULL);
	} else if (r == IO_TIMEOUT)
		timed_out(s);
	else {
		s->end_reason = r == IO_EOF ? "eof-in-data" : "io-error";
		s->closing = 1;
	}
}

/*
 * receive_data - the message up to CRLF.CRLF into the spool file; held
 * messages are settled before each read that may block, since the 354
 * (and their 250s) go out then
 */
static int
receive_data(struct session *s, const struct data_limits *lim,
    struct data_result *res)
{
	struct data_machine m;
	int r;

	data_begin(&m, &s->spool, lim, res);
	while (!data_feed(&m, &s->io)) {
		if (commit_pending(&s->commit))
			session_settle(s);
		if ((r = data_fill(&m, &s->io)) != IO_OK)
			return r;
	}
	return IO_OK;
}

/*
 * message_begin - the spool file for the transaction's message, with
 * its head: 0, or -1 when refused (replied)
 */
int
message_begin(struct session *s)
{
	if (!spool_space_ok(&s->spool, s->env.mp.size +
	    envelope_octets(&s->env))) {
		session_reply(s, R_NO_SPACE, NULL);
		return -1;
	}
	head_stamp(&s->clock);
	if (spool_begin(&s->spool, s->clock.sec_text, s->clock.sec_len,
	    s->clock.usec) < 0) {
		spool_failed(s, "create", s->spool.err);
		return -1;
	}
	write_head(s);
	return 0;
}

/* message_limits - what the data machine enforces, from the options */
void
message_limits(const struct session *s, struct data_limits *lim)
{
	lim->max_size = s->cfg->max_size;
	lim->min_rate = s->cfg->min_data_rate;
	lim->lf_ok = (unsigned)s->cfg->lf;
}

/* cmd_data - RFC 5321 4.1.1.4: spool the message, then answer */
void
cmd_data(struct session *s, const char *arg, const char *end)
{
	struct data_limits lim;
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
	if (s->env.mp.body == BODY_BINARYMIME) {	/* RFC 3030 3 */
		session_reply(s, R_BINARY_DATA, NULL);
		return;
	}
	if (message_begin(s) < 0)
		return;
	if (filter_data(s)) {
		spool_abort(&s->spool);
		reset_transaction(s);
		return;
	}
	session_reply(s, R_START_DATA, NULL);
	message_limits(s, &lim);
	if ((r = receive_data(s, &lim, &res)) != IO_OK)
		message_cut(s, r, &res);
	else
		message_end(s, &res);
	reset_transaction(s);
}
