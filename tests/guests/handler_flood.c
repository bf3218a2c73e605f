/* A bad handler: a valid CGI header, then 100 MiB of body (stopped by the stdout cap). */
#include <stdio.h>
#include <string.h>

int main(void)
{
	static char chunk[65536];

	memset(chunk, 'x', sizeof chunk);
	fputs("Content-Type: text/plain\n\n", stdout);
	for (int i = 0; i < 1600; i++)
		fwrite(chunk, 1, sizeof chunk, stdout);
	return 0;
}
