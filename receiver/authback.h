/*
 * authback.h - the password checkers AUTH hands credentials to: a
 * checkpassword program (checkpw.c) or Dovecot's auth socket
 * (dovecot.c).  smtpd keeps no password file and no crypt of its own.
 */
#ifndef AUTHBACK_H
#define AUTHBACK_H

#include <stddef.h>

#define AUTH_FIELD_MAX	1024	/* user name or password, octets */
#define AUTH_WHY_MAX	160

enum auth_verdict {
	AUTH_OK = 0,		/* the password is right */
	AUTH_BAD,		/* wrong user or password: 535 */
	AUTH_TEMP		/* the checker failed, hung or is gone: 454 */
};

/* one check: what to ask, and what came back */
struct auth_request {
	const char *user;		/* NUL-terminated, checked text */
	const char *pass;		/* NUL-terminated, may be "" */
	size_t	 user_len, pass_len;
	const char *client_ip;		/* "" when none */
	const char *local_ip;		/* "" when none */
	int	 secured;		/* under TLS */
	unsigned seconds;		/* the exchange's hard deadline */
	int	 errfd;			/* a program's stderr, -1: none */
	char	 canonical[AUTH_FIELD_MAX + 1];	/* the checker's name for */
						/* the user, or "" */
	char	 why[AUTH_WHY_MAX];	/* for the log, never a secret */
};

int	 checkpw_verify(const char *, struct auth_request *);
int	 dovecot_verify(const char *, struct auth_request *);

#endif
