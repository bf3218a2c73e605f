/* End-to-end: a real PostgreSQL, Redis, `edgeplane serve` and three edge-agents on three PoPs.
 * A canary rollout of a C handler reaches the PoPs in wave order and every agent serves it; a
 * rollback serves the previous version everywhere; a blob whose bytes do not match its digest, a
 * manifest signed by an untrusted key and a handler that traps on every request are refused or
 * fail as DESIGN.md says, with the previous version serving and the failure in the deployment. */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/e2e/test_agent_lib.h"
#include "tests/lib/th.h"

static struct fleet f;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Some PoP of deployment d reports `state` (e.g. "failed"). */
static bool some_pop_in(json_t *d, const char *state)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(d, "pops"), i, p)
		if (json_is_string(json_object_get(p, "state")) &&
		    strcmp(json_string_value(json_object_get(p, "state")), state) == 0)
			return true;
	return false;
}

static void dump_and_fail(json_t *d, const char *what)
{
	char *text = json_dumps(d, JSON_COMPACT);
	ck_abort_msg("%s: %s", what, text ? text : "");
}

/* Every agent keeps serving hello@1 with its body. */
static void assert_v1_everywhere(void)
{
	for (int i = 0; i < FLEET_N; i++) {
		struct th_resp r;
		ck_assert_int_eq(agent_get(&f.ag[i], "GET", "hello.acme.test", "/p", NULL, 0, &r), 200);
		ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), "hello@1");
		ck_assert_ptr_nonnull(strstr(r.body, "Hello from Edgeplane"));
		th_resp_free(&r);
	}
}

START_TEST(canary_rollback_and_refusals)
{
	char *id;
	json_t *d, *w;
	long long v1, v2, v;
	double first[FLEET_N] = {0};
	size_t i;

	/* Heartbeats every 2 s so that a bake of a few seconds sees the error counts. */
	static char *agent_env[] = {"EDGE_AGENT_HEARTBEAT_SECONDS=2", NULL};

	fleet_start(&f, NULL, agent_env);
	v1 = fleet_upload_guest(&f, "hello", "hello_handler");
	ck_assert_int_eq(v1, 1);
	fleet_route(&f, "hello");
	id = fleet_deploy(&f, "hello", v1, "\"immediate\"");
	d = fleet_wait_deployment(&f, id, "succeeded", 60000);
	json_decref(d);
	free(id);
	ck_assert(fleet_wait_serving(&f, "hello", 1, 10000));
	assert_v1_everywhere();

	/* ---- canary: wave 0 = hnd1, then 67 %, then 100 % ---- */
	v2 = fleet_upload_guest(&f, "hello", "handler_echo");
	ck_assert_int_eq(v2, 2);
	id = fleet_deploy(&f, "hello", v2,
			  "{\"waves\":[{\"pops\":[\"hnd1\"]},{\"percent\":67},{\"percent\":100}],"
			  "\"bake_seconds\":2,\"activation_timeout_seconds\":60,"
			  "\"max_error_rate\":0.5,\"auto_rollback\":false}");
	{
		double t0 = now_s();
		int done = 0;
		while (done < FLEET_N && now_s() - t0 < 90) {
			for (int k = 0; k < FLEET_N; k++) {
				struct th_resp r;
				const char *ver;
				if (first[k] > 0)
					continue;
				if (agent_get(&f.ag[k], "GET", "hello.acme.test", "/", NULL, 0, &r) == 200 &&
				    (ver = th_header(&r, "X-Edgeplane-Version")) != NULL &&
				    strcmp(ver, "hello@2") == 0) {
					first[k] = now_s();
					done++;
				}
				th_resp_free(&r);
			}
			agent_sleep_ms(50);
		}
		ck_assert_msg(done == FLEET_N, "only %d PoPs serve v2", done);
	}
	d = fleet_wait_deployment(&f, id, "succeeded", 60000);
	/* Wave order: every PoP of wave i served v2 before any PoP of a later wave. */
	{
		double wave_max[8] = {0}, wave_min[8];
		size_t nw = json_array_size(json_object_get(d, "waves"));
		ck_assert_uint_ge(nw, 2);
		for (size_t k = 0; k < 8; k++)
			wave_min[k] = 1e18;
		json_array_foreach(json_object_get(d, "waves"), i, w) {
			json_t *p;
			size_t j;
			json_array_foreach(json_object_get(w, "pops"), j, p) {
				for (int k = 0; k < FLEET_N; k++) {
					if (strcmp(json_string_value(p), fleet_pops[k]) != 0)
						continue;
					if (first[k] > wave_max[i]) wave_max[i] = first[k];
					if (first[k] < wave_min[i]) wave_min[i] = first[k];
				}
			}
		}
		ck_assert_msg(first[0] < first[1] && first[0] < first[2], "hnd1 was not first");
		for (size_t k = 0; k + 1 < nw && k < 7; k++)
			if (wave_min[k + 1] < 1e17)
				ck_assert_msg(wave_max[k] <= wave_min[k + 1], "wave %zu after wave %zu", k, k + 1);
	}
	json_decref(d);
	free(id);
	for (int k = 0; k < FLEET_N; k++) {
		struct th_resp r;
		ck_assert_int_eq(agent_get(&f.ag[k], "GET", "hello.acme.test", "/x?y=1", NULL, 0, &r), 200);
		ck_assert_ptr_nonnull(strstr(r.body, "/x"));
		th_resp_free(&r);
	}

	/* ---- rollback: the previous version everywhere ---- */
	d = fleet_api(&f, 201, "POST", "/v1/tenants/acme/modules/hello/rollback",
		      "{\"strategy\":\"immediate\"}");
	ck_assert(json_is_string(json_object_get(d, "id")));
	id = strdup(json_string_value(json_object_get(d, "id")));
	json_decref(d);
	json_decref(fleet_wait_deployment(&f, id, "succeeded", 60000));
	free(id);
	ck_assert(fleet_wait_serving(&f, "hello", 1, 10000));
	assert_v1_everywhere();

	/* ---- a blob whose bytes do not match its digest ---- */
	{
		size_t len;
		unsigned char *bytes = agent_wat_hello("tampered", &len);
		PGconn *db;
		PGresult *res;
		char digest[80];
		const char *pv[1] = {digest};

		v = fleet_upload(&f, "hello", bytes, len);
		free(bytes);
		d = fleet_api(&f, 200, "GET", "/v1/tenants/acme/modules/hello/versions/3", NULL);
		snprintf(digest, sizeof(digest), "%s", json_string_value(json_object_get(d, "digest")));
		json_decref(d);
		db = PQconnectdb(f.cp.db_url);
		ck_assert_int_eq(PQstatus(db), CONNECTION_OK);
		res = PQexecParams(db, "UPDATE blobs SET bytes = overlay(bytes placing '\\xff'::bytea from 9)"
				       " WHERE digest = $1", 1, NULL, pv, NULL, NULL, 0);
		ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdTuples(res), "1") == 0,
			      "tamper: %s", PQerrorMessage(db));
		PQclear(res);
		PQfinish(db);
		id = fleet_deploy(&f, "hello", v,
				  "{\"waves\":[{\"percent\":100}],\"bake_seconds\":0,"
				  "\"activation_timeout_seconds\":8,\"auto_rollback\":true}");
		d = fleet_wait_deployment(&f, id, "failed|rolled_back|paused", 60000);
		if (!some_pop_in(d, "failed") && json_is_null(json_object_get(d, "reason")))
			dump_and_fail(d, "the digest failure is not visible");
		json_decref(d);
		free(id);
		for (int k = 0; k < FLEET_N; k++) {
			char err[256] = "";
			ck_assert(agent_wait_module(&f.ag[k], "hello", v, "failed", 1000, err, sizeof(err)) ||
				  agent_wait_module(&f.ag[k], "hello", 1, "active", 1000, err, sizeof(err)));
		}
		assert_v1_everywhere();
	}

	/* ---- a manifest signed by a key the agents do not trust ---- */
	{
		char rogue[600];
		char *keygen[] = {(char *)th_bin("edgeplane"), "keygen", "--out", rogue, NULL};
		char keyenv[700];
		char *env[] = {keyenv, NULL};
		size_t len;
		unsigned char *bytes = agent_wat_hello("rogue", &len);

		snprintf(rogue, sizeof(rogue), "%s/rogue.key", f.dir);
		ck_assert_int_eq(th_run(keygen, NULL, NULL), 0);
		snprintf(keyenv, sizeof(keyenv), "EDGEPLANE_SIGNING_KEY=%s", rogue);
		th_cp_kill(&f.cp, SIGTERM);
		th_cp_restart(&f.cp, env);
		v = fleet_upload(&f, "hello", bytes, len);
		free(bytes);
		id = fleet_deploy(&f, "hello", v,
				  "{\"waves\":[{\"percent\":100}],\"bake_seconds\":0,"
				  "\"activation_timeout_seconds\":8,\"auto_rollback\":true}");
		d = fleet_wait_deployment(&f, id, "failed|rolled_back|paused", 60000);
		if (!some_pop_in(d, "failed") && json_is_null(json_object_get(d, "reason")))
			dump_and_fail(d, "the signature failure is not visible");
		json_decref(d);
		free(id);
		{
			char err[256] = "";
			char st[32];
			long long mv;
			bool seen = agent_module_state(&f.ag[0], "hello", st, sizeof(st), &mv, err, sizeof(err));
			ck_assert(seen);
			if (mv == v)
				ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
		}
		assert_v1_everywhere();
		th_cp_kill(&f.cp, SIGTERM);
		th_cp_restart(&f.cp, NULL);
	}

	/* ---- a handler that traps on every request: the error-rate gate rolls it back ---- */
	{
		v = fleet_upload_guest(&f, "hello", "handler_trap");
		id = fleet_deploy(&f, "hello", v,
				  "{\"waves\":[{\"pops\":[\"hnd1\"]},{\"percent\":100}],\"bake_seconds\":8,"
				  "\"activation_timeout_seconds\":30,\"max_error_rate\":0.05,"
				  "\"auto_rollback\":true}");
		/* Traffic during the bake, so the gate has something to judge. */
		for (int n = 0; n < 400; n++) {
			json_t *dd = fleet_deployment(&f, id);
			const char *st = json_string_value(json_object_get(dd, "state"));
			bool end = st && (strcmp(st, "rolled_back") == 0 || strcmp(st, "failed") == 0 ||
					  strcmp(st, "paused") == 0 || strcmp(st, "succeeded") == 0);
			json_decref(dd);
			if (end)
				break;
			for (int k = 0; k < FLEET_N; k++) {
				struct th_resp r;
				long s = agent_get(&f.ag[k], "GET", "hello.acme.test", "/", NULL, 0, &r);
				if (s == 500)
					ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
				th_resp_free(&r);
			}
			agent_sleep_ms(50);
		}
		d = fleet_wait_deployment(&f, id, "rolled_back|failed|paused", 30000);
		if (strcmp(json_string_value(json_object_get(d, "state")), "rolled_back") != 0 &&
		    json_is_null(json_object_get(d, "reason")))
			dump_and_fail(d, "the trapping handler's failure is not visible");
		json_decref(d);
		free(id);
		ck_assert(fleet_wait_serving(&f, "hello", 1, 30000));
		assert_v1_everywhere();
	}
	fleet_stop(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_rollout");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 400);
	tcase_add_test(tc, canary_rollback_and_refusals);
	suite_add_tcase(s, tc);
	return th_main(s);
}
