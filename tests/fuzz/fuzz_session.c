/*
 * fuzz_session.c - libFuzzer target: one whole SMTP session fed
 * arbitrary client bytes, then the spool and the replies are checked.
 * Input: one selector octet (bits 0-1: configuration, bit 2: untrusted
 * client, bit 3: in pieces), then the client's bytes.  smtpd reads them
 * from a memfd; with bit 3 each read(2) returns one piece of 1 to 13
 * octets (the length taken from the data itself; read is wrapped at link
 * time, -Wl,--wrap=read), so the DATA machine and the line reader are
 * tried across every kind of read boundary, and a crash still
 * reproduces.  Replies go through a pipe a thread drains; the queue is a
 * private directory (tmpfs if there is one).  Invariants, any break aborts:
 * every reply line is "DDD" SP/"-" printable text CRLF, <= 512 octets;
 * each "250 ... queued as ID" has its file in new/ and no file is there
 * without one; every file in new/ is an envelope block, an empty line
 * and a message that starts with our Received: line and holds only CRLF
 * line ends (no bare CR, LF or NUL: nothing smuggled) unless its
 * envelope says "Body: BINARYMIME" (BDAT: any octets); tmp/ is empty and
 * no file descriptor is left open when the session is over.  BDAT (RFC
 * 3030): each "250 2.0.0 N octets received" has a BDAT command in the
 * input to answer (no more of them than "BDAT"s), its N octets were in
 * the input (all N together no more than the input); after "501 5.5.4
 * BDAT chunk size unreadable" comes a 421 and nothing else, and no
 * reply follows "421 4.5.0" (the session cannot tell where a chunk
 * ends, so it must end).
 * It links the receiver's own objects: config_defaults() (options.c)
 * and identify_client() (peer.c) set the session up as smtpd does.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <pthread.h>
#include <stdint.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzzcheck.h"
#include "options.h"
#include "peer.h"
#include "session.h"

#define HOST		"mx.fuzz.example"
#define NCONFIG		4
#define MAX_IDS		8192	/* more 250s than an input can hold */
#define PIECES_MAX	16384	/* longer inputs are not read in pieces */

int	 LLVMFuzzerInitialize(int *, char ***);
int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);
ssize_t	 __real_read(int, void *, size_t);
ssize_t	 __wrap_read(int, void *, size_t);

static struct config configs[NCONFIG];
static struct client local_client, remote_client;
static struct session sess;
static char qdir[256], newdir[300];
static int in_fd = -1;

struct drain {
	int	 fd;
	char	*buf;
	size_t	 len, cap;
};

/* the input, when it is read in pieces */
static const uint8_t *piece_data;
static size_t piece_len, piece_pos;

/* set_config - defaults as smtpd has them, then the variant's options */
static void
set_config(struct config *cfg, int variant)
{
	config_defaults(cfg);
	cfg->queue = qdir;
	memcpy(cfg->hostname, HOST, sizeof HOST);
	cfg->timeout = 2;
	cfg->session_max = 20;
	cfg->log_mode = LOGMODE_STDERR;
	if (policy_add_domain(&cfg->domains, "example.com") < 0 ||
	    policy_add_domain(&cfg->domains, ".sub.example.com") < 0)
		fail("policy_add_domain", NULL, 0);
	switch (variant) {
	case 1:		/* tight limits: every limit path is near */
		cfg->max_size = 300;
		cfg->max_rcpt = 3;
		cfg->max_errors = 6;
		cfg->max_messages = 3;
		break;
	case 2:		/* hand-written transcripts: LF ends lines */
		cfg->lf = 1;
		break;
	case 3:		/* no size limit, lf and small recipient cap */
		cfg->max_size = 0;
		cfg->max_rcpt = 2;
		cfg->lf = 1;
		break;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct conn nullconn = { -1, -1, 0, 0 };
	int i;

	(void)argc;
	(void)argv;
	fc_init("fuzz_session");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGXFSZ, SIG_IGN);
	umask(027);
	fc_private_dir("smtpd-fuzz", qdir, sizeof qdir);
	snprintf(newdir, sizeof newdir, "%s/new", qdir);
	for (i = 0; i < NCONFIG; i++)
		set_config(&configs[i], i);
	/* the two clients, found the way smtpd finds them */
	nullconn.in = nullconn.out = open("/dev/null", O_RDWR | O_CLOEXEC);
	unsetenv("TCPREMOTEIP");
	unsetenv("REMOTE_ADDR");
	unsetenv("REMOTE_HOST");
	unsetenv("RELAYCLIENT");
	identify_client(&local_client, &nullconn, &configs[0]);
	setenv("TCPREMOTEIP", "192.0.2.7", 1);
	setenv("TCPREMOTEPORT", "40123", 1);
	setenv("TCPREMOTEHOST", "client.fuzz.example", 1);
	identify_client(&remote_client, &nullconn, &configs[0]);
	unsetenv("TCPREMOTEIP");
	unsetenv("TCPREMOTEPORT");
	unsetenv("TCPREMOTEHOST");
	close(nullconn.in);
	if (local_client.trusted != 1 || remote_client.trusted != 0)
		fail("identify_client", "trust", 5);
	if ((in_fd = memfd_create("smtpd-fuzz-input", MFD_CLOEXEC)) < 0)
		fail("memfd_create", strerror(errno), strlen(strerror(errno)));
	return 0;
}

/* drain_main - read every reply byte until the session closes its end */
static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	ssize_t n;

	for (;;) {
		if (d->cap - d->len < 65536) {
			d->cap = d->cap ? d->cap * 2 : 262144;
			if ((d->buf = realloc(d->buf, d->cap)) == NULL)
				fail("realloc", NULL, 0);
		}
		n = read(d->fd, d->buf + d->len, d->cap - d->len);
		if (n > 0)
			d->len += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	return NULL;
}

/*
 * __wrap_read - read(2) as smtpd's objects see it: on the input, in
 * pieces when asked to; everything else as it is.
 */
ssize_t
__wrap_read(int fd, void *buf, size_t n)
{
	size_t want;
	ssize_t r;

	if (fd != in_fd || piece_data == NULL || piece_pos >= piece_len)
		return __real_read(fd, buf, n);
	want = 1 + piece_data[piece_pos] % 13;
	if (want > n)
		want = n;
	if ((r = __real_read(fd, buf, want)) > 0)
		piece_pos += (size_t)r;
	return r;
}

/* count_bdat - how many times "BDAT" (any case) is in the input */
static size_t
count_bdat(const uint8_t *in, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i + 4 <= n; i++)
		if ((in[i] | 0x20) == 'b' && (in[i + 1] | 0x20) == 'd' &&
		    (in[i + 2] | 0x20) == 'a' && (in[i + 3] | 0x20) == 't')
			c++;
	return c;
}

/*
 * check_chunk_reply - "250 2.0.0 N octets received": N in digits, no
 * more than the input holds; adds N to *octets, counts it in *chunks
 */
static void
check_chunk_reply(const char *p, size_t len, size_t in_len,
    unsigned long long *octets, size_t *chunks)
{
	const char *q = p + 10, *tail = " octets received\r\n";
	unsigned long long v = 0;
	size_t t = strlen(tail);

	if (len < 10 + 1 + t || memcmp(p + len - t, tail, t) != 0)
		return;			/* another 250 2.0.0 */
	for (; q < p + len - t; q++) {
		if (*q < '0' || *q > '9' || v > 1000000000000ull)
			fail("BDAT reply's octet count is not a number", p, len);
		v = v * 10 + (unsigned long long)(*q - '0');
	}
	if (v > in_len || (*octets += v) > in_len)
		fail("BDAT replies count more octets than the input holds", p,
		    len);
	++*chunks;
}

/* check_replies - every line well-formed; returns the queued-id count */
static size_t
check_replies(const char *p, size_t n, char (*ids)[SPOOL_ID_MAX],
    const uint8_t *in, size_t in_len)
{
	const char *start = p, *end = p + n, *last = p;
	struct fc_reply r = { 0, 0 };
	char id[SPOOL_ID_MAX];
	size_t len, nids = 0, chunks = 0;
	unsigned long long octets = 0;
	int lost = 0, unreadable = 0;

	if (n == 0)
		fail("no reply at all (not even a greeting)", NULL, 0);
	if (p[0] != '2' && p[0] != '4' && p[0] != '5')
		fail("first reply is not a greeting", p, n);
	for (; p < end; p += len) {
		len = fc_reply_line(p, end, &r);
		last = p;
		if (lost)
			fail("a reply after 421 4.5.0 (BDAT out of step)", p, len);
		if (unreadable && !fc_starts(p, len, "421 "))
			fail("no 421 after an unreadable BDAT size", p, len);
		unreadable = fc_starts(p, len,
		    "501 5.5.4 BDAT chunk size unreadable\r\n");
		lost = fc_starts(p, len, "421 4.5.0 ");
		if (fc_starts(p, len, "250 2.0.0 "))
			check_chunk_reply(p, len, in_len, &octets, &chunks);
		if (fc_queued_id(p, len, id, sizeof id)) {
			if (nids == MAX_IDS)
				fail("more 250s than the harness can hold", p,
				    len);
			memcpy(ids[nids++], id, sizeof id);
		}
	}
	fc_replies_end(&r, last, end);
	if (unreadable)
		fail("the session went on after an unreadable BDAT size", NULL,
		    0);
	if (chunks > count_bdat(in, in_len))
		fail("more BDAT chunk replies than BDAT commands", start,
		    n > 400 ? 400 : n);
	return nids;
}

/* check_file - one file of new/: its envelope and message as smtpd must
 * write them, and the spool reader takes it */
static void
check_file(void *arg, void *rec, const char *name, char *f, size_t n)
{
	const struct config *cfg = arg;
	struct fc_env e;
	size_t head;

	(void)rec;
	head = fc_check_envelope(f, n, name, &e);
	(void)fc_check_message(f + head, n - head, cfg->max_size, e.binary);
	fc_check_spoolfmt(f, n, name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char ids[MAX_IDS][SPOOL_ID_MAX];
	const struct config *cfg;
	const struct client *client;
	struct conn conn = { -1, -1, 0, 0 };	/* a memfd and a pipe */
	struct drain d;
	pthread_t th;
	int p[2], rc, free_fd, pieces;
	size_t nids;

	if (size == 0)
		return 0;
	free_fd = fc_lowest_free_fd();
	cfg = &configs[data[0] & 3];
	client = (data[0] & 4) ? &remote_client : &local_client;
	pieces = (data[0] & 8) && size - 1 <= PIECES_MAX;
	data++;
	size--;
	if (ftruncate(in_fd, 0) < 0 || (size > 0 &&
	    pwrite(in_fd, data, size, 0) != (ssize_t)size) ||
	    lseek(in_fd, 0, SEEK_SET) != 0)
		fail("memfd write", strerror(errno), strlen(strerror(errno)));
	piece_data = pieces ? data : NULL;
	piece_len = size;
	piece_pos = 0;
	if (pipe2(p, O_CLOEXEC) < 0)
		fail("pipe2", strerror(errno), strlen(strerror(errno)));
	memset(&d, 0, sizeof d);
	d.fd = p[0];
	if (pthread_create(&th, NULL, drain_main, &d) != 0)
		fail("pthread_create", NULL, 0);
	conn.in = in_fd;
	conn.out = p[1];
	session_init(&sess, cfg, client, &conn);
	rc = session_run(&sess);
	session_free(&sess);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	piece_data = NULL;
	if (rc != END_QUIT && rc != END_CLIENT && rc != END_TEMPFAIL)
		fail("session_run returned an unknown status", NULL, 0);
	nids = check_replies(d.buf, d.len, ids, data, size);
	fc_check_queue(qdir, ids, nids, SPOOL_ID_MAX, check_file, (void *)cfg);
	free(d.buf);
	fc_rm_files(newdir);
	if (fc_lowest_free_fd() != free_fd)
		fail("file descriptor left open by the session", NULL, 0);
	return 0;
}
