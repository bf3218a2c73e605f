/* api/cors.c: Cross-Origin Resource Sharing for dashboards: an Origin listed in
 * EDGEPLANE_CORS_ORIGINS (or "*") gets Access-Control-Allow-Origin on every answer; the
 * preflight itself is answered in http.c from the route table. */
#include "api/api_int.h"

#include <string.h>

bool api__cors_allowed(const struct api_server *s, const char *origin)
{
	if (origin == NULL || s->cors == NULL)
		return false;
	for (char **o = s->cors; *o != NULL; o++)
		if (strcmp(*o, "*") == 0 || strcmp(*o, origin) == 0)
			return true;
	return false;
}

void api__cors_headers(struct api_req *req)
{
	const char *origin = api_header(req, "Origin");

	if (!api__cors_allowed(req->srv, origin))
		return;
	api_add_header(req, "Access-Control-Allow-Origin", origin);
	api_add_header(req, "Vary", "Origin");
	api_add_header(req, "Access-Control-Expose-Headers",
		       "X-Request-Id, Location, ETag, Retry-After, Idempotent-Replayed");
}
