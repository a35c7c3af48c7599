/*
 * tlsio.h - TLS for one session (RFC 3207 STARTTLS, RFC 8314 implicit
 * TLS) through libtls, which is dlopen'ed only when a session starts
 * TLS: a session that never does maps neither libtls nor libcrypto.
 */
#ifndef SMTPD_TLS_H
#define SMTPD_TLS_H

#include <stddef.h>

#include "io.h"

#define TLS_FILE_MAX	(1u << 20)	/* longest PEM file we read */

/*
 * what smtpd was told about TLS: the files are opened at start (before
 * --user drops privileges, so a root-only key works) and read only when
 * a session starts TLS, so each connection sees the files as they are
 */
struct tls_setup {
	const char *cert, *key, *client_ca;	/* paths; cert NULL: no TLS */
	int	 cert_fd, key_fd, ca_fd;	/* -1 until opened */
	const char *protocols;			/* NULL: libtls "secure" */
	const char *ciphers;			/* NULL: libtls "secure" */
	int	 implicit;			/* --tls-implicit */
	int	 require;			/* --require-tls */
	const char *bad_file;			/* could not be opened */
	int	 bad_errno;
};

/* what the session knows of its TLS once the handshake is done */
struct tls_info {
	int	 active;
	int	 bits;			/* the cipher's strength */
	char	 version[16];		/* "TLSv1.3" */
	char	 cipher[64];		/* "TLS_AES_256_GCM_SHA384" */
	char	 peer_hash[80];		/* "SHA256:<hex>" of a verified */
					/* client certificate, or "" */
};

enum tls_status {
	TLS_OK = 0,
	TLS_UNAVAILABLE,	/* set-up failed: 454, the session goes on */
	TLS_FAILED		/* the handshake failed: the session ends */
};

#define TLS_WHY_MAX	256	/* room for the reason a step failed */

struct tls_link;		/* a live TLS connection (tlsio.c) */

int	 tls_built(void);
void	 tls_setup_init(struct tls_setup *);
void	 tls_setup_defaults(struct tls_setup *);
const char *tls_setup_check(const struct tls_setup *);
void	 tls_open_files(struct tls_setup *);
int	 tls_prepare(const struct tls_setup *, struct tls_link **, char *);
int	 tls_handshake_on(struct tls_link *, struct io *, struct tls_info *,
	    char *);
void	 tls_finish(struct tls_link *, struct io *);

#endif
