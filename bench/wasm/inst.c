/* bench/wasm/inst.c: start-up costs measured inside one process (issue 4 "Measured").
 *   inst HELLO.wasm BIG.wasm [ITERATIONS]
 * hello: instantiate + run `_start` + free per request (rt_run_command), the whole request path
 * (cgi_env_build + run + cgi_parse) and instantiate + free alone, each as the median of
 * ITERATIONS (default 2000) after a warm-up; big: load + validate + compile (median of 200). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/cgi.h"
#include "runtime/handler.h"
#include "runtime/wasi.h"
#include "runtime/wasm.h"

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = n > 0 ? malloc((size_t)n) : NULL;
	if (b == NULL || fread(b, 1, (size_t)n, f) != (size_t)n) {
		free(b);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Sorts t[0..n) and prints median, p10 and p90 in microseconds. */
static void report_us(const char *what, uint64_t *t, size_t n)
{
	qsort(t, n, sizeof *t, cmp_u64);
	printf("%-52s median %8.2f us   p10 %8.2f   p90 %8.2f   (n=%zu)\n", what,
	       (double)t[n / 2] / 1e3, (double)t[n / 10] / 1e3, (double)t[n * 9 / 10] / 1e3, n);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: inst HELLO.wasm BIG.wasm [ITERATIONS]\n");
		return 2;
	}
	size_t iters = argc > 3 ? (size_t)strtoul(argv[3], NULL, 10) : 2000;
	if (iters < 10)
		iters = 10;
	size_t hlen, blen;
	uint8_t *hb = read_file(argv[1], &hlen), *bb = read_file(argv[2], &blen);
	char err[512];
	if (hb == NULL || bb == NULL) {
		fprintf(stderr, "inst: cannot read %s or %s\n", argv[1], argv[2]);
		return 1;
	}
	uint64_t *t = calloc(iters > 200 ? iters : 200, sizeof *t);
	if (t == NULL)
		return 1;

	uint64_t t0 = now_ns();
	wasm_module *hello = wasm_module_load(hb, hlen, err, sizeof err);
	uint64_t t_load = now_ns() - t0;
	if (hello == NULL) {
		fprintf(stderr, "inst: %s: %s\n", argv[1], err);
		return 1;
	}
	printf("hello.wasm (%zu bytes): load+validate+compile %.1f us (once)\n", hlen,
	       (double)t_load / 1e3);

	const char *envp[] = {"REQUEST_METHOD=GET", "PATH_INFO=/bench", NULL};
	struct rt_limits lim = {.fuel = 50000000, .max_memory_bytes = 128u << 20,
				.max_stdout = 8u << 20, .max_stderr = 1u << 20};
	struct rt_result res;
	size_t warm = iters / 10;

	/* 1. instantiate + run + free, through the handler API the agent uses. */
	for (size_t i = 0; i < warm + iters; i++) {
		uint64_t s = now_ns();
		rt_run_command(hello, NULL, envp, NULL, 0, &lim, &res);
		uint64_t e = now_ns();
		if (res.outcome != RT_OK) {
			fprintf(stderr, "inst: hello failed: %s\n", res.message);
			return 1;
		}
		rt_result_free(&res);
		if (i >= warm)
			t[i - warm] = e - s;
	}
	report_us("hello: instantiate+run+free (rt_run_command)", t, iters);

	/* 2. the whole request path of the agent, minus HTTP. */
	const struct cgi_header hs[] = {{"Host", "bench.example"}, {"Accept", "*/*"},
					{"User-Agent", "bench/1.0"}};
	struct cgi_request rq = {.method = "GET", .path = "/bench", .query = "a=1",
				 .server_name = "bench.example", .matched_route = "/*",
				 .pop = "local", .headers = hs, .n_headers = 3};
	for (size_t i = 0; i < warm + iters; i++) {
		char **env;
		struct cgi_response resp;
		uint64_t s = now_ns();
		if (cgi_env_build(&rq, &env, NULL, 0) != CGI_OK)
			return 1;
		rt_run_command(hello, NULL, (const char *const *)env, NULL, 0, &lim, &res);
		int ok = res.outcome == RT_OK &&
			 cgi_parse(res.out, res.out_len, &resp, NULL, 0) == CGI_OK;
		cgi_response_free(&resp);
		rt_result_free(&res);
		free(env);
		uint64_t e = now_ns();
		if (!ok) {
			fprintf(stderr, "inst: request path failed\n");
			return 1;
		}
		if (i >= warm)
			t[i - warm] = e - s;
	}
	report_us("hello: cgi_env_build + run + cgi_parse", t, iters);

	/* 3. instantiate + free alone. */
	const wasm_imports *imp = wasi_imports_shared();
	struct wasm_limits wl = {.fuel = lim.fuel, .max_memory_bytes = lim.max_memory_bytes};
	for (size_t i = 0; i < warm + iters; i++) {
		wasm_instance *in;
		uint64_t s = now_ns();
		if (wasm_instance_create(hello, imp, &wl, &in, err, sizeof err) != WASM_OK) {
			fprintf(stderr, "inst: instantiate: %s\n", err);
			return 1;
		}
		wasm_instance_free(in);
		uint64_t e = now_ns();
		if (i >= warm)
			t[i - warm] = e - s;
	}
	report_us("hello: instantiate+free only", t, iters);
	wasm_module_free(hello);

	/* 4. big.wasm: load + validate + compile. */
	size_t bn = 200;
	for (size_t i = 0; i < bn + 5; i++) {
		uint64_t s = now_ns();
		wasm_module *m = wasm_module_load(bb, blen, err, sizeof err);
		uint64_t e = now_ns();
		if (m == NULL) {
			fprintf(stderr, "inst: %s: %s\n", argv[2], err);
			return 1;
		}
		wasm_module_free(m);
		if (i >= 5)
			t[i - 5] = e - s;
	}
	qsort(t, bn, sizeof *t, cmp_u64);
	printf("big.wasm (%zu bytes): load+validate+compile median %.3f ms   p90 %.3f ms   (n=%zu)\n",
	       blen, (double)t[bn / 2] / 1e6, (double)t[bn * 9 / 10] / 1e6, bn);
	free(t);
	free(hb);
	free(bb);
	return 0;
}
