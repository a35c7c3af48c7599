/*
 * transaction.h - one mail transaction: MAIL, RCPT, DATA, up to a
 * complete message held for group commit (commit.c).
 */
#ifndef TRANSACTION_H
#define TRANSACTION_H

#include "data.h"
#include "session.h"

void	 cmd_mail(struct session *, const char *, const char *);
void	 cmd_rcpt(struct session *, const char *, const char *);
void	 cmd_data(struct session *, const char *, const char *);
int	 message_begin(struct session *);
void	 message_limits(const struct session *, struct data_limits *);
void	 message_end(struct session *, const struct data_result *);
void	 message_cut(struct session *, int, const struct data_result *);

#endif
