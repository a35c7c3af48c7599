/*
 * dovecot.c - Dovecot's authentication client protocol (version 1, as
 * Postfix's smtpd_sasl_type=dovecot speaks it) over its UNIX socket:
 * the server says VERSION, MECH..., SPID, CUID, COOKIE, DONE; we say
 * VERSION and CPID, then one AUTH with PLAIN (whatever mechanism the
 * client used with us) and read OK, FAIL or CONT.  One connection a
 * check, every step under the check's one deadline.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "authback.h"
#include "base64.h"
#include "io.h"
#include "sbuf.h"

#define LINE_MAX_DOVECOT 8192	/* longest server line we take */

/* a line reader on the socket, under one deadline */
struct conn_in {
	int	 fd;
	struct timespec end;
	size_t	 len;
	char	 buf[LINE_MAX_DOVECOT];
};

/* say - the reason, for the log */
static int
say(struct auth_request *r, const char *what, const char *more, int verdict)
{
	struct sbuf sb;

	sb_init(&sb, r->why, sizeof r->why);
	sb_str(&sb, what);
	if (more != NULL) {
		sb_str(&sb, ": ");
		sb_str(&sb, more);
	}
	return verdict;
}

/* send_all - write n octets before the deadline; 0 or -1 */
static int
send_all(struct conn_in *c, const char *p, size_t n)
{
	return io_send_by(c->fd, p, n, c->end);
}

/*
 * next_line - the next whole line (without LF) into line, NUL-ended;
 * 0, or -1 at EOF, error, deadline or a line too long
 */
static int
next_line(struct conn_in *c, char *line, size_t cap)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	char *lf;
	size_t n;
	ssize_t r;
	int ms;

	while ((lf = memchr(c->buf, '\n', c->len)) == NULL) {
		if (c->len == sizeof c->buf ||
		    (ms = ms_until(c->end)) == 0 || poll(&pfd, 1, ms) <= 0)
			return -1;
		r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
	n = (size_t)(lf - c->buf);
	if (n >= cap)
		return -1;
	memcpy(line, c->buf, n);
	line[n] = '\0';
	c->len -= n + 1;
	memmove(c->buf, lf + 1, c->len);
	return 0;
}

/* connect_to - a connection to the socket at path, or -1 */
static int
connect_to(const char *path)
{
	struct sockaddr_un sun;
	size_t n = strlen(path);
	int fd;

	if (n >= sizeof sun.sun_path)
		return -1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * handshake - VERSION and CPID out, the server's lines in up to DONE:
 * major version 1, and PLAIN among its mechanisms
 */
static int
handshake(struct conn_in *c, struct auth_request *r)
{
	char out[64], line[512];
	struct sbuf sb;
	int plain = 0, version = 0;

	sb_init(&sb, out, sizeof out);
	sb_str(&sb, "VERSION\t1\t2\nCPID\t");
	sb_num(&sb, (unsigned long long)getpid());
	sb_str(&sb, "\n");
	if (send_all(c, out, sb.len) < 0)
		return say(r, "dovecot: cannot send", NULL, -1);
	for (;;) {
		if (next_line(c, line, sizeof line) < 0)
			return say(r, "dovecot: no handshake", NULL, -1);
		if (strcmp(line, "DONE") == 0)
			break;
		if (strncmp(line, "VERSION\t1\t", 10) == 0)
			version = 1;
		else if (strncmp(line, "MECH\tPLAIN", 10) == 0 &&
		    (line[10] == '\0' || line[10] == '\t'))
			plain = 1;
	}
	if (!version)
		return say(r, "dovecot: not protocol version 1", NULL, -1);
	if (!plain)
		return say(r, "dovecot: PLAIN is not offered", NULL, -1);
	return 0;
}

/*
 * ask - "AUTH <id> PLAIN service=smtp ... resp=<base64>"; the line is
 * wiped once sent
 */
static int
ask(struct conn_in *c, struct auth_request *r)
{
	unsigned char plain[2 * AUTH_FIELD_MAX + 2];
	char line[BASE64_LEN(sizeof plain) + 512];
	struct sbuf sb;
	size_t n;
	int rc;

	plain[0] = '\0';				/* no authzid */
	memcpy(plain + 1, r->user, r->user_len + 1);
	memcpy(plain + 2 + r->user_len, r->pass, r->pass_len);
	n = 2 + r->user_len + r->pass_len;
	sb_init(&sb, line, sizeof line);
	sb_str(&sb, "AUTH\t1\tPLAIN\tservice=smtp");
	if (r->local_ip[0] != '\0') {
		sb_str(&sb, "\tlip=");
		sb_str(&sb, r->local_ip);
	}
	if (r->client_ip[0] != '\0') {
		sb_str(&sb, "\trip=");
		sb_str(&sb, r->client_ip);
	}
	if (r->secured)
		sb_str(&sb, "\tsecured");
	sb_str(&sb, "\tresp=");
	n = base64_encode(plain, n, line + sb.len, sizeof line - sb.len - 1);
	explicit_bzero(plain, sizeof plain);
	rc = -1;
	if (n > 0 && sb.len + n + 1 < sizeof line) {
		line[sb.len + n] = '\n';
		rc = send_all(c, line, sb.len + n + 1);
	}
	explicit_bzero(line, sizeof line);
	return rc;
}

/* param - the value of "key=" among the tab-separated words of s */
static const char *
param(char *s, const char *key, size_t klen)
{
	char *w;

	for (w = strtok(s, "\t"); w != NULL; w = strtok(NULL, "\t"))
		if (strncmp(w, key, klen) == 0)
			return w + klen;
	return NULL;
}

/*
 * copy_user - Dovecot's name for the user, if it is one smtpd would
 * take from a client (auth.c's user_ok): printable, valid UTF-8
 */
static void
copy_user(struct auth_request *r, const char *u)
{
	size_t n = u != NULL ? strlen(u) : 0, i;

	r->canonical[0] = '\0';
	if (n == 0 || n > AUTH_FIELD_MAX)
		return;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == 0x7f)
			return;
	if (!addr_valid_utf8(u, n))
		return;
	memcpy(r->canonical, u, n + 1);
}

/* has_word - is w one of the tab-separated words of s? */
static int
has_word(const char *s, const char *w)
{
	size_t n = strlen(w);
	const char *p;

	for (p = s; (p = strchr(p, '\t')) != NULL; p++)
		if (strncmp(p + 1, w, n) == 0 && (p[n + 1] == '\0' ||
		    p[n + 1] == '\t'))
			return 1;
	return 0;
}

/* answer - OK, FAIL (temp or not) or anything else */
static int
answer(struct conn_in *c, struct auth_request *r)
{
	char line[1024];
	int temp;

	if (next_line(c, line, sizeof line) < 0)
		return say(r, "dovecot: no answer", NULL, AUTH_TEMP);
	if (strncmp(line, "OK\t1", 4) == 0 && (line[4] == '\0' ||
	    line[4] == '\t')) {
		copy_user(r, param(line + 4, "user=", 5));
		return say(r, "", NULL, AUTH_OK);
	}
	if (strncmp(line, "FAIL\t1", 6) == 0 && (line[6] == '\0' ||
	    line[6] == '\t')) {
		temp = has_word(line + 6, "temp") ||
		    has_word(line + 6, "code=temp_fail");	/* 2.3 */
		return say(r, temp ? "dovecot: temporary failure" :
		    "wrong user or password", NULL, temp ? AUTH_TEMP :
		    AUTH_BAD);
	}
	return say(r, "dovecot: unexpected answer", NULL, AUTH_TEMP);
}

/* dovecot_verify - ask Dovecot's auth server on the socket at path */
int
dovecot_verify(const char *path, struct auth_request *r)
{
	struct conn_in *c;
	int v;

	r->canonical[0] = '\0';
	if ((c = malloc(sizeof *c)) == NULL)
		return say(r, "out of memory", NULL, AUTH_TEMP);
	c->len = 0;
	c->end = io_now();
	c->end.tv_sec += r->seconds;
	if ((c->fd = connect_to(path)) < 0) {
		v = say(r, "dovecot: cannot connect", strerror(errno),
		    AUTH_TEMP);
	} else if (handshake(c, r) < 0)
		v = AUTH_TEMP;
	else if (ask(c, r) < 0)
		v = say(r, "dovecot: cannot send", NULL, AUTH_TEMP);
	else
		v = answer(c, r);
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return v;
}
