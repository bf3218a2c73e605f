/* cli/cmd_fleet.c: the fleet and its trust: pops create|list|get (each PoP with its agents and
 * the module versions it runs), keys list (also as a ready-made agent trust file), and the
 * audit log. */
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/http.h"
#include "common/buf.h"

static const struct cli_col pop_cols[] = {
	{"NAME", "name"}, {"REGION", "region"}, {"AGENTS", "_agents"},
	{"LAST HEARTBEAT", "_heartbeat"}, {"RUNNING", "_running"}, {0}};
static const struct cli_col pop_detail[] = {
	{"Name", "name"}, {"Region", "region"}, {"Labels", "labels"}, {"Agents", "_agents"},
	{"Last heartbeat", "_heartbeat"}, {"Running", "_running"}, {"Created", "created_at"}, {0}};
static const struct cli_col key_cols[] = {
	{"KEY ID", "key_id"}, {"ALGORITHM", "algorithm"}, {"STATE", "state"},
	{"CREATED", "created_at"}, {"PUBLIC KEY", "public_key"}, {0}};
static const struct cli_col audit_cols[] = {
	{"AT", "_at"}, {"ACTOR", "_actor"}, {"TENANT", "tenant"}, {"ACTION", "action"},
	{"TARGET", "_target"}, {"REQUEST ID", "request_id"}, {0}};

/* The first of several field names a server may use for the same thing (borrowed). */
static json_t *first_field(json_t *obj, const char *const *names)
{
	for (; *names != NULL; names++) {
		json_t *v = cli_json_path(obj, *names);
		if (v != NULL && !json_is_null(v))
			return v;
	}
	return NULL;
}

/* "tenant/module@version" for each running module of a PoP, with its state when not active. */
static int running_text(json_t *pop, struct buf *b)
{
	static const char *const lists[] = {"modules", "running", "running_versions", NULL};
	json_t *mods = first_field(pop, lists), *m;
	size_t i;

	if (!json_is_array(mods) || json_array_size(mods) == 0)
		return buf_puts(b, "-") ? 0 : -1;
	json_array_foreach(mods, i, m) {
		const char *tenant = json_string_value(json_object_get(m, "tenant"));
		const char *module = json_string_value(json_object_get(m, "module"));
		const char *state = json_string_value(json_object_get(m, "state"));
		json_t *ver = json_object_get(m, "version");
		if (ver == NULL)
			ver = json_object_get(m, "observed_version");
		if (i > 0 && !buf_puts(b, " "))
			return -1;
		if (tenant != NULL && !buf_printf(b, "%s/", tenant))
			return -1;
		if (!buf_printf(b, "%s@", module ? module : "?"))
			return -1;
		if (!(json_is_integer(ver) ? buf_printf(b, "%lld", (long long)json_integer_value(ver))
					   : buf_puts(b, "?")))
			return -1;
		if (state != NULL && strcmp(state, "active") != 0 && !buf_printf(b, "(%s)", state))
			return -1;
	}
	return 0;
}

/* Adds the derived "_agents", "_heartbeat" and "_running" fields the tables show. */
static int decorate_pop(json_t *pop)
{
	static const char *const hb_names[] = {"last_heartbeat_at", "last_heartbeat",
					       "agent.last_heartbeat_at", NULL};
	json_t *agents = json_object_get(pop, "agents"), *hb = first_field(pop, hb_names), *ag;
	struct buf b = {0};
	size_t i;
	int rc = -1;

	if (json_is_array(agents)) {
		/* The newest heartbeat of any of the PoP's agents. */
		json_array_foreach(agents, i, ag) {
			json_t *t = first_field(ag, hb_names);
			if (json_is_string(t) &&
			    (hb == NULL || !json_is_string(hb) ||
			     strcmp(json_string_value(t), json_string_value(hb)) > 0))
				hb = t;
		}
		if (json_object_set_new(pop, "_agents", json_integer((json_int_t)json_array_size(agents))) != 0)
			goto done;
	}
	if (hb != NULL && json_object_set(pop, "_heartbeat", hb) != 0)
		goto done;
	if (running_text(pop, &b) != 0 || !buf_reserve(&b, 0))
		goto done;
	if (json_object_set_new(pop, "_running", json_string(b.data)) != 0)
		goto done;
	rc = 0;
done:
	buf_free(&b);
	return rc;
}

CLI_CMD(cli_pops_create)
{
	const char *region = cli_opt_get(a, spec, "region");
	const char *label = cli_opt_get(a, spec, "labels");
	const char *name = cli_opt_get(a, spec, "name");
	json_t *body = NULL, *labels = json_object(), *out = NULL;
	int rc = CLI_EXIT_FAIL;

	if (labels == NULL)
		goto oom;
	if (name == NULL && a->npos == 1)
		name = a->pos[0];
	if (name == NULL || a->npos > (cli_opt_has(a, spec, "name") ? 0 : 1) || region == NULL) {
		fprintf(stderr, "edgectl: pops create needs a PoP name and --region (see --help)\n");
		json_decref(labels);
		return CLI_EXIT_USAGE;
	}
	/* --labels k=v,k2=v2 */
	if (label != NULL && label[0] != '\0') {
		char *copy = strdup(label), *save = NULL;
		if (copy == NULL)
			goto oom;
		for (char *kv = strtok_r(copy, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
			char *eq = strchr(kv, '=');
			if (eq == NULL || eq == kv) {
				fprintf(stderr, "edgectl: --labels wants key=value pairs, not '%s'\n", kv);
				free(copy);
				json_decref(labels);
				return CLI_EXIT_USAGE;
			}
			*eq = '\0';
			/* jansson refuses text that is not UTF-8: say so rather than "no memory". */
			json_t *v = json_string(eq + 1);
			if (v == NULL || json_object_set_new(labels, kv, v) != 0) {
				fprintf(stderr, "edgectl: --labels: '%s' is not a valid label\n", kv);
				free(copy);
				json_decref(labels);
				return CLI_EXIT_USAGE;
			}
		}
		free(copy);
	}
	body = json_pack("{s:s, s:s, s:o}", "name", name, "region", region,
			 "labels", labels);
	labels = NULL; /* owned by body now (or freed by json_pack on failure) */
	if (body == NULL)
		goto oom;
	if (cli_api(ctx, "POST", "/v1/pops", body, &out, NULL) == 0) {
		if (json_is_object(out) && decorate_pop(out) != 0)
			goto oom;
		rc = cli_show_obj(ctx, out, pop_detail) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	json_decref(body);
	json_decref(out);
	return rc;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
	json_decref(labels);
	json_decref(body);
	json_decref(out);
	return CLI_EXIT_FAIL;
}

CLI_CMD(cli_pops_list)
{
	const char *limit_s = cli_opt_get(a, spec, "limit");
	json_t *items = NULL, *next = NULL, *p;
	long limit = 0;
	size_t i;
	int rc;

	if (a->npos != 0) {
		fprintf(stderr, "edgectl: unexpected argument '%s'\n", a->pos[0]);
		return CLI_EXIT_USAGE;
	}
	if (limit_s != NULL && cli_parse_long(limit_s, 1, 500, "--limit", &limit) != 0)
		return CLI_EXIT_USAGE;
	if (cli_api_list(ctx, "/v1/pops", limit, &items, &next) != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json) {
		rc = cli_print_page(items, next);
		json_decref(items);
		json_decref(next);
		return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	json_decref(next);
	json_array_foreach(items, i, p) {
		if (json_is_object(p) && decorate_pop(p) != 0) {
			json_decref(items);
			fprintf(stderr, "edgectl: out of memory\n");
			return CLI_EXIT_FAIL;
		}
	}
	rc = cli_table_print(stdout, items, pop_cols);
	json_decref(items);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

CLI_CMD(cli_pops_get)
{
	json_t *out = NULL;
	char *path;
	int rc;

	(void)spec;
	if (a->npos != 1) {
		fprintf(stderr, "edgectl: pops get needs exactly one PoP name\n");
		return CLI_EXIT_USAGE;
	}
	if ((path = cli_path("/v1/pops/%s", a->pos[0])) == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api(ctx, "GET", path, NULL, &out, NULL);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json) {
		cli_json_print(stdout, out);
		json_decref(out);
		return CLI_EXIT_OK;
	}
	rc = json_is_object(out) ? decorate_pop(out) : -1;
	if (rc == 0)
		rc = cli_kv_print(stdout, out, pop_detail);
	/* Then one line per agent: what it reported and when. */
	if (rc == 0 && json_array_size(json_object_get(out, "agents")) > 0) {
		static const struct cli_col agent_cols[] = {
			{"AGENT", "name"}, {"VERSION", "version"}, {"GENERATION", "generation"},
			{"UPTIME (S)", "uptime_seconds"}, {"LAST HEARTBEAT", "last_heartbeat"}, {0}};
		printf("\n");
		rc = cli_table_print(stdout, json_object_get(out, "agents"), agent_cols);
	}
	json_decref(out);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

CLI_CMD(cli_keys_list)
{
	json_t *items = NULL, *k;
	size_t i;
	int rc;

	if (a->npos != 0) {
		fprintf(stderr, "edgectl: unexpected argument '%s'\n", a->pos[0]);
		return CLI_EXIT_USAGE;
	}
	if (cli_api_list(ctx, "/v1/keys", 0, &items, NULL) != 0)
		return CLI_EXIT_FAIL;
	if (cli_opt_has(a, spec, "trust-file")) {
		/* The agent's trust file format: "KEYID BASE64" per line. Retired keys stay listed:
		 * versions they signed are still deployed until redeployed under the new key. */
		printf("# Edgeplane signing keys from %s\n", ctx->url);
		json_array_foreach(items, i, k) {
			const char *id = json_string_value(json_object_get(k, "key_id"));
			const char *pub = json_string_value(json_object_get(k, "public_key"));
			if (id != NULL && pub != NULL)
				printf("%s %s\n", id, pub);
		}
		rc = 0;
	} else if (ctx->json) {
		rc = cli_print_page(items, NULL);
	} else {
		rc = cli_table_print(stdout, items, key_cols);
	}
	json_decref(items);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

/* Adds "_at", "_actor", "_target" from whichever names the server uses. */
static int decorate_audit(json_t *e)
{
	static const char *const at[] = {"at", "created_at", "time", NULL};
	static const char *const actor[] = {"actor.name", "actor_name", "token_name", "actor", NULL};
	static const char *const target[] = {"target", "resource", "path", NULL};
	json_t *v;

	if ((v = first_field(e, at)) != NULL && json_object_set(e, "_at", v) != 0)
		return -1;
	if ((v = first_field(e, actor)) != NULL && json_object_set(e, "_actor", v) != 0)
		return -1;
	if ((v = first_field(e, target)) != NULL && json_object_set(e, "_target", v) != 0)
		return -1;
	return 0;
}

CLI_CMD(cli_audit)
{
	const char *limit_s = cli_opt_get(a, spec, "limit");
	json_t *items = NULL, *next = NULL, *e;
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
	/* Newest first (so --limit N shows the latest N), with the filters the API applies:
	 * tenant (admins; readers see their own), action, since. */
	{
		const char *action = cli_opt_get(a, spec, "action");
		const char *since = cli_opt_get(a, spec, "since");
		struct buf q = {0};
		bool ok = buf_puts(&q, "/v1/audit?order=desc");
		char sep = '&';
		const char *names[] = {"tenant", "action", "since"};
		const char *vals[] = {ctx->tenant, action, since};
		for (int i = 0; i < 3 && ok; i++) {
			char *esc;
			if (vals[i] == NULL)
				continue;
			esc = cli_path("%s", vals[i]);
			ok = esc != NULL && buf_printf(&q, "%c%s=%s", sep, names[i], esc);
			free(esc);
			sep = '&';
		}
		if (!ok) {
			buf_free(&q);
			fprintf(stderr, "edgectl: out of memory\n");
			return CLI_EXIT_FAIL;
		}
		path = buf_steal(&q);
	}
	if (path == NULL)
		return CLI_EXIT_FAIL;
	rc = cli_api_list(ctx, path, limit, &items, &next);
	free(path);
	if (rc != 0)
		return CLI_EXIT_FAIL;
	if (ctx->json) {
		rc = cli_print_page(items, next);
		json_decref(items);
		json_decref(next);
		return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
	}
	json_decref(next);
	json_array_foreach(items, i, e) {
		if (json_is_object(e) && decorate_audit(e) != 0) {
			json_decref(items);
			fprintf(stderr, "edgectl: out of memory\n");
			return CLI_EXIT_FAIL;
		}
	}
	rc = cli_table_print(stdout, items, audit_cols);
	json_decref(items);
	return rc == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
