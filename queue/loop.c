/*
 * loop.c - the delivery loop: passes over new/, and --watch.
 * Before each pass the claims of dead deliverers go back to new/.  With
 * --watch, a pass runs whenever inotify says mail arrived, when a
 * deferred message is due, and at least every WATCH_IDLE seconds.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "queuedirs.h"
#include "sbuf.h"

#define WATCH_IDLE	300	/* seconds between passes when idle */

/*
 * pass - one go over new/: 0, or -1 when new/ cannot be read or the
 * command cannot be run.  Deliverers start at different places in the
 * list so that several at once seldom reach for the same file.
 */
static int
pass(const struct queue *q, const struct qdeliver_opts *o, long long *next)
{
	struct qnames nm;
	size_t k, start;
	int r = QD_DONE;

	*next = 0;
	if (qdir_list(q, Q_NEW, 0, &nm) < 0) {
		qlog_error(NULL, "read new/", errno);
		return -1;
	}
	qdir_names_sort(&nm);
	start = nm.n > 0 ? (size_t)getpid() * 7919 % nm.n : 0;
	for (k = 0; k < nm.n && r != QD_STOP; k++)
		r = qdeliver_one(q, o, nm.v[(start + k) % nm.n], next);
	qdir_names_free(&nm);
	return r == QD_STOP ? -1 : 0;
}

/* wait_mail - until something arrives in new/ or the timeout (s) */
static void
wait_mail(int ifd, long long timeout)
{
	struct pollfd pfd = { ifd, POLLIN, 0 };
	char buf[4096];

	if (timeout > WATCH_IDLE)
		timeout = WATCH_IDLE;
	if (timeout < 0)
		timeout = 0;
	if (poll(&pfd, 1, (int)(timeout * 1000)) > 0)
		while (read(ifd, buf, sizeof buf) > 0)
			;
}

/* watch - a pass whenever mail arrives or deferred mail is due */
static int
watch(const struct queue *q, const struct qdeliver_opts *o)
{
	char path[PATH_MAX];
	struct sbuf sb;
	long long next, wait;
	int ifd;

	sb_init(&sb, path, sizeof path);
	sb_str(&sb, q->path);
	sb_str(&sb, "/" QUEUEDIR_NEW);
	if (sb.overflow)
		errno = ENAMETOOLONG;
	ifd = sb.overflow ? -1 : inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0 || inotify_add_watch(ifd, path, IN_MOVED_TO | IN_CREATE |
	    IN_ONLYDIR) < 0) {
		qlog_error(NULL, "watch new/", errno);
		if (ifd >= 0)
			close(ifd);
		return -1;
	}
	for (;;) {
		(void)qdir_recover_claims(q);
		if (pass(q, o, &next) < 0)
			wait = o->backoff > 5 ? (long long)o->backoff : 5;
		else
			wait = next == 0 ? WATCH_IDLE : next - time(NULL);
		wait_mail(ifd, wait);
	}
}

/*
 * qloop_run - give back dead claims, then one pass (or, with
 * --watch, passes for ever): 0, or -1 if the queue or command failed
 */
int
qloop_run(const struct queue *q, const struct qdeliver_opts *o)
{
	long long next;

	if (o->watch)
		return watch(q, o);
	(void)qdir_recover_claims(q);
	return pass(q, o, &next);
}
