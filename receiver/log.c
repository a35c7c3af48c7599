/*
 * log.c - one record per event: stderr line, syslog or journal entry.
 * The line itself (quoting, escapes, "...", one write(2)) is logline.h's;
 * here are smtpd's prefix and where records go.  When stderr is the
 * client's socket (xinetd) they go to syslog instead; when it is
 * journald's stream (JOURNAL_STREAM) and libsystemd is there, to
 * sd_journal_sendv with SMTPD_* fields.  Client bytes are escaped.
 */
#include <sys/uio.h>

#include <string.h>
#include <syslog.h>

#include "log.h"
#include "logline.h"

/*
 * pick_target - what --log auto means.  (When stderr was the client's
 * socket, smtpd.c has already put /dev/null there and asked for syslog.)
 */
static enum log_mode
pick_target(enum log_mode mode)
{
	if (mode != LOGMODE_AUTO)
		return mode;
	if (sdglue_built_with_libsystemd() && logline_journal_stream(2))
		return LOGMODE_JOURNAL;
	return LOGMODE_STDERR;
}

/* log_init - choose where records go; keep the "smtpd[pid]: ip=" prefix */
void
log_init(struct logger *lg, enum log_mode mode, pid_t pid, const char *ip)
{
	struct sbuf sb;

	memset(&lg->sd, 0, sizeof lg->sd);
	lg->to = pick_target(mode);
	if (lg->to == LOGMODE_SYSLOG)
		openlog("smtpd", LOG_PID | LOG_NDELAY, LOG_MAIL);
	sb_init(&sb, lg->ip, sizeof lg->ip);
	sb_escaped(&sb, ip, strlen(ip));
	sb_init(&sb, lg->prefix, sizeof lg->prefix);
	sb_str(&sb, "smtpd[");
	sb_num(&sb, (unsigned long long)pid);
	sb_str(&sb, "]: ");
	lg->tag_len = sb.len;
	sb_str(&sb, "ip=");
	sb_str(&sb, lg->ip);
	sb_str(&sb, " ");
	lg->prefix_len = sb.len;
}

/* field_begin - start a journal field "SMTPD_KEY=" (key upper-cased) */
static int
field_begin(struct logline *ll, const char *key)
{
	char c;

	if (!ll->journal || ll->nf >= LOG_FIELDS_MAX)
		return 0;
	if (ll->nf > 0)
		sb_add(&ll->fb, "", 1);		/* the NUL between fields */
	ll->foff[ll->nf++] = ll->fb.len;
	sb_str(&ll->fb, "SMTPD_");
	for (; *key != '\0'; key++) {
		c = *key >= 'a' && *key <= 'z' ? (char)(*key - 32) : *key;
		sb_add(&ll->fb, c == '-' ? "_" : &c, 1);
	}
	sb_add(&ll->fb, "=", 1);
	return 1;
}

/* log_begin_k - start a record for one event (n octets) */
void
log_begin_k(struct logger *lg, struct logline *ll, const char *event,
    size_t n)
{
	ll->journal = lg->to == LOGMODE_JOURNAL;
	ll->nf = 0;
	logline_init(&ll->sb, ll->buf, sizeof ll->buf);
	sb_add(&ll->sb, lg->prefix, lg->prefix_len);
	sb_add(&ll->sb, "event=", 6);
	sb_add(&ll->sb, event, n);
	if (ll->journal) {
		sb_init(&ll->fb, ll->fbuf, sizeof ll->fbuf);
		if (field_begin(ll, "event"))
			sb_add(&ll->fb, event, n);
		if (field_begin(ll, "client_address"))
			sb_str(&ll->fb, lg->ip);	/* escaped already */
	}
}

/* log_bytes_k - add key=value (logline.c's quoting), and its field */
void
log_bytes_k(struct logline *ll, const char *key, size_t klen, const char *p,
    size_t n)
{
	logline_bytes(&ll->sb, key, klen, p, n);
	if (field_begin(ll, key))
		sb_escaped(&ll->fb, p, n);
}

/* log_str_k - add key=value for a C string */
void
log_str_k(struct logline *ll, const char *key, size_t klen, const char *val)
{
	log_bytes_k(ll, key, klen, val, strlen(val));
}

/* log_num_k - add key=number, and its field */
void
log_num_k(struct logline *ll, const char *key, size_t klen,
    unsigned long long v)
{
	size_t at;

	at = logline_num(&ll->sb, key, klen, v);
	if (field_begin(ll, key))
		sb_add(&ll->fb, ll->sb.p + at, ll->sb.len - at);
}

/* send_journal - the record as MESSAGE= plus its SMTPD_* fields */
static int
send_journal(struct logger *lg, struct logline *ll, const char *msg)
{
	struct iovec iov[LOG_FIELDS_MAX + 3];
	char message[LOG_LINE_MAX + 8];
	struct sbuf sb;
	unsigned i;
	int n = 0;

	sb_init(&sb, message, sizeof message);
	sb_str(&sb, "MESSAGE=");
	sb_str(&sb, msg);
	iov[n].iov_base = message;
	iov[n++].iov_len = sb.len;
	iov[n].iov_base = (void *)"PRIORITY=6";
	iov[n++].iov_len = sizeof "PRIORITY=6" - 1;
	iov[n].iov_base = (void *)"SYSLOG_IDENTIFIER=smtpd";
	iov[n++].iov_len = sizeof "SYSLOG_IDENTIFIER=smtpd" - 1;
	for (i = 0; i < ll->nf; i++) {
		iov[n].iov_base = ll->fbuf + ll->foff[i];
		iov[n++].iov_len = strlen(ll->fbuf + ll->foff[i]);
	}
	return sdglue_journal_sendv(&lg->sd, iov, n);
}

/* log_end - finish the record and send it in one go */
void
log_end(struct logger *lg, struct logline *ll)
{
	logline_mark(&ll->sb);
	if (lg->to == LOGMODE_SYSLOG) {
		syslog(LOG_INFO, "%s", ll->sb.p + lg->tag_len);
		return;
	}
	if (lg->to == LOGMODE_JOURNAL &&
	    send_journal(lg, ll, ll->sb.p + lg->tag_len) == 0)
		return;
	logline_write(&ll->sb);
}
