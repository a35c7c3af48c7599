/*
 * data.h - the DATA phase: a byte state machine from the client to the
 * spool file.  Only CRLF.CRLF ends the data (RFC 5321 4.1.1.4).  BDAT
 * chunks (RFC 3030) run through the same machine without dots.  The
 * caller runs the loop (data_feed, then data_fill when it needs more),
 * so that it can settle held messages before a read may block.
 */
#ifndef DATA_H
#define DATA_H

#include "io.h"
#include "spool.h"

/* why a message must be refused once its data has been read */
#define DATA_BARENL	1	/* bare CR or LF: 550 5.6.0 */
#define DATA_NUL	2	/* NUL byte: 554 5.6.0 */
#define DATA_TOOBIG	4	/* over --max-size: 552 5.3.4 */
#define DATA_LOOP	8	/* too many Received: lines: 554 5.4.6 */
#define DATA_SLOW	16	/* below the minimum rate: 421 4.4.2, the end */

/* what the DATA machine enforces (data_begin) */
struct data_limits {
	unsigned long long max_size;	/* octets after unstuffing, 0: none */
	unsigned min_rate;		/* octets a second past the first */
					/* idle period, 0: none */
	unsigned lf_ok;			/* --lf */
};

struct data_result {
	unsigned long long size;	/* octets after unstuffing */
	unsigned flags;			/* DATA_* */
	unsigned hops;			/* Received: header lines */
};

enum data_state { D_BOL, D_DOT, D_DOTCR, D_TEXT, D_CR, D_END };

/* the machine's state between reads */
struct data_machine {
	enum data_state st;
	int	 lf_ok;
	int	 dots;			/* DATA: dot-stuffing, CRLF.CRLF ends */
	int	 binary;		/* BDAT with BODY=BINARYMIME: any octet */
	int	 in_header;		/* still in the header section */
	int	 hmatch;		/* "received:" octets matched, -1 no */
	size_t	 line_len;		/* octets on this header line */
	unsigned long long max;		/* 0: no limit */
	unsigned min_rate;		/* 0: none */
	int	 waited;		/* start is set: */
	struct timespec start;		/* the first wait for data */
	unsigned long long base;	/* io bytes_in at that first wait */
	struct spool *sp;
	struct data_result *res;
	size_t	(*clean_lines)(const unsigned char *, size_t);
	size_t	(*next_special)(const unsigned char *, size_t);
};

void	 data_begin(struct data_machine *, struct spool *,
	    const struct data_limits *, struct data_result *);
int	 data_feed(struct data_machine *, struct io *);
int	 data_fill(struct data_machine *, struct io *);
void	 data_begin_chunks(struct data_machine *, struct spool *,
	    const struct data_limits *, struct data_result *, int);
unsigned long long data_feed_chunk(struct data_machine *, struct io *,
	    unsigned long long);
void	 data_end_chunks(struct data_machine *);

#endif
