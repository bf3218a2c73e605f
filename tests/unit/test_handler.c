/* Unit tests of runtime/handler.c with the guests of tests/guests/: the CGI round trip (request
 * -> environment -> handler -> parsed response) and the safety limits: an infinite loop stopped
 * by fuel and by the deadline, memory.grow past the cap, deep recursion, a 100 MiB flood of
 * stdout, traps, and modules that cannot run. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgi.h"
#include "runtime/handler.h"
#include "runtime/wasm.h"
#include "tests/lib/th.h"

static wasm_module *load(const char *name)
{
	char path[64], err[512];
	size_t len;

	snprintf(path, sizeof path, "%s.wasm", name);
	char *bytes = th_read_file(th_guest(path), &len);
	ck_assert_msg(bytes != NULL, "no %s (make guests)", path);
	wasm_module *m = wasm_module_load((const uint8_t *)bytes, len, err, sizeof err);
	ck_assert_msg(m != NULL, "%s: %s", path, err);
	free(bytes);
	return m;
}

/* Runs a module with the given limits and no arguments; the caller frees res. */
static void run(const char *name, const struct rt_limits *lim, const char *query,
		struct rt_result *res)
{
	wasm_module *m = load(name);
	char q[128];
	snprintf(q, sizeof q, "QUERY_STRING=%s", query ? query : "");
	const char *envp[] = {q, "PATH_INFO=/t", NULL};
	const char *argv[] = {name, NULL};

	ck_assert_int_eq(rt_run_command(m, argv, envp, NULL, 0, lim, res), 0);
	wasm_module_free(m);
}

START_TEST(hello_through_cgi)
{
	wasm_module *m = load("hello_handler");
	const struct cgi_header hs[] = {{"Host", "api.acme.example"}};
	struct cgi_request rq = {.method = "GET", .path = "/v1/hello", .query = "",
				 .server_name = "api.acme.example", .matched_route = "/v1/*",
				 .pop = "hnd1", .headers = hs, .n_headers = 1};
	char **envp;
	struct rt_result res;
	struct cgi_response resp;
	struct rt_limits lim = {.fuel = 10000000, .max_memory_bytes = 16u << 20,
				.max_stdout = 1 << 20, .max_stderr = 1 << 16};

	ck_assert_int_eq(cgi_env_build(&rq, &envp, NULL, 0), CGI_OK);
	ck_assert_int_eq(rt_run_command(m, NULL, (const char *const *)envp, NULL, 0, &lim, &res), 0);
	ck_assert_int_eq(res.outcome, RT_OK);
	ck_assert_int_eq(res.exit_code, 0);
	ck_assert_str_eq(res.message, "");
	ck_assert_int_eq(cgi_parse(res.out, res.out_len, &resp, NULL, 0), CGI_OK);
	ck_assert_int_eq(resp.status, 200);
	ck_assert_str_eq(resp.content_type, "text/plain");
	const char *want = "Hello from Edgeplane! /v1/hello\n";
	ck_assert_uint_eq(resp.body_len, strlen(want));
	ck_assert(memcmp(resp.body, want, resp.body_len) == 0);
	cgi_response_free(&resp);
	rt_result_free(&res);
	free(envp);
	wasm_module_free(m);
}
END_TEST

START_TEST(echo_sees_the_whole_request)
{
	wasm_module *m = load("handler_echo");
	const struct cgi_header hs[] = {{"X-Trace", "t1"}, {"Accept", "text/plain"},
					{"Content-Type", "application/json"}};
	const char *body = "{\"k\": [1, 2, 3]}";
	struct cgi_request rq = {.method = "PUT", .path = "/items/9", .query = "a=b&status=201",
				 .matched_route = "/items/*", .pop = "fra1", .headers = hs,
				 .n_headers = 3, .content_length = strlen(body)};
	char **envp;
	struct rt_result res;
	struct cgi_response resp;

	ck_assert_int_eq(cgi_env_build(&rq, &envp, NULL, 0), CGI_OK);
	ck_assert_int_eq(rt_run_command(m, NULL, (const char *const *)envp,
					(const uint8_t *)body, strlen(body), NULL, &res),
			 0);
	ck_assert_int_eq(res.outcome, RT_OK);
	ck_assert_int_eq(cgi_parse(res.out, res.out_len, &resp, NULL, 0), CGI_OK);
	ck_assert_int_eq(resp.status, 201);
	char *text = strndup((const char *)resp.body, resp.body_len);
	const char *expect[] = {"method: PUT\n", "path: /items/9\n", "query: a=b&status=201\n",
				"route: /items/*\n", "pop: fra1\n",
				"content-type: application/json\n", "content-length: 16\n",
				"header: HTTP_ACCEPT=text/plain\n", "header: HTTP_X_TRACE=t1\n",
				"body: {\"k\": [1, 2, 3]}"};
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
		ck_assert_msg(strstr(text, expect[i]) != NULL, "missing %s in:\n%s", expect[i], text);
	ck_assert(strstr(text, "HTTP_CONTENT_TYPE") == NULL);
	free(text);
	cgi_response_free(&resp);
	rt_result_free(&res);
	free(envp);
	wasm_module_free(m);
}
END_TEST

START_TEST(loop_stopped_by_fuel)
{
	struct rt_limits lim = {.fuel = 20000000};
	struct rt_result res;

	run("handler_loop", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_FUEL);
	ck_assert_int_eq(res.exit_code, -1);
	ck_assert(res.message[0] != '\0');
	rt_result_free(&res);
}
END_TEST

START_TEST(loop_stopped_by_deadline)
{
	struct rt_limits lim = {.timeout_ms = 100};
	struct rt_result res;

	run("handler_loop", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_TIMEOUT);
	ck_assert_int_eq(res.exit_code, -1);
	rt_result_free(&res);

	/* the agent's form: the same budget in CPU time of the running thread */
	lim.timeout_cpu = true;
	run("handler_loop", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_TIMEOUT);
	ck_assert_int_eq(res.exit_code, -1);
	rt_result_free(&res);
}
END_TEST

START_TEST(grow_stopped_by_memory_cap)
{
	struct rt_limits lim = {.max_memory_bytes = 16u << 20, .timeout_ms = 10000};
	struct rt_result res;

	run("handler_grow", &lim, NULL, &res);
	ck_assert_msg(res.outcome == RT_MEMORY, "outcome %s: %s", rt_outcome_name(res.outcome),
		      res.message);
	rt_result_free(&res);

	/* A cap below what the module needs at instantiation. */
	lim.max_memory_bytes = 65536;
	run("hello_handler", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_MEMORY);
	rt_result_free(&res);
}
END_TEST

START_TEST(deep_recursion_traps)
{
	struct rt_limits lim = {.timeout_ms = 10000};
	struct rt_result res;

	run("handler_recurse", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_TRAP);
	ck_assert_msg(strstr(res.message, "stack") != NULL, "message: %s", res.message);
	rt_result_free(&res);
}
END_TEST

START_TEST(flood_capped)
{
	struct rt_limits lim = {.max_stdout = 1 << 20, .timeout_ms = 10000};
	struct rt_result res;

	run("handler_flood", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_OUTPUT_LIMIT);
	ck_assert_uint_eq(res.out_len, 1 << 20);
	ck_assert(memcmp(res.out, "Content-Type: text/plain\n\nxxx", 29) == 0);
	rt_result_free(&res);
}
END_TEST

START_TEST(flood_uncapped_completes)
{
	struct rt_limits lim = {.timeout_ms = 20000};
	struct rt_result res;

	run("handler_flood", &lim, NULL, &res);
	ck_assert_int_eq(res.outcome, RT_OK);
	ck_assert_uint_eq(res.out_len, 26 + 100u * (1 << 20));
	rt_result_free(&res);
}
END_TEST

START_TEST(traps_keep_partial_output)
{
	struct rt_result res;
	static const char *const queries[] = {"", "abort", "div"};

	for (size_t i = 0; i < 3; i++) {
		run("handler_trap", NULL, queries[i], &res);
		ck_assert_int_eq(res.outcome, RT_TRAP);
		ck_assert_int_eq(res.exit_code, -1);
		ck_assert(res.message[0] != '\0');
		ck_assert_uint_eq(res.out_len, 33);
		ck_assert(memcmp(res.out, "Content-Type: text/plain\n\npartial", 33) == 0);
		if (i == 2)
			ck_assert_msg(strstr(res.message, "divi") != NULL, "%s", res.message);
		rt_result_free(&res);
	}
}
END_TEST

START_TEST(modules_that_cannot_run)
{
	static const char *const names[] = {"wasi_nostart", "wasi_badimport", "wasi_badsig"};
	struct rt_result res;

	for (size_t i = 0; i < 3; i++) {
		run(names[i], NULL, NULL, &res);
		ck_assert_msg(res.outcome == RT_ERROR, "%s: %s", names[i],
			      rt_outcome_name(res.outcome));
		ck_assert(res.message[0] != '\0');
		rt_result_free(&res);
	}
	ck_assert_int_eq(rt_run_command(NULL, NULL, NULL, NULL, 0, NULL, &res), RT_E_INVALID);
	ck_assert_int_eq(res.outcome, RT_ERROR);
	rt_result_free(&res);
	rt_result_free(NULL);
	ck_assert_str_eq(rt_outcome_name(RT_OUTPUT_LIMIT), "output_limit");
}
END_TEST

START_TEST(exit_code_is_reported)
{
	wasm_module *m = load("wasi_exit");
	const char *argv[] = {"wasi_exit", "exit", "9", NULL};
	struct rt_result res;

	ck_assert_int_eq(rt_run_command(m, argv, NULL, NULL, 0, NULL, &res), 0);
	ck_assert_int_eq(res.outcome, RT_OK);
	ck_assert_int_eq(res.exit_code, 9);
	ck_assert_uint_eq(res.out_len, strlen("ending with exit 9\n"));
	rt_result_free(&res);
	wasm_module_free(m);
}
END_TEST

/* Fresh instance per request: two threads run the same module concurrently, each request sees
 * only its own environment and output. */
static wasm_module *shared_mod;

static void *worker(void *arg)
{
	long id = (long)arg;
	char path[64], want[96];
	long bad = 0;

	for (int i = 0; i < 200; i++) {
		snprintf(path, sizeof path, "PATH_INFO=/w%ld/%d", id, i);
		snprintf(want, sizeof want, "Content-Type: text/plain\n\nHello from Edgeplane! /w%ld/%d\n",
			 id, i);
		const char *envp[] = {path, NULL};
		struct rt_result res;
		if (rt_run_command(shared_mod, NULL, envp, NULL, 0, NULL, &res) != 0 ||
		    res.outcome != RT_OK || res.out_len != strlen(want) ||
		    memcmp(res.out, want, res.out_len) != 0)
			bad++;
		rt_result_free(&res);
	}
	return (void *)bad;
}

START_TEST(concurrent_runs_are_isolated)
{
	pthread_t t[2];
	void *bad[2];

	shared_mod = load("hello_handler");
	for (long i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, worker, (void *)i), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(pthread_join(t[i], &bad[i]), 0);
	ck_assert_ptr_null(bad[0]);
	ck_assert_ptr_null(bad[1]);
	wasm_module_free(shared_mod);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("handler");
	TCase *tc = tcase_create("handler");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hello_through_cgi);
	tcase_add_test(tc, echo_sees_the_whole_request);
	tcase_add_test(tc, loop_stopped_by_fuel);
	tcase_add_test(tc, loop_stopped_by_deadline);
	tcase_add_test(tc, grow_stopped_by_memory_cap);
	tcase_add_test(tc, deep_recursion_traps);
	tcase_add_test(tc, flood_capped);
	tcase_add_test(tc, flood_uncapped_completes);
	tcase_add_test(tc, traps_keep_partial_output);
	tcase_add_test(tc, modules_that_cannot_run);
	tcase_add_test(tc, exit_code_is_reported);
	tcase_add_test(tc, concurrent_runs_are_isolated);
	suite_add_tcase(s, tc);
	return th_main(s);
}
