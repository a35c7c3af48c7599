/*
 * sdglue.c - systemd socket activation and journal, libsystemd optional.
 * Socket activation (the sd_listen_fds(3) protocol, read by hand: a
 * library for two numbers would be mapped into every session, and into
 * an Accept=no supervisor that forks them): LISTEN_PID is our pid and
 * LISTEN_FDS=1 means the connection (or the listening socket) is fd 3.
 * Journal: sd_journal_sendv, once log.c has found stderr to be
 * journald's stream (lib/logline.h).
 * Built with libsystemd, the library is dlopen'ed on first use, so a
 * session started by tcpserver or xinetd never maps it (nor its
 * compression and crypto libraries) and starts as fast as without it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <dlfcn.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif

#include "sdglue.h"

#define LISTEN_FDS_START 3	/* SD_LISTEN_FDS_START */

/* parse_ulong - a whole decimal number, or -1 */
static long
parse_ulong(const char *s)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > 1000000000ul)
		return -1;
	return (long)v;
}

#ifdef HAVE_LIBSYSTEMD
/* load - dlopen libsystemd once; 0 if its functions are there */
static int
load(struct sdglue *g)
{
	if (!g->tried) {
		g->tried = 1;
		g->lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
		if (g->lib != NULL)
			*(void **)&g->sendv = dlsym(g->lib, "sd_journal_sendv");
	}
	return g->lib != NULL ? 0 : -1;
}
#endif

/* env_listen_fds - the LISTEN_FDS protocol by hand; unsets it */
static int
env_listen_fds(void)
{
	long pid = parse_ulong(getenv("LISTEN_PID"));
	long n = parse_ulong(getenv("LISTEN_FDS"));

	if (pid < 0 || n < 0)
		return 0;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return pid == (long)getpid() ? (int)n : 0;
}

/*
 * sdglue_listen_fd - the connection fd passed by socket activation
 * (Accept=yes without StandardInput=socket): 3, or -1 when not socket
 * activated, or -2 when more than one fd was passed.
 */
int
sdglue_listen_fd(struct sdglue *g)
{
	int n;

	(void)g;
	if (getenv("LISTEN_FDS") == NULL)
		return -1;
	n = env_listen_fds();	/* by hand: no libsystemd for two numbers */
	if (n == 0)
		return -1;
	return n == 1 ? LISTEN_FDS_START : -2;
}

/* sdglue_journal_sendv - one structured record; -1 if no libsystemd */
int
sdglue_journal_sendv(struct sdglue *g, const struct iovec *iov, int n)
{
#ifdef HAVE_LIBSYSTEMD
	if (load(g) == 0 && g->sendv != NULL)
		return g->sendv(iov, n) < 0 ? -1 : 0;
#else
	(void)g;
	(void)iov;
	(void)n;
#endif
	return -1;
}

/* sdglue_built_with_libsystemd - for --version */
int
sdglue_built_with_libsystemd(void)
{
#ifdef HAVE_LIBSYSTEMD
	return 1;
#else
	return 0;
#endif
}
