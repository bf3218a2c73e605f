/* cli/http.c: edgectl's HTTP client: one libcurl easy handle per request, bearer auth, a random
 * Idempotency-Key per POST kept across retries, and the one place where API errors are printed. */
#include "cli/http.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

#define CLI_HTTP_ATTEMPTS 3
#define CLI_USER_AGENT "edgectl/" CLI_VERSION

/* What the header callback collects. */
struct hdr_state {
	char request_id[80];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud);
static size_t on_header(char *p, size_t size, size_t n, void *ud);
static int new_idempotency_key(char out[33]);
static bool retryable_status(long status);

int cli_http_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "edgectl: cannot initialise libcurl\n");
		return -1;
	}
	return 0;
}

void cli_http_cleanup(void)
{
	curl_global_cleanup();
}

/* RFC 3986 unreserved characters stay; everything else becomes %XX. */
static bool append_segment(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
		if (plain) {
			if (!buf_append(b, s, 1))
				return false;
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			if (!buf_append(b, e, 3))
				return false;
		}
	}
	return true;
}

char *cli_path(const char *fmt, ...)
{
	struct buf b = {0};
	va_list ap;
	bool ok = true;

	va_start(ap, fmt);
	for (const char *p = fmt; *p != '\0' && ok; p++) {
		if (p[0] == '%' && (p[1] == 's' || p[1] == 'S')) {
			const char *arg = va_arg(ap, const char *);
			ok = p[1] == 's' ? append_segment(&b, arg) : buf_puts(&b, arg);
			p++;
		} else {
			ok = buf_append(&b, p, 1);
		}
	}
	va_end(ap);
	if (!ok) {
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_append(ud, p, size * n) ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct hdr_state *h = ud;
	size_t len = size * n;
	static const char name[] = "x-request-id:";

	if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		const char *v = p + sizeof name - 1;
		size_t vl = len - (sizeof name - 1);
		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		if (vl >= sizeof h->request_id)
			vl = sizeof h->request_id - 1;
		memcpy(h->request_id, v, vl);
		h->request_id[vl] = '\0';
	}
	return len;
}

/* 128 random bits in hex: unique enough that two CI runs never share a key. */
static int new_idempotency_key(char out[33])
{
	unsigned char r[16];
	size_t got = 0;

	while (got < sizeof r) {
		ssize_t n = getrandom(r + got, sizeof r - got, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (size_t i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* Gateways and an overloaded or restarting control plane answer these; the request may be sent
 * again safely (GETs by nature, POSTs thanks to the Idempotency-Key). */
static bool retryable_status(long status)
{
	return status == 502 || status == 503 || status == 504;
}

/* One attempt; returns the CURLcode and fills `out`. */
static CURLcode attempt(const char *method, const char *url,
			struct curl_slist *headers, const void *body, size_t len,
			struct cli_resp *out)
{
	CURL *c = curl_easy_init();
	struct buf bb = {0};
	struct hdr_state hs = {{0}};
	CURLcode rc;

	memset(out, 0, sizeof *out);
	if (c == NULL)
		return CURLE_OUT_OF_MEMORY;
	rc = curl_easy_setopt(c, CURLOPT_URL, url);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (rc == CURLE_OK && body != NULL) {
		rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (rc == CURLE_OK && strcmp(method, "POST") == 0) {
		/* A POST without a body still needs a Content-Length: 0. */
		rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_HEADERDATA, &hs);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_USERAGENT, CLI_USER_AGENT);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	if (rc == CURLE_OK)
		rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK) {
		buf_free(&bb);
		out->status = 0;
		return rc;
	}
	out->len = bb.len;
	out->body = buf_steal(&bb);
	memcpy(out->request_id, hs.request_id, sizeof out->request_id);
	if (out->len > 0)
		out->json = json_loadb(out->body, out->len, 0, NULL);
	return CURLE_OK;
}

int cli_http_do(const struct cli_ctx *ctx, const char *method, const char *path,
		const char *content_type, const void *body, size_t len, struct cli_resp *out)
{
	struct curl_slist *h = NULL, *t;
	struct buf url = {0}, line = {0};
	char key[33];
	CURLcode rc = CURLE_OK;
	int ret = -1;
	size_t base_len = strlen(ctx->url);

	memset(out, 0, sizeof *out);
	while (base_len > 0 && ctx->url[base_len - 1] == '/')
		base_len--;
	if (!buf_append(&url, ctx->url, base_len) || !buf_puts(&url, path))
		goto oom;

#define ADD_HEADER(...)                                                    \
	do {                                                               \
		line.len = 0;                                              \
		if (!buf_printf(&line, __VA_ARGS__))                       \
			goto oom;                                          \
		if ((t = curl_slist_append(h, line.data)) == NULL)         \
			goto oom;                                          \
		h = t;                                                     \
	} while (0)

	if (ctx->token != NULL && ctx->token[0] != '\0')
		ADD_HEADER("Authorization: Bearer %s", ctx->token);
	ADD_HEADER("Accept: application/json, application/problem+json");
	if (body != NULL)
		ADD_HEADER("Content-Type: %s", content_type ? content_type : "application/json");
	/* libcurl would wait for "100 Continue" on large uploads; the API never asks for it. */
	ADD_HEADER("Expect:");
	if (strcmp(method, "POST") == 0) {
		if (new_idempotency_key(key) != 0) {
			fprintf(stderr, "edgectl: cannot read random bytes: %s\n", strerror(errno));
			goto done;
		}
		ADD_HEADER("Idempotency-Key: %s", key);
	}
#undef ADD_HEADER

	for (int i = 0; i < CLI_HTTP_ATTEMPTS; i++) {
		if (i > 0) {
			/* 0.5 s, then 1 s: enough for a restarting control plane, short for CI. */
			struct timespec ts = {i / 2, (i % 2) * 500000000L};
			nanosleep(&ts, NULL);
			cli_resp_free(out);
		}
		if (ctx->verbose)
			fprintf(stderr, "> %s %s\n", method, url.data);
		rc = attempt(method, url.data, h, body, len, out);
		if (ctx->verbose && rc == CURLE_OK)
			fprintf(stderr, "< %ld (request id %s)\n", out->status,
				out->request_id[0] ? out->request_id : "-");
		if (rc == CURLE_OUT_OF_MEMORY)
			goto oom;
		if (rc == CURLE_OK && !retryable_status(out->status))
			break;
		/* Only failures to reach the server are worth repeating; a malformed URL is not. */
		if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
			break;
	}
	if (rc != CURLE_OK) {
		fprintf(stderr, "edgectl: %s %s: %s\n", method, url.data, curl_easy_strerror(rc));
		goto done;
	}
	ret = 0;
	goto done;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
done:
	curl_slist_free_all(h);
	buf_free(&url);
	buf_free(&line);
	return ret;
}

void cli_print_error(const struct cli_resp *r)
{
	const char *title = NULL, *detail = NULL;

	if (r->json != NULL && json_is_object(r->json)) {
		title = json_string_value(json_object_get(r->json, "title"));
		detail = json_string_value(json_object_get(r->json, "detail"));
	}
	if (title == NULL)
		title = "request failed";
	fprintf(stderr, "edgectl: %s (HTTP %ld)", title, r->status);
	if (detail != NULL && detail[0] != '\0')
		fprintf(stderr, ": %s", detail);
	else if (r->json == NULL && r->body != NULL && r->len > 0 && r->len < 400)
		fprintf(stderr, ": %.*s", (int)strcspn(r->body, "\r\n"), r->body);
	fputc('\n', stderr);
	if (r->json != NULL && json_is_object(r->json)) {
		/* Validation errors may list the offending fields; show them too. */
		json_t *errs = json_object_get(r->json, "errors");
		size_t i;
		json_t *e;
		if (json_is_array(errs)) {
			json_array_foreach(errs, i, e) {
				char *s = json_is_string(e) ? NULL : json_dumps(e, JSON_COMPACT);
				fprintf(stderr, "  - %s\n", s ? s : json_string_value(e));
				free(s);
			}
		}
	}
	if (r->request_id[0] != '\0')
		fprintf(stderr, "  request id: %s\n", r->request_id);
}

int cli_api(const struct cli_ctx *ctx, const char *method, const char *path, json_t *body,
	    json_t **out_json, long *out_status)
{
	struct cli_resp r;
	char *text = NULL;
	int ret = -1;

	if (out_json != NULL)
		*out_json = NULL;
	if (body != NULL) {
		text = json_dumps(body, JSON_COMPACT);
		if (text == NULL) {
			fprintf(stderr, "edgectl: out of memory\n");
			return -1;
		}
	}
	if (cli_http_do(ctx, method, path, NULL, text, text ? strlen(text) : 0, &r) != 0) {
		free(text);
		return -1;
	}
	free(text);
	if (out_status != NULL)
		*out_status = r.status;
	if (r.status < 200 || r.status > 299) {
		cli_print_error(&r);
		if (r.status == 401 && (ctx->token == NULL || ctx->token[0] == '\0'))
			fprintf(stderr, "  (no token given: set EDGECTL_TOKEN or pass --token)\n");
		goto done;
	}
	if (r.len > 0 && r.json == NULL) {
		fprintf(stderr, "edgectl: %s %s: the answer is not JSON\n", method, path);
		goto done;
	}
	if (out_json != NULL) {
		*out_json = r.json != NULL ? json_incref(r.json) : json_null();
		if (*out_json == NULL) {
			fprintf(stderr, "edgectl: out of memory\n");
			goto done;
		}
	}
	ret = 0;
done:
	cli_resp_free(&r);
	return ret;
}

int cli_api_list(const struct cli_ctx *ctx, const char *path, long limit, json_t **out_items,
		 json_t **out_next)
{
	json_t *all = json_array();
	char *cursor = NULL;
	char sep = strchr(path, '?') ? '&' : '?';
	/* A runaway server cannot keep us paging forever. */
	const int max_pages = 1000;

	*out_items = NULL;
	if (out_next != NULL)
		*out_next = NULL;
	if (all == NULL)
		goto oom;
	for (int page = 0; page < max_pages; page++) {
		struct buf p = {0};
		json_t *doc = NULL, *items, *next;
		int rc;

		if (!buf_printf(&p, "%s%climit=%ld", path, sep, limit > 0 ? limit : 500L))
			goto oom;
		if (cursor != NULL) {
			char *esc = cli_path("%s", cursor);
			bool ok = esc != NULL && buf_printf(&p, "&cursor=%s", esc);
			free(esc);
			if (!ok) {
				buf_free(&p);
				goto oom;
			}
		}
		rc = cli_api(ctx, "GET", p.data, NULL, &doc, NULL);
		buf_free(&p);
		if (rc != 0)
			goto fail;
		items = json_object_get(doc, "items");
		if (!json_is_array(items)) {
			fprintf(stderr, "edgectl: GET %s: the answer has no \"items\" list\n", path);
			json_decref(doc);
			goto fail;
		}
		if (json_array_extend(all, items) != 0) {
			json_decref(doc);
			goto oom;
		}
		next = json_object_get(doc, "next_cursor");
		free(cursor);
		cursor = NULL;
		if (limit <= 0 && json_is_string(next) && json_string_length(next) > 0) {
			cursor = strdup(json_string_value(next));
			if (cursor == NULL) {
				json_decref(doc);
				goto oom;
			}
		}
		if (cursor == NULL) {
			/* One page asked for: hand on where the next one starts. */
			if (out_next != NULL) {
				*out_next = limit > 0 && json_is_string(next) ? json_incref(next)
									       : json_null();
			}
			json_decref(doc);
			*out_items = all;
			return 0;
		}
		json_decref(doc);
	}
	fprintf(stderr, "edgectl: GET %s: too many pages\n", path);
	goto fail;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
fail:
	free(cursor);
	json_decref(all);
	return -1;
}

void cli_resp_free(struct cli_resp *r)
{
	free(r->body);
	if (r->json != NULL)
		json_decref(r->json);
	memset(r, 0, sizeof *r);
}
