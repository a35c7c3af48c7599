/*
 * base64.c - RFC 4648 base64, strict, for the AUTH exchange.
 * Decoding takes the alphabet and "=" padding only, in groups of four
 * (RFC 4954 4: no white space, no line breaks), and refuses a group
 * whose unused bits are not zero, so each text decodes one way only.
 */
#include "base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * base64_encode - n octets at in as base64 into out (cap octets with
 * room for a NUL); the length written, or 0 if it does not fit
 */
size_t
base64_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;
	unsigned v;

	if (BASE64_LEN(n) >= cap)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (i < n) {
		v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* value - a base64 digit's value, or -1 */
static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * base64_decode - n octets of base64 at in into out (cap octets);
 * *len the octets decoded.  0, or -1 when it is not base64 or does not
 * fit.
 */
int
base64_decode(const char *in, size_t n, unsigned char *out, size_t cap,
    size_t *len)
{
	size_t i, o = 0, pad;
	int d[4], k;
	unsigned v;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			if (in[i + k] == '=' && i + 4 == n && k >= 2) {
				d[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (d[k] = value((unsigned char)in[i + k])) < 0)
				return -1;
		}
		v = (unsigned)d[0] << 18 | (unsigned)d[1] << 12 |
		    (unsigned)d[2] << 6 | (unsigned)d[3];
		if ((pad == 2 && (v & 0xffff)) || (pad == 1 && (v & 0xff)) ||
		    o + 3 - pad > cap)
			return -1;
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	*len = o;
	return 0;
}
