/* cli/cmd_modules.c: a tenant's modules, their signed versions and the routes that send traffic
 * to them: modules create|list, versions push|list|get|download, routes add|list|rm. */
#include "cli/commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"
#include "common/buf.h"

static const struct cli_col module_cols[] = {
	{"NAME", "name"}, {"LATEST", "latest_version"}, {"CREATED", "created_at"}, {0}};
static const struct cli_col version_cols[] = {
	{"VERSION", "version"}, {"DIGEST", "digest"}, {"SIZE", "size"}, {"LABEL", "label"},
	{"KEY", "key_id"}, {"CREATED", "created_at"}, {"BY", "created_by"}, {0}};
static const struct cli_col version_detail[] = {
	{"Tenant", "tenant"}, {"Module", "module"}, {"Version", "version"}, {"Digest", "digest"},
	{"Size", "size"}, {"Label", "label"}, {"Key id", "key_id"}, {"Signature", "signature"},
	{"Created", "created_at"}, {"Created by", "created_by"}, {0}};
static const struct cli_col route_cols[] = {
	{"ID", "id"}, {"HOST", "host"}, {"PATH", "path"}, {"MODULE", "module"},
	{"CREATED", "created_at"}, {0}};

/* The --module option, which these commands require. */
static const char *need_module(const struct cli_args *a, const struct cli_opt *spec)
{
	const char *m = cli_opt_get(a, spec, "module");

	if (m == NULL)
		fprintf(stderr, "edgectl: this command needs --module NAME\n");
	return m;
}

CLI_CMD(cli_modules_create)
{
	const char *name = cli_opt_get(a, spec, "name");

	/* NAME as an argument, or --name NAME. */
	if (name == NULL) {
		if (cli_want_pos(a, 1, "module name") != 0)
			return CLI_EXIT_USAGE;
		name = a->pos[0];
	} else if (cli_want_pos(a, 0, "") != 0) {
		return CLI_EXIT_USAGE;
	}
	return cli_obj_cmd(ctx, "POST", cli_path("/v1/tenants/%s/modules", ctx->tenant),
			   json_pack("{s:s}", "name", name), module_cols);
}

CLI_CMD(cli_modules_list)
{
	char *path;
	int rc;

	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/modules", ctx->tenant)) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_list_cmd(ctx, a, spec, path, module_cols);
	free(path);
	return rc;
}

CLI_CMD(cli_versions_push)
{
	const char *module = need_module(a, spec);
	const char *label = cli_opt_get(a, spec, "label");
	struct cli_resp r;
	char *bytes, *path;
	size_t len;
	int ret = CLI_EXIT_FAIL;

	if (module == NULL)
		return CLI_EXIT_USAGE;
	if (cli_want_pos(a, 1, "the .wasm file to push") != 0)
		return CLI_EXIT_USAGE;
	if ((bytes = cli_read_file(a->pos[0], &len)) == NULL)
		return CLI_EXIT_FAIL;
	if (label != NULL)
		path = cli_path("/v1/tenants/%s/modules/%s/versions?label=%s", ctx->tenant, module,
				label);
	else
		path = cli_path("/v1/tenants/%s/modules/%s/versions", ctx->tenant, module);
	if (path == NULL) {
		free(bytes);
		fprintf(stderr, "edgectl: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	if (cli_http_do(ctx, "POST", path, "application/wasm", bytes, len, &r) != 0)
		goto done;
	if (r.status < 200 || r.status > 299) {
		cli_print_error(&r);
		goto done_resp;
	}
	if (!json_is_object(r.json)) {
		fprintf(stderr, "edgectl: the answer to the upload is not a JSON object\n");
		goto done_resp;
	}
	if (ctx->json) {
		cli_json_print(stdout, r.json);
	} else {
		/* 201: a new version; 200: these bytes were pushed before, nothing changed. */
		json_t *v = json_object_get(r.json, "version");
		const char *digest = json_string_value(json_object_get(r.json, "digest"));
		printf("version %lld %s%s\n", (long long)json_integer_value(v),
		       digest ? digest : "-",
		       r.status == 200 ? " (unchanged: these bytes were pushed before)" : "");
	}
	ret = CLI_EXIT_OK;
done_resp:
	cli_resp_free(&r);
done:
	free(path);
	free(bytes);
	return ret;
}

CLI_CMD(cli_versions_list)
{
	const char *module = cli_opt_get(a, spec, "module");
	char *path;
	int rc;

	/* `versions list M` reads as naturally as `versions list --module M`. */
	if (module == NULL && a->npos == 1)
		module = a->pos[0];
	else if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	if (module == NULL && need_module(a, spec) == NULL)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/modules/%s/versions", ctx->tenant, module)) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_list_cmd(ctx, a, spec, path, version_cols);
	free(path);
	return rc;
}

CLI_CMD(cli_versions_get)
{
	const char *module = need_module(a, spec);
	json_t *out = NULL;
	char *path;
	long n;
	int rc;

	if (module == NULL || cli_want_pos(a, 1, "version number") != 0)
		return CLI_EXIT_USAGE;
	if (cli_parse_long(a->pos[0], 1, 2147483647L, "the version", &n) != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/modules/%s/versions/%S", ctx->tenant, module,
			     a->pos[0])) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api(ctx, "GET", path, NULL, &out, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	rc = cli_show_obj(ctx, out, version_detail);
	json_decref(out);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

CLI_CMD(cli_versions_download)
{
	const char *module = need_module(a, spec);
	const char *file = cli_opt_get(a, spec, "out");
	struct cli_resp r;
	char *path;
	long n;
	int ret = CLI_EXIT_FAIL;
	FILE *f;

	if (module == NULL || cli_want_pos(a, 1, "version number") != 0)
		return CLI_EXIT_USAGE;
	if (file == NULL) {
		fprintf(stderr, "edgectl: versions download needs --out FILE\n");
		return CLI_EXIT_USAGE;
	}
	if (cli_parse_long(a->pos[0], 1, 2147483647L, "the version", &n) != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/modules/%s/versions/%S/wasm", ctx->tenant, module,
			     a->pos[0])) == NULL)
		return CLI_EXIT_FAIL;
	if (cli_http_do(ctx, "GET", path, NULL, NULL, 0, &r) != 0) {
		free(path);
		return CLI_EXIT_FAIL;
	}
	free(path);
	if (r.status != 200) {
		cli_print_error(&r);
		goto done;
	}
	if ((f = fopen(file, "wb")) == NULL) {
		fprintf(stderr, "edgectl: %s: %s\n", file, strerror(errno));
		goto done;
	}
	if ((r.len > 0 && fwrite(r.body, 1, r.len, f) != r.len) || fclose(f) != 0) {
		fprintf(stderr, "edgectl: writing %s: %s\n", file, strerror(errno));
		goto done;
	}
	if (!ctx->json)
		printf("wrote %zu bytes to %s\n", r.len, file);
	ret = CLI_EXIT_OK;
done:
	cli_resp_free(&r);
	return ret;
}

CLI_CMD(cli_routes_add)
{
	const char *host = cli_opt_get(a, spec, "host");
	const char *rpath = cli_opt_get(a, spec, "path");
	const char *module = cli_opt_get(a, spec, "module");

	/* Positional form: routes add HOST PATH MODULE. */
	if (a->npos == 3 && host == NULL && rpath == NULL && module == NULL) {
		host = a->pos[0];
		rpath = a->pos[1];
		module = a->pos[2];
	} else if (cli_want_pos(a, 0, "") != 0) {
		return CLI_EXIT_USAGE;
	}
	if (host == NULL || rpath == NULL || module == NULL) {
		fprintf(stderr, "edgectl: routes add needs --host, --path and --module\n");
		return CLI_EXIT_USAGE;
	}
	return cli_obj_cmd(ctx, "POST", cli_path("/v1/tenants/%s/routes", ctx->tenant),
			   json_pack("{s:s, s:s, s:s}", "host", host, "path", rpath, "module", module),
			   route_cols);
}

CLI_CMD(cli_routes_list)
{
	char *path;
	int rc;

	if (cli_want_pos(a, 0, "") != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/routes", ctx->tenant)) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_list_cmd(ctx, a, spec, path, route_cols);
	free(path);
	return rc;
}

CLI_CMD(cli_routes_rm)
{
	json_t *out = NULL;
	char *path;
	int rc;

	(void)spec;
	if (cli_want_pos(a, 1, "route id") != 0)
		return CLI_EXIT_USAGE;
	if ((path = cli_path("/v1/tenants/%s/routes/%s", ctx->tenant, a->pos[0])) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api(ctx, "DELETE", path, NULL, &out, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (!ctx->json)
		printf("removed route %s\n", a->pos[0]);
	else if (!json_is_null(out))
		cli_json_print(stdout, out);
	json_decref(out);
	return CLI_EXIT_OK;
}
