/* Unit tests of signing/: the checked-in vectors (tests/unit/vectors/signing_v1.txt,
 * cross-checked with OpenSSL by signing_crosscheck.py), canonical bytes, every single-byte
 * corruption of manifest, signature and module, trust sets and trust files, key files. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "signing/signing.h"
#include "tests/lib/th.h"

#define ERRLEN 256

/* ---- helpers ------------------------------------------------------------------------------ */

/* The vectors file as KEY=VALUE pairs. */
static char *vec_text;

static const char *vec(const char *key)
{
	static char out[8][1024];
	static int slot;
	size_t klen = strlen(key);

	if (vec_text == NULL) {
		const char *top = getenv("EDGEPLANE_TOP");
		char path[4096];
		size_t len;
		snprintf(path, sizeof path, "%s/tests/unit/vectors/signing_v1.txt", top ? top : ".");
		vec_text = th_read_file(path, &len);
		ck_assert_msg(vec_text != NULL, "cannot read %s", path);
	}
	for (const char *p = vec_text; p != NULL && *p != '\0';) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n > klen && p[klen] == '=' && strncmp(p, key, klen) == 0) {
			char *o = out[slot++ % 8];
			ck_assert_uint_lt(n - klen - 1, sizeof out[0]);
			memcpy(o, p + klen + 1, n - klen - 1);
			o[n - klen - 1] = '\0';
			return o;
		}
		p = e ? e + 1 : NULL;
	}
	ck_abort_msg("vector %s missing", key);
	return NULL;
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;

	ck_assert_int_eq(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &n, NULL), 0);
	return n;
}

static sign_key *seed_key(uint8_t fill)
{
	uint8_t seed[32];
	sign_key *k = NULL;
	char err[ERRLEN];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(fill + i);
	ck_assert_int_eq(sign_key_from_seed(seed, &k, err, sizeof err), SIGN_OK);
	return k;
}

/* A valid manifest for module bytes, signed-for by k. */
static void make_manifest(struct sign_manifest *m, const sign_key *k, const uint8_t *mod, size_t len)
{
	memset(m, 0, sizeof *m);
	strcpy(m->tenant, "acme");
	strcpy(m->module, "hello");
	m->version = 7;
	sign_digest(mod, len, m->digest);
	m->size = len;
	strcpy(m->created_at, "2026-12-03T10:00:00Z");
	strcpy(m->key_id, sign_key_id(k));
}

static sign_trust *trust_of(const sign_key *const *keys, int n)
{
	sign_trust *t = NULL;
	char err[ERRLEN];

	ck_assert_int_eq(sign_trust_create(&t, err, sizeof err), SIGN_OK);
	for (int i = 0; i < n; i++)
		ck_assert_msg(sign_trust_add(t, sign_key_id(keys[i]), sign_key_public_b64(keys[i]), err,
					     sizeof err) == SIGN_OK, "%s", err);
	return t;
}

static int manifest_eq(const struct sign_manifest *a, const struct sign_manifest *b)
{
	return strcmp(a->tenant, b->tenant) == 0 && strcmp(a->module, b->module) == 0 &&
	       a->version == b->version && strcmp(a->digest, b->digest) == 0 && a->size == b->size &&
	       strcmp(a->created_at, b->created_at) == 0 && strcmp(a->key_id, b->key_id) == 0;
}

/* ---- fixed vectors ------------------------------------------------------------------------ */

START_TEST(vectors_match)
{
	uint8_t seed[32], mod[64];
	sign_key *k = NULL;
	sign_trust *t;
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1], id[SIGN_KEY_ID_LEN + 1];

	ck_assert_uint_eq(unhex(vec("seed_hex"), seed, sizeof seed), 32);
	ck_assert_int_eq(sign_key_from_seed(seed, &k, err, sizeof err), SIGN_OK);
	ck_assert_str_eq(sign_key_public_b64(k), vec("public_key"));
	ck_assert_str_eq(sign_key_id(k), vec("key_id"));
	sign_key_id_of(sign_key_public(k), id);
	ck_assert_str_eq(id, vec("key_id"));
	t = trust_of((const sign_key *const[]){k}, 1);

	const char *names[] = {"v1", "v2"};
	for (int v = 0; v < 2; v++) {
		char key[64], *canon;
		size_t canon_len, mod_len;
		struct sign_manifest m, back;

		snprintf(key, sizeof key, "%s.module_hex", names[v]);
		mod_len = unhex(vec(key), mod, sizeof mod);
		snprintf(key, sizeof key, "%s.canonical", names[v]);
		const char *want_canon = vec(key);

		/* The manifest from its canonical text; then back to the same bytes. */
		ck_assert_msg(sign_manifest_parse(want_canon, strlen(want_canon), &m, err, sizeof err) ==
			      SIGN_OK, "%s: %s", names[v], err);
		ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &canon_len, err, sizeof err), SIGN_OK);
		ck_assert_str_eq(canon, want_canon);
		ck_assert_uint_eq(canon_len, strlen(want_canon));
		ck_assert_int_eq(sign_manifest_parse(canon, canon_len, &back, err, sizeof err), SIGN_OK);
		ck_assert(manifest_eq(&m, &back));
		free(canon);

		char digest[SIGN_DIGEST_LEN + 1];
		sign_digest(mod, mod_len, digest);
		snprintf(key, sizeof key, "%s.digest", names[v]);
		ck_assert_str_eq(digest, vec(key));
		ck_assert_str_eq(m.digest, vec(key));
		ck_assert_uint_eq(m.size, mod_len);

		snprintf(key, sizeof key, "%s.signature", names[v]);
		ck_assert_int_eq(sign_manifest_sign(k, &m, sig, err, sizeof err), SIGN_OK);
		ck_assert_str_eq(sig, vec(key));
		ck_assert_int_eq(sign_manifest_verify(t, &m, vec(key), err, sizeof err), SIGN_OK);
		ck_assert_int_eq(sign_verify_text(t, want_canon, strlen(want_canon), vec(key), &back, err,
						  sizeof err), SIGN_OK);
		ck_assert(manifest_eq(&m, &back));
		ck_assert_int_eq(sign_verify_bytes(&m, mod, mod_len, err, sizeof err), SIGN_OK);
	}
	/* v2 pins the escaping: a known tenant with quotes, backslash, controls, non-ASCII. */
	struct sign_manifest m2;
	const char *c2 = vec("v2.canonical");
	ck_assert_int_eq(sign_manifest_parse(c2, strlen(c2), &m2, err, sizeof err), SIGN_OK);
	ck_assert_str_eq(m2.tenant, "ac\"me\\/\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\x01\x1f\x7f\n\t\r\b\f");
	ck_assert(m2.version == 9007199254740991ULL);
	sign_trust_destroy(t);
	sign_key_destroy(k);
}
END_TEST

/* ---- canonical bytes ---------------------------------------------------------------------- */

START_TEST(canonical_independent_of_order_and_space)
{
	/* Every one of the 7! key orders, with varying white space and escaping. */
	static const char *members[7] = {
		"\"tenant\" :\"acme\"",
		"\"module\":\t\"h\\u00e9llo\"",
		"\r\n\"version\": 3",
		"\"digest\":\"sha256:93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476\"",
		"\"size\"  :  8 ",
		"\"created_at\":\"2026-12-03T10:00:00Z\"",
		"\"key\\u005fid\":\"56475aa75463474c\"",
	};
	const char *want = "{\"created_at\":\"2026-12-03T10:00:00Z\",\"digest\":\"sha256:"
			   "93a44bbb96c751218e4c00d479e4c14358122a389acca16205b1e4d0dc5f9476\","
			   "\"key_id\":\"56475aa75463474c\",\"module\":\"h\xc3\xa9llo\",\"size\":8,"
			   "\"tenant\":\"acme\",\"version\":3}";
	int perm[7] = {0, 1, 2, 3, 4, 5, 6}, count = 0;
	char err[ERRLEN];

	/* Heap's algorithm, iteratively. */
	int c[7] = {0};
	for (int i = 0; i < 7;) {
		char text[1024], *canon;
		size_t n = 0, len;
		struct sign_manifest m;

		n += (size_t)snprintf(text + n, sizeof text - n, "%s{", count % 2 ? " \n" : "");
		for (int j = 0; j < 7; j++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s%s", j ? (count % 3 ? " , " : ",") : "",
					      members[perm[j]]);
		n += (size_t)snprintf(text + n, sizeof text - n, "}%s", count % 5 ? "" : "\n\t ");
		ck_assert_msg(sign_manifest_parse(text, n, &m, err, sizeof err) == SIGN_OK, "%s: %s", text, err);
		ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_OK);
		ck_assert_str_eq(canon, want);
		free(canon);
		count++;
		/* next permutation */
		while (i < 7 && c[i] >= i) {
			c[i] = 0;
			i++;
		}
		if (i < 7) {
			int a = i % 2 ? c[i] : 0, tmp = perm[a];
			perm[a] = perm[i];
			perm[i] = tmp;
			c[i]++;
			i = 0;
		}
	}
	ck_assert_int_eq(count, 5040);
}
END_TEST

START_TEST(canonical_escaping_and_unicode)
{
	struct sign_manifest m;
	char err[ERRLEN], *canon;
	size_t len;
	/* A surrogate-pair escape, "\/" and a raw DEL must normalise to the canonical spelling. */
	const char *text = "{\"tenant\":\"a\\ud83d\\ude00\\/\\u007f\\u001F\\\"\",\"module\":\"m\","
			   "\"version\":1,\"digest\":\"sha256:"
			   "0000000000000000000000000000000000000000000000000000000000000000\",\"size\":0,"
			   "\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}";

	ck_assert_int_eq(sign_manifest_parse(text, strlen(text), &m, err, sizeof err), SIGN_OK);
	ck_assert_str_eq(m.tenant, "a\xf0\x9f\x98\x80/\x7f\x1f\"");
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_OK);
	ck_assert_str_eq(canon, "{\"created_at\":\"t\",\"digest\":\"sha256:"
				"0000000000000000000000000000000000000000000000000000000000000000\","
				"\"key_id\":\"0123456789abcdef\",\"module\":\"m\",\"size\":0,"
				"\"tenant\":\"a\xf0\x9f\x98\x80/\x7f\\u001f\\\"\",\"version\":1}");
	free(canon);

	/* Invalid fields are refused when building canonical bytes, not only when parsing. */
	m.version = 0;
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	m.version = 1;
	strcpy(m.tenant, "bad\xc0\xaf");
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	strcpy(m.tenant, "acme");
	m.digest[10] = 'A';
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
}
END_TEST

/* Manifest texts that must be refused as malformed, each next to the good form above. */
#define D64 "0000000000000000000000000000000000000000000000000000000000000000"
#define OKF "\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\""
static const char *const bad_manifests[] = {
	"",
	"   ",
	"[]",
	"{}",
	"null",
	"{\"tenant\":\"a\"," OKF,                              /* unterminated object */
	"{\"tenant\":\"a\"," OKF "}}",                         /* trailing bytes */
	"{\"tenant\":\"a\"," OKF "} x",
	"{\"tenant\":\"a\"," OKF ",}",                         /* trailing comma */
	"{\"tenant\":\"a\",," OKF "}",
	"{\"tenant\":\"a\"" OKF "}",                           /* missing comma */
	"{\"tenant\"\"a\"," OKF "}",                           /* missing colon */
	"{tenant:\"a\"," OKF "}",                              /* unquoted key */
	"{'tenant':\"a\"," OKF "}",
	"{" OKF "}",                                           /* missing tenant */
	"{\"tenant\":\"a\",\"tenant\":\"a\"," OKF "}",         /* duplicate */
	"{\"tenant\":\"a\",\"extra\":1," OKF "}",              /* unknown field */
	"{\"tenant\":\"a\",\"Tenant\":\"a\"," OKF "}",
	"{\"tenant\":null," OKF "}",                           /* wrong types */
	"{\"tenant\":true," OKF "}",
	"{\"tenant\":1," OKF "}",
	"{\"tenant\":[\"a\"]," OKF "}",
	"{\"tenant\":{}," OKF "}",
	"{\"tenant\":\"\"," OKF "}",                           /* empty */
	"{\"tenant\":\"a\\x\"," OKF "}",                       /* bad escape */
	"{\"tenant\":\"a\\u12\"," OKF "}",
	"{\"tenant\":\"a\\u0000\"," OKF "}",                   /* NUL */
	"{\"tenant\":\"a\\ud83d\"," OKF "}",                   /* lone surrogates */
	"{\"tenant\":\"a\\ude00\"," OKF "}",
	"{\"tenant\":\"a\\ud83d\\u0041\"," OKF "}",
	"{\"tenant\":\"a\tb\"," OKF "}",                       /* raw control character */
	"{\"tenant\":\"a\nb\"," OKF "}",
	"{\"tenant\":\"\xc0\xaf\"," OKF "}",                   /* overlong UTF-8 */
	"{\"tenant\":\"\xed\xa0\x80\"," OKF "}",               /* encoded surrogate */
	"{\"tenant\":\"\xf4\x90\x80\x80\"," OKF "}",           /* above U+10FFFF */
	"{\"tenant\":\"\xe2\x82\"," OKF "}",                   /* cut sequence */
	"{\"tenant\":\"\xff\"," OKF "}",
	"\xef\xbb\xbf{\"tenant\":\"a\"," OKF "}",              /* BOM */
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":01,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":-1,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1.0,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1e2,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":0,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":\"1\",\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":9007199254740992,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":99999999999999999999999,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha512:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "0\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:A" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcdef\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789ABCDEF\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"t\",\"key_id\":\"0123456789abcde\"}",
	"{\"tenant\":\"a\",\"module\":\"m\",\"version\":1,\"digest\":\"sha256:" D64 "\",\"size\":0,\"created_at\":\"\",\"key_id\":\"0123456789abcdef\"}",
};

START_TEST(malformed_manifests)
{
	const char *good = "{\"tenant\":\"a\"," OKF "}";
	struct sign_manifest m;
	char err[ERRLEN];

	ck_assert_int_eq(sign_manifest_parse(good, strlen(good), &m, err, sizeof err), SIGN_OK);
	for (size_t i = 0; i < sizeof bad_manifests / sizeof bad_manifests[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(sign_manifest_parse(bad_manifests[i], strlen(bad_manifests[i]), &m, err,
						  sizeof err) == SIGN_E_MALFORMED_MANIFEST,
			      "accepted bad manifest #%zu: %s", i, bad_manifests[i]);
		ck_assert_msg(strncmp(err, "malformed manifest", 18) == 0, "#%zu: %s", i, err);
	}
	/* A NUL byte inside the text (length given explicitly) is refused too. */
	char with_nul[512];
	size_t n = strlen(good);
	memcpy(with_nul, good, n);
	with_nul[12] = '\0';
	ck_assert_int_eq(sign_manifest_parse(with_nul, n, &m, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	/* A field longer than SIGN_FIELD_MAX-1 bytes. */
	char big[1024];
	char tenant[SIGN_FIELD_MAX + 1];
	memset(tenant, 'a', SIGN_FIELD_MAX);
	tenant[SIGN_FIELD_MAX] = '\0';
	snprintf(big, sizeof big, "{\"tenant\":\"%s\"," OKF "}", tenant);
	ck_assert_int_eq(sign_manifest_parse(big, strlen(big), &m, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	tenant[SIGN_FIELD_MAX - 1] = '\0'; /* 255 bytes: the maximum */
	snprintf(big, sizeof big, "{\"tenant\":\"%s\"," OKF "}", tenant);
	ck_assert_int_eq(sign_manifest_parse(big, strlen(big), &m, err, sizeof err), SIGN_OK);
}
END_TEST

/* ---- every single-byte corruption fails, with the right error ----------------------------- */

START_TEST(flip_every_manifest_byte)
{
	sign_key *k = seed_key(1);
	sign_trust *t = trust_of((const sign_key *const[]){k}, 1);
	static const uint8_t mod[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	static const uint8_t masks[] = {0x01, 0x02, 0x20, 0x80, 0xff};
	struct sign_manifest m, parsed;
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1], *canon;
	size_t len;
	int n_malformed = 0, n_unknown = 0, n_badsig = 0;

	make_manifest(&m, k, mod, sizeof mod);
	ck_assert_int_eq(sign_manifest_sign(k, &m, sig, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_canonical(&m, &canon, &len, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_verify_text(t, canon, len, sig, NULL, err, sizeof err), SIGN_OK);
	for (size_t i = 0; i < len; i++) {
		for (size_t j = 0; j < sizeof masks; j++) {
			int want, got;

			canon[i] ^= (char)masks[j];
			/* The expected error follows from what the flip did: unparseable text is a
			 * malformed manifest; another key id is unknown; any other change of a value
			 * breaks the signature. */
			if (sign_manifest_parse(canon, len, &parsed, err, sizeof err) != SIGN_OK)
				want = SIGN_E_MALFORMED_MANIFEST, n_malformed++;
			else if (strcmp(parsed.key_id, m.key_id) != 0)
				want = SIGN_E_UNKNOWN_KEY, n_unknown++;
			else
				want = SIGN_E_BAD_SIGNATURE, n_badsig++;
			got = sign_verify_text(t, canon, len, sig, NULL, err, sizeof err);
			ck_assert_msg(got == want, "byte %zu ^ %02x: got %s (%s), want %s", i, masks[j],
				      sign_strerror(got), err, sign_strerror(want));
			canon[i] ^= (char)masks[j];
		}
	}
	/* Each kind of failure really occurred. */
	ck_assert_int_gt(n_malformed, 0);
	ck_assert_int_gt(n_unknown, 0);
	ck_assert_int_gt(n_badsig, 0);
	ck_assert_int_eq(sign_verify_text(t, canon, len, sig, NULL, err, sizeof err), SIGN_OK);
	free(canon);
	sign_trust_destroy(t);
	sign_key_destroy(k);
}
END_TEST

START_TEST(flip_every_signature_byte)
{
	sign_key *k = seed_key(2);
	sign_trust *t = trust_of((const sign_key *const[]){k}, 1);
	static const uint8_t mod[] = "module";
	struct sign_manifest m;
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1], sig2[SIGN_SIGNATURE_B64_LEN + 1];
	uint8_t raw[64];
	size_t raw_len = 0;

	make_manifest(&m, k, mod, sizeof mod);
	ck_assert_int_eq(sign_manifest_sign(k, &m, sig, err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(strlen(sig), SIGN_SIGNATURE_B64_LEN);
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_OK);
	/* Every bit of the raw 64 signature bytes. */
	ck_assert_int_eq(sodium_base642bin(raw, sizeof raw, sig, strlen(sig), NULL, &raw_len, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	ck_assert_uint_eq(raw_len, 64);
	for (size_t i = 0; i < 64; i++) {
		for (int b = 0; b < 8; b++) {
			raw[i] ^= (uint8_t)(1u << b);
			sodium_bin2base64(sig2, sizeof sig2, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
			ck_assert_msg(sign_manifest_verify(t, &m, sig2, err, sizeof err) == SIGN_E_BAD_SIGNATURE,
				      "raw byte %zu bit %d", i, b);
			raw[i] ^= (uint8_t)(1u << b);
		}
	}
	/* Every character of the base64 text, including padding bits and '='. */
	for (size_t i = 0; i < SIGN_SIGNATURE_B64_LEN; i++) {
		for (int b = 0; b < 8; b++) {
			strcpy(sig2, sig);
			sig2[i] ^= (char)(1u << b);
			if (sig2[i] == '\0')
				continue;
			ck_assert_msg(sign_manifest_verify(t, &m, sig2, err, sizeof err) == SIGN_E_BAD_SIGNATURE,
				      "char %zu bit %d", i, b);
		}
	}
	/* Truncated, extended, empty, unpadded, with white space. */
	const char *bad[] = {"", "AAAA", "ycIQXFlJ", " ", NULL};
	for (int i = 0; bad[i] != NULL; i++)
		ck_assert_int_eq(sign_manifest_verify(t, &m, bad[i], err, sizeof err), SIGN_E_BAD_SIGNATURE);
	strcpy(sig2, sig);
	sig2[SIGN_SIGNATURE_B64_LEN - 2] = '\0';
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig2, err, sizeof err), SIGN_E_BAD_SIGNATURE);
	char longer[SIGN_SIGNATURE_B64_LEN + 8];
	snprintf(longer, sizeof longer, "%s\n", sig);
	ck_assert_int_eq(sign_manifest_verify(t, &m, longer, err, sizeof err), SIGN_E_BAD_SIGNATURE);
	snprintf(longer, sizeof longer, "%sAAAA", sig);
	ck_assert_int_eq(sign_manifest_verify(t, &m, longer, err, sizeof err), SIGN_E_BAD_SIGNATURE);
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_OK);
	sign_trust_destroy(t);
	sign_key_destroy(k);
}
END_TEST

START_TEST(flip_every_module_byte)
{
	enum { N = 4096 };
	uint8_t *mod = malloc(N + 1);
	struct sign_manifest m;
	sign_key *k = seed_key(3);
	char err[ERRLEN];

	ck_assert_ptr_nonnull(mod);
	for (size_t i = 0; i < N + 1; i++)
		mod[i] = (uint8_t)(i * 131u + (i >> 8));
	make_manifest(&m, k, mod, N);
	ck_assert_int_eq(sign_verify_bytes(&m, mod, N, err, sizeof err), SIGN_OK);
	for (size_t i = 0; i < N; i++) {
		mod[i] ^= 0x01;
		ck_assert_msg(sign_verify_bytes(&m, mod, N, err, sizeof err) == SIGN_E_DIGEST_MISMATCH,
			      "byte %zu", i);
		mod[i] ^= 0x01;
	}
	ck_assert_int_eq(sign_verify_bytes(&m, mod, N - 1, err, sizeof err), SIGN_E_SIZE_MISMATCH);
	ck_assert_int_eq(sign_verify_bytes(&m, mod, N + 1, err, sizeof err), SIGN_E_SIZE_MISMATCH);
	ck_assert_int_eq(sign_verify_bytes(&m, mod, 0, err, sizeof err), SIGN_E_SIZE_MISMATCH);
	/* The right size but a manifest digest of other bytes. */
	struct sign_manifest other = m;
	other.digest[20] = other.digest[20] == '0' ? '1' : '0';
	ck_assert_int_eq(sign_verify_bytes(&other, mod, N, err, sizeof err), SIGN_E_DIGEST_MISMATCH);
	ck_assert_int_eq(sign_verify_bytes(&m, mod, N, err, sizeof err), SIGN_OK);
	free(mod);
	sign_key_destroy(k);
}
END_TEST

START_TEST(stream_checks_while_downloading)
{
	enum { N = 10000 };
	uint8_t *mod = malloc(N + 10);
	struct sign_manifest m;
	sign_key *k = seed_key(4);
	sign_stream *s;
	char err[ERRLEN];

	ck_assert_ptr_nonnull(mod);
	for (size_t i = 0; i < N + 10; i++)
		mod[i] = (uint8_t)(i ^ (i >> 3));
	make_manifest(&m, k, mod, N);

	/* Odd chunk sizes, empty chunks included. */
	ck_assert_int_eq(sign_stream_create(&m, &s, err, sizeof err), SIGN_OK);
	for (size_t off = 0, step = 0; off < N; step = (step + 7) % 1500) {
		size_t n = step < N - off ? step : N - off;
		ck_assert_int_eq(sign_stream_update(s, mod + off, n, err, sizeof err), SIGN_OK);
		off += n;
	}
	ck_assert_int_eq(sign_stream_finish(s, err, sizeof err), SIGN_OK);
	sign_stream_destroy(s);

	/* More bytes than the manifest promises: refused at the chunk that overflows. */
	ck_assert_int_eq(sign_stream_create(&m, &s, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_update(s, mod, N - 5, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_update(s, mod + N - 5, 6, err, sizeof err), SIGN_E_SIZE_MISMATCH);
	sign_stream_destroy(s);

	/* Fewer bytes: the size check at the end. */
	ck_assert_int_eq(sign_stream_create(&m, &s, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_update(s, mod, N - 1, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_finish(s, err, sizeof err), SIGN_E_SIZE_MISMATCH);
	sign_stream_destroy(s);

	/* One changed byte: the digest at the end. */
	mod[N / 2] ^= 0x80;
	ck_assert_int_eq(sign_stream_create(&m, &s, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_update(s, mod, N / 3, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_update(s, mod + N / 3, N - N / 3, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_stream_finish(s, err, sizeof err), SIGN_E_DIGEST_MISMATCH);
	sign_stream_destroy(s);
	sign_stream_destroy(NULL);

	/* A stream cannot be made from an invalid manifest. */
	m.digest[0] = 'x';
	ck_assert_int_eq(sign_stream_create(&m, &s, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	ck_assert_ptr_null(s);
	free(mod);
	sign_key_destroy(k);
}
END_TEST

/* ---- trust: untrusted, retired, rotation --------------------------------------------------- */

START_TEST(untrusted_key_fails)
{
	sign_key *trusted = seed_key(10), *stranger = seed_key(11);
	sign_trust *t = trust_of((const sign_key *const[]){trusted}, 1);
	static const uint8_t mod[] = "x";
	struct sign_manifest m;
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1];

	/* Signed by a key the agent does not trust. */
	make_manifest(&m, stranger, mod, sizeof mod);
	ck_assert_int_eq(sign_manifest_sign(stranger, &m, sig, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_E_UNKNOWN_KEY);
	ck_assert_ptr_nonnull(strstr(err, sign_key_id(stranger)));
	/* The stranger's signature relabelled with the trusted key's id: a bad signature. */
	strcpy(m.key_id, sign_key_id(trusted));
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_E_BAD_SIGNATURE);
	/* Signing a manifest that names another key is refused. */
	ck_assert_int_eq(sign_manifest_sign(stranger, &m, sig, err, sizeof err), SIGN_E_INVALID);
	/* An empty trust set trusts nobody. */
	sign_trust *empty = NULL;
	ck_assert_int_eq(sign_trust_create(&empty, err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(sign_trust_count(empty), 0);
	ck_assert_int_eq(sign_manifest_sign(trusted, &m, sig, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_verify(empty, &m, sig, err, sizeof err), SIGN_E_UNKNOWN_KEY);
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_OK);
	/* An invalid manifest struct is refused as malformed before any key lookup. */
	struct sign_manifest bad = m;
	bad.key_id[3] = 'X';
	ck_assert_int_eq(sign_manifest_verify(t, &bad, sig, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	bad = m;
	bad.tenant[0] = '\0';
	ck_assert_int_eq(sign_manifest_verify(t, &bad, sig, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	ck_assert_int_eq(sign_manifest_sign(trusted, &bad, sig, err, sizeof err), SIGN_E_MALFORMED_MANIFEST);
	sign_trust_destroy(empty);
	sign_trust_destroy(t);
	sign_key_destroy(trusted);
	sign_key_destroy(stranger);
}
END_TEST

START_TEST(retired_but_trusted_key_verifies)
{
	sign_key *old = seed_key(20), *cur = seed_key(21);
	static const uint8_t mod_old[] = "version one", mod_new[] = "version two";
	struct sign_manifest m_old, m_new;
	char err[ERRLEN], sig_old[SIGN_SIGNATURE_B64_LEN + 1], sig_new[SIGN_SIGNATURE_B64_LEN + 1];
	char text[512];
	sign_trust *t = NULL;
	size_t line;

	make_manifest(&m_old, old, mod_old, sizeof mod_old);
	m_old.version = 1;
	ck_assert_int_eq(sign_manifest_sign(old, &m_old, sig_old, err, sizeof err), SIGN_OK);
	make_manifest(&m_new, cur, mod_new, sizeof mod_new);
	m_new.version = 2;
	ck_assert_int_eq(sign_manifest_sign(cur, &m_new, sig_new, err, sizeof err), SIGN_OK);

	/* During rotation the trust file holds both: old versions and new ones verify. */
	snprintf(text, sizeof text, "# current\n%s %s\n# retired 2026-12-01\n%s %s\n",
		 sign_key_id(cur), sign_key_public_b64(cur), sign_key_id(old), sign_key_public_b64(old));
	ck_assert_int_eq(sign_trust_parse(text, strlen(text), &t, &line, err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(sign_trust_count(t), 2);
	ck_assert_int_eq(sign_manifest_verify(t, &m_old, sig_old, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_verify(t, &m_new, sig_new, err, sizeof err), SIGN_OK);
	/* A signature by the retired key does not verify a manifest naming the current key. */
	ck_assert_int_eq(sign_manifest_verify(t, &m_new, sig_old, err, sizeof err), SIGN_E_BAD_SIGNATURE);
	sign_trust_destroy(t);

	/* Once the old key is dropped from the trust file, its signatures are unknown. */
	snprintf(text, sizeof text, "%s %s\n", sign_key_id(cur), sign_key_public_b64(cur));
	ck_assert_int_eq(sign_trust_parse(text, strlen(text), &t, &line, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_verify(t, &m_old, sig_old, err, sizeof err), SIGN_E_UNKNOWN_KEY);
	ck_assert_int_eq(sign_manifest_verify(t, &m_new, sig_new, err, sizeof err), SIGN_OK);
	sign_trust_destroy(t);
	sign_key_destroy(old);
	sign_key_destroy(cur);
}
END_TEST

START_TEST(trust_file_parsing)
{
	sign_key *a = seed_key(30), *b = seed_key(31);
	char text[2048], upper[SIGN_KEY_ID_LEN + 1], err[ERRLEN];
	sign_trust *t = NULL;
	size_t line = 99;

	strcpy(upper, sign_key_id(a));
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	/* Comments, blank lines, CRLF, tabs, a trailing comment, upper-case id, no final newline,
	 * a duplicate line. */
	snprintf(text, sizeof text,
		 "# Edgeplane trusted signing keys\n\n   \t\n%s %s\r\n\t%s\t%s   # retired\n%s %s",
		 upper, sign_key_public_b64(a), sign_key_id(b), sign_key_public_b64(b), sign_key_id(b),
		 sign_key_public_b64(b));
	ck_assert_msg(sign_trust_parse(text, strlen(text), &t, &line, err, sizeof err) == SIGN_OK, "%s", err);
	ck_assert_uint_eq(sign_trust_count(t), 2);
	ck_assert_uint_eq(line, 0);
	sign_trust_destroy(t);
	/* An empty file and a comments-only file are valid and trust nobody. */
	ck_assert_int_eq(sign_trust_parse("", 0, &t, NULL, err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(sign_trust_count(t), 0);
	sign_trust_destroy(t);

	/* Each bad line is reported with its number. */
	char good_a[128], good_b[128];
	snprintf(good_a, sizeof good_a, "%s %s", sign_key_id(a), sign_key_public_b64(a));
	snprintf(good_b, sizeof good_b, "%s %s", sign_key_id(b), sign_key_public_b64(b));
	char pub_a_cut[64];
	strcpy(pub_a_cut, sign_key_public_b64(a));
	pub_a_cut[40] = '\0';
	struct { char bad[256]; } cases[12];
	int nc = 0;
	snprintf(cases[nc++].bad, 256, "%s", sign_key_public_b64(a));                    /* one field */
	snprintf(cases[nc++].bad, 256, "%s %s", sign_key_id(b), sign_key_public_b64(a)); /* id of b */
	snprintf(cases[nc++].bad, 256, "%.15s %s", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%sa %s", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%.15sg %s", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%s %s", sign_key_id(a), pub_a_cut);
	snprintf(cases[nc++].bad, 256, "%s %s extra", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%s %.43s!", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%s %sAAAA", sign_key_id(a), sign_key_public_b64(a));
	snprintf(cases[nc++].bad, 256, "%s,%s", sign_key_id(a), sign_key_public_b64(a));
	for (int i = 0; i < nc; i++) {
		char want[64];
		snprintf(text, sizeof text, "# keys\n%.127s\n\n%.255s\n", good_a, cases[i].bad);
		line = 0;
		ck_assert_msg(sign_trust_parse(text, strlen(text), &t, &line, err, sizeof err) ==
			      SIGN_E_MALFORMED_TRUST, "case %d accepted: %s", i, cases[i].bad);
		ck_assert_ptr_null(t);
		ck_assert_uint_eq(line, 4);
		snprintf(want, sizeof want, "malformed trust file line 4");
		ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "case %d: %s", i, err);
	}
	/* The first bad line wins; line 1 counts from 1. */
	snprintf(text, sizeof text, "garbage\n%s\nmore garbage\n", good_b);
	ck_assert_int_eq(sign_trust_parse(text, strlen(text), &t, &line, err, sizeof err), SIGN_E_MALFORMED_TRUST);
	ck_assert_uint_eq(line, 1);
	ck_assert_str_eq(err, "malformed trust file line 1: expected \"KEYID BASE64\"");
	/* A NUL byte in a line. */
	snprintf(text, sizeof text, "%s\n%s\n", good_a, good_b);
	size_t len = strlen(text);
	text[strlen(good_a) + 3] = '\0';
	ck_assert_int_eq(sign_trust_parse(text, len, &t, &line, err, sizeof err), SIGN_E_MALFORMED_TRUST);
	ck_assert_uint_eq(line, 2);

	/* sign_trust_add checks its arguments the same way. */
	ck_assert_int_eq(sign_trust_create(&t, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_trust_add(t, sign_key_id(b), sign_key_public_b64(a), err, sizeof err), SIGN_E_INVALID);
	ck_assert_int_eq(sign_trust_add(t, NULL, pub_a_cut, err, sizeof err), SIGN_E_INVALID);
	ck_assert_int_eq(sign_trust_add(t, NULL, sign_key_public_b64(a), err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_trust_add(t, sign_key_id(a), sign_key_public_b64(a), err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(sign_trust_count(t), 1);
	sign_trust_destroy(t);
	sign_trust_destroy(NULL);

	/* From a file; a missing file is an I/O error. */
	char *dir = th_tmpdir(), path[4096];
	snprintf(path, sizeof path, "%s/trusted_keys", dir);
	snprintf(text, sizeof text, "%s\n%s\n", good_a, good_b);
	ck_assert(th_write_file(path, text, strlen(text)));
	ck_assert_int_eq(sign_trust_load(path, &t, &line, err, sizeof err), SIGN_OK);
	ck_assert_uint_eq(sign_trust_count(t), 2);
	sign_trust_destroy(t);
	snprintf(text, sizeof text, "%s\n\n\n%s x\n", good_a, good_b);
	ck_assert(th_write_file(path, text, strlen(text)));
	ck_assert_int_eq(sign_trust_load(path, &t, &line, err, sizeof err), SIGN_E_MALFORMED_TRUST);
	ck_assert_uint_eq(line, 4);
	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(sign_trust_load(path, &t, &line, err, sizeof err), SIGN_E_IO);
	th_rmrf(dir);
	free(dir);
	sign_key_destroy(a);
	sign_key_destroy(b);
}
END_TEST

/* ---- key files ------------------------------------------------------------------------------ */

START_TEST(key_file_roundtrip_and_no_overwrite)
{
	char *dir = th_tmpdir(), path[4096], id[SIGN_KEY_ID_LEN + 1], pub[SIGN_PUBLIC_B64_LEN + 1];
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1];
	sign_key *k = NULL;
	struct stat st;
	size_t len1, len2;

	snprintf(path, sizeof path, "%s/edgeplane-signing.key", dir);
	umask(0); /* the file must come out 0600 whatever the umask */
	ck_assert_msg(sign_keygen_file(path, id, pub, err, sizeof err) == SIGN_OK, "%s", err);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_uint_eq(strlen(id), SIGN_KEY_ID_LEN);
	ck_assert_uint_eq(strlen(pub), SIGN_PUBLIC_B64_LEN);
	char *before = th_read_file(path, &len1);
	ck_assert_ptr_nonnull(before);
	ck_assert_int_eq(sign_key_load(path, &k, err, sizeof err), SIGN_OK);
	ck_assert_str_eq(sign_key_id(k), id);
	ck_assert_str_eq(sign_key_public_b64(k), pub);

	/* The loaded key signs what the printed public key verifies. */
	static const uint8_t mod[] = "bytes";
	struct sign_manifest m;
	sign_trust *t = NULL;
	make_manifest(&m, k, mod, sizeof mod);
	ck_assert_int_eq(sign_manifest_sign(k, &m, sig, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_trust_create(&t, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_trust_add(t, id, pub, err, sizeof err), SIGN_OK);
	ck_assert_int_eq(sign_manifest_verify(t, &m, sig, err, sizeof err), SIGN_OK);
	sign_trust_destroy(t);

	/* A second keygen to the same path is refused and leaves the file as it was. */
	char id2[SIGN_KEY_ID_LEN + 1] = "";
	ck_assert_int_eq(sign_keygen_file(path, id2, NULL, err, sizeof err), SIGN_E_EXISTS);
	ck_assert_str_eq(id2, "");
	ck_assert_int_eq(sign_key_save(k, path, err, sizeof err), SIGN_E_EXISTS);
	char *after = th_read_file(path, &len2);
	ck_assert_uint_eq(len1, len2);
	ck_assert(memcmp(before, after, len1) == 0);
	/* No temporary file is left behind, and the saved file does not show the secret in err. */
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
	ck_assert_int_eq(system(cmd), 0);
	/* Two keys are different. */
	snprintf(path, sizeof path, "%s/second.key", dir);
	ck_assert_int_eq(sign_keygen_file(path, id2, NULL, err, sizeof err), SIGN_OK);
	ck_assert_str_ne(id2, id);
	/* A folder that does not exist. */
	snprintf(path, sizeof path, "%s/no/such/dir/k.key", dir);
	ck_assert_int_eq(sign_keygen_file(path, NULL, NULL, err, sizeof err), SIGN_E_IO);
	free(before);
	free(after);
	sign_key_destroy(k);
	sign_key_destroy(NULL);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(key_file_permissions)
{
	char *dir = th_tmpdir(), path[4096], err[ERRLEN];
	sign_key *k = NULL;
	static const mode_t bad_modes[] = {0640, 0604, 0644, 0660, 0606, 0610, 0601, 0700 | 0044, 0666};

	snprintf(path, sizeof path, "%s/k.key", dir);
	ck_assert_int_eq(sign_keygen_file(path, NULL, NULL, err, sizeof err), SIGN_OK);
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
		ck_assert_int_eq(chmod(path, bad_modes[i]), 0);
		ck_assert_msg(sign_key_load(path, &k, err, sizeof err) == SIGN_E_KEY_PERMS, "mode %o", bad_modes[i]);
		ck_assert_ptr_null(k);
		ck_assert_ptr_nonnull(strstr(err, "group or others"));
	}
	ck_assert_int_eq(chmod(path, 0400), 0);
	ck_assert_int_eq(sign_key_load(path, &k, err, sizeof err), SIGN_OK);
	sign_key_destroy(k);
	/* Missing file and a folder: I/O errors. */
	snprintf(path, sizeof path, "%s/missing.key", dir);
	ck_assert_int_eq(sign_key_load(path, &k, err, sizeof err), SIGN_E_IO);
	ck_assert_int_eq(sign_key_load(dir, &k, err, sizeof err), SIGN_E_IO);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(key_file_truncated_or_garbled)
{
	char *dir = th_tmpdir(), path[4096], bad[4096], err[ERRLEN];
	sign_key *k = NULL;
	size_t len;

	snprintf(path, sizeof path, "%s/k.key", dir);
	snprintf(bad, sizeof bad, "%s/bad.key", dir);
	ck_assert_int_eq(sign_keygen_file(path, NULL, NULL, err, sizeof err), SIGN_OK);
	char *text = th_read_file(path, &len);
	ck_assert_ptr_nonnull(text);

	/* Every truncation (the final newline is optional). */
	for (size_t n = 0; n + 1 < len; n++) {
		unlink(bad);
		ck_assert(th_write_file(bad, text, n));
		ck_assert_int_eq(chmod(bad, 0600), 0);
		ck_assert_msg(sign_key_load(bad, &k, err, sizeof err) == SIGN_E_KEY_FORMAT, "length %zu", n);
		ck_assert_msg(strstr(err, "truncated") != NULL, "length %zu: %s", n, err);
	}
	unlink(bad);
	ck_assert(th_write_file(bad, text, len - 1));
	ck_assert_int_eq(chmod(bad, 0600), 0);
	ck_assert_int_eq(sign_key_load(bad, &k, err, sizeof err), SIGN_OK);
	sign_key_destroy(k);

	/* Every single-bit change of every byte. */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			text[i] ^= (char)(1u << b);
			unlink(bad);
			ck_assert(th_write_file(bad, text, len));
			ck_assert_int_eq(chmod(bad, 0600), 0);
			ck_assert_msg(sign_key_load(bad, &k, err, sizeof err) == SIGN_E_KEY_FORMAT,
				      "byte %zu bit %d", i, b);
			text[i] ^= (char)(1u << b);
		}
	}
	/* Extra content, and something that is not a key at all. */
	char more[1024];
	memcpy(more, text, len);
	memcpy(more + len, "extra\n", 6);
	unlink(bad);
	ck_assert(th_write_file(bad, more, len + 6));
	ck_assert_int_eq(chmod(bad, 0600), 0);
	ck_assert_int_eq(sign_key_load(bad, &k, err, sizeof err), SIGN_E_KEY_FORMAT);
	unlink(bad);
	ck_assert(th_write_file(bad, "-----BEGIN PRIVATE KEY-----\n", 28));
	ck_assert_int_eq(chmod(bad, 0600), 0);
	ck_assert_int_eq(sign_key_load(bad, &k, err, sizeof err), SIGN_E_KEY_FORMAT);
	ck_assert_ptr_nonnull(strstr(err, "garbled"));
	char big[4096];
	memset(big, 'A', sizeof big);
	unlink(bad);
	ck_assert(th_write_file(bad, big, sizeof big));
	ck_assert_int_eq(chmod(bad, 0600), 0);
	ck_assert_int_eq(sign_key_load(bad, &k, err, sizeof err), SIGN_E_KEY_FORMAT);
	ck_assert_ptr_null(k);
	free(text);
	th_rmrf(dir);
	free(dir);
}
END_TEST

/* ---- concurrency and error names ------------------------------------------------------------ */

struct thread_arg {
	const sign_key *k;
	const sign_trust *t;
	int failures;
};

static void *sign_verify_loop(void *p)
{
	struct thread_arg *a = p;
	char err[ERRLEN], sig[SIGN_SIGNATURE_B64_LEN + 1];
	uint8_t mod[64];

	for (int i = 0; i < 200; i++) {
		struct sign_manifest m;
		sign_key *fresh = NULL;
		memset(mod, i, sizeof mod);
		make_manifest(&m, a->k, mod, sizeof mod);
		m.version = (uint64_t)i + 1;
		if (sign_manifest_sign(a->k, &m, sig, err, sizeof err) != SIGN_OK ||
		    sign_manifest_verify(a->t, &m, sig, err, sizeof err) != SIGN_OK ||
		    sign_verify_bytes(&m, mod, sizeof mod, err, sizeof err) != SIGN_OK)
			a->failures++;
		mod[0] ^= 1;
		if (sign_verify_bytes(&m, mod, sizeof mod, err, sizeof err) != SIGN_E_DIGEST_MISMATCH)
			a->failures++;
		if (i % 50 == 0) {
			if (sign_key_generate(&fresh, err, sizeof err) != SIGN_OK)
				a->failures++;
			sign_key_destroy(fresh);
		}
	}
	return NULL;
}

START_TEST(threads_share_key_and_trust)
{
	sign_key *k = seed_key(40);
	sign_trust *t = trust_of((const sign_key *const[]){k}, 1);
	pthread_t th[4];
	struct thread_arg args[4];

	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){k, t, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, sign_verify_loop, &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(args[i].failures, 0);
	}
	sign_trust_destroy(t);
	sign_key_destroy(k);
}
END_TEST

START_TEST(error_codes_distinct)
{
	static const int codes[] = {
		SIGN_E_NOMEM, SIGN_E_IO, SIGN_E_KEY_PERMS, SIGN_E_KEY_FORMAT, SIGN_E_EXISTS,
		SIGN_E_UNKNOWN_KEY, SIGN_E_BAD_SIGNATURE, SIGN_E_DIGEST_MISMATCH, SIGN_E_SIZE_MISMATCH,
		SIGN_E_MALFORMED_MANIFEST, SIGN_E_MALFORMED_TRUST, SIGN_E_INVALID, SIGN_E_CRYPTO,
	};
	size_t n = sizeof codes / sizeof codes[0];

	for (size_t i = 0; i < n; i++) {
		ck_assert_int_lt(codes[i], 0);
		for (size_t j = i + 1; j < n; j++) {
			ck_assert_int_ne(codes[i], codes[j]);
			ck_assert_str_ne(sign_strerror(codes[i]), sign_strerror(codes[j]));
		}
	}
	ck_assert_str_eq(sign_strerror(SIGN_E_UNKNOWN_KEY), "unknown key id");
	ck_assert_str_eq(sign_strerror(SIGN_E_BAD_SIGNATURE), "bad signature");
	ck_assert_str_eq(sign_strerror(SIGN_E_DIGEST_MISMATCH), "digest mismatch");
	ck_assert_str_eq(sign_strerror(SIGN_E_SIZE_MISMATCH), "size mismatch");
	ck_assert_str_eq(sign_strerror(SIGN_E_MALFORMED_MANIFEST), "malformed manifest");
	ck_assert_ptr_nonnull(sign_strerror(12345));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("signing");
	TCase *tc_vec = tcase_create("vectors");
	TCase *tc_man = tcase_create("manifest");
	TCase *tc_flip = tcase_create("corruption");
	TCase *tc_trust = tcase_create("trust");
	TCase *tc_keys = tcase_create("keyfiles");
	TCase *tc_misc = tcase_create("misc");

	tcase_add_test(tc_vec, vectors_match);
	tcase_add_test(tc_man, canonical_independent_of_order_and_space);
	tcase_add_test(tc_man, canonical_escaping_and_unicode);
	tcase_add_test(tc_man, malformed_manifests);
	tcase_add_test(tc_flip, flip_every_manifest_byte);
	tcase_add_test(tc_flip, flip_every_signature_byte);
	tcase_add_test(tc_flip, flip_every_module_byte);
	tcase_add_test(tc_flip, stream_checks_while_downloading);
	tcase_add_test(tc_trust, untrusted_key_fails);
	tcase_add_test(tc_trust, retired_but_trusted_key_verifies);
	tcase_add_test(tc_trust, trust_file_parsing);
	tcase_add_test(tc_keys, key_file_roundtrip_and_no_overwrite);
	tcase_add_test(tc_keys, key_file_permissions);
	tcase_add_test(tc_keys, key_file_truncated_or_garbled);
	tcase_add_test(tc_misc, threads_share_key_and_trust);
	tcase_add_test(tc_misc, error_codes_distinct);
	suite_add_tcase(s, tc_vec);
	suite_add_tcase(s, tc_man);
	suite_add_tcase(s, tc_flip);
	suite_add_tcase(s, tc_trust);
	suite_add_tcase(s, tc_keys);
	suite_add_tcase(s, tc_misc);
	return th_main(s);
}
