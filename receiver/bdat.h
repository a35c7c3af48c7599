/*
 * bdat.h - BDAT (RFC 3030 CHUNKING) and BODY=BINARYMIME.
 */
#ifndef BDAT_H
#define BDAT_H

#include "session.h"

void	 cmd_bdat(struct session *, const char *, const char *);
void	 bdat_abort(struct session *);
void	 bdat_garbled(struct session *, enum reply_id);
int	 bdat_line(const char *, size_t);

#endif
