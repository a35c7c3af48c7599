/*
 * commit.c - group commit: a message is only ever answered 250 once it
 * is durable in new/.  Complete messages are held with their 250 in the
 * reply buffer; commit_settle(), which the session calls before any
 * reply leaves, fsyncs every held file (their writeback began at their
 * end, so this costs about one journal commit for all), renames each
 * into new/ and covers every name with one fsync of new/.  A message
 * that fails any step has its 250 rewritten into a 451 or 452 and is
 * not in new/.  Never reads client input and never flushes replies.
 */
#include <errno.h>
#include <string.h>

#include "commit.h"
#include "reply.h"

/*
 * commit_hold - keep a complete message (its id and open file) until
 * the next commit_settle(); the caller fills in its 250's place in the
 * reply buffer and what the log line says.  The caller makes sure
 * there is room (commit_full).
 */
struct held *
commit_hold(struct commit *c, const char *id, int fd)
{
	struct held *h = &c->e[c->n++];

	memcpy(h->id, id, sizeof h->id);
	h->fd = fd;
	h->err = 0;
	return h;
}

/* commit_spool_reply - a queue failure's reply: 452 out of space, else 451 */
enum reply_id
commit_spool_reply(int err)
{
	return err == ENOSPC || err == EDQUOT ? R_SPOOL_FULL : R_SPOOL_FAIL;
}

/* commit_log_error - why a message could not be queued */
void
commit_log_error(struct logger *lg, const char *step, int err)
{
	struct logline ll;

	log_begin(lg, &ll, "spool-error");
	log_str(&ll, "step", step);
	log_str(&ll, "error", strerror(err));
	log_end(lg, &ll);
}

/* log_queued - one line per message accepted, once it is durable */
static void
log_queued(struct logger *lg, const struct held *h)
{
	struct logline ll;

	log_begin(lg, &ll, "queued");
	log_str(&ll, "queue_id", h->id);
	log_bytes(&ll, "sender", h->sender, h->sender_len);
	log_num(&ll, "rcpts", h->nrcpt);
	log_num(&ll, "size", h->size);
	log_end(lg, &ll);
}

/*
 * unhold - a held message could not be made durable: its 250 becomes
 * a 451 or 452, and the log says which message and why.  -1 if the
 * reply could not be rewritten.
 */
static int
unhold(struct io *io, struct logger *lg, const struct held *h)
{
	enum reply_id id = commit_spool_reply(h->err);
	const struct reply *r = reply_get(id);
	char line[REPLY_BUF];
	size_t n = reply_format(line, id, NULL);
	struct logline ll;

	commit_log_error(lg, "commit", h->err);
	log_begin(lg, &ll, "reject");
	log_num(&ll, "code", r->code);
	log_str(&ll, "status", r->esc);
	log_str(&ll, "queue_id", h->id);
	log_str(&ll, "reason", r->text);
	log_end(lg, &ll);
	return io_replace(io, h->off, h->len, line, n);
}

/* publish - fsync every held file and rename it into new/ */
static void
publish(struct commit *c, struct spool *sp)
{
	int fds[COMMIT_MAX], errs[COMMIT_MAX];
	struct held *h;
	unsigned i;
	int err;

	for (i = 0; i < c->n; i++)
		fds[i] = c->e[i].fd;
	spool_fsync_all(sp, fds, errs, c->n);
	for (i = 0; i < c->n; i++) {
		h = &c->e[i];
		if (spool_settle(sp, h->fd, h->id, errs[i]) < 0)
			h->err = errno;
	}
	for (i = 0; i < c->n && c->e[i].err != 0; i++)
		;
	if (i == c->n || spool_sync_new(sp) == 0)
		return;
	err = errno;			/* new/ not durable: none of them is */
	for (i = 0; i < c->n; i++)
		if ((h = &c->e[i])->err == 0) {
			spool_unpublish(sp, h->id);
			h->err = err;
		}
}

/*
 * commit_settle - make every held message durable or refuse it, log
 * each, and count them in *res.  Returns -1 only if a reply could not
 * be rewritten: then the replies must not go out at all.
 */
int
commit_settle(struct commit *c, struct spool *sp, struct io *io,
    struct logger *lg, struct commit_result *res)
{
	unsigned i;
	int r = 0;

	res->queued = res->refused = 0;
	if (c->n == 0)
		return 0;
	publish(c, sp);
	for (i = 0; i < c->n; i++)
		if (c->e[i].err == 0) {
			log_queued(lg, &c->e[i]);
			res->queued++;
		}
	for (i = c->n; i-- > 0;)	/* last first: offsets stay true */
		if (c->e[i].err != 0) {
			res->refused++;
			if (unhold(io, lg, &c->e[i]) < 0)
				r = -1;
		}
	c->n = 0;
	return r;
}
