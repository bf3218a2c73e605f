/* controlplane/dbpool.h: a fixed-size pool of PostgreSQL connections that survives a database
 * restart: dead connections are closed when given back and replaced on demand, and a caller
 * waits a bounded time for a connection, never forever. */
#ifndef CP_DBPOOL_H
#define CP_DBPOOL_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "api/server.h"

struct cp_pool;

/* A pool of `size` connections to conninfo (copied), each with statement_timeout set to
 * stmt_timeout_ms. Connections are opened lazily. NULL when out of memory. */
struct cp_pool *cp_pool_create(const char *conninfo, unsigned size, unsigned stmt_timeout_ms);
/* Closes every connection; all must have been released. NULL is a no-op. */
void cp_pool_destroy(struct cp_pool *p);
/* Fills ops with this pool's functions (for api_server_create). */
void cp_pool_ops(struct cp_pool *p, struct api_db_ops *ops);
/* Opens one connection outside the pool (migrations, the shell commands): connect timeout
 * bounded, notices silenced. NULL with the reason in err. The caller PQfinishes it. */
PGconn *cp_db_connect(const char *conninfo, unsigned timeout_ms, char *err, size_t errlen);

#endif
