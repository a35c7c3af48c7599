/*
 * options.c - what smtpd is told at start: the command line (our own
 * long-option loop), the defaults and SMTPD_* environment behind them,
 * the usage text, and the fatal exit for a bad start (100 usage, 111).
 * Fills struct config once; never touches the client.
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "addr.h"
#include "miltermacro.h"
#include "options.h"
#include "sdglue.h"
#include "supervise.h"

#define VERSION		"0.1.0"

static const char usage_text[] =
"usage: smtpd [options]\n"
"Runs one SMTP session on stdin/stdout and queues accepted mail.\n"
"  --queue DIR            queue directory (env SMTPD_QUEUE; default "
DEFAULT_QUEUE ")\n"
"  --hostname NAME        name in greeting, EHLO, Received "
"(env SMTPD_HOSTNAME)\n"
"  --domain NAME          accept mail for NAME from untrusted clients; "
"repeatable\n"
"                         (.NAME also covers every subdomain)\n"
"  --domains FILE         the same, one name per line (# comments)\n"
"  --max-size BYTES       message size limit, 0 = none (default 26214400)\n"
"  --max-recipients N     recipients per message (default 100)\n"
"  --max-envelope BYTES   octets the recipients may take per message "
"(paths,\n"
"                         NOTIFY, ORCPT, +32 each; default 262144)\n"
"  --max-errors N         errors before the session is closed "
"(default 20)\n"
"  --timeout SECONDS      idle limit per command, data read and reply "
"flush\n"
"                         (default 300)\n"
"  --session-timeout SECONDS  hard limit on a whole session "
"(default 3600)\n"
"  --min-data-rate BYTES  after the first --timeout period of DATA, "
"octets a\n"
"                         second it must average, 0 = none "
"(default 500)\n"
"  --lf                   accept LF alone as line end (hand-written "
"transcripts;\n"
"                         refused when stdin is a socket)\n"
"  --recipients FILE      the valid recipients (text list or cdb); others "
"in their\n"
"                         domains get 550 5.1.1\n"
"  --check-client PROG, --check-sender PROG, --check-recipient PROG\n"
"                         policy programs: exit 0 accept, 100 reject, "
"111 defer\n"
"  --check-timeout SECONDS  limit for each policy program (default 20)\n"
"  --greet-delay SECONDS  wait before the greeting; a client that talks "
"first\n"
"                         is dropped with 554 5.5.0 (default 0)\n"
"  --max-messages N       messages per session (default 10000)\n"
"  --user NAME            started as root: become NAME (its uid and gid, "
"no\n"
"                         other groups) before reading a byte\n"
"  --allow-root           serve a socket as root (env SMTPD_ALLOW_ROOT=1); "
"else\n"
"                         that is refused, exit 100\n"
"  --log auto|stderr|syslog|journal  where logs go (default auto: the "
"journal\n"
"                         when stderr is journald's, syslog when stderr "
"is the\n"
"                         client's socket as under xinetd, else stderr)\n"
"  --debug                also log every change of session state\n"
"  --tls-cert FILE, --tls-key FILE  PEM certificate (chain) and key: offer "
"STARTTLS\n"
"                         (env SMTPD_TLS_CERT, SMTPD_TLS_KEY; else "
"systemd's\n"
"                         credentials tls-cert and tls-key); read per "
"connection\n"
"  --tls-implicit         TLS from the first octet (RFC 8314, port 465)\n"
"  --require-tls          MAIL only after STARTTLS (530 5.7.0 before)\n"
"  --tls-protocols LIST   libtls protocols (default secure: TLS 1.2, "
"1.3)\n"
"  --tls-ciphers LIST     libtls/OpenSSL cipher list (default secure)\n"
"  --tls-client-ca FILE   ask for a client certificate, verify it "
"against FILE\n"
"  --auth-dovecot SOCKET  AUTH PLAIN LOGIN through Dovecot's auth socket\n"
"  --auth-checkpassword PROG  AUTH through a checkpassword program\n"
"  --auth-plaintext       offer AUTH without TLS too (tests, trusted "
"links)\n"
"  --require-auth         MAIL only after AUTH (530 5.7.0 before)\n"
"  --auth-in-received     name the AUTH user in Received (default not)\n"
"  --auth-timeout SECONDS limit for each backend check (default 30)\n"
"  --trust CIDR|none      networks whose clients may relay; repeatable "
"(default:\n"
"                         loopback, unless --trust or --proxy-from is "
"given)\n"
"  --proxy-from CIDR      peers that send a PROXY header (v1 or v2) "
"first;\n"
"                         repeatable\n"
"  --max-connections N    handed a listening socket (Accept=no): sessions "
"at once\n"
"                         (default 100)\n"
"  --max-per-ip N         ... and from one address, 0 = no limit "
"(default 10)\n"
"  --milter SOCKET        a mail filter (unix:/path, inet:ADDR:PORT, "
"inet6:ADDR:PORT);\n"
"                         repeatable, applied in order (at most 8)\n"
"  --milter-timeout SECONDS  connecting and each filter reply "
"(default 30)\n"
"  --milter-default-action accept|tempfail|reject  when a filter "
"fails\n"
"                         (default tempfail)\n"
"  --milter-macros STAGE=NAME,...  the macros a stage sends (connect helo "
"mail\n"
"                         rcpt data eoh eom); repeatable\n"
"  --help, --version\n"
"Environment: TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST, TCPLOCALIP,\n"
"TCPLOCALHOST (tcpserver), REMOTE_ADDR, REMOTE_PORT (systemd), "
"REMOTE_HOST\n"
"(xinetd), RELAYCLIENT (trust this client), SMTPD_ALLOW_ROOT.\n"
"Exit: 0 after QUIT, 1 client error or timeout, 100 usage, "
"111 temporary failure.\n";

enum {
	OPT_QUEUE = 256, OPT_HOSTNAME, OPT_DOMAIN, OPT_DOMAINS, OPT_MAX_SIZE,
	OPT_MAX_RCPT, OPT_MAX_ERRORS, OPT_TIMEOUT, OPT_SESSION, OPT_LF,
	OPT_LOG, OPT_RECIPIENTS, OPT_CHECK_CLIENT, OPT_CHECK_SENDER,
	OPT_CHECK_RCPT, OPT_CHECK_TIMEOUT, OPT_GREET_DELAY, OPT_MAX_MESSAGES,
	OPT_USER, OPT_MIN_DATA_RATE, OPT_MAX_ENVELOPE, OPT_ALLOW_ROOT,
	OPT_DEBUG, OPT_TLS_CERT, OPT_TLS_KEY, OPT_TLS_IMPLICIT,
	OPT_REQUIRE_TLS, OPT_TLS_PROTOCOLS, OPT_TLS_CIPHERS, OPT_TLS_CLIENT_CA,
	OPT_AUTH_DOVECOT, OPT_AUTH_CHECKPW, OPT_AUTH_PLAINTEXT, OPT_REQUIRE_AUTH,
	OPT_AUTH_RECEIVED, OPT_AUTH_TIMEOUT, OPT_TRUST, OPT_PROXY_FROM,
	OPT_MAX_CONN, OPT_MAX_PER_IP, OPT_MILTER, OPT_MILTER_TIMEOUT,
	OPT_MILTER_DEFAULT, OPT_MILTER_MACROS,
	OPT_HELP, OPT_VERSION
};

/* a long option: --name VALUE or --name=VALUE when it takes a value */
struct longopt {
	const char *name;
	int	 has_value;
	int	 code;
};

static const struct longopt long_options[] = {
	{ "queue", 1, OPT_QUEUE },
	{ "hostname", 1, OPT_HOSTNAME },
	{ "domain", 1, OPT_DOMAIN },
	{ "domains", 1, OPT_DOMAINS },
	{ "max-size", 1, OPT_MAX_SIZE },
	{ "max-recipients", 1, OPT_MAX_RCPT },
	{ "max-errors", 1, OPT_MAX_ERRORS },
	{ "timeout", 1, OPT_TIMEOUT },
	{ "session-timeout", 1, OPT_SESSION },
	{ "lf", 0, OPT_LF },
	{ "log", 1, OPT_LOG },
	{ "recipients", 1, OPT_RECIPIENTS },
	{ "check-client", 1, OPT_CHECK_CLIENT },
	{ "check-sender", 1, OPT_CHECK_SENDER },
	{ "check-recipient", 1, OPT_CHECK_RCPT },
	{ "check-timeout", 1, OPT_CHECK_TIMEOUT },
	{ "greet-delay", 1, OPT_GREET_DELAY },
	{ "max-messages", 1, OPT_MAX_MESSAGES },
	{ "user", 1, OPT_USER },
	{ "min-data-rate", 1, OPT_MIN_DATA_RATE },
	{ "max-envelope", 1, OPT_MAX_ENVELOPE },
	{ "allow-root", 0, OPT_ALLOW_ROOT },
	{ "debug", 0, OPT_DEBUG },
	{ "tls-cert", 1, OPT_TLS_CERT },
	{ "tls-key", 1, OPT_TLS_KEY },
	{ "tls-implicit", 0, OPT_TLS_IMPLICIT },
	{ "require-tls", 0, OPT_REQUIRE_TLS },
	{ "tls-protocols", 1, OPT_TLS_PROTOCOLS },
	{ "tls-ciphers", 1, OPT_TLS_CIPHERS },
	{ "tls-client-ca", 1, OPT_TLS_CLIENT_CA },
	{ "auth-dovecot", 1, OPT_AUTH_DOVECOT },
	{ "auth-checkpassword", 1, OPT_AUTH_CHECKPW },
	{ "auth-plaintext", 0, OPT_AUTH_PLAINTEXT },
	{ "require-auth", 0, OPT_REQUIRE_AUTH },
	{ "auth-in-received", 0, OPT_AUTH_RECEIVED },
	{ "auth-timeout", 1, OPT_AUTH_TIMEOUT },
	{ "trust", 1, OPT_TRUST },
	{ "proxy-from", 1, OPT_PROXY_FROM },
	{ "max-connections", 1, OPT_MAX_CONN },
	{ "max-per-ip", 1, OPT_MAX_PER_IP },
	{ "milter", 1, OPT_MILTER },
	{ "milter-timeout", 1, OPT_MILTER_TIMEOUT },
	{ "milter-default-action", 1, OPT_MILTER_DEFAULT },
	{ "milter-macros", 1, OPT_MILTER_MACROS },
	{ "help", 0, OPT_HELP },
	{ "version", 0, OPT_VERSION },
	{ NULL, 0, 0 }
};

/*
 * Messages go out with dprintf(), not stdio: naming stdout or stderr
 * would cost every process a symbol lookup at start.
 *
 * fatal - say why we stop, on stderr and to syslog (mail.err): under
 * xinetd stderr was the client's socket and now is /dev/null
 * (quiet_stderr), so syslog is the only place the reason can go.
 */
void
fatal(int code, const char *what, const char *arg, const char *more)
{
	dprintf(2, "smtpd: fatal: %s%s%s\n%s", what,
	    arg != NULL ? ": " : "", arg != NULL ? arg : "", more);
	openlog("smtpd", LOG_PID, LOG_MAIL);
	syslog(LOG_ERR, "fatal: %s%s%s", what, arg != NULL ? ": " : "",
	    arg != NULL ? arg : "");
	exit(code);
}

/* die_usage - a bad command line: say why, exit 100 */
void
die_usage(const char *what, const char *arg)
{
	fatal(EXIT_USAGE, what, arg, usage_text);
}

/* parse_number - a decimal number in [min, max], or die */
static unsigned long long
parse_number(const char *s, unsigned long long min, unsigned long long max,
    const char *what)
{
	unsigned long long v = 0;
	const char *p = s;

	if (*p == '\0')
		die_usage(what, s);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (max - (*p - '0')) / 10)
			die_usage(what, s);
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (v < min)
		die_usage(what, s);
	return v;
}

/* parse_log_mode - the --log argument */
static enum log_mode
parse_log_mode(const char *s)
{
	static const char *const names[] = {
		[LOGMODE_AUTO] = "auto", [LOGMODE_STDERR] = "stderr",
		[LOGMODE_SYSLOG] = "syslog", [LOGMODE_JOURNAL] = "journal",
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(s, names[i]) == 0)
			return (enum log_mode)i;
	die_usage("bad --log (auto, stderr, syslog or journal)", s);
	return LOGMODE_AUTO;
}

/* program_path - a policy program: an absolute path we can execute */
static const char *
program_path(const char *p)
{
	struct stat st;

	if (p[0] != '/' || stat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
	    access(p, X_OK) < 0)
		die_usage("policy program must be an executable absolute path",
		    p);
	return p;
}

/* print_version - the version, and whether libsystemd and TLS are there */
static void
print_version(void)
{
	dprintf(1, "smtpd %s (libsystemd: %s) (tls: %s)\n", VERSION,
	    sdglue_built_with_libsystemd() ? "loaded when used" : "no",
	    tls_built() ? "loaded when used" : "no");
}

/*
 * protocol_word - one word of a libtls protocol list (as
 * tls_config_parse_protocols reads it): a version or a set, "!" negates
 */
static int
protocol_word(const char *w, size_t n)
{
	static const char *const words[] = {
		"all", "legacy", "default", "secure", "tlsv1", "tlsv1.0",
		"tlsv1.1", "tlsv1.2", "tlsv1.3",
	};
	size_t i;

	while (n > 0 && (*w == ' ' || *w == '\t')) {
		w++;
		n--;
	}
	if (n > 0 && *w == '!') {
		w++;
		n--;
	}
	for (i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i]) == n && strncasecmp(words[i], w, n) == 0)
			return 1;
	return 0;
}

/*
 * tls_protocols - check --tls-protocols at start, so that a typo is a
 * usage error rather than a failing STARTTLS in every session
 */
static const char *
tls_protocols(const char *list)
{
	const char *p = list, *q;

	for (;; p = q + 1) {
		q = p + strcspn(p, ",:");
		if (!protocol_word(p, (size_t)(q - p)))
			die_usage("bad --tls-protocols (words: all, secure, "
			    "tlsv1.2, tlsv1.3, ..., ! negates)", list);
		if (*q == '\0')
			return list;
	}
}

/* set_backend - one AUTH backend, not two */
static void
set_backend(struct config *cfg, const char *val, int dovecot)
{
	if (cfg->auth_backend != NULL)
		die_usage("one AUTH backend: --auth-dovecot or "
		    "--auth-checkpassword", val);
	if (dovecot && val[0] != '/')
		die_usage("--auth-dovecot needs the socket's absolute path",
		    val);
	cfg->auth_backend = dovecot ? val : program_path(val);
	cfg->auth_dovecot = dovecot;
}

/* parse_auth_option - the AUTH options; 1 if c was one */
static int
parse_auth_option(int c, const char *val, struct config *cfg)
{
	switch (c) {
	case OPT_AUTH_DOVECOT: set_backend(cfg, val, 1); return 1;
	case OPT_AUTH_CHECKPW: set_backend(cfg, val, 0); return 1;
	case OPT_AUTH_PLAINTEXT: cfg->auth_plaintext = 1; return 1;
	case OPT_REQUIRE_AUTH: cfg->require_auth = 1; return 1;
	case OPT_AUTH_RECEIVED: cfg->auth_in_received = 1; return 1;
	case OPT_AUTH_TIMEOUT: cfg->auth_timeout = (unsigned)parse_number(
		    val, 1, 3600, "bad --auth-timeout"); return 1;
	default: return 0;
	}
}

/*
 * add_trust - one --trust: a network, or "none" (alone): no address is
 * trusted, not even by RELAYCLIENT
 */
static void
add_trust(struct config *cfg, const char *val)
{
	if (strcmp(val, "none") == 0) {
		if (cfg->trust_mode == TRUST_LIST)
			die_usage("--trust none cannot be given with networks",
			    val);
		cfg->trust_mode = TRUST_NONE;
		return;
	}
	if (cfg->trust_mode == TRUST_NONE)
		die_usage("--trust none cannot be given with networks", val);
	if (netlist_add(&cfg->trust, val) < 0)
		die_usage("bad --trust (ADDRESS[/BITS], host bits zero; at "
		    "most 64) or none", val);
	cfg->trust_mode = TRUST_LIST;
}

/* parse_net_option - the options on who connects; 1 if c was one */
static int
parse_net_option(int c, const char *val, struct config *cfg)
{
	switch (c) {
	case OPT_TRUST: add_trust(cfg, val); return 1;
	case OPT_PROXY_FROM:
		if (netlist_add(&cfg->proxy_from, val) < 0)
			die_usage("bad --proxy-from (ADDRESS[/BITS], host bits "
			    "zero; at most 64)", val);
		return 1;
	case OPT_MAX_CONN: cfg->max_conn = (unsigned)parse_number(val, 1,
		    MAX_CONN_CAP, "bad --max-connections"); return 1;
	case OPT_MAX_PER_IP: cfg->max_per_ip = (unsigned)parse_number(val, 0,
		    MAX_CONN_CAP, "bad --max-per-ip"); return 1;
	default: return 0;
	}
}

/* parse_tls_option - the TLS options; 1 if c was one */
static int
parse_tls_option(int c, const char *val, struct tls_setup *t)
{
	switch (c) {
	case OPT_TLS_CERT: t->cert = val; return 1;
	case OPT_TLS_KEY: t->key = val; return 1;
	case OPT_TLS_IMPLICIT: t->implicit = 1; return 1;
	case OPT_REQUIRE_TLS: t->require = 1; return 1;
	case OPT_TLS_PROTOCOLS: t->protocols = tls_protocols(val); return 1;
	case OPT_TLS_CIPHERS: t->ciphers = val; return 1;
	case OPT_TLS_CLIENT_CA: t->client_ca = val; return 1;
	default: return 0;
	}
}

/* set_hostname - copy a host name into the config, or die */
static void
set_hostname(struct config *cfg, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > HOSTNAME_MAX || !addr_valid_domain(name, n))
		die_usage("invalid host name", name);
	memcpy(cfg->hostname, name, n + 1);
}

/* default_hostname - SMTPD_HOSTNAME, else the system's name */
void
default_hostname(struct config *cfg)
{
	const char *env = getenv("SMTPD_HOSTNAME");

	if (env != NULL && *env != '\0') {
		set_hostname(cfg, env);
		return;
	}
	if (gethostname(cfg->hostname, sizeof cfg->hostname) < 0 ||
	    cfg->hostname[0] == '\0' ||
	    !addr_valid_domain(cfg->hostname, strlen(cfg->hostname))) {
		memcpy(cfg->hostname, "localhost", sizeof "localhost");
	}
	cfg->hostname[sizeof cfg->hostname - 1] = '\0';
}

/* milter_action - a --milter-default-action word */
static int
milter_action(const char *val)
{
	if (strcmp(val, "accept") == 0)
		return MILTER_DEFAULT_ACCEPT;
	if (strcmp(val, "tempfail") == 0)
		return MILTER_DEFAULT_TEMPFAIL;
	if (strcmp(val, "reject") == 0)
		return MILTER_DEFAULT_REJECT;
	die_usage("bad --milter-default-action (accept, tempfail or reject)",
	    val);
	return 0;			/* not reached */
}

/* add_milter - one --milter SOCKET, checked for its form only */
static void
add_milter(struct config *cfg, const char *val)
{
	if (cfg->nmilters == MILTER_MAX)
		die_usage("too many --milter (at most 8)", val);
	if (strncmp(val, "unix:/", 6) != 0 && strncmp(val, "local:/", 7) != 0 &&
	    strncmp(val, "inet:", 5) != 0 && strncmp(val, "inet6:", 6) != 0 &&
	    val[0] != '/')
		die_usage("bad --milter (unix:/path, inet:ADDR:PORT or "
		    "inet6:ADDR:PORT)", val);
	cfg->milters[cfg->nmilters++] = val;
}

/* milter_macros - one --milter-macros STAGE=NAME,NAME... */
static void
milter_macros(struct config *cfg, const char *val)
{
	const char *eq = strchr(val, '=');
	int st = eq != NULL ? macro_stage_of(val, (size_t)(eq - val)) : -1;

	if (st < 0)
		die_usage("bad --milter-macros (STAGE=NAME,...; stages: "
		    "connect helo mail rcpt data eoh eom)", val);
	if (macro_list(eq + 1, &cfg->milter_macros[st]) < 0)
		die_usage("bad --milter-macros: a macro smtpd cannot fill",
		    val);
	cfg->milter_macros_given |= 1u << st;
}

/* parse_milter_option - the filter options; 1 if c was one */
static int
parse_milter_option(int c, const char *val, struct config *cfg)
{
	switch (c) {
	case OPT_MILTER: add_milter(cfg, val); return 1;
	case OPT_MILTER_TIMEOUT: cfg->milter_timeout = (unsigned)parse_number(
		    val, 1, 3600, "bad --milter-timeout"); return 1;
	case OPT_MILTER_DEFAULT: cfg->milter_default = milter_action(val);
		return 1;
	case OPT_MILTER_MACROS: milter_macros(cfg, val); return 1;
	default: return 0;
	}
}

/* parse_more_options - the policy options (issue: options, part two) */
static int
parse_more_options(int c, const char *val, struct config *cfg,
    const char **files)
{
	switch (c) {
	case OPT_RECIPIENTS: files[1] = val; return 1;
	case OPT_CHECK_CLIENT: cfg->check_client = program_path(val);
		return 1;
	case OPT_CHECK_SENDER: cfg->check_sender = program_path(val);
		return 1;
	case OPT_CHECK_RCPT: cfg->check_recipient = program_path(val);
		return 1;
	case OPT_CHECK_TIMEOUT: cfg->check_timeout = (unsigned)parse_number(
		    val, 1, 3600, "bad --check-timeout"); return 1;
	case OPT_GREET_DELAY: cfg->greet_delay = (unsigned)parse_number(
		    val, 0, 300, "bad --greet-delay"); return 1;
	case OPT_MAX_MESSAGES: cfg->max_messages = (unsigned)parse_number(
		    val, 1, 1000000, "bad --max-messages"); return 1;
	case OPT_USER: files[2] = val; return 1;
	case OPT_MIN_DATA_RATE: cfg->min_data_rate = (unsigned)parse_number(
		    val, 0, 1u << 30, "bad --min-data-rate"); return 1;
	case OPT_ALLOW_ROOT: cfg->allow_root = 1; return 1;
	case OPT_DEBUG: cfg->debug = 1; return 1;
	case OPT_MAX_ENVELOPE: cfg->max_envelope = (size_t)parse_number(
		    val, 4096, 64u << 20, "bad --max-envelope"); return 1;
	default: return 0;
	}
}

/* prefix_of - are the n octets at a the start of name? */
static int
prefix_of(const char *name, const char *a, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (name[k] != a[k])
			return 0;
	return 1;
}

/*
 * find_option - the option named by the n octets at a: the exact name,
 * else the only one it is a prefix of (getopt_long's rule); NULL if none
 */
static const struct longopt *
find_option(const char *a, size_t n)
{
	const struct longopt *o, *hit = NULL;
	int hits = 0;

	for (o = long_options; o->name != NULL; o++) {
		if (!prefix_of(o->name, a, n))
			continue;
		if (o->name[n] == '\0')
			return o;
		hit = o;
		hits++;
	}
	if (hits > 1)
		die_usage("ambiguous option", a - 2);
	return hit;
}

/*
 * next_option - the option at argv[*i] (--name VALUE, --name=VALUE,
 * --name): its code, *val its value, *i past it; -1 at the first word
 * that is not an option, or past "--".  Our own loop rather than
 * getopt_long(): that and optarg, optind and opterr would be four more
 * symbols for the dynamic loader to look up in every process.
 */
static int
next_option(int argc, char **argv, int *i, const char **val)
{
	const struct longopt *o;
	const char *a;
	size_t n;

	*val = NULL;
	if (*i >= argc || argv[*i][0] != '-' || argv[*i][1] == '\0')
		return -1;
	a = argv[(*i)++];
	if (a[1] != '-')
		die_usage("unknown option", a);
	if (a[2] == '\0')		/* "--": no more options */
		return -1;
	a += 2;
	for (n = 0; a[n] != '\0' && a[n] != '='; n++)
		;
	if ((o = find_option(a, n)) == NULL)
		die_usage("unknown option", a - 2);
	if (!o->has_value) {
		if (a[n] == '=')
			die_usage("option takes no value", a - 2);
	} else if (a[n] == '=')
		*val = a + n + 1;
	else if (*i < argc)
		*val = argv[(*i)++];
	else
		die_usage("option needs a value", a - 2);
	return o->code;
}

/*
 * parse_options - fill cfg from argv; files[0] --domains, [1]
 * --recipients, [2] --user
 */
void
parse_options(int argc, char **argv, struct config *cfg, const char **files)
{
	const char *val, *why;
	int c, i = 1;

	while ((c = next_option(argc, argv, &i, &val)) != -1) {
		if (parse_more_options(c, val, cfg, files) ||
		    parse_tls_option(c, val, &cfg->tls) ||
		    parse_auth_option(c, val, cfg) ||
		    parse_net_option(c, val, cfg) ||
		    parse_milter_option(c, val, cfg))
			continue;
		switch (c) {
		case OPT_QUEUE: cfg->queue = val; break;
		case OPT_HOSTNAME: set_hostname(cfg, val); break;
		case OPT_DOMAIN:
			if (!addr_valid_domain(val[0] == '.' ? val + 1 :
			    val, strlen(val) - (val[0] == '.')) ||
			    policy_add_domain(&cfg->domains, val) < 0)
				die_usage("bad or too many --domain", val);
			break;
		case OPT_DOMAINS: files[0] = val; break;
		case OPT_MAX_SIZE: cfg->max_size = parse_number(val, 0,
			    1ull << 62, "bad --max-size"); break;
		case OPT_MAX_RCPT: cfg->max_rcpt = (unsigned)parse_number(
			    val, 1, MAX_RCPT_CAP, "bad --max-recipients");
			break;
		case OPT_MAX_ERRORS: cfg->max_errors = (unsigned)parse_number(
			    val, 1, 100000, "bad --max-errors"); break;
		case OPT_TIMEOUT: cfg->timeout = (unsigned)parse_number(
			    val, 1, 86400, "bad --timeout"); break;
		case OPT_SESSION: cfg->session_max = (unsigned)parse_number(
			    val, 1, 7 * 86400, "bad --session-timeout");
			break;
		case OPT_LF: cfg->lf = 1; break;
		case OPT_LOG: cfg->log_mode = parse_log_mode(val); break;
		case OPT_HELP: dprintf(1, "%s", usage_text); exit(0);
		case OPT_VERSION: print_version(); exit(0);
		default: die_usage("unknown option", NULL);	/* not reached */
		}
	}
	if (i < argc)
		die_usage("unexpected argument", argv[i]);
	tls_setup_defaults(&cfg->tls);
	if ((why = tls_setup_check(&cfg->tls)) != NULL)
		die_usage(why, NULL);
	if (cfg->auth_backend == NULL && (cfg->require_auth ||
	    cfg->auth_plaintext || cfg->auth_in_received))
		die_usage("--require-auth, --auth-plaintext and "
		    "--auth-in-received need --auth-dovecot or "
		    "--auth-checkpassword", NULL);
}

/* config_defaults - the documented defaults, before options */
void
config_defaults(struct config *cfg)
{
	const char *q = getenv("SMTPD_QUEUE");

	memset(cfg, 0, sizeof *cfg);
	cfg->queue = q != NULL && *q != '\0' ? q : DEFAULT_QUEUE;
	cfg->max_size = DEFAULT_MAX_SIZE;
	cfg->max_rcpt = DEFAULT_MAX_RCPT;
	cfg->max_envelope = DEFAULT_MAX_ENVELOPE;
	cfg->timeout = DEFAULT_TIMEOUT;
	cfg->session_max = DEFAULT_SESSION_MAX;
	cfg->min_data_rate = DEFAULT_MIN_DATA_RATE;
	cfg->max_errors = DEFAULT_MAX_ERRORS;
	cfg->max_messages = DEFAULT_MAX_MESSAGES;
	cfg->check_timeout = DEFAULT_CHECK_TIMEOUT;
	cfg->auth_timeout = DEFAULT_AUTH_TIMEOUT;
	cfg->max_conn = DEFAULT_MAX_CONN;
	cfg->max_per_ip = DEFAULT_MAX_PER_IP;
	cfg->milter_timeout = DEFAULT_MILTER_TIMEOUT;
	cfg->milter_default = MILTER_DEFAULT_TEMPFAIL;
	cfg->rcpts.fd = -1;
	tls_setup_init(&cfg->tls);
}
