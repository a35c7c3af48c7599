/*
 * maxrss.c - run a command and record its peak resident set size.
 * Usage: maxrss FILE COMMAND [ARG...].  Writes the child's ru_maxrss
 * (KiB) to FILE and exits with the child's status.  Forking from this
 * small program, not from a test's big interpreter, keeps the number
 * the command's own (ru_maxrss counts memory from before exec).
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct rusage ru;
	FILE *f;
	pid_t pid;
	int status;

	if (argc < 3) {
		fputs("usage: maxrss FILE COMMAND [ARG...]\n", stderr);
		return 100;
	}
	if ((pid = fork()) < 0)
		return 111;
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0)
		return 111;
	if ((f = fopen(argv[1], "w")) != NULL) {
		fprintf(f, "%ld\n", ru.ru_maxrss);
		fclose(f);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
