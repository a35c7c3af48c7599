/*
 * fuzz_msgedit.c - libFuzzer target: a filter's changes at the end of
 * a message, from the reply packets milterparse.c reads, kept by
 * msgedit.c, to the spool file msgrewrite.c rewrites.  Input: one flags octet (bit 0 HDR_LEADSPC, bit
 * 1 which envelope, bit 2 rewrite, bits 4-7 a --max-size of 64 octets
 * each, 0 none), then packets, each a 2-octet length and the packet
 * (letter and data), each copied to a buffer of exactly its size; a
 * length of 0 ends them, and the rest is the message (header and body)
 * in the spool file after the envelope.  Packets are taken as
 * milters.c takes them (edits_take), up to the first refused.
 * Beyond "no crash, no leak": a kept field is "Name:" with a printable
 * name, CRLF line ends, every line break followed by a space or tab
 * (no filter can end the header block or start a field); a kept
 * address is "<path>" by the SMTP grammar; a new body has CR only
 * before LF, LF only after CR, no NUL, and keeps within --max-size.
 * After the rewrite the body is the old one byte for byte (or the new
 * one), every kept field starts a line of the new header block, every
 * added recipient has its Recipient line, the count of recipients is
 * true, and only the spool file is left in tmp/; after a failed
 * rewrite the file is as it was.  Files live under $TMPDIR (or /tmp).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "addr.h"
#include "milter.h"
#include "msgedit.h"
#include "spool.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FILE_MAX	(1u << 20)	/* the spool file read back, cap */

static const char *const envelopes[] = {
	"Version: 1\nId: m\nSender: <a@example.org>\n"
	"Recipient: <b@example.com>\n\n",
	"Version: 1\nId: m\nSender: <>\nRecipient: <b@example.com>\n"
	"Notify: SUCCESS,FAILURE\nORCPT: rfc822;b@example.com\n"
	"Recipient: <c@example.net>\n\n",
};
static const char default_msg[] = "Subject: x\r\nX-Folded: a\r\n\tb\r\n"
	"\r\nbody\r\n";

static struct spool sp;
static struct msg_edits ed, kept;	/* kept: the changes, before */
static char before[FILE_MAX], after[FILE_MAX];	/* the rewrite */
static char body[FILE_MAX];		/* a new body (REPLBODY) */
static long body_len = -1;

/* fail - report a broken invariant and abort (libFuzzer keeps the input) */
static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_msgedit: INVARIANT BROKEN: %s\n", what);
	abort();
}

static char dir[256];			/* the work directory */

/* remove_workdir - at exit: the work directory and what is left in it */
static void
remove_workdir(void)
{
	static const char *const names[] = { "m", "m.e", "m.b" };
	char path[300];
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* workdir - tmp/ for this process, made once */
static int
workdir(void)
{
	static int fd = -1;
	const char *t = getenv("TMPDIR");

	if (fd >= 0)
		return fd;
	snprintf(dir, sizeof dir, "%s/fuzz_msgedit.XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		fail("cannot make a work directory");
	atexit(remove_workdir);
	return fd;
}

/* slurp - file name in tmp/ into buf; its length, or -1 if absent */
static long
slurp(const char *name, char *buf, size_t cap)
{
	int fd = openat(sp.tmpfd, name, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t r;

	if (fd < 0)
		return -1;
	while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
		n += (size_t)r;
	close(fd);
	return (long)n;
}

/* only_spool_file - tmp/ holds "m" and nothing else */
static void
only_spool_file(void)
{
	DIR *d = fdopendir(dup(sp.tmpfd));
	struct dirent *de;

	if (d == NULL)
		fail("opendir");
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "m") != 0)
			fail("a file left in tmp/ besides the spool file");
	closedir(d);
}

/* check_field - a kept header field: safe to write among the headers */
static void
check_field(const char *t, size_t n)
{
	size_t i;

	if (n < 4 || t[0] == ':' || t[n - 2] != '\r' || t[n - 1] != '\n')
		fail("field without a name or its CRLF");
	for (i = 0; t[i] != ':'; i++)
		if (i + 1 == n || (unsigned char)t[i] < 33 ||
		    (unsigned char)t[i] > 126)
			fail("field name not printable");
	for (i = 0; i < n; i++) {
		if (t[i] == '\0')
			fail("NUL in a field");
		if (t[i] == '\r' && (i + 1 == n || t[i + 1] != '\n'))
			fail("bare CR in a field");
		if (t[i] == '\n' && (i == 0 || t[i - 1] != '\r'))
			fail("bare LF in a field");
		if (t[i] == '\n' && i + 1 < n && t[i + 1] != ' ' &&
		    t[i + 1] != '\t')
			fail("a line break in a field not followed by SP/TAB");
	}
}

/* check_path - a kept address: "<path>" by the SMTP grammar */
static void
check_path(const char *t, size_t n, int null_ok)
{
	const char *p = t;
	struct path pa;

	if (addr_parse_path(&p, t + n, null_ok ? ADDR_ALLOW_NULL :
	    ADDR_ALLOW_POSTMASTER, &pa) != ADDR_OK || p != t + n)
		fail("a kept address does not parse");
}

/* check_edits - every change kept so far */
static void
check_edits(void)
{
	const struct msg_edit *e;
	unsigned i;

	if (ed.n > EDITS_MAX || ed.used > EDITS_TEXT)
		fail("over the caps");
	for (i = 0; i < ed.n; i++) {
		e = &ed.e[i];
		if (e->value + e->value_len > ed.used)
			fail("a change outside the arena");
		if (e->cmd == SMFIR_ADDRCPT || e->cmd == SMFIR_DELRCPT ||
		    e->cmd == SMFIR_CHGFROM)
			check_path(ed.text + e->value, e->value_len,
			    e->cmd == SMFIR_CHGFROM);
		else if (e->value_len > 0 || e->cmd != SMFIR_CHGHEADER)
			check_field(ed.text + e->value, e->value_len);
	}
}

/* check_body - the new body file: CRLF only, no NUL, within the cap */
static void
check_body(void)
{
	long n, i;

	body_len = -1;
	if (ed.body_fd < 0)
		return;
	n = slurp("m.b", body, sizeof body);
	if (n < 0 || (ed.body_max != 0 && (unsigned long long)n >
	    ed.body_max))
		fail("body file missing or over --max-size");
	for (i = 0; i < n; i++)
		if (body[i] == '\0' || (body[i] == '\r' && (i + 1 == n ||
		    body[i + 1] != '\n')) || (body[i] == '\n' && (i == 0 ||
		    body[i - 1] != '\r')))
			fail("NUL, bare CR or bare LF in a new body");
	body_len = n;
}

/* body_at - where the body starts in a spool file (after the empty */
/* line ending the headers), and whether there was such a line */
static size_t
body_at(const char *f, size_t n, int *blank)
{
	size_t i = 0, line;

	while (i + 1 < n && !(f[i] == '\n' && f[i + 1] == '\n'))
		i++;
	i += 2;				/* past the envelope */
	*blank = 0;
	while (i < n) {
		line = i;
		while (i < n && f[i] != '\n')
			i++;
		if (i++ == n)
			break;			/* cut by the end: no line */
		if (i - line == 1 || (i - line == 2 && f[line] == '\r')) {
			*blank = 1;
			return i;
		}
	}
	return n;
}

/* at_line_start - t[0..n) begins some line of f[from..to) */
static int
at_line_start(const char *f, size_t from, size_t to, const char *t,
    size_t n)
{
	size_t i;

	for (i = from; i + n <= to; i++)
		if ((i == from || f[i - 1] == '\n') && memcmp(f + i, t, n) == 0)
			return 1;
	return 0;
}

/* check_rewrite - the new file against the old one and the changes */
static void
check_rewrite(size_t oldn, size_t newn, unsigned nrcpt)
{
	size_t ob, nb, env = 0, i, k;
	int oblank, nblank;
	unsigned rcpts = 0;
	const struct msg_edit *e;
	char line[ADDR_PATH_MAX + 16];

	ob = body_at(before, oldn, &oblank);
	nb = body_at(after, newn, &nblank);
	if (body_len < 0 && (newn - nb != oldn - ob ||
	    memcmp(before + ob, after + nb, oldn - ob) != 0))
		fail("the body changed");
	if (body_len >= 0 && (newn - nb != (size_t)body_len || !nblank ||
	    memcmp(body, after + nb, newn - nb) != 0))
		fail("the body is not the new one");
	while (env + 1 < newn && !(after[env] == '\n' && after[env + 1] == '\n'))
		env++;
	for (i = 0; i < env; i++)
		if ((i == 0 || after[i - 1] == '\n') &&
		    strncmp(after + i, "Recipient: ", 11) == 0)
			rcpts++;
	if (rcpts != nrcpt)
		fail("the recipient count is wrong");
	for (k = 0; k < kept.n; k++) {
		e = &kept.e[k];
		if (e->cmd == SMFIR_ADDRCPT) {
			snprintf(line, sizeof line, "Recipient: %.*s\n",
			    (int)e->value_len, kept.text + e->value);
			for (i = 0; i < env; i++)
				if ((i == 0 || after[i - 1] == '\n') &&
				    strncasecmp(after + i, line,
				    strlen(line)) == 0)
					break;
			if (i == env)
				fail("an added recipient is missing");
		} else if (e->cmd != SMFIR_DELRCPT && e->cmd != SMFIR_CHGFROM &&
		    e->value_len > 0 && !at_line_start(after, env + 2, nb,
		    kept.text + e->value, e->value_len))
			fail("a kept field does not start a line");
	}
}

/* spool_setup - the spool file: an envelope, then the message */
static void
spool_setup(int which, const uint8_t *msg, size_t n)
{
	const char *env = envelopes[which];
	int fd;

	sp.tmpfd = workdir();
	memcpy(sp.id, "m", 2);
	sp.wlen = 0;
	fd = openat(sp.tmpfd, "m", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (fd < 0 || write(fd, env, strlen(env)) != (ssize_t)strlen(env) ||
	    write(fd, msg, n) != (ssize_t)n)
		fail("cannot write the spool file");
	sp.fd = fd;
}

/* message_at - where the packets end and the message begins, or NULL */
static const uint8_t *
message_at(const uint8_t *p, const uint8_t *end)
{
	size_t len;

	while (end - p >= 2) {
		len = (size_t)p[0] << 8 | p[1];
		p += 2;
		if (len == 0)
			return p;
		if (len > (size_t)(end - p))
			break;
		p += len;
	}
	return NULL;
}

/*
 * take_packets - each packet up to the message as milters.c takes it:
 * a change is kept (edits_take) or refused, which ends the filter; 0,
 * or -1 when one was refused
 */
static int
take_packets(const uint8_t *p, const uint8_t *end, int leadspc)
{
	struct milter_reply r;
	uint8_t *buf;
	size_t len;

	while (end - p >= 2 && (len = (size_t)p[0] << 8 | p[1]) != 0 &&
	    len <= (size_t)(end - p - 2)) {
		p += 2;
		if ((buf = malloc(len)) == NULL)
			return -1;
		memcpy(buf, p, len);
		if (milter_parse_reply(buf, len, &r) == 0 &&
		    r.v == MV_MODIFY && r.cmd != SMFIR_QUARANTINE &&
		    edits_take(&ed, &r, leadspc) < 0) {
			free(buf);
			return -1;
		}
		free(buf);
		check_edits();
		p += len;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size, *msg;
	long oldn, newn;
	unsigned nrcpt = 0;
	int flags, r;

	if (size < 1)
		return 0;
	flags = data[0];
	if ((msg = message_at(data + 1, end)) != NULL)
		spool_setup((flags >> 1) & 1, msg, (size_t)(end - msg));
	else
		spool_setup((flags >> 1) & 1, (const uint8_t *)default_msg,
		    sizeof default_msg - 1);
	edits_init(&ed, &sp, (unsigned long long)(flags >> 4) * 64);
	r = take_packets(data + 1, end, flags & 1);
	check_body();
	if (r < 0 || !(flags & 4) || (oldn = slurp("m", before,
	    FILE_MAX / 2)) < 0) {
		edits_clear(&ed);
		close(sp.fd);
		(void)unlinkat(sp.tmpfd, "m", 0);
		return 0;
	}
	memcpy(&kept, &ed, sizeof ed);
	r = edits_rewrite(&ed, &sp, &nrcpt);
	newn = slurp("m", after, sizeof after);
	if (r == 0)
		check_rewrite((size_t)oldn, (size_t)newn, nrcpt);
	else if (newn != oldn || memcmp(before, after, (size_t)oldn) != 0)
		fail("a failed rewrite changed the file");
	only_spool_file();
	close(sp.fd);
	(void)unlinkat(sp.tmpfd, "m", 0);
	return 0;
}
