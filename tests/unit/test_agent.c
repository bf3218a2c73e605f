/* Unit tests of the agent's pure parts: route matching and table swaps, desired-state parsing,
 * the blob cache, counters, configuration and backoff. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/cache.h"
#include "agent/config.h"
#include "agent/desired.h"
#include "agent/fetch.h"
#include "agent/fsutil.h"
#include "agent/module.h"
#include "agent/routes.h"
#include "agent/stats.h"
#include "signing/signing.h"
#include "tests/lib/th.h"

/* Creates an empty file; 0 or -1. */
static int touch_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	return fclose(f) == 0 ? 0 : -1;
}

static struct agt_module *mk(const char *name)
{
	struct agt_module *m = agt_module_create("acme", name, 1, "sha256:00", 1, "{}", "sig",
						 "/v1/blobs/x", NULL);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* Name of the module a request lands on, or "-" for none. */
static const char *hit(struct agt_table *t, const char *host, const char *path)
{
	const struct agt_route *r = agt_table_match(t, host, path);
	return r ? r->mod->name : "-";
}

static void add(struct agt_table *t, const char *host, const char *path, struct agt_module *m)
{
	char err[128];
	ck_assert_msg(agt_table_add(t, host, path, m, err, sizeof(err)) == 0, "%s%s: %s", host,
		      path, err);
}

START_TEST(routes_exact_host_before_wildcard)
{
	struct agt_module *exact = mk("exact"), *wild = mk("wild"), *deeper = mk("deeper");
	struct agt_table *t = agt_table_create(1);

	add(t, "*.example.com", "/*", wild);
	add(t, "api.example.com", "/*", exact);
	add(t, "*.eu.example.com", "/*", deeper);
	ck_assert_str_eq(hit(t, "api.example.com", "/x"), "exact");
	ck_assert_str_eq(hit(t, "www.example.com", "/x"), "wild");
	ck_assert_str_eq(hit(t, "a.b.example.com", "/"), "wild");
	/* A longer wildcard is more specific. */
	ck_assert_str_eq(hit(t, "fra.eu.example.com", "/"), "deeper");
	/* A wildcard does not cover the bare domain. */
	ck_assert_str_eq(hit(t, "example.com", "/"), "-");
	ck_assert_str_eq(hit(t, "other.org", "/"), "-");
	/* Case and port do not matter; a trailing dot neither. */
	ck_assert_str_eq(hit(t, "API.Example.COM:8081", "/"), "exact");
	ck_assert_str_eq(hit(t, "api.example.com.", "/"), "exact");
	agt_table_unref(t);
	agt_module_unref(exact);
	agt_module_unref(wild);
	agt_module_unref(deeper);
}
END_TEST

START_TEST(routes_exact_host_falls_back_to_wildcard_path)
{
	struct agt_module *a = mk("a"), *w = mk("w");
	struct agt_table *t = agt_table_create(1);

	/* The exact host only has /api/\*: other paths may still match the wildcard host. */
	add(t, "api.example.com", "/api/*", a);
	add(t, "*.example.com", "/*", w);
	ck_assert_str_eq(hit(t, "api.example.com", "/api/v1"), "a");
	ck_assert_str_eq(hit(t, "api.example.com", "/other"), "w");
	agt_table_unref(t);
	agt_module_unref(a);
	agt_module_unref(w);
}
END_TEST

START_TEST(routes_longest_prefix_and_exact_path)
{
	struct agt_module *root = mk("root"), *v1 = mk("v1"), *v1users = mk("v1users"),
			  *exact = mk("exact"), *exact_v1 = mk("exactv1");
	struct agt_table *t = agt_table_create(1);

	add(t, "h.test", "/*", root);
	add(t, "h.test", "/v1/*", v1);
	add(t, "h.test", "/v1/users/*", v1users);
	add(t, "h.test", "/v1/users/me", exact);
	add(t, "h.test", "/v1", exact_v1);
	ck_assert_str_eq(hit(t, "h.test", "/"), "root");
	ck_assert_str_eq(hit(t, "h.test", "/v2"), "root");
	ck_assert_str_eq(hit(t, "h.test", "/v1/"), "v1");
	ck_assert_str_eq(hit(t, "h.test", "/v1/x"), "v1");
	ck_assert_str_eq(hit(t, "h.test", "/v1/users"), "v1users");
	ck_assert_str_eq(hit(t, "h.test", "/v1/users/42"), "v1users");
	ck_assert_str_eq(hit(t, "h.test", "/v1/users/me"), "exact");
	ck_assert_str_eq(hit(t, "h.test", "/v1/users/me/x"), "v1users");
	/* An exact path beats a prefix of the same length. */
	ck_assert_str_eq(hit(t, "h.test", "/v1"), "exactv1");
	/* A prefix matches at a segment boundary only. */
	ck_assert_str_eq(hit(t, "h.test", "/v1x"), "root");
	agt_table_unref(t);
	agt_module_unref(root);
	agt_module_unref(v1);
	agt_module_unref(v1users);
	agt_module_unref(exact);
	agt_module_unref(exact_v1);
}
END_TEST

START_TEST(routes_exact_path_only)
{
	struct agt_module *m = mk("m");
	struct agt_table *t = agt_table_create(1);

	add(t, "h.test", "/hello", m);
	ck_assert_str_eq(hit(t, "h.test", "/hello"), "m");
	ck_assert_str_eq(hit(t, "h.test", "/hello/"), "-");
	ck_assert_str_eq(hit(t, "h.test", "/hello2"), "-");
	ck_assert_str_eq(hit(t, "h.test", "/"), "-");
	ck_assert_str_eq(hit(t, "", "/hello"), "-");
	ck_assert_ptr_null(agt_table_match(NULL, "h.test", "/hello"));
	agt_table_unref(t);
	agt_module_unref(m);
}
END_TEST

START_TEST(routes_reject_bad_input)
{
	struct agt_module *m = mk("m");
	struct agt_table *t = agt_table_create(1);
	char err[128];
	const char *bad[][2] = {
		{"h.test", "nope"},     {"h.test", ""},          {"h.test", "/a/*/b"},
		{"h.test", "/a*"},      {"h.test", "/a b"},      {"", "/"},
		{"bad host", "/"},      {"*.", "/"},             {"a..b", "/"},
		{"*x.test", "/"},       {"h.test", "/a?b"},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_msg(agt_table_add(t, bad[i][0], bad[i][1], m, err, sizeof(err)) == -EINVAL,
			      "accepted %s %s", bad[i][0], bad[i][1]);
		ck_assert(err[0] != '\0');
	}
	ck_assert_uint_eq(t->n, 0);
	agt_table_unref(t);
	agt_module_unref(m);
}
END_TEST

START_TEST(routes_swap_keeps_old_table_alive)
{
	struct agt_module *old = mk("old"), *neu = mk("new");
	struct agt_table *t1 = agt_table_create(1), *t2 = agt_table_create(2), *held, *cur;

	add(t1, "h.test", "/*", old);
	add(t2, "h.test", "/*", neu);
	agt_routes_publish(t1);
	/* A request in flight holds the first table. */
	held = agt_routes_acquire();
	ck_assert_ptr_eq(held, t1);
	agt_module_unref(old); /* only the table holds it now */
	ck_assert_int_eq(atomic_load(&old->refs), 1);
	agt_routes_publish(t2);
	cur = agt_routes_acquire();
	ck_assert_str_eq(hit(cur, "h.test", "/"), "new");
	/* The old table and its module are still intact for the request. */
	ck_assert_str_eq(hit(held, "h.test", "/"), "old");
	ck_assert_int_eq(atomic_load(&held->refs), 1);
	agt_table_unref(held);
	agt_table_unref(cur);
	agt_routes_publish(NULL);
	ck_assert_ptr_null(agt_routes_acquire());
	agt_module_unref(neu);
}
END_TEST

static const char good_desired[] =
	"{\"pop\":\"hnd1\",\"generation\":42,"
	"\"modules\":[{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":3,"
	"\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	"\"size\":1234,\"manifest\":{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":3},"
	"\"signature\":\"c2ln\",\"blob_url\":\"/v1/blobs/sha256:0123\"}],"
	"\"routes\":[{\"tenant\":\"acme\",\"host\":\"api.acme.example\",\"path\":\"/v1/*\","
	"\"module\":\"hello\"}]}";

START_TEST(desired_parses_wire_format)
{
	struct agt_desired *d = NULL, *d2 = NULL;
	char err[256] = "", *text;
	json_t *j;

	ck_assert_int_eq(agt_desired_parse(good_desired, strlen(good_desired), &d, err, sizeof(err)), 0);
	ck_assert_str_eq(d->pop, "hnd1");
	ck_assert_int_eq(d->generation, 42);
	ck_assert_uint_eq(d->n_modules, 1);
	ck_assert_str_eq(d->modules[0].tenant, "acme");
	ck_assert_str_eq(d->modules[0].module, "hello");
	ck_assert_int_eq(d->modules[0].version, 3);
	ck_assert_uint_eq(d->modules[0].size, 1234);
	ck_assert_str_eq(d->modules[0].signature, "c2ln");
	ck_assert_ptr_nonnull(strstr(d->modules[0].manifest, "\"module\":\"hello\""));
	ck_assert_uint_eq(d->n_routes, 1);
	ck_assert_str_eq(d->routes[0].path, "/v1/*");
	ck_assert_ptr_nonnull(agt_desired_find(d, "acme", "hello"));
	ck_assert_ptr_null(agt_desired_find(d, "acme", "other"));
	/* Round trip through the state-file form. */
	j = agt_desired_to_json(d);
	ck_assert_ptr_nonnull(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	ck_assert_int_eq(agt_desired_parse(text, strlen(text), &d2, err, sizeof(err)), 0);
	ck_assert_int_eq(d2->generation, 42);
	ck_assert_str_eq(d2->modules[0].manifest, d->modules[0].manifest);
	ck_assert_str_eq(d2->routes[0].host, "api.acme.example");
	free(text);
	agt_desired_free(d);
	agt_desired_free(d2);
}
END_TEST

START_TEST(desired_empty_is_fine)
{
	const char *s = "{\"pop\":\"fra1\",\"generation\":0,\"modules\":[],\"routes\":[]}";
	struct agt_desired *d = NULL;
	char err[256];

	ck_assert_int_eq(agt_desired_parse(s, strlen(s), &d, err, sizeof(err)), 0);
	ck_assert_uint_eq(d->n_modules, 0);
	ck_assert_uint_eq(d->n_routes, 0);
	agt_desired_free(d);
}
END_TEST

/* Replaces the first occurrence of `from` in good_desired by `to`. */
static char *mutate(const char *from, const char *to)
{
	const char *p = strstr(good_desired, from);
	char *out;

	ck_assert_ptr_nonnull(p);
	out = malloc(strlen(good_desired) + strlen(to) + 1);
	ck_assert_ptr_nonnull(out);
	sprintf(out, "%.*s%s%s", (int)(p - good_desired), good_desired, to, p + strlen(from));
	return out;
}

START_TEST(desired_rejects_bad_documents)
{
	const char *cases[][3] = {
		/* from, to, expected words in the error */
		{"\"generation\":42", "\"generation\":-1", "generation"},
		{"\"generation\":42", "\"generation\":\"42\"", "generation"},
		{"\"pop\":\"hnd1\"", "\"pop\":\"\"", "pop"},
		{"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		 "sha256:XYZ", "digest"},
		{"\"size\":1234", "\"size\":0", "size"},
		{"\"version\":3,\"digest\"", "\"version\":0,\"digest\"", "version"},
		{"\"tenant\":\"acme\",\"module\":\"hello\",\"version\":3,\"digest\"",
		 "\"tenant\":\"Acme!\",\"module\":\"hello\",\"version\":3,\"digest\"", "tenant"},
		{"\"signature\":\"c2ln\"", "\"signature\":\"\"", "signature"},
		{"\"blob_url\":\"/v1/blobs/sha256:0123\"", "\"blob_url\":\"ftp://x\"", "blob_url"},
		{"\"manifest\":{", "\"manifest\":7,\"x\":{", "manifest"},
		{"\"path\":\"/v1/*\"", "\"path\":\"v1\"", "routes[0]"},
		{"\"host\":\"api.acme.example\"", "\"host\":\"a b\"", "routes[0]"},
		{"\"routes\":[", "\"routes\":{\"x\":0},\"r\":[", "array"},
	};
	struct agt_desired *d = NULL;
	char err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *doc = mutate(cases[i][0], cases[i][1]);
		err[0] = '\0';
		ck_assert_msg(agt_desired_parse(doc, strlen(doc), &d, err, sizeof(err)) == -EINVAL,
			      "case %zu accepted", i);
		ck_assert_ptr_null(d);
		ck_assert_msg(strstr(err, cases[i][2]) != NULL, "case %zu: error \"%s\" lacks %s", i,
			      err, cases[i][2]);
		free(doc);
	}
	ck_assert_int_eq(agt_desired_parse("not json", 8, &d, err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(agt_desired_parse("[]", 2, &d, err, sizeof(err)), -EINVAL);
}
END_TEST

START_TEST(desired_rejects_duplicate_module)
{
	char *doc = mutate("}],\"routes\"",
			   "},{\"tenant\":\"acme\",\"module\":\"hello\",\"version\":4,"
			   "\"digest\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
			   "\"size\":1,\"manifest\":{},\"signature\":\"x\",\"blob_url\":\"/b\"}],\"routes\"");
	struct agt_desired *d = NULL;
	char err[256] = "";

	ck_assert_int_eq(agt_desired_parse(doc, strlen(doc), &d, err, sizeof(err)), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "twice"));
	free(doc);
}
END_TEST

static char *tmpdir(void)
{
	char *d = strdup("/tmp/agt-unit-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

static void rmtree(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(cache_roundtrip_and_corruption)
{
	char *dir = tmpdir(), err[256], digest[SIGN_DIGEST_LEN + 1], path[4200];
	const char data[] = "\0asm module bytes";
	uint8_t *got = NULL;
	size_t len = 0;
	FILE *f;

	ck_assert_int_eq(agt_cache_init(dir, err, sizeof(err)), 0);
	sign_digest((const uint8_t *)data, sizeof(data), digest);
	ck_assert_int_eq(agt_cache_get(digest, sizeof(data), &got, &len), -ENOENT);
	ck_assert_int_eq(agt_cache_put(digest, (const uint8_t *)data, sizeof(data), err, sizeof(err)), 0);
	ck_assert_int_eq(agt_cache_get(digest, sizeof(data), &got, &len), 0);
	ck_assert_uint_eq(len, sizeof(data));
	ck_assert(memcmp(got, data, len) == 0);
	free(got);
	/* The wrong expected size is a corrupt entry: removed. */
	ck_assert_int_eq(agt_cache_get(digest, sizeof(data) - 1, &got, &len), -EBADMSG);
	ck_assert_int_eq(agt_cache_get(digest, sizeof(data), &got, &len), -ENOENT);
	/* Flipped bytes of the same size: detected by the hash, removed. */
	ck_assert_int_eq(agt_cache_put(digest, (const uint8_t *)data, sizeof(data), err, sizeof(err)), 0);
	agt_cache_path(digest, path, sizeof(path));
	f = fopen(path, "r+b");
	ck_assert_ptr_nonnull(f);
	fputc('X', f);
	fclose(f);
	ck_assert_int_eq(agt_cache_get(digest, sizeof(data), &got, &len), -EBADMSG);
	ck_assert_ptr_null(got);
	ck_assert_int_ne(access(path, F_OK), 0);
	rmtree(dir);
	free(dir);
}
END_TEST

/* The cache keeps what serves or is desired plus the newest spare files, and drops the rest and
 * any left-over temporary file; names it does not own are left alone. */
START_TEST(cache_gc_keeps_needed_and_recent)
{
	char *dir = tmpdir(), err[256], path[4200], dg[6][SIGN_DIGEST_LEN + 1];
	char tmpf[4300], other[4300];
	const char *keep[2];
	uint8_t *got = NULL;
	size_t len = 0;

	ck_assert_int_eq(agt_cache_init(dir, err, sizeof(err)), 0);
	for (int i = 0; i < 6; i++) {
		char data[32];
		struct timespec ts[2];
		snprintf(data, sizeof(data), "blob %d", i);
		sign_digest((const uint8_t *)data, strlen(data), dg[i]);
		ck_assert_int_eq(agt_cache_put(dg[i], (const uint8_t *)data, strlen(data), err,
					       sizeof(err)), 0);
		/* Distinct ages: blob i was written i hours after blob 0. */
		agt_cache_path(dg[i], path, sizeof(path));
		ts[0].tv_sec = ts[1].tv_sec = 1700000000 + i * 3600;
		ts[0].tv_nsec = ts[1].tv_nsec = 0;
		ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	}
	agt_cache_path(dg[0], path, sizeof(path));
	snprintf(tmpf, sizeof(tmpf), "%s.tmp.AbC123", path);
	ck_assert_int_eq(touch_file(tmpf), 0);
	snprintf(other, sizeof(other), "%s/blobs/README", dir);
	ck_assert_int_eq(touch_file(other), 0);

	/* Keep 0 and 1 (the oldest) by reference, 5 and 4 as the two newest spares. */
	keep[0] = dg[0];
	keep[1] = dg[1] + 7; /* bare hex works as well */
	ck_assert_int_eq(agt_cache_gc(keep, 2, 2), 3); /* 2, 3 and the temporary file */
	for (int i = 0; i < 6; i++) {
		char data[32];
		snprintf(data, sizeof(data), "blob %d", i);
		int rc = agt_cache_get(dg[i], strlen(data), &got, &len);
		if (i == 2 || i == 3) {
			ck_assert_int_eq(rc, -ENOENT);
		} else {
			ck_assert_msg(rc == 0, "blob %d: %d", i, rc);
			free(got);
		}
	}
	ck_assert_int_ne(access(tmpf, F_OK), 0);
	ck_assert_int_eq(access(other, F_OK), 0);
	/* Nothing left to drop: a second pass removes nothing. */
	ck_assert_int_eq(agt_cache_gc(keep, 2, 2), 0);
	/* No spare: only the referenced files stay. */
	ck_assert_int_eq(agt_cache_gc(keep, 2, 0), 2);
	rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(atomic_write_replaces_whole_file)
{
	char *dir = tmpdir(), path[300], err[256], *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/a/b/state.json", dir);
	ck_assert_int_eq(agt_write_atomic(path, "x", 1, err, sizeof(err)) < 0, 1); /* no folder */
	snprintf(path, sizeof(path), "%s/a/b", dir);
	ck_assert_int_eq(agt_mkdirs(path), 0);
	snprintf(path, sizeof(path), "%s/a/b/state.json", dir);
	ck_assert_int_eq(agt_write_atomic(path, "first", 5, err, sizeof(err)), 0);
	ck_assert_int_eq(agt_write_atomic(path, "second", 6, err, sizeof(err)), 0);
	ck_assert_int_eq(agt_read_file(path, 100, &text, &len), 0);
	ck_assert_str_eq(text, "second");
	free(text);
	ck_assert_int_eq(agt_read_file(path, 3, &text, &len), -EFBIG);
	rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(stats_counts_and_p99)
{
	struct agt_stats *s = agt_stats_get("acme", "stats-test");
	uint64_t req, errs;
	double p99;
	struct buf b = {0};

	ck_assert_ptr_eq(s, agt_stats_get("acme", "stats-test"));
	for (int i = 0; i < 98; i++)
		agt_stats_record(s, 1.0, false);
	agt_stats_record(s, 100.0, true);
	agt_stats_record(s, 100.0, true);
	agt_stats_drain(s, &req, &errs, &p99);
	ck_assert_uint_eq(req, 100);
	ck_assert_uint_eq(errs, 2);
	/* 2 % of the requests took 100 ms: p99 is in their bucket (within 20 %). */
	ck_assert_msg(p99 >= 100.0 && p99 < 120.0, "p99 %f", p99);
	agt_stats_drain(s, &req, &errs, &p99);
	ck_assert_uint_eq(req, 0);
	ck_assert(p99 == 0.0);
	ck_assert(agt_stats_prometheus(&b));
	ck_assert_ptr_nonnull(strstr(b.data, "edge_agent_requests_total{tenant=\"acme\",module=\"stats-test\"} 100"));
	ck_assert_ptr_nonnull(strstr(b.data, "edge_agent_errors_total{tenant=\"acme\",module=\"stats-test\"} 2"));
	ck_assert_ptr_nonnull(strstr(b.data, "le=\"+Inf\"} 100"));
	buf_free(&b);
}
END_TEST

START_TEST(config_precedence_and_required)
{
	struct agt_config c;
	char err[4096];
	char *argv1[] = {"edge-agent", "--listen", "127.0.0.1:9001", "--timeout-ms=75", NULL};
	char *argv2[] = {"edge-agent", "--bogus", NULL};
	char *argv3[] = {"edge-agent", "--threads", "x", NULL};

	unsetenv("EDGE_AGENT_TOKEN");
	setenv("EDGE_AGENT_TRUSTED_KEYS", "/tmp/keys", 1);
	ck_assert_int_eq(agt_config_load(&c, 1, argv1, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "EDGE_AGENT_TOKEN"));
	setenv("EDGE_AGENT_TOKEN", "ept_secret", 1);
	setenv("EDGE_AGENT_LISTEN", "127.0.0.1:9000", 1);
	setenv("EDGE_AGENT_CONTROL_PLANE", "http://cp.test:8080/", 1);
	ck_assert_int_eq(agt_config_load(&c, 4, argv1, err, sizeof(err)), 0);
	ck_assert_str_eq(c.listen, "127.0.0.1:9001"); /* flag beats environment */
	ck_assert_str_eq(c.control_plane, "http://cp.test:8080");
	ck_assert_str_eq(c.admin_listen, "127.0.0.1:8082");
	ck_assert_str_eq(c.state_dir, "./agent-state");
	ck_assert_str_eq(c.token, "ept_secret");
	ck_assert_uint_eq(c.timeout_ms, 75);
	ck_assert_uint_eq(c.max_memory, 128u << 20);
	ck_assert_uint_eq(c.max_body, 1u << 20);
	ck_assert_uint_eq(c.max_response, 8u << 20);
	ck_assert_uint_eq(c.poll_seconds, 30);
	ck_assert_uint_eq(c.heartbeat_seconds, 10);
	ck_assert_int_eq(agt_config_load(&c, 2, argv2, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "--bogus"));
	ck_assert_int_eq(agt_config_load(&c, 3, argv3, err, sizeof(err)), -1);
	setenv("EDGE_AGENT_LISTEN", "nocolon", 1);
	ck_assert_int_eq(agt_config_load(&c, 1, argv1, err, sizeof(err)), -1);
	unsetenv("EDGE_AGENT_LISTEN");
	setenv("EDGE_AGENT_CONTROL_PLANE", "cp.test", 1);
	ck_assert_int_eq(agt_config_load(&c, 1, argv1, err, sizeof(err)), -1);
	unsetenv("EDGE_AGENT_CONTROL_PLANE");
}
END_TEST

START_TEST(backoff_is_bounded_and_jittered)
{
	int distinct = 0;
	long prev = -1;

	for (int attempt = 0; attempt < 20; attempt++) {
		long ms = agt_backoff_ms(attempt, 100, 2000);
		long ceiling = 100L << (attempt < 5 ? attempt : 5);
		if (ceiling > 2000)
			ceiling = 2000;
		ck_assert_int_ge(ms, 1);
		ck_assert_int_le(ms, ceiling);
	}
	for (int i = 0; i < 50; i++) {
		long ms = agt_backoff_ms(10, 100, 2000);
		distinct += ms != prev;
		prev = ms;
	}
	ck_assert_int_gt(distinct, 10);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("agent");
	TCase *tr = tcase_create("routes"), *td = tcase_create("desired"), *tc = tcase_create("cache"),
	      *tm = tcase_create("misc");

	tcase_add_test(tr, routes_exact_host_before_wildcard);
	tcase_add_test(tr, routes_exact_host_falls_back_to_wildcard_path);
	tcase_add_test(tr, routes_longest_prefix_and_exact_path);
	tcase_add_test(tr, routes_exact_path_only);
	tcase_add_test(tr, routes_reject_bad_input);
	tcase_add_test(tr, routes_swap_keeps_old_table_alive);
	tcase_add_test(td, desired_parses_wire_format);
	tcase_add_test(td, desired_empty_is_fine);
	tcase_add_test(td, desired_rejects_bad_documents);
	tcase_add_test(td, desired_rejects_duplicate_module);
	tcase_add_test(tc, cache_roundtrip_and_corruption);
	tcase_add_test(tc, cache_gc_keeps_needed_and_recent);
	tcase_add_test(tc, atomic_write_replaces_whole_file);
	tcase_add_test(tm, stats_counts_and_p99);
	tcase_add_test(tm, config_precedence_and_required);
	tcase_add_test(tm, backoff_is_bounded_and_jittered);
	suite_add_tcase(s, tr);
	suite_add_tcase(s, td);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tm);
	return th_main(s);
}
