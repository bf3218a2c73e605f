/* The auth matrix: every role (and no token, a garbage token, a revoked token) against every
 * route the control plane serves (taken from the route table itself, so routes added later
 * are covered): allowed, 401, 403 (role too weak), or 404 (another tenant's resources). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/server.h"
#include "tests/integration/test_api.h"
#include "tests/lib/th.h"

static struct th_cp cp;

enum who { ANON, GARBAGE, REVOKED, ADMIN, DEPLOYER_A, READER_A, AGENT, DEPLOYER_B, NWHO };
static const char *const who_name[NWHO] = {"anonymous", "garbage", "revoked", "admin",
					   "deployer-A", "reader-A", "agent", "deployer-B"};
static char *tokens[NWHO];

enum outcome { ALLOWED, E401, E403, E404_SCOPE };

static void setup(void)
{
	th_cp_start(&cp, NULL);
	ta_tenant(&cp, "ta");
	ta_tenant(&cp, "tb");
	ta_module(&cp, cp.admin_token, "ta", "mod");
	ta_pop(&cp, "popa");
	tokens[ANON] = NULL;
	tokens[GARBAGE] = strdup("ept_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	tokens[ADMIN] = strdup(cp.admin_token);
	tokens[DEPLOYER_A] = ta_token(&cp, "deployer", "ta", NULL, 0);
	tokens[READER_A] = ta_token(&cp, "reader", "ta", NULL, 0);
	tokens[AGENT] = ta_token(&cp, "agent", NULL, "popa", 0);
	tokens[DEPLOYER_B] = ta_token(&cp, "deployer", "tb", NULL, 0);
	/* A revoked admin token. */
	struct th_resp r;
	ta_expect(&cp, 201, "POST", "/v1/tokens", cp.admin_token, "{\"role\":\"admin\",\"name\":\"gone\"}", &r);
	tokens[REVOKED] = strdup(json_string_value(json_object_get(r.json, "secret")));
	char path[128];
	snprintf(path, sizeof path, "/v1/tokens/%s", json_string_value(json_object_get(r.json, "id")));
	th_resp_free(&r);
	ta_expect(&cp, 204, "DELETE", path, cp.admin_token, NULL, NULL);
}

static void teardown(void)
{
	for (int i = 0; i < NWHO; i++)
		free(tokens[i]);
	th_cp_stop(&cp);
}

/* What the contract says `who` gets on a route of this access level. */
static enum outcome expected(enum who w, const char *access, bool tenant_scoped)
{
	bool pub = strcmp(access, "public") == 0;

	if (pub)
		return ALLOWED;
	if (w == ANON || w == GARBAGE || w == REVOKED)
		return E401;
	if (tenant_scoped && (w == AGENT || w == DEPLOYER_B))
		return E404_SCOPE;
	if (strcmp(access, "token") == 0)
		return ALLOWED;
	if (strcmp(access, "agent") == 0)
		return w == AGENT ? ALLOWED : E403;
	if (strcmp(access, "admin") == 0)
		return w == ADMIN ? ALLOWED : E403;
	if (strcmp(access, "deployer") == 0)
		return w == ADMIN || w == DEPLOYER_A || w == DEPLOYER_B ? ALLOWED : E403;
	/* reader */
	return w == AGENT ? E403 : ALLOWED;
}

/* The template with every parameter filled in (tenant "ta" for {t}). */
static void fill(const char *tmpl, char *out, size_t outlen)
{
	static const struct {
		const char *param, *value;
	} values[] = {
		{"{t}", "ta"}, {"{m}", "mod"}, {"{n}", "1"},
		{"{id}", "00000000-0000-0000-0000-000000000000"}, {"{domain}", "a.example"},
		{"{p}", "popa"}, {"{hex}", "0000000000000000000000000000000000000000000000000000000000000000"},
		{"{path*}", "index.html"},
	};
	size_t n = 0;

	for (const char *p = tmpl; *p && n + 1 < outlen;) {
		bool done = false;
		for (size_t i = 0; i < sizeof values / sizeof values[0] && !done; i++) {
			size_t pl = strlen(values[i].param);
			if (strncmp(p, values[i].param, pl) == 0) {
				n += (size_t)snprintf(out + n, outlen - n, "%s", values[i].value);
				p += pl;
				done = true;
			}
		}
		if (!done)
			out[n++] = *p++;
	}
	out[n < outlen ? n : outlen - 1] = '\0';
}

START_TEST(every_role_against_every_route)
{
	json_t *table = api_route_table();
	size_t i, checked = 0;
	json_t *row;

	ck_assert_ptr_nonnull(table);
	json_array_foreach(table, i, row) {
		const char *method = json_string_value(json_object_get(row, "method"));
		const char *tmpl = json_string_value(json_object_get(row, "path"));
		const char *access = json_string_value(json_object_get(row, "access"));
		bool scoped = strstr(tmpl, "{t}") != NULL;
		char path[512];

		fill(tmpl, path, sizeof path);
		for (int w = 0; w < NWHO; w++) {
			enum outcome want = expected((enum who)w, access, scoped);
			struct th_resp r;
			const char *body = strcmp(method, "GET") == 0 || strcmp(method, "DELETE") == 0 ? NULL : "{}";
			th_http(&r, method, th_cp_url(&cp, path), tokens[w], NULL, body, body ? 2 : 0, NULL);
			ck_assert_msg(r.status != 0 && r.status < 500,
				      "%s %s as %s: %ld", method, path, who_name[w], r.status);
			const char *detail = r.json ? json_string_value(json_object_get(r.json, "detail")) : NULL;
			switch (want) {
			case E401:
				ck_assert_msg(r.status == 401, "%s %s as %s: want 401, got %ld %s", method, path,
					      who_name[w], r.status, r.body);
				ta_problem(&r, 401);
				break;
			case E403:
				ck_assert_msg(r.status == 403, "%s %s as %s: want 403, got %ld %s", method, path,
					      who_name[w], r.status, r.body);
				ta_problem(&r, 403);
				break;
			case E404_SCOPE:
				ck_assert_msg(r.status == 404 && detail && strstr(detail, "no tenant named"),
					      "%s %s as %s: want 404 (other tenant), got %ld %s", method, path,
					      who_name[w], r.status, r.body);
				break;
			case ALLOWED:
				ck_assert_msg(r.status != 401 && r.status != 403 &&
					      !(r.status == 404 && detail && strstr(detail, "no tenant named")),
					      "%s %s as %s: want allowed, got %ld %s", method, path, who_name[w],
					      r.status, r.body);
				break;
			}
			th_resp_free(&r);
			checked++;
		}
	}
	ck_assert_uint_ge(checked, 30 * NWHO);
	json_decref(table);
}
END_TEST

/* The same 404 for a tenant that exists (but is not yours) and one that does not: names do
 * not leak. */
START_TEST(other_tenant_looks_absent)
{
	struct th_resp a, b;

	th_http(&a, "GET", th_cp_url(&cp, "/v1/tenants/tb/modules"), tokens[DEPLOYER_A], NULL, NULL, 0, NULL);
	th_http(&b, "GET", th_cp_url(&cp, "/v1/tenants/zz-none/modules"), tokens[DEPLOYER_A], NULL, NULL, 0, NULL);
	ta_problem(&a, 404);
	ta_problem(&b, 404);
	th_resp_free(&a);
	th_resp_free(&b);
	/* Admin sees both tenants; a deployer writes in its own only. */
	ta_expect(&cp, 201, "POST", "/v1/tenants/ta/modules", tokens[DEPLOYER_A], "{\"name\":\"mine\"}", NULL);
	ta_expect(&cp, 404, "POST", "/v1/tenants/tb/modules", tokens[DEPLOYER_A], "{\"name\":\"theirs\"}", NULL);
	ta_expect(&cp, 403, "POST", "/v1/tenants/ta/modules", tokens[READER_A], "{\"name\":\"nope\"}", NULL);
	ta_expect(&cp, 200, "GET", "/v1/tenants/ta/modules/mine", tokens[READER_A], NULL, NULL);
	/* Malformed Authorization headers. */
	const char *basic[] = {"Authorization: Basic dXNlcjpwYXNz", NULL};
	th_http(&a, "GET", th_cp_url(&cp, "/v1/tenants"), NULL, NULL, NULL, 0, basic);
	ta_problem(&a, 401);
	ck_assert_ptr_nonnull(th_header(&a, "WWW-Authenticate"));
	th_resp_free(&a);
	ta_expect(&cp, 401, "GET", "/v1/tenants", "ept_short", NULL, NULL);
	ta_expect(&cp, 401, "GET", "/v1/tenants", "ept_'; DROP TABLE tokens;--AAAAAAAAAAAAAAAAAAAAA", NULL, NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_auth");
	TCase *tc = tcase_create("auth");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, every_role_against_every_route);
	tcase_add_test(tc, other_tenant_looks_absent);
	suite_add_tcase(s, tc);
	return th_main(s);
}
