/* A bad handler: allocates (and touches) 1 MiB after 1 MiB until malloc fails, then aborts.
 * Under a memory cap the engine refuses memory.grow and the abort traps. The blocks are chained
 * from a volatile global so the compiler cannot drop the unused allocations. Built natively it
 * stops after 256 MiB so that running the .native by mistake does no harm. */
#include <stdlib.h>
#include <string.h>

static void *volatile head;

int main(void)
{
	for (int i = 0;; i++) {
#ifndef __wasm__
		if (i == 256)
			abort();
#endif
		char *p = malloc(1 << 20);
		if (p == NULL)
			abort();
		memset(p, i, 1 << 20);
		*(void **)p = head;
		head = p;
	}
}
