/* api/agentapi.c: the two endpoints an edge agent talks to (agent tokens only; the token
 * names the PoP). GET /v1/agent/desired returns the PoP's desired state with its generation;
 * POST /v1/agent/report records a heartbeat and what the agent runs, and answers the latest
 * generation. Wire formats: DESIGN.md, "Wire formats the parts agree on". */
#include "api/api.h"
#include "api/api_int.h" /* api__sql_named: the hot statements stay prepared */

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/runner.h"
#include "scheduler/store.h"

static void get_desired(struct api_req *req);
static void post_report(struct api_req *req);

#define NOTIFY_GAP_MS 50
static _Atomic int64_t last_notify_ms;

static const struct api_route routes[] = {
	{"GET", "/v1/agent/desired", API_AGENT, get_desired, 0},
	{"POST", "/v1/agent/report", API_AGENT, post_report, 0},
};

void api_agent_register(struct api_router *r)
{
	api_router_add(r, routes, sizeof routes / sizeof routes[0]);
}

/* The whole desired state in one statement: one snapshot, so the generation always matches
 * the modules and routes it is sent with. $1 PoP id, $2 PoP name. Routes are those of the
 * modules the PoP runs (a route to a module it does not have would only produce errors). */
#define DESIRED_SQL \
	"WITH mods AS (" \
	"  SELECT t.slug AS tenant, m.name AS module, v.version, v.digest, v.size, v.manifest," \
	"   v.signature, m.id AS module_id" \
	"  FROM modules m JOIN tenants t ON t.id = m.tenant_id" \
	"  LEFT JOIN desired_modules dm ON dm.module_id = m.id AND dm.pop_id = $1::uuid" \
	"  LEFT JOIN module_stable ms ON ms.module_id = m.id" \
	"  JOIN module_versions v ON v.module_id = m.id AND v.version = COALESCE(dm.version, ms.version))" \
	" SELECT json_build_object(" \
	"  'pop', $2::text," \
	"  'generation', GREATEST(COALESCE((SELECT generation FROM pop_desired WHERE pop_id = $1::uuid), 0)," \
	"    (SELECT generation FROM desired_global))," \
	"  'modules', COALESCE((SELECT json_agg(json_build_object('tenant', tenant, 'module', module," \
	"    'version', version, 'digest', digest, 'size', size, 'manifest', manifest::json," \
	"    'signature', signature, 'blob_url', '/v1/blobs/' || digest) ORDER BY tenant, module)" \
	"    FROM mods), '[]'::json)," \
	"  'routes', COALESCE((SELECT json_agg(json_build_object('tenant', t.slug, 'host', r.host," \
	"    'path', r.path, 'module', m.name) ORDER BY r.seq)" \
	"    FROM routes r JOIN modules m ON m.id = r.module_id JOIN tenants t ON t.id = r.tenant_id" \
	"    WHERE r.module_id IN (SELECT module_id FROM mods)), '[]'::json))::text"

static void get_desired(struct api_req *req)
{
	const struct api_principal *who = api_who(req);
	const char *p[2] = {who->pop_id, who->pop_name};
	PGresult *r = api__sql_named(req, "sch_desired", DESIRED_SQL, 2, p);

	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	api_reply_bytes(req, 200, "application/json", PQgetvalue(r, 0, 0),
			(size_t)PQgetlength(r, 0, 0));
	PQclear(r);
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

/* A report in one statement (atomic without a transaction of its own): the agent's
 * heartbeat, its modules (counters added to the running totals; unknown modules ignored;
 * what it no longer reports removed), whether anything the scheduler waits for changed,
 * and the PoP's latest generation. $1 token id, $2 PoP id, $3 agent version, $4 uptime,
 * $5 applied generation, $6 the modules as a JSON array, or NULL for a bare heartbeat that
 * leaves the observations as they are. */
#define REPORT_SQL \
	"WITH ag AS (INSERT INTO agents (token_id, pop_id, agent_version, uptime_seconds," \
	"   generation, first_seen, last_seen)" \
	"  VALUES ($1::uuid, $2::uuid, $3, $4::bigint, $5::bigint, now(), now())" \
	"  ON CONFLICT (token_id) DO UPDATE SET pop_id = EXCLUDED.pop_id," \
	"   agent_version = EXCLUDED.agent_version, uptime_seconds = EXCLUDED.uptime_seconds," \
	"   generation = EXCLUDED.generation, last_seen = now()" \
	"  RETURNING (xmax = 0) AS fresh)," \
	" rep AS (SELECT DISTINCT ON (mo.id, x.version) mo.id AS module_id, x.version, x.state," \
	"   x.error, COALESCE(x.requests, 0) AS requests, COALESCE(x.errors, 0) AS errors, x.p99_ms" \
	"  FROM json_to_recordset($6::json) AS x (tenant text, module text, version int," \
	"   state text, error text, requests bigint, errors bigint, p99_ms double precision)" \
	"  JOIN tenants t ON t.slug = x.tenant JOIN modules mo ON mo.tenant_id = t.id AND mo.name = x.module" \
	"  ORDER BY mo.id, x.version)," \
	" old AS (SELECT module_id, version, state FROM observed_modules WHERE token_id = $1::uuid)," \
	" up AS (INSERT INTO observed_modules (token_id, module_id, version, state, error," \
	"   requests_total, errors_total, p99_ms, reported_at)" \
	"  SELECT $1::uuid, module_id, version, state, error, requests, errors, p99_ms, now() FROM rep" \
	"  ON CONFLICT (token_id, module_id, version) DO UPDATE SET state = EXCLUDED.state," \
	"   error = EXCLUDED.error," \
	"   requests_total = observed_modules.requests_total + EXCLUDED.requests_total," \
	"   errors_total = observed_modules.errors_total + EXCLUDED.errors_total," \
	"   p99_ms = EXCLUDED.p99_ms, reported_at = EXCLUDED.reported_at" \
	"  RETURNING module_id, version, state)," \
	" gone AS (DELETE FROM observed_modules o WHERE o.token_id = $1::uuid AND $6::json IS NOT NULL" \
	"   AND NOT EXISTS" \
	"   (SELECT 1 FROM rep WHERE rep.module_id = o.module_id AND rep.version = o.version)" \
	"  RETURNING 1)" \
	" SELECT (SELECT bool_or(fresh) FROM ag)" \
	"  OR EXISTS (SELECT 1 FROM up LEFT JOIN old USING (module_id, version)" \
	"   WHERE old.state IS DISTINCT FROM up.state)" \
	"  OR EXISTS (SELECT 1 FROM gone)," \
	" GREATEST(COALESCE((SELECT generation FROM pop_desired WHERE pop_id = $2::uuid), 0)," \
	"  (SELECT generation FROM desired_global))"

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
	/* The entries, validated above, go to PostgreSQL as one JSON array. */
	json_t *clean = json_array();
	json_array_foreach(mods, i, m) {
		json_t *e = json_pack("{s:O,s:O,s:O,s:O,s:O?,s:O?,s:O?,s:O?}", "tenant",
				      json_object_get(m, "tenant"), "module", json_object_get(m, "module"),
				      "version", json_object_get(m, "version"), "state",
				      json_object_get(m, "state"), "error", json_object_get(m, "error"),
				      "requests", json_object_get(m, "requests"), "errors",
				      json_object_get(m, "errors"), "p99_ms", json_object_get(m, "p99_ms"));
		if (clean == NULL || e == NULL || json_array_append_new(clean, e) != 0) {
			json_decref(clean);
			clean = NULL;
			break;
		}
	}
	char *mtext = clean ? json_dumps(clean, JSON_COMPACT) : NULL;
	json_decref(clean);
	if (mtext == NULL) {
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	{
		/* Without "modules" the report is a heartbeat: what the agent runs is as it last
		 * said (an empty array, by contrast, says it runs nothing). */
		const char *p[6] = {who->token_id, who->pop_id, version, uptime, gen,
				    mods != NULL ? mtext : NULL};
		r = api__sql_named(req, "sch_report", REPORT_SQL, 6, p);
	}
	free(mtext);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	changed = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	latest = atoll(PQgetvalue(r, 0, 1));
	PQclear(r);
	if (changed) {
		/* Committed: wake the scheduler. This process's runner is kicked directly; the
		 * leader elsewhere hears a NOTIFY, sent at most every NOTIFY_GAP_MS per process
		 * because each one serialises commits on PostgreSQL's notification queue and
		 * the leader plans at most that often anyway (a skipped one costs one tick). */
		int64_t now = sch_now_ms(), last = atomic_load(&last_notify_ms);
		if (now - last >= NOTIFY_GAP_MS &&
		    atomic_compare_exchange_strong(&last_notify_ms, &last, now)) {
			r = api_sql(req, "SELECT pg_notify('" SCH_NOTIFY_CHANNEL "', 'report')", 0, NULL);
			PQclear(r);
		}
		sch_runner_kick(sch_runner_current());
	}
	api_reply_json_take(req, 200, json_pack("{s:I}", "generation", (json_int_t)latest));
}
