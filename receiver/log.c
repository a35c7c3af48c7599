/*
 * log.c - one record per event: stderr line, syslog or journal entry.
 * A stderr line is built in a fixed buffer and written with a single
 * write(2), so lines from many smtpd processes never interleave.  When
 * stderr is the client's socket (xinetd) records go to syslog instead;
 * when it is journald's stream (JOURNAL_STREAM) and libsystemd is there,
 * to sd_journal_sendv with SMTPD_* fields.  Client bytes are escaped.
 */
#include <sys/uio.h>

#include <errno.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/*
 * pick_target - what --log auto means.  (When stderr was the client's
 * socket, smtpd.c has already put /dev/null there and asked for syslog.)
 */
static enum log_mode
pick_target(enum log_mode mode)
{
	if (mode != LOGMODE_AUTO)
		return mode;
	if (sdglue_built_with_libsystemd() && sdglue_journal_stream(2))
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
	sb_init(&ll->sb, ll->buf, sizeof ll->buf - 4);
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

/* add_key - " key=" for a key of klen octets */
static void
add_key(struct logline *ll, const char *key, size_t klen)
{
	sb_add(&ll->sb, " ", 1);
	sb_add(&ll->sb, key, klen);
	sb_add(&ll->sb, "=", 1);
}

/* log_bytes_k - add key=value; quoted when empty or holding a space */
void
log_bytes_k(struct logline *ll, const char *key, size_t klen, const char *p,
    size_t n)
{
	int quote = n == 0 || memchr(p, ' ', n) != NULL;

	add_key(ll, key, klen);
	if (quote)
		sb_add(&ll->sb, "\"", 1);
	sb_escaped(&ll->sb, p, n);
	if (quote)
		sb_add(&ll->sb, "\"", 1);
	if (field_begin(ll, key))
		sb_escaped(&ll->fb, p, n);
}

/* log_str_k - add key=value for a C string */
void
log_str_k(struct logline *ll, const char *key, size_t klen, const char *val)
{
	log_bytes_k(ll, key, klen, val, strlen(val));
}

/* log_num_k - add key=number (digits need neither quotes nor escapes) */
void
log_num_k(struct logline *ll, const char *key, size_t klen,
    unsigned long long v)
{
	size_t at;

	add_key(ll, key, klen);
	at = ll->sb.len;
	sb_num(&ll->sb, v);
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
	struct sbuf *sb = &ll->sb;
	ssize_t w;

	if (sb->overflow) {		/* room for the marker was kept */
		sb->len = sb->cap - 1;
		memcpy(sb->p + sb->len, "...", 4);
		sb->len += 3;
	}
	if (lg->to == LOGMODE_SYSLOG) {
		syslog(LOG_INFO, "%s", sb->p + lg->tag_len);
		return;
	}
	if (lg->to == LOGMODE_JOURNAL &&
	    send_journal(lg, ll, sb->p + lg->tag_len) == 0)
		return;
	sb->p[sb->len++] = '\n';
	do
		w = write(2, sb->p, sb->len);
	while (w < 0 && errno == EINTR);
}
