/* cli/cmd_admin.c: the operator commands on tenants, their domains and API tokens
 * (admin role): tenants create|list|get, domains add|list|rm, tokens create|list|revoke. */
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"

static const struct cli_col tenant_cols[] = {
	{"SLUG", "slug"}, {"NAME", "name"}, {"CREATED", "created_at"}, {0}};
static const struct cli_col domain_cols[] = {
	{"DOMAIN", "domain"}, {"CREATED", "created_at"}, {0}};
static const struct cli_col token_cols[] = {
	{"ID", "id"}, {"NAME", "name"}, {"ROLE", "role"}, {"TENANT", "tenant"}, {"POP", "pop"},
	{"EXPIRES", "expires_at"}, {"REVOKED", "revoked_at"}, {"CREATED", "created_at"}, {0}};

/* DELETE whose answer is empty; prints `done` on success. */
static int do_delete(const struct cli_ctx *ctx, char *path, const char *done)
{
	json_t *out = NULL;
	int rc;

	if (path == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	rc = cli_api(ctx, "DELETE", path, NULL, &out, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json && !json_is_null(out))
		cli_json_print(stdout, out);
	else if (!ctx->json)
		printf("%s\n", done);
	json_decref(out);
	return CLI_EXIT_OK;
}

CLI_CMD(cli_tenants_create)
{
	const char *name = cli_opt_get(a, spec, "name");
	const char *slug = cli_opt_get(a, spec, "slug");
	json_t *body;

	/* SLUG as an argument, or --slug SLUG. */
	if (slug == NULL) {
		if (cli_want_pos(a, 1, "tenant slug") != 0)
			return CLI_EXIT_USAGE;
		slug = a->pos[0];
	} else if (cli_want_pos(a, 0, "") != 0) {
		return CLI_EXIT_USAGE;
	}
	body = json_pack("{s:s, s:s}", "slug", slug, "name", name ? name : slug);
	if (body == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	return cli_obj_cmd(ctx, "POST", strdup("/v1/tenants"), body, tenant_cols);
}

CLI_CMD(cli_tenants_list)
{
	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	return cli_list_cmd(ctx, a, spec, "/v1/tenants", tenant_cols);
}

CLI_CMD(cli_tenants_get)
{
	(void)spec;
	if (cli_want_pos(a, 1, "tenant slug") != 0)
		return CLI_EXIT_USAGE;
	return cli_obj_cmd(ctx, "GET", cli_path("/v1/tenants/%s", a->pos[0]), NULL, tenant_cols);
}

CLI_CMD(cli_whoami)
{
	(void)spec;
	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	return cli_obj_cmd(ctx, "GET", strdup("/v1/whoami"), NULL, token_cols);
}

CLI_CMD(cli_domains_add)
{
	json_t *body;

	(void)spec;
	if (cli_want_pos(a, 1, "domain") != 0)
		return CLI_EXIT_USAGE;
	if ((body = json_pack("{s:s}", "domain", a->pos[0])) == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	return cli_obj_cmd(ctx, "POST", cli_path("/v1/tenants/%s/domains", ctx->tenant), body,
		      domain_cols);
}

CLI_CMD(cli_domains_list)
{
	char *path;
	int rc;

	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/domains", ctx->tenant)) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_list_cmd(ctx, a, spec, path, domain_cols);
	free(path);
	return rc;
}

CLI_CMD(cli_domains_rm)
{
	char done[512];

	(void)spec;
	if (cli_want_pos(a, 1, "domain") != 0)
		return CLI_EXIT_USAGE;
	snprintf(done, sizeof done, "removed domain %s from tenant %s", a->pos[0], ctx->tenant);
	return do_delete(ctx, cli_path("/v1/tenants/%s/domains/%s", ctx->tenant, a->pos[0]), done);
}

CLI_CMD(cli_tokens_create)
{
	const char *role = cli_opt_get(a, spec, "role");
	const char *name = cli_opt_get(a, spec, "name");
	const char *pop = cli_opt_get(a, spec, "pop");
	const char *ttl = cli_opt_get(a, spec, "ttl");
	json_t *body, *out = NULL;
	const char *secret;
	long ttl_s = 0;
	int rc;

	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	if (role == NULL || name == NULL) {
		fprintf(stderr, "edgectl: tokens create needs --role and --name (see --help)\n");
		return CLI_EXIT_USAGE;
	}
	if (ttl != NULL && cli_parse_long(ttl, 1, 315360000L, "--ttl", &ttl_s) != 0)
		return CLI_EXIT_USAGE;
	body = json_pack("{s:s, s:s}", "role", role, "name", name);
	if (body == NULL)
		goto oom;
	/* EDGECTL_TENANT is a handy default for deployer and reader tokens, but an admin or agent
	 * token has no tenant: do not send one the server would reject. */
	if (ctx->tenant != NULL && strcmp(role, "admin") != 0 && strcmp(role, "agent") != 0 &&
	    json_object_set_new(body, "tenant", json_string(ctx->tenant)) != 0)
		goto oom;
	if (pop != NULL && json_object_set_new(body, "pop", json_string(pop)) != 0)
		goto oom;
	if (ttl != NULL && json_object_set_new(body, "ttl_seconds", json_integer(ttl_s)) != 0)
		goto oom;
	rc = cli_api(ctx, "POST", "/v1/tokens", body, &out, NULL);
	json_decref(body);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json) {
		cli_json_print(stdout, out);
		json_decref(out);
		return CLI_EXIT_OK;
	}
	secret = json_string_value(json_object_get(out, "secret"));
	if (secret == NULL)
		secret = json_string_value(json_object_get(out, "token"));
	if (secret == NULL) {
		fprintf(stderr, "edgectl: the answer carries no token secret\n");
		json_decref(out);
		return CLI_EXIT_FAIL;
	}
	/* The secret alone on the first line, so scripts can take it with `head -1`. */
	printf("%s\n", secret);
	rc = cli_kv_print(stdout, out, token_cols);
	printf("(the secret is shown only now; store it safely)\n");
	json_decref(out);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
oom:
	json_decref(body);
	fprintf(stderr, "edgectl: out of memory\n");
	return CLI_EXIT_FAIL;
}

CLI_CMD(cli_tokens_list)
{
	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	return cli_list_cmd(ctx, a, spec, "/v1/tokens", token_cols);
}

CLI_CMD(cli_tokens_revoke)
{
	char done[256];

	(void)spec;
	if (cli_want_pos(a, 1, "token id") != 0)
		return CLI_EXIT_USAGE;
	snprintf(done, sizeof done, "revoked token %s", a->pos[0]);
	return do_delete(ctx, cli_path("/v1/tokens/%s", a->pos[0]), done);
}
