/*
 * fuzz_spoolfmt.c - libFuzzer target: the spool-file reader (spoolfmt.c,
 * used by smtpd-queue) on arbitrary bytes, in a buffer of exactly their
 * size so any read past the end is an ASan error.  Seeds are real files
 * smtpd wrote (tests/fuzz/mkcorpus.py).
 * Beyond "no crash, no leak": spoolfmt_head finds the same end whether
 * the file arrives whole or in two parts (the incremental use); an
 * accepted envelope has version 1, an Id, at least one recipient, and
 * every string it returns is inside the block (or a constant ""), holds
 * no control octet, and every address parses again as a path; a client
 * certificate or REQUIRETLS comes only with a TLS session; an AUTH user
 * is 1 to 1024 octets of UTF-8 without space, an AUTH= mailbox (other
 * than "<>") comes only with one, and is at most 500 octets.
 * (fuzz_session.c also feeds every file smtpd writes to spoolfmt_parse:
 * the writer and the reader must agree.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "spoolfmt.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fail - report a broken invariant and abort (libFuzzer keeps the input) */
static void
fail(const char *what, const char *s, size_t n)
{
	fprintf(stderr, "fuzz_spoolfmt: INVARIANT BROKEN: %s: %.*s\n", what,
	    (int)(n > 300 ? 300 : n), s ? s : "");
	abort();
}

/* check_str - a returned value: inside buf[0..head) or "", no controls */
static void
check_str(const char *what, const char *s, const char *buf, size_t head)
{
	size_t n, i;

	if (s == NULL)
		fail(what, "NULL", 4);
	if (*s == '\0')
		return;
	if (s < buf || s >= buf + head)
		fail(what, "points outside the envelope block", 33);
	n = strnlen(s, (size_t)(buf + head - s));
	if (s + n >= buf + head)
		fail(what, "not NUL-terminated inside the block", 35);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			fail(what, s, n);
}

/* check_path - an address from the file parses as a path again */
static void
check_path(const char *what, const char *a, int flags)
{
	char buf[ADDR_PATH_MAX + 8];
	const char *p = buf;
	size_t n = strlen(a);
	struct path pa;

	if (n > ADDR_PATH_MAX)
		fail(what, a, n);
	buf[0] = '<';
	memcpy(buf + 1, a, n);
	buf[n + 1] = '>';
	if (addr_parse_path(&p, buf + n + 2, flags, &pa) != ADDR_OK ||
	    p != buf + n + 2 || pa.len != n || memcmp(pa.addr, a, n) != 0)
		fail(what, a, n);
}

/* check_head - whole and in two parts, spoolfmt_head agrees */
static void
check_head(const char *buf, size_t len, size_t cut)
{
	size_t h1 = 0, h2 = 0;
	int r1, r2;

	r1 = spoolfmt_head(buf, len, 0, &h1);
	if (r1 == SPOOLFMT_OK && (h1 < 2 || h1 > len || buf[h1 - 1] != '\n' ||
	    buf[h1 - 2] != '\n'))
		fail("spoolfmt_head: block does not end in an empty line", buf,
		    len);
	if (cut == 0 || cut >= len)
		return;
	if (spoolfmt_head(buf, cut, 0, &h2) != SPOOLFMT_TRUNCATED)
		return;
	r2 = spoolfmt_head(buf, len, cut, &h2);
	if (r1 != r2 || (r1 == SPOOLFMT_OK && h1 != h2))
		fail("spoolfmt_head: whole and in parts disagree", buf, len);
}

/* check_tls - the TLS facts: in the block, and only with a session */
static void
check_tls(const struct spoolfmt_env *env, const char *buf)
{
	check_str("tls_version", env->tls_version, buf, env->head_len);
	check_str("tls_cipher", env->tls_cipher, buf, env->head_len);
	check_str("tls_client_cert", env->tls_client_cert, buf,
	    env->head_len);
	if ((env->tls_version[0] == '\0') != (env->tls_cipher[0] == '\0') ||
	    strchr(env->tls_version, ' ') != NULL ||
	    strchr(env->tls_cipher, ' ') != NULL)
		fail("TLS is not two words", env->tls_version,
		    strlen(env->tls_version));
	if (env->tls_version[0] == '\0' &&
	    (env->tls_client_cert[0] != '\0' || env->requiretls))
		fail("client cert or REQUIRETLS without TLS", NULL, 0);
	if (env->tls_client_cert[0] != '\0' &&
	    strlen(env->tls_client_cert) != 7 + 64)
		fail("client cert hash of a wrong length",
		    env->tls_client_cert, strlen(env->tls_client_cert));
}

/* check_auth - the AUTH user and AUTH= mailbox, as smtpd keeps them */
static void
check_auth(const struct spoolfmt_env *env, const char *buf)
{
	size_t un = strlen(env->auth_user), pn = strlen(env->auth_param);

	check_str("auth_user", env->auth_user, buf, env->head_len);
	check_str("auth_param", env->auth_param, buf, env->head_len);
	if (un > SPOOLFMT_AUTH_USER_MAX ||
	    strchr(env->auth_user, ' ') != NULL ||
	    !addr_valid_utf8(env->auth_user, un))
		fail("AUTH user not 1-1024 octets of UTF-8 without space",
		    env->auth_user, un);
	if (pn > ADDR_AUTH_MAX || strchr(env->auth_param, ' ') != NULL ||
	    strchr(env->auth_param, '=') != NULL)
		fail("AUTH= mailbox not xtext", env->auth_param, pn);
	if (un == 0 && pn > 0 && strcmp(env->auth_param, "<>") != 0)
		fail("AUTH= mailbox without an AUTH user", env->auth_param, pn);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spoolfmt_env env;
	struct spoolfmt_error err;
	char *buf;
	size_t i, cut;
	int r;

	if (size < 2 || size > 65536)
		return 0;
	cut = data[0] * (size - 1) / 255;	/* where the file "arrives" */
	size--;
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size);
	check_head(buf, size, cut);
	r = spoolfmt_parse(buf, size, &env, &err);
	if (r == SPOOLFMT_OK) {
		if (env.version != 1 || env.nrcpt == 0 || env.id[0] == '\0' ||
		    env.head_len > size)
			fail("accepted envelope lacks version/Id/recipient",
			    (const char *)data + 1, size);
		check_str("id", env.id, buf, env.head_len);
		check_str("client_addr", env.client_addr, buf, env.head_len);
		check_str("client_port", env.client_port, buf, env.head_len);
		check_str("client_name", env.client_name, buf, env.head_len);
		check_str("helo", env.helo, buf, env.head_len);
		check_tls(&env, buf);
		check_auth(&env, buf);
		check_str("protocol", env.protocol, buf, env.head_len);
		check_str("sender", env.sender, buf, env.head_len);
		check_str("envid", env.envid, buf, env.head_len);
		if (env.sender[0] != '\0')
			check_path("sender", env.sender, ADDR_ALLOW_NULL);
		for (i = 0; i < env.nrcpt; i++) {
			check_str("rcpt", env.rcpt[i].addr, buf, env.head_len);
			check_str("orcpt", env.rcpt[i].orcpt, buf,
			    env.head_len);
			check_path("rcpt", env.rcpt[i].addr,
			    ADDR_ALLOW_POSTMASTER);
		}
	} else if (r != SPOOLFMT_TRUNCATED && r != SPOOLFMT_NOTSPOOL &&
	    r != SPOOLFMT_VERSION && r != SPOOLFMT_SYNTAX &&
	    r != SPOOLFMT_NOMEM)
		fail("unknown spoolfmt_parse status", NULL, 0);
	else if (err.what == NULL)
		fail("refusal without a reason", NULL, 0);
	spoolfmt_free(&env);
	free(buf);
	return 0;
}
