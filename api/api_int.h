/* api/api_int.h: internals shared by the files of api/ (the request and server structs, the
 * router's matcher, metrics, idempotency). Nothing outside api/ includes this. */
#ifndef API_INT_H
#define API_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "api/api.h"
#include "api/server.h"
#include "common/buf.h"
#include "signing/signing.h"

#define API_MAX_PARAMS 8
#define API_MAX_HEADERS 16
#define API_MAX_SEGMENTS 16

/* One template segment, precompiled by api_router_add. */
struct api_seg {
	const char *lit;   /* literal text (or the literal prefix before a parameter) */
	size_t lit_len;
	char *param;       /* parameter name, NULL for a pure literal (owned) */
	bool rest;         /* "{name*}": matches the rest of the path */
};

struct api_route_int {
	const struct api_route *r;
	struct api_seg segs[API_MAX_SEGMENTS];
	int nsegs;
	int literals;      /* literal segments: more literals = more specific */
	bool tenant_scoped;
};

struct api_router {
	struct api_route_int *routes;
	size_t n, cap;
	bool failed; /* a registration was refused: the server does not start */
};

struct api_kv {
	char *name;
	char *value;
};

/* Per-route metrics: status counts and a latency histogram (guarded by the metrics mutex). */
#define API_HIST_BUCKETS 12
struct api_metric {
	char *method;
	char *route;
	unsigned long long by_status[6][100]; /* [status/100][status%100] */
	unsigned long long hist[API_HIST_BUCKETS + 1];
	double sum_seconds;
	unsigned long long count;
	struct api_metric *next;
};

struct api_server {
	const struct api_config *cfg;
	struct api_db_ops db;
	struct api_router router;
	struct MHD_Daemon *daemon;
	sign_key *key;
	char *openapi;            /* the OpenAPI document text */
	size_t openapi_len;
	char **cors;              /* allowed origins (NULL-terminated) */
	atomic_int inflight;      /* requests between first callback and completion */
	atomic_bool draining;
	pthread_mutex_t metrics_mu;
	struct api_metric *metrics;
	time_t started;
};

struct api_req {
	struct api_server *srv;
	struct MHD_Connection *conn;
	char request_id[40];
	char method[16];
	bool head;
	char *path;
	const struct api_route_int *route;  /* NULL: no route matched */
	struct api_kv params[API_MAX_PARAMS];
	int nparams;
	struct buf body;
	size_t limit;
	bool too_large;
	bool answered_early;  /* a reply was queued before the body was read */
	bool answer_pending;  /* decided from the headers; sent at the end of a bodiless request */
	json_t *json;
	struct api_principal who;
	char tenant_id[37];
	char tenant_slug[64];
	bool has_tenant;
	PGconn *db;
	bool db_broken;
	bool in_tx;
	char sqlstate[6];
	/* the reply */
	bool replied;
	unsigned status;
	char *resp;
	size_t resp_len;
	char *resp_type;
	struct api_kv headers[API_MAX_HEADERS];
	int nheaders;
	struct timespec start;
	size_t bytes_in;
};

/* router.c */
/* Finds the route of method+path. Returns the route, or NULL with *out_allow set to the
 * "Allow" list (malloc'ed) when the path matched with another method, or NULL and *out_allow
 * NULL for an unknown path. Fills req->params on success. */
const struct api_route_int *api__route_match(struct api_router *r, struct api_req *req,
					     const char *method, const char *path, char **out_allow);
void api__router_free(struct api_router *r);
/* Runs a matched request: auth, tenant scope, JSON body, idempotency, the handler. */
void api__dispatch(struct api_req *req);
/* Each resource file's registration of its route table (called by server.c). */
void api__metrics_register(struct api_router *r);
void api__health_register(struct api_router *r);
void api__openapi_register(struct api_router *r);
void api__tenants_register(struct api_router *r);
void api__domains_register(struct api_router *r);
void api__tokens_register(struct api_router *r);
void api__modules_register(struct api_router *r);
void api__versions_register(struct api_router *r);
void api__routes_register(struct api_router *r);
void api__pops_register(struct api_router *r);
void api__keys_register(struct api_router *r);
/* Records the public half of the key this server signs with in signing_keys (idempotent),
 * inside the request's transaction if one is open. On failure it has replied 503/500 and
 * returns false. */
bool api__key_record(struct api_req *req);
void api__audit_register(struct api_router *r);
/* Adds a file's static table (sizeof-counted). */
#define API_ADD_TABLE(r, table) api_router_add((r), (table), sizeof(table) / sizeof((table)[0]))

/* db.c */
void api__db_release(struct api_req *req);
/* api_sql for the router's hot statements (authentication, tenant scope): a server-side
 * prepared statement `name` (created on a connection's first use) saves parsing and planning
 * on every request. Not inside transactions. sql must always be the same text for a name. */
/* api_sql_bin with the format of the result's cells chosen (0 text, 1 binary). Every
 * statement of a request goes through here: it waits for its answer at most db_timeout_ms
 * plus a margin, then gives the connection up (SQLSTATE 08006, a 503). */
PGresult *api__sql_fmt(struct api_req *req, const char *sql, int nparams,
		       const char *const *params, const int *lengths, const int *formats,
		       int result_format);
PGresult *api__sql_named(struct api_req *req, const char *name, const char *sql, int nparams,
			 const char *const *params);

/* reply.c */
const char *api__reason(unsigned status);
void api__reply_free(struct api_req *req);

/* auth.c */
/* Authenticates the Authorization header into req->who. Returns 0, or sets a 401/503 reply
 * and returns -1. */
int api__authenticate(struct api_req *req);
/* SHA-256 of a token secret as bytea hex text ("\\x...") for SQL. */
void api__token_hash_hex(const char *secret, char out[2 + 64 + 1]);

/* idempotency.c: returns true when the handler must run (and then api__idem_finish must be
 * called with the reply); false when a reply (replay, 422, 409, error) is already set. */
bool api__idem_begin(struct api_req *req, bool *out_tracking);
void api__idem_finish(struct api_req *req);

/* metrics.c */
void api__metrics_record(struct api_server *s, const char *method, const char *route,
			 unsigned status, double seconds);
void api__metrics_free(struct api_server *s);

/* cors.c */
/* Adds CORS response headers for an allowed Origin; answers a preflight. */
void api__cors_headers(struct api_req *req);
bool api__cors_allowed(const struct api_server *s, const char *origin);

/* server.c: the key uploads are signed with. */
const sign_key *api__signing_key(const struct api_req *req);

/* util */
/* Percent-decodes s (plus as space when `form`); NULL when malformed or out of memory. */
char *api__pct_decode(const char *s, size_t len, bool form);
/* Random hex string of 2*nbytes chars into out. */
void api__random_hex(char *out, size_t nbytes);
/* Current time as RFC 3339 UTC with seconds (and with milliseconds) precision. */
void api__now_rfc3339(char out[32]);
void api__now_rfc3339_ms(char out[32]);
/* Appends s as a JSON string literal (quotes, escapes; s must be UTF-8). false on OOM. */
bool api__buf_json_str(struct buf *b, const char *s);
/* page.c: 200 {"items": <items_json>, "next_cursor": ...} from an already serialised JSON
 * array (hot lists skip building jansson trees). Takes the buffer's bytes. */
void api__reply_page_raw(struct api_req *req, struct buf *items_json, int64_t next_after);
/* True when s[0..n) is well-formed UTF-8 (no overlong forms or surrogates). */
bool api__utf8_valid(const uint8_t *s, size_t n);

#endif
