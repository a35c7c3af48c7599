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
void	 session_reply_text(struct session *, enum reply_id,
	    const struct milter_text *);
void	 log_discard(struct session *);
void	 session_error(struct session *);
void	 session_settle(struct session *);
void	 chat_room(struct session *, size_t);
void	 chat_trace_state(struct session *, unsigned);

/* session_enter - change state (the only place that does; --debug logs it) */
static inline void
session_enter(struct session *s, unsigned state)
{
	if (s->cfg->debug)
		chat_trace_state(s, state);
	s->state = state;
}
void	 reset_transaction(struct session *);
void	 timed_out(struct session *);

#endif
