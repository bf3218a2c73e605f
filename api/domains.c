/* api/domains.c: the hosts a tenant owns (admin): POST/GET /v1/tenants/{t}/domains and
 * DELETE /v1/tenants/{t}/domains/{domain}. A domain belongs to one tenant at most, and
 * "example.com" also covers every "*.example.com" (routes.c checks that). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/hostname.h"

#define DOMAIN_COLS "id, domain, " API_RFC3339("created_at") ", seq"

static json_t *domain_json(const PGresult *r, int i)
{
	return json_pack("{s:o,s:o,s:o}", "id", api_pg_str(r, i, 0), "domain", api_pg_str(r, i, 1),
			 "created_at", api_pg_str(r, i, 2));
}

static void create_domain(struct api_req *req)
{
	static const struct api_field fields[] = {{"domain", JSON_STRING, true}};
	json_t *body = api_json(req);
	const char *domain;
	PGresult *r;

	if (!api_json_check(req, body, fields, 1))
		return;
	domain = json_string_value(json_object_get(body, "domain"));
	if (!api__hostname_ok(domain, false)) {
		api_reply_problem(req, 400, "domain must be a lowercase host name such as example.com");
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {api_tenant_id(req), domain};
	r = api_sql(req, "INSERT INTO domains (tenant_id, domain) VALUES ($1, $2) RETURNING " DOMAIN_COLS,
		    2, p);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0)
			api_reply_problem(req, 409, "the domain '%s' is already registered", domain);
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *out = domain_json(r, 0);
	PQclear(r);
	if (!api_audit(req, api_tenant_id(req), "domain.create", domain, NULL)) {
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

static void list_domains(struct api_req *req)
{
	struct api_page pg;
	char after[32], limit[16];
	PGresult *r;

	if (!api_page_parse(req, &pg))
		return;
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	const char *p[] = {api_tenant_id(req), after, limit};
	r = api_sql(req, "SELECT " DOMAIN_COLS " FROM domains WHERE tenant_id = $1 AND seq > $2"
			 " ORDER BY seq LIMIT $3", 3, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	json_t *items = json_array();
	int n = PQntuples(r);
	for (int i = 0; i < n && i < pg.limit; i++)
		json_array_append_new(items, domain_json(r, i));
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 3)) : -1;
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void delete_domain(struct api_req *req)
{
	const char *domain = api_param(req, "domain");
	PGresult *r;

	if (!api__hostname_ok(domain, false)) {
		api_reply_problem(req, 404, "no domain '%s' for this tenant", domain);
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {api_tenant_id(req), domain};
	r = api_sql(req, "DELETE FROM domains WHERE tenant_id = $1 AND domain = $2 RETURNING id", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	int n = PQntuples(r);
	PQclear(r);
	if (n == 0) {
		api_reply_problem(req, 404, "no domain '%s' for this tenant", domain);
		return;
	}
	if (!api_audit(req, api_tenant_id(req), "domain.delete", domain, NULL)) {
		api_reply_sql_error(req);
		return;
	}
	if (api_tx_commit(req))
		api_reply_empty(req, 204);
}

static const struct api_route domain_routes[] = {
	{"POST", "/v1/tenants/{t}/domains", API_ADMIN, create_domain, 0},
	{"GET", "/v1/tenants/{t}/domains", API_ADMIN, list_domains, 0},
	{"DELETE", "/v1/tenants/{t}/domains/{domain}", API_ADMIN, delete_domain, 0},
};

void api__domains_register(struct api_router *r)
{
	API_ADD_TABLE(r, domain_routes);
}
