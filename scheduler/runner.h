/* scheduler/runner.h: the rollout runner that `edgeplane serve` starts. It runs in its own
 * thread with its own PostgreSQL and Redis connections; only the instance holding the
 * PostgreSQL advisory lock (the leader) plans steps, the others wait to take over.
 *
 * Wiring (controlplane/serve): after migrations and before serving,
 *     struct sch_runner *r = sch_runner_start(db_url, redis_url, err, sizeof err);
 *     if (r == NULL) { log_error("scheduler: %s", err); exit(1); }
 *     ... serve until SIGTERM/SIGINT ...
 *     sch_runner_stop(r);
 *
 * Tuning from the environment (read once by sch_runner_start; for tests and benchmarks):
 *   EDGEPLANE_SCHED_TICK_MS       planning period, default 1000 (min 10)
 *   EDGEPLANE_HEARTBEAT_MS        agent heartbeat period, default 10000; an agent is stale
 *                                 after 3 missed heartbeats (also read by the agent endpoints)
 *   EDGEPLANE_SCHED_LOCK_KEY      advisory lock key, default 0x45504c4e ("EPLN")
 * Redis being down never stops the runner: generations live in PostgreSQL, publishing is
 * retried every tick until it succeeds, and agents poll anyway. */
#ifndef SCH_RUNNER_H
#define SCH_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

struct sch_runner;

/* Starts the runner thread. db_url and redis_url are copied (the caller keeps its strings).
 * Connection failures at start are not fatal (the thread keeps retrying); NULL with a reason
 * in err only when the thread or memory cannot be obtained. The caller owns the result and
 * releases it with sch_runner_stop. */
struct sch_runner *sch_runner_start(const char *db_url, const char *redis_url,
				    char *err, size_t errlen);

/* Stops the thread (wakes it, joins it), releases the advisory lock by closing its
 * connection and frees everything. NULL is a no-op. Returns within about one tick. */
void sch_runner_stop(struct sch_runner *r);

/* True while this process holds the leader lock (for /metrics and logs; thread-safe). */
bool sch_runner_is_leader(const struct sch_runner *r);

/* Asks the runner to plan now instead of waiting for the next tick (thread-safe, cheap):
 * the API calls it after creating a deployment or applying an operator action, and after
 * agent reports, so rollouts move at the speed of the agents rather than of the tick. */
void sch_runner_kick(struct sch_runner *r);

/* The runner started by sch_runner_start in this process, or NULL (the API uses it to kick). */
struct sch_runner *sch_runner_current(void);

#endif
