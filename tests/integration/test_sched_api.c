/* tests/integration/test_sched_api.c: the scheduler's HTTP surface against a real
 * `edgeplane serve`: deployment validation (422), conflicts (409), operator actions at each
 * state, no-op deployments, module rollback, the events and audit trail, the agent endpoints'
 * wire formats and bad input, blobs with ETag/304, and a PoP added mid-rollout. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/test_sched_sim.h"
#include "tests/lib/th.h"

static char *cp_env[] = {"EDGEPLANE_SCHED_TICK_MS=50", "EDGEPLANE_HEARTBEAT_MS=1000", NULL};

static struct th_cp cp;

static long post(struct th_resp *r, const char *path, const char *token, const char *body)
{
	return th_req(r, "POST", th_cp_url(&cp, path), token ? token : cp.admin_token, "%s", body);
}

static long get(struct th_resp *r, const char *path, const char *token)
{
	return th_req(r, "GET", th_cp_url(&cp, path), token ? token : cp.admin_token, NULL);
}

static void expect(long got, long want, struct th_resp *r, const char *what)
{
	ck_assert_msg(got == want, "%s: %ld (want %ld): %s", what, got, want, r->body ? r->body : "");
}

/* Polls the deployment until its state is `want` (no agents needed for these). */
static json_t *wait_state(const char *id, const char *want)
{
	char path[160];
	long long end = sim_now() + 10000;

	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s", id);
	for (;;) {
		struct th_resp r;
		expect(get(&r, path, NULL), 200, &r, "get deployment");
		if (strcmp(json_string_value(json_object_get(r.json, "state")), want) == 0) {
			json_t *d = json_incref(r.json);
			th_resp_free(&r);
			return d;
		}
		ck_assert_msg(sim_now() < end, "state %s, want %s", json_string_value(json_object_get(r.json, "state")), want);
		th_resp_free(&r);
		usleep(30000);
	}
}

/* Fresh control plane with tenant acme, module hello (versions 1..3), no PoPs. */
static void setup(void)
{
	struct th_resp r;

	th_cp_start(&cp, cp_env);
	expect(post(&r, "/v1/tenants", NULL, "{\"slug\":\"acme\",\"name\":\"Acme\"}"), 201, &r, "tenant");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/modules", NULL, "{\"name\":\"hello\"}"), 201, &r, "module");
	th_resp_free(&r);
	for (int v = 1; v <= 3; v++) {
		char tag[16];
		size_t len;
		unsigned char *w;
		snprintf(tag, sizeof tag, "v%d", v);
		w = sim_wasm(tag, 0, &len);
		th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants/acme/modules/hello/versions"),
			cp.admin_token, "application/wasm", w, len, NULL);
		free(w);
		expect(r.status, 201, &r, "upload");
		th_resp_free(&r);
	}
}

static void teardown(void)
{
	th_cp_stop(&cp);
}

static char *add_pop(const char *name)
{
	struct th_resp r;
	char body[256];
	char *tok;

	snprintf(body, sizeof body, "{\"name\":\"%s\",\"region\":\"r\",\"labels\":{}}", name);
	expect(post(&r, "/v1/pops", NULL, body), 201, &r, "pop");
	th_resp_free(&r);
	snprintf(body, sizeof body, "{\"role\":\"agent\",\"pop\":\"%s\",\"name\":\"agent-%s\"}", name, name);
	expect(post(&r, "/v1/tokens", NULL, body), 201, &r, "agent token");
	tok = strdup(json_string_value(json_object_get(r.json, "secret")));
	th_resp_free(&r);
	return tok;
}

static const struct {
	const char *body;
	long status;
	const char *needle;
} bad_creates[] = {
	{"{\"version\":1}", 400, "module"},
	{"{\"module\":\"hello\"}", 400, "version"},
	{"{\"module\":\"hello\",\"version\":\"1\"}", 400, "version"},
	{"{\"module\":\"nope\",\"version\":1}", 404, "nope"},
	{"{\"module\":\"hello\",\"version\":9}", 404, "version 9"},
	{"{\"module\":\"hello\",\"version\":0}", 422, "version"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":\"fast\"}", 422, "unknown strategy"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":0}]}}", 422, "percent"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":50},{\"percent\":20}]}}", 422, "greater"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"pops\":[\"mars1\"]}]}}", 422, "mars1"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":100}],\"activation_timeout_seconds\":0}}", 422, "activation_timeout_seconds"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":100}],\"bake_seconds\":999999}}", 422, "bake_seconds"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":100}],\"max_error_rate\":2}}", 422, "max_error_rate"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"percent\":100}],\"x\":1}}", 422, "'x'"},
	{"{\"module\":\"hello\",\"version\":1,\"strategy\":[1]}", 422, "strategy"},
};

START_TEST(create_rejects_bad_input)
{
	struct th_resp r;

	expect(post(&r, "/v1/tenants/acme/deployments", NULL, bad_creates[_i].body),
	       bad_creates[_i].status, &r, bad_creates[_i].body);
	ck_assert_msg(strstr(r.body, bad_creates[_i].needle) != NULL, "%s: %s", bad_creates[_i].body, r.body);
	ck_assert_str_eq(th_header(&r, "Content-Type"), "application/problem+json");
	th_resp_free(&r);
	/* Nothing was created. */
	expect(get(&r, "/v1/tenants/acme/deployments", NULL), 200, &r, "list");
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 0);
	th_resp_free(&r);
}
END_TEST

START_TEST(actions_and_conflicts)
{
	struct th_resp r;
	char id[64], path[200];
	char *tok = add_pop("hnd1");
	json_t *d;

	/* hnd1's agent never reports: wave 0 stays activating. */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL,
		    "{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"pops\":[\"hnd1\"]}],"
		    "\"activation_timeout_seconds\":600}}"), 201, &r, "create");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	ck_assert_ptr_nonnull(th_header(&r, "Location"));
	th_resp_free(&r);
	json_decref(wait_state(id, "running"));
	/* One running deployment per module. */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":2}"),
	       409, &r, "second deployment");
	th_resp_free(&r);
	static const struct {
		const char *action;
		long status;
		const char *state;
	} steps[] = {
		{"resume", 409, NULL},      {"promote", 409, NULL},      {"pause", 200, "paused"},
		{"pause", 409, NULL},       {"promote", 409, NULL},      {"resume", 200, "running"},
		{"abort", 200, "aborted"},  {"abort", 409, NULL},        {"pause", 409, NULL},
		{"resume", 409, NULL},      {"promote", 409, NULL},
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s/%s", id, steps[i].action);
		expect(post(&r, path, NULL, "{}"), steps[i].status, &r, steps[i].action);
		if (steps[i].state != NULL)
			ck_assert_str_eq(json_string_value(json_object_get(r.json, "state")), steps[i].state);
		else
			ck_assert(strlen(json_string_value(json_object_get(r.json, "detail"))) > 0);
		th_resp_free(&r);
	}
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s", id);
	expect(get(&r, path, NULL), 200, &r, "get");
	d = r.json;
	ck_assert_str_eq(json_string_value(json_object_get(d, "module")), "hello");
	ck_assert(json_is_null(json_object_get(d, "from_version")));
	ck_assert_int_eq(json_integer_value(json_object_get(d, "to_version")), 1);
	ck_assert(json_is_object(json_object_get(d, "strategy")));
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_array_get(json_object_get(d, "waves"), 0), "pops"), 0)), "hnd1");
	json_t *pop = json_array_get(json_object_get(d, "pops"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(pop, "pop")), "hnd1");
	ck_assert_str_eq(json_string_value(json_object_get(pop, "state")), "stale");
	/* Abort returned hnd1 to "no version". */
	ck_assert(json_is_null(json_object_get(pop, "desired_version")));
	static const char *const types[] = {"created", "started", "wave_started", "paused", "resumed", "aborted"};
	for (size_t i = 0; i < 6; i++)
		ck_assert_msg(sim_event_index(d, types[i], -1) >= 0, "no %s event", types[i]);
	json_t *e = json_array_get(json_object_get(d, "events"), 0);
	ck_assert(json_is_string(json_object_get(e, "at")));
	ck_assert(json_is_string(json_object_get(e, "detail")));
	th_resp_free(&r);
	/* Unknown ids. */
	expect(get(&r, "/v1/tenants/acme/deployments/00000000-0000-4000-8000-000000000000", NULL), 404, &r, "unknown id");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/deployments/not-a-uuid/pause", NULL, "{}"), 404, &r, "bad id");
	th_resp_free(&r);
	/* Every transition is in the audit log. */
	expect(get(&r, "/v1/audit?limit=500", NULL), 200, &r, "audit");
	ck_assert_msg(strstr(r.body, "deployment.create") && strstr(r.body, "deployment.paused") &&
		      strstr(r.body, "deployment.aborted") && strstr(r.body, "deployment.wave_started"),
		      "audit: %.2000s", r.body);
	th_resp_free(&r);
	/* Filters of the list. */
	expect(get(&r, "/v1/tenants/acme/deployments?state=aborted&module=hello", NULL), 200, &r, "list");
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "items")), 1);
	th_resp_free(&r);
	expect(get(&r, "/v1/tenants/acme/deployments?state=bogus", NULL), 400, &r, "bad filter");
	th_resp_free(&r);
	expect(get(&r, "/v1/tenants/acme/deployments?order=sideways", NULL), 400, &r, "bad order");
	th_resp_free(&r);
	free(tok);
}
END_TEST

START_TEST(noop_and_rollback)
{
	struct th_resp r;
	char id[64];
	json_t *d;

	/* No module history: nothing to roll back to. */
	expect(post(&r, "/v1/tenants/acme/modules/hello/rollback", NULL, "{}"), 409, &r, "rollback");
	th_resp_free(&r);
	/* An empty fleet: a rollout succeeds at once and sets the module's version. */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":1}"), 201, &r, "v1");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_decref(wait_state(id, "succeeded"));
	/* The same version again: a no-op that says so, nothing stored. */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":1}"), 200, &r, "noop");
	ck_assert(json_is_true(json_object_get(r.json, "noop")));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r.json, "detail")), "already runs version 1"));
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":3,\"strategy\":\"immediate\"}"), 201, &r, "v3");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	d = wait_state(id, "succeeded");
	ck_assert_int_eq(json_integer_value(json_object_get(d, "from_version")), 1);
	json_decref(d);
	/* Rollback without to_version: back to what ran before the latest success (1). */
	expect(post(&r, "/v1/tenants/acme/modules/hello/rollback", NULL, "{}"), 201, &r, "rollback");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "from_version")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "to_version")), 1);
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_decref(wait_state(id, "succeeded"));
	/* Explicit targets: an unknown version is 404, a bad one 400/422. */
	expect(post(&r, "/v1/tenants/acme/modules/hello/rollback", NULL, "{\"to_version\":42}"), 404, &r, "rollback 42");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/modules/hello/rollback", NULL, "{\"to_version\":\"2\"}"), 400, &r, "rollback type");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/modules/nope/rollback", NULL, "{}"), 404, &r, "rollback unknown module");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/modules/hello/rollback", NULL, "{\"to_version\":2}"), 201, &r, "rollback to 2");
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "to_version")), 2);
	th_resp_free(&r);
	/* Newest first: the reverse of the default order. */
	{
		json_t *asc, *desc;
		expect(get(&r, "/v1/tenants/acme/deployments?limit=500", NULL), 200, &r, "list asc");
		asc = json_incref(json_object_get(r.json, "items"));
		th_resp_free(&r);
		expect(get(&r, "/v1/tenants/acme/deployments?limit=500&order=desc", NULL), 200, &r, "list desc");
		desc = json_object_get(r.json, "items");
		ck_assert_uint_ge(json_array_size(asc), 3);
		ck_assert_uint_eq(json_array_size(asc), json_array_size(desc));
		for (size_t i = 0, n = json_array_size(asc); i < n; i++)
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(asc, i), "id")),
					 json_string_value(json_object_get(json_array_get(desc, n - 1 - i), "id")));
		json_decref(asc);
		th_resp_free(&r);
	}
}
END_TEST

START_TEST(agent_endpoints)
{
	struct th_resp r;
	char *tok = add_pop("hnd1");
	long long gen0;
	char id[64];

	expect(get(&r, "/v1/agent/desired", tok), 200, &r, "desired");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "pop")), "hnd1");
	ck_assert(json_is_integer(json_object_get(r.json, "generation")));
	gen0 = json_integer_value(json_object_get(r.json, "generation"));
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "modules")), 0);
	ck_assert(json_is_array(json_object_get(r.json, "routes")));
	th_resp_free(&r);
	/* Only agents: admins get 403, nobody 401. */
	expect(get(&r, "/v1/agent/desired", NULL), 403, &r, "admin desired");
	th_resp_free(&r);
	th_http(&r, "GET", th_cp_url(&cp, "/v1/agent/desired"), NULL, NULL, NULL, 0, NULL);
	expect(r.status, 401, &r, "anonymous desired");
	th_resp_free(&r);
	/* Roll version 2 out to hnd1 and look at the wire format. */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":2,\"strategy\":\"immediate\"}"), 201, &r, "deploy");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_decref(wait_state(id, "running"));
	expect(get(&r, "/v1/agent/desired", tok), 200, &r, "desired");
	ck_assert_int_gt(json_integer_value(json_object_get(r.json, "generation")), gen0);
	json_t *m = json_array_get(json_object_get(r.json, "modules"), 0);
	ck_assert_ptr_nonnull(m);
	ck_assert_str_eq(json_string_value(json_object_get(m, "tenant")), "acme");
	ck_assert_str_eq(json_string_value(json_object_get(m, "module")), "hello");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "version")), 2);
	const char *digest = json_string_value(json_object_get(m, "digest"));
	ck_assert(strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
	ck_assert(json_is_integer(json_object_get(m, "size")));
	ck_assert(json_is_object(json_object_get(m, "manifest")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(m, "manifest"), "version")), 2);
	ck_assert(json_is_string(json_object_get(m, "signature")));
	char blob_url[128], etag[128];
	snprintf(blob_url, sizeof blob_url, "%s", json_string_value(json_object_get(m, "blob_url")));
	ck_assert_str_eq(blob_url + strlen("/v1/blobs/"), digest);
	long long size = json_integer_value(json_object_get(m, "size"));
	th_resp_free(&r);
	/* The blob: bytes, ETag, immutable; If-None-Match gives 304. */
	expect(get(&r, blob_url, tok), 200, &r, "blob");
	ck_assert_int_eq((long long)r.len, size);
	ck_assert_ptr_nonnull(th_header(&r, "ETag"));
	snprintf(etag, sizeof etag, "%s", th_header(&r, "ETag"));
	ck_assert_ptr_nonnull(strstr(th_header(&r, "Cache-Control"), "immutable"));
	th_resp_free(&r);
	char inm[200];
	snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
	const char *hdrs[] = {inm, NULL};
	th_http(&r, "GET", th_cp_url(&cp, blob_url), tok, NULL, NULL, 0, hdrs);
	expect(r.status, 304, &r, "blob 304");
	ck_assert_uint_eq(r.len, 0);
	th_resp_free(&r);
	expect(get(&r, "/v1/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000", tok), 404, &r, "unknown blob");
	th_resp_free(&r);
	/* A malformed digest is the caller's error (400); upper-case hex names the same blob. */
	static const char *const bad_digests[] = {
		"/v1/blobs/sha256:xyz",
		"/v1/blobs/sha256:000000000000000000000000000000000000000000000000000000000000000",
		"/v1/blobs/sha256:00000000000000000000000000000000000000000000000000000000000000000",
		"/v1/blobs/sha256:000000000000000000000000000000000000000000000000000000000000000g",
	};
	for (size_t i = 0; i < sizeof bad_digests / sizeof bad_digests[0]; i++) {
		expect(get(&r, bad_digests[i], tok), 400, &r, bad_digests[i]);
		ck_assert_str_eq(th_header(&r, "Content-Type"), "application/problem+json");
		th_resp_free(&r);
	}
	char upper[128];
	snprintf(upper, sizeof upper, "%s", blob_url);
	for (char *c = upper + strlen("/v1/blobs/sha256:"); *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	expect(get(&r, upper, tok), 200, &r, "upper-case digest");
	ck_assert_int_eq((long long)r.len, size);
	ck_assert_str_eq(th_header(&r, "ETag"), etag);
	th_resp_free(&r);
	expect(get(&r, blob_url, NULL), 403, &r, "admin blob");
	th_resp_free(&r);
	/* Reports: good, and bad. */
	expect(post(&r, "/v1/agent/report", tok,
		    "{\"generation\":1,\"agent\":{\"version\":\"0.1.0\",\"uptime_seconds\":3},"
		    "\"modules\":[{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":2,\"state\":\"active\","
		    "\"error\":null,\"requests\":120,\"errors\":2,\"p99_ms\":1.7}]}"), 200, &r, "report");
	ck_assert(json_is_integer(json_object_get(r.json, "generation")));
	th_resp_free(&r);
	json_decref(wait_state(id, "succeeded"));
	/* A bare heartbeat keeps what the agent said it runs; an empty list says it runs nothing. */
	char dpath[160];
	snprintf(dpath, sizeof dpath, "/v1/tenants/acme/deployments/%s", id);
	expect(post(&r, "/v1/agent/report", tok, "{\"generation\":1}"), 200, &r, "heartbeat");
	th_resp_free(&r);
	expect(get(&r, dpath, NULL), 200, &r, "get");
	json_t *hp = json_array_get(json_object_get(r.json, "pops"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(hp, "observed_version")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(hp, "state")), "active");
	th_resp_free(&r);
	expect(post(&r, "/v1/agent/report", tok, "{\"generation\":1,\"modules\":[]}"), 200, &r, "empty");
	th_resp_free(&r);
	expect(get(&r, dpath, NULL), 200, &r, "get");
	hp = json_array_get(json_object_get(r.json, "pops"), 0);
	ck_assert(json_is_null(json_object_get(hp, "observed_version")));
	ck_assert_str_eq(json_string_value(json_object_get(hp, "state")), "pending");
	th_resp_free(&r);
	static const char *const bad[] = {
		"{\"modules\":[]}",
		"{\"generation\":\"1\",\"modules\":[]}",
		"{\"generation\":1,\"modules\":{}}",
		"{\"generation\":1,\"modules\":[1]}",
		"{\"generation\":1,\"modules\":[{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":2,\"state\":\"running\"}]}",
		"{\"generation\":1,\"modules\":[{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":0,\"state\":\"active\"}]}",
		"{\"generation\":1,\"modules\":[{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":2,\"state\":\"active\",\"requests\":-1}]}",
		"{\"generation\":1,\"modules\":[{\"module\":\"hello\",\"version\":2,\"state\":\"active\"}]}",
		"{\"generation\":1,\"agent\":\"x\",\"modules\":[]}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		expect(post(&r, "/v1/agent/report", tok, bad[i]), 400, &r, bad[i]);
		th_resp_free(&r);
	}
	/* The PoP shows the agent and what it runs. */
	expect(get(&r, "/v1/pops/hnd1", NULL), 200, &r, "pop");
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "agents")), 1);
	th_resp_free(&r);
	/* A route changes every PoP's desired state. */
	expect(get(&r, "/v1/agent/desired", tok), 200, &r, "desired");
	long long g1 = json_integer_value(json_object_get(r.json, "generation"));
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/domains", NULL, "{\"domain\":\"acme.example\"}"), 201, &r, "domain");
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants/acme/routes", NULL, "{\"host\":\"api.acme.example\",\"path\":\"/v1/*\",\"module\":\"hello\"}"), 201, &r, "route");
	th_resp_free(&r);
	expect(get(&r, "/v1/agent/desired", tok), 200, &r, "desired");
	ck_assert_int_gt(json_integer_value(json_object_get(r.json, "generation")), g1);
	json_t *route = json_array_get(json_object_get(r.json, "routes"), 0);
	ck_assert_ptr_nonnull(route);
	ck_assert_str_eq(json_string_value(json_object_get(route, "tenant")), "acme");
	ck_assert_str_eq(json_string_value(json_object_get(route, "host")), "api.acme.example");
	ck_assert_str_eq(json_string_value(json_object_get(route, "path")), "/v1/*");
	ck_assert_str_eq(json_string_value(json_object_get(route, "module")), "hello");
	th_resp_free(&r);
	free(tok);
}
END_TEST

START_TEST(new_pop_mid_rollout_gets_stable)
{
	struct th_resp r;
	char id[64];
	char *t1, *t2;

	/* Version 1 is the module's version (empty fleet: succeeds at once). */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":1}"), 201, &r, "v1");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_decref(wait_state(id, "succeeded"));
	/* A PoP that joins afterwards gets version 1 from the start. */
	t1 = add_pop("fra1");
	expect(get(&r, "/v1/agent/desired", t1), 200, &r, "desired fra1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "modules"), 0), "version")), 1);
	th_resp_free(&r);
	/* A rollout of 2 is under way on fra1 (its agent never confirms)... */
	expect(post(&r, "/v1/tenants/acme/deployments", NULL,
		    "{\"module\":\"hello\",\"version\":2,\"strategy\":{\"waves\":[{\"pops\":[\"fra1\"]},{\"percent\":100}],"
		    "\"activation_timeout_seconds\":600}}"), 201, &r, "v2");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_decref(wait_state(id, "running"));
	expect(get(&r, "/v1/agent/desired", t1), 200, &r, "desired fra1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "modules"), 0), "version")), 2);
	th_resp_free(&r);
	/* ...and a PoP that joins now gets the stable version 1, not 2. */
	t2 = add_pop("iad1");
	usleep(200000);
	expect(get(&r, "/v1/agent/desired", t2), 200, &r, "desired iad1");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(json_object_get(r.json, "modules"), 0), "version")), 1);
	th_resp_free(&r);
	free(t1);
	free(t2);
}
END_TEST

/* More live deployments than the runner loads at once (256): the newest still advances.
 * 256 modules wait on a PoP whose agent never reports; module hello's deployment behind them
 * must still time out and roll back. */
START_TEST(many_live_deployments_none_starves)
{
	struct th_resp r;
	char body[512], path[200], id[64];
	char *tok = add_pop("dead1");
	size_t len;
	unsigned char *w = sim_wasm("many", 0, &len);

	for (int i = 0; i < 256; i++) {
		snprintf(body, sizeof body, "{\"name\":\"m%d\"}", i);
		expect(post(&r, "/v1/tenants/acme/modules", NULL, body), 201, &r, "module");
		th_resp_free(&r);
		snprintf(path, sizeof path, "/v1/tenants/acme/modules/m%d/versions", i);
		th_http(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "application/wasm", w, len, NULL);
		expect(r.status, 201, &r, "upload");
		th_resp_free(&r);
		snprintf(body, sizeof body,
			 "{\"module\":\"m%d\",\"version\":1,\"strategy\":{\"waves\":[{\"pops\":[\"dead1\"]}],"
			 "\"activation_timeout_seconds\":3600}}", i);
		expect(post(&r, "/v1/tenants/acme/deployments", NULL, body), 201, &r, "stuck deployment");
		th_resp_free(&r);
	}
	free(w);
	expect(post(&r, "/v1/tenants/acme/deployments", NULL,
		    "{\"module\":\"hello\",\"version\":1,\"strategy\":{\"waves\":[{\"pops\":[\"dead1\"]}],"
		    "\"activation_timeout_seconds\":1,\"auto_rollback\":true}}"), 201, &r, "the 257th");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	json_t *d = wait_state(id, "rolled_back");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(d, "reason")), "activation timeout"));
	json_decref(d);
	free(tok);
}
END_TEST

START_TEST(tenant_isolation)
{
	struct th_resp r;
	char id[64], path[160], *agent;
	char tok[128];

	expect(post(&r, "/v1/tenants/acme/deployments", NULL, "{\"module\":\"hello\",\"version\":1}"), 201, &r, "v1");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	expect(post(&r, "/v1/tenants", NULL, "{\"slug\":\"other\",\"name\":\"Other\"}"), 201, &r, "tenant");
	th_resp_free(&r);
	expect(post(&r, "/v1/tokens", NULL, "{\"role\":\"deployer\",\"tenant\":\"other\",\"name\":\"d\"}"), 201, &r, "token");
	snprintf(tok, sizeof tok, "%s", json_string_value(json_object_get(r.json, "secret")));
	th_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s", id);
	expect(get(&r, path, tok), 404, &r, "other tenant's deployment");
	th_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tenants/other/deployments/%s", id);
	expect(get(&r, path, tok), 404, &r, "deployment under the wrong tenant");
	th_resp_free(&r);
	snprintf(path, sizeof path, "/v1/tenants/other/deployments/%s/abort", id);
	expect(post(&r, path, tok, "{}"), 404, &r, "abort under the wrong tenant");
	th_resp_free(&r);
	agent = add_pop("hnd1");
	/* An agent token has no tenant: tenant-scoped routes do not exist for it. */
	expect(get(&r, "/v1/tenants/acme/deployments", agent), 404, &r, "agent lists deployments");
	th_resp_free(&r);
	free(agent);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("sched_api");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, create_rejects_bad_input, 0, (int)(sizeof bad_creates / sizeof bad_creates[0]));
	tcase_add_test(tc, actions_and_conflicts);
	tcase_add_test(tc, noop_and_rollback);
	tcase_add_test(tc, agent_endpoints);
	tcase_add_test(tc, new_pop_mid_rollout_gets_stable);
	tcase_add_test(tc, tenant_isolation);
	tcase_add_test(tc, many_live_deployments_none_starves);
	suite_add_tcase(su, tc);
	return th_main(su);
}
