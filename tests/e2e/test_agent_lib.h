/* tests/e2e/test_agent_lib.h: helpers shared by the agent's process-level tests (the fake control
 * plane test in tests/unit and the end-to-end tests here): start an edge-agent, read its admin
 * endpoints, send edge requests with a Host header, and build WAT guests. Static functions only:
 * each test program includes this once. */
#ifndef TEST_AGENT_LIB_H
#define TEST_AGENT_LIB_H

#include <check.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/th.h"

/* Not every program uses every helper. */
#define TAL_UNUSED __attribute__((unused))

struct agent_proc {
	pid_t pid;
	int port;             /* edge listener */
	int admin_port;       /* admin listener */
	char name[32];
	char *state_dir;      /* owned */
	char log_path[512];
	char cp_url[128];
	char token[256];
	char trust_path[512];
	char redis_url[128];
};

static TAL_UNUSED void agent_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Starts (or restarts, keeping ports and state) an agent. extra: more "K=V" (may be NULL). */
static TAL_UNUSED void agent_spawn(struct agent_proc *ap, char *const extra[])
{
	char e[16][700];
	char *env[32];
	int n = 0;
	char *argv[] = {(char *)th_bin("edge-agent"), NULL};

	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_CONTROL_PLANE=%s", ap->cp_url), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_TOKEN=%s", ap->token), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_TRUSTED_KEYS=%s", ap->trust_path), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_REDIS_URL=%s", ap->redis_url), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_LISTEN=127.0.0.1:%d", ap->port), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_ADMIN_LISTEN=127.0.0.1:%d", ap->admin_port), n++;
	snprintf(e[n], sizeof(e[n]), "EDGE_AGENT_STATE_DIR=%s", ap->state_dir), n++;
	for (int i = 0; i < n; i++)
		env[i] = e[i];
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	ap->pid = th_spawn(argv, env, ap->log_path);
	ck_assert_msg(ap->pid > 0, "cannot start edge-agent");
	{
		char url[128];
		snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", ap->admin_port);
		ck_assert_msg(th_wait_http(url, 10000), "edge-agent %s did not come up (log %s)",
			      ap->name, ap->log_path);
	}
}

static TAL_UNUSED void agent_init(struct agent_proc *ap, const char *name, const char *cp_url,
		       const char *token, const char *trust_path, const char *redis_url)
{
	memset(ap, 0, sizeof(*ap));
	snprintf(ap->name, sizeof(ap->name), "%s", name);
	snprintf(ap->cp_url, sizeof(ap->cp_url), "%s", cp_url);
	snprintf(ap->token, sizeof(ap->token), "%s", token);
	snprintf(ap->trust_path, sizeof(ap->trust_path), "%s", trust_path);
	snprintf(ap->redis_url, sizeof(ap->redis_url), "%s", redis_url);
	ap->state_dir = th_tmpdir();
	snprintf(ap->log_path, sizeof(ap->log_path), "%s/agent.log", ap->state_dir);
	ap->port = th_free_port();
	do
		ap->admin_port = th_free_port();
	while (ap->admin_port == ap->port);
}

static TAL_UNUSED void agent_kill(struct agent_proc *ap)
{
	if (ap->pid > 0)
		th_stop(ap->pid, SIGTERM, 10000);
	ap->pid = 0;
}

static TAL_UNUSED void agent_cleanup(struct agent_proc *ap)
{
	agent_kill(ap);
	if (ap->state_dir != NULL) {
		th_rmrf(ap->state_dir);
		free(ap->state_dir);
		ap->state_dir = NULL;
	}
}

/* GET the agent's /healthz as JSON (caller decrefs); NULL when it does not answer. */
static TAL_UNUSED json_t *agent_health(const struct agent_proc *ap)
{
	struct th_resp r;
	char url[128];
	json_t *j = NULL;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", ap->admin_port);
	if (th_http(&r, "GET", url, NULL, NULL, NULL, 0, NULL) && r.status == 200 && r.json)
		j = json_incref(r.json);
	th_resp_free(&r);
	return j;
}

static TAL_UNUSED long long agent_generation(const struct agent_proc *ap)
{
	json_t *j = agent_health(ap);
	long long g = -2;

	if (j != NULL)
		g = json_integer_value(json_object_get(j, "generation"));
	json_decref(j);
	return g;
}

/* The status entry of module in /healthz: "active", "failed" or NULL; version and error out. */
static TAL_UNUSED bool agent_module_state(const struct agent_proc *ap, const char *module, char *state,
			       size_t statelen, long long *version, char *error, size_t errlen)
{
	json_t *j = agent_health(ap), *m;
	size_t i;
	bool found = false;

	json_array_foreach(json_object_get(j, "modules"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "module")), module) != 0)
			continue;
		snprintf(state, statelen, "%s", json_string_value(json_object_get(m, "state")));
		*version = json_integer_value(json_object_get(m, "version"));
		if (error != NULL)
			snprintf(error, errlen, "%s",
				 json_is_string(json_object_get(m, "error")) ?
				 json_string_value(json_object_get(m, "error")) : "");
		found = true;
	}
	json_decref(j);
	return found;
}

/* Waits until the agent's module has `version` in `state`. */
static TAL_UNUSED bool agent_wait_module(const struct agent_proc *ap, const char *module, long long version,
			      const char *state, int timeout_ms, char *error, size_t errlen)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		char st[32] = "";
		long long v = -1;
		if (agent_module_state(ap, module, st, sizeof(st), &v, error, errlen) && v == version &&
		    strcmp(st, state) == 0)
			return true;
		agent_sleep_ms(100);
	}
	return false;
}

/* An edge request with a Host header; returns the status. */
static TAL_UNUSED long agent_get(const struct agent_proc *ap, const char *method, const char *host,
		      const char *path, const void *body, size_t len, struct th_resp *r)
{
	char url[512], hh[300];
	const char *hdrs[] = {hh, NULL};

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", ap->port, path);
	snprintf(hh, sizeof(hh), "Host: %s", host);
	if (!th_http(r, method, url, NULL, body ? "application/octet-stream" : NULL, body, len, hdrs))
		return 0;
	return r->status;
}

/* A thread that sends hello requests (hello.acme.test/) until stop is set, counting answers
 * that are the hello page (ok) and anything else (bad): proof that swaps drop nothing. */
struct agent_hammer {
	const struct agent_proc *ap;
	volatile bool stop;
	int ok, bad;
};

static TAL_UNUSED void *agent_hammer_main(void *arg)
{
	struct agent_hammer *h = arg;

	while (!h->stop) {
		struct th_resp r;
		long st = agent_get(h->ap, "GET", "hello.acme.test", "/", NULL, 0, &r);
		if (st == 200 && strstr(r.body, "Hello from Edgeplane") != NULL)
			h->ok++;
		else
			h->bad++;
		th_resp_free(&r);
	}
	return NULL;
}

/* Polls an edge URL until it answers `status` with X-Edgeplane-Version `version` (or any when
 * NULL). */
static TAL_UNUSED bool agent_wait_serving(const struct agent_proc *ap, const char *host, const char *path,
			       long status, const char *version, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 100) {
		struct th_resp r;
		long s = agent_get(ap, "GET", host, path, NULL, 0, &r);
		const char *v = s ? th_header(&r, "X-Edgeplane-Version") : NULL;
		bool ok = s == status && (version == NULL || (v != NULL && strcmp(v, version) == 0));
		th_resp_free(&r);
		if (ok)
			return true;
		agent_sleep_ms(100);
	}
	return false;
}

/* Compiles WAT text to .wasm bytes with wat2wasm (caller frees). */
static TAL_UNUSED unsigned char *agent_wat(const char *wat, size_t *len)
{
	char *dir = th_tmpdir(), src[512], out[512];
	char *argv[] = {"/usr/bin/env", "wat2wasm", src, "-o", out, NULL};
	unsigned char *bytes;

	snprintf(src, sizeof(src), "%s/m.wat", dir);
	snprintf(out, sizeof(out), "%s/m.wasm", dir);
	ck_assert(th_write_file(src, wat, strlen(wat)));
	ck_assert_int_eq(th_run(argv, NULL, NULL), 0);
	bytes = (unsigned char *)th_read_file(out, len);
	ck_assert_ptr_nonnull(bytes);
	th_rmrf(dir);
	free(dir);
	return bytes;
}

/* A CGI handler that writes "Content-Type: text/plain", a blank line and `text`. */
static TAL_UNUSED unsigned char *agent_wat_hello(const char *text, size_t *len)
{
	char wat[2048];
	char body[512];

	snprintf(body, sizeof(body), "Content-Type: text/plain\\0a\\0a%s\\0a", text);
	/* The byte count of the body: escapes count as one byte each. */
	size_t n = 0;
	for (const char *p = body; *p; p++, n++)
		if (p[0] == '\\')
			p += 2;
	snprintf(wat, sizeof(wat),
		 "(module\n"
		 " (import \"wasi_snapshot_preview1\" \"fd_write\"\n"
		 "   (func $fd_write (param i32 i32 i32 i32) (result i32)))\n"
		 " (memory (export \"memory\") 1)\n"
		 " (data (i32.const 64) \"%s\")\n"
		 " (func (export \"_start\")\n"
		 "  (i32.store (i32.const 0) (i32.const 64))\n"
		 "  (i32.store (i32.const 4) (i32.const %zu))\n"
		 "  (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))\n",
		 body, n);
	return agent_wat(wat, len);
}

/* ---- a fleet: a real edgeplane and three agents on three PoPs (end-to-end tests) ---------- */

#define FLEET_N 3
static const char *const fleet_pops[FLEET_N] = {"hnd1", "fra1", "iad1"};

struct fleet {
	struct th_cp cp;
	struct agent_proc ag[FLEET_N];
	char trust_path[512];
	char *dir;
};

/* An admin API call with a JSON body from a format string; fails the test unless the status is
 * `want` (0: any). Returns the parsed JSON (new reference; may be NULL). */
static TAL_UNUSED json_t *fleet_api(struct fleet *f, long want, const char *method, const char *path,
				    const char *body)
{
	struct th_resp r;
	json_t *j;

	ck_assert_msg(th_http(&r, method, th_cp_url(&f->cp, path), f->cp.admin_token, NULL, body,
			      body ? strlen(body) : 0, NULL), "%s %s: no answer", method, path);
	ck_assert_msg(want == 0 || r.status == want, "%s %s: HTTP %ld (want %ld): %s", method, path,
		      r.status, want, r.body);
	j = r.json ? json_incref(r.json) : NULL;
	th_resp_free(&r);
	return j;
}

/* Writes the trust file from GET /v1/keys (every key the control plane ever signed with). */
static TAL_UNUSED void fleet_write_trust(struct fleet *f)
{
	json_t *keys = fleet_api(f, 200, "GET", "/v1/keys", NULL), *k;
	char buf[4096];
	size_t i, off = 0;

	ck_assert_ptr_nonnull(keys);
	json_array_foreach(json_object_get(keys, "items"), i, k)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s %s\n",
					json_string_value(json_object_get(k, "key_id")),
					json_string_value(json_object_get(k, "public_key")));
	json_decref(keys);
	ck_assert_uint_gt(off, 0);
	ck_assert(th_write_file(f->trust_path, buf, off));
}

/* Starts edgeplane, creates tenant acme (domain acme.test), the three PoPs with agent tokens,
 * the trust file, and the agents (extra: more agent environment, may be NULL). */
static TAL_UNUSED void fleet_start(struct fleet *f, char *const cp_env[], char *const extra[])
{
	json_t *j;

	memset(f, 0, sizeof(*f));
	th_cp_start(&f->cp, cp_env);
	f->dir = th_tmpdir();
	snprintf(f->trust_path, sizeof(f->trust_path), "%s/trusted.keys", f->dir);
	json_decref(fleet_api(f, 201, "POST", "/v1/tenants", "{\"slug\":\"acme\",\"name\":\"Acme\"}"));
	json_decref(fleet_api(f, 201, "POST", "/v1/tenants/acme/domains", "{\"domain\":\"acme.test\"}"));
	fleet_write_trust(f);
	for (int i = 0; i < FLEET_N; i++) {
		char body[256];
		snprintf(body, sizeof(body), "{\"name\":\"%s\",\"region\":\"r%d\",\"labels\":{}}",
			 fleet_pops[i], i);
		json_decref(fleet_api(f, 201, "POST", "/v1/pops", body));
		snprintf(body, sizeof(body), "{\"role\":\"agent\",\"pop\":\"%s\",\"name\":\"agent-%s\"}",
			 fleet_pops[i], fleet_pops[i]);
		j = fleet_api(f, 201, "POST", "/v1/tokens", body);
		ck_assert(json_is_string(json_object_get(j, "secret")));
		agent_init(&f->ag[i], fleet_pops[i], f->cp.url,
			   json_string_value(json_object_get(j, "secret")), f->trust_path,
			   th_env("EDGEPLANE_REDIS_URL"));
		json_decref(j);
		agent_spawn(&f->ag[i], extra);
	}
}

static TAL_UNUSED void fleet_stop(struct fleet *f)
{
	for (int i = 0; i < FLEET_N; i++)
		agent_cleanup(&f->ag[i]);
	th_cp_stop(&f->cp);
	th_rmrf(f->dir);
	free(f->dir);
}

/* Creates module `name` (when new) and uploads bytes as its next version; returns the version. */
static TAL_UNUSED long long fleet_upload(struct fleet *f, const char *name, const void *bytes,
					 size_t len)
{
	struct th_resp r;
	char body[128], path[256];
	long long v;

	snprintf(body, sizeof(body), "{\"name\":\"%s\"}", name);
	json_decref(fleet_api(f, 0, "POST", "/v1/tenants/acme/modules", body));
	snprintf(path, sizeof(path), "/v1/tenants/acme/modules/%s/versions", name);
	ck_assert(th_http(&r, "POST", th_cp_url(&f->cp, path), f->cp.admin_token, "application/wasm",
			  bytes, len, NULL));
	ck_assert_msg(r.status == 201 || r.status == 200, "upload %s: HTTP %ld: %s", name, r.status,
		      r.body);
	v = json_integer_value(json_object_get(r.json, "version"));
	th_resp_free(&r);
	return v;
}

static TAL_UNUSED long long fleet_upload_guest(struct fleet *f, const char *name, const char *guest)
{
	size_t len = 0;
	char file[128];
	char *bytes;
	long long v;

	snprintf(file, sizeof(file), "%s.wasm", guest);
	bytes = th_read_file(th_guest(file), &len);
	ck_assert_msg(bytes != NULL, "guest %s not built", file);
	v = fleet_upload(f, name, bytes, len);
	free(bytes);
	return v;
}

/* Route <name>.acme.test/\* to module name. */
static TAL_UNUSED void fleet_route(struct fleet *f, const char *name)
{
	char body[256];

	snprintf(body, sizeof(body), "{\"host\":\"%s.acme.test\",\"path\":\"/*\",\"module\":\"%s\"}",
		 name, name);
	json_decref(fleet_api(f, 201, "POST", "/v1/tenants/acme/routes", body));
}

/* Starts a deployment; returns its id (caller frees). strategy is JSON text. */
static TAL_UNUSED char *fleet_deploy(struct fleet *f, const char *name, long long version,
				     const char *strategy)
{
	char body[1024];
	json_t *j;
	char *id;

	snprintf(body, sizeof(body), "{\"module\":\"%s\",\"version\":%lld,\"strategy\":%s}", name,
		 version, strategy);
	j = fleet_api(f, 201, "POST", "/v1/tenants/acme/deployments", body);
	ck_assert(json_is_string(json_object_get(j, "id")));
	id = strdup(json_string_value(json_object_get(j, "id")));
	json_decref(j);
	return id;
}

static TAL_UNUSED json_t *fleet_deployment(struct fleet *f, const char *id)
{
	char path[256];

	snprintf(path, sizeof(path), "/v1/tenants/acme/deployments/%s", id);
	return fleet_api(f, 200, "GET", path, NULL);
}

/* Waits for the deployment to reach one of the states in `states` ("a|b"); returns it. */
static TAL_UNUSED json_t *fleet_wait_deployment(struct fleet *f, const char *id, const char *states,
						int timeout_ms)
{
	json_t *d = NULL;

	for (int waited = 0; waited <= timeout_ms; waited += 200) {
		const char *st;
		char pat[64];
		json_decref(d);
		d = fleet_deployment(f, id);
		st = json_string_value(json_object_get(d, "state"));
		snprintf(pat, sizeof(pat), "|%s|", st ? st : "?");
		char want[256];
		snprintf(want, sizeof(want), "|%s|", states);
		if (strstr(want, pat) != NULL)
			return d;
		agent_sleep_ms(200);
	}
	{
		char *text = json_dumps(d, JSON_COMPACT);
		ck_abort_msg("deployment %s never reached %s: %s", id, states, text ? text : "");
	}
	return d;
}

/* Every agent serves module `name` at `version` (X-Edgeplane-Version). */
static TAL_UNUSED bool fleet_wait_serving(struct fleet *f, const char *name, long long version,
					  int timeout_ms)
{
	char host[128], label[128];

	snprintf(host, sizeof(host), "%s.acme.test", name);
	snprintf(label, sizeof(label), "%s@%lld", name, version);
	for (int i = 0; i < FLEET_N; i++)
		if (!agent_wait_serving(&f->ag[i], host, "/", 200, label, timeout_ms))
			return false;
	return true;
}

/* Runs scripts/services.sh with one command (redis-stop, redis-start, ...). */
static TAL_UNUSED void fleet_services(const char *cmd)
{
	char script[1024];
	char *argv[] = {"/bin/bash", script, (char *)cmd, NULL};

	snprintf(script, sizeof(script), "%s", th_top("scripts/services.sh"));
	ck_assert_msg(th_run(argv, NULL, NULL) == 0, "services.sh %s failed", cmd);
}

#endif
