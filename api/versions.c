/* api/versions.c: module versions. Upload (POST .../modules/{m}/versions, body application/wasm)
 * validates the module fully, stores its bytes once per SHA-256 digest, numbers the version
 * 1, 2, 3... per module, and signs its manifest with the current key; the same bytes again
 * answer the existing version (200). Reads list versions, show one, and return the bytes. */
#include "api/api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/wasmcheck.h"
#include "common/log.h"

#define VERSION_COLS \
	"v.version, v.digest, v.size, v.key_id, v.signature, v.manifest, v.label, " \
	API_RFC3339("v.created_at") ", t.name"
/* created_by names the uploading token (by its name: "by whom" for dashboards and audits). */
#define VERSION_FROM " FROM module_versions v LEFT JOIN tokens t ON t.id = v.created_by"

static json_t *version_json(struct api_req *req, const char *module, const PGresult *r, int i)
{
	json_t *manifest = json_loads(PQgetvalue(r, i, 5), 0, NULL);

	return json_pack("{s:s,s:s,s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o}",
			 "tenant", api_tenant_slug(req), "module", module,
			 "version", (json_int_t)atoll(PQgetvalue(r, i, 0)),
			 "digest", api_pg_str(r, i, 1),
			 "size", (json_int_t)atoll(PQgetvalue(r, i, 2)),
			 "key_id", api_pg_str(r, i, 3),
			 "signature", api_pg_str(r, i, 4),
			 "manifest", manifest ? manifest : json_null(),
			 "label", api_pg_str(r, i, 6),
			 "created_at", api_pg_str(r, i, 7),
			 "created_by", api_pg_str(r, i, 8));
}

/* Looks the module up (404 when absent), locking its row when `lock` so that concurrent
 * uploads number versions one after the other. */
static bool find_module(struct api_req *req, const char *name, bool lock, char out_id[37])
{
	PGresult *r;

	if (!api_is_slug(name)) {
		api_reply_problem(req, 404, "no module named '%s'", name);
		return false;
	}
	const char *p[] = {api_tenant_id(req), name};
	r = api_sql(req, lock ? "SELECT id FROM modules WHERE tenant_id = $1 AND name = $2 FOR UPDATE"
			      : "SELECT id FROM modules WHERE tenant_id = $1 AND name = $2", 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return false;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 404, "no module named '%s'", name);
		return false;
	}
	snprintf(out_id, 37, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return true;
}

static bool content_type_is_wasm(const char *ct)
{
	if (ct == NULL || strncasecmp(ct, "application/wasm", 16) != 0)
		return false;
	return ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ';
}

/* Answers with the version row `version` of module_id (status 200 or 201). */
static void reply_version(struct api_req *req, const char *module, const char *module_id,
			  const char *version, unsigned status)
{
	const char *p[] = {module_id, version};
	PGresult *r = api_sql(req, "SELECT " VERSION_COLS VERSION_FROM
				   " WHERE v.module_id = $1 AND v.version = $2::int", 2, p);

	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1)
		api_reply_problem(req, 404, "no version %s of module '%s'", version, module);
	else
		api_reply_json_take(req, status, version_json(req, module, r, 0));
	PQclear(r);
}

/* Signs the manifest of the new version; fills canonical text and signature. */
static bool sign_new(struct api_req *req, const char *module, long long version,
		     const char *digest, size_t size, const char *created_at, char **out_canon,
		     char out_sig[SIGN_SIGNATURE_B64_LEN + 1])
{
	const sign_key *k = api__signing_key(req);
	struct sign_manifest m;
	char err[256];
	size_t clen;

	memset(&m, 0, sizeof m);
	snprintf(m.tenant, sizeof m.tenant, "%s", api_tenant_slug(req));
	snprintf(m.module, sizeof m.module, "%s", module);
	m.version = (uint64_t)version;
	snprintf(m.digest, sizeof m.digest, "%s", digest);
	m.size = size;
	snprintf(m.created_at, sizeof m.created_at, "%s", created_at);
	snprintf(m.key_id, sizeof m.key_id, "%s", sign_key_id(k));
	if (sign_manifest_canonical(&m, out_canon, &clen, err, sizeof err) != SIGN_OK ||
	    sign_manifest_sign(k, &m, out_sig, err, sizeof err) != SIGN_OK) {
		log_error("request %s: signing failed: %s", req->request_id, err);
		api_reply_problem(req, 500, "the version could not be signed (request %s)", req->request_id);
		return false;
	}
	return true;
}

static void upload_version(struct api_req *req)
{
	const char *module = api_param(req, "m");
	const char *label = api_query(req, "label");
	const sign_key *k = api__signing_key(req);
	char module_id[37], digest[SIGN_DIGEST_LEN + 1], err[600], sizes[32], created_at[32];
	char vtext[32], sig[SIGN_SIGNATURE_B64_LEN + 1], *canon = NULL;
	size_t len;
	const uint8_t *bytes = api_body(req, &len);
	PGresult *r;

	/* Cheap checks first; the module lookup is repeated under lock in the transaction. */
	if (!find_module(req, module, false, module_id))
		return;
	if (!content_type_is_wasm(api_header(req, "Content-Type"))) {
		api_reply_problem(req, 415, "upload the module with Content-Type: application/wasm");
		return;
	}
	if (label != NULL && !api_check_text(req, "label", label, 128))
		return;
	if (len == 0) {
		api_reply_problem(req, 422, "the body is empty: upload the .wasm file's bytes");
		return;
	}
	if (api__wasm_check(bytes, len, err, sizeof err) < 0) {
		api_reply_problem(req, 422, "%s", err);
		return;
	}
	sign_digest(bytes, len, digest);
	snprintf(sizes, sizeof sizes, "%zu", len);

	if (!api_tx_begin(req) || !find_module(req, module, true, module_id))
		return;
	const char *pe[] = {module_id, digest};
	r = api_sql(req, "SELECT version FROM module_versions WHERE module_id = $1 AND digest = $2", 2, pe);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) == 1) {
		/* The same bytes again: nothing new to store or sign. */
		snprintf(vtext, sizeof vtext, "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
		api_tx_rollback(req);
		reply_version(req, module, module_id, vtext, 200);
		return;
	}
	PQclear(r);

	if (!api__key_record(req))
		return;
	const char *pb[] = {digest, sizes, (const char *)bytes};
	int lens[] = {0, 0, (int)len};
	int fmts[] = {0, 0, 1};
	r = api_sql_bin(req, "INSERT INTO blobs (digest, size, bytes) VALUES ($1, $2::bigint, $3)"
			     " ON CONFLICT (digest) DO NOTHING", 3, pb, lens, fmts);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	PQclear(r);
	const char *pm[] = {module_id};
	r = api_sql(req, "SELECT coalesce(max(version), 0) + 1, " API_RFC3339("now()")
			 " FROM module_versions WHERE module_id = $1", 1, pm);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	long long version = atoll(PQgetvalue(r, 0, 0));
	snprintf(created_at, sizeof created_at, "%s", PQgetvalue(r, 0, 1));
	PQclear(r);
	snprintf(vtext, sizeof vtext, "%lld", version);
	if (!sign_new(req, module, version, digest, len, created_at, &canon, sig))
		return;
	const char *pv[] = {module_id, vtext, digest, sizes, label, canon, sig, sign_key_id(k),
			    created_at, api_who(req)->token_id};
	r = api_sql(req, "INSERT INTO module_versions (module_id, version, digest, size, label, manifest,"
			 " signature, key_id, created_at, created_by)"
			 " VALUES ($1, $2::int, $3, $4::bigint, $5, $6, $7, $8, $9::timestamptz, $10::uuid)",
		    10, pv);
	free(canon);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	PQclear(r);
	char target[200];
	snprintf(target, sizeof target, "%s/%s@%lld", api_tenant_slug(req), module, version);
	json_t *detail = json_pack("{s:s,s:I}", "digest", digest, "size", (json_int_t)len);
	bool ok = api_audit(req, api_tenant_id(req), "version.create", target, detail);
	json_decref(detail);
	if (!ok) {
		api_reply_sql_error(req);
		return;
	}
	if (!api_tx_commit(req))
		return;
	char loc[256];
	snprintf(loc, sizeof loc, "/v1/tenants/%s/modules/%s/versions/%lld", api_tenant_slug(req),
		 module, version);
	api_add_header(req, "Location", loc);
	reply_version(req, module, module_id, vtext, 201);
}

static void list_versions(struct api_req *req)
{
	const char *module = api_param(req, "m");
	char module_id[37], after[32], limit[16];
	struct api_page pg;
	PGresult *r;

	if (!api_page_parse(req, &pg) || !find_module(req, module, false, module_id))
		return;
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	const char *p[] = {module_id, after, limit};
	r = api_sql(req, "SELECT " VERSION_COLS VERSION_FROM
			 " WHERE v.module_id = $1 AND v.version > $2::bigint ORDER BY v.version LIMIT $3",
		    3, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	json_t *items = json_array();
	int n = PQntuples(r);
	for (int i = 0; i < n && i < pg.limit; i++)
		json_array_append_new(items, version_json(req, module, r, i));
	int64_t next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, 0)) : -1;
	PQclear(r);
	api_reply_page_take(req, items, next);
}

/* A version number from the path: 1..2^31-1 in plain decimal, else 404 (no such version). */
static bool version_param(struct api_req *req, const char *module, const char **out)
{
	const char *n = api_param(req, "n");
	size_t len = n ? strlen(n) : 0;
	bool ok = len > 0 && len <= 10 && n[0] != '0';

	for (size_t i = 0; ok && i < len; i++)
		ok = n[i] >= '0' && n[i] <= '9';
	if (ok && atoll(n) > 2147483647LL)
		ok = false;
	if (!ok) {
		api_reply_problem(req, 404, "no version '%s' of module '%s' (versions are 1, 2, 3...)",
				  n ? n : "", module);
		return false;
	}
	*out = n;
	return true;
}

static void get_version(struct api_req *req)
{
	const char *module = api_param(req, "m");
	const char *n;
	char module_id[37];

	if (!find_module(req, module, false, module_id) || !version_param(req, module, &n))
		return;
	reply_version(req, module, module_id, n, 200);
}

static void get_version_wasm(struct api_req *req)
{
	const char *module = api_param(req, "m");
	const char *n;
	char module_id[37], etag[SIGN_DIGEST_LEN + 3];
	PGresult *r;

	if (!find_module(req, module, false, module_id) || !version_param(req, module, &n))
		return;
	/* Binary result: the bytes arrive as they are, without hex encoding. */
	const char *p[] = {module_id, n};
	r = api__sql_fmt(req, "SELECT b.bytes, v.digest FROM module_versions v JOIN blobs b ON b.digest = v.digest"
			      " WHERE v.module_id = $1::uuid AND v.version = $2::int",
			 2, p, NULL, NULL, 1);
	if (r == NULL) {
		api_reply_sql_error(req);
		return;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		api_reply_problem(req, 404, "no version %s of module '%s'", n, module);
		return;
	}
	snprintf(etag, sizeof etag, "\"%.*s\"", PQgetlength(r, 0, 1), PQgetvalue(r, 0, 1));
	const char *inm = api_header(req, "If-None-Match");
	if (inm != NULL && strcmp(inm, etag) == 0) {
		PQclear(r);
		api_add_header(req, "ETag", etag);
		api_reply_empty(req, 304);
		return;
	}
	api_reply_bytes(req, 200, "application/wasm", PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	PQclear(r);
	api_add_header(req, "ETag", etag);
	api_add_header(req, "Cache-Control", "private, max-age=31536000, immutable");
}

static const struct api_route version_routes[] = {
	{"POST", "/v1/tenants/{t}/modules/{m}/versions", API_DEPLOYER, upload_version, API_F_RAW_BODY},
	{"GET", "/v1/tenants/{t}/modules/{m}/versions", API_READER, list_versions, 0},
	{"GET", "/v1/tenants/{t}/modules/{m}/versions/{n}", API_READER, get_version, 0},
	{"GET", "/v1/tenants/{t}/modules/{m}/versions/{n}/wasm", API_READER, get_version_wasm, 0},
};

void api__versions_register(struct api_router *r)
{
	API_ADD_TABLE(r, version_routes);
}
