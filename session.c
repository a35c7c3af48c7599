/*
 * session.c - the SMTP state machine (RFC 5321, with RFC 1870 SIZE,
 * 2920 PIPELINING, 3461 DSN, 6152 8BITMIME, 6531 SMTPUTF8, 2034 codes).
 * One table says which command runs in which state; handlers check
 * arguments, never ordering.  Greets (after checks.c's verdicts), reads
 * each command line and dispatches it.  Every reply goes through
 * chat.c's session_reply(); the mail transaction itself (MAIL, RCPT,
 * DATA) is transaction.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "chat.h"
#include "filter.h"
#include "auth.h"
#include "bdat.h"
#include "checks.h"
#include "starttls.h"
#include "transaction.h"
#include "words.h"

struct command {
	const char *verb;
	void	 (*run)(struct session *, const char *, const char *);
	unsigned states;		/* where it may run */
	enum reply_id out_of_order;	/* the 503 otherwise */
};

static void cmd_helo(struct session *, const char *, const char *);
static void cmd_ehlo(struct session *, const char *, const char *);
static void cmd_rset(struct session *, const char *, const char *);
static void cmd_noop(struct session *, const char *, const char *);
static void cmd_quit(struct session *, const char *, const char *);
static void cmd_vrfy(struct session *, const char *, const char *);
static void cmd_help(struct session *, const char *, const char *);
static void cmd_unimpl(struct session *, const char *, const char *);
static void cmd_forbidden(struct session *, const char *, const char *);
static void cmd_unknown(struct session *);

static const struct command commands[] = {	/* the busiest first */
	{ "RCPT", cmd_rcpt, S_MAIL | S_RCPT, R_SEQ_RCPT },
	{ "MAIL", cmd_mail, S_READY, R_SEQ_MAIL },
	{ "DATA", cmd_data, S_MAIL | S_RCPT, R_SEQ_RCPT },
	{ "HELO", cmd_helo, S_ANY, R_DONE },
	{ "EHLO", cmd_ehlo, S_ANY, R_DONE },
	{ "RSET", cmd_rset, S_ANY, R_DONE },
	{ "NOOP", cmd_noop, S_ANY, R_DONE },
	{ "QUIT", cmd_quit, S_ANY | S_REFUSED, R_DONE },
	{ "VRFY", cmd_vrfy, S_ANY, R_DONE },
	{ "HELP", cmd_help, S_ANY, R_DONE },
	{ "EXPN", cmd_unimpl, S_ANY, R_DONE },
	{ "TURN", cmd_unimpl, S_ANY, R_DONE },
	{ "ETRN", cmd_unimpl, S_ANY, R_DONE },
	{ "ATRN", cmd_unimpl, S_ANY, R_DONE },
	{ "SEND", cmd_unimpl, S_ANY, R_DONE },
	{ "SOML", cmd_unimpl, S_ANY, R_DONE },
	{ "SAML", cmd_unimpl, S_ANY, R_DONE },
	{ "BDAT", cmd_bdat, S_ANY | S_REFUSED, R_DONE },
	{ "AUTH", cmd_auth, S_READY, R_SEQ_AUTH },
	{ "STARTTLS", cmd_starttls, S_ANY, R_DONE },
	{ "VERB", cmd_unimpl, S_ANY, R_DONE },
	{ "GET", cmd_forbidden, S_ANY, R_DONE },
	{ "POST", cmd_forbidden, S_ANY, R_DONE },
	{ "HEAD", cmd_forbidden, S_ANY, R_DONE },
	{ "PUT", cmd_forbidden, S_ANY, R_DONE },
	{ "CONNECT", cmd_forbidden, S_ANY, R_DONE },
	{ "OPTIONS", cmd_forbidden, S_ANY, R_DONE },
	{ "DELETE", cmd_forbidden, S_ANY, R_DONE },
};

/* the EHLO keywords after the first line and SIZE (RFC 5321 4.1.1.1) */
static const char *const ehlo_keywords[] = {
	"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "DSN",
	"CHUNKING", "BINARYMIME",
};

/* session_init - a fresh session on the client's fds */
void
session_init(struct session *s, const struct config *cfg,
    const struct client *client, const struct conn *conn)
{
	s->cfg = cfg;
	s->client = client;
	s->state = S_GREET;
	s->esmtp = 0;
	s->closing = 0;
	s->end = END_CLIENT;
	s->end_reason = "eof";
	s->errors = s->rcpt_refused = s->overshoot = 0;
	s->relay_granted = 0;
	s->auth_user[0] = '\0';
	s->auth_mech = "";
	s->auth_fails = 0;
	s->queued = s->refused = 0;
	s->helo[0] = '\0';
	s->chunks.open = 0;
	s->pid = getpid();
	memset(&s->tls, 0, sizeof s->tls);
	s->tls_link = NULL;
	log_init(&s->log, cfg->log_mode, s->pid,
	    client->ip[0] != '\0' ? client->ip :
	    client->unix_peer ? "unix" : "local");
	envelope_init(&s->env);
	s->spool.tmpfd = s->spool.newfd = s->spool.fd = -1;
	io_init(&s->io, conn, cfg->timeout, cfg->session_max);
	s->io.lf_ok = cfg->lf;
	s->commit.n = 0;
	s->clock.sec = -1;
	s->head.client_len = 0;
	milters_init(&s->milters, cfg, &s->log);
	s->milter_tx = s->milter_discard = 0;
}

/* session_free - release what the session holds */
void
session_free(struct session *s)
{
	filter_quit(s);
	spool_close(&s->spool);
	envelope_free(&s->env);
	tls_finish(s->tls_link, NULL);
	s->tls_link = NULL;
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
		    memchr(".-_:[]", c, 6) != NULL))
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
	if (filter_helo(s)) {
		s->helo[0] = '\0';
		return 0;
	}
	s->head.client_len = 0;		/* the heads name the new HELO */
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
	char size[32], limits[64];
	struct sbuf sb;
	size_t i;

	if (!take_helo(s, arg, end))
		return;
	s->esmtp = 1;
	sb_init(&sb, limits, sizeof limits);	/* RFC 9422 */
	sb_str(&sb, "LIMITS RCPTMAX=");
	sb_num(&sb, s->cfg->max_rcpt);
	sb_str(&sb, " MAILMAX=");
	sb_num(&sb, s->cfg->max_messages);
	sb_init(&sb, size, sizeof size);
	sb_str(&sb, "SIZE");
	if (s->cfg->max_size != 0) {
		sb_add(&sb, " ", 1);
		sb_num(&sb, s->cfg->max_size);
	}
	chat_room(s, REPLY_LINE_MAX * 2);	/* the whole answer */
	(void)reply_line(&s->io, 250, 1, NULL, s->cfg->hostname);
	(void)reply_line(&s->io, 250, 1, NULL, size);
	for (i = 0; i < sizeof ehlo_keywords / sizeof ehlo_keywords[0]; i++)
		(void)reply_line(&s->io, 250, 1, NULL, ehlo_keywords[i]);
	if (starttls_offered(s))
		(void)reply_line(&s->io, 250, 1, NULL, "STARTTLS");
	if (s->tls.active)			/* RFC 8689: only under TLS */
		(void)reply_line(&s->io, 250, 1, NULL, "REQUIRETLS");
	if (auth_offered(s))
		(void)reply_line(&s->io, 250, 1, NULL, "AUTH PLAIN LOGIN");
	(void)reply_line(&s->io, 250, 1, NULL, limits);
	(void)reply_line(&s->io, 250, 0, NULL, "HELP");
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

/*
 * cmd_unknown - a verb we do not know: the mail filters hear of it
 * first (UNKNOWN), and one may answer it; else 500
 */
static void
cmd_unknown(struct session *s)
{
	if (filter_unknown(s) == 0)
		session_reply(s, R_UNKNOWN, NULL);
}

/* verb_is - the n octets at in are verb (upper case) in any case */
static int
verb_is(const char *verb, const char *in, size_t n)
{
	uint32_t a, b;

	if (n == 4) {		/* most verbs: compared as one word */
		if (verb[3] == '\0' || verb[4] != '\0')
			return 0;
		memcpy(&a, verb, 4);
		memcpy(&b, in, 4);
		return (b & 0xdfdfdfdfu) == a;	/* verbs are all letters */
	}
	return strlen(verb) == n && same_word(verb, in, n);
}

/* find_command - the table row for a verb, NULL if unknown */
static const struct command *
find_command(const char *verb, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (verb_is(commands[i].verb, verb, n))
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

#define ONES	0x0101010101010101ull

/* word_control - some octet below 0x20 or DEL in the 8 at p (TAB too) */
static int
word_control(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return (((v - ONES * 0x20) | ((v ^ ONES * 0x7f) - ONES)) & ~v &
	    ONES * 0x80) != 0;
}

/*
 * has_control - NUL, CR or another control octet (but TAB) in a command
 * line.  Eight octets a step, the last step overlapping the one before:
 * only a line with a control octet or TAB is looked at octet by octet.
 */
static int
has_control(const char *p, size_t n)
{
	size_t i = 0;

	if (n >= 8) {
		for (; i + 8 <= n; i += 8)
			if (word_control(p + i))
				break;
		if (i + 8 > n && !word_control(p + n - 8))
			return 0;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] < 0x20 ? p[i] != '\t' : p[i] == 0x7f)
			return 1;
	return 0;
}

/* out_of_order - the 503 for a command the state does not allow */
static enum reply_id
out_of_order(const struct session *s, const struct command *cmd)
{
	if (s->state == S_REFUSED)
		return R_NO_SERVICE;
	if (s->state == S_BDAT)		/* MAIL, RCPT, DATA, AUTH */
		return R_SEQ_BDAT;
	return s->state == S_GREET ? R_SEQ_HELO : cmd->out_of_order;
}

/* line_max - the longest line a command may have (RFC 5321, 3461, 4954) */
static size_t
line_max(const struct command *cmd)
{
	if (cmd != NULL && cmd->run == cmd_rcpt)
		return RCPT_LINE_MAX;
	if (cmd != NULL && cmd->run == cmd_auth)
		return AUTH_LINE_MAX;
	return CMD_LINE_MAX;
}

/*
 * line_refused - a line not run: its reply, and for a BDAT line the end
 * of the session, since where its chunk ends cannot be known
 */
static void
line_refused(struct session *s, const struct command *cmd, enum reply_id id)
{
	if (cmd != NULL && cmd->run == cmd_bdat)
		bdat_garbled(s, id);
	else
		session_reply(s, id, NULL);
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
	if (s->state == S_REFUSED && (cmd == NULL || (cmd->run != cmd_quit &&
	    cmd->run != cmd_bdat)))		/* BDAT: its octets are read */
		session_reply(s, R_NO_SERVICE, NULL);	/* RFC 5321 3.1 */
	else if (s->line_len > line_max(cmd))
		line_refused(s, cmd, R_TOOLONG);
	else if (has_control(p, s->line_len))
		line_refused(s, cmd, R_BADCHAR);
	else if (cmd == NULL && looks_like_header(p, (size_t)(v_end - p)))
		cmd_forbidden(s, v_end, end);
	else if (cmd == NULL)
		cmd_unknown(s);
	else if ((cmd->states & s->state) == 0)
		session_reply(s, out_of_order(s, cmd), NULL);
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
	if (s->client->via_proxy) {		/* a balancer's PROXY header */
		log_str(&ll, "via", s->client->via);
		log_num(&ll, "proxy", (unsigned)s->client->proxy_version);
	}
	log_str(&ll, "trusted", s->client->trusted ? "yes" : "no");
	log_end(&s->log, &ll);
}

/* read_failed - the command reader hit EOF, a timeout or an error */
static void
read_failed(struct session *s, int r)
{
	if (s->closing)			/* the reason is known already */
		return;
	if (r == LINE_TIMEOUT) {
		timed_out(s);
		return;
	}
	s->end_reason = r == LINE_EOF ? "eof" : "io-error";
	s->closing = 1;
}

/*
 * session_refuse - answer 421 at greeting time because our side is not
 * usable (queue, configuration, TLS files); logs why.  Under
 * --tls-implicit before the handshake nothing is sent.  Returns the
 * exit status.
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
	if (!s->cfg->tls.implicit || s->tls.active) {
		session_reply(s, R_UNAVAILABLE, NULL);
		(void)io_flush(&s->io);
	}		/* else a TLS client: not a word of plain text */
	s->end_reason = "unavailable";
	log_disconnect(s);
	return END_TEMPFAIL;
}

/*
 * check_client - --check-client at connect, before the greeting.
 * Reject: a 554 greeting and only QUIT after it (RFC 5321 3.1); defer
 * or failure: 421 and close.  1 when it answered.
 */
static int
check_client(struct session *s)
{
	char text[HOOK_TEXT_MAX + 1];
	struct check_facts f;
	enum hook_verdict v;

	if (s->cfg->check_client == NULL)
		return 0;
	f.cfg = s->cfg;
	f.client = s->client;
	f.helo = f.sender = "";
	f.log = &s->log;
	f.tls = &s->tls;
	f.auth_user = s->auth_user;
	f.seconds_left = io_seconds_left(&s->io);
	v = check_program(&f, s->cfg->check_client, "connect",
	    s->client->ip[0] != '\0' ? s->client->ip : "local", text,
	    sizeof text);
	if (v == HOOK_ACCEPT)
		return 0;
	if (v == HOOK_REJECT) {
		session_reply(s, R_CLIENT_REJECT, text);
		session_enter(s, S_REFUSED);
		return 1;
	}
	s->end_reason = "client-check";
	session_reply(s, R_CLIENT_TEMP, v == HOOK_TEMPFAIL ? text :
	    "local policy check failed, try again later");
	return 1;
}

/*
 * greet - the greeting, unless the client check or a client that talks
 * first (RFC 5321 4.3.1; after --greet-delay) says otherwise
 */
static void
greet(struct session *s)
{
	unsigned delay = s->cfg->greet_delay, left;

	if (check_client(s) || filter_connect(s))
		return;
	left = io_seconds_left(&s->io);		/* never past the cap */
	/* under implicit TLS the socket holds TLS records, not commands:
	 * readable says nothing about a client talking first */
	if (check_early_talker(s->io.in, s->io.in_sock && !s->tls.active,
	    delay < left ? delay : left)) {
		s->end_reason = "early-talker";
		session_reply(s, R_EARLY_TALKER, NULL);
		return;
	}
	session_reply(s, R_GREETING, NULL);
}

/*
 * read_command - the next command line.  With messages held, a line
 * that is not whole in the buffer would mean a read that may block, and
 * replies going out first: settle them (group commit), then wait.
 */
static int
read_command(struct session *s)
{
	int r;

	r = io_readline(&s->io, s->line, sizeof s->line, &s->line_len,
	    !commit_pending(&s->commit));
	if (r != LINE_AGAIN)
		return r;
	session_settle(s);
	if (s->closing)			/* a 250 could not be taken back */
		return LINE_ERROR;
	return io_readline(&s->io, s->line, sizeof s->line, &s->line_len, 1);
}

/* session_run - greet, then read and run commands until the end */
int
session_run(struct session *s)
{
	static const char *const steps[] = { "", "mkdir", "open", "access" };
	int r, step = 0;

	log_connect(s);
	if (spool_open(&s->spool, s->cfg->queue, s->cfg->hostname, s->pid,
	    &step) < 0)
		return session_refuse(s, s->cfg->queue, steps[step], errno);
	if (s->cfg->tls.bad_file != NULL)
		return session_refuse(s, s->cfg->tls.bad_file, "tls-file",
		    s->cfg->tls.bad_errno);
	if (!s->cfg->tls.implicit || starttls_implicit(s) == 0)
		greet(s);
	while (!s->closing) {
		s->line_len = 0;
		s->line_hidden = s->hide_next_line;
		s->hide_next_line = 0;
		r = read_command(s);
		if (r == LINE_OK)
			dispatch(s);
		else if (r == LINE_TOOLONG)
			session_reply(s, R_TOOLONG, NULL);
		else if (r == LINE_BARELF && bdat_line(s->line, s->line_len))
			bdat_garbled(s, R_BARELF);
		else if (r == LINE_BARELF)
			session_reply(s, R_BARELF, NULL);
		else
			read_failed(s, r);
	}
	session_settle(s);
	if (io_flush(&s->io) == IO_OK) {
		starttls_end(s);		/* close_notify first */
		if (s->end != END_QUIT)
			io_linger(&s->io);
	}
	log_disconnect(s);
	return s->end;
}
