/*
 * miltermacro.c - the Sendmail macros sent to mail filters: the names
 * smtpd can fill, Postfix's default list for each stage (its
 * milter_connect_macros, _helo_, _mail_, _rcpt_, _data_, _end_of_header_
 * and _end_of_data_macros, as far as smtpd has the facts; MILTER_README
 * "Sendmail macro emulation"), --milter-macros to choose others, the
 * lists a filter asks for itself (SETSYMLIST), and each value from the
 * session's facts.  Never a value a filter gave.
 */
#include <string.h>

#include "config.h"
#include "miltermacro.h"
#include "milters.h"

/* the macros smtpd can fill, by bit */
enum macro_id { M_J, M_UNDERSCORE, M_DAEMON_NAME, M_V, M_CLIENT_ADDR,
	M_CLIENT_PORT, M_CLIENT_NAME, M_DAEMON_ADDR, M_TLS_VERSION, M_CIPHER,
	M_AUTH_AUTHEN, M_AUTH_TYPE, M_MAIL_ADDR, M_RCPT_ADDR, M_I, M__COUNT };

static const char *const macro_names[M__COUNT] = {
	[M_J] = "j", [M_UNDERSCORE] = "_", [M_DAEMON_NAME] = "{daemon_name}",
	[M_V] = "v", [M_CLIENT_ADDR] = "{client_addr}",
	[M_CLIENT_PORT] = "{client_port}", [M_CLIENT_NAME] = "{client_name}",
	[M_DAEMON_ADDR] = "{daemon_addr}", [M_TLS_VERSION] = "{tls_version}",
	[M_CIPHER] = "{cipher}", [M_AUTH_AUTHEN] = "{auth_authen}",
	[M_AUTH_TYPE] = "{auth_type}",
	[M_MAIL_ADDR] = "{mail_addr}", [M_RCPT_ADDR] = "{rcpt_addr}",
	[M_I] = "i",
};

static const char *const stage_names[MS__COUNT] = {
	"connect", "helo", "mail", "rcpt", "data", "eoh", "eom"
};

#define BIT(m)	((uint32_t)1 << (m))

_Static_assert(MS__COUNT == MILTER_MACRO_STAGES, "macro stages");

static const uint32_t defaults[MS__COUNT] = {
	[MS_CONNECT] = BIT(M_J) | BIT(M_DAEMON_NAME) | BIT(M_V) |
	    BIT(M_UNDERSCORE) | BIT(M_CLIENT_ADDR) | BIT(M_CLIENT_PORT) |
	    BIT(M_CLIENT_NAME) | BIT(M_DAEMON_ADDR),
	[MS_HELO] = BIT(M_TLS_VERSION) | BIT(M_CIPHER),
	[MS_MAIL] = BIT(M_AUTH_TYPE) | BIT(M_AUTH_AUTHEN) | BIT(M_MAIL_ADDR),
	[MS_RCPT] = BIT(M_RCPT_ADDR),
	[MS_DATA] = BIT(M_I),
	[MS_EOH] = BIT(M_I),
	[MS_EOM] = BIT(M_I),
};

/* name_index - where the n octets at s stand in names[count], or -1 */
static int
name_index(const char *const *names, int count, const char *s, size_t n)
{
	int i;

	for (i = 0; i < count; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return i;
	return -1;
}

/* macro_stage_of - a stage's name (n octets): its number, or -1 */
int
macro_stage_of(const char *name, size_t n)
{
	return name_index(stage_names, MS__COUNT, name, n);
}

/* find_name - the macro named by the n octets at s, or -1 */
static int
find_name(const char *s, size_t n)
{
	return name_index(macro_names, M__COUNT, s, n);
}

/*
 * macro_list - "NAME,NAME..." (or spaces) into a set; "" is none.
 * 0, or -1 for a name smtpd cannot fill.
 */
int
macro_list(const char *s, uint32_t *set)
{
	size_t n;
	int i;

	*set = 0;
	while (*s != '\0') {
		n = strcspn(s, ", ");
		i = find_name(s, n);
		if (n > 0 && i < 0)
			return -1;
		if (n > 0)
			*set |= BIT(i);
		s += n;
		s += strspn(s, ", ");
	}
	return 0;
}

/*
 * macro_wanted - a filter's own list for a stage (SETSYMLIST: names
 * separated by spaces, checked and counted by milterparse.c) into a set;
 * a name smtpd cannot fill is left out, never an error
 */
uint32_t
macro_wanted(const char *s)
{
	uint32_t set = 0;
	size_t n;
	int i;

	while (*s != '\0') {
		n = strcspn(s, " ");
		if (n > 0 && (i = find_name(s, n)) >= 0)
			set |= BIT(i);
		s += n;
		s += strspn(s, " ");
	}
	return set;
}

/* macro_stage_smfim - the stage of a filter's SMFIM_* number, or -1 */
int
macro_stage_smfim(uint32_t smfim)
{
	static const enum macro_stage of[SMFIM_COUNT] = {
		[SMFIM_CONNECT] = MS_CONNECT, [SMFIM_HELO] = MS_HELO,
		[SMFIM_ENVFROM] = MS_MAIL, [SMFIM_ENVRCPT] = MS_RCPT,
		[SMFIM_DATA] = MS_DATA, [SMFIM_EOM] = MS_EOM,
		[SMFIM_EOH] = MS_EOH,
	};

	return smfim < SMFIM_COUNT ? (int)of[smfim] : -1;
}

/* macro_default - Postfix's list for a stage (what smtpd can fill) */
uint32_t
macro_default(enum macro_stage st)
{
	return defaults[st];
}

/* value - macro m's value now, or NULL when it has none */
static const char *
value(enum macro_id m, const struct milter_facts *f, const char *arg)
{
	const struct client *c = f->client;

	switch (m) {
	case M_J: return f->cfg->hostname;
	case M_UNDERSCORE: return c->ip[0] != '\0' ? c->ip : "unknown";
	case M_DAEMON_NAME: return f->cfg->hostname;	/* as Postfix */
	case M_V: return "smtpd";
	case M_CLIENT_ADDR: return c->ip;
	case M_CLIENT_PORT: return c->port;
	case M_CLIENT_NAME: return c->name[0] != '\0' ? c->name : "unknown";
	case M_DAEMON_ADDR: return c->local_ip;
	case M_TLS_VERSION: return f->tls->active ? f->tls->version : NULL;
	case M_CIPHER: return f->tls->active ? f->tls->cipher : NULL;
	case M_AUTH_AUTHEN: return f->auth_user;
	case M_AUTH_TYPE: return f->auth_mech;
	case M_MAIL_ADDR: return f->mail_addr;
	case M_RCPT_ADDR: return arg;
	case M_I: return f->queue_id;
	default: return NULL;
	}
}

/*
 * macro_add - the set's macros that have a value now, as name, value
 * pairs; arg is the stage's address ({rcpt_addr} at RCPT)
 */
void
macro_add(struct milter_args *a, uint32_t set, const struct milter_facts *f,
    const char *arg)
{
	const char *v;
	int i;

	for (i = 0; i < M__COUNT; i++) {
		if (!(set & BIT(i)) ||
		    (v = value((enum macro_id)i, f, arg)) == NULL ||
		    v[0] == '\0')
			continue;
		milter_args_str(a, macro_names[i]);
		milter_args_str(a, v);
	}
}
