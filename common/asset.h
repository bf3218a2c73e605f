/* common/asset.h: finding the project's data folders and files (SQL migrations, the OpenAPI
 * document) from an installed or a source-tree binary. */
#ifndef COMMON_ASSET_H
#define COMMON_ASSET_H

#include <stddef.h>

/* Looks for `rel` (e.g. "migrations" or "api/openapi.json"), in this order: the value of the
 * environment variable `env_var` when set (used as is), <dir of the running binary>/../../rel
 * (the binary in BUILD/bin of a checkout; up to two more levels for BUILD=build/NAME), $EDGEPLANE_TOP/rel, ./rel. Writes the first path
 * that exists into out and returns 0; -1 when none exists (out then holds the last tried). */
int asset_find(const char *env_var, const char *rel, char *out, size_t outlen);

#endif
