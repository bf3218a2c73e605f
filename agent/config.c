/* agent/config.c: the edge-agent's configuration table and its one precedence loop. */
#include "agent/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum kind { K_STR, K_U32, K_U64, K_MIB };

struct key {
	const char *env;   /* environment variable */
	const char *flag;  /* "--flag" */
	enum kind kind;
	const char *def;   /* default as text; NULL = required */
	size_t off;        /* field offset in struct agt_config */
	size_t size;       /* field size (strings) */
	uint64_t min, max; /* numbers */
	const char *help;
};

#define STR(f) offsetof(struct agt_config, f), sizeof(((struct agt_config *)0)->f)
#define NUM(f) offsetof(struct agt_config, f), 0

static const struct key keys[] = {
	{"EDGE_AGENT_ADMIN_LISTEN", "--admin-listen", K_STR, "127.0.0.1:8082", STR(admin_listen), 0, 0,
	 "admin listener (/healthz, /metrics)"},
	{"EDGE_AGENT_CONTROL_PLANE", "--control-plane", K_STR, "http://127.0.0.1:8080",
	 STR(control_plane), 0, 0, "control plane base URL"},
	{"EDGE_AGENT_FUEL", "--fuel", K_U64, "0", NUM(fuel), 0, UINT64_MAX,
	 "instruction budget per request (0: the CPU-time limit only)"},
	{"EDGE_AGENT_HEARTBEAT_SECONDS", "--heartbeat-seconds", K_U32, "10", NUM(heartbeat_seconds),
	 1, 3600, "seconds between heartbeat reports"},
	{"EDGE_AGENT_LISTEN", "--listen", K_STR, "127.0.0.1:8081", STR(listen), 0, 0,
	 "edge traffic listener"},
	{"EDGE_AGENT_MAX_BODY_BYTES", "--max-body-bytes", K_U64, "1048576", NUM(max_body), 0,
	 1ull << 32, "largest request body"},
	{"EDGE_AGENT_MAX_MEMORY_MB", "--max-memory-mb", K_MIB, "128", NUM(max_memory), 1, 4096,
	 "linear memory per instance, MiB"},
	{"EDGE_AGENT_MAX_RESPONSE_BYTES", "--max-response-bytes", K_U64, "8388608",
	 NUM(max_response), 1024, 1ull << 32, "largest response (handler stdout)"},
	{"EDGE_AGENT_POLL_SECONDS", "--poll-seconds", K_U32, "30", NUM(poll_seconds), 1, 3600,
	 "seconds between desired-state polls"},
	{"EDGE_AGENT_REDIS_URL", "--redis-url", K_STR, "redis://127.0.0.1:6379", STR(redis_url), 0,
	 0, "Redis for doorbells"},
	{"EDGE_AGENT_STATE_DIR", "--state-dir", K_STR, "./agent-state", STR(state_dir), 0, 0,
	 "blob cache and applied state"},
	{"EDGE_AGENT_THREADS", "--threads", K_U32, "0", NUM(threads), 0, 1024,
	 "edge server threads (0: 2 per CPU, at least 4)"},
	{"EDGE_AGENT_TIMEOUT_MS", "--timeout-ms", K_U32, "50", NUM(timeout_ms), 1, 600000,
	 "CPU time per request, ms (504 beyond)"},
	{"EDGE_AGENT_TOKEN", "--token", K_STR, NULL, STR(token), 0, 0, "agent token (required)"},
	{"EDGE_AGENT_TRUSTED_KEYS", "--trusted-keys", K_STR, NULL, STR(trusted_keys), 0, 0,
	 "trust file, KEYID BASE64 per line (required)"},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static int set_value(struct agt_config *c, const struct key *k, const char *v, char *err,
		     size_t errlen)
{
	char *base = (char *)c + k->off, *end;
	unsigned long long n;

	if (k->kind == K_STR) {
		if (strlen(v) >= k->size) {
			snprintf(err, errlen, "%s is too long", k->env);
			return -1;
		}
		memcpy(base, v, strlen(v) + 1);
		return 0;
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || v[0] == '-' || n < k->min || n > k->max) {
		snprintf(err, errlen, "%s: \"%s\" is not a number in [%llu, %llu]", k->env, v,
			 (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	if (k->kind == K_U32)
		*(uint32_t *)(void *)base = (uint32_t)n;
	else if (k->kind == K_U64)
		*(uint64_t *)(void *)base = (uint64_t)n;
	else
		*(uint64_t *)(void *)base = (uint64_t)n << 20;
	return 0;
}

static void usage(char *err, size_t errlen)
{
	size_t off = (size_t)snprintf(err, errlen, "usage: edge-agent [--print-config] [FLAG VALUE]...\n");

	for (size_t i = 0; i < NKEYS && off < errlen; i++)
		off += (size_t)snprintf(err + off, errlen - off, "  %-22s %-30s %s\n", keys[i].flag,
					keys[i].env, keys[i].help);
}

int agt_config_load(struct agt_config *c, int argc, char **argv, char *err, size_t errlen)
{
	/* One source per pass, lowest precedence first: 0 = defaults, 1 = environment,
	 * 2 = command line. */
	const char *vals[NKEYS] = {0};
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++) {
		const char *e = getenv(keys[i].env);
		vals[i] = keys[i].def;
		if (e != NULL && e[0] != '\0')
			vals[i] = e;
	}
	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *eq, *v;
		size_t i, nlen;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			usage(err, errlen);
			return 1;
		}
		if (strcmp(arg, "--print-config") == 0) {
			c->print_config = 1;
			continue;
		}
		eq = strchr(arg, '=');
		nlen = eq ? (size_t)(eq - arg) : strlen(arg);
		for (i = 0; i < NKEYS; i++)
			if (strlen(keys[i].flag) == nlen && strncmp(keys[i].flag, arg, nlen) == 0)
				break;
		if (i == NKEYS) {
			snprintf(err, errlen, "unknown flag %s (see --help)", arg);
			return -1;
		}
		if (eq != NULL) {
			v = eq + 1;
		} else if (a + 1 < argc) {
			v = argv[++a];
		} else {
			snprintf(err, errlen, "%s needs a value", keys[i].flag);
			return -1;
		}
		vals[i] = v;
	}
	for (size_t i = 0; i < NKEYS; i++) {
		if (vals[i] == NULL) {
			snprintf(err, errlen, "%s (or %s) is required", keys[i].env, keys[i].flag);
			return -1;
		}
		if (set_value(c, &keys[i], vals[i], err, errlen) != 0)
			return -1;
	}
	/* Normalise: no trailing '/' on the control plane URL. */
	for (size_t n = strlen(c->control_plane); n > 0 && c->control_plane[n - 1] == '/'; n--)
		c->control_plane[n - 1] = '\0';
	if (strncmp(c->control_plane, "http://", 7) != 0 &&
	    strncmp(c->control_plane, "https://", 8) != 0) {
		snprintf(err, errlen, "EDGE_AGENT_CONTROL_PLANE must be an http(s) URL");
		return -1;
	}
	if (c->threads == 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		c->threads = cpus > 0 ? (uint32_t)cpus * 2 : 4;
		if (c->threads < 4)
			c->threads = 4;
	}
	{
		char h[128];
		uint16_t p;
		if (agt_split_listen(c->listen, h, sizeof(h), &p) != 0 ||
		    agt_split_listen(c->admin_listen, h, sizeof(h), &p) != 0) {
			snprintf(err, errlen, "listen addresses must be host:port");
			return -1;
		}
	}
	return 0;
}

void agt_config_print(const struct agt_config *c)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *base = (const char *)c + k->off;

		if (k->kind == K_STR)
			printf("%s=%s\n", k->env, k->off == offsetof(struct agt_config, token) ? "********" : base);
		else if (k->kind == K_U32)
			printf("%s=%u\n", k->env, *(const uint32_t *)(const void *)base);
		else if (k->kind == K_U64)
			printf("%s=%llu\n", k->env, (unsigned long long)*(const uint64_t *)(const void *)base);
		else
			printf("%s=%llu\n", k->env, (unsigned long long)(*(const uint64_t *)(const void *)base >> 20));
	}
}

int agt_split_listen(const char *listen, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(listen, ':');
	char *end;
	unsigned long p;
	size_t hn;

	if (colon == NULL)
		return -1;
	hn = (size_t)(colon - listen);
	if (hn == 0 || hn >= hostlen)
		return -1;
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || p > 65535)
		return -1;
	memcpy(host, listen, hn);
	host[hn] = '\0';
	*port = (uint16_t)p;
	return 0;
}
