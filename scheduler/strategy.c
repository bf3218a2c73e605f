/* scheduler/strategy.c: parsing, validation and JSON form of rollout strategies. Every error
 * names the offending field so a 422 tells the caller what to fix. */
#include "scheduler/strategy.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_wave(const json_t *w, size_t idx, const char *const *known, size_t nknown,
		      struct sch_wave_spec *out, char *err, size_t errlen);
static int parse_object(const json_t *in, const char *const *known, size_t nknown,
			struct sch_strategy *s, char *err, size_t errlen);
static void set_defaults(struct sch_strategy *s, const char *name);
static bool name_known(const char *name, const char *const *known, size_t nknown);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void set_defaults(struct sch_strategy *s, const char *name)
{
	memset(s, 0, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->bake_seconds = SCH_DEFAULT_BAKE_SECONDS;
	s->activation_timeout_seconds = SCH_DEFAULT_ACTIVATION_TIMEOUT;
	s->max_error_rate = SCH_DEFAULT_MAX_ERROR_RATE;
	s->auto_rollback = true;
}

static bool name_known(const char *name, const char *const *known, size_t nknown)
{
	if (known == NULL)
		return true;
	for (size_t i = 0; i < nknown; i++)
		if (strcmp(known[i], name) == 0)
			return true;
	return false;
}

static int parse_wave(const json_t *w, size_t idx, const char *const *known, size_t nknown,
		      struct sch_wave_spec *out, char *err, size_t errlen)
{
	const json_t *pops, *pct;
	const char *key;
	json_t *v;

	memset(out, 0, sizeof *out);
	if (!json_is_object(w)) {
		set_err(err, errlen, "waves[%lld] must be an object", (long long)idx);
		return SCH_E_INVALID;
	}
	json_object_foreach((json_t *)w, key, v) {
		if (strcmp(key, "pops") != 0 && strcmp(key, "percent") != 0) {
			set_err(err, errlen, "unknown field '%s' in waves[%lld]", key, (long long)idx);
			return SCH_E_INVALID;
		}
	}
	pops = json_object_get(w, "pops");
	pct = json_object_get(w, "percent");
	if ((pops == NULL) == (pct == NULL)) {
		set_err(err, errlen, "waves[%lld] needs exactly one of 'pops' or 'percent'", (long long)idx);
		return SCH_E_INVALID;
	}
	if (pct != NULL) {
		if (!json_is_integer(pct) || json_integer_value(pct) < 1 ||
		    json_integer_value(pct) > 100) {
			set_err(err, errlen, "waves[%lld].percent must be an integer from 1 to 100",
				(long long)idx);
			return SCH_E_INVALID;
		}
		out->percent = (int)json_integer_value(pct);
		return 0;
	}
	if (!json_is_array(pops) || json_array_size(pops) == 0 ||
	    json_array_size(pops) > SCH_MAX_WAVE_POPS) {
		set_err(err, errlen, "waves[%lld].pops must be a non-empty array of PoP names (at most 256)",
			(long long)idx);
		return SCH_E_INVALID;
	}
	out->pops = calloc(json_array_size(pops), sizeof *out->pops);
	if (out->pops == NULL)
		return SCH_E_NOMEM;
	for (size_t i = 0; i < json_array_size(pops); i++) {
		const json_t *p = json_array_get(pops, i);
		if (!json_is_string(p) || json_string_length(p) == 0 || json_string_length(p) > 63) {
			set_err(err, errlen, "waves[%lld].pops must hold PoP names", (long long)idx);
			return SCH_E_INVALID;
		}
		if (!name_known(json_string_value(p), known, nknown)) {
			set_err(err, errlen, "unknown PoP '%s' in waves[%lld].pops",
				json_string_value(p), (long long)idx);
			return SCH_E_INVALID;
		}
		out->pops[i] = strdup(json_string_value(p));
		if (out->pops[i] == NULL)
			return SCH_E_NOMEM;
		out->npops = i + 1;
	}
	return 0;
}

static int get_seconds(const json_t *in, const char *key, int64_t min, int64_t *out, char *err,
		       size_t errlen)
{
	const json_t *v = json_object_get(in, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > SCH_MAX_SECONDS) {
		set_err(err, errlen, "'%s' must be an integer number of seconds from %lld to %d", key,
			(long long)min, SCH_MAX_SECONDS);
		return SCH_E_INVALID;
	}
	*out = json_integer_value(v);
	return 0;
}

static int parse_object(const json_t *in, const char *const *known, size_t nknown,
			struct sch_strategy *s, char *err, size_t errlen)
{
	static const char *const fields[] = {"waves", "bake_seconds", "activation_timeout_seconds",
					     "max_error_rate", "auto_rollback"};
	const json_t *waves, *v;
	const char *key;
	json_t *val;
	int last_percent = 0, rc;

	set_defaults(s, "custom");
	json_object_foreach((json_t *)in, key, val) {
		bool ok = false;
		for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
			ok = ok || strcmp(key, fields[i]) == 0;
		if (!ok) {
			set_err(err, errlen, "unknown strategy field '%s'", key);
			return SCH_E_INVALID;
		}
	}
	waves = json_object_get(in, "waves");
	if (!json_is_array(waves) || json_array_size(waves) == 0) {
		set_err(err, errlen, "'waves' must be a non-empty array");
		return SCH_E_INVALID;
	}
	/* One slot stays free for the implicit final 100 % wave. */
	if (json_array_size(waves) > SCH_MAX_WAVES - 1) {
		set_err(err, errlen, "at most %d waves", SCH_MAX_WAVES - 1);
		return SCH_E_INVALID;
	}
	for (size_t i = 0; i < json_array_size(waves); i++) {
		rc = parse_wave(json_array_get(waves, i), i, known, nknown, &s->waves[i], err,
				errlen);
		s->nwaves = i + 1;
		if (rc != 0)
			return rc;
		if (s->waves[i].percent > 0) {
			if (s->waves[i].percent <= last_percent) {
				set_err(err, errlen, "waves[%lld].percent must be greater than the percent of the wave before",
					(long long)i);
				return SCH_E_INVALID;
			}
			last_percent = s->waves[i].percent;
		}
		/* A PoP named twice would be switched by the first wave only; say so. */
		for (size_t k = 0; k < s->waves[i].npops; k++)
			for (size_t j = 0; j <= i; j++)
				for (size_t m = 0; m < s->waves[j].npops; m++) {
					if (j == i && m >= k)
						break;
					if (strcmp(s->waves[j].pops[m], s->waves[i].pops[k]) == 0) {
						set_err(err, errlen, "PoP '%s' is named twice (waves[%lld])",
							s->waves[i].pops[k], (long long)i);
						return SCH_E_INVALID;
					}
				}
	}
	if ((rc = get_seconds(in, "bake_seconds", 0, &s->bake_seconds, err, errlen)) != 0)
		return rc;
	if ((rc = get_seconds(in, "activation_timeout_seconds", 1, &s->activation_timeout_seconds,
			      err, errlen)) != 0)
		return rc;
	if ((v = json_object_get(in, "max_error_rate")) != NULL) {
		if (!json_is_number(v) || !(json_number_value(v) >= 0.0) ||
		    json_number_value(v) > 1.0) {
			set_err(err, errlen, "'max_error_rate' must be a number from 0 to 1");
			return SCH_E_INVALID;
		}
		s->max_error_rate = json_number_value(v);
	}
	if ((v = json_object_get(in, "auto_rollback")) != NULL) {
		if (!json_is_boolean(v)) {
			set_err(err, errlen, "'auto_rollback' must be true or false");
			return SCH_E_INVALID;
		}
		s->auto_rollback = json_is_true(v);
	}
	if (s->waves[s->nwaves - 1].percent != 100) {
		s->waves[s->nwaves].percent = 100;
		s->nwaves++;
	}
	return 0;
}

int sch_strategy_parse(const json_t *in, const char *const *known_pops, size_t nknown,
		       struct sch_strategy *out, char *err, size_t errlen)
{
	static const int canary[] = {1, 10, 50, 100};
	int rc;

	if (in == NULL || json_is_null(in) ||
	    (json_is_string(in) && strcmp(json_string_value(in), "canary") == 0)) {
		set_defaults(out, "canary");
		for (size_t i = 0; i < 4; i++)
			out->waves[i].percent = canary[i];
		out->nwaves = 4;
		return 0;
	}
	if (json_is_string(in) && strcmp(json_string_value(in), "immediate") == 0) {
		set_defaults(out, "immediate");
		out->waves[0].percent = 100;
		out->nwaves = 1;
		out->bake_seconds = 0;
		return 0;
	}
	if (json_is_string(in)) {
		set_err(err, errlen, "unknown strategy '%s' (use \"immediate\", \"canary\" or an object)",
			json_string_value(in));
		memset(out, 0, sizeof *out);
		return SCH_E_INVALID;
	}
	if (!json_is_object(in)) {
		set_err(err, errlen, "'strategy' must be \"immediate\", \"canary\" or an object");
		memset(out, 0, sizeof *out);
		return SCH_E_INVALID;
	}
	rc = parse_object(in, known_pops, nknown, out, err, errlen);
	if (rc == SCH_E_NOMEM)
		set_err(err, errlen, "out of memory");
	if (rc != 0)
		sch_strategy_free(out);
	return rc;
}

json_t *sch_strategy_to_json(const struct sch_strategy *s)
{
	json_t *o = json_object(), *waves = json_array();

	if (o == NULL || waves == NULL)
		goto fail;
	for (size_t i = 0; i < s->nwaves; i++) {
		json_t *w = json_object();
		if (w == NULL || json_array_append_new(waves, w) != 0)
			goto fail;
		if (s->waves[i].percent > 0) {
			if (json_object_set_new(w, "percent", json_integer(s->waves[i].percent)) != 0)
				goto fail;
		} else {
			json_t *pops = json_array();
			if (pops == NULL || json_object_set_new(w, "pops", pops) != 0)
				goto fail;
			for (size_t k = 0; k < s->waves[i].npops; k++)
				if (json_array_append_new(pops, json_string(s->waves[i].pops[k])) != 0)
					goto fail;
		}
	}
	if (json_object_set_new(o, "waves", waves) != 0) {
		waves = NULL;
		goto fail;
	}
	waves = NULL;
	if (json_object_set_new(o, "bake_seconds", json_integer(s->bake_seconds)) != 0 ||
	    json_object_set_new(o, "activation_timeout_seconds",
				json_integer(s->activation_timeout_seconds)) != 0 ||
	    json_object_set_new(o, "max_error_rate", json_real(s->max_error_rate)) != 0 ||
	    json_object_set_new(o, "auto_rollback", json_boolean(s->auto_rollback)) != 0)
		goto fail;
	return o;
fail:
	json_decref(waves);
	json_decref(o);
	return NULL;
}

void sch_strategy_free(struct sch_strategy *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < SCH_MAX_WAVES; i++) {
		for (size_t k = 0; k < s->waves[i].npops; k++)
			free(s->waves[i].pops[k]);
		free(s->waves[i].pops);
	}
	memset(s, 0, sizeof *s);
}
