/* tests/unit/test_planner.c: the pure rollout planner and strategy parser, table by table:
 * every state transition of DESIGN.md's Rollouts section, the gates (activation timeout,
 * agent failure, error rate with and without auto_rollback), operator actions at every state,
 * PoPs joining mid-rollout, stale agents and an empty fleet. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/planner.h"
#include "scheduler/strategy.h"
#include "tests/lib/th.h"

#define T0 1800000000000LL /* an arbitrary clock origin (ms) */
#define MAXP 16

/* A fleet of PoPs with one agent each, driven by the test. */
struct fleet {
	struct sch_pop pops[MAXP];
	struct sch_agent_obs agents[MAXP];
	size_t n;
	struct sch_strategy strat;
	struct sch_deployment d;
	struct sch_config cfg;
	struct sch_plan plan;
};

static void fleet_init(struct fleet *f, size_t n, const char *strategy_json, int from, int to)
{
	json_error_t je;
	json_t *s = strategy_json ? json_loads(strategy_json, JSON_DECODE_ANY, &je) : NULL;
	char err[256];

	memset(f, 0, sizeof *f);
	ck_assert_msg(strategy_json == NULL || s != NULL, "bad test JSON: %s", je.text);
	ck_assert_msg(sch_strategy_parse(s, NULL, 0, &f->strat, err, sizeof err) == 0, "%s", err);
	json_decref(s);
	f->n = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(f->pops[i].name, sizeof f->pops[i].name, "pop%02zu", i);
		f->pops[i].desired = from;
		f->pops[i].wave = -1;
		f->pops[i].agents = &f->agents[i];
		f->pops[i].nagents = 1;
		f->agents[i].last_seen_ms = T0;
		f->agents[i].running_version = from;
	}
	snprintf(f->d.id, sizeof f->d.id, "5f0c6d1e-0000-4000-8000-00000000000%d", to);
	f->d.state = SCH_DEP_PENDING;
	f->d.from_version = from;
	f->d.to_version = to;
	f->d.strategy = &f->strat;
	f->cfg.heartbeat_ms = 10000;
}

static void fleet_free(struct fleet *f)
{
	sch_plan_free(&f->plan);
	sch_strategy_free(&f->strat);
}

/* Runs one step; returns its result code; err lands in `err` when given. */
static int step(struct fleet *f, enum sch_action a, int64_t now, char *err)
{
	char local[256];

	sch_plan_free(&f->plan);
	for (size_t i = 0; i < f->n; i++)
		f->pops[i].changed = false;
	return sch_plan_step(&f->d, f->pops, f->n, a, now, &f->cfg, &f->plan, err ? err : local,
			     256);
}

/* Every agent of a switched PoP reports the desired version active (heartbeat at now). */
static void agents_follow(struct fleet *f, int64_t now)
{
	for (size_t i = 0; i < f->n; i++) {
		f->agents[i].last_seen_ms = now;
		f->agents[i].running_version = f->pops[i].desired;
		f->agents[i].target = f->pops[i].desired == f->d.to_version ? SCH_OBS_ACTIVE
									    : SCH_OBS_NONE;
	}
}

static bool has_event(const struct fleet *f, const char *type)
{
	for (size_t i = 0; i < f->plan.nevents; i++)
		if (strcmp(f->plan.events[i].type, type) == 0)
			return true;
	return false;
}

static size_t count_desired(const struct fleet *f, int version)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->pops[i].desired == version;
	return n;
}

static size_t count_wave(const struct fleet *f, int w)
{
	size_t n = 0;
	for (size_t i = 0; i < f->n; i++)
		n += f->pops[i].wave == w;
	return n;
}

/* ---- strategies ---------------------------------------------------------------------------- */

START_TEST(strategy_names)
{
	struct sch_strategy s;
	char err[256];
	json_t *imm = json_string("immediate"), *can = json_string("canary");

	ck_assert_int_eq(sch_strategy_parse(imm, NULL, 0, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.nwaves, 1);
	ck_assert_int_eq(s.waves[0].percent, 100);
	ck_assert_int_eq(s.bake_seconds, 0);
	sch_strategy_free(&s);
	ck_assert_int_eq(sch_strategy_parse(can, NULL, 0, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.nwaves, 4);
	ck_assert_int_eq(s.waves[0].percent, 1);
	ck_assert_int_eq(s.waves[3].percent, 100);
	ck_assert_int_eq(s.bake_seconds, 60);
	ck_assert_int_eq(s.activation_timeout_seconds, 120);
	ck_assert(s.auto_rollback);
	sch_strategy_free(&s);
	/* No strategy at all is the canary. */
	ck_assert_int_eq(sch_strategy_parse(NULL, NULL, 0, &s, err, sizeof err), 0);
	ck_assert_uint_eq(s.nwaves, 4);
	sch_strategy_free(&s);
	json_decref(imm);
	json_decref(can);
}
END_TEST

START_TEST(strategy_custom_roundtrip)
{
	const char *known[] = {"hnd1", "fra1"};
	struct sch_strategy s, s2;
	char err[256];
	json_t *in = json_loads("{\"waves\":[{\"pops\":[\"hnd1\"]},{\"percent\":10},{\"percent\":50}],"
				"\"bake_seconds\":5,\"activation_timeout_seconds\":7,"
				"\"max_error_rate\":0.2,\"auto_rollback\":false}", 0, NULL);
	json_t *out;

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(sch_strategy_parse(in, known, 2, &s, err, sizeof err), 0);
	/* The implicit last wave takes the rest of the fleet. */
	ck_assert_uint_eq(s.nwaves, 4);
	ck_assert_int_eq(s.waves[3].percent, 100);
	ck_assert_str_eq(s.waves[0].pops[0], "hnd1");
	ck_assert_int_eq(s.bake_seconds, 5);
	ck_assert(!s.auto_rollback);
	out = sch_strategy_to_json(&s);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(sch_strategy_parse(out, NULL, 0, &s2, err, sizeof err), 0);
	ck_assert_uint_eq(s2.nwaves, 4);
	ck_assert_int_eq(s2.activation_timeout_seconds, 7);
	ck_assert(s2.max_error_rate > 0.19 && s2.max_error_rate < 0.21);
	sch_strategy_free(&s);
	sch_strategy_free(&s2);
	json_decref(in);
	json_decref(out);
}
END_TEST

static const struct {
	const char *json;
	const char *needle; /* part of the message */
} bad_strategies[] = {
	{"\"fast\"", "unknown strategy"},
	{"42", "must be"},
	{"{\"waves\":[]}", "waves"},
	{"{\"waves\":[{\"percent\":0}]}", "percent"},
	{"{\"waves\":[{\"percent\":101}]}", "percent"},
	{"{\"waves\":[{\"percent\":10.5}]}", "percent"},
	{"{\"waves\":[{\"percent\":50},{\"percent\":50}]}", "greater"},
	{"{\"waves\":[{\"percent\":50},{\"percent\":10}]}", "greater"},
	{"{\"waves\":[{\"pops\":[\"nowhere\"]}]}", "unknown PoP 'nowhere'"},
	{"{\"waves\":[{\"pops\":[]}]}", "pops"},
	{"{\"waves\":[{\"pops\":[\"hnd1\"]},{\"pops\":[\"hnd1\"]}]}", "twice"},
	{"{\"waves\":[{\"pops\":[\"hnd1\"],\"percent\":10}]}", "exactly one"},
	{"{\"waves\":[{}]}", "exactly one"},
	{"{\"waves\":[{\"percent\":10,\"x\":1}]}", "unknown field 'x'"},
	{"{\"waves\":[{\"percent\":100}],\"speed\":1}", "unknown strategy field 'speed'"},
	{"{\"waves\":[{\"percent\":100}],\"bake_seconds\":-1}", "bake_seconds"},
	{"{\"waves\":[{\"percent\":100}],\"bake_seconds\":86401}", "bake_seconds"},
	{"{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":0}", "activation_timeout_seconds"},
	{"{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":\"5\"}", "activation_timeout_seconds"},
	{"{\"waves\":[{\"percent\":100}],\"max_error_rate\":1.5}", "max_error_rate"},
	{"{\"waves\":[{\"percent\":100}],\"max_error_rate\":-0.1}", "max_error_rate"},
	{"{\"waves\":[{\"percent\":100}],\"auto_rollback\":1}", "auto_rollback"},
};

START_TEST(strategy_invalid)
{
	const char *known[] = {"hnd1", "fra1"};
	struct sch_strategy s;
	char err[256] = "";
	json_t *in = json_loads(bad_strategies[_i].json, JSON_DECODE_ANY, NULL);

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(sch_strategy_parse(in, known, 2, &s, err, sizeof err), SCH_E_INVALID);
	ck_assert_msg(strstr(err, bad_strategies[_i].needle) != NULL, "%s: got '%s'",
		      bad_strategies[_i].json, err);
	ck_assert_uint_eq(s.nwaves, 0);
	json_decref(in);
}
END_TEST

/* ---- waves ----------------------------------------------------------------------------------- */

START_TEST(canary_waves_are_cumulative)
{
	struct fleet f;
	int64_t now = T0;
	static const size_t want[] = {1, 1, 3, 5}; /* 1 %, 10 % (+1), 50 %, 100 % of 10 */

	fleet_init(&f, 10, "{\"waves\":[{\"percent\":1},{\"percent\":10},{\"percent\":50},{\"percent\":100}],"
			   "\"bake_seconds\":2,\"activation_timeout_seconds\":30}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert(has_event(&f, "started"));
	ck_assert(has_event(&f, "wave_started"));
	for (int w = 0; w < 4; w++) {
		ck_assert_int_eq(f.d.current_wave, w);
		ck_assert_int_eq(f.d.waves[w].state, SCH_WAVE_ACTIVATING);
		ck_assert_uint_eq(count_wave(&f, w), want[w]);
		/* Exactly the PoPs of the waves so far are switched, the others stay on 1. */
		size_t so_far = 0;
		for (int k = 0; k <= w; k++)
			so_far += want[k];
		ck_assert_uint_eq(count_desired(&f, 2), so_far);
		agents_follow(&f, now);
		ck_assert_int_eq(step(&f, SCH_ACT_TICK, now, NULL), 0);
		ck_assert_int_eq(f.d.waves[w].state, SCH_WAVE_BAKING);
		ck_assert(has_event(&f, "wave_activated"));
		now += 1000; /* still baking */
		agents_follow(&f, now);
		ck_assert_int_eq(step(&f, SCH_ACT_TICK, now, NULL), 0);
		ck_assert_int_eq(f.d.waves[w].state, SCH_WAVE_BAKING);
		now += 1000;
		agents_follow(&f, now);
		ck_assert_int_eq(step(&f, SCH_ACT_TICK, now, NULL), 0);
		ck_assert_int_eq(f.d.waves[w].state, SCH_WAVE_PASSED);
		ck_assert(has_event(&f, "wave_passed"));
	}
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	ck_assert(has_event(&f, "succeeded"));
	ck_assert_uint_eq(count_desired(&f, 2), 10);
	fleet_free(&f);
}
END_TEST

START_TEST(wave_order_is_stable)
{
	struct fleet a, b;

	/* The same deployment id picks the same PoPs whatever the fleet's order. */
	fleet_init(&a, 8, "\"canary\"", 1, 2);
	fleet_init(&b, 8, "\"canary\"", 1, 2);
	for (size_t i = 0; i < 8; i++)
		snprintf(b.pops[i].name, sizeof b.pops[i].name, "pop%02zu", 7 - i);
	ck_assert_int_eq(step(&a, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_int_eq(step(&b, SCH_ACT_TICK, T0, NULL), 0);
	for (size_t i = 0; i < 8; i++)
		if (a.pops[i].wave == 0)
			ck_assert_int_eq(b.pops[7 - i].wave, 0);
	ck_assert(sch_pop_rank("d1", "x") == sch_pop_rank("d1", "x"));
	ck_assert(sch_pop_rank("d1", "x") != sch_pop_rank("d2", "x"));
	fleet_free(&a);
	fleet_free(&b);
}
END_TEST

START_TEST(explicit_pops_wave)
{
	struct fleet f;

	fleet_init(&f, 4, "{\"waves\":[{\"pops\":[\"pop03\"]},{\"percent\":100}],\"bake_seconds\":0}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_int_eq(f.pops[3].wave, 0);
	ck_assert_int_eq(f.pops[3].desired, 2);
	ck_assert(f.pops[3].changed);
	ck_assert_uint_eq(count_desired(&f, 2), 1);
	agents_follow(&f, T0 + 10);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 10, NULL), 0);
	/* Bake 0: the first wave passes and the second starts in the same step. */
	ck_assert_int_eq(f.d.current_wave, 1);
	ck_assert_uint_eq(count_desired(&f, 2), 4);
	agents_follow(&f, T0 + 20);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 20, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	fleet_free(&f);
}
END_TEST

START_TEST(immediate_passes_on_activation)
{
	struct fleet f;

	fleet_init(&f, 3, "\"immediate\"", 0, 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_uint_eq(count_desired(&f, 1), 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert(f.pops[i].changed);
	/* Not all agents are there yet: still activating. */
	agents_follow(&f, T0 + 100);
	f.agents[1].target = SCH_OBS_NONE;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 100, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_ACTIVATING);
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[1], T0 + 100, &f.cfg), SCH_POP_PENDING);
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[0], T0 + 100, &f.cfg), SCH_POP_ACTIVE);
	agents_follow(&f, T0 + 200);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 200, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	fleet_free(&f);
}
END_TEST

START_TEST(empty_fleet_succeeds)
{
	struct fleet f;

	fleet_init(&f, 0, "\"canary\"", 0, 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	ck_assert(has_event(&f, "started"));
	ck_assert(has_event(&f, "succeeded"));
	for (int w = 0; w < 4; w++)
		ck_assert_int_eq(f.d.waves[w].state, SCH_WAVE_PASSED);
	fleet_free(&f);
}
END_TEST

/* ---- gates ----------------------------------------------------------------------------------- */

START_TEST(activation_timeout)
{
	/* _i: 0 without auto_rollback (pauses), 1 with (rolls back). */
	struct fleet f;
	bool rollback = _i == 1;

	fleet_init(&f, 4, rollback
		   ? "{\"waves\":[{\"percent\":50},{\"percent\":100}],\"activation_timeout_seconds\":5,\"auto_rollback\":true}"
		   : "{\"waves\":[{\"percent\":50},{\"percent\":100}],\"activation_timeout_seconds\":5,\"auto_rollback\":false}",
		   1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_uint_eq(count_desired(&f, 2), 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 4999, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 5000, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_FAILED);
	ck_assert(has_event(&f, "wave_failed"));
	ck_assert_msg(strstr(f.d.reason, "activation timeout") != NULL, "%s", f.d.reason);
	if (rollback) {
		ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
		ck_assert(has_event(&f, "rolled_back"));
		ck_assert_uint_eq(count_desired(&f, 1), 4);
	} else {
		ck_assert_int_eq(f.d.state, SCH_DEP_PAUSED);
		ck_assert(has_event(&f, "paused"));
		/* Paused: the switched PoPs stay where they are. */
		ck_assert_uint_eq(count_desired(&f, 2), 2);
	}
	fleet_free(&f);
}
END_TEST

START_TEST(agent_reports_failure)
{
	struct fleet f;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":60}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	agents_follow(&f, T0 + 10);
	f.agents[1].target = SCH_OBS_FAILED;
	f.agents[1].running_version = 1;
	snprintf(f.agents[1].target_error, sizeof f.agents[1].target_error, "signature mismatch");
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[1], T0 + 10, &f.cfg), SCH_POP_FAILED);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 10, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
	ck_assert_msg(strstr(f.d.reason, "signature mismatch") != NULL, "%s", f.d.reason);
	ck_assert_uint_eq(count_desired(&f, 1), 2);
	fleet_free(&f);
}
END_TEST

START_TEST(error_rate_breach)
{
	/* _i: 0 without auto_rollback, 1 with. */
	struct fleet f;
	bool rollback = _i == 1;

	fleet_init(&f, 2, rollback
		   ? "{\"waves\":[{\"percent\":50},{\"percent\":100}],\"bake_seconds\":10,\"max_error_rate\":0.1,\"auto_rollback\":true}"
		   : "{\"waves\":[{\"percent\":50},{\"percent\":100}],\"bake_seconds\":10,\"max_error_rate\":0.1,\"auto_rollback\":false}",
		   1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	/* Counters from before the bake are not held against the wave. */
	agents_follow(&f, T0 + 100);
	for (size_t i = 0; i < 2; i++) {
		f.agents[i].requests_total = 1000;
		f.agents[i].errors_total = 900;
	}
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 100, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	/* 5 % during the bake: fine. */
	agents_follow(&f, T0 + 2000);
	for (size_t i = 0; i < 2; i++) {
		f.agents[i].requests_total = 1100;
		f.agents[i].errors_total = 905;
	}
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 2000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	/* Then 50 %: breach. */
	agents_follow(&f, T0 + 4000);
	for (size_t i = 0; i < 2; i++) {
		f.agents[i].requests_total = 1200;
		f.agents[i].errors_total = 1000;
	}
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 4000, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_FAILED);
	ck_assert_msg(strstr(f.d.reason, "error rate") != NULL, "%s", f.d.reason);
	if (rollback) {
		ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
		ck_assert_uint_eq(count_desired(&f, 1), 2);
	} else {
		ck_assert_int_eq(f.d.state, SCH_DEP_PAUSED);
		ck_assert_uint_eq(count_desired(&f, 2), 1);
	}
	fleet_free(&f);
}
END_TEST

START_TEST(error_rate_under_passes)
{
	struct fleet f;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"bake_seconds\":3,\"max_error_rate\":0.1}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	agents_follow(&f, T0 + 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 1, NULL), 0);
	agents_follow(&f, T0 + 3001);
	for (size_t i = 0; i < 2; i++) {
		f.agents[i].requests_total = 100;
		f.agents[i].errors_total = 10; /* exactly the limit: not over it */
	}
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 3001, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	fleet_free(&f);
}
END_TEST

START_TEST(stale_agent)
{
	struct fleet f;

	fleet_init(&f, 3, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":60,\"auto_rollback\":false}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	/* PoP 2's agent last spoke at T0; the others keep heartbeating and switch. */
	agents_follow(&f, T0 + 30000);
	f.agents[2].last_seen_ms = T0;
	f.agents[2].target = SCH_OBS_NONE;
	f.agents[2].running_version = 1;
	/* 30 s = 3 heartbeats of 10 s: not yet stale. */
	ck_assert(!sch_pop_is_stale(&f.pops[2], T0 + 30000, &f.cfg));
	ck_assert(sch_pop_is_stale(&f.pops[2], T0 + 30001, &f.cfg));
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[2], T0 + 30001, &f.cfg), SCH_POP_STALE);
	/* A stale agent that claimed the target active does not count as active. */
	f.agents[2].target = SCH_OBS_ACTIVE;
	agents_follow(&f, T0 + 40000);
	f.agents[2].last_seen_ms = T0;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 40000, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_ACTIVATING);
	/* It does not block forever: the activation timeout fails the gate. */
	agents_follow(&f, T0 + 60000);
	f.agents[2].last_seen_ms = T0;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 60000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_PAUSED);
	ck_assert_msg(strstr(f.d.reason, "pop02 (stale)") != NULL, "%s", f.d.reason);
	/* A PoP whose agent never reported is stale too. */
	f.agents[0].last_seen_ms = 0;
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[0], T0, &f.cfg), SCH_POP_STALE);
	fleet_free(&f);
}
END_TEST

START_TEST(stale_during_bake_fails_gate)
{
	struct fleet f;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"bake_seconds\":60,\"auto_rollback\":true}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	agents_follow(&f, T0 + 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 1, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	agents_follow(&f, T0 + 40000);
	f.agents[0].last_seen_ms = T0 + 1;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 40000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
	ck_assert_msg(strstr(f.d.reason, "stale") != NULL, "%s", f.d.reason);
	fleet_free(&f);
}
END_TEST

/* A control plane that was down could not hear anyone: after a leader takes over, every agent
 * gets 3 heartbeats from that moment to report again before its silence counts, so a bake in
 * progress survives a restart; an agent still silent after the grace fails the gate. */
START_TEST(leader_restart_grace)
{
	struct fleet f;
	int64_t restart = T0 + 50000;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"bake_seconds\":120,\"auto_rollback\":true}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	agents_follow(&f, T0 + 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 1, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	/* Down from T0+1 to restart: nobody reported for 50 s (5 heartbeats). */
	ck_assert(sch_pop_is_stale(&f.pops[0], restart, &f.cfg));
	f.cfg.listening_since_ms = restart;
	ck_assert(!sch_pop_is_stale(&f.pops[0], restart, &f.cfg));
	ck_assert_int_eq(sch_pop_state_of(&f.d, &f.pops[0], restart + 30000, &f.cfg), SCH_POP_ACTIVE);
	ck_assert_int_eq(sch_pop_observed_version(&f.pops[0], restart, &f.cfg), 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	/* PoP 1's agent comes back; PoP 0's stays silent past the grace and fails the gate. */
	f.agents[1].last_seen_ms = restart + 30000;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 30000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	f.agents[1].last_seen_ms = restart + 30001;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 30001, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
	ck_assert_msg(strstr(f.d.reason, "pop00") && strstr(f.d.reason, "stale"), "%s", f.d.reason);
	/* The grace never invents an agent: one that never reported stays stale. */
	f.agents[1].last_seen_ms = 0;
	ck_assert(sch_pop_is_stale(&f.pops[1], restart, &f.cfg));
	fleet_free(&f);
}
END_TEST

/* An activation timeout that ran out while no control plane listened waits for the new
 * leader's grace: the agents may have activated meanwhile and only need to report it. */
START_TEST(activation_timeout_waits_for_leader_grace)
{
	struct fleet f;
	int64_t restart = T0 + 120000;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":60,\"auto_rollback\":true}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	f.cfg.listening_since_ms = restart;
	/* 120 s after the start, but the new leader only just listens: no verdict yet. */
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 1000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_ACTIVATING);
	/* The agents report what they did during the outage: the wave activates. */
	agents_follow(&f, restart + 2000);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 2000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	fleet_free(&f);
	/* Agents that stay silent fail the gate once the grace is over. */
	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":60,\"auto_rollback\":true}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	f.cfg.listening_since_ms = restart;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 29999, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, restart + 30000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
	ck_assert_msg(strstr(f.d.reason, "activation timeout") != NULL, "%s", f.d.reason);
	fleet_free(&f);
}
END_TEST

/* Returning PoPs of a module that ran nowhere before removes it, and the events say so. */
START_TEST(rollback_of_new_module_removes_it)
{
	struct fleet f;

	fleet_init(&f, 3, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":10,\"auto_rollback\":true}", 0, 1);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_uint_eq(count_desired(&f, 1), 3);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 10000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_ROLLED_BACK);
	ck_assert_uint_eq(count_desired(&f, 0), 3);
	ck_assert(has_event(&f, "rolled_back"));
	for (size_t i = 0; i < f.plan.nevents; i++)
		if (strcmp(f.plan.events[i].type, "rolled_back") == 0)
			ck_assert_msg(strstr(f.plan.events[i].detail, "removed from 3 PoP(s)") != NULL,
				      "%s", f.plan.events[i].detail);
	fleet_free(&f);
}
END_TEST

START_TEST(new_pop_mid_rollout)
{
	struct fleet f;
	int64_t now = T0;

	fleet_init(&f, 4, "{\"waves\":[{\"percent\":25},{\"percent\":100}],\"bake_seconds\":1}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now, NULL), 0);
	ck_assert_uint_eq(count_wave(&f, 0), 1);
	/* A PoP joins: the store gives it the stable version (1); the planner leaves it there
	 * while wave 0 runs. */
	snprintf(f.pops[4].name, sizeof f.pops[4].name, "late1");
	f.pops[4].desired = 1;
	f.pops[4].wave = -1;
	f.pops[4].agents = &f.agents[4];
	f.pops[4].nagents = 1;
	f.n = 5;
	agents_follow(&f, now + 10);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now + 10, NULL), 0);
	ck_assert_int_eq(f.pops[4].desired, 1);
	ck_assert(!f.pops[4].changed);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_BAKING);
	/* The 100 % wave covers the fleet as it is when the wave starts, so it takes it too. */
	agents_follow(&f, now + 1100);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now + 1100, NULL), 0);
	ck_assert_int_eq(f.d.current_wave, 1);
	ck_assert_int_eq(f.pops[4].wave, 1);
	ck_assert_int_eq(f.pops[4].desired, 2);
	agents_follow(&f, now + 1200);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now + 1200, NULL), 0);
	agents_follow(&f, now + 2300);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, now + 2300, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	ck_assert_uint_eq(count_desired(&f, 2), 5);
	fleet_free(&f);
}
END_TEST

START_TEST(rollback_of_succeeded)
{
	/* The module ran 3 after a succeeded deployment from 2; rolling back is a deployment
	 * from 3 to 2 (immediate by default) that ends with every PoP on 2. */
	struct fleet f;

	fleet_init(&f, 3, "\"immediate\"", 3, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_uint_eq(count_desired(&f, 2), 3);
	agents_follow(&f, T0 + 5);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 5, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	ck_assert_uint_eq(count_desired(&f, 2), 3);
	fleet_free(&f);
}
END_TEST

START_TEST(target_missing_fails)
{
	struct fleet f;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}]}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	f.d.target_missing = true;
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 1, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_FAILED);
	ck_assert(has_event(&f, "failed"));
	ck_assert_uint_eq(count_desired(&f, 1), 2);
	fleet_free(&f);
}
END_TEST

/* ---- operator actions at every state -------------------------------------------------------- */

/* Brings a fresh 2-PoP deployment into a state. */
static void bring_to(struct fleet *f, enum sch_dep_state st, bool baking)
{
	fleet_init(f, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}],\"bake_seconds\":30,"
			 "\"activation_timeout_seconds\":10,\"auto_rollback\":false}", 1, 2);
	switch (st) {
	case SCH_DEP_PENDING:
		return;
	case SCH_DEP_RUNNING:
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		if (baking) {
			agents_follow(f, T0 + 1);
			ck_assert_int_eq(step(f, SCH_ACT_TICK, T0 + 1, NULL), 0);
			ck_assert_int_eq(f->d.waves[0].state, SCH_WAVE_BAKING);
		}
		break;
	case SCH_DEP_PAUSED:
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		ck_assert_int_eq(step(f, SCH_ACT_PAUSE, T0 + 1, NULL), 0);
		break;
	case SCH_DEP_SUCCEEDED:
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		for (int64_t t = T0 + 1; f->d.state == SCH_DEP_RUNNING; t += 31000) {
			agents_follow(f, t);
			ck_assert_int_eq(step(f, SCH_ACT_TICK, t, NULL), 0);
		}
		break;
	case SCH_DEP_FAILED:
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		f->d.target_missing = true;
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0 + 1, NULL), 0);
		f->d.target_missing = false;
		break;
	case SCH_DEP_ABORTED:
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		ck_assert_int_eq(step(f, SCH_ACT_ABORT, T0 + 1, NULL), 0);
		break;
	case SCH_DEP_ROLLED_BACK: {
		/* auto_rollback on a fresh strategy, then a failed agent. */
		fleet_free(f);
		fleet_init(f, 2, "{\"waves\":[{\"percent\":100}],\"auto_rollback\":true}", 1, 2);
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0, NULL), 0);
		agents_follow(f, T0 + 1);
		f->agents[0].target = SCH_OBS_FAILED;
		ck_assert_int_eq(step(f, SCH_ACT_TICK, T0 + 1, NULL), 0);
		break;
	}
	}
	ck_assert_int_eq(f->d.state, st);
}

static const struct {
	enum sch_dep_state from;
	bool baking;
	enum sch_action act;
	int rc;                  /* 0 or SCH_E_CONFLICT */
	enum sch_dep_state to;   /* when rc == 0 */
	const char *event;       /* expected event when rc == 0 */
} actions[] = {
	{SCH_DEP_PENDING, false, SCH_ACT_PAUSE, 0, SCH_DEP_PAUSED, "paused"},
	{SCH_DEP_PENDING, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_PENDING, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_PENDING, false, SCH_ACT_ABORT, 0, SCH_DEP_ABORTED, "aborted"},
	{SCH_DEP_RUNNING, false, SCH_ACT_PAUSE, 0, SCH_DEP_PAUSED, "paused"},
	{SCH_DEP_RUNNING, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_RUNNING, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL}, /* still activating */
	{SCH_DEP_RUNNING, false, SCH_ACT_ABORT, 0, SCH_DEP_ABORTED, "aborted"},
	{SCH_DEP_RUNNING, true, SCH_ACT_PROMOTE, 0, SCH_DEP_RUNNING, "promoted"},
	{SCH_DEP_RUNNING, true, SCH_ACT_PAUSE, 0, SCH_DEP_PAUSED, "paused"},
	{SCH_DEP_PAUSED, false, SCH_ACT_PAUSE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_PAUSED, false, SCH_ACT_RESUME, 0, SCH_DEP_RUNNING, "resumed"},
	{SCH_DEP_PAUSED, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_PAUSED, false, SCH_ACT_ABORT, 0, SCH_DEP_ABORTED, "aborted"},
	{SCH_DEP_SUCCEEDED, false, SCH_ACT_PAUSE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_SUCCEEDED, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_SUCCEEDED, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_SUCCEEDED, false, SCH_ACT_ABORT, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_FAILED, false, SCH_ACT_PAUSE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_FAILED, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_FAILED, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_FAILED, false, SCH_ACT_ABORT, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ABORTED, false, SCH_ACT_PAUSE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ABORTED, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ABORTED, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ABORTED, false, SCH_ACT_ABORT, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ROLLED_BACK, false, SCH_ACT_PAUSE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ROLLED_BACK, false, SCH_ACT_RESUME, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ROLLED_BACK, false, SCH_ACT_PROMOTE, SCH_E_CONFLICT, 0, NULL},
	{SCH_DEP_ROLLED_BACK, false, SCH_ACT_ABORT, SCH_E_CONFLICT, 0, NULL},
};

START_TEST(action_table)
{
	struct fleet f;
	char err[256] = "";
	int rc;

	bring_to(&f, actions[_i].from, actions[_i].baking);
	/* Agents keep heartbeating up to the action, without changing what they report. */
	int64_t t = sch_dep_state_is_terminal(actions[_i].from) ? T0 + 500000 : T0 + 2;
	for (size_t i = 0; i < f.n; i++)
		f.agents[i].last_seen_ms = t;
	rc = step(&f, actions[_i].act, t, err);
	ck_assert_msg(rc == actions[_i].rc, "%s on %s: rc %d (%s)", sch_action_name(actions[_i].act),
		      sch_dep_state_name(actions[_i].from), rc, err);
	if (rc == 0) {
		ck_assert_int_eq(f.d.state, actions[_i].to);
		ck_assert(has_event(&f, actions[_i].event));
	} else {
		ck_assert_msg(strlen(err) > 0, "a conflict says why");
	}
	fleet_free(&f);
}
END_TEST

START_TEST(promote_starts_next_wave)
{
	struct fleet f;

	bring_to(&f, SCH_DEP_RUNNING, true);
	ck_assert_int_eq(step(&f, SCH_ACT_PROMOTE, T0 + 2, NULL), 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_PASSED);
	ck_assert_int_eq(f.d.current_wave, 1);
	ck_assert_int_eq(f.d.waves[1].state, SCH_WAVE_ACTIVATING);
	ck_assert_uint_eq(count_desired(&f, 2), 2);
	ck_assert(has_event(&f, "wave_started"));
	fleet_free(&f);
}
END_TEST

START_TEST(promote_needs_activation_to_hold)
{
	struct fleet f;
	char err[256];

	bring_to(&f, SCH_DEP_RUNNING, true);
	/* The wave-0 PoP's agent now reports the target failed: promote cannot pass it. */
	for (size_t i = 0; i < f.n; i++)
		if (f.pops[i].wave == 0)
			f.agents[i].target = SCH_OBS_FAILED;
	ck_assert_int_eq(step(&f, SCH_ACT_PROMOTE, T0 + 2, err), SCH_E_CONFLICT);
	fleet_free(&f);
}
END_TEST

START_TEST(abort_returns_touched_only)
{
	struct fleet f;

	bring_to(&f, SCH_DEP_RUNNING, false);
	ck_assert_uint_eq(count_desired(&f, 2), 1);
	ck_assert_int_eq(step(&f, SCH_ACT_ABORT, T0 + 2, NULL), 0);
	ck_assert_uint_eq(count_desired(&f, 1), 2);
	/* Only the switched PoP changed back; the untouched one was never moved. */
	size_t changed = 0;
	for (size_t i = 0; i < f.n; i++)
		changed += f.pops[i].changed;
	ck_assert_uint_eq(changed, 1);
	fleet_free(&f);
}
END_TEST

START_TEST(resume_rearms_failed_gate)
{
	struct fleet f;

	fleet_init(&f, 2, "{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":5,\"bake_seconds\":0,\"auto_rollback\":false}", 1, 2);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0, NULL), 0);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 5000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_PAUSED);
	ck_assert_int_eq(step(&f, SCH_ACT_RESUME, T0 + 9000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_ACTIVATING);
	ck_assert_str_eq(f.d.reason, "");
	/* A fresh timeout from the resume: 4 s later still running. */
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 13000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_RUNNING);
	agents_follow(&f, T0 + 13500);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 13500, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_SUCCEEDED);
	fleet_free(&f);
}
END_TEST

START_TEST(paused_does_not_advance)
{
	struct fleet f;

	bring_to(&f, SCH_DEP_PAUSED, false);
	agents_follow(&f, T0 + 100000);
	ck_assert_int_eq(step(&f, SCH_ACT_TICK, T0 + 100000, NULL), 0);
	ck_assert_int_eq(f.d.state, SCH_DEP_PAUSED);
	ck_assert_uint_eq(f.plan.nevents, 0);
	ck_assert_int_eq(f.d.waves[0].state, SCH_WAVE_ACTIVATING);
	fleet_free(&f);
}
END_TEST

START_TEST(state_names)
{
	for (int s = SCH_DEP_PENDING; s <= SCH_DEP_ROLLED_BACK; s++)
		ck_assert_int_eq(sch_dep_state_parse(sch_dep_state_name(s)), s);
	for (int s = SCH_WAVE_PENDING; s <= SCH_WAVE_FAILED; s++)
		ck_assert_int_eq(sch_wave_state_parse(sch_wave_state_name(s)), s);
	ck_assert_int_eq(sch_dep_state_parse("sleeping"), -1);
	ck_assert_str_eq(sch_dep_state_name(SCH_DEP_ROLLED_BACK), "rolled_back");
}
END_TEST

static Suite *planner_suite(void)
{
	Suite *s = suite_create("planner");
	TCase *tc = tcase_create("strategy");

	tcase_add_test(tc, strategy_names);
	tcase_add_test(tc, strategy_custom_roundtrip);
	tcase_add_loop_test(tc, strategy_invalid, 0,
			    (int)(sizeof bad_strategies / sizeof bad_strategies[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("waves");
	tcase_add_test(tc, canary_waves_are_cumulative);
	tcase_add_test(tc, wave_order_is_stable);
	tcase_add_test(tc, explicit_pops_wave);
	tcase_add_test(tc, immediate_passes_on_activation);
	tcase_add_test(tc, empty_fleet_succeeds);
	tcase_add_test(tc, new_pop_mid_rollout);
	tcase_add_test(tc, rollback_of_succeeded);
	suite_add_tcase(s, tc);
	tc = tcase_create("gates");
	tcase_add_loop_test(tc, activation_timeout, 0, 2);
	tcase_add_test(tc, agent_reports_failure);
	tcase_add_loop_test(tc, error_rate_breach, 0, 2);
	tcase_add_test(tc, error_rate_under_passes);
	tcase_add_test(tc, stale_agent);
	tcase_add_test(tc, stale_during_bake_fails_gate);
	tcase_add_test(tc, leader_restart_grace);
	tcase_add_test(tc, activation_timeout_waits_for_leader_grace);
	tcase_add_test(tc, rollback_of_new_module_removes_it);
	tcase_add_test(tc, target_missing_fails);
	suite_add_tcase(s, tc);
	tc = tcase_create("actions");
	tcase_add_loop_test(tc, action_table, 0, (int)(sizeof actions / sizeof actions[0]));
	tcase_add_test(tc, promote_starts_next_wave);
	tcase_add_test(tc, promote_needs_activation_to_hold);
	tcase_add_test(tc, abort_returns_touched_only);
	tcase_add_test(tc, resume_rearms_failed_gate);
	tcase_add_test(tc, paused_does_not_advance);
	tcase_add_test(tc, state_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return th_main(planner_suite());
}
