/* End-to-end: outages. Redis stopped: agents keep serving, and a deployment made meanwhile
 * converges by polling; Redis back: doorbells work again. edgeplane stopped: agents keep
 * serving, and an agent restarted while the control plane is down serves its last state from
 * disk. Real PostgreSQL, Redis, edgeplane and three edge-agents. */
#include <check.h>
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

static long long health_int(const struct agent_proc *ap, const char *field)
{
	json_t *j = agent_health(ap);
	json_t *v = json_object_get(j, field);
	long long n = json_is_integer(v) ? json_integer_value(v) : json_is_true(v) ? 1 : 0;
	json_decref(j);
	return n;
}

static void all_serve(long long version)
{
	char label[64];
	snprintf(label, sizeof(label), "hello@%lld", version);
	for (int i = 0; i < FLEET_N; i++) {
		struct th_resp r;
		ck_assert_int_eq(agent_get(&f.ag[i], "GET", "hello.acme.test", "/", NULL, 0, &r), 200);
		ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), label);
		th_resp_free(&r);
	}
}

static long long upload_text(const char *text)
{
	size_t len;
	unsigned char *b = agent_wat_hello(text, &len);
	long long v = fleet_upload(&f, "hello", b, len);
	free(b);
	return v;
}

START_TEST(redis_and_control_plane_outages)
{
	/* Polls every 10 s, heartbeats every 30 s: fast enough for the test to converge without
	 * Redis, slow enough that a convergence within a few seconds shows the doorbell. */
	static char *agent_env[] = {"EDGE_AGENT_POLL_SECONDS=10", "EDGE_AGENT_HEARTBEAT_SECONDS=30",
				    NULL};
	long long v;
	char *id;
	double t0;

	fleet_start(&f, NULL, agent_env);
	v = fleet_upload_guest(&f, "hello", "hello_handler");
	fleet_route(&f, "hello");
	id = fleet_deploy(&f, "hello", v, "\"immediate\"");
	json_decref(fleet_wait_deployment(&f, id, "succeeded", 60000));
	free(id);
	ck_assert(fleet_wait_serving(&f, "hello", v, 10000));
	for (int i = 0; i < FLEET_N; i++)
		for (int k = 0; k < 50 && health_int(&f.ag[i], "redis_connected") != 1; k++)
			agent_sleep_ms(100);

	/* ---- Redis stopped: serving goes on; a deployment converges by polling ---- */
	fleet_services("redis-stop");
	for (int i = 0; i < FLEET_N; i++) {
		for (int k = 0; k < 100 && health_int(&f.ag[i], "redis_connected") != 0; k++)
			agent_sleep_ms(100);
		ck_assert_int_eq(health_int(&f.ag[i], "redis_connected"), 0);
	}
	all_serve(v);
	v = upload_text("while redis was down");
	id = fleet_deploy(&f, "hello", v, "\"immediate\"");
	ck_assert_msg(fleet_wait_serving(&f, "hello", v, 40000), "no convergence without Redis");
	json_decref(fleet_wait_deployment(&f, id, "succeeded", 40000));
	free(id);

	/* ---- Redis back: the agents resubscribe and doorbells work again ---- */
	fleet_services("redis-start");
	for (int i = 0; i < FLEET_N; i++) {
		for (int k = 0; k < 200 && health_int(&f.ag[i], "redis_connected") != 1; k++)
			agent_sleep_ms(100);
		ck_assert_msg(health_int(&f.ag[i], "redis_connected") == 1, "%s did not resubscribe",
			      f.ag[i].name);
	}
	{
		long long bells[FLEET_N];
		for (int i = 0; i < FLEET_N; i++)
			bells[i] = health_int(&f.ag[i], "doorbells");
		v = upload_text("after redis came back");
		t0 = now_s();
		id = fleet_deploy(&f, "hello", v, "\"immediate\"");
		ck_assert(fleet_wait_serving(&f, "hello", v, 30000));
		json_decref(fleet_wait_deployment(&f, id, "succeeded", 30000));
		free(id);
		for (int i = 0; i < FLEET_N; i++)
			ck_assert_msg(health_int(&f.ag[i], "doorbells") > bells[i],
				      "%s got no doorbell", f.ag[i].name);
		/* Informational: the doorbell path is much faster than the 10 s poll. */
		fprintf(stderr, "doorbell convergence: %.2f s\n", now_s() - t0);
	}

	/* ---- edgeplane stopped: serving goes on; a restarted agent serves from disk ---- */
	th_cp_kill(&f.cp, SIGTERM);
	all_serve(v);
	agent_kill(&f.ag[0]);
	agent_spawn(&f.ag[0], agent_env);
	{
		struct th_resp r;
		char label[64];
		snprintf(label, sizeof(label), "hello@%lld", v);
		ck_assert_int_eq(agent_get(&f.ag[0], "GET", "hello.acme.test", "/", NULL, 0, &r), 200);
		ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), label);
		ck_assert_ptr_nonnull(strstr(r.body, "after redis came back"));
		th_resp_free(&r);
	}
	all_serve(v);
	/* The control plane returns: the restarted agent syncs again and reports. */
	th_cp_restart(&f.cp, NULL);
	ck_assert(th_wait_http(th_cp_url(&f.cp, "/healthz"), 20000));
	v = upload_text("after the control plane came back");
	id = fleet_deploy(&f, "hello", v, "\"immediate\"");
	ck_assert(fleet_wait_serving(&f, "hello", v, 40000));
	json_decref(fleet_wait_deployment(&f, id, "succeeded", 40000));
	free(id);
	fleet_stop(&f);
}
END_TEST

/* Runs in the parent after the test, whatever happened: a failure while Redis was stopped must
 * not leave it down for the suites that follow (starting a running Redis is harmless). */
static void redis_back(void)
{
	char cmd[1200];

	snprintf(cmd, sizeof(cmd), "/bin/bash '%s' redis-start >/dev/null 2>&1",
		 th_top("scripts/services.sh"));
	if (system(cmd) != 0)
		fprintf(stderr, "test_agent_outage: could not restart Redis\n");
}

int main(void)
{
	Suite *s = suite_create("agent_outage");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 400);
	tcase_add_unchecked_fixture(tc, NULL, redis_back);
	tcase_add_test(tc, redis_and_control_plane_outages);
	suite_add_tcase(s, tc);
	return th_main(s);
}
