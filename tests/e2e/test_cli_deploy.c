/* tests/e2e/test_cli_deploy.c: edgectl's rollout commands against a real control plane with
 * its scheduler: deploy --wait (exit 0 on success, non-zero after an automatic rollback, 3 on
 * timeout), deployments list|get|pause|resume|promote|abort, rollback. The PoPs' agents are
 * simulated by a thread speaking the agent protocol (GET /v1/agent/desired, POST
 * /v1/agent/report) so a test can decide which version "fails"; a real edge-agent serving a
 * deployed module is covered by test_cli_run (scripts/run.sh). Each test gets its own control
 * plane, because PoPs are fleet-wide and one test's silent PoPs would stall the next. */
#include "tests/e2e/test_cli_helpers.h"

#include <pthread.h>

static struct th_cp cp;

#define A (cp.admin_token)
#define U (cp.url)
#define NSIM 3

/* A simulated agent: pulls desired state and reports every module active, except versions
 * equal to bad_version, reported failed. */
struct sim {
	char pop[32];
	char *token;
	int bad_version;
	volatile int stop;
	pthread_t thread;
};

static struct sim sims[NSIM];
static int nsims;
static char *tmp; /* this test's scratch folder */

static void *sim_loop(void *arg)
{
	struct sim *s = arg;
	const char *auth = s->token;
	time_t start = time(NULL);

	while (!s->stop) {
		struct th_resp r;
		json_t *mods, *m, *report, *out;
		json_int_t gen;
		size_t i;
		char *body;

		th_http(&r, "GET", th_cp_url(&cp, "/v1/agent/desired"), auth, NULL, NULL, 0, NULL);
		if (r.status != 200 || !json_is_object(r.json)) {
			th_resp_free(&r);
			usleep(200000);
			continue;
		}
		gen = json_integer_value(json_object_get(r.json, "generation"));
		mods = json_object_get(r.json, "modules");
		out = json_array();
		json_array_foreach(mods, i, m) {
			json_int_t v = json_integer_value(json_object_get(m, "version"));
			bool bad = v == s->bad_version;
			json_array_append_new(
				out, json_pack("{s:O, s:O, s:I, s:s, s:o, s:i, s:i, s:f}", "tenant",
					       json_object_get(m, "tenant"), "module",
					       json_object_get(m, "module"), "version", v, "state",
					       bad ? "failed" : "active",
					       "error", bad ? json_string("simulated failure") : json_null(),
					       "requests", 10, "errors", 0, "p99_ms", 1.5));
		}
		report = json_pack("{s:I, s:{s:s, s:I}, s:o}", "generation", gen, "agent", "version",
				   "sim-0.1.0", "uptime_seconds", (json_int_t)(time(NULL) - start),
				   "modules", out);
		body = json_dumps(report, JSON_COMPACT);
		th_resp_free(&r);
		th_http(&r, "POST", th_cp_url(&cp, "/v1/agent/report"), auth, NULL, body,
			strlen(body), NULL);
		th_resp_free(&r);
		free(body);
		json_decref(report);
		usleep(200000);
	}
	return NULL;
}

/* A PoP with an agent token and a simulated agent on it. */
static void add_sim(const char *pop, int bad_version)
{
	struct ctl_out o;
	struct sim *s = &sims[nsims++];

	ck_assert(nsims <= NSIM);
	snprintf(s->pop, sizeof s->pop, "%s", pop);
	s->bad_version = bad_version;
	ck_assert_msg(ctl(&o, U, A, NULL, "pops", "create", pop, "--region", "test", NULL) == 0,
		      "pops create: %s", o.err);
	ctl_free(&o);
	ck_assert_msg(ctl(&o, U, A, NULL, "tokens", "create", "--role", "agent", "--pop", pop,
			  "--name", pop, NULL) == 0, "agent token: %s", o.err);
	s->token = first_line(o.out);
	ctl_free(&o);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, sim_loop, s), 0);
}

static void setup(void)
{
	nsims = 0;
	tmp = th_tmpdir();
	th_cp_start(&cp, NULL);
}

static void teardown(void)
{
	for (int i = 0; i < nsims; i++) {
		sims[i].stop = 1;
		pthread_join(sims[i].thread, NULL);
		free(sims[i].token);
	}
	nsims = 0;
	th_cp_stop(&cp);
	th_rmrf(tmp);
	free(tmp);
}

/* Tenant "t" with module "hello", versions 1 and 2 (the example handler and a variant). */
static void tenant_with_versions(void)
{
	struct ctl_out o;
	size_t len, vlen;
	char *wasm = th_read_file(th_guest("hello_handler.wasm"), &len);
	unsigned char *v2;
	char *p;

	ck_assert_msg(wasm != NULL, "no hello_handler.wasm");
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", "t", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "modules", "create", "hello", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "versions", "push", th_guest("hello_handler.wasm"),
			     "--module", "hello", NULL), 0);
	ctl_free(&o);
	v2 = wasm_variant((unsigned char *)wasm, len, "two", &vlen);
	p = write_tmp(tmp, "v2.wasm", v2, vlen);
	ck_assert_int_eq(ctl(&o, U, A, "t", "versions", "push", p, "--module", "hello", NULL), 0);
	ck_assert_msg(strncmp(o.out, "version 2", 9) == 0, "push: %s", o.out);
	ctl_free(&o);
	free(p);
	free(v2);
	free(wasm);
}

static char *strategy_file(const char *json)
{
	static int n;
	char name[32];

	snprintf(name, sizeof name, "strategy%d.json", n++);
	return write_tmp(tmp, name, json, strlen(json));
}

/* The deployment in JSON (new reference). */
static json_t *get_deployment(const char *id)
{
	struct ctl_out o;
	json_t *d;

	ck_assert_msg(ctl(&o, U, A, "t", "--json", "deployments", "get", id, NULL) == 0,
		      "deployments get: %s", o.err);
	d = json_incref(o.json);
	ctl_free(&o);
	return d;
}

static void wait_state(const char *id, const char *state, int seconds)
{
	for (int i = 0; i < seconds * 5; i++) {
		json_t *d = get_deployment(id);
		bool ok = strcmp(jstr(d, "state"), state) == 0;
		json_decref(d);
		if (ok)
			return;
		usleep(200000);
	}
	ck_abort_msg("deployment %s never reached %s", id, state);
}

START_TEST(test_deploy_wait_succeeds_then_rollback)
{
	struct ctl_out o;
	char *plan;

	add_sim("p1", -1);
	add_sim("p2", -1);
	tenant_with_versions();
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", "immediate",
			     "--wait", "--timeout", "60", NULL), 0);
	ck_assert_msg(strstr(o.out, "succeeded") != NULL, "out: %s\nerr: %s", o.out, o.err);
	ck_assert_msg(strstr(o.out, "wave 1/1") != NULL, "no wave progress: %s", o.out);
	ctl_free(&o);
	/* The same version again: nothing to do, which is a success. */
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--wait", "--timeout", "30", NULL),
			 0);
	ck_assert_msg(o.out[0] != '\0', "no output");
	ctl_free(&o);
	/* pops list: what each PoP runs. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "list", NULL), 0);
	ck_assert_msg(strstr(o.out, "hello@1") != NULL, "pops list: %s", o.out);
	ctl_free(&o);

	/* Two waves from a strategy file; each wave's progress shows. */
	plan = strategy_file("{\"waves\":[{\"pops\":[\"p1\"]},{\"percent\":100}],"
			     "\"bake_seconds\":0,\"activation_timeout_seconds\":30,"
			     "\"max_error_rate\":0.5,\"auto_rollback\":true}");
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@latest", "--strategy", plan, "--wait",
			     "--timeout", "60", NULL), 0);
	ck_assert_msg(strstr(o.out, "wave 1/2 [p1]") != NULL, "out: %s", o.out);
	ck_assert_msg(strstr(o.out, "wave 2/2") != NULL, "out: %s", o.out);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "list", "--module", "hello", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "succeeded"));
	/* The WAVE column comes from the strategy a list item carries: 2 waves, all through. */
	ck_assert_msg(strstr(o.out, "done (2)") != NULL, "list: %s", o.out);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "deployments", "list", "--module", "other",
			     NULL), 0);
	ck_assert_int_eq(json_array_size(json_object_get(o.json, "items")), 0);
	ctl_free(&o);

	/* Rollback: back to 1 (the version before the latest succeeded deployment). */
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "rollback", "hello", "--strategy",
			     "immediate", "--wait", "--timeout", "60", NULL), 0);
	ck_assert_msg(json_is_object(o.json), "rollback --json: %s", o.out);
	ck_assert_int_eq(json_integer_value(json_object_get(o.json, "to_version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(o.json, "state")), "succeeded");
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "rollback", "hello", "--to", "2", "--strategy",
			     "immediate", "--wait", "--timeout", "60", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "rollback", "hello", "--to", "99", NULL), 1);
	ctl_free(&o);
	free(plan);
}
END_TEST

START_TEST(test_deploy_wait_fails_on_auto_rollback)
{
	struct ctl_out o;
	char *plan;
	json_t *items, *d;
	size_t i;
	bool found = false;

	/* Both agents report version 2 as failed to activate. */
	add_sim("p1", 2);
	add_sim("p2", 2);
	tenant_with_versions();
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", "immediate",
			     "--wait", "--timeout", "60", NULL), 0);
	ctl_free(&o);
	plan = strategy_file("{\"waves\":[{\"percent\":100}],\"bake_seconds\":0,"
			     "\"activation_timeout_seconds\":10,\"max_error_rate\":0.05,"
			     "\"auto_rollback\":true}");
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@2", "--strategy", plan, "--wait",
			     "--timeout", "90", NULL), 1);
	ck_assert_msg(strstr(o.err, "rolled_back") != NULL, "out: %s\nerr: %s", o.out, o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "deployments", "list", NULL), 0);
	items = json_object_get(o.json, "items");
	json_array_foreach(items, i, d) {
		if (json_integer_value(json_object_get(d, "to_version")) == 2) {
			ck_assert_str_eq(json_string_value(json_object_get(d, "state")),
					 "rolled_back");
			found = true;
		}
	}
	ck_assert(found);
	ctl_free(&o);
	free(plan);
}
END_TEST

/* A failed gate without auto_rollback pauses the deployment: deploy --wait exits 1 at once with
 * the reason (no waiting for --timeout), leaves it paused for an operator, and the detail view
 * names the failed wave by the API's index, as the reason does. An operator's pause, in
 * contrast, is not a failure (checked in test_deploy_timeout_and_controls). */
START_TEST(test_deploy_wait_fails_on_gate_pause)
{
	struct ctl_out o;
	char *plan, *id;
	json_t *d;

	add_sim("p1", 2);
	tenant_with_versions();
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", "immediate",
			     "--wait", "--timeout", "60", NULL), 0);
	ctl_free(&o);
	plan = strategy_file("{\"waves\":[{\"percent\":100}],\"bake_seconds\":0,"
			     "\"activation_timeout_seconds\":3,\"max_error_rate\":0.05,"
			     "\"auto_rollback\":false}");
	/* --timeout far above the activation timeout: exit 1 must come from the pause. */
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@2", "--strategy", plan, "--wait",
			     "--timeout", "120", NULL), 1);
	ck_assert_msg(strstr(o.err, "paused") != NULL, "out: %s\nerr: %s", o.out, o.err);
	ck_assert_msg(strstr(o.err, "timed out") == NULL, "err: %s", o.err);
	ck_assert_msg(strstr(o.err, "deployments resume|abort") != NULL, "err: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "deployments", "list", NULL), 0);
	d = json_array_get(json_object_get(o.json, "items"), 0);
	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < json_array_size(json_object_get(o.json, "items")); i++) {
		json_t *x = json_array_get(json_object_get(o.json, "items"), i);
		if (json_integer_value(json_object_get(x, "to_version")) == 2)
			d = x;
	}
	ck_assert_str_eq(jstr(d, "state"), "paused");
	id = strdup(jstr(d, "id"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "get", id, NULL), 0);
	ck_assert_msg(strstr(o.out, "wave 0 failed") != NULL, "get: %s", o.out);
	ck_assert_msg(strstr(o.out, "Current wave: 0 (1 of 1)") != NULL, "get: %s", o.out);
	ck_assert_msg(strstr(o.out, "0     failed") != NULL, "waves table: %s", o.out);
	ctl_free(&o);
	/* The --json form ends the same way, with the deployment document on stdout. */
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "abort", id, NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "deploy", "hello@2", "--strategy", plan,
			     "--wait", "--timeout", "120", NULL), 1);
	ck_assert_msg(json_is_object(o.json), "stdout: %s", o.out);
	ck_assert_str_eq(jstr(o.json, "state"), "paused");
	ctl_free(&o);
	free(id);
	free(plan);
}
END_TEST

START_TEST(test_deploy_timeout_and_controls)
{
	struct ctl_out o;
	char *plan, *id;
	json_t *d;

	add_sim("p1", -1);
	add_sim("p2", -1);
	tenant_with_versions();
	/* A long bake: the deployment outlives --timeout, which exits 3 and leaves it running. */
	plan = strategy_file("{\"waves\":[{\"pops\":[\"p1\"]},{\"percent\":100}],"
			     "\"bake_seconds\":600,\"activation_timeout_seconds\":60,"
			     "\"max_error_rate\":0.5,\"auto_rollback\":false}");
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", plan, "--wait",
			     "--timeout", "2", NULL), 3);
	ck_assert_ptr_nonnull(strstr(o.err, "timed out"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "--json", "deployments", "list", NULL), 0);
	d = json_array_get(json_object_get(o.json, "items"), 0);
	ck_assert_msg(d != NULL, "no deployment listed: %s", o.out);
	id = strdup(json_string_value(json_object_get(d, "id")));
	ctl_free(&o);
	/* One running deployment per module. */
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@2", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 409") != NULL, "err: %s", o.err);
	ctl_free(&o);

	wait_state(id, "running", 20);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "pause", id, NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "paused"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "pause", id, NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 409") != NULL, "err: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "resume", id, NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "running"));
	ctl_free(&o);
	/* Wave 1 must be activated before promote ends its bake. */
	for (int i = 0; i < 100; i++) {
		json_t *w;
		d = get_deployment(id);
		w = json_array_get(json_object_get(d, "waves"), 0);
		bool baking = strcmp(jstr(w, "state"),
				     "baking") == 0;
		json_decref(d);
		if (baking)
			break;
		usleep(200000);
	}
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "promote", id, NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "get", id, NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "WAVE"));
	ck_assert_ptr_nonnull(strstr(o.out, "p1"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "abort", id, NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "aborted"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "abort", id, NULL), 1);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deployments", "get", "00000000-0000-0000-0000-000000000000",
			     NULL), 1);
	ctl_free(&o);
	free(id);
	free(plan);
}
END_TEST

START_TEST(test_deploy_bad_input)
{
	struct ctl_out o;
	char *bad;

	tenant_with_versions();
	bad = strategy_file("{\"waves\": [");
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", bad, NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", "slowly", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@7", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "err: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "nothing@1", NULL), 1);
	ctl_free(&o);
	free(bad);
	bad = strategy_file("{\"waves\":[],\"bake_seconds\":-1}");
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", bad, NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "err: %s", o.err);
	ctl_free(&o);
	free(bad);
}
END_TEST

/* A real edge-agent on a PoP: deploy --wait succeeds and the handler answers through the agent;
 * then a version that traps on every request fails its error-rate gate during the bake while
 * traffic flows, is rolled back automatically (deploy --wait exits non-zero) and version 1
 * answers again. */
START_TEST(test_real_agent_rollback_on_errors)
{
	struct ctl_out o;
	char *token, *trust, *plan, *log, *statedir, *text;
	char env_cp[128], env_tok[160], env_redis[256], env_listen[64], env_admin[64],
		env_state[512], env_trust[512], edge_url[64], admin_url[96];
	int edge_port = th_free_port(), admin_port = th_free_port();
	pid_t agent, dep;
	int st, code = -1;
	struct th_resp r;
	const char *hdr[] = {"Host: app.t.test", NULL};

	while (admin_port == edge_port)
		admin_port = th_free_port();
	tenant_with_versions();
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "create", "real1", "--region", "test", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "create", "--role", "agent", "--pop", "real1",
			     "--name", "real1", NULL), 0);
	token = first_line(o.out);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, NULL, NULL, "keys", "list", "--trust-file", NULL), 0);
	trust = write_tmp(tmp, "trusted.keys", o.out, strlen(o.out));
	ctl_free(&o);
	ck_assert(asprintf(&statedir, "%s/agent-state", tmp) > 0);
	ck_assert(asprintf(&log, "%s/agent.log", tmp) > 0);
	snprintf(env_cp, sizeof env_cp, "EDGE_AGENT_CONTROL_PLANE=%s", U);
	snprintf(env_tok, sizeof env_tok, "EDGE_AGENT_TOKEN=%s", token);
	snprintf(env_redis, sizeof env_redis, "EDGE_AGENT_REDIS_URL=%s",
		 th_env("EDGEPLANE_REDIS_URL"));
	snprintf(env_listen, sizeof env_listen, "EDGE_AGENT_LISTEN=127.0.0.1:%d", edge_port);
	snprintf(env_admin, sizeof env_admin, "EDGE_AGENT_ADMIN_LISTEN=127.0.0.1:%d", admin_port);
	snprintf(env_state, sizeof env_state, "EDGE_AGENT_STATE_DIR=%s", statedir);
	snprintf(env_trust, sizeof env_trust, "EDGE_AGENT_TRUSTED_KEYS=%s", trust);
	{
		char *env[] = {env_cp, env_tok, env_redis, env_listen, env_admin, env_state, env_trust,
			       "EDGE_AGENT_HEARTBEAT_SECONDS=1", NULL};
		char *argv[] = {(char *)th_bin("edge-agent"), NULL};
		agent = th_spawn(argv, env, log);
	}
	snprintf(admin_url, sizeof admin_url, "http://127.0.0.1:%d/healthz", admin_port);
	if (!th_wait_http(admin_url, 20000))
		ck_abort_msg("edge-agent did not start: %s", th_read_file(log, NULL));

	ck_assert_int_eq(ctl(&o, U, A, "t", "domains", "add", "t.test", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "routes", "add", "--host", "app.t.test", "--path", "/*",
			     "--module", "hello", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "t", "deploy", "hello@1", "--strategy", "immediate",
			     "--wait", "--timeout", "60", NULL), 0);
	ctl_free(&o);
	snprintf(edge_url, sizeof edge_url, "http://127.0.0.1:%d/hello", edge_port);
	th_http(&r, "GET", edge_url, NULL, NULL, NULL, 0, hdr);
	ck_assert_msg(r.status == 200, "edge answered %ld: %s", r.status, r.body);
	th_resp_free(&r);

	/* Version 3: the trapping handler. Traffic during the bake makes its error rate 100 %. */
	ck_assert_int_eq(ctl(&o, U, A, "t", "versions", "push", th_guest("handler_trap.wasm"),
			     "--module", "hello", NULL), 0);
	ck_assert_msg(strncmp(o.out, "version 3", 9) == 0, "push: %s", o.out);
	ctl_free(&o);
	plan = strategy_file("{\"waves\":[{\"percent\":100}],\"bake_seconds\":8,"
			     "\"activation_timeout_seconds\":30,\"max_error_rate\":0.2,"
			     "\"auto_rollback\":true}");
	{
		char *argv[] = {(char *)th_bin("edgectl"), "--url", U, "--token", A, "--tenant", "t",
				"deploy", "hello@3", "--strategy", plan, "--wait", "--timeout", "90",
				NULL};
		char *dlog;
		ck_assert(asprintf(&dlog, "%s/deploy.log", tmp) > 0);
		dep = th_spawn(argv, NULL, dlog);
		for (int i = 0; i < 900; i++) {
			pid_t w = waitpid(dep, &st, WNOHANG);
			if (w == dep) {
				code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
				break;
			}
			th_http(&r, "GET", edge_url, NULL, NULL, NULL, 0, hdr);
			th_resp_free(&r);
			usleep(100000);
		}
		text = th_read_file(dlog, NULL);
		free(dlog);
	}
	if (code < 0)
		th_stop(dep, SIGTERM, 5000);
	ck_assert_msg(code == 1, "deploy --wait exited %d:\n%s", code, text);
	ck_assert_msg(strstr(text, "rolled_back") != NULL, "deploy output:\n%s", text);
	free(text);
	/* Version 1 serves again. */
	for (int i = 0; i < 100; i++) {
		th_http(&r, "GET", edge_url, NULL, NULL, NULL, 0, hdr);
		st = (int)r.status;
		th_resp_free(&r);
		if (st == 200)
			break;
		usleep(100000);
	}
	ck_assert_int_eq(st, 200);
	th_stop(agent, SIGTERM, 10000);
	free(plan);
	free(log);
	free(statedir);
	free(trust);
	free(token);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli-deploy");
	TCase *tc = tcase_create("rollouts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_deploy_wait_succeeds_then_rollback);
	tcase_add_test(tc, test_deploy_wait_fails_on_auto_rollback);
	tcase_add_test(tc, test_deploy_wait_fails_on_gate_pause);
	tcase_add_test(tc, test_deploy_timeout_and_controls);
	tcase_add_test(tc, test_deploy_bad_input);
	tcase_add_test(tc, test_real_agent_rollback_on_errors);
	suite_add_tcase(s, tc);
	return th_main(s);
}
