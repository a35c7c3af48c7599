/*
 * supervise.h - Accept=no: smtpd handed a listening socket accepts,
 * and forks one session process per connection.
 */
#ifndef SUPERVISE_H
#define SUPERVISE_H

#include "config.h"
#include "io.h"

#define DEFAULT_MAX_CONN	100	/* sessions at once */
#define DEFAULT_MAX_PER_IP	10	/* sessions at once from one address */
#define MAX_CONN_CAP		10000

void	 supervise(int, const struct config *, struct conn *);

#endif
