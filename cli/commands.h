/* cli/commands.h: the functions behind each edgectl command, one file per concern
 * (cmd_admin.c: tenants, domains, tokens; cmd_modules.c: modules, versions, routes;
 * cmd_deploy.c: deploy, deployments, rollback; cmd_fleet.c: pops, keys, audit;
 * cmd_verify.c: offline verify). Each returns a CLI_EXIT_* code; errors are printed. */
#ifndef CLI_COMMANDS_H
#define CLI_COMMANDS_H

#include <jansson.h>

#include "cli/cli.h"
#include "cli/table.h"

#define CLI_CMD(name) \
	int name(struct cli_ctx *ctx, const struct cli_args *a, const struct cli_opt *spec)

CLI_CMD(cli_tenants_create);
CLI_CMD(cli_tenants_list);
CLI_CMD(cli_tenants_get);
CLI_CMD(cli_domains_add);
CLI_CMD(cli_domains_list);
CLI_CMD(cli_domains_rm);
CLI_CMD(cli_tokens_create);
CLI_CMD(cli_tokens_list);
CLI_CMD(cli_tokens_revoke);

CLI_CMD(cli_modules_create);
CLI_CMD(cli_modules_list);
CLI_CMD(cli_versions_push);
CLI_CMD(cli_versions_list);
CLI_CMD(cli_versions_get);
CLI_CMD(cli_versions_download);
CLI_CMD(cli_routes_add);
CLI_CMD(cli_routes_list);
CLI_CMD(cli_routes_rm);

CLI_CMD(cli_deploy);
CLI_CMD(cli_deployments_list);
CLI_CMD(cli_deployments_get);
CLI_CMD(cli_deployments_pause);
CLI_CMD(cli_deployments_resume);
CLI_CMD(cli_deployments_promote);
CLI_CMD(cli_deployments_abort);
CLI_CMD(cli_rollback);

CLI_CMD(cli_pops_create);
CLI_CMD(cli_pops_list);
CLI_CMD(cli_pops_get);
CLI_CMD(cli_keys_list);
CLI_CMD(cli_whoami);
CLI_CMD(cli_audit);

CLI_CMD(cli_verify);

/* GETs a list endpoint (all pages, or one page of --limit when the command has that option)
 * and prints it as a table with `cols`, or as {"items":[...]} with --json. */
int cli_list_cmd(const struct cli_ctx *ctx, const struct cli_args *a, const struct cli_opt *spec,
		 const char *path, const struct cli_col *cols);

/* Prints a list as the API shapes it, {"items":[...],"next_cursor":...}, for --json. `next` may
 * be NULL (then null). Borrows both. Returns 0 or -1 (out of memory, message printed). */
int cli_print_page(json_t *items, json_t *next);

/* Prints one object: as JSON with --json, else the key/value lines of `cols`. */
int cli_show_obj(const struct cli_ctx *ctx, json_t *obj, const struct cli_col *cols);

/* Runs a request whose answer is one object and shows it with cli_show_obj. Takes `path`
 * (malloc'd; NULL means out of memory) and `body` (may be NULL: no body); returns an exit
 * code. */
int cli_obj_cmd(const struct cli_ctx *ctx, const char *method, char *path, json_t *body,
		const struct cli_col *cols);

/* Reads a whole file into a malloc'ed buffer (caller frees); NULL with the reason printed. */
char *cli_read_file(const char *path, size_t *out_len);

#endif
