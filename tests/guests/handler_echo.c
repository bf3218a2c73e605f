/* A test handler that echoes the request back as text: method, path, query, matched route, PoP,
 * content type and length, every HTTP_* variable (sorted), then the body read from stdin.
 * A query containing "status=NNN" makes it answer with that Status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);
	return v ? v : dflt;
}

static int by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *q = env_or("QUERY_STRING", "");
	const char *st = strstr(q, "status=");
	char *hdrs[256];
	size_t nh = 0;

	printf("Content-Type: text/plain\nX-Echo-Method: %s\n", env_or("REQUEST_METHOD", "-"));
	if (st)
		printf("Status: %.3s\n", st + 7);
	printf("\nmethod: %s\npath: %s\nquery: %s\nroute: %s\npop: %s\n",
	       env_or("REQUEST_METHOD", "-"), env_or("PATH_INFO", "-"), q,
	       env_or("X_MATCHED_ROUTE", "-"), env_or("X_EDGEPLANE_POP", "-"));
	printf("content-type: %s\ncontent-length: %s\n", env_or("CONTENT_TYPE", "-"),
	       env_or("CONTENT_LENGTH", "-"));
	for (char **e = environ; *e && nh < 256; e++)
		if (strncmp(*e, "HTTP_", 5) == 0)
			hdrs[nh++] = *e;
	qsort(hdrs, nh, sizeof hdrs[0], by_string);
	for (size_t i = 0; i < nh; i++)
		printf("header: %s\n", hdrs[i]);
	fputs("body: ", stdout);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
		fwrite(buf, 1, n, stdout);
	return 0;
}
