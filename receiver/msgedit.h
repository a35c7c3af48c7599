/*
 * msgedit.h - the header changes mail filters ask for at the end of a
 * message (ADDHEADER, INSHEADER, CHGHEADER), checked and kept in a
 * bounded list, and the rewrite of the spool file that carries them
 * out: envelope block as it is, the edited header block, the body
 * copied byte-exact.  Only a message with changes is rewritten.
 */
#ifndef MSGEDIT_H
#define MSGEDIT_H

#include <stddef.h>
#include <stdint.h>

#include "spool.h"

#define EDITS_MAX	256		/* changes to one message, cap */
#define EDITS_TEXT	(256u << 10)	/* their names and values, cap */
#define EDIT_HEADER_MAX	(64u << 10)	/* a header line block we edit */

struct msg_edit {
	char	 cmd;			/* SMFIR_ADDHEADER, _INSHEADER, */
					/* _CHGHEADER */
	uint32_t index;
	size_t	 name, name_len;	/* offsets into text */
	size_t	 value, value_len;	/* the field as stored: CRLF */
	int	 done;			/* carried out */
};

struct msg_edits {
	unsigned n;
	size_t	 used;
	struct msg_edit e[EDITS_MAX];
	char	 text[EDITS_TEXT];
};

int	 edits_add(struct msg_edits *, char, uint32_t, const char *,
	    const char *, int);
int	 edits_rewrite(struct msg_edits *, struct spool *);

#endif
