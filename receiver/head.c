/*
 * head.c - what smtpd writes before the client's message: the envelope
 * block and our Received: line (RFC 5321 4.4, "with" by RFC 3848 and
 * 6531).  The session's part is formatted once per HELO/EHLO, the date
 * once per second; every value was checked before it gets here.
 */
#include <string.h>
#include <time.h>

#include "head.h"

/* protocol_name - the "with" of our Received line (RFC 3848, 6531) */
static const char *
protocol_name(const struct head_facts *f, const struct envelope *env)
{
	static const char *const names[2][4] = {	/* [utf8][tls + 2 auth] */
		{ "ESMTP", "ESMTPS", "ESMTPA", "ESMTPSA" },
		{ "UTF8SMTP", "UTF8SMTPS", "UTF8SMTPA", "UTF8SMTPSA" },
	};

	if (!f->esmtp)
		return "SMTP";
	return names[env->mp.smtputf8 != 0][(f->tls->active != 0) +
	    2 * (f->auth_user[0] != '\0')];
}

/* tls_comment - after the protocol, what TLS the session agreed on */
static void
tls_comment(const struct tls_info *t, struct sbuf *sb)
{
	if (!t->active)
		return;
	sb_str(sb, " (using ");
	sb_str(sb, t->version);
	sb_str(sb, " with cipher ");
	sb_str(sb, t->cipher);
	sb_str(sb, " (");
	sb_num(sb, (unsigned long long)(t->bits > 0 ? t->bits : 0));
	sb_str(sb, " bits))");
}

/* add_literal - an address literal: [192.0.2.1] or [IPv6:2001:db8::1] */
static void
add_literal(struct sbuf *sb, const char *ip)
{
	sb_str(sb, memchr(ip, ':', strlen(ip)) != NULL ? "[IPv6:" : "[");
	sb_str(sb, ip);
	sb_str(sb, "]");
}

/*
 * received_from - our trace line (RFC 5321 4.4) up to its "with": the
 * same for every message until the next HELO/EHLO.  Built only from
 * checked values.
 */
static void
received_from(const struct head_facts *f, struct sbuf *sb)
{
	const struct client *c = f->client;

	sb_str(sb, "Received: from ");
	sb_str(sb, f->helo);
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
	sb_str(sb, f->hostname);
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
}

/* session_part - the session's part of every head, formatted once per HELO */
static const struct head_cache *
session_part(struct head_cache *h, const struct head_facts *f)
{
	struct envelope_client c;
	struct sbuf sb;

	if (h->client_len != 0)
		return h;
	c.ip = f->client->ip;
	c.port = f->client->port;
	c.name = f->client->name;
	c.helo = f->helo;
	c.tls_version = f->tls->active ? f->tls->version : NULL;
	c.tls_cipher = f->tls->cipher;
	c.tls_cert = f->tls->active ? f->tls->peer_hash : NULL;
	c.auth_user = f->auth_user;
	sb_init(&sb, h->client, sizeof h->client);
	envelope_client_lines(&c, &sb);
	h->client_len = sb.len;
	sb_init(&sb, h->received, sizeof h->received);
	received_from(f, &sb);
	h->received_len = sb.len;
	return h;
}

/*
 * add_received - our Received line: the session's part, then protocol,
 * id, and "for" naming the recipient only when there is exactly one, so
 * that other recipients (Bcc) are not disclosed.
 */
static void
add_received(const struct head_cache *h, const struct arrival_clock *clock,
    const struct head_facts *f, const char *proto, const char *id,
    const struct envelope *env, struct sbuf *sb)
{
	const char *rcpt;
	size_t n;

	sb_add(sb, h->received, h->received_len);
	sb_str(sb, proto);
	tls_comment(f->tls, sb);
	if (f->auth_in_received && f->auth_user[0] != '\0') {
		sb_str(sb, " (authenticated as ");	/* Postfix's words */
		sb_str(sb, f->auth_user);
		sb_str(sb, ")");
	}
	sb_str(sb, " id ");
	sb_str(sb, id);
	if (env->nrcpt == 1) {
		rcpt = envelope_first_rcpt(env, &n);
		sb_str(sb, "\r\n\tfor <");
		sb_add(sb, rcpt, n);
		sb_str(sb, ">");
	}
	sb_str(sb, "; ");
	sb_add(sb, clock->date, clock->date_len);
	sb_str(sb, "\r\n");
}

/*
 * head_stamp - read the clock once for a new message: its id, its
 * Arrival and its Received date all come from this one reading
 */
void
head_stamp(struct arrival_clock *c)
{
	struct timespec tv;
	struct sbuf sb;

	clock_gettime(CLOCK_REALTIME, &tv);	/* as io.c: one libc page */
	c->usec = (long)(tv.tv_nsec / 1000);
	if ((long long)tv.tv_sec == c->sec)
		return;
	c->sec = (long long)tv.tv_sec;
	sb_init(&sb, c->sec_text, sizeof c->sec_text);
	sb_num(&sb, (unsigned long long)tv.tv_sec);
	c->sec_len = sb.len;
	sb_init(&sb, c->date, sizeof c->date);
	sb_date(&sb, tv.tv_sec);
	c->date_len = sb.len;
}

/*
 * head_write - the envelope block, the empty line, our Received line,
 * put together in the spool's write buffer (empty at this point), for
 * the message the clock was stamped for
 */
void
head_write(struct head_cache *hc, const struct arrival_clock *clock,
    const struct head_facts *f, const struct envelope *env,
    struct spool *sp)
{
	const struct head_cache *h = session_part(hc, f);
	const char *proto = protocol_name(f, env);
	struct sbuf sb;
	struct envelope_meta m;

	m.id = sp->id;
	m.arrival = clock->sec_text;
	m.protocol = proto;
	m.trusted = f->client->trusted;
	m.client = h->client;
	m.client_len = h->client_len;
	spool_room(sp, &sb);
	envelope_header(env, &m, &sb);
	spool_took(sp, &sb);
	spool_write(sp, env->rcpts, env->rcpts_len);
	spool_room(sp, &sb);
	sb_str(&sb, "\n");
	add_received(h, clock, f, proto, sp->id, env, &sb);
	spool_took(sp, &sb);
}
