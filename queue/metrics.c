/*
 * metrics.c - the queue's figures in the Prometheus text format (0.0.4),
 * to stdout or into a file for node_exporter's textfile collector:
 * written as FILE.tmp beside it (mode 0644, so that node_exporter may
 * read it), fsync, renamed over FILE, the directory synced; a reader
 * sees the old file or the new one, never a part.  A FILE.tmp younger
 * than a minute is another writer's (the timer's run, a hand's): we
 * stop rather than write over it; an older one was left by a crash.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "metrics.h"
#include "msg.h"
#include "sbuf.h"

#define TEXT_MAX	16384	/* the whole text: about 4 KiB */
#define TMP_SUFFIX	".tmp"
#define TMP_STALE	60	/* seconds: a FILE.tmp older was left behind */

const char *const qstat_name[QS__N] = {
	[QS_NEW] = "new", [QS_DEFERRED] = "deferred",
	[QS_CLAIMED] = "claimed", [QS_HELD] = "held", [QS_FAILED] = "failed",
	[QS_CORRUPT] = "corrupt", [QS_TMP] = "tmp",
};

/* the counters' help texts, in count.h's order */
static const char *const count_help[QC__N] = {
	[QC_DELIVERED] = "Messages delivered to every recipient and removed "
	    "(claim/ to gone).",
	[QC_FAILED] = "Messages that failed for good (claim/ to failed/).",
	[QC_DEFERRED] = "Deliveries put back to wait for a retry (claim/ to "
	    "new/).",
	[QC_CORRUPT] = "Files set aside as no valid queue file (to "
	    "corrupt/).",
	[QC_RECOVERED] = "Claims of dead deliverers given back (claim/ to "
	    "new/).",
	[QC_REQUEUED] = "Failed messages requeued (failed/ to new/).",
	[QC_HELD] = "Messages put on hold (new/ to hold/).",
	[QC_RELEASED] = "Held messages released (hold/ to new/).",
};

/* family - the HELP and TYPE lines of one metric */
static void
family(struct sbuf *sb, const char *name, const char *type, const char *help)
{
	sb_str(sb, "# HELP ");
	sb_str(sb, name);
	sb_str(sb, " ");
	sb_str(sb, help);
	sb_str(sb, "\n# TYPE ");
	sb_str(sb, name);
	sb_str(sb, " ");
	sb_str(sb, type);
	sb_str(sb, "\n");
}

/* sample - "name{state="s"} v" (no label when state is NULL) */
static void
sample(struct sbuf *sb, const char *name, const char *state,
    unsigned long long v)
{
	sb_str(sb, name);
	if (state != NULL) {
		sb_str(sb, "{state=\"");
		sb_str(sb, state);
		sb_str(sb, "\"}");
	}
	sb_str(sb, " ");
	sb_num(sb, v);
	sb_str(sb, "\n");
}

/* per_state - one gauge with a sample for each state */
static void
per_state(struct sbuf *sb, const char *name, const char *help,
    const unsigned long long v[QS__N])
{
	size_t i;

	family(sb, name, "gauge", help);
	for (i = 0; i < QS__N; i++)
		sample(sb, name, qstat_name[i], v[i]);
}

/* gauges - messages, bytes and the oldest age by state; stale tmp/ */
static void
gauges(struct sbuf *sb, const struct qfigures *f)
{
	unsigned long long v[QS__N];
	size_t i;

	for (i = 0; i < QS__N; i++)
		v[i] = f->n[i];
	per_state(sb, "smtpd_queue_messages", "Files in the queue by state: "
	    "new (not tried yet), deferred (waiting for a retry), claimed "
	    "(being delivered), held, failed, corrupt; tmp: being written "
	    "by smtpd.", v);
	per_state(sb, "smtpd_queue_bytes", "Size of those files in bytes, "
	    "envelope included.", f->bytes);
	for (i = 0; i < QS__N; i++)
		v[i] = f->oldest[i] != 0 && f->now > f->oldest[i] ?
		    (unsigned long long)(f->now - f->oldest[i]) : 0;
	per_state(sb, "smtpd_queue_oldest_age_seconds", "Age of the oldest "
	    "file in each state, by its modification time (when smtpd "
	    "wrote it); 0 when there is none.", v);
	family(sb, "smtpd_queue_tmp_stale_files", "gauge", "Files in tmp/ "
	    "older than 36 hours, left by a killed smtpd (clean removes "
	    "them).");
	sample(sb, "smtpd_queue_tmp_stale_files", NULL, f->stale_tmp);
}

/* counters - the queue's counters (count.h), smtpd_queue_NAME_total */
static void
counters(struct sbuf *sb, const struct qfigures *f)
{
	char name[64];
	struct sbuf nb;
	size_t i;

	for (i = 0; i < QC__N; i++) {
		sb_init(&nb, name, sizeof name);
		sb_str(&nb, "smtpd_queue_");
		sb_str(&nb, qcount_name[i]);
		sb_str(&nb, "_total");
		family(sb, name, "counter", count_help[i]);
		sample(sb, name, NULL, f->count[i]);
	}
}

/* split - FILE into its directory (".", or up to its last '/') and name */
static int
split(const char *path, char *dir, size_t cap, const char **base)
{
	const char *slash = strrchr(path, '/');
	struct sbuf sb;

	sb_init(&sb, dir, cap);
	if (slash == NULL)
		sb_str(&sb, ".");
	else
		sb_add(&sb, path, slash == path ? 1 : (size_t)(slash - path));
	*base = slash == NULL ? path : slash + 1;
	if (sb.overflow || **base == '\0') {
		errno = sb.overflow ? ENAMETOOLONG : EISDIR;
		return -1;
	}
	return 0;
}

/* open_tmp - make dir/tmp, taking over one a crash left: fd, or -1 */
static int
open_tmp(int dir, const char *tmp, long long now)
{
	struct stat sb;
	int fd, round;

	for (round = 0; round < 2; round++) {
		fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd;
		if (fstatat(dir, tmp, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now - (long long)sb.st_mtime < TMP_STALE)
			break;
		(void)unlinkat(dir, tmp, 0);
	}
	errno = EEXIST;
	return -1;
}

/* write_file - the text into dir/tmp, synced, renamed to dir/base */
static int
write_file(int dir, const char *tmp, const char *base, const struct sbuf *t,
    long long now)
{
	int fd, r, saved;

	if ((fd = open_tmp(dir, tmp, now)) < 0)
		return -1;
	r = fd_write_all(fd, t->p, t->len);
	if (r == 0 && (r = fchmod(fd, 0644)) == 0)
		r = fsync(fd);
	saved = errno;
	if (close(fd) < 0 && r == 0) {
		saved = errno;
		r = -1;
	}
	if (r == 0 && (r = renameat(dir, tmp, dir, base)) < 0)
		saved = errno;
	if (r < 0) {
		(void)unlinkat(dir, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dir) < 0 && errno != EINVAL ? -1 : 0;
}

/* write_atomic - the text as FILE, by way of FILE.tmp: 0, or -1 */
static int
write_atomic(const char *path, const struct sbuf *t, long long now)
{
	char dirname[PATH_MAX], tmp[NAME_MAX + 1];
	const char *base;
	struct sbuf sb;
	int dir, r, saved;

	if (split(path, dirname, sizeof dirname, &base) < 0)
		return -1;
	sb_init(&sb, tmp, sizeof tmp);
	sb_str(&sb, base);
	sb_str(&sb, TMP_SUFFIX);
	if (sb.overflow) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((dir = open(dirname, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	r = write_file(dir, tmp, base, t, now);
	saved = errno;
	close(dir);
	errno = saved;
	return r;
}

/*
 * qmetrics_write - the figures in the Prometheus text format, into
 * FILE atomically, or to stdout when FILE is NULL: 0, or -1 (errno)
 */
int
qmetrics_write(const struct qfigures *f, const char *file)
{
	static char text[TEXT_MAX];
	struct sbuf sb;

	sb_init(&sb, text, sizeof text);
	gauges(&sb, f);
	counters(&sb, f);
	if (sb.overflow) {
		errno = ENOBUFS;
		return -1;
	}
	if (file != NULL)
		return write_atomic(file, &sb, f->now);
	return fwrite(text, 1, sb.len, stdout) == sb.len ? 0 : -1;
}
