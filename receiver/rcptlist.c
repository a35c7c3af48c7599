/*
 * rcptlist.c - the valid recipients, from a text list or a cdb.
 * Entries: "user@example.com" (that mailbox), "@example.com" (any user
 * there), "example.com" (the domain is listed: only its entries are
 * valid).  A text line is one entry, blanks around it ignored (so an
 * unquoted local part may hold a space); "cdb -c -m" keys stop at the
 * first blank instead.  A text list's addresses list their domains by themselves; a
 * cdb needs the bare domain keys.  Folding (RFC 5321 2.4 lets a host
 * choose): domains and local parts are compared in ASCII lower case, and
 * a quoted local part as its unquoted text ("John"@x is john@x).  A cdb
 * costs a few preads per lookup; a text list is read whole per session.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rcptlist.h"

#define KEY_MAX	(64 + 1 + 255 + 1)

/* lower - ASCII lower case */
static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* looks_like_cdb - a ".cdb" name, or NULs in the first 2 KiB */
static int
looks_like_cdb(const char *path, const char *head, size_t n)
{
	size_t len = strlen(path);

	if (len > 4 && strcmp(path + len - 4, ".cdb") == 0)
		return 1;
	return memchr(head, '\0', n) != NULL;
}

/* load_text - read the whole list into memory, lower-cased */
static int
load_text(struct rcptlist *rl)
{
	size_t cap = 65536;
	ssize_t n;
	char *p;

	for (;;) {
		if (rl->len == RCPTLIST_TEXT_MAX + 1) {	/* one octet over */
			errno = EFBIG;
			return -1;
		}
		if (rl->len == cap)
			cap = cap * 2 > RCPTLIST_TEXT_MAX ? RCPTLIST_TEXT_MAX + 1 :
			    cap * 2;
		if ((p = realloc(rl->text, cap)) == NULL)
			return -1;
		rl->text = p;
		n = read(rl->fd, rl->text + rl->len, cap - rl->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		rl->len += (size_t)n;
	}
	for (n = 0; (size_t)n < rl->len; n++)
		rl->text[n] = lower(rl->text[n]);
	return 0;
}

/* rcptlist_open - open the list at path, text or cdb; -1 with errno */
int
rcptlist_open(struct rcptlist *rl, const char *path)
{
	char head[CDB_HEADER_PEEK];
	ssize_t n;

	memset(rl, 0, sizeof *rl);
	if ((rl->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = pread(rl->fd, head, sizeof head, 0);
	if (n >= 0 && looks_like_cdb(path, head, (size_t)n)) {
		rl->is_cdb = 1;
		if (cdb_open(&rl->db, rl->fd) == 0)
			return 0;
	} else if (n >= 0 && load_text(rl) == 0)
		return 0;
	n = errno;
	rcptlist_close(rl);
	errno = (int)n;
	return -1;
}

/* rcptlist_close - release the list */
void
rcptlist_close(struct rcptlist *rl)
{
	if (rl->fd >= 0)
		close(rl->fd);
	free(rl->text);
	rl->text = NULL;
	rl->fd = -1;
}

/* make_key - "local@domain" folded: unquoted, ASCII lower case */
static size_t
make_key(char *key, const char *addr, size_t len, size_t doff)
{
	size_t i, k = 0, llen = doff - 1;
	int quoted = llen > 0 && addr[0] == '"';

	for (i = quoted; i < llen - (size_t)quoted && k < KEY_MAX - 1; i++) {
		if (quoted && addr[i] == '\\' && i + 1 < llen - 1)
			i++;
		key[k++] = lower(addr[i]);
	}
	for (i = llen; i < len && k < KEY_MAX - 1; i++)
		key[k++] = lower(addr[i]);
	key[k] = '\0';
	return k;
}

/* same - does text line l (n octets) equal s (m octets)? */
static int
same(const char *l, size_t n, const char *s, size_t m)
{
	return n == m && memcmp(l, s, n) == 0;
}

/* is_blank - space, tab or CR */
static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* trimmed - a text line without its leading and trailing blanks */
static const char *
trimmed(const char *p, const char *e, size_t *n)
{
	while (p < e && is_blank(*p))
		p++;
	while (e > p && is_blank(e[-1]))
		e--;
	*n = (size_t)(e - p);
	return p;
}

/* domain_of - the domain part of an entry: after its last '@' */
static const char *
domain_of(const char *w, size_t n, size_t *dn)
{
	size_t i = n;

	while (i > 0 && w[i - 1] != '@')
		i--;
	*dn = n - i;
	return w + i;
}

/* text_check - one pass over a text list for key and its domain */
static int
text_check(const struct rcptlist *rl, const char *key, size_t n,
    const char *dom, size_t dn, int listed)
{
	const char *p = rl->text, *end = rl->text + rl->len, *e, *w, *d;
	size_t wn, wdn;

	for (; p < end; p = e + 1) {
		if ((e = memchr(p, '\n', (size_t)(end - p))) == NULL)
			e = end;
		w = trimmed(p, e, &wn);
		if (wn == 0 || w[0] == '#')
			continue;
		if (same(w, wn, key, n))
			return RL_VALID;
		if (same(w, wn, dom - 1, dn + 1))
			return RL_CATCHALL;
		d = domain_of(w, wn, &wdn);
		if (same(d, wdn, dom, dn))
			listed = 1;
	}
	return listed ? RL_UNKNOWN : RL_UNLISTED;
}

/* cdb_check - the same three questions as keys of a cdb */
static int
cdb_check(const struct rcptlist *rl, const char *key, size_t n,
    const char *dom, size_t dn, int listed)
{
	int r;

	if ((r = cdb_find(&rl->db, key, n)) != 0)
		return r < 0 ? RL_ERROR : RL_VALID;
	if ((r = cdb_find(&rl->db, dom - 1, dn + 1)) != 0)
		return r < 0 ? RL_ERROR : RL_CATCHALL;
	if ((r = cdb_find(&rl->db, dom, dn)) < 0)
		return RL_ERROR;
	return listed || r ? RL_UNKNOWN : RL_UNLISTED;
}

/*
 * rcptlist_check - judge the mailbox addr (domain at doff); ours says
 * the domain is one smtpd serves anyway (--domain, host name), which
 * makes it listed.  Returns an RL_* verdict.
 */
int
rcptlist_check(const struct rcptlist *rl, const char *addr, size_t len,
    size_t doff, int ours)
{
	char key[KEY_MAX];
	size_t n, at;

	if (!rcptlist_active(rl) || doff == 0)
		return RL_UNLISTED;
	n = make_key(key, addr, len, doff);
	at = n - (len - doff) - 1;	/* the '@' in key */
	if (rl->is_cdb)
		return cdb_check(rl, key, n, key + at + 1, n - at - 1, ours);
	return text_check(rl, key, n, key + at + 1, n - at - 1, ours);
}
