/*
 * envelope.c - one mail transaction's envelope and its text form.
 *
 * Spool file format, version 1 (the contract with the delivery side):
 * an envelope block of "Key: value" lines, each ending in LF, then one
 * empty line, then the message with CRLF line endings, starting with our
 * Received: line.  Keys, in this order (optional ones may be absent):
 *   Version: 1            Id: QUEUE-ID           Arrival: EPOCH-SECONDS
 *   Client-Address: IP    Client-Port: PORT      Client-Name: DNS-NAME
 *   Helo: NAME            Protocol: SMTP|ESMTP|UTF8SMTP
 *   Trusted: yes|no       Sender: <PATH>   (<> for the null sender)
 *   Size: N  Body: 7BIT|8BITMIME|BINARYMIME  SMTPUTF8: yes  Ret: FULL|HDRS
 *   Envid: XTEXT
 * then for each recipient "Recipient: <PATH>", followed by its own
 * "Notify: LIST" and "ORCPT: TYPE;XTEXT" when given.  Values never hold
 * CR, LF or NUL: every one was checked by the SMTP grammar first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define TEXT_OF(n)	DIGITS_OF(n)	/* a number macro as a string */
#define DIGITS_OF(n)	#n
#define RCPT_KEY	"Recipient: <"	/* each recipient's line begins so */
#define RCPT_ENTRY_MAX	(ADDR_PATH_MAX + ADDR_ORCPT_MAX + 64)

/* envelope_init - an empty envelope with no recipient storage yet */
void
envelope_init(struct envelope *env)
{
	memset(env, 0, sizeof *env);
	env->rcpts = env->rcpts_inline;
	env->rcpts_cap = sizeof env->rcpts_inline;
	env->seen = env->seen_inline;
	env->seen_cap = sizeof env->seen_inline / sizeof env->seen_inline[0];
}

/* envelope_reset - forget the transaction, keep the storage */
void
envelope_reset(struct envelope *env)
{
	env->sender.addr[0] = '\0';
	env->sender.len = 0;
	addr_clear_mail_params(&env->mp);
	env->nrcpt = 0;
	env->rcpts_len = 0;
	memset(env->seen, 0, env->seen_cap * sizeof *env->seen);
}

/* envelope_free - release the recipient storage */
void
envelope_free(struct envelope *env)
{
	if (env->rcpts != env->rcpts_inline)
		free(env->rcpts);
	if (env->seen != env->seen_inline)
		free(env->seen);
	envelope_init(env);
}

/* notify_text - the NOTIFY bits as the RFC 3461 list */
static void
notify_text(struct sbuf *sb, unsigned bits)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ NOTIFY_NEVER, "NEVER" }, { NOTIFY_SUCCESS, "SUCCESS" },
		{ NOTIFY_FAILURE, "FAILURE" }, { NOTIFY_DELAY, "DELAY" },
	};
	size_t i;
	int first = 1;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if ((bits & names[i].bit) == 0)
			continue;
		if (!first)
			sb_add(sb, ",", 1);
		sb_str(sb, names[i].name);
		first = 0;
	}
}

/* make_room - grow the recipient text to hold n more bytes */
static int
make_room(struct envelope *env, size_t n)
{
	size_t cap = env->rcpts_cap;
	char *p;

	while (cap - env->rcpts_len < n)
		cap *= 2;
	if (cap == env->rcpts_cap)
		return 0;
	if (env->rcpts == env->rcpts_inline) {	/* outgrown: to the heap */
		if ((p = malloc(cap)) != NULL)
			memcpy(p, env->rcpts, env->rcpts_len);
	} else
		p = realloc(env->rcpts, cap);
	if (p == NULL)
		return -1;
	env->rcpts = p;
	env->rcpts_cap = cap;
	return 0;
}

/* path_hash - a hash of a "Recipient: <...>\n" line, 8 octets a step */
static size_t
path_hash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return (size_t)(h ^ h >> 29);
}

/* slot_of - where line (n octets) is in the set, or the empty slot */
static size_t
slot_of(const struct envelope *env, const char *line, size_t n)
{
	size_t i = path_hash(line, n) & (env->seen_cap - 1), off;

	while ((off = env->seen[i]) != 0) {
		off--;
		if (env->rcpts_len - off >= n &&
		    memcmp(env->rcpts + off, line, n) == 0)
			return i;
		i = (i + 1) & (env->seen_cap - 1);
	}
	return i;
}

/*
 * grow_seen - keep the set at most half full (rehash into a new one):
 * 1 if it did, 0 if it had room, -1 out of memory
 */
static int
grow_seen(struct envelope *env)
{
	size_t cap = env->seen_cap * 2, i, *old;
	size_t ocap = env->seen_cap, off, n, j;

	if ((size_t)env->nrcpt * 2 < ocap)
		return 0;
	if ((old = env->seen, env->seen = calloc(cap, sizeof *old)) == NULL) {
		env->seen = old;
		return -1;
	}
	env->seen_cap = cap;
	for (i = 0; i < ocap; i++) {
		if ((off = old[i]) == 0)
			continue;
		n = (size_t)((char *)memchr(env->rcpts + off - 1, '\n',
		    env->rcpts_len - off + 1) - (env->rcpts + off - 1)) + 1;
		j = slot_of(env, env->rcpts + off - 1, n);
		env->seen[j] = off;
	}
	if (old != env->seen_inline)
		free(old);
	return 1;
}

/*
 * envelope_octets - what the recipients are charged against the cap:
 * their text, and ENVELOPE_RCPT_COST each
 */
size_t
envelope_octets(const struct envelope *env)
{
	return env->rcpts_len + (size_t)env->nrcpt * ENVELOPE_RCPT_COST;
}

/* rcpt_entry - a recipient's lines: "Recipient: <...>" (its first
 * *first octets), then its Notify and ORCPT when given */
static void
rcpt_entry(struct sbuf *sb, const struct path *rcpt,
    const struct rcpt_params *rp, size_t *first)
{
	sb_str(sb, RCPT_KEY);
	sb_add(sb, rcpt->addr, rcpt->len);
	sb_str(sb, ">\n");
	*first = sb->len;
	if (rp->notify != 0) {
		sb_str(sb, "Notify: ");
		notify_text(sb, rp->notify);
		sb_add(sb, "\n", 1);
	}
	if (rp->orcpt[0] != '\0') {
		sb_str(sb, "ORCPT: ");
		sb_str(sb, rp->orcpt);
		sb_add(sb, "\n", 1);
	}
}

/*
 * envelope_add_rcpt - record an accepted recipient, unless it is there
 * already or would take the envelope past cap octets (envelope_octets)
 */
enum envelope_add
envelope_add_rcpt(struct envelope *env, const struct path *rcpt,
    const struct rcpt_params *rp, size_t cap)
{
	char buf[RCPT_ENTRY_MAX];
	struct sbuf sb;
	size_t first, slot;
	int grown;

	sb_init(&sb, buf, sizeof buf);
	rcpt_entry(&sb, rcpt, rp, &first);
	slot = slot_of(env, buf, first);
	if (env->seen[slot] != 0)
		return ENV_DUPLICATE;
	if (envelope_octets(env) + sb.len + ENVELOPE_RCPT_COST > cap)
		return ENV_FULL;
	if ((grown = grow_seen(env)) < 0 || make_room(env, sb.len) < 0)
		return ENV_NOMEM;
	if (grown)
		slot = slot_of(env, buf, first);
	memcpy(env->rcpts + env->rcpts_len, buf, sb.len);
	env->seen[slot] = env->rcpts_len + 1;
	env->rcpts_len += sb.len;
	if (env->nrcpt++ == 0)
		env->first_rcpt_len = rcpt->len;
	return ENV_ADDED;
}

/* envelope_first_rcpt - the first recipient's address (*lenp octets) */
const char *
envelope_first_rcpt(const struct envelope *env, size_t *lenp)
{
	*lenp = env->first_rcpt_len;
	return env->rcpts + sizeof RCPT_KEY - 1;	/* its line comes first */
}

/* LINE - add "Key: value\n" (key a string literal) */
#define LINE(sb, key, val)	key_line(sb, key ": ", sizeof key + 1, val)

/* key_line - add "Key: " (klen octets at ks), val and "\n" */
static void
key_line(struct sbuf *sb, const char *ks, size_t klen, const char *val)
{
	sb_add(sb, ks, klen);
	sb_str(sb, val);
	sb_add(sb, "\n", 1);
}

/* mail_params_text - the MAIL parameters that were given */
static void
mail_params_text(const struct mail_params *mp, struct sbuf *sb)
{
	if (mp->has_size) {
		sb_str(sb, "Size: ");
		sb_num(sb, mp->size);
		sb_add(sb, "\n", 1);
	}
	if (mp->body != BODY_NONE)
		LINE(sb, "Body", addr_body_name(mp->body));
	if (mp->smtputf8)
		LINE(sb, "SMTPUTF8", "yes");
	if (mp->ret != RET_NONE)
		LINE(sb, "Ret", mp->ret == RET_FULL ? "FULL" : "HDRS");
	if (mp->envid[0] != '\0')
		LINE(sb, "Envid", mp->envid);
	if (mp->requiretls)
		LINE(sb, "Require-TLS", "yes");
	if (mp->auth[0] != '\0')
		LINE(sb, "Auth-Param", mp->auth);
}

/*
 * envelope_client_lines - Client-Address, Client-Port, Client-Name,
 * Helo, and TLS (version and cipher) and TLS-Client-Cert when the
 * session has them: written once per HELO/EHLO, copied into every
 * envelope
 */
void
envelope_client_lines(const struct envelope_client *c, struct sbuf *sb)
{
	if (c->ip[0] != '\0')
		LINE(sb, "Client-Address", c->ip);
	if (c->port[0] != '\0')
		LINE(sb, "Client-Port", c->port);
	if (c->name[0] != '\0')
		LINE(sb, "Client-Name", c->name);
	LINE(sb, "Helo", c->helo);
	if (c->tls_version != NULL) {
		sb_str(sb, "TLS: ");
		sb_str(sb, c->tls_version);
		sb_add(sb, " ", 1);
		sb_str(sb, c->tls_cipher);
		sb_add(sb, "\n", 1);
	}
	if (c->tls_cert != NULL && c->tls_cert[0] != '\0')
		LINE(sb, "TLS-Client-Cert", c->tls_cert);
	if (c->auth_user != NULL && c->auth_user[0] != '\0')
		LINE(sb, "Auth", c->auth_user);
}

/* envelope_header - the block up to, not including, the recipients */
void
envelope_header(const struct envelope *env, const struct envelope_meta *m,
    struct sbuf *sb)
{
	sb_str(sb, "Version: " TEXT_OF(SPOOLFMT_FORMAT_VERSION) "\n");
	LINE(sb, "Id", m->id);
	LINE(sb, "Arrival", m->arrival);
	sb_add(sb, m->client, m->client_len);
	LINE(sb, "Protocol", m->protocol);
	sb_str(sb, m->trusted ? "Trusted: yes\n" : "Trusted: no\n");
	sb_str(sb, "Sender: <");
	sb_add(sb, env->sender.addr, env->sender.len);
	sb_str(sb, ">\n");
	mail_params_text(&env->mp, sb);
}
