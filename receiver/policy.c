/*
 * policy.c - who may send mail to which recipient.
 * A domain list entry "example.com" matches that domain; ".example.com"
 * matches example.com and every domain below it.  Case is folded for
 * ASCII only (RFC 5321 2.4).  Nothing here trusts the client's word.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "policy.h"

/* policy_add_domain - add one --domain name */
int
policy_add_domain(struct domains *d, const char *name)
{
	if (d->narg >= DOMAINS_ARGS_MAX) {
		errno = E2BIG;
		return -1;
	}
	d->arg[d->narg++] = name;
	return 0;
}

/* policy_load_domains - read a --domains file into memory once */
int
policy_load_domains(struct domains *d, const char *path)
{
	size_t len = 0;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	free(d->file);
	if ((d->file = malloc(DOMAINS_FILE_MAX)) == NULL)
		goto fail;
	while ((n = read(fd, d->file + len, DOMAINS_FILE_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		len += (size_t)n;
		if (len == DOMAINS_FILE_MAX) {
			errno = EFBIG;
			goto fail;
		}
	}
	close(fd);
	d->file_len = len;
	return 0;
fail:
	saved = errno;
	close(fd);
	free(d->file);
	d->file = NULL;
	errno = saved;
	return -1;
}

/* policy_free_domains - release the file text */
void
policy_free_domains(struct domains *d)
{
	free(d->file);
	d->file = NULL;
	d->file_len = 0;
}

/* entry_matches - does list entry e (len en) cover domain s (len n)? */
static int
entry_matches(const char *e, size_t en, const char *s, size_t n)
{
	while (en > 0 && (e[en - 1] == '.' || e[en - 1] == '\r' ||
	    e[en - 1] == ' ' || e[en - 1] == '\t'))
		en--;
	while (en > 0 && (*e == ' ' || *e == '\t')) {
		e++;
		en--;
	}
	if (en == 0 || *e == '#')
		return 0;
	if (*e == '.') {
		e++;
		en--;
		if (n > en && s[n - en - 1] == '.' &&
		    strncasecmp(s + n - en, e, en) == 0)
			return 1;
	}
	return n == en && strncasecmp(s, e, en) == 0;
}

/* policy_domain_listed - is domain s (len n) one of ours? */
int
policy_domain_listed(const struct domains *d, const char *s, size_t n)
{
	const char *p, *end, *nl;
	size_t i;

	while (n > 0 && s[n - 1] == '.')
		n--;
	for (i = 0; i < d->narg; i++)
		if (entry_matches(d->arg[i], strlen(d->arg[i]), s, n))
			return 1;
	if (d->file == NULL)
		return 0;
	for (p = d->file, end = d->file + d->file_len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		if (entry_matches(p, (size_t)(nl - p), s, n))
			return 1;
	}
	return 0;
}

/*
 * policy_is_loopback - 127.0.0.0/8 or ::1.  ip is in the canonical text
 * form netaddr.c's ip_normalize() gives (IPv4 in dotted quad without
 * leading zeros, a v4-mapped IPv6 address shown as IPv4, other IPv6 as
 * inet_ntop() writes it), so comparing text is exact.
 */
int
policy_is_loopback(const char *ip)
{
	return (ip[0] == '1' && ip[1] == '2' && ip[2] == '7' && ip[3] == '.') ||
	    (ip[0] == ':' && ip[1] == ':' && ip[2] == '1' && ip[3] == '\0');
}

/* policy_is_ours - a --domain/--domains domain, or our host name */
int
policy_is_ours(const struct domains *ds, const char *hostname, const char *d,
    size_t n)
{
	size_t hn = strlen(hostname);

	if (n == hn && strncasecmp(d, hostname, n) == 0)
		return 1;
	return policy_domain_listed(ds, d, n);
}
