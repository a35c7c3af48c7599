/*
 * hook.c - run a policy program and read its verdict.
 * The program is exec'ed directly (no shell) with one argument, a clean
 * environment, stdin from /dev/null, stdout to a pipe we read (its first
 * line, at most 200 octets, printable ASCII only, becomes the reply
 * text), stderr to our log (or /dev/null when that is the client), and
 * no other fd.  It runs in its own process group, killed whole when the
 * timeout passes.  Exit 0 accepts, 100 rejects, 111 defers; anything
 * else (a crash, a hang, another code) is a failure: 451, never a hang.
 */
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hook.h"
#include "io.h"

#define HOOK_FD_SCAN	1024	/* fds closed in the child, above 2 */

/*
 * reset_signals - a program starts with default dispositions and no
 * blocked signals, whatever smtpd (SIGPIPE, SIGXFSZ) or its own parent
 * ignored: ignored signals would survive the exec.
 */
static void
reset_signals(void)
{
	sigset_t none;
	int sig;

	for (sig = 1; sig < 65; sig++)
		(void)signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * child - set up fds and exec; never returns.  fd3, when not -1, is
 * put on fd 3 (checkpassword's input); every other fd is closed.
 */
static void
child(const char *prog, const char *arg, char *const envp[], int out,
    int errfd, int fd3)
{
	char *argv[3];
	int fd, null = open("/dev/null", O_RDWR), first = fd3 >= 0 ? 4 : 3;

	setpgid(0, 0);
	reset_signals();
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 ||
	    dup2(errfd >= 0 ? errfd : null, 2) < 0 ||
	    (fd3 >= 0 && fd3 != 3 && dup2(fd3, 3) < 0))
		_exit(127);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, (unsigned)first, ~0u, 0u) < 0)
#endif
		for (fd = first; fd < HOOK_FD_SCAN; fd++)
			close(fd);
	argv[0] = (char *)prog;
	argv[1] = (char *)arg;
	argv[2] = NULL;
	execve(prog, argv, envp);
	_exit(127);
}

/*
 * take_output - keep the first line's printable octets in res->text: a
 * CR just before the LF is dropped, any other control octet becomes '?'
 */
static void
take_output(struct hook_result *res, const char *buf, size_t n, int *done)
{
	size_t have = strlen(res->text), i;
	char c;

	for (i = 0; i < n && !*done; i++) {
		c = buf[i];
		if (c == '\n' || have == HOOK_TEXT_MAX) {
			*done = 1;
			break;
		}
		if (c == '\r' && (i + 1 == n || buf[i + 1] == '\n'))
			continue;
		res->text[have++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
	res->text[have] = '\0';
}

/* drain - read what an exited program left in the pipe, without waiting */
static void
drain(int fd, struct pollfd *pfd, struct hook_result *res, int *done)
{
	char buf[512];
	ssize_t n;

	while (pfd->fd >= 0 && poll(pfd, 1, 0) > 0 &&
	    (n = read(fd, buf, sizeof buf)) > 0)
		take_output(res, buf, (size_t)n, done);
}

/*
 * watch - read the child's output and wait for its exit, until the
 * deadline; then kill its whole process group.  0 if it exited in time.
 */
static int
watch(int fd, pid_t pid, struct hook_result *res, const struct timespec *end)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char buf[512];
	ssize_t n;
	int done = 0, left;

	while ((left = ms_until(*end)) > 0) {
		if (pfd.fd >= 0 && poll(&pfd, 1, left < 20 ? left : 20) > 0) {
			n = read(fd, buf, sizeof buf);
			if (n > 0) {
				take_output(res, buf, (size_t)n, &done);
				continue;
			}
			if (n == 0 || errno != EINTR)
				pfd.fd = -1;		/* EOF: stop reading */
		} else if (pfd.fd < 0)
			(void)poll(NULL, 0, left < 5 ? left : 5);
		if (waitpid(pid, &res->status, WNOHANG) == pid) {
			drain(fd, &pfd, res, &done);	/* what it wrote last */
			return 0;
		}
	}
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, &res->status, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* verdict_of - the exit status as a verdict */
static int
verdict_of(int status)
{
	if (!WIFEXITED(status))
		return HOOK_FAILED;
	switch (WEXITSTATUS(status)) {
	case 0: return HOOK_ACCEPT;
	case 100: return HOOK_REJECT;
	case 111: return HOOK_TEMPFAIL;
	default: return HOOK_FAILED;
	}
}

/*
 * hook_run - run prog with arg and envp, at most timeout seconds;
 * errfd is where its stderr goes (-1: /dev/null), fd3 what it gets as
 * fd 3 (-1: nothing; must not be close-on-exec).  Fills res; returns
 * the verdict.
 */
int
hook_run(const char *prog, const char *arg, char *const envp[],
    unsigned timeout, int errfd, int fd3, struct hook_result *res)
{
	struct timespec end;
	int p[2], late;
	pid_t pid;

	memset(res, 0, sizeof *res);
	res->verdict = HOOK_FAILED;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout;
	if (pipe(p) < 0)
		return res->verdict;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return res->verdict;
	}
	if (pid == 0)
		child(prog, arg, envp, p[1], errfd, fd3);
	close(p[1]);
	late = watch(p[0], pid, res, &end) < 0;
	close(p[0]);
	res->timed_out = late;
	if (!late)
		res->verdict = verdict_of(res->status);
	return res->verdict;
}
