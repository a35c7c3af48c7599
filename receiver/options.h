/*
 * options.h - the command line, defaults and environment into struct
 * config, and the fatal exit for a start that cannot go on.
 */
#ifndef OPTIONS_H
#define OPTIONS_H

#include "config.h"

#define EXIT_USAGE	100

void	 config_defaults(struct config *);
void	 parse_options(int, char **, struct config *, const char **);
void	 default_hostname(struct config *);
void	 fatal(int, const char *, const char *, const char *);
void	 die_usage(const char *, const char *);

#endif
