/* Process-level tests of edge-agent against a small control plane written here (a test double
 * for the unit level: real HTTP, real signatures from the signing library, real edge-agent and
 * runtime). It serves a desired state, blobs and the report endpoint; the end-to-end tests in
 * tests/e2e run the same scenarios against the real edgeplane. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signing/signing.h"
#include "tests/e2e/test_agent_lib.h"
#include "tests/lib/th.h"

#define TOKEN "ept_fake_agent_token"
#define MAXBLOBS 16

/* ---- the fake control plane ---------------------------------------------------------------- */

struct blob {
	char digest[SIGN_DIGEST_LEN + 1];
	unsigned char *bytes; /* what is served (may differ from the digest on purpose) */
	size_t len;
	int gets;             /* GETs of this blob (control plane and mirror) */
};

static struct {
	pthread_mutex_t lock;
	struct MHD_Daemon *d;
	int port;
	char url[64];
	bool down;            /* answer 503 to everything */
	char *desired;        /* JSON text */
	long long generation;
	struct blob blobs[MAXBLOBS];
	size_t n_blobs;
	json_t *last_report;
	int reports;
	int desired_pulls;
	int mirror_gets;      /* blob GETs on /mirror/ (another origin, no token needed) */
	bool mirror_saw_auth; /* some /mirror/ GET carried an Authorization header */
} cp = {.lock = PTHREAD_MUTEX_INITIALIZER};

static sign_key *key, *rogue;
static char *dir, trust_path[512];

struct upload {
	char buf[65536];
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *body,
			     size_t len, const char *ctype)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								  MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", ctype);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_cp(void *cls, struct MHD_Connection *c, const char *url,
			     const char *method, const char *version, const char *data,
			     size_t *size, void **req_cls)
{
	struct upload *u = *req_cls;
	const char *auth;
	enum MHD_Result ret;

	(void)cls;
	(void)version;
	if (u == NULL) {
		*req_cls = calloc(1, sizeof(struct upload));
		return *req_cls ? MHD_YES : MHD_NO;
	}
	if (*size > 0) {
		size_t n = *size < sizeof(u->buf) - 1 - u->len ? *size : sizeof(u->buf) - 1 - u->len;
		memcpy(u->buf + u->len, data, n);
		u->len += n;
		*size = 0;
		return MHD_YES;
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	pthread_mutex_lock(&cp.lock);
	if (cp.down) {
		ret = reply(c, 503, "{}", 2, "application/json");
	} else if (strcmp(method, "GET") == 0 && strncmp(url, "/mirror/", 8) == 0) {
		/* A blob mirror on another origin: public, and it must never see the token. */
		bool found = false;
		cp.mirror_gets++;
		cp.mirror_saw_auth = cp.mirror_saw_auth || auth != NULL;
		ret = MHD_NO;
		for (size_t i = 0; i < cp.n_blobs && !found; i++) {
			if (strcmp(cp.blobs[i].digest, url + 8) != 0)
				continue;
			found = true;
			cp.blobs[i].gets++;
			ret = reply(c, 200, cp.blobs[i].bytes, cp.blobs[i].len, "application/wasm");
		}
		if (!found)
			ret = reply(c, 404, "{}", 2, "application/json");
	} else if (auth == NULL || strcmp(auth, "Bearer " TOKEN) != 0) {
		ret = reply(c, 401, "{}", 2, "application/json");
	} else if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/agent/desired") == 0) {
		cp.desired_pulls++;
		ret = reply(c, 200, cp.desired, strlen(cp.desired), "application/json");
	} else if (strcmp(method, "POST") == 0 && strcmp(url, "/v1/agent/report") == 0) {
		char ans[64];
		json_decref(cp.last_report);
		cp.last_report = json_loadb(u->buf, u->len, 0, NULL);
		cp.reports++;
		snprintf(ans, sizeof(ans), "{\"generation\":%lld}", cp.generation);
		ret = reply(c, 200, ans, strlen(ans), "application/json");
	} else if (strcmp(method, "GET") == 0 && strncmp(url, "/v1/blobs/", 10) == 0) {
		ret = MHD_NO;
		bool found = false;
		for (size_t i = 0; i < cp.n_blobs && !found; i++) {
			if (strcmp(cp.blobs[i].digest, url + 10) != 0)
				continue;
			found = true;
			cp.blobs[i].gets++;
			ret = reply(c, 200, cp.blobs[i].bytes, cp.blobs[i].len, "application/wasm");
		}
		if (!found)
			ret = reply(c, 404, "{}", 2, "application/json");
	} else {
		ret = reply(c, 404, "{}", 2, "application/json");
	}
	pthread_mutex_unlock(&cp.lock);
	return ret;
}

static void on_cp_done(void *cls, struct MHD_Connection *c, void **req_cls,
		       enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	free(*req_cls);
	*req_cls = NULL;
}

/* A module entry: signs a manifest for bytes with k and registers the blob (served_bytes may
 * differ from bytes to simulate tampering). Returns a new JSON object. */
static json_t *module_entry(const char *name, int version, const unsigned char *bytes,
			    size_t len, const unsigned char *served, size_t served_len,
			    const sign_key *k)
{
	struct sign_manifest m = {0};
	char sig[SIGN_SIGNATURE_B64_LEN + 1], err[256], url[128], *canon;
	size_t clen;
	json_t *man, *o;

	snprintf(m.tenant, sizeof(m.tenant), "acme");
	snprintf(m.module, sizeof(m.module), "%s", name);
	m.version = (uint64_t)version;
	sign_digest(bytes, len, m.digest);
	m.size = len;
	snprintf(m.created_at, sizeof(m.created_at), "2026-12-03T10:00:00Z");
	snprintf(m.key_id, sizeof(m.key_id), "%s", sign_key_id(k));
	ck_assert_int_eq(sign_manifest_sign(k, &m, sig, err, sizeof(err)), SIGN_OK);
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &clen, err, sizeof(err)), SIGN_OK);
	man = json_loads(canon, 0, NULL);
	free(canon);
	ck_assert_ptr_nonnull(man);
	pthread_mutex_lock(&cp.lock);
	ck_assert_uint_lt(cp.n_blobs, MAXBLOBS);
	snprintf(cp.blobs[cp.n_blobs].digest, sizeof(cp.blobs[0].digest), "%s", m.digest);
	cp.blobs[cp.n_blobs].bytes = malloc(served_len);
	memcpy(cp.blobs[cp.n_blobs].bytes, served, served_len);
	cp.blobs[cp.n_blobs].len = served_len;
	cp.blobs[cp.n_blobs].gets = 0;
	cp.n_blobs++;
	pthread_mutex_unlock(&cp.lock);
	snprintf(url, sizeof(url), "/v1/blobs/%s", m.digest);
	o = json_pack("{s:s,s:s,s:i,s:s,s:I,s:o,s:s,s:s}", "tenant", "acme", "module", name,
		      "version", version, "digest", m.digest, "size", (json_int_t)len, "manifest",
		      man, "signature", sig, "blob_url", url);
	ck_assert_ptr_nonnull(o);
	return o;
}

/* Publishes a desired state with the given module entries (stolen) and a route per module:
 * host <module>.acme.test, path /\*. */
static void publish(long long gen, json_t *mods)
{
	json_t *routes = json_array(), *m, *d;
	size_t i;

	json_array_foreach(mods, i, m) {
		char host[128];
		snprintf(host, sizeof(host), "%s.acme.test",
			 json_string_value(json_object_get(m, "module")));
		json_array_append_new(routes, json_pack("{s:s,s:s,s:s,s:s}", "tenant", "acme",
							"host", host, "path", "/*", "module",
							json_string_value(json_object_get(m, "module"))));
	}
	d = json_pack("{s:s,s:I,s:o,s:o}", "pop", "tst1", "generation", (json_int_t)gen, "modules",
		      mods, "routes", routes);
	pthread_mutex_lock(&cp.lock);
	free(cp.desired);
	cp.desired = json_dumps(d, JSON_COMPACT);
	cp.generation = gen;
	pthread_mutex_unlock(&cp.lock);
	json_decref(d);
}

static void set_down(bool down)
{
	pthread_mutex_lock(&cp.lock);
	cp.down = down;
	pthread_mutex_unlock(&cp.lock);
}

static void setup(void)
{
	char err[256], line[256];
	FILE *f;

	dir = th_tmpdir();
	ck_assert_int_eq(sign_key_generate(&key, err, sizeof(err)), SIGN_OK);
	ck_assert_int_eq(sign_key_generate(&rogue, err, sizeof(err)), SIGN_OK);
	snprintf(trust_path, sizeof(trust_path), "%s/trusted.keys", dir);
	f = fopen(trust_path, "w");
	ck_assert_ptr_nonnull(f);
	snprintf(line, sizeof(line), "# test trust file\n%s %s\n", sign_key_id(key),
		 sign_key_public_b64(key));
	fputs(line, f);
	fclose(f);
	cp.port = th_free_port();
	snprintf(cp.url, sizeof(cp.url), "http://127.0.0.1:%d", cp.port);
	cp.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
				(uint16_t)cp.port, NULL, NULL, on_cp, NULL,
				MHD_OPTION_NOTIFY_COMPLETED, on_cp_done, NULL, MHD_OPTION_END);
	ck_assert_ptr_nonnull(cp.d);
	publish(1, json_array());
}

static void teardown(void)
{
	MHD_stop_daemon(cp.d);
	for (size_t i = 0; i < cp.n_blobs; i++)
		free(cp.blobs[i].bytes);
	cp.n_blobs = 0;
	cp.mirror_gets = 0;
	cp.mirror_saw_auth = false;
	free(cp.desired);
	cp.desired = NULL;
	json_decref(cp.last_report);
	cp.last_report = NULL;
	sign_key_destroy(key);
	sign_key_destroy(rogue);
	th_rmrf(dir);
	free(dir);
}

static char *fast_env[] = {"EDGE_AGENT_POLL_SECONDS=1", "EDGE_AGENT_HEARTBEAT_SECONDS=1",
			   "EDGE_AGENT_TIMEOUT_MS=200", NULL};

static void start(struct agent_proc *ap)
{
	/* Redis on a port nobody listens on: the agent must work by polling alone. */
	char redis[64];
	snprintf(redis, sizeof(redis), "redis://127.0.0.1:%d", th_free_port());
	agent_init(ap, "tst1", cp.url, TOKEN, trust_path, redis);
	agent_spawn(ap, fast_env);
}

/* The report entry of module in the fake control plane's last report (new ref) or NULL. */
static json_t *reported(const char *module)
{
	json_t *m, *found = NULL;
	size_t i;

	pthread_mutex_lock(&cp.lock);
	json_array_foreach(json_object_get(cp.last_report, "modules"), i, m)
		if (strcmp(json_string_value(json_object_get(m, "module")), module) == 0)
			found = json_incref(m);
	pthread_mutex_unlock(&cp.lock);
	return found;
}

/* GETs the fake control plane served for the blob of digest (0 when unknown). */
static int blob_gets(const char *digest)
{
	int n = 0;

	pthread_mutex_lock(&cp.lock);
	for (size_t i = 0; i < cp.n_blobs; i++)
		if (strcmp(cp.blobs[i].digest, digest) == 0)
			n += cp.blobs[i].gets;
	pthread_mutex_unlock(&cp.lock);
	return n;
}

/* True when the agent's log contains needle. */
static bool log_has(const struct agent_proc *ap, const char *needle)
{
	size_t n = 0;
	char *text = th_read_file(ap->log_path, &n);
	bool found = text != NULL && strstr(text, needle) != NULL;

	free(text);
	return found;
}

/* ---- tests ---------------------------------------------------------------------------------- */

START_TEST(serves_verifies_and_keeps_previous_on_failure)
{
	struct agent_proc ap;
	struct th_resp r;
	size_t l1, l2, l3, ltrap;
	unsigned char *v1 = agent_wat_hello("hello v1", &l1);
	unsigned char *v2 = agent_wat_hello("hello v2", &l2);
	unsigned char *v3 = agent_wat_hello("hello v3", &l3);
	unsigned char *trap = agent_wat("(module (func (export \"_start\") unreachable))", &ltrap);
	char err[256];
	json_t *mods, *rep;

	mods = json_array();
	json_array_append_new(mods, module_entry("hello", 1, v1, l1, v1, l1, key));
	publish(2, mods);
	start(&ap);
	ck_assert_msg(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000),
		      "v1 not served (log %s)", ap.log_path);
	ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/any/path?x=1", NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "hello v1"));
	ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
	ck_assert_str_eq(th_header(&r, "Content-Type"), "text/plain");
	th_resp_free(&r);
	/* No route: 404 with a request id. */
	ck_assert_int_eq(agent_get(&ap, "GET", "nobody.acme.test", "/", NULL, 0, &r), 404);
	ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
	th_resp_free(&r);

	/* Generation 3: v2 whose served bytes do not match the signed digest. */
	mods = json_array();
	json_array_append_new(mods, module_entry("hello", 2, v2, l2, v3, l3, key));
	publish(3, mods);
	ck_assert_msg(agent_wait_module(&ap, "hello", 2, "failed", 10000, err, sizeof(err)),
		      "bad digest not refused (log %s)", ap.log_path);
	ck_assert_msg(strstr(err, "digest") != NULL, "reason: %s", err);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 1000));

	/* Generation 4: v2 signed by a key the agent does not trust. */
	mods = json_array();
	json_array_append_new(mods, module_entry("hello", 2, v2, l2, v2, l2, rogue));
	publish(4, mods);
	for (int i = 0; i < 100 && agent_generation(&ap) != 4; i++)
		agent_sleep_ms(100);
	ck_assert_int_eq(agent_generation(&ap), 4);
	ck_assert_int_eq(agent_wait_module(&ap, "hello", 2, "failed", 10000, err, sizeof(err)), 1);
	ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 1000));
	/* The failure reaches the control plane with its reason. */
	for (int i = 0; i < 50; i++) {
		rep = reported("hello");
		bool ok = rep && json_integer_value(json_object_get(rep, "version")) == 2 &&
			  strcmp(json_string_value(json_object_get(rep, "state")), "failed") == 0;
		json_decref(rep);
		if (ok)
			break;
		agent_sleep_ms(100);
	}
	rep = reported("hello");
	ck_assert_ptr_nonnull(rep);
	ck_assert_str_eq(json_string_value(json_object_get(rep, "state")), "failed");
	ck_assert(json_is_string(json_object_get(rep, "error")));
	json_decref(rep);

	/* Generation 5: a module that traps on every request is activated but answers 500. */
	mods = json_array();
	json_array_append_new(mods, module_entry("hello", 3, trap, ltrap, trap, ltrap, key));
	publish(5, mods);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 500, "hello@3", 10000));
	ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/", NULL, 0, &r), 500);
	ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
	ck_assert_ptr_nonnull(strstr(r.body, th_header(&r, "X-Request-Id")));
	th_resp_free(&r);
	/* Errors are counted in reports (requests since the previous report). */
	{
		long long errors = 0;
		for (int i = 0; i < 50 && errors == 0; i++) {
			rep = reported("hello");
			if (rep && json_integer_value(json_object_get(rep, "version")) == 3)
				errors = json_integer_value(json_object_get(rep, "errors"));
			json_decref(rep);
			agent_sleep_ms(100);
		}
		ck_assert_int_gt(errors, 0);
	}
	agent_cleanup(&ap);
	free(v1);
	free(v2);
	free(v3);
	free(trap);
}
END_TEST

START_TEST(restart_serves_from_disk_while_control_plane_is_down)
{
	struct agent_proc ap;
	struct th_resp r;
	size_t l1, l2;
	unsigned char *v1 = agent_wat_hello("from disk", &l1);
	unsigned char *v2 = agent_wat_hello("second", &l2);
	json_t *mods = json_array(), *h;
	char path[1024];
	char err[256];

	json_array_append_new(mods, module_entry("hello", 1, v1, l1, v1, l1, key));
	publish(2, mods);
	start(&ap);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000));
	agent_kill(&ap);

	/* Control plane down: the restarted agent serves its saved state at once. */
	set_down(true);
	agent_spawn(&ap, fast_env);
	ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/", NULL, 0, &r), 200);
	ck_assert_ptr_nonnull(strstr(r.body, "from disk"));
	th_resp_free(&r);
	h = agent_health(&ap);
	ck_assert_int_eq(json_integer_value(json_object_get(h, "generation")), 2);
	json_decref(h);
	agent_kill(&ap);

	/* A state file whose signature was altered is re-verified on start and not served. */
	{
		char spath[1024], *text, *sig;
		size_t n = 0;
		snprintf(spath, sizeof(spath), "%s/state.json", ap.state_dir);
		text = th_read_file(spath, &n);
		ck_assert_ptr_nonnull(text);
		char *saved = malloc(n);
		ck_assert_ptr_nonnull(saved);
		memcpy(saved, text, n);
		sig = strstr(text, "\"signature\":\"");
		ck_assert_ptr_nonnull(sig);
		sig += strlen("\"signature\":\"");
		*sig = *sig == 'A' ? 'B' : 'A';
		ck_assert(th_write_file(spath, text, n));
		free(text);
		agent_spawn(&ap, fast_env);
		ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/", NULL, 0, &r), 404);
		th_resp_free(&r);
		ck_assert(agent_wait_module(&ap, "hello", 1, "failed", 2000, err, sizeof(err)));
		ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
		agent_kill(&ap);
		ck_assert(th_write_file(spath, saved, n));
		free(saved);
	}

	/* A corrupt cache file is detected at start and fetched again once the control plane is
	 * back; a tampered state file is ignored rather than trusted. */
	snprintf(path, sizeof(path), "%s/blobs/%s", ap.state_dir,
		 strchr(cp.blobs[cp.n_blobs - 1].digest, ':') + 1);
	ck_assert(th_write_file(path, "garbage", 7));
	set_down(false);
	mods = json_array();
	json_array_append_new(mods, module_entry("hello", 1, v1, l1, v1, l1, key));
	json_array_append_new(mods, module_entry("second", 1, v2, l2, v2, l2, key));
	publish(3, mods);
	agent_spawn(&ap, fast_env);
	ck_assert_msg(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000),
		      "corrupt cache not refetched (log %s)", ap.log_path);
	ck_assert(agent_wait_module(&ap, "second", 1, "active", 10000, err, sizeof(err)));
	{
		size_t n = 0;
		char *again = th_read_file(path, &n);
		ck_assert_ptr_nonnull(again);
		ck_assert_uint_eq(n, l1);
		ck_assert(memcmp(again, v1, l1) == 0);
		free(again);
	}
	agent_cleanup(&ap);
	free(v1);
	free(v2);
}
END_TEST

/* Registers guest NAME (built by the Makefile from tests/guests) as module `module`. */
static json_t *guest_entry(const char *module, const char *guest)
{
	size_t len = 0;
	char file[128];
	unsigned char *bytes;
	json_t *o;

	snprintf(file, sizeof(file), "%s.wasm", guest);
	bytes = (unsigned char *)th_read_file(th_guest(file), &len);
	ck_assert_msg(bytes != NULL, "guest %s not built", file);
	o = module_entry(module, 1, bytes, len, bytes, len, key);
	free(bytes);
	return o;
}


START_TEST(limits_end_requests_and_agent_keeps_serving)
{
	struct agent_proc ap;
	struct th_resp r;
	json_t *mods = json_array();
	struct agent_hammer h = {.ap = &ap};
	pthread_t th;
	const char *bad[][2] = {{"loop", "504"}, {"grow", "5xx"}, {"recurse", "500"},
				{"flood", "500"}, {"trap", "500"}};

	json_array_append_new(mods, guest_entry("hello", "hello_handler"));
	json_array_append_new(mods, guest_entry("echo", "handler_echo"));
	json_array_append_new(mods, guest_entry("loop", "handler_loop"));
	json_array_append_new(mods, guest_entry("grow", "handler_grow"));
	json_array_append_new(mods, guest_entry("recurse", "handler_recurse"));
	json_array_append_new(mods, guest_entry("flood", "handler_flood"));
	json_array_append_new(mods, guest_entry("trap", "handler_trap"));
	publish(2, mods);
	start(&ap);
	ck_assert_msg(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000),
		      "hello not served (log %s)", ap.log_path);
	/* The CGI environment reaches the handler; the body is its stdin. */
	ck_assert_int_eq(agent_get(&ap, "POST", "echo.acme.test", "/a/b?q=1", "ping", 4, &r), 200);
	ck_assert_msg(strstr(r.body, "/a/b") && strstr(r.body, "q=1") && strstr(r.body, "ping") &&
		      strstr(r.body, "tst1") && strstr(r.body, "/*"), "echo: %s", r.body);
	th_resp_free(&r);

	ck_assert_int_eq(pthread_create(&th, NULL, agent_hammer_main, &h), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char host[64];
		snprintf(host, sizeof(host), "%s.acme.test", bad[i][0]);
		for (int k = 0; k < 2; k++) {
			long st = agent_get(&ap, "GET", host, "/", NULL, 0, &r);
			/* Growing memory ends at the memory cap (500) or at the deadline (504),
			 * whichever comes first on this machine. */
			if (strcmp(bad[i][1], "5xx") == 0)
				ck_assert_msg(st == 500 || st == 504, "%s answered %ld", bad[i][0], st);
			else
				ck_assert_msg(st == atol(bad[i][1]), "%s answered %ld", bad[i][0], st);
			ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
			ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), strcat(strcpy(host, bad[i][0]), "@1"));
			snprintf(host, sizeof(host), "%s.acme.test", bad[i][0]);
			th_resp_free(&r);
		}
	}
	h.stop = true;
	pthread_join(th, NULL);
	ck_assert_int_gt(h.ok, 0);
	ck_assert_int_eq(h.bad, 0);
	/* A body over the 1 MiB limit is refused. */
	{
		size_t n = (1u << 20) + 1;
		char *body = calloc(1, n);
		ck_assert_int_eq(agent_get(&ap, "POST", "echo.acme.test", "/", body, n, &r), 413);
		th_resp_free(&r);
		free(body);
	}
	ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/", NULL, 0, &r), 200);
	th_resp_free(&r);
	agent_cleanup(&ap);
}
END_TEST

/* The signature is checked before anything is downloaded: a manifest signed by an untrusted key
 * never costs a blob fetch. A blob on another origin is fetched without the agent's token. */
START_TEST(untrusted_is_never_fetched_and_mirrors_get_no_token)
{
	struct agent_proc ap;
	size_t l1, l2;
	unsigned char *v1 = agent_wat_hello("mirror v1", &l1);
	unsigned char *v2 = agent_wat_hello("rogue v2", &l2);
	char err[256], url[256], digest[80];
	json_t *mods = json_array(), *e;

	/* v1 from a mirror: "localhost" is another origin than the control plane's 127.0.0.1. */
	e = module_entry("hello", 1, v1, l1, v1, l1, key);
	snprintf(digest, sizeof(digest), "%s", json_string_value(json_object_get(e, "digest")));
	snprintf(url, sizeof(url), "http://localhost:%d/mirror/%s", cp.port, digest);
	json_object_set_new(e, "blob_url", json_string(url));
	json_array_append_new(mods, e);
	publish(2, mods);
	start(&ap);
	ck_assert_msg(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000),
		      "mirrored v1 not served (log %s)", ap.log_path);
	pthread_mutex_lock(&cp.lock);
	ck_assert_int_ge(cp.mirror_gets, 1);
	ck_assert_msg(!cp.mirror_saw_auth, "the token was sent to another origin");
	pthread_mutex_unlock(&cp.lock);

	/* v2 signed by a key the agent does not trust: refused, and its blob never requested. */
	mods = json_array();
	e = module_entry("hello", 2, v2, l2, v2, l2, rogue);
	snprintf(digest, sizeof(digest), "%s", json_string_value(json_object_get(e, "digest")));
	json_array_append_new(mods, e);
	publish(3, mods);
	ck_assert(agent_wait_module(&ap, "hello", 2, "failed", 10000, err, sizeof(err)));
	ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
	ck_assert_int_eq(blob_gets(digest), 0);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 1000));
	agent_cleanup(&ap);
	free(v1);
	free(v2);
}
END_TEST

/* Handler stderr reaches the agent's log with the request id; a body of exactly the limit is
 * served and one byte more is refused with 413 before it is read; the admin listener answers
 * only its two pages; a second agent cannot take ports that are in use. */
START_TEST(stderr_body_limit_admin_and_ports)
{
	struct agent_proc ap;
	struct th_resp r;
	size_t ls;
	/* Writes "stderr-marker-42" to fd 2, then a CGI answer to fd 1. */
	unsigned char *talk = agent_wat(
		"(module\n"
		" (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
		"   (func $w (param i32 i32 i32 i32) (result i32)))\n"
		" (memory (export \"memory\") 1)\n"
		" (data (i32.const 100) \"stderr-marker-42\")\n"
		" (data (i32.const 200) \"Content-Type: text/plain\\0a\\0aok\")\n"
		" (func (export \"_start\")\n"
		"  (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 16))\n"
		"  (drop (call $w (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))\n"
		"  (i32.store (i32.const 0) (i32.const 200)) (i32.store (i32.const 4) (i32.const 28))\n"
		"  (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))\n",
		&ls);
	json_t *mods = json_array();
	char rid[64], url[128];

	json_array_append_new(mods, module_entry("talk", 1, talk, ls, talk, ls, key));
	json_array_append_new(mods, guest_entry("echo", "handler_echo"));
	publish(2, mods);
	start(&ap);
	ck_assert_msg(agent_wait_serving(&ap, "talk.acme.test", "/", 200, "talk@1", 10000),
		      "talk not served (log %s)", ap.log_path);
	ck_assert_int_eq(agent_get(&ap, "GET", "talk.acme.test", "/", NULL, 0, &r), 200);
	ck_assert_str_eq(r.body, "ok");
	snprintf(rid, sizeof(rid), "%s", th_header(&r, "X-Request-Id"));
	th_resp_free(&r);
	for (int i = 0; i < 50 && !log_has(&ap, "stderr-marker-42"); i++)
		agent_sleep_ms(100);
	ck_assert_msg(log_has(&ap, "stderr-marker-42"), "stderr not logged (log %s)", ap.log_path);
	ck_assert_msg(log_has(&ap, rid), "the stderr line lacks the request id %s", rid);

	/* Exactly 1 MiB: fine (the echo handler returns the body's length). */
	{
		size_t n = 1u << 20;
		char *body = malloc(n + 1);
		ck_assert_ptr_nonnull(body);
		memset(body, 'b', n + 1);
		ck_assert_int_eq(agent_get(&ap, "POST", "echo.acme.test", "/", body, n, &r), 200);
		ck_assert_ptr_nonnull(strstr(r.body, "content-length: 1048576"));
		th_resp_free(&r);
		ck_assert_int_eq(agent_get(&ap, "POST", "echo.acme.test", "/", body, n + 1, &r), 413);
		ck_assert_ptr_nonnull(th_header(&r, "X-Request-Id"));
		ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), "echo@1");
		th_resp_free(&r);
		/* No route wins over the size: 404. */
		ck_assert_int_eq(agent_get(&ap, "POST", "nobody.acme.test", "/", body, n + 1, &r), 404);
		th_resp_free(&r);
		free(body);
	}
	/* The agent still serves on the same port afterwards. */
	ck_assert_int_eq(agent_get(&ap, "GET", "talk.acme.test", "/", NULL, 0, &r), 200);
	th_resp_free(&r);

	/* Admin: /healthz and /metrics only, GET/HEAD only. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/nothing", ap.admin_port);
	ck_assert(th_http(&r, "GET", url, NULL, NULL, NULL, 0, NULL));
	ck_assert_int_eq(r.status, 404);
	th_resp_free(&r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", ap.admin_port);
	ck_assert(th_http(&r, "POST", url, NULL, "application/json", "{}", 2, NULL));
	ck_assert_int_eq(r.status, 405);
	th_resp_free(&r);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", ap.admin_port);
	ck_assert(th_http(&r, "GET", url, NULL, NULL, NULL, 0, NULL));
	ck_assert_int_eq(r.status, 200);
	/* talk: the polls of agent_wait_serving plus ours; echo: exactly the two POSTs (a 200
	 * and the 413; the 404 belongs to no module). */
	ck_assert_ptr_nonnull(strstr(r.body, "edge_agent_requests_total{tenant=\"acme\",module=\"talk\"} "));
	ck_assert_ptr_nonnull(strstr(r.body, "edge_agent_requests_total{tenant=\"acme\",module=\"echo\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "edge_agent_errors_total{tenant=\"acme\",module=\"echo\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(r.body, "edge_agent_request_seconds_bucket{tenant=\"acme\",module=\"echo\",le=\"+Inf\"} 2\n"));
	ck_assert_msg(strstr(r.body, "edge_agent_generation 2\n") != NULL, "metrics: %.600s", r.body);
	ck_assert_ptr_nonnull(strstr(r.body, "edge_agent_last_sync_timestamp_seconds "));
	{
		/* Two modules: each family's samples still form one group. */
		const char *why = th_prom_check(r.body);
		ck_assert_msg(why == NULL, "metrics: %s", why);
	}
	th_resp_free(&r);

	/* A second agent on the same listeners must fail, not share the port. */
	{
		char e[8][600];
		char *env[9], *argv[] = {(char *)th_bin("edge-agent"), NULL};
		char *dir2 = th_tmpdir();
		int n = 0;
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_CONTROL_PLANE=%s", cp.url);
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_TOKEN=%s", TOKEN);
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_TRUSTED_KEYS=%s", trust_path);
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_LISTEN=127.0.0.1:%d", ap.port);
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_ADMIN_LISTEN=127.0.0.1:%d", th_free_port());
		snprintf(e[n++], sizeof(e[0]), "EDGE_AGENT_STATE_DIR=%s", dir2);
		for (int i = 0; i < n; i++)
			env[i] = e[i];
		env[n] = NULL;
		ck_assert_int_ne(th_run(argv, env, NULL), 0);
		th_rmrf(dir2);
		free(dir2);
	}
	agent_cleanup(&ap);
	free(talk);
}
END_TEST

struct inflight {
	struct agent_proc *ap;
	long status;
	char version[64];
};

static void *slow_request(void *arg)
{
	struct inflight *f = arg;
	struct th_resp r;

	f->status = agent_get(f->ap, "GET", "slow.acme.test", "/", NULL, 0, &r);
	snprintf(f->version, sizeof(f->version), "%s",
		 th_header(&r, "X-Edgeplane-Version") ? th_header(&r, "X-Edgeplane-Version") : "");
	th_resp_free(&r);
	return NULL;
}

/* A request that is running when the route table is swapped finishes on the module it started
 * with (nothing it uses is freed), while new requests already get the new version. */
START_TEST(in_flight_request_finishes_on_the_old_table)
{
	static char *env[] = {"EDGE_AGENT_POLL_SECONDS=1", "EDGE_AGENT_HEARTBEAT_SECONDS=1",
			      "EDGE_AGENT_TIMEOUT_MS=6000", NULL};
	struct agent_proc ap;
	struct inflight f = {.ap = &ap};
	pthread_t th;
	json_t *mods = json_array();
	char redis[64];
	size_t lh;
	unsigned char *hello = agent_wat_hello("slow is gone", &lh);
	bool swapped_meanwhile;

	/* v1 loops until its (long) deadline; v2 answers at once. */
	{
		size_t len = 0;
		unsigned char *loop = (unsigned char *)th_read_file(th_guest("handler_loop.wasm"), &len);
		ck_assert_ptr_nonnull(loop);
		json_array_append_new(mods, module_entry("slow", 1, loop, len, loop, len, key));
		free(loop);
	}
	publish(2, mods);
	snprintf(redis, sizeof(redis), "redis://127.0.0.1:%d", th_free_port());
	agent_init(&ap, "tst1", cp.url, TOKEN, trust_path, redis);
	agent_spawn(&ap, env);
	for (int i = 0; i < 100 && agent_generation(&ap) != 2; i++)
		agent_sleep_ms(100);
	ck_assert_int_eq(agent_generation(&ap), 2);
	ck_assert_int_eq(pthread_create(&th, NULL, slow_request, &f), 0);
	agent_sleep_ms(300); /* let the request reach the handler */
	mods = json_array();
	json_array_append_new(mods, module_entry("slow", 2, hello, lh, hello, lh, key));
	publish(3, mods);
	/* Watched on the admin listener: an edge request now could still land on v1 and wait. */
	ck_assert_msg(agent_wait_module(&ap, "slow", 2, "active", 5000, NULL, 0),
		      "v2 not activated (log %s)", ap.log_path);
	{
		struct th_resp r;
		ck_assert_int_eq(agent_get(&ap, "GET", "slow.acme.test", "/", NULL, 0, &r), 200);
		ck_assert_str_eq(th_header(&r, "X-Edgeplane-Version"), "slow@2");
		th_resp_free(&r);
	}
	/* Informative only on a very slow machine: the swap should come well inside the 6 s. */
	swapped_meanwhile = pthread_tryjoin_np(th, NULL) == EBUSY;
	if (swapped_meanwhile)
		pthread_join(th, NULL);
	ck_assert_int_eq(f.status, 504);
	ck_assert_str_eq(f.version, "slow@1");
	if (!swapped_meanwhile)
		fprintf(stderr, "in-flight test: the slow request ended before the swap was seen\n");
	/* And the agent is fine afterwards. */
	ck_assert(agent_wait_serving(&ap, "slow.acme.test", "/", 200, "slow@2", 1000));
	agent_cleanup(&ap);
	free(hello);
}
END_TEST

static void write_trust(const sign_key *const *keys, size_t n)
{
	char buf[1024];
	size_t off = (size_t)snprintf(buf, sizeof(buf), "# rotated\n");

	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s %s\n", sign_key_id(keys[i]),
					sign_key_public_b64(keys[i]));
	ck_assert(th_write_file(trust_path, buf, off));
}

/* SIGHUP reloads the trust file: a newly trusted key activates what it signed, a removed key
 * stops what only it signed, and an unusable file keeps the previous keys. */
START_TEST(sighup_reloads_the_trust_file)
{
	struct agent_proc ap;
	struct th_resp r;
	size_t l1;
	unsigned char *v1 = agent_wat_hello("rotated in", &l1);
	json_t *mods = json_array();
	char err[256];
	const sign_key *both[2] = {key, rogue}, *only[1] = {key};

	json_array_append_new(mods, module_entry("hello", 1, v1, l1, v1, l1, rogue));
	publish(2, mods);
	start(&ap);
	ck_assert(agent_wait_module(&ap, "hello", 1, "failed", 10000, err, sizeof(err)));
	ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);

	write_trust(both, 2);
	ck_assert_int_eq(kill(ap.pid, SIGHUP), 0);
	ck_assert_msg(agent_wait_serving(&ap, "hello.acme.test", "/", 200, "hello@1", 10000),
		      "not served after the key was added (log %s)", ap.log_path);

	/* Unusable file: ignored, hello keeps serving. */
	ck_assert(th_write_file(trust_path, "not a key file\n", 15));
	ck_assert_int_eq(kill(ap.pid, SIGHUP), 0);
	for (int i = 0; i < 50 && !log_has(&ap, "not reloaded"); i++)
		agent_sleep_ms(100);
	ck_assert(log_has(&ap, "not reloaded"));
	ck_assert_int_eq(agent_get(&ap, "GET", "hello.acme.test", "/", NULL, 0, &r), 200);
	th_resp_free(&r);

	/* The rogue key removed: what only it signed stops serving. */
	write_trust(only, 1);
	ck_assert_int_eq(kill(ap.pid, SIGHUP), 0);
	ck_assert(agent_wait_module(&ap, "hello", 1, "failed", 10000, err, sizeof(err)));
	ck_assert_msg(strstr(err, "signature") != NULL, "reason: %s", err);
	ck_assert(agent_wait_serving(&ap, "hello.acme.test", "/", 404, NULL, 2000));
	agent_cleanup(&ap);
	free(v1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent_fakecp");
	TCase *tc = tcase_create("agent");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, serves_verifies_and_keeps_previous_on_failure);
	tcase_add_test(tc, restart_serves_from_disk_while_control_plane_is_down);
	tcase_add_test(tc, limits_end_requests_and_agent_keeps_serving);
	tcase_add_test(tc, untrusted_is_never_fetched_and_mirrors_get_no_token);
	tcase_add_test(tc, stderr_body_limit_admin_and_ports);
	tcase_add_test(tc, in_flight_request_finishes_on_the_old_table);
	tcase_add_test(tc, sighup_reloads_the_trust_file);
	suite_add_tcase(s, tc);
	return th_main(s);
}
