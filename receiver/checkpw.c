/*
 * checkpw.c - the checkpassword interface (qmail's; vpopmail's vchkpw,
 * checkpassword-pam): the program reads "user\0password\0\0" from fd 3
 * and exits 0 (right), 1 (wrong) or 111 (cannot tell now).  It is run
 * as a policy program is (hook.c: no shell, clean environment, own
 * process group, killed at the deadline); the password is in a pipe,
 * never in argv or the environment, and wiped here once written.
 */
#include <sys/wait.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "authback.h"
#include "hook.h"
#include "sbuf.h"

#define SUBPROGRAM	"/bin/true"	/* run by the checker on success */

/* say - the reason, for the log */
static int
say(struct auth_request *r, const char *what, long n, int verdict)
{
	struct sbuf sb;

	sb_init(&sb, r->why, sizeof r->why);
	sb_str(&sb, what);
	if (n >= 0)
		sb_num(&sb, (unsigned long long)n);
	return verdict;
}

/*
 * feed - a pipe holding "user\0password\0\0" (at most 2 KiB: written
 * whole before the program starts, so no write can block); its read
 * end, or -1
 */
static int
feed(const struct auth_request *r)
{
	char buf[2 * AUTH_FIELD_MAX + 4];
	size_t n = 0;
	ssize_t w;
	int p[2];

	if (r->user_len > AUTH_FIELD_MAX || r->pass_len > AUTH_FIELD_MAX ||
	    pipe(p) < 0)
		return -1;
	memcpy(buf, r->user, r->user_len + 1);
	n = r->user_len + 1;
	memcpy(buf + n, r->pass, r->pass_len + 1);
	n += r->pass_len + 1;
	buf[n++] = '\0';			/* no timestamp (APOP) */
	while ((w = write(p[1], buf, n)) < 0 && errno == EINTR)
		;
	explicit_bzero(buf, sizeof buf);
	close(p[1]);
	if (w != (ssize_t)n) {
		close(p[0]);
		return -1;
	}
	return p[0];
}

/* checkpw_verify - ask the checkpassword program prog */
int
checkpw_verify(const char *prog, struct auth_request *r)
{
	char envbuf[128], *envp[3];
	struct hook_result res;
	struct sbuf sb;
	int fd, st;

	r->canonical[0] = '\0';
	if ((fd = feed(r)) < 0)
		return say(r, "cannot make a pipe", -1, AUTH_TEMP);
	envp[0] = (char *)"PATH=/usr/local/bin:/usr/bin:/bin";
	envp[1] = NULL;
	if (r->client_ip[0] != '\0') {	/* vchkpw and others log it */
		sb_init(&sb, envbuf, sizeof envbuf);
		sb_str(&sb, "TCPREMOTEIP=");
		sb_str(&sb, r->client_ip);
		envp[1] = envbuf;
		envp[2] = NULL;
	}
	hook_run(prog, SUBPROGRAM, envp, r->seconds, r->errfd, fd, &res);
	close(fd);
	st = res.status;
	if (res.timed_out)
		return say(r, "checkpassword timed out", -1, AUTH_TEMP);
	if (WIFSIGNALED(st))
		return say(r, "checkpassword killed by signal ", WTERMSIG(st),
		    AUTH_TEMP);
	if (!WIFEXITED(st))
		return say(r, "checkpassword did not run", -1, AUTH_TEMP);
	if (WEXITSTATUS(st) == 0)
		return say(r, "", -1, AUTH_OK);
	if (WEXITSTATUS(st) == 1)
		return say(r, "wrong user or password", -1, AUTH_BAD);
	return say(r, "checkpassword exit ", WEXITSTATUS(st), AUTH_TEMP);
}
