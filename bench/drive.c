/*
 * drive.c - run SMTP sessions through pipes, one process per session, and
 * report what each cost.  For bench/run, never part of the tests.
 *
 *   drive [-n SESSIONS] [-m MSGS] [-b BYTES] [-r] [-R] [-C DIR]... [-E FILE]
 *         -- CMD [ARG]... [:: CMD [ARG]...]...
 *
 * With several commands (at most 8, split by "::") the sessions take
 * them in turn, so that a slow spell of the machine or the disk is
 * shared fairly; -n counts the sessions of each.  Each session spawns CMD with a pipe on fd 0 and fd 1 (stderr goes to
 * /dev/null, or to FILE with -E FILE), writes a pipelined transcript (EHLO, MSGS x MAIL/RCPT/DATA
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
 * ~150 KiB from run to run otherwise).  Every wait is bounded (60 s
 * without progress ends the session).
 */
#define _GNU_SOURCE		/* pipe2 */
#include <sys/personality.h>
#include <sys/resource.h>
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
	static char rbuf[16384];
	struct pollfd pf[2];
	const char *p = NULL;
	size_t n = 0;
	ssize_t r;

	while (wfd >= 0 || rfd >= 0) {
		if (wfd >= 0 && n == 0 && (n = next(g, &p)) == 0) {
			close(wfd);
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
				close(wfd);	/* it hung up early */
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

/* session - one spawn, transcript, reap; prints its line */
static int
session(struct gen g, char **cmd, int k, int nullfd)
{
	posix_spawn_file_actions_t fa;
	struct check c;
	struct rusage ru;
	struct timespec t0;
	int in[2], out[2], st, rc;
	pid_t pid;
	long long wall, cpu;

	memset(&c, 0, sizeof c);
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, nullfd, 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(out[1]);
	if (rc != 0) {
		fprintf(stderr, "drive: cannot run %s\n", cmd[0]);
		return -1;
	}
	if (pump(&g, in[1], out[0], &c) < 0) {
		fprintf(stderr, "drive: %s stalled\n", cmd[0]);
		kill(pid, SIGKILL);
	}
	if (wait4(pid, &st, 0, &ru) < 0)
		return -1;
	wall = us_since(&t0);
	cpu = (long long)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
	    ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
	if (!g.raw && (c.bad || c.ok != g.msgs || c.last != 221)) {
		fprintf(stderr, "drive: %s: %llu of %llu queued, last reply "
		    "%d\n", cmd[0], c.ok, g.msgs, c.last);
		return -1;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "drive: %s: exit status %d\n", cmd[0], st);
		return -1;
	}
	printf("%d %lld %lld %ld %ld %ld\n", k, wall, cpu, ru.ru_maxrss,
	    ru.ru_minflt, ru.ru_majflt);
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
	int opt, ndirs = 0, ncmds = 0, nullfd, k, c;

	memset(&g, 0, sizeof g);
	g.msgs = 1;
	g.body = 1024;
	while ((opt = getopt(argc, argv, "n:m:b:rRC:E:")) != -1) {
		switch (opt) {
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'm': g.msgs = strtoull(optarg, NULL, 10); break;
		case 'b': g.body = strtoull(optarg, NULL, 10); break;
		case 'r': g.raw = 1; break;
		case 'R':
			if (personality(ADDR_NO_RANDOMIZE) < 0)
				return 111;
			break;
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
		fputs("usage: drive [-n N] [-m MSGS] [-b BYTES] [-r] [-R] "
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
	for (i = 0; i < n; i++)
		for (c = 0; c < ncmds; c++) {
			if (session(g, cmds[c], c, nullfd) < 0)
				return 1;
			fflush(stdout);
			for (k = 0; k < ndirs; k++)
				clean(dirs[k]);
		}
	return 0;
}
