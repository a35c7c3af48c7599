/*
 * sdglue.h - systemd socket activation and journal, without depending
 * on libsystemd: the environment protocol (LISTEN_FDS, JOURNAL_STREAM)
 * is read here, and when built with libsystemd (HAVE_LIBSYSTEMD) the
 * library is loaded only at the moment it is used.
 */
#ifndef SDGLUE_H
#define SDGLUE_H

#include <sys/uio.h>

struct sdglue {
	void	*lib;				/* dlopen handle, or NULL */
	int	 tried;				/* dlopen was attempted */
	int	 (*sendv)(const struct iovec *, int);	/* sd_journal_sendv */
};

int	 sdglue_listen_fd(struct sdglue *);
int	 sdglue_journal_sendv(struct sdglue *, const struct iovec *, int);
int	 sdglue_built_with_libsystemd(void);

#endif
