/* controlplane/config.h: the `edgeplane` configuration table: every key with its environment
 * variable, flag, default and bounds; applied in one loop (defaults, then environment, then
 * flags). */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include <stddef.h>

#include "api/api.h"

/* The effective configuration. Strings are owned by the struct (cp_config_free). */
struct cp_config {
	struct api_config api;   /* what the API sees (its strings point into `owned`) */
	char *owned[16];
	const char *migrations;  /* folder of NNNN_*.sql ("" = find next to the binary) */
};

/* Fills cfg from defaults and the environment, then consumes the recognised "--flag VALUE" /
 * "--flag=VALUE" arguments of argv[first..argc) (others are left for the command: their
 * indexes are written to out_rest, their count to *out_nrest). Returns 0, or -1 with a reason
 * in err (unknown variable value out of range, flag without value). */
int cp_config_load(struct cp_config *cfg, int argc, char **argv, int first, int *out_rest,
		   int *out_nrest, char *err, size_t errlen);
/* Prints "NAME=value" for every key (for --print-config), secrets included never: there are
 * none in the table. */
void cp_config_print(const struct cp_config *cfg);
/* One line per key: flag, variable, default, help (for --help). */
void cp_config_usage(void);
void cp_config_free(struct cp_config *cfg);

#endif
