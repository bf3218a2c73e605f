/* Unit tests of runtime/cgi.c: the request -> CGI environment mapping and the CGI response
 * parser of DESIGN.md's Handler ABI (good and malformed output). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "runtime/cgi.h"
#include "tests/lib/th.h"

/* Value of K in a NULL-terminated envp, NULL when absent; counts how often K appears. */
static const char *env_get(char **envp, const char *k, int *count)
{
	const char *found = NULL;
	size_t n = strlen(k);
	int c = 0;

	for (char **e = envp; *e; e++)
		if (strncmp(*e, k, n) == 0 && (*e)[n] == '=') {
			if (found == NULL)
				found = *e + n + 1;
			c++;
		}
	if (count)
		*count = c;
	return found;
}

static const char *hdr(const struct cgi_response *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

START_TEST(env_has_every_variable)
{
	const struct cgi_header hs[] = {{"Host", "api.acme.example:8081"},
					{"X-Request-Id", "abc-123"},
					{"accept", "text/html"},
					{"Content-Type", "application/json"},
					{"Content-Length", "13"}};
	const char *extra[] = {"MODULE_SETTING=on", NULL};
	struct cgi_request rq = {.method = "POST", .path = "/v1/items/7", .query = "a=1&b=two",
				 .server_name = "api.acme.example", .server_port = "8081",
				 .remote_addr = "10.0.0.9", .matched_route = "/v1/*",
				 .pop = "hnd1", .content_length = 13, .headers = hs,
				 .n_headers = 5, .extra_env = extra};
	char **env = NULL;
	char err[128];

	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_OK);
	ck_assert_str_eq(env_get(env, "REQUEST_METHOD", NULL), "POST");
	ck_assert_str_eq(env_get(env, "PATH_INFO", NULL), "/v1/items/7");
	ck_assert_str_eq(env_get(env, "QUERY_STRING", NULL), "a=1&b=two");
	ck_assert_str_eq(env_get(env, "REQUEST_URI", NULL), "/v1/items/7?a=1&b=two");
	ck_assert_str_eq(env_get(env, "SERVER_NAME", NULL), "api.acme.example");
	ck_assert_str_eq(env_get(env, "SERVER_PORT", NULL), "8081");
	ck_assert_str_eq(env_get(env, "REMOTE_ADDR", NULL), "10.0.0.9");
	ck_assert_str_eq(env_get(env, "CONTENT_TYPE", NULL), "application/json");
	ck_assert_str_eq(env_get(env, "CONTENT_LENGTH", NULL), "13");
	ck_assert_str_eq(env_get(env, "X_MATCHED_ROUTE", NULL), "/v1/*");
	ck_assert_str_eq(env_get(env, "X_EDGEPLANE_POP", NULL), "hnd1");
	ck_assert_str_eq(env_get(env, "GATEWAY_INTERFACE", NULL), "CGI/1.1");
	ck_assert_str_eq(env_get(env, "SERVER_PROTOCOL", NULL), "HTTP/1.1");
	ck_assert_str_eq(env_get(env, "SCRIPT_NAME", NULL), "");
	ck_assert_str_eq(env_get(env, "HTTP_HOST", NULL), "api.acme.example:8081");
	ck_assert_str_eq(env_get(env, "HTTP_X_REQUEST_ID", NULL), "abc-123");
	ck_assert_str_eq(env_get(env, "HTTP_ACCEPT", NULL), "text/html");
	ck_assert_str_eq(env_get(env, "MODULE_SETTING", NULL), "on");
	/* Content-Type/Length are CGI meta-variables, not HTTP_ ones (RFC 3875 4.1.18). */
	ck_assert_ptr_null(env_get(env, "HTTP_CONTENT_TYPE", NULL));
	ck_assert_ptr_null(env_get(env, "HTTP_CONTENT_LENGTH", NULL));
	free(env);
}
END_TEST

START_TEST(env_path_info_decoded)
{
	struct cgi_request rq = {.method = "GET", .path = "/a%20b/%7Euser/%2fx%zz%4"};
	char **env = NULL;
	char err[128];

	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_OK);
	/* PATH_INFO decoded (RFC 3875 4.1.5); malformed escapes kept; REQUEST_URI raw. */
	ck_assert_str_eq(env_get(env, "PATH_INFO", NULL), "/a b/~user//x%zz%4");
	ck_assert_str_eq(env_get(env, "REQUEST_URI", NULL), "/a%20b/%7Euser/%2fx%zz%4");
	free(env);

	/* An escaped control character would land in the environment: refused. */
	const char *bad[] = {"/x%00y", "/x%0Ay", "/x%0d", "/%7f", "/%1F"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rq.path = bad[i];
		env = NULL;
		ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
		ck_assert_ptr_null(env);
		ck_assert_ptr_nonnull(strstr(err, "control"));
	}
}
END_TEST

START_TEST(env_defaults_and_repeats)
{
	const struct cgi_header hs[] = {{"Accept", "a/b"}, {"X-Multi", "one"}, {"x-multi", "two"},
					{"Proxy", "http://evil"}, {"X_Under", "sneaky"},
					{"Bad Name", "v"}, {"X-Empty", ""}};
	struct cgi_request rq = {.method = "GET", .path = "/", .headers = hs, .n_headers = 7};
	char **env = NULL;
	int count;

	ck_assert_int_eq(cgi_env_build(&rq, &env, NULL, 0), CGI_OK);
	ck_assert_str_eq(env_get(env, "QUERY_STRING", NULL), "");
	ck_assert_str_eq(env_get(env, "REQUEST_URI", NULL), "/");
	ck_assert_str_eq(env_get(env, "CONTENT_LENGTH", NULL), "0");
	ck_assert_str_eq(env_get(env, "SERVER_NAME", NULL), "localhost");
	ck_assert_ptr_null(env_get(env, "CONTENT_TYPE", NULL));
	ck_assert_ptr_null(env_get(env, "X_EDGEPLANE_POP", NULL));
	ck_assert_str_eq(env_get(env, "HTTP_X_MULTI", &count), "one, two");
	ck_assert_int_eq(count, 1);
	ck_assert_ptr_null(env_get(env, "HTTP_PROXY", NULL));
	ck_assert_ptr_null(env_get(env, "HTTP_X_UNDER", NULL));
	ck_assert_str_eq(env_get(env, "HTTP_X_EMPTY", NULL), "");
	for (char **e = env; *e; e++)
		ck_assert_msg(strchr(*e, ' ') == NULL || strncmp(*e, "HTTP_X_MULTI=", 13) == 0,
			      "unexpected entry %s", *e);
	free(env);
}
END_TEST

START_TEST(env_many_headers)
{
	static struct cgi_header hs[CGI_MAX_REQUEST_HEADERS + 1];
	static char names[CGI_MAX_REQUEST_HEADERS + 1][16];
	struct cgi_request rq = {.method = "GET", .path = "/", .headers = hs};
	char **env;
	int count;

	/* Half distinct names, half repeats of X-0..X-127 in upper case. */
	for (int i = 0; i <= CGI_MAX_REQUEST_HEADERS; i++) {
		snprintf(names[i], sizeof names[i], i < 128 ? "x-%d" : "X-%d", i % 128);
		hs[i].name = names[i];
		hs[i].value = i < 128 ? "a" : "b";
	}
	rq.n_headers = CGI_MAX_REQUEST_HEADERS;
	ck_assert_int_eq(cgi_env_build(&rq, &env, NULL, 0), CGI_OK);
	size_t n_http = 0;
	for (char **e = env; *e; e++)
		n_http += strncmp(*e, "HTTP_", 5) == 0;
	ck_assert_uint_eq(n_http, 128);
	ck_assert_str_eq(env_get(env, "HTTP_X_5", &count), "a, b");
	ck_assert_int_eq(count, 1);
	free(env);
	rq.n_headers = CGI_MAX_REQUEST_HEADERS + 1;
	ck_assert_int_eq(cgi_env_build(&rq, &env, NULL, 0), CGI_E_INVALID);
}
END_TEST

START_TEST(env_rejects_bad_requests)
{
	char **env = (char **)1;
	char err[128] = "";
	struct cgi_request rq = {.method = "GET", .path = NULL};

	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
	ck_assert_ptr_null(env);
	ck_assert(err[0] != '\0');
	rq.path = "/a\r\nSet-Cookie: x";
	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
	rq.path = "/ok";
	rq.method = "GE T";
	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
	rq.method = "GET";
	const struct cgi_header hs[] = {{"X-A", "line\nbreak"}};
	rq.headers = hs;
	rq.n_headers = 1;
	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
	const char *extra[] = {"NOEQUALS", NULL};
	rq.n_headers = 0;
	rq.extra_env = extra;
	ck_assert_int_eq(cgi_env_build(&rq, &env, err, sizeof err), CGI_E_INVALID);
}
END_TEST

static int parse(const char *s, struct cgi_response *r)
{
	return cgi_parse((const uint8_t *)s, strlen(s), r, NULL, 0);
}

START_TEST(parse_plain_response)
{
	const char *out = "Content-Type: text/plain\nX-Custom:  spaced value \t\n\nHello\n";
	struct cgi_response r;

	ck_assert_int_eq(parse(out, &r), CGI_OK);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.reason, "OK");
	ck_assert_str_eq(r.content_type, "text/plain");
	ck_assert_ptr_null(r.location);
	ck_assert_uint_eq(r.n_headers, 2);
	ck_assert_str_eq(hdr(&r, "X-Custom"), "spaced value");
	ck_assert_uint_eq(r.body_len, 6);
	ck_assert(memcmp(r.body, "Hello\n", 6) == 0);
	ck_assert_ptr_eq(r.body, (const uint8_t *)out + strlen(out) - 6); /* not copied */
	cgi_response_free(&r);
}
END_TEST

START_TEST(parse_status_crlf_and_binary_body)
{
	const uint8_t out[] = "Status: 404 Nope Here\r\nContent-Type: application/octet-stream\r\n"
			      "\r\n\0\1\2\r\n\r\nmore";
	struct cgi_response r;

	ck_assert_int_eq(cgi_parse(out, sizeof out - 1, &r, NULL, 0), CGI_OK);
	ck_assert_int_eq(r.status, 404);
	ck_assert_str_eq(r.reason, "Nope Here");
	ck_assert_uint_eq(r.n_headers, 1); /* Status is consumed */
	ck_assert_uint_eq(r.body_len, 11);
	ck_assert(memcmp(r.body, "\0\1\2\r\n\r\nmore", 11) == 0);
	cgi_response_free(&r);

	ck_assert_int_eq(parse("Status: 201\n\n", &r), CGI_OK);
	ck_assert_int_eq(r.status, 201);
	ck_assert_str_eq(r.reason, "Created");
	ck_assert_uint_eq(r.body_len, 0);
	ck_assert_uint_eq(r.n_headers, 0);
	cgi_response_free(&r);
}
END_TEST

START_TEST(parse_location_defaults_to_302)
{
	struct cgi_response r;

	ck_assert_int_eq(parse("Location: https://example.com/next\n\n", &r), CGI_OK);
	ck_assert_int_eq(r.status, 302);
	ck_assert_str_eq(r.location, "https://example.com/next");
	cgi_response_free(&r);
	ck_assert_int_eq(parse("Status: 301\nLocation: /moved\n\n", &r), CGI_OK);
	ck_assert_int_eq(r.status, 301);
	ck_assert_str_eq(r.location, "/moved");
	ck_assert_str_eq(r.reason, "Moved Permanently");
	cgi_response_free(&r);
}
END_TEST

START_TEST(parse_drops_framing_headers)
{
	struct cgi_response r;

	ck_assert_int_eq(parse("Content-Type: text/plain\nContent-Length: 999\n"
			       "Transfer-Encoding: chunked\nConnection: close\nSet-Cookie: a=1\n"
			       "Set-Cookie: b=2\n\nbody",
			       &r),
			 CGI_OK);
	ck_assert_uint_eq(r.n_headers, 3);
	ck_assert_ptr_null(hdr(&r, "Content-Length"));
	ck_assert_ptr_null(hdr(&r, "Transfer-Encoding"));
	ck_assert_str_eq(r.headers[1].value, "a=1");
	ck_assert_str_eq(r.headers[2].value, "b=2");
	ck_assert_uint_eq(r.body_len, 4);
	cgi_response_free(&r);
}
END_TEST

START_TEST(parse_rejects_malformed)
{
	static const char *const bad[] = {
		"",                                      /* nothing */
		"Hello world\n",                         /* no header at all */
		"Content-Type: text/plain\nbody",        /* no blank line */
		"Content-Type: text/plain",              /* no line end */
		"Content-Type text/plain\n\n",           /* no colon */
		": value\n\n",                           /* empty name */
		"Bad Name: x\nContent-Type: a/b\n\n",    /* space in name */
		"Content-Type: a/b\n folded\n\n",        /* obs-fold */
		"Content-Type: a/b\rX: y\n\n",           /* bare CR */
		"Status: 20\n\n",                        /* short status */
		"Status: 999\n\n",                       /* out of range */
		"Status: abc\n\n",                       /* not a number */
		"Status: 200OK\n\n",                     /* no space before reason */
		"Status: 200\nStatus: 404\n\n",          /* repeated */
		"Content-Type: a\nContent-Type: b\n\n",  /* repeated */
		"Location:\n\n",                         /* empty location */
		"X-Only: 1\n\nbody",                     /* no CGI field */
		"HTTP/1.1 200 OK\n\n",                   /* NPH status line */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cgi_response r;
		char err[128] = "";
		int rc = cgi_parse((const uint8_t *)bad[i], strlen(bad[i]), &r, err, sizeof err);
		ck_assert_msg(rc == CGI_E_MALFORMED, "case %zu accepted: %s", i, bad[i]);
		ck_assert_msg(err[0] != '\0', "case %zu: no message", i);
		ck_assert_ptr_null(r.headers);
		cgi_response_free(&r);
	}
}
END_TEST

START_TEST(parse_limits_header_section)
{
	/* Too many header lines. */
	size_t cap = (CGI_MAX_HEADERS + 2) * 16 + 64;
	char *s = malloc(cap);
	size_t n = 0;
	struct cgi_response r;

	ck_assert_ptr_nonnull(s);
	n += (size_t)sprintf(s + n, "Content-Type: a/b\n");
	for (int i = 0; i < CGI_MAX_HEADERS; i++)
		n += (size_t)sprintf(s + n, "X-%d: v\n", i);
	n += (size_t)sprintf(s + n, "\n");
	ck_assert_int_eq(cgi_parse((const uint8_t *)s, n, &r, NULL, 0), CGI_E_MALFORMED);
	free(s);

	/* A huge output without a blank line is rejected after the header limit, not scanned. */
	size_t big = 8u << 20;
	uint8_t *b = malloc(big);
	ck_assert_ptr_nonnull(b);
	memset(b, 'a', big);
	memcpy(b, "Content-Type: a/b\nX: ", 21);
	char err[128];
	ck_assert_int_eq(cgi_parse(b, big, &r, err, sizeof err), CGI_E_MALFORMED);
	ck_assert(strstr(err, "longer") != NULL);
	/* The same bytes after a proper header section are a fine body. */
	memcpy(b, "Content-Type: a/b\n\n", 19);
	ck_assert_int_eq(cgi_parse(b, big, &r, NULL, 0), CGI_OK);
	ck_assert_uint_eq(r.body_len, big - 19);
	cgi_response_free(&r);
	free(b);
}
END_TEST

START_TEST(reason_phrases)
{
	ck_assert_str_eq(cgi_reason_phrase(200), "OK");
	ck_assert_str_eq(cgi_reason_phrase(404), "Not Found");
	ck_assert_str_eq(cgi_reason_phrase(504), "Gateway Timeout");
	ck_assert_str_eq(cgi_reason_phrase(299), "Unknown");
	cgi_response_free(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cgi");
	TCase *tc = tcase_create("cgi");

	tcase_add_test(tc, env_has_every_variable);
	tcase_add_test(tc, env_path_info_decoded);
	tcase_add_test(tc, env_defaults_and_repeats);
	tcase_add_test(tc, env_many_headers);
	tcase_add_test(tc, env_rejects_bad_requests);
	tcase_add_test(tc, parse_plain_response);
	tcase_add_test(tc, parse_status_crlf_and_binary_body);
	tcase_add_test(tc, parse_location_defaults_to_302);
	tcase_add_test(tc, parse_drops_framing_headers);
	tcase_add_test(tc, parse_rejects_malformed);
	tcase_add_test(tc, parse_limits_header_section);
	tcase_add_test(tc, reason_phrases);
	suite_add_tcase(s, tc);
	return th_main(s);
}
