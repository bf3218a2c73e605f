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

/* Serialises domain registrations (transaction-scoped advisory lock; "EPDM"). */
#define DOMAIN_LOCK_KEY "1162888269"

static void create_domain(struct api_req *req)
{
	static const struct api_field fields[] = {{"domain", JSON_STRING, true}};
	json_t *body = api_json(req);
	char domain[256];
	PGresult *r;

	if (!api_json_check(req, body, fields, 1))
		return;
	if (!api__hostname_norm(json_string_value(json_object_get(body, "domain")), domain,
				sizeof domain, false)) {
		api_reply_problem(req, 400, "domain must be a host name such as example.com");
		return;
	}
	if (!api_tx_begin(req))
		return;
	/* A domain covers every host below it, so another tenant's domain that contains this one
	 * or lies below it would let two tenants claim the same hosts. Domain inserts take one
	 * lock so that two overlapping registrations cannot both pass the check. */
	r = api_sql(req, "SELECT pg_advisory_xact_lock(" DOMAIN_LOCK_KEY ")", 0, NULL);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	PQclear(r);
	const char *po[] = {api_tenant_id(req), domain};
	r = api_sql(req, "SELECT domain FROM domains WHERE tenant_id <> $1"
			 " AND (domain = $2 OR right($2, length(domain) + 1) = '.' || domain"
			 "      OR right(domain, length($2) + 1) = '.' || $2) LIMIT 1", 2, po);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) > 0) {
		api_reply_problem(req, 409, "the domain '%s' overlaps '%s', registered by another tenant",
				  domain, PQgetvalue(r, 0, 0));
		PQclear(r);
		return;
	}
	PQclear(r);
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
	const char *p[] = {api_tenant_id(req)};
	int n;
	int64_t next;
	PGresult *r = api_list_query(req, "SELECT " DOMAIN_COLS " FROM domains WHERE tenant_id = $1"
					  " AND seq > $2 ORDER BY seq LIMIT $3", 1, p, 3, &n, &next);

	if (r == NULL)
		return;
	json_t *items = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(items, domain_json(r, i));
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void delete_domain(struct api_req *req)
{
	const char *raw = api_param(req, "domain");
	char domain[256];
	PGresult *r;

	if (!api__hostname_norm(raw, domain, sizeof domain, false)) {
		api_reply_problem(req, 404, "no domain '%s' for this tenant", raw);
		return;
	}
	if (!api_tx_begin(req))
		return;
	const char *p[] = {api_tenant_id(req), domain};
	/* A route whose host only this domain covers would keep serving a host the tenant no
	 * longer owns (and block its new owner): such a domain is not deleted until its routes
	 * are. The domain's row is locked first so that a concurrent route insert waits. */
	r = api_sql(req, "SELECT r.host FROM domains d JOIN routes r ON r.tenant_id = d.tenant_id"
			 " AND (r.host = d.domain OR right(r.host, length(d.domain) + 1) = '.' || d.domain)"
			 " WHERE d.tenant_id = $1 AND d.domain = $2 AND NOT EXISTS (SELECT 1 FROM domains o"
			 "  WHERE o.tenant_id = $1 AND o.domain <> $2 AND (r.host = o.domain"
			 "  OR right(r.host, length(o.domain) + 1) = '.' || o.domain))"
			 " ORDER BY r.host LIMIT 1 FOR UPDATE OF d", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) > 0) {
		api_reply_problem(req, 409, "the domain '%s' still serves the route host '%s': delete "
				  "the routes on it first", domain, PQgetvalue(r, 0, 0));
		PQclear(r);
		return;
	}
	PQclear(r);
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
