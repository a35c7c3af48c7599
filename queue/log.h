/*
 * log.h - smtpd-queue's log lines, to stderr.
 * "smtpd-queue[PID]: event=NAME key=value ...", one write(2) per line
 * (the prefix left to journald when stderr is its stream),
 * so lines of concurrent deliverers never mix.  Values are escaped
 * (lib/logline.h, the line format smtpd's log shares).
 */
#ifndef QUEUE_LOG_H
#define QUEUE_LOG_H

#include "sbuf.h"

#define QLOG_LINE_MAX	1024

struct qlog {
	struct sbuf sb;
	char	 buf[QLOG_LINE_MAX];
};

void	 qlog_begin(struct qlog *, const char *);
void	 qlog_str(struct qlog *, const char *, const char *);
void	 qlog_num(struct qlog *, const char *, unsigned long long);
void	 qlog_end(struct qlog *);
void	 qlog_error(const char *, const char *, int);

#endif
