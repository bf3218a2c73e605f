/* Guest vs native: arguments and environment. Prints argc/argv, getenv of GUEST_A/GUEST_B/an
 * unset name, setenv/unsetenv, and every GUEST_* variable in sorted order (the rest of the
 * environment differs between a native process and a guest). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char *mine[64];
	size_t n = 0;

	printf("argc=%d\n", argc);
	for (int i = 1; i < argc; i++)
		printf("argv[%d]=[%s]\n", i, argv[i]);
	const char *a = getenv("GUEST_A"), *b = getenv("GUEST_B"), *u = getenv("GUEST_UNSET_X");
	printf("GUEST_A=%s GUEST_B=%s unset=%s\n", a ? a : "(null)", b ? b : "(null)",
	       u ? u : "(null)");
	for (char **e = environ; *e && n < 64; e++)
		if (strncmp(*e, "GUEST_", 6) == 0)
			mine[n++] = *e;
	qsort(mine, n, sizeof mine[0], by_string);
	for (size_t i = 0; i < n; i++)
		printf("env: %s\n", mine[i]);
	setenv("GUEST_NEW", "set-by-guest", 1);
	unsetenv("GUEST_A");
	printf("after: GUEST_NEW=%s GUEST_A=%s\n", getenv("GUEST_NEW"),
	       getenv("GUEST_A") ? getenv("GUEST_A") : "(null)");
	return 0;
}
