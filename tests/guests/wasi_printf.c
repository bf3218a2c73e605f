/* Guest vs native: printf of integers, strings and doubles (correctly rounded on both libcs),
 * snprintf's return value and truncation, and a few exactly-rounded libm results. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
	static const double vals[] = {0.0, -0.0, 1.0, -1.5, 0.1, 1.0 / 3.0, 2.0 / 3.0, 1e-300,
				      4.9406564584124654e-324, DBL_MAX, DBL_MIN, 123456789.125,
				      6.02214076e23, -2.5e-7, 1e21, 1e22, 0.5, 1.5, 2.5, 1e15 + 0.3};
	char buf[64];

	printf("ints: %d %i %u %x %X %o %ld %lld %zu %+d % d %05d %-5d|\n", -42, 7, 4000000000u,
	       0xbeef, 0xbeef, 8, -1234567890L, -9223372036854775807LL - 1, (size_t)12345, 5, 5,
	       -42, 17);
	printf("u64: %llu %llx %jd\n", 18446744073709551615ULL, 0x123456789abcdefULL,
	       (intmax_t)-1);
	printf("str: [%s] [%10s] [%-10s] [%.3s] [%c] %%\n", "hello", "right", "left", "truncate",
	       'Z');
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
		printf("%zu: %.17g | %e | %f | %g | %.3f | %10.4e\n", i, vals[i], vals[i], vals[i],
		       vals[i], vals[i], vals[i]);
	printf("special: %f %f %e %g\n", INFINITY, -INFINITY, NAN, (double)NAN);
	printf("float: %.9g %.9g\n", (double)3.14159265f, (double)FLT_MAX);
	int n = snprintf(buf, 8, "%s-%d", "abcdef", 12345);
	printf("snprintf: %d [%s]\n", n, buf);
	printf("libm: %.17g %.17g %.17g %.17g %.17g %.17g\n", sqrt(2.0), floor(-2.5), ceil(2.1),
	       fmod(10.5, 3.0), trunc(-7.9), fabs(-0.0));
	printf("approx: %.10f %.10f %.10f %.10f\n", sin(1.0), exp(1.0), log(10.0), pow(2.0, 0.5));
	printf("width: [%*d] [%-*d] [%.*f]\n", 6, 42, 6, 42, 2, 3.14159);
	return 0;
}
