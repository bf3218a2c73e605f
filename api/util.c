/* api/util.c: small shared helpers of api/: JSON body checks, slug and uuid syntax, random
 * ids, timestamps, PGresult cells as JSON. */
#include "api/api_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char *type_name(json_type t)
{
	switch (t) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "anything";
	}
	return "?";
}

static bool type_ok(json_type want, const json_t *v)
{
	switch (want) {
	case JSON_NULL: return true;
	case JSON_TRUE:
	case JSON_FALSE: return json_is_boolean(v);
	case JSON_REAL: return json_is_number(v);
	default: return json_typeof(v) == want;
	}
}

bool api_json_check(struct api_req *req, const json_t *obj, const struct api_field *fields,
		    size_t n)
{
	const char *key;
	json_t *v;

	if (obj == NULL || !json_is_object(obj)) {
		api_reply_problem(req, 400, "a JSON object body is required");
		return false;
	}
	json_object_foreach((json_t *)obj, key, v) {
		const struct api_field *f = NULL;
		for (size_t i = 0; i < n; i++)
			if (strcmp(fields[i].name, key) == 0)
				f = &fields[i];
		if (f == NULL) {
			api_reply_problem(req, 400, "unknown field '%s'", key);
			return false;
		}
		if (!type_ok(f->type, v)) {
			api_reply_problem(req, 400, "field '%s' must be %s", key, type_name(f->type));
			return false;
		}
		if (json_is_string(v) && strlen(json_string_value(v)) != json_string_length(v)) {
			api_reply_problem(req, 400, "field '%s' contains a NUL character", key);
			return false;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (fields[i].required && json_object_get(obj, fields[i].name) == NULL) {
			api_reply_problem(req, 400, "missing required field '%s'", fields[i].name);
			return false;
		}
	return true;
}

bool api_check_text(struct api_req *req, const char *field, const char *value, size_t max)
{
	size_t n = value ? strlen(value) : 0;

	if (n == 0 || n > max) {
		api_reply_problem(req, 400, "field '%s' must be 1 to %zu characters", field, max);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			api_reply_problem(req, 400, "field '%s' must not contain control characters", field);
			return false;
		}
	if (!api__utf8_valid((const uint8_t *)value, n)) {
		api_reply_problem(req, 400, "field '%s' is not valid UTF-8", field);
		return false;
	}
	return true;
}

bool api_is_slug(const char *s)
{
	size_t n = 0;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return n <= 63;
}

bool api_is_uuid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};

	if (s == NULL)
		return false;
	for (int g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, s++)
			if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
				return false;
		if (g < 4 && *s++ != '-')
			return false;
	}
	return *s == '\0';
}

void api__random_hex(char *out, size_t nbytes)
{
	unsigned char raw[64];

	if (nbytes > sizeof raw)
		nbytes = sizeof raw;
	randombytes_buf(raw, nbytes);
	sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
}

void api__now_rfc3339(char out[32])
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void api__now_rfc3339_ms(char out[32])
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(now.tv_nsec / 1000000) % 1000);
}

bool api__utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t extra;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + extra >= n)
			return false;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += extra + 1;
	}
	return true;
}

bool api__buf_json_str(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	bool ok = buf_append(b, "\"", 1);

	while (ok && *p) {
		/* Copy the longest run that needs no escaping in one go. */
		const unsigned char *run = p;
		while (*p && *p != '"' && *p != '\\' && *p >= 0x20)
			p++;
		if (p > run)
			ok = buf_append(b, run, (size_t)(p - run));
		if (!ok || *p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			char e[2] = {'\\', (char)*p};
			ok = buf_append(b, e, 2);
		} else {
			char e[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
			ok = buf_append(b, e, 6);
		}
		p++;
	}
	return ok && buf_append(b, "\"", 1);
}

json_t *api_pg_str(const PGresult *r, int row, int col)
{
	if (PQgetisnull(r, row, col))
		return json_null();
	json_t *s = json_string(PQgetvalue(r, row, col));
	return s ? s : json_null();
}
