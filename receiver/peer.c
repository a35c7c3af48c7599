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
#include "proxy.h"

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
	struct ipaddr a;
	unsigned num;

	if (!ip_from_sockaddr(ss, &a, &num) || !ip_text(&a, ip, ipcap)) {
		ip[0] = '\0';
		return 0;
	}
	if (port != NULL && !port_text(num, port, portcap))
		port[0] = '\0';
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
 * decide_trust - may this client relay by its address?  A pipe or a
 * file (the operator's own transcript) always; a UNIX-domain socket
 * only by RELAYCLIENT (a front end may let any local user reach it).
 * An address from a PROXY header, or a balancer's own: --trust alone.
 * Else --trust none: none; --trust CIDR...: those networks and
 * RELAYCLIENT (the tcprules convention); --proxy-from without --trust:
 * RELAYCLIENT; neither: loopback and RELAYCLIENT.
 */
static int
decide_trust(const struct client *c, const struct config *cfg)
{
	int relayclient = getenv("RELAYCLIENT") != NULL;

	if (c->ip[0] == '\0' && !c->unix_peer)
		return 1;			/* a pipe or a file */
	if (c->via_proxy)
		return netlist_has(&cfg->trust, c->ip);
	switch (cfg->trust_mode) {
	case TRUST_NONE: return 0;
	case TRUST_LIST: return netlist_has(&cfg->trust, c->ip) || relayclient;
	default: break;
	}
	if (cfg->proxy_from.n > 0)
		return relayclient;
	return policy_is_loopback(c->ip) || relayclient;
}

/*
 * identify_client - first found wins: TCPREMOTEIP (tcpserver),
 * REMOTE_ADDR (systemd), REMOTE_HOST (xinetd), getpeername() of a
 * socket; our own address from TCPLOCALIP, else getsockname().  An
 * address that is set but malformed makes an untrusted "unknown"
 * client, never a local one.  A peer in --proxy-from must send a PROXY
 * header before anything else (peer_take_proxy).
 */
void
identify_client(struct client *c, const struct conn *conn,
    const struct config *cfg)
{
	static const char *const ip_vars[][2] = {
		{ "TCPREMOTEIP", "TCPREMOTEPORT" },
		{ "REMOTE_ADDR", "REMOTE_PORT" },
		{ "REMOTE_HOST", NULL },
	};
	const char *v;
	size_t i;
	int remote = 0;

	memset(c, 0, sizeof *c);
	for (i = 0; i < sizeof ip_vars / sizeof ip_vars[0]; i++) {
		if ((v = getenv(ip_vars[i][0])) == NULL || *v == '\0')
			continue;
		remote = 1;
		if (!ip_normalize(v, c->ip, sizeof c->ip))
			memcpy(c->ip, "unknown", sizeof "unknown");
		if (ip_vars[i][1] != NULL)
			copy_port(c->port, sizeof c->port,
			    getenv(ip_vars[i][1]));
		break;
	}
	if (!remote && conn->in_sock)
		c->unix_peer = !peer_from_socket(c, conn->in);
	copy_name(c->name, sizeof c->name, getenv("TCPREMOTEHOST"));
	if ((v = getenv("TCPLOCALIP")) != NULL)
		ip_normalize(v, c->local_ip, sizeof c->local_ip);
	else if (conn->in_sock)
		local_from_socket(c, conn->in);
	copy_name(c->local_name, sizeof c->local_name, getenv("TCPLOCALHOST"));
	c->proxy_expected = conn->in_sock &&
	    netlist_has(&cfg->proxy_from, c->ip);
	c->trusted = c->proxy_expected ? 0 : decide_trust(c, cfg);
					/* a balancer: after its header */
}

/*
 * peer_take_proxy - read the PROXY header of a --proxy-from peer
 * (proxy.c); its addresses become the client's, the balancer's is kept
 * as via.  v2 LOCAL and v1 UNKNOWN (health checks) keep the
 * connection's.  0, or -1 with *why: nothing of the session may follow.
 */
int
peer_take_proxy(struct client *c, const struct conn *conn,
    const struct config *cfg, const char **why)
{
	struct proxy_hdr h;
	unsigned secs = cfg->timeout < PROXY_TIMEOUT ? cfg->timeout :
	    PROXY_TIMEOUT;

	if (proxy_read(conn->in, secs, &h, why) < 0)
		return -1;
	memcpy(c->via, c->ip, sizeof c->via);
	c->via_proxy = 1;
	c->proxy_version = h.version;
	if (!h.local) {
		if (!ip_text(&h.src, c->ip, sizeof c->ip) ||
		    !ip_text(&h.dst, c->local_ip, sizeof c->local_ip) ||
		    !port_text(h.sport, c->port, sizeof c->port)) {
			*why = "unprintable address";	/* not reached */
			return -1;
		}
		c->name[0] = c->local_name[0] = '\0';	/* the balancer's */
	}
	c->trusted = decide_trust(c, cfg);
	return 0;
}
