/*
 * reply.h - the one table of SMTP replies.
 * Every reply smtpd sends is a row here: code, RFC 3463 enhanced status,
 * text, and what it does to the session.  Only reply.c writes replies.
 */
#ifndef REPLY_H
#define REPLY_H

#include <stddef.h>

#include "io.h"

enum reply_id {
	R_GREETING,
	R_HELO,
	R_DONE,
	R_SENDER_OK,
	R_RCPT_OK,
	R_RCPT_DUP,
	R_START_DATA,
	R_QUEUED,
	R_RESET,
	R_BYE,
	R_VRFY,
	R_HELP,
	R_UNKNOWN,
	R_NOT_IMPL,
	R_TOOLONG,
	R_BARELF,
	R_BADCHAR,
	R_SYNTAX,
	R_NO_ARGS,
	R_NEED_DOMAIN,
	R_NEED_ARG,
	R_SEQ_HELO,
	R_SEQ_MAIL,
	R_SEQ_RCPT,
	R_SEQ_DATA,
	R_NO_VALID_RCPT,
	R_BAD_SENDER,
	R_BAD_RCPT,
	R_NULL_RCPT,
	R_SENDER_TOOLONG,
	R_RCPT_TOOLONG,
	R_NEED_UTF8,
	R_PARAM_UNKNOWN,
	R_PARAM_SYNTAX,
	R_PARAM_DUP,
	R_PARAM_NO_EHLO,
	R_SIZE_LIMIT,
	R_NO_SPACE,
	R_TOO_MANY_RCPT,
	R_ENVELOPE_FULL,
	R_RELAY_DENIED,
	R_ROUTING_DENIED,
	R_MSG_BARENL,
	R_MSG_NUL,
	R_MSG_LOOP,
	R_SPOOL_FAIL,
	R_SPOOL_FULL,
	R_TOO_MANY_ERRORS,
	R_TIMEOUT,
	R_SESSION_LIMIT,
	R_DATA_SLOW,
	R_UNAVAILABLE,
	R_FORBIDDEN,
	R_EARLY_TALKER,
	R_CLIENT_REJECT,
	R_CLIENT_TEMP,
	R_NO_SERVICE,
	R_CHECK_REJECT,
	R_CHECK_TEMP,
	R_CHECK_FAILED,
	R_NO_MAILBOX,
	R_LIST_FAILED,
	R_TOO_MANY_MSGS,
	R_TLS_READY,
	R_TLS_UNAVAILABLE,
	R_TLS_ACTIVE,
	R_SEQ_TLS,
	R_NEED_TLS,
	R_AUTH_OK,
	R_AUTH_BAD,
	R_AUTH_TEMP,
	R_AUTH_NEED_TLS,
	R_AUTH_MECH,
	R_AUTH_BASE64,
	R_AUTH_CANCEL,
	R_AUTH_TWICE,
	R_SEQ_AUTH,
	R_AUTH_TOOLONG,
	R_AUTH_TOO_MANY,
	R_NEED_AUTH,
	R_BDAT_OK,
	R_BDAT_SYNTAX,
	R_BDAT_SIZE,
	R_BDAT_LOST,
	R_SEQ_BDAT,
	R_BINARY_DATA,
	R_MILTER_REJECT,
	R_MILTER_REJECT_MSG,
	R_MILTER_TEMP,
	R_MILTER_REPLY,
	R_MILTER_REPLY_TEMP,
	R_MILTER_FAILED,
	R_MILTER_FAILED_REJECT,
	R_MILTER_DISCARDED,
	R__COUNT
};

#define REPLY_LINE_MAX	512	/* RFC 5321 4.5.3.1.5, with the CRLF */
#define REPLY_BUF	(REPLY_LINE_MAX + 1)	/* room for reply_format */

/* reply flags */
#define RF_ERROR	1	/* counts toward the session's error limit */
#define RF_CLOSE	2	/* the session ends after this reply */

struct reply {
	unsigned short code;
	const char	*esc;	/* NULL: no enhanced code (RFC 2034 3) */
	const char	*text;	/* one "%s" at most: the argument */
	unsigned	 flags;
	struct reply_part {	/* wire text, put together by the compiler */
		const char *p;
		size_t	 len;
	} line,			/* the whole line, or up to the argument */
	  tail;			/* after the argument, CRLF included; */
				/* p NULL: no argument */
};

const struct reply *reply_get(enum reply_id);
void	 reply_text(enum reply_id, const char *, char *, size_t);
int	 reply_send(struct io *, enum reply_id, const char *);
size_t	 reply_format(char *, enum reply_id, const char *);
int	 reply_line(struct io *, unsigned, int, const char *, const char *);

#endif
