/* api/tokens.c: API tokens (admin): POST /v1/tokens (the secret is in this answer only),
 * GET /v1/tokens, DELETE /v1/tokens/{id} (revokes); and api_token_issue for
 * `edgeplane token create`. Secrets are "ept_" + 32 random bytes in unpadded base64url; the
 * database keeps their SHA-256 only. */
#include "api/api_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_COLS \
	"t.id, t.name, t.role, tn.slug, p.name, " API_RFC3339("t.created_at") ", " \
	API_RFC3339("t.expires_at") ", " API_RFC3339("t.revoked_at") ", t.seq"
#define TOKEN_FROM \
	" FROM tokens t LEFT JOIN tenants tn ON tn.id = t.tenant_id LEFT JOIN pops p ON p.id = t.pop_id"
/* Ten years: longer lifetimes are a mistake, use no expiry instead. */
#define TTL_MAX 315360000LL

static void new_secret(char out[API_TOKEN_SECRET_LEN + 1])
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof raw);
	memcpy(out, "ept_", 4);
	sodium_bin2base64(out + 4, API_TOKEN_SECRET_LEN + 1 - 4, raw, sizeof raw,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof raw);
}

static json_t *token_json(const PGresult *r, int i)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}",
			 "id", api_pg_str(r, i, 0), "name", api_pg_str(r, i, 1),
			 "role", api_pg_str(r, i, 2), "tenant", api_pg_str(r, i, 3),
			 "pop", api_pg_str(r, i, 4), "created_at", api_pg_str(r, i, 5),
			 "expires_at", api_pg_str(r, i, 6), "revoked_at", api_pg_str(r, i, 7));
}

/* The INSERT shared by the API and the shell: $1 name, $2 role, $3 tenant slug, $4 pop name,
 * $5 ttl seconds (NULL: never expires), $6 hash. Tenant and pop are looked up by name; a
 * missing one makes the sub-select NULL and the row's CHECK constraints refuse it (23514),
 * which callers have already ruled out by checking existence first. */
#define TOKEN_INSERT \
	"WITH ins AS (INSERT INTO tokens (name, role, tenant_id, pop_id, expires_at, hash)" \
	" VALUES ($1, $2, (SELECT id FROM tenants WHERE slug = $3), (SELECT id FROM pops WHERE name = $4)," \
	"  CASE WHEN $5::bigint IS NULL THEN NULL ELSE now() + make_interval(secs => $5::bigint) END," \
	"  $6::bytea) RETURNING *)" \
	" SELECT " TOKEN_COLS " FROM ins t LEFT JOIN tenants tn ON tn.id = t.tenant_id" \
	" LEFT JOIN pops p ON p.id = t.pop_id"

/* Checks role against tenant/pop presence; returns NULL when fine, else the reason. */
static const char *role_shape(const char *role, bool has_tenant, bool has_pop)
{
	if (strcmp(role, "admin") == 0)
		return has_tenant || has_pop ? "an admin token has neither tenant nor pop" : NULL;
	if (strcmp(role, "deployer") == 0 || strcmp(role, "reader") == 0) {
		if (!has_tenant)
			return "deployer and reader tokens need a tenant";
		return has_pop ? "deployer and reader tokens have no pop" : NULL;
	}
	if (strcmp(role, "agent") == 0) {
		if (!has_pop)
			return "agent tokens need a pop";
		return has_tenant ? "agent tokens have no tenant" : NULL;
	}
	return "role must be admin, deployer, reader or agent";
}

static void create_token(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"role", JSON_STRING, true},
		{"name", JSON_STRING, true},
		{"tenant", JSON_STRING, false},
		{"pop", JSON_STRING, false},
		{"ttl_seconds", JSON_INTEGER, false},
	};
	json_t *body = api_json(req);
	const char *role, *name, *tenant, *pop, *why;
	char secret[API_TOKEN_SECRET_LEN + 1], hash[67], ttl[32];
	json_t *jttl;
	PGresult *r;

	if (!api_json_check(req, body, fields, 5))
		return;
	role = json_string_value(json_object_get(body, "role"));
	name = json_string_value(json_object_get(body, "name"));
	tenant = json_string_value(json_object_get(body, "tenant"));
	pop = json_string_value(json_object_get(body, "pop"));
	jttl = json_object_get(body, "ttl_seconds");
	if ((why = role_shape(role, tenant != NULL, pop != NULL)) != NULL) {
		api_reply_problem(req, 400, "%s", why);
		return;
	}
	if (!api_check_text(req, "name", name, 200))
		return;
	if (jttl != NULL && (json_integer_value(jttl) < 1 || json_integer_value(jttl) > TTL_MAX)) {
		api_reply_problem(req, 400, "ttl_seconds must be from 1 to %lld", TTL_MAX);
		return;
	}
	if ((tenant != NULL && !api_is_slug(tenant)) || (pop != NULL && !api_is_slug(pop))) {
		api_reply_problem(req, 422, "no %s named '%s'", tenant ? "tenant" : "pop",
				  tenant ? tenant : pop);
		return;
	}
	if (tenant != NULL || pop != NULL) {
		const char *p[] = {tenant ? tenant : pop};
		r = api_sql(req, tenant ? "SELECT 1 FROM tenants WHERE slug = $1"
					: "SELECT 1 FROM pops WHERE name = $1", 1, p);
		if (r == NULL) {
			api_reply_sql_error(req);
			return;
		}
		int n = PQntuples(r);
		PQclear(r);
		if (n != 1) {
			api_reply_problem(req, 422, "no %s named '%s'", tenant ? "tenant" : "pop",
					  tenant ? tenant : pop);
			return;
		}
	}
	snprintf(ttl, sizeof ttl, "%lld", jttl ? (long long)json_integer_value(jttl) : 0LL);
	new_secret(secret);
	api__token_hash_hex(secret, hash);
	if (!api_tx_begin(req))
		return;
	const char *p[] = {name, role, tenant, pop, jttl ? ttl : NULL, hash};
	r = api_sql(req, TOKEN_INSERT, 6, p);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23514") == 0 || strcmp(api_sql_state(req), "23503") == 0)
			api_reply_problem(req, 422, "the tenant or pop was removed meanwhile");
		else
			api_reply_sql_error(req);
		sodium_memzero(secret, sizeof secret);
		return;
	}
	json_t *out = token_json(r, 0);
	json_t *detail = json_pack("{s:s,s:s,s:o,s:o}", "role", role, "name", name,
				   "tenant", tenant ? json_string(tenant) : json_null(),
				   "pop", pop ? json_string(pop) : json_null());
	bool ok = api_audit(req, NULL, "token.create", PQgetvalue(r, 0, 0), detail);
	json_decref(detail);
	PQclear(r);
	if (!ok) {
		json_decref(out);
		sodium_memzero(secret, sizeof secret);
		api_reply_sql_error(req);
		return;
	}
	if (!api_tx_commit(req)) {
		json_decref(out);
		sodium_memzero(secret, sizeof secret);
		return;
	}
	json_object_set_new(out, "secret", json_string(secret));
	sodium_memzero(secret, sizeof secret);
	api_reply_json_take(req, 201, out);
}

static void list_tokens(struct api_req *req)
{
	int n;
	int64_t next;
	PGresult *r = api_list_query(req, "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.seq > $1"
					  " ORDER BY t.seq LIMIT $2", 0, NULL, 8, &n, &next);

	if (r == NULL)
		return;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, token_json(r, i));
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void revoke_token(struct api_req *req)
{
	const char *id = api_param(req, "id");
	PGresult *r;

	if (!api_is_uuid(id)) {
		api_reply_problem(req, 404, "no token with id '%s'", id);
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {id};
	r = api_sql(req, "UPDATE tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1"
			 " RETURNING id", 1, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	int n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		api_reply_problem(req, 404, "no token with id '%s'", id);
		return;
	}
	if (!api_audit(req, NULL, "token.revoke", id, NULL)) {
		api_reply_sql_error(req);
		return;
	}
	if (api_tx_commit(req))
		api_reply_empty(req, 204);
}

int api_token_issue(PGconn *conn, const char *role, const char *name, const char *tenant_slug,
		    const char *pop_name, long long ttl_seconds,
		    char out_secret[API_TOKEN_SECRET_LEN + 1], char out_id[37],
		    char *err, size_t errlen)
{
	char hash[67], ttl[32];
	const char *why;
	PGresult *r;
	int rc = -1;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return -1;
	}
	if ((why = role_shape(role, tenant_slug != NULL, pop_name != NULL)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (name == NULL || *name == '\0' || strlen(name) > 200) {
		snprintf(err, errlen, "the name must be 1 to 200 characters");
		return -1;
	}
	if (ttl_seconds < 0 || ttl_seconds > TTL_MAX) {
		snprintf(err, errlen, "the ttl must be from 1 to %lld seconds (0: no expiry)", TTL_MAX);
		return -1;
	}
	snprintf(ttl, sizeof ttl, "%lld", ttl_seconds);
	new_secret(out_secret);
	api__token_hash_hex(out_secret, hash);
	const char *p[] = {name, role, tenant_slug, pop_name, ttl_seconds > 0 ? ttl : NULL, hash};
	r = PQexec(conn, "BEGIN");
	PQclear(r);
	r = PQexecParams(conn, TOKEN_INSERT, 6, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (st != NULL && (strcmp(st, "23514") == 0 || strcmp(st, "23502") == 0))
			snprintf(err, errlen, "no %s named '%s'", tenant_slug ? "tenant" : "pop",
				 tenant_slug ? tenant_slug : pop_name);
		else if (st != NULL && strcmp(st, "42P01") == 0)
			snprintf(err, errlen, "the database has no tables yet: run `edgeplane migrate` first");
		else
			snprintf(err, errlen, "%s", PQerrorMessage(conn));
		goto out;
	}
	snprintf(out_id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *a[] = {out_id, role, name};
	r = PQexecParams(conn,
			 "INSERT INTO audit_log (actor_token_id, actor_name, tenant_id, action, target,"
			 " request_id, detail) VALUES (NULL, 'cli', NULL, 'token.create', $1, 'cli',"
			 " jsonb_build_object('role', $2::text, 'name', $3::text))",
			 3, NULL, a, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		goto out;
	}
	PQclear(r);
	r = PQexec(conn, "COMMIT");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "%s", PQerrorMessage(conn));
		goto out;
	}
	rc = 0;
out:
	PQclear(r);
	if (rc != 0) {
		PGresult *rb = PQexec(conn, "ROLLBACK");
		PQclear(rb);
		sodium_memzero(out_secret, API_TOKEN_SECRET_LEN + 1);
	}
	return rc;
}

/* GET /v1/whoami: the calling token itself, so that a dashboard or a script learns its role,
 * tenant or PoP without guessing from which calls fail. Never the secret. */
static void whoami(struct api_req *req)
{
	const char *p[] = {api_who(req)->token_id};
	PGresult *r = api_sql(req, "SELECT " TOKEN_COLS TOKEN_FROM " WHERE t.id = $1", 1, p);

	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1) { /* deleted between authentication and now */
		PQclear(r);
		api_reply_problem(req, 401, "the token is no longer valid");
		return;
	}
	json_t *out = token_json(r, 0);
	PQclear(r);
	api_reply_json_take(req, 200, out);
}

static const struct api_route token_routes[] = {
	{"GET", "/v1/whoami", API_TOKEN, whoami, 0},
	{"POST", "/v1/tokens", API_ADMIN, create_token, API_F_SECRET_ANSWER},
	{"GET", "/v1/tokens", API_ADMIN, list_tokens, 0},
	{"DELETE", "/v1/tokens/{id}", API_ADMIN, revoke_token, 0},
};

void api__tokens_register(struct api_router *r)
{
	API_ADD_TABLE(r, token_routes);
}
