/* Guest vs native: reads stdin with fgets and fread until EOF; prints line/word/byte counts, a
 * FNV-1a hash, the longest line and the first line upper-cased. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	char line[1024] = "", first[1024] = "", longest[1024] = "";
	size_t lines = 0, words = 0, bytes = 0;
	uint32_t h = 2166136261u;
	int in_word = 0;

	/* The first line through fgets, the rest through fread (both paths of stdio). */
	if (fgets(line, sizeof line, stdin) != NULL) {
		strcpy(first, line);
		strcpy(longest, line);
	}
	for (size_t i = 0; first[i]; i++)
		first[i] = (char)toupper((unsigned char)first[i]);
	size_t pending = strlen(line); /* the fgets'ed line is counted like the rest */
	char buf[777];
	size_t n, cur = 0;
	char curline[1024];
	const char *src = line;
	for (;;) {
		if (pending) {
			n = pending;
			memcpy(buf, src, n);
			pending = 0;
		} else if ((n = fread(buf, 1, sizeof buf, stdin)) == 0) {
			break;
		}
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];
			bytes++;
			h = (h ^ c) * 16777619u;
			if (isspace(c))
				in_word = 0;
			else if (!in_word) {
				in_word = 1;
				words++;
			}
			if (cur < sizeof curline - 1)
				curline[cur++] = (char)c;
			if (c == '\n') {
				lines++;
				curline[cur] = 0;
				if (strlen(curline) > strlen(longest))
					strcpy(longest, curline);
				cur = 0;
			}
		}
	}
	printf("lines=%zu words=%zu bytes=%zu fnv=%08x eof=%d\n", lines, words, bytes, h,
	       feof(stdin) != 0);
	printf("first: %s", first[0] ? first : "(none)\n");
	printf("longest: %s", longest[0] ? longest : "(none)\n");
	return 0;
}
