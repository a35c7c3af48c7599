/*
 * exec.h - run one delivery command with the message on its stdin.
 * No shell, no inherited descriptors, its own process group, a hard
 * timeout; the exit status says delivered, retry later, or failed.
 */
#ifndef QUEUE_EXEC_H
#define QUEUE_EXEC_H

#include <sys/types.h>

#define QEXEC_WHY_MAX	240
#define QEXEC_LINE_MAX	256	/* the last line printed, for a DSN */

struct qrun {			/* how to run it */
	int	 msgfd;			/* the queue file */
	off_t	 body;			/* where the message starts */
	int	 crlf;			/* pass CRLF line ends as stored */
	unsigned timeout;		/* seconds */
	const char *sender_env;		/* SENDER= */
	const char *rcpt_env;		/* RECIPIENT=, NULL: not set */
	int	 requiretls;		/* REQUIRETLS=yes, else not set */
	const char *auth_user;		/* AUTH_USER=, NULL: not set */
	const char *auth_param;		/* AUTH_PARAM=, NULL: not set */
	const char *body_type;		/* BODY=, NULL: not set */
};

enum qexec_kind {
	QX_OK,			/* exit 0 */
	QX_TEMP,		/* exit 75, a signal, the timeout: retry; so
				   are 64, 126, 127: a setup error, logged */
	QX_PERM,		/* any other exit status: failed */
	QX_NOEXEC		/* the command could not be started */
};

struct qresult {
	enum qexec_kind kind;
	char	 why[QEXEC_WHY_MAX];	/* "exit 67: what it printed" */
	int	 code;			/* the exit status, -1: none */
	char	 line[QEXEC_LINE_MAX];	/* the last line it printed */
};

void	 qexec_run(char *const [], const struct qrun *, struct qresult *);

#endif
