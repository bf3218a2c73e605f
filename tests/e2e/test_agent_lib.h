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

#endif
