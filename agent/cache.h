/* agent/cache.h: the content-addressed blob cache under EDGE_AGENT_STATE_DIR/blobs, one file
 * per digest (named by its hex). Files are written atomically and checked on every read, so a
 * corrupt or truncated file is noticed, removed and fetched again rather than activated. */
#ifndef AGT_CACHE_H
#define AGT_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* Creates <state_dir>/blobs when missing. Returns 0 or -errno (reason in err). The folder name
 * is kept in a process-wide setting: call once at start, before any other cache call. */
int agt_cache_init(const char *state_dir, char *err, size_t errlen);

/* Path of a digest's file into out. */
void agt_cache_path(const char *digest, char *out, size_t outlen);

/* Reads the blob of `digest` ("sha256:<hex>") expected to be `size` bytes. Returns 0 with
 * *out (malloc'ed, caller frees) when the file exists and its size and SHA-256 match;
 * -ENOENT when absent; -EBADMSG when the file was corrupt (it is removed, so a fetch can
 * replace it); another -errno on I/O errors. */
int agt_cache_get(const char *digest, uint64_t size, uint8_t **out, size_t *out_len);

/* Stores bytes under `digest` (atomically). The caller has checked the bytes against the
 * digest. Returns 0 or -errno (reason in err). */
int agt_cache_put(const char *digest, const uint8_t *bytes, size_t len, char *err, size_t errlen);

/* Removes cache files nothing needs any more, so the folder does not grow with every version
 * ever deployed: files whose digest is not in keep[0..n_keep) are deleted, except the `spare`
 * most recently written ones (kept so that a rollback to a recent version needs no fetch).
 * Left-over temporary files of interrupted writes are removed too; names that are neither are
 * left alone. Only the applying thread writes the cache, so it must be the caller. Returns the
 * number of files removed, or -errno when the folder cannot be read. */
int agt_cache_gc(const char *const *keep, size_t n_keep, size_t spare);

#endif
