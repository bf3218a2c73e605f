/* api/api.h: the handler/router interface of the REST API. Every api/ file (tenants, modules,
 * deployments, agent endpoints, blobs, ui, ...) plugs in through a table of routes that its
 * registration function adds to the router; a handler receives an opaque request and answers
 * through the api_reply_* helpers. The router does, before any handler runs: path-template
 * matching (404 unknown path, 405 with Allow), body size limits (413), JSON parsing (400/415),
 * authentication and roles (401/403), tenant scoping of "{t}" (404 for another tenant's or an
 * unknown tenant), Idempotency-Key replay for POST, CORS, X-Request-Id, access log, metrics.
 *
 * Threading: handlers run on the HTTP server's worker threads, several at once; a request and
 * everything borrowed from it belong to one thread for the request's lifetime.
 * Errors: every error reply is application/problem+json (RFC 9457). */
#ifndef API_H
#define API_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Principals and access ---------------------------------------------------------------- */

/* Token roles (DESIGN.md "Roles"). Not ordered: use the api_access levels of routes. */
enum api_role {
	API_ROLE_NONE = 0, /* no (valid) token: anonymous */
	API_ROLE_AGENT,    /* one PoP: agent endpoints only */
	API_ROLE_READER,   /* one tenant, read only */
	API_ROLE_DEPLOYER, /* one tenant, read + write modules, versions, routes, deployments */
	API_ROLE_ADMIN,    /* operators: everything */
};

/* Who may call a route. The router answers 401 when a token is needed and missing, invalid,
 * revoked or expired; 403 when the role is not enough; and, for routes whose template has a
 * "{t}" parameter, 404 when the tenant does not exist or is not the token's own tenant
 * (admins see every tenant). Tenant scoping is checked before the role, so a token of another
 * tenant learns nothing (404), never 403. */
enum api_access {
	API_PUBLIC = 0, /* anyone: no token is needed, and one that is sent is not looked at */
	API_AGENT,      /* agent tokens only (api_who()->pop_* name their PoP) */
	API_READER,     /* reader, deployer or admin */
	API_DEPLOYER,   /* deployer or admin */
	API_ADMIN,      /* admin only */
	API_TOKEN,      /* any valid token, whatever its role (e.g. GET /v1/whoami) */
};

/* The authenticated caller. Strings are "" when not applicable (e.g. tenant of an admin). */
struct api_principal {
	enum api_role role;
	char token_id[37];     /* uuid of the token row ("" when anonymous) */
	char token_name[128];
	char tenant_id[37];    /* reader/deployer: their tenant's uuid */
	char tenant_slug[64];
	char pop_id[37];       /* agent: its PoP's uuid */
	char pop_name[64];
};

/* ---- Routes -------------------------------------------------------------------------------- */

struct api_req;    /* one HTTP request being handled (opaque) */
struct api_router; /* the route table (opaque) */

/* A handler answers by calling exactly one api_reply_* function (a later call replaces an
 * earlier one). Returning without a reply is a 500. */
typedef void (*api_handler_fn)(struct api_req *req);

/* Route flags. */
enum {
	/* The body is not JSON: it is handed over raw (api_body), any Content-Type is let
	 * through to the handler, and the size limit is EDGEPLANE_MAX_MODULE_BYTES instead of
	 * the JSON limit (1 MiB). */
	API_F_RAW_BODY = 1u << 0,
	/* Not part of the OpenAPI document (e.g. the dashboard's static files under /ui/). */
	API_F_UNDOCUMENTED = 1u << 1,
	/* Never touches PostgreSQL: the router does not take a pooled connection for it unless
	 * a token must be checked (e.g. /healthz, /metrics, static files). */
	API_F_NO_DB = 1u << 2,
	/* The JSON answer carries a one-time secret in its "secret" member (token creation):
	 * the answer kept for Idempotency-Key replays is stored without it, so secrets never
	 * rest in the database; a replay answers the same object with "secret": null. */
	API_F_SECRET_ANSWER = 1u << 3,
};

/* One row of a route table.
 * path: a template. Segments are literals, "{name}" (one segment, any characters but '/'),
 * "literal{name}" (a segment starting with the literal; the rest is the parameter, e.g.
 * "/v1/blobs/sha256:{hex}"), or a last segment "{name*}" (the rest of the path, slashes
 * included, possibly empty: "/ui/{path*}"). Parameters are percent-decoded. A template with a
 * "{t}" parameter is tenant-scoped (see api_access). Literal segments win over parameters when
 * two templates could match the same path. */
struct api_route {
	const char *method;     /* "GET", "POST", "PUT", "PATCH", "DELETE" (HEAD is served by GET) */
	const char *path;
	enum api_access access;
	api_handler_fn handler;
	unsigned flags;         /* API_F_* */
};

/* Adds n rows. The array and its strings must outlive the router (use static const tables).
 * Returns 0, or -1 when a row is malformed or duplicates an existing method+path (the
 * server then refuses to start and logs why). */
int api_router_add(struct api_router *r, const struct api_route *routes, size_t n);

/* Registration functions, called once when the server is built, after the control plane's
 * own resources (api/server.c register_all), in this order. Each owner defines
 * its function in its own file; until it exists a weak default that registers nothing is
 * linked (common/api_weak.c), so the build links before the file is written. */
void api_deployments_register(struct api_router *r); /* scheduler: api/deployments*.c */
void api_agent_register(struct api_router *r);       /* scheduler: api/agentapi*.c */
void api_blobs_register(struct api_router *r);       /* scheduler: api/blobs*.c */
void api_ui_register(struct api_router *r);          /* web: api/ui*.c */

/* ---- The request ---------------------------------------------------------------------------- */

/* All strings below are borrowed from the request and valid until the handler returns. */
const char *api_method(const struct api_req *req);       /* "GET", ... (HEAD reported as GET) */
const char *api_path(const struct api_req *req);         /* decoded path, no query */
const char *api_route_path(const struct api_req *req);   /* the matched template */
const char *api_request_id(const struct api_req *req);   /* also sent as X-Request-Id */
/* Path parameter by name ("t", "m", "id", ...), NULL when the template has none of that name. */
const char *api_param(const struct api_req *req, const char *name);
/* Query parameter (decoded), NULL when absent; the first one when repeated. */
const char *api_query(const struct api_req *req, const char *name);
/* Request header (case-insensitive name), NULL when absent. */
const char *api_header(const struct api_req *req, const char *name);
/* Raw body bytes (NULL and *out_len 0 when there is none). Not NUL-terminated. */
const uint8_t *api_body(const struct api_req *req, size_t *out_len);
/* The parsed JSON body (borrowed: do not decref), NULL when the request had no body. For
 * non-RAW routes a non-empty body has already been checked: Content-Type application/json
 * (else 415), valid UTF-8 JSON (else 400), a JSON object (else 400). */
json_t *api_json(const struct api_req *req);
/* The caller (never NULL; role API_ROLE_NONE for anonymous requests). */
const struct api_principal *api_who(const struct api_req *req);
/* For tenant-scoped routes ("{t}" in the template): the tenant's uuid and slug, already
 * checked to exist and to be visible to the caller. NULL for other routes. */
const char *api_tenant_id(const struct api_req *req);
const char *api_tenant_slug(const struct api_req *req);

/* The effective configuration (read-only, lives as long as the server). */
struct api_config {
	const char *database_url;
	const char *redis_url;
	const char *listen;          /* "host:port" */
	const char *signing_key;     /* path of the current signing key file */
	const char *cors_origins;    /* comma list, "" for none */
	const char *web_root;        /* folder served under /ui/ */
	size_t max_module_bytes;     /* upload limit (413 beyond) */
	size_t max_json_bytes;       /* JSON body limit (413 beyond) */
	unsigned threads;            /* HTTP worker threads */
	unsigned db_pool_size;       /* pooled PostgreSQL connections */
	unsigned db_timeout_ms;      /* wait for a connection / statement timeout (503 beyond) */
};
const struct api_config *api_cfg(const struct api_req *req);

/* ---- PostgreSQL ------------------------------------------------------------------------------ */

/* The request's pooled connection, taken on first use and given back after the response
 * (a transaction left open is rolled back then). NULL when the database is unreachable within
 * db_timeout_ms: a 503 problem has then been set as the reply, the handler just returns.
 * Do not PQfinish it. */
PGconn *api_db(struct api_req *req);

/* Runs one parameterised statement (text parameters, NULL for SQL NULL) on api_db(req).
 * Returns the result (caller PQclears) when it succeeded (tuples or command OK); NULL
 * otherwise, with the SQLSTATE kept for api_sql_state(). No reply is set on failure: call
 * api_reply_sql_error() unless you handle the state yourself (e.g. "23505" -> 409). */
PGresult *api_sql(struct api_req *req, const char *sql, int nparams, const char *const *params);
/* Same with per-parameter lengths and formats (1 = binary, e.g. bytea), as PQexecParams. */
PGresult *api_sql_bin(struct api_req *req, const char *sql, int nparams,
		      const char *const *params, const int *lengths, const int *formats);
/* SQLSTATE of the last failed api_sql* of this request ("" when none, "08006" when the
 * connection is gone). */
const char *api_sql_state(const struct api_req *req);
/* Replies to a failed statement: 503 when the database connection is gone, 500 otherwise
 * (the detail goes to the log with the request id, not to the client). */
void api_reply_sql_error(struct api_req *req);
/* BEGIN / COMMIT / ROLLBACK on api_db(req). begin and commit return false after setting the
 * reply (503/500) on failure. */
bool api_tx_begin(struct api_req *req);
bool api_tx_commit(struct api_req *req);
void api_tx_rollback(struct api_req *req);

/* ---- Replies ----------------------------------------------------------------------------------- */

/* JSON reply; takes the reference to body (even on failure). */
void api_reply_json_take(struct api_req *req, unsigned status, json_t *body);
/* Raw bytes with a content type; the bytes are copied. */
void api_reply_bytes(struct api_req *req, unsigned status, const char *content_type,
		     const void *data, size_t len);
/* Raw bytes that the reply takes over (malloc'ed; freed after sending). */
void api_reply_bytes_take(struct api_req *req, unsigned status, const char *content_type,
			  void *data, size_t len);
/* A reply with no body (e.g. 204). */
void api_reply_empty(struct api_req *req, unsigned status);
/* problem+json: {"type","title","status","detail","request_id"}; title is the status's
 * reason phrase, detail the formatted text (it must not contain secrets). */
void api_reply_problem(struct api_req *req, unsigned status, const char *detail_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Adds a response header (e.g. ETag, Cache-Control, Location); copied. Call before or after
 * the api_reply_* call. Returns false when out of memory. */
bool api_add_header(struct api_req *req, const char *name, const char *value);
/* True once a reply has been set. */
bool api_replied(const struct api_req *req);

/* ---- JSON input checks ------------------------------------------------------------------------ */

/* One expected field of a JSON object body. type is a jansson type; JSON_INTEGER also accepts
 * nothing else (no reals), JSON_TRUE means a boolean, JSON_NULL means "any type". */
struct api_field {
	const char *name;
	json_type type;
	bool required;
};
/* Checks obj (may be NULL: "a JSON body is required") against the fields: missing required,
 * unknown names and wrong types are 400 problems naming the field. Strings are also checked
 * to be free of NUL characters. Returns false after setting the reply. */
bool api_json_check(struct api_req *req, const json_t *obj, const struct api_field *fields,
		    size_t n);
/* Checks a free-text field (names, labels): 1..max bytes, no control characters (valid UTF-8
 * is guaranteed by the JSON parser). Returns false after a 400 problem naming the field. */
bool api_check_text(struct api_req *req, const char *field, const char *value, size_t max);
/* True when s is a slug: [a-z0-9][a-z0-9-]{0,62}. */
bool api_is_slug(const char *s);
/* True when s is a canonical uuid text (8-4-4-4-12 hex). Use before passing ids to SQL. */
bool api_is_uuid(const char *s);

/* ---- Pagination -------------------------------------------------------------------------------- */

/* Lists are ordered by an increasing int64 key of the handler's choice (a bigint identity
 * column, a version number, ...). The cursor given to clients is opaque (it encodes the last
 * key returned). Pattern:
 *     struct api_page pg;
 *     if (!api_page_parse(req, &pg)) return;
 *     ... WHERE key > $after ORDER BY key LIMIT pg.limit + 1 ...
 *     for each row i < pg.limit: append item;    more = rows > pg.limit
 *     api_reply_page_take(req, items, more ? key_of_row(pg.limit - 1) : -1);
 */
struct api_page {
	int limit;     /* 1..500, default 50 */
	int64_t after; /* rows with key > after; -1 when no cursor was given (start) */
};
/* Reads ?limit= and ?cursor=. Returns false after a 400 problem for a limit that is not an
 * integer in 1..500 or a cursor that is not one this API issued. */
bool api_page_parse(struct api_req *req, struct api_page *out);
/* For the logs that only grow (audit, deployments), where a reader wants the newest rows:
 * reads ?order=asc|desc (default asc) into *desc. With desc the page holds rows with key <
 * pg->after, newest first; without a cursor pg->after becomes INT64_MAX. Returns false after a
 * 400 problem for any other value. */
bool api_page_order(struct api_req *req, struct api_page *pg, bool *desc);
/* 200 {"items": items, "next_cursor": cursor or null}; next_after < 0 means no more pages.
 * Takes the reference to items. */
void api_reply_page_take(struct api_req *req, json_t *items, int64_t next_after);
/* The whole pattern above in one call for lists keyed by a seq column: parses ?limit= and
 * ?cursor=, then runs sql with the caller's nparams (at most 6) parameters followed by two of
 * its own, $nparams+1 = the key to start after and $nparams+2 = the row limit, so sql ends in
 * "... AND seq > $N ORDER BY seq LIMIT $N+1". Returns the result (the caller PQclears it) with
 * *out_rows = the rows to emit and *out_next = the next_after for api_reply_page_take (read
 * from column seq_col); NULL when it has already replied (bad paging or SQL error). */
PGresult *api_list_query(struct api_req *req, const char *sql, int nparams,
			 const char *const *params, int seq_col, int *out_rows, int64_t *out_next);

/* ---- Audit --------------------------------------------------------------------------------------- */

/* Inserts an audit row on api_db(req) (inside the current transaction if one is open):
 * actor = the caller's token, tenant_id (uuid text or NULL), action (e.g. "module.create"),
 * target (e.g. "acme/hello" or an id), the request id, and detail (borrowed, may be NULL).
 * Returns false when the insert failed (no reply is set: call api_reply_sql_error). */
bool api_audit(struct api_req *req, const char *tenant_id, const char *action,
	       const char *target, const json_t *detail);

/* ---- Small helpers ------------------------------------------------------------------------------- */

/* A JSON value for a PGresult cell: NULL cell -> json null, else a string. New reference. */
json_t *api_pg_str(const PGresult *r, int row, int col);
/* SQL expression formatting the timestamptz expression `col` as RFC 3339 UTC text
 * ("2026-12-03T10:00:00Z"), for SELECT lists: "SELECT " API_RFC3339("created_at") " FROM ...". */
#define API_RFC3339(col) \
	"to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#endif
