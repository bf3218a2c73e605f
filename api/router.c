/* api/router.c: the route table (path templates compiled into segments), matching a request
 * to its route (404 / 405 with Allow), and the dispatch pipeline every matched request goes
 * through: authentication, tenant scoping, role check, JSON body, Idempotency-Key, handler. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

static void free_segs(struct api_route_int *ri)
{
	for (int i = 0; i < ri->nsegs; i++)
		free(ri->segs[i].param);
}

/* Splits a template into segments; -1 when it is malformed. */
static int compile_template(const char *path, struct api_route_int *ri)
{
	const char *p = path;

	memset(ri->segs, 0, sizeof ri->segs);
	ri->nsegs = 0;
	ri->literals = 0;
	ri->tenant_scoped = false;
	if (*p != '/')
		return -1;
	while (*p == '/') {
		const char *start = ++p;
		const char *end = start + strcspn(start, "/");
		const char *brace = memchr(start, '{', (size_t)(end - start));
		struct api_seg *sg;

		if (ri->nsegs == API_MAX_SEGMENTS)
			goto fail;
		sg = &ri->segs[ri->nsegs++];
		sg->lit = start;
		if (brace == NULL) {
			sg->lit_len = (size_t)(end - start);
			ri->literals++;
		} else {
			const char *close = memchr(brace, '}', (size_t)(end - brace));
			size_t nl;
			if (close == NULL || close + 1 != end)
				goto fail;
			sg->lit_len = (size_t)(brace - start);
			nl = (size_t)(close - brace - 1);
			if (nl > 1 && brace[nl] == '*') {
				sg->rest = true;
				nl--;
				if (*end != '\0')
					goto fail; /* a rest parameter must be last */
			}
			if (nl == 0)
				goto fail;
			sg->param = strndup(brace + 1, nl);
			if (sg->param == NULL)
				goto fail;
			if (strcmp(sg->param, "t") == 0)
				ri->tenant_scoped = true;
		}
		p = end;
	}
	if (*p != '\0')
		goto fail;
	return 0;
fail:
	free_segs(ri);
	ri->nsegs = 0;
	return -1;
}

int api_router_add(struct api_router *r, const struct api_route *routes, size_t n)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

	for (size_t i = 0; i < n; i++) {
		const struct api_route *rt = &routes[i];
		struct api_route_int ri;
		bool known = false;

		for (size_t m = 0; m < sizeof methods / sizeof methods[0]; m++)
			known |= rt->method != NULL && strcmp(rt->method, methods[m]) == 0;
		if (!known || rt->path == NULL || rt->handler == NULL) {
			r->failed = true;
			log_error("route %s %s: bad method, path or handler", rt->method ? rt->method : "?",
				  rt->path ? rt->path : "?");
			return -1;
		}
		for (size_t j = 0; j < r->n; j++)
			if (strcmp(r->routes[j].r->path, rt->path) == 0 &&
			    strcmp(r->routes[j].r->method, rt->method) == 0) {
				log_error("route %s %s registered twice", rt->method, rt->path);
				r->failed = true;
				return -1;
			}
		memset(&ri, 0, sizeof ri);
		ri.r = rt;
		if (compile_template(rt->path, &ri) < 0) {
			log_error("route %s %s: malformed path template", rt->method, rt->path);
			r->failed = true;
			return -1;
		}
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 64;
			struct api_route_int *nr = realloc(r->routes, cap * sizeof *nr);
			if (nr == NULL) {
				free_segs(&ri);
				r->failed = true;
				return -1;
			}
			r->routes = nr;
			r->cap = cap;
		}
		r->routes[r->n++] = ri;
	}
	return 0;
}

void api__router_free(struct api_router *r)
{
	for (size_t i = 0; i < r->n; i++)
		free_segs(&r->routes[i]);
	free(r->routes);
	memset(r, 0, sizeof *r);
}

/* Matches path against ri's template; on success with `req` given, stores the parameters. */
static bool match_one(const struct api_route_int *ri, const char *path, struct api_req *req)
{
	const char *p = path;
	int np = 0;

	if (*p != '/')
		return false;
	for (int i = 0; i < ri->nsegs; i++) {
		const struct api_seg *sg = &ri->segs[i];
		const char *start, *end;

		if (*p != '/')
			return false;
		start = p + 1;
		end = sg->rest ? start + strlen(start) : start + strcspn(start, "/");
		if ((size_t)(end - start) < sg->lit_len || memcmp(start, sg->lit, sg->lit_len) != 0)
			return false;
		if (sg->param == NULL) {
			if ((size_t)(end - start) != sg->lit_len)
				return false;
		} else {
			const char *v = start + sg->lit_len;
			if (v == end && !sg->rest)
				return false; /* a one-segment parameter is never empty */
			if (req != NULL && np < API_MAX_PARAMS) {
				req->params[np].name = strdup(sg->param);
				req->params[np].value = strndup(v, (size_t)(end - v));
				np++;
			}
		}
		p = end;
	}
	if (*p != '\0')
		return false;
	if (req != NULL)
		req->nparams = np;
	return true;
}

const struct api_route_int *api__route_match(struct api_router *r, struct api_req *req,
					     const char *method, const char *path, char **out_allow)
{
	const struct api_route_int *best = NULL;
	struct buf allow = {0};

	*out_allow = NULL;
	/* The most specific template wins (most literal segments); then the method is chosen
	 * among the routes of exactly that template. */
	for (size_t i = 0; i < r->n; i++) {
		const struct api_route_int *ri = &r->routes[i];
		if (!match_one(ri, path, NULL))
			continue;
		if (best == NULL || ri->literals > best->literals)
			best = ri;
	}
	if (best == NULL)
		return NULL;
	const char *tmpl = best->r->path;
	const struct api_route_int *found = NULL;
	bool has_get = false;
	for (size_t i = 0; i < r->n; i++) {
		const struct api_route_int *ri = &r->routes[i];
		if (strcmp(ri->r->path, tmpl) != 0)
			continue;
		if (strcmp(ri->r->method, method) == 0)
			found = ri;
		has_get |= strcmp(ri->r->method, "GET") == 0;
		if (!buf_printf(&allow, "%s%s", allow.len ? ", " : "", ri->r->method))
			goto oom;
	}
	if (found != NULL) {
		buf_free(&allow);
		match_one(found, path, req);
		return found;
	}
	if (has_get && !buf_puts(&allow, ", HEAD"))
		goto oom;
	if (!buf_puts(&allow, ", OPTIONS"))
		goto oom;
	*out_allow = buf_steal(&allow);
	return NULL;
oom:
	buf_free(&allow);
	*out_allow = strdup("GET");
	return NULL;
}

/* Resolves "{t}": 404 unless the tenant exists and the caller may see it. */
static bool scope_tenant(struct api_req *req)
{
	const char *slug = api_param(req, "t");
	const struct api_principal *who = &req->who;

	if (slug == NULL || !api_is_slug(slug)) {
		api_reply_problem(req, 404, "no tenant named '%s'", slug ? slug : "");
		return false;
	}
	if (who->role != API_ROLE_ADMIN) {
		/* Tokens of one tenant only ever see that tenant; anything else looks absent. */
		if (who->tenant_slug[0] == '\0' || strcmp(who->tenant_slug, slug) != 0) {
			api_reply_problem(req, 404, "no tenant named '%s'", slug);
			return false;
		}
		snprintf(req->tenant_id, sizeof req->tenant_id, "%s", who->tenant_id);
		snprintf(req->tenant_slug, sizeof req->tenant_slug, "%s", slug);
		req->has_tenant = true;
		return true;
	}
	const char *params[] = {slug};
	PGresult *res = api__sql_named(req, "ep_tenant", "SELECT id FROM tenants WHERE slug = $1", 1, params);
	if (res == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	if (PQntuples(res) != 1) {
		PQclear(res);
		api_reply_problem(req, 404, "no tenant named '%s'", slug);
		return false;
	}
	snprintf(req->tenant_id, sizeof req->tenant_id, "%s", PQgetvalue(res, 0, 0));
	snprintf(req->tenant_slug, sizeof req->tenant_slug, "%s", slug);
	req->has_tenant = true;
	PQclear(res);
	return true;
}

static bool role_allows(enum api_access need, enum api_role role)
{
	switch (need) {
	case API_PUBLIC:
		return true;
	case API_AGENT:
		return role == API_ROLE_AGENT;
	case API_READER:
		return role == API_ROLE_READER || role == API_ROLE_DEPLOYER || role == API_ROLE_ADMIN;
	case API_DEPLOYER:
		return role == API_ROLE_DEPLOYER || role == API_ROLE_ADMIN;
	case API_ADMIN:
		return role == API_ROLE_ADMIN;
	case API_TOKEN:
		return role != API_ROLE_NONE;
	}
	return false;
}

/* True when the Content-Type value ct names the media type `type` (parameters ignored). */
static bool media_type_is(const char *ct, const char *type)
{
	size_t n = strlen(type);

	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, type, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Checks the content type and parses a JSON body into req->json. */
static bool parse_json_body(struct api_req *req)
{
	const char *ct = api_header(req, "Content-Type");
	json_error_t jerr;

	if (req->body.len == 0)
		return true;
	/* A body without a Content-Type is read as JSON (what every client of this API sends),
	 * and so is one labelled application/x-www-form-urlencoded: that is the label `curl -d`
	 * and libcurl put on any body they are not told about, and a form body would not parse
	 * as a JSON object anyway. Any other declared type is refused rather than guessed at. */
	if (ct != NULL && !media_type_is(ct, "application/json") &&
	    !media_type_is(ct, "application/x-www-form-urlencoded")) {
		api_reply_problem(req, 415, "the body must be application/json (got %s)", ct);
		return false;
	}
	/* jansson rejects invalid UTF-8 and, with JSON_REJECT_DUPLICATES, repeated keys. */
	req->json = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
	if (req->json == NULL) {
		api_reply_problem(req, 400, "malformed JSON body at line %d column %d: %s", jerr.line,
				  jerr.column, jerr.text);
		return false;
	}
	if (!json_is_object(req->json)) {
		api_reply_problem(req, 400, "the JSON body must be an object");
		return false;
	}
	return true;
}

void api__dispatch(struct api_req *req)
{
	const struct api_route *rt = req->route->r;
	bool idem = false;

	if (rt->access != API_PUBLIC) {
		if (api__authenticate(req) < 0)
			return;
	}
	if (req->route->tenant_scoped && rt->access != API_PUBLIC && !scope_tenant(req))
		return;
	if (!role_allows(rt->access, req->who.role)) {
		api_reply_problem(req, 403, "a %s token may not %s %s",
				  req->who.role == API_ROLE_AGENT ? "agent" :
				  req->who.role == API_ROLE_READER ? "reader" :
				  req->who.role == API_ROLE_DEPLOYER ? "deployer" : "admin",
				  rt->method, rt->path);
		return;
	}
	if (!(rt->flags & API_F_RAW_BODY) && !parse_json_body(req))
		return;
	if (strcmp(rt->method, "POST") == 0 && !api__idem_begin(req, &idem))
		return;
	rt->handler(req);
	if (!req->replied)
		api_reply_problem(req, 500, "the handler produced no answer");
	if (req->in_tx)
		api_tx_rollback(req);
	if (idem)
		api__idem_finish(req);
	/* The connection goes back to the pool before the reply is sent. */
	api__db_release(req);
}
