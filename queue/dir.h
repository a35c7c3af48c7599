/*
 * dir.h - the queue's directories and the moves between them.
 * new/ (smtpd), claim/ (being delivered, locked by its deliverer),
 * failed/, corrupt/, state/ (delivery records), tmp/ (smtpd), hold/
 * (held by the operator); their names are lib/queuedirs.h's.  The
 * layer every command stands on.
 */
#ifndef QUEUE_DIR_H
#define QUEUE_DIR_H

#include <stddef.h>

/* a tmp/ file (or stray record) this old was left behind: Maildir's rule */
#define QDIR_STALE_AGE	(36 * 3600)

enum qwhere {
	Q_NEW, Q_CLAIM, Q_FAILED, Q_CORRUPT, Q_STATE, Q_TMP, Q_HOLD, Q__DIRS
};

enum qclaim {			/* qdir_claim results, besides -1 */
	QCLAIM_OK = 0,		/* claimed: in claim/, fd locked */
	QCLAIM_BUSY,		/* gone, or another deliverer has it */
	QCLAIM_LINK		/* a symbolic link, not a queue file */
};

enum qlock {			/* qdir_lock results, besides -1 */
	QLOCK_OK = 0,		/* fd open and locked until closed */
	QLOCK_GONE,		/* no such file there */
	QLOCK_BUSY,		/* another process holds its lock */
	QLOCK_LINK		/* a symbolic link, not a queue file */
};

struct queue {
	const char *path;
	int	 root;		/* the queue directory itself */
	int	 fd[Q__DIRS];	/* -1 when the directory does not exist */
};

struct qnames {
	char	**v;
	size_t	 n, cap;
};

extern const char *const qdir_sub[Q__DIRS];

int	 qdir_open(struct queue *, const char *, int);
void	 qdir_close(struct queue *);
int	 qdir_name_ok(const char *);
int	 qdir_list(const struct queue *, enum qwhere, int, struct qnames *);
void	 qdir_names_sort(struct qnames *);
void	 qdir_names_free(struct qnames *);
int	 qdir_claim(const struct queue *, const char *, int *);
int	 qdir_lock(const struct queue *, enum qwhere, const char *, int *);
int	 qdir_recover_claims(const struct queue *);
int	 qdir_move(const struct queue *, const char *, enum qwhere,
	    enum qwhere, int);
int	 qdir_remove(const struct queue *, enum qwhere, const char *);
int	 qdir_find(const struct queue *, const char *, enum qwhere *);
int	 qdir_exists(const struct queue *, const char *);

#endif
