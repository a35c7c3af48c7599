/*
 * transaction.h - one mail transaction: MAIL, RCPT, DATA, up to a
 * complete message held for group commit (commit.c).
 */
#ifndef TRANSACTION_H
#define TRANSACTION_H

#include "session.h"

void	 cmd_mail(struct session *, const char *, const char *);
void	 cmd_rcpt(struct session *, const char *, const char *);
void	 cmd_data(struct session *, const char *, const char *);

#endif
