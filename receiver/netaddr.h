/*
 * netaddr.h - IP addresses as canonical text and as octets, socket
 * addresses, and lists of networks (CIDR) to match a client against.
 */
#ifndef NETADDR_H
#define NETADDR_H

#include <sys/socket.h>
#include <stddef.h>

#define NET_TEXT_MAX	64	/* an address as text, with its NUL */
#define NETLIST_MAX	64	/* networks in one list (--trust, ...) */

/* an address as octets: IPv4 in a[0..3] (v4 = 1), else IPv6 */
struct ipaddr {
	unsigned char a[16];
	int	 v4;
};

/* one network: an address and how many leading bits must match */
struct net {
	struct ipaddr addr;
	unsigned bits;
};

struct netlist {
	struct net v[NETLIST_MAX];
	unsigned n;
};

int	 ip_parse(const char *, struct ipaddr *);
void	 ip_unmap(struct ipaddr *);
int	 ip_text(const struct ipaddr *, char *, size_t);
int	 ip_normalize(const char *, char *, size_t);
int	 ip_from_sockaddr(const struct sockaddr_storage *, struct ipaddr *,
	    unsigned *);
int	 port_text(unsigned, char *, size_t);
int	 netlist_add(struct netlist *, const char *);
int	 netlist_has(const struct netlist *, const char *);

#endif
