/* api/server.c: assembling the API server: every registration function (ours, then the
 * scheduler's and the dashboard's), the OpenAPI document, the signing key, CORS origins. */
#include "api/api_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/asset.h"
#include "common/log.h"

static char **split_origins(const char *list)
{
	size_t n = 1;
	char **out;
	const char *p;

	for (p = list; *p; p++)
		n += *p == ',';
	out = calloc(n + 1, sizeof *out);
	if (out == NULL)
		return NULL;
	n = 0;
	p = list;
	while (*p) {
		const char *end = p + strcspn(p, ",");
		const char *a = p, *b = end;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '/'))
			b--;
		if (b > a) {
			out[n] = strndup(a, (size_t)(b - a));
			if (out[n] == NULL)
				break;
			n++;
		}
		p = *end ? end + 1 : end;
	}
	return out;
}

static void free_origins(char **o)
{
	for (size_t i = 0; o != NULL && o[i] != NULL; i++)
		free(o[i]);
	free(o);
}

static int load_openapi(struct api_server *s, char *err, size_t errlen)
{
	char path[4096];
	FILE *f;
	struct buf b = {0};
	char chunk[8192];
	size_t n;

	if (asset_find("EDGEPLANE_OPENAPI", "api/openapi.json", path, sizeof path) < 0) {
		snprintf(err, errlen, "OpenAPI document not found (tried %s; set EDGEPLANE_OPENAPI)", path);
		return -1;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		snprintf(err, errlen, "cannot open %s", path);
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (!buf_append(&b, chunk, n)) {
			fclose(f);
			buf_free(&b);
			snprintf(err, errlen, "out of memory reading %s", path);
			return -1;
		}
	fclose(f);
	json_error_t jerr;
	json_t *doc = json_loadb(b.data ? b.data : "", b.len, 0, &jerr);
	if (doc == NULL) {
		snprintf(err, errlen, "%s: line %d: %s", path, jerr.line, jerr.text);
		buf_free(&b);
		return -1;
	}
	json_decref(doc);
	s->openapi_len = b.len;
	s->openapi = buf_steal(&b);
	return 0;
}

/* Records the current signing key's public half, so GET /v1/keys can list it at once and old
 * versions stay verifiable after rotation. Best effort: uploads record it again. */
static void record_key(struct api_server *s)
{
	PGconn *c = s->db.acquire(s->db.ud, s->cfg->db_timeout_ms);
	const char *p[2];
	PGresult *r;

	if (c == NULL) {
		log_warn("signing key %s not recorded yet: database unavailable", sign_key_id(s->key));
		return;
	}
	p[0] = sign_key_id(s->key);
	p[1] = sign_key_public_b64(s->key);
	r = PQexecParams(c, "INSERT INTO signing_keys (key_id, public_key) VALUES ($1, $2)"
			    " ON CONFLICT (key_id) DO NOTHING", 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		log_warn("signing key not recorded: %s", PQresultErrorMessage(r));
	PQclear(r);
	s->db.release(s->db.ud, c, PQstatus(c) != CONNECTION_OK);
}

/* Every part's routes, in the order the router sees them. */
static void register_all(struct api_router *r)
{
	api__health_register(r);
	api__metrics_register(r);
	api__openapi_register(r);
	api__keys_register(r);
	api__tenants_register(r);
	api__domains_register(r);
	api__tokens_register(r);
	api__modules_register(r);
	api__versions_register(r);
	api__routes_register(r);
	api__pops_register(r);
	api__audit_register(r);
	api_deployments_register(r);
	api_agent_register(r);
	api_blobs_register(r);
	api_ui_register(r);
}

json_t *api_route_table(void)
{
	static const char *const access[] = {"public", "agent", "reader", "deployer", "admin",
					     "token"};
	struct api_router r;
	json_t *out = json_array();

	memset(&r, 0, sizeof r);
	register_all(&r);
	if (r.failed || out == NULL) {
		api__router_free(&r);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < r.n; i++) {
		const struct api_route *rt = r.routes[i].r;
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:b}", "method", rt->method,
						     "path", rt->path, "access", access[rt->access],
						     "documented", !(rt->flags & API_F_UNDOCUMENTED)));
	}
	api__router_free(&r);
	return out;
}

struct api_server *api_server_create(const struct api_config *cfg, const struct api_db_ops *db,
				     char *err, size_t errlen)
{
	struct api_server *s;
	char serr[256];

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium could not be initialised");
		return NULL;
	}
	s = calloc(1, sizeof *s);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->cfg = cfg;
	s->db = *db;
	s->started = time(NULL);
	pthread_mutex_init(&s->metrics_mu, NULL);
	atomic_init(&s->inflight, 0);
	atomic_init(&s->draining, false);

	register_all(&s->router);
	if (s->router.failed) {
		snprintf(err, errlen, "the route table is inconsistent (see the log)");
		goto fail;
	}
	if (load_openapi(s, err, errlen) < 0)
		goto fail;
	if (sign_key_load(cfg->signing_key, &s->key, serr, sizeof serr) != SIGN_OK) {
		snprintf(err, errlen, "signing key %s: %s (create one with `edgeplane keygen`)",
			 cfg->signing_key, serr);
		goto fail;
	}
	s->cors = split_origins(cfg->cors_origins ? cfg->cors_origins : "");
	if (s->cors == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	record_key(s);
	return s;
fail:
	api_server_destroy(s);
	return NULL;
}

void api_server_destroy(struct api_server *s)
{
	if (s == NULL)
		return;
	if (s->daemon != NULL)
		api_server_drain(s, 10000);
	api__router_free(&s->router);
	api__metrics_free(s);
	free(s->openapi);
	sign_key_destroy(s->key);
	free_origins(s->cors);
	pthread_mutex_destroy(&s->metrics_mu);
	free(s);
}

/* The signing key of the server a request came in on (versions.c and keys.c). */
const sign_key *api__signing_key(const struct api_req *req)
{
	return req->srv->key;
}
