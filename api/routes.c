/* api/routes.c: a tenant's routes, host + path to a module: POST/GET /v1/tenants/{t}/routes
 * and DELETE .../routes/{id}. The host must be covered by one of the tenant's domains (403
 * otherwise); host+path is unique across all tenants (409); path is an exact path ("/a/b") or
 * a prefix ending in "/" followed by "*" (for example "/api/" + "*"; "/" + "*" matches everything). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hostname.h"

#define ROUTE_SELECT \
	"SELECT r.id, r.host, r.path, m.name, " API_RFC3339("r.created_at") ", r.seq" \
	"  FROM routes r JOIN modules m ON m.id = r.module_id"

static json_t *route_json(const PGresult *r, int i)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "id", api_pg_str(r, i, 0), "host", api_pg_str(r, i, 1),
			 "path", api_pg_str(r, i, 2), "module", api_pg_str(r, i, 3),
			 "created_at", api_pg_str(r, i, 4));
}

/* An exact path or a prefix (ending in a slash and a star): starts with '/', at most 1024
 * bytes, visible ASCII without '?', '#', '*' (except that final star), "//", or "." / ".."
 * segments. */
static bool path_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 1024 || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#' || c == '\\')
			return false;
		if (c == '*' && !(i == n - 1 && p[i - 1] == '/'))
			return false;
		if (c == '/' && p[i + 1] == '/')
			return false;
		if (c == '/' && p[i + 1] == '.' &&
		    (p[i + 2] == '/' || p[i + 2] == '\0' || (p[i + 2] == '.' && (p[i + 3] == '/' || p[i + 3] == '\0'))))
			return false;
	}
	return true;
}

static void create_route(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"host", JSON_STRING, true},
		{"path", JSON_STRING, true},
		{"module", JSON_STRING, true},
	};
	json_t *body = api_json(req);
	const char *host, *path, *module, *bare;
	char hostbuf[256];
	PGresult *r;

	if (!api_json_check(req, body, fields, 3))
		return;
	path = json_string_value(json_object_get(body, "path"));
	module = json_string_value(json_object_get(body, "module"));
	if (!api__hostname_norm(json_string_value(json_object_get(body, "host")), hostbuf,
				sizeof hostbuf, true)) {
		api_reply_problem(req, 400, "host must be a host name (optionally *.name), without a port");
		return;
	}
	host = hostbuf;
	if (!path_ok(path)) {
		api_reply_problem(req, 400, "path must be an exact path like /a/b or a prefix ending in /* "
				  "(visible ASCII, no ?, #, // or dot segments)");
		return;
	}
	if (!api_is_slug(module)) {
		api_reply_problem(req, 422, "no module named '%s'", module);
		return;
	}
	bare = strncmp(host, "*.", 2) == 0 ? host + 2 : host;
	if (!api_tx_begin(req))
		return;
	/* Owned when the host (without its wildcard) is one of the tenant's domains or below one. */
	const char *po[] = {api_tenant_id(req), bare};
	/* FOR SHARE: a concurrent delete of the covering domain waits for this insert, then
	 * sees the route (domains.c refuses to delete a domain its routes still need). */
	r = api_sql(req, "SELECT 1 FROM domains WHERE tenant_id = $1"
			 " AND ($2 = domain OR right($2, length(domain) + 1) = '.' || domain) FOR SHARE",
		    2, po);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	int owned = PQntuples(r);
	PQclear(r);
	if (owned == 0) {
		api_reply_problem(req, 403, "the host '%s' is not covered by any domain of this tenant", host);
		return;
	}
	const char *pm[] = {api_tenant_id(req), module};
	r = api_sql(req, "SELECT id FROM modules WHERE tenant_id = $1 AND name = $2", 2, pm);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 422, "no module named '%s'", module);
		return;
	}
	char module_id[37];
	snprintf(module_id, sizeof module_id, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	const char *pi[] = {api_tenant_id(req), host, path, module_id};
	r = api_sql(req, "WITH r AS (INSERT INTO routes (tenant_id, host, path, module_id)"
			 " VALUES ($1, $2, $3, $4) RETURNING *)"
			 " SELECT r.id, r.host, r.path, m.name, " API_RFC3339("r.created_at") ", r.seq"
			 " FROM r JOIN modules m ON m.id = r.module_id", 4, pi);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0)
			api_reply_problem(req, 409, "a route for %s%s already exists", host, path);
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *out = route_json(r, 0);
	char target[1400];
	snprintf(target, sizeof target, "%s%s", host, path);
	bool ok = api_audit(req, api_tenant_id(req), "route.create", target, body);
	PQclear(r);
	if (!ok) {
		json_decref(out);
		api_reply_sql_error(req);
		return;
	}
	if (!api_tx_commit(req)) {
		json_decref(out);
		return;
	}
	api_reply_json_take(req, 201, out);
}

static void list_routes(struct api_req *req)
{
	const char *p[] = {api_tenant_id(req)};
	int n;
	int64_t next;
	PGresult *r = api_list_query(req, ROUTE_SELECT " WHERE r.tenant_id = $1 AND r.seq > $2"
					  " ORDER BY r.seq LIMIT $3", 1, p, 5, &n, &next);

	if (r == NULL)
		return;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, route_json(r, i));
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void delete_route(struct api_req *req)
{
	const char *id = api_param(req, "id");
	PGresult *r;

	if (!api_is_uuid(id)) {
		api_reply_problem(req, 404, "no route with id '%s'", id);
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {api_tenant_id(req), id};
	r = api_sql(req, "DELETE FROM routes WHERE tenant_id = $1 AND id = $2 RETURNING host || path", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 404, "no route with id '%s'", id);
		return;
	}
	bool ok = api_audit(req, api_tenant_id(req), "route.delete", PQgetvalue(r, 0, 0), NULL);
	PQclear(r);
	if (!ok) {
		api_reply_sql_error(req);
		return;
	}
	if (api_tx_commit(req))
		api_reply_empty(req, 204);
}

static const struct api_route route_routes[] = {
	{"POST", "/v1/tenants/{t}/routes", API_DEPLOYER, create_route, 0},
	{"GET", "/v1/tenants/{t}/routes", API_READER, list_routes, 0},
	{"DELETE", "/v1/tenants/{t}/routes/{id}", API_DEPLOYER, delete_route, 0},
};

void api__routes_register(struct api_router *r)
{
	API_ADD_TABLE(r, route_routes);
}
