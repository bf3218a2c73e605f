/* api/openapi.c: GET /v1/openapi.json serves the OpenAPI 3.1 document (api/openapi.json,
 * loaded and syntax-checked when the server starts). */
#include "api/api_int.h"

static void handle_openapi(struct api_req *req)
{
	api_reply_bytes(req, 200, "application/json", req->srv->openapi, req->srv->openapi_len);
	api_add_header(req, "Cache-Control", "public, max-age=300");
}

static const struct api_route openapi_routes[] = {
	{"GET", "/v1/openapi.json", API_PUBLIC, handle_openapi, API_F_NO_DB},
};

void api__openapi_register(struct api_router *r)
{
	API_ADD_TABLE(r, openapi_routes);
}
