/*
 * checks.c - what a host checks beyond the grammar: clients that talk
 * before the greeting, the list of valid recipients (--recipients), and
 * the operator's policy programs (--check-client/-sender/-recipient).
 * Each check answers with a reply id; the session sends it.  Programs
 * get a clean environment of checked session facts, never a shell.
 */
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "hook.h"
#include "checks.h"
#include "transaction.h"
#include "session.h"

#define ENV_BUF	2048

/*
 * check_early_talker - RFC 5321 4.3.1: the client must wait for the
 * greeting.  A network client whose bytes are already there (after
 * --greet-delay seconds, if set) gets 554 5.5.0 and is dropped.  Pipes
 * and files (transcripts) are exempt.  0 when all is well.
 */
int
check_early_talker(struct session *s)
{
	struct pollfd pfd = { s->io.in, POLLIN, 0 };
	int ms = (int)s->cfg->greet_delay * 1000;

	if (!s->io.in_sock)
		return 0;
	while (poll(&pfd, 1, ms) < 0)
		;
	if ((pfd.revents & POLLIN) == 0)
		return 0;
	s->end_reason = "early-talker";
	session_reply(s, R_EARLY_TALKER, NULL);
	return -1;
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
build_env(const struct session *s, const char *stage, const char *arg,
    char *buf, char **envp)
{
	const struct client *c = s->client;
	struct sbuf sb;
	size_t n = 0;

	sb_init(&sb, buf, ENV_BUF);
	add_env(&sb, envp, &n, "PATH", "/usr/local/bin:/usr/bin:/bin");
	add_env(&sb, envp, &n, "SMTPD_STAGE", stage);
	add_env(&sb, envp, &n, "SMTPD_HOSTNAME", s->cfg->hostname);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_IP", c->ip);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_PORT", c->port);
	add_env(&sb, envp, &n, "SMTPD_CLIENT_NAME", c->name);
	add_env(&sb, envp, &n, "SMTPD_TRUSTED", c->trusted ? "yes" : "no");
	add_env(&sb, envp, &n, "SMTPD_HELO", s->helo);
	if (strcmp(stage, "mail") == 0)
		add_env(&sb, envp, &n, "SMTPD_SENDER", arg);
	else if (strcmp(stage, "rcpt") == 0) {
		add_env(&sb, envp, &n, "SMTPD_SENDER", s->env.sender.addr);
		add_env(&sb, envp, &n, "SMTPD_RECIPIENT", arg);
	}
	envp[n] = NULL;
}

/* log_check - one line per policy program run */
static void
log_check(struct session *s, const char *stage, const struct hook_result *r)
{
	static const char *const names[] = { "accept", "reject", "tempfail",
	    "failed" };
	struct logline ll;

	log_begin(&s->log, &ll, "check");
	log_str(&ll, "stage", stage);
	log_str(&ll, "verdict", names[r->verdict]);
	if (r->timed_out)
		log_str(&ll, "timeout", "yes");
	else if (WIFEXITED(r->status))
		log_num(&ll, "exit", (unsigned)WEXITSTATUS(r->status));
	else if (WIFSIGNALED(r->status))
		log_num(&ll, "signal", (unsigned)WTERMSIG(r->status));
	log_end(&s->log, &ll);
}

/*
 * check_program - run policy program prog for stage with arg.  R_DONE
 * to go on, else the refusal, with the program's words (or ours) in
 * text for its "%s".
 */
enum reply_id
check_program(struct session *s, const char *prog, const char *stage,
    const char *arg, char *text, size_t cap)
{
	char buf[ENV_BUF], *envp[HOOK_ENV_MAX];
	struct hook_result r;
	struct sbuf sb;
	unsigned left;

	build_env(s, stage, arg, buf, envp);
	left = io_seconds_left(&s->io);		/* never past the cap */
	hook_run(prog, arg, envp, s->cfg->check_timeout < left ?
	    s->cfg->check_timeout : left > 0 ? left : 1,
	    s->log.to == LOGMODE_SYSLOG ? -1 : 2, &r);
	log_check(s, stage, &r);
	if (r.verdict == HOOK_ACCEPT)
		return R_DONE;
	sb_init(&sb, text, cap);
	if (r.text[0] != '\0')
		sb_str(&sb, r.text);
	else
		sb_str(&sb, r.verdict == HOOK_REJECT ?
		    "rejected by local policy" :
		    "try again later (local policy)");
	if (r.verdict == HOOK_REJECT)
		return R_CHECK_REJECT;
	return r.verdict == HOOK_TEMPFAIL ? R_CHECK_TEMP : R_CHECK_FAILED;
}

/*
 * check_client - --check-client at connect, before the greeting.
 * Reject: a 554 greeting and only QUIT after it (RFC 5321 3.1); defer
 * or failure: 421 and close.  Returns 1 when it greeted, -1 closing.
 */
int
check_client(struct session *s)
{
	char text[HOOK_TEXT_MAX + 1];
	enum reply_id id;

	if (s->cfg->check_client == NULL)
		return 0;
	id = check_program(s, s->cfg->check_client, "connect",
	    s->client->ip[0] != '\0' ? s->client->ip : "local", text,
	    sizeof text);
	if (id == R_DONE)
		return 0;
	if (id == R_CHECK_REJECT) {
		session_reply(s, R_CLIENT_REJECT, text);
		session_enter(s, S_REFUSED);
		return 1;
	}
	s->end_reason = "client-check";
	session_reply(s, R_CLIENT_TEMP, id == R_CHECK_TEMP ? text :
	    "local policy check failed, try again later");
	return -1;
}

/*
 * check_mailbox - the --recipients list for rcpt: R_RCPT_OK (listed:
 * accepted from anyone), R_NO_MAILBOX, R_LIST_FAILED, or R_DONE when
 * the list does not know the domain (relay rules decide).  A routed
 * address (addr_is_routed) counts as listed only when its own entry
 * names it: a catch-all does not cover it.
 */
enum reply_id
check_mailbox(struct session *s, const struct path *rcpt, int routed)
{
	const char *d = rcpt->addr + rcpt->domain_off;
	size_t n = rcpt->len - rcpt->domain_off;

	if (!rcptlist_active(&s->cfg->rcpts))
		return R_DONE;
	switch (rcptlist_check(&s->cfg->rcpts, rcpt->addr, rcpt->len,
	    rcpt->domain_off, rcpt->domain_off != 0 &&
	    is_our_domain(s, d, n))) {
	case RL_VALID: return R_RCPT_OK;
	case RL_CATCHALL: return routed ? R_DONE : R_RCPT_OK;
	case RL_UNKNOWN: return R_NO_MAILBOX;
	case RL_ERROR: return R_LIST_FAILED;
	default: return R_DONE;
	}
}
