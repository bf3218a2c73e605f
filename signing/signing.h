/* signing/: Ed25519-signed module manifests (DESIGN.md "Signing"). Key files and key ids,
 * manifest <-> canonical JSON bytes, sign, verify against a trust set, check module bytes
 * against a manifest's digest and size. Depends on libsodium only; never logs.
 *
 * Conventions: every int-returning function returns SIGN_OK (0) or a negative SIGN_E_* code,
 * and writes a human-readable reason into err[errlen] when err is not NULL (never a secret).
 * Every function is thread-safe; a sign_trust set is immutable once built (build it, then
 * share it read-only; to reload a trust file, load a new set and swap the pointer). */
#ifndef SIGNING_H
#define SIGNING_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define SIGN_MUST_CHECK __attribute__((warn_unused_result))
#else
#define SIGN_MUST_CHECK
#endif

/* Error codes, distinguishable by value. sign_strerror() names them. */
enum {
	SIGN_OK = 0,
	SIGN_E_NOMEM = -1,              /* allocation (or sodium_mlock) failed */
	SIGN_E_IO = -2,                 /* open/read/write/rename of a file failed */
	SIGN_E_KEY_PERMS = -3,          /* secret key file accessible by group or others */
	SIGN_E_KEY_FORMAT = -4,         /* secret key file truncated or garbled */
	SIGN_E_EXISTS = -5,             /* refused to overwrite an existing key file */
	SIGN_E_UNKNOWN_KEY = -6,        /* manifest key_id not in the trust set */
	SIGN_E_BAD_SIGNATURE = -7,      /* signature invalid (or not 64 bytes of base64) */
	SIGN_E_DIGEST_MISMATCH = -8,    /* bytes do not hash to the manifest's digest */
	SIGN_E_SIZE_MISMATCH = -9,      /* byte count differs from the manifest's size */
	SIGN_E_MALFORMED_MANIFEST = -10,/* manifest JSON malformed, unknown/missing/bad field */
	SIGN_E_MALFORMED_TRUST = -11,   /* trust file line malformed ("malformed trust file line N") */
	SIGN_E_INVALID = -12,           /* bad argument (e.g. bad public key, key_id of another key) */
	SIGN_E_CRYPTO = -13,            /* sodium_init() failed */
};

/* Sizes of the fixed-length text forms, without the terminating NUL. */
#define SIGN_KEY_ID_LEN 16          /* first 16 hex chars of SHA-256(public key) */
#define SIGN_PUBLIC_KEY_BYTES 32
#define SIGN_PUBLIC_B64_LEN 44      /* standard padded base64 of 32 bytes */
#define SIGN_SIGNATURE_B64_LEN 88   /* standard padded base64 of 64 bytes */
#define SIGN_DIGEST_LEN 71          /* "sha256:" + 64 lowercase hex */
#define SIGN_FIELD_MAX 256          /* buffer size of a manifest text field (255 bytes + NUL) */

/* The domain-separation prefix signed before the canonical bytes. */
#define SIGN_CONTEXT "edgeplane-manifest-v1\n"

/* Static English name of a code ("unknown key id", "bad signature", ...). Never NULL. */
const char *sign_strerror(int code);

/* ---- Secret keys ------------------------------------------------------------------------ */

/* An Ed25519 key pair. Opaque; the secret half lives in sodium_malloc'ed, mlocked memory and
 * is wiped by sign_key_destroy(). Immutable after creation, so it may be shared by threads. */
typedef struct sign_key sign_key;

/* A fresh random key pair in *out (caller destroys it with sign_key_destroy). */
int sign_key_generate(sign_key **out, char *err, size_t errlen) SIGN_MUST_CHECK;

/* The key pair derived from a 32-byte seed (test vectors); the seed is not kept. */
int sign_key_from_seed(const uint8_t seed[32], sign_key **out, char *err, size_t errlen) SIGN_MUST_CHECK;

/* Writes k to a new file at path, mode 0600, atomically (temporary file in the same folder,
 * fsync, then linked into place): readers never see a partial file. Refuses (SIGN_E_EXISTS)
 * when path already exists; never overwrites. */
int sign_key_save(const sign_key *k, const char *path, char *err, size_t errlen) SIGN_MUST_CHECK;

/* Loads the key file at path into *out (caller destroys it). Fails with SIGN_E_KEY_PERMS when
 * the file grants any permission to group or others, SIGN_E_KEY_FORMAT when it is truncated,
 * garbled or its halves disagree, SIGN_E_IO when it cannot be opened or read. */
int sign_key_load(const char *path, sign_key **out, char *err, size_t errlen) SIGN_MUST_CHECK;

/* Wipes and frees k. NULL is a no-op. */
void sign_key_destroy(sign_key *k);

/* Borrowed views into k, valid until sign_key_destroy(k): the raw 32-byte public key, its
 * base64 (44 chars, NUL-terminated) and its key id (16 hex chars, NUL-terminated). */
const uint8_t *sign_key_public(const sign_key *k);
const char *sign_key_public_b64(const sign_key *k);
const char *sign_key_id(const sign_key *k);

/* Generates a key, writes it to path as sign_key_save() does (refusing an existing file) and
 * copies its key id and public key base64 into the caller's buffers (either may be NULL).
 * This is what `edgeplane keygen --out FILE` calls. */
int sign_keygen_file(const char *path, char out_key_id[SIGN_KEY_ID_LEN + 1],
		     char out_pub_b64[SIGN_PUBLIC_B64_LEN + 1], char *err, size_t errlen) SIGN_MUST_CHECK;

/* key id of a raw 32-byte public key into out (17 bytes incl. NUL). */
void sign_key_id_of(const uint8_t pub[SIGN_PUBLIC_KEY_BYTES], char out[SIGN_KEY_ID_LEN + 1]);

/* ---- Manifests ---------------------------------------------------------------------------- */

/* A module version's manifest. Plain data owned by the caller (stack or heap); text fields
 * are NUL-terminated UTF-8. Valid when: tenant, module, created_at non-empty valid UTF-8
 * without NUL (at most SIGN_FIELD_MAX-1 bytes); version >= 1; size <= 2^53-1 (JSON-safe);
 * digest is "sha256:" + 64 lowercase hex; key_id is 16 lowercase hex. */
struct sign_manifest {
	char tenant[SIGN_FIELD_MAX];
	char module[SIGN_FIELD_MAX];
	uint64_t version;
	char digest[SIGN_DIGEST_LEN + 1];
	uint64_t size;                  /* bytes of the module */
	char created_at[SIGN_FIELD_MAX];/* RFC 3339 UTC, e.g. "2026-12-03T10:00:00Z" */
	char key_id[SIGN_KEY_ID_LEN + 1];
};

/* Canonical bytes of m: the JSON object with keys sorted, no white space, UTF-8, strings
 * escaped minimally (\" \\ \b \f \n \r \t, other controls \u00xx). *out is malloc'ed and
 * NUL-terminated (caller frees; *out_len excludes the NUL). SIGN_E_MALFORMED_MANIFEST when a
 * field is invalid (see above). */
int sign_manifest_canonical(const struct sign_manifest *m, char **out, size_t *out_len,
			    char *err, size_t errlen) SIGN_MUST_CHECK;

/* Parses JSON text (any key order, any JSON white space, any valid escaping) strictly into
 * *out: exactly the seven fields, no duplicates, no unknown keys, nothing after the object,
 * each field valid as above. SIGN_E_MALFORMED_MANIFEST otherwise. text need not be
 * NUL-terminated. */
int sign_manifest_parse(const char *text, size_t len, struct sign_manifest *out,
			char *err, size_t errlen) SIGN_MUST_CHECK;

/* "sha256:<hex>" of bytes into out (72 bytes incl. NUL): the manifest digest of a module. */
void sign_digest(const uint8_t *bytes, size_t len, char out[SIGN_DIGEST_LEN + 1]);

/* ---- Sign and verify ------------------------------------------------------------------------ */

/* Signs m with k: Ed25519 detached over SIGN_CONTEXT + canonical bytes, base64 into out_sig
 * (89 bytes incl. NUL). m->key_id must be k's key id (SIGN_E_INVALID otherwise). */
int sign_manifest_sign(const sign_key *k, const struct sign_manifest *m,
		       char out_sig[SIGN_SIGNATURE_B64_LEN + 1], char *err, size_t errlen) SIGN_MUST_CHECK;

/* A set of trusted public keys (current and retired alike). Opaque; build, then share. */
typedef struct sign_trust sign_trust;

/* An empty set in *out (caller destroys it). */
int sign_trust_create(sign_trust **out, char *err, size_t errlen) SIGN_MUST_CHECK;

/* Adds a base64 public key. key_id may be NULL; if given it must equal the key's id
 * (SIGN_E_INVALID otherwise, or for bad base64 / not 32 bytes). Adding a key twice is a no-op.
 * Not to be called while other threads verify against t. */
int sign_trust_add(sign_trust *t, const char *key_id, const char *pub_b64,
		   char *err, size_t errlen) SIGN_MUST_CHECK;

/* Parses trust file text ("KEYID BASE64" per line, blanks around fields allowed, '#'
 * comments and blank lines ignored) into a new set in *out (caller destroys it; *out is NULL
 * on any failure). On a bad line returns SIGN_E_MALFORMED_TRUST, err says "malformed trust
 * file line N: <why>" and *out_line (may be NULL) is N (1-based). A key id that does not
 * match its key is a malformed line. A file without keys is valid (and trusts nobody). */
int sign_trust_parse(const char *text, size_t len, sign_trust **out, size_t *out_line,
		     char *err, size_t errlen) SIGN_MUST_CHECK;

/* sign_trust_parse() of the file at path (SIGN_E_IO if unreadable or over 1 MiB). */
int sign_trust_load(const char *path, sign_trust **out, size_t *out_line,
		    char *err, size_t errlen) SIGN_MUST_CHECK;

/* Number of keys in t. */
size_t sign_trust_count(const sign_trust *t);

/* Frees t. NULL is a no-op. */
void sign_trust_destroy(sign_trust *t);

/* Verifies sig (base64) over m against t: SIGN_E_UNKNOWN_KEY when m->key_id is not in t,
 * SIGN_E_BAD_SIGNATURE when the signature does not verify, SIGN_E_MALFORMED_MANIFEST when m
 * is invalid. */
int sign_manifest_verify(const sign_trust *t, const struct sign_manifest *m, const char *sig,
			 char *err, size_t errlen) SIGN_MUST_CHECK;

/* Parses manifest JSON text and verifies sig over it in one step (the agent's path).
 * out (may be NULL) receives the parsed manifest when the result is SIGN_OK. */
int sign_verify_text(const sign_trust *t, const char *text, size_t len, const char *sig,
		     struct sign_manifest *out, char *err, size_t errlen) SIGN_MUST_CHECK;

/* Checks module bytes against m: SIGN_E_SIZE_MISMATCH when len != m->size, then
 * SIGN_E_DIGEST_MISMATCH when SHA-256 differs (compared in constant time). */
int sign_verify_bytes(const struct sign_manifest *m, const uint8_t *bytes, size_t len,
		      char *err, size_t errlen) SIGN_MUST_CHECK;

/* Streaming form of sign_verify_bytes for a download: create with the manifest (its digest
 * and size are copied), update with each chunk (fails early with SIGN_E_SIZE_MISMATCH once
 * more than m->size bytes arrived), finish (size, then digest). Caller destroys the stream;
 * one stream per download, not shared between threads. */
typedef struct sign_stream sign_stream;
int sign_stream_create(const struct sign_manifest *m, sign_stream **out, char *err, size_t errlen) SIGN_MUST_CHECK;
int sign_stream_update(sign_stream *s, const uint8_t *chunk, size_t len, char *err, size_t errlen) SIGN_MUST_CHECK;
int sign_stream_finish(sign_stream *s, char *err, size_t errlen) SIGN_MUST_CHECK;
void sign_stream_destroy(sign_stream *s);

#endif
