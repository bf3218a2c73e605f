/* agent/routes.h: the edge route table. A table is immutable once published and reference
 * counted; the agent holds one current table and swaps it atomically on every change. A request
 * takes a reference for its whole life (agt_routes_acquire), so it finishes on the table and the
 * modules it started with, and nothing is freed while in use. */
#ifndef AGT_ROUTES_H
#define AGT_ROUTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/module.h"

struct agt_route {
	char *host;              /* lower case; "*.example.com" for a wildcard (owned) */
	char *path;              /* as configured: "/exact" or "/prefix/\*" (owned) */
	bool wildcard;           /* host starts with "*." */
	bool prefix;             /* path ends with "/\*" */
	size_t match_len;        /* bytes of path compared ("/prefix" for "/prefix/\*") */
	struct agt_module *mod;  /* one reference held by the table */
};

struct agt_table {
	atomic_int refs;         /* private */
	int64_t generation;      /* the desired-state generation the table was built from */
	char pop[64];            /* this PoP's name (X_EDGEPLANE_POP), set before publishing */
	size_t n;
	size_t cap;
	struct agt_route *routes;
};

/* An empty table with one reference; NULL when memory runs out. */
struct agt_table *agt_table_create(int64_t generation);

/* Adds a route to a table that is not yet published. Takes a new reference on mod. Returns 0,
 * -EINVAL for a bad host or path (reason in err) or -ENOMEM. err may be NULL. */
int agt_table_add(struct agt_table *t, const char *host, const char *path,
		  struct agt_module *mod, char *err, size_t errlen);

/* The route for a request: among routes whose host matches (`host` may carry a ":port" and
 * any case) and whose path matches, an exact host beats a wildcard (a longer wildcard beats a
 * shorter one), then the longest path wins, an exact path beating a prefix of the same length.
 * "/p/\*" matches "/p" and everything under "/p/". NULL when nothing matches. The result lives as
 * long as the caller's reference on t. */
const struct agt_route *agt_table_match(const struct agt_table *t, const char *host,
					const char *path);

struct agt_table *agt_table_ref(struct agt_table *t);
/* The last reference frees the table and drops its module references. NULL is a no-op. */
void agt_table_unref(struct agt_table *t);

/* The process-wide current table. acquire returns it with a new reference (never NULL after
 * agt_routes_publish was called once; NULL before); publish takes over the caller's reference
 * on t and drops the current table's, which lives on while requests hold it. Thread-safe. */
struct agt_table *agt_routes_acquire(void);
void agt_routes_publish(struct agt_table *t);

/* Checks a route host ("a.b", "*.b") and path ("/x", "/x/\*", "/\*"); 0 or -EINVAL with err. */
int agt_route_validate(const char *host, const char *path, char *err, size_t errlen);

#endif
