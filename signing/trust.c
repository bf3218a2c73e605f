/* Trust sets: the public keys an agent (or edgectl) accepts signatures from, current and
 * retired alike, and the trust file format "KEYID BASE64" per line with '#' comments. */
#include "signing/sign_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct trusted_key {
	uint8_t pk[SIGN_PUBLIC_KEY_BYTES];
	char key_id[SIGN_KEY_ID_LEN + 1];
};

/* A growable array: trust sets hold a handful of keys, so lookups are a linear scan. */
struct sign_trust {
	struct trusted_key *keys;
	size_t n, cap;
};

int sign_trust_create(sign_trust **out, char *err, size_t errlen)
{
	sign_trust *t;
	int rc = sign__init(err, errlen);

	*out = NULL;
	if (rc != SIGN_OK)
		return rc;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory creating a trust set");
	*out = t;
	return SIGN_OK;
}

void sign_trust_destroy(sign_trust *t)
{
	if (t == NULL)
		return;
	free(t->keys);
	free(t);
}

size_t sign_trust_count(const sign_trust *t)
{
	return t != NULL ? t->n : 0;
}

/* Adds a raw key; key_id (may be NULL) must be its id. */
static int trust_add_raw(sign_trust *t, const char *key_id, const uint8_t pk[SIGN_PUBLIC_KEY_BYTES],
			 char *err, size_t errlen)
{
	char id[SIGN_KEY_ID_LEN + 1];

	sign_key_id_of(pk, id);
	if (key_id != NULL && strcmp(key_id, id) != 0)
		return sign__fail(err, errlen, SIGN_E_INVALID,
				  "key id %.32s does not match its public key (whose id is %s)", key_id, id);
	for (size_t i = 0; i < t->n; i++)
		if (memcmp(t->keys[i].pk, pk, SIGN_PUBLIC_KEY_BYTES) == 0)
			return SIGN_OK; /* already trusted */
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 4;
		struct trusted_key *k = realloc(t->keys, cap * sizeof *k);
		if (k == NULL)
			return sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory adding a trusted key");
		t->keys = k;
		t->cap = cap;
	}
	memcpy(t->keys[t->n].pk, pk, SIGN_PUBLIC_KEY_BYTES);
	memcpy(t->keys[t->n].key_id, id, sizeof id);
	t->n++;
	return SIGN_OK;
}

int sign_trust_add(sign_trust *t, const char *key_id, const char *pub_b64, char *err, size_t errlen)
{
	uint8_t pk[SIGN_PUBLIC_KEY_BYTES];

	if (t == NULL || pub_b64 == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no trust set or no public key");
	if (sign__b64_decode_exact(pub_b64, strlen(pub_b64), pk, sizeof pk) != 0)
		return sign__fail(err, errlen, SIGN_E_INVALID,
				  "public key is not 32 bytes of standard padded base64");
	return trust_add_raw(t, key_id, pk, err, errlen);
}

int sign__trust_each(const sign_trust *t, const char *key_id,
		     int (*fn)(const uint8_t *pk, void *arg), void *arg)
{
	int found = 0;

	for (size_t i = 0; i < t->n; i++) {
		if (strcmp(t->keys[i].key_id, key_id) != 0)
			continue;
		found = 1;
		if (fn != NULL && fn(t->keys[i].pk, arg) == 0)
			return 0;
	}
	return found ? 1 : -1; /* 1: known id, no key accepted; -1: unknown id */
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one non-comment line [p, e) into t; returns a static reason on failure. */
static const char *parse_line(sign_trust *t, const char *p, const char *e, char *err, size_t errlen)
{
	const char *id, *id_end, *b64, *b64_end;
	char idbuf[SIGN_KEY_ID_LEN + 1];
	uint8_t pk[SIGN_PUBLIC_KEY_BYTES];

	id = p;
	while (p < e && !is_blank(*p))
		p++;
	id_end = p;
	while (p < e && is_blank(*p))
		p++;
	b64 = p;
	while (p < e && !is_blank(*p))
		p++;
	b64_end = p;
	while (p < e && is_blank(*p))
		p++;
	if (b64 == b64_end)
		return "expected \"KEYID BASE64\"";
	if (p < e && *p != '#')
		return "unexpected text after the public key";
	if (id_end - id != SIGN_KEY_ID_LEN)
		return "key id must be 16 hex digits";
	for (int i = 0; i < SIGN_KEY_ID_LEN; i++) {
		char c = id[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a'); /* accept upper case, compare in lower case */
		idbuf[i] = c;
	}
	idbuf[SIGN_KEY_ID_LEN] = '\0';
	if (!sign__is_lower_hex(idbuf, SIGN_KEY_ID_LEN))
		return "key id must be 16 hex digits";
	if (sign__b64_decode_exact(b64, (size_t)(b64_end - b64), pk, sizeof pk) != 0)
		return "public key is not 32 bytes of standard padded base64";
	switch (trust_add_raw(t, idbuf, pk, err, errlen)) {
	case SIGN_OK: return NULL;
	case SIGN_E_INVALID: return "key id does not match the public key";
	default: return "out of memory";
	}
}

int sign_trust_parse(const char *text, size_t len, sign_trust **out, size_t *out_line,
		     char *err, size_t errlen)
{
	sign_trust *t;
	size_t line = 0;
	const char *p = text, *end = text + len;
	int rc;

	*out = NULL;
	if (out_line != NULL)
		*out_line = 0;
	if (text == NULL && len > 0)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no trust file text");
	if ((rc = sign_trust_create(&t, err, errlen)) != SIGN_OK)
		return rc;
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p)), *q;
		const char *why = NULL;

		if (e == NULL)
			e = end;
		line++;
		if (memchr(p, '\0', (size_t)(e - p)) != NULL) {
			why = "NUL byte";
		} else {
			for (q = p; q < e && is_blank(*q); q++)
				;
			if (q < e && *q != '#')
				why = parse_line(t, q, e, err, errlen);
		}
		if (why != NULL) {
			if (strcmp(why, "out of memory") == 0) {
				rc = sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory reading a trust file");
			} else {
				rc = sign__fail(err, errlen, SIGN_E_MALFORMED_TRUST,
						"malformed trust file line %zu: %s", line, why);
				if (out_line != NULL)
					*out_line = line;
			}
			sign_trust_destroy(t);
			return rc;
		}
		p = e < end ? e + 1 : end;
	}
	*out = t;
	return SIGN_OK;
}

int sign_trust_load(const char *path, sign_trust **out, size_t *out_line, char *err, size_t errlen)
{
	FILE *f;
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc;

	*out = NULL;
	if (out_line != NULL)
		*out_line = 0;
	if (path == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no trust file path given");
	f = fopen(path, "rbe");
	if (f == NULL)
		return sign__fail(err, errlen, SIGN_E_IO, "cannot open trust file %s: %s", path, strerror(errno));
	for (;;) {
		size_t n;
		if (len == cap) {
			/* A trust file holds a few keys; a megabyte is not a trust file. */
			if (cap >= (1u << 20)) {
				fclose(f);
				free(text);
				return sign__fail(err, errlen, SIGN_E_IO, "trust file %s is larger than 1 MiB", path);
			}
			char *b = realloc(text, cap ? 2 * cap : 4096);
			if (b == NULL) {
				fclose(f);
				free(text);
				return sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory reading %s", path);
			}
			text = b;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(text + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				fclose(f);
				free(text);
				return sign__fail(err, errlen, SIGN_E_IO, "cannot read trust file %s", path);
			}
			break;
		}
	}
	fclose(f);
	rc = sign_trust_parse(text != NULL ? text : "", len, out, out_line, err, errlen);
	free(text);
	return rc;
}
