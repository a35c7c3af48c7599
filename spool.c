/*
 * spool.c - atomic, durable queue writes (the contract with delivery).
 * Layout: QUEUE/tmp/ holds files being written, QUEUE/new/ complete ones.
 * A file is created O_EXCL in tmp/, written through one buffer, fsync'ed
 * and closed (checked), then renamed into new/ with RENAME_NOREPLACE (or
 * link+unlink), and new/ is fsync'ed.  Any failure unlinks the tmp file.
 * For group commit the steps are split: spool_hold() at the final dot,
 * spool_fsync_all() for a batch's files (together through Linux AIO when
 * fsyncs wait on the disk), spool_settle() per file (close, rename) and
 * one spool_sync_new() per batch.
 * Queue ids are "SEC.USEC.PID.RANDOM.HOST": letters, digits and dots,
 * USEC and PID zero-padded (6 and 7 digits) so ids sort by time.
 * The file format (envelope block, empty line, message) is in envelope.c.
 */
#define _GNU_SOURCE		/* renameat2, syscall */
#include <linux/aio_abi.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "queuedirs.h"
#include "sbuf.h"
#include "spool.h"

#define SPOOL_MIN_FREE	(1ull << 20)	/* keep this much free at least */

/* host_label - ".LABEL": letters and digits of the host's first label */
static size_t
host_label(char *out, size_t cap, const char *host)
{
	size_t n = 1;

	out[0] = '.';
	for (; *host != '\0' && *host != '.' && n + 1 < cap; host++)
		if ((*host >= 'a' && *host <= 'z') ||
		    (*host >= 'A' && *host <= 'Z') ||
		    (*host >= '0' && *host <= '9'))
			out[n++] = *host;
	if (n == 1)
		out[n++] = 'x';
	out[n] = '\0';
	return n;
}

/*
 * open_dir - open name (under at) as a directory fd, creating it (0750)
 * only when it is missing: an existing queue costs no mkdir per session.
 */
static int
open_dir(int at, const char *name, int *step)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0 || errno != ENOENT)
		goto out;
	if (mkdirat(at, name, 0750) < 0 && errno != EEXIST) {
		*step = SPOOL_STEP_MKDIR;
		return -1;
	}
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
out:
	if (fd < 0)
		*step = SPOOL_STEP_OPEN;
	return fd;
}

/* open_subdir - QUEUE/name as a directory fd we may write in */
static int
open_subdir(int qfd, const char *name, int *step)
{
	int fd = open_dir(qfd, name, step);

	if (fd >= 0 && faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0) {
		*step = SPOOL_STEP_ACCESS;
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * spool_open - make sure QUEUE, QUEUE/tmp and QUEUE/new are usable, and
 * set up the parts of queue ids that stay (pid: ours)
 */
int
spool_open(struct spool *sp, const char *queue, const char *host, pid_t pid,
    int *step)
{
	struct sbuf sb;
	int qfd, saved;

	sp->tmpfd = sp->newfd = sp->fd = -1;
	sp->aio = 0;
	sp->aio_off = 0;
	sp->err = 0;
	sp->seq = 0;
	sp->wlen = 0;
	sp->id[0] = '\0';
	sp->host_len = host_label(sp->host, sizeof sp->host, host);
	sb_init(&sb, sp->pid, sizeof sp->pid);
	sb_add(&sb, ".", 1);
	sb_num_padded(&sb, (unsigned long long)pid, 7);
	sb_add(&sb, ".", 1);
	sp->pid_len = sb.len;
	if ((qfd = open_dir(AT_FDCWD, queue, step)) < 0)
		return -1;
	sp->tmpfd = open_subdir(qfd, QUEUEDIR_TMP, step);
	if (sp->tmpfd >= 0)
		sp->newfd = open_subdir(qfd, QUEUEDIR_NEW, step);
	if (sp->newfd < 0) {
		saved = errno;
		close(qfd);
		spool_close(sp);
		errno = saved;
		return -1;
	}
	close(qfd);
	return 0;
}

/* spool_space_ok - 1 if the queue's file system has room for n bytes */
int
spool_space_ok(const struct spool *sp, unsigned long long n)
{
	struct statvfs vfs;
	unsigned long long avail;

	if (fstatvfs(sp->tmpfd, &vfs) < 0)
		return 1;	/* cannot tell: the write will */
	avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
	return n <= avail && avail - n >= SPOOL_MIN_FREE;
}

/*
 * make_id - a fresh queue id, unique across processes and hosts, for a
 * message that arrived at second sec (decimal, n octets) and usec
 */
static void
make_id(struct spool *sp, const char *sec, size_t n, long usec)
{
	unsigned char rnd[8];
	struct sbuf sb;
	size_t i;

	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd)
		for (i = 0; i < sizeof rnd; i++)	/* O_EXCL still guards */
			rnd[i] = (unsigned char)((usec >> i) ^ sp->seq);
	sb_init(&sb, sp->id, sizeof sp->id);
	sb_add(&sb, sec, n);
	sb_add(&sb, ".", 1);
	sb_num_padded(&sb, (unsigned long long)usec, 6);
	sb_add(&sb, sp->pid, sp->pid_len);
	sb_hex(&sb, rnd, sizeof rnd);
	sb_add(&sb, sp->host, sp->host_len);
	sp->seq++;
}

/*
 * spool_begin - create a new file in tmp/ under a fresh id, for a
 * message that arrived at second sec (decimal, n octets) and usec.
 * Should the id be taken, another draw of the random part is tried.
 */
int
spool_begin(struct spool *sp, const char *sec, size_t n, long usec)
{
	int tries;

	sp->err = 0;
	sp->wlen = 0;
	for (tries = 0; tries < 5; tries++) {
		make_id(sp, sec, n, usec);
		sp->fd = openat(sp->tmpfd, sp->id, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (sp->fd >= 0 || errno != EEXIST)
			break;
	}
	if (sp->fd < 0) {
		sp->err = errno;
		return -1;
	}
	return 0;
}

/* write_all - write n octets to the file, remembering the first error */
static void
write_all(struct spool *sp, const char *p, size_t n)
{
	size_t done = 0;
	ssize_t w;

	while (sp->err == 0 && done < n) {
		w = write(sp->fd, p + done, n - done);
		if (w > 0)
			done += (size_t)w;
		else if (w == 0)
			sp->err = EIO;
		else if (errno != EINTR)
			sp->err = errno;
	}
}

/* flush_wbuf - write out the buffer */
static void
flush_wbuf(struct spool *sp)
{
	write_all(sp, sp->wbuf, sp->wlen);
	sp->wlen = 0;
}

/* spool_flush - write out what is buffered: 0, or -1 (errno) */
int
spool_flush(struct spool *sp)
{
	flush_wbuf(sp);
	errno = sp->err;
	return sp->err != 0 ? -1 : 0;
}

/*
 * spool_replace - the message was rewritten into tmp/name, open as fd
 * (msgedit.c): it takes the place of tmp/ID and of the open file, the
 * old one unlinked by the rename; 0, or -1 (errno) with nothing changed
 */
int
spool_replace(struct spool *sp, int fd, const char *name)
{
	if (sp->fd < 0 || sp->wlen != 0) {
		errno = EINVAL;
		return -1;
	}
	if (renameat(sp->tmpfd, name, sp->tmpfd, sp->id) < 0)
		return -1;
	close(sp->fd);
	sp->fd = fd;
	return 0;
}

/*
 * spool_write_more - spool_write() for what does not simply fit in the
 * buffer (or after an error); errors are kept for spool_hold()
 */
void
spool_write_more(struct spool *sp, const void *p, size_t n)
{
	const char *s = p;
	size_t room;

	if (sp->fd < 0 || sp->err != 0)
		return;
	if (n >= sizeof sp->wbuf / 2) {		/* big: no copy */
		flush_wbuf(sp);
		write_all(sp, s, n);
		return;
	}
	while (n > 0) {
		room = sizeof sp->wbuf - sp->wlen;
		if (room == 0) {
			flush_wbuf(sp);
			if (sp->err != 0)
				return;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(sp->wbuf + sp->wlen, s, room);
		sp->wlen += room;
		s += room;
		n -= room;
	}
}

/*
 * spool_room - an sbuf over the free part of the write buffer (at least
 * SPOOL_ROOM octets: the buffer is written out first if need be), so
 * that text can be put together where it will be written from;
 * spool_took() then keeps it.
 */
void
spool_room(struct spool *sp, struct sbuf *sb)
{
	if (sizeof sp->wbuf - sp->wlen < SPOOL_ROOM && sp->fd >= 0)
		flush_wbuf(sp);
	sb_init(sb, sp->wbuf + sp->wlen, sizeof sp->wbuf - sp->wlen);
}

/* spool_took - keep what was put together in spool_room()'s sbuf */
void
spool_took(struct spool *sp, const struct sbuf *sb)
{
	if (sp->fd >= 0 && sp->err == 0)
		sp->wlen += sb->len;
}

/*
 * move_noreplace - rename tmp/id to id in the directory dirfd (new/ or
 * hold/), never replacing a file there: renameat2 with RENAME_NOREPLACE,
 * or where the kernel or the file system has none (ENOSYS, EINVAL: NFS,
 * some FUSE and older kernels) link and unlink, as qmail does, which
 * refuses an existing name the same way (EEXIST)
 */
static int
move_noreplace(struct spool *sp, int dirfd, const char *id)
{
	if (renameat2(sp->tmpfd, id, dirfd, id, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(sp->tmpfd, id, dirfd, id, 0) < 0)
		return -1;
	(void)unlinkat(sp->tmpfd, id, 0);
	return 0;
}

/*
 * spool_hold - the message is complete: flush it, and when more input
 * is already waiting (more: a pipelined batch goes on) start writing it
 * out (sync_file_range), so that it reaches the disk while the next
 * message arrives; then hand its open file to the caller for
 * spool_settle().  On failure errno says why and the tmp file is gone.
 */
int
spool_hold(struct spool *sp, int more, int *fdp)
{
	int err;

	flush_wbuf(sp);
	if (sp->err != 0) {
		err = sp->err;
		spool_abort(sp);
		errno = err;
		return -1;
	}
#ifdef SYNC_FILE_RANGE_WRITE
	if (more)
		(void)sync_file_range(sp->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
#endif
	*fdp = sp->fd;
	sp->fd = -1;
	return 0;
}

/*
 * fsync_together - fsync files at once with Linux AIO (IOCB_CMD_FSYNC),
 * so that the kernel overlaps them and merges their cache flushes:
 * errs[i] gets each one's errno or 0.  Returns how many were handled
 * (a prefix of fds); 0 when AIO is missing or refused here, and then it
 * is not tried again in this session.
 */
static unsigned
fsync_together(struct spool *sp, const int *fds, int *errs, unsigned n)
{
	struct iocb cb[SPOOL_AIO_MAX], *cbp[SPOOL_AIO_MAX];
	struct io_event ev[SPOOL_AIO_MAX];
	long sent, got, k, j;
	unsigned i;

	if (n > SPOOL_AIO_MAX)
		n = SPOOL_AIO_MAX;
	if (sp->aio_off || (sp->aio == 0 &&
	    syscall(SYS_io_setup, SPOOL_AIO_MAX, &sp->aio) < 0)) {
		sp->aio_off = 1;
		sp->aio = 0;
		return 0;
	}
	memset(cb, 0, n * sizeof cb[0]);
	for (i = 0; i < n; i++) {
		cb[i].aio_fildes = (unsigned)fds[i];
		cb[i].aio_lio_opcode = IOCB_CMD_FSYNC;
		cb[i].aio_data = i;
		cbp[i] = &cb[i];
	}
	if ((sent = syscall(SYS_io_submit, sp->aio, (long)n, cbp)) <= 0) {
		sp->aio_off = 1;	/* e.g. EINVAL: no AIO fsync here */
		return 0;
	}
	for (got = 0; got < sent; got += k) {
		k = syscall(SYS_io_getevents, sp->aio, 1L, sent - got, ev, NULL);
		if (k < 0 && errno == EINTR) {
			k = 0;
			continue;
		}
		if (k <= 0) {		/* cannot tell: count them failed */
			for (i = 0; i < (unsigned)sent; i++)
				errs[i] = EIO;
			sp->aio_off = 1;
			return (unsigned)sent;
		}
		for (j = 0; j < k; j++)
			errs[ev[j].data] = ev[j].res < 0 ? (int)-ev[j].res : 0;
	}
	return (unsigned)sent;
}

/* fsync_err - fsync fd: its errno, or 0 */
static int
fsync_err(int fd)
{
	return fsync(fd) < 0 ? errno : 0;
}

/* fsync_timed - fsync_err(), and how long it took (us) */
static int
fsync_timed(int fd, long *us)
{
	struct timespec a, b;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &a);
	err = fsync_err(fd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	*us = (long)(b.tv_sec - a.tv_sec) * 1000000 +
	    (b.tv_nsec - a.tv_nsec) / 1000;
	return err;
}

/*
 * spool_fsync_all - fsync n held files, errs[i] each one's errno or 0.
 * The first two one after another: the first carries the journal
 * commit, the second shows what each of the rest costs.  If that is a
 * real wait (a disk cache flush: SPOOL_AIO_WORTH us or more) the rest go
 * out together (fsync_together), where AIO's own cost (a kernel worker
 * per file) is small beside the flushes it merges; on tmpfs or a disk
 * without a volatile cache one after another is cheaper.
 */
void
spool_fsync_all(struct spool *sp, const int *fds, int *errs, unsigned n)
{
	unsigned i = 0, k;
	long us = 0;

	if (n > 0)
		errs[i++] = fsync_err(fds[0]);
	if (n > 1)
		errs[i++] = fsync_timed(fds[1], &us);
	if (us >= SPOOL_AIO_WORTH)
		while (n - i > 1 && (k = fsync_together(sp, fds + i,
		    errs + i, n - i)) > 0)
			i += k;
	for (; i < n; i++)
		errs[i] = fsync_err(fds[i]);
}

/*
 * spool_settle - publish a held file whose fsync said err (0: durable):
 * checked close, rename tmp/id into new/.  Its new name is durable only
 * after spool_sync_new().  On failure errno says why and tmp/id is gone.
 */
int
spool_settle(struct spool *sp, int fd, const char *id, int err)
{
	if (close(fd) < 0 && err == 0)
		err = errno;
	if (err == 0 && move_noreplace(sp, sp->newfd, id) < 0)
		err = errno;
	if (err != 0) {
		(void)unlinkat(sp->tmpfd, id, 0);
		errno = err;
		return -1;
	}
	return 0;
}

/* hold_dir - QUEUE/hold, made if missing (beside tmp/), or -1 */
static int
hold_dir(const struct spool *sp)
{
	static const char path[] = "../" QUEUEDIR_HOLD;
	int fd = openat(sp->tmpfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && mkdirat(sp->tmpfd, path, 0750) == 0)
		fd = openat(sp->tmpfd, path, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	return fd;
}

/*
 * spool_quarantine - commit the message being written into hold/
 * instead of new/, on its own: flush, fsync, checked close, rename
 * without replacing (or link and unlink: move_noreplace), fsync of
 * hold/.  0 once it is durable there, or -1
 * (errno) with nothing left in tmp/ or hold/.
 */
int
spool_quarantine(struct spool *sp)
{
	int hfd, err = 0;

	flush_wbuf(sp);
	err = sp->err;
	if (err == 0 && fsync(sp->fd) < 0)
		err = errno;
	if (close(sp->fd) < 0 && err == 0)
		err = errno;
	sp->fd = -1;
	if ((hfd = hold_dir(sp)) < 0 && err == 0)
		err = errno;
	if (err == 0 && move_noreplace(sp, hfd, sp->id) < 0)
		err = errno;
	else if (err == 0 && fsync(hfd) < 0 && errno != EINVAL) {
		err = errno;
		(void)unlinkat(hfd, sp->id, 0);
	}
	if (hfd >= 0)
		close(hfd);
	if (err != 0)
		(void)unlinkat(sp->tmpfd, sp->id, 0);
	errno = err;
	return err != 0 ? -1 : 0;
}

/*
 * spool_sync_new - fsync new/, making every name published so far
 * durable (one call can cover a batch: group commit).  EINVAL means the
 * file system has no directory fsync, which is not a failure.
 */
int
spool_sync_new(struct spool *sp)
{
	if (fsync(sp->newfd) < 0 && errno != EINVAL)
		return -1;
	return 0;
}

/*
 * spool_unpublish - take a message whose name may not survive a crash
 * back out of new/, so that no 250 is given for it.  (A deliverer that
 * claimed it in this instant may deliver it and the client send it
 * again: twice, never zero times.)
 */
void
spool_unpublish(struct spool *sp, const char *id)
{
	(void)unlinkat(sp->newfd, id, 0);
}

/* spool_abort - drop the message being written */
void
spool_abort(struct spool *sp)
{
	if (sp->fd < 0)
		return;
	close(sp->fd);
	sp->fd = -1;
	(void)unlinkat(sp->tmpfd, sp->id, 0);
	sp->wlen = 0;
}

/* spool_close - abort any message and close the queue directories */
void
spool_close(struct spool *sp)
{
	spool_abort(sp);
	if (sp->tmpfd >= 0)
		close(sp->tmpfd);
	if (sp->newfd >= 0)
		close(sp->newfd);
	if (sp->aio != 0)
		(void)syscall(SYS_io_destroy, sp->aio);
	sp->tmpfd = sp->newfd = -1;
	sp->aio = 0;
}
