/*
 * milters.c - the session's mail filters: one connection to each
 * --milter for the whole session, each stage (CONNECT, HELO, MAIL, RCPT,
 * DATA, the message, UNKNOWN, ABORT, QUIT) asked of them in order, with
 * the macros Postfix sends at that stage (Postfix MILTER_README,
 * "Sendmail macro emulation") or the filter asked for, and their replies
 * folded into one outcome.  A filter that breaks (down, slow, closes,
 * garbage) is dropped with one log record, and --milter-default-action
 * decides the transaction.  The message itself goes to them from
 * miltermsg.c.  Never replies to the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "milters.h"
#include "miltermacro.h"
#include "milterstage.h"
#include "msgedit.h"

/* the steps we can leave out and the replies we can do without */
#define OFFER_STEPS	(SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NOBODY | SMFIP_NOHDRS | SMFIP_NOEOH | \
	SMFIP_NR_HDR | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | \
	SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | \
	SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | \
	SMFIP_HDR_LEADSPC)
/* the EOB actions we carry out (msgedit.c), and the filter's own */
/* macro lists (SETSYMLIST) */
#define OFFER_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | \
	SMFIF_ADDRCPT_PAR | SMFIF_DELRCPT | SMFIF_CHGFROM | SMFIF_QUARANTINE | \
	SMFIF_CHGBODY | SMFIF_SETSYMLIST)

static const char *const stage_name[] = { "connect", "helo", "mail",
	"rcpt", "data", "header", "eoh", "body", "eob", "unknown" };

/* what a stage sends: its command, and the flags to leave it out or */
/* not wait for its reply */
static const struct {
	char	 cmd;
	uint32_t no, nr;
} stage_cmd[] = {
	[ST_CONNECT] = { SMFIC_CONNECT, SMFIP_NOCONNECT, SMFIP_NR_CONN },
	[ST_HELO] = { SMFIC_HELO, SMFIP_NOHELO, SMFIP_NR_HELO },
	[ST_MAIL] = { SMFIC_MAIL, SMFIP_NOMAIL, SMFIP_NR_MAIL },
	[ST_RCPT] = { SMFIC_RCPT, SMFIP_NORCPT, SMFIP_NR_RCPT },
	[ST_DATA] = { SMFIC_DATA, SMFIP_NODATA, SMFIP_NR_DATA },
	[ST_HEADER] = { SMFIC_HEADER, SMFIP_NOHDRS, SMFIP_NR_HDR },
	[ST_EOH] = { SMFIC_EOH, SMFIP_NOEOH, SMFIP_NR_EOH },
	[ST_BODY] = { SMFIC_BODY, SMFIP_NOBODY, SMFIP_NR_BODY },
	[ST_EOB] = { SMFIC_BODYEOB, 0, 0 },
	[ST_UNKNOWN] = { SMFIC_UNKNOWN, SMFIP_NOUNKNOWN, SMFIP_NR_UNKN },
};

/*
 * milters_init - the configured filters, none connected yet.  Without
 * any, only n is set: filter.c then never calls here again, and the
 * ~5 KiB set (its pages, in an Accept=no child too) is never touched.
 */
void
milters_init(struct milter_set *set, const struct config *cfg,
    struct logger *log)
{
	unsigned i;

	set->n = cfg->nmilters;
	if (set->n == 0)
		return;
	memset(set, 0, sizeof *set);
	set->n = cfg->nmilters;
	set->cfg = cfg;
	set->log = log;
	for (i = 0; i < MILTER_MAX; i++)
		set->m[i].fd = -1;
}

/* log_filter - one record about filter i */
void
milters_log(struct milter_set *set, unsigned i, const char *event_what,
    const char *stage, const char *why)
{
	struct logline ll;

	log_begin(set->log, &ll, "milter");
	log_str(&ll, "filter", set->cfg->milters[i]);
	log_str(&ll, "stage", stage);
	log_str(&ll, "result", event_what);
	if (why != NULL)
		log_str(&ll, "reason", why);
	log_end(set->log, &ll);
}

/*
 * broken - filter i failed: one log record, hang up, and from now on
 * the default action rules the transactions of this session
 */
static enum milter_outcome
broken(struct milter_set *set, unsigned i, enum stage st)
{
	milters_log(set, i, "failed", stage_name[st], set->m[i].why);
	milter_close(&set->m[i]);
	set->live[i] = 0;
	if (set->cfg->milter_default != MILTER_DEFAULT_ACCEPT)
		set->failed = set->cfg->milter_default;
	return MO_CONTINUE;
}

/* failed_outcome - what a broken filter means for this transaction */
enum milter_outcome
milters_failed(const struct milter_set *set)
{
	if (set->failed == MILTER_DEFAULT_TEMPFAIL)
		return MO_FAILED_TEMP;
	if (set->failed == MILTER_DEFAULT_REJECT)
		return MO_FAILED_REJECT;
	return MO_CONTINUE;
}

/* copy_text - keep a checked REPLYCODE for the session's reply */
static void
copy_text(struct milter_text *t, const struct milter_reply *r)
{
	unsigned i;
	size_t n;

	t->code = r->code;
	memcpy(t->esc, r->esc, sizeof t->esc);
	t->nlines = r->nlines;
	for (i = 0; i < r->nlines; i++) {
		n = r->line_len[i] > MILTER_LINE_MAX ? MILTER_LINE_MAX :
		    r->line_len[i];
		memcpy(t->line[i], r->line[i], n);
		t->line[i][n] = '\0';
	}
}

/*
 * await - filter i's answer to a stage, PROGRESS meaning "wait on"
 * (each one restarts --milter-timeout, all of them together within
 * --timeout); -1 when the filter broke
 */
static int
await(struct milter_set *set, unsigned i, enum stage st,
    struct milter_reply *r)
{
	struct milter *m = &set->m[i];
	struct timespec all = io_now();
	unsigned wait;
	int left;

	all.tv_sec += set->cfg->timeout;
	for (;;) {
		wait = set->cfg->milter_timeout;
		left = ms_until(all) / 1000;
		if (st == ST_EOB || (unsigned)left < wait)
			wait = left > 0 ? (unsigned)left : 1;
		if (milter_read(m, wait, r) < 0)
			return -1;
		if (r->v != MV_PROGRESS)
			return 0;
		if (ms_until(all) == 0) {
			milter_note(m, "PROGRESS past --timeout");
			return -1;
		}
	}
}

/*
 * judge - fold filter i's reply to stage st into an outcome; a reply
 * that makes no sense there breaks the filter
 */
static enum milter_outcome
judge(struct milter_set *set, unsigned i, enum stage st,
    const struct milter_reply *r)
{
	switch (r->v) {
	case MV_CONTINUE:
		return MO_CONTINUE;
	case MV_SKIP:
		if (st != ST_BODY)
			break;
		set->skip_body = 1;
		return MO_CONTINUE;
	case MV_ACCEPT:
		set->done[i] = 1;
		if (st <= ST_HELO)
			set->live[i] = 0;	/* the whole session */
		return MO_CONTINUE;
	case MV_REJECT:
		return MO_REJECT;
	case MV_TEMPFAIL:
		return MO_TEMPFAIL;
	case MV_DISCARD:
		return st >= ST_MAIL ? MO_DISCARD : MO_REJECT;
	case MV_REPLYCODE:
		copy_text(&set->text, r);
		return MO_REPLYCODE;
	default:
		break;
	}
	milter_note(&set->m[i], "reply not allowed at this stage");
	return broken(set, i, st);
}

/* action_for - the SMFIF_ flag a modification needs, 0 if unknown */
static uint32_t
action_for(char cmd)
{
	switch (cmd) {
	case SMFIR_ADDHEADER:
	case SMFIR_INSHEADER: return SMFIF_ADDHDRS;
	case SMFIR_CHGHEADER: return SMFIF_CHGHDRS;
	case SMFIR_ADDRCPT: return SMFIF_ADDRCPT;
	case SMFIR_ADDRCPT_PAR: return SMFIF_ADDRCPT_PAR;
	case SMFIR_DELRCPT: return SMFIF_DELRCPT;
	case SMFIR_CHGFROM: return SMFIF_CHGFROM;
	case SMFIR_QUARANTINE: return SMFIF_QUARANTINE;
	case SMFIR_REPLBODY: return SMFIF_CHGBODY;
	default: return 0;
	}
}

/*
 * take_edit - a modification at EOB: one the filter negotiated, checked
 * and kept (msgedit.c) for when the filter has said yes; 0 or -1
 */
static int
take_edit(struct milter_set *set, unsigned i, const struct milter_reply *r)
{
	struct milter *m = &set->m[i];
	uint32_t need = action_for(r->cmd);
	size_t n;
	int leadspc;

	if (need == 0 || !(m->actions & need)) {
		milter_note(m, "modification not negotiated");
		return -1;
	}
	if (need == SMFIF_QUARANTINE) {
		set->quarantine = 1;
		n = strlen(r->name);
		n = n < sizeof set->quarantine_why ? n :
		    sizeof set->quarantine_why - 1;
		memcpy(set->quarantine_why, r->name, n);
		set->quarantine_why[n] = '\0';
		return 0;
	}
	leadspc = (m->steps & SMFIP_HDR_LEADSPC) != 0;
	if (edits_take(set->edits, r, leadspc) < 0) {
		milter_note(m, "bad or too many changes");
		return -1;
	}
	return 0;
}

/* macro_stage_for - the macro stage of a protocol stage */
static enum macro_stage
macro_stage_for(enum stage st)
{
	switch (st) {
	case ST_CONNECT: return MS_CONNECT;
	case ST_HELO: return MS_HELO;
	case ST_MAIL: return MS_MAIL;
	case ST_RCPT: return MS_RCPT;
	case ST_DATA: return MS_DATA;
	case ST_EOH: return MS_EOH;
	default: return MS_EOM;
	}
}

/*
 * macros_for - the macros filter i is sent at stage ms: its own list
 * for that stage (SETSYMLIST), else --milter-macros, else Postfix's
 */
static uint32_t
macros_for(const struct milter_set *set, unsigned i, enum macro_stage ms)
{
	const struct config *cfg = set->cfg;

	if (set->wanted_given[i] & (1u << ms))
		return set->wanted[i][ms];
	if (cfg->milter_macros_given & (1u << ms))
		return cfg->milter_macros[ms];
	return macro_default(ms);
}

/*
 * macro_data - the SMFIC_MACRO data of stage st for filter i into a:
 * its octets, 0 when there are none to send
 */
static size_t
macro_data(struct milter_set *set, unsigned i, enum stage st,
    const struct milter_facts *f, const char *arg, struct milter_args *a)
{
	enum macro_stage ms = macro_stage_for(st);

	milter_args_init(a);
	if (st == ST_HEADER || st == ST_BODY || st == ST_UNKNOWN)
		return 0;
	milter_args_add(a, &stage_cmd[st].cmd, 1);
	macro_add(a, macros_for(set, i, ms), f, arg);
	if (a->len <= 1)
		return 0;
	return a->overflow ? 1 : a->len;
}

/*
 * ask_one - stage st (its data p, n) of filter i: macros, the command,
 * its reply unless the filter said it needs none
 */
enum milter_outcome
milters_ask(struct milter_set *set, unsigned i, enum stage st,
    const struct milter_facts *f, const char *macro_arg, const void *p,
    size_t n)
{
	struct milter *m = &set->m[i];
	struct milter_reply r;
	struct milter_args a;
	size_t mn;

	if ((m->steps & stage_cmd[st].no) != 0)
		return MO_CONTINUE;
	mn = macro_data(set, i, st, f, macro_arg, &a);
	if (milter_send_after(m, a.buf, mn, stage_cmd[st].cmd, p, n) < 0)
		return broken(set, i, st);
	if ((m->steps & stage_cmd[st].nr) != 0)
		return MO_CONTINUE;
	if (await(set, i, st, &r) < 0)
		return broken(set, i, st);
	while (st == ST_EOB && r.v == MV_MODIFY && set->edits != NULL)
		if (take_edit(set, i, &r) < 0 || await(set, i, st, &r) < 0)
			return broken(set, i, st);
	return judge(set, i, st, &r);
}

/*
 * ask_all - stage st of every live filter in order, up to the first
 * that says anything but CONTINUE/ACCEPT; then, whatever they said, a
 * broken filter's default action if there is one
 */
static enum milter_outcome
ask_all(struct milter_set *set, enum stage st, const struct milter_facts *f,
    const char *macro_arg, const void *p, size_t n)
{
	enum milter_outcome o;
	unsigned i;

	for (i = 0; i < set->n; i++) {
		if (!set->live[i] || (st >= ST_MAIL && set->done[i]))
			continue;
		if ((o = milters_ask(set, i, st, f, macro_arg, p, n)) !=
		    MO_CONTINUE) {
			if (st >= ST_MAIL)
				milters_log(set, i, o == MO_DISCARD ?
				    "discard" : "refused", stage_name[st],
				    NULL);
			return o;
		}
	}
	return st >= ST_MAIL ? milters_failed(set) : MO_CONTINUE;
}

/*
 * open_filter - connect to and negotiate with filter i, and keep the
 * macro lists it asked for (names smtpd cannot fill left out)
 */
static void
open_filter(struct milter_set *set, unsigned i)
{
	struct milter_optneg o;
	unsigned k;
	int ms;

	if (milter_open(&set->m[i], set->cfg->milters[i],
	    set->cfg->milter_timeout, OFFER_ACTIONS, OFFER_STEPS, &o) < 0) {
		(void)broken(set, i, ST_CONNECT);
		return;
	}
	set->live[i] = 1;
	for (k = 0; k < o.nlists; k++) {
		if ((ms = macro_stage_smfim(o.list[k].stage)) < 0)
			continue;
		set->wanted[i][ms] = macro_wanted(o.list[k].names);
		set->wanted_given[i] |= 1u << ms;
	}
}

/*
 * milters_connect - connect to and negotiate with each filter, then
 * CONNECT: host name, family ('4', '6', 'U' for a UNIX peer), port
 * (network order) and address of the real client (after PROXY too)
 */
enum milter_outcome
milters_connect(struct milter_set *set, const struct milter_facts *f)
{
	struct milter_args a;
	const struct client *c = f->client;
	unsigned port = (unsigned)strtoul(c->port, NULL, 10);
	unsigned char pn[2] = { (unsigned char)(port >> 8),
	    (unsigned char)port };
	char family = c->unix_peer || c->ip[0] == '\0' ? 'U' :
	    strchr(c->ip, ':') != NULL ? '6' : '4';
	unsigned i;

	for (i = 0; i < set->n; i++)
		open_filter(set, i);
	milter_args_init(&a);
	milter_args_str(&a, c->name[0] != '\0' ? c->name : c->ip[0] != '\0' ?
	    c->ip : "localhost");
	milter_args_add(&a, &family, 1);
	if (family != 'U') {
		milter_args_add(&a, pn, 2);
		milter_args_str(&a, c->ip);
	} else
		milter_args_add(&a, "\0\0", 3);		/* port 0, "" */
	return ask_all(set, ST_CONNECT, f, NULL, a.buf, a.len);
}

/* milters_helo - HELO/EHLO: the name the client gave */
enum milter_outcome
milters_helo(struct milter_set *set, const struct milter_facts *f)
{
	return ask_all(set, ST_HELO, f, NULL, f->helo, strlen(f->helo) + 1);
}

/*
 * args_of - "<path>" then each SP-separated ESMTP parameter, each NUL
 * ended (the path and parameters passed the SMTP grammar already)
 */
static void
args_of(struct milter_args *a, const char *path, const char *params)
{
	const char *sp;

	milter_args_str(a, path);
	while (params != NULL && *params != '\0') {
		while (*params == ' ')
			params++;
		if (*params == '\0')
			break;
		if ((sp = strchr(params, ' ')) == NULL)
			sp = params + strlen(params);
		milter_args_add(a, params, (size_t)(sp - params));
		milter_args_add(a, "", 1);
		params = sp;
	}
}

/* bare - the address without its angle brackets, for {mail_addr} */
static void
bare(char *out, size_t cap, const char *path)
{
	size_t n = strlen(path);

	if (n >= 2 && path[0] == '<' && path[n - 1] == '>') {
		path++;
		n -= 2;
	}
	if (n >= cap)
		n = cap - 1;
	memcpy(out, path, n);
	out[n] = '\0';
}

/* milters_mail - MAIL: the sender path and its ESMTP parameters */
enum milter_outcome
milters_mail(struct milter_set *set, const struct milter_facts *f,
    const char *path, const char *params)
{
	struct milter_args a;

	memset(set->done, 0, sizeof set->done);
	if (set->failed)
		return milters_failed(set);
	milter_args_init(&a);
	args_of(&a, path, params);
	return ask_all(set, ST_MAIL, f, NULL, a.buf, a.len);
}

/* milters_rcpt - RCPT: a recipient path and its ESMTP parameters */
enum milter_outcome
milters_rcpt(struct milter_set *set, const struct milter_facts *f,
    const char *path, const char *params)
{
	struct milter_args a;
	char addr[600];

	if (set->failed)
		return milters_failed(set);
	milter_args_init(&a);
	args_of(&a, path, params);
	bare(addr, sizeof addr, path);
	return ask_all(set, ST_RCPT, f, addr, a.buf, a.len);
}

/* milters_data - DATA or the first BDAT, before the 354 or the reading */
enum milter_outcome
milters_data(struct milter_set *set, const struct milter_facts *f)
{
	if (set->failed)
		return milters_failed(set);
	return ask_all(set, ST_DATA, f, NULL, NULL, 0);
}

/*
 * milters_unknown - an SMTP command we do not know (UNKNOWN): the line
 * as received, without its CRLF, to each live filter in order up to the
 * first that says anything but CONTINUE/ACCEPT.  No macros (Postfix's
 * milter_unknown_command_macros is empty; there is no SMFIM_ stage for
 * it).  Inside a transaction (tx) not to a filter that accepted it, nor
 * to one that leaves DATA out: libmilter takes no header, EOH or EOB
 * right after UNKNOWN, and would leave them unanswered.  A filter that
 * breaks here rules the transactions after, as at any stage; the
 * command itself is answered 500 all the same.
 */
enum milter_outcome
milters_unknown(struct milter_set *set, const struct milter_facts *f,
    const char *line, size_t n, int tx)
{
	struct milter_args a;
	enum milter_outcome o;
	unsigned i;

	milter_args_init(&a);
	milter_args_add(&a, line, n);
	milter_args_add(&a, "", 1);
	for (i = 0; i < set->n && !a.overflow; i++) {
		if (!set->live[i] || (tx && (set->done[i] ||
		    (set->m[i].steps & SMFIP_NODATA) != 0)))
			continue;
		o = milters_ask(set, i, ST_UNKNOWN, f, NULL, a.buf, a.len);
		if (o != MO_CONTINUE) {
			milters_log(set, i, o == MO_DISCARD ? "discard" :
			    "refused", stage_name[ST_UNKNOWN], NULL);
			return o;
		}
	}
	return MO_CONTINUE;
}

/* milters_asked - filter i still takes part in this message */
int
milters_asked(const struct milter_set *set, unsigned i)
{
	return set->live[i] && !set->done[i];
}

/* milters_abort - the transaction is over without EOB: ABORT */
void
milters_abort(struct milter_set *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		if (set->live[i] && milter_send(&set->m[i], SMFIC_ABORT,
		    NULL, 0) < 0)
			(void)broken(set, i, ST_EOB);
	memset(set->done, 0, sizeof set->done);
}

/* milters_quit - the session ends: QUIT and hang up */
void
milters_quit(struct milter_set *set)
{
	unsigned i;

	for (i = 0; i < set->n; i++)
		milter_close(&set->m[i]);
	memset(set->live, 0, sizeof set->live);
}
