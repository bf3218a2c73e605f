/* Integration tests of the REST resources against a real `edgeplane serve` and PostgreSQL:
 * tenants, domains, tokens, modules, versions, routes, PoPs, keys, audit, pagination and
 * Idempotency-Key; each good case sits next to its bad-input cases. One control plane serves
 * the whole suite; each test uses its own tenant names. */
#include <check.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/test_api.h"
#include "tests/lib/th.h"

static struct th_cp cp;

static void setup(void)
{
	th_cp_start(&cp, NULL);
}

static void teardown(void)
{
	th_cp_stop(&cp);
}

/* Counts rows of a table in the control plane's database (direct check that a refused request
 * changed nothing). */
static long count_rows(const char *sql)
{
	PGconn *c = PQconnectdb(cp.db_url);
	PGresult *r;
	long n;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
	n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}

START_TEST(tenants_create_list_get)
{
	struct th_resp r;

	ta_expect(&cp, 201, "POST", "/v1/tenants", cp.admin_token, "{\"slug\":\"t1\",\"name\":\"One\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "slug")), "t1");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "One");
	const char *created = json_string_value(json_object_get(r.json, "created_at"));
	ck_assert(created != NULL && strlen(created) == 20 && created[19] == 'Z');
	ck_assert_str_eq(th_header(&r, "Location"), "/v1/tenants/t1");
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/tenants/t1", cp.admin_token, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "One");
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/tenants/nope", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 409, "POST", "/v1/tenants", cp.admin_token, "{\"slug\":\"t1\",\"name\":\"Again\"}", NULL);
}
END_TEST

START_TEST(tenants_bad_input_changes_nothing)
{
	long before = count_rows("SELECT count(*) FROM tenants");
	static const char *const bad[] = {
		"{\"slug\":\"x1\"",                                  /* malformed JSON */
		"[1,2]",                                             /* not an object */
		"{\"slug\":5,\"name\":\"n\"}",                        /* wrong type */
		"{\"name\":\"n\"}",                                  /* missing slug */
		"{\"slug\":\"x2\",\"name\":\"n\",\"extra\":1}",        /* unknown field */
		"{\"slug\":\"Upper\",\"name\":\"n\"}",                /* slug out of pattern */
		"{\"slug\":\"-x\",\"name\":\"n\"}",
		"{\"slug\":\"x'; DROP TABLE tenants;--\",\"name\":\"n\"}", /* SQL metacharacters */
		"{\"slug\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"name\":\"n\"}",
		"{\"slug\":\"x3\",\"name\":\"\"}",                     /* empty name */
		"{\"slug\":\"x4\",\"name\":\"a\\u0000b\"}",            /* NUL inside */
		"{\"slug\":\"x5\",\"name\":\"bell\\u0007\"}",          /* control character */
		"{\"slug\":\"x6\",\"slug\":\"x7\",\"name\":\"dup\"}",   /* duplicate key */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct th_resp r;
		th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, bad[i],
			strlen(bad[i]), NULL);
		ck_assert_msg(r.status == 400, "body %s: %ld %s", bad[i], r.status, r.body);
		ta_problem(&r, 400);
		th_resp_free(&r);
	}
	/* Invalid UTF-8 inside a string. */
	const char inv[] = "{\"slug\":\"x8\",\"name\":\"\xff\xfe\"}";
	struct th_resp r;
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, inv, sizeof inv - 1, NULL);
	ta_problem(&r, 400);
	th_resp_free(&r);
	/* Declared as something else than JSON. */
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, "text/plain", "slug=x9", 7, NULL);
	ta_problem(&r, 415);
	th_resp_free(&r);
	/* Quotes and SQL metacharacters are kept as data where free text is allowed. */
	ta_expect(&cp, 201, "POST", "/v1/tenants", cp.admin_token,
		  "{\"slug\":\"quotes\",\"name\":\"O'Brien \\\"; DROP TABLE tenants;--\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "O'Brien \"; DROP TABLE tenants;--");
	th_resp_free(&r);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM tenants"), before + 1);
}
END_TEST

START_TEST(pagination_walks_every_item_once)
{
	struct th_resp r;
	char path[512], slug[32];
	int seen = 0;

	for (int i = 0; i < 7; i++) {
		snprintf(slug, sizeof slug, "pg%d", i);
		ta_tenant(&cp, slug);
		ta_module(&cp, cp.admin_token, "pg0", slug);
	}
	snprintf(path, sizeof path, "/v1/tenants/pg0/modules?limit=3");
	for (int page = 0; page < 10; page++) {
		ta_expect(&cp, 200, "GET", path, cp.admin_token, NULL, &r);
		json_t *items = json_object_get(r.json, "items");
		ck_assert(json_is_array(items));
		ck_assert_int_le(json_array_size(items), 3);
		for (size_t i = 0; i < json_array_size(items); i++) {
			snprintf(slug, sizeof slug, "pg%d", seen++);
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, i), "name")), slug);
		}
		json_t *next = json_object_get(r.json, "next_cursor");
		ck_assert_ptr_nonnull(next);
		if (json_is_null(next)) {
			th_resp_free(&r);
			break;
		}
		snprintf(path, sizeof path, "/v1/tenants/pg0/modules?limit=3&cursor=%s", json_string_value(next));
		th_resp_free(&r);
	}
	ck_assert_int_eq(seen, 7);
	/* Defaults and bounds. */
	ta_expect(&cp, 200, "GET", "/v1/tenants/pg0/modules?limit=500", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?limit=501", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?limit=99999999999999999999", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?limit=0", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?limit=-1", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?limit=ten", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?cursor=garbage", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/tenants/pg0/modules?cursor=YzE6LTE", cp.admin_token, NULL, NULL); /* "c1:-1" */
	ta_expect(&cp, 400, "GET", "/v1/tenants?cursor=%27%3B--", cp.admin_token, NULL, NULL);
}
END_TEST

/* Walks a list with ?limit=2 and returns how many items it saw, checking that no id repeats
 * and that every page but the last is full. */
static int walk_list(const char *base)
{
	struct th_resp r;
	char path[1024], ids[64][64];
	int seen = 0;

	snprintf(path, sizeof path, "%s%climit=2", base, strchr(base, '?') ? '&' : '?');
	for (int page = 0; page < 40; page++) {
		ta_expect(&cp, 200, "GET", path, cp.admin_token, NULL, &r);
		json_t *items = json_object_get(r.json, "items");
		json_t *next = json_object_get(r.json, "next_cursor");
		ck_assert_msg(json_is_array(items) && next != NULL, "%s: not a page", path);
		ck_assert_int_le(json_array_size(items), 2);
		for (size_t i = 0; i < json_array_size(items); i++) {
			json_t *it = json_array_get(items, i);
			char num[32];
			const char *id = json_string_value(json_object_get(it, "id"));
			if (json_is_integer(json_object_get(it, "id"))) { /* audit rows */
				snprintf(num, sizeof num, "%lld",
					 (long long)json_integer_value(json_object_get(it, "id")));
				id = num;
			}
			if (id == NULL) /* keys are named by key_id, PoPs by name */
				id = json_string_value(json_object_get(it, "key_id"));
			if (id == NULL)
				id = json_string_value(json_object_get(it, "name"));
			ck_assert_msg(id != NULL, "%s: an item without id", base);
			for (int k = 0; k < seen && k < 64; k++)
				ck_assert_msg(strcmp(ids[k], id) != 0, "%s: %s seen twice", base, id);
			if (seen < 64)
				snprintf(ids[seen], sizeof ids[seen], "%s", id);
			seen++;
		}
		if (json_is_null(next)) {
			th_resp_free(&r);
			return seen;
		}
		ck_assert_int_eq(json_array_size(items), 2);
		snprintf(path, sizeof path, "%s%climit=2&cursor=%s", base, strchr(base, '?') ? '&' : '?',
			 json_string_value(next));
		th_resp_free(&r);
	}
	ck_abort_msg("%s: more than 40 pages", base);
	return -1;
}

START_TEST(pagination_on_every_list)
{
	char name[64], body[256];

	ta_tenant(&cp, "pgl");
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "pgl%d", i);
		ta_module(&cp, cp.admin_token, "pgl", name);
		snprintf(body, sizeof body, "{\"domain\":\"pgl%d.example\"}", i);
		ta_expect(&cp, 201, "POST", "/v1/tenants/pgl/domains", cp.admin_token, body, NULL);
		snprintf(body, sizeof body, "{\"host\":\"pgl%d.example\",\"path\":\"/*\",\"module\":\"pgl%d\"}",
			 i, i);
		ta_expect(&cp, 201, "POST", "/v1/tenants/pgl/routes", cp.admin_token, body, NULL);
		snprintf(name, sizeof name, "pgl-pop%d", i);
		ta_pop(&cp, name);
		free(ta_token(&cp, "reader", "pgl", NULL, 0));
	}
	ck_assert_int_eq(walk_list("/v1/tenants/pgl/modules"), 5);
	ck_assert_int_eq(walk_list("/v1/tenants/pgl/domains"), 5);
	ck_assert_int_eq(walk_list("/v1/tenants/pgl/routes"), 5);
	ck_assert_int_eq(walk_list("/v1/tenants"), count_rows("SELECT count(*) FROM tenants"));
	ck_assert_int_eq(walk_list("/v1/pops"), count_rows("SELECT count(*) FROM pops"));
	ck_assert_int_eq(walk_list("/v1/tokens"), count_rows("SELECT count(*) FROM tokens"));
	ck_assert_int_eq(walk_list("/v1/keys"), count_rows("SELECT count(*) FROM signing_keys"));
	ck_assert_int_ge(walk_list("/v1/audit"), 25);
}
END_TEST

/* The audit log newest first (?order=desc): the same rows as oldest first, in exactly the
 * reverse order, across pages; a bad order is 400. */
START_TEST(audit_newest_first)
{
	struct th_resp r;
	char path[1024];
	long long last = -1;
	int asc = 0, desc = 0;

	ta_tenant(&cp, "ord");
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof name, "ord%d", i);
		ta_module(&cp, cp.admin_token, "ord", name);
	}
	asc = walk_list("/v1/audit?tenant=ord");
	ck_assert_int_ge(asc, 4);
	snprintf(path, sizeof path, "/v1/audit?tenant=ord&order=desc&limit=2");
	for (int page = 0; page < 40; page++) {
		ta_expect(&cp, 200, "GET", path, cp.admin_token, NULL, &r);
		json_t *items = json_object_get(r.json, "items"), *next = json_object_get(r.json, "next_cursor");
		for (size_t i = 0; i < json_array_size(items); i++) {
			long long id = json_integer_value(json_object_get(json_array_get(items, i), "id"));
			ck_assert_msg(last < 0 || id < last, "order=desc: %lld after %lld", id, last);
			if (desc == 0) /* the newest row: the last module created */
				ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, i), "target")),
						 "ord/ord2");
			last = id;
			desc++;
		}
		if (json_is_null(next)) {
			th_resp_free(&r);
			break;
		}
		snprintf(path, sizeof path, "/v1/audit?tenant=ord&order=desc&limit=2&cursor=%s",
			 json_string_value(next));
		th_resp_free(&r);
	}
	ck_assert_int_eq(desc, asc);
	ta_expect(&cp, 400, "GET", "/v1/audit?order=newest", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/v1/audit?order=asc&limit=1", cp.admin_token, NULL, NULL);
}
END_TEST

START_TEST(domains_lifecycle)
{
	struct th_resp r;

	ta_tenant(&cp, "dom");
	ta_tenant(&cp, "dom2");
	ta_expect(&cp, 201, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":\"dom.example\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "domain")), "dom.example");
	th_resp_free(&r);
	/* One owner per domain, across tenants. */
	ta_expect(&cp, 409, "POST", "/v1/tenants/dom2/domains", cp.admin_token, "{\"domain\":\"dom.example\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":\"Bad..Host\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":\"*.wild.example\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":\"x'--.example\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":[]}", NULL);
	ta_expect(&cp, 404, "POST", "/v1/tenants/ghost/domains", cp.admin_token, "{\"domain\":\"g.example\"}", NULL);
	ta_expect(&cp, 200, "GET", "/v1/tenants/dom/domains", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
	th_resp_free(&r);
	ta_expect(&cp, 404, "DELETE", "/v1/tenants/dom2/domains/dom.example", cp.admin_token, NULL, NULL);
	/* A domain its routes still need is not deleted (409), unless another domain of the
	 * tenant covers them; once the routes are gone it is. */
	ta_module(&cp, cp.admin_token, "dom", "site");
	ta_expect(&cp, 201, "POST", "/v1/tenants/dom/routes", cp.admin_token,
		  "{\"host\":\"*.dom.example\",\"path\":\"/*\",\"module\":\"site\"}", &r);
	char route[64];
	snprintf(route, sizeof route, "/v1/tenants/dom/routes/%s",
		 json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	ta_expect(&cp, 409, "DELETE", "/v1/tenants/dom/domains/dom.example", cp.admin_token, NULL, &r);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r.json, "detail")), "*.dom.example"));
	th_resp_free(&r);
	ta_expect(&cp, 201, "POST", "/v1/tenants/dom/domains", cp.admin_token, "{\"domain\":\"a.dom.example\"}", NULL);
	ta_expect(&cp, 204, "DELETE", "/v1/tenants/dom/domains/a.dom.example", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/v1/tenants/dom/domains", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 1);
	th_resp_free(&r);
	ta_expect(&cp, 204, "DELETE", route, cp.admin_token, NULL, NULL);
	ta_expect(&cp, 204, "DELETE", "/v1/tenants/dom/domains/dom.example", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "DELETE", "/v1/tenants/dom/domains/dom.example", cp.admin_token, NULL, NULL);
}
END_TEST

/* Host names are case-insensitive: they are stored lowercased without a trailing dot. A
 * domain covers the hosts below it, so one tenant may not register a domain that contains
 * or lies below another tenant's (that would let it take over hosts the other routes). */
START_TEST(domains_overlap_and_case)
{
	struct th_resp r;

	ta_tenant(&cp, "ovl");
	ta_tenant(&cp, "ovl2");
	ta_module(&cp, cp.admin_token, "ovl", "m");
	ta_expect(&cp, 201, "POST", "/v1/tenants/ovl/domains", cp.admin_token, "{\"domain\":\"Ovl.Example.\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "domain")), "ovl.example");
	th_resp_free(&r);
	/* Below, above and equal (in other case) for another tenant: refused, nothing stored. */
	ta_expect(&cp, 409, "POST", "/v1/tenants/ovl2/domains", cp.admin_token, "{\"domain\":\"api.ovl.example\"}", NULL);
	ta_expect(&cp, 409, "POST", "/v1/tenants/ovl2/domains", cp.admin_token, "{\"domain\":\"example\"}", NULL);
	ta_expect(&cp, 409, "POST", "/v1/tenants/ovl2/domains", cp.admin_token, "{\"domain\":\"OVL.example\"}", NULL);
	ta_expect(&cp, 200, "GET", "/v1/tenants/ovl2/domains", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
	th_resp_free(&r);
	/* A name that merely ends with the same letters is another domain. */
	ta_expect(&cp, 201, "POST", "/v1/tenants/ovl2/domains", cp.admin_token, "{\"domain\":\"xovl.example\"}", NULL);
	/* The same tenant may register a sub-domain of its own. */
	ta_expect(&cp, 201, "POST", "/v1/tenants/ovl/domains", cp.admin_token, "{\"domain\":\"eu.ovl.example\"}", NULL);
	/* Routes: the host is normalised the same way; a port is not part of a host. */
	ta_expect(&cp, 201, "POST", "/v1/tenants/ovl/routes", cp.admin_token,
		  "{\"host\":\"API.ovl.example\",\"path\":\"/x\",\"module\":\"m\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "host")), "api.ovl.example");
	th_resp_free(&r);
	ta_expect(&cp, 409, "POST", "/v1/tenants/ovl/routes", cp.admin_token,
		  "{\"host\":\"api.ovl.example.\",\"path\":\"/x\",\"module\":\"m\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/ovl/routes", cp.admin_token,
		  "{\"host\":\"api.ovl.example:8080\",\"path\":\"/y\",\"module\":\"m\"}", NULL);
	ta_expect(&cp, 403, "POST", "/v1/tenants/ovl2/routes", cp.admin_token,
		  "{\"host\":\"api.ovl.example\",\"path\":\"/y\",\"module\":\"m\"}", NULL);
	ta_expect(&cp, 204, "DELETE", "/v1/tenants/ovl/domains/EU.ovl.example", cp.admin_token, NULL, NULL);
}
END_TEST

/* The body of `curl -d` / libcurl without a Content-Type is labelled
 * application/x-www-form-urlencoded: it is read as the JSON it is. Other declared types are
 * refused with 415 and change nothing. */
START_TEST(json_body_content_types)
{
	struct th_resp r;
	const char *body = "{\"slug\":\"ctype\",\"name\":\"C\"}";

	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, "text/plain", body,
		strlen(body), NULL);
	ta_problem(&r, 415);
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/tenants/ctype", cp.admin_token, NULL, NULL);
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token,
		"application/x-www-form-urlencoded", "slug=ctype&name=C", 17, NULL);
	ta_problem(&r, 400);
	th_resp_free(&r);
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token,
		"application/x-www-form-urlencoded", body, strlen(body), NULL);
	ck_assert_int_eq(r.status, 201);
	th_resp_free(&r);
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token,
		"Application/JSON; charset=utf-8", "{\"slug\":\"ctype2\",\"name\":\"C\"}", 28, NULL);
	ck_assert_int_eq(r.status, 201);
	th_resp_free(&r);
}
END_TEST

START_TEST(whoami_names_the_caller)
{
	struct th_resp r;

	ta_tenant(&cp, "who");
	ta_pop(&cp, "who-pop");
	char *dep = ta_token(&cp, "deployer", "who", NULL, 0);
	char *agent = ta_token(&cp, "agent", NULL, "who-pop", 0);

	ta_expect(&cp, 200, "GET", "/v1/whoami", dep, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "deployer");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "tenant")), "who");
	ck_assert(json_is_null(json_object_get(r.json, "pop")));
	ck_assert_ptr_null(json_object_get(r.json, "secret"));
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/whoami", agent, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "agent");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "pop")), "who-pop");
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/whoami", cp.admin_token, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")), "admin");
	ck_assert(json_is_null(json_object_get(r.json, "tenant")));
	th_resp_free(&r);
	/* No token, a garbage one, and the deployer's once revoked: 401. */
	ta_expect(&cp, 401, "GET", "/v1/whoami", NULL, NULL, NULL);
	ta_expect(&cp, 401, "GET", "/v1/whoami", "ept_nope", NULL, NULL);
	ta_expect(&cp, 200, "GET", "/v1/whoami", dep, NULL, &r);
	char path[128];
	snprintf(path, sizeof path, "/v1/tokens/%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	ta_expect(&cp, 204, "DELETE", path, cp.admin_token, NULL, NULL);
	ta_expect(&cp, 401, "GET", "/v1/whoami", dep, NULL, NULL);
	ta_expect(&cp, 405, "POST", "/v1/whoami", cp.admin_token, "{}", NULL);
	free(dep);
	free(agent);
}
END_TEST

START_TEST(tokens_lifecycle)
{
	struct th_resp r;

	ta_tenant(&cp, "tok");
	ta_pop(&cp, "tokpop");
	char *dep = ta_token(&cp, "deployer", "tok", NULL, 0);
	ta_expect(&cp, 200, "GET", "/v1/tenants/tok/modules", dep, NULL, NULL);
	/* The secret never comes back in lists. */
	ta_expect(&cp, 200, "GET", "/v1/tokens?limit=500", cp.admin_token, NULL, &r);
	ck_assert_ptr_null(strstr(r.body, dep));
	ck_assert_ptr_null(strstr(r.body, "secret"));
	ck_assert_ptr_null(strstr(r.body, "hash"));
	json_t *items = json_object_get(r.json, "items");
	const char *id = NULL;
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *t = json_array_get(items, i);
		if (json_is_string(json_object_get(t, "tenant")) &&
		    strcmp(json_string_value(json_object_get(t, "tenant")), "tok") == 0)
			id = json_string_value(json_object_get(t, "id"));
	}
	ck_assert_ptr_nonnull(id);
	char path[128];
	snprintf(path, sizeof path, "/v1/tokens/%s", id);
	th_resp_free(&r);
	ta_expect(&cp, 204, "DELETE", path, cp.admin_token, NULL, NULL);
	ta_expect(&cp, 401, "GET", "/v1/tenants/tok/modules", dep, NULL, NULL);
	free(dep);
	/* An agent token needs an existing PoP; roles and shapes are checked. */
	char *ag = ta_token(&cp, "agent", NULL, "tokpop", 0);
	free(ag);
	ta_expect(&cp, 422, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"agent\",\"name\":\"a\",\"pop\":\"nopop\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"agent\",\"name\":\"a\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"reader\",\"name\":\"a\"}", NULL);
	ta_expect(&cp, 422, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"reader\",\"name\":\"a\",\"tenant\":\"ghost\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"root\",\"name\":\"a\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"admin\",\"name\":\"a\",\"tenant\":\"tok\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"admin\",\"name\":\"a\",\"ttl_seconds\":0}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"admin\",\"name\":\"a\",\"ttl_seconds\":\"60\"}", NULL);
	ta_expect(&cp, 404, "DELETE", "/v1/tokens/not-a-uuid", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "DELETE", "/v1/tokens/00000000-0000-0000-0000-000000000000", cp.admin_token, NULL, NULL);
	/* Expired tokens are refused. */
	char *shortlived = ta_token(&cp, "admin", NULL, NULL, 1);
	ta_expect(&cp, 200, "GET", "/v1/tenants", shortlived, NULL, NULL);
	sleep(2);
	ta_expect(&cp, 401, "GET", "/v1/tenants", shortlived, NULL, NULL);
	free(shortlived);
	/* Only hashes are stored. */
	ck_assert_int_eq(count_rows("SELECT count(*) FROM tokens WHERE length(hash) <> 32"), 0);
}
END_TEST

START_TEST(modules_and_versions)
{
	struct th_resp r;
	size_t len;

	ta_tenant(&cp, "mv");
	ta_module(&cp, cp.admin_token, "mv", "hello");
	ta_expect(&cp, 409, "POST", "/v1/tenants/mv/modules", cp.admin_token, "{\"name\":\"hello\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/mv/modules", cp.admin_token, "{\"name\":\"Hello World\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/mv/modules", cp.admin_token, "{\"name\":null}", NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/mv/modules/nope", cp.admin_token, NULL, NULL);

	unsigned char *w = ta_wasm(100, 'a', &len);
	ta_upload(&cp, cp.admin_token, "mv", "hello", w, len, NULL, &r);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "size")), (json_int_t)len);
	const char *digest = json_string_value(json_object_get(r.json, "digest"));
	ck_assert(digest != NULL && strncmp(digest, "sha256:", 7) == 0 && strlen(digest) == 71);
	json_t *man = json_object_get(r.json, "manifest");
	ck_assert_str_eq(json_string_value(json_object_get(man, "tenant")), "mv");
	ck_assert_str_eq(json_string_value(json_object_get(man, "module")), "hello");
	ck_assert_str_eq(json_string_value(json_object_get(man, "digest")), digest);
	ck_assert_str_eq(json_string_value(json_object_get(man, "key_id")),
			 json_string_value(json_object_get(r.json, "key_id")));
	ck_assert_int_eq(strlen(json_string_value(json_object_get(r.json, "signature"))), 88);
	/* By whom: the uploading token's name. */
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "created_by")), "test-admin");
	char *digest1 = strdup(digest);
	th_resp_free(&r);

	/* The same bytes again: the existing version, 200, nothing stored twice. */
	ta_upload(&cp, cp.admin_token, "mv", "hello", w, len, NULL, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), 1);
	th_resp_free(&r);
	/* Other bytes: version 2; the same bytes in another module share the blob. */
	unsigned char *w2 = ta_wasm(100, 'b', &len);
	ta_upload(&cp, cp.admin_token, "mv", "hello", w2, len, NULL, &r);
	ck_assert_int_eq(r.status, 201);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "version")), 2);
	th_resp_free(&r);
	ta_module(&cp, cp.admin_token, "mv", "other");
	ta_upload(&cp, cp.admin_token, "mv", "other", w, len, NULL, &r);
	ck_assert_int_eq(r.status, 201);
	th_resp_free(&r);
	char q[256];
	snprintf(q, sizeof q, "SELECT count(*) FROM blobs WHERE digest = '%s'", digest1);
	ck_assert_int_eq(count_rows(q), 1);

	/* Reads. */
	ta_expect(&cp, 200, "GET", "/v1/tenants/mv/modules/hello/versions", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 2);
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/tenants/mv/modules/hello/versions/1", cp.admin_token, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "digest")), digest1);
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/tenants/mv/modules/hello/versions/1/wasm", cp.admin_token, NULL, &r);
	ck_assert_uint_eq(r.len, len);
	ck_assert(memcmp(r.body, w, len) == 0);
	ck_assert_str_eq(th_header(&r, "Content-Type"), "application/wasm");
	ck_assert_ptr_nonnull(th_header(&r, "ETag"));
	th_resp_free(&r);
	ta_expect(&cp, 200, "GET", "/v1/tenants/mv/modules/hello", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "latest_version")), 2);
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/tenants/mv/modules/hello/versions/3", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/mv/modules/hello/versions/0", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/mv/modules/hello/versions/x1", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/mv/modules/hello/versions/99999999999", cp.admin_token, NULL, NULL);
	free(w);
	free(w2);
	free(digest1);
}
END_TEST

START_TEST(upload_bad_input)
{
	static const unsigned char not_wasm[] = "hello world, not wasm";
	static const unsigned char bad_version[] = {0, 'a', 's', 'm', 2, 0, 0, 0};
	static const unsigned char truncated[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 9, 1};
	static const unsigned char out_of_order[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 3, 1, 0, 1, 1, 0};
	/* Structure fine, but the function refers to type 0 and there is no type section:
	 * only the full validator catches this. */
	static const unsigned char no_type[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 0x0b};
	struct th_resp r;
	size_t len;

	ta_tenant(&cp, "ub");
	ta_module(&cp, cp.admin_token, "ub", "m");
	long before = count_rows("SELECT count(*) FROM module_versions");
	ta_upload(&cp, cp.admin_token, "ub", "m", not_wasm, sizeof not_wasm, NULL, &r);
	ta_problem(&r, 422);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r.json, "detail")), "\\0asm"));
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "m", bad_version, sizeof bad_version, NULL, &r);
	ta_problem(&r, 422);
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "m", truncated, sizeof truncated, NULL, &r);
	ta_problem(&r, 422);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r.json, "detail")), "section 1"));
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "m", out_of_order, sizeof out_of_order, NULL, &r);
	ta_problem(&r, 422);
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "m", no_type, sizeof no_type, NULL, &r);
	ta_problem(&r, 422);
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "m", "", 0, NULL, &r);
	ck_assert_msg(r.status == 422 || r.status == 400, "%ld", r.status);
	th_resp_free(&r);
	unsigned char *w = ta_wasm(10, 'z', &len);
	ta_upload(&cp, cp.admin_token, "ub", "m", w, len, "application/octet-stream", &r);
	ta_problem(&r, 415);
	th_resp_free(&r);
	ta_upload(&cp, cp.admin_token, "ub", "nomod", w, len, NULL, &r);
	ta_problem(&r, 404);
	th_resp_free(&r);
	free(w);
	/* Over EDGEPLANE_MAX_MODULE_BYTES (default 10 MiB). */
	w = ta_wasm(10 * 1024 * 1024, 'q', &len);
	ta_upload(&cp, cp.admin_token, "ub", "m", w, len, NULL, &r);
	ta_problem(&r, 413);
	th_resp_free(&r);
	free(w);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM module_versions"), before);
}
END_TEST

START_TEST(upload_one_mib_with_label)
{
	struct th_resp r;
	size_t len;
	unsigned char *w = ta_wasm(1024 * 1024, 'm', &len);
	char path[256];

	ta_tenant(&cp, "big");
	ta_module(&cp, cp.admin_token, "big", "m");
	snprintf(path, sizeof path, "/v1/tenants/big/modules/m/versions?label=%s", "release%201");
	th_http(&r, "POST", th_cp_url(&cp, path), cp.admin_token, "application/wasm", w, len, NULL);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "label")), "release 1");
	th_resp_free(&r);
	free(w);
}
END_TEST

START_TEST(routes_ownership_and_uniqueness)
{
	struct th_resp r;

	ta_tenant(&cp, "ra");
	ta_tenant(&cp, "rb");
	ta_expect(&cp, 201, "POST", "/v1/tenants/ra/domains", cp.admin_token, "{\"domain\":\"ra.example\"}", NULL);
	ta_expect(&cp, 201, "POST", "/v1/tenants/rb/domains", cp.admin_token, "{\"domain\":\"rb.example\"}", NULL);
	ta_module(&cp, cp.admin_token, "ra", "web");
	ta_module(&cp, cp.admin_token, "rb", "web");
	char *dep = ta_token(&cp, "deployer", "ra", NULL, 0);
	ta_expect(&cp, 201, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"api.ra.example\",\"path\":\"/v1/*\",\"module\":\"web\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "module")), "web");
	char id[64];
	snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	ta_expect(&cp, 201, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"ra.example\",\"path\":\"/exact\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 201, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"*.ra.example\",\"path\":\"/*\",\"module\":\"web\"}", NULL);
	/* Duplicate host+path: 409, also from another tenant that owns... nothing of it: 403 first. */
	ta_expect(&cp, 409, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"api.ra.example\",\"path\":\"/v1/*\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 403, "POST", "/v1/tenants/rb/routes", cp.admin_token,
		  "{\"host\":\"api.ra.example\",\"path\":\"/v1/*\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 403, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"evil-ra.example\",\"path\":\"/\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 403, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"rb.example\",\"path\":\"/\",\"module\":\"web\"}", NULL);
	/* Paths: exact or prefix ending in slash-star. */
	static const char *const bad_paths[] = {"v1", "/v1*", "/a/*/b", "/a b", "/a?x=1", "/a//b", "/a/../b", ""};
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		char body[256];
		snprintf(body, sizeof body, "{\"host\":\"ra.example\",\"path\":\"%s\",\"module\":\"web\"}", bad_paths[i]);
		ta_expect(&cp, 400, "POST", "/v1/tenants/ra/routes", dep, body, NULL);
	}
	/* Case is normalised (domains_overlap_and_case); a port or a bad label is refused. */
	ta_expect(&cp, 400, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"ra.example:80\",\"path\":\"/\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"-ra.example\",\"path\":\"/\",\"module\":\"web\"}", NULL);
	ta_expect(&cp, 422, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"ra.example\",\"path\":\"/z\",\"module\":\"missing\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/tenants/ra/routes", dep,
		  "{\"host\":\"ra.example\",\"path\":\"/z\"}", NULL);
	ta_expect(&cp, 200, "GET", "/v1/tenants/ra/routes", dep, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 3);
	th_resp_free(&r);
	char path[128];
	snprintf(path, sizeof path, "/v1/tenants/rb/routes/%s", id);
	ta_expect(&cp, 404, "DELETE", path, cp.admin_token, NULL, NULL);
	snprintf(path, sizeof path, "/v1/tenants/ra/routes/%s", id);
	ta_expect(&cp, 204, "DELETE", path, dep, NULL, NULL);
	ta_expect(&cp, 404, "DELETE", path, dep, NULL, NULL);
	ta_expect(&cp, 404, "DELETE", "/v1/tenants/ra/routes/123", dep, NULL, NULL);
	free(dep);
}
END_TEST

START_TEST(pops_and_keys)
{
	struct th_resp r;

	ta_expect(&cp, 201, "POST", "/v1/pops", cp.admin_token,
		  "{\"name\":\"hnd1\",\"region\":\"ap-northeast\",\"labels\":{\"tier\":\"edge\"}}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "labels"), "tier")), "edge");
	th_resp_free(&r);
	ta_expect(&cp, 409, "POST", "/v1/pops", cp.admin_token, "{\"name\":\"hnd1\",\"region\":\"x\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/pops", cp.admin_token, "{\"name\":\"HND\",\"region\":\"x\"}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/pops", cp.admin_token, "{\"name\":\"p2\",\"region\":\"x\",\"labels\":{\"a\":1}}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/pops", cp.admin_token, "{\"name\":\"p2\",\"region\":\"x\",\"labels\":[]}", NULL);
	ta_expect(&cp, 400, "POST", "/v1/pops", cp.admin_token, "{\"name\":\"p2\"}", NULL);
	ta_expect(&cp, 200, "GET", "/v1/pops/hnd1", cp.admin_token, NULL, &r);
	ck_assert(json_is_array(json_object_get(r.json, "agents")));
	ck_assert(json_is_array(json_object_get(r.json, "modules")));
	ck_assert_ptr_nonnull(json_object_get(r.json, "last_heartbeat"));
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/pops/nope", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/v1/pops", cp.admin_token, NULL, NULL);

	/* Keys: anyone; the current key is the one in the signing key file. */
	ta_expect(&cp, 200, "GET", "/v1/keys", NULL, NULL, &r);
	json_t *items = json_object_get(r.json, "items");
	ck_assert_int_ge(json_array_size(items), 1);
	json_t *k = json_array_get(items, 0);
	ck_assert_str_eq(json_string_value(json_object_get(k, "algorithm")), "ed25519");
	ck_assert_str_eq(json_string_value(json_object_get(k, "state")), "current");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(k, "public_key"))), 44);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(k, "key_id"))), 16);
	th_resp_free(&r);
}
END_TEST

START_TEST(audit_rows_for_changes)
{
	struct th_resp r;

	ta_tenant(&cp, "au");
	ta_tenant(&cp, "au2");
	ta_module(&cp, cp.admin_token, "au", "m1");
	ta_module(&cp, cp.admin_token, "au2", "m2");
	ta_expect(&cp, 200, "GET", "/v1/audit?tenant=au&action=module.create", cp.admin_token, NULL, &r);
	json_t *items = json_object_get(r.json, "items");
	ck_assert_int_eq(json_array_size(items), 1);
	json_t *e = json_array_get(items, 0);
	ck_assert_str_eq(json_string_value(json_object_get(e, "target")), "au/m1");
	ck_assert_str_eq(json_string_value(json_object_get(e, "tenant")), "au");
	ck_assert(json_is_string(json_object_get(json_object_get(e, "actor"), "token_id")));
	ck_assert(json_is_string(json_object_get(e, "request_id")));
	th_resp_free(&r);
	/* A reader sees its own tenant's trail only. */
	char *rd = ta_token(&cp, "reader", "au", NULL, 0);
	ta_expect(&cp, 200, "GET", "/v1/audit?limit=500", rd, NULL, &r);
	items = json_object_get(r.json, "items");
	ck_assert_int_ge(json_array_size(items), 1);
	for (size_t i = 0; i < json_array_size(items); i++)
		ck_assert_str_eq(json_string_value(json_object_get(json_array_get(items, i), "tenant")), "au");
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/audit?tenant=au2", rd, NULL, NULL);
	free(rd);
	ta_expect(&cp, 400, "GET", "/v1/audit?actor=nope", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/audit?since=yesterday", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 400, "GET", "/v1/audit?tenant=Bad%20Slug", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/v1/audit?since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00Z", cp.admin_token, NULL, NULL);
}
END_TEST

START_TEST(idempotency_key)
{
	const char *h1[] = {"Idempotency-Key: key-1", NULL};
	const char *body = "{\"slug\":\"idem\",\"name\":\"Idem\"}";
	struct th_resp a, b;

	th_http(&a, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, body, strlen(body), h1);
	ck_assert_int_eq(a.status, 201);
	th_http(&b, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, body, strlen(body), h1);
	ck_assert_int_eq(b.status, 201);
	ck_assert_str_eq(a.body, b.body);
	ck_assert_str_eq(th_header(&b, "Idempotent-Replayed"), "true");
	th_resp_free(&a);
	th_resp_free(&b);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM tenants WHERE slug = 'idem'"), 1);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM audit_log WHERE action = 'tenant.create' AND target = 'idem'"), 1);
	/* Same key, another body: 422, and nothing done. */
	const char *other = "{\"slug\":\"idem2\",\"name\":\"Idem\"}";
	th_http(&b, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, other, strlen(other), h1);
	ta_problem(&b, 422);
	th_resp_free(&b);
	ck_assert_int_eq(count_rows("SELECT count(*) FROM tenants WHERE slug = 'idem2'"), 0);
	/* Without a key, a repeat is a new request (409 here). */
	ta_expect(&cp, 409, "POST", "/v1/tenants", cp.admin_token, body, NULL);
	/* A key must be visible ASCII. */
	const char *bad[] = {"Idempotency-Key: has space", NULL};
	th_http(&b, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, other, strlen(other), bad);
	ta_problem(&b, 400);
	th_resp_free(&b);
	/* Idempotent uploads: the stored answer of the first. */
	size_t len;
	unsigned char *w = ta_wasm(5, 'i', &len);
	ta_module(&cp, cp.admin_token, "idem", "m");
	const char *h2[] = {"Idempotency-Key: up-1", NULL};
	th_http(&a, "POST", th_cp_url(&cp, "/v1/tenants/idem/modules/m/versions"), cp.admin_token,
		"application/wasm", w, len, h2);
	th_http(&b, "POST", th_cp_url(&cp, "/v1/tenants/idem/modules/m/versions"), cp.admin_token,
		"application/wasm", w, len, h2);
	ck_assert_int_eq(a.status, 201);
	ck_assert_int_eq(b.status, 201);
	ck_assert_str_eq(a.body, b.body);
	th_resp_free(&a);
	th_resp_free(&b);
	free(w);
	/* Token creation: done once; the replay does not carry the secret, which is never
	 * stored anywhere. */
	const char *h3[] = {"Idempotency-Key: tok-1", NULL};
	const char *tb = "{\"role\":\"admin\",\"name\":\"idem-token\"}";
	th_http(&a, "POST", th_cp_url(&cp, "/v1/tokens"), cp.admin_token, NULL, tb, strlen(tb), h3);
	th_http(&b, "POST", th_cp_url(&cp, "/v1/tokens"), cp.admin_token, NULL, tb, strlen(tb), h3);
	ck_assert_int_eq(a.status, 201);
	ck_assert_int_eq(b.status, 201);
	const char *secret = json_string_value(json_object_get(a.json, "secret"));
	ck_assert_ptr_nonnull(secret);
	ck_assert(json_is_null(json_object_get(b.json, "secret")));
	ck_assert_str_eq(json_string_value(json_object_get(a.json, "id")),
			 json_string_value(json_object_get(b.json, "id")));
	ck_assert_int_eq(count_rows("SELECT count(*) FROM tokens WHERE name = 'idem-token'"), 1);
	char q[256];
	snprintf(q, sizeof q, "SELECT count(*) FROM idempotency_keys WHERE position('%s' in convert_from(body, 'UTF8')) > 0", secret);
	ck_assert_int_eq(count_rows(q), 0);
	th_resp_free(&a);
	th_resp_free(&b);
}
END_TEST

/* SQL metacharacters and quotes in every string field: refused by the field's pattern, or
 * stored and returned verbatim; the schema is untouched either way. */
START_TEST(sql_metacharacters_everywhere)
{
	struct th_resp r;
	/* In JSON: a quote, a parenthesis, a statement separator, a comment and an escaped
	 * double quote (the stored value ends in a plain '"'). */
	const char *evil = "x'); DROP TABLE tenants; --\\\"";
	char body[512];

	ta_tenant(&cp, "sq");
	ta_expect(&cp, 201, "POST", "/v1/tenants/sq/domains", cp.admin_token, "{\"domain\":\"sq.example\"}", NULL);
	ta_module(&cp, cp.admin_token, "sq", "m");
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", evil);
	ta_expect(&cp, 400, "POST", "/v1/tenants/sq/modules", cp.admin_token, body, NULL);
	snprintf(body, sizeof body, "{\"domain\":\"%s\"}", evil);
	ta_expect(&cp, 400, "POST", "/v1/tenants/sq/domains", cp.admin_token, body, NULL);
	snprintf(body, sizeof body, "{\"host\":\"%s\",\"path\":\"/\",\"module\":\"m\"}", evil);
	ta_expect(&cp, 400, "POST", "/v1/tenants/sq/routes", cp.admin_token, body, NULL);
	snprintf(body, sizeof body, "{\"host\":\"sq.example\",\"path\":\"/\",\"module\":\"%s\"}", evil);
	ta_expect(&cp, 422, "POST", "/v1/tenants/sq/routes", cp.admin_token, body, NULL);
	snprintf(body, sizeof body, "{\"name\":\"%s\",\"region\":\"eu\"}", evil);
	ta_expect(&cp, 400, "POST", "/v1/pops", cp.admin_token, body, NULL);
	/* Verbatim where free text is allowed. */
	ta_expect(&cp, 201, "POST", "/v1/tenants/sq/routes", cp.admin_token,
		  "{\"host\":\"sq.example\",\"path\":\"/it's/--;/*\",\"module\":\"m\"}", &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "path")), "/it's/--;/*");
	th_resp_free(&r);
	snprintf(body, sizeof body, "{\"name\":\"sqpop\",\"region\":\"%s\",\"labels\":{\"%s\":\"%s\"}}", evil, "k'\\\"", evil);
	ta_expect(&cp, 201, "POST", "/v1/pops", cp.admin_token, body, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "region")), "x'); DROP TABLE tenants; --\"");
	th_resp_free(&r);
	snprintf(body, sizeof body, "{\"role\":\"admin\",\"name\":\"%s\"}", evil);
	ta_expect(&cp, 201, "POST", "/v1/tokens", cp.admin_token, body, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")), "x'); DROP TABLE tenants; --\"");
	th_resp_free(&r);
	/* Query strings: labels, filters, cursors. */
	size_t len;
	unsigned char *w = ta_wasm(3, 's', &len);
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants/sq/modules/m/versions?label=%27%3B%20DROP%20TABLE%20blobs%3B--"),
		cp.admin_token, "application/wasm", w, len, NULL);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "label")), "'; DROP TABLE blobs;--");
	th_resp_free(&r);
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants/sq/modules/m/versions?label=%FF%FE"),
		cp.admin_token, "application/wasm", w, len, NULL);
	ta_problem(&r, 400);
	th_resp_free(&r);
	free(w);
	ta_expect(&cp, 200, "GET", "/v1/audit?action=%27%20OR%201%3D1--", cp.admin_token, NULL, &r);
	ck_assert_int_eq(json_array_size(json_object_get(r.json, "items")), 0);
	th_resp_free(&r);
	ta_expect(&cp, 400, "GET", "/v1/audit?target=%FF", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/sq%27--/modules", cp.admin_token, NULL, NULL);
	ck_assert_int_ge(count_rows("SELECT count(*) FROM tenants"), 1);
	ck_assert_int_ge(count_rows("SELECT count(*) FROM blobs"), 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_resources");
	TCase *tc = tcase_create("resources");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, tenants_create_list_get);
	tcase_add_test(tc, tenants_bad_input_changes_nothing);
	tcase_add_test(tc, pagination_walks_every_item_once);
	tcase_add_test(tc, pagination_on_every_list);
	tcase_add_test(tc, audit_newest_first);
	tcase_add_test(tc, domains_lifecycle);
	tcase_add_test(tc, domains_overlap_and_case);
	tcase_add_test(tc, json_body_content_types);
	tcase_add_test(tc, tokens_lifecycle);
	tcase_add_test(tc, whoami_names_the_caller);
	tcase_add_test(tc, modules_and_versions);
	tcase_add_test(tc, upload_bad_input);
	tcase_add_test(tc, upload_one_mib_with_label);
	tcase_add_test(tc, routes_ownership_and_uniqueness);
	tcase_add_test(tc, pops_and_keys);
	tcase_add_test(tc, audit_rows_for_changes);
	tcase_add_test(tc, idempotency_key);
	tcase_add_test(tc, sql_metacharacters_everywhere);
	suite_add_tcase(s, tc);
	return th_main(s);
}
