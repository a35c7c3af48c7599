/*
 * acceptall.c - a mail filter on libmilter (Sendmail's library) that
 * accepts everything, for bench/run's part "milter" (issue 21): what
 * one filter costs the MTA, with the filter's own side as cheap as a
 * libmilter filter can be.  Never part of the tests.
 *
 *   acceptall [-m full|nr|lean] SOCKET
 *
 * Listens on the UNIX socket SOCKET (a stale one is removed) and runs
 * in the foreground until SIGTERM, SIGINT or SIGHUP (libmilter's own
 * signal thread ends smfi_main).  -m says what it negotiates in
 * xxfi_negotiate (the MTA's offer is taken as far as it goes):
 *
 *   full  (default) no SMFIP_NO* and no SMFIP_NR_* flag: every step is
 *         sent and every one waits for a reply, as a filter written
 *         before protocol version 6 does
 *   nr    every SMFIP_NR_* flag: every step is still sent, only OPTNEG
 *         and the end of the message wait for a reply
 *   lean  nr, plus SMFIP_NO* for the steps a content filter does not
 *         need (CONNECT, HELO, MAIL, RCPT, DATA, unknown commands): the
 *         header fields, EOH, the body and its end are sent, and only
 *         the end is answered; the cheapest for a filter that reads the
 *         message
 *
 * It asks for no actions: it never changes a message.  Each callback
 * answers CONTINUE, or NOREPLY where the reply was negotiated away; the
 * end of the message answers CONTINUE, which there means accept.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define ALL_NR	(SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | \
	SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_UNKN | SMFIP_NR_HDR | \
	SMFIP_NR_EOH | SMFIP_NR_BODY)
#define ENVELOPE_NO (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOMAIL | \
	SMFIP_NORCPT | SMFIP_NODATA | SMFIP_NOUNKNOWN)

static unsigned long want_steps;	/* the flags -m asks for */
/* what a step answers: NOREPLY when its reply was negotiated away; */
/* set once in negotiate (every session negotiates the same) */
static unsigned long got_steps;

static sfsistat
answer(unsigned long nr_bit)
{
	return (got_steps & nr_bit) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
on_negotiate(SMFICTX *ctx, unsigned long actions, unsigned long steps,
    unsigned long f2, unsigned long f3, unsigned long *pactions,
    unsigned long *psteps, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)actions;
	(void)f2;
	(void)f3;
	*pactions = 0;
	*psteps = want_steps & steps;
	*pf2 = 0;
	*pf3 = 0;
	got_steps = *psteps;
	return SMFIS_CONTINUE;
}

static sfsistat
on_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return answer(SMFIP_NR_CONN);
}

static sfsistat
on_helo(SMFICTX *ctx, char *name)
{
	(void)ctx;
	(void)name;
	return answer(SMFIP_NR_HELO);
}

static sfsistat
on_mail(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return answer(SMFIP_NR_MAIL);
}

static sfsistat
on_rcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return answer(SMFIP_NR_RCPT);
}

static sfsistat
on_data(SMFICTX *ctx)
{
	(void)ctx;
	return answer(SMFIP_NR_DATA);
}

static sfsistat
on_unknown(SMFICTX *ctx, const char *cmd)
{
	(void)ctx;
	(void)cmd;
	return answer(SMFIP_NR_UNKN);
}

static sfsistat
on_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return answer(SMFIP_NR_HDR);
}

static sfsistat
on_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return answer(SMFIP_NR_EOH);
}

static sfsistat
on_body(SMFICTX *ctx, unsigned char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return answer(SMFIP_NR_BODY);
}

static sfsistat
on_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
on_abort(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
on_close(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
	.xxfi_name = "acceptall",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0,
	.xxfi_connect = on_connect,
	.xxfi_helo = on_helo,
	.xxfi_envfrom = on_mail,
	.xxfi_envrcpt = on_rcpt,
	.xxfi_header = on_header,
	.xxfi_eoh = on_eoh,
	.xxfi_body = on_body,
	.xxfi_eom = on_eom,
	.xxfi_abort = on_abort,
	.xxfi_close = on_close,
	.xxfi_unknown = on_unknown,
	.xxfi_data = on_data,
	.xxfi_negotiate = on_negotiate,
};

static void
usage(void)
{
	fputs("usage: acceptall [-m full|nr|lean] SOCKET\n", stderr);
	exit(2);
}

int
main(int argc, char **argv)
{
	char conn[200];
	const char *mode = "full";
	int c, n;

	while ((c = getopt(argc, argv, "m:")) != -1) {
		if (c != 'm')
			usage();
		mode = optarg;
	}
	if (optind != argc - 1)
		usage();
	if (strcmp(mode, "full") == 0)
		want_steps = 0;
	else if (strcmp(mode, "nr") == 0)
		want_steps = ALL_NR;
	else if (strcmp(mode, "lean") == 0)
		want_steps = ALL_NR | ENVELOPE_NO;
	else
		usage();
	n = snprintf(conn, sizeof conn, "unix:%s", argv[optind]);
	if (n < 0 || (size_t)n >= sizeof conn) {
		fputs("acceptall: socket path too long\n", stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (smfi_setconn(conn) != MI_SUCCESS ||
	    smfi_register(filter) != MI_SUCCESS ||
	    smfi_opensocket(1) != MI_SUCCESS) {
		fprintf(stderr, "acceptall: cannot listen on %s\n", conn);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
}
