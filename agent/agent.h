/* agent/agent.h: the edge-agent's shared state and the parts that act on it: applying a
 * desired state (apply.c), activating one module (activate.c), the sync loop (sync.c), the
 * Redis doorbell (doorbell.c), reports (report.c), the edge and admin servers (serve.c,
 * admin.c) and the state file (state.c). One `struct agt` per process. */
#ifndef AGT_AGENT_H
#define AGT_AGENT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "agent/config.h"
#include "agent/desired.h"
#include "agent/module.h"
#include "signing/signing.h"

#define AGT_VERSION "0.1.0"

/* What the agent reports for one module of the desired state. */
struct agt_status {
	char tenant[64];
	char module[64];
	int64_t version;   /* the desired version this status is about */
	bool failed;
	bool transient;    /* failed for a reason worth retrying (network, control plane) */
	char error[256];   /* reason when failed */
};

struct agt {
	struct agt_config cfg;      /* read-only after start */
	sign_trust *trust;          /* replaced only by the applying thread (SIGHUP reload) */
	struct timespec started;    /* CLOCK_MONOTONIC at start */

	/* Owned by the applying thread (start-up, then the sync thread); never touched by others. */
	struct agt_module **active; /* modules of the current table, one reference each */
	size_t n_active;
	bool reverify;              /* next apply checks kept modules against the trust set too */

	pthread_mutex_t lock;       /* guards everything below */
	pthread_cond_t sync_cond;   /* sync thread: a doorbell, a report answer or shutdown */
	pthread_cond_t report_cond; /* report thread: a change or shutdown */
	bool sync_kick;
	bool report_kick;
	bool stop;
	bool reload_trust;          /* SIGHUP: the sync thread reloads EDGE_AGENT_TRUSTED_KEYS */
	char pop[64];               /* this PoP's name ("" until known) */
	uint64_t pop_epoch;         /* bumped when pop changes, so the doorbell resubscribes */
	int64_t generation;         /* applied generation, -1 when none */
	time_t last_sync;           /* wall time of the last successful pull, 0 = never */
	bool redis_up;
	uint64_t doorbells;         /* doorbell messages received (for /healthz and /metrics) */
	bool retry_pending;         /* the applied generation had transient failures */
	struct agt_status *statuses;
	size_t n_statuses;
};

/* Initialises a (config already loaded): loads the trust file, the cache folder and the
 * synchronisation objects. Returns 0 or -1 with the reason in err. */
int agt_init(struct agt *a, char *err, size_t errlen);
/* Releases what agt_init and later applies acquired (threads must have stopped). */
void agt_destroy(struct agt *a);

/* Applies desired state d: keeps modules whose version and digest are unchanged, activates new
 * ones (fetch, verify, compile), keeps the previous version of any module that fails, swaps the
 * route table, persists what was applied (unless from_disk) and updates the statuses that
 * reports carry. Only one thread may apply at a time. Returns the number of failed modules. */
int agt_apply(struct agt *a, const struct agt_desired *d, bool from_disk);

/* Verifies, fetches (or reads from the cache) and compiles one module. cache_only (start-up
 * from the saved state) never goes to the network, so that serving starts at once even when the
 * control plane hangs. Returns 0 and a new module (one reference) in *out, or -1 with the reason
 * in err; *transient says whether trying again later may help. */
int agt_activate(struct agt *a, const struct agt_desired_module *dm, bool cache_only,
		 struct agt_module **out, bool *transient, char *err, size_t errlen);

/* Loads the persisted state, if any, and applies it (re-verifying every module) so that the
 * agent serves before the control plane answers. Never fails: problems are logged. */
void agt_state_restore(struct agt *a);
/* Persists d as the applied state (atomically). Returns 0 or -1 (logged). */
int agt_state_save(struct agt *a, const struct agt_desired *d);

/* Wakes the sync loop (a doorbell rang, or a report saw a newer generation). */
void agt_kick_sync(struct agt *a);
/* Wakes the reporter (state changed). */
void agt_kick_report(struct agt *a);
/* Asks the sync thread to reload the trust file (SIGHUP): on success the current generation is
 * applied again with every module, kept ones included, verified against the new set, so a key
 * added to the file activates what it signs and a removed key stops what only it signed. */
void agt_request_trust_reload(struct agt *a);
/* Reloads the trust file now (applying thread only). Returns 0, or -1 and keeps the old set
 * when the file is unreadable, invalid or empty (logged). */
int agt_trust_reload(struct agt *a);
/* Sets stop and wakes every loop. */
void agt_request_stop(struct agt *a);

/* Thread bodies; each returns when a->stop is set. */
void *agt_sync_main(void *a);
void *agt_doorbell_main(void *a);
void *agt_report_main(void *a);

/* The report body (DESIGN.md observed state) as JSON text (caller frees), draining the
 * per-module counters; NULL when memory runs out. */
char *agt_report_body(struct agt *a);

/* Edge and admin listeners (libmicrohttpd). start returns 0 or -1 with err; stop is idempotent. */
int agt_serve_start(struct agt *a, char *err, size_t errlen);
void agt_serve_stop(void);
int agt_admin_start(struct agt *a, char *err, size_t errlen);
void agt_admin_stop(void);

/* Seconds since start. */
double agt_uptime(const struct agt *a);

#endif
