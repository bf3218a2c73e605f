/* agent/fetch.h: HTTP to the control plane over libcurl: JSON calls (desired state, reports)
 * and blob downloads with timeouts, retries with jittered exponential backoff, and the size and
 * digest checked against the signed manifest while the bytes stream in. Thread-safe: every call
 * uses its own curl handle (curl_global_init must have run, see agt_fetch_global_init). */
#ifndef AGT_FETCH_H
#define AGT_FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "signing/signing.h"

/* Error codes of this file (negative); 0 is success. */
#define AGT_FETCH_E_NET (-1)     /* transport failure or timeout (retried) */
#define AGT_FETCH_E_HTTP (-2)    /* an HTTP status other than 2xx */
#define AGT_FETCH_E_SIZE (-3)    /* more or fewer bytes than the manifest's size */
#define AGT_FETCH_E_DIGEST (-4)  /* bytes do not hash to the manifest's digest */
#define AGT_FETCH_E_NOMEM (-5)

/* Once per process, before threads start. Returns 0 or -1. */
int agt_fetch_global_init(void);

/* One request: method and absolute url, "Authorization: Bearer <token>" when token is given,
 * a JSON body when body is not NULL. The response body (at most max_body bytes, else
 * AGT_FETCH_E_SIZE) is appended to *out (caller frees) and the status stored in *out_status.
 * A single attempt with a total timeout of timeout_ms. Returns 0 for any HTTP status (the
 * caller judges it), or a negative code with the reason in err. */
int agt_http(const char *method, const char *url, const char *token, const char *body,
	     size_t max_body, long timeout_ms, long *out_status, struct buf *out, char *err,
	     size_t errlen);

/* Downloads the module of manifest m from url with token: up to `attempts` tries on transport
 * errors, 5xx and 429, with jittered exponential backoff between them. The byte count is checked
 * against m->size while streaming (the transfer stops at the first byte too many) and the SHA-256
 * against m->digest at the end. Returns 0 with *out (malloc'ed, caller frees, *out_len ==
 * m->size), or a negative code with the reason in err. */
int agt_fetch_blob(const char *url, const char *token, const struct sign_manifest *m,
		   int attempts, uint8_t **out, size_t *out_len, char *err, size_t errlen);

/* Makes every transfer in progress, and every later one, stop at once with AGT_FETCH_E_NET
 * (used at shutdown so that a slow control plane cannot delay it). */
void agt_fetch_abort_all(void);

/* Milliseconds to wait before retry number `attempt` (0-based): full jitter over
 * min(cap_ms, base_ms * 2^attempt), at least 1. Exposed for the sync loop and the tests. */
long agt_backoff_ms(int attempt, long base_ms, long cap_ms);

#endif
