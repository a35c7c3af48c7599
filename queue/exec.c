/*
 * exec.c - run one delivery command with the message on its stdin.
 * execvp, never a shell; every descriptor of ours is close-on-exec; the
 * child leads its own process group (killed whole at the timeout) and
 * dies with us (PR_SET_PDEATHSIG).  Exit 0: delivered; 75 (EX_TEMPFAIL),
 * a signal or the timeout: retry later; 64 (EX_USAGE), 126 and 127
 * (not executable, not found): the administrator's mistake, so retry
 * later and log event=command-error; any other status: failed.
 */
#define _GNU_SOURCE		/* pipe2, close_range */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exec.h"
#include "log.h"
#include "msg.h"
#include "state.h"
#include "sbuf.h"

#define CHUNK		65536
#define CAPTURE_MAX	512	/* of the command's output, for the reason */
#define TAIL_MAX	512	/* its end, for the last line (a DSN's) */
#define EXIT_TEMPFAIL	75	/* EX_TEMPFAIL, sysexits.h */
#define EXIT_USAGE	64	/* EX_USAGE: its command line was wrong */
#define EXIT_CANNOT_RUN	126	/* a shell's: found, but not executable */
#define EXIT_NOT_FOUND	127	/* a shell's: not found */

enum { RUN_EXITED, RUN_TIMEOUT, RUN_IOERR };

struct pump {
	int	 in, out, pidfd;	/* -1 once closed */
	off_t	 off;			/* next byte of the queue file */
	int	 cr, eof;
	size_t	 olen, opos;
	size_t	 caplen, taillen;
	char	 cap[CAPTURE_MAX];
	char	 tail[TAIL_MAX];
	char	 rbuf[CHUNK];
	char	 obuf[CHUNK + 1];
};

/* now_ms - the monotonic clock in milliseconds */
static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* set_or_unset - name=val, or no name at all when val is NULL */
static int
set_or_unset(const char *name, const char *val)
{
	return val != NULL ? setenv(name, val, 1) : unsetenv(name);
}

/*
 * set_env - SENDER; RECIPIENT for one recipient, REQUIRETLS=yes for a
 * message that asks for it, AUTH_USER and AUTH_PARAM for one whose
 * client authenticated, BODY (7BIT, 8BITMIME, BINARYMIME) for one that
 * declared it (else unset: never what we inherited)
 */
static int
set_env(const struct qrun *r)
{
	if (setenv("SENDER", r->sender_env, 1) < 0)
		return -1;
	if (set_or_unset("REQUIRETLS", r->requiretls ? "yes" : NULL) < 0 ||
	    set_or_unset("AUTH_USER", r->auth_user) < 0 ||
	    set_or_unset("AUTH_PARAM", r->auth_param) < 0 ||
	    set_or_unset("BODY", r->body_type) < 0)
		return -1;
	if (r->rcpt_env != NULL)
		return setenv("RECIPIENT", r->rcpt_env, 1);
	return unsetenv("RECIPIENT");
}

/*
 * child - in the new process: own group, die with the parent, stdin
 * from the pipe, stdout and stderr to the capture pipe, default signals,
 * then exec; on failure report errno through the exec pipe.
 */
static void
child(char *const argv[], const struct qrun *r, pid_t parent, int in,
    int out, int ex)
{
	sigset_t none;
	int e;

	(void)setpgid(0, 0);
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(EXIT_TEMPFAIL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		goto fail;
	(void)signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (set_env(r) < 0)
		goto fail;
#ifdef CLOSE_RANGE_CLOEXEC
	(void)close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);	/* inherited ones */
#endif
	execvp(argv[0], argv);
fail:
	e = errno;
	(void)!write(ex, &e, sizeof e);
	_exit(127);
}

/* feed - move the next piece of the message into the command's stdin */
static int
feed(struct pump *pu, const struct qrun *r)
{
	ssize_t n;

	if (pu->opos == pu->olen && !pu->eof) {
		n = pread(r->msgfd, pu->rbuf, sizeof pu->rbuf, pu->off);
		if (n < 0)
			return errno == EINTR ? 0 : -1;
		pu->off += n;
		pu->eof = n == 0;
		pu->olen = r->crlf ? (size_t)n :
		    qmsg_lf(pu->rbuf, (size_t)n, pu->obuf, &pu->cr);
		if (r->crlf)
			memcpy(pu->obuf, pu->rbuf, (size_t)n);
		if (pu->eof && pu->cr)
			pu->obuf[pu->olen++] = '\r';
		pu->opos = 0;
	}
	if (pu->opos < pu->olen) {
		n = write(pu->in, pu->obuf + pu->opos, pu->olen - pu->opos);
		if (n >= 0)
			pu->opos += (size_t)n;
		else if (errno != EAGAIN && errno != EINTR) {
			pu->eof = 1;	/* it stopped reading: drop the rest */
			pu->opos = pu->olen;
		}
	}
	if (pu->eof && pu->opos == pu->olen) {
		close(pu->in);
		pu->in = -1;
	}
	return 0;
}

/* keep_tail - keep the last TAIL_MAX bytes the command printed */
static void
keep_tail(struct pump *pu, const char *buf, size_t n)
{
	size_t keep;

	if (n >= TAIL_MAX) {
		memcpy(pu->tail, buf + n - TAIL_MAX, TAIL_MAX);
		pu->taillen = TAIL_MAX;
		return;
	}
	keep = pu->taillen + n > TAIL_MAX ? TAIL_MAX - n : pu->taillen;
	memmove(pu->tail, pu->tail + pu->taillen - keep, keep);
	memcpy(pu->tail + keep, buf, n);
	pu->taillen = keep + n;
}

/* drain - keep the start and the end of what the command printed */
static void
drain(struct pump *pu)
{
	char buf[4096];
	ssize_t n;
	size_t room;

	while (pu->out >= 0) {
		n = read(pu->out, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(pu->out);
			pu->out = -1;
			return;
		}
		room = sizeof pu->cap - pu->caplen;
		if ((size_t)n < room)
			room = (size_t)n;
		memcpy(pu->cap + pu->caplen, buf, room);
		pu->caplen += room;
		keep_tail(pu, buf, (size_t)n);
	}
}

/*
 * last_line - the exit status, and the last line that is not blank of
 * what the command printed (made one printable line), for a DSN
 */
static void
last_line(struct qresult *res, int how, int status, const struct pump *pu)
{
	const char *end = pu->tail + pu->taillen, *p;

	res->code = how == RUN_EXITED && WIFEXITED(status) ?
	    WEXITSTATUS(status) : -1;
	while (end > pu->tail && (end[-1] == '\n' || end[-1] == '\r' ||
	    end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (p = end; p > pu->tail && p[-1] != '\n' && p[-1] != '\r'; p--)
		;
	qstate_text(res->line, sizeof res->line, p, (size_t)(end - p));
}

/* stop - kill the command's whole process group and reap it */
static void
stop(pid_t pid, int *status)
{
	(void)kill(-pid, SIGKILL);
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/*
 * pump - feed stdin, collect output, until the command exits (RUN_EXITED)
 * or the deadline passes (RUN_TIMEOUT; the group is killed), or the
 * queue file cannot be read (RUN_IOERR)
 */
static int
pump(struct pump *pu, pid_t pid, const struct qrun *r, int *status)
{
	long long deadline = now_ms() + (long long)r->timeout * 1000, left;
	struct pollfd fds[3];
	nfds_t n, i;

	for (;;) {
		if (waitpid(pid, status, WNOHANG) == pid) {
			drain(pu);
			return RUN_EXITED;
		}
		if ((left = deadline - now_ms()) <= 0) {
			stop(pid, status);
			return RUN_TIMEOUT;
		}
		n = 0;
		if (pu->in >= 0)
			fds[n++] = (struct pollfd){ pu->in, POLLOUT, 0 };
		if (pu->out >= 0)
			fds[n++] = (struct pollfd){ pu->out, POLLIN, 0 };
		if (pu->pidfd >= 0)
			fds[n++] = (struct pollfd){ pu->pidfd, POLLIN, 0 };
		if (left > (pu->pidfd >= 0 ? 1000 : 10))
			left = pu->pidfd >= 0 ? 1000 : 10;
		if (poll(fds, n, (int)left) < 0 && errno != EINTR)
			left = 0;
		for (i = 0; i < n; i++) {
			if (fds[i].revents == 0)
				continue;
			if (fds[i].fd == pu->in && feed(pu, r) < 0) {
				stop(pid, status);
				return RUN_IOERR;
			}
			if (fds[i].fd == pu->out)
				drain(pu);
		}
	}
}

/*
 * setup_error - what an exit status says of the setup rather than of
 * the message (a wrong --command or --dsn, a wrapper that cannot run
 * what it calls), or NULL
 */
static const char *
setup_error(int code)
{
	switch (code) {
	case EXIT_USAGE:
		return "command usage error (exit 64): check --command and "
		    "--dsn";
	case EXIT_CANNOT_RUN:
		return "command cannot run a program (exit 126): check "
		    "--command";
	case EXIT_NOT_FOUND:
		return "command did not find a program (exit 127): check "
		    "--command and PATH";
	}
	return NULL;
}

/* exit_status - "exit N", or the setup error it means: temporary */
static void
exit_status(struct qresult *res, struct sbuf *sb, int code)
{
	const char *setup = setup_error(code);

	if (setup != NULL) {
		sb_str(sb, setup);
		return;		/* QX_TEMP: never the message's fault */
	}
	sb_str(sb, "exit ");
	sb_num(sb, (unsigned long long)code);
	if (code == 0)
		res->kind = QX_OK;
	else if (code != EXIT_TEMPFAIL)
		res->kind = QX_PERM;
}

/* log_setup_error - say loudly that the command, not the mail, is wrong */
static void
log_setup_error(const char *prog, const struct qresult *res)
{
	struct qlog ql;

	qlog_begin(&ql, "command-error");
	qlog_str(&ql, "level", "error");
	qlog_str(&ql, "command", prog);
	qlog_str(&ql, "reason", res->why);
	qlog_end(&ql);
}

/* classify - the outcome, and a one-line reason with the output */
static void
classify(struct qresult *res, int how, int status, const struct pump *pu,
    const struct qrun *r)
{
	char out[CAPTURE_MAX + 1];
	struct sbuf sb;

	sb_init(&sb, res->why, sizeof res->why);
	res->kind = QX_TEMP;
	if (how == RUN_TIMEOUT) {
		sb_str(&sb, "timed out after ");
		sb_num(&sb, r->timeout);
		sb_str(&sb, " s");
	} else if (how == RUN_IOERR)
		sb_str(&sb, "cannot read the queue file");
	else if (WIFSIGNALED(status)) {
		sb_str(&sb, "killed by signal ");
		sb_num(&sb, (unsigned long long)WTERMSIG(status));
	} else
		exit_status(res, &sb, WEXITSTATUS(status));
	qstate_text(out, sizeof out, pu->cap, pu->caplen);
	if (out[0] != '\0') {
		sb_str(&sb, ": ");
		sb_str(&sb, out);
	}
}

/* exec_error - the child's errno if its exec failed, else 0 */
static int
exec_error(int ex)
{
	ssize_t n;
	int e = 0;

	do
		n = read(ex, &e, sizeof e);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof e ? e : 0;
}

/* no_start - the command could not be started: say why */
static void
no_start(struct qresult *res, const char *what, const char *name, int e)
{
	struct sbuf sb;

	res->kind = QX_NOEXEC;
	sb_init(&sb, res->why, sizeof res->why);
	sb_str(&sb, what);
	sb_str(&sb, name);
	sb_str(&sb, ": ");
	sb_str(&sb, strerror(e));
}

/* start - fork and exec; the pipes' far ends are closed here */
static pid_t
start(char *const argv[], const struct qrun *r, int in[2], int out[2],
    struct qresult *res)
{
	int ex[2], e, status;
	pid_t pid, parent = getpid();

	if (pipe2(ex, O_CLOEXEC) < 0) {
		no_start(res, "cannot make a pipe for ", argv[0], errno);
		return -1;
	}
	if ((pid = fork()) == 0)
		child(argv, r, parent, in[0], out[1], ex[1]);
	e = errno;
	close(ex[1]);
	close(in[0]);
	close(out[1]);
	if (pid > 0) {
		(void)setpgid(pid, pid);
		if ((e = exec_error(ex[0])) != 0) {
			stop(pid, &status);
			pid = -1;
		}
	}
	close(ex[0]);
	if (pid < 0)
		no_start(res, "cannot run ", argv[0], e);
	return pid;
}

/* close_pair - close both ends of a pipe that are open */
static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/*
 * qexec_run - run argv with the message on stdin (LF line ends unless
 * r->crlf) and tell how it went in res
 */
void
qexec_run(char *const argv[], const struct qrun *r, struct qresult *res)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, how, status = 0;
	struct pump *pu;
	pid_t pid;

	res->code = -1;
	res->line[0] = '\0';
	if ((pu = calloc(1, sizeof *pu)) == NULL) {
		no_start(res, "cannot run ", argv[0], ENOMEM);
		return;
	}
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
		no_start(res, "cannot make pipes for ", argv[0], errno);
		close_pair(in);
		close_pair(out);
		free(pu);
		return;
	}
	pid = start(argv, r, in, out, res);
	pu->in = in[1];
	pu->out = out[0];
	pu->pidfd = -1;
	if (pid > 0) {
		pu->off = r->body;
		(void)fcntl(pu->in, F_SETFL, O_NONBLOCK);
		(void)fcntl(pu->out, F_SETFL, O_NONBLOCK);
		pu->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		how = pump(pu, pid, r, &status);
		classify(res, how, status, pu, r);
		last_line(res, how, status, pu);
	}
	if (pu->pidfd >= 0)
		close(pu->pidfd);
	if (pu->in >= 0)
		close(pu->in);
	if (pu->out >= 0)
		close(pu->out);
	free(pu);
	if (pid > 0 && how == RUN_EXITED && WIFEXITED(status) &&
	    setup_error(WEXITSTATUS(status)) != NULL)
		log_setup_error(argv[0], res);
}
