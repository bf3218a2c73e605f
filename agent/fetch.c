/* agent/fetch.c: libcurl calls to the control plane. Every call has a connect timeout and a
 * total timeout so that a hung control plane can never stall the sync loop forever. */
#include "agent/fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

struct sink {
	struct buf *buf;
	size_t max;
	int too_big;
	sign_stream *stream; /* blob downloads: size and digest while streaming */
	int stream_rc;
	char stream_err[160];
};

static atomic_bool aborting;

void agt_fetch_abort_all(void)
{
	atomic_store(&aborting, true);
}

/* libcurl's progress hook: a non-zero answer ends the transfer. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return atomic_load(&aborting) ? 1 : 0;
}

int agt_fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

long agt_backoff_ms(int attempt, long base_ms, long cap_ms)
{
	long ceiling = base_ms;
	uint32_t r = 0;

	for (int i = 0; i < attempt && ceiling < cap_ms; i++)
		ceiling *= 2;
	if (ceiling > cap_ms)
		ceiling = cap_ms;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (uint32_t)time(NULL) * 2654435761u;
	return ceiling > 1 ? 1 + (long)(r % (uint32_t)ceiling) : 1;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (s->buf->len + n > s->max) {
		s->too_big = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	if (s->stream != NULL) {
		s->stream_rc = sign_stream_update(s->stream, (const uint8_t *)ptr, n, s->stream_err,
						  sizeof(s->stream_err));
		if (s->stream_rc != SIGN_OK)
			return 0;
	}
	if (!buf_append(s->buf, ptr, n))
		return 0;
	return n;
}

/* One transfer into s; returns 0 with the status, or a negative code. */
static int perform(const char *method, const char *url, const char *token, const char *body,
		   long timeout_ms, struct sink *s, long *out_status, char *err, size_t errlen)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hdrs = NULL, *tmp;
	char auth[600];
	CURLcode cc;
	int rc = 0;

	if (h == NULL) {
		snprintf(err, errlen, "curl_easy_init failed");
		return AGT_FETCH_E_NOMEM;
	}
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		if ((tmp = curl_slist_append(hdrs, auth)) == NULL)
			goto nomem;
		hdrs = tmp;
	}
	if (body != NULL) {
		if ((tmp = curl_slist_append(hdrs, "Content-Type: application/json")) == NULL)
			goto nomem;
		hdrs = tmp;
	}
	if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
		goto nomem;
	hdrs = tmp;
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "edge-agent/0.1.0") != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK) {
		snprintf(err, errlen, "curl_easy_setopt failed");
		rc = AGT_FETCH_E_NET;
		goto out;
	}
	if (body != NULL &&
	    (curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	     curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body)) != CURLE_OK)) {
		snprintf(err, errlen, "curl_easy_setopt failed");
		rc = AGT_FETCH_E_NET;
		goto out;
	}
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		if (s->too_big) {
			snprintf(err, errlen, "response larger than %zu bytes", s->max);
			rc = AGT_FETCH_E_SIZE;
		} else if (s->stream_rc == SIGN_E_SIZE_MISMATCH) {
			snprintf(err, errlen, "%s", s->stream_err);
			rc = AGT_FETCH_E_SIZE;
		} else if (s->stream_rc != SIGN_OK) {
			snprintf(err, errlen, "%s", s->stream_err);
			rc = AGT_FETCH_E_DIGEST;
		} else {
			snprintf(err, errlen, "%s %s: %s", method, url, curl_easy_strerror(cc));
			rc = AGT_FETCH_E_NET;
		}
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, out_status);
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
	rc = AGT_FETCH_E_NOMEM;
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return rc;
}

int agt_http(const char *method, const char *url, const char *token, const char *body,
	     size_t max_body, long timeout_ms, long *out_status, struct buf *out, char *err,
	     size_t errlen)
{
	struct sink s = {.buf = out, .max = max_body};

	*out_status = 0;
	return perform(method, url, token, body, timeout_ms, &s, out_status, err, errlen);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0)
		;
}

int agt_fetch_blob(const char *url, const char *token, const struct sign_manifest *m,
		   int attempts, uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	int rc = AGT_FETCH_E_NET;

	*out = NULL;
	for (int attempt = 0; attempt < attempts; attempt++) {
		struct buf b = {0};
		struct sink s = {.buf = &b, .max = (size_t)m->size};
		long status = 0;

		if (attempt > 0)
			sleep_ms(agt_backoff_ms(attempt - 1, 200, 5000));
		if (atomic_load(&aborting)) {
			snprintf(err, errlen, "shutting down");
			return AGT_FETCH_E_NET;
		}
		if (sign_stream_create(m, &s.stream, err, errlen) != SIGN_OK)
			return AGT_FETCH_E_NOMEM;
		/* Generous total timeout: 30 s plus 1 s per MiB. */
		rc = perform("GET", url, token, NULL, 30000L + (long)(m->size >> 20) * 1000L, &s,
			     &status, err, errlen);
		if (rc == 0 && (status < 200 || status > 299)) {
			snprintf(err, errlen, "GET %s: HTTP %ld", url, status);
			rc = AGT_FETCH_E_HTTP;
		} else if (rc == 0) {
			int src = sign_stream_finish(s.stream, err, errlen);
			if (src == SIGN_E_SIZE_MISMATCH)
				rc = AGT_FETCH_E_SIZE;
			else if (src != SIGN_OK)
				rc = AGT_FETCH_E_DIGEST;
		}
		sign_stream_destroy(s.stream);
		if (rc == 0) {
			*out_len = b.len;
			*out = (uint8_t *)buf_steal(&b);
			return 0;
		}
		buf_free(&b);
		/* Only transient failures are worth another try: a wrong size or digest, or a 4xx,
		 * will be the same next time. */
		if (!(rc == AGT_FETCH_E_NET ||
		      (rc == AGT_FETCH_E_HTTP && (status >= 500 || status == 429))))
			break;
	}
	return rc;
}
