/*
 * auth.h - SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, the
 * credentials checked by a checkpassword program or Dovecot.
 */
#ifndef AUTH_H
#define AUTH_H

#include "session.h"

#define AUTH_FAILS_MAX	3	/* failures a session; then 421 */

void	 cmd_auth(struct session *, const char *, const char *);
int	 auth_offered(const struct session *);

#endif
