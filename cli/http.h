/* cli/http.h: edgectl's HTTP client for the Edgeplane REST API (libcurl + jansson): bearer auth,
 * a random Idempotency-Key on every POST (kept across the client's own retries, so a retried POST
 * is never done twice), paths built from escaped segments, and problem+json errors printed in
 * one place. */
#ifndef CLI_HTTP_H
#define CLI_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "cli/cli.h"

/* One answer. The struct owns body and json; cli_resp_free releases them. */
struct cli_resp {
	long status;         /* HTTP status; 0 when no answer arrived */
	char *body;          /* NUL-terminated, may be NULL when empty */
	size_t len;
	json_t *json;        /* the body parsed when it is JSON, else NULL */
	char request_id[80]; /* X-Request-Id of the answer, "" when absent */
};

/* Initialises libcurl once for the process; returns 0 or -1 (message printed). */
int cli_http_init(void);
void cli_http_cleanup(void);

/* Builds a path from a format where each "%s" is replaced by its argument percent-encoded as
 * one path segment (so "a/b" cannot escape into another resource) and "%S" is inserted as is.
 * Returns a malloc'ed string (caller frees) or NULL when memory runs out. */
char *cli_path(const char *fmt, ...);

/* Sends one request to ctx->url + path. `body` (len bytes) is sent with `content_type`
 * (NULL means application/json) when not NULL. POSTs carry a fresh random Idempotency-Key;
 * transport failures and 502/503/504 answers are retried up to twice with the same key.
 * Fills `out` (call cli_resp_free after). Returns 0 when an answer arrived (any status),
 * -1 when none did (the reason is printed to stderr). */
int cli_http_do(const struct cli_ctx *ctx, const char *method, const char *path,
		const char *content_type, const void *body, size_t len, struct cli_resp *out);

/* Like cli_http_do with an optional JSON body (borrowed, may be NULL), and the answer checked:
 * a 2xx answer returns 0 with *out_json set to the parsed body (a new reference the caller
 * decrefs; JSON null when the body was empty); any other answer prints the error (problem+json
 * detail when present) and returns -1. `out_status` may be NULL. */
int cli_api(const struct cli_ctx *ctx, const char *method, const char *path, json_t *body,
	    json_t **out_json, long *out_status);

/* GETs a list endpoint. With limit > 0, one page of that size; with limit 0, every page
 * (following next_cursor). Returns 0 and a new array in *out_items, and, when out_next is not
 * NULL, a new reference in *out_next to the cursor of the page after (JSON null when every page
 * was read); or -1 (error printed). `path` may already carry a query string. */
int cli_api_list(const struct cli_ctx *ctx, const char *path, long limit, json_t **out_items,
		 json_t **out_next);

/* Prints an error answer: "edgectl: <title> (HTTP <status>): <detail>" plus the request id. */
void cli_print_error(const struct cli_resp *r);

void cli_resp_free(struct cli_resp *r);

#endif
