/* scheduler/store.h: the scheduler's PostgreSQL side. Loads a deployment with the fleet as the
 * planner needs it, runs one planner step and commits its result (deployment row, waves, PoP
 * assignments, desired state with new generations, events and audit rows) in one transaction,
 * and lists the generations still to announce on Redis. Used by the runner (ticks) and by the
 * deployment endpoints (operator actions), each on its own connection. */
#ifndef SCH_STORE_H
#define SCH_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scheduler/planner.h"
#include "scheduler/strategy.h"

#define SCH_E_NOTFOUND (-4) /* no such deployment (HTTP 404) */
#define SCH_E_DB (-5)       /* PostgreSQL failed (HTTP 503/500) */

/* The NOTIFY channel that wakes the leader's runner (deployment created, action applied,
 * an agent's observed state changed). */
#define SCH_NOTIFY_CHANNEL "edgeplane_sched"

/* Who asked for a step: NULL for the scheduler itself. Strings borrowed for the call. */
struct sch_actor {
	const char *token_id;   /* uuid text of the caller's token */
	const char *request_id; /* X-Request-Id of the API request */
};

/* A deployment with its fleet, loaded for one step or one GET. */
struct sch_loaded {
	char tenant_id[37];
	char tenant_slug[64];
	char module_id[37];
	char module_name[64];
	char created_at[32]; /* RFC 3339 UTC */
	char updated_at[32];
	int64_t listening_since_ms; /* when the current leader took the lock (0: never) */
	struct sch_strategy strategy;
	struct sch_deployment d;  /* d.strategy points at .strategy above */
	struct sch_pop *pops;     /* every PoP of the fleet, by name */
	char (*pop_ids)[37];      /* pops[i]'s uuid */
	struct sch_pop *orig_pops; /* the PoPs as loaded (to write back only what changed) */
	struct sch_agent_obs *agents; /* pops[i].agents point into this */
	size_t npops, nagents;
};

/* Planner settings from the environment: EDGEPLANE_HEARTBEAT_MS (default 10000).
 * listening_since_ms starts at 0; sch_store_step and the GET of a deployment raise it to the
 * leader's start as recorded in PostgreSQL. */
void sch_config_from_env(struct sch_config *cfg);

/* Milliseconds since the epoch (CLOCK_REALTIME): the one clock read of the scheduler, done by
 * its callers and handed to the pure planner. */
int64_t sch_now_ms(void);

/* Loads deployment `id` (uuid text; tenant_id may be NULL or restricts the lookup) and the
 * fleet. With for_update the deployment row is locked (call inside a transaction). Returns 0,
 * SCH_E_NOTFOUND, SCH_E_DB or SCH_E_NOMEM (err says why). Free with sch_loaded_free. */
int sch_store_load(PGconn *c, const char *id, const char *tenant_id, bool for_update,
		   struct sch_loaded *out, char *err, size_t errlen);
void sch_loaded_free(struct sch_loaded *l);

/* One planner step on deployment `id` in its own transaction (BEGIN ... COMMIT on c, which
 * must not be inside a transaction): load with the row locked, plan, commit, NOTIFY. When
 * tenant_id is given the deployment must belong to it. Returns 0 (committed, or nothing to
 * do), SCH_E_CONFLICT (the action does not apply: nothing changed, err says why),
 * SCH_E_NOTFOUND, SCH_E_DB, SCH_E_NOMEM. */
int sch_store_step(PGconn *c, const char *id, const char *tenant_id, enum sch_action act,
		   int64_t now_ms, const struct sch_config *cfg, const struct sch_actor *actor,
		   char *err, size_t errlen);

/* Ids of the deployments a tick must look at (pending and running), oldest first, one page:
 * those after *inout_seq (0 for the first page). Fills up to max ids and moves *inout_seq to
 * the last one's, so the caller pages through any number of them; returns the count, or
 * SCH_E_DB. */
int sch_store_due(PGconn *c, int64_t *inout_seq, char (*ids)[37], size_t max, char *err,
		  size_t errlen);

/* A generation to announce: publish {"generation":N} on edgeplane:pop:<pop>. */
struct sch_pub {
	char pop_id[37];
	char pop[64];
	int64_t generation;
};
/* PoPs whose desired generation has not been announced yet. *out is malloc'ed (caller frees);
 * returns the count or SCH_E_DB / SCH_E_NOMEM. */
int sch_store_unpublished(PGconn *c, struct sch_pub **out, char *err, size_t errlen);
/* Records that the n generations were announced (one statement). 0 or SCH_E_DB/NOMEM. */
int sch_store_mark_published(PGconn *c, const struct sch_pub *p, size_t n, char *err,
			     size_t errlen);

/* The PoP's effective desired generation (what GET /v1/agent/desired and report answers
 * carry): a per-PoP counter that grows with each desired change of the PoP and with each
 * change of the routes. -1 on failure. */
int64_t sch_store_generation(PGconn *c, const char *pop_id);

#endif
