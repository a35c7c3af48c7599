/*
 * drive.c - run SMTP sessions through pipes, one process per session, and
 * report what each cost.  For bench/run, never part of the tests.
 *
 *   drive [-n SESSIONS] [-m MSGS] [-b BYTES] [-r] [-R] [-U K]... [-S|-I]
 *         [-C DIR]... [-E FILE] -- CMD [ARG]... [:: CMD [ARG]...]...
 *
 * With several commands (at most 8, split by "::") the sessions take
 * them in turn, so that a slow spell of the machine or the disk is
 * shared fairly; -n counts the sessions of each.  Each session spawns CMD
 * with a pipe on fd 0 and fd 1 (stderr goes to /dev/null, or to FILE with
 * -E FILE), writes a pipelined transcript (EHLO, MSGS x MAIL/RCPT/DATA
 * with a "Subject:" line and BYTES of body in 78-octet lines, QUIT) while
 * reading the replies, and reaps CMD with wait4().  -r sends only the
 * BYTES of body and expects no reply (for "cat > file").  A session
 * passes when every DATA got 354 then 250 and the last reply is 221; a
 * failure ends drive with status 1.  After each session (outside the
 * timing) the regular files in each -C DIR are removed.  One line per
 * session on stdout (K: which command, from 0):
 *   K wall_us cpu_us maxrss_kib minflt majflt
 * -R turns address space randomization off for the sessions, so that
 * peak RSS does not vary with where the libraries land (it moves by
 * ~150 KiB from run to run otherwise).  -U K puts one AF_UNIX stream
 * socket (socketpair) on fd 0 and fd 1 of command K (from 0) instead of
 * two pipes, as a network server has (exim's TLS, GnuTLS, reads with
 * recv(), which a pipe fails; -U is for that, the plain transcript does
 * not wait for the greeting).  Every wait is bounded (60 s without
 * progress ends the session).
 *
 * Built from drivetls.c (DRIVE_TLS, linked with libtls), it also speaks
 * TLS as the client, certificate not verified (a benchmark, not a
 * client): -S waits for the greeting, sends EHLO and waits for its
 * reply, sends STARTTLS and waits for a 220 (in plain text, one command
 * at a time, as clients do), makes the handshake and then runs the
 * pipelined transcript over TLS (beginning with EHLO again); -I makes
 * the handshake first (implicit TLS, port 465 style) and waits for the
 * greeting before it writes.  The pipes are non-blocking then, and
 * libtls reads and writes them (tls_connect_fds).
 *
 * The servers are spawned by a launcher process forked at the start,
 * before any TLS state exists: ru_maxrss of a child counts what its
 * parent had mapped when it exec'ed (posix_spawn shares the parent's
 * memory until then), and the launcher stays as small as this static
 * program was before it made any TLS session.  drive hands it the two
 * pipe ends (SCM_RIGHTS) and it times spawn to reap, as drive did.
 */
#define _GNU_SOURCE		/* pipe2, MSG_CMSG_CLOEXEC */
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef DRIVE_TLS
#include <tls.h>
#endif

#define CHUNK		65520		/* 840 lines of 78 octets */
#define STALL_MS	60000
#define MAX_CLEAN	8
#define MAX_CMDS	8

extern char **environ;

struct gen {				/* the transcript, made as it goes */
	unsigned long long body, msgs, msg, left;
	int	 phase, raw;
};

static char block[CHUNK];
static char rbuf[16384];
static int use_socket;			/* this session's: -U K */
static unsigned sockets;		/* bit K: command K gets a socket */

/* end_write - no more to send: EOF for the server, pipe or socket */
static void
end_write(int fd)
{
	if (use_socket)
		(void)shutdown(fd, SHUT_WR);
	close(fd);
}

static const char head[] = "EHLO bench.example\r\n";
static const char envl[] = "MAIL FROM:<a@example.org>\r\n"
    "RCPT TO:<u@example.com>\r\nDATA\r\nSubject: bench\r\n\r\n";
static const char dot[] = ".\r\n";
static const char quit[] = "QUIT\r\n";

/* next - the next piece of the transcript; 0 at its end */
static size_t
next(struct gen *g, const char **p)
{
	size_t n;

	for (;;) {
		switch (g->phase) {
		case 0:
			g->phase = g->raw ? 2 : 1;
			g->left = g->body;
			if (g->raw)
				continue;
			*p = head;
			return sizeof head - 1;
		case 1:
			if (g->msg == g->msgs) {
				g->phase = 4;
				continue;
			}
			g->msg++;
			g->left = g->body;
			g->phase = 2;
			*p = envl;
			return sizeof envl - 1;
		case 2:
			if (g->left == 0) {
				g->phase = g->raw ? 5 : 3;
				continue;
			}
			n = g->left < CHUNK ? (size_t)g->left : CHUNK;
			/* end on a line end: the tail of the block */
			*p = block + CHUNK - n;
			g->left -= n;
			return n;
		case 3:
			g->phase = 1;
			*p = dot;
			return sizeof dot - 1;
		case 4:
			g->phase = 5;
			*p = quit;
			return sizeof quit - 1;
		default:
			return 0;
		}
	}
}

struct check {				/* reading the replies */
	char	 line[4];
	size_t	 col;
	int	 after354;	/* the last reply was 354 */
	int	 last;		/* code of the last reply line */
	int	 finals;	/* replies seen (their last lines) */
	unsigned long long ok;	/* 250s that answered a DATA */
	int	 bad;
};

/* reply_bytes - follow the reply lines (only their first 3 octets) */
static void
reply_bytes(struct check *c, const char *p, size_t n)
{
	int code;

	for (; n > 0; p++, n--) {
		if (c->col < 4)
			c->line[c->col] = *p;
		c->col++;
		if (*p != '\n')
			continue;
		code = atoi(c->line);
		if (c->col >= 4 && c->line[3] == '-') {
			c->col = 0;
			continue;
		}
		if (c->after354 && code != 250)
			c->bad = 1;
		if (c->after354 && code == 250)
			c->ok++;
		c->after354 = code == 354;
		c->last = code;
		c->finals++;
		c->col = 0;
	}
}

/* us_since - microseconds since t0 */
static long long
us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)(t.tv_sec - t0->tv_sec) * 1000000 +
	    (t.tv_nsec - t0->tv_nsec) / 1000;
}

/* clean - remove the regular files in dir */
static void
clean(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			(void)unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* pump - write the transcript and read replies until both are done */
static int
pump(struct gen *g, int wfd, int rfd, struct check *c)
{
	struct pollfd pf[2];
	const char *p = NULL;
	size_t n = 0;
	ssize_t r;

	while (wfd >= 0 || rfd >= 0) {
		if (wfd >= 0 && n == 0 && (n = next(g, &p)) == 0) {
			end_write(wfd);
			wfd = -1;
			continue;
		}
		pf[0].fd = wfd;
		pf[0].events = POLLOUT;
		pf[1].fd = rfd;
		pf[1].events = POLLIN;
		if ((r = poll(pf, 2, STALL_MS)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (wfd >= 0 && pf[0].revents != 0) {
			if ((r = write(wfd, p, n)) < 0) {
				end_write(wfd);	/* it hung up early */
				wfd = -1;
			} else {
				p += r;
				n -= (size_t)r;
			}
		}
		if (rfd >= 0 && pf[1].revents != 0) {
			if ((r = read(rfd, rbuf, sizeof rbuf)) <= 0) {
				close(rfd);
				rfd = -1;
			} else
				reply_bytes(c, rbuf, (size_t)r);
		}
	}
	return 0;
}

#ifdef DRIVE_TLS
static int tls_mode;			/* 'S' STARTTLS, 'I' implicit */
static struct tls_config *tls_cf;

/* wait_fd - poll one fd for one event; -1 on a stall */
static int
wait_fd(int fd, short ev)
{
	struct pollfd pf;
	int r;

	pf.fd = fd;
	pf.events = ev;
	while ((r = poll(&pf, 1, STALL_MS)) < 0 && errno == EINTR)
		;
	return r > 0 ? 0 : -1;
}

/* put - write all of a short command to the non-blocking wfd */
static int
put(int wfd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = write(wfd, p, n)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			if (wait_fd(wfd, POLLOUT) < 0)
				return -1;
			continue;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* await - read until c has seen `finals` replies; -1 at EOF or a stall */
static int
await(int rfd, struct check *c, int finals)
{
	ssize_t r;

	/* the server says no more than asked until the client speaks */
	while (c->finals < finals) {
		if ((r = read(rfd, rbuf, sizeof rbuf)) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -1;
			if (wait_fd(rfd, POLLIN) < 0)
				return -1;
			continue;
		}
		if (r == 0)
			return -1;
		reply_bytes(c, rbuf, (size_t)r);
	}
	return 0;
}

/*
 * starttls - as a client that plays by the rules: the greeting, EHLO and
 * its reply, STARTTLS and its reply (no pipelining across the greeting
 * or STARTTLS); 0 when that reply is 220
 */
static int
starttls(int wfd, int rfd)
{
	struct check c;

	memset(&c, 0, sizeof c);
	if (await(rfd, &c, 1) < 0 || put(wfd, head, sizeof head - 1) < 0 ||
	    await(rfd, &c, 2) < 0 ||
	    put(wfd, "STARTTLS\r\n", sizeof "STARTTLS\r\n" - 1) < 0 ||
	    await(rfd, &c, 3) < 0)
		return -1;
	return c.last == 220 ? 0 : -1;
}

/* want - what a libtls call that said r waits for: 0, or poll it */
static int
want(ssize_t r, int wfd, int rfd, struct pollfd *pf)
{
	if (r == TLS_WANT_POLLIN) {
		pf->fd = rfd;
		pf->events = POLLIN;
		return 1;
	}
	if (r == TLS_WANT_POLLOUT) {
		pf->fd = wfd;
		pf->events = POLLOUT;
		return 1;
	}
	return 0;
}

/*
 * pump_tls - the handshake (after STARTTLS, or first), then the
 * transcript over TLS while reading the replies, until the server closes
 */
static int
pump_tls(struct gen *g, int wfd, int rfd, struct check *c)
{
	struct tls *t;
	struct pollfd pf[2];
	const char *p = NULL;
	size_t n = 0;
	ssize_t r;
	int wdone = 0, rdone = 0, busy, np, rc = -1;

	(void)fcntl(wfd, F_SETFL, O_NONBLOCK);
	(void)fcntl(rfd, F_SETFL, O_NONBLOCK);
	if (tls_mode == 'S' && starttls(wfd, rfd) < 0) {
		fputs("drive: no 220 to STARTTLS\n", stderr);
		goto out;
	}
	if ((t = tls_client()) == NULL)
		goto out;
	if (tls_configure(t, tls_cf) < 0 ||
	    tls_connect_fds(t, rfd, wfd, "bench.example") < 0) {
		fprintf(stderr, "drive: tls: %s\n", tls_error(t));
		goto done;
	}
	while ((r = tls_handshake(t)) != 0) {
		if (!want(r, wfd, rfd, pf)) {
			fprintf(stderr, "drive: handshake: %s\n", tls_error(t));
			goto done;
		}
		if (wait_fd(pf[0].fd, pf[0].events) < 0)
			goto done;
	}
	while (!rdone) {
		busy = 0;
		np = 0;
		if (!wdone && n == 0 && (n = next(g, &p)) == 0)
			wdone = 1;	/* the pipe stays open: alerts */
		/* implicit TLS: the greeting first, as after a connect */
		if (!wdone && (tls_mode != 'I' || c->finals > 0)) {
			r = tls_write(t, p, n);
			if (r > 0) {
				p += r;
				n -= (size_t)r;
				busy = 1;
			} else if (want(r, wfd, rfd, &pf[np]))
				np++;
			else
				wdone = 1;	/* it hung up early */
		}
		r = tls_read(t, rbuf, sizeof rbuf);
		if (r > 0) {
			reply_bytes(c, rbuf, (size_t)r);
			busy = 1;
		} else if (want(r, wfd, rfd, &pf[np]))
			np++;
		else
			rdone = 1;	/* the end, close_notify or not */
		if (busy || rdone)
			continue;
		while ((r = poll(pf, np, STALL_MS)) < 0 && errno == EINTR)
			;
		if (r <= 0)
			goto done;
	}
	rc = 0;
done:
	tls_free(t);
out:
	close(wfd);
	close(rfd);
	return rc;
}
#endif

/*
 * The launcher: spawns the servers for drive, reaps them and times them.
 * A request is the command's index with the server's fd 0 and fd 1
 * attached; the answers are a struct spawned, then (when it ran) a
 * struct reaped.
 */
struct spawned {
	int	 rc;
	pid_t	 pid;
};

struct reaped {
	int	 status;
	long long wall;
	struct rusage ru;
};

/* send_fds - send k with two fds */
static int
send_fds(int sock, int k, int fd0, int fd1)
{
	struct msghdr m;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char	 b[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct cmsghdr *h;
	int fds[2] = { fd0, fd1 };

	memset(&m, 0, sizeof m);
	memset(&u, 0, sizeof u);
	iov.iov_base = &k;
	iov.iov_len = sizeof k;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof u.b;
	h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof fds);
	memcpy(CMSG_DATA(h), fds, sizeof fds);
	return sendmsg(sock, &m, 0) == (ssize_t)sizeof k ? 0 : -1;
}

/* recv_fds - receive k with two fds; 0 at the end, -1 on an error */
static int
recv_fds(int sock, int *k, int *fds)
{
	struct msghdr m;
	struct iovec iov;
	union {
		struct cmsghdr h;
		char	 b[CMSG_SPACE(2 * sizeof(int))];
	} u;
	struct cmsghdr *h;
	ssize_t r;

	memset(&m, 0, sizeof m);
	iov.iov_base = k;
	iov.iov_len = sizeof *k;
	m.msg_iov = &iov;
	m.msg_iovlen = 1;
	m.msg_control = u.b;
	m.msg_controllen = sizeof u.b;
	while ((r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (r <= 0)
		return r == 0 ? 0 : -1;
	h = CMSG_FIRSTHDR(&m);
	if (r != (ssize_t)sizeof *k || h == NULL || h->cmsg_type != SCM_RIGHTS ||
	    h->cmsg_len != CMSG_LEN(2 * sizeof(int)))
		return -1;
	memcpy(fds, CMSG_DATA(h), 2 * sizeof(int));
	return 1;
}

/* launcher - serve spawn requests on sock until drive closes it */
static void
launcher(int sock, char ***cmds, int ncmds, int nullfd)
{
	posix_spawn_file_actions_t fa;
	struct spawned sp;
	struct reaped rp;
	struct timespec t0;
	int k, fds[2], st;

	while (recv_fds(sock, &k, fds) > 0) {
		memset(&sp, 0, sizeof sp);
		memset(&rp, 0, sizeof rp);
		if (k < 0 || k >= ncmds)
			_exit(100);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
		posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
		posix_spawn_file_actions_adddup2(&fa, nullfd, 2);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		sp.rc = posix_spawnp(&sp.pid, cmds[k][0], &fa, NULL, cmds[k],
		    environ);
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		if (write(sock, &sp, sizeof sp) != sizeof sp)
			_exit(111);
		if (sp.rc != 0)
			continue;
		while (wait4(sp.pid, &st, 0, &rp.ru) < 0)
			if (errno != EINTR)
				_exit(111);
		rp.wall = us_since(&t0);
		rp.status = st;
		if (write(sock, &rp, sizeof rp) != sizeof rp)
			_exit(111);
	}
	_exit(0);
}

/* read_full - read exactly n bytes from the launcher */
static int
read_full(int fd, void *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p = (char *)p + r;
		n -= (size_t)r;
	}
	return 0;
}

/* session - one spawn, transcript, reap; prints its line */
static int
session(struct gen g, char **cmd, int k, int lsock)
{
	struct check c;
	struct spawned sp;
	struct reaped rp;
	int in[2], out[2], st, rc;
	long long cpu;

	memset(&c, 0, sizeof c);
	use_socket = (sockets >> k) & 1;
	if (use_socket) {	/* in[0] = out[1]: the server's end */
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0)
			return -1;
		out[0] = in[1];
		out[1] = in[0];
		if ((in[1] = fcntl(out[0], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
		if ((out[1] = fcntl(in[0], F_DUPFD_CLOEXEC, 3)) < 0)
			return -1;
	} else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	rc = send_fds(lsock, k, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	if (rc < 0 || read_full(lsock, &sp, sizeof sp) < 0)
		return -1;
	if (sp.rc != 0) {
		close(in[1]);
		close(out[0]);
		fprintf(stderr, "drive: cannot run %s\n", cmd[0]);
		return -1;
	}
#ifdef DRIVE_TLS
	if (tls_mode != 0)
		rc = pump_tls(&g, in[1], out[0], &c);
	else
#endif
		rc = pump(&g, in[1], out[0], &c);
	if (rc < 0) {
		fprintf(stderr, "drive: %s stalled or failed\n", cmd[0]);
		kill(sp.pid, SIGKILL);
	}
	if (read_full(lsock, &rp, sizeof rp) < 0)
		return -1;
	st = rp.status;
	cpu = (long long)(rp.ru.ru_utime.tv_sec + rp.ru.ru_stime.tv_sec) *
	    1000000 + rp.ru.ru_utime.tv_usec + rp.ru.ru_stime.tv_usec;
	if (!g.raw && (c.bad || c.ok != g.msgs || c.last != 221)) {
		fprintf(stderr, "drive: %s: %llu of %llu queued, last reply "
		    "%d\n", cmd[0], c.ok, g.msgs, c.last);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "drive: %s: exit status %d\n", cmd[0], st);
		return -1;
	}
	printf("%d %lld %lld %ld %ld %ld\n", k, rp.wall, cpu,
	    rp.ru.ru_maxrss, rp.ru.ru_minflt, rp.ru.ru_majflt);
	return 0;
}

int
main(int argc, char **argv)
{
	struct gen g;
	const char *dirs[MAX_CLEAN];
	char **cmds[MAX_CMDS];
	unsigned long n = 1, i;
	const char *errfile = "/dev/null";
	int opt, ndirs = 0, ncmds = 0, nullfd, k, c, sv[2];
	pid_t lpid;

	memset(&g, 0, sizeof g);
	g.msgs = 1;
	g.body = 1024;
	while ((opt = getopt(argc, argv, "n:m:b:rRU:SIC:E:")) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'm': g.msgs = strtoull(optarg, NULL, 10); break;
		case 'b': g.body = strtoull(optarg, NULL, 10); break;
		case 'r': g.raw = 1; break;
		case 'U':
			k = atoi(optarg);
			if (k < 0 || k >= MAX_CMDS)
				return 100;
			sockets |= 1u << k;
			break;
		case 'R':
			if (personality(ADDR_NO_RANDOMIZE) < 0)
				return 111;
			break;
#ifdef DRIVE_TLS
		case 'S':
		case 'I':
			tls_mode = opt;
			break;
#endif
		case 'E': errfile = optarg; break;
		case 'C':
			if (ndirs == MAX_CLEAN)
				return 100;
			dirs[ndirs++] = optarg;
			break;
		default:
			return 100;
		}
	}
	cmds[ncmds++] = argv + optind;
	for (k = optind; k < argc; k++)
		if (strcmp(argv[k], "::") == 0) {
			argv[k] = NULL;
			if (ncmds == MAX_CMDS || k + 1 == argc)
				return 100;
			cmds[ncmds++] = argv + k + 1;
		}
	if (optind >= argc || argv[optind] == NULL) {
		fputs("usage: drive [-n N] [-m MSGS] [-b BYTES] [-r] [-R] [-U K]... "
#ifdef DRIVE_TLS
		    "[-S|-I] "
#endif
		    "[-C DIR]... [-E FILE] -- CMD [ARG]... [:: CMD...]\n",
		    stderr);
		return 100;
	}
	if (g.body % 78 == 1)	/* a piece would start with a bare LF */
		g.body++;
	for (i = 0; i < CHUNK; i += 78) {
		memset(block + i, 'x', 76);
		memcpy(block + i + 76, "\r\n", 2);
	}
	signal(SIGPIPE, SIG_IGN);
	if ((nullfd = open(errfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) < 0)
		return 111;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    (lpid = fork()) < 0)
		return 111;
	if (lpid == 0) {
		close(sv[0]);
		launcher(sv[1], cmds, ncmds, nullfd);
	}
	close(sv[1]);
#ifdef DRIVE_TLS
	if (tls_mode != 0) {
		if ((tls_cf = tls_config_new()) == NULL)
			return 111;
		tls_config_insecure_noverifycert(tls_cf);
		tls_config_insecure_noverifyname(tls_cf);
	}
#endif
	for (i = 0; i < n; i++)
		for (c = 0; c < ncmds; c++) {
			if (session(g, cmds[c], c, sv[0]) < 0)
				return 1;
			fflush(stdout);
			for (k = 0; k < ndirs; k++)
				clean(dirs[k]);
		}
	close(sv[0]);
	(void)waitpid(lpid, NULL, 0);
	return 0;
}
