/* agent/module.h: an activated module version: its identity, the signed manifest it was
 * verified with, and the compiled runtime module. Immutable once created and shared by
 * reference count between route tables and in-flight requests, so a swap never frees a module a
 * request still runs. */
#ifndef AGT_MODULE_H
#define AGT_MODULE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct wasm_module;
struct agt_stats;

struct agt_module {
	atomic_int refs;         /* private: use agt_module_ref/unref */
	char tenant[64];
	char name[64];
	int64_t version;
	char digest[72];         /* "sha256:<64 hex>" */
	uint64_t size;           /* bytes of the .wasm */
	char *manifest;          /* the manifest as compact JSON text (owned) */
	char *signature;         /* base64 (owned) */
	char *blob_url;          /* owned */
	struct wasm_module *wasm; /* compiled module (owned); NULL only in unit tests */
	struct agt_stats *stats; /* counters of tenant/module (not owned, process lifetime) */
};

/* Creates a module with one reference, copying the strings and taking ownership of `wasm`
 * (freed with the module, also when creation fails). NULL when memory runs out. */
struct agt_module *agt_module_create(const char *tenant, const char *name, int64_t version,
				     const char *digest, uint64_t size, const char *manifest,
				     const char *signature, const char *blob_url,
				     struct wasm_module *wasm);

/* Adds a reference; returns m. NULL is passed through. */
struct agt_module *agt_module_ref(struct agt_module *m);

/* Drops a reference; the last one frees the module and its compiled code. NULL is a no-op. */
void agt_module_unref(struct agt_module *m);

/* "<module>@<version>", the X-Edgeplane-Version header value, into out. */
void agt_module_label(const struct agt_module *m, char *out, size_t outlen);

#endif
