/* api/server.h: what the `edgeplane` program (controlplane/) uses of the API library: create
 * the HTTP server over a database pool, start it, drain it on SIGTERM; and issue tokens from
 * the shell. Handlers use api/api.h instead. */
#ifndef API_SERVER_H
#define API_SERVER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "api/api.h"

/* The PostgreSQL connection pool the server takes request connections from (implemented by
 * controlplane/). acquire waits at most timeout_ms and returns NULL when no healthy
 * connection can be had (database down, pool exhausted): the request gets a 503. release
 * gives the connection back; `broken` asks the pool to close it and reconnect on next use.
 * stats reports the connections in use and idle (for /metrics). All three are thread-safe. */
struct api_db_ops {
	void *ud;
	PGconn *(*acquire)(void *ud, unsigned timeout_ms);
	void (*release)(void *ud, PGconn *conn, bool broken);
	void (*stats)(void *ud, unsigned *out_in_use, unsigned *out_idle, unsigned *out_size);
};

struct api_server;

/* Builds the router (every register function), loads the OpenAPI document and the signing
 * key. cfg and db (and what they point to) must outlive the server. NULL with a reason in err
 * on failure. The caller destroys the result with api_server_destroy. */
struct api_server *api_server_create(const struct api_config *cfg, const struct api_db_ops *db,
				     char *err, size_t errlen);
/* Starts listening on cfg->listen with a pool of cfg->threads workers. 0 or -1 (err). */
int api_server_start(struct api_server *s, char *err, size_t errlen);
/* Stops accepting connections, waits up to timeout_ms for requests in flight to finish,
 * then closes every connection. Safe to call once after a successful start. */
void api_server_drain(struct api_server *s, unsigned timeout_ms);
/* Frees the server (drains first when still running). NULL is a no-op. */
void api_server_destroy(struct api_server *s);

/* Every route the program serves, as a JSON array of {"method", "path", "access",
 * "documented"} (documented = part of the OpenAPI document). Builds the route table alone,
 * without a server or any I/O: used by `edgeplane routes` and the OpenAPI test. New
 * reference (caller decrefs); NULL when out of memory or the table is inconsistent. */
json_t *api_route_table(void);

/* Creates a token on conn: role "admin", "deployer", "reader" or "agent"; tenant_slug for
 * deployer/reader (must exist), pop_name for agent (must exist), NULL otherwise; ttl_seconds 0
 * for no expiry. Writes the secret ("ept_" + base64url of 32 random bytes, shown once) into
 * out_secret and the token's uuid into out_id, and an audit row with actor "cli". Returns 0,
 * or -1 with a reason in err. */
#define API_TOKEN_SECRET_LEN 47
int api_token_issue(PGconn *conn, const char *role, const char *name, const char *tenant_slug,
		    const char *pop_name, long long ttl_seconds,
		    char out_secret[API_TOKEN_SECRET_LEN + 1], char out_id[37],
		    char *err, size_t errlen);

#endif
