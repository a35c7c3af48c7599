/*
 * cmd.h - the delivery command: split once, an argv per delivery.
 * Words are split without a shell; the argv comes from the envelope,
 * sendmail-style (CMD -f SENDER [-N -R -V] -- RCPT...) or through %s
 * and %r; %t (either form) is "yes" or "no", the message's REQUIRETLS,
 * and %a the AUTH= mailbox to pass on (RFC 4954 5), or "<>".
 */
#ifndef QUEUE_CMD_H
#define QUEUE_CMD_H

#include <stddef.h>

#include "spoolfmt.h"

#define QCMD_WORDS_MAX	64
#define QCMD_TEXT_MAX	4096
#define QCMD_AUTH_MAX	(ADDR_AUTH_MAX + 3)	/* %a, "-" as "+2D" */

struct qcmd {
	char	 text[QCMD_TEXT_MAX];	/* the words, each NUL-ended */
	char	*word[QCMD_WORDS_MAX + 1];
	size_t	 nword;
	int	 placeholders;		/* %s or %r: no -f/-- added */
	int	 sender_unsafe;		/* a word starts with %s, no "--" */
	int	 rcpt_unsafe;		/* a word starts with %r, no "--" */
};

struct qcall {			/* who one run is for */
	const char *sender;		/* "" for the null sender */
	const char *const *rcpt;
	size_t	 nrcpt;
	const char *const *opts;	/* -N/-R/-V (sendmail form only) */
	size_t	 nopts;
	int	 requiretls;		/* %t: MAIL had REQUIRETLS */
	const char *auth;		/* %a: qcmd_auth's value */
};

#define QDSN_NOTIFY	1	/* pass NOTIFY as -N */
#define QDSN_RET	2	/* pass RET as -R */
#define QDSN_ENVID	4	/* pass ENVID as -V */

/* the DSN options of one run and the text they point to */
struct qdsn {
	const char *opt[6];
	size_t	 n;
	char	 notify[32];
	char	 envid[ADDR_ENVID_MAX + 1];
};

struct qargv {
	char	**v;			/* NULL-ended */
	size_t	 n, cap;
};

int	 qcmd_parse(struct qcmd *, const char *, const char **);
int	 qcmd_argv(const struct qcmd *, const struct qcall *, struct qargv *);
void	 qcmd_argv_free(struct qargv *);
const char *qcmd_auth(const struct spoolfmt_env *, char *, size_t);
void	 qcmd_dsn(unsigned, unsigned, const struct spoolfmt_env *,
	    struct qdsn *);

#endif
