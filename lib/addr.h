/*
 * addr.h - RFC 5321 path and ESMTP parameter parsing.
 * Parses the argument of MAIL FROM: / RCPT TO: by the grammar of
 * RFC 5321 4.1.2 (with RFC 6531 UTF-8 and RFC 1870/6152/3461 parameters).
 * Never allocates, never writes past the caps below, never trusts '<'.
 */
#ifndef ADDR_H
#define ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_PATH_MAX	256	/* RFC 5321 4.5.3.1.3, with the brackets */
#define ADDR_ENVID_MAX	100	/* RFC 3461 4.4 */
#define ADDR_ORCPT_MAX	500	/* RFC 3461 4.2 */
#define ADDR_AUTH_MAX	500	/* RFC 4954 5: AUTH=xtext, our cap */

/* a parsed mailbox; the source route, if any, is dropped */
struct path {
	char	 addr[ADDR_PATH_MAX + 1];	/* "local@domain", "" = <> */
	size_t	 len;			/* strlen(addr) */
	size_t	 domain_off;		/* offset of the domain, 0 if none */
	int	 utf8;			/* has octets >= 0x80 */
};

/* path flags */
#define ADDR_ALLOW_NULL		1	/* "<>" is fine (MAIL) */
#define ADDR_ALLOW_POSTMASTER	2	/* "<postmaster>" is fine (RCPT) */

enum addr_status {
	ADDR_OK = 0,
	ADDR_SYNTAX,		/* not a path by the grammar */
	ADDR_TOOLONG,		/* local part, domain or path over its cap */
	ADDR_NULL_REFUSED	/* "<>" where not allowed */
};

enum body_type { BODY_NONE = 0, BODY_7BIT, BODY_8BITMIME, BODY_BINARYMIME };
enum ret_type { RET_NONE = 0, RET_FULL, RET_HDRS };

#define NOTIFY_NEVER	1
#define NOTIFY_SUCCESS	2
#define NOTIFY_FAILURE	4
#define NOTIFY_DELAY	8

struct mail_params {
	unsigned long long size;	/* SIZE=, valid when has_size */
	int	 has_size;
	enum body_type body;
	int	 smtputf8;
	enum ret_type ret;
	char	 envid[ADDR_ENVID_MAX + 1];	/* xtext as sent, "" = none */
	int	 requiretls;			/* RFC 8689 REQUIRETLS */
	char	 auth[ADDR_AUTH_MAX + 1];	/* RFC 4954 AUTH=, xtext or */
						/* "<>", "" = none */
};

struct rcpt_params {
	unsigned notify;			/* NOTIFY_* bits, 0 = none */
	char	 orcpt[ADDR_ORCPT_MAX + 1];	/* "type;xtext" as sent */
};

enum param_status {
	PARAM_OK = 0,
	PARAM_SYNTAX,		/* malformed list or value: 501 5.5.4 */
	PARAM_UNKNOWN,		/* keyword not supported here: 555 5.5.4 */
	PARAM_DUPLICATE		/* same keyword twice: 501 5.5.4 */
};

int	 addr_parse_path(const char **, const char *, int, struct path *);
int	 addr_parse_mail_params(const char *, const char *,
	    struct mail_params *);
void	 addr_clear_mail_params(struct mail_params *);
int	 addr_parse_rcpt_params(const char *, const char *,
	    struct rcpt_params *);
int	 addr_valid_domain(const char *, size_t);
int	 addr_valid_utf8(const char *, size_t);
int	 addr_is_postmaster(const struct path *);
int	 addr_is_routed(const struct path *);

const char *addr_body_name(enum body_type);

#endif
