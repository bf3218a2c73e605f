/* api/tenants.c: POST /v1/tenants, GET /v1/tenants, GET /v1/tenants/{t} (admin). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TENANT_COLS "id, slug, name, " API_RFC3339("created_at") ", seq"

static json_t *tenant_json(const PGresult *r, int i)
{
	return json_pack("{s:o,s:o,s:o,s:o}", "id", api_pg_str(r, i, 0), "slug", api_pg_str(r, i, 1),
			 "name", api_pg_str(r, i, 2), "created_at", api_pg_str(r, i, 3));
}

static void create_tenant(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"slug", JSON_STRING, true},
		{"name", JSON_STRING, true},
	};
	json_t *body = api_json(req);
	const char *slug, *name;
	char loc[128];
	PGresult *r;

	if (!api_json_check(req, body, fields, 2))
		return;
	slug = json_string_value(json_object_get(body, "slug"));
	name = json_string_value(json_object_get(body, "name"));
	if (!api_is_slug(slug)) {
		api_reply_problem(req, 400, "slug must match [a-z0-9][a-z0-9-]{0,62}");
		return;
	}
	if (!api_check_text(req, "name", name, 200) || !api_tx_begin(req))
		return;
	const char *p[] = {slug, name};
	r = api_sql(req, "INSERT INTO tenants (slug, name) VALUES ($1, $2) RETURNING " TENANT_COLS, 2, p);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0)
			api_reply_problem(req, 409, "a tenant named '%s' already exists", slug);
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *out = tenant_json(r, 0);
	if (!api_audit(req, PQgetvalue(r, 0, 0), "tenant.create", slug, body)) {
		PQclear(r);
		json_decref(out);
		api_reply_sql_error(req);
		return;
	}
	PQclear(r);
	if (!api_tx_commit(req)) {
		json_decref(out);
		return;
	}
	snprintf(loc, sizeof loc, "/v1/tenants/%s", slug);
	api_add_header(req, "Location", loc);
	api_reply_json_take(req, 201, out);
}

static void list_tenants(struct api_req *req)
{
	int n;
	int64_t next;
	PGresult *r = api_list_query(req, "SELECT " TENANT_COLS " FROM tenants"
					  " WHERE seq > $1 ORDER BY seq LIMIT $2", 0, NULL, 4, &n, &next);

	if (r == NULL)
		return;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, tenant_json(r, i));
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void get_tenant(struct api_req *req)
{
	const char *p[] = {api_tenant_id(req)};
	PGresult *r = api_sql(req, "SELECT " TENANT_COLS " FROM tenants WHERE id = $1", 1, p);

	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1)
		api_reply_problem(req, 404, "no tenant named '%s'", api_tenant_slug(req));
	else
		api_reply_json_take(req, 200, tenant_json(r, 0));
	PQclear(r);
}

static const struct api_route tenant_routes[] = {
	{"POST", "/v1/tenants", API_ADMIN, create_tenant, 0},
	{"GET", "/v1/tenants", API_ADMIN, list_tenants, 0},
	{"GET", "/v1/tenants/{t}", API_ADMIN, get_tenant, 0},
};

void api__tenants_register(struct api_router *r)
{
	API_ADD_TABLE(r, tenant_routes);
}
