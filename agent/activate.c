/* agent/activate.c: one module from desired entry to compiled code, in the order DESIGN.md
 * requires: the manifest's signature against the trust set first (nothing unsigned is even
 * downloaded), then the bytes (cache or fetch) against the signed digest and size, then the
 * compile. Nothing here touches what is serving. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/cache.h"
#include "agent/fetch.h"
#include "common/log.h"
#include "runtime/wasm.h"

#define FETCH_ATTEMPTS 4

/* The manifest must describe exactly the module the desired state asks for: a valid signature
 * over another module's manifest must not activate it here. */
static int manifest_matches(const struct sign_manifest *m, const struct agt_desired_module *dm,
			    char *err, size_t errlen)
{
	const char *field = NULL;

	if (strcmp(m->tenant, dm->tenant) != 0)
		field = "tenant";
	else if (strcmp(m->module, dm->module) != 0)
		field = "module";
	else if ((int64_t)m->version != dm->version)
		field = "version";
	else if (strcmp(m->digest, dm->digest) != 0)
		field = "digest";
	else if (m->size != dm->size)
		field = "size";
	if (field == NULL)
		return 0;
	snprintf(err, errlen, "manifest %s does not match the desired state", field);
	return -1;
}

/* True when url is on the control plane (scheme, host and port equal, then a path): only there
 * does the agent token go. A desired state may point blobs at another origin (a CDN, a mirror),
 * and such a host must never receive the credential; the bytes are verified anyway. */
static bool on_control_plane(const char *url, const char *cp)
{
	size_t n = strlen(cp);

	return strncmp(url, cp, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

int agt_activate(struct agt *a, const struct agt_desired_module *dm, bool cache_only,
		 struct agt_module **out, bool *transient, char *err, size_t errlen)
{
	struct sign_manifest man;
	char why[256], url[2048], sig[8];
	uint8_t *bytes = NULL;
	size_t len = 0;
	wasm_module *wm;
	int rc;

	*out = NULL;
	*transient = false;
	rc = sign_verify_text(a->trust, dm->manifest, strlen(dm->manifest), dm->signature, &man,
			      why, sizeof(why));
	if (rc != SIGN_OK) {
		snprintf(err, errlen, "signature rejected: %s", why);
		return -1;
	}
	if (manifest_matches(&man, dm, err, errlen) != 0)
		return -1;

	rc = agt_cache_get(dm->digest, dm->size, &bytes, &len);
	if (rc == -EBADMSG)
		log_warn("cache file of %s was corrupt; removed, fetching again", dm->digest);
	if (rc != 0 && cache_only) {
		*transient = true;
		snprintf(err, errlen, "not in the local cache (fetched at the next sync)");
		return -1;
	}
	if (rc != 0) {
		if (strncmp(dm->blob_url, "http://", 7) == 0 || strncmp(dm->blob_url, "https://", 8) == 0)
			snprintf(url, sizeof(url), "%s", dm->blob_url);
		else
			snprintf(url, sizeof(url), "%s%s", a->cfg.control_plane, dm->blob_url);
		rc = agt_fetch_blob(url, on_control_plane(url, a->cfg.control_plane) ? a->cfg.token : NULL,
				    &man, FETCH_ATTEMPTS, &bytes, &len, why,
				    sizeof(why));
		if (rc != 0) {
			*transient = rc == AGT_FETCH_E_NET || rc == AGT_FETCH_E_HTTP ||
				     rc == AGT_FETCH_E_NOMEM;
			snprintf(err, errlen, "%s: %s",
				 rc == AGT_FETCH_E_DIGEST ? "digest mismatch" :
				 rc == AGT_FETCH_E_SIZE ? "size mismatch" : "fetch failed", why);
			return -1;
		}
		if (agt_cache_put(dm->digest, bytes, len, why, sizeof(why)) != 0)
			log_warn("cannot cache %s: %s", dm->digest, why);
	}
	/* Check again whatever the source: the cache read already hashed the file, but this is the
	 * one place that guards the compile, so it does not rely on the path taken. */
	rc = sign_verify_bytes(&man, bytes, len, why, sizeof(why));
	if (rc != SIGN_OK) {
		free(bytes);
		snprintf(err, errlen, "digest mismatch: %s", why);
		return -1;
	}
	wm = wasm_module_load(bytes, len, why, sizeof(why));
	free(bytes);
	if (wm == NULL) {
		snprintf(err, errlen, "compile failed: %s", why);
		return -1;
	}
	if (wasm_module_export_signature(wm, "_start", sig, sizeof(sig)) != 0) {
		wasm_module_free(wm);
		snprintf(err, errlen, "not a WASI command: no exported function _start");
		return -1;
	}
	*out = agt_module_create(dm->tenant, dm->module, dm->version, dm->digest, dm->size,
				 dm->manifest, dm->signature, dm->blob_url, wm);
	if (*out == NULL) {
		*transient = true;
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}
