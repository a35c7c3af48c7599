/*
 * msgedit.h - the changes mail filters ask for at the end of a message
 * (ADDHEADER, INSHEADER, CHGHEADER; ADDRCPT(_PAR), DELRCPT, CHGFROM;
 * REPLBODY), checked and kept in a bounded list (msgedit.c), and the
 * rewrite of the spool file that carries them out (msgrewrite.c): the
 * edited envelope block, the edited header block, the body copied
 * byte-exact or replaced.  Only a changed message is rewritten.
 */
#ifndef MSGEDIT_H
#define MSGEDIT_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define EDITS_MAX	256		/* changes to one message, cap */
#define EDITS_TEXT	(256u << 10)	/* their names and values, cap */
#define EDIT_HEADER_MAX	(64u << 10)	/* a header line block we edit */
#define EDIT_ENV_LINE	2048		/* an envelope line we read */

struct msg_edit {
	char	 cmd;			/* SMFIR_ADDHEADER, _INSHEADER, */
					/* _CHGHEADER, _ADDRCPT (also for */
					/* _PAR), _DELRCPT, _CHGFROM */
	uint32_t index;
	size_t	 name, name_len;	/* offsets into text */
	size_t	 value, value_len;	/* the field as stored: CRLF; */
					/* an envelope line: "<path>" */
	int	 done;			/* carried out */
};

struct msg_edits {
	struct spool *sp;		/* the message's spool */
	int	 body_fd;		/* REPLBODY: tmp/ID.b, or -1 */
	int	 body_cr;		/* its last octet was a CR */
	unsigned long long body_len, body_max;	/* 0: no cap */
	unsigned n;
	size_t	 used;
	struct msg_edit e[EDITS_MAX];
	char	 text[EDITS_TEXT];
};

struct milter_reply;

/* msgedit.c: changes checked and kept */
void	 edits_init(struct msg_edits *, struct spool *, unsigned long long);
int	 edits_take(struct msg_edits *, const struct milter_reply *, int);
void	 edits_clear(struct msg_edits *);
/* msgrewrite.c: the spool file rewritten */
int	 edits_rewrite(struct msg_edits *, struct spool *, unsigned *);

#endif
