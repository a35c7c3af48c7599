/*
 * cdb.c - read-only lookups in a constant database (cdb format).
 * Layout: 256 (position, slots) pairs of little-endian 32-bit numbers,
 * then records (key length, data length, key, data), then 256 hash
 * tables of (hash, record position) slots.  Every offset read from the
 * file is checked against its size and every probe loop is bounded by
 * the table's length, so a corrupt file gives "not found", never a crash
 * or a hang.  A lookup costs a few pread(2)s, not a read of the file.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cdb.h"

#define CDB_HEADER	CDB_HEADER_PEEK

/* get32 - a little-endian 32-bit number */
static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

/* cdb_hash - the cdb hash: h = 5381; h = (h * 33) ^ c */
static uint32_t
cdb_hash(const char *k, size_t n)
{
	uint32_t h = 5381;

	while (n-- > 0)
		h = ((h << 5) + h) ^ (unsigned char)*k++;
	return h;
}

/* read_at - exactly n bytes at off, or -1 */
static int
read_at(const struct cdb *c, void *buf, size_t n, uint64_t off)
{
	ssize_t r;

	if (off + n > (uint64_t)c->size)
		return -1;
	do
		r = pread(c->fd, buf, n, (off_t)off);
	while (r < 0 && errno == EINTR);
	return r == (ssize_t)n ? 0 : -1;
}

/* cdb_open - use fd (kept open by the caller) as a cdb; -1 if not one */
int
cdb_open(struct cdb *c, int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	if (st.st_size < CDB_HEADER || st.st_size > (off_t)UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	c->fd = fd;
	c->size = st.st_size;
	return 0;
}

/* key_at - does the record at pos hold key k? 1 yes, 0 no, -1 bad */
static int
key_at(const struct cdb *c, uint32_t pos, const char *k, size_t n)
{
	unsigned char head[8];
	char buf[512];

	if (read_at(c, head, sizeof head, pos) < 0)
		return -1;
	if (get32(head) != n || n > sizeof buf)
		return 0;
	if (read_at(c, buf, n, (uint64_t)pos + 8) < 0)
		return -1;
	return memcmp(buf, k, n) == 0;
}

/* cdb_find - 1 if key k is in the database, 0 if not, -1 on error */
int
cdb_find(const struct cdb *c, const char *k, size_t n)
{
	unsigned char slot[8], ent[8];
	uint32_t h = cdb_hash(k, n), tpos, tlen, i, s;
	int r;

	if (read_at(c, ent, sizeof ent, (h & 255) * 8) < 0)
		return -1;
	tpos = get32(ent);
	tlen = get32(ent + 4);
	if (tlen == 0)
		return 0;
	if (tlen > (uint32_t)(c->size / 8))
		return -1;
	for (i = 0, s = (h >> 8) % tlen; i < tlen; i++, s = (s + 1) % tlen) {
		if (read_at(c, slot, sizeof slot, (uint64_t)tpos +
		    (uint64_t)s * 8) < 0)
			return -1;
		if (get32(slot + 4) == 0)
			return 0;
		if (get32(slot) != h)
			continue;
		if ((r = key_at(c, get32(slot + 4), k, n)) != 0)
			return r;
	}
	return 0;
}
