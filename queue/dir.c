/*
 * dir.c - the queue's directories and the moves between them.
 * A deliverer claims new/ID by locking the file (flock) and renaming it
 * into claim/ID; the lock lives as long as the deliverer, so a claim
 * whose file is not locked was left by a dead one and goes back to new/
 * (qdir_recover_claims, logged).  The operator's commands (requeue,
 * hold, release) take the same lock before they move a file.  Moves
 * never replace a file (RENAME_NOREPLACE, or link + unlink), and each
 * one that changes how a message stands is counted (count.c).
 */
#define _GNU_SOURCE		/* renameat2 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "count.h"
#include "dir.h"
#include "log.h"
#include "queuedirs.h"

#define OPEN_MSG	(O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

const char *const qdir_sub[Q__DIRS] = {
	[Q_NEW] = QUEUEDIR_NEW, [Q_CLAIM] = QUEUEDIR_CLAIM,
	[Q_FAILED] = QUEUEDIR_FAILED, [Q_CORRUPT] = QUEUEDIR_CORRUPT,
	[Q_STATE] = QUEUEDIR_STATE, [Q_TMP] = QUEUEDIR_TMP,
	[Q_HOLD] = QUEUEDIR_HOLD,
};

/*
 * the places a message can be (state/ and tmp/ hold none); qdir_open
 * makes hold/ as it makes claim/
 */
static const enum qwhere places[] = {
	Q_NEW, Q_CLAIM, Q_FAILED, Q_CORRUPT, Q_HOLD
};

/*
 * qdir_open - open the queue's directories; with create, make the ones
 * smtpd-queue owns (claim, failed, corrupt, state), and tmp/ (smtpd's,
 * where deliver stages the reports it writes).  new/ must exist.
 */
int
qdir_open(struct queue *q, const char *path, int create)
{
	int root, w, saved;

	q->path = path;
	for (w = 0; w < Q__DIRS; w++)
		q->fd[w] = -1;
	q->root = -1;
	if ((root = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	for (w = 0; w < Q__DIRS; w++) {
		if (create && w != Q_NEW &&
		    mkdirat(root, qdir_sub[w], 0750) < 0 && errno != EEXIST)
			break;
		q->fd[w] = openat(root, qdir_sub[w],
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (q->fd[w] < 0 && (errno != ENOENT || w == Q_NEW || create))
			break;
	}
	saved = errno;
	q->root = root;
	if (w < Q__DIRS) {
		qdir_close(q);
		errno = saved;
		return -1;
	}
	return 0;
}

/* qdir_close - close every directory */
void
qdir_close(struct queue *q)
{
	int w;

	for (w = 0; w < Q__DIRS; w++) {
		if (q->fd[w] >= 0)
			close(q->fd[w]);
		q->fd[w] = -1;
	}
	if (q->root >= 0)
		close(q->root);
	q->root = -1;
}

/* qdir_name_ok - a plain file name: no '/', no leading dot, not too long */
int
qdir_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= NAME_MAX && name[0] != '.' &&
	    strchr(name, '/') == NULL;
}

/* names_add - keep a copy of name */
static int
names_add(struct qnames *nm, const char *name)
{
	char **v;
	size_t cap;

	if (nm->n == nm->cap) {
		cap = nm->cap ? nm->cap * 2 : 64;
		if ((v = realloc(nm->v, cap * sizeof *v)) == NULL)
			return -1;
		nm->v = v;
		nm->cap = cap;
	}
	if ((nm->v[nm->n] = strdup(name)) == NULL)
		return -1;
	nm->n++;
	return 0;
}

/*
 * qdir_list - the names in one directory (none if it is missing),
 * without those starting with a dot unless dots is set
 */
int
qdir_list(const struct queue *q, enum qwhere w, int dots, struct qnames *nm)
{
	struct dirent *de;
	DIR *d;
	int fd, saved = 0;

	nm->v = NULL;
	nm->n = nm->cap = 0;
	if (q->fd[w] < 0)
		return 0;
	fd = openat(q->fd[w], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		errno = saved;
		return -1;
	}
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0)
		if ((dots ? strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 : de->d_name[0] != '.') &&
		    names_add(nm, de->d_name) < 0)
			break;
	saved = errno;
	closedir(d);
	errno = saved;
	return saved != 0 ? -1 : 0;
}

/* by_name - qsort order: by name, which is by arrival for smtpd's ids */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* qdir_names_sort - order a list of names by name (so: by arrival) */
void
qdir_names_sort(struct qnames *nm)
{
	if (nm->n > 1)
		qsort(nm->v, nm->n, sizeof *nm->v, by_name);
}

/* qdir_names_free - release a list of names */
void
qdir_names_free(struct qnames *nm)
{
	size_t i;

	for (i = 0; i < nm->n; i++)
		free(nm->v[i]);
	free(nm->v);
	nm->v = NULL;
	nm->n = nm->cap = 0;
}

/* move - rename from/name to to/name, never replacing a file there */
static int
move(int from, int to, const char *name)
{
	int saved;

	if (renameat2(from, name, to, name, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(from, name, to, name, 0) < 0)
		return -1;
	if (unlinkat(from, name, 0) < 0) {
		saved = errno;
		(void)unlinkat(to, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* counter - what a move from one place to another counts, or QC__N */
static enum qcount
counter(enum qwhere from, enum qwhere to)
{
	if (to == Q_CORRUPT)
		return QC_CORRUPT;
	if (from == Q_CLAIM)
		return to == Q_FAILED ? QC_FAILED : to == Q_NEW ?
		    QC_DEFERRED : QC__N;
	if (to == Q_NEW)
		return from == Q_FAILED ? QC_REQUEUED : from == Q_HOLD ?
		    QC_RELEASED : QC__N;
	return from == Q_NEW && to == Q_HOLD ? QC_HELD : QC__N;
}

/* count_move - count a move that was made, if it is one that counts */
static void
count_move(const struct queue *q, enum qwhere from, enum qwhere to)
{
	enum qcount c = counter(from, to);

	if (c != QC__N)
		qcount_add(q->root, c);
}

/* same_file - is fd the file at dir/name? */
static int
same_file(int fd, int dir, const char *name)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 &&
	    fstatat(dir, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * lock - open w/NAME, never through a link, and take its lock without
 * waiting: QLOCK_OK with *fdp, QLOCK_GONE, QLOCK_BUSY, QLOCK_LINK, or
 * -1 (errno)
 */
static int
lock(const struct queue *q, enum qwhere w, const char *name, int *fdp)
{
	int fd, saved;

	if ((fd = openat(q->fd[w], name, OPEN_MSG)) < 0) {
		if (errno == ELOOP)
			return QLOCK_LINK;
		return errno == ENOENT ? QLOCK_GONE : -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return errno == EWOULDBLOCK ? QLOCK_BUSY : -1;
	}
	*fdp = fd;
	return QLOCK_OK;
}

/*
 * qdir_lock - lock w/NAME for an operator's command, as a deliverer
 * locks what it claims: QLOCK_OK with *fdp open and locked until
 * closed, QLOCK_GONE (also when it moved while we locked it),
 * QLOCK_BUSY (a deliverer or another command has it), QLOCK_LINK, or
 * -1 (errno)
 */
int
qdir_lock(const struct queue *q, enum qwhere w, const char *name, int *fdp)
{
	int r;

	if (q->fd[w] < 0)
		return QLOCK_GONE;
	if ((r = lock(q, w, name, fdp)) != QLOCK_OK)
		return r;
	if (!same_file(*fdp, q->fd[w], name)) {
		close(*fdp);
		return QLOCK_GONE;
	}
	return QLOCK_OK;
}

/*
 * qdir_claim - take new/NAME for this process: lock it, then move it
 * into claim/.  QCLAIM_OK with *fdp open and locked until closed,
 * QCLAIM_BUSY, QCLAIM_LINK, or -1 (errno).  Because the lock is taken
 * first, a claim is never without its lock while its owner lives.
 */
int
qdir_claim(const struct queue *q, const char *name, int *fdp)
{
	int fd, r, saved;

	if ((r = lock(q, Q_NEW, name, &fd)) != QLOCK_OK)
		return r == QLOCK_LINK ? QCLAIM_LINK : r < 0 ? -1 :
		    QCLAIM_BUSY;
	if (move(q->fd[Q_NEW], q->fd[Q_CLAIM], name) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return errno == ENOENT ? QCLAIM_BUSY : -1;
	}
	if (!same_file(fd, q->fd[Q_CLAIM], name)) {
		(void)move(q->fd[Q_CLAIM], q->fd[Q_NEW], name);
		close(fd);
		return QCLAIM_BUSY;	/* cannot happen with unique ids */
	}
	*fdp = fd;
	return QCLAIM_OK;
}

/*
 * recover - give claim/NAME back to new/ if no live deliverer holds
 * its lock: 1 given back, 0 held (or gone), -1 error (errno).
 */
static int
recover(const struct queue *q, const char *name)
{
	int fd, r, saved;

	if ((fd = openat(q->fd[Q_CLAIM], name, OPEN_MSG)) < 0) {
		if (errno == ELOOP)
			return move(q->fd[Q_CLAIM], q->fd[Q_NEW], name) < 0 ?
			    -1 : 1;
		return errno == ENOENT ? 0 : -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return errno == EWOULDBLOCK ? 0 : -1;
	}
	r = move(q->fd[Q_CLAIM], q->fd[Q_NEW], name);
	saved = errno;
	close(fd);
	errno = saved;
	if (r < 0)
		return errno == ENOENT ? 0 : -1;
	return 1;
}

/*
 * qdir_recover_claims - give back to new/ the claims that no live
 * deliverer holds (their owner died), logging each: how many, or -1
 */
int
qdir_recover_claims(const struct queue *q)
{
	struct qnames nm;
	struct qlog ql;
	size_t i;
	int r, n = 0;

	if (q->fd[Q_CLAIM] < 0)
		return 0;
	if (qdir_list(q, Q_CLAIM, 0, &nm) < 0) {
		qlog_error(NULL, "read claim/", errno);
		return -1;
	}
	for (i = 0; i < nm.n; i++) {
		if ((r = recover(q, nm.v[i])) < 0)
			qlog_error(nm.v[i], "recover claim", errno);
		if (r <= 0)
			continue;
		n++;
		qcount_add(q->root, QC_RECOVERED);
		qlog_begin(&ql, "recovered");
		qlog_str(&ql, "id", nm.v[i]);
		qlog_end(&ql);
	}
	qdir_names_free(&nm);
	return n;
}

/* qdir_move - move NAME from one directory to another (durably) */
int
qdir_move(const struct queue *q, const char *name, enum qwhere from,
    enum qwhere to, int durable)
{
	if (move(q->fd[from], q->fd[to], name) < 0)
		return -1;
	count_move(q, from, to);
	if (durable && fsync(q->fd[to]) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

/*
 * qdir_remove - unlink dir/NAME and make that durable, so a delivered
 * message cannot come back after a crash (one from claim/ counts as
 * delivered)
 */
int
qdir_remove(const struct queue *q, enum qwhere w, const char *name)
{
	if (unlinkat(q->fd[w], name, 0) < 0)
		return -1;
	if (w == Q_CLAIM)
		qcount_add(q->root, QC_DELIVERED);
	if (fsync(q->fd[w]) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

/*
 * qdir_find - open NAME wherever it is (new, claim, failed, corrupt,
 * hold): an fd and *where, or -1 (ENOENT when it is nowhere).  Looks
 * twice, as a deliverer may move it between two places while we look.
 */
int
qdir_find(const struct queue *q, const char *name, enum qwhere *where)
{
	size_t i, round;
	int fd;

	for (round = 0; round < 2; round++)
		for (i = 0; i < sizeof places / sizeof places[0]; i++) {
			if (q->fd[places[i]] < 0)
				continue;
			fd = openat(q->fd[places[i]], name, OPEN_MSG);
			if (fd >= 0 || errno != ENOENT) {
				*where = places[i];
				return fd;
			}
		}
	errno = ENOENT;
	return -1;
}

/* qdir_exists - is there a message NAME in any place (looks twice)? */
int
qdir_exists(const struct queue *q, const char *name)
{
	struct stat sb;
	size_t i, round;

	for (round = 0; round < 2; round++)
		for (i = 0; i < sizeof places / sizeof places[0]; i++)
			if (q->fd[places[i]] >= 0 &&
			    fstatat(q->fd[places[i]], name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0)
				return 1;
	return 0;
}
