/*
 * rcptlist.h - the valid recipients (--recipients FILE), as a text list
 * or a cdb, so that mail for mailboxes the host does not have is
 * refused at RCPT time (no backscatter later).
 */
#ifndef RCPTLIST_H
#define RCPTLIST_H

#include <stddef.h>

#include "cdb.h"

#define RCPTLIST_TEXT_MAX	(64u << 20)

enum rcptlist_verdict {
	RL_UNLISTED = 0,	/* the domain is not in the list: not ours to say */
	RL_VALID,		/* a listed address */
	RL_CATCHALL,		/* any user there: a catch-all @domain */
	RL_UNKNOWN,		/* a listed domain, an unknown user: 550 5.1.1 */
	RL_ERROR		/* the list could not be read: 451 */
};

struct rcptlist {
	int	 fd;		/* -1: no list */
	int	 is_cdb;
	struct cdb db;
	char	*text;		/* text form, lower-cased */
	size_t	 len;
};

int	 rcptlist_open(struct rcptlist *, const char *);

/* rcptlist_active - a list was given (--recipients) */
static inline int
rcptlist_active(const struct rcptlist *rl)
{
	return rl->fd >= 0;
}
void	 rcptlist_close(struct rcptlist *);
int	 rcptlist_check(const struct rcptlist *, const char *, size_t, size_t,
	    int);

#endif
