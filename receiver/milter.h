/*
 * milter.h - the client side of the milter protocol, version 6, as
 * Postfix speaks it to a filter (libmilter's mfdef.h gives the command
 * letters and flag values; Postfix's MILTER_README how an MTA uses
 * them).  One connection, length-prefixed packets, every read and write
 * under a deadline, every packet length capped (milter.c); what each
 * packet says read by pure functions (milterparse.c).  No session state
 * here: milters.c runs the filters for the session.
 */
#ifndef MILTER_H
#define MILTER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MILTER_VERSION		6
#define MILTER_PACKET_MAX	(256u << 10)	/* a reply's octets, cap */
#define MILTER_CHUNK		65535	/* BODY chunk: MILTER_CHUNK_SIZE */
#define MILTER_CMD_MAX		4096	/* our commands but BODY, cap */
#define MILTER_READAHEAD	4096	/* replies read ahead, at most */
#define MILTER_TEXT_LINES	8	/* REPLYCODE lines we pass on */
#define MILTER_TEXT_MAX		1024	/* REPLYCODE octets we pass on */
#define MILTER_SYMLIST_NAMES	50	/* names in one stage's macro list, */
					/* cap (Sendmail's MAXFILTERMACROS) */
#define MILTER_SYMLIST_MAX	4096	/* octets of all a filter's macro */
					/* lists, cap */

/* commands, MTA to filter (mfdef.h SMFIC_*) */
#define SMFIC_ABORT	'A'
#define SMFIC_BODY	'B'
#define SMFIC_CONNECT	'C'
#define SMFIC_MACRO	'D'
#define SMFIC_BODYEOB	'E'
#define SMFIC_HELO	'H'
#define SMFIC_HEADER	'L'
#define SMFIC_MAIL	'M'
#define SMFIC_EOH	'N'
#define SMFIC_OPTNEG	'O'
#define SMFIC_QUIT	'Q'
#define SMFIC_RCPT	'R'
#define SMFIC_DATA	'T'
#define SMFIC_UNKNOWN	'U'

/* replies, filter to MTA (mfdef.h SMFIR_*) */
#define SMFIR_ADDRCPT	'+'
#define SMFIR_DELRCPT	'-'
#define SMFIR_ADDRCPT_PAR '2'
#define SMFIR_SHUTDOWN	'4'
#define SMFIR_ACCEPT	'a'
#define SMFIR_REPLBODY	'b'
#define SMFIR_CONTINUE	'c'
#define SMFIR_DISCARD	'd'
#define SMFIR_CHGFROM	'e'
#define SMFIR_CONN_FAIL	'f'
#define SMFIR_ADDHEADER	'h'
#define SMFIR_INSHEADER	'i'
#define SMFIR_SETSYMLIST 'l'
#define SMFIR_CHGHEADER	'm'
#define SMFIR_PROGRESS	'p'
#define SMFIR_QUARANTINE 'q'
#define SMFIR_REJECT	'r'
#define SMFIR_SKIP	's'
#define SMFIR_TEMPFAIL	't'
#define SMFIR_REPLYCODE	'y'

/* actions a filter may take at EOB (mfapi.h SMFIF_*) */
#define SMFIF_ADDHDRS	0x01
#define SMFIF_CHGBODY	0x02
#define SMFIF_ADDRCPT	0x04
#define SMFIF_DELRCPT	0x08
#define SMFIF_CHGHDRS	0x10
#define SMFIF_QUARANTINE 0x20
#define SMFIF_CHGFROM	0x40
#define SMFIF_ADDRCPT_PAR 0x80
#define SMFIF_SETSYMLIST 0x100

/* protocol steps a filter may leave out or not answer (mfapi.h SMFIP_*) */
#define SMFIP_NOCONNECT	0x01
#define SMFIP_NOHELO	0x02
#define SMFIP_NOMAIL	0x04
#define SMFIP_NORCPT	0x08
#define SMFIP_NOBODY	0x10
#define SMFIP_NOHDRS	0x20
#define SMFIP_NOEOH	0x40
#define SMFIP_NR_HDR	0x80
#define SMFIP_NOUNKNOWN	0x100
#define SMFIP_NODATA	0x200
#define SMFIP_SKIP	0x400
#define SMFIP_RCPT_REJ	0x800
#define SMFIP_NR_CONN	0x1000
#define SMFIP_NR_HELO	0x2000
#define SMFIP_NR_MAIL	0x4000
#define SMFIP_NR_RCPT	0x8000
#define SMFIP_NR_DATA	0x10000
#define SMFIP_NR_UNKN	0x20000
#define SMFIP_NR_EOH	0x40000
#define SMFIP_NR_BODY	0x80000
#define SMFIP_HDR_LEADSPC 0x100000

/* the stages a filter's own macro lists are for (mfdef.h SMFIM_*) */
#define SMFIM_CONNECT	0
#define SMFIM_HELO	1
#define SMFIM_ENVFROM	2
#define SMFIM_ENVRCPT	3
#define SMFIM_DATA	4
#define SMFIM_EOM	5
#define SMFIM_EOH	6
#define SMFIM_COUNT	7

/* what a reply asks for */
enum milter_verdict {
	MV_CONTINUE,	/* go on to the next step */
	MV_ACCEPT,	/* this filter is done with the transaction */
	MV_REJECT,	/* 5xx */
	MV_TEMPFAIL,	/* 4xx */
	MV_DISCARD,	/* 250 to the client, nothing queued */
	MV_REPLYCODE,	/* the filter's own checked 4xx/5xx text */
	MV_PROGRESS,	/* keep waiting */
	MV_SKIP,	/* no more BODY for this message */
	MV_MODIFY,	/* an EOB modification: .cmd says which */
	MV_BROKEN	/* unknown, malformed, or not allowed now */
};

/* one reply, parsed: pointers into the packet it came from */
struct milter_reply {
	char	 cmd;
	enum milter_verdict v;
	unsigned code;			/* REPLYCODE: 421..599 */
	char	 esc[16];		/* REPLYCODE: "x.y.z" or "" */
	unsigned nlines;		/* REPLYCODE: texts after code/esc */
	const char *line[MILTER_TEXT_LINES];
	size_t	 line_len[MILTER_TEXT_LINES];
	uint32_t index;			/* INSHEADER, CHGHEADER */
	const char *name, *value;	/* headers; recipient/sender + args */
	const unsigned char *data;	/* REPLBODY */
	size_t	 data_len;
};

/* a filter's OPTNEG answer, parsed: the lists point into the packet */
struct milter_optneg {
	uint32_t version, actions, steps;
	unsigned nlists;		/* macro lists (SETSYMLIST), */
	struct {			/* at most one per stage */
		uint32_t stage;		/* SMFIM_* */
		const char *names;	/* NUL-ended, space-separated */
	} list[SMFIM_COUNT];
};

/* one filter's connection */
struct milter {
	int	 fd;			/* -1: not connected */
	uint32_t actions;		/* SMFIF_* the filter may use */
	uint32_t steps;			/* SMFIP_* it asked for */
	unsigned timeout;		/* seconds per reply */
	struct timespec end;		/* the deadline for this reply */
	unsigned char *buf;		/* MILTER_PACKET_MAX octets */
	size_t	 len;			/* of the last packet read */
	unsigned char *in;		/* read ahead: MILTER_READAHEAD */
	size_t	 in_off, in_len;	/* octets after buf; unread ones */
	char	 why[96];		/* the last failure, for the log */
};

/* a list of NUL-ended name, value pairs being built for a command */
struct milter_args {
	char	 buf[MILTER_CMD_MAX];
	size_t	 len;
	int	 overflow;
};

/* milter_get32 - a network-order 32-bit number */
static inline uint32_t
milter_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* milter.c: the connection and its packets */
int	 milter_open(struct milter *, const char *, unsigned, uint32_t,
	    uint32_t, struct milter_optneg *);
void	 milter_close(struct milter *);
void	 milter_note(struct milter *, const char *);
void	 milter_args_init(struct milter_args *);
void	 milter_args_add(struct milter_args *, const void *, size_t);
void	 milter_args_str(struct milter_args *, const char *);
int	 milter_send(struct milter *, char, const void *, size_t);
int	 milter_send_after(struct milter *, const void *, size_t, char,
	    const void *, size_t);
int	 milter_read(struct milter *, unsigned, struct milter_reply *);
/* milterparse.c: what the packets say (pure) */
int	 milter_parse_reply(const unsigned char *, size_t,
	    struct milter_reply *);
int	 milter_parse_text(const char *, size_t, struct milter_reply *);
int	 milter_parse_optneg(const unsigned char *, size_t,
	    struct milter_optneg *);

#endif
