/*
 * report.c - compose a delivery status notification (RFC 3461, 3462,
 * 3464) about a queued message, as a queue file of its own.
 * The envelope is smtpd's format (smtpd-spool(5)): Sender <>, the one
 * Recipient the message's sender, Dsn-Of the message's id, Body
 * 8BITMIME when 8-bit octets come back.  The message (CRLF line ends):
 * multipart/report; report-type=delivery-status, with a short 7-bit
 * text, the message/delivery-status fields, and for a failure the
 * message as message/rfc822 (RET=FULL or none, up to QREPORT_RETURN_MAX
 * octets) or its header as text/rfc822-headers (RET=HDRS, larger, or
 * BINARYMIME, which a report could carry only as binary); for a delay
 * or a delivery, the header.  The message is streamed, never loaded.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "msg.h"
#include "report.h"
#include "sbuf.h"
#include "status.h"

#define OUT_MAX		65536
#define FIELD_MAX	1024	/* one delivery-status field, built whole */
#define CRLF		"\r\n"
#define TEXT_OF(n)	DIGITS_OF(n)	/* a number macro as a string */
#define DIGITS_OF(n)	#n
#define RETURN_MAX	TEXT_OF(QREPORT_RETURN_MAX)

/* the report's file, written through one buffer; err: the first errno */
struct out {
	int	 fd, err;
	size_t	 len;
	char	 buf[OUT_MAX];
};

/* what comes back of the message, decided before writing */
enum back { BACK_FULL, BACK_HEADER };
enum why { WHY_NONE, WHY_HDRS, WHY_SIZE, WHY_BINARY, WHY_NOTICE, WHY_CUT };

struct plan {
	enum back back;
	enum why why;			/* why only the header, if so */
	off_t	 len;			/* octets of the body sent back */
	int	 eight;			/* they hold 8-bit octets */
	int	 failed;		/* a recipient failed (else notice) */
	int	 delayed;
};

/* flush - write out the buffer */
static void
flush(struct out *o)
{
	if (o->err == 0 && o->len > 0 &&
	    fd_write_all(o->fd, o->buf, o->len) < 0)
		o->err = errno ? errno : EIO;
	o->len = 0;
}

/* put - append n octets */
static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len + n > sizeof o->buf)
		flush(o);
	if (n >= sizeof o->buf) {
		if (o->err == 0 && fd_write_all(o->fd, s, n) < 0)
			o->err = errno ? errno : EIO;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* put_str - append a string */
static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* field - "Key: value" and CRLF */
static void
field(struct out *o, const char *key, const char *val)
{
	put_str(o, key);
	put_str(o, ": ");
	put_str(o, val);
	put_str(o, CRLF);
}

/* date_field - "Key: RFC 5322 date" and CRLF */
static void
date_field(struct out *o, const char *key, long long t)
{
	char d[64];
	struct sbuf sb;

	sb_init(&sb, d, sizeof d);
	sb_date(&sb, (time_t)t);
	field(o, key, d);
}

/* hex_val - the value of an xtext hex digit (0-9, A-F), or -1 */
static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/*
 * qreport_xtext_decode - RFC 3461 xtext ("+2B" is '+') to text: 0, or -1
 * if it is not xtext or decodes to other than printable ASCII without
 * space (then out holds nothing useful)
 */
int
qreport_xtext_decode(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	int h, l;

	for (; *s != '\0' && o + 1 < cap; s++, o++) {
		out[o] = *s;
		if (*s != '+')
			continue;
		if ((h = hex_val(s[1])) < 0 || (l = hex_val(s[2])) < 0)
			return -1;
		out[o] = (char)(h * 16 + l);
		s += 2;
		if (out[o] < 0x21 || out[o] > 0x7e)
			return -1;
	}
	out[o] = '\0';
	return *s == '\0' ? 0 : -1;
}

/* utf8_next - the code point at *s (moved past it); 0xfffd if bad */
static unsigned long
utf8_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	unsigned long c = *p++;
	int n = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;

	if (c >= 0x80 && n == 0)
		c = 0xfffd;
	else if (n > 0)
		c &= 0x3fu >> n;
	for (; n > 0; n--, p++) {
		if ((*p & 0xc0) != 0x80) {
			c = 0xfffd;
			break;
		}
		c = c << 6 | (*p & 0x3fu);
	}
	*s = p;
	return c;
}

/*
 * utf8_xtext - an address as RFC 6533's utf-8-addr-xtext: printable
 * ASCII but '+', '\' and '=' as is, any other character as \x{HEX}
 */
static void
utf8_xtext(struct sbuf *sb, const char *addr)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)addr;
	unsigned long c;
	char buf[16];
	int i, n;

	while (*p != '\0') {
		c = utf8_next(&p);
		if (c > 0x20 && c < 0x7f && c != '+' && c != '\\' &&
		    c != '=') {
			buf[0] = (char)c;
			sb_add(sb, buf, 1);
			continue;
		}
		for (n = 1; n < 6 && (c >> (4 * n)) != 0; n++)
			;
		sb_str(sb, "\\x{");
		for (i = n - 1; i >= 0; i--)
			sb_add(sb, &hex[(c >> (4 * i)) & 15], 1);
		sb_str(sb, "}");
	}
}

/* ascii - printable ASCII only? */
static int
ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/*
 * qreport_addr - an address for a delivery-status field: "rfc822; ADDR"
 * or, when it is not ASCII, "utf-8; " and RFC 6533's xtext of it
 */
void
qreport_addr(char *out, size_t cap, const char *addr)
{
	struct sbuf sb;

	sb_init(&sb, out, cap);
	if (ascii(addr)) {
		sb_str(&sb, "rfc822; ");
		sb_str(&sb, addr);
	} else {
		sb_str(&sb, "utf-8; ");
		utf8_xtext(&sb, addr);
	}
}

/* addr_text - an address for the human part: ASCII, as in the report */
static void
addr_text(char *out, size_t cap, const char *addr)
{
	struct sbuf sb;

	sb_init(&sb, out, cap);
	sb_str(&sb, "<");
	if (ascii(addr))
		sb_str(&sb, addr);
	else
		utf8_xtext(&sb, addr);
	sb_str(&sb, ">");
}

/* header scan: where the header ends, and which octets are 8-bit */
struct scan {
	off_t	 hdr;			/* its length, or -1 not yet found */
	off_t	 line;			/* where the line being read starts */
	int	 blank;			/* that line is empty so far */
	int	 eight_hdr, eight;
};

/* scan_piece - look at n more octets, the first at offset at */
static void
scan_piece(struct scan *s, const unsigned char *p, size_t n, off_t at)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] >= 0x80) {
			s->eight = 1;
			if (s->hdr < 0)
				s->eight_hdr = 1;
		}
		if (s->hdr >= 0)
			continue;
		if (p[i] == '\n') {
			if (s->blank) {
				s->hdr = s->line;
				continue;
			}
			s->line = at + (off_t)i + 1;
			s->blank = 1;
		} else if (p[i] != '\r' || at + (off_t)i != s->line)
			s->blank = 0;
	}
}

/*
 * scan_body - read the first len octets of the message (from off): the
 * header's end, and 8-bit octets in it and in all; 0, or -1 (errno)
 */
static int
scan_body(int fd, off_t off, off_t len, struct scan *s)
{
	unsigned char buf[OUT_MAX];
	off_t done = 0;
	ssize_t r;

	memset(s, 0, sizeof *s);
	s->hdr = -1;
	s->blank = 1;
	while (done < len) {
		r = pread(fd, buf, len - done < (off_t)sizeof buf ?
		    (size_t)(len - done) : sizeof buf, off + done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		scan_piece(s, buf, (size_t)r, done);
		done += r;
	}
	return 0;
}

/* covers - does the report hold a recipient with this action? */
static int
covers(const struct qreport *r, enum qreport_action a)
{
	size_t k;

	for (k = 0; k < r->n; k++)
		if (r->sel[k].action == a)
			return 1;
	return 0;
}

/*
 * make_plan - what of the message comes back: all of it for a failure
 * with RET=FULL or none, up to QREPORT_RETURN_MAX octets, unless it is
 * BINARYMIME; else its header (cut at a line end within the limit)
 */
static int
make_plan(const struct qreport *r, struct plan *p)
{
	const struct spoolfmt_env *env = r->env;
	struct stat sb;
	struct scan s;
	off_t size, limit = (off_t)QREPORT_RETURN_MAX;

	memset(p, 0, sizeof *p);
	p->failed = covers(r, QR_FAILED);
	p->delayed = covers(r, QR_DELAYED);
	if (fstat(r->fd, &sb) < 0)
		return -1;
	size = sb.st_size - (off_t)env->head_len;
	if (scan_body(r->fd, (off_t)env->head_len, size < limit ? size : limit,
	    &s) < 0)
		return -1;
	p->why = !p->failed ? WHY_NOTICE : env->ret == RET_HDRS ? WHY_HDRS :
	    env->body == BODY_BINARYMIME ? WHY_BINARY : size > limit ?
	    WHY_SIZE : WHY_NONE;
	if (p->why == WHY_NONE) {
		p->back = BACK_FULL;
		p->len = size;
		p->eight = s.eight || env->body == BODY_8BITMIME;
		return 0;
	}
	p->back = BACK_HEADER;
	p->eight = s.eight_hdr;
	p->len = s.hdr >= 0 ? s.hdr : size <= limit ? size : s.line;
	if (s.hdr < 0 && size > limit && p->why != WHY_SIZE)
		p->why = WHY_CUT;	/* a header longer than the limit */
	return 0;
}

/* put_envelope - the queue file's envelope block (LF line ends) */
static void
put_envelope(struct out *o, const char *id, const struct qreport *r,
    const struct plan *p)
{
	char num[24];
	struct sbuf sb;

	sb_init(&sb, num, sizeof num);
	sb_num(&sb, (unsigned long long)r->now);
	put_str(o, SPOOLFMT_KEY_VERSION ": 1\n" SPOOLFMT_KEY_ID ": ");
	put_str(o, id);
	put_str(o, "\n" SPOOLFMT_KEY_ARRIVAL ": ");
	put_str(o, num);
	put_str(o, "\n" SPOOLFMT_KEY_TRUSTED ": yes\n" SPOOLFMT_KEY_SENDER
	    ": <>\n");
	if (p->eight || !ascii(r->env->sender))
		put_str(o, SPOOLFMT_KEY_BODY ": 8BITMIME\n");
	if (r->env->smtputf8)
		put_str(o, SPOOLFMT_KEY_SMTPUTF8 ": yes\n");
	put_str(o, SPOOLFMT_KEY_DSN_OF ": ");
	put_str(o, r->orig);
	put_str(o, "\n" SPOOLFMT_KEY_RCPT ": <");
	put_str(o, r->env->sender);
	put_str(o, ">\n\n");
}

/* subject - what the report says, by the worst news in it */
static const char *
subject(const struct plan *p)
{
	if (p->failed)
		return "Undelivered Mail Returned to Sender";
	if (p->delayed)
		return "Delayed Mail (still being retried)";
	return "Successful Mail Delivery Report";
}

/* put_head - the report's header fields, up to the first boundary */
static void
put_head(struct out *o, const char *id, const struct qreport *r,
    const struct plan *p)
{
	char d[64];
	struct sbuf sb;

	sb_init(&sb, d, sizeof d);
	sb_date(&sb, (time_t)r->now);
	put_str(o, "Received: by ");
	put_str(o, r->host);
	put_str(o, " (smtpd-queue) id ");
	put_str(o, id);
	put_str(o, ";" CRLF "\t");
	put_str(o, d);
	put_str(o, CRLF);
	field(o, "Date", d);
	put_str(o, "From: Mail Delivery System <MAILER-DAEMON@");
	put_str(o, r->host);
	put_str(o, ">" CRLF "To: <");
	put_str(o, r->env->sender);
	put_str(o, ">" CRLF);
	field(o, "Subject", subject(p));
	put_str(o, "Message-ID: <");
	put_str(o, id);
	put_str(o, "@");
	put_str(o, r->host);
	put_str(o, ">" CRLF);
	field(o, "Auto-Submitted", "auto-replied");
	field(o, "MIME-Version", "1.0");
	put_str(o, "Content-Type: multipart/report; "
	    "report-type=delivery-status;" CRLF "\tboundary=\"=_");
	put_str(o, id);
	put_str(o, "\"" CRLF CRLF "This is a MIME-encapsulated message." CRLF);
}

/* boundary - the delimiter before a part (last: the close) */
static void
boundary(struct out *o, const char *id, int last)
{
	put_str(o, CRLF "--=_");
	put_str(o, id);
	put_str(o, last ? "--" CRLF : CRLF);
}

/* intro - the human part's first words, by what the report tells */
static void
intro(struct out *o, const struct qreport *r, const struct plan *p)
{
	char d[64];
	struct sbuf sb;

	if (p->failed)
		put_str(o, "Your message could not be delivered to one or "
		    "more of its recipients." CRLF);
	if (p->delayed) {
		sb_init(&sb, d, sizeof d);
		sb_date(&sb, (time_t)r->until);
		put_str(o, "THIS IS A WARNING ONLY: YOU NEED NOT SEND YOUR "
		    "MESSAGE AGAIN." CRLF "It could not be delivered yet to "
		    "the recipients marked delayed; it will" CRLF "be tried "
		    "again until ");
		put_str(o, d);
		put_str(o, "." CRLF);
	}
	if (covers(r, QR_DELIVERED))
		put_str(o, "Your message was delivered to the recipients "
		    "marked delivered." CRLF);
}

/* returned - what the human part says of what comes back */
static void
returned(struct out *o, const struct plan *p)
{
	static const char *const words[] = {
		[WHY_NONE] = "It is attached below.",
		[WHY_HDRS] = "Its header is attached below (you asked for "
		    "the header only: RET=HDRS).",
		[WHY_SIZE] = "It was larger than " RETURN_MAX " octets: only "
		    "its header is attached below.",
		[WHY_BINARY] = "It was binary (BODY=BINARYMIME), which this "
		    "report cannot carry:" CRLF "only its header is "
		    "attached below.",
		[WHY_NOTICE] = "Its header is attached below.",
		[WHY_CUT] = "Its header was longer than " RETURN_MAX " octets: "
		    "the start of it is" CRLF "attached below.",
	};

	put_str(o, words[p->why]);
	put_str(o, CRLF);
}

/* action_word - the Action field's value (RFC 3464 2.3.3) */
static const char *
action_word(enum qreport_action a)
{
	return a == QR_FAILED ? "failed" : a == QR_DELAYED ? "delayed" :
	    "delivered";
}

/*
 * rcpt_status - a covered recipient's status and Diagnostic-Code value
 * ("" when there is none)
 */
static void
rcpt_status(const struct qreport *r, const struct qreport_sel *s,
    char *code, size_t ccap, char *diag, size_t dcap)
{
	struct sbuf sb;

	diag[0] = '\0';
	sb_init(&sb, code, ccap);
	if (s->action == QR_DELIVERED)
		sb_str(&sb, "2.0.0");
	else if (s->action == QR_DELAYED) {
		sb_str(&sb, r->delay_status);
		sb_init(&sb, diag, dcap);
		sb_str(&sb, r->delay_diag);
	} else if (qstate_status_of(r->st, s->idx, code, ccap, diag,
	    dcap) < 0)
		sb_str(&sb, "5.0.0");
}

/* list_rcpt - one line of the human part: address, action, why */
static void
list_rcpt(struct out *o, const struct qreport *r,
    const struct qreport_sel *s)
{
	char a[FIELD_MAX], code[QSTATUS_MAX], diag[QSTATE_TEXT_MAX];
	const char *why;

	rcpt_status(r, s, code, sizeof code, diag, sizeof diag);
	addr_text(a, sizeof a, r->env->rcpt[s->idx].addr);
	put_str(o, CRLF);
	put_str(o, a);
	put_str(o, ": ");
	put_str(o, action_word(s->action));
	put_str(o, ", ");
	put_str(o, code);
	if ((why = strchr(diag, ';')) != NULL) {
		put_str(o, ": ");
		put_str(o, why + 1 + (why[1] == ' '));
	}
	put_str(o, CRLF);
}

/* put_human - the text/plain part: short, 7-bit */
static void
put_human(struct out *o, const char *id, const struct qreport *r,
    const struct plan *p)
{
	char more[64];
	struct sbuf sb;
	size_t k;

	boundary(o, id, 0);
	put_str(o, "Content-Description: Notification" CRLF
	    "Content-Type: text/plain; charset=us-ascii" CRLF CRLF
	    "This is the mail system at host ");
	put_str(o, r->host);
	put_str(o, "." CRLF CRLF);
	intro(o, r, p);
	returned(o, p);
	for (k = 0; k < r->n && k < QREPORT_LIST_MAX; k++)
		list_rcpt(o, r, &r->sel[k]);
	if (r->n > QREPORT_LIST_MAX) {
		sb_init(&sb, more, sizeof more);
		sb_str(&sb, CRLF "... and ");
		sb_num(&sb, r->n - QREPORT_LIST_MAX);
		sb_str(&sb, " more: see the delivery report." CRLF);
		put_str(o, more);
	}
}

/* put_orcpt - Original-Recipient from ORCPT ("type;xtext", decoded) */
static void
put_orcpt(struct out *o, const char *orcpt)
{
	char v[FIELD_MAX], dec[FIELD_MAX];
	const char *semi = strchr(orcpt, ';');
	struct sbuf sb;

	if (semi == NULL)
		return;
	sb_init(&sb, v, sizeof v);
	sb_add(&sb, orcpt, (size_t)(semi - orcpt));
	sb_str(&sb, "; ");
	sb_str(&sb, qreport_xtext_decode(semi + 1, dec, sizeof dec) == 0 ?
	    dec : semi + 1);
	field(o, "Original-Recipient", v);
}

/* put_rcpt_fields - one recipient's group of fields (RFC 3464 2.3) */
static void
put_rcpt_fields(struct out *o, const struct qreport *r,
    const struct qreport_sel *s)
{
	const struct spoolfmt_rcpt *rc = &r->env->rcpt[s->idx];
	char a[FIELD_MAX], code[QSTATUS_MAX], diag[QSTATE_TEXT_MAX];

	rcpt_status(r, s, code, sizeof code, diag, sizeof diag);
	put_str(o, CRLF);
	if (rc->orcpt[0] != '\0')
		put_orcpt(o, rc->orcpt);
	qreport_addr(a, sizeof a, rc->addr);
	field(o, "Final-Recipient", a);
	field(o, "Action", action_word(s->action));
	field(o, "Status", code);
	if (diag[0] != '\0')
		field(o, "Diagnostic-Code", diag);
	if (s->action != QR_DELIVERED)
		date_field(o, "Last-Attempt-Date", r->now);
	if (s->action == QR_DELAYED)
		date_field(o, "Will-Retry-Until", r->until);
}

/* put_status - the message/delivery-status part (RFC 3464) */
static void
put_status(struct out *o, const char *id, const struct qreport *r)
{
	char v[FIELD_MAX];
	struct sbuf sb;
	size_t k;

	boundary(o, id, 0);
	put_str(o, "Content-Description: Delivery report" CRLF
	    "Content-Type: message/delivery-status" CRLF CRLF);
	sb_init(&sb, v, sizeof v);
	sb_str(&sb, "dns; ");
	sb_str(&sb, r->host);
	field(o, "Reporting-MTA", v);
	field(o, "X-Smtpd-Queue-ID", r->orig);
	if (r->env->envid[0] != '\0')
		field(o, "Original-Envelope-Id", qreport_xtext_decode(
		    r->env->envid, v, sizeof v) == 0 ? v : r->env->envid);
	date_field(o, "Arrival-Date", r->env->arrival);
	for (k = 0; k < r->n; k++)
		put_rcpt_fields(o, r, &r->sel[k]);
}

/* copy_body - the first len octets of the message, as stored */
static void
copy_body(struct out *o, const struct qreport *r, off_t len)
{
	off_t off = (off_t)r->env->head_len, end = off + len;
	ssize_t n;

	flush(o);
	while (o->err == 0 && off < end) {
		n = pread(r->fd, o->buf, end - off < (off_t)sizeof o->buf ?
		    (size_t)(end - off) : sizeof o->buf, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			o->err = n < 0 ? errno : EIO;	/* it shrank */
			break;
		}
		o->len = (size_t)n;
		off += n;
		flush(o);
	}
}

/* put_message - the message or its header, as the plan says */
static void
put_message(struct out *o, const char *id, const struct qreport *r,
    const struct plan *p)
{
	int full = p->back == BACK_FULL;

	boundary(o, id, 0);
	field(o, "Content-Description", !p->failed ? "Message Headers" :
	    full ? "Undelivered Message" : "Undelivered Message Headers");
	field(o, "Content-Type", full ? "message/rfc822" :
	    "text/rfc822-headers");
	if (p->eight)
		field(o, "Content-Transfer-Encoding", "8bit");
	put_str(o, CRLF);
	copy_body(o, r, p->len);
	boundary(o, id, 1);
}

/*
 * qreport_write - the report r, as queue file ID, to fd (at its start,
 * empty): 0, or -1 (errno)
 */
int
qreport_write(int fd, const char *id, const struct qreport *r)
{
	struct plan p;
	struct out *o;
	int err;

	if (make_plan(r, &p) < 0)
		return -1;
	if ((o = malloc(sizeof *o)) == NULL)
		return -1;
	o->fd = fd;
	o->err = 0;
	o->len = 0;
	put_envelope(o, id, r, &p);
	put_head(o, id, r, &p);
	put_human(o, id, r, &p);
	put_status(o, id, r);
	put_message(o, id, r, &p);
	flush(o);
	err = o->err;
	free(o);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return 0;
}
