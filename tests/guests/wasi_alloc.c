/* Guest vs native: malloc/calloc/realloc/free under churn, qsort and bsearch over 200,000
 * pseudo-random values, string functions. Prints checksums. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t state = 2463534242u;

static uint32_t xorshift(void)
{
	state ^= state << 13;
	state ^= state >> 17;
	state ^= state << 5;
	return state;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	enum { N = 200000, SLOTS = 512 };
	uint32_t *v = malloc(N * sizeof *v);
	void *slots[SLOTS] = {0};
	uint64_t sum = 0;

	if (v == NULL)
		return 2;
	for (int i = 0; i < N; i++)
		v[i] = xorshift();
	qsort(v, N, sizeof *v, cmp_u32);
	for (int i = 1; i < N; i++)
		if (v[i - 1] > v[i]) {
			puts("not sorted");
			return 1;
		}
	for (int i = 0; i < N; i += 997)
		sum += v[i] * (uint64_t)(i + 1);
	printf("sorted: min=%u max=%u median=%u sum=%llu\n", v[0], v[N - 1], v[N / 2],
	       (unsigned long long)sum);
	uint32_t key = v[12345];
	uint32_t *hit = bsearch(&key, v, N, sizeof *v, cmp_u32);
	printf("bsearch: %s\n", hit && *hit == key ? "found" : "missing");

	/* Allocation churn: random sizes, reallocs, frees; contents checked on the way. */
	uint64_t check = 0;
	for (int round = 0; round < 20000; round++) {
		uint32_t r = xorshift(), s = r % SLOTS;
		size_t size = 1 + (r >> 9) % 4000;
		if (slots[s] && (r & 1)) {
			unsigned char *p = realloc(slots[s], size);
			if (p == NULL)
				return 3;
			p[size - 1] = (unsigned char)round;
			check += p[0];
			slots[s] = p;
		} else {
			free(slots[s]);
			unsigned char *p = (r & 2) ? calloc(size, 1) : malloc(size);
			if (p == NULL)
				return 3;
			if (r & 2)
				for (size_t k = 0; k < size; k++)
					check += p[k]; /* calloc'ed: zeros */
			memset(p, (int)(round & 0xff), size);
			slots[s] = p;
		}
	}
	for (int s = 0; s < SLOTS; s++)
		free(slots[s]);
	printf("churn: check=%llu\n", (unsigned long long)check);

	char *words[] = {"pear", "apple", "fig", "banana", "cherry", "date", "apple2", "Zebra"};
	qsort(words, 8, sizeof words[0], cmp_str);
	for (int i = 0; i < 8; i++)
		printf("%s%c", words[i], i == 7 ? '\n' : ' ');
	char s[64];
	strcpy(s, "hello, world");
	memmove(s + 2, s, 10);
	printf("strings: [%s] %zu %d %s\n", s, strlen(s), strncmp("abc", "abd", 2),
	       strstr("haystack", "st"));
	free(v);
	return 0;
}
