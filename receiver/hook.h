/*
 * hook.h - policy programs (--check-client/-sender/-recipient): run one
 * with the address as its argument and the session in its environment,
 * under a hard timeout, and turn its exit code into a verdict.
 */
#ifndef HOOK_H
#define HOOK_H

#define HOOK_TEXT_MAX	200	/* reply text taken from the program */
#define HOOK_ENV_MAX	16

enum hook_verdict {
	HOOK_ACCEPT = 0,	/* exit 0 */
	HOOK_REJECT,		/* exit 100: permanent */
	HOOK_TEMPFAIL,		/* exit 111: temporary */
	HOOK_FAILED		/* anything else: crash, timeout, other code */
};

struct hook_result {
	int	 verdict;
	int	 status;		/* wait status, for the log */
	int	 timed_out;
	char	 text[HOOK_TEXT_MAX + 1];	/* first output line, cleaned */
};

int	 hook_run(const char *, const char *, char *const [], unsigned, int,
	    int, struct hook_result *);

#endif
