/* Signing manifests and verifying them: the Ed25519 signature against a trust set, then the
 * module bytes (whole, or streamed while downloading) against the manifest's size and digest. */
#include "signing/sign_int.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct sign_stream {
	crypto_hash_sha256_state st;
	uint8_t want[crypto_hash_sha256_BYTES];
	uint64_t size;   /* expected byte count */
	uint64_t seen;   /* bytes hashed so far */
};

/* What one verification attempt needs, for sign__trust_each. */
struct verify_job {
	const uint8_t *sig;
	const uint8_t *msg;
	size_t msg_len;
};

int sign_manifest_sign(const sign_key *k, const struct sign_manifest *m,
		       char out_sig[SIGN_SIGNATURE_B64_LEN + 1], char *err, size_t errlen)
{
	uint8_t sig[crypto_sign_BYTES], *msg;
	size_t msg_len;
	int rc;

	if (k == NULL || out_sig == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no key or no signature buffer");
	if ((rc = sign__message(m, &msg, &msg_len, err, errlen)) != SIGN_OK)
		return rc;
	/* A manifest names its signer; signing one that names another key would produce a
	 * signature that no agent can check. */
	if (strcmp(m->key_id, sign_key_id(k)) != 0) {
		free(msg);
		return sign__fail(err, errlen, SIGN_E_INVALID,
				  "manifest key_id %s is not the signing key's id %s", m->key_id, sign_key_id(k));
	}
	crypto_sign_detached(sig, NULL, msg, msg_len, sign__key_secret(k));
	free(msg);
	sodium_bin2base64(out_sig, SIGN_SIGNATURE_B64_LEN + 1, sig, sizeof sig,
			  sodium_base64_VARIANT_ORIGINAL);
	return SIGN_OK;
}

static int verify_one(const uint8_t *pk, void *arg)
{
	const struct verify_job *j = arg;

	return crypto_sign_verify_detached(j->sig, j->msg, j->msg_len, pk);
}

int sign_manifest_verify(const sign_trust *t, const struct sign_manifest *m, const char *sig,
			 char *err, size_t errlen)
{
	uint8_t raw[crypto_sign_BYTES], *msg;
	struct verify_job job;
	size_t msg_len;
	int rc, found;

	if (t == NULL || sig == NULL)
		return sign__fail(err, errlen, SIGN_E_INVALID, "no trust set or no signature");
	if ((rc = sign__init(err, errlen)) != SIGN_OK)
		return rc;
	if ((rc = sign__manifest_check(m, err, errlen)) != SIGN_OK)
		return rc;
	if (sign__trust_each(t, m->key_id, NULL, NULL) < 0)
		return sign__fail(err, errlen, SIGN_E_UNKNOWN_KEY,
				  "unknown key id %s: not in the trust set", m->key_id);
	if (sign__b64_decode_exact(sig, strlen(sig), raw, sizeof raw) != 0)
		return sign__fail(err, errlen, SIGN_E_BAD_SIGNATURE,
				  "bad signature: not 64 bytes of standard padded base64");
	if ((rc = sign__message(m, &msg, &msg_len, err, errlen)) != SIGN_OK)
		return rc;
	job.sig = raw;
	job.msg = msg;
	job.msg_len = msg_len;
	found = sign__trust_each(t, m->key_id, verify_one, &job);
	free(msg);
	if (found != 0)
		return sign__fail(err, errlen, SIGN_E_BAD_SIGNATURE,
				  "bad signature for %s/%s version %llu (key %s)", m->tenant, m->module,
				  (unsigned long long)m->version, m->key_id);
	return SIGN_OK;
}

int sign_verify_text(const sign_trust *t, const char *text, size_t len, const char *sig,
		     struct sign_manifest *out, char *err, size_t errlen)
{
	struct sign_manifest m;
	int rc = sign_manifest_parse(text, len, &m, err, errlen);

	if (rc != SIGN_OK)
		return rc;
	if ((rc = sign_manifest_verify(t, &m, sig, err, errlen)) != SIGN_OK)
		return rc;
	if (out != NULL)
		*out = m;
	return SIGN_OK;
}

int sign_verify_bytes(const struct sign_manifest *m, const uint8_t *bytes, size_t len,
		      char *err, size_t errlen)
{
	sign_stream *s;
	int rc = sign_stream_create(m, &s, err, errlen);

	if (rc != SIGN_OK)
		return rc;
	if (len != m->size) {
		sign_stream_destroy(s);
		return sign__fail(err, errlen, SIGN_E_SIZE_MISMATCH,
				  "size mismatch: %zu bytes, the manifest says %llu", len,
				  (unsigned long long)m->size);
	}
	rc = sign_stream_update(s, bytes, len, err, errlen);
	if (rc == SIGN_OK)
		rc = sign_stream_finish(s, err, errlen);
	sign_stream_destroy(s);
	return rc;
}

int sign_stream_create(const struct sign_manifest *m, sign_stream **out, char *err, size_t errlen)
{
	sign_stream *s;
	size_t bin_len = 0;
	int rc;

	*out = NULL;
	if ((rc = sign__init(err, errlen)) != SIGN_OK)
		return rc;
	if ((rc = sign__manifest_check(m, err, errlen)) != SIGN_OK)
		return rc;
	s = malloc(sizeof *s);
	if (s == NULL)
		return sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory creating a digest stream");
	/* The digest was checked to be 64 lowercase hex digits, so this cannot fail. */
	if (sodium_hex2bin(s->want, sizeof s->want, m->digest + 7, 64, NULL, &bin_len, NULL) != 0 ||
	    bin_len != sizeof s->want) {
		free(s);
		return sign__fail(err, errlen, SIGN_E_MALFORMED_MANIFEST, "malformed manifest: bad digest");
	}
	crypto_hash_sha256_init(&s->st);
	s->size = m->size;
	s->seen = 0;
	*out = s;
	return SIGN_OK;
}

int sign_stream_update(sign_stream *s, const uint8_t *chunk, size_t len, char *err, size_t errlen)
{
	/* Stop as soon as the download is longer than promised: no point hashing the rest. */
	if (len > s->size - s->seen)
		return sign__fail(err, errlen, SIGN_E_SIZE_MISMATCH,
				  "size mismatch: more than the manifest's %llu bytes",
				  (unsigned long long)s->size);
	crypto_hash_sha256_update(&s->st, chunk, len);
	s->seen += len;
	return SIGN_OK;
}

int sign_stream_finish(sign_stream *s, char *err, size_t errlen)
{
	uint8_t got[crypto_hash_sha256_BYTES];

	if (s->seen != s->size)
		return sign__fail(err, errlen, SIGN_E_SIZE_MISMATCH,
				  "size mismatch: %llu bytes, the manifest says %llu",
				  (unsigned long long)s->seen, (unsigned long long)s->size);
	crypto_hash_sha256_final(&s->st, got);
	if (sodium_memcmp(got, s->want, sizeof got) != 0)
		return sign__fail(err, errlen, SIGN_E_DIGEST_MISMATCH,
				  "digest mismatch: the bytes do not hash to the manifest's digest");
	return SIGN_OK;
}

void sign_stream_destroy(sign_stream *s)
{
	free(s);
}
