/* tests/integration/test_sched_sim.h: simulated edge agents for the scheduler's integration
 * tests (included by test_sched*.c only). Each agent has its own agent token and Redis
 * subscription to edgeplane:pop:<name>, pulls GET /v1/agent/desired on a doorbell, on
 * (re)connect and every poll_ms, fetches new blobs, "activates" module versions (or refuses
 * the one it is told to fail) and reports over real HTTP. Single-threaded: sim_step() advances
 * every agent once. */
#ifndef TEST_SCHED_SIM_H
#define TEST_SCHED_SIM_H

#include <check.h>
#include <hiredis.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/th.h"

#define SIM_MAX 16

struct sim_agent {
	char pop[64];
	char token[128];
	redisContext *rc;
	long long next_redis_try;
	bool bell;
	long long applied_gen;
	long long last_pull, last_report;
	int running;      /* version of "hello" it serves (0: none) */
	int failed;       /* version it refused (reported failed) */
	int fail_version; /* refuse this version */
	long long req_per_report, err_per_report;
	int switched_at[8]; /* order number at which it started running version v (0: never) */
	bool dead;          /* stops pulling and reporting (a stale agent) */
};

struct sim {
	struct sim_agent a[SIM_MAX];
	int n;
	const struct th_cp *cp;
	int poll_ms;
	int hb_ms;
	int order;     /* increments at each switch to a new version, across agents */
	int doorbells; /* doorbells received */
	int pulls;
};

static inline long long sim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Connects and subscribes; failures leave rc NULL (retried every 500 ms). */
static inline void sim_redis(struct sim_agent *a)
{
	const char *url = th_env("EDGEPLANE_REDIS_URL");
	const char *hp = strstr(url, "://");
	char host[128];
	int port;
	struct timeval tv = {0, 300000};
	redisReply *rep;

	if (a->rc != NULL || sim_now() < a->next_redis_try)
		return;
	a->next_redis_try = sim_now() + 500;
	hp = hp ? hp + 3 : url;
	size_t hl = strcspn(hp, ":");
	if (hl >= sizeof host)
		hl = sizeof host - 1;
	memcpy(host, hp, hl);
	host[hl] = '\0';
	port = atoi(hp + strcspn(hp, ":") + 1);
	a->rc = redisConnectWithTimeout(host, port, tv);
	if (a->rc == NULL || a->rc->err) {
		if (a->rc)
			redisFree(a->rc);
		a->rc = NULL;
		return;
	}
	rep = redisCommand(a->rc, "SUBSCRIBE edgeplane:pop:%s", a->pop);
	if (rep == NULL) {
		redisFree(a->rc);
		a->rc = NULL;
		return;
	}
	freeReplyObject(rep);
	/* Like the real agent: pull on every (re)connect. */
	a->bell = true;
}

/* Reads pending doorbells without blocking. */
static inline void sim_read_bells(struct sim *s, struct sim_agent *a)
{
	struct pollfd pfd;
	void *reply;

	if (a->rc == NULL)
		return;
	pfd.fd = a->rc->fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 0) <= 0)
		return;
	if (redisBufferRead(a->rc) != REDIS_OK) {
		redisFree(a->rc);
		a->rc = NULL;
		return;
	}
	while (redisGetReplyFromReader(a->rc, &reply) == REDIS_OK && reply != NULL) {
		redisReply *r = reply;
		if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		    strcmp(r->element[0]->str, "message") == 0) {
			json_t *m = json_loads(r->element[2]->str, 0, NULL);
			ck_assert_msg(m != NULL && json_is_integer(json_object_get(m, "generation")),
				      "doorbell is not {\"generation\":N}: %s", r->element[2]->str);
			json_decref(m);
			a->bell = true;
			s->doorbells++;
		}
		freeReplyObject(r);
	}
}

static inline void sim_report(struct sim *s, struct sim_agent *a)
{
	struct th_resp r;
	json_t *mods = json_array(), *body;
	char *text;

	if (a->running > 0)
		json_array_append_new(mods, json_pack("{s:s,s:s,s:i,s:s,s:n,s:I,s:I,s:f}",
			"tenant", "acme", "module", "hello", "version", a->running, "state", "active",
			"error", "requests", (json_int_t)a->req_per_report, "errors",
			(json_int_t)a->err_per_report, "p99_ms", 1.5));
	if (a->failed > 0)
		json_array_append_new(mods, json_pack("{s:s,s:s,s:i,s:s,s:s,s:i,s:i,s:n}",
			"tenant", "acme", "module", "hello", "version", a->failed, "state", "failed",
			"error", "simulated activation failure", "requests", 0, "errors", 0, "p99_ms"));
	body = json_pack("{s:I,s:{s:s,s:i},s:o}", "generation", (json_int_t)a->applied_gen,
			 "agent", "version", "sim", "uptime_seconds", 1, "modules", mods);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	th_http(&r, "POST", th_cp_url(s->cp, "/v1/agent/report"), a->token, NULL, text,
		strlen(text), NULL);
	free(text);
	/* The control plane may be down on purpose (kill -9 tests): just try again later. */
	if (r.status != 0)
		ck_assert_msg(r.status == 200 && r.json != NULL &&
			      json_is_integer(json_object_get(r.json, "generation")),
			      "report: %ld %s", r.status, r.body);
	th_resp_free(&r);
	a->last_report = sim_now();
}

static inline void sim_pull(struct sim *s, struct sim_agent *a)
{
	struct th_resp r;
	json_t *mods, *m;
	size_t i;
	int want = 0;
	long long gen;

	a->last_pull = sim_now();
	a->bell = false;
	th_http(&r, "GET", th_cp_url(s->cp, "/v1/agent/desired"), a->token, NULL, NULL, 0, NULL);
	if (r.status == 0) {
		th_resp_free(&r);
		return;
	}
	s->pulls++;
	ck_assert_msg(r.status == 200 && r.json != NULL, "desired: %ld %s", r.status, r.body);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "pop")), a->pop);
	gen = json_integer_value(json_object_get(r.json, "generation"));
	ck_assert_msg(gen >= a->applied_gen, "generation went back from %lld to %lld",
		      a->applied_gen, gen);
	mods = json_object_get(r.json, "modules");
	ck_assert(json_is_array(mods));
	ck_assert(json_is_array(json_object_get(r.json, "routes")));
	json_array_foreach(mods, i, m) {
		if (strcmp(json_string_value(json_object_get(m, "module")), "hello") != 0)
			continue;
		want = (int)json_integer_value(json_object_get(m, "version"));
		if (want != a->running && want != a->failed) {
			/* Fetch the bytes like an agent, and check they are what was announced. */
			struct th_resp b;
			const char *url = json_string_value(json_object_get(m, "blob_url"));
			ck_assert_ptr_nonnull(url);
			ck_assert_ptr_nonnull(json_object_get(m, "manifest"));
			ck_assert_ptr_nonnull(json_object_get(m, "signature"));
			th_http(&b, "GET", th_cp_url(s->cp, url), a->token, NULL, NULL, 0, NULL);
			if (b.status != 0) {
				ck_assert_msg(b.status == 200, "blob %s: %ld", url, b.status);
				ck_assert_int_eq((long long)b.len,
						 json_integer_value(json_object_get(m, "size")));
			}
			th_resp_free(&b);
		}
	}
	th_resp_free(&r);
	a->applied_gen = gen;
	if (want == a->running)
		return;
	if (want != 0 && want == a->fail_version) {
		if (a->failed == want)
			return;
		a->failed = want; /* the previous version keeps serving */
	} else {
		a->running = want;
		a->failed = 0;
		if (want > 0 && want < 8 && a->switched_at[want] == 0)
			a->switched_at[want] = ++s->order;
	}
	sim_report(s, a);
}

/* One pass over every agent. */
static inline void sim_step(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct sim_agent *a = &s->a[i];
		if (a->dead)
			continue;
		sim_redis(a);
		sim_read_bells(s, a);
		if (a->bell || sim_now() - a->last_pull >= s->poll_ms)
			sim_pull(s, a);
		if (sim_now() - a->last_report >= s->hb_ms)
			sim_report(s, a);
	}
}

static inline void sim_free(struct sim *s)
{
	for (int i = 0; i < s->n; i++)
		if (s->a[i].rc != NULL)
			redisFree(s->a[i].rc);
	memset(s, 0, sizeof *s);
}

/* ---- fleet setup over the admin API ------------------------------------------------------- */

/* A module whose bytes differ by `tag` (a custom section of pad more bytes); the upload's
 * validation accepts it. Caller frees. */
static inline unsigned char *sim_wasm(const char *tag, size_t pad, size_t *len)
{
	size_t tl = strlen(tag), payload = 2 + tl + pad, n;
	unsigned char *w = malloc(8 + 1 + 5 + payload);
	size_t p;

	ck_assert_ptr_nonnull(w);
	memcpy(w, "\0asm\1\0\0\0", 8);
	p = 8;
	w[p++] = 0; /* custom section */
	n = payload;
	do { /* LEB128 size */
		unsigned char b = n & 0x7f;
		n >>= 7;
		w[p++] = (unsigned char)(b | (n ? 0x80 : 0));
	} while (n);
	w[p++] = 1;
	w[p++] = 't';
	memcpy(w + p, tag, tl);
	p += tl;
	memset(w + p, 'x', pad);
	p += pad;
	*len = p;
	return w;
}

static inline void sim_expect(long st, long want, struct th_resp *r, const char *what)
{
	ck_assert_msg(st == want, "%s: %ld (want %ld): %s", what, st, want, r->body ? r->body : "");
}

/* Tenant "acme", PoPs pop00..pop(n-1) with one agent token each, module "hello" with
 * versions 1..nversions. */
static inline void sim_fleet(struct sim *s, const struct th_cp *cp, int n, int nversions)
{
	struct th_resp r;

	memset(s, 0, sizeof *s);
	s->cp = cp;
	s->n = n;
	s->poll_ms = 5000;
	s->hb_ms = 300;
	sim_expect(th_req(&r, "POST", th_cp_url(cp, "/v1/tenants"), cp->admin_token,
			  "{\"slug\":\"acme\",\"name\":\"Acme\"}"), 201, &r, "tenant");
	th_resp_free(&r);
	for (int i = 0; i < n; i++) {
		struct sim_agent *a = &s->a[i];
		snprintf(a->pop, sizeof a->pop, "pop%02d", i);
		sim_expect(th_req(&r, "POST", th_cp_url(cp, "/v1/pops"), cp->admin_token,
				  "{\"name\":\"%s\",\"region\":\"test\",\"labels\":{}}", a->pop),
			   201, &r, "pop");
		th_resp_free(&r);
		sim_expect(th_req(&r, "POST", th_cp_url(cp, "/v1/tokens"), cp->admin_token,
				  "{\"role\":\"agent\",\"pop\":\"%s\",\"name\":\"agent-%s\"}", a->pop,
				  a->pop), 201, &r, "agent token");
		snprintf(a->token, sizeof a->token, "%s",
			 json_string_value(json_object_get(r.json, "secret")));
		ck_assert_msg(strncmp(a->token, "ept_", 4) == 0, "token: %s", r.body);
		th_resp_free(&r);
		a->req_per_report = 10;
	}
	sim_expect(th_req(&r, "POST", th_cp_url(cp, "/v1/tenants/acme/modules"), cp->admin_token,
			  "{\"name\":\"hello\"}"), 201, &r, "module");
	th_resp_free(&r);
	for (int v = 1; v <= nversions; v++) {
		char tag[16];
		size_t len;
		unsigned char *w;
		snprintf(tag, sizeof tag, "v%d", v);
		w = sim_wasm(tag, 0, &len);
		th_http(&r, "POST", th_cp_url(cp, "/v1/tenants/acme/modules/hello/versions"),
			cp->admin_token, "application/wasm", w, len, NULL);
		free(w);
		sim_expect(r.status, 201, &r, "version upload");
		ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), v);
		th_resp_free(&r);
	}
}

/* POST a deployment; returns its id (static buffer). */
static inline const char *sim_deploy(struct sim *s, int version, const char *strategy_json)
{
	static char id[64];
	struct th_resp r;

	sim_expect(th_req(&r, "POST", th_cp_url(s->cp, "/v1/tenants/acme/deployments"),
			  s->cp->admin_token, "{\"module\":\"hello\",\"version\":%d,\"strategy\":%s}",
			  version, strategy_json), 201, &r, "deployment");
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	return id;
}

/* GET the deployment (caller json_decrefs), NULL when the control plane did not answer. */
static inline json_t *sim_get(struct sim *s, const char *id)
{
	struct th_resp r;
	char path[160];
	json_t *out;

	snprintf(path, sizeof path, "/v1/tenants/acme/deployments/%s", id);
	th_http(&r, "GET", th_cp_url(s->cp, path), s->cp->admin_token, NULL, NULL, 0, NULL);
	if (r.status == 0) {
		th_resp_free(&r);
		return NULL;
	}
	ck_assert_msg(r.status == 200 && r.json != NULL, "get deployment: %ld %s", r.status, r.body);
	out = json_incref(r.json);
	th_resp_free(&r);
	return out;
}

static inline const char *sim_state(json_t *d)
{
	return json_string_value(json_object_get(d, "state"));
}

/* Runs the agents until the deployment's state is `want` (another final state fails the
 * test) or timeout_ms passes (fails too). Returns the object (caller decrefs). */
static inline json_t *sim_run_until(struct sim *s, const char *id, const char *want,
				    int timeout_ms)
{
	long long end = sim_now() + timeout_ms, next_check = 0;
	json_t *d = NULL;

	for (;;) {
		sim_step(s);
		if (sim_now() >= next_check) {
			next_check = sim_now() + 100;
			json_decref(d);
			d = sim_get(s, id);
			if (d != NULL) {
				const char *st = sim_state(d);
				if (strcmp(st, want) == 0)
					return d;
				if (strcmp(st, "pending") != 0 && strcmp(st, "running") != 0 &&
				    strcmp(st, "paused") != 0) {
					char *t = json_dumps(d, JSON_COMPACT);
					ck_abort_msg("deployment ended %s, wanted %s: %s", st, want, t);
				}
			}
		}
		if (sim_now() > end) {
			char *t = d ? json_dumps(d, JSON_COMPACT) : NULL;
			ck_abort_msg("deployment not %s after %d ms: %s", want, timeout_ms,
				     t ? t : "(no answer)");
		}
		usleep(10000);
	}
}

/* Number of events of a type (and wave; -1 for any). */
static inline int sim_events(json_t *d, const char *type, int wave)
{
	json_t *e;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(d, "events"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "type")), type) != 0)
			continue;
		if (wave >= 0 && json_integer_value(json_object_get(e, "wave")) != wave)
			continue;
		n++;
	}
	return n;
}

/* Index of the first event of a type and wave (-1 for any wave); -1 when none. */
static inline int sim_event_index(json_t *d, const char *type, int wave)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(d, "events"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0 &&
		    (wave < 0 || json_integer_value(json_object_get(e, "wave")) == wave))
			return (int)i;
	}
	return -1;
}

static inline struct sim_agent *sim_agent_of(struct sim *s, const char *pop)
{
	for (int i = 0; i < s->n; i++)
		if (strcmp(s->a[i].pop, pop) == 0)
			return &s->a[i];
	ck_abort_msg("no agent for PoP %s", pop);
	return NULL;
}

/* Runs the agents for ms milliseconds. */
static inline void sim_run_for(struct sim *s, int ms)
{
	long long end = sim_now() + ms;

	while (sim_now() < end) {
		sim_step(s);
		usleep(10000);
	}
}

#endif
