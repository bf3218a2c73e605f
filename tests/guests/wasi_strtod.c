/* Guest vs native: strtod (decimal, hex, subnormal, overflow, inf/nan, trailing junk), strtol and
 * strtoul in several bases, atoi. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
	static const char *dbl[] = {"0", "-0", "3.14159", "1e308", "1e309", "-1e-320", "2.5e-324",
				    "0x1.8p3", "0X1P-1074", "  42.5xyz", "inf", "-Infinity", ".5",
				    "5.", "1e", "abc", "123456789012345678901234567890",
				    "0.1000000000000000055511151231257827", "4.9e-324",
				    "2.2250738585072011e-308", "1.7976931348623157e308", "-1e-400"};
	static const char *ints[] = {"0", "-17", "2147483647", "9223372036854775807",
				     "99999999999999999999", "0x7f", "0777", "  +12abc", "z", "-0x10"};
	for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
		char *end;
		errno = 0;
		double d = strtod(dbl[i], &end);
		/* ERANGE is compared for overflow and underflow to zero only: whether a subnormal
		 * result sets it differs between C libraries (C11 leaves it to them). */
		printf("strtod(\"%s\") = %.17g rest=\"%s\" erange=%d\n", dbl[i], d, end,
		       (isinf(d) || d == 0) ? errno == ERANGE : -1);
	}
	for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
		char *end;
		errno = 0;
		long long v = strtoll(ints[i], &end, 0);
		int e1 = errno == ERANGE;
		errno = 0;
		/* long is 32 bits on wasm32 and 64 natively: use the 64-bit functions; atoi only
		 * where the value fits an int (beyond, it is undefined). */
		unsigned long long u = strtoull(ints[i], NULL, 16);
		int fits = v >= INT_MIN && v <= INT_MAX && !e1;
		printf("strtoll(\"%s\", 0) = %lld rest=\"%s\" erange=%d | strtoull16 = %llu | atoi = %d\n",
		       ints[i], v, end, e1, u, fits ? atoi(ints[i]) : 0);
	}
	printf("nan: %d\n", strtod("nan", NULL) != strtod("nan", NULL));
	printf("base36: %ld\n", strtol("zz", NULL, 36));
	return 0;
}
