/* scheduler/planner.c: the pure rollout state machine (see planner.h). One step applies an
 * operator action, then advances the current wave as far as the agents' observations allow:
 * start a wave (switch its PoPs), wait for activation, bake, pass, start the next one. A
 * failed gate pauses the deployment or, with auto_rollback, returns the touched PoPs to the
 * previous version. Times are milliseconds since the epoch, supplied by the caller. */
#include "scheduler/planner.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Summary of one PoP against the target version, from its fresh agents. */
struct pop_eval {
	bool stale;      /* no agent reported within 3 heartbeats */
	bool active;     /* every fresh agent reports the target active */
	bool failed;     /* some fresh agent reports the target failed */
	const char *error;
	int64_t requests; /* cumulative totals over the fresh agents */
	int64_t errors;
};

static int add_event(struct sch_plan *out, int64_t now, const char *type, int wave,
		     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool agent_fresh(const struct sch_agent_obs *a, int64_t now, const struct sch_config *cfg);
static void eval_pop(const struct sch_pop *p, int64_t now, const struct sch_config *cfg,
		     struct pop_eval *ev);
static size_t select_wave(const struct sch_deployment *d, struct sch_pop *pops, size_t npops,
			  int w);
static int set_desired(struct sch_pop *p, int version);
static int fail_gate(struct sch_deployment *d, struct sch_pop *pops, size_t npops, int64_t now,
		     struct sch_plan *out, const char *reason);
static int return_touched(struct sch_deployment *d, struct sch_pop *pops, size_t npops);
static int advance(struct sch_deployment *d, struct sch_pop *pops, size_t npops, int64_t now,
		   const struct sch_config *cfg, struct sch_plan *out);
static void list_pops(const struct sch_pop *pops, size_t npops, int w, char *dst, size_t len);

static const char *const dep_names[] = {"pending",   "running", "paused",     "succeeded",
					"failed",    "aborted", "rolled_back"};
static const char *const wave_names[] = {"pending", "activating", "baking", "passed", "failed"};
static const char *const pop_names[] = {"pending", "active", "failed", "stale"};
static const char *const action_names[] = {"tick", "pause", "resume", "promote", "abort"};

const char *sch_dep_state_name(enum sch_dep_state s) { return dep_names[s]; }
const char *sch_wave_state_name(enum sch_wave_state s) { return wave_names[s]; }
const char *sch_pop_state_name(enum sch_pop_state s) { return pop_names[s]; }
const char *sch_action_name(enum sch_action a) { return action_names[a]; }

int sch_dep_state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof dep_names / sizeof dep_names[0]; i++)
		if (strcmp(s, dep_names[i]) == 0)
			return (int)i;
	return -1;
}

int sch_wave_state_parse(const char *s)
{
	for (size_t i = 0; i < sizeof wave_names / sizeof wave_names[0]; i++)
		if (strcmp(s, wave_names[i]) == 0)
			return (int)i;
	return -1;
}

bool sch_dep_state_is_terminal(enum sch_dep_state s)
{
	return s == SCH_DEP_SUCCEEDED || s == SCH_DEP_FAILED || s == SCH_DEP_ABORTED ||
	       s == SCH_DEP_ROLLED_BACK;
}

uint64_t sch_pop_rank(const char *deployment_id, const char *pop_name)
{
	/* FNV-1a 64 over "id\0name": stable across processes and versions, spread enough for
	 * picking a fair sample of PoPs. */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)deployment_id; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = (h ^ 0) * 0x100000001b3ULL;
	for (const unsigned char *p = (const unsigned char *)pop_name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}

void sch_plan_free(struct sch_plan *p)
{
	if (p == NULL)
		return;
	free(p->events);
	memset(p, 0, sizeof *p);
}

static int add_event(struct sch_plan *out, int64_t now, const char *type, int wave,
		     const char *fmt, ...)
{
	struct sch_event *e;
	va_list ap;

	if (out->nevents == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 8;
		struct sch_event *n = realloc(out->events, cap * sizeof *n);
		if (n == NULL)
			return SCH_E_NOMEM;
		out->events = n;
		out->cap = cap;
	}
	e = &out->events[out->nevents++];
	memset(e, 0, sizeof *e);
	e->at_ms = now;
	e->wave = wave;
	snprintf(e->type, sizeof e->type, "%s", type);
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof e->detail, fmt, ap);
	va_end(ap);
	out->changed = true;
	return 0;
}

/* An agent is fresh when it reported within 3 heartbeats. An agent never heard of is not,
 * whatever the grace: it has no observation to stand on. */
static bool agent_fresh(const struct sch_agent_obs *a, int64_t now, const struct sch_config *cfg)
{
	int64_t seen = a->last_seen_ms;

	if (seen <= 0)
		return false;
	if (cfg->listening_since_ms > seen)
		seen = cfg->listening_since_ms;
	return now - seen <= 3 * cfg->heartbeat_ms;
}

bool sch_pop_is_stale(const struct sch_pop *p, int64_t now, const struct sch_config *cfg)
{
	for (size_t i = 0; i < p->nagents; i++)
		if (agent_fresh(&p->agents[i], now, cfg))
			return false;
	return true;
}

static void eval_pop(const struct sch_pop *p, int64_t now, const struct sch_config *cfg,
		     struct pop_eval *ev)
{
	size_t fresh = 0, active = 0;

	memset(ev, 0, sizeof *ev);
	for (size_t i = 0; i < p->nagents; i++) {
		const struct sch_agent_obs *a = &p->agents[i];
		if (!agent_fresh(a, now, cfg))
			continue;
		fresh++;
		if (a->target == SCH_OBS_ACTIVE)
			active++;
		if (a->target == SCH_OBS_FAILED && !ev->failed) {
			ev->failed = true;
			ev->error = a->target_error;
		}
		ev->requests += a->requests_total;
		ev->errors += a->errors_total;
	}
	ev->stale = fresh == 0;
	ev->active = fresh > 0 && active == fresh;
}

int sch_pop_observed_version(const struct sch_pop *p, int64_t now, const struct sch_config *cfg)
{
	int v = 0;

	for (size_t i = 0; i < p->nagents; i++) {
		const struct sch_agent_obs *a = &p->agents[i];
		if (!agent_fresh(a, now, cfg))
			continue;
		if (v != 0 && a->running_version != v)
			return 0;
		v = a->running_version;
	}
	if (v == 0) {
		/* Nobody fresh: show what was last seen rather than nothing. */
		int64_t best = 0;
		for (size_t i = 0; i < p->nagents; i++)
			if (p->agents[i].last_seen_ms > best) {
				best = p->agents[i].last_seen_ms;
				v = p->agents[i].running_version;
			}
	}
	return v;
}

enum sch_pop_state sch_pop_state_of(const struct sch_deployment *d, const struct sch_pop *p,
				    int64_t now, const struct sch_config *cfg)
{
	struct pop_eval ev;

	eval_pop(p, now, cfg, &ev);
	if (ev.stale)
		return SCH_POP_STALE;
	if (p->desired == d->to_version) {
		if (ev.failed)
			return SCH_POP_FAILED;
		if (ev.active)
			return SCH_POP_ACTIVE;
		return SCH_POP_PENDING;
	}
	/* Not switched (or returned): active when it runs what it should. */
	return sch_pop_observed_version(p, now, cfg) == p->desired ? SCH_POP_ACTIVE
								  : SCH_POP_PENDING;
}

static int cmp_rank(const void *a, const void *b, void *ctx)
{
	const struct sch_deployment *d = ctx;
	const struct sch_pop *x = *(const struct sch_pop *const *)a;
	const struct sch_pop *y = *(const struct sch_pop *const *)b;
	uint64_t rx = sch_pop_rank(d->id, x->name), ry = sch_pop_rank(d->id, y->name);

	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Picks wave w's PoPs among the untouched ones and marks them (pop.wave = w). Percent waves
 * are cumulative over the fleet as it is now, and take at least one PoP more than the waves
 * before; explicit waves take the named PoPs still in the fleet. Returns how many. */
static size_t select_wave(const struct sch_deployment *d, struct sch_pop *pops, size_t npops,
			  int w)
{
	const struct sch_wave_spec *ws = &d->strategy->waves[w];
	size_t taken = 0, assigned = 0, nfree = 0, target, want;
	struct sch_pop **order;

	if (ws->percent == 0) {
		for (size_t i = 0; i < npops; i++)
			for (size_t k = 0; k < ws->npops; k++)
				if (pops[i].wave < 0 && strcmp(pops[i].name, ws->pops[k]) == 0) {
					pops[i].wave = w;
					taken++;
				}
		return taken;
	}
	for (size_t i = 0; i < npops; i++) {
		if (pops[i].wave >= 0)
			assigned++;
		else
			nfree++;
	}
	if (nfree == 0)
		return 0;
	target = ((size_t)ws->percent * npops + 99) / 100;
	want = target > assigned ? target - assigned : 1;
	if (ws->percent == 100 || want > nfree)
		want = nfree;
	order = malloc(nfree * sizeof *order);
	if (order == NULL) {
		/* Without memory for sorting, fall back to fleet order: still deterministic. */
		for (size_t i = 0; i < npops && taken < want; i++)
			if (pops[i].wave < 0) {
				pops[i].wave = w;
				taken++;
			}
		return taken;
	}
	for (size_t i = 0, n = 0; i < npops; i++)
		if (pops[i].wave < 0)
			order[n++] = &pops[i];
	qsort_r(order, nfree, sizeof *order, cmp_rank, (void *)d);
	for (size_t i = 0; i < want; i++)
		order[i]->wave = w;
	free(order);
	return want;
}

void sch_plan_preview(const struct sch_deployment *d, struct sch_pop *pops, size_t npops)
{
	for (size_t w = 0; w < d->strategy->nwaves; w++)
		if (d->waves[w].state == SCH_WAVE_PENDING)
			select_wave(d, pops, npops, (int)w);
}

static int set_desired(struct sch_pop *p, int version)
{
	if (p->desired != version) {
		p->desired = version;
		p->changed = true;
	}
	return 0;
}

static void list_pops(const struct sch_pop *pops, size_t npops, int w, char *dst, size_t len)
{
	size_t used = 0;

	dst[0] = '\0';
	for (size_t i = 0; i < npops && used + 1 < len; i++) {
		if (pops[i].wave != w)
			continue;
		int n = snprintf(dst + used, len - used, "%s%s", used ? "," : "", pops[i].name);
		if (n < 0 || (size_t)n >= len - used) {
			/* Truncated: end with an ellipsis so the reader knows. */
			if (len >= 4)
				memcpy(dst + len - 4, "...", 4);
			return;
		}
		used += (size_t)n;
	}
}

/* What returning a PoP means, for event details: back to A, or (A none) the module removed. */
static void return_text(const struct sch_deployment *d, int n, char *dst, size_t len)
{
	if (d->from_version > 0)
		snprintf(dst, len, "%d PoP(s) returned to version %d", n, d->from_version);
	else
		snprintf(dst, len, "module removed from %d PoP(s) (it ran nowhere before)", n);
}

static int return_touched(struct sch_deployment *d, struct sch_pop *pops, size_t npops)
{
	int n = 0;

	for (size_t i = 0; i < npops; i++)
		if (pops[i].wave >= 0) {
			set_desired(&pops[i], d->from_version);
			n++;
		}
	return n;
}

static int fail_gate(struct sch_deployment *d, struct sch_pop *pops, size_t npops, int64_t now,
		     struct sch_plan *out, const char *reason)
{
	int w = d->current_wave, rc;

	d->waves[w].state = SCH_WAVE_FAILED;
	snprintf(d->reason, sizeof d->reason, "wave %d failed its gate: %s", w, reason);
	if ((rc = add_event(out, now, "wave_failed", w, "%s", reason)) != 0)
		return rc;
	if (d->strategy->auto_rollback) {
		char what[128];
		return_text(d, return_touched(d, pops, npops), what, sizeof what);
		d->state = SCH_DEP_ROLLED_BACK;
		return add_event(out, now, "rolled_back", w, "auto_rollback: %s", what);
	}
	d->state = SCH_DEP_PAUSED;
	return add_event(out, now, "paused", w, "%s", d->reason);
}

/* Moves the running deployment forward until it has to wait for the agents or the clock. */
static int advance(struct sch_deployment *d, struct sch_pop *pops, size_t npops, int64_t now,
		   const struct sch_config *cfg, struct sch_plan *out)
{
	const struct sch_strategy *s = d->strategy;
	char buf[256];
	int rc;

	while (d->state == SCH_DEP_RUNNING) {
		int w = d->current_wave;
		struct sch_wave *wv;

		if (w >= (int)s->nwaves) {
			/* Done: the target is now the module's version everywhere, including PoPs
			 * that joined after the last wave picked its PoPs. */
			int moved = 0;
			for (size_t i = 0; i < npops; i++)
				if (pops[i].desired != d->to_version) {
					set_desired(&pops[i], d->to_version);
					moved++;
				}
			d->state = SCH_DEP_SUCCEEDED;
			d->reason[0] = '\0';
			return add_event(out, now, "succeeded", -1,
					 "version %d rolled out to %zu PoP(s)%s", d->to_version,
					 npops, moved ? " (late PoPs switched at the end)" : "");
		}
		wv = &d->waves[w];
		switch (wv->state) {
		case SCH_WAVE_PENDING: {
			size_t n = select_wave(d, pops, npops, w);
			for (size_t i = 0; i < npops; i++)
				if (pops[i].wave == w)
					set_desired(&pops[i], d->to_version);
			wv->started_ms = now;
			wv->baking_ms = 0;
			wv->state = SCH_WAVE_ACTIVATING;
			list_pops(pops, npops, w, buf, sizeof buf);
			if ((rc = add_event(out, now, "wave_started", w, "%zu PoP(s) to version %d: %s",
					    n, d->to_version, n ? buf : "(none)")) != 0)
				return rc;
			break;
		}
		case SCH_WAVE_ACTIVATING: {
			size_t total = 0, ready = 0;
			size_t used = 0;
			buf[0] = '\0';
			for (size_t i = 0; i < npops; i++) {
				struct pop_eval ev;
				if (pops[i].wave != w)
					continue;
				total++;
				eval_pop(&pops[i], now, cfg, &ev);
				if (ev.failed) {
					char why[300];
					snprintf(why, sizeof why, "PoP %s failed to activate version %d: %s",
						 pops[i].name, d->to_version,
						 ev.error && *ev.error ? ev.error : "no reason given");
					return fail_gate(d, pops, npops, now, out, why);
				}
				if (ev.active) {
					ready++;
				} else if (used + 1 < sizeof buf) {
					int k = snprintf(buf + used, sizeof buf - used, "%s%s%s",
							 used ? "," : "", pops[i].name,
							 ev.stale ? " (stale)" : "");
					if (k > 0)
						used += (size_t)k;
					if (used >= sizeof buf)
						used = sizeof buf - 1;
				}
			}
			if (total == 0) {
				/* The fleet ran out before this wave: nothing to wait for. */
				wv->state = SCH_WAVE_PASSED;
				d->current_wave++;
				if ((rc = add_event(out, now, "wave_passed", w, "no PoPs left for this wave")) != 0)
					return rc;
				break;
			}
			if (ready == total) {
				for (size_t i = 0; i < npops; i++) {
					struct pop_eval ev;
					if (pops[i].wave != w)
						continue;
					eval_pop(&pops[i], now, cfg, &ev);
					pops[i].base_requests = ev.requests;
					pops[i].base_errors = ev.errors;
				}
				wv->state = SCH_WAVE_BAKING;
				wv->baking_ms = now;
				if ((rc = add_event(out, now, "wave_activated", w,
						    "%zu PoP(s) active on version %d; baking %llds",
						    total, d->to_version,
						    (long long)s->bake_seconds)) != 0)
					return rc;
				break;
			}
			/* The deadline is the timeout, but never within the first 3 heartbeats of a
			 * new leader: agents that activated while no control plane listened must get
			 * to say so before the gate judges them. */
			int64_t deadline = wv->started_ms + s->activation_timeout_seconds * 1000;
			if (cfg->listening_since_ms + 3 * cfg->heartbeat_ms > deadline)
				deadline = cfg->listening_since_ms + 3 * cfg->heartbeat_ms;
			if (now >= deadline) {
				char why[400];
				snprintf(why, sizeof why,
					 "activation timeout after %llds: %zu of %zu PoP(s) not active: %s",
					 (long long)s->activation_timeout_seconds, total - ready, total,
					 buf);
				return fail_gate(d, pops, npops, now, out, why);
			}
			return 0;
		}
		case SCH_WAVE_BAKING: {
			int64_t req = 0, errs = 0;
			for (size_t i = 0; i < npops; i++) {
				struct pop_eval ev;
				char why[300];
				if (pops[i].wave != w)
					continue;
				eval_pop(&pops[i], now, cfg, &ev);
				if (!ev.active) {
					snprintf(why, sizeof why,
						 "PoP %s no longer runs version %d during the bake: %s",
						 pops[i].name, d->to_version,
						 ev.stale ? "its agent is stale"
						 : ev.failed ? (ev.error && *ev.error ? ev.error : "failed")
							     : "not active");
					return fail_gate(d, pops, npops, now, out, why);
				}
				/* Counters restart when an agent restarts: count from zero then. */
				req += ev.requests >= pops[i].base_requests
					       ? ev.requests - pops[i].base_requests : ev.requests;
				errs += ev.errors >= pops[i].base_errors
						? ev.errors - pops[i].base_errors : ev.errors;
			}
			if (req > 0 && (double)errs > s->max_error_rate * (double)req) {
				char why[300];
				snprintf(why, sizeof why,
					 "error rate %.4f (%lld of %lld requests) exceeds max_error_rate %.4f",
					 (double)errs / (double)req, (long long)errs, (long long)req,
					 s->max_error_rate);
				return fail_gate(d, pops, npops, now, out, why);
			}
			if (now - wv->baking_ms < s->bake_seconds * 1000)
				return 0;
			wv->state = SCH_WAVE_PASSED;
			d->current_wave++;
			if ((rc = add_event(out, now, "wave_passed", w,
					    "error rate %.4f over %lld requests during the bake",
					    req ? (double)errs / (double)req : 0.0, (long long)req)) != 0)
				return rc;
			break;
		}
		case SCH_WAVE_PASSED:
			d->current_wave++;
			break;
		case SCH_WAVE_FAILED:
			/* Only a resume leaves a failed wave behind a running deployment; it re-arms
			 * the gate (sch_plan_step), so this is not reached. Re-arm defensively. */
			wv->state = SCH_WAVE_ACTIVATING;
			wv->started_ms = now;
			break;
		}
	}
	return 0;
}

int sch_plan_step(struct sch_deployment *d, struct sch_pop *pops, size_t npops,
		  enum sch_action act, int64_t now, const struct sch_config *cfg,
		  struct sch_plan *out, char *err, size_t errlen)
{
	const char *state = sch_dep_state_name(d->state);
	char what[128];
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	/* A deployment whose target version vanished cannot go on: return the touched PoPs. */
	if (d->target_missing && !sch_dep_state_is_terminal(d->state)) {
		return_text(d, return_touched(d, pops, npops), what, sizeof what);
		d->state = SCH_DEP_FAILED;
		snprintf(d->reason, sizeof d->reason, "version %d no longer exists", d->to_version);
		if ((rc = add_event(out, now, "failed", -1, "%s; %s", d->reason, what)) != 0)
			return rc;
		if (act != SCH_ACT_TICK) {
			snprintf(err, errlen, "the deployment failed: %s", d->reason);
			return SCH_E_CONFLICT;
		}
		return 0;
	}
	switch (act) {
	case SCH_ACT_TICK:
		break;
	case SCH_ACT_PAUSE:
		if (d->state != SCH_DEP_RUNNING && d->state != SCH_DEP_PENDING) {
			snprintf(err, errlen, "cannot pause a deployment that is %s", state);
			return SCH_E_CONFLICT;
		}
		d->state = SCH_DEP_PAUSED;
		snprintf(d->reason, sizeof d->reason, "paused by an operator");
		return add_event(out, now, "paused", d->current_wave, "paused by an operator");
	case SCH_ACT_RESUME:
		if (d->state != SCH_DEP_PAUSED) {
			snprintf(err, errlen, "cannot resume a deployment that is %s", state);
			return SCH_E_CONFLICT;
		}
		d->state = SCH_DEP_RUNNING;
		d->reason[0] = '\0';
		if (d->current_wave < (int)d->strategy->nwaves) {
			struct sch_wave *wv = &d->waves[d->current_wave];
			/* The gate starts over: the agents get a full activation timeout and bake. */
			if (wv->state != SCH_WAVE_PENDING) {
				wv->state = SCH_WAVE_ACTIVATING;
				wv->started_ms = now;
				wv->baking_ms = 0;
			}
		}
		if ((rc = add_event(out, now, "resumed", d->current_wave, "resumed by an operator")) != 0)
			return rc;
		break;
	case SCH_ACT_PROMOTE:
		if (d->state == SCH_DEP_PENDING) {
			/* Starting is what the first tick does; do it now so there is a wave. */
			d->state = SCH_DEP_RUNNING;
			if ((rc = add_event(out, now, "started", -1, "rollout started")) != 0)
				return rc;
		}
		if (d->state != SCH_DEP_RUNNING) {
			snprintf(err, errlen, "cannot promote a deployment that is %s", state);
			return SCH_E_CONFLICT;
		}
		if ((rc = advance(d, pops, npops, now, cfg, out)) != 0)
			return rc;
		if (d->state != SCH_DEP_RUNNING) {
			snprintf(err, errlen, "the deployment became %s before the promotion: %s",
				 sch_dep_state_name(d->state), d->reason);
			return SCH_E_CONFLICT;
		}
		if (d->waves[d->current_wave].state != SCH_WAVE_BAKING) {
			snprintf(err, errlen,
				 "wave %d is still activating: promote ends a bake, and its PoPs are not all active yet",
				 d->current_wave);
			return SCH_E_CONFLICT;
		}
		d->waves[d->current_wave].state = SCH_WAVE_PASSED;
		if ((rc = add_event(out, now, "promoted", d->current_wave,
				    "bake ended early by an operator")) != 0 ||
		    (rc = add_event(out, now, "wave_passed", d->current_wave, "promoted")) != 0)
			return rc;
		d->current_wave++;
		break;
	case SCH_ACT_ABORT:
		if (sch_dep_state_is_terminal(d->state)) {
			snprintf(err, errlen, "cannot abort a deployment that is %s", state);
			return SCH_E_CONFLICT;
		}
		return_text(d, return_touched(d, pops, npops), what, sizeof what);
		if (d->current_wave < (int)d->strategy->nwaves) {
			struct sch_wave *wv = &d->waves[d->current_wave];
			if (wv->state == SCH_WAVE_ACTIVATING || wv->state == SCH_WAVE_BAKING)
				wv->state = SCH_WAVE_FAILED;
		}
		d->state = SCH_DEP_ABORTED;
		snprintf(d->reason, sizeof d->reason, "aborted by an operator");
		return add_event(out, now, "aborted", d->current_wave, "aborted by an operator; %s",
				 what);
	}
	if (d->state == SCH_DEP_PENDING) {
		d->state = SCH_DEP_RUNNING;
		if ((rc = add_event(out, now, "started", -1, "rollout of version %d started over %zu PoP(s)",
				    d->to_version, npops)) != 0)
			return rc;
	}
	return advance(d, pops, npops, now, cfg, out);
}
