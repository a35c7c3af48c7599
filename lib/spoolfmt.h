/*
 * spoolfmt.h - the spool file format: parse an envelope block.
 * The reader of what envelope.c writes (version 1), for any program
 * that opens a queue file.  Values point into the caller's buffer.
 */
#ifndef SPOOLFMT_H
#define SPOOLFMT_H

#include <stddef.h>

#include "addr.h"

#define SPOOLFMT_FORMAT_VERSION	1

/* the envelope keys (the writer is the receiver's envelope.c; Dsn-Of
 * only smtpd-queue writes, on the reports it makes: queue/report.c) */
#define SPOOLFMT_KEY_VERSION	"Version"
#define SPOOLFMT_KEY_ID		"Id"
#define SPOOLFMT_KEY_ARRIVAL	"Arrival"
#define SPOOLFMT_KEY_CLIENT_ADDR "Client-Address"
#define SPOOLFMT_KEY_CLIENT_PORT "Client-Port"
#define SPOOLFMT_KEY_CLIENT_NAME "Client-Name"
#define SPOOLFMT_KEY_HELO	"Helo"
#define SPOOLFMT_KEY_TLS	"TLS"
#define SPOOLFMT_KEY_TLS_CLIENT_CERT "TLS-Client-Cert"
#define SPOOLFMT_KEY_AUTH	"Auth"
#define SPOOLFMT_KEY_PROTOCOL	"Protocol"
#define SPOOLFMT_KEY_TRUSTED	"Trusted"
#define SPOOLFMT_KEY_SENDER	"Sender"
#define SPOOLFMT_KEY_SIZE	"Size"
#define SPOOLFMT_KEY_BODY	"Body"
#define SPOOLFMT_KEY_SMTPUTF8	"SMTPUTF8"
#define SPOOLFMT_KEY_RET	"Ret"
#define SPOOLFMT_KEY_ENVID	"Envid"
#define SPOOLFMT_KEY_REQUIRETLS	"Require-TLS"
#define SPOOLFMT_KEY_AUTH_PARAM	"Auth-Param"
#define SPOOLFMT_KEY_DSN_OF	"Dsn-Of"	/* smtpd-queue's reports only */
#define SPOOLFMT_KEY_RCPT	"Recipient"
#define SPOOLFMT_KEY_NOTIFY	"Notify"
#define SPOOLFMT_KEY_ORCPT	"ORCPT"

#define SPOOLFMT_HEAD_MAX	(128u << 20)	/* longest block we read */
#define SPOOLFMT_ID_MAX		255		/* longest Id: value */
#define SPOOLFMT_TLS_WORD_MAX	64	/* longest TLS version or cipher */
#define SPOOLFMT_AUTH_USER_MAX	1024	/* longest Auth: user (smtpd's cap) */

enum spoolfmt_status {
	SPOOLFMT_OK = 0,
	SPOOLFMT_TRUNCATED,	/* no empty line ends the envelope */
	SPOOLFMT_NOTSPOOL,	/* does not start with "Version: " */
	SPOOLFMT_VERSION,	/* a version this reader does not know */
	SPOOLFMT_SYNTAX,	/* a line or a value breaks the format */
	SPOOLFMT_NOMEM
};

/* one "Key: value" line; val is NUL-terminated in place */
struct spoolfmt_field {
	const char *key;
	size_t	 key_len;
	char	*val;
	size_t	 val_len;
};

struct spoolfmt_rcpt {
	const char *addr;	/* the path without <>, NUL-terminated */
	unsigned notify;	/* NOTIFY_* bits, 0 when not given */
	const char *orcpt;	/* "type;xtext", "" when not given */
};

/* a parsed envelope; every string is NUL-terminated, "" when absent */
struct spoolfmt_env {
	unsigned long version;
	const char *id;
	long long arrival;		/* seconds since the epoch */
	const char *client_addr;
	const char *client_port;
	const char *client_name;
	const char *helo;
	const char *tls_version;	/* "TLSv1.3"; "" without TLS */
	const char *tls_cipher;		/* "TLS_AES_256_GCM_SHA384" */
	const char *tls_client_cert;	/* "SHA256:" + 64 hex, verified */
	const char *auth_user;		/* AUTH (RFC 4954) user; "" if none */
	const char *protocol;
	int	 trusted;		/* -1 when not given */
	const char *sender;		/* "" is the null sender <> */
	unsigned long long size;	/* MAIL SIZE=, when has_size */
	int	 has_size;
	enum body_type body;
	int	 smtputf8;
	enum ret_type ret;
	const char *envid;		/* xtext as sent */
	int	 requiretls;		/* MAIL REQUIRETLS (RFC 8689) */
	const char *auth_param;		/* MAIL AUTH=: xtext or "<>"; "" */
	const char *dsn_of;		/* a report (DSN) on this id; "" */
	size_t	 nrcpt;
	struct spoolfmt_rcpt *rcpt;	/* nrcpt entries, spoolfmt_free */
	size_t	 head_len;		/* the block with its empty line */
};

struct spoolfmt_error {
	unsigned long line;	/* 1-based, 0 when not about one line */
	const char *what;	/* a constant string */
	const char *key;	/* the key it is about, or NULL */
};

int	 spoolfmt_head(const char *, size_t, size_t, size_t *);
int	 spoolfmt_field(char **, char *, struct spoolfmt_field *);
int	 spoolfmt_parse(char *, size_t, struct spoolfmt_env *,
	    struct spoolfmt_error *);
void	 spoolfmt_free(struct spoolfmt_env *);

#endif
