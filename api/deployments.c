/* api/deployments.c: rollouts over HTTP. POST/GET /v1/tenants/{t}/deployments, GET one with
 * its waves, every PoP's desired and observed version and its events; the operator actions
 * pause, resume, promote and abort; and POST /v1/tenants/{t}/modules/{m}/rollback. Creation
 * is validated here (strategy via scheduler/strategy.h) and left `pending` for the leader's
 * runner; actions run one planner step at once through scheduler/store.h, so the answer shows
 * the state after the action. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scheduler/planner.h"
#include "scheduler/runner.h"
#include "scheduler/sql.h"
#include "scheduler/store.h"
#include "scheduler/strategy.h"

static void create_deployment(struct api_req *req);
static void list_deployments(struct api_req *req);
static void get_deployment(struct api_req *req);
static void act_pause(struct api_req *req);
static void act_resume(struct api_req *req);
static void act_promote(struct api_req *req);
static void act_abort(struct api_req *req);
static void rollback_module(struct api_req *req);

static const struct api_route routes[] = {
	{"POST", "/v1/tenants/{t}/deployments", API_DEPLOYER, create_deployment, 0},
	{"GET", "/v1/tenants/{t}/deployments", API_READER, list_deployments, 0},
	{"GET", "/v1/tenants/{t}/deployments/{id}", API_READER, get_deployment, 0},
	{"POST", "/v1/tenants/{t}/deployments/{id}/pause", API_DEPLOYER, act_pause, 0},
	{"POST", "/v1/tenants/{t}/deployments/{id}/resume", API_DEPLOYER, act_resume, 0},
	{"POST", "/v1/tenants/{t}/deployments/{id}/promote", API_DEPLOYER, act_promote, 0},
	{"POST", "/v1/tenants/{t}/deployments/{id}/abort", API_DEPLOYER, act_abort, 0},
	{"POST", "/v1/tenants/{t}/modules/{m}/rollback", API_DEPLOYER, rollback_module, 0},
};

void api_deployments_register(struct api_router *r)
{
	api_router_add(r, routes, sizeof routes / sizeof routes[0]);
}

/* ---- JSON of a deployment -------------------------------------------------------------------- */

static json_t *version_or_null(int v)
{
	return v > 0 ? json_integer(v) : json_null();
}

/* RFC 3339 UTC text of an epoch-milliseconds time, null for 0 (not yet). */
static json_t *time_or_null(int64_t ms)
{
	char out[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(out);
}

/* The full object of DESIGN.md ("A deployment"). NULL after a reply was set. */
static json_t *deployment_json(struct api_req *req, struct sch_loaded *l)
{
	struct sch_config cfg;
	int64_t now = sch_now_ms();
	json_t *o, *waves, *pops, *events, *strategy;
	struct sch_pop *preview = NULL;
	const char *p[1] = {l->d.id};
	PGresult *r;

	sch_config_from_env(&cfg);
	/* The same grace as the planner's (see sch_config), so GET agrees with the gates. */
	cfg.listening_since_ms = l->listening_since_ms;
	strategy = sch_strategy_to_json(&l->strategy);
	o = json_object();
	waves = json_array();
	pops = json_array();
	events = json_array();
	if (l->npops > 0)
		preview = malloc(l->npops * sizeof *preview);
	if (strategy == NULL || o == NULL || waves == NULL || pops == NULL || events == NULL ||
	    (l->npops > 0 && preview == NULL))
		goto nomem;
	/* Pending waves of a live deployment show the PoPs they would take if they started
	 * now; those of a finished one stay empty (they will never run). */
	if (l->npops > 0)
		memcpy(preview, l->pops, l->npops * sizeof *preview);
	if (!sch_dep_state_is_terminal(l->d.state))
		sch_plan_preview(&l->d, preview, l->npops);
	for (size_t w = 0; w < l->strategy.nwaves; w++) {
		json_t *wp = json_array(), *wo;
		if (wp == NULL)
			goto nomem;
		for (size_t i = 0; i < l->npops; i++)
			if (preview[i].wave == (int)w)
				json_array_append_new(wp, json_string(l->pops[i].name));
		/* Progress for dashboards: how many of the wave's PoPs run the target now. */
		int active = 0;
		for (size_t i = 0; i < l->npops; i++)
			if (l->pops[i].wave == (int)w &&
			    sch_pop_state_of(&l->d, &l->pops[i], now, &cfg) == SCH_POP_ACTIVE)
				active++;
		wo = json_pack("{s:i,s:o,s:s,s:i,s:o,s:o}", "index", (int)w, "pops", wp, "state",
			       sch_wave_state_name(l->d.waves[w].state), "active", active,
			       "started_at", time_or_null(l->d.waves[w].started_ms),
			       "baking_since", time_or_null(l->d.waves[w].baking_ms));
		if (wo == NULL || json_array_append_new(waves, wo) != 0)
			goto nomem;
		if (l->strategy.waves[w].percent > 0)
			json_object_set_new(wo, "percent", json_integer(l->strategy.waves[w].percent));
	}
	for (size_t i = 0; i < l->npops; i++) {
		const struct sch_pop *pp = &l->pops[i];
		json_t *po = json_pack("{s:s,s:o,s:o,s:s,s:o}", "pop", pp->name, "desired_version",
				       version_or_null(pp->desired), "observed_version",
				       version_or_null(sch_pop_observed_version(pp, now, &cfg)),
				       "state",
				       sch_pop_state_name(sch_pop_state_of(&l->d, pp, now, &cfg)),
				       "wave", pp->wave >= 0 ? json_integer(pp->wave) : json_null());
		if (po == NULL || json_array_append_new(pops, po) != 0)
			goto nomem;
	}
	r = api_sql(req, "SELECT " SCH_SQL_RFC3339("at") ", type, wave, detail"
			 " FROM deployment_events WHERE deployment_id = $1::uuid ORDER BY id", 1, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		goto fail;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		json_t *e = json_pack("{s:s,s:s,s:o,s:s}", "at", PQgetvalue(r, i, 0), "type",
				      PQgetvalue(r, i, 1), "wave",
				      PQgetisnull(r, i, 2) ? json_null()
							   : json_integer(atoi(PQgetvalue(r, i, 2))),
				      "detail", PQgetvalue(r, i, 3));
		if (e == NULL || json_array_append_new(events, e) != 0) {
			PQclear(r);
			goto nomem;
		}
	}
	PQclear(r);
	free(preview);
	if (json_object_set_new(o, "id", json_string(l->d.id)) != 0 ||
	    json_object_set_new(o, "tenant", json_string(l->tenant_slug)) != 0 ||
	    json_object_set_new(o, "module", json_string(l->module_name)) != 0 ||
	    json_object_set_new(o, "from_version", version_or_null(l->d.from_version)) != 0 ||
	    json_object_set_new(o, "to_version", json_integer(l->d.to_version)) != 0 ||
	    json_object_set_new(o, "state", json_string(sch_dep_state_name(l->d.state))) != 0 ||
	    json_object_set_new(o, "strategy", strategy) != 0 ||
	    json_object_set_new(o, "current_wave", json_integer(l->d.current_wave)) != 0 ||
	    json_object_set_new(o, "waves", waves) != 0 ||
	    json_object_set_new(o, "pops", pops) != 0 ||
	    json_object_set_new(o, "events", events) != 0 ||
	    json_object_set_new(o, "reason",
				l->d.reason[0] ? json_string(l->d.reason) : json_null()) != 0 ||
	    json_object_set_new(o, "created_at", json_string(l->created_at)) != 0 ||
	    json_object_set_new(o, "updated_at", json_string(l->updated_at)) != 0) {
		json_decref(o);
		api_reply_problem(req, 500, "out of memory");
		return NULL;
	}
	return o;
nomem:
	api_reply_problem(req, 500, "out of memory");
fail:
	free(preview);
	json_decref(strategy);
	json_decref(o);
	json_decref(waves);
	json_decref(pops);
	json_decref(events);
	return NULL;
}

/* Maps a store error to a reply. */
static void reply_store_error(struct api_req *req, int rc, const char *err)
{
	switch (rc) {
	case SCH_E_CONFLICT:
		api_reply_problem(req, 409, "%s", err);
		break;
	case SCH_E_NOTFOUND:
		api_reply_problem(req, 404, "deployment not found");
		break;
	case SCH_E_INVALID:
		api_reply_problem(req, 422, "%s", err);
		break;
	case SCH_E_NOMEM:
		api_reply_problem(req, 500, "out of memory");
		break;
	default: {
		PGconn *c = api_db(req);
		bool gone = c == NULL || PQstatus(c) != CONNECTION_OK;
		api_reply_problem(req, gone ? 503 : 500, gone ? "the database is unavailable"
							      : "internal error (see the server log)");
		break;
	}
	}
}

/* Replies with the deployment as stored now (status 200 or 201). */
static void reply_deployment(struct api_req *req, const char *id, unsigned status)
{
	struct sch_loaded l;
	char err[512];
	PGconn *c = api_db(req);
	int rc;
	json_t *o;

	if (c == NULL)
		return;
	rc = sch_store_load(c, id, api_tenant_id(req), false, &l, err, sizeof err);
	if (rc != 0) {
		sch_loaded_free(&l);
		reply_store_error(req, rc, err);
		return;
	}
	o = deployment_json(req, &l);
	sch_loaded_free(&l);
	if (o != NULL)
		api_reply_json_take(req, status, o);
}

/* ---- create and rollback ------------------------------------------------------------------- */

/* PoP names for strategy validation; NULL (after a reply) on failure. *out_n set. */
static char **known_pops(struct api_req *req, size_t *out_n)
{
	PGresult *r = api_sql(req, "SELECT name FROM pops ORDER BY name", 0, NULL);
	char **names;
	int n;

	*out_n = 0;
	if (r == NULL) {
		api_reply_sql_error(req);
		return NULL;
	}
	n = PQntuples(r);
	names = calloc((size_t)n + 1, sizeof *names);
	for (int i = 0; names != NULL && i < n; i++) {
		names[i] = strdup(PQgetvalue(r, i, 0));
		if (names[i] == NULL) {
			for (int k = 0; k < i; k++)
				free(names[k]);
			free(names);
			names = NULL;
		}
	}
	PQclear(r);
	if (names == NULL) {
		api_reply_problem(req, 500, "out of memory");
		return NULL;
	}
	*out_n = (size_t)n;
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

/* The module's uuid by name within the request's tenant; false after a 404 or error reply. */
static bool find_module(struct api_req *req, const char *name, char out_id[37])
{
	const char *p[2] = {api_tenant_id(req), name};
	PGresult *r;

	if (name == NULL || !api_is_slug(name)) {
		api_reply_problem(req, 404, "module not found");
		return false;
	}
	r = api_sql(req, "SELECT id FROM modules WHERE tenant_id = $1::uuid AND name = $2", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 404, "module '%s' not found", name);
		return false;
	}
	snprintf(out_id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return true;
}

/* Creates a pending deployment of module_id to `version` (the strategy already parsed).
 * Checks, in one transaction with the module row locked: the version exists, no other
 * deployment of the module is pending/running/paused (409), and that the deployment would
 * change something (otherwise a 200 no-op answer, nothing stored). */
static void start_deployment(struct api_req *req, const char *module_id, const char *module_name,
			     int version, const struct sch_strategy *strat, const char *kind)
{
	char vtext[16], ftext[16], detail[256], id[37];
	const char *pm[1] = {module_id};
	const char *pv[2] = {module_id, vtext};
	const struct api_principal *who = api_who(req);
	json_t *sj = NULL, *audit;
	char *stext = NULL;
	PGresult *r;
	int from = 0;

	snprintf(vtext, sizeof vtext, "%d", version);
	if (!api_tx_begin(req))
		return;
	r = api_sql(req, "SELECT id FROM modules WHERE id = $1::uuid FOR UPDATE", 1, pm);
	if (r == NULL)
		goto sql_fail;
	PQclear(r);
	r = api_sql(req, "SELECT 1 FROM module_versions WHERE module_id = $1::uuid AND version = $2::int",
		    2, pv);
	if (r == NULL)
		goto sql_fail;
	if (PQntuples(r) == 0) {
		PQclear(r);
		api_tx_rollback(req);
		api_reply_problem(req, 404, "version %d of module '%s' not found", version,
				  module_name);
		return;
	}
	PQclear(r);
	r = api_sql(req, "SELECT id, state FROM deployments WHERE module_id = $1::uuid"
			 " AND state IN ('pending', 'running', 'paused')", 1, pm);
	if (r == NULL)
		goto sql_fail;
	if (PQntuples(r) > 0) {
		api_reply_problem(req, 409,
				  "deployment %s of module '%s' is %s: abort it (or let it finish) first",
				  PQgetvalue(r, 0, 0), module_name, PQgetvalue(r, 0, 1));
		PQclear(r);
		api_tx_rollback(req);
		return;
	}
	PQclear(r);
	r = api_sql(req, "SELECT ms.version, EXISTS (SELECT 1 FROM desired_modules dm"
			 "  WHERE dm.module_id = $1::uuid AND dm.version <> $2::int)"
			 " FROM module_stable ms WHERE ms.module_id = $1::uuid", 2, pv);
	if (r == NULL)
		goto sql_fail;
	if (PQntuples(r) == 1) {
		from = atoi(PQgetvalue(r, 0, 0));
		if (from == version && strcmp(PQgetvalue(r, 0, 1), "f") == 0) {
			PQclear(r);
			api_tx_rollback(req);
			json_t *o = json_pack(
				"{s:n,s:s,s:i,s:i,s:s,s:b,s:s}", "id", "module", module_name,
				"from_version", version, "to_version", version, "state", "succeeded",
				"noop", 1, "detail", "");
			if (o == NULL) {
				api_reply_problem(req, 500, "out of memory");
				return;
			}
			snprintf(detail, sizeof detail,
				 "nothing to do: module '%s' already runs version %d on every PoP",
				 module_name, version);
			json_object_set_new(o, "detail", json_string(detail));
			json_object_set_new(o, "reason", json_string(detail));
			api_reply_json_take(req, 200, o);
			return;
		}
	}
	PQclear(r);
	sj = sch_strategy_to_json(strat);
	stext = sj ? json_dumps(sj, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	json_decref(sj);
	if (stext == NULL) {
		api_tx_rollback(req);
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	snprintf(ftext, sizeof ftext, "%d", from);
	{
		const char *pi[6] = {api_tenant_id(req), module_id, from > 0 ? ftext : NULL, vtext,
				     stext, who->token_id[0] ? who->token_id : NULL};
		r = api_sql(req, "INSERT INTO deployments (id, tenant_id, module_id, from_version,"
				 " to_version, state, strategy, created_by)"
				 " VALUES (gen_random_uuid(), $1::uuid, $2::uuid, $3::int, $4::int,"
				 " 'pending', $5::jsonb, $6) RETURNING id", 6, pi);
	}
	free(stext);
	if (r == NULL) {
		if (strcmp(api_sql_state(req), "23505") == 0) {
			/* Another request created one between our check and insert. */
			api_tx_rollback(req);
			api_reply_problem(req, 409, "module '%s' already has a deployment in progress",
					  module_name);
			return;
		}
		goto sql_fail;
	}
	snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	for (size_t w = 0; w < strat->nwaves; w++) {
		char idx[24];
		snprintf(idx, sizeof idx, "%zu", w);
		const char *pw[2] = {id, idx};
		r = api_sql(req, "INSERT INTO deployment_waves (deployment_id, idx, state)"
				 " VALUES ($1::uuid, $2::int, 'pending')", 2, pw);
		if (r == NULL)
			goto sql_fail;
		PQclear(r);
	}
	if (from > 0)
		snprintf(detail, sizeof detail, "%s of '%s' from version %d to %d (%s strategy, %zu waves)",
			 kind, module_name, from, version, strat->name, strat->nwaves);
	else
		snprintf(detail, sizeof detail, "%s of '%s' version %d, new to the fleet (%s strategy, %zu waves)",
			 kind, module_name, version, strat->name, strat->nwaves);
	{
		const char *pe[2] = {id, detail};
		r = api_sql(req, "INSERT INTO deployment_events (deployment_id, at, type, detail)"
				 " VALUES ($1::uuid, now(), 'created', $2)", 2, pe);
		if (r == NULL)
			goto sql_fail;
		PQclear(r);
	}
	audit = json_pack("{s:s,s:s,s:o,s:i,s:s}", "id", id, "module", module_name, "from_version",
			  version_or_null(from), "to_version", version, "kind", kind);
	char target[160];
	snprintf(target, sizeof target, "%s/%s", api_tenant_slug(req), module_name);
	bool ok = api_audit(req, api_tenant_id(req),
			    strcmp(kind, "rollback") == 0 ? "module.rollback" : "deployment.create",
			    target, audit);
	json_decref(audit);
	if (!ok)
		goto sql_fail_noresult;
	r = api_sql(req, "SELECT pg_notify('" SCH_NOTIFY_CHANNEL "', 'created')", 0, NULL);
	if (r == NULL)
		goto sql_fail;
	PQclear(r);
	if (!api_tx_commit(req))
		return;
	sch_runner_kick(sch_runner_current());
	{
		char loc[256];
		snprintf(loc, sizeof loc, "/v1/tenants/%s/deployments/%s", api_tenant_slug(req), id);
		api_add_header(req, "Location", loc);
	}
	reply_deployment(req, id, 201);
	return;
sql_fail:
sql_fail_noresult:
	api_reply_sql_error(req);
	api_tx_rollback(req);
}

static void create_deployment(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"module", JSON_STRING, true},
		{"version", JSON_INTEGER, true},
		{"strategy", JSON_NULL, false},
	};
	json_t *body = api_json(req);
	struct sch_strategy strat;
	char module_id[37], err[512];
	char **names;
	size_t nnames;
	json_int_t version;
	int rc;

	if (!api_json_check(req, body, fields, sizeof fields / sizeof fields[0]))
		return;
	version = json_integer_value(json_object_get(body, "version"));
	if (version < 1 || version > 2147483647) {
		api_reply_problem(req, 422, "'version' must be a version number (1 or more)");
		return;
	}
	if (!find_module(req, json_string_value(json_object_get(body, "module")), module_id))
		return;
	if ((names = known_pops(req, &nnames)) == NULL)
		return;
	rc = sch_strategy_parse(json_object_get(body, "strategy"), (const char *const *)names,
				nnames, &strat, err, sizeof err);
	free_names(names, nnames);
	if (rc != 0) {
		reply_store_error(req, rc, err);
		return;
	}
	start_deployment(req, module_id, json_string_value(json_object_get(body, "module")),
			 (int)version, &strat, "rollout");
	sch_strategy_free(&strat);
}

static void rollback_module(struct api_req *req)
{
	static const struct api_field fields[] = {
		{"to_version", JSON_INTEGER, false},
		{"strategy", JSON_NULL, false},
	};
	json_t *body = api_json(req), *tv, *sj;
	const char *module = api_param(req, "m");
	struct sch_strategy strat;
	char module_id[37], err[512];
	char **names;
	size_t nnames;
	int target = 0, rc;

	if (body != NULL && !api_json_check(req, body, fields, sizeof fields / sizeof fields[0]))
		return;
	if (!find_module(req, module, module_id))
		return;
	tv = body ? json_object_get(body, "to_version") : NULL;
	if (tv != NULL) {
		if (json_integer_value(tv) < 1 || json_integer_value(tv) > 2147483647) {
			api_reply_problem(req, 422, "'to_version' must be a version number (1 or more)");
			return;
		}
		target = (int)json_integer_value(tv);
	} else {
		/* The version the module ran before its latest succeeded deployment. */
		const char *p[1] = {module_id};
		PGresult *r = api_sql(req, "SELECT from_version FROM deployments WHERE module_id = $1::uuid"
					   " AND state = 'succeeded' ORDER BY seq DESC LIMIT 1", 1, p);
		if (r == NULL) {
			api_reply_sql_error(req);
			return;
		}
		if (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)) {
			PQclear(r);
			api_reply_problem(req, 409,
					  "module '%s' has no earlier version to roll back to (no succeeded deployment replaced one); give to_version",
					  module);
			return;
		}
		target = atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if ((names = known_pops(req, &nnames)) == NULL)
		return;
	/* A rollback is urgent: immediate unless the caller stages it. */
	sj = body ? json_object_get(body, "strategy") : NULL;
	json_t *imm = json_string("immediate");
	rc = sch_strategy_parse(sj ? sj : imm, (const char *const *)names, nnames, &strat, err,
				sizeof err);
	json_decref(imm);
	free_names(names, nnames);
	if (rc != 0) {
		reply_store_error(req, rc, err);
		return;
	}
	start_deployment(req, module_id, module, target, &strat, "rollback");
	sch_strategy_free(&strat);
}

/* ---- list and get -------------------------------------------------------------------------- */

static void list_deployments(struct api_req *req)
{
	struct api_page pg;
	char after[32], lim[16];
	const char *module = api_query(req, "module"), *state = api_query(req, "state");
	json_t *items;
	PGresult *r;
	int n;

	bool desc;

	if (!api_page_parse(req, &pg) || !api_page_order(req, &pg, &desc))
		return;
	if (state != NULL && sch_dep_state_parse(state) < 0) {
		api_reply_problem(req, 400, "unknown state '%s'", state);
		return;
	}
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(lim, sizeof lim, "%d", pg.limit + 1);
	const char *p[5] = {api_tenant_id(req), after, lim, module, state};
#define DEPLOYMENTS_SQL(CMP, DIR)                                                            \
	"SELECT d.id, m.name, d.from_version, d.to_version, d.state, d.current_wave,"       \
	" d.reason, " SCH_SQL_RFC3339("d.created_at") ", " SCH_SQL_RFC3339("d.updated_at")  \
	", d.strategy::text, d.seq"                                                          \
	" FROM deployments d JOIN modules m ON m.id = d.module_id"                           \
	" WHERE d.tenant_id = $1::uuid AND d.seq " CMP " $2::bigint"                         \
	" AND ($4::text IS NULL OR m.name = $4) AND ($5::text IS NULL OR d.state = $5)"     \
	" ORDER BY d.seq " DIR " LIMIT $3::int"
	r = api_sql(req, desc ? DEPLOYMENTS_SQL("<", "DESC") : DEPLOYMENTS_SQL(">", "ASC"), 5, p);
#undef DEPLOYMENTS_SQL
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	items = json_array();
	n = PQntuples(r);
	for (int i = 0; items != NULL && i < n && i < pg.limit; i++) {
		json_t *strategy = json_loads(PQgetvalue(r, i, 9), 0, NULL);
		json_t *o = json_pack("{s:s,s:s,s:o,s:i,s:s,s:i,s:o,s:s,s:s,s:o}",
				      "id", PQgetvalue(r, i, 0), "module", PQgetvalue(r, i, 1),
				      "from_version",
				      PQgetisnull(r, i, 2) ? json_null()
							   : json_integer(atoi(PQgetvalue(r, i, 2))),
				      "to_version", atoi(PQgetvalue(r, i, 3)),
				      "state", PQgetvalue(r, i, 4),
				      "current_wave", atoi(PQgetvalue(r, i, 5)),
				      "reason", api_pg_str(r, i, 6),
				      "created_at", PQgetvalue(r, i, 7),
				      "updated_at", PQgetvalue(r, i, 8),
				      "strategy", strategy ? strategy : json_null());
		if (o == NULL || json_array_append_new(items, o) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	if (items == NULL) {
		PQclear(r);
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 10)) : -1;
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static void get_deployment(struct api_req *req)
{
	const char *id = api_param(req, "id");

	if (id == NULL || !api_is_uuid(id)) {
		api_reply_problem(req, 404, "deployment not found");
		return;
	}
	reply_deployment(req, id, 200);
}

/* ---- operator actions ------------------------------------------------------------------------ */

static void act(struct api_req *req, enum sch_action a)
{
	const char *id = api_param(req, "id");
	struct sch_config cfg;
	struct sch_actor actor;
	char err[512];
	PGconn *c;
	int rc;

	if (id == NULL || !api_is_uuid(id)) {
		api_reply_problem(req, 404, "deployment not found");
		return;
	}
	if ((c = api_db(req)) == NULL)
		return;
	sch_config_from_env(&cfg);
	actor.token_id = api_who(req)->token_id;
	actor.request_id = api_request_id(req);
	rc = sch_store_step(c, id, api_tenant_id(req), a, sch_now_ms(), &cfg, &actor, err,
			    sizeof err);
	if (rc != 0) {
		reply_store_error(req, rc, err);
		return;
	}
	sch_runner_kick(sch_runner_current());
	reply_deployment(req, id, 200);
}

static void act_pause(struct api_req *req) { act(req, SCH_ACT_PAUSE); }
static void act_resume(struct api_req *req) { act(req, SCH_ACT_RESUME); }
static void act_promote(struct api_req *req) { act(req, SCH_ACT_PROMOTE); }
static void act_abort(struct api_req *req) { act(req, SCH_ACT_ABORT); }
