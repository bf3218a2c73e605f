/* agent/apply.c: turns a desired state into the serving route table. Each module is kept,
 * activated or, when activation fails, left at its previous version; only then is the new table
 * published in one swap, so a request sees either the old set or the new one. */
#include "agent/agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cache.h"
#include "agent/routes.h"
#include "common/log.h"

/* Unused blobs kept in the cache beyond what serves, so recent rollbacks need no fetch. */
#define AGT_CACHE_SPARE 16

static struct agt_module *find_active(struct agt_module **list, size_t n, const char *tenant,
				      const char *module)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i]->tenant, tenant) == 0 && strcmp(list[i]->name, module) == 0)
			return list[i];
	return NULL;
}

/* The state to persist: the desired document with each module entry replaced by what actually
 * serves (the previous version when the new one failed, nothing when there is none). */
static struct agt_desired *applied_view(const struct agt_desired *d, struct agt_module **mods,
					size_t n)
{
	struct agt_desired *v = calloc(1, sizeof(*v));
	bool bad = v == NULL;

	if (bad)
		return NULL;
	v->generation = d->generation;
	v->pop = strdup(d->pop);
	v->modules = calloc(n + 1, sizeof(*v->modules));
	v->routes = calloc(d->n_routes + 1, sizeof(*v->routes));
	bad = v->pop == NULL || v->modules == NULL || v->routes == NULL;
	for (size_t i = 0; !bad && i < n; i++) {
		struct agt_desired_module *m = &v->modules[i];
		v->n_modules = i + 1;
		m->version = mods[i]->version;
		m->size = mods[i]->size;
		m->tenant = strdup(mods[i]->tenant);
		m->module = strdup(mods[i]->name);
		m->digest = strdup(mods[i]->digest);
		m->manifest = strdup(mods[i]->manifest);
		m->signature = strdup(mods[i]->signature);
		m->blob_url = strdup(mods[i]->blob_url);
		bad = !m->tenant || !m->module || !m->digest || !m->manifest || !m->signature ||
		      !m->blob_url;
	}
	for (size_t i = 0; !bad && i < d->n_routes; i++) {
		struct agt_desired_route *r = &v->routes[i];
		v->n_routes = i + 1;
		r->tenant = strdup(d->routes[i].tenant);
		r->host = strdup(d->routes[i].host);
		r->path = strdup(d->routes[i].path);
		r->module = strdup(d->routes[i].module);
		bad = !r->tenant || !r->host || !r->path || !r->module;
	}
	if (bad) {
		agt_desired_free(v);
		return NULL;
	}
	return v;
}

/* Drops cache files that neither the serving modules nor the desired state need (keeping a few
 * recent ones for quick rollbacks). Only after the state file names what serves, so a crash in
 * between never leaves the saved state pointing at a deleted blob. */
static void collect_cache(const struct agt_desired *d, struct agt_module **mods, size_t n)
{
	const char **keep = calloc(d->n_modules + n + 1, sizeof(*keep));
	size_t k = 0;
	int removed;

	if (keep == NULL)
		return; /* out of memory: nothing is lost by collecting next time */
	for (size_t i = 0; i < n; i++)
		keep[k++] = mods[i]->digest;
	for (size_t i = 0; i < d->n_modules; i++)
		keep[k++] = d->modules[i].digest;
	removed = agt_cache_gc(keep, k, AGT_CACHE_SPARE);
	if (removed > 0)
		log_info("cache: removed %d unused files", removed);
	else if (removed < 0)
		log_warn("cache: cannot list the folder: %s", strerror(-removed));
	free(keep);
}

/* After a trust reload: is the signature of an active module still from a trusted key? */
static bool still_trusted(struct agt *a, const struct agt_module *m, char *err, size_t errlen)
{
	struct sign_manifest man;
	char why[200];

	if (sign_verify_text(a->trust, m->manifest, strlen(m->manifest), m->signature, &man, why,
			     sizeof(why)) == SIGN_OK)
		return true;
	snprintf(err, errlen, "signature rejected: %s", why);
	return false;
}

int agt_apply(struct agt *a, const struct agt_desired *d, bool from_disk)
{
	struct agt_module **next = calloc(d->n_modules + 1, sizeof(*next));
	struct agt_status *st = calloc(d->n_modules + 1, sizeof(*st));
	struct agt_table *t = agt_table_create(d->generation);
	struct agt_desired *view;
	size_t n = 0;
	int failed = 0;
	bool transient_any = false;
	char err[256];

	if (next == NULL || st == NULL || t == NULL) {
		log_error("apply generation %lld: out of memory", (long long)d->generation);
		free(next);
		free(st);
		agt_table_unref(t);
		return (int)d->n_modules;
	}
	for (size_t i = 0; i < d->n_modules; i++) {
		const struct agt_desired_module *dm = &d->modules[i];
		struct agt_module *cur = find_active(a->active, a->n_active, dm->tenant, dm->module);
		struct agt_module *m = NULL;
		bool transient = false;

		snprintf(st[i].tenant, sizeof(st[i].tenant), "%s", dm->tenant);
		snprintf(st[i].module, sizeof(st[i].module), "%s", dm->module);
		st[i].version = dm->version;
		if (cur != NULL && cur->version == dm->version && strcmp(cur->digest, dm->digest) == 0) {
			if (!a->reverify || still_trusted(a, cur, err, sizeof(err))) {
				next[n++] = agt_module_ref(cur);
				continue;
			}
			/* The key that vouched for it left the trust set: it stops serving. */
			failed++;
			st[i].failed = true;
			snprintf(st[i].error, sizeof(st[i].error), "%s", err);
			log_warn("module %s/%s@%lld no longer trusted: %s", dm->tenant, dm->module,
				 (long long)dm->version, err);
			continue;
		}
		if (agt_activate(a, dm, from_disk, &m, &transient, err, sizeof(err)) == 0) {
			log_info("activated %s/%s@%lld (%s)", dm->tenant, dm->module,
				 (long long)dm->version, dm->digest);
			next[n++] = m;
			continue;
		}
		failed++;
		transient_any = transient_any || transient;
		st[i].failed = true;
		st[i].transient = transient;
		snprintf(st[i].error, sizeof(st[i].error), "%s", err);
		log_warn("module %s/%s@%lld failed: %s%s", dm->tenant, dm->module,
			 (long long)dm->version, err,
			 cur != NULL ? " (the previous version keeps serving)" : "");
		/* Static stability: whatever served before keeps serving. */
		if (cur != NULL)
			next[n++] = agt_module_ref(cur);
	}
	snprintf(t->pop, sizeof(t->pop), "%s", d->pop);
	for (size_t i = 0; i < d->n_routes; i++) {
		const struct agt_desired_route *r = &d->routes[i];
		struct agt_module *m = find_active(next, n, r->tenant, r->module);

		if (m == NULL) {
			log_debug("route %s%s: module %s/%s is not active here", r->host, r->path,
				  r->tenant, r->module);
			continue;
		}
		if (agt_table_add(t, r->host, r->path, m, err, sizeof(err)) != 0)
			log_warn("route %s%s skipped: %s", r->host, r->path, err);
	}
	agt_routes_publish(t);
	for (size_t i = 0; i < a->n_active; i++)
		agt_module_unref(a->active[i]);
	free(a->active);
	a->active = next;
	a->n_active = n;

	if (!from_disk) {
		view = applied_view(d, next, n);
		if (view == NULL || agt_state_save(a, view) != 0)
			log_error("generation %lld applied but not persisted", (long long)d->generation);
		agt_desired_free(view);
		collect_cache(d, next, n);
	}
	pthread_mutex_lock(&a->lock);
	if (strcmp(a->pop, d->pop) != 0) {
		snprintf(a->pop, sizeof(a->pop), "%s", d->pop);
		a->pop_epoch++;
	}
	a->generation = d->generation;
	a->retry_pending = transient_any;
	a->reverify = false;
	free(a->statuses);
	a->statuses = st;
	a->n_statuses = d->n_modules;
	pthread_mutex_unlock(&a->lock);
	log_info("applied generation %lld: %zu modules active, %d failed, %zu routes",
		 (long long)d->generation, n, failed, t->n);
	agt_kick_report(a);
	return failed;
}
