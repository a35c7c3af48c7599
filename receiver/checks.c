/*
 * checks.c - what a host checks beyond the grammar: clients that talk
 * before the greeting, the list of valid recipients (--recipients), and
 * the operator's policy programs (--check-client/-sender/-recipient).
 * Each check returns a verdict and never replies: the session does.
 * Programs get a clean environment of checked session facts, no shell.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "checks.h"
#include "io.h"

#define ENV_BUF	2048

/*
 * check_early_talker - RFC 5321 4.3.1: the client must wait for the
 * greeting.  1 when a network client's bytes are already there on fd
 * (after delay seconds, if set: one deadline, however often a signal
 * interrupts the wait); pipes and files (transcripts) are exempt.
 */
int
check_early_talker(int fd, int is_sock, unsigned delay)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	struct timespec end = io_now();
	int r;

	if (!is_sock)
		return 0;
	end.tv_sec += delay;
	while ((r = poll(&pfd, 1, ms_until(end))) < 0 && errno == EINTR)
		;
	return r > 0 && (pfd.revents & POLLIN) != 0;
}

/* add_env - append "NAME=value" to the environment being built */
static void
add_env(struct sbuf *sb, char **envp, size_t *n, const char *name,
    const char *val)
{
	if (*n >= HOOK_ENV_MAX - 1 || val == NULL)
		return;
	envp[(*n)++] = sb->p + sb->len;
	sb_str(sb, name);
	sb_add(sb, "=", 1);
	sb_str(sb, val);
	sb_add(sb, "", 1);		/* the NUL ending this entry */
	if (sb->overflow)
		envp[--*n] = NULL;
}

/* build_env - the session facts a policy program sees */
static void
build_env(const struct check_facts *f, const char *stage, const char *arg,
    char *buf, char **envp)
{
	const struct client *c = f->client;
	struct sbuf sb;
	size_t n = 0;

	sb_init(&sb, buf, ENV_BUF);
	add_env(&sb, envp, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
	add_env(&sb, envp, &n, "SMTPD_STAGE", stage);
	add_env(&sb, envp, &n, "SMTPD_HOSTNAME", f->cfg->hostname);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_IP", c->ip);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_PORT", c->port);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_NAME", c->name);
	add_env(&sb, envp, &n, "SMTPD_TRUSTED", c->trusted ? "yes" : "no");
	add_env(&sb, envp, &n, "SMTPD_HELO", f->helo);
	if (f->auth_user[0] != '\0')
		add_env(&sb, envp, &n, "SMTPD_AUTH_USER", f->auth_user);
	if (f->tls->active) {
		add_env(&sb, envp, &n, "SMTPD_TLS_VERSION", f->tls->version);
		add_env(&sb, envp, &n, "SMTPD_TLS_CIPHER", f->tls->cipher);
		if (f->tls->peer_hash[0] != '\0')
			add_env(&sb, envp, &n, "SMTPD_TLS_PEER_CERT_HASH",
			    f->tls->peer_hash);
	}
	if (strcmp(stage, "mail") == 0)
		add_env(&sb, envp, &n, "SMTPD_SENDER", arg);
	else if (strcmp(stage, "rcpt") == 0) {
		add_env(&sb, envp, &n, "SMTPD_SENDER", f->sender);
		add_env(&sb, envp, &n, "SMTPD_RECIPIENT", arg);
	}
	envp[n] = NULL;
}

/* log_check - one line per policy program run */
static void
log_check(struct logger *lg, const char *stage, const struct hook_result *r)
{
	static const char *const names[] = { "accept", "reject", "tempfail",
	    "failed" };
	struct logline ll;

	log_begin(lg, &ll, "check");
	log_str(&ll, "stage", stage);
	log_str(&ll, "verdict", names[r->verdict]);
	if (r->timed_out)
		log_str(&ll, "timeout", "yes");
	else if (WIFEXITED(r->status))
		log_num(&ll, "exit", (unsigned)WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		log_num(&ll, "signal", (unsigned)WTERMSIG(r->status));
	log_end(lg, &ll);
}

/*
 * check_program - run policy program prog for stage with arg: its
 * verdict, with the program's words (or ours) in text for the reply
 */
enum hook_verdict
check_program(const struct check_facts *f, const char *prog,
    const char *stage, const char *arg, char *text, size_t cap)
{
	char buf[ENV_BUF], *envp[HOOK_ENV_MAX];
	struct hook_result r;
	struct sbuf sb;
	unsigned t = f->cfg->check_timeout;

	build_env(f, stage, arg, buf, envp);
	if (t > f->seconds_left)		/* never past the cap */
		t = f->seconds_left > 0 ? f->seconds_left : 1;
	hook_run(prog, arg, envp, t, f->log->to == LOGMODE_SYSLOG ? -1 : 2,
	    -1, &r);
	log_check(f->log, stage, &r);
	sb_init(&sb, text, cap);
	if (r.text[0] != '\0')
		sb_str(&sb, r.text);
	else if (r.verdict != HOOK_ACCEPT)
		sb_str(&sb, r.verdict == HOOK_REJECT ?
		    "rejected by local policy" :
		    "try again later (local policy)");
	return (enum hook_verdict)r.verdict;
}

/*
 * check_mailbox - the --recipients list for rcpt.  A routed address
 * (addr_is_routed) counts as listed only when its own entry names it:
 * a catch-all does not cover it.
 */
enum mailbox_verdict
check_mailbox(const struct config *cfg, const struct path *rcpt, int routed)
{
	const char *d = rcpt->addr + rcpt->domain_off;
	size_t n = rcpt->len - rcpt->domain_off;

	if (!rcptlist_active(&cfg->rcpts))
		return MBOX_UNLISTED;
	switch (rcptlist_check(&cfg->rcpts, rcpt->addr, rcpt->len,
	    rcpt->domain_off, rcpt->domain_off != 0 &&
	    policy_is_ours(&cfg->domains, cfg->hostname, d, n))) {
	case RL_VALID: return MBOX_VALID;
	case RL_CATCHALL: return routed ? MBOX_UNLISTED : MBOX_VALID;
	case RL_UNKNOWN: return MBOX_UNKNOWN;
	case RL_ERROR: return MBOX_ERROR;
	default: return MBOX_UNLISTED;
	}
}
