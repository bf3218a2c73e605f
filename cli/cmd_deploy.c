/* cli/cmd_deploy.c: rollouts: deploy M@VERSION (optionally waiting wave by wave for the end),
 * deployments list|get|pause|resume|promote|abort, and rollback M [--to VERSION]. */
#include "cli/commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/http.h"
#include "common/buf.h"

/* Long enough for the default canary (four waves, 60 s bake each, 120 s activation). */
#define CLI_DEFAULT_WAIT_S 1800
/* How often --wait asks; the scheduler moves on a scale of seconds. */
#define CLI_POLL_MS 500
/* Polls that may fail in a row (a restarting control plane) before --wait gives up. */
#define CLI_POLL_FAILURES 20

static const struct cli_col deployment_cols[] = {
	{"ID", "id"}, {"MODULE", "module"}, {"FROM", "from_version"}, {"TO", "to_version"},
	{"STATE", "state"}, {"WAVE", "_wave"}, {"CREATED", "created_at"}, {0}};
static const struct cli_col deployment_detail[] = {
	{"Deployment", "id"}, {"Module", "module"}, {"From version", "from_version"},
	{"To version", "to_version"}, {"State", "state"}, {"Current wave", "_wave"},
	{"Reason", "reason"}, {"Created", "created_at"}, {"Updated", "updated_at"}, {0}};
static const struct cli_col wave_cols[] = {
	{"WAVE", "index"}, {"STATE", "state"}, {"POPS", "pops"}, {0}};
static const struct cli_col dpop_cols[] = {
	{"POP", "pop"}, {"DESIRED", "desired_version"}, {"OBSERVED", "observed_version"},
	{"STATE", "state"}, {0}};
static const struct cli_col event_cols[] = {
	{"AT", "at"}, {"TYPE", "type"}, {"WAVE", "wave"}, {"DETAIL", "detail"}, {0}};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A string member of obj, or `dflt` when absent or not a string. Borrowed. */
static const char *str_field(json_t *obj, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v != NULL ? v : dflt;
}

/* A deployment its scheduler paused because a wave failed its gate (auto_rollback off): it
 * waits for an operator (resume, promote, abort or a rollback), so for --wait, the rollout as
 * started has failed. A pause by an operator has no failed wave and may well be resumed. */
static bool paused_by_failure(json_t *d)
{
	const char *state = json_string_value(json_object_get(d, "state"));
	json_t *w;
	size_t i;

	if (state == NULL || strcmp(state, "paused") != 0)
		return false;
	json_array_foreach(json_object_get(d, "waves"), i, w) {
		const char *ws = json_string_value(json_object_get(w, "state"));
		if (ws != NULL && strcmp(ws, "failed") == 0)
			return true;
	}
	return false;
}

static bool is_final(const char *state)
{
	return state != NULL && (strcmp(state, "succeeded") == 0 || strcmp(state, "failed") == 0 ||
				 strcmp(state, "aborted") == 0 || strcmp(state, "rolled_back") == 0);
}

/* The "_wave" field the tables show: in a list "2/4" (the current wave, 1-based, over the
 * number of waves); in the detail view (`detail`) "1 (2 of 4)", led by the API's index. */
static int decorate_deployment(json_t *d, bool detail)
{
	json_t *cw = json_object_get(d, "current_wave"), *waves = json_object_get(d, "waves");
	char text[64];

	/* A list item carries no waves, but its strategy (as stored, names resolved) has them. */
	if (!json_is_array(waves))
		waves = json_object_get(json_object_get(d, "strategy"), "waves");

	if (!json_is_integer(cw) || !json_is_array(waves))
		return 0;
	/* current_wave equals the number of waves once the last one is through. */
	if ((size_t)json_integer_value(cw) >= json_array_size(waves))
		snprintf(text, sizeof text, "done (%zu)", json_array_size(waves));
	else if (detail)
		/* The index as the API counts (from 0), as the server's reasons and the events
		 * name waves ("wave 0 failed its gate"), then the ordinal for a person. */
		snprintf(text, sizeof text, "%lld (%lld of %zu)", (long long)json_integer_value(cw),
			 (long long)json_integer_value(cw) + 1, json_array_size(waves));
	else
		snprintf(text, sizeof text, "%lld/%zu", (long long)json_integer_value(cw) + 1,
			 json_array_size(waves));
	return json_object_set_new(d, "_wave", json_string(text));
}

/* The strategy option: a name, or a file holding the strategy object. New reference in *out
 * (NULL when the option is absent: the server's default, canary, applies). */
static int load_strategy(const char *s, json_t **out)
{
	json_error_t e;

	*out = NULL;
	if (s == NULL)
		return 0;
	if (strcmp(s, "immediate") == 0 || strcmp(s, "canary") == 0) {
		*out = json_string(s);
		return *out ? 0 : -1;
	}
	*out = json_load_file(s, JSON_REJECT_DUPLICATES, &e);
	if (*out == NULL) {
		if (e.line <= 0)
			fprintf(stderr, "edgectl: --strategy is 'immediate', 'canary' or a JSON file; "
					"%s: %s\n", s, e.text);
		else
			fprintf(stderr, "edgectl: %s:%d:%d: %s\n", s, e.line, e.column, e.text);
		return -1;
	}
	if (!json_is_object(*out)) {
		fprintf(stderr, "edgectl: %s: the strategy must be a JSON object\n", s);
		json_decref(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Highest version number of a module (for M@latest). */
static int latest_version(const struct cli_ctx *ctx, const char *module, long *out)
{
	json_t *items = NULL, *v;
	char *path = cli_path("/v1/tenants/%s/modules/%s/versions", ctx->tenant, module);
	size_t i;
	int rc;

	*out = 0;
	if (path == NULL)
		return -1;
	rc = cli_api_list(ctx, path, 0, &items, NULL);
	free(path);
	if (rc != 0)
		return -1;
	json_array_foreach(items, i, v) {
		json_int_t n = json_integer_value(json_object_get(v, "version"));
		if (n > *out)
			*out = (long)n;
	}
	json_decref(items);
	if (*out == 0) {
		fprintf(stderr, "edgectl: module %s has no versions yet (push one first)\n", module);
		return -1;
	}
	return 0;
}

/* Progress printer state of --wait: what was already said, so each line says something new. */
struct watch {
	double t0;
	char state[32];
	char wave_state[64][16];
	int wave_active[64];
	size_t events_seen;
	FILE *out; /* stdout, or stderr when --json keeps stdout for the final document */
};

static void say(struct watch *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct watch *w, const char *fmt, ...)
{
	va_list ap;

	fprintf(w->out, "[%6.1fs] ", now_s() - w->t0);
	va_start(ap, fmt);
	vfprintf(w->out, fmt, ap);
	va_end(ap);
	fputc('\n', w->out);
	fflush(w->out);
}

/* Number of a wave's PoPs that report the target version active. */
static int wave_active_count(json_t *d, json_t *wave, json_int_t to)
{
	json_t *pops = json_object_get(d, "pops"), *names = json_object_get(wave, "pops"), *n, *p;
	size_t i, j;
	int count = 0;

	json_array_foreach(names, i, n) {
		json_array_foreach(pops, j, p) {
			const char *pn = json_string_value(json_object_get(p, "pop"));
			const char *st = json_string_value(json_object_get(p, "state"));
			if (pn == NULL || !json_is_string(n) || strcmp(pn, json_string_value(n)) != 0)
				continue;
			if (st != NULL && strcmp(st, "active") == 0 &&
			    json_integer_value(json_object_get(p, "observed_version")) == to)
				count++;
			break;
		}
	}
	return count;
}

/* Prints what changed since the previous poll, in the order it happened: new events, then
 * each wave's state and PoPs, then the deployment's state. */
static void report_progress(struct watch *w, json_t *d)
{
	const char *state = json_string_value(json_object_get(d, "state"));
	json_t *waves = json_object_get(d, "waves"), *wave, *events = json_object_get(d, "events");
	json_int_t to = json_integer_value(json_object_get(d, "to_version"));
	size_t nw = json_array_size(waves), i;

	for (i = w->events_seen; i < json_array_size(events); i++) {
		json_t *e = json_array_get(events, i);
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *detail = json_string_value(json_object_get(e, "detail"));
		say(w, "event %s%s%s", type ? type : "?", detail && *detail ? ": " : "",
		    detail && *detail ? detail : "");
	}
	w->events_seen = json_array_size(events);
	json_array_foreach(waves, i, wave) {
		const char *ws = json_string_value(json_object_get(wave, "state"));
		int active;
		char *pops;
		if (i >= 64)
			break;
		active = wave_active_count(d, wave, to);
		if (ws != NULL && w->wave_state[i][0] == '\0' && strcmp(ws, "pending") == 0) {
			/* Waves not started yet are news only once they start. */
			snprintf(w->wave_state[i], sizeof w->wave_state[i], "%s", ws);
		} else if (ws != NULL && strcmp(ws, w->wave_state[i]) != 0) {
			pops = cli_cell_text(json_object_get(wave, "pops"));
			say(w, "wave %zu/%zu [%s]: %s (%d/%zu PoPs on version %lld)", i + 1, nw,
			    pops ? pops : "?", ws, active, json_array_size(json_object_get(wave, "pops")),
			    (long long)to);
			free(pops);
			snprintf(w->wave_state[i], sizeof w->wave_state[i], "%s", ws);
		} else if (active != w->wave_active[i]) {
			say(w, "wave %zu/%zu: %d/%zu PoPs on version %lld", i + 1, nw, active,
			    json_array_size(json_object_get(wave, "pops")), (long long)to);
		}
		w->wave_active[i] = active;
	}
	if (state != NULL && strcmp(state, w->state) != 0) {
		const char *reason = json_string_value(json_object_get(d, "reason"));
		if (reason != NULL && reason[0] != '\0' && !is_final(state) &&
		    strcmp(state, "running") != 0)
			say(w, "deployment %s: %s", state, reason);
		else
			say(w, "deployment %s", state);
		snprintf(w->state, sizeof w->state, "%s", state);
	}
}

/* Polls the deployment until it ends or the timeout passes. Returns an exit code. */
static int wait_deployment(const struct cli_ctx *ctx, const char *id, long timeout_s)
{
	struct watch w;
	char *path = cli_path("/v1/tenants/%s/deployments/%s", ctx->tenant, id);
	int failures = 0, ret = CLI_EXIT_FAIL;
	json_t *d = NULL;

	memset(&w, 0, sizeof w);
	w.t0 = now_s();
	w.out = ctx->json ? stderr : stdout;
	if (path == NULL)
		return CLI_EXIT_FAIL;
	for (;;) {
		const char *state;
		json_decref(d);
		d = NULL;
		if (cli_api(ctx, "GET", path, NULL, &d, NULL) != 0 || !json_is_object(d)) {
			if (++failures >= CLI_POLL_FAILURES) {
				fprintf(stderr, "edgectl: giving up: the deployment cannot be read\n");
				goto done;
			}
		} else {
			failures = 0;
			report_progress(&w, d);
			state = json_string_value(json_object_get(d, "state"));
			if (is_final(state)) {
				const char *reason = json_string_value(json_object_get(d, "reason"));
				if (ctx->json)
					cli_json_print(stdout, d);
				if (strcmp(state, "succeeded") == 0) {
					if (!ctx->json)
						printf("deployment %s succeeded\n", id);
					ret = CLI_EXIT_OK;
				} else {
					fprintf(stderr, "edgectl: deployment %s %s%s%s\n", id, state,
						reason ? ": " : "", reason ? reason : "");
					ret = CLI_EXIT_FAIL;
				}
				goto done;
			}
			if (paused_by_failure(d)) {
				const char *reason = json_string_value(json_object_get(d, "reason"));
				if (ctx->json)
					cli_json_print(stdout, d);
				fprintf(stderr, "edgectl: deployment %s paused%s%s\n"
						"  it waits for an operator: edgectl deployments "
						"resume|abort %s, or edgectl rollback %s\n",
					id, reason ? ": " : "", reason ? reason : "", id,
					str_field(d, "module", "MODULE"));
				ret = CLI_EXIT_FAIL;
				goto done;
			}
		}
		if (now_s() - w.t0 >= (double)timeout_s) {
			fprintf(stderr, "edgectl: timed out after %ld s waiting for deployment %s "
					"(state %s); it carries on: see `edgectl deployments get %s`\n",
				timeout_s, id, w.state[0] ? w.state : "unknown", id);
			ret = CLI_EXIT_TIMEOUT;
			goto done;
		}
		sleep_ms(CLI_POLL_MS);
	}
done:
	json_decref(d);
	free(path);
	return ret;
}

/* The --timeout option (checked before anything is sent). */
static int wait_timeout(const struct cli_args *a, const struct cli_opt *spec, long *out)
{
	const char *s = cli_opt_get(a, spec, "timeout");

	*out = CLI_DEFAULT_WAIT_S;
	if (s == NULL)
		return 0;
	if (!cli_opt_has(a, spec, "wait")) {
		fprintf(stderr, "edgectl: --timeout only applies with --wait\n");
		return -1;
	}
	return cli_parse_long(s, 1, 86400 * 7, "--timeout", out);
}

/* What deploy and rollback print for a new deployment, then the wait when asked. */
static int started(const struct cli_ctx *ctx, const struct cli_args *a,
		   const struct cli_opt *spec, json_t *d, long timeout)
{
	const char *id = json_string_value(json_object_get(d, "id"));

	/* Nothing to roll out (the version already runs everywhere): the API answers 200 with
	 * "noop" and stores nothing. That is success, with or without --wait. */
	if (json_is_true(json_object_get(d, "noop"))) {
		if (ctx->json)
			cli_json_print(stdout, d);
		else
			printf("%s\n", str_field(d, "detail", "nothing to do"));
		return CLI_EXIT_OK;
	}
	if (id == NULL) {
		fprintf(stderr, "edgectl: the answer names no deployment id\n");
		return CLI_EXIT_FAIL;
	}
	if (ctx->json && !cli_opt_has(a, spec, "wait")) {
		cli_json_print(stdout, d);
		return CLI_EXIT_OK;
	}
	if (!ctx->json) {
		json_t *from = json_object_get(d, "from_version");
		printf("deployment %s: %s ", id, json_string_value(json_object_get(d, "module")));
		if (json_is_integer(from))
			printf("%lld", (long long)json_integer_value(from));
		else
			printf("(none)");
		printf(" -> %lld, %zu wave(s), %s\n",
		       (long long)json_integer_value(json_object_get(d, "to_version")),
		       json_array_size(json_object_get(d, "waves")),
		       str_field(d, "state", "?"));
		fflush(stdout);
	}
	if (!cli_opt_has(a, spec, "wait")) {
		printf("follow it with: edgectl deployments get %s\n", id);
		return CLI_EXIT_OK;
	}
	return wait_deployment(ctx, id, timeout);
}

CLI_CMD(cli_deploy)
{
	const char *target, *at;
	json_t *strategy = NULL, *body = NULL, *out = NULL;
	char module[128];
	char *path = NULL;
	long version = 0, timeout;
	int ret = CLI_EXIT_FAIL;

	if (a->npos != 1) {
		fprintf(stderr, "edgectl: deploy needs one MODULE@VERSION (see --help)\n");
		return CLI_EXIT_USAGE;
	}
	target = a->pos[0];
	at = strrchr(target, '@');
	if (at == NULL || at == target || (size_t)(at - target) >= sizeof module) {
		fprintf(stderr, "edgectl: '%s' is not MODULE@VERSION (e.g. hello@3 or hello@latest)\n",
			target);
		return CLI_EXIT_USAGE;
	}
	if (wait_timeout(a, spec, &timeout) != 0)
		return CLI_EXIT_USAGE;
	memcpy(module, target, (size_t)(at - target));
	module[at - target] = '\0';
	if (strcmp(at + 1, "latest") == 0) {
		if (latest_version(ctx, module, &version) != 0)
			return CLI_EXIT_FAIL;
	} else if (cli_parse_long(at + 1, 1, 2147483647L, "the version", &version) != 0) {
		return CLI_EXIT_USAGE;
	}
	if (load_strategy(cli_opt_get(a, spec, "strategy"), &strategy) != 0)
		return CLI_EXIT_USAGE;
	body = json_pack("{s:s, s:I}", "module", module, "version", (json_int_t)version);
	if (body == NULL || (strategy != NULL && json_object_set(body, "strategy", strategy) != 0))
		goto oom;
	if ((path = cli_path("/v1/tenants/%s/deployments", ctx->tenant)) == NULL)
		goto oom;
	if (cli_api(ctx, "POST", path, body, &out, NULL) == 0)
		ret = started(ctx, a, spec, out, timeout);
	goto done;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
done:
	free(path);
	json_decref(strategy);
	json_decref(body);
	json_decref(out);
	return ret;
}

CLI_CMD(cli_rollback)
{
	const char *to = cli_opt_get(a, spec, "to");
	json_t *strategy = NULL, *body = json_object(), *out = NULL;
	char *path = NULL;
	long v = 0, timeout;
	int ret = CLI_EXIT_FAIL;

	if (a->npos != 1) {
		fprintf(stderr, "edgectl: rollback needs one MODULE (see --help)\n");
		json_decref(body);
		return CLI_EXIT_USAGE;
	}
	if ((to != NULL && cli_parse_long(to, 1, 2147483647L, "--to", &v) != 0) ||
	    wait_timeout(a, spec, &timeout) != 0 ||
	    load_strategy(cli_opt_get(a, spec, "strategy"), &strategy) != 0) {
		json_decref(body);
		return CLI_EXIT_USAGE;
	}
	if (body == NULL ||
	    (to != NULL && json_object_set_new(body, "to_version", json_integer(v)) != 0) ||
	    (strategy != NULL && json_object_set(body, "strategy", strategy) != 0))
		goto oom;
	if ((path = cli_path("/v1/tenants/%s/modules/%s/rollback", ctx->tenant, a->pos[0])) == NULL)
		goto oom;
	if (cli_api(ctx, "POST", path, body, &out, NULL) == 0)
		ret = started(ctx, a, spec, out, timeout);
	goto done;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
done:
	free(path);
	json_decref(strategy);
	json_decref(body);
	json_decref(out);
	return ret;
}

CLI_CMD(cli_deployments_list)
{
	const char *module = cli_opt_get(a, spec, "module");
	const char *limit_s = cli_opt_get(a, spec, "limit");
	json_t *items = NULL, *next = NULL, *d, *shown;
	long limit = 0;
	size_t i;
	char *path;
	int rc;

	if (a->npos != 0) {
		fprintf(stderr, "edgectl: unexpected argument '%s'\n", a->pos[0]);
		return CLI_EXIT_USAGE;
	}
	if (limit_s != NULL && cli_parse_long(limit_s, 1, 500, "--limit", &limit) != 0)
		return CLI_EXIT_USAGE;
	/* The server filters (so --limit counts this module's deployments), and so does the loop
	 * below, which keeps the option exact against a server that ignores the parameter. */
	/* Newest first, so that --limit N shows the latest N. */
	if (module != NULL)
		path = cli_path("/v1/tenants/%s/deployments?order=desc&module=%s", ctx->tenant, module);
	else
		path = cli_path("/v1/tenants/%s/deployments?order=desc", ctx->tenant);
	if (path == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api_list(ctx, path, limit, &items, &next);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	/* Filtered here, so the option works whatever query parameters the server knows. */
	shown = json_array();
	if (shown == NULL) {
		json_decref(items);
		json_decref(next);
		return CLI_EXIT_FAIL;
	}
	json_array_foreach(items, i, d) {
		const char *m = json_string_value(json_object_get(d, "module"));
		if (module != NULL && (m == NULL || strcmp(m, module) != 0))
			continue;
		if (decorate_deployment(d, false) != 0 || json_array_append(shown, d) != 0) {
			rc = -1;
			break;
		}
	}
	json_decref(items);
	if (rc == 0 && ctx->json) {
		json_t *doc = json_pack("{s:O, s:O}", "items", shown, "next_cursor", next);
		if (doc != NULL)
			cli_json_print(stdout, doc);
		rc = doc != NULL ? 0 : -1;
		json_decref(doc);
	} else if (rc == 0) {
		rc = cli_table_print(stdout, shown, deployment_cols);
	}
	json_decref(next);
	json_decref(shown);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

CLI_CMD(cli_deployments_get)
{
	json_t *d = NULL, *waves, *w;
	char *path;
	size_t i;
	int rc;

	(void)spec;
	if (a->npos != 1) {
		fprintf(stderr, "edgectl: deployments get needs one deployment id\n");
		return CLI_EXIT_USAGE;
	}
	if ((path = cli_path("/v1/tenants/%s/deployments/%s", ctx->tenant, a->pos[0])) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api(ctx, "GET", path, NULL, &d, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json || !json_is_object(d)) {
		cli_json_print(stdout, d);
		json_decref(d);
		return CLI_EXIT_OK;
	}
	rc = decorate_deployment(d, true);
	waves = json_object_get(d, "waves");
	/* Waves numbered as the API numbers them (from 0), so that this table, the events below
	 * and the reason above name the same wave by the same number. */
	json_array_foreach(waves, i, w) {
		if (rc == 0 && json_is_object(w) && json_object_get(w, "index") == NULL)
			rc = json_object_set_new(w, "index", json_integer((json_int_t)i));
	}
	if (rc == 0)
		rc = cli_kv_print(stdout, d, deployment_detail);
	if (rc == 0 && json_array_size(waves) > 0) {
		printf("\n");
		rc = cli_table_print(stdout, waves, wave_cols);
	}
	if (rc == 0 && json_array_size(json_object_get(d, "pops")) > 0) {
		printf("\n");
		rc = cli_table_print(stdout, json_object_get(d, "pops"), dpop_cols);
	}
	if (rc == 0 && json_array_size(json_object_get(d, "events")) > 0) {
		printf("\n");
		rc = cli_table_print(stdout, json_object_get(d, "events"), event_cols);
	}
	json_decref(d);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* pause, resume, promote and abort: POST .../deployments/{id}/<action>; the answer is the
 * deployment as it now is. */
static int control(struct cli_ctx *ctx, const struct cli_args *a, const char *action)
{
	json_t *d = NULL;
	char *path;
	int rc;

	if (a->npos != 1) {
		fprintf(stderr, "edgectl: deployments %s needs one deployment id\n", action);
		return CLI_EXIT_USAGE;
	}
	path = cli_path("/v1/tenants/%s/deployments/%s/%S", ctx->tenant, a->pos[0], action);
	if (path == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api(ctx, "POST", path, NULL, &d, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json)
		cli_json_print(stdout, d);
	else
		printf("deployment %s: %s\n", a->pos[0],
		       str_field(d, "state", "?"));
	json_decref(d);
	return CLI_EXIT_OK;
}

CLI_CMD(cli_deployments_pause)
{
	(void)spec;
	return control(ctx, a, "pause");
}

CLI_CMD(cli_deployments_resume)
{
	(void)spec;
	return control(ctx, a, "resume");
}

CLI_CMD(cli_deployments_promote)
{
	(void)spec;
	return control(ctx, a, "promote");
}

CLI_CMD(cli_deployments_abort)
{
	(void)spec;
	return control(ctx, a, "abort");
}
