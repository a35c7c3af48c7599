/*
 * policy.h - who may send mail to which recipient.
 * Trust (local client, loopback, RELAYCLIENT) and the list of recipient
 * domains accepted from untrusted clients.  Never an open relay.
 */
#ifndef POLICY_H
#define POLICY_H

#include <stddef.h>

#define DOMAINS_ARGS_MAX	64		/* --domain options */
#define DOMAINS_FILE_MAX	(8u << 20)	/* --domains file size */

struct domains {
	const char *arg[DOMAINS_ARGS_MAX];	/* from --domain */
	size_t	 narg;
	char	*file;		/* --domains text, one name per line */
	size_t	 file_len;
};

int	 policy_add_domain(struct domains *, const char *);
int	 policy_load_domains(struct domains *, const char *);
void	 policy_free_domains(struct domains *);
int	 policy_domain_listed(const struct domains *, const char *, size_t);
int	 policy_is_ours(const struct domains *, const char *, const char *,
	    size_t);
int	 policy_is_loopback(const char *);

#endif
