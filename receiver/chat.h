/*
 * chat.h - the reply path, for the session and the command handlers:
 * replies and what they imply (log, errors, closing, state), and
 * settling held messages before replies leave.
 */
#ifndef CHAT_H
#define CHAT_H

#include "reply.h"
#include "session.h"

void	 session_reply(struct session *, enum reply_id, const char *);
void	 log_refusal(struct session *, enum reply_id, const char *);
void	 session_error(struct session *);
void	 session_settle(struct session *);
void	 chat_room(struct session *, size_t);
void	 session_enter(struct session *, unsigned);
void	 reset_transaction(struct session *);
void	 timed_out(struct session *);

#endif
