/*
 * log.h - one record per event: a stderr line, a syslog message or a
 * structured journal entry.  Lines read "smtpd[PID]: ip=ADDR event=NAME
 * key=value ...".  Client bytes are always escaped, and nothing here
 * ever writes to the client's socket.
 */
#ifndef LOG_H
#define LOG_H

#include <stddef.h>
#include <sys/types.h>

#include "sbuf.h"
#include "sdglue.h"

#define LOG_LINE_MAX	1024
#define LOG_FIELDS_MAX	16

enum log_mode {			/* --log */
	LOGMODE_AUTO = 0,	/* journal, else syslog if fd 2 is the client */
	LOGMODE_STDERR,
	LOGMODE_SYSLOG,
	LOGMODE_JOURNAL
};

struct logger {
	enum log_mode to;		/* where records go: never AUTO */
	size_t	 tag_len;		/* "smtpd[pid]: " */
	size_t	 prefix_len;
	char	 prefix[96];		/* "smtpd[pid]: ip=... " */
	char	 ip[64];
	struct sdglue sd;
};

struct logline {
	struct sbuf sb;			/* the text line */
	struct sbuf fb;			/* journal fields, NUL-separated */
	size_t	 foff[LOG_FIELDS_MAX];
	unsigned nf;
	int	 journal;
	char	 buf[LOG_LINE_MAX];
	char	 fbuf[LOG_LINE_MAX + 256];
};

void	 log_init(struct logger *, enum log_mode, pid_t, const char *);
/*
 * Event names and keys are string literals ("" key will not compile
 * otherwise), passed with their length.
 */
#define log_begin(lg, ll, event) \
	log_begin_k(lg, ll, "" event, sizeof event - 1)
#define log_str(ll, key, val)	log_str_k(ll, "" key, sizeof key - 1, val)
#define log_bytes(ll, key, p, n) \
	log_bytes_k(ll, "" key, sizeof key - 1, p, n)
#define log_num(ll, key, v)	log_num_k(ll, "" key, sizeof key - 1, v)

void	 log_begin_k(struct logger *, struct logline *, const char *, size_t);
void	 log_str_k(struct logline *, const char *, size_t, const char *);
void	 log_bytes_k(struct logline *, const char *, size_t, const char *,
	    size_t);
void	 log_num_k(struct logline *, const char *, size_t, unsigned long long);
void	 log_end(struct logger *, struct logline *);

#endif
