/*
 * fuzz_addr.c - libFuzzer target: the MAIL/RCPT path and parameter
 * parser (addr.c) on arbitrary bytes, copied to a buffer of exactly
 * their size so that any read past "end" is an ASan error.
 * Input: one selector octet (bits 0-2: which parser, bits 3-4: path
 * flags), then the argument.  Beyond "no crash", what the parser
 * accepts must be safe to write into the spool envelope and must mean
 * the same when parsed again: no control octet, CR, LF or NUL in any
 * value kept, every cap (64/255/256, ENVID 100, ORCPT 500) held, the
 * UTF-8 flag true to the bytes, and "<" addr ">" parses back to addr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* fail - report a broken invariant and abort (libFuzzer keeps the input) */
static void
fail(const char *what, const char *s, size_t n)
{
	fprintf(stderr, "fuzz_addr: INVARIANT BROKEN: %s: %.*s\n", what,
	    (int)(n > 300 ? 300 : n), s ? s : "");
	abort();
}

/* check_value - a kept value: bounded, printable, no SP (one token) */
static void
check_value(const char *what, const char *v, size_t max)
{
	size_t n = strnlen(v, max + 1), i;

	if (n > max)
		fail(what, v, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] == 0x7f)
			fail(what, v, n);
}

/* check_path - a path addr_parse_path accepted */
static void
check_path(const struct path *pa, const char *in, size_t n, const char *rest,
    int flags)
{
	size_t i, local;
	int high = 0;
	char buf[ADDR_PATH_MAX + 3];
	const char *p = buf;
	struct path again;

	if (rest < in + 2 || rest > in + n || rest[-1] != '>')
		fail("path end not after a '>'", in, n);
	if (pa->len != strnlen(pa->addr, sizeof pa->addr) ||
	    pa->len > ADDR_PATH_MAX - 2)
		fail("path length", pa->addr, pa->len);
	for (i = 0; i < pa->len; i++) {
		if ((unsigned char)pa->addr[i] < 0x20 ||
		    (unsigned char)pa->addr[i] == 0x7f)
			fail("control octet in a path", pa->addr, pa->len);
		high |= (unsigned char)pa->addr[i] >= 0x80;
	}
	if (high && !pa->utf8)
		fail("8-bit path without the utf8 flag", pa->addr, pa->len);
	if (!addr_valid_utf8(pa->addr, pa->len))
		fail("path is not valid UTF-8", pa->addr, pa->len);
	if (pa->len == 0) {
		if (!(flags & ADDR_ALLOW_NULL))
			fail("<> accepted where not allowed", in, n);
		return;
	}
	if (pa->domain_off == 0) {
		if (!(flags & ADDR_ALLOW_POSTMASTER) || !addr_is_postmaster(pa))
			fail("path without a domain", pa->addr, pa->len);
	} else {
		local = pa->domain_off - 1;
		if (pa->domain_off >= pa->len || pa->addr[local] != '@' ||
		    local == 0 || local > ADDR_LOCAL_MAX ||
		    pa->len - pa->domain_off > ADDR_DOMAIN_MAX)
			fail("local part or domain out of bounds", pa->addr,
			    pa->len);
		if (!addr_valid_domain(pa->addr + pa->domain_off,
		    pa->len - pa->domain_off))
			fail("accepted domain is not a valid domain",
			    pa->addr, pa->len);
	}
	/* the same address written plainly parses to the same thing */
	buf[0] = '<';
	memcpy(buf + 1, pa->addr, pa->len);
	buf[pa->len + 1] = '>';
	if (addr_parse_path(&p, buf + pa->len + 2, flags, &again) != ADDR_OK ||
	    p != buf + pa->len + 2 || again.len != pa->len ||
	    memcmp(again.addr, pa->addr, pa->len) != 0 ||
	    again.domain_off != pa->domain_off)
		fail("<addr> does not parse back to addr", pa->addr, pa->len);
}

/* fuzz_path - addr_parse_path with the flags of the selector */
static void
fuzz_path(const char *in, size_t n, int flags)
{
	const char *p = in;
	struct path pa;
	int r;

	r = addr_parse_path(&p, in + n, flags, &pa);
	if (r == ADDR_OK)
		check_path(&pa, in, n, p, flags);
	else if (r != ADDR_SYNTAX && r != ADDR_TOOLONG &&
	    r != ADDR_NULL_REFUSED)
		fail("unknown addr_parse_path status", in, n);
	else if (p != in)
		fail("pointer moved on failure", in, n);
	if (r == ADDR_OK)
		(void)addr_is_postmaster(&pa);
}

/* fuzz_mail_params - the MAIL parameters */
static void
fuzz_mail_params(const char *in, size_t n)
{
	struct mail_params mp;
	int r = addr_parse_mail_params(in, in + n, &mp);

	if (r > PARAM_DUPLICATE || r < 0)
		fail("unknown mail params status", in, n);
	if (r != PARAM_OK)
		return;
	check_value("ENVID", mp.envid, ADDR_ENVID_MAX);
	if (mp.body != BODY_NONE && mp.body != BODY_7BIT &&
	    mp.body != BODY_8BITMIME && mp.body != BODY_BINARYMIME)
		fail("BODY value", in, n);
	if (mp.body != BODY_NONE && addr_body_name(mp.body)[0] == '\0')
		fail("BODY without a name", in, n);
	if (mp.ret != RET_NONE && mp.ret != RET_FULL && mp.ret != RET_HDRS)
		fail("RET value", in, n);
	if (!mp.has_size && mp.size != 0)
		fail("SIZE without has_size", in, n);
}

/* fuzz_rcpt_params - the RCPT parameters */
static void
fuzz_rcpt_params(const char *in, size_t n)
{
	struct rcpt_params rp;
	int r = addr_parse_rcpt_params(in, in + n, &rp);

	if (r > PARAM_DUPLICATE || r < 0)
		fail("unknown rcpt params status", in, n);
	if (r != PARAM_OK)
		return;
	check_value("ORCPT", rp.orcpt, ADDR_ORCPT_MAX);
	if (rp.notify & ~(unsigned)(NOTIFY_NEVER | NOTIFY_SUCCESS |
	    NOTIFY_FAILURE | NOTIFY_DELAY))
		fail("NOTIFY bits", in, n);
	if ((rp.notify & NOTIFY_NEVER) && rp.notify != NOTIFY_NEVER)
		fail("NOTIFY=NEVER with another value", in, n);
}

/* fuzz_command - a whole MAIL/RCPT argument: path, then parameters */
static void
fuzz_command(const char *in, size_t n, int rcpt)
{
	const char *p = in, *end = in + n;
	struct path pa;

	if (addr_parse_path(&p, end, rcpt ? ADDR_ALLOW_POSTMASTER :
	    ADDR_ALLOW_NULL, &pa) != ADDR_OK)
		return;
	while (p < end && *p == ' ')
		p++;
	if (rcpt)
		fuzz_rcpt_params(p, (size_t)(end - p));
	else
		fuzz_mail_params(p, (size_t)(end - p));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;
	size_t n;
	int sel, flags;

	if (size == 0 || size > 4096)
		return 0;
	sel = data[0] & 7;
	flags = (data[0] >> 3) & 3;
	n = size - 1;
	if ((in = malloc(n ? n : 1)) == NULL)
		return 0;
	memcpy(in, data + 1, n);
	switch (sel) {
	case 0: case 1:
		fuzz_path(in, n, flags);
		break;
	case 2:
		fuzz_mail_params(in, n);
		break;
	case 3:
		fuzz_rcpt_params(in, n);
		break;
	case 4:
		if (addr_valid_domain(in, n) && !addr_valid_utf8(in, n))
			fail("valid domain that is not UTF-8", in, n);
		break;
	case 5:
		(void)addr_valid_utf8(in, n);
		break;
	case 6:
		fuzz_command(in, n, 0);
		break;
	case 7:
		fuzz_command(in, n, 1);
		break;
	}
	free(in);
	return 0;
}
