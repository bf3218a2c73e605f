/* bench/fanout/fanout.c: how fast an "immediate" deployment reaches a fleet. N simulated
 * agents (each with its own Redis subscription to edgeplane:pop:<name> and its own libcurl
 * HTTP client) wait for the doorbell, pull GET /v1/agent/desired, fetch the 100 KiB blob,
 * check its SHA-256 and report it active. Prints the time from the POST of the deployment to
 * the last agent's report, and the per-agent p50/p99.
 * Usage: fanout --cp URL --admin TOKEN --redis URL --agents N [--threads T] [--kib K] */
#include <curl/curl.h>
#include <errno.h>
#include <hiredis.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

struct agent {
	char pop[32];
	char token[96];
	redisContext *rc;
	CURL *curl;
	bool bell;
	bool done;
	double t_active; /* seconds after the POST */
	long long last_pull;
};

static struct {
	const char *cp, *admin, *redis;
	int n, threads, kib;
	struct agent *agents;
	atomic_int ready, done;
	atomic_bool go, stop;
	double t0;
	int target_version;
	atomic_int pulls, bells;
} g;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *fmt, const char *a)
{
	fprintf(stderr, "fanout: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	exit(1);
}

/* Closing with RST instead of FIN leaves no TIME_WAIT behind: thousands of them would hold
 * ephemeral ports that other programs on this machine (test services) want to bind. */
static int no_linger(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	struct linger l = {1, 0};

	(void)ud;
	(void)purpose;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
	return CURL_SOCKOPT_OK;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_append(ud, p, size * n) ? size * n : 0;
}

/* One request on handle c; returns the status and the body in out (caller frees). */
static long http(CURL *c, const char *method, const char *path, const char *token,
		 const char *ctype, const void *body, size_t len, struct buf *out)
{
	char url[512], auth[160], ct[96];
	struct curl_slist *h = NULL;
	long status = 0;

	memset(out, 0, sizeof *out);
	snprintf(url, sizeof url, "%s%s", g.cp, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	h = curl_slist_append(h, auth);
	if (body != NULL) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype ? ctype : "application/json");
		h = curl_slist_append(h, ct);
	}
	h = curl_slist_append(h, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPGET, body == NULL ? 1L : 0L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, no_linger);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	if (out->data == NULL)
		buf_puts(out, "");
	return status;
}

static json_t *http_json(CURL *c, const char *method, const char *path, const char *token,
			 const char *body, long want)
{
	struct buf b;
	long st = http(c, method, path, token, NULL, body, body ? strlen(body) : 0, &b);
	json_t *j;

	if (st != want) {
		fprintf(stderr, "fanout: %s %s: %ld %s\n", method, path, st, b.data);
		exit(1);
	}
	j = json_loads(b.data, 0, NULL);
	buf_free(&b);
	return j;
}

static void subscribe(struct agent *a)
{
	const char *hp = strstr(g.redis, "://");
	char host[128];
	redisReply *rep;

	hp = hp ? hp + 3 : g.redis;
	snprintf(host, sizeof host, "%.*s", (int)strcspn(hp, ":"), hp);
	a->rc = redisConnect(host, atoi(hp + strcspn(hp, ":") + 1));
	if (a->rc == NULL || a->rc->err)
		die("redis connect: %s", a->rc ? a->rc->errstr : "out of memory");
	rep = redisCommand(a->rc, "SUBSCRIBE edgeplane:pop:%s", a->pop);
	if (rep == NULL)
		die("subscribe: %s", a->rc->errstr);
	freeReplyObject(rep);
}

/* Pull, fetch, verify, activate, report: what a real agent does on a doorbell. */
static void pull(struct agent *a)
{
	json_t *d, *m;
	size_t i;
	int version = 0;
	char blob_url[160] = "", digest[80] = "";
	long long size = 0;

	a->bell = false;
	a->last_pull = (long long)(now_s() * 1000);
	atomic_fetch_add(&g.pulls, 1);
	d = http_json(a->curl, "GET", "/v1/agent/desired", a->token, NULL, 200);
	json_array_foreach(json_object_get(d, "modules"), i, m) {
		version = (int)json_integer_value(json_object_get(m, "version"));
		snprintf(blob_url, sizeof blob_url, "%s", json_string_value(json_object_get(m, "blob_url")));
		snprintf(digest, sizeof digest, "%s", json_string_value(json_object_get(m, "digest")));
		size = json_integer_value(json_object_get(m, "size"));
	}
	long long gen = json_integer_value(json_object_get(d, "generation"));
	json_decref(d);
	if (version != g.target_version || a->done)
		return;
	struct buf b;
	long st = http(a->curl, "GET", blob_url, a->token, NULL, NULL, 0, &b);
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	crypto_hash_sha256(h, (const unsigned char *)b.data, b.len);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	if (st != 200 || (long long)b.len != size || strcmp(hex, digest + 7) != 0)
		die("blob %s does not match its digest", blob_url);
	buf_free(&b);
	char report[512];
	snprintf(report, sizeof report,
		 "{\"generation\":%lld,\"agent\":{\"version\":\"fanout\",\"uptime_seconds\":1},"
		 "\"modules\":[{\"tenant\":\"bench\",\"module\":\"fanout\",\"version\":%d,"
		 "\"state\":\"active\",\"error\":null,\"requests\":0,\"errors\":0,\"p99_ms\":null}]}",
		 gen, version);
	json_decref(http_json(a->curl, "POST", "/v1/agent/report", a->token, report, 200));
	a->t_active = now_s() - g.t0;
	a->done = true;
	/* Its keep-alive connection is closed now, so 1000 agents stay within the server's
	 * connection limit (a fresh handle is what the next pull would use). */
	curl_easy_cleanup(a->curl);
	a->curl = curl_easy_init();
	atomic_fetch_add(&g.done, 1);
}

static void *agent_thread(void *arg)
{
	int t = (int)(long)arg, from = g.n * t / g.threads, to = g.n * (t + 1) / g.threads;
	int count = to - from;
	struct pollfd *fds = calloc((size_t)count, sizeof *fds);

	for (int i = from; i < to; i++) {
		struct agent *a = &g.agents[i];
		subscribe(a);
		a->curl = curl_easy_init();
		if (a->curl == NULL)
			die("%scurl_easy_init failed", "");
		/* A real agent pulls on start; that pull happened before the measurement. */
		a->last_pull = (long long)(now_s() * 1000);
		fds[i - from].fd = a->rc->fd;
		fds[i - from].events = POLLIN;
		atomic_fetch_add(&g.ready, 1);
	}
	while (!atomic_load(&g.stop)) {
		int n = poll(fds, (nfds_t)count, 20);
		for (int k = 0; n > 0 && k < count; k++) {
			struct agent *a = &g.agents[from + k];
			void *reply;
			if (!(fds[k].revents & POLLIN))
				continue;
			if (redisBufferRead(a->rc) != REDIS_OK)
				die("redis read: %s", a->rc->errstr);
			while (redisGetReplyFromReader(a->rc, &reply) == REDIS_OK && reply != NULL) {
				redisReply *r = reply;
				if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
					a->bell = true;
					atomic_fetch_add(&g.bells, 1);
				}
				freeReplyObject(r);
			}
		}
		long long now = (long long)(now_s() * 1000);
		for (int k = 0; k < count; k++) {
			struct agent *a = &g.agents[from + k];
			/* Like real agents: also poll every 30 s, in case a doorbell was lost. */
			if (atomic_load(&g.go) && !a->done && (a->bell || now - a->last_pull > 30000))
				pull(a);
		}
	}
	free(fds);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct rlimit rl;
	CURL *admin;
	pthread_t *th;
	char body[512], path[256];
	json_t *j;

	g.threads = 16;
	g.kib = 100;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--cp") == 0) g.cp = argv[i + 1];
		else if (strcmp(argv[i], "--admin") == 0) g.admin = argv[i + 1];
		else if (strcmp(argv[i], "--redis") == 0) g.redis = argv[i + 1];
		else if (strcmp(argv[i], "--agents") == 0) g.n = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--threads") == 0) g.threads = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--kib") == 0) g.kib = atoi(argv[i + 1]);
		else die("unknown option %s", argv[i]);
	}
	if (g.cp == NULL || g.admin == NULL || g.redis == NULL || g.n < 1 || g.threads < 1)
		die("%susage: fanout --cp URL --admin TOKEN --redis URL --agents N [--threads T] [--kib K]", "");
	if (g.threads > g.n)
		g.threads = g.n;
	/* Two sockets per agent. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_ALL) != 0)
		die("%sinit failed", "");
	g.agents = calloc((size_t)g.n, sizeof *g.agents);
	admin = curl_easy_init();
	if (g.agents == NULL || admin == NULL)
		die("%sout of memory", "");

	/* The fleet: a tenant, N PoPs with an agent token each, a module with a 100 KiB version. */
	double ts = now_s();
	json_decref(http_json(admin, "POST", "/v1/tenants", g.admin, "{\"slug\":\"bench\",\"name\":\"Bench\"}", 201));
	for (int i = 0; i < g.n; i++) {
		struct agent *a = &g.agents[i];
		snprintf(a->pop, sizeof a->pop, "pop%04d", i);
		snprintf(body, sizeof body, "{\"name\":\"%s\",\"region\":\"bench\",\"labels\":{}}", a->pop);
		json_decref(http_json(admin, "POST", "/v1/pops", g.admin, body, 201));
		snprintf(body, sizeof body, "{\"role\":\"agent\",\"pop\":\"%s\",\"name\":\"a-%s\"}", a->pop, a->pop);
		j = http_json(admin, "POST", "/v1/tokens", g.admin, body, 201);
		snprintf(a->token, sizeof a->token, "%s", json_string_value(json_object_get(j, "secret")));
		json_decref(j);
	}
	json_decref(http_json(admin, "POST", "/v1/tenants/bench/modules", g.admin, "{\"name\":\"fanout\"}", 201));
	size_t pad = (size_t)g.kib * 1024, wl = 8 + 1 + 5 + 2 + pad, p = 0;
	unsigned char *w = malloc(wl);
	memcpy(w, "\0asm\1\0\0\0", 8);
	p = 8;
	w[p++] = 0;
	for (size_t n = 2 + pad;;) {
		unsigned char b = n & 0x7f;
		n >>= 7;
		w[p++] = (unsigned char)(b | (n ? 0x80 : 0));
		if (n == 0)
			break;
	}
	w[p++] = 1;
	w[p++] = 'b';
	randombytes_buf(w + p, pad); /* incompressible */
	p += pad;
	struct buf rb;
	long st = http(admin, "POST", "/v1/tenants/bench/modules/fanout/versions", g.admin,
		       "application/wasm", w, p, &rb);
	if (st != 201)
		die("upload: %s", rb.data);
	j = json_loads(rb.data, 0, NULL);
	g.target_version = (int)json_integer_value(json_object_get(j, "version"));
	json_decref(j);
	buf_free(&rb);
	free(w);
	printf("fanout: setup of %d PoPs/agents took %.1f s\n", g.n, now_s() - ts);

	/* Agents: subscribe, then wait for the doorbell. */
	th = calloc((size_t)g.threads, sizeof *th);
	for (int t = 0; t < g.threads; t++)
		pthread_create(&th[t], NULL, agent_thread, (void *)(long)t);
	while (atomic_load(&g.ready) < g.n)
		usleep(10000);
	usleep(200000);
	g.t0 = now_s();
	atomic_store(&g.go, true);
	snprintf(body, sizeof body, "{\"module\":\"fanout\",\"version\":%d,\"strategy\":\"immediate\"}",
		 g.target_version);
	j = http_json(admin, "POST", "/v1/tenants/bench/deployments", g.admin, body, 201);
	double t_post = now_s() - g.t0;
	snprintf(path, sizeof path, "/v1/tenants/bench/deployments/%s",
		 json_string_value(json_object_get(j, "id")));
	json_decref(j);
	while (atomic_load(&g.done) < g.n && now_s() - g.t0 < 120)
		usleep(2000);
	double t_last = now_s() - g.t0;
	/* And the deployment itself ends `succeeded` once the scheduler has seen every report. */
	double t_succ = -1;
	while (now_s() - g.t0 < 120) {
		j = http_json(admin, "GET", path, g.admin, NULL, 200);
		bool ok = strcmp(json_string_value(json_object_get(j, "state")), "succeeded") == 0;
		json_decref(j);
		if (ok) {
			t_succ = now_s() - g.t0;
			break;
		}
		usleep(5000);
	}
	atomic_store(&g.stop, true);
	for (int t = 0; t < g.threads; t++)
		pthread_join(th[t], NULL);
	if (atomic_load(&g.done) < g.n) {
		printf("fanout: only %d of %d agents activated within 120 s\n", atomic_load(&g.done), g.n);
		return 1;
	}
	double *lat = malloc((size_t)g.n * sizeof *lat);
	for (int i = 0; i < g.n; i++)
		lat[i] = g.agents[i].t_active;
	qsort(lat, (size_t)g.n, sizeof *lat, cmp_double);
	printf("fanout: N=%d agents, %d KiB module, immediate deployment\n", g.n, g.kib);
	printf("  POST answered after            %7.3f s\n", t_post);
	printf("  last agent reported active at  %7.3f s after the POST\n", t_last);
	printf("  per-agent active: p50 %.3f s, p99 %.3f s, min %.3f s\n", lat[g.n / 2],
	       lat[(int)((g.n - 1) * 0.99)], lat[0]);
	printf("  deployment succeeded at        %7.3f s\n", t_succ);
	printf("  doorbells received %d, pulls %d\n", atomic_load(&g.bells), atomic_load(&g.pulls));
	for (int i = 0; i < g.n; i++) {
		redisFree(g.agents[i].rc);
		curl_easy_cleanup(g.agents[i].curl);
	}
	curl_easy_cleanup(admin);
	free(lat);
	free(th);
	free(g.agents);
	return 0;
}
