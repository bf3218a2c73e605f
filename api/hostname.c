/* api/hostname.c: host name syntax (see hostname.h). */
#include "api/hostname.h"

#include <string.h>

bool api__hostname_ok(const char *s, bool allow_wildcard)
{
	size_t n, label = 0;

	if (s == NULL)
		return false;
	if (allow_wildcard && strncmp(s, "*.", 2) == 0)
		s += 2;
	n = strlen(s);
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (label == 0 && c == '-')
			return false;
		label++;
	}
	return true;
}

bool api__hostname_norm(const char *s, char *out, size_t outlen, bool allow_wildcard)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n + 1 > outlen)
		return false;
	for (size_t i = 0; i < n; i++)
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	out[n] = '\0';
	return api__hostname_ok(out, allow_wildcard);
}
