/*
 * logline.h - a key=value log line, as both programs write them.
 * The line is built in the caller's fixed buffer; each program puts its
 * own prefix ("smtpd[PID]: ", "smtpd-queue[PID]: ") first.  Keys are
 * passed with their length, so a literal key costs no strlen.  All of
 * it is inline: smtpd logs on its per-message path, where a call per
 * field showed in callgrind, and each program has one caller.
 */
#ifndef LOGLINE_H
#define LOGLINE_H

#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sbuf.h"

#define LOGLINE_ROOM	4	/* kept free for "..." and the newline */

/* logline_init - start an empty line in buf, keeping LOGLINE_ROOM */
static inline void
logline_init(struct sbuf *sb, char *buf, size_t size)
{
	sb_init(sb, buf, size - LOGLINE_ROOM);
}

/* logline_key - " key=" for a key of klen octets */
static inline void
logline_key(struct sbuf *sb, const char *key, size_t klen)
{
	sb_add(sb, " ", 1);
	sb_add(sb, key, klen);
	sb_add(sb, "=", 1);
}

/*
 * logline_bytes - add key=value for n octets at p: escaped (sb_escaped),
 * and quoted when empty or holding a space
 */
static inline void
logline_bytes(struct sbuf *sb, const char *key, size_t klen, const char *p,
    size_t n)
{
	int quote = n == 0 || memchr(p, ' ', n) != NULL;

	logline_key(sb, key, klen);
	if (quote)
		sb_add(sb, "\"", 1);
	sb_escaped(sb, p, n);
	if (quote)
		sb_add(sb, "\"", 1);
}

/*
 * logline_num - add key=number (digits need neither quotes nor
 * escapes): where the digits start, for a caller that copies them
 */
static inline size_t
logline_num(struct sbuf *sb, const char *key, size_t klen,
    unsigned long long v)
{
	size_t at;

	logline_key(sb, key, klen);
	at = sb->len;
	sb_num(sb, v);
	return at;
}

/*
 * logline_mark - end an overlong line in "..." (in the room kept);
 * the line stays NUL-terminated, for syslog
 */
static inline void
logline_mark(struct sbuf *sb)
{
	if (!sb->overflow)
		return;
	sb->len = sb->cap - 1;
	memcpy(sb->p + sb->len, "...", 4);
	sb->len += 3;
}

/*
 * logline_write - the line and a newline to stderr, in one write(2),
 * so that the lines of concurrent writers never mix
 */
static inline void
logline_write(struct sbuf *sb)
{
	ssize_t w;

	sb->p[sb->len++] = '\n';
	do
		w = write(2, sb->p, sb->len);
	while (w < 0 && errno == EINTR);
}

/*
 * logline_journal_stream - is fd the stream journald gave us
 * (JOURNAL_STREAM="DEV:INO", systemd.exec(5))?  Then journald stamps
 * each line with the program's name and pid itself.
 */
static inline int
logline_journal_stream(int fd)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char *end;

	if (js == NULL || fstat(fd, &st) < 0)
		return 0;
	dev = strtoull(js, &end, 10);
	if (*end != ':')
		return 0;
	ino = strtoull(end + 1, &end, 10);
	return *end == '\0' && dev == (unsigned long long)st.st_dev &&
	    ino == (unsigned long long)st.st_ino;
}

#endif
