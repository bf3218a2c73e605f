/* cli/args.c: the option parser every edgectl command shares: long options with or without
 * values ("--x V", "--x=V"), positionals anywhere, "--" to end options, --help. */
#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_opt(const struct cli_opt *spec, const char *name, size_t len)
{
	for (int i = 0; spec[i].name != NULL; i++)
		if (strlen(spec[i].name) == len && strncmp(spec[i].name, name, len) == 0)
			return i;
	return -1;
}

int cli_args_parse(int argc, char **argv, const struct cli_opt *spec, struct cli_args *out)
{
	bool opts_done = false;

	memset(out, 0, sizeof *out);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!opts_done && strcmp(a, "--") == 0) {
			opts_done = true;
			continue;
		}
		if (!opts_done && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
			out->help = true;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1] == '-' && a[2] != '\0') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			int k = find_opt(spec, name, len);
			if (k < 0) {
				fprintf(stderr, "edgectl: unknown option --%.*s (see --help)\n", (int)len, name);
				return -1;
			}
			if (spec[k].has_arg) {
				if (eq != NULL) {
					out->val[k] = eq + 1;
				} else if (i + 1 < argc) {
					out->val[k] = argv[++i];
				} else {
					fprintf(stderr, "edgectl: option --%s needs a value\n", spec[k].name);
					return -1;
				}
			} else if (eq != NULL) {
				fprintf(stderr, "edgectl: option --%s takes no value\n", spec[k].name);
				return -1;
			}
			out->set[k] = true;
			continue;
		}
		if (!opts_done && a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "edgectl: unknown option %s (see --help)\n", a);
			return -1;
		}
		if (out->npos >= CLI_MAX_POS) {
			fprintf(stderr, "edgectl: too many arguments\n");
			return -1;
		}
		out->pos[out->npos++] = a;
	}
	return 0;
}

const char *cli_opt_get(const struct cli_args *a, const struct cli_opt *spec, const char *name)
{
	int k = find_opt(spec, name, strlen(name));

	return k >= 0 ? a->val[k] : NULL;
}

bool cli_opt_has(const struct cli_args *a, const struct cli_opt *spec, const char *name)
{
	int k = find_opt(spec, name, strlen(name));

	return k >= 0 && a->set[k];
}

int cli_parse_long(const char *s, long min, long max, const char *what, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max) {
		fprintf(stderr, "edgectl: %s must be a whole number from %ld to %ld, not '%s'\n",
			what, min, max, s);
		return -1;
	}
	*out = v;
	return 0;
}

int cli_need_tenant(const struct cli_ctx *ctx)
{
	if (ctx->tenant == NULL || ctx->tenant[0] == '\0') {
		fprintf(stderr, "edgectl: this command needs a tenant: pass --tenant SLUG "
				"or set EDGECTL_TENANT\n");
		return -1;
	}
	return 0;
}

int cli_want_pos(const struct cli_args *a, int n, const char *what)
{
	if (a->npos < n) {
		fprintf(stderr, "edgectl: missing %s (see --help)\n", what);
		return -1;
	}
	if (a->npos > n) {
		fprintf(stderr, "edgectl: unexpected argument '%s' (see --help)\n", a->pos[n]);
		return -1;
	}
	return 0;
}

bool cli_utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		int n;
		unsigned int cp;
		if (*p < 0x80) {
			p++;
			continue;
		} else if ((*p & 0xE0) == 0xC0) {
			n = 1;
			cp = *p & 0x1F;
		} else if ((*p & 0xF0) == 0xE0) {
			n = 2;
			cp = *p & 0x0F;
		} else if ((*p & 0xF8) == 0xF0) {
			n = 3;
			cp = *p & 0x07;
		} else {
			return false;
		}
		p++;
		for (int i = 0; i < n; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (*p & 0x3F);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
	}
	return true;
}
