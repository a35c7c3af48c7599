/*
 * supervise.c - the Accept=no fast path.  Handed a listening socket
 * (systemd Accept=no, xinetd wait=yes), smtpd accepts connections
 * itself and forks a child for each, without exec: the child returns
 * from supervise() with the connection as its conn and runs the
 * ordinary session, sandboxed as the service is.  The supervisor never
 * reads a client byte.  It keeps at most --max-connections sessions and
 * --max-per-ip from one address (a --proxy-from balancer is exempt: its
 * clients are behind it), answering one more "421 4.7.0" itself; reaps
 * every child, logs one that died by a signal; on SIGTERM or SIGINT it
 * stops accepting and waits for the sessions to end (the unit's
 * KillMode=mixed and TimeoutStopSec= bound that wait).
 */
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "supervise.h"

/* one running session */
struct child {
	pid_t	 pid;
	struct ipaddr ip;
	int	 counted;		/* against --max-per-ip */
};

struct super {
	const struct config *cfg;
	struct logger log;
	struct child *kids;		/* cfg->max_conn of them */
	unsigned n;
};

static volatile sig_atomic_t got_child, got_stop;

static void
on_child(int sig)
{
	(void)sig;
	got_child = 1;
}

static void
on_stop(int sig)
{
	(void)sig;
	got_stop = 1;
}

/*
 * set_signals - SIGCHLD, SIGTERM and SIGINT caught, and blocked but
 * while pselect() waits (no lost wake-up)
 */
static void
set_signals(sigset_t *old)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_child;
	sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, old);
}

/*
 * log_event - one supervisor record (its ip= is "-"): a count, and the
 * reason and the client refused, when there are
 */
static void
log_event(struct super *sv, const char *event, const char *key,
    unsigned long long num, const char *why, const char *client)
{
	struct logline ll;

	log_begin_k(&sv->log, &ll, event, strlen(event));
	if (key != NULL)
		log_num_k(&ll, key, strlen(key), num);
	if (why != NULL)
		log_str(&ll, "reason", why);
	if (client != NULL && client[0] != '\0')
		log_str(&ll, "client", client);
	log_end(&sv->log, &ll);
}

/* reap - collect every child that ended; log the ones a signal killed */
static void
reap(struct super *sv)
{
	pid_t pid;
	int st;
	unsigned i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < sv->n && sv->kids[i].pid != pid; i++)
			;
		if (i < sv->n)
			sv->kids[i] = sv->kids[--sv->n];
		if (WIFSIGNALED(st))
			log_event(sv, "session-killed", "signal",
			    (unsigned)WTERMSIG(st), NULL, NULL);
	}
}

/* from_ip - sessions running for this address */
static unsigned
from_ip(const struct super *sv, const struct ipaddr *ip)
{
	unsigned i, k = 0;

	for (i = 0; i < sv->n; i++)
		if (sv->kids[i].counted &&
		    memcmp(&sv->kids[i].ip, ip, sizeof *ip) == 0)
			k++;
	return k;
}

/* refuse - one line to a connection we will not serve, never waiting */
static void
refuse(int fd, const char *line)
{
	(void)send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* child_setup - in the new session process: the connection on 0 and 1 */
static void
child_setup(int lfd, int fd, const sigset_t *old, struct conn *conn)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigprocmask(SIG_SETMASK, old, NULL);
	if (lfd != 0 && lfd != 1)
		close(lfd);
	if (dup2(fd, 0) < 0 || dup2(fd, 1) < 0)
		_exit(111);
	if (fd > 1)
		close(fd);
	conn->in = 0;
	conn->out = 1;
	conn->in_sock = conn->out_sock = 1;
}

/*
 * admit - a new connection: refused over the limits, else forked.  1 in
 * the child (return to run the session), else 0.
 */
static int
admit(struct super *sv, int lfd, int fd, const sigset_t *old,
    struct conn *conn)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct child *k;
	struct ipaddr ip;
	unsigned port;
	char text[NET_TEXT_MAX] = "";
	pid_t pid;

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    !ip_from_sockaddr(&ss, &ip, &port) ||
	    !ip_text(&ip, text, sizeof text))
		text[0] = '\0';		/* AF_UNIX: no address */
	if (sv->n >= sv->cfg->max_conn) {
		log_event(sv, "overload", "sessions", sv->n, "max-connections",
		    text);
		refuse(fd, "421 4.7.0 too many connections, try again later\r\n");
		return 0;
	}
	k = &sv->kids[sv->n];
	memset(k, 0, sizeof *k);
	if (text[0] != '\0' && !netlist_has(&sv->cfg->proxy_from, text)) {
		k->ip = ip;
		k->counted = 1;
		if (sv->cfg->max_per_ip > 0 &&
		    from_ip(sv, &k->ip) >= sv->cfg->max_per_ip) {
			log_event(sv, "overload", "sessions", from_ip(sv,
			    &k->ip), "max-per-ip", text);
			refuse(fd, "421 4.7.0 too many connections from your "
			    "address, try again later\r\n");
			return 0;
		}
	}
	if ((pid = fork()) == 0) {
		child_setup(lfd, fd, old, conn);
		return 1;
	}
	if (pid < 0) {
		log_event(sv, "fork-failed", NULL, 0, strerror(errno), text);
		refuse(fd, "421 4.3.2 out of resources, try again later\r\n");
		return 0;
	}
	close(fd);
	k->pid = pid;
	sv->n++;
	return 0;
}

/* wait_all - after SIGTERM: the sessions end on their own */
static void
wait_all(struct super *sv)
{
	sigset_t none;

	sigemptyset(&none);
	while (sv->n > 0) {
		reap(sv);
		if (sv->n > 0 && !got_child)
			sigsuspend(&none);
		got_child = 0;
	}
}

/* pause_briefly - after an accept error (EMFILE, ENOBUFS): 100 ms */
static void
pause_briefly(void)
{
	struct timespec ts = { 0, 100000000 };

	nanosleep(&ts, NULL);
}

/*
 * only_on_lfd - handed the listening socket as fd 0 and fd 1 (--inetd,
 * xinetd wait=yes, StandardInput=socket), keep it on lfd alone: else
 * closing lfd at SIGTERM leaves the kernel accepting connections that
 * no one will serve
 */
static void
only_on_lfd(int lfd)
{
	struct stat l, st;
	int fd, nul;

	if (fstat(lfd, &l) < 0)
		return;
	for (fd = 0; fd < 3; fd++) {
		if (fd == lfd || fstat(fd, &st) < 0 || st.st_ino != l.st_ino ||
		    st.st_dev != l.st_dev)
			continue;
		if ((nul = open("/dev/null", O_RDWR)) < 0)
			continue;
		if (nul != fd) {
			dup2(nul, fd);
			close(nul);
		}
	}
}

/*
 * supervise - accept on lfd until SIGTERM; returns only in a child,
 * with conn set to its connection.  The parent exits 0 once every
 * session has ended.
 */
void
supervise(int lfd, const struct config *cfg, struct conn *conn)
{
	static struct child kids[MAX_CONN_CAP];
	struct super sv = { cfg, { 0 }, kids, 0 };
	sigset_t old, none;
	fd_set rd;
	int fd, r;

	unsetenv("LD_BIND_NOW");	/* bound once here (smtpd-fast.service), */
					/* for the children, not for programs */
	log_init(&sv.log, cfg->log_mode, getpid(), "-");
	only_on_lfd(lfd);
	set_signals(&old);
	sigemptyset(&none);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	log_event(&sv, "listening", "max_connections", cfg->max_conn, NULL,
	    NULL);
	while (!got_stop) {
		FD_ZERO(&rd);
		FD_SET(lfd, &rd);
		/*
		 * Reap after every wake-up, whether the handler ran or not:
		 * when a connection is already waiting, pselect() returns
		 * at once and a SIGCHLD it unblocked stays pending, so
		 * under steady load ended sessions would go unreaped and
		 * count against --max-connections.
		 */
		r = pselect(lfd + 1, &rd, NULL, NULL, NULL, &none);
		got_child = 0;
		reap(&sv);
		if (r <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ECONNABORTED)
				pause_briefly();
			continue;
		}
		if (admit(&sv, lfd, fd, &old, conn))
			return;
	}
	close(lfd);
	log_event(&sv, "stopping", "sessions", sv.n, NULL, NULL);
	wait_all(&sv);
	exit(0);
}
