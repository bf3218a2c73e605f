/* agent/stats.h: per-module request counters and latency histograms, shared by the edge server
 * (which records), the admin listener (/metrics, totals) and the reporter (counts and p99 since
 * the previous report). One entry per tenant/module, kept for the life of the process so that
 * counts survive version swaps. Lock-free on the request path (atomics). */
#ifndef AGT_STATS_H
#define AGT_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"

/* Prometheus histogram bounds, in seconds (the last bucket, +Inf, is implicit). */
#define AGT_PROM_BUCKETS 14
/* Fine log-spaced buckets for the report's p99: bucket i covers up to 10 us * 2^(i/4). */
#define AGT_FINE_BUCKETS 84

struct agt_stats {
	char tenant[64];
	char module[64];
	/* Totals since start (for /metrics). */
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t errors;
	atomic_uint_fast64_t lat_sum_us;
	atomic_uint_fast64_t prom[AGT_PROM_BUCKETS + 1];
	/* Since the previous report (drained by agt_stats_drain). */
	atomic_uint_fast64_t win_requests;
	atomic_uint_fast64_t win_errors;
	atomic_uint_fast64_t fine[AGT_FINE_BUCKETS];
	struct agt_stats *next; /* registry list; private */
};

/* The entry of tenant/module, created on first use. The pointer stays valid until
 * agt_stats_shutdown. NULL only when memory runs out. Thread-safe. */
struct agt_stats *agt_stats_get(const char *tenant, const char *module);

/* Records one request that took `ms` milliseconds; `error` counts it as an error too. */
void agt_stats_record(struct agt_stats *s, double ms, bool error);

/* Takes the counts since the previous drain: requests, errors and the p99 latency in ms (0 when
 * there were no requests). Requests recorded concurrently land in this window or the next. */
void agt_stats_drain(struct agt_stats *s, uint64_t *out_requests, uint64_t *out_errors,
		     double *out_p99_ms);

/* The p99 (ms) of a fine histogram; exposed for the unit tests. */
double agt_stats_p99(const uint64_t fine[AGT_FINE_BUCKETS]);

/* Appends the Prometheus text of every entry (requests, errors, latency histogram) to b.
 * Returns false when memory runs out. */
bool agt_stats_prometheus(struct buf *b);

/* Frees every entry; only when no thread records any more. */
void agt_stats_shutdown(void);

#endif
