/*
 * milters.h - the session's mail filters (--milter): each stage of the
 * session asked of every filter in order, the filters' answers folded
 * into one outcome, and a broken filter turned into
 * --milter-default-action.  Returns outcomes; never replies: the
 * session does, through the reply table.
 */
#ifndef MILTERS_H
#define MILTERS_H

#include "config.h"
#include "log.h"
#include "milter.h"
#include "spool.h"
#include "tlsio.h"

#define MILTER_HEADER_MAX	65536	/* a header sent whole, cap: */
					/* longer ones are cut */
#define MILTER_LINE_MAX		500	/* a REPLYCODE line's text, cap */

/* what the filters say of a stage, folded */
enum milter_outcome {
	MO_CONTINUE = 0,	/* go on */
	MO_REJECT,		/* a filter said REJECT */
	MO_TEMPFAIL,		/* a filter said TEMPFAIL */
	MO_REPLYCODE,		/* a filter gave its own checked reply */
	MO_DISCARD,		/* 250 to the client, nothing queued */
	MO_FAILED_TEMP,		/* a filter broke: default tempfail */
	MO_FAILED_REJECT	/* a filter broke: default reject */
};

/* a filter's own reply, checked (milter_parse_text), copied */
struct milter_text {
	unsigned code;
	char	 esc[16];		/* "" when the filter gave none */
	unsigned nlines;
	char	 line[MILTER_TEXT_LINES][MILTER_LINE_MAX + 1];
};

/* the session facts the filters are sent (as macros and commands) */
struct milter_facts {
	const struct config *cfg;
	const struct client *client;
	const char *helo;
	const struct tls_info *tls;
	const char *auth_user;		/* "" unless AUTH succeeded */
	const char *auth_mech;		/* and its mechanism */
	const char *mail_addr;		/* the sender, "" before MAIL */
	const char *queue_id;		/* "" before DATA */
};

struct msg_edits;

struct milter_set {
	unsigned n;			/* configured filters */
	struct milter m[MILTER_MAX];
	unsigned char live[MILTER_MAX];	/* connected and wanted */
	unsigned char done[MILTER_MAX];	/* ACCEPT: not asked again in */
					/* this transaction */
	int	 failed;		/* MILTER_DEFAULT_* of a broken */
					/* filter, 0: none */
	int	 skip_body;		/* the filter said SKIP */
	struct msg_edits *edits;	/* at EOB: the changes asked for */
	int	 quarantine;		/* QUARANTINE: commit into hold/ */
	char	 quarantine_why[128];	/* its reason, for the log */
	int	 no_rcpt;		/* the changes deleted every */
					/* recipient: the message is dropped */
	uint32_t wanted[MILTER_MAX][MILTER_MACRO_STAGES];  /* a filter's */
	unsigned wanted_given[MILTER_MAX];  /* own lists, and their stages */
	struct logger *log;
	const struct config *cfg;
	struct milter_text text;	/* of the last MO_REPLYCODE */
};

void	 milters_init(struct milter_set *, const struct config *,
	    struct logger *);
enum milter_outcome milters_connect(struct milter_set *,
	    const struct milter_facts *);
enum milter_outcome milters_helo(struct milter_set *,
	    const struct milter_facts *);
enum milter_outcome milters_mail(struct milter_set *,
	    const struct milter_facts *, const char *, const char *);
enum milter_outcome milters_rcpt(struct milter_set *,
	    const struct milter_facts *, const char *, const char *);
enum milter_outcome milters_data(struct milter_set *,
	    const struct milter_facts *);
enum milter_outcome milters_unknown(struct milter_set *,
	    const struct milter_facts *, const char *, size_t, int);
enum milter_outcome milters_message(struct milter_set *,
	    const struct milter_facts *, struct spool *);
void	 milters_abort(struct milter_set *);
void	 milters_quit(struct milter_set *);

#endif
