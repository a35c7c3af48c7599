/*
 * tlsio.c - TLS for one session through libtls, loaded when first used.
 * The certificate and key files are opened at start and read only when
 * the client asks for TLS; libtls (and with it libcrypto) is dlopen'ed
 * then too, so a session that never says STARTTLS costs what it did
 * before TLS existed.  libtls reads and writes through callbacks onto
 * io.c's deadline-bounded reads and writes, and the session's buffers
 * then read and write through this layer (io.h: layer).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbuf.h"
#include "tlsio.h"

/* tls_setup_init - no TLS until told (the rest is zeroed already) */
void
tls_setup_init(struct tls_setup *t)
{
	t->cert_fd = t->key_fd = t->ca_fd = -1;
}

/*
 * credential - "$CREDENTIALS_DIRECTORY/name" if that file exists, in
 * memory kept for the process's life; else NULL
 */
static char *
credential(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	char *p = malloc(d + n + 2);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, d);
	p[d] = '/';
	memcpy(p + d + 1, name, n + 1);
	if (access(p, F_OK) == 0)
		return p;
	free(p);
	return NULL;
}

/*
 * tls_setup_defaults - after the options: SMTPD_TLS_CERT and
 * SMTPD_TLS_KEY, else systemd's credentials tls-cert and tls-key when
 * both are there (LoadCredential=); options given win
 */
void
tls_setup_defaults(struct tls_setup *t)
{
	const char *c = getenv("SMTPD_TLS_CERT"), *k = getenv("SMTPD_TLS_KEY");
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *cert, *key;

	if (t->cert != NULL || t->key != NULL)
		return;
	if (c != NULL && *c != '\0')
		t->cert = c;
	if (k != NULL && *k != '\0')
		t->key = k;
	if (t->cert != NULL || t->key != NULL || !tls_built() ||
	    dir == NULL || *dir != '/')
		return;
	cert = credential(dir, "tls-cert");
	key = credential(dir, "tls-key");
	if (cert != NULL && key != NULL) {
		t->cert = cert;		/* kept until exit */
		t->key = key;
		return;
	}
	free(cert);
	free(key);
}

/* tls_setup_check - NULL, or what is wrong with the TLS options */
const char *
tls_setup_check(const struct tls_setup *t)
{
	if (!tls_built() && (t->cert != NULL || t->key != NULL ||
	    t->client_ca != NULL || t->implicit || t->require ||
	    t->protocols != NULL || t->ciphers != NULL))
		return "this smtpd was built without TLS (make WITH_TLS=0); "
		    "TLS options and SMTPD_TLS_CERT/KEY cannot be used";
	if ((t->cert == NULL) != (t->key == NULL))
		return "--tls-cert and --tls-key go together (or SMTPD_TLS_CERT "
		    "and SMTPD_TLS_KEY)";
	if (t->cert == NULL && (t->client_ca != NULL || t->implicit ||
	    t->require || t->protocols != NULL || t->ciphers != NULL))
		return "--tls-implicit, --require-tls, --tls-client-ca, "
		    "--tls-protocols and --tls-ciphers need --tls-cert and "
		    "--tls-key";
	return NULL;
}

/* open_one - open a file we will read later; note the first failure */
static int
open_one(struct tls_setup *t, const char *path)
{
	int fd;

	if (path == NULL)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 &&
	    t->bad_file == NULL) {
		t->bad_file = path;
		t->bad_errno = errno;
	}
	return fd;
}

/*
 * tls_open_files - open the certificate, key and client CA files now,
 * with the privileges smtpd started with; what fails is noted in
 * bad_file for the session to refuse with 421 (tls_prepare reads them)
 */
void
tls_open_files(struct tls_setup *t)
{
	t->cert_fd = open_one(t, t->cert);
	t->key_fd = open_one(t, t->key);
	t->ca_fd = open_one(t, t->client_ca);
}

#ifndef HAVE_LIBTLS

int
tls_built(void)
{
	return 0;
}

int
tls_prepare(const struct tls_setup *t, struct tls_link **lp, char *why)
{
	(void)t;
	*lp = NULL;
	memcpy(why, "built without TLS", sizeof "built without TLS");
	return TLS_UNAVAILABLE;
}

int
tls_handshake_on(struct tls_link *l, struct io *io, struct tls_info *info,
    char *why)
{
	(void)l;
	(void)io;
	(void)info;
	memcpy(why, "built without TLS", sizeof "built without TLS");
	return TLS_FAILED;
}

void
tls_finish(struct tls_link *l, struct io *io)
{
	(void)l;
	(void)io;
}

#else	/* HAVE_LIBTLS */

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>
#include <tls.h>

#ifndef LIBTLS_SONAME
#define LIBTLS_SONAME	"libtls.so"
#endif
#define READ_AHEAD	(32u << 10)	/* raw octets read at once */

/* the libtls functions we use, found with dlsym */
struct tls_api {
	int	 (*init)(void);
	struct tls_config *(*config_new)(void);
	void	 (*config_free)(struct tls_config *);
	const char *(*config_error)(struct tls_config *);
	int	 (*set_cert_mem)(struct tls_config *, const uint8_t *, size_t);
	int	 (*set_key_mem)(struct tls_config *, const uint8_t *, size_t);
	int	 (*set_ca_mem)(struct tls_config *, const uint8_t *, size_t);
	void	 (*verify_client_optional)(struct tls_config *);
	int	 (*parse_protocols)(uint32_t *, const char *);
	int	 (*set_protocols)(struct tls_config *, uint32_t);
	int	 (*set_ciphers)(struct tls_config *, const char *);
	void	 (*clear_keys)(struct tls_config *);
	struct tls *(*server)(void);
	int	 (*configure)(struct tls *, struct tls_config *);
	const char *(*error)(struct tls *);
	int	 (*accept_cbs)(struct tls *, struct tls **, tls_read_cb,
		    tls_write_cb, void *);
	int	 (*handshake)(struct tls *);
	ssize_t	 (*read)(struct tls *, void *, size_t);
	ssize_t	 (*write)(struct tls *, const void *, size_t);
	int	 (*close)(struct tls *);
	void	 (*free)(struct tls *);
	const char *(*conn_version)(struct tls *);
	const char *(*conn_cipher)(struct tls *);
	int	 (*conn_cipher_strength)(struct tls *);
	int	 (*peer_cert_provided)(struct tls *);
	const char *(*peer_cert_hash)(struct tls *);
};

/*
 * one row a function: its name and where it goes.  The sizeof makes the
 * compiler check the pointer's type against <tls.h> without referring
 * to the symbol (sizeof does not evaluate), so no link with -ltls.
 */
#define SYM(field, fn) { #fn, offsetof(struct tls_api, field) + \
	0 * sizeof(((struct tls_api *)NULL)->field = fn) }

static const struct {
	const char *name;
	size_t	 off;
} syms[] = {
	SYM(init, tls_init), SYM(config_new, tls_config_new),
	SYM(config_free, tls_config_free),
	SYM(config_error, tls_config_error),
	SYM(set_cert_mem, tls_config_set_cert_mem),
	SYM(set_key_mem, tls_config_set_key_mem),
	SYM(set_ca_mem, tls_config_set_ca_mem),
	SYM(verify_client_optional, tls_config_verify_client_optional),
	SYM(parse_protocols, tls_config_parse_protocols),
	SYM(set_protocols, tls_config_set_protocols),
	SYM(set_ciphers, tls_config_set_ciphers),
	SYM(clear_keys, tls_config_clear_keys),
	SYM(server, tls_server), SYM(configure, tls_configure),
	SYM(error, tls_error), SYM(accept_cbs, tls_accept_cbs),
	SYM(handshake, tls_handshake), SYM(read, tls_read),
	SYM(write, tls_write), SYM(close, tls_close), SYM(free, tls_free),
	SYM(conn_version, tls_conn_version),
	SYM(conn_cipher, tls_conn_cipher),
	SYM(conn_cipher_strength, tls_conn_cipher_strength),
	SYM(peer_cert_provided, tls_peer_cert_provided),
	SYM(peer_cert_hash, tls_peer_cert_hash),
};

struct tls_link {
	struct tls_api api;
	void	*lib;
	struct tls *server, *conn;
	struct io *io;
	int	 shaken;	/* handshake done: close_notify owed */
	int	 status;	/* what the last raw read or write met */
	size_t	 rpos, rlen;
	unsigned char rbuf[READ_AHEAD];
};

int
tls_built(void)
{
	return 1;
}

/* say - the reason a step failed, into why (TLS_WHY_MAX) */
static int
say(char *why, const char *what, const char *detail, int status)
{
	struct sbuf sb;

	sb_init(&sb, why, TLS_WHY_MAX);
	sb_str(&sb, what);
	if (detail != NULL) {
		sb_str(&sb, ": ");
		sb_str(&sb, detail);
	}
	return status;
}

/* load - dlopen libtls and find every function; 0, or -1 and why */
static int
load(struct tls_link *l, char *why)
{
	size_t i;
	void *f;

	if ((l->lib = dlopen(LIBTLS_SONAME, RTLD_NOW | RTLD_LOCAL)) == NULL)
		return say(why, "cannot load " LIBTLS_SONAME, dlerror(), -1);
	for (i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		if ((f = dlsym(l->lib, syms[i].name)) == NULL)
			return say(why, "libtls lacks", syms[i].name, -1);
		memcpy((char *)&l->api + syms[i].off, &f, sizeof f);
	}
	if (l->api.init() < 0)
		return say(why, "tls_init failed", NULL, -1);
	return 0;
}

/*
 * read_file - the whole file behind fd (opened at start), at most
 * TLS_FILE_MAX octets, into a new buffer; NULL and why on failure
 */
static uint8_t *
read_file(int fd, size_t *lenp, char *why)
{
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	size_t len = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (unsigned long long)st.st_size > TLS_FILE_MAX) {
		say(why, "not a regular file of 1 to 1048576 octets", NULL, 0);
		return NULL;
	}
	if ((buf = malloc((size_t)st.st_size)) == NULL) {
		say(why, "out of memory", NULL, 0);
		return NULL;
	}
	while (len < (size_t)st.st_size) {
		n = pread(fd, buf + len, (size_t)st.st_size - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	if (len == 0) {
		say(why, "cannot read", n < 0 ? strerror(errno) : "empty", 0);
		free(buf);
		return NULL;
	}
	*lenp = len;
	return buf;
}

/* take_file - read one file and hand it to libtls with set() */
static int
take_file(struct tls_link *l, struct tls_config *c, int fd, const char *path,
    int (*set)(struct tls_config *, const uint8_t *, size_t), char *why)
{
	char sub[TLS_WHY_MAX];
	uint8_t *buf;
	size_t len;
	int r;

	if ((buf = read_file(fd, &len, sub)) == NULL)
		return say(why, path, sub, -1);
	r = set(c, buf, len);
	explicit_bzero(buf, len);	/* it may be the private key */
	free(buf);
	if (r < 0)
		return say(why, path, l->api.config_error(c), -1);
	return 0;
}

/* configure - the files and settings into a new config */
static int
configure(struct tls_link *l, const struct tls_setup *t,
    struct tls_config *c, char *why)
{
	uint32_t protocols;

	if (take_file(l, c, t->cert_fd, t->cert, l->api.set_cert_mem, why) < 0 ||
	    take_file(l, c, t->key_fd, t->key, l->api.set_key_mem, why) < 0)
		return -1;
	if (t->client_ca != NULL) {
		if (take_file(l, c, t->ca_fd, t->client_ca, l->api.set_ca_mem,
		    why) < 0)
			return -1;
		l->api.verify_client_optional(c);
	}
	if (t->protocols != NULL && (l->api.parse_protocols(&protocols,
	    t->protocols) < 0 || l->api.set_protocols(c, protocols) < 0))
		return say(why, "bad --tls-protocols", t->protocols, -1);
	if (t->ciphers != NULL && l->api.set_ciphers(c, t->ciphers) < 0)
		return say(why, "bad --tls-ciphers", l->api.config_error(c), -1);
	if ((l->server = l->api.server()) == NULL)
		return say(why, "tls_server failed", NULL, -1);
	if (l->api.configure(l->server, c) < 0)
		return say(why, "certificate and key",
		    l->api.error(l->server), -1);
	return 0;
}

/*
 * tls_prepare - everything up to the handshake: load libtls, read the
 * files, configure a server context.  TLS_OK with *lp set, or
 * TLS_UNAVAILABLE with why (a key that does not match the certificate
 * shows here: only libtls can tell).
 */
int
tls_prepare(const struct tls_setup *t, struct tls_link **lp, char *why)
{
	struct tls_link *l;
	struct tls_config *c;
	int r;

	*lp = NULL;
	why[0] = '\0';
	if ((l = calloc(1, sizeof *l)) == NULL)
		return say(why, "out of memory", NULL, TLS_UNAVAILABLE);
	if (load(l, why) < 0 || (c = l->api.config_new()) == NULL) {
		if (l->lib != NULL && why[0] == '\0')
			say(why, "tls_config_new failed", NULL, 0);
		tls_finish(l, NULL);
		return TLS_UNAVAILABLE;
	}
	r = configure(l, t, c, why);
	l->api.clear_keys(c);
	l->api.config_free(c);	/* the server context keeps what it needs */
	if (r < 0) {
		tls_finish(l, NULL);
		return TLS_UNAVAILABLE;
	}
	*lp = l;
	return TLS_OK;
}

/*
 * note - keep the first I/O failure of a libtls call: after the
 * client's EOF, OpenSSL may still try to write, and fail, and the EOF
 * is what happened
 */
static void
note(struct tls_link *l, int status)
{
	if (l->status == IO_OK)
		l->status = status;
}

/*
 * raw_read - libtls wants ciphertext: from what was read ahead, else one
 * read of the fd (within the wait the caller armed), so a record's
 * header and body cost one system call, not two.  0 at EOF.
 */
static ssize_t
raw_read(struct tls *ctx, void *buf, size_t n, void *arg)
{
	struct tls_link *l = arg;
	ssize_t r;

	(void)ctx;
	if (l->rpos == l->rlen) {
		if ((r = io_read_raw(l->io, l->rbuf, sizeof l->rbuf)) < 0) {
			note(l, (int)-r);
			if (r == -IO_TIMEOUT)	/* a retry, not a broken */
				return TLS_WANT_POLLIN;	/* link: the 421 */
			return r == -IO_EOF ? 0 : -1;	/* can still go out */
		}
		l->rpos = 0;
		l->rlen = (size_t)r;
	}
	if (n > l->rlen - l->rpos)
		n = l->rlen - l->rpos;
	memcpy(buf, l->rbuf + l->rpos, n);
	l->rpos += n;
	return (ssize_t)n;
}

/* raw_write - libtls has ciphertext for the client: all of it, in time */
static ssize_t
raw_write(struct tls *ctx, const void *buf, size_t n, void *arg)
{
	struct tls_link *l = arg;
	int r;

	(void)ctx;
	if ((r = io_write_raw(l->io, buf, n)) != IO_OK) {
		note(l, r);
		return -1;
	}
	return (ssize_t)n;
}

/*
 * failure - what made the last libtls call fail: our I/O (a timeout
 * comes back as TLS_WANT_POLLIN), or TLS itself
 */
static int
failure(struct tls_link *l)
{
	return l->status != IO_OK ? l->status : IO_ERROR;
}

/*
 * layer_read - decrypted octets for io_fill(), or -IO_*.  libtls turns
 * OpenSSL's auto-retry off, so a record with nothing for us (a TLS 1.3
 * KeyUpdate, a renegotiation refused) ends tls_read with TLS_WANT_POLLIN
 * though no read of ours failed: read on.  Each such return used up a
 * record, and raw_read keeps this wait's one deadline (its timeout is
 * the TLS_WANT_POLLIN that stops here, status IO_TIMEOUT).
 */
static ssize_t
layer_read(void *arg, unsigned char *buf, size_t cap)
{
	struct tls_link *l = arg;
	ssize_t r;

	do {
		l->status = IO_OK;
		r = l->api.read(l->conn, buf, cap);
	} while ((r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) &&
	    l->status == IO_OK);
	if (r > 0)
		return r;
	if (r == 0)			/* close_notify */
		return -IO_EOF;
	return -failure(l);
}

/* layer_write - encrypt and send all n octets for io_flush() */
static int
layer_write(void *arg, const char *p, size_t n)
{
	struct tls_link *l = arg;
	ssize_t r;

	while (n > 0) {
		l->status = IO_OK;
		if ((r = l->api.write(l->conn, p, n)) <= 0)
			return failure(l);
		p += r;
		n -= (size_t)r;
	}
	return IO_OK;
}

/*
 * copy_text - a libtls name into a fixed field: printable ASCII with no
 * space (it goes into the envelope and Received), "unknown" if none
 */
static void
copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = 0;

	if (src == NULL || *src == '\0')
		src = "unknown";
	for (; src[n] != '\0' && n < cap - 1; n++)
		dst[n] = src[n] > ' ' && src[n] < 0x7f ? src[n] : '_';
	dst[n] = '\0';
}

/* handshake_failed - why, in words: the client's I/O or libtls's */
static int
handshake_failed(struct tls_link *l, char *why)
{
	const char *e = l->conn != NULL ? l->api.error(l->conn) : NULL;

	if (l->status == IO_TIMEOUT)
		return say(why, "timeout", NULL, TLS_FAILED);
	if (l->status == IO_EOF)
		return say(why, "the client closed the connection", NULL,
		    TLS_FAILED);
	if (l->status == IO_ERROR)
		return say(why, "I/O error", strerror(errno), TLS_FAILED);
	return say(why, e != NULL ? e : "handshake failed", NULL, TLS_FAILED);
}

/*
 * tls_handshake_on - the server side of the handshake on the client's
 * fds, within one idle period; then the session's reads and writes go
 * through TLS (io's layer) and info says what was agreed
 */
int
tls_handshake_on(struct tls_link *l, struct io *io, struct tls_info *info,
    char *why)
{
	l->io = io;
	l->status = IO_OK;
	io_start_wait(io);
	if (l->api.accept_cbs(l->server, &l->conn, raw_read, raw_write,
	    l) < 0 || l->api.handshake(l->conn) != 0)
		return handshake_failed(l, why);
	l->shaken = 1;
	info->active = 1;
	info->bits = l->api.conn_cipher_strength(l->conn);
	copy_text(info->version, sizeof info->version,
	    l->api.conn_version(l->conn));
	copy_text(info->cipher, sizeof info->cipher,
	    l->api.conn_cipher(l->conn));
	info->peer_hash[0] = '\0';
	if (l->api.peer_cert_provided(l->conn) &&
	    l->api.peer_cert_hash(l->conn) != NULL)
		copy_text(info->peer_hash, sizeof info->peer_hash,
		    l->api.peer_cert_hash(l->conn));
	io->layer = l;
	io->layer_read = layer_read;
	io->layer_write = layer_write;
	return TLS_OK;
}

/*
 * tls_finish - end TLS: close_notify when the handshake was done and
 * the client still takes our writes (within one idle period), then free
 * it all.  io NULL: nothing was sent.
 */
void
tls_finish(struct tls_link *l, struct io *io)
{
	if (l == NULL)
		return;
	if (io != NULL && io->layer == l) {
		if (l->shaken && io->wfail == IO_OK)
			(void)l->api.close(l->conn);
		io->layer = NULL;
	}
	if (l->conn != NULL)
		l->api.free(l->conn);
	if (l->server != NULL)
		l->api.free(l->server);
	free(l);		/* libtls stays mapped until exit */
}

#endif	/* HAVE_LIBTLS */
