/* api/idempotency.c: Idempotency-Key on POST. The first request with a key (per token) claims
 * it with a pending row before the handler runs; when it completes, its status and body are
 * stored. A repeat with the same body gets that stored answer (nothing is done twice); a
 * repeat with another body is 422; a repeat while the first still runs is 409. Server errors
 * (5xx) release the key so the client can retry. Keys are kept for 24 hours. */
#include "api/api_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* A request whose key was claimed but never finished (crash) is taken over after this. */
#define IDEM_STALE "60 seconds"

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	(void)kind;
	crypto_hash_sha256_update(cls, (const unsigned char *)key, strlen(key) + 1);
	if (value != NULL)
		crypto_hash_sha256_update(cls, (const unsigned char *)value, strlen(value) + 1);
	return MHD_YES;
}

/* SHA-256 over method, path, query arguments and body: "the same request". */
static void request_hash(struct api_req *req, char out[67])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)req->method, strlen(req->method) + 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)req->path, strlen(req->path) + 1);
	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_arg, &st);
	if (req->body.len > 0)
		crypto_hash_sha256_update(&st, (const unsigned char *)req->body.data, req->body.len);
	crypto_hash_sha256_final(&st, h);
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 65, h, sizeof h);
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e)
			return false;
	return true;
}

bool api__idem_begin(struct api_req *req, bool *out_tracking)
{
	const char *key = api_header(req, "Idempotency-Key");
	char hash[67];
	PGresult *r;

	*out_tracking = false;
	if (key == NULL)
		return true;
	if (!key_ok(key)) {
		api_reply_problem(req, 400, "Idempotency-Key must be 1 to 255 visible ASCII characters");
		return false;
	}
	request_hash(req, hash);
	const char *ins[] = {req->who.token_id, key, hash};
	/* Claim the key, or take over a claim abandoned long ago. */
	r = api_sql(req,
		    "INSERT INTO idempotency_keys (token_id, key, request_hash) VALUES ($1, $2, $3)"
		    " ON CONFLICT (token_id, key) DO UPDATE SET created_at = now(), request_hash = $3"
		    "   WHERE idempotency_keys.status IS NULL"
		    "     AND idempotency_keys.created_at < now() - interval '" IDEM_STALE "'"
		    "     AND idempotency_keys.request_hash = $3"
		    " RETURNING 1",
		    3, ins);
	if (r == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	bool claimed = PQntuples(r) == 1;
	PQclear(r);
	if (claimed) {
		*out_tracking = true;
		/* Now and then, forget keys older than a day. */
		if (randombytes_uniform(100) == 0) {
			r = api_sql(req, "DELETE FROM idempotency_keys WHERE created_at < now() - interval '24 hours'",
				    0, NULL);
			PQclear(r);
		}
		return true;
	}
	const char *sel[] = {req->who.token_id, key};
	r = api_sql(req,
		    "SELECT request_hash = $3::bytea, status, content_type, body FROM idempotency_keys"
		    " WHERE token_id = $1 AND key = $2",
		    3, (const char *const[]){sel[0], sel[1], hash});
	if (r == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 409, "Idempotency-Key is being reused concurrently; retry");
		return false;
	}
	if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
		PQclear(r);
		api_reply_problem(req, 422, "Idempotency-Key was already used with a different request");
		return false;
	}
	if (PQgetisnull(r, 0, 1)) {
		PQclear(r);
		api_reply_problem(req, 409, "a request with this Idempotency-Key is still in progress");
		return false;
	}
	unsigned status = (unsigned)atoi(PQgetvalue(r, 0, 1));
	size_t blen = 0;
	unsigned char *body = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 3), &blen);
	if (body == NULL) {
		PQclear(r);
		api_reply_problem(req, 503, "out of memory");
		return false;
	}
	api_reply_bytes(req, status, PQgetisnull(r, 0, 2) ? NULL : PQgetvalue(r, 0, 2), body, blen);
	PQfreemem(body);
	PQclear(r);
	api_add_header(req, "Idempotent-Replayed", "true");
	return false;
}

void api__idem_finish(struct api_req *req)
{
	const char *key = api_header(req, "Idempotency-Key");
	PGresult *r;
	char status[16];

	if (req->status >= 500) {
		const char *p[] = {req->who.token_id, key};
		r = api_sql(req, "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2", 2, p);
		PQclear(r);
		return;
	}
	snprintf(status, sizeof status, "%u", req->status);
	const char *body = req->resp ? req->resp : "";
	size_t blen = req->resp_len;
	char *scrubbed = NULL;
	if (req->route->r->flags & API_F_SECRET_ANSWER) {
		json_t *j = json_loadb(body, blen, 0, NULL);
		if (j != NULL && json_object_get(j, "secret") != NULL) {
			json_object_set_new(j, "secret", json_null());
			scrubbed = json_dumps(j, JSON_COMPACT);
		}
		json_decref(j);
		if (scrubbed == NULL) {
			/* Cannot store it safely: forget the key rather than keep a secret. */
			const char *pd[] = {req->who.token_id, key};
			r = api_sql(req, "DELETE FROM idempotency_keys WHERE token_id = $1 AND key = $2", 2, pd);
			PQclear(r);
			return;
		}
		body = scrubbed;
		blen = strlen(scrubbed);
	}
	const char *p[] = {req->who.token_id, key, status, req->resp_type, body};
	int lens[] = {0, 0, 0, 0, (int)blen};
	int fmts[] = {0, 0, 0, 0, 1};
	r = api_sql_bin(req,
			"UPDATE idempotency_keys SET status = $3::int, content_type = $4, body = $5"
			" WHERE token_id = $1 AND key = $2",
			5, p, lens, fmts);
	free(scrubbed);
	if (r == NULL)
		log_warn("request %s: could not store the idempotent answer (%s)", req->request_id,
			 req->sqlstate);
	PQclear(r);
}
