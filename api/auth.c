/* api/auth.c: bearer-token authentication. A token secret is "ept_" + 32 random bytes in
 * unpadded base64url; only its SHA-256 is stored (tokens.hash), so a database leak does not
 * leak usable tokens. Revoked and expired tokens are 401 like unknown ones. */
#include "api/api_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void api__token_hash_hex(const char *secret, char out[2 + 64 + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, (const unsigned char *)secret, strlen(secret));
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 65, h, sizeof h);
}

static enum api_role role_of(const char *s)
{
	if (strcmp(s, "admin") == 0)
		return API_ROLE_ADMIN;
	if (strcmp(s, "deployer") == 0)
		return API_ROLE_DEPLOYER;
	if (strcmp(s, "reader") == 0)
		return API_ROLE_READER;
	if (strcmp(s, "agent") == 0)
		return API_ROLE_AGENT;
	return API_ROLE_NONE;
}

static int unauthorized(struct api_req *req, const char *why)
{
	api_add_header(req, "WWW-Authenticate", "Bearer realm=\"edgeplane\"");
	api_reply_problem(req, 401, "%s", why);
	return -1;
}

int api__authenticate(struct api_req *req)
{
	const char *h = api_header(req, "Authorization");
	const char *secret;
	char hash[67];
	PGresult *r;

	if (h == NULL)
		return unauthorized(req, "an Authorization: Bearer token is required");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return unauthorized(req, "the Authorization header must be 'Bearer <token>'");
	secret = h + 7;
	while (*secret == ' ')
		secret++;
	if (strncmp(secret, "ept_", 4) != 0 || strlen(secret) != API_TOKEN_SECRET_LEN)
		return unauthorized(req, "the token is not valid");
	api__token_hash_hex(secret, hash);
	const char *params[] = {hash};
	r = api__sql_named(req, "ep_auth",
		    "SELECT t.id, t.name, t.role, coalesce(t.tenant_id::text, ''), coalesce(tn.slug, ''),"
		    "       coalesce(t.pop_id::text, ''), coalesce(p.name, '')"
		    "  FROM tokens t LEFT JOIN tenants tn ON tn.id = t.tenant_id"
		    "  LEFT JOIN pops p ON p.id = t.pop_id"
		    " WHERE t.hash = $1 AND t.revoked_at IS NULL"
		    "   AND (t.expires_at IS NULL OR t.expires_at > now())",
		    1, params);
	if (r == NULL) {
		api_reply_sql_error(req);
		return -1;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		return unauthorized(req, "the token is unknown, revoked or expired");
	}
	struct api_principal *w = &req->who;
	snprintf(w->token_id, sizeof w->token_id, "%s", PQgetvalue(r, 0, 0));
	snprintf(w->token_name, sizeof w->token_name, "%s", PQgetvalue(r, 0, 1));
	w->role = role_of(PQgetvalue(r, 0, 2));
	snprintf(w->tenant_id, sizeof w->tenant_id, "%s", PQgetvalue(r, 0, 3));
	snprintf(w->tenant_slug, sizeof w->tenant_slug, "%s", PQgetvalue(r, 0, 4));
	snprintf(w->pop_id, sizeof w->pop_id, "%s", PQgetvalue(r, 0, 5));
	snprintf(w->pop_name, sizeof w->pop_name, "%s", PQgetvalue(r, 0, 6));
	PQclear(r);
	if (w->role == API_ROLE_NONE)
		return unauthorized(req, "the token has an unknown role");
	return 0;
}
