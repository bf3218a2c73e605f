/* scheduler/planner.h: the rollout planner, a pure state machine. A step takes one
 * deployment, the fleet as the store last saw it (PoPs, their agents and what those agents
 * reported) and the clock, and returns the deployment's new state, the desired-state changes
 * (written into the PoPs) and the events that explain them. No SQL, no Redis and no clock
 * reads in here: scheduler/store.c loads and commits, the runner and the API drive it.
 *
 * States (DESIGN.md, Rollouts): pending -> running <-> paused -> succeeded | failed | aborted |
 * rolled_back. Waves: pending, activating, baking, passed, failed. */
#ifndef SCH_PLANNER_H
#define SCH_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/strategy.h"

#define SCH_E_CONFLICT (-2) /* the action does not apply to the current state (HTTP 409) */

enum sch_dep_state {
	SCH_DEP_PENDING,
	SCH_DEP_RUNNING,
	SCH_DEP_PAUSED,
	SCH_DEP_SUCCEEDED,
	SCH_DEP_FAILED,
	SCH_DEP_ABORTED,
	SCH_DEP_ROLLED_BACK,
};

enum sch_wave_state {
	SCH_WAVE_PENDING,
	SCH_WAVE_ACTIVATING,
	SCH_WAVE_BAKING,
	SCH_WAVE_PASSED,
	SCH_WAVE_FAILED,
};

/* What one agent last reported about the deployment's target version. */
enum sch_obs_state { SCH_OBS_NONE, SCH_OBS_ACTIVE, SCH_OBS_FAILED };

/* A PoP's state as GET shows it. */
enum sch_pop_state { SCH_POP_PENDING, SCH_POP_ACTIVE, SCH_POP_FAILED, SCH_POP_STALE };

enum sch_action { SCH_ACT_TICK, SCH_ACT_PAUSE, SCH_ACT_RESUME, SCH_ACT_PROMOTE, SCH_ACT_ABORT };

struct sch_wave {
	enum sch_wave_state state;
	int64_t started_ms; /* when its PoPs were switched to the target (0: not yet) */
	int64_t baking_ms;  /* when activation completed and the bake began (0: not yet) */
};

struct sch_deployment {
	char id[64];
	enum sch_dep_state state;
	int from_version; /* 0: the module ran nowhere before */
	int to_version;
	const struct sch_strategy *strategy; /* borrowed; outlives every call */
	int current_wave;                    /* index of the wave in progress, nwaves when done */
	struct sch_wave waves[SCH_MAX_WAVES];
	char reason[256];    /* why it is paused/failed/rolled back; "" when none */
	bool target_missing; /* input: the target version no longer exists */
};

/* One agent of a PoP. Counters are cumulative totals for the target version. */
struct sch_agent_obs {
	int64_t last_seen_ms;          /* last report or heartbeat; 0: never */
	int running_version;           /* version it reports active for the module, 0: none */
	enum sch_obs_state target;     /* what it reports for the deployment's to_version */
	char target_error[160];        /* its error message when target == SCH_OBS_FAILED */
	int64_t requests_total;        /* target version's requests, cumulative */
	int64_t errors_total;
};

struct sch_pop {
	char name[64];
	/* in/out: this module's desired version at the PoP (0: none); the planner sets
	 * `changed` when it moves it, and the caller writes those back with a new generation. */
	int desired;
	bool changed;
	/* in/out: the wave that switched this PoP (-1: untouched) and the counter baseline
	 * taken when that wave's bake began. */
	int wave;
	int64_t base_requests;
	int64_t base_errors;
	const struct sch_agent_obs *agents; /* borrowed */
	size_t nagents;
};

struct sch_config {
	int64_t heartbeat_ms; /* agents heartbeat this often; 3 missed = stale */
	/* When the scheduler became able to hear agents (the current leader took the lock;
	 * 0: long ago). Silence from before then is the control plane's outage, not the
	 * agents': an agent counts as heard at this time at the latest, so a restarted or
	 * failed-over leader gives every agent 3 heartbeats to report again instead of
	 * failing every wave in progress for staleness. */
	int64_t listening_since_ms;
};

struct sch_event {
	int64_t at_ms;
	char type[32]; /* started, wave_started, wave_activated, wave_passed, wave_failed, paused,
			* resumed, promoted, aborted, rolled_back, succeeded, failed */
	int wave;      /* -1 when not about a wave */
	char detail[320];
};

/* The output of one step. Events are owned by the plan (sch_plan_free). */
struct sch_plan {
	struct sch_event *events;
	size_t nevents;
	size_t cap;
	bool changed; /* the deployment's row (state, waves, PoP assignments) changed */
};

/* Applies `act` at time now_ms and then lets the rollout advance as far as the observations
 * allow (a tick does only the latter). Mutates d and pops in place and appends events to
 * out (which must start zeroed). Returns 0; SCH_E_CONFLICT with the reason in err when the
 * action does not apply to the state (d and pops may then be partly advanced: discard them);
 * SCH_E_NOMEM. */
int sch_plan_step(struct sch_deployment *d, struct sch_pop *pops, size_t npops,
		  enum sch_action act, int64_t now_ms, const struct sch_config *cfg,
		  struct sch_plan *out, char *err, size_t errlen);

void sch_plan_free(struct sch_plan *p);

/* Assigns the pending waves' PoPs as they would be picked if the waves started now
 * (for GET). Mutates only pops[].wave of untouched PoPs: pass a copy. */
void sch_plan_preview(const struct sch_deployment *d, struct sch_pop *pops, size_t npops);

/* The PoP's state for the deployment's target at now_ms. */
enum sch_pop_state sch_pop_state_of(const struct sch_deployment *d, const struct sch_pop *p,
				    int64_t now_ms, const struct sch_config *cfg);
/* The version the PoP's fresh agents report running (0: none or disagreeing). */
int sch_pop_observed_version(const struct sch_pop *p, int64_t now_ms,
			     const struct sch_config *cfg);
/* True when no agent of the PoP reported within 3 heartbeats (counting from
 * cfg->listening_since_ms at the earliest). */
bool sch_pop_is_stale(const struct sch_pop *p, int64_t now_ms, const struct sch_config *cfg);

bool sch_dep_state_is_terminal(enum sch_dep_state s);
/* Names as in DESIGN.md ("running"), and back (-1 when unknown). */
const char *sch_dep_state_name(enum sch_dep_state s);
int sch_dep_state_parse(const char *s);
const char *sch_wave_state_name(enum sch_wave_state s);
int sch_wave_state_parse(const char *s);
const char *sch_pop_state_name(enum sch_pop_state s);
const char *sch_action_name(enum sch_action a);

/* Stable order of PoPs for percent waves: a hash of the deployment id and the PoP name. */
uint64_t sch_pop_rank(const char *deployment_id, const char *pop_name);

#endif
