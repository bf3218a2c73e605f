/* scheduler/store.c: loading deployments with their fleet and committing planner steps, on
 * PostgreSQL (see store.h). Every statement is parameterised; a step is one transaction, so a
 * control plane killed at any point continues from the last committed step. */
#include "scheduler/store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "scheduler/sql.h"

static int db_err(PGconn *c, char *err, size_t errlen, const char *what);
static PGresult *q(PGconn *c, const char *sql, int n, const char *const *params);
static bool cmd(PGconn *c, const char *sql, int n, const char *const *params);
static int64_t num_of(const char *epoch_ms_text);
static void ms_text(int64_t ms, char out[32]);
static int load_fleet(PGconn *c, struct sch_loaded *l, char *err, size_t errlen);
static int commit_step(PGconn *c, struct sch_loaded *l, const struct sch_plan *plan,
		       enum sch_dep_state old_state, const struct sch_actor *actor,
		       char *err, size_t errlen);

void sch_config_from_env(struct sch_config *cfg)
{
	const char *v = getenv("EDGEPLANE_HEARTBEAT_MS");
	long long hb = v ? atoll(v) : 0;

	cfg->heartbeat_ms = hb >= 10 ? hb : 10000;
	cfg->listening_since_ms = 0;
}

int64_t sch_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int db_err(PGconn *c, char *err, size_t errlen, const char *what)
{
	const char *m = PQerrorMessage(c);
	size_t n;

	snprintf(err, errlen, "%s: %s", what, m && *m ? m : "database error");
	/* libpq messages end in a newline; keep log lines one line. */
	n = strlen(err);
	while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == '\r'))
		err[--n] = '\0';
	return SCH_E_DB;
}

/* A statement that returns rows (or NULL after a failure; the caller reports). */
static PGresult *q(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (r != NULL && (PQresultStatus(r) == PGRES_TUPLES_OK ||
			  PQresultStatus(r) == PGRES_COMMAND_OK))
		return r;
	PQclear(r);
	return NULL;
}

static bool cmd(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *r = q(c, sql, n, params);

	PQclear(r);
	return r != NULL;
}

static int64_t num_of(const char *s)
{
	return s && *s ? (int64_t)strtoll(s, NULL, 10) : 0;
}

static void ms_text(int64_t ms, char out[32])
{
	snprintf(out, 32, "%" PRId64, ms);
}

void sch_loaded_free(struct sch_loaded *l)
{
	if (l == NULL)
		return;
	sch_strategy_free(&l->strategy);
	free(l->pops);
	free(l->pop_ids);
	free(l->orig_pops);
	free(l->agents);
	memset(l, 0, sizeof *l);
}

/* Every PoP with its desired version of the module, its assignment in this deployment, and
 * one row per agent with what that agent reports about the module. */
static int load_fleet(PGconn *c, struct sch_loaded *l, char *err, size_t errlen)
{
	char tov[16];
	const char *p[3] = {l->d.id, l->module_id, tov};
	PGresult *r;
	int rows;
	size_t np = 0, na = 0;

	snprintf(tov, sizeof tov, "%d", l->d.to_version);
	r = q(c, SCH_SQL_LOAD_FLEET, 3, p);
	if (r == NULL)
		return db_err(c, err, errlen, "load fleet");
	rows = PQntuples(r);
	l->pops = calloc((size_t)rows + 1, sizeof *l->pops);
	l->pop_ids = calloc((size_t)rows + 1, sizeof *l->pop_ids);
	l->agents = calloc((size_t)rows + 1, sizeof *l->agents);
	if (l->pops == NULL || l->pop_ids == NULL || l->agents == NULL) {
		PQclear(r);
		snprintf(err, errlen, "out of memory loading %d fleet rows", rows);
		return SCH_E_NOMEM;
	}
	/* Rows come ordered by PoP name then agent: group them. Columns: 0 pop id, 1 name,
	 * 2 desired, 3 wave, 4 base_requests, 5 base_errors, 6 agent token (NULL: none),
	 * 7 last_seen ms, 8 running version, 9 target state, 10 target error,
	 * 11 requests_total, 12 errors_total. */
	for (int i = 0; i < rows; i++) {
		struct sch_pop *pop;
		if (np == 0 || strcmp(l->pop_ids[np - 1], PQgetvalue(r, i, 0)) != 0) {
			pop = &l->pops[np];
			snprintf(l->pop_ids[np], sizeof l->pop_ids[np], "%s", PQgetvalue(r, i, 0));
			snprintf(pop->name, sizeof pop->name, "%s", PQgetvalue(r, i, 1));
			pop->desired = atoi(PQgetvalue(r, i, 2));
			pop->wave = PQgetisnull(r, i, 3) ? -1 : atoi(PQgetvalue(r, i, 3));
			pop->base_requests = num_of(PQgetvalue(r, i, 4));
			pop->base_errors = num_of(PQgetvalue(r, i, 5));
			pop->agents = &l->agents[na];
			pop->nagents = 0;
			np++;
		}
		pop = &l->pops[np - 1];
		if (PQgetisnull(r, i, 6))
			continue;
		struct sch_agent_obs *a = &l->agents[na++];
		pop->nagents++;
		a->last_seen_ms = num_of(PQgetvalue(r, i, 7));
		a->running_version = PQgetisnull(r, i, 8) ? 0 : atoi(PQgetvalue(r, i, 8));
		if (PQgetisnull(r, i, 9))
			a->target = SCH_OBS_NONE;
		else
			a->target = strcmp(PQgetvalue(r, i, 9), "active") == 0 ? SCH_OBS_ACTIVE
									      : SCH_OBS_FAILED;
		snprintf(a->target_error, sizeof a->target_error, "%s", PQgetvalue(r, i, 10));
		a->requests_total = num_of(PQgetvalue(r, i, 11));
		a->errors_total = num_of(PQgetvalue(r, i, 12));
	}
	l->npops = np;
	l->nagents = na;
	PQclear(r);
	l->orig_pops = malloc((np + 1) * sizeof *l->orig_pops);
	if (l->orig_pops == NULL) {
		snprintf(err, errlen, "out of memory");
		return SCH_E_NOMEM;
	}
	memcpy(l->orig_pops, l->pops, np * sizeof *l->pops);
	return 0;
}

int sch_store_load(PGconn *c, const char *id, const char *tenant_id, bool for_update,
		   struct sch_loaded *out, char *err, size_t errlen)
{
	const char *p[2] = {id, tenant_id};
	PGresult *r;
	json_t *sj;
	json_error_t je;
	int rc, st;

	memset(out, 0, sizeof *out);
	r = q(c, for_update ? SCH_SQL_LOAD_DEPLOYMENT " FOR UPDATE OF d" : SCH_SQL_LOAD_DEPLOYMENT,
	      2, p);
	if (r == NULL)
		return db_err(c, err, errlen, "load deployment");
	if (PQntuples(r) == 0) {
		PQclear(r);
		snprintf(err, errlen, "no deployment %s", id);
		return SCH_E_NOTFOUND;
	}
	/* Columns: 0 id, 1 tenant_id, 2 tenant slug, 3 module_id, 4 module name, 5 from,
	 * 6 to, 7 state, 8 strategy, 9 current_wave, 10 reason, 11 created_at, 12 updated_at,
	 * 13 target exists, 14 leader since (ms). */
	snprintf(out->d.id, sizeof out->d.id, "%s", PQgetvalue(r, 0, 0));
	snprintf(out->tenant_id, sizeof out->tenant_id, "%s", PQgetvalue(r, 0, 1));
	snprintf(out->tenant_slug, sizeof out->tenant_slug, "%s", PQgetvalue(r, 0, 2));
	snprintf(out->module_id, sizeof out->module_id, "%s", PQgetvalue(r, 0, 3));
	snprintf(out->module_name, sizeof out->module_name, "%s", PQgetvalue(r, 0, 4));
	out->d.from_version = PQgetisnull(r, 0, 5) ? 0 : atoi(PQgetvalue(r, 0, 5));
	out->d.to_version = atoi(PQgetvalue(r, 0, 6));
	st = sch_dep_state_parse(PQgetvalue(r, 0, 7));
	out->d.state = st < 0 ? SCH_DEP_FAILED : (enum sch_dep_state)st;
	out->d.current_wave = atoi(PQgetvalue(r, 0, 9));
	snprintf(out->d.reason, sizeof out->d.reason, "%s", PQgetvalue(r, 0, 10));
	snprintf(out->created_at, sizeof out->created_at, "%s", PQgetvalue(r, 0, 11));
	snprintf(out->updated_at, sizeof out->updated_at, "%s", PQgetvalue(r, 0, 12));
	out->d.target_missing = strcmp(PQgetvalue(r, 0, 13), "t") != 0;
	out->listening_since_ms = num_of(PQgetvalue(r, 0, 14));
	sj = json_loads(PQgetvalue(r, 0, 8), 0, &je);
	PQclear(r);
	if (sj == NULL) {
		snprintf(err, errlen, "deployment %s: stored strategy is not JSON: %s", id, je.text);
		return SCH_E_DB;
	}
	rc = sch_strategy_parse(sj, NULL, 0, &out->strategy, err, errlen);
	json_decref(sj);
	if (rc != 0)
		return rc == SCH_E_NOMEM ? rc : SCH_E_DB;
	out->d.strategy = &out->strategy;
	if (out->d.current_wave < 0 || out->d.current_wave > (int)out->strategy.nwaves)
		out->d.current_wave = (int)out->strategy.nwaves;

	r = q(c, SCH_SQL_LOAD_WAVES, 1, p);
	if (r == NULL)
		return db_err(c, err, errlen, "load waves");
	for (int i = 0; i < PQntuples(r); i++) {
		int idx = atoi(PQgetvalue(r, i, 0));
		int ws = sch_wave_state_parse(PQgetvalue(r, i, 1));
		if (idx < 0 || idx >= SCH_MAX_WAVES)
			continue;
		out->d.waves[idx].state = ws < 0 ? SCH_WAVE_PENDING : (enum sch_wave_state)ws;
		out->d.waves[idx].started_ms = num_of(PQgetvalue(r, i, 2));
		out->d.waves[idx].baking_ms = num_of(PQgetvalue(r, i, 3));
	}
	PQclear(r);
	return load_fleet(c, out, err, errlen);
}

/* A PostgreSQL array literal of uuids or integers (no element needs quoting). */
struct arr {
	struct buf b;
	size_t n;
};

static bool arr_add(struct arr *a, const char *item)
{
	return buf_puts(&a->b, a->n++ ? "," : "{") && buf_puts(&a->b, item);
}

static const char *arr_text(struct arr *a)
{
	if (a->n == 0)
		return buf_puts(&a->b, "{}") ? a->b.data : NULL;
	return buf_puts(&a->b, "}") ? a->b.data : NULL;
}

/* Writes what changed about the PoPs in a few statements, whatever the fleet's size: their
 * assignment in this deployment, their desired version and, for those, a new generation. */
static int write_pops(PGconn *c, struct sch_loaded *l, char *err, size_t errlen)
{
	struct arr ids = {0}, waves = {0}, breq = {0}, berr = {0};
	struct arr set_ids = {0}, set_vers = {0}, del_ids = {0}, bump = {0};
	char num[32];
	bool ok = true;
	int rc = 0;

	for (size_t i = 0; i < l->npops && ok; i++) {
		const struct sch_pop *p = &l->pops[i], *o = &l->orig_pops[i];
		if (p->wave >= 0 && (p->wave != o->wave || p->base_requests != o->base_requests ||
				     p->base_errors != o->base_errors)) {
			ok = ok && arr_add(&ids, l->pop_ids[i]);
			snprintf(num, sizeof num, "%d", p->wave);
			ok = ok && arr_add(&waves, num);
			ms_text(p->base_requests, num);
			ok = ok && arr_add(&breq, num);
			ms_text(p->base_errors, num);
			ok = ok && arr_add(&berr, num);
		}
		if (p->desired != o->desired) {
			ok = ok && arr_add(&bump, l->pop_ids[i]);
			if (p->desired > 0) {
				ok = ok && arr_add(&set_ids, l->pop_ids[i]);
				snprintf(num, sizeof num, "%d", p->desired);
				ok = ok && arr_add(&set_vers, num);
			} else {
				ok = ok && arr_add(&del_ids, l->pop_ids[i]);
			}
		}
	}
	if (!ok) {
		snprintf(err, errlen, "out of memory");
		rc = SCH_E_NOMEM;
		goto out;
	}
	if (ids.n > 0) {
		const char *p[5] = {l->d.id, arr_text(&ids), arr_text(&waves), arr_text(&breq),
				    arr_text(&berr)};
		if (!cmd(c, SCH_SQL_UPSERT_DEP_POPS, 5, p)) {
			rc = db_err(c, err, errlen, "write PoP assignments");
			goto out;
		}
	}
	if (set_ids.n > 0) {
		const char *p[3] = {arr_text(&set_ids), l->module_id, arr_text(&set_vers)};
		if (!cmd(c, SCH_SQL_SET_DESIRED, 3, p)) {
			rc = db_err(c, err, errlen, "write desired state");
			goto out;
		}
	}
	if (del_ids.n > 0) {
		const char *p[2] = {arr_text(&del_ids), l->module_id};
		if (!cmd(c, SCH_SQL_DEL_DESIRED, 2, p)) {
			rc = db_err(c, err, errlen, "remove desired state");
			goto out;
		}
	}
	if (bump.n > 0) {
		const char *p[1] = {arr_text(&bump)};
		if (!cmd(c, SCH_SQL_BUMP_GENERATION, 1, p))
			rc = db_err(c, err, errlen, "bump generations");
	}
out:
	buf_free(&ids.b);
	buf_free(&waves.b);
	buf_free(&breq.b);
	buf_free(&berr.b);
	buf_free(&set_ids.b);
	buf_free(&set_vers.b);
	buf_free(&del_ids.b);
	buf_free(&bump.b);
	return rc;
}

/* Writes the step's outcome. The caller has the deployment row locked and commits after. */
static int commit_step(PGconn *c, struct sch_loaded *l, const struct sch_plan *plan,
		       enum sch_dep_state old_state, const struct sch_actor *actor,
		       char *err, size_t errlen)
{
	char cw[16], idx[24], a[32], b[32], wave[16], at[32], v[16];
	int rc;

	snprintf(cw, sizeof cw, "%d", l->d.current_wave);
	{
		const char *p[4] = {l->d.id, sch_dep_state_name(l->d.state), cw,
				    l->d.reason[0] ? l->d.reason : NULL};
		if (!cmd(c, SCH_SQL_UPDATE_DEPLOYMENT, 4, p))
			return db_err(c, err, errlen, "update deployment");
	}
	for (size_t w = 0; w < l->strategy.nwaves; w++) {
		const struct sch_wave *wv = &l->d.waves[w];
		snprintf(idx, sizeof idx, "%zu", w);
		ms_text(wv->started_ms, a);
		ms_text(wv->baking_ms, b);
		const char *p[5] = {l->d.id, idx, sch_wave_state_name(wv->state),
				    wv->started_ms ? a : NULL, wv->baking_ms ? b : NULL};
		if (!cmd(c, SCH_SQL_UPSERT_WAVE, 5, p))
			return db_err(c, err, errlen, "write wave");
	}
	if ((rc = write_pops(c, l, err, errlen)) != 0)
		return rc;
	if (l->d.state == SCH_DEP_SUCCEEDED && old_state != SCH_DEP_SUCCEEDED) {
		snprintf(v, sizeof v, "%d", l->d.to_version);
		const char *p[2] = {l->module_id, v};
		if (!cmd(c, SCH_SQL_SET_STABLE, 2, p))
			return db_err(c, err, errlen, "set stable version");
	}
	for (size_t i = 0; i < plan->nevents; i++) {
		const struct sch_event *e = &plan->events[i];
		json_t *detail;
		char *dtext, target[256];
		snprintf(wave, sizeof wave, "%d", e->wave);
		ms_text(e->at_ms, at);
		const char *p[5] = {l->d.id, at, e->type, e->wave >= 0 ? wave : NULL, e->detail};
		if (!cmd(c, SCH_SQL_INSERT_EVENT, 5, p))
			return db_err(c, err, errlen, "insert event");
		/* The audit log gets every transition too, attributed to the operator who caused
		 * it or to the scheduler. */
		detail = json_pack("{s:s,s:s,s:s,s:s?}", "deployment", l->d.id, "event", e->type,
				   "detail", e->detail, "state", sch_dep_state_name(l->d.state));
		if (detail != NULL && e->wave >= 0)
			json_object_set_new(detail, "wave", json_integer(e->wave));
		dtext = detail ? json_dumps(detail, JSON_COMPACT) : NULL;
		json_decref(detail);
		snprintf(target, sizeof target, "%s/%s/deployments/%s", l->tenant_slug,
			 l->module_name, l->d.id);
		char action[64];
		snprintf(action, sizeof action, "deployment.%s", e->type);
		const char *ap[6] = {actor && actor->token_id && *actor->token_id ? actor->token_id
										   : NULL,
				     l->tenant_id, action, target,
				     actor && actor->request_id ? actor->request_id : NULL, dtext};
		bool ok = cmd(c, SCH_SQL_INSERT_AUDIT, 6, ap);
		free(dtext);
		if (!ok)
			return db_err(c, err, errlen, "insert audit row");
	}
	return 0;
}

int sch_store_step(PGconn *c, const char *id, const char *tenant_id, enum sch_action act,
		   int64_t now_ms, const struct sch_config *cfg, const struct sch_actor *actor,
		   char *err, size_t errlen)
{
	struct sch_loaded l;
	struct sch_plan plan = {0};
	struct sch_config pcfg = *cfg;
	enum sch_dep_state old;
	bool changed = false;
	int rc;

	if (!cmd(c, "BEGIN", 0, NULL))
		return db_err(c, err, errlen, "begin");
	rc = sch_store_load(c, id, tenant_id, true, &l, err, errlen);
	if (rc != 0)
		goto rollback;
	old = l.d.state;
	if (l.listening_since_ms > pcfg.listening_since_ms)
		pcfg.listening_since_ms = l.listening_since_ms;
	rc = sch_plan_step(&l.d, l.pops, l.npops, act, now_ms, &pcfg, &plan, err, errlen);
	if (rc != 0)
		goto rollback;
	for (size_t i = 0; i < l.npops && !changed; i++)
		changed = l.pops[i].desired != l.orig_pops[i].desired ||
			  l.pops[i].wave != l.orig_pops[i].wave;
	if (plan.changed || changed) {
		rc = commit_step(c, &l, &plan, old, actor, err, errlen);
		if (rc != 0)
			goto rollback;
		/* An operator's step wakes the leader, which announces the new generations and
		 * plans on; the leader's own steps need not (it announces right after). */
		if (actor != NULL &&
		    !cmd(c, "SELECT pg_notify('" SCH_NOTIFY_CHANNEL "', 'step')", 0, NULL)) {
			rc = db_err(c, err, errlen, "notify");
			goto rollback;
		}
	}
	if (!cmd(c, "COMMIT", 0, NULL)) {
		rc = db_err(c, err, errlen, "commit");
		goto rollback;
	}
	sch_plan_free(&plan);
	sch_loaded_free(&l);
	return 0;
rollback:
	cmd(c, "ROLLBACK", 0, NULL);
	sch_plan_free(&plan);
	sch_loaded_free(&l);
	return rc;
}

int sch_store_due(PGconn *c, int64_t *inout_seq, char (*ids)[37], size_t max, char *err,
		  size_t errlen)
{
	char lim[16], after[32];
	const char *p[2] = {lim, after};
	PGresult *r;
	int n;

	snprintf(lim, sizeof lim, "%zu", max);
	ms_text(*inout_seq, after);
	r = q(c, SCH_SQL_DUE, 2, p);
	if (r == NULL)
		return db_err(c, err, errlen, "list due deployments");
	n = PQntuples(r);
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], 37, "%s", PQgetvalue(r, i, 0));
		*inout_seq = num_of(PQgetvalue(r, i, 1));
	}
	PQclear(r);
	return n;
}

int sch_store_unpublished(PGconn *c, struct sch_pub **out, char *err, size_t errlen)
{
	PGresult *r = q(c, SCH_SQL_UNPUBLISHED, 0, NULL);
	int n;

	*out = NULL;
	if (r == NULL)
		return db_err(c, err, errlen, "list unpublished generations");
	n = PQntuples(r);
	if (n > 0) {
		*out = calloc((size_t)n, sizeof **out);
		if (*out == NULL) {
			PQclear(r);
			snprintf(err, errlen, "out of memory");
			return SCH_E_NOMEM;
		}
	}
	for (int i = 0; i < n; i++) {
		snprintf((*out)[i].pop_id, sizeof (*out)[i].pop_id, "%s", PQgetvalue(r, i, 0));
		snprintf((*out)[i].pop, sizeof (*out)[i].pop, "%s", PQgetvalue(r, i, 1));
		(*out)[i].generation = num_of(PQgetvalue(r, i, 2));
	}
	PQclear(r);
	return n;
}

int sch_store_mark_published(PGconn *c, const struct sch_pub *p, size_t n, char *err,
			     size_t errlen)
{
	/* Two array literals ("{uuid,...}" and "{gen,...}"): uuids and numbers need no quoting. */
	char *ids = malloc(n * 38 + 3), *gens = malloc(n * 21 + 3);
	size_t il = 0, gl = 0;
	int rc = 0;

	if (n == 0) {
		free(ids);
		free(gens);
		return 0;
	}
	if (ids == NULL || gens == NULL) {
		free(ids);
		free(gens);
		snprintf(err, errlen, "out of memory");
		return SCH_E_NOMEM;
	}
	ids[il++] = '{';
	gens[gl++] = '{';
	for (size_t i = 0; i < n; i++) {
		il += (size_t)sprintf(ids + il, "%s%s", i ? "," : "", p[i].pop_id);
		gl += (size_t)sprintf(gens + gl, "%s%" PRId64, i ? "," : "", p[i].generation);
	}
	strcpy(ids + il, "}");
	strcpy(gens + gl, "}");
	const char *params[2] = {ids, gens};
	if (!cmd(c, SCH_SQL_MARK_PUBLISHED, 2, params))
		rc = db_err(c, err, errlen, "mark published");
	free(ids);
	free(gens);
	return rc;
}

int64_t sch_store_generation(PGconn *c, const char *pop_id)
{
	const char *p[1] = {pop_id};
	PGresult *r = q(c, SCH_SQL_GENERATION, 1, p);
	int64_t g;

	if (r == NULL || PQntuples(r) != 1) {
		PQclear(r);
		return -1;
	}
	g = num_of(PQgetvalue(r, 0, 0));
	PQclear(r);
	return g;
}
