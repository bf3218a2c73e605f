/* common/asset.c: locating data files next to the program (see asset.h). */
#include "common/asset.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int exists(const char *path)
{
	return access(path, R_OK) == 0;
}

int asset_find(const char *env_var, const char *rel, char *out, size_t outlen)
{
	const char *v = env_var ? getenv(env_var) : NULL;
	char exe[PATH_MAX];
	ssize_t n;

	if (v != NULL && *v != '\0') {
		snprintf(out, outlen, "%s", v);
		return exists(out) ? 0 : -1;
	}
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		/* dirname may modify its argument: exe is our own copy. BUILD/bin is two levels
		 * under the checkout by default (build/bin), deeper with BUILD=build/x. */
		const char *dir = dirname(exe);
		char up[64] = "";
		for (int level = 0; level < 4; level++) {
			strcat(up, "../");
			snprintf(out, outlen, "%s/%s%s", dir, up, rel);
			if (level >= 1 && exists(out))
				return 0;
		}
	}
	v = getenv("EDGEPLANE_TOP");
	if (v != NULL && *v != '\0') {
		snprintf(out, outlen, "%s/%s", v, rel);
		if (exists(out))
			return 0;
	}
	snprintf(out, outlen, "./%s", rel);
	return exists(out) ? 0 : -1;
}
