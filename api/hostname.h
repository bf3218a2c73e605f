/* api/hostname.h: host name syntax and ownership rules shared by domains and routes. */
#ifndef API_HOSTNAME_H
#define API_HOSTNAME_H

#include <stdbool.h>

/* True when s is a lowercase DNS name: labels of [a-z0-9-] (1..63, not starting or ending
 * with '-') separated by dots, 1..253 characters, no trailing dot. With allow_wildcard a
 * leading "*." is accepted too. */
bool api__hostname_ok(const char *s, bool allow_wildcard);

#endif
