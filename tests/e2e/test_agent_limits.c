/* End-to-end: handlers that loop forever, grow memory without end, recurse without end or print
 * 100 MiB, deployed through the real control plane to three agents. Each request ends with a
 * 500 or 504 (with a request id) and the agents keep serving other requests meanwhile. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/e2e/test_agent_lib.h"
#include "tests/lib/th.h"

static struct fleet f;

struct bad_case {
	const char *module;
	const char *guest;
	long status; /* 0: 500 or 504, whichever limit comes first on a loaded machine */
};

static const struct bad_case cases[] = {
	{"loop", "handler_loop", 504},
	{"grow", "handler_grow", 0},
	{"recurse", "handler_recurse", 0},
	{"flood", "handler_flood", 0},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

struct shooter {
	const struct agent_proc *ap;
	const struct bad_case *c;
	int rounds;
	char failure[256];
};

/* Sends `rounds` requests to one bad handler, checking each answer. */
static void *shooter_main(void *arg)
{
	struct shooter *s = arg;
	char host[64];

	snprintf(host, sizeof(host), "%s.acme.test", s->c->module);
	for (int i = 0; i < s->rounds && s->failure[0] == '\0'; i++) {
		struct th_resp r;
		long st = agent_get(s->ap, "GET", host, "/", NULL, 0, &r);
		bool ok = s->c->status ? st == s->c->status : (st == 500 || st == 504);
		if (!ok)
			snprintf(s->failure, sizeof(s->failure), "%s answered %ld", s->c->module, st);
		else if (th_header(&r, "X-Request-Id") == NULL)
			snprintf(s->failure, sizeof(s->failure), "%s: no X-Request-Id", s->c->module);
		th_resp_free(&r);
	}
	return NULL;
}

START_TEST(runaway_handlers_are_contained)
{
	char *id;
	long long v;
	struct agent_hammer h[FLEET_N];
	struct shooter sh[FLEET_N][NCASES];
	pthread_t th_h[FLEET_N], th_s[FLEET_N][NCASES];

	fleet_start(&f, NULL, NULL);
	v = fleet_upload_guest(&f, "hello", "hello_handler");
	fleet_route(&f, "hello");
	id = fleet_deploy(&f, "hello", v, "\"immediate\"");
	json_decref(fleet_wait_deployment(&f, id, "succeeded", 60000));
	free(id);
	for (size_t c = 0; c < NCASES; c++) {
		v = fleet_upload_guest(&f, cases[c].module, cases[c].guest);
		fleet_route(&f, cases[c].module);
		id = fleet_deploy(&f, cases[c].module, v, "\"immediate\"");
		json_decref(fleet_wait_deployment(&f, id, "succeeded", 60000));
		free(id);
	}
	ck_assert(fleet_wait_serving(&f, "hello", 1, 10000));

	/* Every agent: runaway requests in parallel with ordinary traffic. */
	for (int i = 0; i < FLEET_N; i++) {
		h[i] = (struct agent_hammer){.ap = &f.ag[i]};
		ck_assert_int_eq(pthread_create(&th_h[i], NULL, agent_hammer_main, &h[i]), 0);
		for (size_t c = 0; c < NCASES; c++) {
			sh[i][c] = (struct shooter){.ap = &f.ag[i], .c = &cases[c], .rounds = 3};
			ck_assert_int_eq(pthread_create(&th_s[i][c], NULL, shooter_main, &sh[i][c]), 0);
		}
	}
	for (int i = 0; i < FLEET_N; i++)
		for (size_t c = 0; c < NCASES; c++)
			pthread_join(th_s[i][c], NULL);
	for (int i = 0; i < FLEET_N; i++) {
		h[i].stop = true;
		pthread_join(th_h[i], NULL);
	}
	for (int i = 0; i < FLEET_N; i++) {
		for (size_t c = 0; c < NCASES; c++)
			ck_assert_msg(sh[i][c].failure[0] == '\0', "%s: %s", f.ag[i].name,
				      sh[i][c].failure);
		ck_assert_msg(h[i].ok > 0 && h[i].bad == 0, "%s: hello ok %d, failed %d",
			      f.ag[i].name, h[i].ok, h[i].bad);
		/* Still alive and well afterwards. */
		json_t *j = agent_health(&f.ag[i]);
		ck_assert_ptr_nonnull(j);
		json_decref(j);
	}
	fleet_stop(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_limits");
	TCase *tc = tcase_create("e2e");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, runaway_handlers_are_contained);
	suite_add_tcase(s, tc);
	return th_main(s);
}
