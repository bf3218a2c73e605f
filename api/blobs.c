/* api/blobs.c: GET /v1/blobs/sha256:{hex}, module bytes by digest for the agents. Content is
 * immutable by construction (the name is its hash), so answers carry a strong ETag and
 * `Cache-Control: immutable`, and a matching If-None-Match gets 304 without the bytes. */
#include "api/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void get_blob(struct api_req *req);

static const struct api_route routes[] = {
	{"GET", "/v1/blobs/sha256:{hex}", API_AGENT, get_blob, 0},
};

void api_blobs_register(struct api_router *r)
{
	api_router_add(r, routes, sizeof routes / sizeof routes[0]);
}

static bool is_sha256_hex(const char *s)
{
	size_t n = 0;

	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return false;
	return n == 64;
}

/* True when the If-None-Match header lists etag (or is "*"). */
static bool etag_matches(const char *inm, const char *etag)
{
	size_t el = strlen(etag);
	const char *p = inm;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, el) == 0 && (p[el] == '\0' || p[el] == ',' || p[el] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

static void get_blob(struct api_req *req)
{
	const char *hex = api_param(req, "hex");
	const char *inm = api_header(req, "If-None-Match");
	char digest[80], etag[84];
	const char *p[1] = {digest};
	PGconn *c;
	PGresult *r;

	if (hex == NULL || !is_sha256_hex(hex)) {
		api_reply_problem(req, 404, "no blob with that digest (want sha256: and 64 lowercase hex digits)");
		return;
	}
	snprintf(digest, sizeof digest, "sha256:%s", hex);
	snprintf(etag, sizeof etag, "\"%s\"", digest);
	if ((c = api_db(req)) == NULL)
		return;
	/* Binary result: the bytes come as they are, without bytea hex escaping. */
	r = PQexecParams(c, inm != NULL ? "SELECT NULL::bytea, size FROM blobs WHERE digest = $1"
					: "SELECT bytes, size FROM blobs WHERE digest = $1",
			 1, NULL, p, NULL, NULL, 1);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		bool gone = PQstatus(c) != CONNECTION_OK;
		PQclear(r);
		api_reply_problem(req, gone ? 503 : 500, gone ? "the database is unavailable"
							      : "internal error (see the server log)");
		return;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		api_reply_problem(req, 404, "no blob %s", digest);
		return;
	}
	api_add_header(req, "ETag", etag);
	api_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
	if (inm != NULL && etag_matches(inm, etag)) {
		PQclear(r);
		api_reply_empty(req, 304);
		return;
	}
	if (inm != NULL) {
		/* The conditional lookup skipped the bytes; fetch them now. */
		PQclear(r);
		r = PQexecParams(c, "SELECT bytes, size FROM blobs WHERE digest = $1", 1, NULL, p, NULL,
				 NULL, 1);
		if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0) {
			PQclear(r);
			api_reply_problem(req, 503, "the database is unavailable");
			return;
		}
	}
	api_reply_bytes(req, 200, "application/wasm", PQgetvalue(r, 0, 0),
			(size_t)PQgetlength(r, 0, 0));
	PQclear(r);
}
