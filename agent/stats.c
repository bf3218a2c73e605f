/* agent/stats.c: the per-module counters behind /metrics and the reports. The registry is a
 * list guarded by a mutex for lookups and creation; counting itself uses relaxed atomics, since
 * the counters are independent and only need to be exact eventually. */
#include "agent/stats.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double prom_bounds[AGT_PROM_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
						     0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
						     0.5, 1.0, 5.0};

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static struct agt_stats *stats_head;

struct agt_stats *agt_stats_get(const char *tenant, const char *module)
{
	struct agt_stats *s;

	pthread_mutex_lock(&stats_lock);
	for (s = stats_head; s != NULL; s = s->next)
		if (strcmp(s->tenant, tenant) == 0 && strcmp(s->module, module) == 0)
			goto out;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	snprintf(s->tenant, sizeof(s->tenant), "%s", tenant);
	snprintf(s->module, sizeof(s->module), "%s", module);
	s->next = stats_head;
	stats_head = s;
out:
	pthread_mutex_unlock(&stats_lock);
	return s;
}

/* Upper bound (ms) of fine bucket i: 0.01 ms * 2^(i/4). */
static double fine_upper_ms(int i)
{
	return 0.01 * pow(2.0, (double)i / 4.0);
}

static int fine_index(double ms)
{
	if (ms <= 0.01)
		return 0;
	int i = (int)ceil(4.0 * log2(ms / 0.01));
	if (i < 0)
		i = 0;
	if (i >= AGT_FINE_BUCKETS)
		i = AGT_FINE_BUCKETS - 1;
	return i;
}

void agt_stats_record(struct agt_stats *s, double ms, bool error)
{
	int i;

	if (s == NULL)
		return;
	atomic_fetch_add_explicit(&s->requests, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->win_requests, 1, memory_order_relaxed);
	if (error) {
		atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
		atomic_fetch_add_explicit(&s->win_errors, 1, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(&s->lat_sum_us, (uint_fast64_t)(ms * 1000.0),
				  memory_order_relaxed);
	for (i = 0; i < AGT_PROM_BUCKETS && ms / 1000.0 > prom_bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&s->prom[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->fine[fine_index(ms)], 1, memory_order_relaxed);
}

double agt_stats_p99(const uint64_t fine[AGT_FINE_BUCKETS])
{
	uint64_t total = 0, seen = 0, rank;

	for (int i = 0; i < AGT_FINE_BUCKETS; i++)
		total += fine[i];
	if (total == 0)
		return 0.0;
	/* The smallest bucket whose cumulative count reaches 99 % of the total. */
	rank = (total * 99 + 99) / 100;
	for (int i = 0; i < AGT_FINE_BUCKETS; i++) {
		seen += fine[i];
		if (seen >= rank)
			return fine_upper_ms(i);
	}
	return fine_upper_ms(AGT_FINE_BUCKETS - 1);
}

void agt_stats_drain(struct agt_stats *s, uint64_t *out_requests, uint64_t *out_errors,
		     double *out_p99_ms)
{
	uint64_t fine[AGT_FINE_BUCKETS];

	*out_requests = atomic_exchange_explicit(&s->win_requests, 0, memory_order_relaxed);
	*out_errors = atomic_exchange_explicit(&s->win_errors, 0, memory_order_relaxed);
	for (int i = 0; i < AGT_FINE_BUCKETS; i++)
		fine[i] = atomic_exchange_explicit(&s->fine[i], 0, memory_order_relaxed);
	*out_p99_ms = agt_stats_p99(fine);
}

/* One family at a time: the exposition format wants every sample of a
 * family in one group right after its HELP and TYPE lines, so the module
 * list is walked once per family. */
static bool prom_counters(struct buf *b, const char *name, bool errors)
{
	bool ok = true;

	for (struct agt_stats *s = stats_head; ok && s != NULL; s = s->next)
		ok = buf_printf(b, "%s{tenant=\"%s\",module=\"%s\"} %llu\n", name, s->tenant,
				s->module,
				(unsigned long long)atomic_load(errors ? &s->errors : &s->requests));
	return ok;
}

static bool prom_histogram(struct buf *b, const struct agt_stats *s)
{
	const char *t = s->tenant, *m = s->module;
	uint64_t cum = 0;
	bool ok = true;

	for (int i = 0; ok && i < AGT_PROM_BUCKETS; i++) {
		cum += atomic_load(&s->prom[i]);
		ok = buf_printf(b,
				"edge_agent_request_seconds_bucket{tenant=\"%s\",module=\"%s\",le=\"%g\"} %llu\n",
				t, m, prom_bounds[i], (unsigned long long)cum);
	}
	cum += atomic_load(&s->prom[AGT_PROM_BUCKETS]);
	ok = ok && buf_printf(b,
			      "edge_agent_request_seconds_bucket{tenant=\"%s\",module=\"%s\",le=\"+Inf\"} %llu\n",
			      t, m, (unsigned long long)cum);
	ok = ok && buf_printf(b, "edge_agent_request_seconds_sum{tenant=\"%s\",module=\"%s\"} %.6f\n",
			      t, m, (double)atomic_load(&s->lat_sum_us) / 1e6);
	ok = ok && buf_printf(b, "edge_agent_request_seconds_count{tenant=\"%s\",module=\"%s\"} %llu\n",
			      t, m, (unsigned long long)cum);
	return ok;
}

bool agt_stats_prometheus(struct buf *b)
{
	bool ok;

	pthread_mutex_lock(&stats_lock);
	ok = buf_puts(b, "# HELP edge_agent_requests_total Edge requests per module.\n"
			 "# TYPE edge_agent_requests_total counter\n");
	ok = ok && prom_counters(b, "edge_agent_requests_total", false);
	ok = ok && buf_puts(b, "# HELP edge_agent_errors_total Edge requests that ended in a 5xx.\n"
			       "# TYPE edge_agent_errors_total counter\n");
	ok = ok && prom_counters(b, "edge_agent_errors_total", true);
	ok = ok && buf_puts(b, "# HELP edge_agent_request_seconds Edge request latency per module.\n"
			       "# TYPE edge_agent_request_seconds histogram\n");
	for (struct agt_stats *s = stats_head; ok && s != NULL; s = s->next)
		ok = prom_histogram(b, s);
	pthread_mutex_unlock(&stats_lock);
	return ok;
}

void agt_stats_shutdown(void)
{
	pthread_mutex_lock(&stats_lock);
	while (stats_head != NULL) {
		struct agt_stats *n = stats_head->next;
		free(stats_head);
		stats_head = n;
	}
	pthread_mutex_unlock(&stats_lock);
}
