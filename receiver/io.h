/*
 * io.h - buffered client I/O under absolute deadlines.
 * The only code that reads fd 0 (or the socket) and writes replies.
 * Replies are flushed before any read that would block (RFC 2920).
 */
#ifndef IO_H
#define IO_H

#include <sys/types.h>
#include <sys/uio.h>

#include <stddef.h>
#include <string.h>
#include <time.h>

#define IO_INBUF	65536
#define IO_OUTBUF	8192

enum io_status {
	IO_OK = 0,
	IO_EOF,		/* the client closed its side */
	IO_TIMEOUT,	/* the idle or the session deadline passed */
	IO_ERROR	/* read or write failed; errno says why */
};

enum line_status {
	LINE_OK = 0,	/* a line ended by CRLF (or LF with lf mode) */
	LINE_TOOLONG,	/* over the cap: the rest up to LF was thrown away */
	LINE_BARELF,	/* ended by a LF with no CR before it */
	LINE_EOF,
	LINE_TIMEOUT,
	LINE_ERROR,
	LINE_AGAIN	/* io_readline without wait: no whole line buffered */
};

/* the client's fds, and which are sockets (the caller knows: fstat) */
struct conn {
	int	 in, out;
	int	 in_sock, out_sock;
};

struct io {
	int	 in;			/* fd the client writes to us on */
	int	 out;			/* fd replies go to */
	int	 in_sock;		/* in is a socket (a network client) */
	int	 out_sock;		/* out is a socket: send(MSG_DONTWAIT) */
	int	 lf_ok;			/* --lf: LF alone ends a line */
	int	 wfail;			/* a write failed: IO_TIMEOUT/ERROR */
	unsigned timeout;		/* idle limit per read/write, seconds */
	struct timespec wait_end;	/* the current wait's deadline */
	struct timespec session_end;	/* hard cap on the whole session */
	struct timespec line_end;	/* idle limit of the command line */
	int	 rcv_ms;		/* SO_RCVTIMEO set on in, 0: none */
	int	 line_timed;		/* 0, or: */
#define LINE_ARMED	1	/* reading a line; its clock starts at */
#define LINE_RUNNING	2	/* the first wait (line_end) */
	size_t	 in_pos, in_len;
	size_t	 out_len;
	unsigned long long bytes_in, bytes_out;
	/* a layer between the buffers and the fds (TLS), or NULL: its read
	 * gives octets or -IO_*, its write takes them all or says IO_* */
	void	*layer;
	ssize_t	 (*layer_read)(void *, unsigned char *, size_t);
	int	 (*layer_write)(void *, const char *, size_t);
	unsigned char inbuf[IO_INBUF];
	char	 outbuf[IO_OUTBUF];
};

int	 io_is_socket(int);
int	 io_is_listening(int);
struct timespec io_now(void);
int	 ms_until(struct timespec);
int	 io_sendv_by(int, struct iovec *, int, struct timespec);
int	 io_send_by(int, const void *, size_t, struct timespec);
void	 io_init(struct io *, const struct conn *, unsigned, unsigned);
int	 io_fill(struct io *);
void	 io_start_wait(struct io *);
ssize_t	 io_read_raw(struct io *, unsigned char *, size_t);
int	 io_write_raw(struct io *, const char *, size_t);

/* io_buffered - input is waiting in the buffer: reading it cannot block */
static inline int
io_buffered(const struct io *io)
{
	return io->in_pos < io->in_len;
}

/* io_room - reply octets that fit before a flush */
static inline size_t
io_room(const struct io *io)
{
	return IO_OUTBUF - io->out_len;
}

int	 io_readline(struct io *, char *, size_t, size_t *, int);
int	 io_put_more(struct io *, const char *, size_t);

/* io_put - queue reply bytes (flushed before a read would block) */
static inline int
io_put(struct io *io, const char *p, size_t n)
{
	if (n > IO_OUTBUF - io->out_len)
		return io_put_more(io, p, n);
	memcpy(io->outbuf + io->out_len, p, n);
	io->out_len += n;
	return IO_OK;
}
int	 io_flush(struct io *);
void	 io_abandon(struct io *);
int	 io_replace(struct io *, size_t, size_t, const char *, size_t);
int	 io_session_expired(const struct io *);
unsigned io_seconds_left(const struct io *);
void	 io_grace(struct io *, unsigned);
void	 io_linger(struct io *);

#endif
