/*
 * floor.c - the benchmark floor: the least a per-connection SMTP receiver
 * can do and still make each message durable.  Answers every command line
 * with a canned reply (220 greeting, 354 to DATA, 221 to QUIT, 250 to
 * anything else), streams DATA up to a line "." into QUEUE/tmp/, fsyncs
 * it, renames it into QUEUE/new/ and fsyncs new/, per message, then says
 * 250.  No parsing, no unstuffing, no envelope, no limits, no timeouts:
 * a yardstick for bench/run, never a server.  Usage: floor QUEUE
 * (QUEUE/tmp and QUEUE/new must exist).
 *
 * Built from tlsfloor.c (FLOOR_TLS), it is the TLS floor: the same
 * receiver with libtls (linked directly, -ltls).  Usage: tlsfloor
 * [-i] CERT KEY QUEUE.  A line STARTTLS gets "220 go", then the
 * handshake on fd 0/fd 1 (libtls callbacks that read fd 0 64 KiB at a
 * time, as the plain floor does), and the session goes on over TLS
 * (octets that came after the STARTTLS line are dropped); with -i the
 * handshake comes first (implicit TLS).  The certificate and key
 * are read when TLS starts, as a per-connection server that picks up a
 * renewed certificate would.  QUIT gets 221 and a close_notify.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef FLOOR_TLS
#include <tls.h>
#endif

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

#ifdef FLOOR_TLS
static struct tls *conn;	/* the TLS session, once it is up */
static const char *cert, *key;
static unsigned char raw[INBUF];	/* ciphertext read from fd 0 */
static size_t raw_pos, raw_len;
static int raw_only;		/* serve what raw holds, read nothing */

/*
 * cb_read - libtls reads ciphertext from here: raw, refilled from fd 0
 * with one read() of up to 64 KiB (a default BIO would read each
 * record's 5-octet header and its body with two).  With raw_only set,
 * an empty raw says "would block" instead of reading.
 */
static ssize_t
cb_read(struct tls *t, void *p, size_t n, void *arg)
{
	ssize_t r;

	(void)t;
	(void)arg;
	if (raw_pos == raw_len) {
		if (raw_only)
			return TLS_WANT_POLLIN;
		do
			r = read(0, raw, sizeof raw);
		while (r < 0 && errno == EINTR);
		if (r <= 0)
			return r;
		raw_pos = 0;
		raw_len = (size_t)r;
	}
	if (n > raw_len - raw_pos)
		n = raw_len - raw_pos;
	memcpy(p, raw + raw_pos, n);
	raw_pos += n;
	return (ssize_t)n;
}

/* cb_write - libtls writes ciphertext to fd 1 here */
static ssize_t
cb_write(struct tls *t, const void *p, size_t n, void *arg)
{
	ssize_t w;

	(void)t;
	(void)arg;
	do
		w = write(1, p, n);
	while (w < 0 && errno == EINTR);
	return w;
}

/* tls_start - read the key pair, configure, handshake on fd 0/1 */
static void
tls_start(void)
{
	struct tls_config *cf;
	struct tls *srv;
	int r;

	if ((cf = tls_config_new()) == NULL ||
	    tls_config_set_keypair_file(cf, cert, key) < 0 ||
	    (srv = tls_server()) == NULL || tls_configure(srv, cf) < 0 ||
	    tls_accept_cbs(srv, &conn, cb_read, cb_write, NULL) < 0)
		_exit(111);
	while ((r = tls_handshake(conn)) == TLS_WANT_POLLIN ||
	    r == TLS_WANT_POLLOUT)
		;
	if (r < 0)
		_exit(1);
}

/*
 * get - read from the client: fd 0, or TLS once it is up.  Under TLS it
 * waits for one record, then takes every record whose octets already
 * came in (tls_read gives one record a call), up to n.
 */
static ssize_t
get(void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	if (conn == NULL)
		return read(0, p, n);
	while (got < n) {
		r = tls_read(conn, (char *)p + got, n - got);
		if (r == TLS_WANT_POLLIN || r == TLS_WANT_POLLOUT) {
			if (got > 0)
				break;
			continue;
		}
		if (r <= 0) {
			if (got > 0)
				break;
			raw_only = 0;
			return r;
		}
		got += (size_t)r;
		raw_only = 1;
	}
	raw_only = 0;
	return (ssize_t)got;
}

/* flush - send the pending replies */
static void
flush(void)
{
	const char *s = out;
	ssize_t w;

	if (conn == NULL)
		put_all(1, out, out_len);
	else
		while (out_len > 0) {
			w = tls_write(conn, s, out_len);
			if (w == TLS_WANT_POLLIN || w == TLS_WANT_POLLOUT)
				continue;
			if (w <= 0)
				_exit(111);
			s += w;
			out_len -= (size_t)w;
		}
	out_len = 0;
}
#else
#define get(p, n)	read(0, p, n)

/* flush - send the pending replies */
static void
flush(void)
{
	put_all(1, out, out_len);
	out_len = 0;
}
#endif

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
		n = get(in, sizeof in);
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
		r = get(in + n, sizeof in - n);
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

#ifdef FLOOR_TLS
	int implicit = argc == 5 && strcmp(argv[1], "-i") == 0;

	argc -= implicit;
	argv += implicit;
	if (argc != 4)
		return 100;
	cert = argv[1];
	key = argv[2];
	argc -= 2;
	argv += 2;
#endif
	if (argc != 2 || chdir(argv[1]) < 0 ||
	    (tmpfd = open("tmp", O_RDONLY | O_DIRECTORY)) < 0 ||
	    (newfd = open("new", O_RDONLY | O_DIRECTORY)) < 0)
		return 111;
#ifdef FLOOR_TLS
	if (implicit)
		tls_start();
#endif
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
#ifdef FLOOR_TLS
			if (conn != NULL)
				(void)tls_close(conn);
#endif
			return 0;
		}
#ifdef FLOOR_TLS
		if (conn == NULL && n >= 8 &&
		    memcmp(in + in_pos, "STARTTLS", 8) == 0) {
			reply("220 go\r\n");
			flush();
			in_pos = in_len;	/* never run what came after */
			tls_start();
			continue;
		}
#endif
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
