/* api/agentapi.c: the two endpoints an edge agent talks to (agent tokens only; the token
 * names the PoP). GET /v1/agent/desired returns the PoP's desired state with its generation;
 * POST /v1/agent/report records a heartbeat and what the agent runs, and answers the latest
 * generation. Wire formats: DESIGN.md, "Wire formats the parts agree on". */
#include "api/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/runner.h"
#include "scheduler/store.h"

static void get_desired(struct api_req *req);
static void post_report(struct api_req *req);

static const struct api_route routes[] = {
	{"GET", "/v1/agent/desired", API_AGENT, get_desired, 0},
	{"POST", "/v1/agent/report", API_AGENT, post_report, 0},
};

void api_agent_register(struct api_router *r)
{
	api_router_add(r, routes, sizeof routes / sizeof routes[0]);
}

/* The PoP's effective generation, or -1 after a reply. */
static int64_t generation_of(struct api_req *req, const char *pop_id)
{
	const char *p[1] = {pop_id};
	PGresult *r = api_sql(req, "SELECT GREATEST(COALESCE((SELECT generation FROM pop_desired"
				   " WHERE pop_id = $1::uuid), 0), (SELECT generation FROM desired_global))",
			      1, p);
	int64_t g;

	if (r == NULL) {
		api_reply_sql_error(req);
		return -1;
	}
	g = atoll(PQgetvalue(r, 0, 0));
	PQclear(r);
	return g;
}

static void get_desired(struct api_req *req)
{
	const struct api_principal *who = api_who(req);
	const char *p[1] = {who->pop_id};
	json_t *mods, *routes_out, *o;
	PGresult *r;
	int64_t gen;

	/* The generation is read before the state it describes: a change committed in between
	 * shows up with an older number, so the agent pulls again, never the other way round. */
	if ((gen = generation_of(req, who->pop_id)) < 0)
		return;
	r = api_sql(req, "SELECT t.slug, m.name, v.version, v.digest, v.size, v.manifest, v.signature"
			 " FROM modules m JOIN tenants t ON t.id = m.tenant_id"
			 " LEFT JOIN desired_modules dm ON dm.module_id = m.id AND dm.pop_id = $1::uuid"
			 " LEFT JOIN module_stable ms ON ms.module_id = m.id"
			 " JOIN module_versions v ON v.module_id = m.id"
			 "  AND v.version = COALESCE(dm.version, ms.version)"
			 " ORDER BY t.slug, m.name", 1, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	mods = json_array();
	for (int i = 0; mods != NULL && i < PQntuples(r); i++) {
		json_t *manifest = json_loads(PQgetvalue(r, i, 5), 0, NULL);
		char url[128];
		snprintf(url, sizeof url, "/v1/blobs/%s", PQgetvalue(r, i, 3));
		json_t *m = json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:s,s:s}",
				      "tenant", PQgetvalue(r, i, 0), "module", PQgetvalue(r, i, 1),
				      "version", atoi(PQgetvalue(r, i, 2)),
				      "digest", PQgetvalue(r, i, 3),
				      "size", (json_int_t)atoll(PQgetvalue(r, i, 4)),
				      "manifest", manifest ? manifest : json_string(PQgetvalue(r, i, 5)),
				      "signature", PQgetvalue(r, i, 6), "blob_url", url);
		if (m == NULL || json_array_append_new(mods, m) != 0) {
			json_decref(mods);
			mods = NULL;
		}
	}
	PQclear(r);
	if (mods == NULL) {
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	/* Routes of the modules this PoP runs (a route to a module it does not have would only
	 * produce errors there). */
	r = api_sql(req, "SELECT t.slug, r.host, r.path, m.name FROM routes r"
			 " JOIN modules m ON m.id = r.module_id JOIN tenants t ON t.id = r.tenant_id"
			 " WHERE COALESCE((SELECT dm.version FROM desired_modules dm"
			 "   WHERE dm.module_id = m.id AND dm.pop_id = $1::uuid),"
			 "  (SELECT ms.version FROM module_stable ms WHERE ms.module_id = m.id)) IS NOT NULL"
			 " ORDER BY r.seq", 1, p);
	if (r == NULL) {
		json_decref(mods);
		api_reply_sql_error(req);
		return;
	}
	routes_out = json_array();
	for (int i = 0; routes_out != NULL && i < PQntuples(r); i++) {
		json_t *ro = json_pack("{s:s,s:s,s:s,s:s}", "tenant", PQgetvalue(r, i, 0), "host",
				       PQgetvalue(r, i, 1), "path", PQgetvalue(r, i, 2), "module",
				       PQgetvalue(r, i, 3));
		if (ro == NULL || json_array_append_new(routes_out, ro) != 0) {
			json_decref(routes_out);
			routes_out = NULL;
		}
	}
	PQclear(r);
	o = routes_out ? json_pack("{s:s,s:I,s:o,s:o}", "pop", who->pop_name, "generation",
				   (json_int_t)gen, "modules", mods, "routes", routes_out)
		       : NULL;
	if (o == NULL) {
		if (routes_out == NULL)
			json_decref(mods);
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	api_reply_json_take(req, 200, o);
}

/* Checks one entry of "modules"; false after a 400 reply naming it. Fields beyond the wire
 * format are ignored, so newer agents can add some without breaking older control planes. */
static bool check_module_entry(struct api_req *req, const json_t *m, size_t i)
{
	static const char *const strings[] = {"tenant", "module", "state"};
	static const char *const counters[] = {"requests", "errors"};
	const json_t *v;

	if (!json_is_object(m)) {
		api_reply_problem(req, 400, "modules[%zu] must be an object", i);
		return false;
	}
	for (size_t k = 0; k < 3; k++) {
		v = json_object_get(m, strings[k]);
		if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 200 ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			api_reply_problem(req, 400, "modules[%zu].%s must be a non-empty string", i,
					  strings[k]);
			return false;
		}
	}
	if (strcmp(json_string_value(json_object_get(m, "state")), "active") != 0 &&
	    strcmp(json_string_value(json_object_get(m, "state")), "failed") != 0) {
		api_reply_problem(req, 400, "modules[%zu].state must be \"active\" or \"failed\"", i);
		return false;
	}
	v = json_object_get(m, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 2147483647) {
		api_reply_problem(req, 400, "modules[%zu].version must be an integer, 1 or more", i);
		return false;
	}
	for (size_t k = 0; k < 2; k++) {
		v = json_object_get(m, counters[k]);
		if (v != NULL && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 0)) {
			api_reply_problem(req, 400, "modules[%zu].%s must be a count (0 or more)", i,
					  counters[k]);
			return false;
		}
	}
	v = json_object_get(m, "error");
	if (v != NULL && !json_is_null(v) &&
	    (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))) {
		api_reply_problem(req, 400, "modules[%zu].error must be a string or null", i);
		return false;
	}
	v = json_object_get(m, "p99_ms");
	if (v != NULL && !json_is_null(v) && !json_is_number(v)) {
		api_reply_problem(req, 400, "modules[%zu].p99_ms must be a number or null", i);
		return false;
	}
	return true;
}

static void post_report(struct api_req *req)
{
	const struct api_principal *who = api_who(req);
	json_t *body = api_json(req), *agent, *mods, *m, *v;
	char gen[32], uptime[32];
	const char *version = "";
	bool changed = false;
	PGresult *r;
	int64_t latest;
	size_t i;

	if (!json_is_object(body)) {
		api_reply_problem(req, 400, "a JSON report is required");
		return;
	}
	v = json_object_get(body, "generation");
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		api_reply_problem(req, 400, "'generation' must be an integer, 0 or more");
		return;
	}
	snprintf(gen, sizeof gen, "%lld", (long long)json_integer_value(v));
	mods = json_object_get(body, "modules");
	if (mods == NULL || json_is_null(mods))
		mods = NULL;
	else if (!json_is_array(mods)) {
		api_reply_problem(req, 400, "'modules' must be an array");
		return;
	}
	json_array_foreach(mods, i, m) {
		if (!check_module_entry(req, m, i))
			return;
	}
	agent = json_object_get(body, "agent");
	if (agent != NULL && !json_is_null(agent) && !json_is_object(agent)) {
		api_reply_problem(req, 400, "'agent' must be an object");
		return;
	}
	v = json_object_get(agent, "version");
	if (v != NULL && (!json_is_string(v) || json_string_length(v) > 100 ||
			  strlen(json_string_value(v)) != json_string_length(v))) {
		api_reply_problem(req, 400, "'agent.version' must be a short string");
		return;
	}
	if (v != NULL)
		version = json_string_value(v);
	v = json_object_get(agent, "uptime_seconds");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0)) {
		api_reply_problem(req, 400, "'agent.uptime_seconds' must be an integer, 0 or more");
		return;
	}
	snprintf(uptime, sizeof uptime, "%lld", v ? (long long)json_integer_value(v) : 0LL);
	if (!api_tx_begin(req))
		return;
	{
		const char *p[5] = {who->token_id, who->pop_id, version, uptime, gen};
		r = api_sql(req, "INSERT INTO agents (token_id, pop_id, agent_version, uptime_seconds,"
				 " generation, first_seen, last_seen)"
				 " VALUES ($1::uuid, $2::uuid, $3, $4::bigint, $5::bigint, now(), now())"
				 " ON CONFLICT (token_id) DO UPDATE SET pop_id = EXCLUDED.pop_id,"
				 " agent_version = EXCLUDED.agent_version,"
				 " uptime_seconds = EXCLUDED.uptime_seconds,"
				 " generation = EXCLUDED.generation, last_seen = now()"
				 " RETURNING (xmax = 0)", 5, p);
		if (r == NULL)
			goto sql_fail;
		/* A new agent can unblock a wave: wake the scheduler. */
		changed = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
		PQclear(r);
	}
	json_array_foreach(mods, i, m) {
		char ver[16], reqs[32], errs[32], p99[32];
		const json_t *e = json_object_get(m, "error"), *pv = json_object_get(m, "p99_ms");
		snprintf(ver, sizeof ver, "%lld", (long long)json_integer_value(json_object_get(m, "version")));
		snprintf(reqs, sizeof reqs, "%lld", (long long)json_integer_value(json_object_get(m, "requests")));
		snprintf(errs, sizeof errs, "%lld", (long long)json_integer_value(json_object_get(m, "errors")));
		if (pv != NULL && json_is_number(pv) && isfinite(json_number_value(pv)))
			snprintf(p99, sizeof p99, "%.17g", json_number_value(pv));
		const char *p[9] = {who->token_id,
				    json_string_value(json_object_get(m, "tenant")),
				    json_string_value(json_object_get(m, "module")), ver,
				    json_string_value(json_object_get(m, "state")),
				    e && json_is_string(e) ? json_string_value(e) : NULL, reqs, errs,
				    pv != NULL && json_is_number(pv) && isfinite(json_number_value(pv)) ? p99 : NULL};
		/* Unknown modules (deleted, or another control plane's) are ignored. The old state
		 * is read in the same statement to tell a change from a heartbeat. */
		r = api_sql(req, "WITH m AS (SELECT m.id FROM modules m JOIN tenants t ON t.id = m.tenant_id"
				 "   WHERE t.slug = $2 AND m.name = $3),"
				 " old AS (SELECT o.state FROM observed_modules o, m"
				 "   WHERE o.token_id = $1::uuid AND o.module_id = m.id AND o.version = $4::int)"
				 " INSERT INTO observed_modules (token_id, module_id, version, state, error,"
				 "  requests_total, errors_total, p99_ms, reported_at)"
				 " SELECT $1::uuid, m.id, $4::int, $5, $6, $7::bigint, $8::bigint,"
				 "  $9::double precision, now() FROM m"
				 " ON CONFLICT (token_id, module_id, version) DO UPDATE SET"
				 "  state = EXCLUDED.state, error = EXCLUDED.error,"
				 "  requests_total = observed_modules.requests_total + EXCLUDED.requests_total,"
				 "  errors_total = observed_modules.errors_total + EXCLUDED.errors_total,"
				 "  p99_ms = EXCLUDED.p99_ms, reported_at = EXCLUDED.reported_at"
				 " RETURNING (SELECT state FROM old) IS DISTINCT FROM $5", 9, p);
		if (r == NULL) {
			if (strcmp(api_sql_state(req), "22P02") == 0 ||
			    strcmp(api_sql_state(req), "22021") == 0) {
				api_tx_rollback(req);
				api_reply_problem(req, 400, "modules[%zu] holds an invalid value", i);
				return;
			}
			goto sql_fail;
		}
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
			changed = true;
		PQclear(r);
	}
	{
		/* What the agent no longer reports, it no longer runs (rows of this report carry
		 * this transaction's now()). */
		const char *p[1] = {who->token_id};
		r = api_sql(req, "DELETE FROM observed_modules WHERE token_id = $1::uuid"
				 " AND reported_at < now()", 1, p);
		if (r == NULL)
			goto sql_fail;
		if (atoi(PQcmdTuples(r)) > 0)
			changed = true;
		PQclear(r);
	}
	if (changed) {
		r = api_sql(req, "SELECT pg_notify('" SCH_NOTIFY_CHANNEL "', 'report')", 0, NULL);
		if (r == NULL)
			goto sql_fail;
		PQclear(r);
	}
	if (!api_tx_commit(req))
		return;
	if (changed)
		sch_runner_kick(sch_runner_current());
	if ((latest = generation_of(req, who->pop_id)) < 0)
		return;
	api_reply_json_take(req, 200, json_pack("{s:I}", "generation", (json_int_t)latest));
	return;
sql_fail:
	api_reply_sql_error(req);
	api_tx_rollback(req);
}
