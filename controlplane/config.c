/* controlplane/config.c: one table of configuration keys (DESIGN.md's table plus tuning
 * knobs), applied in one loop: default, then environment variable, then command-line flag. */
#include "controlplane/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum cfg_type { CFG_STR, CFG_SIZE, CFG_UINT };

struct cfg_key {
	const char *env;
	const char *flag;
	enum cfg_type type;
	const char *def;
	unsigned long long min, max;
	size_t off;          /* offset of the target field in struct cp_config */
	const char *help;
};

#define OFF(f) offsetof(struct cp_config, f)

/* Kept alphabetical by variable, as --print-config shows it. */
static const struct cfg_key keys[] = {
	{"EDGEPLANE_CORS_ORIGINS", "--cors-origins", CFG_STR, "", 0, 0, OFF(api.cors_origins),
	 "comma list of dashboard origins allowed by CORS (\"*\" for any)"},
	{"EDGEPLANE_DATABASE_URL", "--database-url", CFG_STR, "postgresql://edge@127.0.0.1:5432/edgeplane",
	 0, 0, OFF(api.database_url), "PostgreSQL connection URL"},
	{"EDGEPLANE_DB_POOL_SIZE", "--db-pool-size", CFG_UINT, "16", 1, 200, OFF(api.db_pool_size),
	 "pooled PostgreSQL connections"},
	{"EDGEPLANE_DB_TIMEOUT_MS", "--db-timeout-ms", CFG_UINT, "3000", 100, 600000, OFF(api.db_timeout_ms),
	 "longest wait for a database connection or statement before 503"},
	{"EDGEPLANE_HTTP_THREADS", "--http-threads", CFG_UINT, "16", 1, 256, OFF(api.threads),
	 "HTTP worker threads"},
	{"EDGEPLANE_LISTEN", "--listen", CFG_STR, "127.0.0.1:8080", 0, 0, OFF(api.listen),
	 "address:port of the REST API"},
	{"EDGEPLANE_MAX_JSON_BYTES", "--max-json-bytes", CFG_SIZE, "1048576", 64, 1ull << 30,
	 OFF(api.max_json_bytes), "largest JSON request body (413 beyond)"},
	{"EDGEPLANE_MAX_MODULE_BYTES", "--max-module-bytes", CFG_SIZE, "10485760", 8, 1ull << 30,
	 OFF(api.max_module_bytes), "largest module upload (413 beyond)"},
	{"EDGEPLANE_MIGRATIONS", "--migrations", CFG_STR, "", 0, 0, OFF(migrations),
	 "folder of NNNN_*.sql migrations (default: found next to the program)"},
	{"EDGEPLANE_REDIS_URL", "--redis-url", CFG_STR, "redis://127.0.0.1:6379", 0, 0, OFF(api.redis_url),
	 "Redis URL (deployment doorbells)"},
	{"EDGEPLANE_SIGNING_KEY", "--signing-key", CFG_STR, "./edgeplane-signing.key", 0, 0,
	 OFF(api.signing_key), "Ed25519 key file new versions are signed with"},
	{"EDGEPLANE_WEB_ROOT", "--web-root", CFG_STR, "", 0, 0, OFF(api.web_root),
	 "dashboard folder served under /ui/ (default: web/ next to the program)"},
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= sizeof ((struct cp_config *)0)->owned / sizeof(char *),
	       "struct cp_config.owned must have a slot per key");

static int set_value(struct cp_config *cfg, size_t k, const char *v, const char *source,
		     char *err, size_t errlen)
{
	const struct cfg_key *key = &keys[k];
	char *p = (char *)cfg + key->off;

	if (key->type == CFG_STR) {
		char *copy = strdup(v);
		if (copy == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		free(cfg->owned[k]);
		cfg->owned[k] = copy;
		*(const char **)p = copy;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < key->min || n > key->max) {
		snprintf(err, errlen, "%s (%s): '%s' is not a whole number from %llu to %llu", key->env,
			 source, v, key->min, key->max);
		return -1;
	}
	if (key->type == CFG_SIZE)
		*(size_t *)p = (size_t)n;
	else
		*(unsigned *)p = (unsigned)n;
	return 0;
}

int cp_config_load(struct cp_config *cfg, int argc, char **argv, int first, int *out_rest,
		   int *out_nrest, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	for (size_t k = 0; k < NKEYS; k++) {
		if (set_value(cfg, k, keys[k].def, "default", err, errlen) < 0)
			return -1;
		const char *v = getenv(keys[k].env);
		if (v != NULL && set_value(cfg, k, v, "environment", err, errlen) < 0)
			return -1;
	}
	*out_nrest = 0;
	for (int i = first; i < argc; i++) {
		const char *a = argv[i];
		size_t k;
		for (k = 0; k < NKEYS; k++) {
			size_t fl = strlen(keys[k].flag);
			if (strncmp(a, keys[k].flag, fl) == 0 && (a[fl] == '\0' || a[fl] == '='))
				break;
		}
		if (k == NKEYS) {
			out_rest[(*out_nrest)++] = i;
			continue;
		}
		const char *v = strchr(a, '=');
		if (v != NULL) {
			v++;
		} else {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "%s needs a value", keys[k].flag);
				return -1;
			}
			v = argv[++i];
		}
		if (set_value(cfg, k, v, keys[k].flag, err, errlen) < 0)
			return -1;
	}
	return 0;
}

void cp_config_print(const struct cp_config *cfg)
{
	for (size_t k = 0; k < NKEYS; k++) {
		const char *p = (const char *)cfg + keys[k].off;
		if (keys[k].type == CFG_STR)
			printf("%s=%s\n", keys[k].env, *(const char *const *)p);
		else if (keys[k].type == CFG_SIZE)
			printf("%s=%zu\n", keys[k].env, *(const size_t *)p);
		else
			printf("%s=%u\n", keys[k].env, *(const unsigned *)p);
	}
}

void cp_config_usage(void)
{
	for (size_t k = 0; k < NKEYS; k++)
		printf("  %-22s %-28s %s (default: %s)\n", keys[k].flag, keys[k].env, keys[k].help,
		       keys[k].def[0] ? keys[k].def : "none");
}

void cp_config_free(struct cp_config *cfg)
{
	for (size_t k = 0; k < sizeof cfg->owned / sizeof cfg->owned[0]; k++)
		free(cfg->owned[k]);
	memset(cfg, 0, sizeof *cfg);
}
