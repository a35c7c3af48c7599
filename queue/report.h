/*
 * report.h - compose a delivery status notification (RFC 3464) about a
 * queued message as a queue file of its own: from <> to the message's
 * sender, multipart/report with the human part, message/delivery-status
 * and the message (or its header).  Which recipients, and when, is the
 * caller's (deliver's notify.c); writing it durably is commit.c's.
 */
#ifndef QUEUE_REPORT_H
#define QUEUE_REPORT_H

#include <stddef.h>

#include "spoolfmt.h"
#include "state.h"

#define QREPORT_RETURN_MAX	1048576	/* octets of the message sent back */
#define QREPORT_LIST_MAX	50	/* recipients named in the text */

enum qreport_action { QR_FAILED, QR_DELAYED, QR_DELIVERED };

struct qreport_sel {		/* one recipient the report covers */
	size_t	 idx;			/* in the envelope */
	enum qreport_action action;
};

struct qreport {
	const char *host;		/* Reporting-MTA, MAILER-DAEMON@host */
	const char *orig;		/* the id of the message reported on */
	const struct spoolfmt_env *env;	/* its envelope */
	const struct qstate *st;	/* the failed ones' Status lines */
	int	 fd;			/* its queue file */
	long long now;
	long long until;		/* Will-Retry-Until (delayed) */
	const char *delay_status;	/* for the delayed: "4.2.2" */
	const char *delay_diag;		/* and a Diagnostic-Code value */
	const struct qreport_sel *sel;
	size_t	 n;
};

int	 qreport_write(int, const char *, const struct qreport *);
int	 qreport_xtext_decode(const char *, char *, size_t);
void	 qreport_addr(char *, size_t, const char *);

#endif
