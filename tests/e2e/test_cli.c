/* tests/e2e/test_cli.c: edgectl against a real `edgeplane serve` (fresh database, signing key,
 * private PostgreSQL and Redis): every non-deployment command, its table and --json output,
 * its errors (problem+json detail, exit codes) and --help. One control plane serves the whole
 * test case; each test uses its own tenant. */
#include "tests/e2e/test_cli_helpers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "cli/http.h"
#include "cli/table.h"
#include "signing/signing.h"

static struct th_cp cp;

static void cp_up(void)
{
	th_cp_start(&cp, NULL);
}

static void cp_down(void)
{
	th_cp_stop(&cp);
}

#define A (cp.admin_token)
#define U (cp.url)

/* Creates a tenant with an admin token; the test fails if it cannot. */
static void make_tenant(const char *slug)
{
	struct ctl_out o;

	ck_assert_msg(ctl(&o, U, A, NULL, "tenants", "create", slug, NULL) == 0,
		      "tenants create %s: %s", slug, o.err);
	ctl_free(&o);
}

/* A deployer token of a tenant (caller frees). */
static char *deployer_token(const char *tenant, const char *name)
{
	struct ctl_out o;
	char *tok;

	ck_assert_msg(ctl(&o, U, A, tenant, "tokens", "create", "--role", "deployer", "--name",
			  name, NULL) == 0, "tokens create: %s", o.err);
	tok = first_line(o.out);
	ck_assert_msg(strncmp(tok, "ept_", 4) == 0, "first line is not the secret: %s", o.out);
	ctl_free(&o);
	return tok;
}

START_TEST(test_help_everywhere)
{
	struct ctl_out o;
	size_t n = 0;

	ck_assert_int_eq(ctl(&o, U, A, NULL, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "deployments promote"));
	ck_assert_ptr_nonnull(strstr(o.out, "EDGECTL_TOKEN"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--version", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "edgectl "));
	ctl_free(&o);
	/* Every command of edgectl's own table answers --help with its usage, without a request
	 * (no URL given). */
	for (const struct cli_cmd *c = cli_commands; c->group != NULL; c++, n++) {
		char want[128];
		if (c->verb != NULL)
			ctl(&o, NULL, NULL, NULL, c->group, c->verb, "--help", NULL);
		else
			ctl(&o, NULL, NULL, NULL, c->group, "--help", NULL);
		ck_assert_msg(o.code == 0, "%s %s --help exited %d", c->group,
			      c->verb ? c->verb : "", o.code);
		snprintf(want, sizeof want, "edgectl [global options] %s%s%s", c->group,
			 c->verb ? " " : "", c->verb ? c->verb : "");
		ck_assert_msg(strstr(o.out, want) != NULL, "help of %s lacks its usage:\n%s", want,
			      o.out);
		ctl_free(&o);
	}
	/* The list, at least. */
	ck_assert_uint_ge(n, 27);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "deployments", "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "edgectl deployments abort"));
	ctl_free(&o);
	/* Bad command lines: exit 2 and a message, no request made. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "frobnicate", NULL), 2);
	ck_assert_ptr_nonnull(strstr(o.err, "unknown command"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "list", "--bogus", NULL), 2);
	ck_assert_ptr_nonnull(strstr(o.err, "--bogus"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "modules", "list", NULL), 2);
	ck_assert_ptr_nonnull(strstr(o.err, "tenant"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "x", "deploy", "hello", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "x", "deploy", "hello@two", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "x", "deploy", "hello@1", "--wait", "--timeout", "0", NULL), 2);
	ctl_free(&o);
}
END_TEST

START_TEST(test_tenants_and_domains)
{
	struct ctl_out o;

	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", "acme", "--name", "Acme Inc.",
			     NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "acme"));
	ctl_free(&o);
	/* Table by default, with a header; --json (anywhere on the line) for scripts. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "SLUG"));
	ck_assert_ptr_nonnull(strstr(o.out, "Acme Inc."));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "list", "--json", NULL), 0);
	ck_assert_msg(json_is_array(json_object_get(o.json, "items")), "not JSON: %s", o.out);
	{
		json_t *t = json_array_get(json_object_get(o.json, "items"), 0);
		ck_assert_str_eq(json_string_value(json_object_get(t, "slug")), "acme");
	}
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--json", "tenants", "get", "acme", NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o.json, "name")), "Acme Inc.");
	ctl_free(&o);
	/* The API's problem detail reaches the user, with a non-zero exit. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", "acme", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 409") != NULL, "stderr: %s", o.err);
	ck_assert_ptr_nonnull(strstr(o.err, "request id"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", "Not A Slug!", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", "--slug", "acme-two", "--name",
			     "Two", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "create", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tenants", "get", "nobody", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 404") != NULL, "stderr: %s", o.err);
	ctl_free(&o);

	ck_assert_int_eq(ctl(&o, U, A, "acme", "domains", "add", "acme.test", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "acme", "domains", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "acme.test"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--tenant", "acme", "domains", "rm", "acme.test",
			     NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "acme", "domains", "list", NULL), 0);
	ck_assert_ptr_null(strstr(o.out, "acme.test"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "acme", "domains", "rm", "acme.test", NULL), 1);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "acme", "domains", "add", "not a domain", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
}
END_TEST

START_TEST(test_tokens)
{
	struct ctl_out o;
	char *id, *tok;

	make_tenant("tok");
	ck_assert_int_eq(ctl(&o, U, A, "tok", "--json", "tokens", "create", "--role", "deployer",
			     "--name", "ci-bot", "--ttl", "3600", NULL), 0);
	ck_assert_msg(json_is_object(o.json), "not JSON: %s", o.out);
	id = strdup(json_string_value(json_object_get(o.json, "id")));
	ctl_free(&o);
	tok = deployer_token("tok", "ci-other");
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "ci-bot"));
	ck_assert_ptr_nonnull(strstr(o.out, "deployer"));
	ck_assert_ptr_null(strstr(o.out, tok)); /* secrets are never listed */
	ctl_free(&o);

	/* The new token works for its tenant, not for admin work. */
	ck_assert_int_eq(ctl(&o, U, tok, "tok", "modules", "create", "m1", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, tok, NULL, "tenants", "list", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 403") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	/* Another tenant's modules do not exist for it (404, never 403). */
	make_tenant("tok-other");
	ck_assert_int_eq(ctl(&o, U, tok, "tok-other", "modules", "list", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 404") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	/* A reader reads, and is refused writes. */
	ck_assert_int_eq(ctl(&o, U, A, "tok", "tokens", "create", "--role", "reader", "--name",
			     "dash", NULL), 0);
	{
		char *reader = first_line(o.out);
		struct ctl_out r;
		ck_assert_int_eq(ctl(&r, U, reader, "tok", "modules", "list", NULL), 0);
		ck_assert_ptr_nonnull(strstr(r.out, "m1"));
		ctl_free(&r);
		ck_assert_int_eq(ctl(&r, U, reader, "tok", "modules", "create", "m2", NULL), 1);
		ck_assert_msg(strstr(r.err, "HTTP 403") != NULL, "stderr: %s", r.err);
		ctl_free(&r);
		free(reader);
	}
	ctl_free(&o);
	/* Revoked: refused at once. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--json", "tokens", "list", NULL), 0);
	{
		json_t *items = json_object_get(o.json, "items"), *t;
		const char *other = NULL;
		size_t i;
		json_array_foreach(items, i, t) {
			if (strcmp(jstr(t, "name"), "ci-other") == 0)
				other = json_string_value(json_object_get(t, "id"));
		}
		ck_assert_ptr_nonnull(other);
		struct ctl_out r;
		ck_assert_int_eq(ctl(&r, U, A, NULL, "tokens", "revoke", other, NULL), 0);
		ctl_free(&r);
	}
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, tok, "tok", "modules", "list", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 401") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "revoke", id, NULL), 0);
	ctl_free(&o);
	/* Bad input. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "create", "--name", "x", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "create", "--role", "emperor", "--name",
			     "x", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "tokens", "create", "--role", "reader", "--name",
			     "x", "--ttl", "-5", NULL), 2);
	ctl_free(&o);
	free(tok);
	free(id);
}
END_TEST

START_TEST(test_modules_and_versions)
{
	struct ctl_out o;
	size_t len, vlen, got_len;
	char *wasm = th_read_file(th_guest("hello_handler.wasm"), &len);
	char *dir = th_tmpdir(), *v2path, *badpath, *dl, *got;
	unsigned char *v2;
	char digest[SIGN_DIGEST_LEN + 1];

	ck_assert_msg(wasm != NULL, "no %s", th_guest("hello_handler.wasm"));
	make_tenant("mods");
	ck_assert_int_eq(ctl(&o, U, A, "mods", "modules", "create", "hello", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "modules", "create", "--name", "other", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "modules", "create", "Bad Name", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 4") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "modules", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "hello"));
	ck_assert_ptr_nonnull(strstr(o.out, "other"));
	ctl_free(&o);

	/* Push: version and digest; the same bytes again: the same version, nothing new. */
	sign_digest((const uint8_t *)wasm, len, digest);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", th_guest("hello_handler.wasm"),
			     "--module", "hello", "--label", "first", NULL), 0);
	ck_assert_msg(strncmp(o.out, "version 1 ", 10) == 0, "push printed: %s", o.out);
	ck_assert_msg(strstr(o.out, digest) != NULL, "push printed: %s (want %s)", o.out, digest);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", th_guest("hello_handler.wasm"),
			     "--module", "hello", NULL), 0);
	ck_assert_msg(strncmp(o.out, "version 1 ", 10) == 0, "second push printed: %s", o.out);
	ck_assert_ptr_nonnull(strstr(o.out, "unchanged"));
	ctl_free(&o);
	v2 = wasm_variant((unsigned char *)wasm, len, "v2", &vlen);
	v2path = write_tmp(dir, "v2.wasm", v2, vlen);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "--json", "versions", "push", v2path, "--module",
			     "hello", NULL), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(o.json, "version")), 2);
	ck_assert_ptr_nonnull(json_object_get(o.json, "signature"));
	ctl_free(&o);
	/* Invalid modules are refused with the reason. */
	badpath = write_tmp(dir, "bad.wasm", "\0asm\x01\0\0\0\x01\xff", 10);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", badpath, "--module", "hello",
			     NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 422") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", "/nonexistent.wasm", "--module",
			     "hello", NULL), 1);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", v2path, NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "push", v2path, "--module", "nope",
			     NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 404") != NULL, "stderr: %s", o.err);
	ctl_free(&o);

	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "list", "--module", "hello", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, digest));
	ck_assert_ptr_nonnull(strstr(o.out, "first"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "--json", "versions", "list", "--module", "hello",
			     NULL), 0);
	ck_assert_int_eq(json_array_size(json_object_get(o.json, "items")), 2);
	ctl_free(&o);
	/* One page of one: the cursor of the next page is handed on. */
	ck_assert_int_eq(ctl(&o, U, A, "mods", "--json", "versions", "list", "--module", "hello",
			     "--limit", "1", NULL), 0);
	ck_assert_int_eq(json_array_size(json_object_get(o.json, "items")), 1);
	ck_assert_msg(json_is_string(json_object_get(o.json, "next_cursor")), "%s", o.out);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "--json", "versions", "list", "--module", "hello",
			     NULL), 0);
	ck_assert(json_is_null(json_object_get(o.json, "next_cursor")));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "list", "hello", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, digest));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "list", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "--json", "versions", "get", "1", "--module",
			     "hello", NULL), 0);
	ck_assert_str_eq(json_string_value(cli_json_path(o.json, "manifest.digest")), digest);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "get", "9", "--module", "hello", NULL), 1);
	ctl_free(&o);
	ck_assert(asprintf(&dl, "%s/dl.wasm", dir) > 0);
	ck_assert_int_eq(ctl(&o, U, A, "mods", "versions", "download", "1", "--module", "hello",
			     "--out", dl, NULL), 0);
	ctl_free(&o);
	got = th_read_file(dl, &got_len);
	ck_assert(got != NULL && got_len == len && memcmp(got, wasm, len) == 0);
	free(got);
	free(dl);
	free(v2);
	free(v2path);
	free(badpath);
	free(wasm);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_routes)
{
	struct ctl_out o;
	char *id;

	make_tenant("rt");
	make_tenant("rt-other");
	ck_assert_int_eq(ctl(&o, U, A, "rt", "domains", "add", "rt.test", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "modules", "create", "web", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "--json", "routes", "add", "--host", "api.rt.test",
			     "--path", "/v1/*", "--module", "web", NULL), 0);
	ck_assert_msg(json_is_object(o.json), "not JSON: %s", o.out);
	id = strdup(json_string_value(json_object_get(o.json, "id")));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "api.rt.test"));
	ck_assert_ptr_nonnull(strstr(o.out, "/v1/*"));
	ctl_free(&o);
	/* Duplicates anywhere are 409; a host the tenant does not own is 403. */
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "add", "--host", "api.rt.test", "--path",
			     "/v1/*", "--module", "web", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 409") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt-other", "modules", "create", "web", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt-other", "routes", "add", "--host", "api.rt.test",
			     "--path", "/x", "--module", "web", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 403") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "add", "--host", "api.rt.test", NULL), 2);
	ctl_free(&o);
	/* The positional form. */
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "add", "rt.test", "/exact", "web", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "/exact"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "rm", id, NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "rt", "routes", "list", NULL), 0);
	ck_assert_ptr_null(strstr(o.out, "api.rt.test"));
	ctl_free(&o);
	free(id);
}
END_TEST

START_TEST(test_keys_and_verify)
{
	struct ctl_out o, r2;
	char *dir = th_tmpdir(), *trust, *vjson, *man_only, *tampered, *other_trust, *line;
	size_t len;
	char *wasm = th_read_file(th_guest("hello_handler.wasm"), &len);
	sign_key *other;
	char err[256], buf[256];

	make_tenant("ver");
	/* whoami: the token in use; without one, 401 and a non-zero exit. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "whoami", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "admin"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--json", "whoami", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "\"role\": \"admin\""));
	ck_assert_ptr_null(strstr(o.out, "secret"));
	ctl_free(&o);
	ck_assert_int_ne(ctl(&o, U, NULL, NULL, "whoami", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.err, "401"));
	ctl_free(&o);
	/* GET /v1/keys needs no token. */
	ck_assert_int_eq(ctl(&o, U, NULL, NULL, "keys", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "KEY ID"));
	ck_assert_ptr_nonnull(strstr(o.out, "ed25519"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, NULL, NULL, "keys", "list", "--trust-file", NULL), 0);
	trust = write_tmp(dir, "trusted.keys", o.out, strlen(o.out));
	ctl_free(&o);

	ck_assert_int_eq(ctl(&o, U, A, "ver", "modules", "create", "hello", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "ver", "versions", "push", th_guest("hello_handler.wasm"),
			     "--module", "hello", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, "ver", "--json", "versions", "get", "1", "--module",
			     "hello", NULL), 0);
	vjson = write_tmp(dir, "v1.json", o.out, strlen(o.out));
	{
		/* The bare manifest plus --signature works too. */
		char *m = json_dumps(json_object_get(o.json, "manifest"), 0), *p, *w;
		json_t *flat = json_deep_copy(json_object_get(o.json, "manifest"));
		man_only = write_tmp(dir, "manifest.json", m, strlen(m));
		snprintf(buf, sizeof buf, "%s",
			 json_string_value(json_object_get(o.json, "signature")));
		free(m);
		/* The manifest's fields with the signature beside them. */
		json_object_set(flat, "signature", json_object_get(o.json, "signature"));
		m = json_dumps(flat, 0);
		p = write_tmp(dir, "flat.json", m, strlen(m));
		ck_assert_int_eq(ctl(&r2, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
				     "--manifest", p, "--trusted-keys", trust, NULL), 0);
		ctl_free(&r2);
		/* The bare manifest with M.json.sig beside it. */
		ck_assert(asprintf(&w, "%s.sig", man_only) > 0);
		ck_assert(th_write_file(w, buf, strlen(buf)));
		ck_assert_int_eq(ctl(&r2, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
				     "--manifest", man_only, "--trusted-keys", trust, NULL), 0);
		ctl_free(&r2);
		unlink(w);
		free(w);
		free(p);
		free(m);
		json_decref(flat);
	}
	ctl_free(&o);

	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", vjson, "--trusted-keys", trust, NULL), 0);
	ck_assert_msg(strncmp(o.out, "OK", 2) == 0, "verify printed: %s %s", o.out, o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", man_only, "--signature", buf, "--trusted-keys", trust,
			     NULL), 0);
	ctl_free(&o);
	/* GET /v1/keys saved as is serves as the trust file too; a key in it that is not one is
	 * refused, as is a manifest whose fields were changed after signing. */
	{
		char *jt, *bad, *edited;
		json_t *v;
		ck_assert_int_eq(ctl(&o, U, NULL, NULL, "--json", "keys", "list", NULL), 0);
		jt = write_tmp(dir, "keys.json", o.out, strlen(o.out));
		ctl_free(&o);
		ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
				     "--manifest", vjson, "--trusted-keys", jt, NULL), 0);
		ck_assert_msg(strncmp(o.out, "OK", 2) == 0, "verify: %s %s", o.out, o.err);
		ctl_free(&o);
		bad = write_tmp(dir, "bad.json", "{\"items\":[{\"key_id\":\"00\",\"public_key\":\"x\"}]}",
				strlen("{\"items\":[{\"key_id\":\"00\",\"public_key\":\"x\"}]}"));
		ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
				     "--manifest", vjson, "--trusted-keys", bad, NULL), 1);
		ctl_free(&o);
		v = json_load_file(vjson, 0, NULL);
		ck_assert_ptr_nonnull(v);
		json_object_set_new(json_object_get(v, "manifest"), "module", json_string("other"));
		{
			char *txt = json_dumps(v, 0);
			edited = write_tmp(dir, "edited.json", txt, strlen(txt));
			free(txt);
		}
		json_decref(v);
		ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
				     "--manifest", edited, "--trusted-keys", jt, NULL), 1);
		ck_assert_ptr_nonnull(strstr(o.err, "FAILED"));
		ctl_free(&o);
		free(edited);
		free(bad);
		free(jt);
	}
	/* One flipped byte: refused. */
	wasm[len / 2] ^= 1;
	tampered = write_tmp(dir, "tampered.wasm", wasm, len);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", tampered, "--manifest", vjson,
			     "--trusted-keys", trust, NULL), 1);
	ck_assert_ptr_nonnull(strstr(o.err, "FAILED"));
	ctl_free(&o);
	/* A trust file without the signing key: refused. */
	ck_assert_int_eq(sign_key_generate(&other, err, sizeof err), SIGN_OK);
	ck_assert(asprintf(&line, "%s %s\n", sign_key_id(other), sign_key_public_b64(other)) > 0);
	other_trust = write_tmp(dir, "other.keys", line, strlen(line));
	sign_key_destroy(other);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", vjson, "--trusted-keys", other_trust, NULL), 1);
	ck_assert_ptr_nonnull(strstr(o.err, "FAILED"));
	ctl_free(&o);
	/* A forged signature: refused. */
	buf[5] = buf[5] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", man_only, "--signature", buf, "--trusted-keys", trust,
			     NULL), 1);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", vjson, NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", trust, "--trusted-keys", trust, NULL), 1);
	ctl_free(&o);
	free(line);
	free(other_trust);
	free(tampered);
	free(man_only);
	free(vjson);
	free(trust);
	free(wasm);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_pops_and_audit)
{
	struct ctl_out o;

	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "create", "hnd1", "--region", "ap-northeast-1",
			     "--labels", "tier=1", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "list", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "hnd1"));
	ck_assert_ptr_nonnull(strstr(o.out, "ap-northeast-1"));
	ck_assert_ptr_nonnull(strstr(o.out, "RUNNING"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "get", "hnd1", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "tier"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "create", "hnd1", "--region", "x", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 409") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "create", "x", "--region", "r", "--labels",
			     "novalue", NULL), 2);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "pops", "create", "x", NULL), 2);
	ctl_free(&o);

	/* What was done above is in the audit log, newest first. */
	ck_assert_int_eq(ctl(&o, U, A, NULL, "--json", "audit", "--limit", "5", NULL), 0);
	ck_assert_msg(json_array_size(json_object_get(o.json, "items")) >= 1, "audit: %s", o.out);
	ck_assert_msg(json_array_size(json_object_get(o.json, "items")) <= 5, "audit: %s", o.out);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "audit", NULL), 0);
	ck_assert_ptr_nonnull(strstr(o.out, "REQUEST ID"));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, A, NULL, "audit", "--limit", "0", NULL), 2);
	ctl_free(&o);
}
END_TEST

START_TEST(test_transport_errors)
{
	struct ctl_out o;
	char url[64];

	/* No token, a wrong token, nobody listening: all non-zero with a reason. */
	ck_assert_int_eq(ctl(&o, U, NULL, NULL, "tenants", "list", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 401") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, U, "ept_wrong", NULL, "tenants", "list", NULL), 1);
	ck_assert_msg(strstr(o.err, "HTTP 401") != NULL, "stderr: %s", o.err);
	ctl_free(&o);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", th_free_port());
	ck_assert_int_eq(ctl(&o, url, A, NULL, "tenants", "list", NULL), 1);
	ck_assert_ptr_nonnull(strstr(o.err, "edgectl:"));
	ctl_free(&o);
	/* --url and --token flags beat the environment. */
	ck_assert_int_eq(ctl(&o, url, "ept_wrong", NULL, "--url", U, "--token", A, "tenants",
			     "list", NULL), 0);
	ctl_free(&o);
}
END_TEST

/* ---- edgectl's own pieces, without a server ---- */

START_TEST(test_path_escaping)
{
	char *p = cli_path("/v1/tenants/%s/domains/%s", "acme", "a/b c?d");

	ck_assert_str_eq(p, "/v1/tenants/acme/domains/a%2Fb%20c%3Fd");
	free(p);
	p = cli_path("/x/%S/%s", "1/2", "ok-._~");
	ck_assert_str_eq(p, "/x/1/2/ok-._~");
	free(p);
}
END_TEST

START_TEST(test_args_parser)
{
	static const struct cli_opt spec[] = {
		{"module", true, ""}, {"wait", false, ""}, {0}};
	char *ok[] = {"f.wasm", "--module", "m", "--wait", "--", "--literal"};
	char *eq[] = {"--module=m2"};
	char *bad1[] = {"--nope"};
	char *bad2[] = {"--module"};
	char *bad3[] = {"--wait=yes"};
	struct cli_args a;
	long v;

	ck_assert_int_eq(cli_args_parse(6, ok, spec, &a), 0);
	ck_assert_int_eq(a.npos, 2);
	ck_assert_str_eq(a.pos[0], "f.wasm");
	ck_assert_str_eq(a.pos[1], "--literal");
	ck_assert_str_eq(cli_opt_get(&a, spec, "module"), "m");
	ck_assert(cli_opt_has(&a, spec, "wait"));
	ck_assert_int_eq(cli_args_parse(1, eq, spec, &a), 0);
	ck_assert_str_eq(cli_opt_get(&a, spec, "module"), "m2");
	ck_assert(!cli_opt_has(&a, spec, "wait"));
	ck_assert_int_eq(cli_args_parse(1, bad1, spec, &a), -1);
	ck_assert_int_eq(cli_args_parse(1, bad2, spec, &a), -1);
	ck_assert_int_eq(cli_args_parse(1, bad3, spec, &a), -1);
	ck_assert_int_eq(cli_parse_long("42", 1, 100, "n", &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(cli_parse_long("0", 1, 100, "n", &v), -1);
	ck_assert_int_eq(cli_parse_long("4x", 1, 100, "n", &v), -1);
	ck_assert_int_eq(cli_parse_long("", 1, 100, "n", &v), -1);
	ck_assert(cli_utf8_valid("plain ça va 日本 😀"));
	ck_assert(!cli_utf8_valid("\xff"));
	ck_assert(!cli_utf8_valid("\xc0\xaf"));         /* overlong '/' */
	ck_assert(!cli_utf8_valid("\xed\xa0\x80"));     /* a surrogate */
	ck_assert(!cli_utf8_valid("\xe6\x97"));         /* cut short */
}
END_TEST

START_TEST(test_table_output)
{
	static const struct cli_col cols[] = {{"NAME", "name"}, {"AGE", "a.b"}, {"TAGS", "tags"}, {0}};
	json_t *items = json_loads("[{\"name\":\"long-name\",\"a\":{\"b\":7},\"tags\":[\"x\",\"y\"]},"
				   "{\"name\":\"n\\nl\",\"tags\":[]}]", 0, NULL);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	ck_assert_ptr_nonnull(items);
	ck_assert_int_eq(cli_table_print(f, items, cols), 0);
	fclose(f);
	ck_assert_str_eq(text, "NAME       AGE  TAGS\n"
			       "long-name  7    x,y\n"
			       "n l        -    -\n");
	free(text);
	json_decref(items);
	/* Long cells are cut at 72 bytes; key/value output shows them whole. */
	{
		char longs[101];
		json_t *v;
		char *cell;
		memset(longs, 'a', 100);
		longs[100] = '\0';
		v = json_string(longs);
		cell = cli_cell_text(v);
		ck_assert_int_eq(strlen(cell), 72);
		ck_assert_str_eq(cell + 69, "...");
		free(cell);
		json_decref(v);
	}
}
END_TEST

/* ---- Idempotency-Key on the wire, seen by a bare TCP listener ---- */

/* Accepts `n` connections; answers the first with 503 and the others with 201 {"slug":..};
 * keeps each request's Idempotency-Key value. */
struct probe {
	int fd;
	int n;
	char keys[4][80];
	char methods[4][8];
};

static void *probe_loop(void *arg)
{
	struct probe *p = arg;

	for (int i = 0; i < p->n; i++) {
		char req[8192];
		size_t got = 0;
		ssize_t k;
		int c = accept(p->fd, NULL, NULL);
		if (c < 0)
			return NULL;
		/* Headers then a small JSON body: read until the body's closing brace. */
		while (got < sizeof req - 1 && (k = read(c, req + got, sizeof req - 1 - got)) > 0) {
			got += (size_t)k;
			req[got] = '\0';
			char *end = strstr(req, "\r\n\r\n");
			if (end != NULL && (strncmp(req, "POST", 4) != 0 || strchr(end, '}') != NULL))
				break;
		}
		req[got] = '\0';
		sscanf(req, "%7s", p->methods[i]);
		const char *h = strcasestr(req, "\r\nIdempotency-Key:");
		if (h != NULL)
			sscanf(h + 18, " %79[^\r\n]", p->keys[i]);
		const char *ans = i == 0 ? "HTTP/1.1 503 Service Unavailable\r\nContent-Type: "
					   "application/problem+json\r\nContent-Length: 2\r\n"
					   "Connection: close\r\n\r\n{}"
					 : "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
					   "Content-Length: 14\r\nConnection: close\r\n\r\n"
					   "{\"slug\":\"abc\"}";
		if (write(c, ans, strlen(ans)) < 0)
			perror("probe write");
		close(c);
	}
	return NULL;
}

static bool is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

START_TEST(test_idempotency_key_and_retry)
{
	struct probe p = {0};
	struct sockaddr_in a = {0};
	socklen_t alen = sizeof a;
	pthread_t t;
	struct ctl_out o;
	char url[64];

	p.fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert(p.fd >= 0);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(p.fd, (struct sockaddr *)&a, sizeof a) == 0);
	ck_assert(listen(p.fd, 8) == 0);
	ck_assert(getsockname(p.fd, (struct sockaddr *)&a, &alen) == 0);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
	p.n = 3;
	ck_assert_int_eq(pthread_create(&t, NULL, probe_loop, &p), 0);
	/* First run: 503, then the retry succeeds, carrying the same key. */
	ck_assert_msg(ctl(&o, url, "ept_x", NULL, "tenants", "create", "abc", NULL) == 0,
		      "edgectl: %s", o.err);
	ctl_free(&o);
	/* Second run: a new operation, a new key. */
	ck_assert_int_eq(ctl(&o, url, "ept_x", NULL, "tenants", "create", "abc", NULL), 0);
	ctl_free(&o);
	pthread_join(t, NULL);
	close(p.fd);
	ck_assert_str_eq(p.methods[0], "POST");
	ck_assert_msg(is_hex32(p.keys[0]), "key '%s'", p.keys[0]);
	ck_assert_str_eq(p.keys[0], p.keys[1]);
	ck_assert_msg(is_hex32(p.keys[2]), "key '%s'", p.keys[2]);
	ck_assert_str_ne(p.keys[1], p.keys[2]);
}
END_TEST

/* The README's key rotation: a new signing key, the control plane restarted on it; GET
 * /v1/keys lists both (old one retired), new versions carry the new key id, and a trust file
 * with both keys verifies old and new versions while the old trust file refuses the new one. */
START_TEST(test_key_rotation)
{
	struct th_cp c;
	struct ctl_out o;
	char *dir = th_tmpdir(), *newkey, *env_key, *trust1, *trust2, *v1, *v2, *v2wasm;
	char old_id[32], new_id[32];
	unsigned char *bytes;
	size_t len, vlen;
	char *wasm = th_read_file(th_guest("hello_handler.wasm"), &len);
	json_t *items, *k;
	size_t i;
	int current = 0, retired = 0;

	th_cp_start(&c, NULL);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, NULL, "tenants", "create", "rot", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, "rot", "modules", "create", "m", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, "rot", "versions", "push",
			     th_guest("hello_handler.wasm"), "--module", "m", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, NULL, NULL, "keys", "list", "--trust-file", NULL), 0);
	trust1 = write_tmp(dir, "trust1", o.out, strlen(o.out));
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, "rot", "--json", "versions", "get", "1",
			     "--module", "m", NULL), 0);
	v1 = write_tmp(dir, "v1.json", o.out, strlen(o.out));
	snprintf(old_id, sizeof old_id, "%s", json_string_value(json_object_get(o.json, "key_id")));
	ctl_free(&o);

	/* Rotate: new key file, restart on it. */
	th_cp_kill(&c, SIGTERM);
	ck_assert(asprintf(&newkey, "%s/new.key", dir) > 0);
	{
		char *argv[] = {(char *)th_bin("edgeplane"), "keygen", "--out", newkey, NULL};
		ck_assert_int_eq(th_run(argv, NULL, NULL), 0);
	}
	ck_assert(asprintf(&env_key, "EDGEPLANE_SIGNING_KEY=%s", newkey) > 0);
	{
		char *env[] = {env_key, NULL};
		th_cp_restart(&c, env);
	}
	ck_assert_int_eq(ctl(&o, c.url, NULL, NULL, "--json", "keys", "list", NULL), 0);
	items = json_object_get(o.json, "items");
	ck_assert_int_eq(json_array_size(items), 2);
	json_array_foreach(items, i, k) {
		const char *st = json_string_value(json_object_get(k, "state"));
		const char *id = json_string_value(json_object_get(k, "key_id"));
		if (strcmp(st, "current") == 0) {
			current++;
			snprintf(new_id, sizeof new_id, "%s", id);
		} else if (strcmp(st, "retired") == 0) {
			retired++;
			ck_assert_str_eq(id, old_id);
		}
	}
	ck_assert_int_eq(current, 1);
	ck_assert_int_eq(retired, 1);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, NULL, NULL, "keys", "list", "--trust-file", NULL), 0);
	trust2 = write_tmp(dir, "trust2", o.out, strlen(o.out));
	ctl_free(&o);

	bytes = wasm_variant((unsigned char *)wasm, len, "rotated", &vlen);
	v2wasm = write_tmp(dir, "v2.wasm", bytes, vlen);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, "rot", "versions", "push", v2wasm,
			     "--module", "m", NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, c.url, c.admin_token, "rot", "--json", "versions", "get", "2",
			     "--module", "m", NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(o.json, "key_id")), new_id);
	v2 = write_tmp(dir, "v2.json", o.out, strlen(o.out));
	ctl_free(&o);

	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", th_guest("hello_handler.wasm"),
			     "--manifest", v1, "--trusted-keys", trust2, NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", v2wasm, "--manifest", v2,
			     "--trusted-keys", trust2, NULL), 0);
	ctl_free(&o);
	ck_assert_int_eq(ctl(&o, NULL, NULL, NULL, "verify", v2wasm, "--manifest", v2,
			     "--trusted-keys", trust1, NULL), 1);
	ck_assert_ptr_nonnull(strstr(o.err, "FAILED"));
	ctl_free(&o);
	th_cp_stop(&c);
	free(bytes);
	free(wasm);
	free(v2wasm);
	free(v2);
	free(v1);
	free(trust2);
	free(trust1);
	free(env_key);
	free(newkey);
	th_rmrf(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("commands");

	tcase_add_unchecked_fixture(tc, cp_up, cp_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_help_everywhere);
	tcase_add_test(tc, test_tenants_and_domains);
	tcase_add_test(tc, test_tokens);
	tcase_add_test(tc, test_modules_and_versions);
	tcase_add_test(tc, test_routes);
	tcase_add_test(tc, test_keys_and_verify);
	tcase_add_test(tc, test_pops_and_audit);
	tcase_add_test(tc, test_transport_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("pieces");
	tcase_add_test(tc, test_path_escaping);
	tcase_add_test(tc, test_args_parser);
	tcase_add_test(tc, test_table_output);
	tcase_add_test(tc, test_idempotency_key_and_retry);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_key_rotation);
	suite_add_tcase(s, tc);
	return th_main(s);
}
