/* bench/signing: throughput of signing/ beside libsodium's own primitives in the same run, so
 * the ratio shows what the library adds (canonical JSON, base64, checks) on top of Ed25519 and
 * SHA-256 themselves. Prints signatures/s, verifications/s and SHA-256 MB/s over a 10 MiB
 * module. Usage: bench_signing [SECONDS_PER_FIGURE] (default 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "signing/signing.h"

#define MODULE_BYTES (10u * 1024 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs fn in batches until `seconds` pass; returns operations per second. A failed operation
 * aborts: a benchmark of a failing path would be meaningless. */
typedef int (*op_fn)(void *arg);
static double rate(op_fn fn, void *arg, double seconds, unsigned batch)
{
	double start = now(), t;
	unsigned long long ops = 0;

	do {
		for (unsigned i = 0; i < batch; i++) {
			if (fn(arg) != 0) {
				fprintf(stderr, "bench_signing: an operation failed\n");
				exit(1);
			}
		}
		ops += batch;
		t = now() - start;
	} while (t < seconds);
	return (double)ops / t;
}

struct ctx {
	sign_key *key;
	sign_trust *trust;
	struct sign_manifest m;
	char sig[SIGN_SIGNATURE_B64_LEN + 1];
	/* the same message and key for the raw libsodium calls */
	uint8_t msg[1024];
	size_t msg_len;
	uint8_t sk[crypto_sign_SECRETKEYBYTES], pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t raw_sig[crypto_sign_BYTES];
	uint8_t *module;
};

static int op_sign(void *p)
{
	struct ctx *c = p;
	return sign_manifest_sign(c->key, &c->m, c->sig, NULL, 0);
}

static int op_sign_raw(void *p)
{
	struct ctx *c = p;
	return crypto_sign_detached(c->raw_sig, NULL, c->msg, c->msg_len, c->sk);
}

static int op_verify(void *p)
{
	struct ctx *c = p;
	return sign_manifest_verify(c->trust, &c->m, c->sig, NULL, 0);
}

static int op_verify_raw(void *p)
{
	struct ctx *c = p;
	return crypto_sign_verify_detached(c->raw_sig, c->msg, c->msg_len, c->pk);
}

static int op_digest(void *p)
{
	struct ctx *c = p;
	return sign_verify_bytes(&c->m, c->module, MODULE_BYTES, NULL, 0);
}

static int op_digest_stream(void *p)
{
	struct ctx *c = p;
	sign_stream *s;
	int rc = sign_stream_create(&c->m, &s, NULL, 0);

	/* 64 KiB chunks, like a libcurl write callback delivers them. */
	for (size_t off = 0; rc == SIGN_OK && off < MODULE_BYTES; off += 65536)
		rc = sign_stream_update(s, c->module + off, 65536, NULL, 0);
	if (rc == SIGN_OK)
		rc = sign_stream_finish(s, NULL, 0);
	sign_stream_destroy(s);
	return rc;
}

static int op_digest_raw(void *p)
{
	struct ctx *c = p;
	uint8_t h[crypto_hash_sha256_BYTES];
	return crypto_hash_sha256(h, c->module, MODULE_BYTES);
}

/* Alternates ours and raw in ROUNDS short rounds and keeps the best rate of each: on a
 * shared machine, interference only ever slows a round down, so the best round is the figure
 * least disturbed, and alternating exposes both sides to the same drift. */
#define ROUNDS 20
static void pair(op_fn ours, op_fn raw, void *arg, double seconds, unsigned batch,
		 double *out_ours, double *out_raw)
{
	*out_ours = *out_raw = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double a = rate(ours, arg, seconds / ROUNDS, batch);
		double b = rate(raw, arg, seconds / ROUNDS, batch);
		if (a > *out_ours)
			*out_ours = a;
		if (b > *out_raw)
			*out_raw = b;
	}
}

static void line(const char *what, double ours, double raw, const char *unit)
{
	printf("%-28s signing/ %12.1f %-6s  libsodium %12.1f %-6s  ratio %.3f\n", what, ours, unit,
	       raw, unit, ours / raw);
}

int main(int argc, char **argv)
{
	static struct ctx c;
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	uint8_t seed[32];
	char err[256], *canon;
	size_t canon_len;

	if (secs <= 0)
		secs = 1.0;
	if (sodium_init() < 0)
		return 1;
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	c.module = malloc(MODULE_BYTES);
	if (c.module == NULL)
		return 1;
	randombytes_buf_deterministic(c.module, MODULE_BYTES, seed);
	if (sign_key_from_seed(seed, &c.key, err, sizeof err) != SIGN_OK ||
	    sign_trust_create(&c.trust, err, sizeof err) != SIGN_OK ||
	    sign_trust_add(c.trust, NULL, sign_key_public_b64(c.key), err, sizeof err) != SIGN_OK) {
		fprintf(stderr, "bench_signing: %s\n", err);
		return 1;
	}
	strcpy(c.m.tenant, "acme");
	strcpy(c.m.module, "hello");
	c.m.version = 42;
	sign_digest(c.module, MODULE_BYTES, c.m.digest);
	c.m.size = MODULE_BYTES;
	strcpy(c.m.created_at, "2026-12-03T10:00:00Z");
	strcpy(c.m.key_id, sign_key_id(c.key));
	if (sign_manifest_sign(c.key, &c.m, c.sig, err, sizeof err) != SIGN_OK ||
	    sign_manifest_canonical(&c.m, &canon, &canon_len, err, sizeof err) != SIGN_OK) {
		fprintf(stderr, "bench_signing: %s\n", err);
		return 1;
	}
	/* The raw side signs the very same message with the very same key. */
	c.msg_len = strlen(SIGN_CONTEXT) + canon_len;
	memcpy(c.msg, SIGN_CONTEXT, strlen(SIGN_CONTEXT));
	memcpy(c.msg + strlen(SIGN_CONTEXT), canon, canon_len);
	free(canon);
	crypto_sign_seed_keypair(c.pk, c.sk, seed);
	crypto_sign_detached(c.raw_sig, NULL, c.msg, c.msg_len, c.sk);

	printf("bench/signing: libsodium %s, %.1f s per side per figure, best of 20 alternating rounds, manifest %zu bytes, module %u MiB\n",
	       sodium_version_string(), secs, c.msg_len, MODULE_BYTES >> 20);
	double ours, raw, mb = (double)MODULE_BYTES / 1e6;
	pair(op_sign, op_sign_raw, &c, secs, 64, &ours, &raw);
	line("sign (Ed25519)", ours, raw, "ops/s");
	pair(op_verify, op_verify_raw, &c, secs, 64, &ours, &raw);
	line("verify (Ed25519)", ours, raw, "ops/s");
	pair(op_digest, op_digest_raw, &c, secs, 1, &ours, &raw);
	line("SHA-256 10 MiB (whole)", ours * mb, raw * mb, "MB/s");
	pair(op_digest_stream, op_digest_raw, &c, secs, 1, &ours, &raw);
	line("SHA-256 10 MiB (64K stream)", ours * mb, raw * mb, "MB/s");

	sign_trust_destroy(c.trust);
	sign_key_destroy(c.key);
	free(c.module);
	return 0;
}
