/*
 * faultshim.c - an LD_PRELOAD library that makes chosen system calls
 * fail, to test that smtpd never says 250 for a message it did not make
 * durable.  It counts the calls smtpd makes on the queue, by kind, and
 * fails the Nth call of a kind (or every call from the Nth on):
 *   FAULT_SPEC="kind:N[+][:ERR],..."  e.g. "write:2:ENOSPC", "fsync:1",
 *       "renameat2:1:EINVAL,linkat:1:EIO", "write:1+:EDQUOT".  ERR is an
 *       errno name (default EIO), or "short" (write: half the bytes),
 *       "eintr" (fail with EINTR once: the caller must retry), "slow"
 *       (fsync: succeed after 2 ms, like a disk flushing its cache) or
 *       "kill" (die by SIGKILL instead of making the call: a crash
 *       between two steps, for smtpd-queue's reports).
 *   FAULT_PREFIX=DIR   count only calls on files and directories under
 *       DIR (the queue); other fds (replies, logs) are left alone.
 *   FAULT_COUNTS=FILE  at exit, append "kind count" lines to FILE, and
 *       "fired N": how many calls were made to fail.
 * Kinds: write, fsync (a file), dirfsync (a directory), close (a file),
 * open, openat, mkdir, mkdirat, rename, renameat, renameat2, link, linkat,
 * aiosetup (io_setup: failing it makes smtpd fsync one file at a time).
 * An fsync smtpd submits with Linux AIO (IOCB_CMD_FSYNC) counts as an
 * fsync of its file when its event is reaped (and as "aiofsync", only
 * counted); failing it puts the error in the event, as the kernel would.
 * A failed close() still closes the fd; nothing else is done on a fault.
 * Test helper only: never built with the sanitizers, never installed.
 */
#define _GNU_SOURCE
#include <linux/aio_abi.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind {
	K_WRITE, K_FSYNC, K_DIRFSYNC, K_CLOSE, K_OPEN, K_OPENAT, K_MKDIR,
	K_MKDIRAT, K_RENAME, K_RENAMEAT, K_RENAMEAT2, K_LINK, K_LINKAT,
	K_AIOSETUP, K_AIOFSYNC, K__N
};

static const char *const kind_name[K__N] = {
	"write", "fsync", "dirfsync", "close", "open", "openat", "mkdir",
	"mkdirat", "rename", "renameat", "renameat2", "link", "linkat",
	"aiosetup", "aiofsync",
};

#define SPECS_MAX	8
#define ERR_SHORT	(-1)
#define ERR_EINTR	(-2)
#define ERR_SLOW	(-3)
#define ERR_KILL	(-4)

struct spec {
	enum kind kind;
	unsigned long n;	/* the call to fail, 1-based */
	int	 from_on;	/* and every later one */
	int	 err;		/* errno, ERR_SHORT or ERR_EINTR */
};

static struct spec specs[SPECS_MAX];
static int nspecs, loaded;
static unsigned long counts[K__N], fired;
static char prefix[4096];
static size_t prefix_len;

static const struct { const char *name; int err; } errnames[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EACCES", EACCES }, { "EPERM", EPERM }, { "EROFS", EROFS },
	{ "EINVAL", EINVAL }, { "ENOSYS", ENOSYS }, { "EXDEV", EXDEV },
	{ "EEXIST", EEXIST }, { "ENOENT", ENOENT }, { "EMFILE", EMFILE },
	{ "EFBIG", EFBIG }, { "ENOMEM", ENOMEM }, { "short", ERR_SHORT },
	{ "eintr", ERR_EINTR }, { "slow", ERR_SLOW }, { "kill", ERR_KILL },
};

/* parse_one - "kind:N[+][:ERR]" */
static void
parse_one(char *s)
{
	char *n = strchr(s, ':'), *e, *end;
	struct spec sp;
	size_t i;

	if (n == NULL || nspecs == SPECS_MAX)
		return;
	*n++ = '\0';
	for (i = 0; i < K__N && strcmp(s, kind_name[i]) != 0; i++)
		;
	if (i == K__N)
		return;
	sp.kind = (enum kind)i;
	sp.n = strtoul(n, &end, 10);
	sp.from_on = *end == '+';
	sp.err = EIO;
	if ((e = strchr(n, ':')) != NULL) {
		for (i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
			if (strcmp(e + 1, errnames[i].name) == 0)
				sp.err = errnames[i].err;
	}
	specs[nspecs++] = sp;
}

/* load - read the environment once */
static void
load(void)
{
	const char *v;
	char buf[512], *tok, *save;

	if (loaded)
		return;
	loaded = 1;
	if ((v = getenv("FAULT_PREFIX")) != NULL && strlen(v) < sizeof prefix) {
		strcpy(prefix, v);
		prefix_len = strlen(prefix);
		while (prefix_len > 1 && prefix[prefix_len - 1] == '/')
			prefix[--prefix_len] = '\0';
	}
	if ((v = getenv("FAULT_SPEC")) == NULL || strlen(v) >= sizeof buf)
		return;
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		parse_one(tok);
}

/* under_prefix - is path inside FAULT_PREFIX (or no prefix set)? */
static int
under_prefix(const char *path)
{
	load();
	if (prefix_len == 0)
		return 1;
	return strncmp(path, prefix, prefix_len) == 0 &&
	    (path[prefix_len] == '/' || path[prefix_len] == '\0');
}

/* fd_path - what fd refers to, "" if unknown */
static void
fd_path(int fd, char *out, size_t cap)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, out, cap - 1);
	out[n > 0 ? n : 0] = '\0';
}

/* at_path - dirfd + name as an absolute path */
static void
at_path(int dirfd, const char *name, char *out, size_t cap)
{
	char dir[4096];

	if (name[0] == '/') {
		snprintf(out, cap, "%s", name);
		return;
	}
	if (dirfd == AT_FDCWD) {
		if (getcwd(dir, sizeof dir) == NULL)
			dir[0] = '\0';
	} else
		fd_path(dirfd, dir, sizeof dir);
	snprintf(out, cap, "%s/%s", dir, name);
}

/* fd_watched - an fd on the queue: kind of file (S_IFREG/S_IFDIR), or 0 */
static int
fd_watched(int fd)
{
	char path[4096];
	struct stat st;

	if (fd < 0 || fstat(fd, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
		return 0;
	fd_path(fd, path, sizeof path);
	return under_prefix(path) ? (int)(st.st_mode & S_IFMT) : 0;
}

/* fault - count a call of this kind; the errno to fail it with, or 0 */
static int
fault(enum kind k)
{
	unsigned long n;
	int i;

	load();
	n = ++counts[k];
	for (i = 0; i < nspecs; i++)
		if (specs[i].kind == k && (n == specs[i].n ||
		    (specs[i].from_on && n > specs[i].n))) {
			fired++;
			if (specs[i].err == ERR_KILL)
				kill(getpid(), SIGKILL);
			return specs[i].err;
		}
	return 0;
}

/* fail_with - set errno, return -1 */
static int
fail_with(int err)
{
	errno = err == ERR_EINTR ? EINTR : err < 0 ? EIO : err;
	return -1;
}

#define REAL(name)	static __typeof__(name) *real_##name; \
	if (real_##name == NULL) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t
write(int fd, const void *buf, size_t n)
{
	int err = 0;

	REAL(write);
	if (fd > 2 && fd_watched(fd) == S_IFREG)
		err = fault(K_WRITE);
	if (err == ERR_SHORT && n > 1)
		return real_write(fd, buf, n / 2);
	if (err != 0 && err != ERR_SHORT)
		return fail_with(err);
	return real_write(fd, buf, n);
}

/* sync_fault - fsync and fdatasync: a file or a directory */
static int
sync_fault(int fd)
{
	int t = fd_watched(fd);

	if (t == S_IFREG)
		return fault(K_FSYNC);
	if (t == S_IFDIR)
		return fault(K_DIRFSYNC);
	return 0;
}

int
fsync(int fd)
{
	int err;

	REAL(fsync);
	if ((err = sync_fault(fd)) == ERR_SLOW)
		usleep(2000);
	else if (err != 0)
		return fail_with(err);
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	int err;

	REAL(fdatasync);
	if ((err = sync_fault(fd)) != 0)
		return fail_with(err);
	return real_fdatasync(fd);
}

/*
 * syscall - smtpd reaches Linux AIO through syscall(2): io_setup can be
 * refused (aiosetup), and each reaped IOCB_CMD_FSYNC event counts as an
 * fsync of its file (a fault becomes the event's error).  Six long
 * arguments are passed on whatever the call takes, as syscall(2) does.
 */
long
syscall(long nr, ...)
{
	struct io_event *ev;
	struct iocb *cb;
	va_list ap;
	long a[6], r, i;
	int err;

	REAL(syscall);
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_io_setup && (err = fault(K_AIOSETUP)) != 0)
		return fail_with(err);
	r = real_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
	if (nr != SYS_io_getevents || r <= 0)
		return r;
	ev = (struct io_event *)a[3];
	for (i = 0; i < r; i++) {
		cb = (struct iocb *)(uintptr_t)ev[i].obj;
		if (cb->aio_lio_opcode != IOCB_CMD_FSYNC)
			continue;
		if (fd_watched((int)cb->aio_fildes) == S_IFREG)
			counts[K_AIOFSYNC]++;
		if ((err = sync_fault((int)cb->aio_fildes)) != 0 &&
		    err != ERR_SLOW)
			ev[i].res = -(err < 0 ? EIO : err);
	}
	return r;
}

int
close(int fd)
{
	int err = 0, r;

	REAL(close);
	if (fd > 2 && fd_watched(fd) == S_IFREG)
		err = fault(K_CLOSE);
	r = real_close(fd);
	if (err != 0 && err != ERR_EINTR)
		return fail_with(err);
	return r;
}

/* open_fault - count an open of path; errno to fail with, or 0 */
static int
open_fault(enum kind k, int dirfd, const char *path)
{
	char full[8192];

	at_path(dirfd, path, full, sizeof full);
	return under_prefix(full) ? fault(k) : 0;
}

/* mode_arg - the third argument of open when O_CREAT/O_TMPFILE says so */
#define MODE_ARG(flags, last, mode) do { \
	va_list ap; \
	mode = 0; \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_start(ap, last); \
		mode = va_arg(ap, mode_t); \
		va_end(ap); \
	} \
} while (0)

int
open(const char *path, int flags, ...)
{
	mode_t mode;
	int err;

	REAL(open);
	MODE_ARG(flags, flags, mode);
	if ((err = open_fault(K_OPEN, AT_FDCWD, path)) != 0)
		return fail_with(err);
	return real_open(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode;
	int err;

	REAL(open64);
	MODE_ARG(flags, flags, mode);
	if ((err = open_fault(K_OPEN, AT_FDCWD, path)) != 0)
		return fail_with(err);
	return real_open64(path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;
	int err;

	REAL(openat);
	MODE_ARG(flags, flags, mode);
	if ((err = open_fault(K_OPENAT, dirfd, path)) != 0)
		return fail_with(err);
	return real_openat(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;
	int err;

	REAL(openat64);
	MODE_ARG(flags, flags, mode);
	if ((err = open_fault(K_OPENAT, dirfd, path)) != 0)
		return fail_with(err);
	return real_openat64(dirfd, path, flags, mode);
}

int
mkdir(const char *path, mode_t mode)
{
	int err;

	REAL(mkdir);
	if ((err = open_fault(K_MKDIR, AT_FDCWD, path)) != 0)
		return fail_with(err);
	return real_mkdir(path, mode);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	int err;

	REAL(mkdirat);
	if ((err = open_fault(K_MKDIRAT, dirfd, path)) != 0)
		return fail_with(err);
	return real_mkdirat(dirfd, path, mode);
}

int
rename(const char *from, const char *to)
{
	int err;

	REAL(rename);
	if ((err = open_fault(K_RENAME, AT_FDCWD, to)) != 0)
		return fail_with(err);
	return real_rename(from, to);
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	int err;

	REAL(renameat);
	if ((err = open_fault(K_RENAMEAT, fd2, to)) != 0)
		return fail_with(err);
	return real_renameat(fd1, from, fd2, to);
}

int
renameat2(int fd1, const char *from, int fd2, const char *to,
    unsigned int flags)
{
	int err;

	REAL(renameat2);
	if ((err = open_fault(K_RENAMEAT2, fd2, to)) != 0)
		return fail_with(err);
	return real_renameat2(fd1, from, fd2, to, flags);
}

int
link(const char *from, const char *to)
{
	int err;

	REAL(link);
	if ((err = open_fault(K_LINK, AT_FDCWD, to)) != 0)
		return fail_with(err);
	return real_link(from, to);
}

int
linkat(int fd1, const char *from, int fd2, const char *to, int flags)
{
	int err;

	REAL(linkat);
	if ((err = open_fault(K_LINKAT, fd2, to)) != 0)
		return fail_with(err);
	return real_linkat(fd1, from, fd2, to, flags);
}

/* report - the counts, for the test to know how many call sites there are */
__attribute__((destructor)) static void
report(void)
{
	const char *path = getenv("FAULT_COUNTS");
	char buf[1024];
	size_t len = 0;
	int fd, i;

	if (path == NULL)
		return;
	for (i = 0; i < K__N; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s %lu\n",
		    kind_name[i], counts[i]);
	len += (size_t)snprintf(buf + len, sizeof buf - len, "fired %lu\n",
	    fired);
	REAL(open);
	REAL(write);
	REAL(close);
	fd = real_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	(void)!real_write(fd, buf, len);
	real_close(fd);
}
