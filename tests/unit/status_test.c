/*
 * status_test.c - unit tests for the pure parts of the delivery
 * reports: queue/status.c (the RFC 3463 status of an exit status or of
 * a code the command printed, the Diagnostic-Code) and report.c's
 * address and xtext forms (RFC 3461, RFC 6533).  Prints
 * "status: N passed, M failed".
 */
#include <stdio.h>
#include <string.h>

#include "report.h"
#include "status.h"

static int pass, fail;

/* expect - count one check: got equals want */
static void
expect(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		pass++;
	else {
		fail++;
		printf("FAIL %s: got [%s] want [%s]\n", what, got, want);
	}
}

/* check_pick - exit statuses and printed codes to a status */
static void
check_pick(void)
{
	static const struct {
		char	 cls;
		int	 code;
		const char *line, *want;
	} t[] = {
		{ '5', 67, "", "5.1.1" },		/* EX_NOUSER */
		{ '5', 68, "no such host", "5.1.2" },	/* EX_NOHOST */
		{ '5', 65, "", "5.6.0" },		/* EX_DATAERR */
		{ '5', 77, "", "5.7.1" },		/* EX_NOPERM */
		{ '5', 73, "", "5.2.0" },		/* EX_CANTCREAT */
		{ '5', 78, "", "5.3.5" },		/* EX_CONFIG */
		{ '5', 1, "", "5.0.0" },
		{ '5', 100, "x", "5.0.0" },
		{ '4', 75, "mailbox locked", "4.3.0" },	/* EX_TEMPFAIL */
		{ '4', -1, "", "4.3.0" },		/* a signal */
		{ '5', 1, "550 5.2.1 mailbox disabled", "5.2.1" },
		{ '5', 67, "msmtp: server message: 550 5.1.10 no", "5.1.10" },
		{ '5', 1, "over quota 4.2.2", "5.2.2" },	/* class made 5 */
		{ '4', 75, "5.7.1 later", "4.7.1" },	/* and made 4 */
		{ '5', 67, "version 10.4.5 failed", "5.1.1" },
		{ '5', 67, "ip 1.2.3.4 refused", "5.1.1" },
		{ '5', 1, "v5.1.1", "5.0.0" },
		{ '5', 1, "code 5.1234.1 or 5.1.1234", "5.0.0" },
		{ '5', 1, "see 2.1.5.", "5.1.5" },
	};
	char out[QSTATUS_MAX], what[128];
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		qstatus_pick(out, sizeof out, t[i].cls, t[i].code, t[i].line);
		snprintf(what, sizeof what, "pick %c %d \"%s\"", t[i].cls,
		    t[i].code, t[i].line);
		expect(what, out, t[i].want);
	}
}

/* check_diag - the Diagnostic-Code: type, printable, cut */
static void
check_diag(void)
{
	char out[QSTATE_TEXT_MAX], long_line[400];

	qstatus_diag(out, sizeof out, "550 5.1.1 <x@y>: unknown");
	expect("diag smtp", out, "smtp; 550 5.1.1 <x@y>: unknown");
	qstatus_diag(out, sizeof out, "451-4.3.0 try later");
	expect("diag smtp continued", out, "smtp; 451-4.3.0 try later");
	qstatus_diag(out, sizeof out, "procmail: Couldn't create \"x\"");
	expect("diag x-unix", out, "x-unix; procmail: Couldn't create \"x\"");
	qstatus_diag(out, sizeof out, "  a\tb\x01" "c\xc3\xa9  ");
	expect("diag printable", out, "x-unix; a b?c??");
	qstatus_diag(out, sizeof out, "5500 no");
	expect("diag not a reply", out, "x-unix; 5500 no");
	memset(long_line, 'x', sizeof long_line - 1);
	long_line[sizeof long_line - 1] = '\0';
	qstatus_diag(out, sizeof out, long_line);
	expect("diag cut at 200", strlen(out) == 8 + QSTATUS_DIAG_MAX ?
	    "ok" : out, "ok");
}

/* check_forms - xtext decoding and the address forms of a report */
static void
check_forms(void)
{
	char out[256];

	expect("xtext", qreport_xtext_decode("a+2Bb+3Dc", out, sizeof out) ==
	    0 ? out : "-1", "a+b=c");
	expect("xtext bad hex", qreport_xtext_decode("a+2b", out,
	    sizeof out) == 0 ? out : "-1", "-1");
	expect("xtext short", qreport_xtext_decode("a+2", out, sizeof out) ==
	    0 ? out : "-1", "-1");
	expect("xtext space", qreport_xtext_decode("a+20b", out,
	    sizeof out) == 0 ? out : "-1", "-1");
	qreport_addr(out, sizeof out, "bob@example.com");
	expect("addr ascii", out, "rfc822; bob@example.com");
	qreport_addr(out, sizeof out, "j\xc3\xb6rg+x@b\xc3\xbc" "cher.example");
	expect("addr utf-8", out, "utf-8; j\\x{F6}rg\\x{2B}x@b\\x{FC}cher.example");
	qreport_addr(out, sizeof out, "\xe2\x82\xac=\\@x\xf0\x9f\x98\x80");
	expect("addr utf-8 wide", out,
	    "utf-8; \\x{20AC}\\x{3D}\\x{5C}@x\\x{1F600}");
}

int
main(void)
{
	check_pick();
	check_diag();
	check_forms();
	printf("status: %d passed, %d failed\n", pass, fail);
	return fail != 0;
}
