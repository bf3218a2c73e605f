/* agent/desired.h: the PoP's desired state (DESIGN.md "Wire formats": GET /v1/agent/desired),
 * parsed and validated into plain structs, and written back to JSON for the state file. */
#ifndef AGT_DESIRED_H
#define AGT_DESIRED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct agt_desired_module {
	char *tenant;
	char *module;
	int64_t version;
	char *digest;      /* "sha256:<64 lowercase hex>" */
	uint64_t size;
	char *manifest;    /* the manifest object as compact JSON text */
	char *signature;   /* base64 */
	char *blob_url;    /* "/v1/blobs/..." (relative to the control plane) or absolute http(s) */
};

struct agt_desired_route {
	char *tenant;
	char *host;
	char *path;
	char *module;
};

struct agt_desired {
	char *pop;
	int64_t generation;
	size_t n_modules;
	struct agt_desired_module *modules;
	size_t n_routes;
	struct agt_desired_route *routes;
};

/* Parses and validates desired-state JSON text (len bytes, need not be NUL-terminated).
 * Every field of the wire format is checked (types, slugs, digest form, size > 0,
 * version >= 1, generation >= 0, no duplicate tenant/module, route host and path forms).
 * Returns 0 and a new object in *out (caller frees with agt_desired_free), or -EINVAL with the
 * first problem in err ("modules[2].digest: ...") or -ENOMEM. */
int agt_desired_parse(const char *text, size_t len, struct agt_desired **out, char *err,
		      size_t errlen);

/* The module entry of tenant/module, or NULL. */
const struct agt_desired_module *agt_desired_find(const struct agt_desired *d, const char *tenant,
						  const char *module);

/* The wire-format JSON of d (new reference, caller decrefs); NULL when memory runs out. */
json_t *agt_desired_to_json(const struct agt_desired *d);

/* Frees d and everything it holds. NULL is a no-op. */
void agt_desired_free(struct agt_desired *d);

/* True for a tenant/module slug: [a-z0-9][a-z0-9-]{0,62}. */
int agt_slug_ok(const char *s);

#endif
