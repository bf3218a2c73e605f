/* Module manifests: validation, the canonical JSON bytes that are signed, and a strict reader
 * of manifest JSON text. The reader accepts any key order, white space and escaping, so the
 * canonical bytes depend only on the values, never on how a peer happened to serialise them. */
#include "signing/sign_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Largest integer a JSON number can carry without loss in every common implementation. */
#define JSON_MAX_SAFE_INT 9007199254740991ULL

/* The fields, in canonical (byte-wise sorted) key order. */
enum field { F_CREATED_AT, F_DIGEST, F_KEY_ID, F_MODULE, F_SIZE, F_TENANT, F_VERSION, F_COUNT };
static const char *const field_names[F_COUNT] = {
	"created_at", "digest", "key_id", "module", "size", "tenant", "version",
};

/* A cursor over the JSON text; err/errlen travel with it so helpers can report positions. */
struct reader {
	const char *p, *end, *start;
	char *err;
	size_t errlen;
};

static size_t utf8_valid_prefix(const unsigned char *s, size_t n);
static int check_text_field(const char *name, const char *v, char *err, size_t errlen);
static void put_json_string(char **w, const char *s);
static int rd_fail(struct reader *r, const char *fmt, const char *arg);
static void rd_ws(struct reader *r);
static int rd_string(struct reader *r, char *out, size_t cap, const char *what);
static int rd_u64(struct reader *r, uint64_t *out, const char *what);

/* Length of the longest valid UTF-8 prefix of s[0..n) (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). Equals n when the whole string is valid. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i];
		size_t need;
		unsigned lo = 0x80, hi = 0xBF;

		if (c < 0x80) { i++; continue; }
		if (c >= 0xC2 && c <= 0xDF) need = 1;
		else if (c == 0xE0) { need = 2; lo = 0xA0; }
		else if (c == 0xED) { need = 2; hi = 0x9F; }
		else if (c >= 0xE1 && c <= 0xEF) need = 2;
		else if (c == 0xF0) { need = 3; lo = 0x90; }
		else if (c >= 0xF1 && c <= 0xF3) need = 3;
		else if (c == 0xF4) { need = 3; hi = 0x8F; }
		else return i;
		if (n - i <= need)
			return i;
		/* The first continuation byte carries the range restriction, the rest are plain. */
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t j = 2; j <= need; j++)
			if (s[i + j] < 0x80 || s[i + j] > 0xBF)
				return i;
		i += need + 1;
	}
	return n;
}

static int check_text_field(const char *name, const char *v, char *err, size_t errlen)
{
	size_t n = strnlen(v, SIGN_FIELD_MAX);

	if (n == 0)
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: %s is empty", name);
	if (n == SIGN_FIELD_MAX)
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: %s is longer than %d bytes", name, SIGN_FIELD_MAX - 1);
	if (utf8_valid_prefix((const unsigned char *)v, n) != n)
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: %s is not valid UTF-8", name);
	return SIGN_OK;
}

int sign__manifest_check(const struct sign_manifest *m, char *err, size_t errlen)
{
	int rc;

	if (m == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no manifest");
	if ((rc = check_text_field("tenant", m->tenant, err, errlen)) != SIGN_OK ||
	    (rc = check_text_field("module", m->module, err, errlen)) != SIGN_OK ||
	    (rc = check_text_field("created_at", m->created_at, err, errlen)) != SIGN_OK)
		return rc;
	if (m->version < 1 || m->version > JSON_MAX_SAFE_INT)
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: version must be between 1 and 2^53-1");
	if (m->size > JSON_MAX_SAFE_INT)
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: size must be at most 2^53-1");
	if (strncmp(m->digest, "sha256:", 7) != 0 || !sign__is_lower_hex(m->digest + 7, 64))
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: digest must be \"sha256:\" and 64 lowercase hex digits");
	if (!sign__is_lower_hex(m->key_id, SIGN_KEY_ID_LEN))
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
				  "malformed manifest: key_id must be 16 lowercase hex digits");
	return SIGN_OK;
}

/* Writes s as a JSON string with the minimal escaping of RFC 8785 (JCS): only '"', '\\' and
 * control characters are escaped, the short forms where JSON has them; the rest is copied
 * as UTF-8. One spelling per value is what makes the bytes canonical. */
static void put_json_string(char **w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *o = *w;

	*o++ = '"';
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		switch (*p) {
		case '"': *o++ = '\\'; *o++ = '"'; break;
		case '\\': *o++ = '\\'; *o++ = '\\'; break;
		case '\b': *o++ = '\\'; *o++ = 'b'; break;
		case '\f': *o++ = '\\'; *o++ = 'f'; break;
		case '\n': *o++ = '\\'; *o++ = 'n'; break;
		case '\r': *o++ = '\\'; *o++ = 'r'; break;
		case '\t': *o++ = '\\'; *o++ = 't'; break;
		default:
			if (*p < 0x20) {
				memcpy(o, "\\u00", 4);
				o[4] = hex[*p >> 4];
				o[5] = hex[*p & 15];
				o += 6;
			} else {
				*o++ = (char)*p;
			}
		}
	}
	*o++ = '"';
	*w = o;
}

static void put_lit(char **w, const char *lit)
{
	size_t n = strlen(lit);

	memcpy(*w, lit, n);
	*w += n;
}

/* Shortest decimal form, no sign, no leading zeros: the only JSON spelling we accept. */
static void put_u64(char **w, uint64_t v)
{
	char tmp[20];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*(*w)++ = tmp[--n];
}

/* Writes prefix + canonical bytes of m into a fresh buffer. */
static int build(const struct sign_manifest *m, const char *prefix, char **out, size_t *out_len,
		 char *err, size_t errlen)
{
	size_t plen = strlen(prefix), cap;
	char *buf, *w;
	int rc = sign__manifest_check(m, err, errlen);

	*out = NULL;
	*out_len = 0;
	if (rc != SIGN_OK)
		return rc;
	/* Upper bound: every text byte escaped to 6 bytes, two 20-digit numbers, the fixed-size
	 * fields, and the keys and punctuation. */
	cap = plen + 6 * (strlen(m->tenant) + strlen(m->module) + strlen(m->created_at)) +
	      2 * 20 + SIGN_DIGEST_LEN + SIGN_KEY_ID_LEN + 128;
	buf = malloc(cap);
	if (buf == NULL)
		return sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory building a manifest");
	w = buf;
	memcpy(w, prefix, plen);
	w += plen;
	/* memcpy of literals and a hand-rolled integer print: sprintf made building these few
	 * hundred bytes cost more than a tenth of an Ed25519 signature. */
	put_lit(&w, "{\"created_at\":");
	put_json_string(&w, m->created_at);
	put_lit(&w, ",\"digest\":");
	put_json_string(&w, m->digest);
	put_lit(&w, ",\"key_id\":");
	put_json_string(&w, m->key_id);
	put_lit(&w, ",\"module\":");
	put_json_string(&w, m->module);
	put_lit(&w, ",\"size\":");
	put_u64(&w, m->size);
	put_lit(&w, ",\"tenant\":");
	put_json_string(&w, m->tenant);
	put_lit(&w, ",\"version\":");
	put_u64(&w, m->version);
	*w++ = '}';
	*w = '\0';
	*out = buf;
	*out_len = (size_t)(w - buf);
	return SIGN_OK;
}

int sign_manifest_canonical(const struct sign_manifest *m, char **out, size_t *out_len,
			    char *err, size_t errlen)
{
	return build(m, "", out, out_len, err, errlen);
}

int sign__message(const struct sign_manifest *m, uint8_t **out, size_t *out_len,
		  char *err, size_t errlen)
{
	char *buf;
	int rc = build(m, SIGN_CONTEXT, &buf, out_len, err, errlen);

	*out = (uint8_t *)buf;
	return rc;
}

void sign_digest(const uint8_t *bytes, size_t len, char out[SIGN_DIGEST_LEN + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];

	(void)sign__init(NULL, 0); /* SHA-256 needs no set-up, but keep every entry point alike */
	crypto_hash_sha256(h, bytes, len);
	memcpy(out, "sha256:", 7);
	sodium_bin2hex(out + 7, 65, h, sizeof h);
}

/* ---- The strict reader ------------------------------------------------------------------ */

static int rd_fail(struct reader *r, const char *fmt, const char *arg)
{
	char what[160];

	snprintf(what, sizeof what, fmt, arg);
	return sign__fail(r->err, r->errlen, SIGN_E_MALFORMED_MANIFEST,
			  "malformed manifest: %s at byte %zu", what, (size_t)(r->p - r->start));
}

/* JSON white space is exactly these four (RFC 8259 section 2). */
static void rd_ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

/* Reads a JSON string at r->p into out (decoded UTF-8, NUL-terminated, at most cap-1 bytes).
 * Rejects raw control characters, bad escapes, lone surrogates, U+0000 (our strings are C
 * strings) and invalid UTF-8. what names the thing for messages. */
static int rd_string(struct reader *r, char *out, size_t cap, const char *what)
{
	size_t n = 0;

	if (r->p >= r->end || *r->p != '"')
		return rd_fail(r, "expected a string for %s", what);
	r->p++;
	for (;;) {
		unsigned char c;
		char enc[4];
		size_t elen;

		if (r->p >= r->end)
			return rd_fail(r, "unterminated string in %s", what);
		c = (unsigned char)*r->p;
		if (c == '"') {
			r->p++;
			break;
		}
		if (c < 0x20)
			return rd_fail(r, "raw control character in %s", what);
		if (c != '\\') {
			/* Copy one whole UTF-8 sequence, validated. */
			size_t avail = (size_t)(r->end - r->p);
			size_t seq = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
			if (seq > avail || utf8_valid_prefix((const unsigned char *)r->p, seq) != seq)
				return rd_fail(r, "invalid UTF-8 in %s", what);
			memcpy(enc, r->p, seq);
			elen = seq;
			r->p += seq;
		} else {
			unsigned cp;
			if (r->end - r->p < 2)
				return rd_fail(r, "unterminated string in %s", what);
			switch (r->p[1]) {
			case '"': cp = '"'; break;
			case '\\': cp = '\\'; break;
			case '/': cp = '/'; break;
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (r->end - r->p < 6 || hex4(r->p + 2, &cp) != 0)
					return rd_fail(r, "bad \\u escape in %s", what);
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return rd_fail(r, "lone low surrogate in %s", what);
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					unsigned lo;
					if (r->end - r->p < 12 || r->p[6] != '\\' || r->p[7] != 'u' ||
					    hex4(r->p + 8, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
						return rd_fail(r, "lone high surrogate in %s", what);
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					r->p += 6;
				}
				if (cp == 0)
					return rd_fail(r, "NUL character (\\u0000) in %s", what);
				r->p += 4;
				break;
			default:
				return rd_fail(r, "bad escape in %s", what);
			}
			r->p += 2;
			if (cp < 0x80) {
				enc[0] = (char)cp;
				elen = 1;
			} else if (cp < 0x800) {
				enc[0] = (char)(0xC0 | (cp >> 6));
				enc[1] = (char)(0x80 | (cp & 0x3F));
				elen = 2;
			} else if (cp < 0x10000) {
				enc[0] = (char)(0xE0 | (cp >> 12));
				enc[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
				enc[2] = (char)(0x80 | (cp & 0x3F));
				elen = 3;
			} else {
				enc[0] = (char)(0xF0 | (cp >> 18));
				enc[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
				enc[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
				enc[3] = (char)(0x80 | (cp & 0x3F));
				elen = 4;
			}
		}
		if (n + elen >= cap)
			return rd_fail(r, "%s is too long", what);
		memcpy(out + n, enc, elen);
		n += elen;
	}
	out[n] = '\0';
	return SIGN_OK;
}

/* Reads a non-negative JSON integer (no sign, fraction, exponent or leading zero) of at most
 * 2^53-1. */
static int rd_u64(struct reader *r, uint64_t *out, const char *what)
{
	uint64_t v = 0;
	const char *s = r->p;

	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return rd_fail(r, "%s must be a non-negative integer", what);
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		v = v * 10 + (uint64_t)(*r->p - '0');
		if (v > JSON_MAX_SAFE_INT)
			return rd_fail(r, "%s is larger than 2^53-1", what);
		r->p++;
	}
	if (r->p - s > 1 && *s == '0')
		return rd_fail(r, "%s has a leading zero", what);
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return rd_fail(r, "%s must be an integer", what);
	*out = v;
	return SIGN_OK;
}

int sign_manifest_parse(const char *text, size_t len, struct sign_manifest *out,
			char *err, size_t errlen)
{
	struct reader r = { text, text + len, text, err, errlen };
	struct sign_manifest m;
	int seen[F_COUNT] = {0};
	int rc;

	if (text == NULL || out == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no manifest text");
	memset(&m, 0, sizeof m);
	rd_ws(&r);
	if (r.p >= r.end || *r.p != '{')
		return rd_fail(&r, "%s", "expected '{'");
	r.p++;
	rd_ws(&r);
	if (r.p < r.end && *r.p == '}')
		return rd_fail(&r, "%s", "empty object");
	for (;;) {
		char key[SIGN_FIELD_MAX]; /* long enough that a long key reads as "unknown" */
		int f;

		rd_ws(&r);
		if ((rc = rd_string(&r, key, sizeof key, "a key")) != SIGN_OK)
			return rc;
		for (f = 0; f < F_COUNT; f++)
			if (strcmp(key, field_names[f]) == 0)
				break;
		if (f == F_COUNT)
			return rd_fail(&r, "unknown field \"%.32s\"", key);
		if (seen[f])
			return rd_fail(&r, "duplicate field \"%.32s\"", key);
		seen[f] = 1;
		rd_ws(&r);
		if (r.p >= r.end || *r.p != ':')
			return rd_fail(&r, "%s", "expected ':'");
		r.p++;
		rd_ws(&r);
		switch (f) {
		case F_CREATED_AT: rc = rd_string(&r, m.created_at, sizeof m.created_at, "created_at"); break;
		case F_DIGEST: rc = rd_string(&r, m.digest, sizeof m.digest, "digest"); break;
		case F_KEY_ID: rc = rd_string(&r, m.key_id, sizeof m.key_id, "key_id"); break;
		case F_MODULE: rc = rd_string(&r, m.module, sizeof m.module, "module"); break;
		case F_TENANT: rc = rd_string(&r, m.tenant, sizeof m.tenant, "tenant"); break;
		case F_SIZE: rc = rd_u64(&r, &m.size, "size"); break;
		default: rc = rd_u64(&r, &m.version, "version"); break;
		}
		if (rc != SIGN_OK)
			return rc;
		rd_ws(&r);
		if (r.p < r.end && *r.p == ',') {
			r.p++;
			continue;
		}
		if (r.p < r.end && *r.p == '}') {
			r.p++;
			break;
		}
		return rd_fail(&r, "%s", "expected ',' or '}'");
	}
	rd_ws(&r);
	if (r.p != r.end)
		return rd_fail(&r, "%s", "trailing bytes after the object");
	for (int f = 0; f < F_COUNT; f++)
		if (!seen[f])
			return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST,
					  "malformed manifest: missing field \"%s\"", field_names[f]);
	if ((rc = sign__manifest_check(&m, err, errlen)) != SIGN_OK)
		return rc;
	*out = m;
	return SIGN_OK;
}
