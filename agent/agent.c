/* agent/agent.c: the agent object's life cycle and the wake-ups between its threads. */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cache.h"
#include "agent/fetch.h"
#include "agent/routes.h"
#include "common/log.h"

int agt_init(struct agt *a, char *err, size_t errlen)
{
	size_t line = 0;
	char why[256];

	clock_gettime(CLOCK_MONOTONIC, &a->started);
	a->generation = -1;
	if (sign_trust_load(a->cfg.trusted_keys, &a->trust, &line, why, sizeof(why)) != SIGN_OK) {
		snprintf(err, errlen, "EDGE_AGENT_TRUSTED_KEYS %s: %s", a->cfg.trusted_keys, why);
		return -1;
	}
	if (sign_trust_count(a->trust) == 0) {
		snprintf(err, errlen, "EDGE_AGENT_TRUSTED_KEYS %s holds no key", a->cfg.trusted_keys);
		return -1;
	}
	if (agt_cache_init(a->cfg.state_dir, err, errlen) != 0)
		return -1;
	if (pthread_mutex_init(&a->lock, NULL) != 0 || pthread_cond_init(&a->sync_cond, NULL) != 0 ||
	    pthread_cond_init(&a->report_cond, NULL) != 0) {
		snprintf(err, errlen, "cannot create locks");
		return -1;
	}
	return 0;
}

void agt_destroy(struct agt *a)
{
	agt_routes_publish(NULL);
	for (size_t i = 0; i < a->n_active; i++)
		agt_module_unref(a->active[i]);
	free(a->active);
	a->active = NULL;
	a->n_active = 0;
	free(a->statuses);
	a->statuses = NULL;
	sign_trust_destroy(a->trust);
	a->trust = NULL;
	pthread_cond_destroy(&a->sync_cond);
	pthread_cond_destroy(&a->report_cond);
	pthread_mutex_destroy(&a->lock);
}

void agt_kick_sync(struct agt *a)
{
	pthread_mutex_lock(&a->lock);
	a->sync_kick = true;
	pthread_cond_signal(&a->sync_cond);
	pthread_mutex_unlock(&a->lock);
}

void agt_kick_report(struct agt *a)
{
	pthread_mutex_lock(&a->lock);
	a->report_kick = true;
	pthread_cond_signal(&a->report_cond);
	pthread_mutex_unlock(&a->lock);
}

void agt_request_trust_reload(struct agt *a)
{
	pthread_mutex_lock(&a->lock);
	a->reload_trust = true;
	a->sync_kick = true;
	pthread_cond_signal(&a->sync_cond);
	pthread_mutex_unlock(&a->lock);
}

int agt_trust_reload(struct agt *a)
{
	sign_trust *t = NULL;
	size_t line = 0;
	char why[256];

	if (sign_trust_load(a->cfg.trusted_keys, &t, &line, why, sizeof(why)) != SIGN_OK) {
		log_error("trust file %s not reloaded (%s): the previous keys stay in force",
			  a->cfg.trusted_keys, why);
		return -1;
	}
	if (sign_trust_count(t) == 0) {
		log_error("trust file %s holds no key: not reloaded, the previous keys stay in force",
			  a->cfg.trusted_keys);
		sign_trust_destroy(t);
		return -1;
	}
	/* Only the applying thread reads a->trust, and this is that thread: no lock needed. */
	sign_trust_destroy(a->trust);
	a->trust = t;
	a->reverify = true;
	pthread_mutex_lock(&a->lock);
	a->retry_pending = true; /* apply the current generation again, with the new keys */
	pthread_mutex_unlock(&a->lock);
	log_info("trust file %s reloaded: %zu keys", a->cfg.trusted_keys, sign_trust_count(t));
	return 0;
}

void agt_request_stop(struct agt *a)
{
	agt_fetch_abort_all();
	pthread_mutex_lock(&a->lock);
	a->stop = true;
	pthread_cond_broadcast(&a->sync_cond);
	pthread_cond_broadcast(&a->report_cond);
	pthread_mutex_unlock(&a->lock);
}

double agt_uptime(const struct agt *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - a->started.tv_sec) +
	       (double)(now.tv_nsec - a->started.tv_nsec) / 1e9;
}
