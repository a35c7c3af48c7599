/*
 * smtpd.c - entry point: the process around one session.  Settles the
 * standard fds and privileges, finds the client's connection (fd 0/1,
 * or systemd's fd 3), refuses root on a socket, then runs the session
 * on it (options.c reads the command line, peer.c names the client).
 * Handed a listening socket instead, it becomes the supervisor that
 * accepts and forks the sessions (supervise.c).
 * Exit: 0 after QUIT, 1 client error or timeout, 100 usage, 111 our
 * side failed.  Does no DNS and reads no locale; execs only the
 * operator's policy programs (hook.c).
 */
#include <sys/resource.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "peer.h"
#include "sdglue.h"
#include "session.h"
#include "supervise.h"

/*
 * guard_std_fds - make sure 0, 1, 2 are open, so no file lands there;
 * st[] says what each is (one fstat each, for quiet_stderr and
 * client_fds too).
 */
static void
guard_std_fds(struct stat st[3])
{
	int fd;

	for (fd = 0; fd < 3; fd++)
		if (fstat(fd, &st[fd]) < 0 &&
		    (open("/dev/null", O_RDWR) != fd || fstat(fd, &st[fd]) < 0))
			exit(111);
}

/*
 * client_fds - fd 0 and fd 1, or fd 3 for both when systemd passed the
 * connection (Accept=yes without StandardInput=socket); st[] is what
 * fds 0-2 are.  A listening socket there instead (Accept=no, xinetd
 * wait=yes): its fd, for supervise(); else -1.
 */
static int
client_fds(struct conn *c, const struct stat st[3])
{
	struct sdglue sd;
	int fd;

	memset(&sd, 0, sizeof sd);
	c->in = 0;
	c->out = 1;
	c->in_sock = S_ISSOCK(st[0].st_mode);
	c->out_sock = S_ISSOCK(st[1].st_mode);
	fd = sdglue_listen_fd(&sd);
	if (fd == -2)
		die_usage("LISTEN_FDS: expected exactly one socket", NULL);
	if (fd >= 0) {
		c->in = c->out = fd;
		c->in_sock = c->out_sock = io_is_socket(fd);
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	}
	return c->in_sock && io_is_listening(c->in) ? c->in : -1;
}

/*
 * drop_privileges - become user (setgroups, setgid, setuid, each
 * checked, in that order) before any client byte is read.
 */
static void
drop_privileges(const char *user)
{
	struct passwd *pw;
	gid_t gid;

	if ((pw = getpwnam(user)) == NULL)
		die_usage("--user: no such user", user);
	gid = pw->pw_gid;
	if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid &&
	    getgid() == gid && getegid() == gid)
		return;				/* already that user */
	if (setgroups(1, &gid) < 0 || setgid(gid) < 0 ||
	    setuid(pw->pw_uid) < 0 || (pw->pw_uid != 0 && setuid(0) == 0))
		fatal(111, "unable to become user", user, "");
}

/*
 * refuse_root - a network client's octets are never parsed as root by
 * accident: on a socket, uid 0 (after --user) needs --allow-root or
 * SMTPD_ALLOW_ROOT=1.  Pipes and files (transcripts) are not clients.
 */
static void
refuse_root(const struct config *cfg, const struct conn *conn)
{
	const char *env = getenv("SMTPD_ALLOW_ROOT");

	if (!conn->in_sock || geteuid() != 0 || cfg->allow_root ||
	    (env != NULL && strcmp(env, "1") == 0))
		return;
	fatal(EXIT_USAGE, "refusing to run a network session as root",
	    NULL, "smtpd: use --user NAME (or the launcher's user setting), "
	    "or --allow-root\n(env SMTPD_ALLOW_ROOT=1) if root is meant\n");
}

/* same_file - do two fstat results name the same file (or socket)? */
static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/*
 * quiet_stderr - xinetd gives the client's socket as fd 2 too: anything
 * written there (a complaint about an option, a usage text) would reach the
 * client.  Put /dev/null there; logs then go to syslog.  1 if it did.
 */
static int
quiet_stderr(const struct stat st[3])
{
	int fd;

	if (!S_ISSOCK(st[2].st_mode) || (!same_file(&st[1], &st[2]) &&
	    !same_file(&st[0], &st[2])))
		return 0;
	if ((fd = open("/dev/null", O_WRONLY | O_CLOEXEC)) >= 0) {
		dup2(fd, 2);
		close(fd);
	}
	return 1;
}

/*
 * no_core_dumps - a process that holds passwords (AUTH) must not leave
 * them in a core file, nor let another process of its user ptrace it
 */
static void
no_core_dumps(void)
{
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fatal(111, "prctl(PR_SET_DUMPABLE) failed", NULL, "");
#else
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		fatal(111, "setrlimit(RLIMIT_CORE) failed", NULL, "");
#endif
}

/*
 * take_proxy - a --proxy-from peer's PROXY header, before anything
 * else; when it is missing or bad, one log record, no greeting
 */
static int
take_proxy(struct client *c, const struct conn *conn,
    const struct config *cfg)
{
	struct logger lg;
	struct logline ll;
	const char *why;

	if (peer_take_proxy(c, conn, cfg, &why) == 0)
		return 0;
	log_init(&lg, cfg->log_mode, getpid(), c->ip);
	log_begin(&lg, &ll, "proxy-failed");
	log_str(&ll, "reason", why);
	log_end(&lg, &ll);
	return -1;
}

/*
 * session_child_exit - a session forked by the supervisor ends without
 * exit()'s handlers: the libraries the supervisor had loaded (libsystemd
 * for the journal) would run their destructors, and fault their pages
 * in, in every child.  Sanitizer builds keep exit() for the leak check.
 */
static void
session_child_exit(int rc)
{
#if !defined(__SANITIZE_ADDRESS__)
	_exit(rc);
#else
	(void)rc;
#endif
}

/* load_lists - read --domains and open --recipients; 0, or refused */
static int
load_lists(struct config *cfg, struct session *s, const char **files)
{
	if (files[0] != NULL && policy_load_domains(&cfg->domains,
	    files[0]) < 0)
		return session_refuse(s, files[0], "domains", errno);
	if (files[1] != NULL && rcptlist_open(&cfg->rcpts, files[1]) < 0)
		return session_refuse(s, files[1], "recipients", errno);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct config cfg;
	static struct client client;
	static struct session s;
	const char *files[3] = { NULL, NULL, NULL };
	struct stat std[3];
	struct conn conn;
	int rc, quiet, lfd;

	guard_std_fds(std);
	quiet = quiet_stderr(std);
	signal(SIGPIPE, SIG_IGN);	/* EPIPE comes back from write */
	signal(SIGXFSZ, SIG_IGN);	/* EFBIG too: a 451, not a death */
	umask(027);
	config_defaults(&cfg);
	parse_options(argc, argv, &cfg, files);
	if (quiet)
		cfg.log_mode = LOGMODE_SYSLOG;
	tls_open_files(&cfg.tls);	/* the key may be root's alone */
	if (cfg.auth_backend != NULL)
		no_core_dumps();	/* passwords will pass through */
	if (files[2] != NULL)
		drop_privileges(files[2]);
	if (cfg.hostname[0] == '\0')
		default_hostname(&cfg);
	lfd = client_fds(&conn, std);
	refuse_root(&cfg, &conn);
	if (lfd >= 0)			/* returns in each session's child */
		supervise(lfd, &cfg, &conn);
	if (cfg.lf && conn.in_sock)
		die_usage("--lf is for transcripts, not network clients",
		    NULL);
	identify_client(&client, &conn, &cfg);
	if (client.proxy_expected && take_proxy(&client, &conn, &cfg) < 0)
		return 1;
	session_init(&s, &cfg, &client, &conn);
	if ((rc = load_lists(&cfg, &s, files)) == 0)
		rc = session_run(&s);
	session_free(&s);
	if (files[0] != NULL)		/* else nothing to free: no free() */
		policy_free_domains(&cfg.domains);
	if (files[1] != NULL)
		rcptlist_close(&cfg.rcpts);
	if (lfd >= 0)
		session_child_exit(rc);
	return rc;
}
