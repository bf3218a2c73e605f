/* tests/integration/test_sched.c: rollouts end to end with a real PostgreSQL, Redis and
 * `edgeplane serve`, and simulated agents (test_sched_sim.h) that enroll with agent tokens,
 * subscribe to their PoP's Redis channel, pull their desired state and report over HTTP.
 * Covers: a canary over 10 PoPs passing its waves in order; a failing canary rolled back
 * automatically; an error-rate breach pausing, then abort; kill -9 of the control plane in the
 * middle of a wave; two control planes on one database (one leader, failover); Redis down
 * during a rollout. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/integration/test_sched_sim.h"
#include "tests/lib/th.h"

/* Fast scheduler: 50 ms ticks, 1 s heartbeats (stale after 3 s). */
static char *cp_env[] = {"EDGEPLANE_SCHED_TICK_MS=50", "EDGEPLANE_HEARTBEAT_MS=1000", NULL};

static const char *const three_waves =
	"{\"waves\":[{\"percent\":10},{\"percent\":50},{\"percent\":100}],"
	"\"bake_seconds\":1,\"activation_timeout_seconds\":30}";

/* Fleet of n PoPs all on version 1 (an immediate first rollout). */
static void fleet_on_v1(struct sim *s, struct th_cp *cp, int n, int versions)
{
	json_t *d;

	sim_fleet(s, cp, n, versions);
	d = sim_run_until(s, sim_deploy(s, 1, "\"immediate\""), "succeeded", 20000);
	json_decref(d);
	for (int i = 0; i < n; i++)
		ck_assert_int_eq(s->a[i].running, 1);
}

static json_t *wave(json_t *d, int w)
{
	return json_array_get(json_object_get(d, "waves"), (size_t)w);
}

static int wave_size(json_t *d, int w)
{
	return (int)json_array_size(json_object_get(wave(d, w), "pops"));
}

static void assert_all_pops(json_t *d, int version, const char *state)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(d, "pops"), i, p) {
		ck_assert_msg(json_integer_value(json_object_get(p, "desired_version")) == version,
			      "%s desired %lld", json_string_value(json_object_get(p, "pop")),
			      json_integer_value(json_object_get(p, "desired_version")));
		if (state != NULL)
			ck_assert_str_eq(json_string_value(json_object_get(p, "state")), state);
	}
}

START_TEST(canary_passes_waves_in_order)
{
	struct th_cp cp;
	struct sim s;
	json_t *d;
	const char *id;
	char idbuf[64];

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 10, 2);
	id = sim_deploy(&s, 2, three_waves);
	snprintf(idbuf, sizeof idbuf, "%s", id);
	d = sim_run_until(&s, idbuf, "succeeded", 40000);
	/* 10 % of 10 = 1 PoP, 50 % = 5 (4 more), 100 % = the other 5. */
	ck_assert_int_eq(wave_size(d, 0), 1);
	ck_assert_int_eq(wave_size(d, 1), 4);
	ck_assert_int_eq(wave_size(d, 2), 5);
	for (int w = 0; w < 3; w++) {
		ck_assert_str_eq(json_string_value(json_object_get(wave(d, w), "state")), "passed");
		int st = sim_event_index(d, "wave_started", w);
		int ac = sim_event_index(d, "wave_activated", w);
		int pa = sim_event_index(d, "wave_passed", w);
		ck_assert_msg(st >= 0 && st < ac && ac < pa, "wave %d events out of order", w);
		if (w < 2)
			ck_assert_int_lt(pa, sim_event_index(d, "wave_started", w + 1));
		ck_assert_int_eq(sim_events(d, "wave_started", w), 1);
	}
	ck_assert_int_gt(sim_event_index(d, "succeeded", -1), sim_event_index(d, "wave_passed", 2));
	/* The agents switched wave by wave: everyone of wave w before anyone of wave w+1. */
	int last_of[3] = {0, 0, 0}, first_of[3] = {1000, 1000, 1000};
	for (int w = 0; w < 3; w++) {
		json_t *p;
		size_t i;
		json_array_foreach(json_object_get(wave(d, w), "pops"), i, p) {
			int at = sim_agent_of(&s, json_string_value(p))->switched_at[2];
			ck_assert_int_gt(at, 0);
			if (at > last_of[w])
				last_of[w] = at;
			if (at < first_of[w])
				first_of[w] = at;
		}
	}
	ck_assert_int_lt(last_of[0], first_of[1]);
	ck_assert_int_lt(last_of[1], first_of[2]);
	assert_all_pops(d, 2, "active");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "from_version")), 1);
	/* Redis doorbells reached the agents (their own poll is 5 s). */
	ck_assert_int_gt(s.doorbells, 0);
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

START_TEST(failing_canary_rolls_back)
{
	struct th_cp cp;
	struct sim s;
	json_t *d;
	char id[64];
	int saw_v2 = 0;

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 10, 2);
	/* Every agent refuses version 2; only the canary's gets to try it. */
	for (int i = 0; i < s.n; i++)
		s.a[i].fail_version = 2;
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":10},{\"percent\":100}],"
					      "\"bake_seconds\":1,\"activation_timeout_seconds\":30,"
					      "\"auto_rollback\":true}"));
	d = sim_run_until(&s, id, "rolled_back", 20000);
	ck_assert_str_eq(json_string_value(json_object_get(wave(d, 0), "state")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(wave(d, 1), "state")), "pending");
	ck_assert_int_eq(sim_events(d, "wave_failed", 0), 1);
	ck_assert_int_eq(sim_events(d, "rolled_back", -1), 1);
	ck_assert_msg(strstr(json_string_value(json_object_get(d, "reason")), "failed to activate"),
		      "reason: %s", json_string_value(json_object_get(d, "reason")));
	assert_all_pops(d, 1, NULL);
	/* Let the agents converge, then nobody runs 2 and only the canary ever tried it. */
	sim_run_for(&s, 600);
	for (int i = 0; i < s.n; i++) {
		ck_assert_int_eq(s.a[i].running, 1);
		saw_v2 += s.a[i].failed == 2;
	}
	ck_assert_int_eq(saw_v2, 1);
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

START_TEST(error_rate_pauses_then_abort)
{
	struct th_cp cp;
	struct sim s;
	struct th_resp r;
	json_t *d;
	char id[64], path[160];

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 4, 2);
	/* Half the requests fail once version 2 runs. */
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}],"
					      "\"bake_seconds\":3,\"activation_timeout_seconds\":30,"
					      "\"max_error_rate\":0.1,\"auto_rollback\":false}"));
	for (int i = 0; i < s.n; i++)
		s.a[i].err_per_report = 5;
	d = sim_run_until(&s, id, "paused", 20000);
	ck_assert_msg(strstr(json_string_value(json_object_get(d, "reason")), "error rate"),
		      "reason: %s", json_string_value(json_object_get(d, "reason")));
	ck_assert_int_eq(wave_size(d, 0), 2);
	ck_assert_str_eq(json_string_value(json_object_get(wave(d, 0), "state")), "failed");
	json_decref(d);
	/* Paused: resume is legal, promote is not; abort returns the canaries to 1. */
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s/promote", id);
	sim_expect(th_req(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "{}"), 409, &r, "promote");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "title")) ? "x" : "x", "x");
	th_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s/abort", id);
	sim_expect(th_req(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "{}"), 200, &r, "abort");
	ck_assert_str_eq(sim_state(r.json), "aborted");
	assert_all_pops(r.json, 1, NULL);
	th_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s/resume", id);
	sim_expect(th_req(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "{}"), 409, &r, "resume");
	th_resp_free(&r);
	sim_run_for(&s, 500);
	for (int i = 0; i < s.n; i++)
		ck_assert_int_eq(s.a[i].running, 1);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

START_TEST(kill9_restart_continues_same_wave)
{
	struct th_cp cp;
	struct sim s;
	json_t *d = NULL;
	char id[64];
	long long end;

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 10, 2);
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":10},{\"percent\":50},"
					      "{\"percent\":100}],\"bake_seconds\":3,"
					      "\"activation_timeout_seconds\":30}"));
	/* Run until the second wave is under way. */
	for (end = sim_now() + 20000;; usleep(10000)) {
		sim_step(&s);
		json_decref(d);
		d = sim_get(&s, id);
		if (json_integer_value(json_object_get(d, "current_wave")) == 1)
			break;
		ck_assert_msg(sim_now() < end, "never reached wave 1: %s", json_dumps(d, 0));
	}
	json_decref(d);
	th_cp_kill(&cp, SIGKILL);
	sim_run_for(&s, 300); /* the agents find nobody */
	th_cp_restart(&cp, cp_env);
	d = sim_get(&s, id);
	ck_assert_ptr_nonnull(d);
	ck_assert_int_ge(json_integer_value(json_object_get(d, "current_wave")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(wave(d, 0), "state")), "passed");
	json_decref(d);
	d = sim_run_until(&s, id, "succeeded", 40000);
	/* Continued, not restarted: each wave started exactly once. */
	for (int w = 0; w < 3; w++)
		ck_assert_int_eq(sim_events(d, "wave_started", w), 1);
	assert_all_pops(d, 2, "active");
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

/* Runs the agents until the deployment's current wave is baking. */
static void run_until_baking(struct sim *s, const char *id, int w)
{
	long long end = sim_now() + 20000;
	json_t *d = NULL;

	for (;; usleep(10000)) {
		sim_step(s);
		json_decref(d);
		d = sim_get(s, id);
		if (d != NULL && json_integer_value(json_object_get(d, "current_wave")) == w &&
		    strcmp(json_string_value(json_object_get(wave(d, w), "state")), "baking") == 0)
			break;
		ck_assert_msg(sim_now() < end, "wave %d never baked", w);
	}
	json_decref(d);
}

/* A control plane down for longer than 3 heartbeats heard nobody meanwhile: once restarted it
 * must not read that silence as stale agents and fail the bake in progress. */
START_TEST(long_outage_mid_bake_does_not_fail_the_wave)
{
	struct th_cp cp;
	struct sim s;
	json_t *d;
	char id[64];

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 4, 2);
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}],"
					      "\"bake_seconds\":4,\"activation_timeout_seconds\":30,"
					      "\"auto_rollback\":true}"));
	run_until_baking(&s, id, 0);
	th_cp_kill(&cp, SIGKILL);
	sim_run_for(&s, 4500); /* 4.5 heartbeats without a control plane */
	th_cp_restart(&cp, cp_env);
	d = sim_run_until(&s, id, "succeeded", 40000);
	ck_assert_msg(sim_events(d, "wave_failed", -1) == 0 && sim_events(d, "rolled_back", -1) == 0,
		      "%s", json_dumps(d, 0));
	for (int w = 0; w < 2; w++)
		ck_assert_int_eq(sim_events(d, "wave_started", w), 1);
	assert_all_pops(d, 2, "active");
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

START_TEST(promote_and_module_rollback)
{
	struct th_cp cp;
	struct sim s;
	struct th_resp r;
	json_t *d;
	char id[64], path[200];

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 4, 2);
	/* A bake of 10 minutes: only promote moves it on. */
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}],"
					      "\"bake_seconds\":600,\"activation_timeout_seconds\":30}"));
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s/promote", id);
	for (int w = 0; w < 2; w++) {
		run_until_baking(&s, id, w);
		sim_expect(th_req(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "{}"), 200, &r, "promote");
		ck_assert_str_eq(json_string_value(json_object_get(wave(r.json, w), "state")), "passed");
		ck_assert_int_eq(sim_events(r.json, "promoted", w), 1);
		th_resp_free(&r);
	}
	d = sim_run_until(&s, id, "succeeded", 10000);
	json_decref(d);
	/* Module rollback: back to version 1 (immediate by default) on every PoP. */
	sim_expect(th_req(&r, "POST", th_cp_url(&cp, "/v1/tenants/acme/modules/hello/rollback"),
			  cp.admin_token, "{}"), 201, &r, "rollback");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "from_version")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "to_version")), 1);
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	d = sim_run_until(&s, id, "succeeded", 20000);
	assert_all_pops(d, 1, "active");
	json_decref(d);
	for (int i = 0; i < s.n; i++)
		ck_assert_int_eq(s.a[i].running, 1);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

static int count_in_file(const char *path, const char *needle)
{
	size_t len;
	char *text = th_read_file(path, &len);
	int n = 0;

	for (const char *p = text; p != NULL && (p = strstr(p, needle)) != NULL; p++)
		n++;
	free(text);
	return n;
}

START_TEST(two_instances_one_leader)
{
	struct th_cp a, b;
	struct sim s;
	json_t *d;
	char id[64];
	long long t0;

	th_cp_start(&a, cp_env);
	/* A second `edgeplane serve` on the same database, key and Redis, on its own port. */
	memset(&b, 0, sizeof b);
	b.dir = th_tmpdir();
	b.db_url = strdup(a.db_url);
	b.key_path = strdup(a.key_path);
	b.admin_token = strdup(a.admin_token);
	ck_assert(asprintf(&b.log_path, "%s/edgeplane.log", b.dir) > 0);
	b.port = th_free_port();
	snprintf(b.url, sizeof b.url, "http://127.0.0.1:%d", b.port);
	th_cp_restart(&b, cp_env);
	/* Both serve the API; only the first schedules. The agents talk to the second. */
	fleet_on_v1(&s, &b, 3, 2);
	ck_assert_int_eq(count_in_file(a.log_path, "this instance is the leader"), 1);
	ck_assert_int_eq(count_in_file(b.log_path, "this instance is the leader"), 0);
	th_cp_kill(&a, SIGKILL);
	t0 = sim_now();
	while (count_in_file(b.log_path, "this instance is the leader") == 0) {
		ck_assert_msg(sim_now() - t0 < 10000, "the second instance did not take over");
		usleep(20000);
	}
	/* Now the second one schedules. */
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "\"immediate\""));
	d = sim_run_until(&s, id, "succeeded", 20000);
	assert_all_pops(d, 2, "active");
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&a);
	th_cp_stop(&b);
}
END_TEST

START_TEST(stale_agent_times_out_wave)
{
	struct th_cp cp;
	struct sim s;
	json_t *d, *p;
	size_t i;
	char id[64];
	bool seen = false;

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 3, 2);
	/* pop00's agent goes silent: after 3 missed heartbeats (1 s each) it is stale. */
	sim_agent_of(&s, "pop00")->dead = true;
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":100}],"
					      "\"activation_timeout_seconds\":5,\"auto_rollback\":false}"));
	d = sim_run_until(&s, id, "paused", 20000);
	ck_assert_msg(strstr(json_string_value(json_object_get(d, "reason")), "activation timeout") &&
		      strstr(json_string_value(json_object_get(d, "reason")), "pop00 (stale)"),
		      "reason: %s", json_string_value(json_object_get(d, "reason")));
	json_array_foreach(json_object_get(d, "pops"), i, p) {
		const char *name = json_string_value(json_object_get(p, "pop"));
		const char *st = json_string_value(json_object_get(p, "state"));
		if (strcmp(name, "pop00") == 0) {
			ck_assert_str_eq(st, "stale");
			seen = true;
		} else {
			ck_assert_str_eq(st, "active");
		}
	}
	ck_assert(seen);
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

static void services(const char *what)
{
	char *argv[] = {"/bin/bash", (char *)th_top("scripts/services.sh"), (char *)what, NULL};
	ck_assert_int_eq(th_run(argv, NULL, NULL), 0);
}

/* Whatever happened in the test, Redis runs again afterwards (runs in the runner process). */
static void redis_back(void)
{
	char *argv[] = {"/bin/bash", "-c",
			". \"$EDGEPLANE_SERVICES_DIR/env\" && "
			"{ redis-cli -p \"$REDISPORT\" ping >/dev/null 2>&1 || "
			"\"$EDGEPLANE_TOP/scripts/services.sh\" redis-start; }",
			NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

START_TEST(redis_down_rollout_completes_by_polling)
{
	struct th_cp cp;
	struct sim s;
	json_t *d;
	char id[64];

	th_cp_start(&cp, cp_env);
	fleet_on_v1(&s, &cp, 4, 3);
	services("redis-stop");
	s.poll_ms = 300; /* what agents fall back on */
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 2, "{\"waves\":[{\"percent\":50},{\"percent\":100}],"
					      "\"bake_seconds\":0,\"activation_timeout_seconds\":30}"));
	d = sim_run_until(&s, id, "succeeded", 30000);
	assert_all_pops(d, 2, "active");
	json_decref(d);
	/* Redis back: the doorbells work again (the agents' own poll is now a minute). */
	services("redis-start");
	s.poll_ms = 60000;
	sim_run_for(&s, 1200); /* the agents resubscribe */
	int bells = s.doorbells;
	snprintf(id, sizeof id, "%s", sim_deploy(&s, 3, "\"immediate\""));
	d = sim_run_until(&s, id, "succeeded", 20000);
	ck_assert_int_gt(s.doorbells, bells);
	json_decref(d);
	sim_free(&s);
	th_cp_stop(&cp);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sched");
	TCase *tc = tcase_create("rollouts");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, canary_passes_waves_in_order);
	tcase_add_test(tc, failing_canary_rolls_back);
	tcase_add_test(tc, error_rate_pauses_then_abort);
	tcase_add_test(tc, kill9_restart_continues_same_wave);
	tcase_add_test(tc, long_outage_mid_bake_does_not_fail_the_wave);
	tcase_add_test(tc, two_instances_one_leader);
	tcase_add_test(tc, stale_agent_times_out_wave);
	tcase_add_test(tc, promote_and_module_rollback);
	suite_add_tcase(su, tc);
	tc = tcase_create("redis");
	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, NULL, redis_back);
	tcase_add_test(tc, redis_down_rollout_completes_by_polling);
	suite_add_tcase(su, tc);
	return th_main(su);
}
