/* agent/module.c: lifetime of an activated module version (see module.h). */
#include "agent/module.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/stats.h"
#include "runtime/wasm.h"

struct agt_module *agt_module_create(const char *tenant, const char *name, int64_t version,
				     const char *digest, uint64_t size, const char *manifest,
				     const char *signature, const char *blob_url,
				     struct wasm_module *wasm)
{
	struct agt_module *m = calloc(1, sizeof(*m));

	if (m == NULL)
		goto fail;
	atomic_init(&m->refs, 1);
	snprintf(m->tenant, sizeof(m->tenant), "%s", tenant);
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->digest, sizeof(m->digest), "%s", digest);
	m->version = version;
	m->size = size;
	m->manifest = strdup(manifest ? manifest : "{}");
	m->signature = strdup(signature ? signature : "");
	m->blob_url = strdup(blob_url ? blob_url : "");
	m->stats = agt_stats_get(tenant, name);
	if (m->manifest == NULL || m->signature == NULL || m->blob_url == NULL || m->stats == NULL)
		goto fail;
	m->wasm = wasm;
	return m;
fail:
	if (m != NULL) {
		free(m->manifest);
		free(m->signature);
		free(m->blob_url);
		free(m);
	}
	wasm_module_free(wasm);
	return NULL;
}

struct agt_module *agt_module_ref(struct agt_module *m)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void agt_module_unref(struct agt_module *m)
{
	if (m == NULL)
		return;
	/* acq_rel: every use by other threads happens before the free below. */
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) != 1)
		return;
	wasm_module_free(m->wasm);
	free(m->manifest);
	free(m->signature);
	free(m->blob_url);
	free(m);
}

void agt_module_label(const struct agt_module *m, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s@%lld", m->name, (long long)m->version);
}
