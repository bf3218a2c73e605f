/* The example handler (DESIGN.md Handler ABI): a CGI response naming the requested path. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	const char *path = getenv("PATH_INFO");

	printf("Content-Type: text/plain\n\nHello from Edgeplane! %s\n", path && *path ? path : "/");
	return 0;
}
