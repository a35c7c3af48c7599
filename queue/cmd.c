/*
 * cmd.c - the delivery command: split once, an argv per delivery.
 * Splitting is a shell's quoting and nothing else: blanks part words,
 * '...' is literal, "..." knows \" and \\, a backslash quotes the next
 * character; no expansion, globbing or redirection.  Envelope strings
 * only ever become whole argv elements; none is parsed by a shell.
 * DSN parameters become sendmail's -N, -R and -V.  %t, "yes" or "no"
 * (REQUIRETLS, RFC 8689), and %a, the AUTH= mailbox in xtext or "<>"
 * (RFC 4954 5), are no addresses: they keep the sendmail form.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "report.h"
#include "sbuf.h"

/* what the placeholders of one word stand for */
struct subst {
	const char *snd;	/* %s */
	const char *rcpt;	/* %r */
	const char *tls;	/* %t */
	const char *auth;	/* %a */
};

/* start_word - begin word c->nword at text offset o */
static const char *
start_word(struct qcmd *c, size_t o)
{
	if (c->nword == QCMD_WORDS_MAX)
		return "too many words";
	c->word[c->nword++] = c->text + o;
	return NULL;
}

/* split - cut s into NUL-ended words in c->text: NULL, or what is wrong */
static const char *
split(struct qcmd *c, const char *s)
{
	size_t o = 0;
	int inword = 0;
	char q = 0;
	const char *err;

	for (c->nword = 0; *s != '\0'; s++) {
		if (o + 2 >= sizeof c->text)
			return "command too long";
		if (!q && (*s == ' ' || *s == '\t' || *s == '\n')) {
			if (inword)
				c->text[o++] = '\0';
			inword = 0;
			continue;
		}
		if (!inword && (err = start_word(c, o)) != NULL)
			return err;
		inword = 1;
		if ((!q && (*s == '\'' || *s == '"')) || (q && *s == q)) {
			q = q ? 0 : *s;
			continue;
		}
		if (*s == '\\' && q != '\'' && s[1] != '\0' &&
		    (q == 0 || s[1] == '"' || s[1] == '\\'))
			s++;
		c->text[o++] = *s;
	}
	if (q)
		return "unterminated quote";
	c->text[o] = '\0';
	c->word[c->nword] = NULL;
	return c->nword == 0 ? "empty command" : NULL;
}

/*
 * check - the placeholders: only %s, %r, %t, %a and %%, never in the
 * command name; note where an address could be taken for an option
 */
static const char *
check(struct qcmd *c)
{
	const char *p, *w;
	size_t i;
	int dashdash = 0;

	for (i = 0; i < c->nword; i++) {
		w = c->word[i];
		for (p = w; (p = strchr(p, '%')) != NULL; p += 2) {
			if (p[1] == '\0' || strchr("srta%", p[1]) == NULL)
				return "unknown placeholder "
				    "(use %s, %r, %t, %a, %%)";
			if (p[1] != '%' && i == 0)
				return "the command name holds a placeholder";
			if (p[1] == 's' || p[1] == 'r')
				c->placeholders = 1;
		}
		if (!dashdash && w[0] == '%' && w[1] == 's')
			c->sender_unsafe = 1;
		if (!dashdash && w[0] == '%' && w[1] == 'r')
			c->rcpt_unsafe = 1;
		if (strcmp(w, "--") == 0)
			dashdash = 1;
	}
	return NULL;
}

/* qcmd_parse - split and check the --command text: 0, or -1 and *why */
int
qcmd_parse(struct qcmd *c, const char *s, const char **why)
{
	memset(c, 0, sizeof *c);
	if ((*why = split(c, s)) == NULL)
		*why = check(c);
	return *why == NULL ? 0 : -1;
}

/* has_rcpt - does the word hold %r? */
static int
has_rcpt(const char *w)
{
	for (; (w = strchr(w, '%')) != NULL; w += 2)
		if (w[1] == 'r')
			return 1;
	return 0;
}

/* value_of - what placeholder %c stands for ("%" for %%) */
static const char *
value_of(char c, const struct subst *v)
{
	switch (c) {
	case 's':
		return v->snd;
	case 'r':
		return v->rcpt;
	case 't':
		return v->tls;
	case 'a':
		return v->auth;
	default:
		return "%";
	}
}

/* expand - a new copy of word w with %s, %r, %t, %a and %% replaced */
static char *
expand(const char *w, const struct subst *sv)
{
	size_t n = strlen(w) + 1, o = 0, l;
	const char *p, *v;
	char *out;

	for (p = w; (p = strchr(p, '%')) != NULL; p += 2)
		n += strlen(value_of(p[1], sv));
	if ((out = malloc(n)) == NULL)
		return NULL;
	for (; *w != '\0'; w++) {
		if (*w != '%') {
			out[o++] = *w;
			continue;
		}
		w++;
		v = value_of(*w, sv);
		l = strlen(v);
		memcpy(out + o, v, l);
		o += l;
	}
	out[o] = '\0';
	return out;
}

/* push - add s (a new string, or NULL for the end) to the argv */
static int
push(struct qargv *a, char *s, int end)
{
	char **v;
	size_t cap;

	if (s == NULL && !end)
		return -1;
	if (a->n == a->cap) {
		cap = a->cap ? a->cap * 2 : 32;
		if ((v = realloc(a->v, cap * sizeof *v)) == NULL) {
			free(s);
			return -1;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = s;
	return 0;
}

/* push_words - the command's words, a %r word once per recipient */
static int
push_words(const struct qcmd *c, const struct qcall *k, const char *snd,
    struct qargv *a)
{
	struct subst sv = { snd, "", k->requiretls ? "yes" : "no",
	    k->auth != NULL ? k->auth : "<>" };
	size_t i, j;

	for (i = 0; i < c->nword; i++) {
		if (!has_rcpt(c->word[i])) {
			if (push(a, expand(c->word[i], &sv), 0) < 0)
				return -1;
			continue;
		}
		for (j = 0; j < k->nrcpt; j++) {
			sv.rcpt = k->rcpt[j];
			if (push(a, expand(c->word[i], &sv), 0) < 0)
				return -1;
		}
	}
	return 0;
}

/*
 * qcmd_argv - the argv for one run: the words with the placeholders
 * filled in, or else "CMD -f SENDER [OPTS] -- RCPT...".  The null
 * sender is written "<>".  0, or -1 (out of memory).
 */
int
qcmd_argv(const struct qcmd *c, const struct qcall *k, struct qargv *a)
{
	const char *snd = k->sender[0] != '\0' ? k->sender : "<>";
	size_t i;

	a->v = NULL;
	a->n = a->cap = 0;
	if (push_words(c, k, snd, a) < 0)
		return -1;
	if (!c->placeholders) {
		if (push(a, strdup("-f"), 0) < 0 || push(a, strdup(snd), 0) < 0)
			return -1;
		for (i = 0; i < k->nopts; i++)
			if (push(a, strdup(k->opts[i]), 0) < 0)
				return -1;
		if (push(a, strdup("--"), 0) < 0)
			return -1;
		for (i = 0; i < k->nrcpt; i++)
			if (push(a, strdup(k->rcpt[i]), 0) < 0)
				return -1;
	}
	return push(a, NULL, 1);
}

/* qcmd_argv_free - release an argv */
void
qcmd_argv_free(struct qargv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = a->cap = 0;
}

/*
 * qcmd_auth - %a for a message: the mailbox its client gave as MAIL
 * AUTH= (xtext, as sent), which smtpd keeps only from a client that
 * authenticated, for the command to pass on to the next hop (RFC 4954
 * 5); "<>" when there is none.  A leading '-' becomes its xtext form
 * "+2D" (the same mailbox), so the value is never taken for an option.
 * out has cap octets (QCMD_AUTH_MAX + 1 hold any).
 */
const char *
qcmd_auth(const struct spoolfmt_env *env, char *out, size_t cap)
{
	const char *a = env->auth_param;
	struct sbuf sb;

	if (env->auth_user[0] == '\0' || a[0] == '\0' ||
	    strcmp(a, "<>") == 0)
		return "<>";
	sb_init(&sb, out, cap);
	if (a[0] == '-') {
		sb_str(&sb, "+2D");
		a++;
	}
	sb_str(&sb, a);
	return sb.overflow ? "<>" : out;
}

/* notify_text - NOTIFY bits as sendmail's -N wants them */
static void
notify_text(unsigned bits, char *out, size_t cap)
{
	static const char *const names[] = {
		"never", "success", "failure", "delay"
	};
	struct sbuf sb;
	size_t i;

	sb_init(&sb, out, cap);
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (bits & (1u << i)) {
			if (sb.len > 0)
				sb_str(&sb, ",");
			sb_str(&sb, names[i]);
		}
}

/*
 * qcmd_dsn - the sendmail options -N, -R, -V that want asks for and the
 * envelope has (notify: the NOTIFY of the run's recipients)
 */
void
qcmd_dsn(unsigned want, unsigned notify, const struct spoolfmt_env *env,
    struct qdsn *d)
{
	d->n = 0;
	if ((want & QDSN_NOTIFY) && notify != 0) {
		notify_text(notify, d->notify, sizeof d->notify);
		d->opt[d->n++] = "-N";
		d->opt[d->n++] = d->notify;
	}
	if ((want & QDSN_RET) && env->ret != RET_NONE) {
		d->opt[d->n++] = "-R";
		d->opt[d->n++] = env->ret == RET_FULL ? "full" : "hdrs";
	}
	if ((want & QDSN_ENVID) && env->envid[0] != '\0' &&
	    qreport_xtext_decode(env->envid, d->envid, sizeof d->envid) == 0) {
		d->opt[d->n++] = "-V";
		d->opt[d->n++] = d->envid;
	}
}
