/* agent/routes.c: route matching and the atomically swapped current table. The table is small
 * (one row per route of the PoP) and read-only after publishing, so a linear scan with a score
 * per candidate is both simple and fast enough; the swap is a pointer exchange under a mutex,
 * with reference counts keeping old tables (and their modules) alive for in-flight requests. */
#include "agent/routes.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct agt_table *current;

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

struct agt_table *agt_table_create(int64_t generation)
{
	struct agt_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->generation = generation;
	return t;
}

/* A DNS name: labels of letters, digits, '-' and '_', dots between, 1..253 bytes. */
static bool host_ok(const char *h)
{
	size_t n = strlen(h), label = 0;

	if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return true;
}

int agt_route_validate(const char *host, const char *path, char *err, size_t errlen)
{
	const char *name = host;
	size_t plen;

	if (host == NULL || path == NULL) {
		set_err(err, errlen, "route host and path are required");
		return -EINVAL;
	}
	if (strncmp(host, "*.", 2) == 0)
		name = host + 2;
	if (!host_ok(name)) {
		set_err(err, errlen, "route host is not a valid host name");
		return -EINVAL;
	}
	plen = strlen(path);
	if (plen == 0 || path[0] != '/' || plen > 2048) {
		set_err(err, errlen, "route path must start with '/'");
		return -EINVAL;
	}
	for (size_t i = 0; i < plen; i++) {
		unsigned char c = (unsigned char)path[i];
		if (c <= 0x20 || c == 0x7f || c == '?' || c == '#') {
			set_err(err, errlen, "route path has a forbidden character");
			return -EINVAL;
		}
		/* '*' is only allowed as the final "/\*" of a prefix route. */
		if (c == '*' && !(i == plen - 1 && i > 0 && path[i - 1] == '/')) {
			set_err(err, errlen, "route path may only end in '/*'");
			return -EINVAL;
		}
	}
	return 0;
}

int agt_table_add(struct agt_table *t, const char *host, const char *path,
		  struct agt_module *mod, char *err, size_t errlen)
{
	struct agt_route r = {0};
	int rc = agt_route_validate(host, path, err, errlen);
	size_t plen;

	if (rc != 0)
		return rc;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		struct agt_route *nr = realloc(t->routes, cap * sizeof(*nr));
		if (nr == NULL)
			goto nomem;
		t->routes = nr;
		t->cap = cap;
	}
	r.host = strdup(host);
	r.path = strdup(path);
	if (r.host == NULL || r.path == NULL) {
		free(r.host);
		free(r.path);
		goto nomem;
	}
	for (char *p = r.host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r.wildcard = strncmp(r.host, "*.", 2) == 0;
	plen = strlen(path);
	r.prefix = plen >= 2 && strcmp(path + plen - 2, "/*") == 0;
	r.match_len = r.prefix ? plen - 2 : plen;
	r.mod = agt_module_ref(mod);
	t->routes[t->n++] = r;
	return 0;
nomem:
	set_err(err, errlen, "out of memory");
	return -ENOMEM;
}

/* Host specificity of route r for request host h (normalised, length hn): 0 when it does not
 * match; exact hosts rank above every wildcard, longer wildcard suffixes above shorter ones. */
static size_t host_score(const struct agt_route *r, const char *h, size_t hn)
{
	if (!r->wildcard)
		return strcmp(r->host, h) == 0 ? 100000 : 0;
	/* "*.example.com" matches any name ending in ".example.com" (one label or more). */
	const char *suffix = r->host + 1; /* ".example.com" */
	size_t sn = strlen(suffix);
	if (hn <= sn || memcmp(h + hn - sn, suffix, sn) != 0)
		return 0;
	return sn;
}

/* Path specificity, 0 when no match: twice the matched length, plus two for an exact path and
 * one for a prefix, so that "/a" exact beats "/a/\*" on "/a" and "/\*" still scores. */
static size_t path_score(const struct agt_route *r, const char *path)
{
	size_t n = r->match_len;

	if (!r->prefix)
		return strcmp(r->path, path) == 0 ? 2 * n + 2 : 0;
	if (strncmp(path, r->path, n) != 0)
		return 0;
	/* "/p/\*" covers "/p" itself and "/p/..." but not "/pq"; "/\*" (n = 0) covers all. */
	if (path[n] == '\0' || path[n] == '/' || n == 0)
		return 2 * n + 1;
	return 0;
}

const struct agt_route *agt_table_match(const struct agt_table *t, const char *host,
					const char *path)
{
	char h[256];
	size_t hn = 0;
	const struct agt_route *best = NULL;
	size_t best_host = 0, best_path = 0;

	if (t == NULL || host == NULL || path == NULL)
		return NULL;
	/* Normalise: lower case, no port, no trailing dot. */
	for (; host[hn] != '\0' && host[hn] != ':' && hn < sizeof(h) - 1; hn++)
		h[hn] = (char)tolower((unsigned char)host[hn]);
	if (host[hn] != '\0' && host[hn] != ':')
		return NULL; /* longer than any DNS name */
	if (hn > 0 && h[hn - 1] == '.')
		hn--;
	h[hn] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		const struct agt_route *r = &t->routes[i];
		size_t hs = host_score(r, h, hn), ps;
		if (hs == 0 || hs < best_host)
			continue;
		ps = path_score(r, path);
		if (ps == 0)
			continue;
		if (hs > best_host || ps > best_path) {
			best = r;
			best_host = hs;
			best_path = ps;
		}
	}
	return best;
}

struct agt_table *agt_table_ref(struct agt_table *t)
{
	if (t != NULL)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void agt_table_unref(struct agt_table *t)
{
	if (t == NULL)
		return;
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->routes[i].host);
		free(t->routes[i].path);
		agt_module_unref(t->routes[i].mod);
	}
	free(t->routes);
	free(t);
}

struct agt_table *agt_routes_acquire(void)
{
	struct agt_table *t;

	pthread_mutex_lock(&current_lock);
	t = agt_table_ref(current);
	pthread_mutex_unlock(&current_lock);
	return t;
}

void agt_routes_publish(struct agt_table *t)
{
	struct agt_table *old;

	pthread_mutex_lock(&current_lock);
	old = current;
	current = t;
	pthread_mutex_unlock(&current_lock);
	/* Outside the lock: freeing may be slow and requests must not wait for it. */
	agt_table_unref(old);
}
