/* api/metrics.c: Prometheus text exposition at /metrics: requests by method, route template
 * and status; a latency histogram per route; the database pool's connections in use and idle;
 * requests in flight. Counters live in a list guarded by one mutex (a handful of routes). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_le[API_HIST_BUCKETS] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
};

void api__metrics_record(struct api_server *s, const char *method, const char *route,
			 unsigned status, double seconds)
{
	struct api_metric *m;

	pthread_mutex_lock(&s->metrics_mu);
	for (m = s->metrics; m != NULL; m = m->next)
		if (strcmp(m->route, route) == 0 && strcmp(m->method, method) == 0)
			break;
	if (m == NULL) {
		m = calloc(1, sizeof *m);
		if (m != NULL) {
			m->method = strdup(method);
			m->route = strdup(route);
			if (m->method == NULL || m->route == NULL) {
				free(m->method);
				free(m->route);
				free(m);
				m = NULL;
			} else {
				m->next = s->metrics;
				s->metrics = m;
			}
		}
	}
	if (m != NULL) {
		if (status >= 100 && status < 600)
			m->by_status[status / 100][status % 100]++;
		int b = 0;
		while (b < API_HIST_BUCKETS && seconds > bucket_le[b])
			b++;
		m->hist[b]++;
		m->sum_seconds += seconds;
		m->count++;
	}
	pthread_mutex_unlock(&s->metrics_mu);
}

void api__metrics_free(struct api_server *s)
{
	struct api_metric *m = s->metrics, *next;

	for (; m != NULL; m = next) {
		next = m->next;
		free(m->method);
		free(m->route);
		free(m);
	}
	s->metrics = NULL;
}

/* Route templates and methods come from our own tables, so they need no label escaping
 * beyond what Prometheus requires for '"' and '\\', which they never contain. */
static void handle_metrics(struct api_req *req)
{
	struct api_server *s = req->srv;
	struct buf b = {0};
	unsigned in_use = 0, idle = 0, size = 0;
	bool ok = true;

	ok &= buf_puts(&b, "# HELP edgeplane_http_requests_total HTTP requests by method, route template and status.\n"
			   "# TYPE edgeplane_http_requests_total counter\n");
	pthread_mutex_lock(&s->metrics_mu);
	for (struct api_metric *m = s->metrics; m != NULL; m = m->next)
		for (int c = 1; c < 6; c++)
			for (int d = 0; d < 100; d++)
				if (m->by_status[c][d] > 0)
					ok &= buf_printf(&b, "edgeplane_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
							 m->method, m->route, c * 100 + d, m->by_status[c][d]);
	ok &= buf_puts(&b, "# HELP edgeplane_http_request_duration_seconds Time from the first byte of a request to the end of its answer.\n"
			   "# TYPE edgeplane_http_request_duration_seconds histogram\n");
	for (struct api_metric *m = s->metrics; m != NULL; m = m->next) {
		unsigned long long cum = 0;
		for (int i = 0; i < API_HIST_BUCKETS; i++) {
			cum += m->hist[i];
			ok &= buf_printf(&b, "edgeplane_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
					 m->method, m->route, bucket_le[i], cum);
		}
		cum += m->hist[API_HIST_BUCKETS];
		ok &= buf_printf(&b, "edgeplane_http_request_duration_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
				     "edgeplane_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
				     "edgeplane_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
				 m->method, m->route, cum, m->method, m->route, m->sum_seconds,
				 m->method, m->route, m->count);
	}
	pthread_mutex_unlock(&s->metrics_mu);
	s->db.stats(s->db.ud, &in_use, &idle, &size);
	ok &= buf_printf(&b, "# HELP edgeplane_db_pool_connections PostgreSQL pool connections by state.\n"
			     "# TYPE edgeplane_db_pool_connections gauge\n"
			     "edgeplane_db_pool_connections{state=\"in_use\"} %u\n"
			     "edgeplane_db_pool_connections{state=\"idle\"} %u\n"
			     "# HELP edgeplane_db_pool_size Configured size of the PostgreSQL pool.\n"
			     "# TYPE edgeplane_db_pool_size gauge\n"
			     "edgeplane_db_pool_size %u\n"
			     "# HELP edgeplane_http_requests_in_flight Requests being handled now.\n"
			     "# TYPE edgeplane_http_requests_in_flight gauge\n"
			     "edgeplane_http_requests_in_flight %d\n"
			     "# HELP edgeplane_start_time_seconds Start time of the process since the epoch.\n"
			     "# TYPE edgeplane_start_time_seconds gauge\n"
			     "edgeplane_start_time_seconds %lld\n",
			 in_use, idle, size, atomic_load(&s->inflight), (long long)s->started);
	if (!ok) {
		buf_free(&b);
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	size_t len = b.len;
	api_reply_bytes_take(req, 200, "text/plain; version=0.0.4; charset=utf-8", buf_steal(&b), len);
}

static const struct api_route metrics_routes[] = {
	{"GET", "/metrics", API_PUBLIC, handle_metrics, API_F_NO_DB},
};

void api__metrics_register(struct api_router *r)
{
	API_ADD_TABLE(r, metrics_routes);
}
