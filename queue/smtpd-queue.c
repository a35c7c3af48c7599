/*
 * smtpd-queue.c - entry point: look into smtpd's queue and deliver it.
 * Commands list, show, cat, deliver, clean, stats, requeue, hold,
 * release; options, the exit status, and the one place where errors
 * become messages.  Never runs a shell; never changes how smtpd writes
 * its files.
 * Exit: 0 done, 1 no such message, 100 usage, 111 temporary failure.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clean.h"
#include "loop.h"
#include "msg.h"
#include "requeue.h"
#include "show.h"
#include "sbuf.h"

#define VERSION		"0.1.0"
#define DEFAULT_QUEUE	"/var/spool/smtpd"	/* as smtpd's, config.h */
#define EXIT_NOTFOUND	1
#define EXIT_USAGE	100
#define EXIT_TEMP	111

static const char usage_text[] =
"usage: smtpd-queue [--queue DIR] COMMAND [options]\n"
"  list [--json] [--failed]   one line per message (--failed: failed/, "
"corrupt/)\n"
"  show ID                    the envelope and the delivery record\n"
"  cat ID [--lf]              the message alone (--lf: LF line ends)\n"
"  deliver --command 'CMD ...' [options]   hand each due message to CMD:\n"
"    CMD -f SENDER -- RCPT..., or CMD with %s (sender) and %r "
"(recipients)\n"
"    %t in CMD: yes or no, the message's REQUIRETLS (RFC 8689; also env\n"
"    REQUIRETLS=yes): then deliver over verified TLS only, or fail\n"
"    %a in CMD: the AUTH= mailbox to pass on (RFC 4954), else <> (env\n"
"    AUTH_PARAM; AUTH_USER: who authenticated to smtpd)\n"
"    env BODY: the message's BODY= (7BIT, 8BITMIME, BINARYMIME: any octet,\n"
"    given as stored, even without --crlf)\n"
"    --per-recipient          one run per recipient (env SENDER, "
"RECIPIENT)\n"
"    --crlf                   CRLF line ends on stdin (default LF)\n"
"    --dsn notify,ret,envid   pass NOTIFY, RET, ENVID as -N, -R, -V\n"
"    --timeout SECONDS        per run of CMD (default 600)\n"
"    --backoff SECONDS        first retry delay (default 300), then "
"doubled\n"
"    --backoff-max SECONDS    longest retry delay (default 14400)\n"
"    --max-age SECONDS        then a deferred message fails "
"(default 432000)\n"
"    --force                  ignore retry times\n"
"    --watch                  keep going: deliver as mail arrives "
"(inotify)\n"
"    --no-bounce              write no delivery reports (DSNs) to "
"senders\n"
"    --final                  CMD delivers into mailboxes: report "
"NOTIFY=SUCCESS\n"
"    --warn-after SECONDS     warn the sender once of a delay "
"(default: never)\n"
"    --hostname NAME          in reports (default: the host name)\n"
"  clean                      remove tmp/ files older than 36 h, give "
"back\n"
"                             dead claims\n"
"  stats [--json]             counts per queue directory\n"
"  stats --prometheus [FILE]  the same for Prometheus (FILE: written\n"
"                             atomically, for node_exporter)\n"
"  requeue ID...|--all-failed failed messages back to new/, record reset\n"
"  hold ID...                 keep queued messages from delivery\n"
"  release ID...              let held messages be delivered again\n"
"The queue: --queue, else env SMTPD_QUEUE, else " DEFAULT_QUEUE ".\n"
"Exit: 0 done, 1 no such message, 100 usage, 111 temporary failure.\n";

enum {
	OPT_QUEUE = 256, OPT_JSON, OPT_FAILED, OPT_LF, OPT_COMMAND,
	OPT_PER_RCPT, OPT_CRLF, OPT_DSN, OPT_TIMEOUT, OPT_BACKOFF,
	OPT_BACKOFF_MAX, OPT_MAX_AGE, OPT_FORCE, OPT_WATCH, OPT_NO_BOUNCE,
	OPT_FINAL, OPT_WARN_AFTER, OPT_HOSTNAME, OPT_HELP, OPT_VERSION
};

/*
 * the options of the queue operations, numbered apart from the list
 * above so that an option added there never takes their values
 */
enum { OPT_ALL_FAILED = OPT_QUEUE + 24, OPT_PROMETHEUS };

#define BIT(o)		(1u << ((o) - OPT_QUEUE))
#define DELIVER_OPTS	(BIT(OPT_COMMAND) | BIT(OPT_PER_RCPT) | \
	BIT(OPT_CRLF) | BIT(OPT_DSN) | BIT(OPT_TIMEOUT) | BIT(OPT_BACKOFF) | \
	BIT(OPT_BACKOFF_MAX) | BIT(OPT_MAX_AGE) | BIT(OPT_FORCE) | \
	BIT(OPT_WATCH) | BIT(OPT_NO_BOUNCE) | BIT(OPT_FINAL) | \
	BIT(OPT_WARN_AFTER) | BIT(OPT_HOSTNAME))

static const struct option long_options[] = {
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "failed", no_argument, NULL, OPT_FAILED },
	{ "all-failed", no_argument, NULL, OPT_ALL_FAILED },
	{ "prometheus", no_argument, NULL, OPT_PROMETHEUS },
	{ "lf", no_argument, NULL, OPT_LF },
	{ "command", required_argument, NULL, OPT_COMMAND },
	{ "per-recipient", no_argument, NULL, OPT_PER_RCPT },
	{ "crlf", no_argument, NULL, OPT_CRLF },
	{ "dsn", required_argument, NULL, OPT_DSN },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "backoff", required_argument, NULL, OPT_BACKOFF },
	{ "backoff-max", required_argument, NULL, OPT_BACKOFF_MAX },
	{ "max-age", required_argument, NULL, OPT_MAX_AGE },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "watch", no_argument, NULL, OPT_WATCH },
	{ "no-bounce", no_argument, NULL, OPT_NO_BOUNCE },
	{ "final", no_argument, NULL, OPT_FINAL },
	{ "warn-after", required_argument, NULL, OPT_WARN_AFTER },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* what the command line asked for */
struct args {
	const char *queue;
	const struct command *cmd;
	const char *id;
	unsigned given;			/* BIT() of each option seen */
	int	 json, failed, lf;
	const char **ids;		/* requeue, hold, release: ID... */
	size_t	 nids;
	const char *file;		/* stats --prometheus FILE */
	struct qdeliver_opts d;
};

#define ARGS_IDS	2		/* nargs: ID... */
#define ARGS_FILE	3		/* nargs: [FILE] */

struct command {
	const char *name;
	int	 nargs;			/* none, an ID, ARGS_IDS, ARGS_FILE */
	int	 create;		/* make our queue directories */
	unsigned opts;			/* the options it takes */
	int	(*run)(const struct args *, const struct queue *);
};

/* die_usage - a bad command line: say why, exit 100 */
static void
die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "smtpd-queue: fatal: %s%s%s\n%s", what,
	    arg != NULL ? ": " : "", arg != NULL ? arg : "", usage_text);
	exit(EXIT_USAGE);
}

/* die_temp - our side failed: say why, exit 111 */
static void
die_temp(const char *what, const char *arg, int e)
{
	fprintf(stderr, "smtpd-queue: fatal: %s %s: %s\n", what, arg,
	    strerror(e));
	exit(EXIT_TEMP);
}

/* parse_number - a decimal number in [min, max], or die */
static unsigned long
parse_number(const char *s, unsigned long min, unsigned long max,
    const char *what)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p == '\0')
		die_usage(what, s);
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' ||
		    v > (max - (unsigned long)(*p - '0')) / 10)
			die_usage(what, s);
		v = v * 10 + (unsigned long)(*p - '0');
	}
	if (v < min)
		die_usage(what, s);
	return v;
}

/* parse_dsn - "notify,ret,envid" (any of them), or "all" */
static unsigned
parse_dsn(const char *s)
{
	static const struct { const char *name; unsigned bit; } words[] = {
		{ "notify", QDSN_NOTIFY }, { "ret", QDSN_RET },
		{ "envid", QDSN_ENVID },
		{ "all", QDSN_NOTIFY | QDSN_RET | QDSN_ENVID },
	};
	unsigned bits = 0;
	size_t i, n;
	const char *p = s;

	while (*p != '\0') {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof words / sizeof words[0]; i++)
			if (strlen(words[i].name) == n &&
			    strncmp(words[i].name, p, n) == 0)
				break;
		if (i == sizeof words / sizeof words[0])
			die_usage("--dsn takes notify, ret, envid or all", s);
		bits |= words[i].bit;
		p += n + (p[n] == ',');
	}
	return bits;
}

/* parse_hostname - a host name for reports: letters, digits, '-', '.' */
static const char *
parse_hostname(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.");

	if (n == 0 || s[n] != '\0' || n > 253 || s[0] == '.' || s[0] == '-')
		die_usage("--hostname takes a domain name", s);
	return s;
}

/* command_found - can execvp find and run prog? */
static int
command_found(const char *prog)
{
	const char *path = getenv("PATH"), *p;
	char buf[PATH_MAX];
	struct sbuf sb;
	size_t n;

	if (strchr(prog, '/') != NULL)
		return access(prog, X_OK) == 0;
	for (p = path != NULL ? path : "/bin:/usr/bin"; ; p += n + 1) {
		n = strcspn(p, ":");
		sb_init(&sb, buf, sizeof buf);
		sb_add(&sb, n > 0 ? p : ".", n > 0 ? n : 1);
		sb_str(&sb, "/");
		sb_str(&sb, prog);
		if (!sb.overflow && access(buf, X_OK) == 0)
			return 1;
		if (p[n] == '\0')
			return 0;
	}
}

/* cmd_list - list [--json] [--failed] */
static int
cmd_list(const struct args *a, const struct queue *q)
{
	if (qshow_list(q, a->failed, a->json) < 0)
		die_temp("cannot list", q->path, errno);
	return 0;
}

/* cmd_show - show ID */
static int
cmd_show(const struct args *a, const struct queue *q)
{
	int r = qshow_show(q, a->id);

	if (r < 0)
		die_temp("cannot read", a->id, errno);
	if (r == QSHOW_NOTFOUND)
		fprintf(stderr, "smtpd-queue: %s: no such message\n", a->id);
	return r == QSHOW_NOTFOUND ? EXIT_NOTFOUND : 0;
}

/* cmd_cat - cat ID [--lf] */
static int
cmd_cat(const struct args *a, const struct queue *q)
{
	char why[QMSG_WHY_MAX];
	int r;

	fflush(stdout);
	if ((r = qshow_cat(q, a->id, a->lf, why, sizeof why)) < 0)
		die_temp("cannot copy", a->id, errno);
	if (r == QSHOW_NOTFOUND)
		fprintf(stderr, "smtpd-queue: %s: no such message\n", a->id);
	if (r == QSHOW_BAD)
		fprintf(stderr, "smtpd-queue: %s: not a queue file: %s\n",
		    a->id, why);
	return r == QSHOW_OK ? 0 : EXIT_NOTFOUND;
}

/* cmd_deliver - deliver --command CMD [...] */
static int
cmd_deliver(const struct args *a, const struct queue *q)
{
	return qloop_run(q, &a->d) < 0 ? EXIT_TEMP : 0;
}

/* cmd_clean - clean */
static int
cmd_clean(const struct args *a, const struct queue *q)
{
	(void)a;
	if (qclean_run(q) < 0)
		die_temp("cannot clean", q->path, errno);
	return 0;
}

/* cmd_stats - stats [--json], stats --prometheus [FILE] */
static int
cmd_stats(const struct args *a, const struct queue *q)
{
	if (qshow_stats(q, a->json, (a->given & BIT(OPT_PROMETHEUS)) != 0,
	    a->file) < 0)
		die_temp(a->file != NULL ? "cannot write" : "cannot count",
		    a->file != NULL ? a->file : q->path, errno);
	return 0;
}

/*
 * move_result - say what became of one requeue, hold or release: its
 * exit status (0, 1 not there, 111 busy or failed)
 */
static int
move_result(const char *id, int r, enum qwhere where, enum qwhere from,
    const char *verb)
{
	int e = errno;

	if (r == QOP_OK)
		return 0;
	fprintf(stderr, "smtpd-queue: %s: ", id);
	if (r == QOP_NOTFOUND)
		fputs("no such message\n", stderr);
	else if (r == QOP_ELSEWHERE)
		fprintf(stderr, "not in %s/ (it is in %s/)\n", qdir_sub[from],
		    qdir_sub[where]);
	else if (r == QOP_BUSY)
		fputs("being delivered or moved: try again\n", stderr);
	else if (r == QOP_BAD)
		fputs("not a queue file\n", stderr);
	else
		fprintf(stderr, "cannot %s: %s\n", verb, strerror(e));
	return r == QOP_BUSY || r < 0 ? EXIT_TEMP : EXIT_NOTFOUND;
}

/* cmd_move - requeue, hold or release each ID: the worst exit status */
static int
cmd_move(const struct args *a, const struct queue *q, enum qop op,
    enum qwhere from, const char *verb)
{
	enum qwhere where = from;
	size_t i;
	int r, rc = 0, one;

	for (i = 0; i < a->nids; i++) {
		r = qrequeue_one(q, op, a->ids[i], &where);
		if ((one = move_result(a->ids[i], r, where, from, verb)) > rc)
			rc = one;
	}
	return rc;
}

/* cmd_requeue - requeue ID..., requeue --all-failed */
static int
cmd_requeue(const struct args *a, const struct queue *q)
{
	struct qnames nm;
	enum qwhere where;
	size_t i;
	int r, rc = 0, one;

	if (!(a->given & BIT(OPT_ALL_FAILED)))
		return cmd_move(a, q, QOP_REQUEUE, Q_FAILED, "requeue");
	if (qdir_list(q, Q_FAILED, 0, &nm) < 0)
		die_temp("cannot read", "failed/", errno);
	qdir_names_sort(&nm);
	for (i = 0; i < nm.n; i++) {	/* gone meanwhile: not an error */
		r = qrequeue_one(q, QOP_REQUEUE, nm.v[i], &where);
		if (r != QOP_NOTFOUND && r != QOP_ELSEWHERE &&
		    (one = move_result(nm.v[i], r, where, Q_FAILED,
		    "requeue")) > rc)
			rc = one;
	}
	qdir_names_free(&nm);
	return rc;
}

/* cmd_hold - hold ID... */
static int
cmd_hold(const struct args *a, const struct queue *q)
{
	return cmd_move(a, q, QOP_HOLD, Q_NEW, "hold");
}

/* cmd_release - release ID... */
static int
cmd_release(const struct args *a, const struct queue *q)
{
	return cmd_move(a, q, QOP_RELEASE, Q_HOLD, "release");
}

static const struct command commands[] = {
	{ "list", 0, 0, BIT(OPT_JSON) | BIT(OPT_FAILED), cmd_list },
	{ "show", 1, 0, 0, cmd_show },
	{ "cat", 1, 0, BIT(OPT_LF), cmd_cat },
	{ "deliver", 0, 1, DELIVER_OPTS, cmd_deliver },
	{ "clean", 0, 1, 0, cmd_clean },
	{ "stats", ARGS_FILE, 0, BIT(OPT_JSON) | BIT(OPT_PROMETHEUS),
	    cmd_stats },
	{ "requeue", ARGS_IDS, 1, BIT(OPT_ALL_FAILED), cmd_requeue },
	{ "hold", ARGS_IDS, 1, 0, cmd_hold },
	{ "release", ARGS_IDS, 1, 0, cmd_release },
};

/* positional - the command name, then its ID */
static void
positional(struct args *a, const char *arg)
{
	size_t i;

	if (a->cmd == NULL) {
		for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
			if (strcmp(arg, commands[i].name) == 0)
				a->cmd = &commands[i];
		if (a->cmd == NULL)
			die_usage("unknown command", arg);
	} else if (a->id == NULL && a->cmd->nargs == 1)
		a->id = arg;
	else if (a->cmd->nargs == ARGS_IDS)
		a->ids[a->nids++] = arg;	/* room for all of argv */
	else if (a->file == NULL && a->cmd->nargs == ARGS_FILE)
		a->file = arg;
	else
		die_usage("unexpected argument", arg);
}

/* deliver_option - the options of deliver */
static void
deliver_option(struct qdeliver_opts *d, int c, const char *arg)
{
	const char *why;

	switch (c) {
	case OPT_COMMAND:
		if (qcmd_parse(&d->cmd, arg, &why) < 0)
			die_usage(why, arg);
		break;
	case OPT_PER_RCPT:
		d->per_rcpt = 1;
		break;
	case OPT_CRLF:
		d->crlf = 1;
		break;
	case OPT_DSN:
		d->dsn = parse_dsn(arg);
		break;
	case OPT_TIMEOUT:
		d->timeout = (unsigned)parse_number(arg, 1, 86400, "--timeout");
		break;
	case OPT_BACKOFF:
		d->backoff = parse_number(arg, 1, 86400, "--backoff");
		break;
	case OPT_BACKOFF_MAX:
		d->backoff_max = parse_number(arg, 1, 86400, "--backoff-max");
		break;
	case OPT_MAX_AGE:
		d->max_age = parse_number(arg, 0, 366 * 86400ul, "--max-age");
		break;
	case OPT_FORCE:
		d->force = 1;
		break;
	case OPT_NO_BOUNCE:
		d->no_bounce = 1;
		break;
	case OPT_FINAL:
		d->final = 1;
		break;
	case OPT_WARN_AFTER:
		d->warn_after = parse_number(arg, 1, 366 * 86400ul,
		    "--warn-after");
		break;
	case OPT_HOSTNAME:
		d->hostname = parse_hostname(arg);
		break;
	default:	/* OPT_WATCH */
		d->watch = 1;
	}
}

/* option - one option; which ones a command takes is checked later */
static void
option(struct args *a, int c, const char *arg)
{
	if (c == OPT_ALL_FAILED || c == OPT_PROMETHEUS) {
		a->given |= BIT(c);	/* the queue operations' flags */
		return;
	}
	if (c == OPT_HELP) {
		fputs(usage_text, stdout);
		exit(0);
	}
	if (c == OPT_VERSION) {
		puts("smtpd-queue " VERSION);
		exit(0);
	}
	if (c < OPT_QUEUE || c >= OPT_HELP)
		die_usage("bad option", NULL);
	a->given |= BIT(c);
	if (c == OPT_QUEUE)
		a->queue = arg;
	else if (c == OPT_JSON)
		a->json = 1;
	else if (c == OPT_FAILED)
		a->failed = 1;
	else if (c == OPT_LF)
		a->lf = 1;
	else
		deliver_option(&a->d, c, arg);
}

/* check_ops_args - the arguments of requeue, hold, release, stats */
static void
check_ops_args(const struct args *a)
{
	int all = (a->given & BIT(OPT_ALL_FAILED)) != 0;

	if (a->cmd->nargs == ARGS_IDS && (a->nids == 0) == !all)
		die_usage(all ? "IDs or --all-failed, not both" :
		    "which messages? (IDs)", a->cmd->name);
	if (a->file != NULL && !(a->given & BIT(OPT_PROMETHEUS)))
		die_usage("a file only for stats --prometheus", a->file);
	if (a->json && (a->given & BIT(OPT_PROMETHEUS)))
		die_usage("--json or --prometheus, not both", NULL);
}

/* check_args - the command got what it needs and nothing else */
static void
check_args(struct args *a)
{
	struct qdeliver_opts *d = &a->d;

	if (a->cmd == NULL)
		die_usage("no command", NULL);
	if ((a->given & ~(a->cmd->opts | BIT(OPT_QUEUE))) != 0)
		die_usage("option not for this command", a->cmd->name);
	if (a->cmd->nargs == 1 && a->id == NULL)
		die_usage("which message? (an ID)", a->cmd->name);
	check_ops_args(a);
	if (a->cmd->run != cmd_deliver)
		return;
	if (!(a->given & BIT(OPT_COMMAND)))
		die_usage("deliver needs --command", NULL);
	if (!command_found(d->cmd.word[0]))
		die_usage("command not found", d->cmd.word[0]);
	if (d->cmd.placeholders && d->dsn != 0)
		die_usage("--dsn needs the sendmail form (no %s or %r)", NULL);
	if (d->backoff_max < d->backoff)
		die_usage("--backoff-max is less than --backoff", NULL);
	if (d->final && (d->dsn & QDSN_NOTIFY))
		die_usage("--final (the command delivers) and --dsn notify "
		    "(it relays, and reports) exclude each other", NULL);
}

/* parse_args - the whole command line, or die */
static void
parse_args(int argc, char **argv, struct args *a)
{
	int c;

	memset(a, 0, sizeof *a);
	if ((a->ids = calloc((size_t)argc, sizeof *a->ids)) == NULL)
		die_temp("cannot parse", "arguments", errno);
	a->queue = getenv("SMTPD_QUEUE");
	if (a->queue == NULL || a->queue[0] == '\0')
		a->queue = DEFAULT_QUEUE;
	a->d.timeout = 600;
	a->d.backoff = 300;
	a->d.backoff_max = 14400;
	a->d.max_age = 432000;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "-", long_options, NULL)) != -1) {
		if (c == 1)
			positional(a, optarg);
		else if (c == '?' || c == ':')
			die_usage("bad option", argv[optind - 1]);
		else
			option(a, c, optarg);
	}
	check_args(a);
}

/*
 * become_owner - root moving messages (requeue, hold, release) becomes
 * the queue's owner first, so that what it writes (records, hold/)
 * stays readable and writable for the deliverers
 */
static void
become_owner(const struct args *a)
{
	struct stat sb;

	if ((a->cmd->run != cmd_requeue && a->cmd->run != cmd_hold &&
	    a->cmd->run != cmd_release) || geteuid() != 0)
		return;
	if (stat(a->queue, &sb) < 0 || sb.st_uid == 0)
		return;		/* root's queue, or none: qdir_open says */
	if (setgroups(0, NULL) < 0 || setgid(sb.st_gid) < 0 ||
	    setuid(sb.st_uid) < 0)
		die_temp("cannot become the owner of", a->queue, errno);
}

/* std_fds - make sure fds 0, 1 and 2 are open, so pipes never get them */
static void
std_fds(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		(void)fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
}

int
main(int argc, char **argv)
{
	struct args a;
	struct queue q;
	int rc;

	std_fds();
	umask(027);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGCHLD, SIG_DFL);	/* waitpid must see our children */
	parse_args(argc, argv, &a);
	become_owner(&a);
	if (qdir_open(&q, a.queue, a.cmd->create) < 0)
		die_temp("cannot open the queue", a.queue, errno);
	rc = a.cmd->run(&a, &q);
	qdir_close(&q);
	free(a.ids);
	if (fflush(stdout) == EOF || ferror(stdout))
		die_temp("cannot write to", "stdout", errno ? errno : EIO);
	return rc;
}
