/*
 * config.h - what smtpd was told at start-up, and who the client is.
 * Filled once by options.c and peer.c at start, then read-only:
 * the session only ever sees a const pointer to these.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdint.h>

#include "log.h"
#include "netaddr.h"
#include "policy.h"
#include "rcptlist.h"
#include "tlsio.h"

#define DEFAULT_QUEUE		"/var/spool/smtpd"
#define DEFAULT_MAX_SIZE	(25ull << 20)	/* 26214400 bytes */
#define DEFAULT_MAX_RCPT	100		/* RFC 5321 4.5.3.1.8 */
#define DEFAULT_MAX_ENVELOPE	(256u << 10)	/* recipients' octets */
#define DEFAULT_TIMEOUT		300		/* RFC 5321 4.5.3.2.7 */
#define DEFAULT_SESSION_MAX	3600		/* whole session, seconds */
#define DEFAULT_MIN_DATA_RATE	500		/* octets/s in DATA */
#define DEFAULT_MAX_ERRORS	20
#define DEFAULT_MAX_MESSAGES	10000		/* per session */
#define DEFAULT_CHECK_TIMEOUT	20		/* policy programs, s */
#define DEFAULT_AUTH_TIMEOUT	30		/* an AUTH backend, s */
#define DEFAULT_MILTER_TIMEOUT	30		/* Postfix milter_command_timeout */
#define MILTER_MAX		8		/* --milter filters, cap */
#define MILTER_MACRO_STAGES	7		/* connect ... eom */
#define MAX_RCPT_CAP		100000
#define MAX_HOPS		100	/* Received: lines a message may have */
#define RCPT_OVERSHOOT		1000	/* 452s for too many recipients a */
					/* session gets before they count as */
					/* errors (Postfix's default) */
#define HOSTNAME_MAX		255

struct config {
	const char *queue;
	char	 hostname[HOSTNAME_MAX + 1];
	unsigned long long max_size;	/* 0: no limit */
	unsigned max_rcpt;
	size_t	 max_envelope;		/* envelope_octets() cap */
	unsigned timeout;
	unsigned session_max;
	unsigned min_data_rate;		/* 0: none */
	unsigned max_errors;
	int	 lf;			/* --lf: LF alone ends lines */
	int	 allow_root;		/* --allow-root, SMTPD_ALLOW_ROOT=1 */
	int	 debug;			/* --debug: log state changes */
	enum log_mode log_mode;		/* --log */
	unsigned max_messages;
	unsigned greet_delay;		/* --greet-delay seconds */
	unsigned check_timeout;
	const char *check_client;	/* policy programs, or NULL */
	const char *check_sender;
	const char *check_recipient;
	struct domains domains;
	struct rcptlist rcpts;		/* --recipients; fd -1 if none */
	struct tls_setup tls;		/* --tls-*: cert NULL when none */
	const char *auth_backend;	/* --auth-dovecot socket or */
					/* --auth-checkpassword program */
	int	 auth_dovecot;		/* which of the two it is */
	int	 auth_plaintext;	/* --auth-plaintext */
	int	 require_auth;		/* --require-auth */
	int	 auth_in_received;	/* --auth-in-received */
	unsigned auth_timeout;		/* --auth-timeout seconds */
	enum { TRUST_DEFAULT, TRUST_LIST, TRUST_NONE } trust_mode;
	struct netlist trust;		/* --trust networks */
	struct netlist proxy_from;	/* --proxy-from networks */
	unsigned max_conn;		/* --max-connections (Accept=no) */
	unsigned max_per_ip;		/* --max-per-ip, 0: none */
	const char *milters[MILTER_MAX];	/* --milter, in order */
	unsigned nmilters;
	unsigned milter_timeout;	/* --milter-timeout seconds */
	uint32_t milter_macros[MILTER_MACRO_STAGES];	/* --milter-macros */
	unsigned milter_macros_given;	/* the stages it named (bits) */
	enum { MILTER_DEFAULT_ACCEPT = 1, MILTER_DEFAULT_TEMPFAIL,
	    MILTER_DEFAULT_REJECT } milter_default;
};

/* the client, from the super-server's environment or getpeername() */
struct client {
	char	 ip[NET_TEXT_MAX];	/* "" when there is no address */
	char	 port[8];
	char	 name[HOSTNAME_MAX + 1];	/* TCPREMOTEHOST, checked */
	char	 local_ip[NET_TEXT_MAX];
	char	 local_name[HOSTNAME_MAX + 1];
	int	 trusted;		/* may relay by its address (peer.c) */
	int	 unix_peer;		/* on an AF_UNIX socket: no address */
	int	 proxy_expected;	/* a --proxy-from peer: PROXY first */
	int	 via_proxy;		/* ip, port, local_ip: from its header */
	int	 proxy_version;		/* 1 or 2 */
	char	 via[NET_TEXT_MAX];	/* the balancer's address */
};

#endif
