/*
 * reply.c - the one table of SMTP replies.
 * Each row pairs a reply code with its RFC 3463 enhanced status code
 * (RFC 2034: all 2xx/4xx/5xx replies but the greeting and the HELO/EHLO
 * answer carry one) and a fixed text.  Client bytes never reach a reply.
 */
#include <string.h>

#include "reply.h"
#include "sbuf.h"

#define REPLY_MAX	REPLY_LINE_MAX

/*
 * The rows.  ROW: code, enhanced code, text; ROW0: no enhanced code.
 * ARG and ARG0: the text before and after an argument (the session's
 * host name unless the caller gives one), "%s" in the text.  The
 * compiler puts the wire lines together: sending a reply is one copy,
 * or three around the argument.
 */
#define PART(s)	{ s, sizeof s - 1 }
#define ROW(code, esc, text, flags) { code, esc, text, flags, \
	PART(#code " " esc " " text "\r\n"), { NULL, 0 } }
#define ROW0(code, text, flags) { code, NULL, text, flags, \
	PART(#code " " text "\r\n"), { NULL, 0 } }
#define ARG(code, esc, pre, post, flags) { code, esc, pre "%s" post, flags, \
	PART(#code " " esc " " pre), PART(post "\r\n") }
#define ARG0(code, pre, post, flags) { code, NULL, pre "%s" post, flags, \
	PART(#code " " pre), PART(post "\r\n") }

static const struct reply replies[] = {
	[R_GREETING] =	ARG0(220, "", " ESMTP smtpd", 0),
	[R_HELO] =	ARG0(250, "", "", 0),
	[R_DONE] =	ROW(250, "2.0.0", "OK", 0),
	[R_SENDER_OK] =	ROW(250, "2.1.0", "sender OK", 0),
	[R_RCPT_OK] =	ROW(250, "2.1.5", "recipient OK", 0),
	[R_RCPT_DUP] =	ROW(250, "2.1.5", "recipient OK (duplicate, kept once)",
	    0),
	[R_START_DATA] = ROW0(354,
	    "send the message, end with <CRLF>.<CRLF>", 0),
	[R_QUEUED] =	ARG(250, "2.0.0", "OK queued as ", "", 0),
	[R_RESET] =	ROW(250, "2.0.0", "reset OK", 0),
	[R_BYE] =	ARG(221, "2.0.0", "", " closing connection", RF_CLOSE),
	[R_VRFY] =	ROW(252, "2.1.5",
	    "cannot VRFY user, but will accept mail and attempt delivery", 0),
	[R_HELP] =	ROW(214, "2.0.0", "commands: HELO EHLO MAIL RCPT DATA "
	    "RSET NOOP QUIT VRFY HELP; see RFC 5321", 0),
	[R_UNKNOWN] =	ROW(500, "5.5.1", "command unrecognized", RF_ERROR),
	[R_NOT_IMPL] =	ROW(502, "5.5.1", "command not implemented", RF_ERROR),
	[R_TOOLONG] =	ROW(500, "5.5.2", "line too long", RF_ERROR),
	[R_BARELF] =	ROW(500, "5.5.2", "command line ends in a bare LF: SMTP "
	    "lines end with CRLF (RFC 5321 2.3.8); for hand-written "
	    "transcripts run smtpd --lf", RF_ERROR),
	[R_BADCHAR] =	ROW(500, "5.5.2",
	    "NUL or control character in command line", RF_ERROR),
	[R_SYNTAX] =	ROW(501, "5.5.4", "syntax error in arguments", RF_ERROR),
	[R_NO_ARGS] =	ROW(501, "5.5.4", "this command takes no arguments",
	    RF_ERROR),
	[R_NEED_DOMAIN] = ROW(501, "5.5.4",
	    "HELO/EHLO needs a valid domain name or address literal",
	    RF_ERROR),
	[R_NEED_ARG] =	ROW(501, "5.5.4", "this command needs an argument",
	    RF_ERROR),
	[R_SEQ_HELO] =	ROW(503, "5.5.1", "send HELO or EHLO first", RF_ERROR),
	[R_SEQ_MAIL] =	ROW(503, "5.5.1", "sender already given", RF_ERROR),
	[R_SEQ_RCPT] =	ROW(503, "5.5.1", "send MAIL first", RF_ERROR),
	[R_SEQ_DATA] =	ROW(503, "5.5.1", "send RCPT first", RF_ERROR),
	[R_NO_VALID_RCPT] = ROW(554, "5.5.1", "no valid recipients", RF_ERROR),
	[R_BAD_SENDER] = ROW(501, "5.1.7", "bad sender address syntax",
	    RF_ERROR),
	[R_BAD_RCPT] =	ROW(501, "5.1.3", "bad recipient address syntax",
	    RF_ERROR),
	[R_NULL_RCPT] =	ROW(501, "5.1.3", "null recipient <> not allowed",
	    RF_ERROR),
	[R_SENDER_TOOLONG] = ROW(501, "5.1.7", "sender path too long",
	    RF_ERROR),
	[R_RCPT_TOOLONG] = ROW(501, "5.1.3", "recipient path too long",
	    RF_ERROR),
	[R_NEED_UTF8] =	ROW(553, "5.6.7",
	    "non-ASCII address needs the SMTPUTF8 parameter on MAIL",
	    RF_ERROR),
	[R_PARAM_UNKNOWN] = ROW(555, "5.5.4", "parameter not supported",
	    RF_ERROR),
	[R_PARAM_SYNTAX] = ROW(501, "5.5.4", "malformed parameter", RF_ERROR),
	[R_PARAM_DUP] =	ROW(501, "5.5.4", "parameter given twice", RF_ERROR),
	[R_PARAM_NO_EHLO] = ROW(555, "5.5.4",
	    "parameters need EHLO, not HELO", RF_ERROR),
	[R_SIZE_LIMIT] = ARG(552, "5.3.4",
	    "message size exceeds fixed limit of ", " bytes", 0),
	[R_NO_SPACE] =	ROW(452, "4.3.1", "insufficient system storage", 0),
	[R_TOO_MANY_RCPT] = ROW(452, "4.5.3", "too many recipients", 0),
	[R_ENVELOPE_FULL] = ROW(452, "4.5.3", "too many recipients: the "
	    "envelope is full, send the rest in another transaction", 0),
	[R_RELAY_DENIED] = ROW(550, "5.7.1",
	    "relaying denied: not a local domain", RF_ERROR),
	[R_ROUTING_DENIED] = ROW(550, "5.7.1", "relaying denied: no routing "
	    "(%, ! or @) in the local part", RF_ERROR),
	[R_MSG_BARENL] = ROW(550, "5.6.0", "message refused: bare CR or LF in "
	    "data (lines must end with CRLF; see SMTP smuggling)", 0),
	[R_MSG_NUL] =	ROW(554, "5.6.0", "message refused: NUL byte in data", 0),
	[R_MSG_LOOP] =	ROW(554, "5.4.6",
	    "message refused: too many Received headers (mail loop?)", 0),
	[R_SPOOL_FAIL] = ROW(451, "4.3.0",
	    "local error: message not queued, try again later", 0),
	[R_SPOOL_FULL] = ROW(452, "4.3.1",
	    "insufficient system storage: message not queued", 0),
	[R_TOO_MANY_ERRORS] = ARG(421, "4.7.0", "",
	    " too many errors, closing connection", RF_CLOSE),
	[R_TIMEOUT] =	ARG(421, "4.4.2", "", " timeout, closing connection",
	    RF_CLOSE),
	[R_SESSION_LIMIT] = ARG(421, "4.4.2", "",
	    " session time limit reached, closing connection", RF_CLOSE),
	[R_DATA_SLOW] =	ARG(421, "4.4.2", "", " data arrives too slowly (below the "
	    "minimum rate), closing connection", RF_CLOSE),
	[R_UNAVAILABLE] = ARG(421, "4.3.0", "",
	    " mail service unavailable (local problem), try again later",
	    RF_CLOSE),
	[R_FORBIDDEN] =	ARG(421, "4.7.0", "", " this is an SMTP server, not "
	    "HTTP, and headers go after DATA; closing connection", RF_CLOSE),
	[R_EARLY_TALKER] = ARG(554, "5.5.0", "", " you talked before the "
	    "greeting (RFC 5321 4.3.1); closing connection", RF_CLOSE),
	[R_CLIENT_REJECT] = ARG(554, "5.7.1", "", "", 0),
	[R_CLIENT_TEMP] = ARG(421, "4.7.1", "", "", RF_CLOSE),
	[R_NO_SERVICE] = ROW(503, "5.7.1", "no mail service for you here; "
	    "please QUIT", RF_ERROR),
	[R_CHECK_REJECT] = ARG(550, "5.7.1", "", "", RF_ERROR),
	[R_CHECK_TEMP] = ARG(451, "4.7.1", "", "", 0),
	[R_CHECK_FAILED] = ROW(451, "4.3.0",
	    "local policy check failed, try again later", 0),
	[R_NO_MAILBOX] = ROW(550, "5.1.1", "no such mailbox here", RF_ERROR),
	[R_LIST_FAILED] = ROW(451, "4.3.0",
	    "recipient list unavailable, try again later", 0),
	[R_TOO_MANY_MSGS] = ARG(421, "4.7.0", "",
	    " too many messages in one session, closing connection", RF_CLOSE),
	[R_TLS_READY] =	ROW(220, "2.0.0", "Ready to start TLS", 0),
	[R_TLS_UNAVAILABLE] = ROW(454, "4.7.0",
	    "TLS not available due to temporary reason", 0),
	[R_TLS_ACTIVE] = ROW(503, "5.5.1", "TLS is already active", RF_ERROR),
	[R_SEQ_TLS] =	ROW(503, "5.5.1",
	    "STARTTLS not allowed in a mail transaction", RF_ERROR),
	[R_NEED_TLS] =	ROW(530, "5.7.0", "Must issue a STARTTLS command first",
	    RF_ERROR),
	[R_AUTH_OK] =	ROW(235, "2.7.0", "Authentication successful", 0),
	[R_AUTH_BAD] =	ROW(535, "5.7.8", "Authentication credentials invalid",
	    RF_ERROR),
	[R_AUTH_TEMP] = ROW(454, "4.7.0",
	    "Temporary authentication failure, try again later", 0),
	[R_AUTH_NEED_TLS] = ROW(538, "5.7.11", "Encryption required for "
	    "requested authentication mechanism", RF_ERROR),
	[R_AUTH_MECH] =	ROW(504, "5.5.4",
	    "Unrecognized authentication type (PLAIN or LOGIN)", RF_ERROR),
	[R_AUTH_BASE64] = ROW(501, "5.5.2",
	    "Invalid base64 or malformed authentication response", RF_ERROR),
	[R_AUTH_CANCEL] = ROW(501, "5.7.0", "Authentication cancelled", 0),
	[R_AUTH_TWICE] = ROW(503, "5.5.1", "Already authenticated", RF_ERROR),
	[R_SEQ_AUTH] =	ROW(503, "5.5.1",
	    "AUTH not allowed in a mail transaction", RF_ERROR),
	[R_AUTH_TOOLONG] = ROW(500, "5.5.6",
	    "Authentication exchange line is too long", RF_ERROR),
	[R_AUTH_TOO_MANY] = ARG(421, "4.7.0", "",
	    " too many failed authentications, closing connection", RF_CLOSE),
	[R_NEED_AUTH] =	ROW(530, "5.7.0", "Authentication required", RF_ERROR),
	[R_BDAT_OK] =	ARG(250, "2.0.0", "", " octets received", 0),
	[R_BDAT_SYNTAX] = ROW(501, "5.5.4", "syntax: BDAT chunk-size [LAST] "
	    "(the chunk was read and dropped)", RF_ERROR),
	[R_BDAT_SIZE] =	ROW(501, "5.5.4", "BDAT chunk size unreadable", RF_ERROR),
	[R_BDAT_LOST] =	ARG(421, "4.5.0", "", " cannot tell where the chunk "
	    "ends, closing connection", RF_CLOSE),
	[R_SEQ_BDAT] =	ROW(503, "5.5.1", "a message is under way in BDAT "
	    "chunks: send the rest with BDAT, or RSET", RF_ERROR),
	[R_BINARY_DATA] = ROW(503, "5.5.1", "BODY=BINARYMIME needs BDAT, not "
	    "DATA (RFC 3030)", RF_ERROR),
	/* mail filters (milter.c): REJECT, TEMPFAIL, a filter that broke */
	/* (--milter-default-action), DISCARD; the REPLY rows carry a */
	/* filter's own checked text and code (session_reply_text) */
	[R_MILTER_REJECT] = ROW(550, "5.7.1", "rejected by a mail filter",
	    RF_ERROR),
	[R_MILTER_REJECT_MSG] = ROW(554, "5.7.1",
	    "message content rejected by a mail filter", 0),
	[R_MILTER_TEMP] = ROW(451, "4.7.1",
	    "a mail filter says try again later", 0),
	[R_MILTER_REPLY] = ARG(550, "5.7.1", "", "", RF_ERROR),
	[R_MILTER_REPLY_TEMP] = ARG(451, "4.7.1", "", "", 0),
	[R_MILTER_FAILED] = ROW(451, "4.3.0",
	    "mail filter unavailable, try again later", 0),
	[R_MILTER_FAILED_REJECT] = ROW(550, "5.3.0",
	    "mail filter unavailable, mail refused", RF_ERROR),
	[R_MILTER_DISCARDED] = ROW(250, "2.0.0", "OK", 0),
};
_Static_assert(sizeof replies / sizeof replies[0] == R__COUNT,
    "one reply table row per reply id");

/* reply_get - the row for a reply id */
const struct reply *
reply_get(enum reply_id id)
{
	return &replies[id];
}

/* add_text - a reply text with its "%s" (if any) replaced by arg */
static void
add_text(struct sbuf *sb, const char *text, const char *arg)
{
	const char *pct = strstr(text, "%s");

	if (pct != NULL) {
		sb_add(sb, text, (size_t)(pct - text));
		sb_str(sb, arg);
		text = pct + 2;
	}
	sb_str(sb, text);
}

/*
 * format_line - one reply line of our own into buf (at least
 * REPLY_MAX + 1 octets): code, '-' or ' ', enhanced code, text; cut to
 * 512 octets with the CRLF.  Returns its length.
 */
static size_t
format_line(char *buf, unsigned code, int more, const char *esc,
    const char *text)
{
	struct sbuf sb;

	sb_init(&sb, buf, REPLY_MAX - 1);
	buf[0] = (char)('0' + code / 100 % 10);	/* codes have three digits */
	buf[1] = (char)('0' + code / 10 % 10);
	buf[2] = (char)('0' + code % 10);
	buf[3] = more ? '-' : ' ';
	sb.len = 4;
	if (esc != NULL) {
		sb_str(&sb, esc);
		sb_add(&sb, " ", 1);
	}
	sb_str(&sb, text);
	memcpy(buf + sb.len, "\r\n", 2);
	return sb.len + 2;
}

/*
 * wire_line - reply id's line: the table's own, or its two parts around
 * arg put together in buf (at least REPLY_MAX + 1 octets), arg cut so
 * that the line keeps to 512 octets with its CRLF
 */
static const char *
wire_line(enum reply_id id, const char *arg, char *buf, size_t *n)
{
	const struct reply *r = &replies[id];
	size_t room = REPLY_MAX - r->line.len - r->tail.len, a;

	if (r->tail.p == NULL) {
		*n = r->line.len;
		return r->line.p;
	}
	a = arg != NULL ? strlen(arg) : 0;
	if (a > room)
		a = room;
	memcpy(buf, r->line.p, r->line.len);
	if (a > 0)
		memcpy(buf + r->line.len, arg, a);
	memcpy(buf + r->line.len + a, r->tail.p, r->tail.len);
	*n = r->line.len + a + r->tail.len;
	return buf;
}

/* reply_format - the line for reply id (arg for its "%s") into buf */
size_t
reply_format(char *buf, enum reply_id id, const char *arg)
{
	size_t n;
	const char *p = wire_line(id, arg, buf, &n);

	if (p != buf)
		memcpy(buf, p, n);
	return n;
}

/* reply_line - queue one reply line of our own text */
int
reply_line(struct io *io, unsigned code, int more, const char *esc,
    const char *text)
{
	char buf[REPLY_MAX + 1];

	return io_put(io, buf, format_line(buf, code, more, esc, text));
}

/* reply_text - the text of reply id with "%s" replaced by arg */
void
reply_text(enum reply_id id, const char *arg, char *buf, size_t cap)
{
	struct sbuf sb;

	sb_init(&sb, buf, cap);
	add_text(&sb, replies[id].text, arg != NULL ? arg : "");
}

/* reply_send - queue the reply for id, with arg for its "%s" if any */
int
reply_send(struct io *io, enum reply_id id, const char *arg)
{
	char buf[REPLY_MAX + 1];
	size_t n;
	const char *p = wire_line(id, arg, buf, &n);

	return io_put(io, p, n);
}
