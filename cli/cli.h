/* cli/cli.h: what the parts of edgectl share: the invocation context (URL, token, tenant, output
 * mode), the option parser every command uses, and the command table that main.c dispatches on.
 * Everything here is internal to edgectl; names carry the cli_ prefix because the test programs
 * link libcli.a together with every other library. */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stddef.h>

#define CLI_VERSION "0.1.0"

/* Exit codes of edgectl. Scripts rely on them, so they are part of the interface (README). */
enum {
	CLI_EXIT_OK = 0,
	CLI_EXIT_FAIL = 1,    /* the API answered an error, the network failed, a deployment failed */
	CLI_EXIT_USAGE = 2,   /* bad command line */
	CLI_EXIT_TIMEOUT = 3, /* deploy --wait gave up before the deployment ended */
};

/* One invocation's settings, from flags, then environment, then defaults. Strings point into
 * argv or the environment and live as long as the process. */
struct cli_ctx {
	const char *url;    /* control plane base URL, no trailing slash needed */
	const char *token;  /* bearer token, may be NULL (only /v1/keys and health answer then) */
	const char *tenant; /* tenant slug for tenant-scoped commands, may be NULL */
	bool json;          /* print the API's JSON instead of tables */
	bool verbose;       /* log each request to stderr */
};

/* ---- option parsing (args.c) ---- */

#define CLI_MAX_OPTS 16
#define CLI_MAX_POS 8

/* One option a command accepts: "--name VALUE" / "--name=VALUE" when has_arg, "--name" else. */
struct cli_opt {
	const char *name; /* without the leading dashes */
	bool has_arg;
	const char *help; /* one line, shown by --help */
};

/* The parsed command line of one command: positionals in order, option values by the index of
 * the option in the command's spec. Values point into argv. */
struct cli_args {
	int npos;
	const char *pos[CLI_MAX_POS];
	const char *val[CLI_MAX_OPTS]; /* NULL when the option was not given */
	bool set[CLI_MAX_OPTS];
	bool help;
};

/* Parses argv[0..argc) against `spec` (terminated by a zero entry). "-h"/"--help" sets help;
 * "--" ends the options. Returns 0, or -1 after printing the problem to stderr. */
int cli_args_parse(int argc, char **argv, const struct cli_opt *spec, struct cli_args *out);

/* The value of option `name` of `spec` in `a`, or NULL when absent. */
const char *cli_opt_get(const struct cli_args *a, const struct cli_opt *spec, const char *name);
bool cli_opt_has(const struct cli_args *a, const struct cli_opt *spec, const char *name);

/* Checks that exactly n positionals were given; prints what is missing or extra, returns -1. */
int cli_want_pos(const struct cli_args *a, int n, const char *what);

/* Parses a whole decimal number in [min, max]; returns 0, or -1 after printing
 * "edgectl: <what>: ..." to stderr. */
int cli_parse_long(const char *s, long min, long max, const char *what, long *out);

/* ---- the command table (commands.c) ---- */

/* A command: "group verb" (verb NULL for one-word commands such as deploy). Its function gets
 * the context and the parsed arguments and returns an exit code. */
struct cli_cmd {
	const char *group;
	const char *verb;
	int (*run)(struct cli_ctx *ctx, const struct cli_args *a, const struct cli_opt *spec);
	const char *usage;   /* arguments after the command words */
	const char *summary; /* one line */
	bool needs_tenant;
	struct cli_opt opts[CLI_MAX_OPTS];
};

/* The table, terminated by an entry whose group is NULL. */
extern const struct cli_cmd cli_commands[];

/* Prints the help of one command (usage, summary, options) to `f`-like stdout. */
void cli_cmd_help(const struct cli_cmd *c);
/* Prints the overview of every command (edgectl --help). */
void cli_help_all(void);

/* True when s is valid UTF-8 (JSON can carry it). */
bool cli_utf8_valid(const char *s);

/* Checks that ctx->tenant is set; prints the fix and returns -1 if not. */
int cli_need_tenant(const struct cli_ctx *ctx);

#endif
