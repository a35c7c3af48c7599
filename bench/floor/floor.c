/*
 * floor.c - the benchmark floor: the least a per-connection SMTP receiver
 * can do and still make each message durable.  Answers every command line
 * with a canned reply (220 greeting, 354 to DATA, 221 to QUIT, 250 to
 * anything else), streams DATA up to a line "." into QUEUE/tmp/, fsyncs
 * it, renames it into QUEUE/new/ and fsyncs new/, per message, then says
 * 250.  No parsing, no unstuffing, no envelope, no limits, no timeouts:
 * a yardstick for bench/run, never a server.  Usage: floor QUEUE
 * (QUEUE/tmp and QUEUE/new must exist).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define INBUF	65536
#define OUTBUF	8192

static unsigned char in[INBUF];
static size_t in_pos, in_len;
static char out[OUTBUF];
static size_t out_len;

/* put_all - write n bytes to fd, or die */
static void
put_all(int fd, const void *p, size_t n)
{
	const char *s = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(111);
		s += w;
		n -= (size_t)w;
	}
}

/* flush - send the pending replies */
static void
flush(void)
{
	put_all(1, out, out_len);
	out_len = 0;
}

/* reply - queue a canned reply line */
static void
reply(const char *s)
{
	size_t n = strlen(s);

	if (out_len + n > sizeof out)
		flush();
	memcpy(out + out_len, s, n);
	out_len += n;
}

/* fill - refill the input buffer (replies first); 0 at EOF */
static int
fill(void)
{
	ssize_t n;

	flush();
	do
		n = read(0, in, sizeof in);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	in_pos = 0;
	in_len = (size_t)n;
	return 1;
}

/* more - a line was split by a read: keep its start, read the rest */
static int
more(void)
{
	size_t n = in_len - in_pos;
	ssize_t r;

	memmove(in, in + in_pos, n);
	in_pos = 0;
	in_len = n;
	flush();
	do
		r = read(0, in + n, sizeof in - n);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0;
	in_len += (size_t)r;
	return 1;
}

/*
 * data - stream the data to fd up to a line ".", CRLF ended.  Bytes that
 * may be that line are held back until they turn out to be text (then
 * written) or the end (then dropped).  0 at the end, -1 at EOF.
 */
static int
data(int fd)
{
	static const char end[] = ".\r\n";
	size_t held = 0, carried, start, i, m, keep;
	int bol = 1;
	unsigned char *lf;

	for (;;) {
		if (in_pos == in_len && !fill())
			return -1;
		start = i = in_pos;
		carried = held;		/* held from the last buffer */
		keep = in_len;
		while (i < in_len) {
			if (bol) {
				m = i;
				while (i < in_len && held < 3 &&
				    in[i] == (unsigned char)end[held]) {
					i++;
					held++;
				}
				if (held == 3) {
					put_all(fd, in + start, m - start);
					in_pos = i;
					return 0;
				}
				if (i == in_len) {
					keep = m;
					break;
				}
				if (carried > 0)
					put_all(fd, end, carried);
				carried = held = 0;
				bol = 0;
			}
			lf = memchr(in + i, '\n', in_len - i);
			i = lf != NULL ? (size_t)(lf - in) + 1 : in_len;
			bol = lf != NULL;
		}
		put_all(fd, in + start, keep - start);
		in_pos = in_len;
	}
}

int
main(int argc, char **argv)
{
	char tmp[64];
	unsigned long seq = 0;
	int tmpfd, newfd, fd;
	unsigned char *lf;
	size_t n;

	if (argc != 2 || chdir(argv[1]) < 0 ||
	    (tmpfd = open("tmp", O_RDONLY | O_DIRECTORY)) < 0 ||
	    (newfd = open("new", O_RDONLY | O_DIRECTORY)) < 0)
		return 111;
	reply("220 floor ESMTP\r\n");
	for (;;) {
		if (in_pos == in_len && !fill())
			return 0;
		lf = memchr(in + in_pos, '\n', in_len - in_pos);
		if (lf == NULL) {	/* a line split by the read */
			if (!more())
				return 0;
			continue;
		}
		n = (size_t)(lf - (in + in_pos)) + 1;
		if (n >= 4 && memcmp(in + in_pos, "QUIT", 4) == 0) {
			reply("221 bye\r\n");
			flush();
			return 0;
		}
		if (n < 4 || memcmp(in + in_pos, "DATA", 4) != 0) {
			in_pos += n;
			reply("250 ok\r\n");
			continue;
		}
		in_pos += n;
		snprintf(tmp, sizeof tmp, "%ld.%lu", (long)getpid(), seq++);
		fd = openat(tmpfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0640);
		if (fd < 0)
			return 111;
		reply("354 go\r\n");
		if (data(fd) < 0)
			return 1;
		if (fsync(fd) < 0 || close(fd) < 0 ||
		    renameat(tmpfd, tmp, newfd, tmp) < 0 || fsync(newfd) < 0)
			return 111;
		reply("250 queued\r\n");
	}
}
