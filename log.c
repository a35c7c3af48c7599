/*
 * log.c - one line per event, to stderr.
 * A line is built in a fixed buffer and written with a single write(2),
 * so lines from many smtpd processes never interleave.  Values that come
 * from the client are escaped (\xHH); an overlong line ends in "...".
 */
#include <sys/stat.h>

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/*
 * same_socket - are fds a and b the same socket?  xinetd hands the
 * connection to stdin, stdout and stderr alike; a log line written to
 * stderr would then reach the client inside the SMTP stream.
 */
static int
same_socket(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    S_ISSOCK(sa.st_mode) && sa.st_dev == sb.st_dev &&
	    sa.st_ino == sb.st_ino;
}

/*
 * log_init - log to fd, or to syslog (LOG_MAIL) when fd is the client
 * socket on out; remember the "smtpd[pid]: ip=..." prefix.
 */
void
log_init(struct logger *lg, int fd, int out, pid_t pid, const char *ip)
{
	struct sbuf sb;

	lg->fd = fd;
	if (same_socket(fd, out)) {
		lg->fd = -1;
		openlog("smtpd", LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	sb_init(&sb, lg->prefix, sizeof lg->prefix);
	sb_str(&sb, "smtpd[");
	sb_num(&sb, (unsigned long long)pid);
	sb_str(&sb, "]: ");
	lg->tag_len = sb.len;
	sb_str(&sb, "ip=");
	sb_escaped(&sb, ip, strlen(ip));
	sb_str(&sb, " ");
}

/* log_begin - start a line for one event */
void
log_begin(const struct logger *lg, struct logline *ll, const char *event)
{
	sb_init(&ll->sb, ll->buf, sizeof ll->buf - 4);
	sb_str(&ll->sb, lg->prefix);
	sb_str(&ll->sb, "event=");
	sb_str(&ll->sb, event);
}

/* log_bytes - add key=value; quoted when empty or holding a space */
void
log_bytes(struct logline *ll, const char *key, const char *p, size_t n)
{
	int quote = n == 0 || memchr(p, ' ', n) != NULL;

	sb_str(&ll->sb, " ");
	sb_str(&ll->sb, key);
	sb_str(&ll->sb, quote ? "=\"" : "=");
	sb_escaped(&ll->sb, p, n);
	if (quote)
		sb_str(&ll->sb, "\"");
}

/* log_str - add key=value for a C string */
void
log_str(struct logline *ll, const char *key, const char *val)
{
	log_bytes(ll, key, val, strlen(val));
}

/* log_num - add key=number */
void
log_num(struct logline *ll, const char *key, unsigned long long v)
{
	sb_str(&ll->sb, " ");
	sb_str(&ll->sb, key);
	sb_str(&ll->sb, "=");
	sb_num(&ll->sb, v);
}

/* log_end - finish the line and write it in one go */
void
log_end(const struct logger *lg, struct logline *ll)
{
	struct sbuf *sb = &ll->sb;
	ssize_t w;

	if (sb->overflow)
		sb->len = sb->cap - 1;	/* room for the marker was kept */
	sb->p[sb->len] = '\0';
	if (sb->overflow) {
		sb->p[sb->len++] = '.';
		sb->p[sb->len++] = '.';
		sb->p[sb->len++] = '.';
	}
	if (lg->fd < 0) {
		sb->p[sb->len] = '\0';
		syslog(LOG_INFO, "%s", sb->p + lg->tag_len);
		return;
	}
	sb->p[sb->len++] = '\n';
	do
		w = write(lg->fd, sb->p, sb->len);
	while (w < 0 && errno == EINTR);
}
