/* api/keys.c: GET /v1/keys (anyone): every public signing key ever used, the one this server
 * signs with now marked "current", the others "retired" (agents keep trusting retired keys as
 * long as versions signed by them run). */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool api__key_record(struct api_req *req)
{
	const sign_key *k = api__signing_key(req);
	const char *pk[] = {sign_key_id(k), sign_key_public_b64(k)};
	PGresult *r = api_sql(req, "INSERT INTO signing_keys (key_id, public_key) VALUES ($1, $2)"
				   " ON CONFLICT (key_id) DO NOTHING", 2, pk);

	if (r == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	PQclear(r);
	return true;
}

static void list_keys(struct api_req *req)
{
	const char *current = sign_key_id(api__signing_key(req));
	struct api_page pg;
	char after[32], limit[16];
	PGresult *r;

	if (!api_page_parse(req, &pg))
		return;
	/* The server records its key at start-up, but only when the database answered then;
	 * recording it here too means the list never lacks the key that signs new versions,
	 * which is the one a new agent must trust first. */
	if (!api__key_record(req))
		return;
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	const char *p[] = {after, limit};
	/* Keys have no sequence column: the row number in creation order serves as the key. */
	r = api_sql(req, "SELECT * FROM (SELECT key_id, public_key, algorithm, " API_RFC3339("created_at") ","
			 " row_number() OVER (ORDER BY created_at, key_id) AS n FROM signing_keys) k"
			 " WHERE n > $1 ORDER BY n LIMIT $2", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	json_t *items = json_array();
	int n = PQntuples(r);
	for (int i = 0; items != NULL && i < n && i < pg.limit; i++) {
		const char *id = PQgetvalue(r, i, 0);
		if (json_array_append_new(items,
			json_pack("{s:o,s:o,s:o,s:s,s:o}", "key_id", api_pg_str(r, i, 0),
				  "public_key", api_pg_str(r, i, 1), "algorithm", api_pg_str(r, i, 2),
				  "state", strcmp(id, current) == 0 ? "current" : "retired",
				  "created_at", api_pg_str(r, i, 3))) != 0) {
			json_decref(items);
			items = NULL;
		}
	}
	if (items == NULL) {
		PQclear(r);
		api_reply_problem(req, 500, "out of memory listing keys");
		return;
	}
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 4)) : -1;
	PQclear(r);
	api_reply_page_take(req, items, next);
}

static const struct api_route key_routes[] = {
	{"GET", "/v1/keys", API_PUBLIC, list_keys, 0},
};

void api__keys_register(struct api_router *r)
{
	API_ADD_TABLE(r, key_routes);
}
