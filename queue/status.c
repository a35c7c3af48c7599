/*
 * status.c - the RFC 3463 status code and the Diagnostic-Code (RFC
 * 3464 2.3.6) of a delivery outcome.  A code the command printed on its
 * last line wins (its class made that of the outcome: 5 failed, 4
 * delayed); else the exit status says it, by sysexits.h as Postfix maps
 * it; else X.0.0.  Pure: no I/O, no allocation.
 */
#include <string.h>

#include "sbuf.h"
#include "status.h"

/* exit status -> subject.detail (the class is the outcome's) */
static const struct {
	int	 code;
	const char *sd;
} exits[] = {
	{ 64, "3.0" },		/* EX_USAGE */
	{ 65, "6.0" },		/* EX_DATAERR: bad message content */
	{ 66, "3.0" },		/* EX_NOINPUT */
	{ 67, "1.1" },		/* EX_NOUSER: bad destination mailbox */
	{ 68, "1.2" },		/* EX_NOHOST: bad destination system */
	{ 69, "3.0" },		/* EX_UNAVAILABLE */
	{ 70, "3.0" },		/* EX_SOFTWARE */
	{ 71, "3.0" },		/* EX_OSERR */
	{ 72, "3.0" },		/* EX_OSFILE */
	{ 73, "2.0" },		/* EX_CANTCREAT: the mailbox */
	{ 74, "3.0" },		/* EX_IOERR */
	{ 75, "3.0" },		/* EX_TEMPFAIL */
	{ 76, "5.0" },		/* EX_PROTOCOL */
	{ 77, "7.1" },		/* EX_NOPERM: delivery not authorized */
	{ 78, "3.5" },		/* EX_CONFIG: system not configured */
	{ 126, "3.0" },		/* the shell's "cannot execute" */
	{ 127, "3.0" },		/* the shell's "not found" */
	{ -1, "3.0" },		/* a signal, the timeout, not started */
};

/* is_digit - 0-9 */
static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits - how many digits start s (stops at 4) */
static size_t
digits(const char *s)
{
	size_t n = 0;

	while (n < 4 && is_digit(s[n]))
		n++;
	return n;
}

/*
 * code_at - the length of an enhanced status code at s (class 2, 4 or
 * 5, then 1-3 digits, '.', 1-3 digits), or 0
 */
static size_t
code_at(const char *s)
{
	size_t a, b;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	if ((a = digits(s + 2)) < 1 || a > 3 || s[2 + a] != '.')
		return 0;
	if ((b = digits(s + 3 + a)) < 1 || b > 3)
		return 0;
	return 3 + a + b;
}

/*
 * qstatus_find - the first enhanced status code standing alone in line
 * (not part of a longer number, as "1.2.3.4" or "v10.4.5"): 1 and out,
 * or 0
 */
int
qstatus_find(const char *line, char *out, size_t cap)
{
	const char *p;
	size_t n;
	struct sbuf sb;

	for (p = line; *p != '\0'; p++) {
		if (p > line && (is_digit(p[-1]) || p[-1] == '.' ||
		    (p[-1] >= 'A' && p[-1] <= 'Z') ||
		    (p[-1] >= 'a' && p[-1] <= 'z')))
			continue;
		if ((n = code_at(p)) == 0 || is_digit(p[n]) ||
		    (p[n] == '.' && is_digit(p[n + 1])))
			continue;
		sb_init(&sb, out, cap);
		sb_add(&sb, p, n);
		return !sb.overflow;
	}
	return 0;
}

/*
 * qstatus_pick - the status of an outcome of class cls ('5': failed,
 * '4': delayed) whose command exited with code (-1: no exit status)
 * after printing line: the code in the line, with its class made cls,
 * else the exit status's, else cls.0.0
 */
void
qstatus_pick(char *out, size_t cap, char cls, int code, const char *line)
{
	struct sbuf sb;
	size_t i;

	if (qstatus_find(line, out, cap)) {
		out[0] = cls;
		return;
	}
	sb_init(&sb, out, cap);
	sb_add(&sb, &cls, 1);
	sb_add(&sb, ".", 1);
	for (i = 0; i < sizeof exits / sizeof exits[0]; i++)
		if (exits[i].code == code) {
			sb_str(&sb, exits[i].sd);
			return;
		}
	sb_str(&sb, "0.0");
}

/* is_reply - does line start with an SMTP reply code ("550 ", "451-")? */
static int
is_reply(const char *s)
{
	return s[0] >= '2' && s[0] <= '5' && s[1] >= '0' && s[1] <= '5' &&
	    is_digit(s[2]) && (s[3] == '\0' || s[3] == ' ' || s[3] == '-');
}

/*
 * qstatus_diag - a Diagnostic-Code value for what the command printed
 * last: "smtp; " for an SMTP reply, else "x-unix; ", then the line as
 * printable ASCII (other octets '?', blanks one space), cut at
 * QSTATUS_DIAG_MAX octets
 */
void
qstatus_diag(char *out, size_t cap, const char *line)
{
	struct sbuf sb;
	size_t n = 0;
	unsigned char c;

	while (*line == ' ' || *line == '\t')
		line++;
	sb_init(&sb, out, cap);
	sb_str(&sb, is_reply(line) ? "smtp; " : "x-unix; ");
	for (; *line != '\0' && n < QSTATUS_DIAG_MAX; line++) {
		c = (unsigned char)*line;
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		if (c == ' ' && (n == 0 || sb.p[sb.len - 1] == ' '))
			continue;
		sb_add(&sb, (const char *)&c, 1);
		n++;
	}
	while (n > 0 && sb.p[sb.len - 1] == ' ') {
		sb.p[--sb.len] = '\0';
		n--;
	}
}
