/*
 * io.c - buffered client I/O under absolute deadlines.
 * Every read and every flush waits until the earlier of "now plus the
 * idle timeout", fixed once as the wait begins, and the session's hard
 * end (poll(), or a socket's own receive timeout); nothing here ever
 * blocks past them, however often a wait is resumed.  Pending replies are
 * flushed before a read that would block, which is what makes
 * PIPELINING (RFC 2920) safe.  Never parses SMTP.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

static int read_line(struct io *, char *, size_t, size_t *, int);

/* io_now - the monotonic clock all deadlines are on */
struct timespec
io_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts;
}

/* iov_advance - past w octets sent: the iovecs left (their count) */
static int
iov_advance(struct iovec **iov, int cnt, size_t w)
{
	while (cnt > 0 && w >= (*iov)->iov_len) {
		w -= (*iov)->iov_len;
		(*iov)++;
		cnt--;
	}
	if (cnt > 0) {
		(*iov)->iov_base = (char *)(*iov)->iov_base + w;
		(*iov)->iov_len -= w;
	}
	return cnt;
}

/*
 * io_sendv_by - cnt iovecs (changed as they go) on a socket (a
 * filter's, an auth backend's) before the deadline end, in one
 * sendmsg() while the socket has room: poll() only when it is full.
 * 0, or -1 (errno ETIMEDOUT when the deadline passed)
 */
int
io_sendv_by(int fd, struct iovec *iov, int cnt, struct timespec end)
{
	struct pollfd pfd = { fd, POLLOUT, 0 };
	struct msghdr mh;
	ssize_t w;
	int ms;

	memset(&mh, 0, sizeof mh);
	cnt = iov_advance(&iov, cnt, 0);
	while (cnt > 0) {
		mh.msg_iov = iov;
		mh.msg_iovlen = (size_t)cnt;
		if ((w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
			cnt = iov_advance(&iov, cnt, (size_t)w);
			continue;
		}
		if (w == 0 || (errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			return -1;
		if (errno == EINTR)
			continue;
		if ((ms = ms_until(end)) == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
			return -1;
	}
	return 0;
}

/* io_send_by - n octets, as io_sendv_by */
int
io_send_by(int fd, const void *buf, size_t n, struct timespec end)
{
	struct iovec iov = { (void *)(uintptr_t)buf, n };

	return io_sendv_by(fd, &iov, 1, end);
}

/* ms_until - milliseconds from now until ts (monotonic), 0 if past */
int
ms_until(struct timespec ts)
{
	struct timespec n = io_now();
	long long ms;

	ms = (long long)(ts.tv_sec - n.tv_sec) * 1000 +
	    (ts.tv_nsec - n.tv_nsec) / 1000000;
	if (ms <= 0)
		return 0;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* io_is_socket - is fd a socket? */
int
io_is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

/*
 * io_is_listening - is fd a listening socket (systemd Accept=no, xinetd
 * wait=yes), not a connection?  One system call: asked only on the
 * paths where that mistake shows.
 */
int
io_is_listening(int fd)
{
	int on = 0;
	socklen_t n = sizeof on;

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &n) == 0 && on;
}

/* io_init - set up the buffers, the fds and the session's hard end */
void
io_init(struct io *io, const struct conn *c, unsigned timeout,
    unsigned session)
{
	io->in = c->in;
	io->out = c->out;
	io->in_sock = c->in_sock;
	io->out_sock = c->out_sock;
	io->rcv_ms = 0;
	io->lf_ok = 0;
	io->wfail = IO_OK;
	io->line_timed = 0;
	io->timeout = timeout;
	io->session_end = io_now();
	io->session_end.tv_sec += session;
	io->in_pos = io->in_len = io->out_len = 0;
	io->bytes_in = io->bytes_out = 0;
	io->layer = NULL;
}

/* io_grace - let the session run n more seconds (for a last reply) */
void
io_grace(struct io *io, unsigned n)
{
	io->session_end = io_now();
	io->session_end.tv_sec += n;
}

/* io_seconds_left - whole seconds until the session's hard end */
unsigned
io_seconds_left(const struct io *io)
{
	return (unsigned)(ms_until(io->session_end) / 1000);
}

/* io_session_expired - 1 once the hard cap on the session has passed */
int
io_session_expired(const struct io *io)
{
	return ms_until(io->session_end) == 0;
}

/* earlier - the earlier of two monotonic times */
static struct timespec
earlier(struct timespec a, struct timespec b)
{
	if (a.tv_sec != b.tv_sec)
		return a.tv_sec < b.tv_sec ? a : b;
	return a.tv_nsec < b.tv_nsec ? a : b;
}

/*
 * arm_wait - fix the deadline of the wait about to start (a read or a
 * flush): now plus the idle limit.  Every poll() and receive timer of
 * that wait counts down to this one time, however often it is resumed
 * (a signal, a socket timer that ran out, a partial write), so silence
 * is cut after one idle period, never two.
 */
static void
arm_wait(struct io *io)
{
	io->wait_end = io_now();
	io->wait_end.tv_sec += io->timeout;
}

/* io_start_wait - one deadline for a wait made of several reads (TLS) */
void
io_start_wait(struct io *io)
{
	arm_wait(io);
}

/*
 * wait_ms - how long the current wait may still last: until its own
 * deadline (arm_wait), the end of the command line's time (io_readline)
 * or the session's hard end, whichever comes first.  0 once one of them
 * has passed: then the wait times out at once, even if input is ready, so a
 * client that keeps bytes flowing cannot outlive the cap.
 */
static int
wait_ms(const struct io *io)
{
	struct timespec end = earlier(io->wait_end, io->session_end);

	if (io->line_timed == LINE_RUNNING)
		end = earlier(end, io->line_end);
	return ms_until(end);
}

/* wait_for - poll fd for events within wait_ms() */
static int
wait_for(struct io *io, int fd, short events)
{
	struct pollfd pfd;
	int ms, r;

	for (;;) {
		if ((ms = wait_ms(io)) == 0)
			return IO_TIMEOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, ms);
		if (r > 0)
			return IO_OK;
		if (r == 0)
			return IO_TIMEOUT;
		if (errno != EINTR)
			return IO_ERROR;
	}
}

/*
 * arm_read - before a read from a socket: let the read itself wait, with
 * SO_RCVTIMEO, instead of a poll() first (a system call per command
 * saved).  The kernel runs long socket timers late, by up to an eighth
 * (its coarse timer wheel), so the timer is set an eighth early and a
 * timer that runs out lands in poll() for the rest of the same deadline
 * (io_fill): the wait ends on time.  The option is set again only when
 * the time it would get differs by more than RCV_SLACK_MS, which for
 * whole lines well inside the session's cap it does not.  If it cannot
 * be set, poll() waits as for pipes.
 */
#define RCV_SLACK_MS	100

static int
arm_read(struct io *io)
{
	struct timeval tv;
	int ms, early;

	if ((ms = wait_ms(io)) == 0)
		return IO_TIMEOUT;
	early = ms - ms / 8;
	if (io->rcv_ms != 0 && io->rcv_ms + io->rcv_ms / 8 <= ms &&
	    early - io->rcv_ms <= RCV_SLACK_MS)
		return IO_OK;
	tv.tv_sec = early / 1000;
	tv.tv_usec = (early % 1000) * 1000;
	if (setsockopt(io->in, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
		io->rcv_ms = 0;
		return wait_for(io, io->in, POLLIN);
	}
	io->rcv_ms = early;
	return IO_OK;
}

/*
 * write_some - one write that cannot block.  Sockets: send(MSG_DONTWAIT),
 * no change to the shared file flags.  Pipes and the rest: called once
 * poll() said POLLOUT, at most PIPE_BUF, which a writable pipe always
 * takes whole.
 */
static ssize_t
write_some(struct io *io, const char *p, size_t n)
{
	if (io->out_sock)
		return send(io->out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	return write(io->out, p, n < PIPE_BUF ? n : PIPE_BUF);
}

/* wait_out - wait until fd out takes bytes; the flush's deadline is
 * fixed at its first wait */
static int
wait_out(struct io *io, int *armed)
{
	if (!*armed) {
		arm_wait(io);
		*armed = 1;
	}
	return wait_for(io, io->out, POLLOUT);
}

/*
 * io_write_raw - write n octets to the client's fd, within one idle
 * period from the first wait (a layer's records come through here)
 */
int
io_write_raw(struct io *io, const char *p, size_t n)
{
	size_t done = 0;
	ssize_t w;
	int r, armed = 0;

	while (done < n) {
		if (!io->out_sock && (r = wait_out(io, &armed)) != IO_OK)
			return r;
		w = write_some(io, p + done, n - done);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return IO_ERROR;
		if (io->out_sock && (r = wait_out(io, &armed)) != IO_OK)
			return r;
	}
	return IO_OK;
}

/*
 * io_flush - write out every pending reply byte (through the layer when
 * there is one).  A client that does not take its replies within an
 * idle period is given up on for good: the failure sticks, and every
 * later write or read returns it at once.
 */
int
io_flush(struct io *io)
{
	int r;

	if (io->wfail != IO_OK)
		return io->wfail;
	if (io->out_len == 0)
		return IO_OK;
	r = io->layer != NULL ?
	    io->layer_write(io->layer, io->outbuf, io->out_len) :
	    io_write_raw(io, io->outbuf, io->out_len);
	if (r != IO_OK)
		return io->wfail = r;
	io->bytes_out += io->out_len;
	io->out_len = 0;
	return IO_OK;
}

/*
 * io_abandon - drop every pending reply and fail all later writes:
 * for replies the caller cannot stand by
 */
void
io_abandon(struct io *io)
{
	io->out_len = 0;
	io->wfail = IO_ERROR;
}

/* io_put_more - io_put() when the bytes do not fit: flush as it fills */
int
io_put_more(struct io *io, const char *p, size_t n)
{
	size_t room;
	int r;

	while (n > 0) {
		room = sizeof io->outbuf - io->out_len;
		if (room == 0) {
			if ((r = io_flush(io)) != IO_OK)
				return r;
			continue;
		}
		if (room > n)
			room = n;
		memcpy(io->outbuf + io->out_len, p, room);
		io->out_len += room;
		p += room;
		n -= room;
	}
	return IO_OK;
}

/*
 * io_replace - replace the n pending reply bytes at off by the m bytes
 * at p (group commit turning a held 250 into a 451); -1 if no room.
 */
int
io_replace(struct io *io, size_t off, size_t n, const char *p, size_t m)
{
	if (off + n > io->out_len || io->out_len - n + m > sizeof io->outbuf)
		return -1;
	memmove(io->outbuf + off + m, io->outbuf + off + n,
	    io->out_len - off - n);
	memcpy(io->outbuf + off, p, m);
	io->out_len = io->out_len - n + m;
	return 0;
}

/*
 * io_read_raw - one read from the client's fd into buf, within the wait
 * armed before: the octets read, or -IO_EOF, -IO_TIMEOUT, -IO_ERROR
 */
ssize_t
io_read_raw(struct io *io, unsigned char *buf, size_t cap)
{
	ssize_t n;
	int r;

	r = io->in_sock ? arm_read(io) : wait_for(io, io->in, POLLIN);
	for (;;) {
		if (r != IO_OK)
			return -r;
		n = read(io->in, buf, cap);
		if (n > 0)
			return n;
		if (n == 0)
			return -IO_EOF;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return -IO_ERROR;
		/* a signal, a socket that does not block, or its timer ran
		 * out: poll() for what is left of the same deadline */
		r = wait_for(io, io->in, POLLIN);
	}
}

/*
 * io_fill - make sure input is buffered: flush replies, then wait (one
 * deadline for the whole wait: arm_wait) and read, from the fd or
 * through the layer
 */
int
io_fill(struct io *io)
{
	ssize_t n;
	int r;

	if (io_buffered(io))
		return IO_OK;
	if ((r = io_flush(io)) != IO_OK)
		return r;
	arm_wait(io);
	if (io->line_timed == LINE_ARMED) {	/* the line's first wait */
		io->line_end = io->wait_end;
		io->line_timed = LINE_RUNNING;
	}
	n = io->layer != NULL ?
	    io->layer_read(io->layer, io->inbuf, sizeof io->inbuf) :
	    io_read_raw(io, io->inbuf, sizeof io->inbuf);
	if (n <= 0)
		return n == 0 ? IO_EOF : (int)-n;
	io->in_pos = 0;
	io->in_len = (size_t)n;
	io->bytes_in += (size_t)n;
	return IO_OK;
}

/*
 * io_linger - close gracefully when we hang up first: send FIN, then
 * read and drop what the client still sends, for at most a second and
 * 256 KiB, so the kernel does not answer it with a reset that could
 * destroy our last reply before the client has read it.
 */
void
io_linger(struct io *io)
{
	struct pollfd pfd = { io->in, POLLIN, 0 };
	struct timespec end = io_now();
	size_t total = 0;
	ssize_t n;
	int ms;

	if (!io->out_sock || shutdown(io->out, SHUT_WR) < 0)
		return;
	end.tv_sec += 1;
	while (total < (256u << 10) && (ms = ms_until(end)) > 0 &&
	    poll(&pfd, 1, ms) > 0) {
		n = read(io->in, io->inbuf, sizeof io->inbuf);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/* line_status - map an io_fill failure to a line result */
static int
line_status(int r)
{
	if (r == IO_EOF)
		return LINE_EOF;
	if (r == IO_TIMEOUT)
		return LINE_TIMEOUT;
	return LINE_ERROR;
}

/*
 * io_readline - read one line into buf (size cap), without its ending,
 * within one idle timeout for the whole line (a byte now and then does
 * not stretch it; the clock starts when the line first has to wait, so
 * a line already buffered costs no clock reading).  With wait 0, a
 * line that is not whole in the buffer is left there: LINE_AGAIN, so
 * that the caller can do what must come before a read that may block.
 * A line holds at
 * most cap - 2 bytes of text; a longer one is read to its LF and thrown
 * away.  buf is NUL-terminated, but the text may hold NULs: *lenp is
 * the true length.
 */
int
io_readline(struct io *io, char *buf, size_t cap, size_t *lenp, int wait)
{
	int r;

	io->line_timed = LINE_ARMED;
	r = read_line(io, buf, cap, lenp, wait);
	io->line_timed = 0;
	return r;
}

/* read_line - io_readline's work */
static int
read_line(struct io *io, char *buf, size_t cap, size_t *lenp, int wait)
{
	size_t len = 0, n;
	unsigned char *p, *lf;
	int toolong = 0, r;

	for (;;) {
		if (!wait && !io_buffered(io))
			return LINE_AGAIN;
		if ((r = io_fill(io)) != IO_OK)
			return line_status(r);
		p = io->inbuf + io->in_pos;
		n = io->in_len - io->in_pos;
		lf = memchr(p, '\n', n);
		if (lf == NULL && !wait)	/* nothing taken yet */
			return LINE_AGAIN;
		if (lf != NULL)
			n = (size_t)(lf - p);
		if (!toolong && len + n > cap - 1)
			toolong = 1;
		if (!toolong) {
			memcpy(buf + len, p, n);
			len += n;
		}
		io->in_pos += n;
		if (lf != NULL) {
			io->in_pos++;
			break;
		}
	}
	if (toolong)
		return LINE_TOOLONG;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	else if (!io->lf_ok) {
		buf[len] = '\0';
		*lenp = len;
		return LINE_BARELF;
	}
	if (len > cap - 2)
		return LINE_TOOLONG;
	buf[len] = '\0';
	*lenp = len;
	return LINE_OK;
}
