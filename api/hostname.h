/* api/hostname.h: host name syntax and ownership rules shared by domains and routes. */
#ifndef API_HOSTNAME_H
#define API_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is a lowercase DNS name: labels of [a-z0-9-] (1..63, not starting or ending
 * with '-') separated by dots, 1..253 characters, no trailing dot. With allow_wildcard a
 * leading "*." is accepted too. */
bool api__hostname_ok(const char *s, bool allow_wildcard);
/* Host names are case-insensitive and may be written fully qualified: copies s into out
 * lowercased and without one trailing dot, then checks it with api__hostname_ok. Returns
 * false (out unspecified) when the result is not a host name or does not fit outlen. */
bool api__hostname_norm(const char *s, char *out, size_t outlen, bool allow_wildcard);

#endif
