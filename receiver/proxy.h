/*
 * proxy.h - the PROXY protocol header (HAProxy's proxy-protocol.txt,
 * versions 1 and 2) that a load balancer sends before SMTP begins.
 */
#ifndef PROXY_H
#define PROXY_H

#include <stddef.h>

#include "netaddr.h"

#define PROXY_V1_MAX		107	/* a v1 line, CRLF included */
#define PROXY_V2_HEAD		16	/* signature, command, family, length */
#define PROXY_V2_LEN_MAX	1024	/* addresses and TLVs after that */
#define PROXY_MAX		(PROXY_V2_HEAD + PROXY_V2_LEN_MAX)
#define PROXY_TIMEOUT		10	/* seconds, at most --timeout */

struct proxy_hdr {
	int	 version;		/* 1 or 2 */
	int	 local;			/* v2 LOCAL or UNSPEC, v1 UNKNOWN: */
					/* the connection's own addresses */
	struct ipaddr src, dst;		/* the client, and the address it */
	unsigned sport, dport;		/* connected to */
};

long	 proxy_parse(const unsigned char *, size_t, struct proxy_hdr *,
	    const char **);
size_t	 proxy_room(const unsigned char *, size_t);
int	 proxy_read(int, unsigned, struct proxy_hdr *, const char **);

#endif
