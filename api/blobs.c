/* api/blobs.c: GET /v1/blobs/sha256:{hex}, module bytes by digest for the agents. Content is
 * immutable by construction (the name is its hash), so answers carry a strong ETag and
 * `Cache-Control: immutable`, a matching If-None-Match gets 304 without the bytes, and the
 * process keeps recently served blobs in memory: a rollout sends the same bytes to every PoP
 * at once, and no invalidation is ever needed. */
#include "api/api.h"

#include <pthread.h>
#include <stdint.h>
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

/* ---- the in-memory cache --------------------------------------------------------------------- */

#define CACHE_SLOTS 64
#define CACHE_MAX_BYTES (64u << 20) /* in total */
#define CACHE_MAX_ENTRY (16u << 20) /* larger blobs are always read from PostgreSQL */

static struct {
	pthread_mutex_t mu;
	struct {
		char digest[80];
		uint8_t *bytes; /* NULL: free slot */
		size_t len;
		uint64_t used; /* clock of the last hit */
	} slot[CACHE_SLOTS];
	size_t total;
	uint64_t clock;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Replies with the cached bytes of digest; false on a miss. The copy into the reply happens
 * under the lock, so an eviction cannot free the bytes underneath it. */
static bool cache_reply(struct api_req *req, const char *digest)
{
	bool hit = false;

	pthread_mutex_lock(&cache.mu);
	for (int i = 0; i < CACHE_SLOTS; i++)
		if (cache.slot[i].bytes != NULL && strcmp(cache.slot[i].digest, digest) == 0) {
			cache.slot[i].used = ++cache.clock;
			api_reply_bytes(req, 200, "application/wasm", cache.slot[i].bytes,
					cache.slot[i].len);
			hit = true;
			break;
		}
	pthread_mutex_unlock(&cache.mu);
	return hit;
}

/* Keeps a copy (best effort: nothing happens when memory is short or the blob is large). */
static void cache_put(const char *digest, const void *bytes, size_t len)
{
	uint8_t *copy;

	if (len > CACHE_MAX_ENTRY || (copy = malloc(len ? len : 1)) == NULL)
		return;
	memcpy(copy, bytes, len);
	pthread_mutex_lock(&cache.mu);
	for (;;) {
		int free_slot = -1, oldest = -1;
		for (int i = 0; i < CACHE_SLOTS; i++) {
			if (cache.slot[i].bytes == NULL) {
				if (free_slot < 0)
					free_slot = i;
			} else if (strcmp(cache.slot[i].digest, digest) == 0) {
				free_slot = -2; /* another request cached it meanwhile */
				break;
			} else if (oldest < 0 || cache.slot[i].used < cache.slot[oldest].used) {
				oldest = i;
			}
		}
		if (free_slot == -2) {
			free(copy);
			break;
		}
		if (free_slot >= 0 && cache.total + len <= CACHE_MAX_BYTES) {
			snprintf(cache.slot[free_slot].digest, sizeof cache.slot[free_slot].digest,
				 "%s", digest);
			cache.slot[free_slot].bytes = copy;
			cache.slot[free_slot].len = len;
			cache.slot[free_slot].used = ++cache.clock;
			cache.total += len;
			break;
		}
		/* Make room: evict the least recently used. */
		cache.total -= cache.slot[oldest].len;
		free(cache.slot[oldest].bytes);
		cache.slot[oldest].bytes = NULL;
	}
	pthread_mutex_unlock(&cache.mu);
}

/* Copies the 64 hex digits of a SHA-256 into out in lower case (digests are stored that
 * way; upper case is the same digest). False when s is anything else. */
static bool sha256_hex_lower(const char *s, char out[65])
{
	size_t n = 0;

	for (; s[n] != '\0'; n++) {
		char ch = s[n];
		if (n >= 64)
			return false;
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return false;
		out[n] = ch;
	}
	out[n] = '\0';
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
	const char *raw = api_param(req, "hex");
	const char *inm = api_header(req, "If-None-Match");
	char hex[65], digest[80], etag[84];
	const char *p[1] = {digest};
	PGconn *c;
	PGresult *r;

	/* A malformed name is the caller's mistake (400), not a blob that might exist later. */
	if (raw == NULL || !sha256_hex_lower(raw, hex)) {
		api_reply_problem(req, 400, "a blob is named sha256: and 64 hex digits");
		return;
	}
	snprintf(digest, sizeof digest, "sha256:%s", hex);
	snprintf(etag, sizeof etag, "\"%s\"", digest);
	if (inm == NULL && cache_reply(req, digest)) {
		api_add_header(req, "ETag", etag);
		api_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
		return;
	}
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
	cache_put(digest, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
}
