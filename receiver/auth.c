/*
 * auth.c - the AUTH command (RFC 4954): PLAIN (RFC 4616) and LOGIN,
 * with or without an initial response.  Offered only under TLS unless
 * --auth-plaintext.  Credentials live on the stack for one exchange,
 * are handed to the backend (authback.h) and wiped; they are never
 * logged (the log shows "AUTH PLAIN" and the user name).  Each failure
 * is logged for fail2ban, counts as an error and is answered late (1 s,
 * then 2 s, within the session's time); the third ends the session.
 */
#include <poll.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "auth.h"
#include "authback.h"
#include "base64.h"
#include "chat.h"
#include "words.h"

/* the credentials of one exchange */
struct creds {
	const char *mech;		/* "PLAIN" or "LOGIN" */
	char	 user[AUTH_FIELD_MAX + 1];
	char	 pass[AUTH_FIELD_MAX + 1];
	size_t	 user_len, pass_len;
};

/* auth_offered - does EHLO list AUTH now? */
int
auth_offered(const struct session *s)
{
	return s->cfg->auth_backend != NULL && s->auth_user[0] == '\0' &&
	    (s->tls.active || s->cfg->auth_plaintext);
}

/*
 * read_response - one response line of the exchange into buf (cap
 * AUTH_LINE_MAX + 2) after a 334 challenge; R_DONE, a reply, or
 * R__COUNT when the session is over (EOF, timeout)
 */
static enum reply_id
read_response(struct session *s, const char *challenge, char *buf,
    size_t *len)
{
	int r;

	chat_room(s, REPLY_LINE_MAX);
	(void)reply_line(&s->io, 334, 0, NULL, challenge);
	r = io_readline(&s->io, buf, AUTH_LINE_MAX + 2, len, 1);
	if (r == LINE_OK)
		return *len == 1 && buf[0] == '*' ? R_AUTH_CANCEL : R_DONE;
	if (r == LINE_TOOLONG)
		return R_AUTH_TOOLONG;
	if (r == LINE_BARELF)
		return R_AUTH_BASE64;
	if (r == LINE_TIMEOUT)
		timed_out(s);
	else {
		s->end_reason = r == LINE_EOF ? "eof" : "io-error";
		s->closing = 1;
	}
	return R__COUNT;
}

/* decode - base64 text (or "=": empty) into out (cap octets) */
static int
decode(const char *p, size_t n, unsigned char *out, size_t cap,
    size_t *len)
{
	if (n == 1 && p[0] == '=') {
		*len = 0;
		return 0;
	}
	return base64_decode(p, n, out, cap, len);
}

/* user_ok - a user name we may log and record: printable, UTF-8 */
static int
user_ok(const char *u, size_t n)
{
	size_t i;

	if (n == 0 || n > AUTH_FIELD_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return 0;
	return addr_valid_utf8(u, n);
}

/* take - n decoded octets as a NUL-terminated field; 0 or -1 */
static int
take(char *dst, size_t *dlen, const unsigned char *p, size_t n)
{
	if (n > AUTH_FIELD_MAX || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(dst, p, n);
	dst[n] = '\0';
	*dlen = n;
	return 0;
}

/*
 * split_plain - RFC 4616: [authzid] NUL authcid NUL passwd; an authzid
 * other than the user (acting for someone else) is not supported
 */
static int
split_plain(const unsigned char *p, size_t n, struct creds *c)
{
	const unsigned char *a, *b;

	if ((a = memchr(p, '\0', n)) == NULL ||
	    (b = memchr(a + 1, '\0', n - (size_t)(a + 1 - p))) == NULL)
		return -1;
	if (take(c->user, &c->user_len, a + 1, (size_t)(b - a - 1)) < 0 ||
	    take(c->pass, &c->pass_len, b + 1, n - (size_t)(b + 1 - p)) < 0)
		return -1;
	if (a > p && ((size_t)(a - p) != c->user_len ||
	    memcmp(p, c->user, c->user_len) != 0))
		return -1;
	return 0;
}

/* plain - AUTH PLAIN [initial-response] */
static enum reply_id
plain(struct session *s, const char *ir, size_t irlen, char *buf,
    unsigned char *dec, struct creds *c)
{
	enum reply_id id;
	size_t n, len;

	if (ir == NULL) {
		if ((id = read_response(s, "", buf, &n)) != R_DONE)
			return id;
		ir = buf;
		irlen = n;
	}
	if (decode(ir, irlen, dec, AUTH_LINE_MAX, &len) < 0 ||
	    split_plain(dec, len, c) < 0)
		return R_AUTH_BASE64;
	return R_DONE;
}

/* login_field - one LOGIN step: decode a response into a field */
static enum reply_id
login_field(const char *p, size_t n, unsigned char *dec, char *dst,
    size_t *dlen)
{
	size_t len;

	if (decode(p, n, dec, AUTH_LINE_MAX, &len) < 0 ||
	    take(dst, dlen, dec, len) < 0)
		return R_AUTH_BASE64;
	return R_DONE;
}

/*
 * login - AUTH LOGIN [user]: "Username:", "Password:" (base64).  When
 * the user name is refused, the client may already have sent its
 * password: that line is never logged.
 */
static enum reply_id
login(struct session *s, const char *ir, size_t irlen, char *buf,
    unsigned char *dec, struct creds *c)
{
	enum reply_id id = R_DONE;
	size_t n;

	if (ir == NULL) {
		id = read_response(s, "VXNlcm5hbWU6", buf, &n);
		ir = buf;
		irlen = n;
	}
	if (id == R_DONE)
		id = login_field(ir, irlen, dec, c->user, &c->user_len);
	if (id != R_DONE) {
		s->hide_next_line = id != R__COUNT;
		return id;
	}
	if ((id = read_response(s, "UGFzc3dvcmQ6", buf, &n)) != R_DONE)
		return id;
	return login_field(buf, n, dec, c->pass, &c->pass_len);
}

/* backend - hand the credentials to the configured checker */
static int
backend(struct session *s, const struct creds *c, struct auth_request *r)
{
	unsigned left = io_seconds_left(&s->io);

	r->user = c->user;
	r->user_len = c->user_len;
	r->pass = c->pass;
	r->pass_len = c->pass_len;
	r->client_ip = s->client->ip;
	r->local_ip = s->client->local_ip;
	r->secured = s->tls.active;
	r->seconds = s->cfg->auth_timeout < left ? s->cfg->auth_timeout :
	    left;
	r->errfd = s->cfg->log_mode == LOGMODE_SYSLOG ? -1 : 2;
	r->why[0] = '\0';
	if (r->seconds == 0)
		return AUTH_TEMP;
	if (s->cfg->auth_dovecot)
		return dovecot_verify(s->cfg->auth_backend, r);
	return checkpw_verify(s->cfg->auth_backend, r);
}

/* log_auth - one record per outcome: fail2ban reads auth-failed */
static void
log_auth(struct session *s, const char *event_ok, const char *user,
    const char *why)
{
	struct logline ll;
	size_t n;

	if (event_ok != NULL)
		log_begin(&s->log, &ll, "auth");
	else
		log_begin(&s->log, &ll, "auth-failed");
	n = strlen(user);
	log_bytes(&ll, "user", user, n < 80 ? n : 80);	/* as all client */
							/* bytes are */
	if (why != NULL && why[0] != '\0')
		log_str(&ll, "reason", why);
	log_end(&s->log, &ll);
}

/*
 * failed - a wrong password: log it, wait (1 s, 2 s, ... never past the
 * session's end), then 535, or 421 at the AUTH_FAILS_MAX-th
 */
static void
failed(struct session *s, const char *user, const char *why)
{
	unsigned wait = 1u << (s->auth_fails < 8 ? s->auth_fails : 8);
	unsigned left = io_seconds_left(&s->io);

	log_auth(s, NULL, user, why);
	s->auth_fails++;
	if (wait > left)
		wait = left;
	(void)poll(NULL, 0, (int)wait * 1000);
	if (s->auth_fails >= AUTH_FAILS_MAX) {
		s->end_reason = "auth-failures";
		session_reply(s, R_AUTH_TOO_MANY, NULL);
		return;
	}
	session_reply(s, R_AUTH_BAD, NULL);
}

/* succeeded - remember the user; the heads name the new facts */
static void
succeeded(struct session *s, const struct creds *c,
    const struct auth_request *r)
{
	const char *u = r->canonical[0] != '\0' ? r->canonical : c->user;
	size_t n = strlen(u);

	memcpy(s->auth_user, u, n + 1);
	s->auth_mech = c->mech;
	s->head.client_len = 0;
	log_auth(s, "auth", s->auth_user, NULL);
	session_reply(s, R_AUTH_OK, NULL);
}

/* check - the exchange's credentials against the backend, and reply */
static void
check(struct session *s, struct creds *c)
{
	struct auth_request r;
	int v;

	if (!user_ok(c->user, c->user_len)) {
		failed(s, "?", "user name not printable");
		return;
	}
	v = backend(s, c, &r);
	explicit_bzero(c->pass, sizeof c->pass);
	if (v == AUTH_OK)
		succeeded(s, c, &r);
	else if (v == AUTH_BAD)
		failed(s, c->user, r.why);
	else {
		log_auth(s, NULL, c->user, r.why[0] != '\0' ? r.why :
		    "temporary failure");
		session_reply(s, R_AUTH_TEMP, NULL);
	}
}

/*
 * exchange - mechanism and initial response (ir, NULL if none) to
 * credentials in c: R_DONE, a reply, or R__COUNT (session over)
 */
static enum reply_id
exchange(struct session *s, int is_plain, const char *ir, size_t irlen,
    struct creds *c)
{
	char buf[AUTH_LINE_MAX + 2];
	unsigned char dec[AUTH_LINE_MAX];
	enum reply_id id;

	session_settle(s);		/* held 250s: durable before a 334 */
	if (s->closing)
		return R__COUNT;
	id = is_plain ? plain(s, ir, irlen, buf, dec, c) :
	    login(s, ir, irlen, buf, dec, c);
	explicit_bzero(buf, sizeof buf);
	explicit_bzero(dec, sizeof dec);
	return id;
}

/* refuse_early - the replies before any exchange; 1 if one was sent */
static int
refuse_early(struct session *s)
{
	enum reply_id id = R__COUNT;

	if (s->cfg->auth_backend == NULL)
		id = R_NOT_IMPL;
	else if (s->auth_user[0] != '\0')
		id = R_AUTH_TWICE;
	else if (!s->tls.active && s->cfg->tls.require)
		id = R_NEED_TLS;		/* 530: STARTTLS first */
	else if (!s->tls.active && !s->cfg->auth_plaintext)
		id = R_AUTH_NEED_TLS;
	if (id == R__COUNT)
		return 0;
	session_reply(s, id, NULL);
	return 1;
}

/* cmd_auth - RFC 4954 4: AUTH mechanism [initial-response] */
void
cmd_auth(struct session *s, const char *arg, const char *end)
{
	const char *mech = skip_spaces(arg, end), *m_end = mech, *ir = NULL;
	struct creds c;
	enum reply_id id;
	int is_plain;

	while (m_end < end && *m_end != ' ')
		m_end++;
	if (refuse_early(s))
		return;
	is_plain = m_end - mech == 5 && strncasecmp(mech, "PLAIN", 5) == 0;
	if (!is_plain && !(m_end - mech == 5 &&
	    strncasecmp(mech, "LOGIN", 5) == 0)) {
		session_reply(s, mech == m_end ? R_SYNTAX : R_AUTH_MECH, NULL);
		return;
	}
	if (m_end < end) {
		ir = m_end + 1;
		if (ir == end || memchr(ir, ' ', (size_t)(end - ir)) != NULL) {
			session_reply(s, R_AUTH_BASE64, NULL);
			return;
		}
	}
	c.mech = is_plain ? "PLAIN" : "LOGIN";
	id = exchange(s, is_plain, ir, ir != NULL ? (size_t)(end - ir) : 0,
	    &c);
	if (ir != NULL)
		explicit_bzero((char *)ir, (size_t)(end - ir));
	if (id == R_DONE)
		check(s, &c);
	else if (id != R__COUNT)
		session_reply(s, id, NULL);
	explicit_bzero(&c, sizeof c);
}
