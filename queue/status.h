/*
 * status.h - the RFC 3463 status code and the Diagnostic-Code of a
 * delivery outcome, from the command's exit status and the last line
 * it printed.  Pure functions, no I/O (tests/unit/status_test.c).
 */
#ifndef QUEUE_STATUS_H
#define QUEUE_STATUS_H

#include <stddef.h>

#define QSTATUS_MAX	12	/* "5.123.123" and its NUL, with room */
#define QSTATUS_DIAG_MAX 200	/* octets of the line in a Diagnostic-Code */
#define QSTATUS_EXPIRED	"4.4.7"	/* --max-age: delivery time expired */

int	 qstatus_find(const char *, char *, size_t);
void	 qstatus_pick(char *, size_t, char, int, const char *);
void	 qstatus_diag(char *, size_t, const char *);

#endif
