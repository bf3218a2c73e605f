/* bench/api: drives a running `edgeplane serve` (started by run.sh): creates a tenant with 50
 * modules, runs wrk against the module list and /healthz in turn, and times 1 MiB module
 * uploads. Prints req/s, p50 and p99 of each and their ratio to /healthz.
 * Usage: bench_api BASE_URL ADMIN_TOKEN SECONDS CONNECTIONS */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MODULES 50
#define UPLOADS 20
#define UPLOAD_BYTES (1024 * 1024)

static const char *base, *token;

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

/* One request; returns the HTTP status (0 when it could not be made). */
static long request(const char *method, const char *path, const char *ctype, const void *body,
		    size_t len)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], auth[256], ct[128];
	long status = 0;

	if (c == NULL)
		return 0;
	snprintf(url, sizeof url, "%s%s", base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Expect:");
	if (ctype != NULL) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		h = curl_slist_append(h, ct);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* A valid module of about `size` bytes: the empty module plus a custom section of padding
 * whose content depends on seed (so every upload is new content). */
static unsigned char *module_bytes(size_t size, unsigned seed, size_t *len)
{
	size_t pad = size - 16, payload = 2 + pad, nleb = 0, v = payload;
	unsigned char leb[5], *w;

	do {
		leb[nleb] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			leb[nleb] |= 0x80;
		nleb++;
	} while (v);
	*len = 9 + nleb + payload;
	w = malloc(*len);
	if (w == NULL)
		return NULL;
	memcpy(w, "\0asm\1\0\0\0", 8);
	w[8] = 0;
	memcpy(w + 9, leb, nleb);
	w[9 + nleb] = 1;
	w[10 + nleb] = 'n';
	for (size_t i = 0; i < pad; i++)
		w[11 + nleb + i] = (unsigned char)((i * 31u + seed * 7919u) >> 3);
	return w;
}

struct wrk_figures {
	double rps, p50_ms, p99_ms;
};

/* "12.34us" / "1.20ms" / "1.01s" -> milliseconds. */
static double to_ms(const char *v)
{
	char *end;
	double x = strtod(v, &end);

	if (strncmp(end, "us", 2) == 0)
		return x / 1000.0;
	if (strncmp(end, "ms", 2) == 0)
		return x;
	if (*end == 's')
		return x * 1000.0;
	return x;
}

static int run_wrk(const char *path, int secs, int conns, struct wrk_figures *out)
{
	char cmd[1024], line[512];
	FILE *p;

	snprintf(cmd, sizeof cmd,
		 "wrk -t2 -c%d -d%ds --latency -H 'Authorization: Bearer %s' '%s%s' 2>&1", conns, secs,
		 token, base, path);
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	memset(out, 0, sizeof *out);
	while (fgets(line, sizeof line, p) != NULL) {
		char v[64];
		if (sscanf(line, " 50%% %63s", v) == 1)
			out->p50_ms = to_ms(v);
		else if (sscanf(line, " 99%% %63s", v) == 1)
			out->p99_ms = to_ms(v);
		else if (sscanf(line, "Requests/sec: %lf", &out->rps) == 1)
			;
		else if (strstr(line, "Non-2xx") != NULL)
			fprintf(stderr, "wrk %s: %s", path, line);
	}
	return pclose(p) == 0 && out->rps > 0 ? 0 : -1;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct wrk_figures health, list;
	char path[256], body[128];
	int secs, conns;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_api BASE_URL ADMIN_TOKEN SECONDS CONNECTIONS\n");
		return 2;
	}
	base = argv[1];
	token = argv[2];
	secs = atoi(argv[3]);
	conns = atoi(argv[4]);
	curl_global_init(CURL_GLOBAL_ALL);
	const char *tenant = "{\"slug\":\"bench\",\"name\":\"Bench\"}";
	if (request("POST", "/v1/tenants", "application/json", tenant, strlen(tenant)) != 201) {
		fprintf(stderr, "bench_api: cannot create the tenant\n");
		return 1;
	}
	for (int i = 0; i < MODULES; i++) {
		int n = snprintf(body, sizeof body, "{\"name\":\"mod-%02d\"}", i);
		if (request("POST", "/v1/tenants/bench/modules", "application/json", body, (size_t)n) != 201) {
			fprintf(stderr, "bench_api: cannot create module %d\n", i);
			return 1;
		}
	}
	/* Warm-up, then the two endpoints one after the other on the same server. */
	run_wrk("/healthz", 1, conns, &health);
	if (run_wrk("/healthz", secs, conns, &health) < 0 ||
	    run_wrk("/v1/tenants/bench/modules", secs, conns, &list) < 0) {
		fprintf(stderr, "bench_api: wrk failed\n");
		return 1;
	}
	printf("wrk: %d connections, 2 threads, %d s each, loopback\n", conns, secs);
	printf("%-34s %10s %10s %10s %12s\n", "endpoint", "req/s", "p50 ms", "p99 ms", "vs /healthz");
	printf("%-34s %10.0f %10.3f %10.3f %12s\n", "GET /healthz", health.rps, health.p50_ms,
	       health.p99_ms, "1.00");
	printf("%-34s %10.0f %10.3f %10.3f %11.2fx\n", "GET /v1/tenants/{t}/modules (50)", list.rps,
	       list.p50_ms, list.p99_ms, list.rps / health.rps);

	/* 1 MiB uploads: validate, hash, store, sign, answer. */
	double t[UPLOADS];
	snprintf(path, sizeof path, "/v1/tenants/bench/modules/mod-00/versions");
	for (int i = 0; i < UPLOADS; i++) {
		size_t len;
		unsigned char *w = module_bytes(UPLOAD_BYTES, (unsigned)i + 1, &len);
		if (w == NULL)
			return 1;
		double t0 = now_ms();
		long st = request("POST", path, "application/wasm", w, len);
		t[i] = now_ms() - t0;
		free(w);
		if (st != 201) {
			fprintf(stderr, "bench_api: upload %d answered %ld\n", i, st);
			return 1;
		}
	}
	qsort(t, UPLOADS, sizeof t[0], cmp_double);
	printf("upload+store 1 MiB module (%d uploads): p50 %.2f ms, p99 %.2f ms, %.0f MB/s at p50\n",
	       UPLOADS, t[UPLOADS / 2], t[UPLOADS - 1], 1.048576 / (t[UPLOADS / 2] / 1000.0));
	curl_global_cleanup();
	return 0;
}
