/* cli/commands.c: edgectl's command table (names, usage, options, help text) and the helpers
 * the command files share: list printing, object printing, file reading. */
#include "cli/commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"
#include "common/buf.h"

#define LIMIT_OPT {"limit", true, "one page of at most N items (default: every page)"}
#define WAIT_OPTS                                                                             \
	{"strategy", true, "immediate, canary (the default) or FILE.json with a strategy object"}, \
	{"wait", false, "follow the rollout wave by wave; exit 0 when it succeeds, 1 when it "     \
			"fails, is aborted, rolled back or paused by a failed gate, 3 on timeout"}, \
	{"timeout", true, "with --wait: give up after S seconds (default 1800)"}

const struct cli_cmd cli_commands[] = {
	{"tenants", "create", cli_tenants_create, "SLUG [--name NAME]", "create a tenant (admin)",
	 false, {{"name", true, "display name (default: the slug)"},
		 {"slug", true, "the slug, when not given as the argument"}, {0}}},
	{"tenants", "list", cli_tenants_list, "", "list tenants (admin)", false, {LIMIT_OPT, {0}}},
	{"tenants", "get", cli_tenants_get, "SLUG", "show one tenant (admin)", false, {{0}}},
	{"domains", "add", cli_domains_add, "DOMAIN",
	 "let the tenant route a host (example.com also covers *.example.com) (admin)", true, {{0}}},
	{"domains", "list", cli_domains_list, "", "list the tenant's domains (admin)", true,
	 {LIMIT_OPT, {0}}},
	{"domains", "rm", cli_domains_rm, "DOMAIN", "remove a domain from the tenant (admin)", true,
	 {{0}}},
	{"tokens", "create", cli_tokens_create,
	 "--role admin|deployer|reader|agent --name NAME [--tenant T] [--pop P] [--ttl S]",
	 "create an API token; prints the secret alone on the first line, once (admin)", false,
	 {{"role", true, "admin, deployer, reader or agent"},
	  {"name", true, "what the token is for (shown in the audit log)"},
	  {"pop", true, "the PoP of an agent token"},
	  {"ttl", true, "expire after S seconds (default: never)"},
	  {0}}},
	{"tokens", "list", cli_tokens_list, "", "list tokens (never their secrets) (admin)", false,
	 {LIMIT_OPT, {0}}},
	{"tokens", "revoke", cli_tokens_revoke, "ID", "revoke a token at once (admin)", false,
	 {{0}}},
	{"modules", "create", cli_modules_create, "NAME", "create a module in the tenant", true,
	 {{"name", true, "the name, when not given as the argument"}, {0}}},
	{"modules", "list", cli_modules_list, "", "list the tenant's modules", true,
	 {LIMIT_OPT, {0}}},
	{"versions", "push", cli_versions_push, "FILE.wasm --module M [--label L]",
	 "upload a new version; prints its number and digest (the same bytes again: no new "
	 "version)", true,
	 {{"module", true, "the module to add the version to"},
	  {"label", true, "a free-form label, e.g. a git commit"},
	  {0}}},
	{"versions", "list", cli_versions_list, "--module M (or: versions list M)", "list a module's versions", true,
	 {{"module", true, "the module"}, LIMIT_OPT, {0}}},
	{"versions", "get", cli_versions_get, "N --module M",
	 "show one version with its manifest and signature (--json output feeds `verify`)", true,
	 {{"module", true, "the module"}, {0}}},
	{"versions", "download", cli_versions_download, "N --module M --out FILE",
	 "download a version's .wasm bytes", true,
	 {{"module", true, "the module"}, {"out", true, "where to write the bytes"}, {0}}},
	{"routes", "add", cli_routes_add, "--host H --path P --module M (or: routes add H P M)",
	 "route HOST + PATH (a prefix ending in /* or an exact path) to a module", true,
	 {{"host", true, "a host the tenant owns (see domains)"},
	  {"path", true, "e.g. /* or /api/* or /exact"},
	  {"module", true, "the module that answers"},
	  {0}}},
	{"routes", "list", cli_routes_list, "", "list the tenant's routes", true, {LIMIT_OPT, {0}}},
	{"routes", "rm", cli_routes_rm, "ID", "remove a route", true, {{0}}},
	{"deploy", NULL, cli_deploy, "MODULE@VERSION [--strategy immediate|canary|FILE.json] "
				     "[--wait] [--timeout S]",
	 "roll a version out over the fleet (VERSION may be 'latest')", true, {WAIT_OPTS, {0}}},
	{"deployments", "list", cli_deployments_list, "[--module M]", "list the tenant's deployments",
	 true, {{"module", true, "only this module's"}, LIMIT_OPT, {0}}},
	{"deployments", "get", cli_deployments_get, "ID",
	 "show a deployment: state, waves, every PoP's observed version, events", true, {{0}}},
	{"deployments", "pause", cli_deployments_pause, "ID", "pause a running deployment", true,
	 {{0}}},
	{"deployments", "resume", cli_deployments_resume, "ID", "resume a paused deployment", true,
	 {{0}}},
	{"deployments", "promote", cli_deployments_promote, "ID",
	 "end the current wave's bake now and start the next wave", true, {{0}}},
	{"deployments", "abort", cli_deployments_abort, "ID",
	 "stop a deployment and return every PoP it touched to the previous version", true, {{0}}},
	{"rollback", NULL, cli_rollback, "MODULE [--to VERSION] [--strategy S] [--wait]",
	 "deploy the previous version again (or --to a given one)", true,
	 {{"to", true, "the version to go back to (default: the one before the latest "
		       "succeeded deployment)"},
	  WAIT_OPTS, {0}}},
	{"pops", "create", cli_pops_create, "NAME --region R [--labels k=v,...]",
	 "register a point of presence (admin)", false,
	 {{"region", true, "e.g. ap-northeast-1"}, {"labels", true, "k=v pairs, comma separated"},
	  {"name", true, "the name, when not given as the argument"}, {0}}},
	{"pops", "list", cli_pops_list, "", "each PoP, its agents and the versions it runs", false,
	 {LIMIT_OPT, {0}}},
	{"pops", "get", cli_pops_get, "NAME", "one PoP in detail", false, {{0}}},
	{"keys", "list", cli_keys_list, "[--trust-file]", "the control plane's signing keys", false,
	 {{"trust-file", false, "print them as an agent trust file (KEYID BASE64 per line)"}, {0}}},
	{"verify", NULL, cli_verify,
	 "FILE.wasm --manifest M.json --trusted-keys FILE [--signature SIG|@FILE]",
	 "check offline that FILE.wasm is what a trusted key signed", false,
	 {{"manifest", true, "a version's JSON (edgectl --json versions get N --module M), or a "
			     "bare manifest with --signature"},
	  {"trusted-keys", true, "trust file, KEYID BASE64 per line (as agents use), or the "
				 "JSON of GET /v1/keys (edgectl --json keys list)"},
	  {"signature", true, "base64 signature, or @FILE holding it (when M.json has none)"},
	  {0}}},
	{"whoami", NULL, cli_whoami, "", "the token in use: its name, role, tenant or PoP, expiry",
	 false, {{0}}},
	{"audit", NULL, cli_audit, "[--action A] [--since TIME] [--limit N]",
	 "who did what, when, with which request id (oldest first)", false,
	 {{"action", true, "only this action, e.g. deployment.create"},
	  {"since", true, "only entries at or after this RFC 3339 time"},
	  {"limit", true, "one page of at most N entries (default: all)"},
	  {0}}},
	{0},
};

static void print_usage_line(const struct cli_cmd *c)
{
	printf("edgectl [global options] %s%s%s%s%s\n", c->group, c->verb ? " " : "",
	       c->verb ? c->verb : "", c->usage[0] ? " " : "", c->usage);
}

void cli_cmd_help(const struct cli_cmd *c)
{
	print_usage_line(c);
	printf("\n%s.\n", c->summary);
	if (c->needs_tenant)
		printf("Acts on the tenant given by --tenant (or EDGECTL_TENANT).\n");
	if (c->opts[0].name != NULL) {
		printf("\nOptions:\n");
		for (int i = 0; c->opts[i].name != NULL; i++) {
			char name[48];
			snprintf(name, sizeof name, "--%s%s", c->opts[i].name,
				 c->opts[i].has_arg ? " V" : "");
			printf("  %-18s %s\n", name, c->opts[i].help);
		}
	}
	printf("\nGlobal options: --url URL, --token TOKEN, --tenant SLUG, --json, --verbose "
	       "(see edgectl --help).\n");
}

void cli_help_all(void)
{
	printf("edgectl: the command-line client of Edgeplane (CI and operators).\n\n"
	       "Usage: edgectl [global options] COMMAND [arguments] [options]\n\n"
	       "Global options (anywhere on the line):\n"
	       "  --url URL       control plane URL (env EDGECTL_URL, default http://127.0.0.1:8080)\n"
	       "  --token TOKEN   API token (env EDGECTL_TOKEN)\n"
	       "  --tenant SLUG   tenant of tenant-scoped commands (env EDGECTL_TENANT)\n"
	       "  --json          print the API's JSON instead of tables\n"
	       "  --verbose       log each HTTP request to stderr\n"
	       "  --help          help; also after any command\n"
	       "  --version       print edgectl's version\n\n"
	       "Commands:\n");
	for (const struct cli_cmd *c = cli_commands; c->group != NULL; c++) {
		char words[64];
		snprintf(words, sizeof words, "%s%s%s", c->group, c->verb ? " " : "",
			 c->verb ? c->verb : "");
		printf("  %-20s %s\n", words, c->summary);
	}
	printf("\nExit codes: 0 success, 1 failure (API error, network, a deployment that failed,\n"
	       "was aborted, rolled back or paused by a failed gate), 2 bad command line,\n"
	       "3 deploy --wait timed out (the deployment carries on).\n");
}

int cli_print_page(json_t *items, json_t *next)
{
	json_t *doc = json_pack("{s:O, s:O}", "items", items, "next_cursor",
				next != NULL ? next : json_null());

	if (doc == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		return -1;
	}
	cli_json_print(stdout, doc);
	json_decref(doc);
	return 0;
}

int cli_show_obj(const struct cli_ctx *ctx, json_t *obj, const struct cli_col *cols)
{
	if (ctx->json || !json_is_object(obj)) {
		cli_json_print(stdout, obj);
		return 0;
	}
	return cli_kv_print(stdout, obj, cols);
}

int cli_obj_cmd(const struct cli_ctx *ctx, const char *method, char *path, json_t *body,
		const struct cli_col *cols)
{
	json_t *out = NULL;
	int rc;

	if (path == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		json_decref(body);
		return CLI_EXIT_FAIL;
	}
	rc = cli_api(ctx, method, path, body, &out, NULL);
	free(path);
	json_decref(body);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	rc = cli_show_obj(ctx, out, cols);
	json_decref(out);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

int cli_list_cmd(const struct cli_ctx *ctx, const struct cli_args *a, const struct cli_opt *spec,
		 const char *path, const struct cli_col *cols)
{
	const char *limit_s = cli_opt_get(a, spec, "limit");
	json_t *items = NULL, *next = NULL;
	long limit = 0;
	int rc;

	if (limit_s != NULL && cli_parse_long(limit_s, 1, 500, "--limit", &limit) != 0)
		return CLI_EXIT_USAGE;
	if (cli_api_list(ctx, path, limit, &items, &next) != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json)
		rc = cli_print_page(items, next);
	else
		rc = cli_table_print(stdout, items, cols);
	json_decref(items);
	json_decref(next);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

char *cli_read_file(const char *path, size_t *out_len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "edgectl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (!buf_append(&b, chunk, n)) {
			fprintf(stderr, "edgectl: %s: out of memory\n", path);
			fclose(f);
			buf_free(&b);
			return NULL;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "edgectl: %s: read error\n", path);
		fclose(f);
		buf_free(&b);
		return NULL;
	}
	fclose(f);
	if (!buf_reserve(&b, 0)) {
		buf_free(&b);
		return NULL;
	}
	*out_len = b.len;
	return buf_steal(&b);
}
