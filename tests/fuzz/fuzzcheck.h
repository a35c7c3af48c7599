/*
 * fuzzcheck.h - what the session fuzzers check alike (fuzz_session,
 * fuzz_starttls, fuzz_auth; fuzz_proxy for the report): a broken
 * invariant reported and the run aborted, the private directories made
 * and removed, reply lines, the envelope block and the message of a
 * queued file, new/ against the 250s, tmp/ empty, no fd left open.
 */
#ifndef FUZZCHECK_H
#define FUZZCHECK_H

#include <stddef.h>

#define FC_REPLY_LINE_MAX	512	/* RFC 5321 4.5.3.1.5, with the CRLF */

extern int fc_report_fd;

/* the reports name the target; they go to a copy of stderr.  fail and
 * fail_errno keep the short names every target calls them by */
void	 fc_init(const char *name);
void	 fail(const char *, const void *, size_t) __attribute__((noreturn));
void	 fail_errno(const char *) __attribute__((noreturn));

/* private directories */
void	 fc_private_dir(const char *, char *, size_t);
int	 fc_rm_files(const char *);
void	 fc_rm_tree(const char *);
void	 fc_rm_stale(const char *, const char *);
char	*fc_read_file(const char *, size_t *);
int	 fc_lowest_free_fd(void);

/* reply lines: each is "DDD" SP/"-" printable text CRLF */
struct fc_reply {
	int	 code, more;	/* of the last line */
};
size_t	 fc_reply_line(const char *, const char *, struct fc_reply *);
void	 fc_replies_end(const struct fc_reply *, const char *, const char *);
int	 fc_starts(const char *, size_t, const char *);
int	 fc_queued_id(const char *, size_t, char *, size_t);

/* what the envelope block says that the targets look at */
struct fc_env {
	int	 binary;	/* Body: BINARYMIME */
	int	 requiretls;	/* Require-TLS: */
	const char *tls, *cert, *helo;	/* the values, or NULL */
	size_t	 tls_len, cert_len, helo_len;
};
size_t	 fc_check_envelope(const char *, size_t, const char *,
    struct fc_env *);
size_t	 fc_check_message(const char *, size_t, unsigned long long, int);
void	 fc_check_spoolfmt(const char *, size_t, const char *);

/* new/ and tmp/ of a queue against the ids of the 250s */
typedef void fc_file_fn(void *, void *, const char *, char *, size_t);
void	 fc_check_tmp_empty(const char *, int);
void	 fc_check_queue(const char *, void *, size_t, size_t, fc_file_fn *,
    void *);

#endif
