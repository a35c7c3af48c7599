/*
 * session.h - one SMTP session (RFC 5321), from greeting to QUIT.
 * The session struct is the only mutable state smtpd has.
 */
#ifndef SESSION_H
#define SESSION_H

#include "authback.h"
#include "commit.h"
#include "config.h"
#include "data.h"
#include "envelope.h"
#include "head.h"
#include "io.h"
#include "log.h"
#include "milters.h"
#include "reply.h"
#include "spool.h"

#define CMD_LINE_MAX	510	/* RFC 5321 4.5.3.1.4: 512 with CRLF */
#define RCPT_LINE_MAX	1010	/* + 500 for ORCPT/NOTIFY (RFC 3461) */
#define HELO_MAX	255
#define AUTH_LINE_MAX	12288	/* RFC 4954 4: AUTH and its responses */

/* the states a command may be allowed in (bits) */
#define S_GREET	1	/* before HELO/EHLO */
#define S_READY	2	/* no transaction */
#define S_MAIL	4	/* sender given */
#define S_RCPT	8	/* at least one recipient accepted */
#define S_REFUSED 16	/* a 554 greeting: only QUIT (RFC 5321 3.1) */
#define S_BDAT	32	/* a message under way in BDAT chunks */
#define S_ANY	(S_GREET | S_READY | S_MAIL | S_RCPT | S_BDAT)
#define S_TRANSACTION	(S_MAIL | S_RCPT | S_BDAT)

/* how the session ended, for the exit status */
enum session_end {
	END_QUIT = 0,		/* exit 0 */
	END_CLIENT = 1,		/* vanished, timed out, broke the rules */
	END_TEMPFAIL = 111	/* our side failed */
};

/* a message arriving in BDAT chunks, between their commands */
struct chunks {
	int	 open;			/* its spool file is begun */
	struct data_machine m;
	struct data_result res;
};

struct session {
	const struct config *cfg;
	const struct client *client;
	struct logger log;
	unsigned state;
	int	 esmtp;			/* EHLO, not HELO */
	int	 closing;		/* a closing reply was sent */
	int	 end;			/* enum session_end */
	const char *end_reason;
	pid_t	 pid;			/* ours: in log lines and queue ids */
	unsigned errors;
	unsigned rcpt_refused;		/* in this transaction */
	int	 relay_granted;		/* --check-sender said RELAY, for */
					/* this transaction */
	unsigned overshoot;		/* RCPTs past a limit, this session */
	unsigned long long queued, refused;
	char	 helo[HELO_MAX + 1];
	struct envelope env;
	struct chunks chunks;		/* BDAT (bdat.c) */
	struct spool spool;
	struct commit commit;
	struct arrival_clock clock;
	struct head_cache head;
	struct tls_info tls;		/* .active once the handshake is done */
	struct tls_link *tls_link;	/* NULL until TLS is prepared */
	struct milter_set milters;	/* --milter (milters.c) */
	int	 milter_tx;		/* the filters saw MAIL, no EOB yet */
	int	 milter_discard;	/* a filter said DISCARD */
	struct io io;
	char	 auth_user[AUTH_FIELD_MAX + 1];	/* "" until AUTH succeeds */
	const char *auth_mech;		/* its mechanism, "" until then */
	unsigned auth_fails;
	int	 hide_next_line;	/* a refused AUTH LOGIN user name: */
	int	 line_hidden;		/* the line after it may be the */
					/* password, never logged */
	char	 line[AUTH_LINE_MAX + 2];
	size_t	 line_len;
};

void	 session_init(struct session *, const struct config *,
	    const struct client *, const struct conn *);
int	 session_run(struct session *);
int	 session_refuse(struct session *, const char *, const char *, int);
void	 session_free(struct session *);

#endif
