/*
 * checks.h - what a host checks beyond the grammar: a client that talks
 * before the greeting, the list of valid recipients, the operator's
 * policy programs.  Each check returns a verdict; the session alone
 * turns verdicts into replies and states.
 */
#ifndef CHECKS_H
#define CHECKS_H

#include <stddef.h>

#include "addr.h"
#include "config.h"
#include "hook.h"
#include "log.h"

/* the session facts a policy program is given */
struct check_facts {
	const struct config *cfg;
	const struct client *client;
	const char *helo;
	const char *sender;		/* "" before MAIL */
	struct logger *log;
	const struct tls_info *tls;	/* .active: under TLS */
	const char *auth_user;		/* "" unless AUTH succeeded */
	unsigned seconds_left;		/* never run past the session's cap */
};

/* what the --recipients list says of one recipient */
enum mailbox_verdict {
	MBOX_UNLISTED = 0,	/* not the list's domain: relay rules decide */
	MBOX_VALID,		/* listed: accepted from anyone */
	MBOX_UNKNOWN,		/* a listed domain, an unknown user */
	MBOX_ERROR		/* the list could not be read */
};

int	 check_early_talker(int, int, unsigned);
enum hook_verdict check_program(const struct check_facts *, const char *,
	    const char *, const char *, char *, size_t);
enum mailbox_verdict check_mailbox(const struct config *, const struct path *,
	    int);

#endif
