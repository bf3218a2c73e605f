/* api/health.c: /healthz (the process serves) and /readyz (PostgreSQL and Redis both answer
 * within a short timeout, so a load balancer stops sending work to an instance that cannot
 * do it). Redis is checked with a fresh hiredis connection and PING. */
#include "api/api_int.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_TIMEOUT_MS 500

static void handle_healthz(struct api_req *req)
{
	api_reply_json_take(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Splits redis://[user:password@]host[:port][/db] into its parts; -1 when malformed. */
static int parse_redis_url(const char *url, char *host, size_t hostlen, int *port,
			   char *pass, size_t passlen)
{
	const char *p, *at, *end, *colon;

	if (strncmp(url, "redis://", 8) != 0)
		return -1;
	p = url + 8;
	end = p + strcspn(p, "/?");
	at = memchr(p, '@', (size_t)(end - p));
	pass[0] = '\0';
	if (at != NULL) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		const char *ps = c ? c + 1 : p;
		snprintf(pass, passlen, "%.*s", (int)(at - ps), ps);
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	*port = 6379;
	if (colon != NULL) {
		*port = atoi(colon + 1);
		if (*port <= 0 || *port > 65535)
			return -1;
	} else {
		colon = end;
	}
	if (colon == p || (size_t)(colon - p) >= hostlen)
		return -1;
	snprintf(host, hostlen, "%.*s", (int)(colon - p), p);
	return 0;
}

static const char *check_redis(const char *url)
{
	char host[256], pass[256];
	int port;
	struct timeval tv = {0, REDIS_TIMEOUT_MS * 1000};
	redisContext *c;
	redisReply *r;
	const char *verdict = "ok";

	if (parse_redis_url(url, host, sizeof host, &port, pass, sizeof pass) < 0)
		return "bad EDGEPLANE_REDIS_URL";
	c = redisConnectWithTimeout(host, port, tv);
	if (c == NULL || c->err) {
		redisFree(c);
		return "unreachable";
	}
	redisSetTimeout(c, tv);
	if (pass[0] != '\0') {
		r = redisCommand(c, "AUTH %s", pass);
		if (r == NULL || r->type == REDIS_REPLY_ERROR)
			verdict = "authentication failed";
		freeReplyObject(r);
	}
	if (strcmp(verdict, "ok") == 0) {
		r = redisCommand(c, "PING");
		if (r == NULL || r->type == REDIS_REPLY_ERROR)
			verdict = "unreachable";
		freeReplyObject(r);
	}
	redisFree(c);
	return verdict;
}

static const char *check_db(struct api_req *req)
{
	PGresult *r = api_sql(req, "SELECT 1", 0, NULL);

	if (r == NULL)
		return "unreachable";
	PQclear(r);
	return "ok";
}

static void handle_readyz(struct api_req *req)
{
	const char *db = check_db(req);
	const char *redis = check_redis(api_cfg(req)->redis_url);
	json_t *checks = json_pack("{s:s,s:s}", "database", db, "redis", redis);

	if (strcmp(db, "ok") == 0 && strcmp(redis, "ok") == 0) {
		api_reply_json_take(req, 200, json_pack("{s:s,s:o}", "status", "ready", "checks", checks));
		return;
	}
	/* A problem document, with the individual checks as an extension member. */
	api_reply_problem(req, 503, "not ready: database %s, redis %s", db, redis);
	json_t *p = json_loadb(req->resp, req->resp_len, 0, NULL);
	if (p != NULL && checks != NULL) {
		json_object_set(p, "checks", checks);
		char *text = json_dumps(p, JSON_COMPACT);
		if (text != NULL) {
			free(req->resp);
			req->resp = text;
			req->resp_len = strlen(text);
		}
	}
	json_decref(p);
	json_decref(checks);
	api_add_header(req, "Retry-After", "1");
}

static const struct api_route health_routes[] = {
	{"GET", "/healthz", API_PUBLIC, handle_healthz, API_F_NO_DB},
	{"GET", "/readyz", API_PUBLIC, handle_readyz, 0},
};

void api__health_register(struct api_router *r)
{
	API_ADD_TABLE(r, health_routes);
}
