/*
 * filter.h - the session's side of its mail filters (milters.c): at
 * each stage, the facts handed over and the outcome turned into the
 * session's reply from the one table.  Each call returns 1 when it
 * answered the client (the command is refused), else 0.
 */
#ifndef FILTER_H
#define FILTER_H

#include "session.h"

int	 filter_connect(struct session *);
int	 filter_helo(struct session *);
int	 filter_mail(struct session *, const char *);
int	 filter_rcpt(struct session *, const struct path *, const char *);
int	 filter_data(struct session *);
int	 filter_unknown(struct session *);
int	 filter_message(struct session *);
void	 filter_abort(struct session *);
void	 filter_quit(struct session *);

#endif
