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

#define ENVELOPE_VERSION	1

struct envelope {
	struct path sender;
	struct mail_params mp;
	struct path first_rcpt;	/* for "for <...>" in Received */
	unsigned nrcpt;		/* accepted recipients */
	char	*rcpts;		/* "Recipient: <...>\n" lines and theirs */
	size_t	 rcpts_len, rcpts_cap;
};

/* facts of the session written into each envelope */
struct envelope_meta {
	const char *id;
	long long arrival;		/* seconds since the epoch */
	const char *client_ip;		/* "" when none */
	const char *client_port;
	const char *client_name;
	const char *helo;
	const char *protocol;		/* SMTP, ESMTP or UTF8SMTP */
	int	 trusted;
};

void	 envelope_init(struct envelope *);
void	 envelope_reset(struct envelope *);
void	 envelope_free(struct envelope *);
int	 envelope_add_rcpt(struct envelope *, const struct path *,
	    const struct rcpt_params *);
void	 envelope_header(const struct envelope *,
	    const struct envelope_meta *, struct sbuf *);

#endif
