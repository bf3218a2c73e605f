/* scheduler/strategy.h: rollout strategies: the names "immediate" and "canary" and custom wave
 * objects, parsed, validated and written back as JSON (DESIGN.md, Rollouts). Pure: no I/O. */
#ifndef SCH_STRATEGY_H
#define SCH_STRATEGY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCH_MAX_WAVES 32
#define SCH_MAX_WAVE_POPS 256
#define SCH_MAX_SECONDS 86400 /* bake and activation timeout: at most a day */

#define SCH_E_INVALID (-1) /* bad strategy (HTTP 422) */
#define SCH_E_NOMEM (-3)    /* out of memory */

struct sch_wave_spec {
	int percent;  /* 1..100 (cumulative share of the fleet), or 0 for an explicit list */
	char **pops;  /* explicit PoP names (owned), NULL for a percent wave */
	size_t npops;
};

struct sch_strategy {
	char name[16]; /* "immediate", "canary" or "custom" */
	struct sch_wave_spec waves[SCH_MAX_WAVES];
	size_t nwaves;
	int64_t bake_seconds;               /* 0..SCH_MAX_SECONDS */
	int64_t activation_timeout_seconds; /* 1..SCH_MAX_SECONDS */
	double max_error_rate;              /* 0..1 */
	bool auto_rollback;
};

/* Defaults of a custom object and of "canary" (DESIGN.md). */
#define SCH_DEFAULT_BAKE_SECONDS 60
#define SCH_DEFAULT_ACTIVATION_TIMEOUT 120
#define SCH_DEFAULT_MAX_ERROR_RATE 0.05

/* Parses `in` (a JSON string naming a strategy, an object, or NULL for the default
 * "canary"). known_pops (nknown names, may be NULL to skip the check) are the PoPs an
 * explicit wave may name. A final wave short of 100 % gets an implicit {"percent":100} so
 * every rollout ends with the whole fleet on the target. Returns 0, or SCH_E_INVALID with a
 * human-readable reason in err (out is then empty); SCH_E_NOMEM. Free with
 * sch_strategy_free. */
int sch_strategy_parse(const json_t *in, const char *const *known_pops, size_t nknown,
		       struct sch_strategy *out, char *err, size_t errlen);

/* The normalized object form (always an object with every field). New reference or NULL. */
json_t *sch_strategy_to_json(const struct sch_strategy *s);

void sch_strategy_free(struct sch_strategy *s);

#endif
