/*
 * peer.h - who the client is, and whether it is trusted.
 */
#ifndef PEER_H
#define PEER_H

#include "config.h"
#include "io.h"

void	 identify_client(struct client *, const struct conn *,
	    const struct config *);
int	 peer_take_proxy(struct client *, const struct conn *,
	    const struct config *, const char **);

#endif
