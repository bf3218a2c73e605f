/* agent/admin.c: the admin listener (EDGE_AGENT_ADMIN_LISTEN): /healthz for liveness and the
 * applied state at a glance, /metrics in Prometheus text (per-module requests, errors and latency
 * histograms, applied generation, last sync). Kept apart from the edge listener so that a flood
 * of edge traffic cannot hide the agent's health. */
#include "agent/agent.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/httpd.h"
#include "agent/routes.h"
#include "agent/stats.h"
#include "common/buf.h"
#include "common/log.h"

static struct MHD_Daemon *admin_daemon;

/* A consistent copy of the fields the admin pages show. */
struct snap {
	char pop[64];
	int64_t generation;
	time_t last_sync;
	bool redis_up;
	uint64_t doorbells;
	size_t n_modules, n_failed;
	size_t n_routes;
};

static void take_snap(struct agt *a, struct snap *s)
{
	struct agt_table *t = agt_routes_acquire();

	pthread_mutex_lock(&a->lock);
	snprintf(s->pop, sizeof(s->pop), "%s", a->pop);
	s->generation = a->generation;
	s->last_sync = a->last_sync;
	s->redis_up = a->redis_up;
	s->doorbells = a->doorbells;
	s->n_modules = a->n_statuses;
	s->n_failed = 0;
	for (size_t i = 0; i < a->n_statuses; i++)
		s->n_failed += a->statuses[i].failed;
	pthread_mutex_unlock(&a->lock);
	s->n_routes = t ? t->n : 0;
	agt_table_unref(t);
}

static char *healthz_body(struct agt *a)
{
	struct snap s;
	json_t *mods = json_array(), *j;
	char *text;

	take_snap(a, &s);
	if (mods == NULL)
		return NULL;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->n_statuses; i++) {
		const struct agt_status *st = &a->statuses[i];
		json_array_append_new(mods, json_pack("{s:s,s:s,s:I,s:s,s:s?}", "tenant", st->tenant,
						      "module", st->module, "version",
						      (json_int_t)st->version, "state",
						      st->failed ? "failed" : "active", "error",
						      st->failed ? st->error : NULL));
	}
	pthread_mutex_unlock(&a->lock);
	j = json_pack("{s:s,s:s,s:s,s:I,s:I,s:b,s:I,s:I,s:f,s:o}", "status", "ok", "version",
		      AGT_VERSION, "pop", s.pop, "generation", (json_int_t)s.generation,
		      "last_sync", (json_int_t)s.last_sync, "redis_connected", s.redis_up,
		      "doorbells", (json_int_t)s.doorbells,
		      "routes", (json_int_t)s.n_routes, "uptime_seconds", agt_uptime(a), "modules",
		      mods);
	text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
	json_decref(j);
	return text;
}

static bool metrics_body(struct agt *a, struct buf *b)
{
	struct snap s;
	bool ok;

	take_snap(a, &s);
	ok = buf_printf(b,
			"# HELP edge_agent_generation Applied desired-state generation (-1: none).\n"
			"# TYPE edge_agent_generation gauge\n"
			"edge_agent_generation %lld\n"
			"# HELP edge_agent_last_sync_timestamp_seconds Last successful pull of the desired state.\n"
			"# TYPE edge_agent_last_sync_timestamp_seconds gauge\n"
			"edge_agent_last_sync_timestamp_seconds %lld\n"
			"# HELP edge_agent_modules Modules of the desired state, by state.\n"
			"# TYPE edge_agent_modules gauge\n"
			"edge_agent_modules{state=\"active\"} %zu\n"
			"edge_agent_modules{state=\"failed\"} %zu\n"
			"# HELP edge_agent_routes Routes being served.\n"
			"# TYPE edge_agent_routes gauge\n"
			"edge_agent_routes %zu\n"
			"# HELP edge_agent_redis_connected 1 when the doorbell subscription is up.\n"
			"# TYPE edge_agent_redis_connected gauge\n"
			"edge_agent_redis_connected %d\n"
			"# HELP edge_agent_doorbells_total Doorbell messages received from Redis.\n"
			"# TYPE edge_agent_doorbells_total counter\n"
			"edge_agent_doorbells_total %llu\n"
			"# HELP edge_agent_uptime_seconds Seconds since start.\n"
			"# TYPE edge_agent_uptime_seconds gauge\n"
			"edge_agent_uptime_seconds %.3f\n",
			(long long)s.generation, (long long)s.last_sync, s.n_modules - s.n_failed,
			s.n_failed, s.n_routes, s.redis_up ? 1 : 0,
			(unsigned long long)s.doorbells, agt_uptime(a));
	return ok && agt_stats_prometheus(b);
}

static enum MHD_Result on_admin(void *cls, struct MHD_Connection *c, const char *url,
				const char *method, const char *version, const char *data,
				size_t *data_size, void **req_cls)
{
	struct agt *a = cls;
	static int first_marker;
	char rid[33];
	enum MHD_Result ret;

	(void)version;
	(void)data;
	if (*req_cls == NULL) {
		*req_cls = &first_marker;
		return MHD_YES;
	}
	if (*data_size > 0) {
		*data_size = 0; /* no admin endpoint takes a body */
		return MHD_YES;
	}
	agt_request_id(rid);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return agt_httpd_reply(c, 405, "text/plain", "method not allowed\n", 19, rid);
	if (strcmp(url, "/healthz") == 0) {
		char *body = healthz_body(a);
		if (body == NULL)
			return agt_httpd_reply(c, 500, "text/plain", "out of memory\n", 14, rid);
		ret = agt_httpd_reply(c, 200, "application/json", body, strlen(body), rid);
		free(body);
		return ret;
	}
	if (strcmp(url, "/metrics") == 0) {
		struct buf b = {0};
		if (!metrics_body(a, &b)) {
			buf_free(&b);
			return agt_httpd_reply(c, 500, "text/plain", "out of memory\n", 14, rid);
		}
		ret = agt_httpd_reply(c, 200, "text/plain; version=0.0.4", b.data, b.len, rid);
		buf_free(&b);
		return ret;
	}
	return agt_httpd_reply(c, 404, "text/plain", "not found\n", 10, rid);
}

int agt_admin_start(struct agt *a, char *err, size_t errlen)
{
	admin_daemon = agt_httpd_start(a->cfg.admin_listen, 1, on_admin, a, NULL, NULL, NULL, err,
				       errlen);
	if (admin_daemon == NULL)
		return -1;
	log_info("admin listener on %s (port %u)", a->cfg.admin_listen,
		 agt_httpd_port(admin_daemon));
	return 0;
}

void agt_admin_stop(void)
{
	if (admin_daemon != NULL)
		MHD_stop_daemon(admin_daemon);
	admin_daemon = NULL;
}
