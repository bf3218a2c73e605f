/* agent/report.c: observed state to the control plane (DESIGN.md "Wire formats"): after every
 * change and as a heartbeat every EDGE_AGENT_HEARTBEAT_SECONDS, with per-module request and
 * error counts since the previous report and their p99, which the scheduler's error-rate gate
 * reads. A report that cannot be delivered gives its counts back to the next one. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fetch.h"
#include "agent/stats.h"
#include "common/buf.h"
#include "common/log.h"

#define REPORT_TIMEOUT_MS 10000L

struct drained {
	struct agt_stats *s;
	uint64_t requests, errors;
};

/* Builds the body and remembers what was drained (so a failed POST can give it back). */
static char *build(struct agt *a, struct drained **out_dr, size_t *out_n)
{
	struct agt_status *st;
	struct drained *dr;
	size_t n;
	int64_t gen;
	json_t *mods, *root;
	char *text;

	*out_dr = NULL;
	*out_n = 0;
	pthread_mutex_lock(&a->lock);
	n = a->n_statuses;
	st = malloc((n + 1) * sizeof(*st));
	if (st != NULL && n > 0)
		memcpy(st, a->statuses, n * sizeof(*st));
	gen = a->generation;
	pthread_mutex_unlock(&a->lock);
	dr = calloc(n + 1, sizeof(*dr));
	mods = json_array();
	if (st == NULL || dr == NULL || mods == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		double p99 = 0;
		json_t *o;

		dr[i].s = agt_stats_get(st[i].tenant, st[i].module);
		if (dr[i].s != NULL)
			agt_stats_drain(dr[i].s, &dr[i].requests, &dr[i].errors, &p99);
		*out_n = i + 1;
		o = json_pack("{s:s,s:s,s:I,s:s,s:s?,s:I,s:I,s:f}", "tenant", st[i].tenant, "module",
			      st[i].module, "version", (json_int_t)st[i].version, "state",
			      st[i].failed ? "failed" : "active", "error",
			      st[i].failed ? st[i].error : NULL, "requests",
			      (json_int_t)dr[i].requests, "errors", (json_int_t)dr[i].errors,
			      "p99_ms", p99);
		if (o == NULL || json_array_append_new(mods, o) != 0)
			goto nomem;
	}
	root = json_pack("{s:I,s:{s:s,s:I},s:O}", "generation", (json_int_t)(gen < 0 ? 0 : gen),
			 "agent", "version", AGT_VERSION, "uptime_seconds",
			 (json_int_t)agt_uptime(a), "modules", mods);
	text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	json_decref(mods);
	free(st);
	if (text == NULL) {
		*out_dr = dr;
		return NULL;
	}
	*out_dr = dr;
	return text;
nomem:
	json_decref(mods);
	free(st);
	*out_dr = dr;
	return NULL;
}

static void give_back(struct drained *dr, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (dr[i].s == NULL)
			continue;
		atomic_fetch_add_explicit(&dr[i].s->win_requests, dr[i].requests, memory_order_relaxed);
		atomic_fetch_add_explicit(&dr[i].s->win_errors, dr[i].errors, memory_order_relaxed);
	}
}

char *agt_report_body(struct agt *a)
{
	struct drained *dr;
	size_t n;
	char *text = build(a, &dr, &n);

	free(dr);
	return text;
}

/* One report; returns 0 when delivered. */
static int report_once(struct agt *a, bool *was_failing)
{
	char url[600], err[256];
	struct buf resp = {0};
	struct drained *dr = NULL;
	size_t n = 0;
	long status = 0;
	char *body = build(a, &dr, &n);
	int rc;

	if (body == NULL) {
		give_back(dr, n);
		free(dr);
		log_error("cannot build the report: out of memory");
		return -1;
	}
	snprintf(url, sizeof(url), "%s/v1/agent/report", a->cfg.control_plane);
	rc = agt_http("POST", url, a->cfg.token, body, 1u << 20, REPORT_TIMEOUT_MS, &status, &resp,
		      err, sizeof(err));
	free(body);
	if (rc != 0 || status < 200 || status > 299) {
		give_back(dr, n);
		if (!*was_failing) {
			if (rc != 0)
				log_warn("report not delivered: %s", err);
			else
				log_warn("report refused: HTTP %ld: %.200s", status, resp.data ? resp.data : "");
		}
		*was_failing = true;
		free(dr);
		buf_free(&resp);
		return -1;
	}
	*was_failing = false;
	free(dr);
	/* The answer names the latest desired generation: a missed doorbell shows here. */
	json_t *j = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
	json_t *g = json_object_get(j, "generation");
	if (json_is_integer(g)) {
		pthread_mutex_lock(&a->lock);
		bool newer = json_integer_value(g) > a->generation;
		pthread_mutex_unlock(&a->lock);
		if (newer)
			agt_kick_sync(a);
	}
	json_decref(j);
	buf_free(&resp);
	return 0;
}

void *agt_report_main(void *arg)
{
	struct agt *a = arg;
	bool failing = false;

	for (;;) {
		struct timespec until;

		pthread_mutex_lock(&a->lock);
		a->report_kick = false;
		bool stop = a->stop;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		report_once(a, &failing);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += a->cfg.heartbeat_seconds;
		pthread_mutex_lock(&a->lock);
		while (!a->report_kick && !a->stop)
			if (pthread_cond_timedwait(&a->report_cond, &a->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}
