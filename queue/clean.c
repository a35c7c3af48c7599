/*
 * clean.c - tidy the queue: stale tmp/ files, dead claims, stray
 * delivery records.  A tmp/ file untouched for 36 hours was left by a
 * killed smtpd (the Maildir rule), unless it is a report deliver staged
 * for a message still queued (commit.c); a claim no live deliverer holds
 * goes back to new/; a state record with no message, 36 hours old, goes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clean.h"
#include "commit.h"
#include "log.h"

/* log_removed - one line per file removed */
static void
log_removed(enum qwhere w, const char *name, long long age, int e)
{
	struct qlog ql;

	qlog_begin(&ql, e ? "error" : "removed");
	qlog_str(&ql, "dir", qdir_sub[w]);
	qlog_str(&ql, "id", name);
	qlog_num(&ql, "age", (unsigned long long)age);
	if (e)
		qlog_str(&ql, "error", strerror(e));
	qlog_end(&ql);
}

/* clean_dir - remove the stale regular files of tmp/ or state/ */
static int
clean_dir(const struct queue *q, enum qwhere w, long long now)
{
	struct qnames nm;
	struct stat sb;
	long long age;
	size_t i;

	if (qdir_list(q, w, 1, &nm) < 0)
		return -1;
	for (i = 0; i < nm.n; i++) {
		if (fstatat(q->fd[w], nm.v[i], &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		age = now - (long long)sb.st_mtime;
		if (age <= QDIR_STALE_AGE)
			continue;
		if (w == Q_STATE && nm.v[i][0] != '.' &&
		    qdir_exists(q, nm.v[i]))
			continue;
		if (w == Q_TMP && qcommit_wanted(q, nm.v[i]))
			continue;	/* a report its message's retry sends */
		if (unlinkat(q->fd[w], nm.v[i], 0) < 0)
			log_removed(w, nm.v[i], age, errno);
		else
			log_removed(w, nm.v[i], age, 0);
	}
	qdir_names_free(&nm);
	return 0;
}

/* qclean_run - all three chores: 0, or -1 (errno) */
int
qclean_run(const struct queue *q)
{
	long long now = (long long)time(NULL);

	if (qdir_recover_claims(q) < 0)
		return -1;
	if (clean_dir(q, Q_TMP, now) < 0 || clean_dir(q, Q_STATE, now) < 0)
		return -1;
	return 0;
}
