/* agent/fsutil.h: crash-safe file writes for the agent's state folder. */
#ifndef AGT_FSUTIL_H
#define AGT_FSUTIL_H

#include <stddef.h>

/* Writes data to path atomically: a temporary file in the same folder, fsync, rename over
 * path, fsync of the folder. Readers see the old file or the new one, never a partial one.
 * Returns 0 or -errno with the reason in err (may be NULL). */
int agt_write_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* mkdir -p with mode 0700 for every missing level. Returns 0 or -errno. */
int agt_mkdirs(const char *path);

/* Reads a whole file into a malloc'ed, NUL-terminated buffer (*out, caller frees). Returns 0,
 * -ENOENT when missing, -EFBIG when larger than max, or another -errno. */
int agt_read_file(const char *path, size_t max, char **out, size_t *out_len);

#endif
