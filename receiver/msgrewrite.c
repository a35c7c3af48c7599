/*
 * msgrewrite.c - the rewrite of a spool file that carries out the
 * changes msgedit.c kept: into a second tmp file (QUEUE/tmp/ID.e) go
 * the envelope block with its changes, the header block with its
 * changes, then the empty line and the body copied byte-exact (or the
 * new body from tmp/ID.b); it is then renamed over tmp/ID and becomes
 * the spool file held for commit.  Each file through one 64 KiB
 * buffer: never the message in memory.  Never touches new/: a
 * rewritten message is committed like any other.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fdio.h"
#include "milter.h"
#include "msgedit.h"
#include "sbuf.h"

#define RW_BUF	65536

/* the two files of a rewrite, each through its buffer */
struct rewrite {
	int	 in, out;
	int	 err;
	size_t	 pos, len, olen;
	unsigned seen[EDITS_MAX];	/* fields of a CHGHEADER's name */
	unsigned nrcpt;			/* recipients in the new envelope */
	int	 dropping;		/* a deleted recipient's own lines */
	size_t	 llen;
	char	 line[EDIT_ENV_LINE];
	unsigned char ibuf[RW_BUF];
	char	 obuf[RW_BUF];
	size_t	 hlen;
	char	 hbuf[EDIT_HEADER_MAX];
};

/* write_out - n octets straight to the new file, short writes retried */
static void
write_out(struct rewrite *rw, const char *p, size_t n)
{
	if (rw->err == 0 && fd_write_all(rw->out, p, n) < 0)
		rw->err = errno;
}

/* flush_out - what is buffered, to the new file */
static void
flush_out(struct rewrite *rw)
{
	write_out(rw, rw->obuf, rw->olen);
	rw->olen = 0;
}

/* put - n octets to the new file, through its buffer */
static void
put(struct rewrite *rw, const void *p, size_t n)
{
	if (n > sizeof rw->obuf - rw->olen)
		flush_out(rw);
	if (n >= sizeof rw->obuf) {
		write_out(rw, p, n);
		return;
	}
	memcpy(rw->obuf + rw->olen, p, n);
	rw->olen += n;
}

/* get - the next octet of the old file, or -1 at its end (or error) */
static int
get(struct rewrite *rw)
{
	ssize_t r;

	if (rw->pos == rw->len) {
		r = fd_read(rw->in, rw->ibuf, sizeof rw->ibuf);
		if (r <= 0) {
			if (r < 0)
				rw->err = errno;
			return -1;
		}
		rw->pos = 0;
		rw->len = (size_t)r;
	}
	return rw->ibuf[rw->pos++];
}

/* find_edit - a change cmd of the path "<...>" at p (n octets), or NULL */
static struct msg_edit *
find_edit(struct msg_edits *ed, char cmd, const char *p, size_t n)
{
	unsigned i;

	for (i = 0; i < ed->n; i++)
		if (ed->e[i].cmd == cmd && ed->e[i].value_len == n &&
		    strncasecmp(ed->text + ed->e[i].value, p, n) == 0)
			return &ed->e[i];
	return NULL;
}

/* last_of - the last change cmd, or NULL */
static struct msg_edit *
last_of(struct msg_edits *ed, char cmd)
{
	unsigned i;

	for (i = ed->n; i > 0; i--)
		if (ed->e[i - 1].cmd == cmd)
			return &ed->e[i - 1];
	return NULL;
}

/* starts - does the envelope line begin with key? */
static int
starts(const struct rewrite *rw, const char *key)
{
	size_t n = strlen(key);

	return rw->llen >= n && memcmp(rw->line, key, n) == 0;
}

/*
 * env_line - one envelope line (with its LF) as the changes say: a new
 * Sender, a deleted Recipient gone with its Notify and ORCPT lines
 */
static void
env_line(struct rewrite *rw, struct msg_edits *ed)
{
	struct msg_edit *e;
	size_t n = rw->llen - 1;

	if (starts(rw, "Recipient: ")) {
		e = find_edit(ed, SMFIR_DELRCPT, rw->line + 11, n - 11);
		if ((rw->dropping = e != NULL))
			e->done = 1;
		else if ((e = find_edit(ed, SMFIR_ADDRCPT, rw->line + 11,
		    n - 11)) != NULL)
			e->done = 1;		/* there already */
	} else if (!starts(rw, "Notify: ") && !starts(rw, "ORCPT: "))
		rw->dropping = 0;
	if (rw->dropping)
		return;
	if (starts(rw, "Recipient: "))
		rw->nrcpt++;
	if (starts(rw, "Sender: ") && (e = last_of(ed, SMFIR_CHGFROM)) !=
	    NULL) {
		e->done = 1;
		put(rw, "Sender: ", 8);
		put(rw, ed->text + e->value, e->value_len);
		put(rw, "\n", 1);
		return;
	}
	put(rw, rw->line, rw->llen);
}

/* add_rcpts - the added recipients not there already, at the end */
static void
add_rcpts(struct rewrite *rw, struct msg_edits *ed)
{
	unsigned i;

	for (i = 0; i < ed->n; i++)
		if (ed->e[i].cmd == SMFIR_ADDRCPT && !ed->e[i].done) {
			ed->e[i].done = 1;
			put(rw, "Recipient: ", 11);
			put(rw, ed->text + ed->e[i].value, ed->e[i].value_len);
			put(rw, "\n", 1);
			rw->nrcpt++;
		}
}

/*
 * copy_envelope - the envelope block with its changes, and its empty
 * line; -1 for a line over EDIT_ENV_LINE or no empty line
 */
static int
copy_envelope(struct rewrite *rw, struct msg_edits *ed)
{
	int c;

	rw->llen = 0;
	while ((c = get(rw)) >= 0) {
		if (rw->llen == sizeof rw->line)
			return -1;
		rw->line[rw->llen++] = (char)c;
		if (c != '\n')
			continue;
		if (rw->llen == 1) {
			add_rcpts(rw, ed);
			put(rw, "\n", 1);
			return 0;
		}
		env_line(rw, ed);
		rw->llen = 0;
	}
	return -1;
}

/* end_cut_field - the field in hbuf, cut by the file's end, gets CRLF */
static int
end_cut_field(struct rewrite *rw)
{
	if (rw->hlen > sizeof rw->hbuf - 2)
		return -1;
	memcpy(rw->hbuf + rw->hlen, "\r\n", 2);
	rw->hlen += 2;
	return 1;
}

/*
 * read_field - the next header field, raw, with its folded lines, into
 * hbuf: 1; 0 at the empty line ending the block (kept in hbuf) or the
 * end of the file; -1 for a field over EDIT_HEADER_MAX.  A field the
 * file's end cuts short (a BINARYMIME message need not end in CRLF)
 * gets its CRLF, so that no field a filter adds after it runs on in its
 * last line (found by tests/fuzz/fuzz_msgedit.c)
 */
static int
read_field(struct rewrite *rw)
{
	int c;

	rw->hlen = 0;
	for (;;) {
		while ((c = get(rw)) >= 0) {
			if (rw->hlen == sizeof rw->hbuf)
				return -1;
			rw->hbuf[rw->hlen++] = (char)c;
			if (c == '\n')
				break;
		}
		if (c < 0)
			return rw->hlen > 0 ? end_cut_field(rw) : 0;
		if (rw->hlen <= 2 && (rw->hlen == 1 || rw->hbuf[0] == '\r'))
			return 0;		/* the empty line */
		if (rw->pos == rw->len && get(rw) >= 0)
			rw->pos--;		/* refill to peek */
		if (rw->pos == rw->len ||
		    (rw->ibuf[rw->pos] != ' ' && rw->ibuf[rw->pos] != '\t'))
			return 1;
	}
}

/* field_name_len - octets of the field's name in hbuf, 0 if none */
static size_t
field_name_len(const struct rewrite *rw)
{
	const char *colon = memchr(rw->hbuf, ':', rw->hlen);
	size_t n;

	if (colon == NULL)
		return 0;
	n = (size_t)(colon - rw->hbuf);
	while (n > 0 && (rw->hbuf[n - 1] == ' ' || rw->hbuf[n - 1] == '\t'))
		n--;
	return n;
}

/* put_edit - a kept field (nothing for a deletion) */
static void
put_edit(struct rewrite *rw, const struct msg_edits *ed,
    struct msg_edit *e)
{
	e->done = 1;
	put(rw, ed->text + e->value, e->value_len);
}

/* insert_at - the INSHEADER fields for place pos (or every one left) */
static void
insert_at(struct rewrite *rw, struct msg_edits *ed, unsigned pos, int all)
{
	unsigned i;

	for (i = 0; i < ed->n; i++)
		if (ed->e[i].cmd == SMFIR_INSHEADER && !ed->e[i].done &&
		    (all || ed->e[i].index <= pos))
			put_edit(rw, ed, &ed->e[i]);
}

/* change_field - the field in hbuf as a CHGHEADER says, or as it is */
static void
change_field(struct rewrite *rw, struct msg_edits *ed)
{
	size_t n = field_name_len(rw);
	struct msg_edit *e;
	unsigned i;

	for (i = 0; i < ed->n; i++) {
		e = &ed->e[i];
		if (e->cmd != SMFIR_CHGHEADER || e->done || n != e->name_len ||
		    strncasecmp(rw->hbuf, ed->text + e->name, n) != 0)
			continue;
		if (++rw->seen[i] == (e->index == 0 ? 1 : e->index)) {
			put_edit(rw, ed, e);
			return;
		}
	}
	put(rw, rw->hbuf, rw->hlen);
}

/* edit_block - the header block with the changes, then what follows */
static int
edit_block(struct rewrite *rw, struct msg_edits *ed)
{
	unsigned pos = 0, i;
	int r;

	for (;;) {
		insert_at(rw, ed, pos, 0);
		if ((r = read_field(rw)) <= 0)
			break;
		change_field(rw, ed);
		pos++;
	}
	if (r < 0)
		return -1;
	insert_at(rw, ed, pos, 1);
	for (i = 0; i < ed->n; i++)		/* a field not there: added */
		if (!ed->e[i].done && (ed->e[i].cmd == SMFIR_ADDHEADER ||
		    ed->e[i].cmd == SMFIR_CHGHEADER))
			put_edit(rw, ed, &ed->e[i]);
	put(rw, rw->hbuf, rw->hlen);		/* the empty line, if any */
	return 0;
}

/* copy_rest - the body, byte-exact: the message's, or its replacement */
static void
copy_rest(struct rewrite *rw, struct msg_edits *ed)
{
	ssize_t r;

	if (ed->body_fd >= 0) {
		if (rw->hlen == 0)		/* no empty line before */
			put(rw, "\r\n", 2);
		rw->in = ed->body_fd;
		rw->pos = rw->len = 0;
		if (lseek(rw->in, 0, SEEK_SET) < 0)
			rw->err = errno;
	}
	put(rw, rw->ibuf + rw->pos, rw->len - rw->pos);
	rw->pos = rw->len;
	while (rw->err == 0) {
		r = fd_read(rw->in, rw->ibuf, sizeof rw->ibuf);
		if (r <= 0) {
			if (r < 0)
				rw->err = errno;
			return;
		}
		put(rw, rw->ibuf, (size_t)r);
	}
}

/*
 * edits_rewrite - carry out the changes: the spool file (written out
 * already) rewritten into tmp/ID.e, which replaces tmp/ID and becomes
 * the spool's open file; *nrcpt the recipients it has now.  0, or -1
 * (errno) with the message as it was.
 */
int
edits_rewrite(struct msg_edits *ed, struct spool *sp, unsigned *nrcpt)
{
	struct rewrite *rw;
	char name[SPOOL_ID_MAX + 3];
	struct sbuf sb;
	int err, in;

	sb_init(&sb, name, sizeof name);
	sb_str(&sb, sp->id);
	sb_str(&sb, ".e");
	if (sb.overflow || (rw = calloc(1, sizeof *rw)) == NULL)
		return -1;
	rw->in = openat(sp->tmpfd, sp->id, O_RDONLY | O_CLOEXEC);
	rw->out = openat(sp->tmpfd, name, O_WRONLY | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	if (rw->in < 0 || rw->out < 0)
		rw->err = errno;
	else if (copy_envelope(rw, ed) < 0 || edit_block(rw, ed) < 0)
		rw->err = rw->err != 0 ? rw->err : EINVAL;
	if (rw->err == 0) {
		in = rw->in;
		copy_rest(rw, ed);
		rw->in = in;
	}
	flush_out(rw);
	if (rw->err == 0 && spool_replace(sp, rw->out, name) < 0)
		rw->err = errno;
	err = rw->err;
	*nrcpt = rw->nrcpt;
	if (rw->in >= 0)
		close(rw->in);
	if (err != 0 && rw->out >= 0) {
		close(rw->out);
		(void)unlinkat(sp->tmpfd, name, 0);
	}
	free(rw);
	edits_clear(ed);
	errno = err;
	return err != 0 ? -1 : 0;
}
