/* Internals shared by the files of signing/: library initialisation, error reporting and the
 * helpers that more than one file needs. Not part of the public interface (signing.h). */
#ifndef SIGN_INT_H
#define SIGN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "signing/signing.h"

/* The file header line of a secret key file; the second line is base64 of the 64-byte
 * libsodium secret key (seed || public key). */
#define SIGN__KEY_MAGIC "edgeplane-signing-key-v1"

/* Calls sodium_init() exactly once per process (pthread_once, so threads may race here).
 * Returns SIGN_OK or SIGN_E_CRYPTO with err filled. */
int sign__init(char *err, size_t errlen);

/* Formats a message into err (when not NULL) and returns code, so that callers can write
 * `return sign__fail(err, errlen, SIGN_E_IO, "...", ...)`. */
int sign__fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Checks every field of m (see signing.h); SIGN_E_MALFORMED_MANIFEST with the reason. */
int sign__manifest_check(const struct sign_manifest *m, char *err, size_t errlen);

/* The signed message of m: SIGN_CONTEXT followed by the canonical bytes. *out is malloc'ed
 * (caller frees). Validates m first. */
int sign__message(const struct sign_manifest *m, uint8_t **out, size_t *out_len,
		  char *err, size_t errlen);

/* The 64-byte libsodium secret key of k (seed || public key), borrowed. */
const uint8_t *sign__key_secret(const sign_key *k);

/* Calls fn(pk, arg) for each trusted key whose id is key_id until fn returns 0 (fn NULL: only
 * looks the id up). Returns 0
 * when fn accepted a key, 1 when the id is known but no key was accepted, -1 when no key has
 * that id. */
int sign__trust_each(const sign_trust *t, const char *key_id,
		     int (*fn)(const uint8_t *pk, void *arg), void *arg);

/* 1 when s is exactly n lowercase hex digits followed by NUL, else 0. */
int sign__is_lower_hex(const char *s, size_t n);

/* Decodes standard padded base64 text of exactly text_len chars into exactly want bytes.
 * Returns 0 on success, -1 when the text is not valid base64 or decodes to another length. */
int sign__b64_decode_exact(const char *text, size_t text_len, uint8_t *out, size_t want);

#endif
