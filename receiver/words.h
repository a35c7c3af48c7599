/*
 * words.h - the small octet tests command parsing shares: blanks, and
 * keywords compared without regard to case (RFC 5321 2.4).
 */
#ifndef WORDS_H
#define WORDS_H

#include <stddef.h>

/* skip_spaces - pass SP and HT */
static inline const char *
skip_spaces(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * same_word - the n octets at in are the n of word (upper-case letters
 * and other octets) with letters in any case: clearing bit 0x20
 * upper-cases a letter; other octets must match exactly
 */
static inline int
same_word(const char *word, const char *in, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if ((word[k] >= 'A' && word[k] <= 'Z' ? (char)(in[k] & ~0x20) :
		    in[k]) != word[k])
			return 0;
	return 1;
}

#endif
