/* api/audit.c: the audit trail. api_audit() adds a row for every change (actor token, tenant,
 * action, target, request id, detail); GET /v1/audit lists them with filters (admin: all,
 * reader and deployer: their own tenant only). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api_audit(struct api_req *req, const char *tenant_id, const char *action,
	       const char *target, const json_t *detail)
{
	char *d = detail ? json_dumps(detail, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	const struct api_principal *w = api_who(req);
	const char *p[] = {
		w->token_id[0] ? w->token_id : NULL,
		w->token_name[0] ? w->token_name : "anonymous",
		tenant_id, action, target, req->request_id, d,
	};
	PGresult *r = api_sql(req,
			      "INSERT INTO audit_log (actor_token_id, actor_name, tenant_id, action, target,"
			      " request_id, detail) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)",
			      7, p);

	free(d);
	if (r == NULL)
		return false;
	PQclear(r);
	return true;
}

/* RFC 3339 timestamps as filters: a strict shape check; PostgreSQL parses the value. */
static bool is_timestamp(const char *s)
{
	size_t n = strlen(s);

	if (n < 20 || n > 35)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == 'T' || c == 'Z' ||
		      c == '.' || c == '+'))
			return false;
	}
	return s[4] == '-' && s[7] == '-' && s[10] == 'T';
}

static void list_audit(struct api_req *req)
{
	const struct api_principal *w = api_who(req);
	const char *tenant = api_query(req, "tenant");
	const char *action = api_query(req, "action");
	const char *actor = api_query(req, "actor");
	const char *target = api_query(req, "target");
	const char *rid = api_query(req, "request_id");
	const char *since = api_query(req, "since");
	const char *until = api_query(req, "until");
	const char *tenant_id = NULL;
	struct api_page pg;
	char after[32], limit[16], tid[37];
	PGresult *r;

	bool desc;

	if (!api_page_parse(req, &pg) || !api_page_order(req, &pg, &desc))
		return;
	if (tenant != NULL && !api_is_slug(tenant)) {
		api_reply_problem(req, 400, "tenant must be a tenant slug");
		return;
	}
	if (actor != NULL && !api_is_uuid(actor)) {
		api_reply_problem(req, 400, "actor must be a token id (uuid)");
		return;
	}
	if ((since != NULL && !is_timestamp(since)) || (until != NULL && !is_timestamp(until))) {
		api_reply_problem(req, 400, "since and until must be RFC 3339 timestamps");
		return;
	}
	if (w->role != API_ROLE_ADMIN) {
		/* Non-admins see their tenant's trail only; naming another tenant finds nothing. */
		if (tenant != NULL && strcmp(tenant, w->tenant_slug) != 0) {
			api_reply_problem(req, 404, "no tenant named '%s'", tenant);
			return;
		}
		tenant_id = w->tenant_id;
	} else if (tenant != NULL) {
		const char *p[] = {tenant};
		r = api_sql(req, "SELECT id FROM tenants WHERE slug = $1", 1, p);
		if (r == NULL) {
			api_reply_sql_error(req);
			return;
		}
		if (PQntuples(r) != 1) {
			PQclear(r);
			api_reply_problem(req, 404, "no tenant named '%s'", tenant);
			return;
		}
		snprintf(tid, sizeof tid, "%s", PQgetvalue(r, 0, 0));
		tenant_id = tid;
		PQclear(r);
	}
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	const char *p[] = {after, limit, tenant_id, action, actor, target, rid, since, until};
#define AUDIT_SQL(CMP, DIR)                                                                  \
	"SELECT a.seq, " API_RFC3339("a.at") ", a.actor_token_id, a.actor_name, t.slug,"     \
	"       a.action, a.target, a.request_id, a.detail::text"                             \
	"  FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id"                       \
	" WHERE a.seq " CMP " $1"                                                             \
	"   AND ($3::uuid IS NULL OR a.tenant_id = $3::uuid)"                                 \
	"   AND ($4::text IS NULL OR a.action = $4)"                                          \
	"   AND ($5::uuid IS NULL OR a.actor_token_id = $5::uuid)"                            \
	"   AND ($6::text IS NULL OR a.target = $6)"                                          \
	"   AND ($7::text IS NULL OR a.request_id = $7)"                                      \
	"   AND ($8::timestamptz IS NULL OR a.at >= $8::timestamptz)"                         \
	"   AND ($9::timestamptz IS NULL OR a.at < $9::timestamptz)"                          \
	" ORDER BY a.seq " DIR " LIMIT $2"
	r = api_sql(req, desc ? AUDIT_SQL("<", "DESC") : AUDIT_SQL(">", "ASC"), 9, p);
#undef AUDIT_SQL
	if (r == NULL) {
		if (strncmp(api_sql_state(req), "22", 2) == 0)
			api_reply_problem(req, 400, "a filter value is not valid");
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *items = json_array();
	int n = PQntuples(r);
	for (int i = 0; i < n && i < pg.limit; i++) {
		json_t *detail = PQgetisnull(r, i, 8) ? json_null()
						       : json_loads(PQgetvalue(r, i, 8), 0, NULL);
		json_array_append_new(items,
			json_pack("{s:I,s:o,s:{s:o,s:o},s:o,s:o,s:o,s:o,s:o}",
				  "id", (json_int_t)atoll(PQgetvalue(r, i, 0)),
				  "at", api_pg_str(r, i, 1),
				  "actor", "token_id", api_pg_str(r, i, 2), "name", api_pg_str(r, i, 3),
				  "tenant", api_pg_str(r, i, 4),
				  "action", api_pg_str(r, i, 5),
				  "target", api_pg_str(r, i, 6),
				  "request_id", api_pg_str(r, i, 7),
				  "detail", detail ? detail : json_null()));
	}
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 0)) : -1;
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static const struct api_route audit_routes[] = {
	{"GET", "/v1/audit", API_READER, list_audit, 0},
};

void api__audit_register(struct api_router *r)
{
	API_ADD_TABLE(r, audit_routes);
}
