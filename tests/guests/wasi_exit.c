/* Guest vs native: exit codes. argv[1] picks how the program ends: "return N" returns N from
 * main, "exit N" calls exit(N) after buffered output (which must be flushed), "_exit N" calls
 * _Exit(N) (unflushed output is lost on both), "atexit" runs a handler then exits 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void bye(void)
{
	puts("atexit handler ran");
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "return";
	int code = argc > 2 ? atoi(argv[2]) : 0;

	printf("ending with %s %d\n", how, code);
	if (strcmp(how, "exit") == 0)
		exit(code);
	if (strcmp(how, "_exit") == 0) {
		fflush(stdout);
		printf("this line is never flushed\n");
		_Exit(code);
	}
	if (strcmp(how, "atexit") == 0) {
		atexit(bye);
		exit(3);
	}
	return code;
}
