/*
 * commit.c - put a new message into the queue the way smtpd does.
 * The id is smtpd's kind (SEC.USEC.PID.RANDOM.HOST, smtpd-spool(5)),
 * the file is created O_EXCL in tmp/, written by the caller, fsync'ed
 * and closed (checked), and tmp/ synced: staged, complete and durable
 * but not yet visible to deliverers.  Publishing renames it into new/
 * without replacing anything (qdir_move) and syncs new/.  A staged
 * file whose id a delivery record names is published on the next try
 * (deliver's notify.c); clean leaves it alone while its message waits.
 */
#define _GNU_SOURCE		/* getrandom */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "msg.h"
#include "sbuf.h"

#define TRIES	5		/* fresh random parts when an id is taken */

/* host_label - ".LABEL": letters and digits of the host's first label */
static void
host_label(struct sbuf *sb, const char *host)
{
	size_t n = 0;

	sb_add(sb, ".", 1);
	for (; *host != '\0' && *host != '.' && n < 32; host++)
		if ((*host >= 'a' && *host <= 'z') ||
		    (*host >= 'A' && *host <= 'Z') ||
		    (*host >= '0' && *host <= '9')) {
			sb_add(sb, host, 1);
			n++;
		}
	if (n == 0)
		sb_add(sb, "x", 1);
}

/* make_id - a fresh id: seconds, microseconds, pid, 64 random bits, host */
static void
make_id(char *out, size_t cap, const char *host, unsigned seq)
{
	unsigned char rnd[8];
	struct timespec ts;
	struct sbuf sb;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		for (i = 0; i < sizeof rnd; i++)	/* O_EXCL still guards */
			rnd[i] = (unsigned char)((ts.tv_nsec >> i) ^ seq);
	sb_init(&sb, out, cap);
	sb_num(&sb, (unsigned long long)ts.tv_sec);
	sb_add(&sb, ".", 1);
	sb_num_padded(&sb, (unsigned long long)(ts.tv_nsec / 1000), 6);
	sb_add(&sb, ".", 1);
	sb_num_padded(&sb, (unsigned long long)getpid(), 7);
	sb_add(&sb, ".", 1);
	sb_hex(&sb, rnd, sizeof rnd);
	host_label(&sb, host);
}

/*
 * qcommit_begin - create tmp/ID under a fresh id (host names its last
 * part) for the caller to write to c->fd: 0, or -1 (errno)
 */
int
qcommit_begin(const struct queue *q, const char *host, struct qcommit *c)
{
	unsigned tries;

	c->fd = -1;
	if (q->fd[Q_TMP] < 0) {
		errno = ENOENT;
		return -1;
	}
	for (tries = 0; tries < TRIES; tries++) {
		make_id(c->id, sizeof c->id, host, tries);
		c->fd = openat(q->fd[Q_TMP], c->id, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (c->fd >= 0 || errno != EEXIST)
			break;
	}
	return c->fd < 0 ? -1 : 0;
}

/* sync_dir - fsync a directory (EINVAL: the file system has none) */
static int
sync_dir(int fd)
{
	return fsync(fd) < 0 && errno != EINVAL ? -1 : 0;
}

/*
 * qcommit_stage - the file is written: fsync, checked close, fsync of
 * tmp/.  0, or -1 (errno) and no file left.
 */
int
qcommit_stage(const struct queue *q, struct qcommit *c)
{
	int r = fsync(c->fd), saved = errno;

	if (close(c->fd) < 0 && r == 0) {
		saved = errno;
		r = -1;
	}
	c->fd = -1;
	if (r == 0 && sync_dir(q->fd[Q_TMP]) < 0) {
		saved = errno;
		r = -1;
	}
	if (r < 0) {
		qcommit_abort(q, c);
		errno = saved;
	}
	return r;
}

/*
 * qcommit_publish - rename tmp/ID into new/ (never over a file) and
 * sync new/: 0, or -1 (errno; tmp/ID may still be there to try again)
 */
int
qcommit_publish(const struct queue *q, const char *id)
{
	return qdir_move(q, id, Q_TMP, Q_NEW, 1);
}

/* qcommit_abort - drop a file being written or staged */
void
qcommit_abort(const struct queue *q, struct qcommit *c)
{
	int saved = errno;

	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	if (c->id[0] != '\0')
		(void)unlinkat(q->fd[Q_TMP], c->id, 0);
	errno = saved;
}

/* qcommit_staged - is tmp/ID there (staged, not yet published)? */
int
qcommit_staged(const struct queue *q, const char *id)
{
	struct stat sb;

	return q->fd[Q_TMP] >= 0 && qdir_name_ok(id) &&
	    fstatat(q->fd[Q_TMP], id, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode);
}

/* waiting - is NAME in new/ or claim/? */
static int
waiting(const struct queue *q, const char *name)
{
	static const enum qwhere places[] = { Q_NEW, Q_CLAIM, Q_NEW };
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof places / sizeof places[0]; i++)	/* moving */
		if (q->fd[places[i]] >= 0 && fstatat(q->fd[places[i]], name,
		    &sb, AT_SYMLINK_NOFOLLOW) == 0)
			return 1;
	return 0;
}

/*
 * qcommit_wanted - is tmp/NAME a staged report (Dsn-Of) whose message
 * still waits in new/ or claim/?  Its next try publishes it, so it is
 * no leftover, however old.
 */
int
qcommit_wanted(const struct queue *q, const char *name)
{
	struct qmsg m;
	int fd, r;

	if (q->fd[Q_TMP] < 0 || (fd = openat(q->fd[Q_TMP], name, O_RDONLY |
	    O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0)
		return 0;
	r = qmsg_load(&m, fd) == SPOOLFMT_OK && m.env.dsn_of[0] != '\0' &&
	    waiting(q, m.env.dsn_of);
	qmsg_free(&m);
	close(fd);
	return r;
}
