/*
 * base64.h - RFC 4648 base64, strict, for the AUTH exchange (RFC 4954).
 */
#ifndef BASE64_H
#define BASE64_H

#include <stddef.h>

/* the encoded length of n octets, without a NUL */
#define BASE64_LEN(n)	((((n) + 2) / 3) * 4)

size_t	 base64_encode(const unsigned char *, size_t, char *, size_t);
int	 base64_decode(const char *, size_t, unsigned char *, size_t,
	    size_t *);

#endif
