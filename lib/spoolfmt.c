/*
 * spoolfmt.c - the spool file format: parse an envelope block.
 * Reads the version 1 block that envelope.c writes ("Key: value" lines
 * ending in LF, then an empty line) and trusts none of it: paths go
 * through the RFC 5321 grammar again and every other value is checked.
 * Keys it does not know are skipped.  No I/O; values are cut in place.
 * The TLS lines came with issue 16, in version 1: an older reader skips
 * them, Require-TLS too (so smtpd and smtpd-queue upgrade together); so
 * did Auth and Auth-Param with issue 17 (AUTH, RFC 4954), and Dsn-Of
 * with issue 20 (on the reports smtpd-queue writes into the queue).
 */
#include <stdlib.h>
#include <string.h>

#include "spoolfmt.h"

#define MAGIC		SPOOLFMT_KEY_VERSION ": "
#define MAGIC_LEN	(sizeof MAGIC - 1)
#define TIME_MAX	(1ull << 40)	/* far beyond any real arrival */
#define CERT_TAG	"SHA256:"	/* libtls tls_peer_cert_hash */
#define CERT_TAG_LEN	(sizeof CERT_TAG - 1)
#define CERT_HEX_LEN	64		/* SHA-256 in lowercase hex */

/*
 * the keys in the writer's order: the session (up to K_TRUSTED), the
 * MAIL parameters (up to K_AUTH_PARAM), Dsn-Of (a report smtpd-queue
 * made), then each recipient's lines
 */
enum key {
	K_VERSION, K_ID, K_ARRIVAL, K_CADDR, K_CPORT, K_CNAME, K_HELO,
	K_TLS, K_TLS_CERT, K_AUTH, K_PROTOCOL, K_TRUSTED, K_SENDER, K_SIZE,
	K_BODY, K_SMTPUTF8, K_RET, K_ENVID, K_REQUIRETLS, K_AUTH_PARAM,
	K_DSN_OF, K_RCPT, K_NOTIFY, K_ORCPT, K__COUNT
};

static const char *const keys[] = {
	[K_VERSION] = SPOOLFMT_KEY_VERSION, [K_ID] = SPOOLFMT_KEY_ID,
	[K_ARRIVAL] = SPOOLFMT_KEY_ARRIVAL,
	[K_CADDR] = SPOOLFMT_KEY_CLIENT_ADDR,
	[K_CPORT] = SPOOLFMT_KEY_CLIENT_PORT,
	[K_CNAME] = SPOOLFMT_KEY_CLIENT_NAME, [K_HELO] = SPOOLFMT_KEY_HELO,
	[K_TLS] = SPOOLFMT_KEY_TLS, [K_TLS_CERT] = SPOOLFMT_KEY_TLS_CLIENT_CERT,
	[K_AUTH] = SPOOLFMT_KEY_AUTH,
	[K_PROTOCOL] = SPOOLFMT_KEY_PROTOCOL,
	[K_TRUSTED] = SPOOLFMT_KEY_TRUSTED, [K_SENDER] = SPOOLFMT_KEY_SENDER,
	[K_SIZE] = SPOOLFMT_KEY_SIZE, [K_BODY] = SPOOLFMT_KEY_BODY,
	[K_SMTPUTF8] = SPOOLFMT_KEY_SMTPUTF8, [K_RET] = SPOOLFMT_KEY_RET,
	[K_ENVID] = SPOOLFMT_KEY_ENVID,
	[K_REQUIRETLS] = SPOOLFMT_KEY_REQUIRETLS,
	[K_AUTH_PARAM] = SPOOLFMT_KEY_AUTH_PARAM,
	[K_DSN_OF] = SPOOLFMT_KEY_DSN_OF, [K_RCPT] = SPOOLFMT_KEY_RCPT,
	[K_NOTIFY] = SPOOLFMT_KEY_NOTIFY, [K_ORCPT] = SPOOLFMT_KEY_ORCPT,
};
_Static_assert(sizeof keys / sizeof keys[0] == K__COUNT, "key table");
_Static_assert(K_RCPT <= 32, "a seen bit for each key before Recipient");

/* RFC 5321, RFC 3848 (S: TLS, A: AUTH) and RFC 6531 (UTF8) */
static const char *const protocols[] = {
	"SMTP", "ESMTP", "UTF8SMTP", "ESMTPS", "UTF8SMTPS", "ESMTPA",
	"ESMTPSA", "UTF8SMTPA", "UTF8SMTPSA", NULL
};
static const char *const yes_no[] = { "no", "yes", NULL };
static const char *const bodies[] = { "", "7BIT", "8BITMIME", "BINARYMIME",
	NULL };
static const char *const rets[] = { "", "FULL", "HDRS", NULL };
static const char *const notifies[] = {	/* in NOTIFY_* bit order */
	"NEVER", "SUCCESS", "FAILURE", "DELAY", NULL
};

/*
 * spoolfmt_head - find the end of the envelope in buf[0..len), looking
 * from offset from on (as more of the file arrives): SPOOLFMT_OK with
 * *head the block's length with its empty line, SPOOLFMT_TRUNCATED when
 * it may come later, SPOOLFMT_NOTSPOOL when this is no queue file.
 */
int
spoolfmt_head(const char *buf, size_t len, size_t from, size_t *head)
{
	const char *p, *end = buf + len;
	size_t n = len < MAGIC_LEN ? len : MAGIC_LEN;

	if (memcmp(buf, MAGIC, n) != 0)
		return SPOOLFMT_NOTSPOOL;
	if (from > 0)
		from--;		/* an LF there may pair with one here */
	for (p = buf + from; p < end; p++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (p == NULL)
			break;
		if (p + 1 < end && p[1] == '\n') {
			*head = (size_t)(p + 2 - buf);
			return SPOOLFMT_OK;
		}
	}
	return SPOOLFMT_TRUNCATED;
}

/* is_key_char - letters, digits and '-' make up a key */
static int
is_key_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

/*
 * spoolfmt_field - cut the "Key: value" line at *pp (before end): 1 and
 * the field, 0 at the empty line, -1 if malformed.  A value never holds
 * a control octet.  The LF becomes a NUL and *pp moves past it.
 */
int
spoolfmt_field(char **pp, char *end, struct spoolfmt_field *f)
{
	char *p = *pp, *nl, *q;

	if (p < end && *p == '\n') {
		*pp = p + 1;
		return 0;
	}
	f->key = p;
	while (p < end && is_key_char((unsigned char)*p))
		p++;
	f->key_len = (size_t)(p - f->key);
	if (f->key_len == 0 || end - p < 2 || p[0] != ':' || p[1] != ' ')
		return -1;
	f->val = p + 2;
	if ((nl = memchr(f->val, '\n', (size_t)(end - f->val))) == NULL)
		return -1;
	for (q = f->val; q < nl; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			return -1;
	f->val_len = (size_t)(nl - f->val);
	*nl = '\0';
	*pp = nl + 1;
	return 1;
}

/* key_index - which known key this is, or -1 */
static int
key_index(const struct spoolfmt_field *f)
{
	int k;

	for (k = 0; k < K__COUNT; k++)
		if (strlen(keys[k]) == f->key_len &&
		    memcmp(keys[k], f->key, f->key_len) == 0)
			return k;
	return -1;
}

/* parse_num - a plain decimal number no larger than max: 0, or -1 */
static int
parse_num(const char *s, size_t n, unsigned long long max,
    unsigned long long *out)
{
	unsigned long long v = 0;
	unsigned d;

	if (n == 0 || (n > 1 && s[0] == '0'))
		return -1;
	for (; n > 0; s++, n--) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* one_of - the index of s in a NULL-ended list, or -1 */
static int
one_of(const char *s, const char *const *list)
{
	int i;

	for (i = 0; list[i] != NULL; i++)
		if (list[i][0] != '\0' && strcmp(s, list[i]) == 0)
			return i;
	return -1;
}

/* text_ok - non-empty, no space, ASCII only when ascii is set */
static int
text_ok(const char *s, size_t n, int ascii)
{
	if (n == 0)
		return 0;
	for (; n > 0; s++, n--)
		if (*s == ' ' || (ascii && (unsigned char)*s >= 0x80))
			return 0;
	return 1;
}

/* id_ok - letters, digits and dots, as spool.c makes queue ids */
static int
id_ok(const char *s, size_t n)
{
	if (n == 0 || n > SPOOLFMT_ID_MAX)
		return 0;
	for (; n > 0; s++, n--)
		if (!is_key_char((unsigned char)*s) && *s != '.')
			return 0;
	return 1;
}

/* tls_word_ok - 1 to SPOOLFMT_TLS_WORD_MAX printable ASCII, no space */
static int
tls_word_ok(const char *s, size_t n)
{
	if (n == 0 || n > SPOOLFMT_TLS_WORD_MAX)
		return 0;
	for (; n > 0; s++, n--)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/* parse_tls - "VERSION CIPHER": two words and one space, cut there */
static int
parse_tls(struct spoolfmt_env *env, struct spoolfmt_field *f)
{
	char *sp = memchr(f->val, ' ', f->val_len);
	size_t n;

	if (sp == NULL)
		return -1;
	n = (size_t)(sp - f->val);
	if (!tls_word_ok(f->val, n) ||
	    !tls_word_ok(sp + 1, f->val_len - n - 1))
		return -1;
	*sp = '\0';
	env->tls_version = f->val;
	env->tls_cipher = sp + 1;
	return 0;
}

/* cert_ok - "SHA256:" and 64 lowercase hex digits, as libtls writes */
static int
cert_ok(const char *s, size_t n)
{
	if (n != CERT_TAG_LEN + CERT_HEX_LEN ||
	    memcmp(s, CERT_TAG, CERT_TAG_LEN) != 0)
		return 0;
	for (s += CERT_TAG_LEN, n -= CERT_TAG_LEN; n > 0; s++, n--)
		if ((*s < '0' || *s > '9') && (*s < 'a' || *s > 'f'))
			return 0;
	return 1;
}

/*
 * auth_user_ok - what smtpd records of a user who authenticated: 1 to
 * SPOOLFMT_AUTH_USER_MAX octets of UTF-8, no space (controls never get
 * this far: spoolfmt_field refuses them in any value)
 */
static int
auth_user_ok(const char *s, size_t n)
{
	return n <= SPOOLFMT_AUTH_USER_MAX && text_ok(s, n, 0) &&
	    addr_valid_utf8(s, n);
}

/* is_upper_hex - a digit or A-F: xtext's "+XX" (RFC 3461 4) */
static int
is_upper_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/*
 * auth_param_ok - MAIL AUTH= as smtpd keeps it (RFC 4954 5): "<>", or
 * 1 to ADDR_AUTH_MAX octets of xtext (printable ASCII but "=", and "+"
 * only before two upper-case hex digits, as smtpd's parser has it)
 */
static int
auth_param_ok(const char *s, size_t n)
{
	if (n == 0 || n > ADDR_AUTH_MAX)
		return 0;
	while (n > 0) {
		if (*s == '+') {
			if (n < 3 || !is_upper_hex(s[1]) || !is_upper_hex(s[2]))
				return 0;
			s += 3;
			n -= 3;
		} else if (*s >= 33 && *s <= 126 && *s != '=') {
			s++;
			n--;
		} else
			return 0;
	}
	return 1;
}

/* parse_addr - check a "<path>" value by the grammar; *out: the path */
static int
parse_addr(struct spoolfmt_field *f, int flags, const char **out)
{
	struct path pa;
	const char *p = f->val, *end = f->val + f->val_len;

	if (addr_parse_path(&p, end, flags, &pa) != ADDR_OK || p != end ||
	    pa.len + 2 != f->val_len)
		return -1;	/* not a path, or one with a source route */
	f->val[f->val_len - 1] = '\0';
	*out = f->val + 1;
	return 0;
}

/* parse_notify - "NEVER" or a list of SUCCESS, FAILURE, DELAY */
static int
parse_notify(char *s, unsigned *bits)
{
	char *comma;
	int i;

	*bits = 0;
	for (;; s = comma + 1) {
		if ((comma = strchr(s, ',')) != NULL)
			*comma = '\0';
		if ((i = one_of(s, notifies)) < 0 || (*bits & (1u << i)))
			return -1;
		*bits |= 1u << i;
		if (comma == NULL)
			break;
		*comma = ',';
	}
	return (*bits & NOTIFY_NEVER) && *bits != NOTIFY_NEVER ? -1 : 0;
}

/* set_meta - Id, Arrival, the client's address and name, Helo, ... */
static int
set_meta(struct spoolfmt_env *env, int k, struct spoolfmt_field *f)
{
	unsigned long long v;
	const char *s = f->val;
	size_t n = f->val_len;

	switch (k) {
	case K_ID:
		env->id = s;
		return id_ok(s, n) ? 0 : -1;
	case K_ARRIVAL:
		if (parse_num(s, n, TIME_MAX, &v) < 0)
			return -1;
		env->arrival = (long long)v;
		return 0;
	case K_CADDR:
		env->client_addr = s;
		return text_ok(s, n, 1) ? 0 : -1;
	case K_CPORT:
		env->client_port = s;
		return parse_num(s, n, 65535, &v);
	case K_CNAME:
		env->client_name = s;
		return text_ok(s, n, 1) ? 0 : -1;
	case K_HELO:
		env->helo = s;
		return text_ok(s, n, 0) ? 0 : -1;
	case K_TLS:
		return parse_tls(env, f);
	case K_TLS_CERT:
		env->tls_client_cert = s;
		return cert_ok(s, n) ? 0 : -1;
	case K_AUTH:		/* RFC 4954: the session authenticated */
		env->auth_user = s;
		return auth_user_ok(s, n) ? 0 : -1;
	case K_PROTOCOL:
		env->protocol = s;
		return one_of(s, protocols) < 0 ? -1 : 0;
	default:	/* K_TRUSTED */
		env->trusted = one_of(s, yes_no);
		return env->trusted < 0 ? -1 : 0;
	}
}

/* set_param - Sender and the MAIL parameters */
static int
set_param(struct spoolfmt_env *env, int k, struct spoolfmt_field *f)
{
	int i;

	switch (k) {
	case K_SENDER:
		return parse_addr(f, ADDR_ALLOW_NULL, &env->sender);
	case K_SIZE:
		env->has_size = 1;
		return parse_num(f->val, f->val_len, ~0ull, &env->size);
	case K_BODY:
		if ((i = one_of(f->val, bodies)) < 0)
			return -1;
		env->body = (enum body_type)i;
		return 0;
	case K_SMTPUTF8:
		env->smtputf8 = 1;
		return strcmp(f->val, "yes") == 0 ? 0 : -1;
	case K_RET:
		if ((i = one_of(f->val, rets)) < 0)
			return -1;
		env->ret = (enum ret_type)i;
		return 0;
	case K_REQUIRETLS:	/* RFC 8689 */
		env->requiretls = 1;
		return strcmp(f->val, "yes") == 0 ? 0 : -1;
	case K_AUTH_PARAM:	/* RFC 4954 5 */
		env->auth_param = f->val;
		return auth_param_ok(f->val, f->val_len) ? 0 : -1;
	case K_DSN_OF:		/* the id of the message reported on */
		env->dsn_of = f->val;
		return id_ok(f->val, f->val_len) ? 0 : -1;
	default:	/* K_ENVID: xtext, RFC 3461 4 */
		env->envid = f->val;
		return f->val_len <= ADDR_ENVID_MAX &&
		    text_ok(f->val, f->val_len, 1) ? 0 : -1;
	}
}

/* set_rcpt - a Recipient, or the Notify or ORCPT of the last one */
static int
set_rcpt(struct spoolfmt_env *env, int k, struct spoolfmt_field *f)
{
	struct spoolfmt_rcpt *r;

	if (k == K_RCPT) {
		r = &env->rcpt[env->nrcpt];
		r->orcpt = "";
		if (parse_addr(f, ADDR_ALLOW_POSTMASTER, &r->addr) < 0)
			return -1;
		env->nrcpt++;
		return 0;
	}
	if (env->nrcpt == 0)
		return -1;
	r = &env->rcpt[env->nrcpt - 1];
	if (k == K_NOTIFY)
		return r->notify != 0 ? -1 : parse_notify(f->val, &r->notify);
	if (r->orcpt[0] != '\0' || f->val_len > ADDR_ORCPT_MAX ||
	    !text_ok(f->val, f->val_len, 1) || strchr(f->val, ';') == NULL)
		return -1;
	r->orcpt = f->val;
	return 0;
}

/* fail - note what is wrong (and with which key) and return status */
static int
fail(struct spoolfmt_error *err, const char *what, int key, int status)
{
	err->what = what;
	err->key = key >= 0 ? keys[key] : NULL;
	return status;
}

/* apply - one field into the envelope, in the order the format has */
static int
apply(struct spoolfmt_env *env, struct spoolfmt_field *f,
    unsigned long *seen, struct spoolfmt_error *err)
{
	int k = key_index(f), r;

	if (k < 0)
		return SPOOLFMT_OK;	/* a key from a later writer */
	if (k == K_VERSION)
		return fail(err, "repeated key", k, SPOOLFMT_SYNTAX);
	if (k < K_RCPT) {
		if (*seen & (1ul << k))
			return fail(err, "repeated key", k, SPOOLFMT_SYNTAX);
		if (env->nrcpt > 0)
			return fail(err, "key after the recipients", k,
			    SPOOLFMT_SYNTAX);
		*seen |= 1ul << k;
		r = k <= K_TRUSTED ? set_meta(env, k, f) :
		    set_param(env, k, f);
	} else
		r = set_rcpt(env, k, f);
	return r < 0 ? fail(err, "bad value", k, SPOOLFMT_SYNTAX) :
	    SPOOLFMT_OK;
}

/* check_version - the first line: "Version: 1" */
static int
check_version(struct spoolfmt_env *env, struct spoolfmt_field *f,
    struct spoolfmt_error *err)
{
	unsigned long long v;

	if (key_index(f) != K_VERSION)
		return fail(err, "not a queue file", -1, SPOOLFMT_NOTSPOOL);
	if (parse_num(f->val, f->val_len, 1000000, &v) < 0)
		return fail(err, "bad value", K_VERSION, SPOOLFMT_SYNTAX);
	env->version = (unsigned long)v;
	if (v != SPOOLFMT_FORMAT_VERSION)
		return fail(err, "unknown version", K_VERSION,
		    SPOOLFMT_VERSION);
	return SPOOLFMT_OK;
}

/*
 * check_tls - a client certificate and REQUIRETLS come only with a TLS
 * session (RFC 8689 4.1: REQUIRETLS is offered only after STARTTLS)
 */
static int
check_tls(unsigned long seen, struct spoolfmt_error *err)
{
	if (seen & (1ul << K_TLS))
		return SPOOLFMT_OK;
	if (seen & (1ul << K_TLS_CERT))
		return fail(err, SPOOLFMT_KEY_TLS_CLIENT_CERT " without "
		    SPOOLFMT_KEY_TLS, -1, SPOOLFMT_SYNTAX);
	if (seen & (1ul << K_REQUIRETLS))
		return fail(err, SPOOLFMT_KEY_REQUIRETLS " without "
		    SPOOLFMT_KEY_TLS, -1, SPOOLFMT_SYNTAX);
	return SPOOLFMT_OK;
}

/*
 * check_auth - an AUTH= mailbox is kept only from a client that
 * authenticated; smtpd writes "<>" for any other (RFC 4954 5)
 */
static int
check_auth(const struct spoolfmt_env *env, unsigned long seen,
    struct spoolfmt_error *err)
{
	if ((seen & (1ul << K_AUTH)) == 0 && env->auth_param[0] != '\0' &&
	    strcmp(env->auth_param, "<>") != 0)
		return fail(err, SPOOLFMT_KEY_AUTH_PARAM " other than <> "
		    "without " SPOOLFMT_KEY_AUTH, -1, SPOOLFMT_SYNTAX);
	return SPOOLFMT_OK;
}

/* count_rcpts - the Recipient lines in the block (an upper bound) */
static size_t
count_rcpts(const char *p, const char *end)
{
	static const char tag[] = SPOOLFMT_KEY_RCPT ": ";
	size_t n = 0;

	while (p < end) {
		if ((size_t)(end - p) >= sizeof tag - 1 &&
		    memcmp(p, tag, sizeof tag - 1) == 0)
			n++;
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p++;
	}
	return n;
}

/* reset - an envelope with every string "" and nothing allocated */
static void
reset(struct spoolfmt_env *env, struct spoolfmt_error *err)
{
	memset(env, 0, sizeof *env);
	env->id = env->client_addr = env->client_port = "";
	env->client_name = env->helo = env->protocol = "";
	env->tls_version = env->tls_cipher = env->tls_client_cert = "";
	env->auth_user = env->auth_param = "";
	env->sender = env->envid = env->dsn_of = "";
	env->trusted = -1;
	err->line = 0;
	err->what = NULL;
	err->key = NULL;
}

/*
 * spoolfmt_parse - parse the envelope at the start of buf[0..len) into
 * env (pointing into buf, which it changes).  SPOOLFMT_OK, or a status
 * with err telling what and where.  Call spoolfmt_free either way.
 */
int
spoolfmt_parse(char *buf, size_t len, struct spoolfmt_env *env,
    struct spoolfmt_error *err)
{
	struct spoolfmt_field f;
	unsigned long seen = 1ul << K_VERSION;
	char *p = buf, *end;
	int r;

	reset(env, err);
	if ((r = spoolfmt_head(buf, len, 0, &env->head_len)) != SPOOLFMT_OK)
		return fail(err, r == SPOOLFMT_NOTSPOOL ? "not a queue file" :
		    "truncated envelope (no empty line)", -1, r);
	end = buf + env->head_len;
	env->rcpt = calloc(count_rcpts(buf, end) + 1, sizeof *env->rcpt);
	if (env->rcpt == NULL)
		return fail(err, "out of memory", -1, SPOOLFMT_NOMEM);
	while ((r = spoolfmt_field(&p, end, &f)) > 0) {
		err->line++;
		r = err->line == 1 ? check_version(env, &f, err) :
		    apply(env, &f, &seen, err);
		if (r != SPOOLFMT_OK)
			return r;
	}
	err->line++;
	if (r < 0)
		return fail(err, "malformed line", -1, SPOOLFMT_SYNTAX);
	err->line = 0;
	if ((~seen & (1ul << K_ID | 1ul << K_ARRIVAL | 1ul << K_SENDER)) != 0)
		return fail(err, "Id, Arrival or Sender missing", -1,
		    SPOOLFMT_SYNTAX);
	if (env->nrcpt == 0)
		return fail(err, "no recipient", -1, SPOOLFMT_SYNTAX);
	if ((r = check_tls(seen, err)) != SPOOLFMT_OK)
		return r;
	return check_auth(env, seen, err);
}

/* spoolfmt_free - release what spoolfmt_parse allocated */
void
spoolfmt_free(struct spoolfmt_env *env)
{
	free(env->rcpt);
	env->rcpt = NULL;
	env->nrcpt = 0;
}
