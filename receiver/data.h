/*
 * data.h - the DATA phase: a byte state machine from the client to the
 * spool file.  Only CRLF.CRLF ends the data (RFC 5321 4.1.1.4).
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

/* what data_receive() enforces */
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

int	 data_receive(struct io *, struct spool *, const struct data_limits *,
	    struct data_result *);

#endif
