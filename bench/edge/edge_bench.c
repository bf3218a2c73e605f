/* bench/edge: edge-agent throughput and memory. A small in-process control plane (desired state,
 * blobs, reports; manifests signed with the signing library) feeds one real edge-agent the hello
 * handler; wrk then loads the edge listener (a fresh Wasm instance per request) and, in the same
 * run, the admin /healthz of the same agent, so the ratio shows the cost of running a handler
 * over the HTTP server alone. Finally the agent's RSS idle and with 100 modules loaded.
 * Usage: edge_bench BUILD [SECONDS] [CONNECTIONS] */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signing/signing.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *desired;                 /* JSON text served at /v1/agent/desired */
static unsigned char *blob;           /* the hello handler */
static size_t blob_len;
static char blob_digest[SIGN_DIGEST_LEN + 1];

static void die(const char *what)
{
	fprintf(stderr, "edge_bench: %s\n", what);
	exit(1);
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &l) != 0)
		die("no free port");
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static enum MHD_Result on_cp(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **req_cls)
{
	static int marker;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	(void)data;
	if (*req_cls == NULL) {
		*req_cls = &marker;
		return MHD_YES;
	}
	if (*size > 0) {
		*size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&lock);
	if (strcmp(url, "/v1/agent/desired") == 0)
		r = MHD_create_response_from_buffer(strlen(desired), desired, MHD_RESPMEM_MUST_COPY);
	else if (strncmp(url, "/v1/blobs/", 10) == 0 && strcmp(url + 10, blob_digest) == 0)
		r = MHD_create_response_from_buffer(blob_len, blob, MHD_RESPMEM_MUST_COPY);
	else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/agent/report") == 0)
		r = MHD_create_response_from_buffer(2, "{}", MHD_RESPMEM_PERSISTENT);
	else
		r = NULL;
	pthread_mutex_unlock(&lock);
	if (r == NULL) {
		r = MHD_create_response_from_buffer(2, "{}", MHD_RESPMEM_PERSISTENT);
		ret = MHD_queue_response(c, 404, r);
	} else {
		ret = MHD_queue_response(c, 200, r);
	}
	MHD_destroy_response(r);
	return ret;
}

/* Desired state with n modules m0..m(n-1) (hello is m0, routed at hello.bench.test). */
static void set_desired(const sign_key *k, long long gen, int n)
{
	json_t *mods = json_array(), *routes = json_array(), *d;
	char err[256];

	for (int i = 0; i < n; i++) {
		struct sign_manifest m = {0};
		char sig[SIGN_SIGNATURE_B64_LEN + 1], url[128], host[64], name[16], *canon;
		size_t clen;

		snprintf(name, sizeof(name), i == 0 ? "hello" : "m%d", i);
		snprintf(m.tenant, sizeof(m.tenant), "bench");
		snprintf(m.module, sizeof(m.module), "%s", name);
		m.version = 1;
		snprintf(m.digest, sizeof(m.digest), "%s", blob_digest);
		m.size = blob_len;
		snprintf(m.created_at, sizeof(m.created_at), "2026-12-03T10:00:00Z");
		snprintf(m.key_id, sizeof(m.key_id), "%s", sign_key_id(k));
		if (sign_manifest_sign(k, &m, sig, err, sizeof(err)) != SIGN_OK ||
		    sign_manifest_canonical(&m, &canon, &clen, err, sizeof(err)) != SIGN_OK)
			die(err);
		snprintf(url, sizeof(url), "/v1/blobs/%s", blob_digest);
		json_array_append_new(mods, json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:s,s:s}", "tenant",
						      "bench", "module", name, "version", 1, "digest",
						      blob_digest, "size", (json_int_t)blob_len,
						      "manifest", json_loads(canon, 0, NULL),
						      "signature", sig, "blob_url", url));
		free(canon);
		snprintf(host, sizeof(host), "%s.bench.test", name);
		json_array_append_new(routes, json_pack("{s:s,s:s,s:s,s:s}", "tenant", "bench", "host",
							host, "path", "/*", "module", name));
	}
	d = json_pack("{s:s,s:I,s:o,s:o}", "pop", "bench1", "generation", (json_int_t)gen, "modules",
		      mods, "routes", routes);
	pthread_mutex_lock(&lock);
	free(desired);
	desired = json_dumps(d, JSON_COMPACT);
	pthread_mutex_unlock(&lock);
	json_decref(d);
}

/* Runs a shell command and returns its stdout (caller frees). */
static char *capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	char *out = NULL;
	size_t cap = 0, len = 0, n;
	char buf[4096];

	if (p == NULL)
		die("popen");
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			if (out == NULL)
				die("out of memory");
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	pclose(p);
	if (out == NULL)
		out = strdup("");
	else
		out[len] = '\0';
	return out;
}

/* The agent's generation from /healthz (-2 when it does not answer). */
static long long generation(int admin_port)
{
	char cmd[256], *out;
	json_t *j;
	long long g = -2;

	snprintf(cmd, sizeof(cmd), "curl -s -m 2 http://127.0.0.1:%d/healthz", admin_port);
	out = capture(cmd);
	j = json_loads(out, 0, NULL);
	if (json_is_integer(json_object_get(j, "generation")))
		g = json_integer_value(json_object_get(j, "generation"));
	json_decref(j);
	free(out);
	return g;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* wrk figures: requests/s, p50 and p99 in ms. */
struct figures {
	double rps, p50, p99;
	long errors;
};

static double to_ms(const char *v)
{
	double x = atof(v);
	if (strstr(v, "us"))
		return x / 1000.0;
	if (strstr(v, "ms"))
		return x;
	if (strstr(v, "s"))
		return x * 1000.0;
	return x;
}

static struct figures run_wrk(const char *url, const char *host, int secs, int conns)
{
	char cmd[512], *out, *p, v[32];
	struct figures f = {0};

	snprintf(cmd, sizeof(cmd),
		 "wrk -t2 -c%d -d%ds --latency %s%s%s '%s' 2>&1", conns, secs, host ? "-H 'Host: " : "",
		 host ? host : "", host ? "'" : "", url);
	out = capture(cmd);
	if ((p = strstr(out, "Requests/sec:")) != NULL)
		f.rps = atof(p + 13);
	if ((p = strstr(out, " 50%")) != NULL && sscanf(p + 4, "%31s", v) == 1)
		f.p50 = to_ms(v);
	if ((p = strstr(out, " 99%")) != NULL && sscanf(p + 4, "%31s", v) == 1)
		f.p99 = to_ms(v);
	if ((p = strstr(out, "Non-2xx or 3xx responses:")) != NULL)
		f.errors = atol(p + 26);
	if (f.rps == 0)
		fprintf(stderr, "wrk output:\n%s\n", out);
	free(out);
	return f;
}

int main(int argc, char **argv)
{
	const char *build = argc > 1 ? argv[1] : "build";
	int secs = argc > 2 ? atoi(argv[2]) : 10, conns = argc > 3 ? atoi(argv[3]) : 16;
	char dir[] = "/tmp/edge-bench-XXXXXX", path[1024], err[256], agent[1024], url[256];
	sign_key *k;
	struct MHD_Daemon *d;
	int cp_port = free_port(), port = free_port(), admin = free_port();
	pid_t pid;
	FILE *f;
	long idle, loaded;
	struct figures edge, health, noroute;

	if (mkdtemp(dir) == NULL)
		die("mkdtemp");
	snprintf(path, sizeof(path), "%s/guests/hello_handler.wasm", build);
	f = fopen(path, "rb");
	if (f == NULL)
		die("guests/hello_handler.wasm not built");
	blob = malloc(16u << 20);
	blob_len = fread(blob, 1, 16u << 20, f);
	fclose(f);
	sign_digest(blob, blob_len, blob_digest);
	if (sign_key_generate(&k, err, sizeof(err)) != SIGN_OK)
		die(err);
	snprintf(path, sizeof(path), "%s/trusted.keys", dir);
	f = fopen(path, "w");
	if (f == NULL)
		die("trust file");
	fprintf(f, "%s %s\n", sign_key_id(k), sign_key_public_b64(k));
	fclose(f);
	set_desired(k, 1, 1);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
			     (uint16_t)cp_port, NULL, NULL, on_cp, NULL, MHD_OPTION_END);
	if (d == NULL)
		die("fake control plane");

	snprintf(agent, sizeof(agent), "%s/bin/edge-agent", build);
	pid = fork();
	if (pid == 0) {
		char e[8][1100];
		snprintf(e[0], sizeof(e[0]), "EDGE_AGENT_CONTROL_PLANE=http://127.0.0.1:%d", cp_port);
		snprintf(e[1], sizeof(e[1]), "EDGE_AGENT_TOKEN=ept_bench");
		snprintf(e[2], sizeof(e[2]), "EDGE_AGENT_TRUSTED_KEYS=%s", path);
		snprintf(e[3], sizeof(e[3]), "EDGE_AGENT_LISTEN=127.0.0.1:%d", port);
		snprintf(e[4], sizeof(e[4]), "EDGE_AGENT_ADMIN_LISTEN=127.0.0.1:%d", admin);
		snprintf(e[5], sizeof(e[5]), "EDGE_AGENT_STATE_DIR=%s/state", dir);
		snprintf(e[6], sizeof(e[6]), "EDGE_AGENT_REDIS_URL=redis://127.0.0.1:%d", free_port());
		snprintf(e[7], sizeof(e[7]), "EDGEPLANE_LOG_LEVEL=warn");
		for (int i = 0; i < 8; i++)
			putenv(e[i]);
		execl(agent, agent, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && generation(admin) != 1; i++)
		usleep(100000);
	if (generation(admin) != 1)
		die("the agent did not apply the desired state");
	sleep(1);
	idle = rss_kib(pid);

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	edge = run_wrk(url, "hello.bench.test", secs, conns);
	/* The same edge server without a handler (no route: a 404 problem+json), which isolates
	 * what the Wasm instance costs from what the HTTP server and routing cost. */
	noroute = run_wrk(url, "nobody.bench.test", secs, conns);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", admin);
	health = run_wrk(url, NULL, secs, conns);

	set_desired(k, 2, 100);
	for (int i = 0; i < 600 && generation(admin) != 2; i++)
		usleep(100000);
	sleep(1);
	loaded = rss_kib(pid);

	printf("bench/edge: wrk -t2 -c%d -d%ds on loopback, one edge-agent (%s)\n", conns, secs,
	       "fresh Wasm instance per request");
	printf("  edge   hello handler : %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  (non-2xx %ld)\n",
	       edge.rps, edge.p50, edge.p99, edge.errors);
	printf("  edge   no route (404): %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  (non-2xx %ld)\n",
	       noroute.rps, noroute.p50, noroute.p99, noroute.errors);
	printf("  admin  /healthz      : %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  (non-2xx %ld)\n",
	       health.rps, health.p50, health.p99, health.errors);
	printf("  ratio edge/healthz   : %9.2f (req/s; the edge listener has a thread pool, the admin"
	       " listener one thread)\n", health.rps > 0 ? edge.rps / health.rps : 0);
	printf("  ratio edge/no route  : %9.2f (req/s; same server, with and without the handler)\n",
	       noroute.rps > 0 ? edge.rps / noroute.rps : 0);
	printf("  RSS idle, 1 module   : %6ld KiB\n", idle);
	printf("  RSS with 100 modules : %6ld KiB (generation %lld applied)\n", loaded,
	       generation(admin));

	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	MHD_stop_daemon(d);
	sign_key_destroy(k);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "edge_bench: could not remove %s\n", dir);
	free(blob);
	free(desired);
	return 0;
}
