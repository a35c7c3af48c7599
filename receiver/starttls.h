/*
 * starttls.h - the session's side of TLS: STARTTLS (RFC 3207), the
 * implicit start (RFC 8314) and the end of TLS.
 */
#ifndef STARTTLS_H
#define STARTTLS_H

#include "session.h"

void	 cmd_starttls(struct session *, const char *, const char *);
int	 starttls_implicit(struct session *);
void	 starttls_end(struct session *);
int	 starttls_offered(const struct session *);

#endif
