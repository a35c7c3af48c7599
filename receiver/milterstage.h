/*
 * milterstage.h - inside the milter client, between milters.c (the
 * stages and the filters' replies) and miltermsg.c (the message at its
 * end): the stages, and the calls miltermsg.c makes into milters.c.
 * Nothing else includes it.
 */
#ifndef MILTERSTAGE_H
#define MILTERSTAGE_H

#include "milters.h"

/*
 * stages, for macros, the log and which replies mean what; UNKNOWN (an
 * SMTP verb we do not know) may come at any time, so it is last
 */
enum stage { ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT, ST_DATA, ST_HEADER,
	ST_EOH, ST_BODY, ST_EOB, ST_UNKNOWN };

enum milter_outcome milters_ask(struct milter_set *, unsigned, enum stage,
	    const struct milter_facts *, const char *, const void *, size_t);
int	 milters_asked(const struct milter_set *, unsigned);
void	 milters_log(struct milter_set *, unsigned, const char *,
	    const char *, const char *);
enum milter_outcome milters_failed(const struct milter_set *);

#endif
