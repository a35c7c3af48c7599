/*
 * msg.c - one queued message: its envelope, read from an open file,
 * and its body copied out with CRLF or LF line endings.
 * Only the envelope is held in memory (at most SPOOLFMT_HEAD_MAX);
 * the body is streamed.  A file that is not a queue file is reported.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "msg.h"
#include "sbuf.h"

#define CHUNK	65536

/* grow - room for another read; -1 (EFBIG) past the envelope limit */
static int
grow(struct qmsg *m)
{
	size_t cap = m->cap ? m->cap * 2 : CHUNK;
	char *p;

	if (m->cap >= SPOOLFMT_HEAD_MAX + CHUNK) {
		errno = EFBIG;
		return -1;
	}
	if ((p = realloc(m->buf, cap)) == NULL)
		return -1;
	m->buf = p;
	m->cap = cap;
	return 0;
}

/* read_head - read until the envelope's empty line, EOF or the limit */
static int
read_head(struct qmsg *m, int fd)
{
	size_t from = 0, head;
	ssize_t r;

	for (;;) {
		if (m->len == m->cap && grow(m) < 0)
			return -1;
		r = pread(fd, m->buf + m->len, m->cap - m->len, (off_t)m->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return (int)r;
		m->len += (size_t)r;
		if (spoolfmt_head(m->buf, m->len, from, &head) !=
		    SPOOLFMT_TRUNCATED)
			return 0;
		from = m->len;
	}
}

/*
 * qmsg_load - read and parse the envelope of the open queue file fd:
 * SPOOLFMT_OK, another spoolfmt status (a bad file: qmsg_why says
 * why), or -1 when it could not be read (errno).  Call qmsg_free.
 */
int
qmsg_load(struct qmsg *m, int fd)
{
	memset(m, 0, sizeof *m);
	if (fstat(fd, &m->st) < 0)
		return -1;
	if (!S_ISREG(m->st.st_mode)) {
		m->err.what = "not a regular file";
		return SPOOLFMT_NOTSPOOL;
	}
	if (read_head(m, fd) < 0) {
		if (errno != EFBIG)
			return -1;
		m->err.what = "envelope too long";
		return SPOOLFMT_SYNTAX;
	}
	if (m->len == 0) {
		m->err.what = "empty file";
		return SPOOLFMT_TRUNCATED;
	}
	return spoolfmt_parse(m->buf, m->len, &m->env, &m->err);
}

/* qmsg_why - what is wrong with the file, for logs and failed/ */
void
qmsg_why(const struct qmsg *m, int status, char *out, size_t cap)
{
	struct sbuf sb;

	sb_init(&sb, out, cap);
	if (m->err.line > 0) {
		sb_str(&sb, "line ");
		sb_num(&sb, m->err.line);
		sb_str(&sb, ": ");
	}
	sb_str(&sb, m->err.what != NULL ? m->err.what : "unreadable");
	if (status == SPOOLFMT_VERSION) {
		sb_str(&sb, " ");
		sb_num(&sb, m->env.version);
	} else if (m->err.key != NULL) {
		sb_str(&sb, " for ");
		sb_str(&sb, m->err.key);
	}
}

/* qmsg_free - release the envelope */
void
qmsg_free(struct qmsg *m)
{
	spoolfmt_free(&m->env);
	free(m->buf);
	m->buf = NULL;
	m->len = m->cap = 0;
}

/*
 * qmsg_lf - copy n bytes from in to out turning CRLF into LF; *cr
 * carries a CR that ended the previous piece (flush it at the end).
 * out needs room for n + 1 bytes.
 */
size_t
qmsg_lf(const char *in, size_t n, char *out, int *cr)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (*cr) {
			*cr = 0;
			if (in[i] != '\n')
				out[o++] = '\r';
		}
		if (in[i] == '\r')
			*cr = 1;
		else
			out[o++] = in[i];
	}
	return o;
}

/* qmsg_copy - copy fd from offset off to out, CRLF made LF when lf */
int
qmsg_copy(int fd, off_t off, int out, int lf)
{
	char in[CHUNK], conv[CHUNK + 1];
	ssize_t r;
	size_t n;
	int cr = 0;

	for (;;) {
		r = pread(fd, in, sizeof in, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += r;
		n = lf ? qmsg_lf(in, (size_t)r, conv, &cr) : (size_t)r;
		if (fd_write_all(out, lf ? conv : in, n) < 0)
			return -1;
	}
	return cr ? fd_write_all(out, "\r", 1) : 0;
}
