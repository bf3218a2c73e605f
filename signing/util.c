/* Library initialisation, error codes and messages, and the small encoding helpers used by
 * several files of signing/. */
#include "signing/sign_int.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = -1;

static void init_sodium(void)
{
	/* sodium_init() returns 1 when something else (the agent, libcurl's users, ...) already
	 * initialised it: that is success too. */
	init_status = sodium_init() < 0 ? -1 : 0;
}

int sign__init(char *err, size_t errlen)
{
	pthread_once(&init_once, init_sodium);
	if (init_status != 0)
		return sign__fail(err, errlen, SIGN_E_CRYPTO, "libsodium initialisation failed");
	return SIGN_OK;
}

int sign__fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

const char *sign_strerror(int code)
{
	switch (code) {
	case SIGN_OK: return "ok";
	case SIGN_E_NOMEM: return "out of memory";
	case SIGN_E_IO: return "I/O error";
	case SIGN_E_KEY_PERMS: return "key file permissions too open";
	case SIGN_E_KEY_FORMAT: return "truncated or garbled key file";
	case SIGN_E_EXISTS: return "key file already exists";
	case SIGN_E_UNKNOWN_KEY: return "unknown key id";
	case SIGN_E_BAD_SIGNATURE: return "bad signature";
	case SIGN_E_DIGEST_MISMATCH: return "digest mismatch";
	case SIGN_E_SIZE_MISMATCH: return "size mismatch";
	case SIGN_E_MALFORMED_MANIFEST: return "malformed manifest";
	case SIGN_E_MALFORMED_TRUST: return "malformed trust file";
	case SIGN_E_INVALID: return "invalid argument";
	case SIGN_E_CRYPTO: return "crypto library initialisation failed";
	default: return "unknown signing error";
	}
}

int sign__is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[n] == '\0';
}

int sign__b64_decode_exact(const char *text, size_t text_len, uint8_t *out, size_t want)
{
	/* Large enough for every fixed-size value we decode (64-byte signatures and keys). */
	char again[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	size_t bin_len = 0;
	const char *end = NULL;

	/* The padded encoding has one length only; checking it first also keeps libsodium from
	 * ever writing more than want bytes. */
	if (want > 64 ||
	    text_len != sodium_base64_ENCODED_LEN(want, sodium_base64_VARIANT_ORIGINAL) - 1)
		return -1;
	if (sodium_base642bin(out, want, text, text_len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	if (end != text + text_len || bin_len != want)
		return -1;
	/* libsodium 1.0.18's decoder ignores bit 7 of each character (0xC1 decodes like 'A'), so
	 * one value would have many accepted spellings. Re-encoding and comparing accepts exactly
	 * the one canonical text of each value (also pinning the padding bits). */
	sodium_bin2base64(again, sizeof again, out, want, sodium_base64_VARIANT_ORIGINAL);
	if (memcmp(again, text, text_len) != 0)
		return -1;
	return 0;
}
