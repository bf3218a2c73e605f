/* api/pops.c: the PoPs of the fleet. POST /v1/pops (admin) registers one; GET /v1/pops and
 * GET /v1/pops/{p} (reader and up) show each PoP with its agents, their last heartbeat and the
 * module versions running there; readers and deployers see their own tenant's modules only.
 * Agents and running versions come from the scheduler's tables (agents, observed_modules). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POP_COLS "p.id, p.name, p.region, p.labels::text, " API_RFC3339("p.created_at") ", p.seq"

/* Adds "agents", "last_heartbeat" and "modules" to the PoP object o (id = its uuid). A
 * database without the scheduler's tables gives empty lists. Returns false after a reply. */
static bool add_fleet_state(struct api_req *req, json_t *o, const char *id)
{
	const struct api_principal *w = api_who(req);
	const char *tenant = w->role == API_ROLE_ADMIN ? NULL : w->tenant_id;
	json_t *agents = json_array(), *mods = json_array(), *last = json_null();
	PGresult *r;

	const char *pa[] = {id};
	r = api_sql(req, "SELECT a.token_id, t.name, a.agent_version, a.uptime_seconds, a.generation,"
			 " " API_RFC3339("a.last_seen") ", " API_RFC3339("max(a.last_seen) OVER ()")
			 " FROM agents a JOIN tokens t ON t.id = a.token_id WHERE a.pop_id = $1"
			 " ORDER BY a.last_seen DESC", 1, pa);
	if (r == NULL && strcmp(api_sql_state(req), "42P01") != 0) {
		json_decref(agents);
		json_decref(mods);
		api_reply_sql_error(req);
		return false;
	}
	for (int i = 0; r != NULL && i < PQntuples(r); i++) {
		json_array_append_new(agents, json_pack("{s:o,s:o,s:o,s:I,s:I,s:o}",
			"token_id", api_pg_str(r, i, 0), "name", api_pg_str(r, i, 1),
			"version", api_pg_str(r, i, 2),
			"uptime_seconds", (json_int_t)atoll(PQgetvalue(r, i, 3)),
			"generation", (json_int_t)atoll(PQgetvalue(r, i, 4)),
			"last_heartbeat", api_pg_str(r, i, 5)));
		if (i == 0) {
			json_decref(last);
			last = api_pg_str(r, i, 6);
		}
	}
	PQclear(r);
	const char *pm[] = {id, tenant};
	r = api_sql(req, "SELECT DISTINCT tn.slug, m.name, o.version, o.state, o.error"
			 " FROM observed_modules o JOIN agents a ON a.token_id = o.token_id"
			 " JOIN modules m ON m.id = o.module_id JOIN tenants tn ON tn.id = m.tenant_id"
			 " WHERE a.pop_id = $1 AND ($2::uuid IS NULL OR m.tenant_id = $2::uuid)"
			 " ORDER BY tn.slug, m.name, o.version", 2, pm);
	if (r == NULL && strcmp(api_sql_state(req), "42P01") != 0) {
		json_decref(agents);
		json_decref(mods);
		json_decref(last);
		api_reply_sql_error(req);
		return false;
	}
	for (int i = 0; r != NULL && i < PQntuples(r); i++)
		json_array_append_new(mods, json_pack("{s:o,s:o,s:I,s:o,s:o}",
			"tenant", api_pg_str(r, i, 0), "module", api_pg_str(r, i, 1),
			"version", (json_int_t)atoll(PQgetvalue(r, i, 2)),
			"state", api_pg_str(r, i, 3), "error", api_pg_str(r, i, 4)));
	PQclear(r);
	json_object_set_new(o, "agents", agents);
	json_object_set_new(o, "last_heartbeat", last);
	json_object_set_new(o, "modules", mods);
	return true;
}

static json_t *pop_json(const PGresult *r, int i)
{
	json_t *labels = json_loads(PQgetvalue(r, i, 3), 0, NULL);

	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "id", api_pg_str(r, i, 0), "name", api_pg_str(r, i, 1),
			 "region", api_pg_str(r, i, 2), "labels", labels ? labels : json_object(),
			 "created_at", api_pg_str(r, i, 4));
}

static void create_pop(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"name", JSON_STRING, true},
		{"region", JSON_STRING, true},
		{"labels", JSON_OBJECT, false},
	};
	json_t *body = api_json(req), *labels, *v;
	const char *name, *region, *key;
	char *ltext;
	PGresult *r;

	if (!api_json_check(req, body, fields, 3))
		return;
	name = json_string_value(json_object_get(body, "name"));
	region = json_string_value(json_object_get(body, "region"));
	labels = json_object_get(body, "labels");
	if (!api_is_slug(name)) {
		api_reply_problem(req, 400, "name must match [a-z0-9][a-z0-9-]{0,62}");
		return;
	}
	if (!api_check_text(req, "region", region, 64))
		return;
	if (labels != NULL) {
		if (json_object_size(labels) > 64) {
			api_reply_problem(req, 400, "labels: at most 64 entries");
			return;
		}
		json_object_foreach(labels, key, v) {
			if (!json_is_string(v) || strlen(key) == 0 || strlen(key) > 63 ||
			    json_string_length(v) > 255 || strlen(json_string_value(v)) != json_string_length(v)) {
				api_reply_problem(req, 400, "labels must map names (1-63 chars) to strings (up to 255 chars)");
				return;
			}
		}
	}
	/* No labels: the empty object (no jansson value needed for that). */
	ltext = labels ? json_dumps(labels, JSON_COMPACT) : strdup("{}");
	if (ltext == NULL) {
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	if (!api_tx_begin(req)) {
		free(ltext);
		return;
	}
	const char *p[] = {name, region, ltext};
	r = api_sql(req, "WITH p AS (INSERT INTO pops (name, region, labels) VALUES ($1, $2, $3::jsonb)"
			 " RETURNING *) SELECT " POP_COLS " FROM p", 3, p);
	free(ltext);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0)
			api_reply_problem(req, 409, "a PoP named '%s' already exists", name);
		else
			api_reply_sql_error(req);
		return;
	}
	json_t *out = pop_json(r, 0);
	PQclear(r);
	if (!api_audit(req, NULL, "pop.create", name, body)) {
		json_decref(out);
		api_reply_sql_error(req);
		return;
	}
	if (!api_tx_commit(req)) {
		json_decref(out);
		return;
	}
	json_object_set_new(out, "agents", json_array());
	json_object_set_new(out, "last_heartbeat", json_null());
	json_object_set_new(out, "modules", json_array());
	char loc[128];
	snprintf(loc, sizeof loc, "/v1/pops/%s", name);
	api_add_header(req, "Location", loc);
	api_reply_json_take(req, 201, out);
}

static void list_pops(struct api_req *req)
{
	int n;
	int64_t next;
	PGresult *r = api_list_query(req, "SELECT " POP_COLS " FROM pops p WHERE p.seq > $1"
					  " ORDER BY p.seq LIMIT $2", 0, NULL, 5, &n, &next);

	if (r == NULL)
		return;
	json_t *items = json_array();
	for (int i = 0; i < n; i++) {
		json_t *o = pop_json(r, i);
		if (!add_fleet_state(req, o, PQgetvalue(r, i, 0))) {
			json_decref(o);
			json_decref(items);
			PQclear(r);
			return;
		}
		json_array_append_new(items, o);
	}
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void get_pop(struct api_req *req)
{
	const char *name = api_param(req, "p");
	PGresult *r;

	if (!api_is_slug(name)) {
		api_reply_problem(req, 404, "no PoP named '%s'", name);
		return;
	}
	const char *p[] = {name};
	r = api_sql(req, "SELECT " POP_COLS " FROM pops p WHERE p.name = $1", 1, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 404, "no PoP named '%s'", name);
		return;
	}
	json_t *o = pop_json(r, 0);
	bool ok = add_fleet_state(req, o, PQgetvalue(r, 0, 0));
	PQclear(r);
	if (!ok) {
		json_decref(o);
		return;
	}
	api_reply_json_take(req, 200, o);
}

static const struct api_route pop_routes[] = {
	{"POST", "/v1/pops", API_ADMIN, create_pop, 0},
	{"GET", "/v1/pops", API_READER, list_pops, 0},
	{"GET", "/v1/pops/{p}", API_READER, get_pop, 0},
};

void api__pops_register(struct api_router *r)
{
	API_ADD_TABLE(r, pop_routes);
}
