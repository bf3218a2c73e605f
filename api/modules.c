/* api/modules.c: a tenant's modules: POST/GET /v1/tenants/{t}/modules (deployer writes,
 * reader reads) and GET /v1/tenants/{t}/modules/{m}. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each module with its newest version number and the count of versions. */
#define MODULE_SELECT \
	"SELECT m.id, m.name, " API_RFC3339("m.created_at") ", m.seq, v.latest, v.n" \
	"  FROM modules m LEFT JOIN LATERAL (SELECT max(version) AS latest, count(*) AS n" \
	"       FROM module_versions WHERE module_id = m.id) v ON true"

static json_t *module_json(struct api_req *req, const PGresult *r, int i)
{
	json_t *latest = PQgetisnull(r, i, 4) ? json_null()
					      : json_integer(atoll(PQgetvalue(r, i, 4)));
	return json_pack("{s:o,s:s,s:o,s:o,s:o,s:I}", "id", api_pg_str(r, i, 0),
			 "tenant", api_tenant_slug(req), "name", api_pg_str(r, i, 1),
			 "created_at", api_pg_str(r, i, 2), "latest_version", latest,
			 "versions", (json_int_t)atoll(PQgetvalue(r, i, 5)));
}

static void create_module(struct api_req *req)
{
	static const struct api_field fields[] = {{"name", JSON_STRING, true}};
	json_t *body = api_json(req);
	const char *name;
	char loc[256];
	PGresult *r;

	if (!api_json_check(req, body, fields, 1))
		return;
	name = json_string_value(json_object_get(body, "name"));
	if (!api_is_slug(name)) {
		api_reply_problem(req, 400, "name must match [a-z0-9][a-z0-9-]{0,62}");
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {api_tenant_id(req), name};
	r = api_sql(req, "WITH m AS (INSERT INTO modules (tenant_id, name) VALUES ($1, $2) RETURNING *)"
			 " SELECT m.id, m.name, " API_RFC3339("m.created_at") ", m.seq, NULL, 0 FROM m",
		    2, p);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0)
			api_reply_problem(req, 409, "a module named '%s' already exists", name);
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *out = module_json(req, r, 0);
	PQclear(r);
	snprintf(loc, sizeof loc, "%s/%s", api_tenant_slug(req), name);
	if (!api_audit(req, api_tenant_id(req), "module.create", loc, NULL)) {
		json_decref(out);
		api_reply_sql_error(req);
		return;
	}
	if (!api_tx_commit(req)) {
		json_decref(out);
		return;
	}
	snprintf(loc, sizeof loc, "/v1/tenants/%s/modules/%s", api_tenant_slug(req), name);
	api_add_header(req, "Location", loc);
	api_reply_json_take(req, 201, out);
}

static void list_modules(struct api_req *req)
{
	struct api_page pg;
	char after[32], limit[16];
	PGresult *r;

	if (!api_page_parse(req, &pg))
		return;
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	const char *p[] = {api_tenant_id(req), after, limit};
	/* The busiest list of the API (CI and dashboards poll it): a prepared statement. */
	r = api__sql_named(req, "ep_modules",
			   MODULE_SELECT " WHERE m.tenant_id = $1 AND m.seq > $2 ORDER BY m.seq LIMIT $3",
			   3, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	/* Serialised directly (same fields as module_json): building a jansson tree per row was
	 * most of this request's CPU time. */
	struct buf items = {0};
	bool ok = buf_puts(&items, "[");
	int n = PQntuples(r);
	for (int i = 0; ok && i < n && i < pg.limit; i++) {
		ok = buf_puts(&items, i ? ",{\"id\":" : "{\"id\":") &&
		     api__buf_json_str(&items, PQgetvalue(r, i, 0)) &&
		     buf_puts(&items, ",\"tenant\":") && api__buf_json_str(&items, api_tenant_slug(req)) &&
		     buf_puts(&items, ",\"name\":") && api__buf_json_str(&items, PQgetvalue(r, i, 1)) &&
		     buf_puts(&items, ",\"created_at\":") && api__buf_json_str(&items, PQgetvalue(r, i, 2)) &&
		     buf_printf(&items, ",\"latest_version\":%s,\"versions\":%lld}",
				PQgetisnull(r, i, 4) ? "null" : PQgetvalue(r, i, 4),
				atoll(PQgetvalue(r, i, 5)));
	}
	ok = ok && buf_puts(&items, "]");
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 3)) : -1;
	PQclear(r);
	if (!ok) {
		buf_free(&items);
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	api__reply_page_raw(req, &items, next);
}

static void get_module(struct api_req *req)
{
	const char *name = api_param(req, "m");
	PGresult *r;

	if (!api_is_slug(name)) {
		api_reply_problem(req, 404, "no module named '%s'", name);
		return;
	}
	const char *p[] = {api_tenant_id(req), name};
	r = api__sql_named(req, "ep_module", MODULE_SELECT " WHERE m.tenant_id = $1 AND m.name = $2", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1)
		api_reply_problem(req, 404, "no module named '%s'", name);
	else
		api_reply_json_take(req, 200, module_json(req, r, 0));
	PQclear(r);
}

static const struct api_route module_routes[] = {
	{"POST", "/v1/tenants/{t}/modules", API_DEPLOYER, create_module, 0},
	{"GET", "/v1/tenants/{t}/modules", API_READER, list_modules, 0},
	{"GET", "/v1/tenants/{t}/modules/{m}", API_READER, get_module, 0},
};

void api__modules_register(struct api_router *r)
{
	API_ADD_TABLE(r, module_routes);
}
