/* Guest vs native: clocks, random bytes, time formatting of a fixed instant, stdio of stderr.
 * Prints only facts that hold on both (monotonic does not go back, random bytes are not all
 * equal, realtime is after 2020), so the outputs compare equal. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec a, b, r;
	unsigned char rnd[64];
	char when[64];
	int ok_mono = clock_gettime(CLOCK_MONOTONIC, &a) == 0 && clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
		      (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec));
	int ok_real = clock_gettime(CLOCK_REALTIME, &r) == 0 && r.tv_sec > 1577836800;
	int ok_time = time(NULL) > 1577836800;
	memset(rnd, 0, sizeof rnd);
	int ok_rand = getentropy(rnd, sizeof rnd) == 0;
	int distinct = 0;
	for (size_t i = 1; i < sizeof rnd; i++)
		distinct += rnd[i] != rnd[0];
	time_t fixed = 1700000000;
	struct tm tm;
	gmtime_r(&fixed, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %a %j", &tm);
	printf("monotonic=%d realtime=%d time=%d random=%d varied=%d\n", ok_mono, ok_real, ok_time,
	       ok_rand, distinct > 0);
	printf("gmtime: %s\n", when);
	fprintf(stderr, "to stderr\n");
	return 0;
}
