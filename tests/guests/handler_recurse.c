/* A bad handler: recurses without end. The call goes through a volatile function pointer so the
 * compiler can neither turn it into a loop nor keep a frame on the C shadow stack: the depth is
 * bounded only by the engine's call-stack limit ("call stack exhausted"). */
#include <stdio.h>

static int down(int n);
static int (*volatile next)(int) = down;

static int down(int n)
{
	return next(n + 1) + 1;
}

int main(void)
{
	printf("%d\n", down(0));
	return 0;
}
