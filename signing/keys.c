/* Ed25519 key pairs: generation, derivation from a seed, key ids, and the secret key file
 * (written atomically with mode 0600, loaded only when private to its owner). Secret bytes
 * only ever live in sodium_malloc'ed (guarded, mlocked) memory and are wiped on release. */
#include "signing/sign_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* Everything lives in one sodium_malloc'ed block that is made read-only once filled, so a
 * stray write cannot corrupt a key and a stray read past it hits a guard page. */
struct sign_key {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];   /* seed || public key */
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	char pub_b64[SIGN_PUBLIC_B64_LEN + 1];
	char key_id[SIGN_KEY_ID_LEN + 1];
};

/* A key file is at most this long; anything longer is garbage, not a key. */
#define KEY_FILE_MAX 512

static int key_alloc(sign_key **out, char *err, size_t errlen);
static void key_finish(sign_key *k);
static int read_small_file(int fd, char *buf, size_t cap, size_t *out_len);
static int parse_key_text(const char *path, const char *text, size_t len, sign_key *k,
			  char *err, size_t errlen);

void sign_key_id_of(const uint8_t pub[SIGN_PUBLIC_KEY_BYTES], char out[SIGN_KEY_ID_LEN + 1])
{
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	(void)sign__init(NULL, 0);
	crypto_hash_sha256(h, pub, SIGN_PUBLIC_KEY_BYTES);
	sodium_bin2hex(hex, sizeof hex, h, sizeof h);
	memcpy(out, hex, SIGN_KEY_ID_LEN);
	out[SIGN_KEY_ID_LEN] = '\0';
}

static int key_alloc(sign_key **out, char *err, size_t errlen)
{
	int rc = sign__init(err, errlen);
	sign_key *k;

	*out = NULL;
	if (rc != SIGN_OK)
		return rc;
	/* sodium_malloc places the block against a guard page and mlocks it (so the secret is
	 * never swapped out), and sodium_free wipes it. */
	k = sodium_malloc(sizeof *k);
	if (k == NULL)
		return sign__fail(err, errlen, SIGN_E_NOMEM, "cannot allocate secure memory for a key");
	memset(k, 0, sizeof *k);
	*out = k;
	return SIGN_OK;
}

/* Fills the public views from k->pk and makes the block read-only. */
static void key_finish(sign_key *k)
{
	sodium_bin2base64(k->pub_b64, sizeof k->pub_b64, k->pk, sizeof k->pk,
			  sodium_base64_VARIANT_ORIGINAL);
	sign_key_id_of(k->pk, k->key_id);
	sodium_mprotect_readonly(k);
}

int sign_key_generate(sign_key **out, char *err, size_t errlen)
{
	sign_key *k;
	int rc = key_alloc(&k, err, errlen);

	if (rc != SIGN_OK)
		return rc;
	crypto_sign_keypair(k->pk, k->sk);
	key_finish(k);
	*out = k;
	return SIGN_OK;
}

int sign_key_from_seed(const uint8_t seed[32], sign_key **out, char *err, size_t errlen)
{
	sign_key *k;
	int rc = key_alloc(&k, err, errlen);

	if (rc != SIGN_OK)
		return rc;
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	key_finish(k);
	*out = k;
	return SIGN_OK;
}

void sign_key_destroy(sign_key *k)
{
	if (k != NULL)
		sodium_free(k); /* makes the block writable, wipes it, unlocks and frees it */
}

const uint8_t *sign_key_public(const sign_key *k) { return k->pk; }
const char *sign_key_public_b64(const sign_key *k) { return k->pub_b64; }
const char *sign_key_id(const sign_key *k) { return k->key_id; }

const uint8_t *sign__key_secret(const sign_key *k) { return k->sk; }

int sign_key_save(const sign_key *k, const char *path, char *err, size_t errlen)
{
	/* magic '\n' base64(64) '\n' NUL */
	const size_t b64_size = sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
							  sodium_base64_VARIANT_ORIGINAL);
	const size_t cap = sizeof SIGN__KEY_MAGIC + b64_size + 1;
	char *text = NULL, *tmp = NULL;
	size_t len;
	int fd = -1, rc, created = 0, linked = 0;
	struct stat st;

	if (k == NULL || path == NULL || path[0] == '\0')
		return sign__fail(err, errlen, SIGN_E_INVALID, "no key or no path to save it to");
	/* A clear error before any work; the final link() re-checks atomically. */
	if (lstat(path, &st) == 0)
		return sign__fail(err, errlen, SIGN_E_EXISTS,
				  "%s already exists; refusing to overwrite a key file", path);
	text = sodium_malloc(cap);
	tmp = malloc(strlen(path) + sizeof ".tmp.XXXXXX");
	if (text == NULL || tmp == NULL) {
		rc = sign__fail(err, errlen, SIGN_E_NOMEM, "out of memory saving a key");
		goto out;
	}
	memcpy(text, SIGN__KEY_MAGIC "\n", sizeof SIGN__KEY_MAGIC);
	sodium_bin2base64(text + sizeof SIGN__KEY_MAGIC, b64_size, k->sk, sizeof k->sk,
			  sodium_base64_VARIANT_ORIGINAL);
	len = strlen(text);
	text[len++] = '\n';

	/* mkstemp creates the file with mode 0600 and O_EXCL, in the target's folder so that
	 * the final link is atomic (same file system). */
	sprintf(tmp, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	created = 1;
	if (fchmod(fd, 0600) != 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot chmod %s: %s", tmp, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = sign__fail(err, errlen, SIGN_E_IO, "cannot write %s: %s", tmp,
					n < 0 ? strerror(errno) : "short write");
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot fsync %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot close %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	/* link() fails with EEXIST instead of replacing: a key file is never overwritten, even
	 * when two keygens race for the same path. */
	if (link(tmp, path) != 0) {
		int e = errno;
		/* File systems without hard links: an exclusive rename is atomic too. */
		if (e == EPERM || e == ENOTSUP || e == ENOSYS) {
			if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
				created = 0; /* the temporary name went away with the rename */
				linked = 1;
				rc = SIGN_OK;
				goto out;
			}
			if (errno == EEXIST)
				e = EEXIST;
		}
		if (e == EEXIST)
			rc = sign__fail(err, errlen, SIGN_E_EXISTS,
					"%s already exists; refusing to overwrite a key file", path);
		else
			rc = sign__fail(err, errlen, SIGN_E_IO, "cannot create %s: %s", path, strerror(e));
		goto out;
	}
	linked = 1;
	rc = SIGN_OK;
out:
	if (fd >= 0)
		close(fd);
	if (created)
		unlink(tmp); /* after a link the key keeps its final name; on failure nothing stays */
	if (linked) {
		/* Make the new directory entry durable; failure here is not worth failing the save
		 * after the file is in place and complete. */
		char *slash = strrchr(path, '/');
		int dfd;
		if (slash == NULL) {
			dfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		} else {
			char *dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
			dfd = dir != NULL ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
			free(dir);
		}
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	}
	free(tmp);
	sodium_free(text); /* wipes the encoded secret */
	return rc;
}

static int read_small_file(int fd, char *buf, size_t cap, size_t *out_len)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == cap)
			break; /* the caller treats a full buffer as "too large" */
	}
	*out_len = len;
	return 0;
}

static int is_b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

/* Parses "MAGIC\nBASE64\n" into k->sk/k->pk, telling a truncated file (a proper prefix of a
 * well-formed one) from a garbled one, and checking that the stored public half is the one
 * the seed derives (a flipped bit anywhere is caught). */
static int parse_key_text(const char *path, const char *text, size_t len, sign_key *k,
			  char *err, size_t errlen)
{
	const size_t magic_len = sizeof SIGN__KEY_MAGIC - 1;
	const size_t b64_len = sodium_base64_ENCODED_LEN(crypto_sign_SECRETKEYBYTES,
							 sodium_base64_VARIANT_ORIGINAL) - 1;
	const char *b64;
	size_t rest;
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	int rc = SIGN_OK;

	if (len == 0)
		return sign__fail(err, errlen, SIGN_E_KEY_FORMAT, "key file %s is empty (truncated)", path);
	if (len <= magic_len) {
		if (memcmp(text, SIGN__KEY_MAGIC, len) == 0)
			return sign__fail(err, errlen, SIGN_E_KEY_FORMAT, "key file %s is truncated", path);
		return sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				  "key file %s is garbled: not an edgeplane signing key", path);
	}
	if (memcmp(text, SIGN__KEY_MAGIC, magic_len) != 0 || text[magic_len] != '\n')
		return sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				  "key file %s is garbled: not an edgeplane signing key", path);
	b64 = text + magic_len + 1;
	rest = len - magic_len - 1;
	if (rest > 0 && b64[rest - 1] == '\n')
		rest--; /* the trailing newline is optional */
	if (rest < b64_len) {
		size_t i = 0;
		while (i < rest && is_b64_char(b64[i]))
			i++;
		if (i == rest)
			return sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
					  "key file %s is truncated (%zu of %zu key characters)", path,
					  rest, b64_len);
		return sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				  "key file %s is garbled: bad character in the key", path);
	}
	if (rest > b64_len || sign__b64_decode_exact(b64, rest, k->sk, sizeof k->sk) != 0)
		return sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				  "key file %s is garbled: the key is not %zu bytes of base64", path,
				  sizeof k->sk);
	/* Re-derive from the seed half: the stored public half must match. */
	uint8_t *sk2 = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (sk2 == NULL)
		return sign__fail(err, errlen, SIGN_E_NOMEM, "cannot allocate secure memory for a key");
	crypto_sign_seed_keypair(pk, sk2, k->sk);
	if (sodium_memcmp(pk, k->sk + crypto_sign_SEEDBYTES, sizeof pk) != 0)
		rc = sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				"key file %s is garbled: its public half does not match its secret half",
				path);
	else
		memcpy(k->pk, pk, sizeof pk);
	sodium_free(sk2);
	return rc;
}

int sign_key_load(const char *path, sign_key **out, char *err, size_t errlen)
{
	sign_key *k = NULL;
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd, rc;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return sign__fail(err, errlen, SIGN_E_INVALID, "no key file path given");
	rc = key_alloc(&k, err, errlen);
	if (rc != SIGN_OK)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot open key file %s: %s", path, strerror(errno));
		goto out;
	}
	/* fstat the opened file (not the path) so that the file checked is the file read. */
	if (fstat(fd, &st) != 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot stat key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "key file %s is not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		rc = sign__fail(err, errlen, SIGN_E_KEY_PERMS,
				"key file %s has mode %04o: it must not be accessible by group or "
				"others (chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	text = sodium_malloc(KEY_FILE_MAX);
	if (text == NULL) {
		rc = sign__fail(err, errlen, SIGN_E_NOMEM, "cannot allocate secure memory for a key");
		goto out;
	}
	if (read_small_file(fd, text, KEY_FILE_MAX, &len) != 0) {
		rc = sign__fail(err, errlen, SIGN_E_IO, "cannot read key file %s: %s", path, strerror(errno));
		goto out;
	}
	if (len == KEY_FILE_MAX) {
		rc = sign__fail(err, errlen, SIGN_E_KEY_FORMAT,
				"key file %s is garbled: too large for a key", path);
		goto out;
	}
	rc = parse_key_text(path, text, len, k, err, errlen);
	if (rc != SIGN_OK)
		goto out;
	key_finish(k);
	*out = k;
	k = NULL;
out:
	if (fd >= 0)
		close(fd);
	sodium_free(text);
	sign_key_destroy(k);
	return rc;
}

int sign_keygen_file(const char *path, char out_key_id[SIGN_KEY_ID_LEN + 1],
		     char out_pub_b64[SIGN_PUBLIC_B64_LEN + 1], char *err, size_t errlen)
{
	sign_key *k = NULL;
	int rc = sign_key_generate(&k, err, errlen);

	if (rc != SIGN_OK)
		return rc;
	rc = sign_key_save(k, path, err, errlen);
	if (rc == SIGN_OK) {
		if (out_key_id != NULL)
			memcpy(out_key_id, k->key_id, sizeof k->key_id);
		if (out_pub_b64 != NULL)
			memcpy(out_pub_b64, k->pub_b64, sizeof k->pub_b64);
	}
	sign_key_destroy(k);
	return rc;
}
