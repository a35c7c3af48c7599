/*
 * starttls.c - the session's side of TLS: the STARTTLS command (RFC
 * 3207), TLS before the greeting (RFC 8314 implicit TLS), and the end.
 * tlsio.c does TLS itself; here are the replies, the log records, and
 * what the session forgets once the handshake is done.
 */
#include "chat.h"
#include "starttls.h"
#include "words.h"

/* starttls_offered - does EHLO list STARTTLS now? */
int
starttls_offered(const struct session *s)
{
	return s->cfg->tls.cert != NULL && !s->tls.active;
}

/* log_reason - one log record: event and why */
static void
log_reason(struct session *s, int failed, const char *why)
{
	struct logline ll;

	if (failed)
		log_begin(&s->log, &ll, "tls-failed");
	else
		log_begin(&s->log, &ll, "tls-unavailable");
	log_str(&ll, "reason", why);
	log_end(&s->log, &ll);
}

/* prepare - load libtls and read the files; 0, or -1 (logged) */
static int
prepare(struct session *s)
{
	char why[TLS_WHY_MAX];

	if (tls_prepare(&s->cfg->tls, &s->tls_link, why) == TLS_OK)
		return 0;
	log_reason(s, 0, why);
	return -1;
}

/* log_tls - what the handshake agreed on */
static void
log_tls(struct session *s)
{
	struct logline ll;

	log_begin(&s->log, &ll, "tls");
	log_str(&ll, "version", s->tls.version);
	log_str(&ll, "cipher", s->tls.cipher);
	log_num(&ll, "bits", (unsigned long long)(s->tls.bits > 0 ?
	    s->tls.bits : 0));
	if (s->tls.peer_hash[0] != '\0')
		log_str(&ll, "client_cert", s->tls.peer_hash);
	log_end(&s->log, &ll);
}

/*
 * handshake - TLS on the client's connection; 0, or -1: logged, and
 * the session ends without another word (nothing can be said in plain
 * text to a client that started TLS)
 */
static int
handshake(struct session *s)
{
	char why[TLS_WHY_MAX];

	if (tls_handshake_on(s->tls_link, &s->io, &s->tls, why) == TLS_OK) {
		log_tls(s);
		return 0;
	}
	log_reason(s, 1, why);
	s->end = END_CLIENT;
	s->end_reason = "tls-failed";
	s->closing = 1;
	io_abandon(&s->io);
	return -1;
}

/*
 * drop_pipelined - octets that came after the STARTTLS line were sent
 * in plain text before TLS: never run them under TLS (CVE-2011-0411 and
 * its kin).  They are thrown away and logged.
 */
static void
drop_pipelined(struct session *s)
{
	struct logline ll;
	size_t n = s->io.in_len - s->io.in_pos;

	if (n == 0)
		return;
	s->io.in_pos = s->io.in_len;
	log_begin(&s->log, &ll, "starttls-pipelined");
	log_num(&ll, "octets", n);
	log_end(&s->log, &ll);
}

/*
 * forget - RFC 3207 4.2: after the handshake the client starts over: no
 * HELO/EHLO name, no transaction (the Received and envelope lines are
 * made again, now with TLS)
 */
static void
forget(struct session *s)
{
	session_enter(s, S_GREET);
	reset_transaction(s);
	s->helo[0] = '\0';
	s->esmtp = 0;
	s->auth_user[0] = '\0';	/* an AUTH in plain text is forgotten too */
	s->auth_mech = "";
	s->head.client_len = 0;
}

/*
 * cmd_starttls - RFC 3207: 502 when TLS is not configured, 503 under
 * TLS or inside a transaction, 501 with an argument, 454 when TLS
 * cannot be set up (the session goes on in plain text); else 220 and
 * the handshake
 */
void
cmd_starttls(struct session *s, const char *arg, const char *end)
{
	if (s->cfg->tls.cert == NULL) {
		session_reply(s, R_NOT_IMPL, NULL);
		return;
	}
	if (s->tls.active) {
		session_reply(s, R_TLS_ACTIVE, NULL);
		return;
	}
	if (skip_spaces(arg, end) != end) {
		session_reply(s, R_NO_ARGS, NULL);
		return;
	}
	if (s->state & S_TRANSACTION) {
		session_reply(s, R_SEQ_TLS, NULL);
		return;
	}
	if (s->tls_link == NULL && prepare(s) < 0) {
		session_reply(s, R_TLS_UNAVAILABLE, NULL);
		return;
	}
	drop_pipelined(s);
	session_reply(s, R_TLS_READY, NULL);
	session_settle(s);		/* held 250s: durable before they go */
	if (s->closing || io_flush(&s->io) != IO_OK) {
		s->closing = 1;
		return;
	}
	if (handshake(s) == 0)
		forget(s);
}

/*
 * starttls_implicit - --tls-implicit: the handshake before the
 * greeting.  0, or -1 with the session over: a set-up failure is ours
 * (exit 111), a failed handshake the client's (exit 1).
 */
int
starttls_implicit(struct session *s)
{
	if (prepare(s) < 0) {
		s->end = END_TEMPFAIL;
		s->end_reason = "tls-unavailable";
		s->closing = 1;
		io_abandon(&s->io);
		return -1;
	}
	return handshake(s);
}

/* starttls_end - close_notify when the client still reads; free TLS */
void
starttls_end(struct session *s)
{
	tls_finish(s->tls_link, &s->io);
	s->tls_link = NULL;
}
