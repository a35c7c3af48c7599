/*
 * envelope.h - one mail transaction's envelope and its text form.
 * Sender, MAIL parameters and recipients (with NOTIFY/ORCPT) as given
 * by the client, and the "Key: value" block that opens each spool file.
 */
#ifndef ENVELOPE_H
#define ENVELOPE_H

#include <stddef.h>

#include "addr.h"
#include "sbuf.h"
#include "spoolfmt.h"

struct envelope {
	struct path sender;
	struct mail_params mp;
	size_t	 first_rcpt_len;	/* for "for <...>" in Received */
	unsigned nrcpt;		/* accepted recipients */
	char	*rcpts;		/* "Recipient: <...>\n" lines and theirs */
	size_t	 rcpts_len, rcpts_cap;
	size_t	*seen;		/* open-addressing set: rcpts offset + 1 */
	size_t	 seen_cap;	/* a power of two, at least 2 * nrcpt */
	/* the storage the usual few recipients fit in: no malloc for them */
	char	 rcpts_inline[2048];
	size_t	 seen_inline[32];
};

/* facts of the session, the same in every envelope after HELO/EHLO */
struct envelope_client {
	const char *ip;			/* "" when none */
	const char *port;
	const char *name;
	const char *helo;
	const char *tls_version;	/* NULL: not under TLS */
	const char *tls_cipher;
	const char *tls_cert;		/* a client certificate's hash, "" */
	const char *auth_user;		/* AUTH's user, "" */
};

/* facts of one message */
struct envelope_meta {
	const char *id;
	const char *arrival;		/* seconds since the epoch, decimal */
	const char *protocol;		/* SMTP, ESMTP or UTF8SMTP */
	int	 trusted;
	const char *client;		/* envelope_client_lines()'s text */
	size_t	 client_len;
};

/*
 * what envelope_add_rcpt() says; each recipient is charged its text and
 * ENVELOPE_RCPT_COST more (its share of the duplicate set) against the
 * caller's cap, before any memory grows
 */
enum envelope_add {
	ENV_ADDED = 0,
	ENV_DUPLICATE,		/* the same path is there: kept once */
	ENV_FULL,		/* it would pass the cap: 452 4.5.3 */
	ENV_NOMEM
};
#define ENVELOPE_RCPT_COST	32

void	 envelope_init(struct envelope *);
void	 envelope_reset(struct envelope *);
void	 envelope_free(struct envelope *);
enum envelope_add envelope_add_rcpt(struct envelope *, const struct path *,
	    const struct rcpt_params *, size_t);
size_t	 envelope_octets(const struct envelope *);
void	 envelope_client_lines(const struct envelope_client *, struct sbuf *);
const char *envelope_first_rcpt(const struct envelope *, size_t *);
void	 envelope_header(const struct envelope *,
	    const struct envelope_meta *, struct sbuf *);

#endif
