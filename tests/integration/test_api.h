/* tests/integration/test_api.h: small helpers shared by the test_api*.c suites (each suite is
 * its own program and includes this once): problem+json checks, creating tenants, modules,
 * PoPs and tokens through the real API, and building small valid Wasm binaries. */
#ifndef TEST_API_H
#define TEST_API_H

#include <check.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/th.h"

/* Asserts r is an application/problem+json error with this status, a detail and a request id
 * equal to the X-Request-Id header. */
static inline void ta_problem(const struct th_resp *r, long status)
{
	const char *ct = th_header(r, "Content-Type");

	ck_assert_msg(r->status == status, "expected %ld, got %ld: %s", status, r->status,
		      r->body ? r->body : "");
	ck_assert_msg(ct != NULL && strcmp(ct, "application/problem+json") == 0,
		      "content type of a %ld: %s", status, ct ? ct : "(none)");
	ck_assert_ptr_nonnull(r->json);
	ck_assert_int_eq(json_integer_value(json_object_get(r->json, "status")), status);
	ck_assert(json_is_string(json_object_get(r->json, "title")));
	ck_assert(json_is_string(json_object_get(r->json, "detail")));
	const char *rid = th_header(r, "X-Request-Id");
	ck_assert_ptr_nonnull(rid);
	ck_assert_str_eq(json_string_value(json_object_get(r->json, "request_id")), rid);
}

/* Request with an expected status; frees the response unless out is given. */
static inline void ta_expect(const struct th_cp *cp, long status, const char *method,
			     const char *path, const char *token, const char *body,
			     struct th_resp *out)
{
	struct th_resp r;

	th_http(&r, method, th_cp_url(cp, path), token, NULL, body, body ? strlen(body) : 0, NULL);
	ck_assert_msg(r.status == status, "%s %s: expected %ld, got %ld: %s", method, path, status,
		      r.status, r.body ? r.body : "");
	if (status >= 400)
		ta_problem(&r, status);
	if (out != NULL)
		*out = r;
	else
		th_resp_free(&r);
}

static inline void ta_tenant(const struct th_cp *cp, const char *slug)
{
	char body[256];

	snprintf(body, sizeof body, "{\"slug\":\"%s\",\"name\":\"Tenant %s\"}", slug, slug);
	ta_expect(cp, 201, "POST", "/v1/tenants", cp->admin_token, body, NULL);
}

static inline void ta_module(const struct th_cp *cp, const char *token, const char *t, const char *m)
{
	char path[256], body[128];

	snprintf(path, sizeof path, "/v1/tenants/%s/modules", t);
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", m);
	ta_expect(cp, 201, "POST", path, token, body, NULL);
}

static inline void ta_pop(const struct th_cp *cp, const char *name)
{
	char body[256];

	snprintf(body, sizeof body, "{\"name\":\"%s\",\"region\":\"eu\",\"labels\":{\"tier\":\"1\"}}", name);
	ta_expect(cp, 201, "POST", "/v1/pops", cp->admin_token, body, NULL);
}

/* A new token's secret (caller frees). tenant/pop may be NULL. */
static inline char *ta_token(const struct th_cp *cp, const char *role, const char *tenant,
			     const char *pop, int ttl)
{
	char body[512], ttl_s[32] = "";
	struct th_resp r;

	if (ttl > 0)
		snprintf(ttl_s, sizeof ttl_s, ",\"ttl_seconds\":%d", ttl);
	snprintf(body, sizeof body, "{\"role\":\"%s\",\"name\":\"t-%s\"%s%s%s%s%s%s%s}", role, role,
		 tenant ? ",\"tenant\":\"" : "", tenant ? tenant : "", tenant ? "\"" : "",
		 pop ? ",\"pop\":\"" : "", pop ? pop : "", pop ? "\"" : "", ttl_s);
	ta_expect(cp, 201, "POST", "/v1/tokens", cp->admin_token, body, &r);
	char *s = strdup(json_string_value(json_object_get(r.json, "secret")));
	th_resp_free(&r);
	ck_assert_ptr_nonnull(s);
	ck_assert(strncmp(s, "ept_", 4) == 0);
	return s;
}

/* Uploads bytes as a version of t/m; the response is left in r. */
static inline void ta_upload(const struct th_cp *cp, const char *token, const char *t,
			     const char *m, const void *bytes, size_t len, const char *ctype,
			     struct th_resp *r)
{
	char path[256];

	snprintf(path, sizeof path, "/v1/tenants/%s/modules/%s/versions", t, m);
	th_http(r, "POST", th_cp_url(cp, path), token, ctype ? ctype : "application/wasm", bytes,
		len, NULL);
}

/* A valid Wasm module: the empty module plus one custom section named "n" holding `pad` bytes
 * of `fill`, so that different (pad, fill) give different digests. Caller frees; *len set. */
static inline unsigned char *ta_wasm(size_t pad, unsigned char fill, size_t *len)
{
	size_t payload = 2 + pad; /* name length byte, name "n", then the padding */
	unsigned char leb[5];
	size_t nleb = 0, v = payload;

	do {
		leb[nleb] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			leb[nleb] |= 0x80;
		nleb++;
	} while (v);
	*len = 8 + 1 + nleb + payload;
	unsigned char *w = malloc(*len);
	ck_assert_ptr_nonnull(w);
	memcpy(w, "\0asm\1\0\0\0", 8);
	w[8] = 0;
	memcpy(w + 9, leb, nleb);
	w[9 + nleb] = 1;
	w[10 + nleb] = 'n';
	memset(w + 11 + nleb, fill, pad);
	return w;
}

#endif
