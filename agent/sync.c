/* agent/sync.c: the pull side of the sync loop. The desired state is pulled on start, whenever
 * the doorbell rings or a report answer shows a newer generation, on every Redis reconnect and
 * every EDGE_AGENT_POLL_SECONDS; only a newer generation is applied. While the control plane is
 * unreachable the loop retries with jittered backoff and the PoP keeps serving what it has. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/fetch.h"
#include "common/buf.h"
#include "common/log.h"

#define DESIRED_MAX_BYTES (64u << 20)
#define DESIRED_TIMEOUT_MS 15000L

/* Pulls once; returns 0 when the control plane answered with a valid desired state. */
static int pull_once(struct agt *a, bool *was_down)
{
	char url[600], err[256];
	struct buf body = {0};
	struct agt_desired *d = NULL;
	long status = 0;
	int64_t applied;
	bool retry;
	int rc;

	snprintf(url, sizeof(url), "%s/v1/agent/desired", a->cfg.control_plane);
	rc = agt_http("GET", url, a->cfg.token, NULL, DESIRED_MAX_BYTES, DESIRED_TIMEOUT_MS,
		      &status, &body, err, sizeof(err));
	if (rc != 0 || status != 200) {
		if (!*was_down) {
			if (rc != 0)
				log_warn("cannot pull the desired state: %s (serving what we have)", err);
			else
				log_warn("desired state: HTTP %ld: %.200s", status, body.data ? body.data : "");
		}
		*was_down = true;
		buf_free(&body);
		return -1;
	}
	if (*was_down)
		log_info("control plane reachable again");
	*was_down = false;
	rc = agt_desired_parse(body.data, body.len, &d, err, sizeof(err));
	buf_free(&body);
	if (rc != 0) {
		log_error("the control plane sent an invalid desired state: %s", err);
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	a->last_sync = time(NULL);
	applied = a->generation;
	retry = a->retry_pending;
	if (strcmp(a->pop, d->pop) != 0) {
		snprintf(a->pop, sizeof(a->pop), "%s", d->pop);
		a->pop_epoch++;
	}
	pthread_mutex_unlock(&a->lock);
	if (d->generation > applied || (d->generation == applied && retry)) {
		log_info("desired generation %lld (applied %lld): applying", (long long)d->generation,
			 (long long)applied);
		agt_apply(a, d, false);
	} else if (d->generation < applied) {
		log_warn("desired generation %lld is older than the applied %lld: ignored",
			 (long long)d->generation, (long long)applied);
	}
	agt_desired_free(d);
	return 0;
}

void *agt_sync_main(void *arg)
{
	struct agt *a = arg;
	bool down = false;
	int failures = 0;

	for (;;) {
		struct timespec until;
		long wait_ms;

		pthread_mutex_lock(&a->lock);
		a->sync_kick = false;
		bool stop = a->stop, reload = a->reload_trust;
		a->reload_trust = false;
		pthread_mutex_unlock(&a->lock);
		if (stop)
			break;
		/* Here, in the applying thread, so that no activation runs against a half-replaced
		 * trust set; the pull below then re-applies the current generation. */
		if (reload)
			agt_trust_reload(a);
		if (pull_once(a, &down) == 0) {
			failures = 0;
			wait_ms = (long)a->cfg.poll_seconds * 1000L;
		} else {
			/* Come back sooner than the poll period while the control plane is away, so the
			 * PoP converges soon after it returns. */
			wait_ms = agt_backoff_ms(failures < 16 ? failures : 16, 1000,
						 (long)a->cfg.poll_seconds * 1000L);
			failures++;
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&a->lock);
		while (!a->sync_kick && !a->stop)
			if (pthread_cond_timedwait(&a->sync_cond, &a->lock, &until) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}
