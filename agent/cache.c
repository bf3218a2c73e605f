/* agent/cache.c: content-addressed blob files. A file's name is its digest, so a hit is checked
 * by re-hashing: a disk error, a partial copy or tampering all show as a mismatch. */
#include "agent/cache.h"

#include <errno.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* A cache file name: exactly 64 lowercase hex digits. */
static bool is_blob_name(const char *n)
{
	size_t i;

	for (i = 0; n[i] != '\0'; i++)
		if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
			return false;
	return i == 64;
}

/* A temporary file of agt_write_atomic: "<64 hex>.tmp.XXXXXX". */
static bool is_tmp_name(const char *n)
{
	return strlen(n) == 64 + 11 && strncmp(n + 64, ".tmp.", 5) == 0;
}

static bool kept(const char *name, const char *const *keep, size_t n_keep)
{
	for (size_t i = 0; i < n_keep; i++) {
		const char *hex = strncmp(keep[i], "sha256:", 7) == 0 ? keep[i] + 7 : keep[i];
		if (strcmp(hex, name) == 0)
			return true;
	}
	return false;
}

struct candidate {
	char name[65];
	struct timespec mtime;
};

/* Newest first. */
static int by_mtime_desc(const void *x, const void *y)
{
	const struct candidate *a = x, *b = y;

	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? 1 : -1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? 1 : -1;
	return strcmp(a->name, b->name);
}

int agt_cache_gc(const char *const *keep, size_t n_keep, size_t spare)
{
	DIR *d = opendir(cache_dir);
	struct dirent *e;
	struct candidate *c = NULL;
	size_t n = 0, cap = 0;
	char path[PATH_MAX];
	int removed = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		/* Only names of at most 75 bytes are ours, and those always fit (see cache_dir). */
		if (strlen(e->d_name) > 75)
			continue;
		snprintf(path, sizeof(path), "%s/%.75s", cache_dir, e->d_name);
		if (is_tmp_name(e->d_name)) {
			removed += unlink(path) == 0;
			continue;
		}
		if (!is_blob_name(e->d_name) || kept(e->d_name, keep, n_keep))
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct candidate *nc = realloc(c, ncap * sizeof(*nc));
			if (nc == NULL)
				break; /* out of memory: collect what was listed, the rest next time */
			c = nc;
			cap = ncap;
		}
		snprintf(c[n].name, sizeof(c[n].name), "%.64s", e->d_name);
		c[n].mtime = st.st_mtim;
		n++;
	}
	closedir(d);
	if (n > spare) {
		qsort(c, n, sizeof(*c), by_mtime_desc);
		for (size_t i = spare; i < n; i++) {
			snprintf(path, sizeof(path), "%s/%s", cache_dir, c[i].name);
			removed += unlink(path) == 0;
		}
	}
	free(c);
	return removed;
}
