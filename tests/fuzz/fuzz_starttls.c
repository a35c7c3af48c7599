/*
 * fuzz_starttls.c - libFuzzer target: one whole session around STARTTLS
 * (RFC 3207) and implicit TLS (RFC 8314), smtpd on one end of a
 * socketpair with a certificate configured, this harness the client on
 * the other end, in a thread.
 * Input: two selector octets, then the first part, then SEP ("==TLS=="),
 * then the second part (no SEP: all is the first part).  Octet 0:
 *   bit 0  real TLS: the client does the handshake (OpenSSL) and speaks
 *          encrypted; clear: the second part goes raw after the 220
 *          (garbage or hand-made TLS records: the handshake path,
 *          OpenSSL's record parser as smtpd drives it, our failures)
 *   bit 1  the client offers TLS 1.2 only (else 1.2 and 1.3)
 *   bit 2  the client ends with close_notify (else a bare EOF)
 *   bit 3  an untrusted client (192.0.2.7), else a local one
 *   bits 4-5  smtpd: 0 plain settings, 1 --require-tls,
 *          2 --tls-client-ca (the client presents its certificate when
 *          bit 6 is set), 3 tight limits, --require-tls and the CA
 *   bit 6  the client presents a certificate (variants 2 and 3)
 *   bit 7  --tls-implicit: both parts go after the handshake, in turn
 * Octet 1, how the client writes under TLS (real mode):
 *   bits 0-1  records: 0 a part in one write, 1 a line each, 2 pieces
 *          of 1 to 13 octets (the length from the data), 3 one octet
 *   bits 2-3  before each part a TLS 1.3 KeyUpdate: 1 not requested,
 *          2 or 3 requested (smtpd must answer with its own)
 *   bit 4  before each part a TLS 1.2 renegotiation request
 * With STARTTLS (bit 7 clear) the client waits for the greeting, sends
 * the first part in one write (STARTTLS and whatever is pipelined after
 * it), reads the replies until smtpd waits for input, and goes on only
 * if they end in "220 2.0.0 Ready to start TLS".  "smtpd waits for
 * input" is known exactly, not guessed from a timer: read(2) is wrapped
 * at link time (-Wl,--wrap=read) and tells the client when the session
 * is about to read with every octet the client sent consumed, which is
 * after its replies were flushed (io.c flushes before it reads).
 * Invariants, any break aborts:
 *  - every reply line (plain, and decrypted under TLS) is "DDD" SP/"-"
 *    printable text CRLF, <= 512 octets; no plain reply after the 220;
 *    EHLO lists REQUIRETLS only under TLS and STARTTLS only before it;
 *  - the octets pipelined after STARTTLS are never answered: once the
 *    handshake is done and smtpd waits for the first command under
 *    TLS, it has said nothing (with implicit TLS: only the greeting);
 *  - with a real client the handshake succeeds and the TLS stream
 *    stays sound; a session the client has not left ends only after a
 *    closing reply (221, 421, 554), never silently;  in raw mode all
 *    smtpd sends after the 220 is whole TLS records, never plain text;
 *  - each "250 ... queued as ID" has its file in new/, nothing else is
 *    there, tmp/ is empty; a message queued under TLS has the TLS:
 *    envelope line and the Received comment with the version and
 *    cipher the client agreed on, and the client certificate's hash
 *    exactly when one was verified; one queued before TLS has none of
 *    them, and there is none with --require-tls; one queued under TLS
 *    names (Helo:) a HELO/EHLO sent under TLS (RFC 3207 4.2: smtpd
 *    forgets the one before);
 *    spoolfmt_parse (smtpd-queue's reader) takes every file;
 *  - the session returns, and no file descriptor is left open.
 * The certificate (ECDSA P-256, CN and SAN mx.fuzz.example) is made
 * once by openssl(1) in LLVMFuzzerInitialize, into a private directory
 * that also holds the queue.  smtpd dlopen's libtls (LIBTLS_SONAME); the
 * client is OpenSSL's libssl on memory BIOs (libtls cannot send a
 * KeyUpdate or a renegotiation), the same libssl libtls runs on.
 */
#define _GNU_SOURCE
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fuzzcheck.h"
#include "options.h"
#include "peer.h"
#include "session.h"

#ifdef HAVE_SPOOLFMT
#endif

#define HOST		"mx.fuzz.example"
#define SEP		"==TLS=="
#define READY		"220 2.0.0 Ready to start TLS\r\n"
#define NVARIANT	4
#define MAX_IDS		4096	/* more 250s than an input can hold */
#define WAIT_MS		1000	/* one poll of the client; never a bound */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
ssize_t	 __real_read(int, void *, size_t);
ssize_t	 __wrap_read(int, void *, size_t);

/* configs[implicit][variant] */
static struct config configs[2][NVARIANT];
static struct client local_client, remote_client;
static struct session sess;
static SSL_CTX *client_ctx[4];		/* [tls12 | cert << 1] */
static char topdir[256], certpath[300], keypath[300], newdir[300];

/*
 * What the session's side of __wrap_read tells the client: octets it
 * has read from its socket, and the count it had when it last went to
 * read (-1 while it works on what it read).  efd wakes the client.
 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int srv_fd = -1, efd = -1;
static long long consumed, waiting_at = -1;
static int session_done;

struct buf {
	unsigned char *p;
	size_t	 len, cap;
};

/* the client's side of one run */
struct crun {
	int	 fd;
	int	 real, tls12, notify, cert, implicit;
	const unsigned char *part[2];
	size_t	 plen[2];
	struct buf in;		/* raw octets from smtpd not yet taken */
	size_t	 in_pos;
	int	 eof, wdead;
	long long sent;
	struct buf plain;	/* replies before TLS */
	struct buf dec;		/* replies under TLS, decrypted */
	struct buf raw;		/* raw mode: what came after the 220 */
	int	 ready;		/* 220 2.0.0 Ready to start TLS seen */
	int	 shaken;	/* handshake done (real mode) */
	int	 split, update, reneg;	/* the second selector octet */
	int	 renegotiated;	/* asked for a TLS 1.2 renegotiation */
	int	 broken;	/* the client's SSL failed (and said so) */
	SSL	*ssl;
	BIO	*rbio, *wbio;	/* memory BIOs: ssl's ciphertext */
	char	 version[32], cipher[96], peer_hash[96];
};

/* buf_add - append n octets */
static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (b->cap - b->len < n) {
		while (b->cap - b->len < n)
			b->cap = b->cap ? b->cap * 2 : 16384;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			fail("realloc", NULL, 0);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* make_cert - a throwaway ECDSA certificate and key, by openssl(1) */
static void
make_cert(void)
{
	const char *openssl = getenv("FUZZ_OPENSSL");
	char *argv[] = {
		"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
		"ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
		"/CN=" HOST, "-addext", "subjectAltName=DNS:" HOST,
		"-keyout", keypath, "-out", certpath, NULL
	};
	pid_t pid;
	int st, null;

	if (openssl == NULL || *openssl == '\0')
		openssl = "openssl";
	if ((pid = fork()) < 0)
		fail_errno("fork");
	if (pid == 0) {
		if ((null = open("/dev/null", O_RDWR)) >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(openssl, argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail_errno("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail("openssl req could not make the test certificate "
		    "(is openssl(1) installed? FUZZ_OPENSSL names another)",
		    NULL, 0);
}

/* set_config - defaults as smtpd has them, the certificate, a variant */
static void
set_config(struct config *cfg, int variant, int implicit)
{
	config_defaults(cfg);
	cfg->queue = topdir;
	memcpy(cfg->hostname, HOST, sizeof HOST);
	cfg->timeout = 2;
	cfg->session_max = 30;
	cfg->log_mode = LOGMODE_STDERR;
	if (policy_add_domain(&cfg->domains, "example.com") < 0 ||
	    policy_add_domain(&cfg->domains, ".sub.example.com") < 0)
		fail("policy_add_domain", NULL, 0);
	cfg->tls.cert = certpath;
	cfg->tls.key = keypath;
	cfg->tls.implicit = implicit;
	cfg->tls.require = variant == 1 || variant == 3;
	if (variant >= 2)
		cfg->tls.client_ca = certpath;
	if (variant == 3) {
		cfg->max_size = 300;
		cfg->max_rcpt = 3;
		cfg->max_errors = 6;
		cfg->max_messages = 3;
	}
	tls_open_files(&cfg->tls);
	if (cfg->tls.bad_file != NULL || tls_setup_check(&cfg->tls) != NULL)
		fail("TLS set-up", cfg->tls.bad_file, cfg->tls.bad_file ?
		    strlen(cfg->tls.bad_file) : 0);
}

/* set_client_tls - the four client contexts (OpenSSL) */
static void
set_client_tls(void)
{
	unsigned char *cert, *key;
	size_t clen, klen;
	EVP_PKEY *k;
	X509 *x;
	BIO *b;
	int i;

	cert = (unsigned char *)fc_read_file(certpath, &clen);
	key = (unsigned char *)fc_read_file(keypath, &klen);
	if ((b = BIO_new_mem_buf(cert, (int)clen)) == NULL ||
	    (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) == NULL)
		fail("PEM_read_bio_X509", certpath, strlen(certpath));
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key, (int)klen)) == NULL ||
	    (k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)) == NULL)
		fail("PEM_read_bio_PrivateKey", keypath, strlen(keypath));
	BIO_free(b);
	for (i = 0; i < 4; i++) {
		SSL_CTX *c = SSL_CTX_new(TLS_client_method());

		/* the throwaway certificate is the one trusted root */
		if (c == NULL ||
		    !SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) ||
		    !SSL_CTX_set_max_proto_version(c, (i & 1) ?
		    TLS1_2_VERSION : 0) ||
		    !X509_STORE_add_cert(SSL_CTX_get_cert_store(c), x) ||
		    ((i & 2) && (!SSL_CTX_use_certificate(c, x) ||
		    !SSL_CTX_use_PrivateKey(c, k))))
			fail("client SSL_CTX", NULL, 0);
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
		client_ctx[i] = c;
	}
	X509_free(x);
	EVP_PKEY_free(k);
	explicit_bzero(key, klen);
	free(key);
	free(cert);
}

/*
 * __wrap_read - read(2) as smtpd's objects see it: on the session's
 * socket, say when it is about to read (the client's "smtpd waits")
 */
ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	ssize_t r;

	if (fd != srv_fd || srv_fd < 0)
		return __real_read(fd, buf, n);
	pthread_mutex_lock(&mu);
	waiting_at = consumed;
	pthread_mutex_unlock(&mu);
	(void)eventfd_write(efd, 1);
	r = __real_read(fd, buf, n);
	if (r > 0) {
		pthread_mutex_lock(&mu);
		consumed += r;
		waiting_at = -1;
		pthread_mutex_unlock(&mu);
	}
	return r;
}

/* take_in - what smtpd sent that is waiting, without blocking */
static void
take_in(struct crun *c)
{
	unsigned char b[65536];
	ssize_t n;

	while (!c->eof) {
		n = recv(c->fd, b, sizeof b, MSG_DONTWAIT);
		if (n > 0)
			buf_add(&c->in, b, (size_t)n);
		else if (n == 0 || (errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			c->eof = 1;	/* ECONNRESET too */
		else if (errno != EINTR)
			break;
	}
}

/* pump - wait at most ms for octets from smtpd or word from the wrapper */
static void
pump(struct crun *c, int ms)
{
	struct pollfd p[2];
	uint64_t v;

	p[0].fd = c->fd;
	p[0].events = POLLIN;
	p[1].fd = efd;
	p[1].events = POLLIN;
	p[0].revents = p[1].revents = 0;
	if (c->eof)
		return;
	if (poll(p, 2, ms) <= 0)
		return;
	if (p[1].revents & POLLIN)
		(void)eventfd_read(efd, &v);
	if (p[0].revents)
		take_in(c);
}

/*
 * wait_idle - until smtpd waits for input with all the client sent
 * read (so every reply is in the socket), the session is over, or it
 * closed its side; then take what it sent
 */
static void
wait_idle(struct crun *c)
{
	int ok;

	for (;;) {
		take_in(c);
		if (c->eof)
			return;
		pthread_mutex_lock(&mu);
		ok = session_done || waiting_at == c->sent;
		pthread_mutex_unlock(&mu);
		if (ok) {
			take_in(c);
			return;
		}
		pump(c, WAIT_MS);
	}
}

/* send_raw - all n octets, taking smtpd's replies while it does not read */
static void
send_raw(struct crun *c, const void *buf, size_t n)
{
	const unsigned char *p = buf;
	struct pollfd pfd;
	ssize_t w;

	while (n > 0 && !c->wdead) {
		w = send(c->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			c->sent += w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			c->wdead = 1;		/* EPIPE: the session is over */
			break;
		}
		pfd.fd = c->fd;
		pfd.events = c->eof ? POLLOUT : POLLIN | POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, WAIT_MS) > 0 && (pfd.revents & POLLIN))
			take_in(c);
	}
}

/* fail_ssl - a broken invariant, with OpenSSL's reason */
static void
fail_ssl(const char *what)
{
	char why[256];

	ERR_error_string_n(ERR_get_error(), why, sizeof why);
	fail(what, why, strlen(why));
}

/* ssl_feed - what smtpd sent, to the client's SSL; its EOF too */
static void
ssl_feed(struct crun *c)
{
	size_t n = c->in.len - c->in_pos;

	if (n > 0 && BIO_write(c->rbio, c->in.p + c->in_pos, (int)n) !=
	    (int)n)
		fail("BIO_write", NULL, 0);
	c->in_pos = c->in.len;
	if (c->eof)
		BIO_set_mem_eof_return(c->rbio, 0);
}

/* ssl_flush - what the client's SSL wrote, to smtpd */
static void
ssl_flush(struct crun *c)
{
	char b[16384];
	int n;

	while ((n = BIO_read(c->wbio, b, sizeof b)) > 0)
		send_raw(c, b, (size_t)n);
}

/*
 * ssl_step - after an SSL call returned r: 1 to call it again (more
 * input came), 0 when it cannot go on (the session's end)
 */
static int
ssl_step(struct crun *c, int r)
{
	int e = SSL_get_error(c->ssl, r);

	ssl_flush(c);			/* with a fatal alert, if any */
	if (e == SSL_ERROR_WANT_WRITE)
		return 1;
	if (e == SSL_ERROR_SSL && !c->eof)
		c->broken = 1;
	if (e != SSL_ERROR_WANT_READ || c->wdead)
		return 0;
	if (c->in_pos == c->in.len) {
		if (c->eof)
			return 0;
		pump(c, WAIT_MS);
	}
	ssl_feed(c);
	return 1;
}

/* hex_hash - "SHA256:<hex>" of the certificate, as libtls names it */
static void
hex_hash(X509 *x, char *out, size_t cap)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int i, n = 0;
	size_t len;

	out[0] = '\0';
	if (x == NULL || !X509_digest(x, EVP_sha256(), md, &n))
		return;
	len = (size_t)snprintf(out, cap, "SHA256:");
	for (i = 0; i < n && len + 3 <= cap; i++, len += 2)
		snprintf(out + len, 3, "%02x", md[i]);
}

/* handshake - the client's side; a failure is a broken invariant */
static void
handshake(struct crun *c)
{
	X509 *x;
	int r;

	ERR_clear_error();
	if ((c->ssl = SSL_new(client_ctx[c->tls12 | c->cert << 1])) ==
	    NULL || (c->rbio = BIO_new(BIO_s_mem())) == NULL ||
	    (c->wbio = BIO_new(BIO_s_mem())) == NULL)
		fail_ssl("client SSL_new");
	SSL_set_bio(c->ssl, c->rbio, c->wbio);	/* ssl owns them now */
	if (!SSL_set_tlsext_host_name(c->ssl, HOST) ||
	    !SSL_set1_host(c->ssl, HOST))
		fail_ssl("client SNI");
	SSL_set_connect_state(c->ssl);
	ssl_feed(c);
	while ((r = SSL_do_handshake(c->ssl)) != 1)
		if (!ssl_step(c, r))
			fail_ssl("the handshake with a real client failed");
	ssl_flush(c);
	c->shaken = 1;
	snprintf(c->version, sizeof c->version, "%s",
	    SSL_get_version(c->ssl));
	snprintf(c->cipher, sizeof c->cipher, "%s", SSL_get_cipher(c->ssl));
	/* the client's certificate is the server's: the same hash */
	x = SSL_get1_peer_certificate(c->ssl);
	hex_hash(x, c->peer_hash, sizeof c->peer_hash);
	X509_free(x);
}

/*
 * check_sound - the client's TLS failed only where smtpd may make it
 * fail: smtpd (libtls) refuses renegotiation, and OpenSSL's client
 * takes that as fatal
 */
static void
check_sound(struct crun *c)
{
	if (c->broken && !c->renegotiated)
		fail_ssl("smtpd broke the TLS stream");
	ERR_clear_error();
}

/*
 * decrypt - every reply that arrived, into c->dec (and whatever the
 * client's SSL answers, out).  A TLS error is smtpd's: it broke the
 * stream (the EOF without close_notify that a session may end with
 * is not one).
 */
static void
decrypt(struct crun *c)
{
	unsigned char b[16384];
	int r, e;

	ssl_feed(c);
	for (;;) {
		if ((r = SSL_read(c->ssl, b, sizeof b)) > 0) {
			buf_add(&c->dec, b, (size_t)r);
			continue;
		}
		e = SSL_get_error(c->ssl, r);
		ssl_flush(c);
		if (e == SSL_ERROR_SSL && !c->eof)
			c->broken = 1;
		break;		/* all read, close_notify, the end */
	}
	check_sound(c);
}

/*
 * piece - the length of the next record: all, a line, 1 to 13 octets
 * (told by the data itself, as fuzz_session's pieces), or one octet
 */
static size_t
piece(const struct crun *c, const unsigned char *p, size_t n)
{
	const unsigned char *nl;

	switch (c->split) {
	case 1:
		nl = memchr(p, '\n', n);
		return nl != NULL ? (size_t)(nl - p) + 1 : n;
	case 2:
		return 1 + p[0] % 13 < n ? 1 + p[0] % 13 : n;
	case 3:
		return 1;
	default:
		return n;
	}
}

/* tls_send - one part under TLS, in records as the selector says */
static void
tls_send(struct crun *c, const unsigned char *p, size_t n)
{
	size_t k;
	int r;

	if (c->update && SSL_version(c->ssl) == TLS1_3_VERSION) {
		/* a KeyUpdate: one the server must answer, or not */
		if (!SSL_key_update(c->ssl, c->update >= 2 ?
		    SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED))
			fail_ssl("SSL_key_update");
		while ((r = SSL_do_handshake(c->ssl)) != 1 && ssl_step(c, r))
			;
		ssl_flush(c);
	}
	if (c->reneg && SSL_version(c->ssl) == TLS1_2_VERSION &&
	    SSL_renegotiate(c->ssl)) {
		c->renegotiated = 1;	/* smtpd may refuse it: no invariant */
		while ((r = SSL_do_handshake(c->ssl)) != 1 && ssl_step(c, r))
			;
		ssl_flush(c);
	}
	while (n > 0 && !c->wdead) {
		k = piece(c, p, n);
		r = SSL_write(c->ssl, p, (int)k);
		if (r > 0) {
			ssl_flush(c);
			p += r;
			n -= (size_t)r;
		} else if (!ssl_step(c, r))
			break;		/* the session ended */
	}
	check_sound(c);
}

/* plain_round - greeting, the first part, the replies up to the 220 */
static void
plain_round(struct crun *c)
{
	const unsigned char *p, *end, *eol;

	wait_idle(c);			/* the greeting: no early talk */
	send_raw(c, c->part[0], c->plen[0]);
	wait_idle(c);
	if (c->in.len == 0)
		return;			/* the session ended at once */
	p = c->in.p;
	end = p + c->in.len;
	for (; p < end; p = eol) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		eol = eol != NULL ? eol + 2 : end;
		if ((size_t)(eol - p) == sizeof READY - 1 &&
		    memcmp(p, READY, sizeof READY - 1) == 0) {
			c->ready = 1;
			p = eol;
			break;
		}
	}
	buf_add(&c->plain, c->in.p, (size_t)(p - c->in.p));
	if (p != end)
		fail("plain text after 220 Ready to start TLS", p,
		    (size_t)(end - p));
	c->in.len = c->in_pos = 0;	/* from here on: TLS records */
}

/*
 * check_end - a session that is over though the client has not left
 * must have said why: its last reply is a closing one (221, 421, 554)
 */
static void
check_end(struct crun *c, const struct buf *b)
{
	const unsigned char *last;
	int over;

	pthread_mutex_lock(&mu);
	over = session_done;
	pthread_mutex_unlock(&mu);
	if ((!over && !c->eof) || c->broken)
		return;		/* a broken client's alert ends it silently */
	if (b->len < 6 || b->p[b->len - 1] != '\n')
		fail("the session ended without a closing reply", b->p,
		    b->len);
	for (last = b->p + b->len - 1; last > b->p && last[-1] != '\n';
	    last--)
		;
	if (memcmp(last, "221 ", 4) != 0 && memcmp(last, "421 ", 4) != 0 &&
	    memcmp(last, "554 ", 4) != 0)
		fail("the session ended without a closing reply", last,
		    (size_t)(b->p + b->len - last));
}

/* client_main - the client's whole conversation */
static void *
client_main(void *arg)
{
	struct crun *c = arg;
	size_t before;
	int i;

	if (!c->implicit) {
		plain_round(c);
		if (!c->ready) {
			check_end(c, &c->plain);
			goto out;
		}
	}
	if (c->real) {
		handshake(c);
		wait_idle(c);
		before = c->dec.len;
		decrypt(c);
		if (!c->implicit && c->dec.len != before)
			fail("smtpd spoke under TLS before the client (octets "
			    "pipelined after STARTTLS answered?)",
			    c->dec.p + before, c->dec.len - before);
		if (c->implicit && (c->dec.len < 4 ||
		    memcmp(c->dec.p, "220 ", 4) != 0 ||
		    memchr(c->dec.p, '\n', c->dec.len) !=
		    (void *)(c->dec.p + c->dec.len - 1)))
			fail("implicit TLS: not one 220 greeting first",
			    c->dec.p, c->dec.len);
	}
	for (i = c->implicit ? 0 : 1; i < 2 && !c->eof && !c->wdead; i++) {
		if (c->real)
			tls_send(c, c->part[i], c->plen[i]);
		else
			send_raw(c, c->part[i], c->plen[i]);
		wait_idle(c);
		if (c->real) {
			decrypt(c);
			check_end(c, &c->dec);
		}
	}
out:
	if (c->shaken && c->notify) {
		(void)SSL_shutdown(c->ssl);	/* close_notify */
		ssl_flush(c);
	}
	shutdown(c->fd, SHUT_WR);
	while (!c->eof)
		pump(c, WAIT_MS);
	if (c->shaken)
		decrypt(c);
	else if (c->ready || c->implicit)
		buf_add(&c->raw, c->in.p, c->in.len);
	else				/* replies to our EOF, if any */
		buf_add(&c->plain, c->in.p, c->in.len);
	return NULL;
}

/* is_line - is the line at p (len octets with CRLF) exactly s CRLF? */
static int
is_line(const char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len == n + 2 && memcmp(p, s, n) == 0;
}

struct qid {
	char	 id[SPOOL_ID_MAX];
	int	 tls;
};

/*
 * check_replies - every line well-formed, the EHLO keywords right for
 * the side of STARTTLS; the queued ids go to ids[*nids]
 */
static void
check_replies(const struct buf *b, int tls, int greeting, struct qid *ids,
    size_t *nids)
{
	const char *p = (const char *)b->p, *end, *last = p;
	struct fc_reply r = { 0, 0 };
	char id[SPOOL_ID_MAX];
	size_t len;

	if (greeting && (b->len == 0 || (p[0] != '2' && p[0] != '4' &&
	    p[0] != '5')))
		fail("first reply is not a greeting", p, b->len);
	if (b->len == 0)
		return;
	end = p + b->len;
	for (; p < end; p += len) {
		len = fc_reply_line(p, end, &r);
		last = p;
		if (tls && (is_line(p, len, "250-STARTTLS") ||
		    is_line(p, len, "250 STARTTLS")))
			fail("EHLO under TLS offers STARTTLS", p, len);
		if (!tls && (is_line(p, len, "250-REQUIRETLS") ||
		    is_line(p, len, "250 REQUIRETLS")))
			fail("EHLO before TLS offers REQUIRETLS", p, len);
		if (fc_queued_id(p, len, id, sizeof id)) {
			if (*nids == MAX_IDS)
				fail("more 250s than the harness can hold", p,
				    len);
			memcpy(ids[*nids].id, id, sizeof id);
			ids[(*nids)++].tls = tls;
		}
	}
	fc_replies_end(&r, last, end);
}

/* fail_hex - fail, showing octets in hex */
static void
fail_hex(const char *what, const unsigned char *p, size_t n)
{
	char hex[400];
	size_t i;

	for (i = 0; i < n && i < sizeof hex / 2 - 1; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	hex[2 * i] = '\0';
	fail(what, hex, 2 * i);
}

/* check_records - raw mode: smtpd sent whole TLS records, nothing else */
static void
check_records(const struct buf *b)
{
	const unsigned char *p = b->p;
	size_t n = b->len, len;

	while (n > 0) {		/* the version: OpenSSL may echo the peer's */
		if (n < 5 || p[0] < 20 || p[0] > 24)
			fail_hex("raw mode: smtpd sent something that is not "
			    "a TLS record", b->p, b->len);
		len = (size_t)p[3] << 8 | p[4];
		if (len > 16384 + 2048 || n - 5 < len)
			fail_hex("raw mode: a TLS record too long or cut",
			    b->p, b->len);
		p += 5 + len;
		n -= 5 + len;
	}
}

/*
 * helo_sent - was name (the envelope's Helo) the word of a HELO or EHLO
 * line sent under TLS?  After STARTTLS smtpd forgets the name it had
 * (RFC 3207 4.2), so a message queued under TLS must carry a new one.
 */
static int
helo_sent(const struct crun *c, const char *name, size_t len)
{
	const unsigned char *p, *end, *nl, *w;
	int i;

	for (i = c->implicit ? 0 : 1; i < 2; i++) {
		end = c->part[i] + c->plen[i];
		for (p = c->part[i]; p < end; p = nl + 1) {
			if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
				nl = end;
			if (nl - p < 5 || (strncasecmp((const char *)p,
			    "HELO", 4) != 0 && strncasecmp((const char *)p,
			    "EHLO", 4) != 0))
				continue;
			for (w = p + 4; w < nl && (*w == ' ' || *w == '\t');
			    w++)
				;
			if ((size_t)(nl - w) >= len && memcmp(w, name, len) ==
			    0 && (w + len == nl || w[len] == ' ' ||
			    w[len] == '\t' || w[len] == '\r'))
				return 1;
		}
	}
	return 0;
}

/* check_tls_facts - what the spool says of TLS for one message */
static void
check_tls_facts(const struct crun *c, const struct config *cfg,
    const struct qid *q, const struct fc_env *et, const char *f,
    const char *rcvd, size_t rlen)
{
	char want[256];
	int n;

	if (!q->tls) {
		if (et->tls != NULL || et->cert != NULL || et->requiretls ||
		    memmem(rcvd, rlen, "(using ", 7) != NULL)
			fail("a message queued before TLS says TLS", f,
			    (size_t)(rcvd + rlen - f));
		if (cfg->tls.require)
			fail("--require-tls: a message queued before TLS",
			    q->id, strlen(q->id));
		return;
	}
	if (et->helo == NULL || !helo_sent(c, et->helo, et->helo_len))
		fail("queued under TLS with a HELO name not given under TLS "
		    "(state from before STARTTLS kept?)", f,
		    (size_t)(rcvd - f));
	n = snprintf(want, sizeof want, "%s %s", c->version, c->cipher);
	if (et->tls == NULL || et->tls_len != (size_t)n ||
	    memcmp(et->tls, want, (size_t)n) != 0)
		fail("TLS: envelope line is not the client's version and "
		    "cipher", et->tls ? et->tls : want, et->tls ?
		    et->tls_len : (size_t)n);
	n = snprintf(want, sizeof want, "(using %s with cipher %s (",
	    c->version, c->cipher);
	if (memmem(rcvd, rlen, want, (size_t)n) == NULL)
		fail("Received: lacks the TLS comment", rcvd, rlen);
	if (cfg->tls.client_ca != NULL && c->cert) {
		if (et->cert == NULL || et->cert_len != strlen(c->peer_hash) ||
		    memcmp(et->cert, c->peer_hash, et->cert_len) != 0)
			fail("TLS-Client-Cert is not the client's certificate",
			    c->peer_hash, strlen(c->peer_hash));
	} else if (et->cert != NULL)
		fail("TLS-Client-Cert without a verified certificate",
		    et->cert, et->cert_len);
}

/* what check_file needs of the run */
struct qrun {
	const struct crun *c;
	const struct config *cfg;
};

/* check_file - one file of new/: its envelope and message as smtpd must
 * write them, what they say of TLS, and the spool reader takes it */
static void
check_file(void *arg, void *rec, const char *name, char *f, size_t n)
{
	const struct qrun *r = arg;
	struct fc_env et;
	size_t head, rlen;

	head = fc_check_envelope(f, n, name, &et);
	rlen = fc_check_message(f + head, n - head, r->cfg->max_size, 0);
	check_tls_facts(r->c, r->cfg, rec, &et, f, f + head, rlen);
	fc_check_spoolfmt(f, n, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct qid ids[MAX_IDS];
	const struct config *cfg;
	const unsigned char *sep;
	struct conn conn = { -1, -1, 1, 1 };
	struct crun c;
	struct qrun qr;
	pthread_t th;
	int sv[2], rc, free_fd, sel, sel2;
	size_t nids = 0;

	if (size < 2)
		return 0;
	free_fd = fc_lowest_free_fd();
	sel = data[0];
	sel2 = data[1];
	data += 2;
	size -= 2;
	memset(&c, 0, sizeof c);
	c.split = sel2 & 3;
	c.update = (sel2 >> 2) & 3;
	c.reneg = (sel2 >> 4) & 1;
	c.real = sel & 1;
	c.tls12 = (sel >> 1) & 1;
	c.notify = (sel >> 2) & 1;
	c.cert = (sel >> 6) & 1;
	c.implicit = (sel >> 7) & 1;
	cfg = &configs[c.implicit][(sel >> 4) & 3];
	c.part[0] = data;
	c.plen[0] = size;
	c.part[1] = (const unsigned char *)"";
	if ((sep = memmem(data, size, SEP, sizeof SEP - 1)) != NULL) {
		c.plen[0] = (size_t)(sep - data);
		c.part[1] = sep + sizeof SEP - 1;
		c.plen[1] = size - c.plen[0] - (sizeof SEP - 1);
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		fail_errno("socketpair");
	c.fd = sv[1];
	pthread_mutex_lock(&mu);
	consumed = 0;
	waiting_at = -1;
	session_done = 0;
	srv_fd = sv[0];
	pthread_mutex_unlock(&mu);
	if (pthread_create(&th, NULL, client_main, &c) != 0)
		fail("pthread_create", NULL, 0);
	conn.in = conn.out = sv[0];
	/* as smtpd's static one: session_init sets tls.active alone, and
	 * head.c takes tls.peer_hash as it is (one session a process) */
	memset(&sess, 0, sizeof sess);
	session_init(&sess, cfg, (sel & 8) ? &remote_client : &local_client,
	    &conn);
	rc = session_run(&sess);
	session_free(&sess);
	pthread_mutex_lock(&mu);
	session_done = 1;
	srv_fd = -1;
	pthread_mutex_unlock(&mu);
	(void)eventfd_write(efd, 1);
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	SSL_free(c.ssl);
	if (rc != END_QUIT && rc != END_CLIENT && rc != END_TEMPFAIL)
		fail("session_run returned an unknown status", NULL, 0);
	if (!c.implicit)
		check_replies(&c.plain, 0, 1, ids, &nids);
	if (c.shaken)
		check_replies(&c.dec, 1, 0, ids, &nids);
	else if (c.ready || c.implicit)
		check_records(&c.raw);
	qr.c = &c;
	qr.cfg = cfg;
	fc_check_queue(topdir, ids, nids, sizeof *ids, check_file, &qr);
	fc_rm_files(newdir);
	free(c.in.p);
	free(c.plain.p);
	free(c.dec.p);
	free(c.raw.p);
	if (fc_lowest_free_fd() != free_fd)
		fail("file descriptor left open by the session", NULL, 0);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
#define WARM(s)	{ s, sizeof s - 1 }
	static const struct {
		const char *p;
		size_t	 n;
	} warm[] = {				/* see below */
		WARM("\x01\x00" "EHLO a\r\nSTARTTLS\r\n" SEP "EHLO a\r\nQUIT\r\n"),
		WARM("\x67\x00" "EHLO a\r\nSTARTTLS\r\n" SEP "EHLO a\r\nNOOP\r\n"),
		WARM("\x00\x00" "EHLO a\r\nSTARTTLS\r\n" SEP "\x16\x03\x01 junk"),
	};
	struct conn nullconn = { -1, -1, 0, 0 };
	size_t i;
	int v;

	(void)argc;
	(void)argv;
	fc_init("fuzz_starttls");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	umask(027);
	fc_private_dir("smtpd-fuzztls", topdir, sizeof topdir);
	snprintf(newdir, sizeof newdir, "%s/new", topdir);
	snprintf(certpath, sizeof certpath, "%s/cert.pem", topdir);
	snprintf(keypath, sizeof keypath, "%s/key.pem", topdir);
	make_cert();
	for (v = 0; v < NVARIANT; v++) {
		set_config(&configs[0][v], v, 0);
		set_config(&configs[1][v], v, 1);
	}
	set_client_tls();
	if ((efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		fail_errno("eventfd");
	/* the two clients, found the way smtpd finds them */
	nullconn.in = nullconn.out = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsetenv("TCPREMOTEIP");
	unsetenv("REMOTE_ADDR");
	unsetenv("REMOTE_HOST");
	unsetenv("RELAYCLIENT");
	identify_client(&local_client, &nullconn, &configs[0][0]);
	setenv("TCPREMOTEIP", "192.0.2.7", 1);
	setenv("TCPREMOTEPORT", "40123", 1);
	setenv("TCPREMOTEHOST", "client.fuzz.example", 1);
	identify_client(&remote_client, &nullconn, &configs[0][0]);
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPREMOTEHOST");
	close(nullconn.in);
	if (local_client.trusted != 1 || remote_client.trusted != 0)
		fail("identify_client", "trust", 5);
	/*
	 * a few sessions now, so that what OpenSSL and libtls set up once
	 * (and keep: an fd for randomness, tables) is there before the
	 * first input is measured for leaked fds and memory
	 */
	for (i = 0; i < sizeof warm / sizeof warm[0]; i++)
		LLVMFuzzerTestOneInput((const uint8_t *)warm[i].p, warm[i].n);
	return 0;
}
