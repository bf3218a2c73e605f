/* api/page.c: cursor pagination of every list: ?limit= (default 50, 1..500) and an opaque
 * ?cursor= that encodes the last key returned ("c1:<decimal>" in unpadded base64url, so that
 * clients treat it as a token and a tampered one is rejected). */
#include "api/api_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_DEFAULT 50
#define PAGE_MAX 500

static bool parse_limit(const char *s, int *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0' || strlen(s) > 9)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > PAGE_MAX)
		return false;
	*out = (int)v;
	return true;
}

static bool decode_cursor(const char *c, int64_t *out)
{
	unsigned char raw[64];
	size_t len;
	char text[65], *end;
	long long v;

	if (c == NULL || strlen(c) > 80 ||
	    sodium_base642bin(raw, sizeof raw - 1, c, strlen(c), NULL, &len, NULL,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	memcpy(text, raw, len);
	text[len] = '\0';
	if (len < 4 || strncmp(text, "c1:", 3) != 0)
		return false;
	for (size_t i = 3; i < len; i++)
		if (text[i] < '0' || text[i] > '9')
			return false;
	errno = 0;
	v = strtoll(text + 3, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0)
		return false;
	*out = v;
	return true;
}

bool api_page_parse(struct api_req *req, struct api_page *out)
{
	const char *l = api_query(req, "limit");
	const char *c = api_query(req, "cursor");

	out->limit = PAGE_DEFAULT;
	out->after = -1;
	if (l != NULL && !parse_limit(l, &out->limit)) {
		api_reply_problem(req, 400, "limit must be an integer from 1 to %d", PAGE_MAX);
		return false;
	}
	if (c != NULL && !decode_cursor(c, &out->after)) {
		api_reply_problem(req, 400, "cursor is not valid (use next_cursor of a previous page)");
		return false;
	}
	return true;
}

bool api_page_order(struct api_req *req, struct api_page *pg, bool *desc)
{
	const char *o = api_query(req, "order");

	*desc = o != NULL && strcmp(o, "desc") == 0;
	if (o != NULL && !*desc && strcmp(o, "asc") != 0) {
		api_reply_problem(req, 400, "order must be asc or desc");
		return false;
	}
	if (*desc && pg->after < 0)
		pg->after = INT64_MAX;
	return true;
}

PGresult *api_list_query(struct api_req *req, const char *sql, int nparams,
			 const char *const *params, int seq_col, int *out_rows, int64_t *out_next)
{
	struct api_page pg;
	char after[32], limit[16];
	const char *p[8];
	PGresult *r;

	if (nparams < 0 || nparams > 6 || !api_page_parse(req, &pg))
		return NULL;
	snprintf(after, sizeof after, "%lld", (long long)pg.after);
	snprintf(limit, sizeof limit, "%d", pg.limit + 1);
	for (int i = 0; i < nparams; i++)
		p[i] = params[i];
	p[nparams] = after;
	p[nparams + 1] = limit;
	r = api_sql(req, sql, nparams + 2, p);
	if (r == NULL) {
		api_reply_sql_error(req);
		return NULL;
	}
	/* One row more than the page was asked for: its presence says another page follows. */
	int n = PQntuples(r);
	*out_rows = n < pg.limit ? n : pg.limit;
	*out_next = n > pg.limit ? atoll(PQgetvalue(r, pg.limit - 1, seq_col)) : -1;
	return r;
}

/* The cursor token for next_after (>= 0) into out. */
static void cursor_token(int64_t next_after, char out[64])
{
	char text[32];
	int n = snprintf(text, sizeof text, "c1:%lld", (long long)next_after);

	sodium_bin2base64(out, 64, (const unsigned char *)text, (size_t)n,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* The next_cursor value for next_after (JSON text: a string or null) into out. */
static void cursor_json(int64_t next_after, char out[80])
{
	char enc[64];

	if (next_after < 0) {
		snprintf(out, 80, "null");
		return;
	}
	cursor_token(next_after, enc);
	snprintf(out, 80, "\"%s\"", enc);
}

void api__reply_page_raw(struct api_req *req, struct buf *items_json, int64_t next_after)
{
	struct buf b = {0};
	char cursor[80];

	cursor_json(next_after, cursor);
	if (!buf_puts(&b, "{\"items\":") ||
	    !buf_append(&b, items_json->data ? items_json->data : "[]", items_json->data ? items_json->len : 2) ||
	    !buf_printf(&b, ",\"next_cursor\":%s}", cursor)) {
		buf_free(&b);
		buf_free(items_json);
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	buf_free(items_json);
	size_t len = b.len;
	api_reply_bytes_take(req, 200, "application/json", buf_steal(&b), len);
}

void api_reply_page_take(struct api_req *req, json_t *items, int64_t next_after)
{
	json_t *o = json_object();
	char enc[64];

	if (o == NULL || items == NULL) {
		json_decref(o);
		json_decref(items);
		api_reply_problem(req, 503, "out of memory");
		return;
	}
	json_object_set_new(o, "items", items);
	if (next_after >= 0) {
		cursor_token(next_after, enc);
		json_object_set_new(o, "next_cursor", json_string(enc));
	} else {
		json_object_set_new(o, "next_cursor", json_null());
	}
	api_reply_json_take(req, 200, o);
}
