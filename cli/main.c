/* cli/main.c: edgectl's entry point: global options (from anywhere on the line, then the
 * environment, then defaults), command lookup in cli_commands, help, dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/http.h"

#define DEFAULT_URL "http://127.0.0.1:8080"

/* Takes the global options out of argv (they may appear before or after the command words)
 * into ctx; the rest stays in order in rest[0..*nrest). Returns 0, or -1 (message printed). */
static int take_globals(int argc, char **argv, struct cli_ctx *ctx, char **rest, int *nrest,
			bool *help)
{
	static const char *const with_value[] = {"url", "token", "tenant"};
	bool done = false;

	*nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool taken = false;
		if (done || strncmp(a, "--", 2) != 0) {
			rest[(*nrest)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			done = true;
			rest[(*nrest)++] = argv[i];
			continue;
		}
		for (size_t k = 0; k < 3 && !taken; k++) {
			size_t n = strlen(with_value[k]);
			const char **slot = k == 0 ? &ctx->url : k == 1 ? &ctx->token : &ctx->tenant;
			if (strncmp(a + 2, with_value[k], n) != 0)
				continue;
			if (a[2 + n] == '=') {
				*slot = a + 3 + n;
				taken = true;
			} else if (a[2 + n] == '\0') {
				if (i + 1 >= argc) {
					fprintf(stderr, "edgectl: option --%s needs a value\n",
						with_value[k]);
					return -1;
				}
				*slot = argv[++i];
				taken = true;
			}
		}
		if (taken)
			continue;
		if (strcmp(a, "--json") == 0)
			ctx->json = true;
		else if (strcmp(a, "--verbose") == 0)
			ctx->verbose = true;
		else {
			if (strcmp(a, "--help") == 0)
				*help = true;
			rest[(*nrest)++] = argv[i];
		}
	}
	return 0;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : dflt;
}

/* `edgectl GROUP --help` or an unknown verb: the commands of that group. */
static void group_help(const char *group)
{
	printf("edgectl %s commands:\n", group);
	for (const struct cli_cmd *c = cli_commands; c->group != NULL; c++)
		if (strcmp(c->group, group) == 0)
			printf("  edgectl %s %s %s\n      %s\n", c->group, c->verb ? c->verb : "",
			       c->usage, c->summary);
	printf("Run `edgectl %s VERB --help` for the options of one.\n", group);
}

int main(int argc, char **argv)
{
	struct cli_ctx ctx = {0};
	struct cli_args args;
	const struct cli_cmd *cmd = NULL;
	bool help = false, group_known = false;
	char **rest;
	int nrest, words, rc;

	/* Arguments end up in JSON bodies and URLs: refuse what JSON cannot carry, once, here. */
	for (int i = 1; i < argc; i++) {
		if (!cli_utf8_valid(argv[i])) {
			fprintf(stderr, "edgectl: argument %d is not valid UTF-8\n", i);
			return CLI_EXIT_USAGE;
		}
	}
	rest = calloc((size_t)argc + 1, sizeof *rest);
	if (rest == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		return CLI_EXIT_FAIL;
	}
	if (take_globals(argc, argv, &ctx, rest, &nrest, &help) != 0) {
		free(rest);
		return CLI_EXIT_USAGE;
	}
	if (ctx.url == NULL)
		ctx.url = env_or("EDGECTL_URL", DEFAULT_URL);
	if (ctx.token == NULL)
		ctx.token = env_or("EDGECTL_TOKEN", NULL);
	if (ctx.tenant == NULL)
		ctx.tenant = env_or("EDGECTL_TENANT", NULL);

	if (nrest == 0 || strcmp(rest[0], "--help") == 0 || strcmp(rest[0], "-h") == 0 ||
	    strcmp(rest[0], "help") == 0) {
		cli_help_all();
		free(rest);
		return nrest == 0 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	if (strcmp(rest[0], "--version") == 0 || strcmp(rest[0], "version") == 0) {
		printf("edgectl %s\n", CLI_VERSION);
		free(rest);
		return CLI_EXIT_OK;
	}
	for (const struct cli_cmd *c = cli_commands; c->group != NULL && cmd == NULL; c++) {
		if (strcmp(c->group, rest[0]) != 0)
			continue;
		group_known = true;
		if (c->verb == NULL)
			cmd = c;
		else if (nrest > 1 && strcmp(c->verb, rest[1]) == 0)
			cmd = c;
	}
	if (cmd == NULL) {
		if (!group_known) {
			fprintf(stderr, "edgectl: unknown command '%s' (see edgectl --help)\n", rest[0]);
			free(rest);
			return CLI_EXIT_USAGE;
		}
		if (help) {
			group_help(rest[0]);
			free(rest);
			return CLI_EXIT_OK;
		}
		if (nrest > 1)
			fprintf(stderr, "edgectl: unknown command '%s %s'\n\n", rest[0], rest[1]);
		group_help(rest[0]);
		free(rest);
		return CLI_EXIT_USAGE;
	}
	words = cmd->verb ? 2 : 1;
	if (cli_args_parse(nrest - words, rest + words, cmd->opts, &args) != 0) {
		free(rest);
		return CLI_EXIT_USAGE;
	}
	if (args.help) {
		cli_cmd_help(cmd);
		free(rest);
		return CLI_EXIT_OK;
	}
	if (cmd->needs_tenant && cli_need_tenant(&ctx) != 0) {
		free(rest);
		return CLI_EXIT_USAGE;
	}
	if (cli_http_init() != 0) {
		free(rest);
		return CLI_EXIT_FAIL;
	}
	rc = cmd->run(&ctx, &args, cmd->opts);
	cli_http_cleanup();
	free(rest);
	return rc;
}
