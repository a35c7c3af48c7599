/*
 * head.h - the head of every spool file: envelope block and Received:.
 */
#ifndef HEAD_H
#define HEAD_H

#include <stddef.h>

#include "config.h"
#include "envelope.h"
#include "spool.h"

/*
 * the arrival clock: one reading per message, its second as text and as
 * an RFC 5322 date, formatted again only when the second changes
 */
struct arrival_clock {
	long long sec;			/* -1: nothing formatted yet */
	long	 usec;
	size_t	 sec_len, date_len;
	char	 sec_text[24];
	char	 date[40];
};

/*
 * what every message's head repeats: the envelope's client lines and our
 * Received line up to its "with", formatted at the first message after
 * HELO/EHLO (client_len 0: not yet)
 */
struct head_cache {
	size_t	 client_len, received_len;
	char	 client[1280];
	char	 received[1536];
};

/* what the head says of the session */
struct head_facts {
	const struct client *client;
	const char *helo;
	const char *hostname;
	int	 esmtp;			/* EHLO, not HELO */
	const struct tls_info *tls;	/* .active: the session is under TLS */
	const char *auth_user;		/* "" unless AUTH succeeded */
	int	 auth_in_received;	/* --auth-in-received */
};

void	 head_stamp(struct arrival_clock *);
void	 head_write(struct head_cache *, const struct arrival_clock *,
	    const struct head_facts *, const struct envelope *, struct spool *);

#endif
