/*
 * log.h - one line per event, to stderr.
 * Lines look like "smtpd[PID]: ip=ADDR event=NAME key=value ...".
 * Client bytes are always escaped; nothing here writes to the client:
 * when stderr is the client's socket (xinetd), lines go to syslog.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <sys/types.h>

#include "sbuf.h"

#define LOG_LINE_MAX	1024

struct logger {
	int	 fd;			/* where lines go (2), or -1: syslog */
	size_t	 tag_len;		/* "smtpd[pid]: ", left to syslog */
	char	 prefix[96];		/* "smtpd[pid]: ip=... " */
};

struct logline {
	struct sbuf sb;
	char	 buf[LOG_LINE_MAX];
};

void	 log_init(struct logger *, int, int, pid_t, const char *);
void	 log_begin(const struct logger *, struct logline *, const char *);
void	 log_str(struct logline *, const char *, const char *);
void	 log_bytes(struct logline *, const char *, const char *, size_t);
void	 log_num(struct logline *, const char *, unsigned long long);
void	 log_end(const struct logger *, struct logline *);

#endif
