/*
 * peer.c - who the client is: its address from the launcher's
 * environment (tcpserver, systemd, xinetd) or the socket itself,
 * checked and written in canonical form, and whether it is trusted.
 * Never trusts a malformed address; does no DNS.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "peer.h"
#include "sbuf.h"

/* ipv4_text - "a.b.c.d" for four octets */
static int
ipv4_text(const unsigned char *a, char *out, size_t cap)
{
	struct sbuf sb;
	int i;

	sb_init(&sb, out, cap);
	for (i = 0; i < 4; i++) {
		if (i > 0)
			sb_add(&sb, ".", 1);
		sb_num(&sb, a[i]);
	}
	return !sb.overflow;
}

/*
 * parse_ipv4 - dotted-quad text into four octets, as inet_pton() takes
 * it (four decimal parts of 0-255, no leading zeros): 1, or 0
 */
static int
parse_ipv4(const char *s, unsigned char *a)
{
	unsigned v;
	int i, n;

	for (i = 0; i < 4; i++) {
		if (i > 0 && *s++ != '.')
			return 0;
		for (v = 0, n = 0; *s >= '0' && *s <= '9' && n < 4; s++, n++)
			v = v * 10 + (unsigned)(*s - '0');
		if (n == 0 || n > 3 || v > 255 || (n > 1 && s[-n] == '0'))
			return 0;
		a[i] = (unsigned char)v;
	}
	return *s == '\0';
}

/*
 * ipv6_text - canonical text for a binary IPv6 address: a v4-mapped one
 * as plain IPv4 (the same client either way), others as inet_ntop()
 */
static int
ipv6_text(const unsigned char *a, char *out, size_t cap)
{
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
		return ipv4_text(a + 12, out, cap);
	return inet_ntop(AF_INET6, a, out, (socklen_t)cap) != NULL;
}

/*
 * normalize_ip - a checked, canonical text address ("" if invalid).
 * IPv4, the usual case, by hand: inet_pton() and inet_ntop() are libc
 * pages (and sprintf ones) to fault in for every connection.
 */
static int
normalize_ip(const char *in, char *out, size_t cap)
{
	unsigned char a[16];

	if (parse_ipv4(in, a))
		return ipv4_text(a, out, cap);
	return inet_pton(AF_INET6, in, a) == 1 && ipv6_text(a, out, cap);
}

/* copy_port - a port number from the environment, if it is one */
static void
copy_port(char *out, size_t cap, const char *port)
{
	size_t n = port != NULL ? strlen(port) : 0, i;

	if (n == 0 || n >= cap)
		return;
	for (i = 0; i < n; i++)
		if (port[i] < '0' || port[i] > '9')
			return;
	memcpy(out, port, n + 1);
}

/* copy_name - a DNS name from the environment, if it is a valid one */
static void
copy_name(char *out, size_t cap, const char *name)
{
	size_t n = name != NULL ? strlen(name) : 0;

	if (n == 0 || n >= cap || name[0] == '[' || !addr_valid_domain(name, n))
		return;
	memcpy(out, name, n + 1);
}

/*
 * sockaddr_text - an inet socket address as canonical text, and its
 * port: 1, or 0 for another family (AF_UNIX) or an unprintable one
 */
static int
sockaddr_text(const struct sockaddr_storage *ss, char *ip, size_t ipcap,
    char *port, size_t portcap)
{
	struct sbuf sb;
	unsigned num;
	int ok;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		ok = ipv4_text((const unsigned char *)&sin->sin_addr, ip, ipcap);
		num = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		ok = ipv6_text(sin6->sin6_addr.s6_addr, ip, ipcap);
		num = ntohs(sin6->sin6_port);
	} else
		return 0;
	if (!ok) {
		ip[0] = '\0';
		return 0;
	}
	if (port != NULL) {
		sb_init(&sb, port, portcap);
		sb_num(&sb, num);
		if (sb.overflow)
			port[0] = '\0';
	}
	return 1;
}

/*
 * peer_from_socket - getpeername() for an inet socket on fd: 1 if it
 * is one, 0 for any other peer (AF_UNIX) or none
 */
static int
peer_from_socket(struct client *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	return sockaddr_text(&ss, c->ip, sizeof c->ip, c->port,
	    sizeof c->port);
}

/*
 * local_from_socket - getsockname() for our end of an inet socket on
 * fd, when the launcher does not say it (systemd, xinetd)
 */
static void
local_from_socket(struct client *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		(void)sockaddr_text(&ss, c->local_ip, sizeof c->local_ip,
		    NULL, 0);
}

/*
 * identify_client - first found wins: TCPREMOTEIP (tcpserver),
 * REMOTE_ADDR (systemd), REMOTE_HOST (xinetd), getpeername() of a
 * socket; our own address from TCPLOCALIP, else getsockname().  An address that is set but malformed makes an untrusted
 * "unknown" client, never a local one.  Trusted: RELAYCLIENT, loopback,
 * or a pipe or file (the operator's own transcript); a UNIX-domain
 * socket is not (a front end may let any local user reach it).
 */
void
identify_client(struct client *c, const struct conn *conn)
{
	static const char *const ip_vars[][2] = {
		{ "TCPREMOTEIP", "TCPREMOTEPORT" },
		{ "REMOTE_ADDR", "REMOTE_PORT" },
		{ "REMOTE_HOST", NULL },
	};
	const char *v;
	size_t i;
	int remote = 0, unix_peer = 0;

	memset(c, 0, sizeof *c);
	for (i = 0; i < sizeof ip_vars / sizeof ip_vars[0]; i++) {
		if ((v = getenv(ip_vars[i][0])) == NULL || *v == '\0')
			continue;
		remote = 1;
		if (!normalize_ip(v, c->ip, sizeof c->ip))
			memcpy(c->ip, "unknown", sizeof "unknown");
		if (ip_vars[i][1] != NULL)
			copy_port(c->port, sizeof c->port,
			    getenv(ip_vars[i][1]));
		break;
	}
	if (!remote && conn->in_sock)
		unix_peer = !peer_from_socket(c, conn->in);
	copy_name(c->name, sizeof c->name, getenv("TCPREMOTEHOST"));
	if ((v = getenv("TCPLOCALIP")) != NULL)
		normalize_ip(v, c->local_ip, sizeof c->local_ip);
	else if (conn->in_sock)
		local_from_socket(c, conn->in);
	copy_name(c->local_name, sizeof c->local_name, getenv("TCPLOCALHOST"));
	c->unix_peer = unix_peer;
	c->trusted = (c->ip[0] == '\0' && !unix_peer) ||
	    policy_is_loopback(c->ip) || getenv("RELAYCLIENT") != NULL;
}
