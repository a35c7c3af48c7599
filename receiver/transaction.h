/*
 * transaction.h - one mail transaction: MAIL, RCPT, DATA, and the group
 * commit that makes each accepted message durable before its 250.
 */
#ifndef TRANSACTION_H
#define TRANSACTION_H

#include "session.h"

void	 cmd_mail(struct session *, const char *, const char *);
void	 cmd_rcpt(struct session *, const char *, const char *);
void	 cmd_data(struct session *, const char *, const char *);
int	 settle_batch(void *);
int	 is_our_domain(const struct session *, const char *, size_t);

#endif
