/* runtime/cgi.h: the Handler ABI of DESIGN.md (CGI as in WAGI/RFC 3875). Turns an HTTP request
 * into the environment a handler's `_start` sees, and parses what the handler wrote on stdout
 * (CGI header fields, a blank line, the body) into an HTTP status, headers and body.
 * Pure functions: no I/O, no globals, thread-safe. */
#ifndef RT_CGI_H
#define RT_CGI_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (negative, 0 is success). */
#define CGI_OK 0
#define CGI_E_NOMEM (-1)     /* an allocation failed */
#define CGI_E_INVALID (-2)   /* bad request fields (cgi_env_build) */
#define CGI_E_MALFORMED (-3) /* the handler's output is not a valid CGI response */

/* Limits on a handler's header section (the body is not limited here: the runner caps stdout). */
#define CGI_MAX_HEADERS 100
#define CGI_MAX_HEADER_BYTES 65536
/* Most request headers cgi_env_build accepts (HTTP servers stop far below). */
#define CGI_MAX_REQUEST_HEADERS 256

/* One request header as received (name in any case, e.g. "X-Request-Id"). */
struct cgi_header {
	const char *name;
	const char *value;
};

/* A request, as the embedder (agent, wasmrun --cgi) received it. Every string is borrowed for
 * the duration of cgi_env_build only; NULL optional fields are left out of the environment
 * (required ones: method, path). */
struct cgi_request {
	const char *method;        /* "GET", "POST", ... -> REQUEST_METHOD */
	const char *path;          /* request path without the query, as received (PATH_INFO is its
				    * percent-decoded form, REQUEST_URI keeps it raw) */
	const char *query;         /* after '?', without it; NULL or "" -> QUERY_STRING="" */
	const char *server_name;   /* Host without port -> SERVER_NAME (default "localhost") */
	const char *server_port;   /* -> SERVER_PORT (default "80") */
	const char *remote_addr;   /* client address -> REMOTE_ADDR */
	const char *matched_route; /* the route pattern that matched -> X_MATCHED_ROUTE */
	const char *pop;           /* this PoP's name -> X_EDGEPLANE_POP */
	const char *content_type;  /* -> CONTENT_TYPE (when NULL, taken from a Content-Type header) */
	size_t content_length;     /* body length -> CONTENT_LENGTH (always set, "0" for none) */
	const struct cgi_header *headers; /* -> HTTP_<NAME> (see cgi_env_build) */
	size_t n_headers;
	const char *const *extra_env; /* NULL-terminated "K=V" appended last (may be NULL) */
};

/* Builds the CGI environment of `req`: GATEWAY_INTERFACE=CGI/1.1, SERVER_PROTOCOL=HTTP/1.1,
 * SERVER_SOFTWARE, REQUEST_METHOD, SCRIPT_NAME="" (the whole path is PATH_INFO), PATH_INFO,
 * QUERY_STRING, REQUEST_URI, SERVER_NAME, SERVER_PORT, REMOTE_ADDR, CONTENT_TYPE, CONTENT_LENGTH,
 * X_MATCHED_ROUTE, X_EDGEPLANE_POP, then HTTP_<NAME> per header: upper-cased, '-' -> '_';
 * repeated headers are joined with ", " (RFC 3875 4.1.18). Left out: Content-Type and
 * Content-Length (they are CONTENT_*), Proxy (httpoxy), and names with characters other than
 * letters, digits and '-' (an '_' would let "X_A" impersonate "X-A").
 * On success *out_envp is a NULL-terminated array of "K=V" strings in ONE allocation: the caller
 * frees it with a single free(*out_envp). Returns CGI_OK, CGI_E_INVALID (missing method/path,
 * a control character in a value, more than CGI_MAX_REQUEST_HEADERS headers; message in err)
 * or CGI_E_NOMEM. err may be NULL. */
int cgi_env_build(const struct cgi_request *req, char ***out_envp, char *err, size_t errlen);

/* One response header the handler set (Status is consumed, never listed here). */
struct cgi_resp_header {
	char *name;  /* as the handler spelled it */
	char *value; /* leading/trailing blanks trimmed */
};

/* A parsed handler response. */
struct cgi_response {
	int status;                       /* 100..599 */
	char *reason;                     /* from "Status: 404 Not Found", else the standard phrase */
	const char *content_type;         /* points into headers[], NULL if none */
	const char *location;             /* points into headers[], NULL if none */
	struct cgi_resp_header *headers;  /* n_headers entries, in the handler's order */
	size_t n_headers;
	const uint8_t *body;              /* points INTO the parsed output buffer (not copied) */
	size_t body_len;
	void *mem_;                       /* private: the one allocation holding the strings */
};

/* Parses a handler's stdout (RFC 3875 6.2): header lines ended by LF or CRLF up to the first
 * empty line, then the body. "Status: NNN [reason]" sets the status; "Location" without Status
 * means 302; otherwise 200. Malformed output (empty, no blank line, a line without ':', a bad
 * field name, obs-fold, a bare CR, a bad or repeated Status, no Status/Content-Type/Location at
 * all, more than CGI_MAX_HEADERS headers or CGI_MAX_HEADER_BYTES of header section) returns
 * CGI_E_MALFORMED with the reason in err. Hop-by-hop and framing headers (Connection,
 * Keep-Alive, Transfer-Encoding, Content-Length, Upgrade, TE, Trailer, Proxy-Connection) are
 * dropped: the server frames the body itself. `out` borrows `buf` for body: keep buf alive
 * while using it. Release with cgi_response_free (also after an error: out is then empty). */
int cgi_parse(const uint8_t *buf, size_t len, struct cgi_response *out, char *err, size_t errlen);

/* Releases what cgi_parse allocated and empties *resp; NULL or an empty response is fine. */
void cgi_response_free(struct cgi_response *resp);

/* The standard reason phrase of an HTTP status ("Not Found"), "Unknown" when there is none.
 * The string is static. */
const char *cgi_reason_phrase(int status);

#endif
