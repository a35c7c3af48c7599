/*
 * msgedit.c - the changes mail filters ask for at the end of a message,
 * each checked before it is kept in a bounded list: a header field's
 * name of printable octets without a colon, a value whose line breaks
 * (LF or CRLF, as filters send them: OpenDKIM folds with LF and TAB) are
 * each followed by a space or tab, stored with CRLF, so a filter can
 * neither end the header block nor start a field of its own inside a
 * value; an envelope address by the SMTP path grammar; a new body
 * streamed to QUEUE/tmp/ID.b, never held.  msgrewrite.c carries them
 * out.  Never touches the spool file itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fdio.h"
#include "milter.h"
#include "msgedit.h"
#include "sbuf.h"

/* keep - n octets into the text arena; its offset, or -1 when full */
static long
keep(struct msg_edits *ed, const char *p, size_t n)
{
	size_t off = ed->used;

	if (n > sizeof ed->text - ed->used)
		return -1;
	memcpy(ed->text + off, p, n);
	ed->used += n;
	return (long)off;
}

/* valid_name - a field name: printable, no colon (RFC 5322 2.2) */
static int
valid_name(const char *name, size_t n)
{
	size_t i;

	if (n == 0 || n > 997)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)name[i] < 33 ||
		    (unsigned char)name[i] > 126 || name[i] == ':')
			return 0;
	return 1;
}

/*
 * keep_value - the value into the arena with CRLF line breaks; -1 when
 * a break is not followed by a space or tab, a CR stands alone, the
 * value ends in a break, or the arena is full
 */
static int
keep_value(struct msg_edits *ed, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\r' && v[1] == '\n')
			v++;
		else if (*v == '\r')
			return -1;
		if (*v != '\n') {
			if (keep(ed, v, 1) < 0)
				return -1;
			continue;
		}
		if ((v[1] != ' ' && v[1] != '\t') || keep(ed, "\r\n", 2) < 0)
			return -1;
	}
	return 0;
}

/*
 * edits_add - one checked change: ADDHEADER, INSHEADER (index: the
 * place among all headers, 0 the top), CHGHEADER (index: the n-th
 * field of that name, from 1; an empty value deletes it).  The field
 * is kept as it will be written: "Name: value" CRLF (no space added
 * when the filter asked for HDR_LEADSPC).  0, or -1 for a bad change.
 */
static int
edits_add(struct msg_edits *ed, char cmd, uint32_t index, const char *name,
    const char *value, int leadspc)
{
	struct msg_edit *e = &ed->e[ed->n];
	size_t nlen = strlen(name);
	long off;

	if (ed->n == EDITS_MAX || !valid_name(name, nlen))
		return -1;
	e->cmd = cmd;
	e->index = index;
	e->done = 0;
	e->name_len = nlen;
	if ((off = keep(ed, name, nlen)) < 0)
		return -1;
	e->name = (size_t)off;
	e->value = ed->used;
	if (!(cmd == SMFIR_CHGHEADER && value[0] == '\0')) {
		if (keep(ed, name, nlen) < 0 ||
		    keep(ed, leadspc ? ":" : ": ", leadspc ? 1 : 2) < 0 ||
		    keep_value(ed, value) < 0 || keep(ed, "\r\n", 2) < 0)
			return -1;
	}
	e->value_len = ed->used - e->value;
	ed->n++;
	return 0;
}

/*
 * edits_add_envelope - one checked envelope change: the address must
 * pass the SMTP path grammar (with or without its angle brackets) and
 * is kept as "<path>"; <> only as a new sender.  ESMTP parameters
 * (ADDRCPT_PAR, CHGFROM) are not kept.  0, or -1 for a bad change.
 */
static int
edits_add_envelope(struct msg_edits *ed, char cmd, const char *addr)
{
	struct msg_edit *e = &ed->e[ed->n];
	char buf[ADDR_PATH_MAX + 3];
	const char *p = buf;
	struct path path;
	size_t n = strlen(addr);
	long off;

	if (ed->n == EDITS_MAX || n == 0 || n > ADDR_PATH_MAX)
		return -1;
	if (addr[0] == '<')
		memcpy(buf, addr, n + 1);
	else {
		buf[0] = '<';
		memcpy(buf + 1, addr, n);
		memcpy(buf + 1 + n, ">", 2);
	}
	if (addr_parse_path(&p, buf + strlen(buf), cmd == SMFIR_CHGFROM ?
	    ADDR_ALLOW_NULL : ADDR_ALLOW_POSTMASTER, &path) != ADDR_OK ||
	    *p != '\0' || (off = keep(ed, "<", 1)) < 0 ||
	    keep(ed, path.addr, path.len) < 0 || keep(ed, ">", 1) < 0)
		return -1;
	e->cmd = cmd == SMFIR_ADDRCPT_PAR ? SMFIR_ADDRCPT : cmd;
	e->index = 0;
	e->done = 0;
	e->name = e->value = (size_t)off;
	e->name_len = e->value_len = path.len + 2;
	ed->n++;
	return 0;
}

/* body_name - "tmp/ID.b", the replacement body's file */
static int
body_name(const struct spool *sp, char *name, size_t cap)
{
	struct sbuf sb;

	sb_init(&sb, name, cap);
	sb_str(&sb, sp->id);
	sb_str(&sb, ".b");
	return sb.overflow ? -1 : 0;
}

/* edits_init - no changes yet, for the message in sp */
void
edits_init(struct msg_edits *ed, struct spool *sp, unsigned long long max)
{
	ed->sp = sp;
	ed->body_fd = -1;
	ed->body_cr = 0;
	ed->body_len = 0;
	ed->body_max = max;
	ed->n = 0;
	ed->used = 0;
}

/* edits_clear - forget the changes; the body file goes */
void
edits_clear(struct msg_edits *ed)
{
	char name[SPOOL_ID_MAX + 3];

	if (ed->body_fd >= 0) {
		close(ed->body_fd);
		if (body_name(ed->sp, name, sizeof name) == 0)
			(void)unlinkat(ed->sp->tmpfd, name, 0);
	}
	edits_init(ed, ed->sp, ed->body_max);
}

/* body_put - octets to the body file; 0 or -1 */
static int
body_put(struct msg_edits *ed, const char *p, size_t n)
{
	ed->body_len += n;
	if (ed->body_max != 0 && ed->body_len > ed->body_max)
		return -1;
	return fd_write_all(ed->body_fd, p, n);
}

/*
 * edits_body - a piece of the replacement body (REPLBODY), streamed to
 * tmp/ID.b, never held: line ends made CRLF (a bare LF gets its CR, a
 * bare CR goes), no NUL, within --max-size; 0 or -1
 */
static int
edits_body(struct msg_edits *ed, const unsigned char *p, size_t n)
{
	char name[SPOOL_ID_MAX + 3], out[1024];
	size_t i, k = 0;

	if (ed->body_fd < 0) {
		if (body_name(ed->sp, name, sizeof name) < 0 ||
		    (ed->body_fd = openat(ed->sp->tmpfd, name, O_RDWR |
		    O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640)) < 0)
			return -1;
	}
	for (i = 0; i < n; i++) {
		if (k + 2 > sizeof out) {
			if (body_put(ed, out, k) < 0)
				return -1;
			k = 0;
		}
		if (p[i] == '\0')
			return -1;
		if (p[i] == '\n')
			out[k++] = '\r';
		if (p[i] != '\r')		/* a CR comes back before its LF */
			out[k++] = (char)p[i];
		ed->body_cr = p[i] == '\r';
	}
	return body_put(ed, out, k);
}

/*
 * edits_take - a filter's change at EOB (a reply milter.c parsed),
 * checked and kept: a header field (edits_add), an envelope address
 * (edits_add_envelope) or a piece of a new body (edits_body); leadspc
 * when the filter asked for HDR_LEADSPC.  0, or -1 for a bad change or
 * one that is not a change of the message (QUARANTINE is the caller's).
 * tests/fuzz/fuzz_msgedit.c drives it.
 */
int
edits_take(struct msg_edits *ed, const struct milter_reply *r, int leadspc)
{
	switch (r->cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER:
	case SMFIR_CHGHEADER:
		return edits_add(ed, r->cmd, r->index, r->name, r->value,
		    leadspc);
	case SMFIR_ADDRCPT:
	case SMFIR_ADDRCPT_PAR:
	case SMFIR_DELRCPT:
	case SMFIR_CHGFROM:
		return edits_add_envelope(ed, r->cmd, r->name);
	case SMFIR_REPLBODY:
		return edits_body(ed, r->data, r->data_len);
	default:
		return -1;
	}
}
