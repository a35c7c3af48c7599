/*
 * checks.h - early talkers, the recipient list, policy programs: each
 * check answers with a reply id, the session sends it.
 */
#ifndef CHECKS_H
#define CHECKS_H

#include "session.h"

int	 check_early_talker(struct session *);
int	 check_client(struct session *);
enum reply_id check_program(struct session *, const char *, const char *,
	    const char *, char *, size_t);
enum reply_id check_mailbox(struct session *, const struct path *, int);

#endif
