/* A bad handler: starts a response, then traps. QUERY_STRING picks the trap: "div" divides by
 * zero, "abort" calls abort(), anything else executes `unreachable`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	const char *q = getenv("QUERY_STRING");
	volatile int zero = 0;

	printf("Content-Type: text/plain\n\npartial");
	fflush(stdout);
	if (q && strcmp(q, "div") == 0)
		return 10 / zero;
	if (q && strcmp(q, "abort") == 0)
		abort();
	__builtin_trap();
}
