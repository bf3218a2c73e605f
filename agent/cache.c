/* agent/cache.c: content-addressed blob files. A file's name is its digest, so a hit is checked
 * by re-hashing: a disk error, a partial copy or tampering all show as a mismatch. */
#include "agent/cache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/fsutil.h"
#include "signing/signing.h"

/* Shorter than PATH_MAX so that "<dir>/<64 hex>" always fits a PATH_MAX buffer. */
static char cache_dir[PATH_MAX - 128];

int agt_cache_init(const char *state_dir, char *err, size_t errlen)
{
	int rc;

	if (snprintf(cache_dir, sizeof(cache_dir), "%s/blobs", state_dir) >=
	    (int)sizeof(cache_dir)) {
		if (err != NULL)
			snprintf(err, errlen, "state folder path too long");
		return -ENAMETOOLONG;
	}
	rc = agt_mkdirs(cache_dir);
	if (rc != 0 && err != NULL)
		snprintf(err, errlen, "cannot create %s: %s", cache_dir, strerror(-rc));
	return rc;
}

void agt_cache_path(const char *digest, char *out, size_t outlen)
{
	const char *hex = strncmp(digest, "sha256:", 7) == 0 ? digest + 7 : digest;

	snprintf(out, outlen, "%s/%s", cache_dir, hex);
}

int agt_cache_get(const char *digest, uint64_t size, uint8_t **out, size_t *out_len)
{
	char path[PATH_MAX], got[SIGN_DIGEST_LEN + 1];
	char *data;
	size_t len;
	int rc;

	*out = NULL;
	agt_cache_path(digest, path, sizeof(path));
	/* A file larger than the manifest's size is corrupt already: read at most size + 1. */
	rc = agt_read_file(path, (size_t)size, &data, &len);
	if (rc == -EFBIG) {
		unlink(path);
		return -EBADMSG;
	}
	if (rc != 0)
		return rc;
	sign_digest((const uint8_t *)data, len, got);
	if (len != size || strcmp(got, digest) != 0) {
		free(data);
		unlink(path);
		return -EBADMSG;
	}
	*out = (uint8_t *)data;
	*out_len = len;
	return 0;
}

int agt_cache_put(const char *digest, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	char path[PATH_MAX];

	agt_cache_path(digest, path, sizeof(path));
	return agt_write_atomic(path, bytes, len, err, errlen);
}
