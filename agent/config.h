/* agent/config.h: edge-agent settings (DESIGN.md "Programs": environment variables, each with a
 * flag of the same meaning). One table of keys; precedence defaults < environment < flags. */
#ifndef AGT_CONFIG_H
#define AGT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

struct agt_config {
	char control_plane[512];  /* EDGE_AGENT_CONTROL_PLANE, no trailing '/' */
	char token[512];          /* EDGE_AGENT_TOKEN (required; never logged) */
	char redis_url[512];      /* EDGE_AGENT_REDIS_URL */
	char listen[128];         /* EDGE_AGENT_LISTEN host:port (edge traffic) */
	char admin_listen[128];   /* EDGE_AGENT_ADMIN_LISTEN host:port (/healthz, /metrics) */
	char state_dir[1024];     /* EDGE_AGENT_STATE_DIR */
	char trusted_keys[1024];  /* EDGE_AGENT_TRUSTED_KEYS (required) */
	/* Request limits (DESIGN.md "Agent"), with extra variables for operators. */
	uint32_t timeout_ms;      /* EDGE_AGENT_TIMEOUT_MS, default 50 */
	uint64_t fuel;            /* EDGE_AGENT_FUEL, default 0 = deadline only */
	uint64_t max_memory;      /* EDGE_AGENT_MAX_MEMORY_MB, default 128 MiB */
	uint64_t max_body;        /* EDGE_AGENT_MAX_BODY_BYTES, default 1 MiB */
	uint64_t max_response;    /* EDGE_AGENT_MAX_RESPONSE_BYTES, default 8 MiB */
	uint32_t threads;         /* EDGE_AGENT_THREADS, default 2 x CPUs (at least 4) */
	uint32_t poll_seconds;    /* EDGE_AGENT_POLL_SECONDS, default 30 */
	uint32_t heartbeat_seconds; /* EDGE_AGENT_HEARTBEAT_SECONDS, default 10 */
	int print_config;         /* --print-config */
};

/* Fills c from the defaults, then the environment, then argv (flags "--name value" or
 * "--name=value", named after the variable without the EDGE_AGENT_ prefix, lower case, '_'
 * as '-': --control-plane, --token, --trusted-keys, ...). Returns 0, or -1 with the reason in
 * err (unknown flag, bad number, missing required setting). "--help" returns 1 (usage in err). */
int agt_config_load(struct agt_config *c, int argc, char **argv, char *err, size_t errlen);

/* Prints the effective settings (the token masked) to stdout. */
void agt_config_print(const struct agt_config *c);

/* Splits "host:port" into host (at most hostlen) and port. Returns 0 or -1. */
int agt_split_listen(const char *listen, char *host, size_t hostlen, uint16_t *port);

#endif
