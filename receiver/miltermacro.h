/*
 * miltermacro.h - the Sendmail macros sent to mail filters: which ones
 * each stage sends (Postfix's defaults, --milter-macros, or a filter's
 * own lists) and their values from the session's facts.  Only macros
 * smtpd can fill exist.
 */
#ifndef MILTERMACRO_H
#define MILTERMACRO_H

#include <stdint.h>

#include "milter.h"

/* the stages macros go with (mfapi.h SMFIM_*, Postfix's milter_*_macros) */
enum macro_stage { MS_CONNECT, MS_HELO, MS_MAIL, MS_RCPT, MS_DATA, MS_EOH,
	MS_EOM, MS__COUNT };

struct milter_facts;

int	 macro_stage_of(const char *, size_t);
int	 macro_list(const char *, uint32_t *);
uint32_t macro_wanted(const char *);
int	 macro_stage_smfim(uint32_t);
uint32_t macro_default(enum macro_stage);
void	 macro_add(struct milter_args *, uint32_t,
	    const struct milter_facts *, const char *);

#endif
