/*
 * count.c - the queue's counters (QUEUE/counters): one "name number"
 * line per counter, read, raised and rewritten under an exclusive flock
 * so that concurrent deliverers never lose a count; readers take a
 * shared lock.  Not synced: a crash of the machine may lose the last
 * counts, which a metrics reader sees as a counter reset.  A counter
 * that cannot be written is logged and delivery goes on.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "count.h"
#include "log.h"
#include "sbuf.h"

#define COUNT_FILE	"counters"
#define COUNT_TEXT_MAX	1024	/* QC__N lines of name and 20 digits */

const char *const qcount_name[QC__N] = {
	[QC_DELIVERED] = "delivered", [QC_FAILED] = "failed",
	[QC_DEFERRED] = "deferred", [QC_CORRUPT] = "corrupt",
	[QC_RECOVERED] = "recovered", [QC_REQUEUED] = "requeued",
	[QC_HELD] = "held", [QC_RELEASED] = "released",
};

/* parse_line - "name digits" into v[]; lines not understood count 0 */
static void
parse_line(const char *p, size_t n, unsigned long long v[QC__N])
{
	unsigned long long x = 0;
	size_t i, k, len;

	for (i = 0; i < QC__N; i++) {
		len = strlen(qcount_name[i]);
		if (n > len + 1 && memcmp(p, qcount_name[i], len) == 0 &&
		    p[len] == ' ')
			break;
	}
	if (i == QC__N)
		return;
	for (k = strlen(qcount_name[i]) + 1; k < n; k++) {
		if (p[k] < '0' || p[k] > '9' || x > (~0ULL - 9) / 10)
			return;
		x = x * 10 + (unsigned)(p[k] - '0');
	}
	v[i] = x;
}

/* parse - the file's text into v[] (all zero first) */
static void
parse(const char *buf, size_t len, unsigned long long v[QC__N])
{
	const char *p = buf, *end = buf + len, *nl;

	memset(v, 0, QC__N * sizeof v[0]);
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return;		/* a cut last line: not counted */
		parse_line(p, (size_t)(nl - p), v);
	}
}

/* load - read the locked file from its start: 0, or -1 (errno) */
static int
load(int fd, unsigned long long v[QC__N])
{
	char buf[COUNT_TEXT_MAX];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof buf, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	parse(buf, (size_t)n, v);
	return 0;
}

/* store - rewrite the locked file with v[]: 0, or -1 (errno) */
static int
store(int fd, const unsigned long long v[QC__N])
{
	char buf[COUNT_TEXT_MAX];
	struct sbuf sb;
	ssize_t n;
	size_t i;

	sb_init(&sb, buf, sizeof buf);
	for (i = 0; i < QC__N; i++) {
		sb_str(&sb, qcount_name[i]);
		sb_str(&sb, " ");
		sb_num(&sb, v[i]);
		sb_str(&sb, "\n");
	}
	do
		n = pwrite(fd, buf, sb.len, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sb.len) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return ftruncate(fd, (off_t)sb.len);
}

/* qcount_add - one more for counter c in the queue at root */
void
qcount_add(int root, enum qcount c)
{
	unsigned long long v[QC__N];
	int fd, r = -1;

	fd = openat(root, COUNT_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0640);
	if (fd >= 0 && flock(fd, LOCK_EX) == 0 && load(fd, v) == 0) {
		v[c]++;
		r = store(fd, v);
	}
	if (r < 0)
		qlog_error(NULL, "count in " COUNT_FILE, errno);
	if (fd >= 0)
		close(fd);	/* the lock goes with it */
}

/*
 * qcount_read - every counter of the queue at root (all zero when no
 * file was made yet): 0, or -1 (errno)
 */
int
qcount_read(int root, unsigned long long v[QC__N])
{
	int fd, r = -1, saved;

	memset(v, 0, QC__N * sizeof v[0]);
	fd = openat(root, COUNT_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (flock(fd, LOCK_SH) == 0)
		r = load(fd, v);
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}
