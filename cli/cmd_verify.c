/* cli/cmd_verify.c: `edgectl verify`, the offline check an auditor or a CI job runs on a module
 * file: the manifest's Ed25519 signature against a trust file (the same file agents use), then
 * the file's size and SHA-256 against the manifest. No network. */
#include "cli/commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signing/signing.h"

/* The signature option: the base64 itself, or "@FILE" holding it. Malloc'ed (caller frees). */
static char *signature_arg(const char *s)
{
	char *text;
	size_t len;

	if (s[0] != '@')
		return strdup(s);
	if ((text = cli_read_file(s + 1, &len)) == NULL)
		return NULL;
	/* Files made with echo end in a newline. */
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	return text;
}

/* The signature in "<manifest>.sig", when that file exists (malloc'ed), else NULL. */
static char *sibling_signature(const char *mpath)
{
	char arg[4096];
	FILE *f;

	if (snprintf(arg, sizeof arg, "@%s.sig", mpath) >= (int)sizeof arg)
		return NULL;
	if ((f = fopen(arg + 1, "rb")) == NULL)
		return NULL;
	fclose(f);
	return signature_arg(arg);
}

/* The trusted keys: the agents' trust file ("KEYID BASE64" per line), or, so that the answer of
 * GET /v1/keys saved as is works too, that JSON document ({"items":[{key_id, public_key}]} or
 * a bare list of such objects). Returns SIGN_OK with *out set, or an error with `err` filled. */
static int load_trust(const char *path, sign_trust **out, size_t *out_line, char *err,
		      size_t errlen)
{
	char *text;
	size_t len, i = 0;
	json_t *doc, *items, *k;
	json_error_t je;
	int rc;

	*out = NULL;
	*out_line = 0;
	if ((text = cli_read_file(path, &len)) == NULL) {
		snprintf(err, errlen, "cannot read the file");
		return SIGN_E_IO;
	}
	while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
		i++;
	if (i == len || (text[i] != '{' && text[i] != '[')) {
		rc = sign_trust_parse(text, len, out, out_line, err, errlen);
		free(text);
		return rc;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	free(text);
	if (doc == NULL) {
		snprintf(err, errlen, "line %d: %s", je.line, je.text);
		return SIGN_E_MALFORMED_TRUST;
	}
	items = json_is_array(doc) ? doc : json_object_get(doc, "items");
	if (!json_is_array(items)) {
		snprintf(err, errlen, "a JSON trust file is GET /v1/keys's answer: {\"items\":[...]}");
		json_decref(doc);
		return SIGN_E_MALFORMED_TRUST;
	}
	if ((rc = sign_trust_create(out, err, errlen)) != SIGN_OK) {
		json_decref(doc);
		return rc;
	}
	json_array_foreach(items, i, k) {
		const char *id = json_string_value(json_object_get(k, "key_id"));
		const char *pub = json_string_value(json_object_get(k, "public_key"));
		if (pub == NULL) {
			snprintf(err, errlen, "items[%zu] has no \"public_key\"", i);
			rc = SIGN_E_MALFORMED_TRUST;
		} else {
			rc = sign_trust_add(*out, id, pub, err, errlen);
		}
		if (rc != SIGN_OK) {
			sign_trust_destroy(*out);
			*out = NULL;
			json_decref(doc);
			return rc;
		}
	}
	json_decref(doc);
	return SIGN_OK;
}

CLI_CMD(cli_verify)
{
	const char *mpath = cli_opt_get(a, spec, "manifest");
	const char *tpath = cli_opt_get(a, spec, "trusted-keys");
	const char *sig_opt = cli_opt_get(a, spec, "signature");
	sign_trust *trust = NULL;
	struct sign_manifest m;
	json_t *doc = NULL, *man;
	json_error_t je;
	char err[256], *sig = NULL, *mtext = NULL, *bytes = NULL;
	size_t blen, tline = 0;
	int rc, ret = CLI_EXIT_FAIL;

	if (a->npos != 1 || mpath == NULL || tpath == NULL) {
		fprintf(stderr, "edgectl: verify needs FILE.wasm, --manifest M.json and "
				"--trusted-keys FILE (see --help)\n");
		return CLI_EXIT_USAGE;
	}
	rc = load_trust(tpath, &trust, &tline, err, sizeof err);
	if (rc != SIGN_OK) {
		fprintf(stderr, "edgectl: %s: %s\n", tpath, err);
		return CLI_EXIT_FAIL;
	}
	if (sign_trust_count(trust) == 0) {
		fprintf(stderr, "edgectl: %s: no keys in the trust file\n", tpath);
		goto done;
	}
	doc = json_load_file(mpath, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(doc)) {
		fprintf(stderr, "edgectl: %s: %s\n", mpath, doc ? "not a JSON object" : je.text);
		goto done;
	}
	/* Accepted shapes: a version as the API returns it ({"manifest":{...},"signature":"..."},
	 * e.g. `edgectl --json versions get`); the manifest's fields with a "signature" beside
	 * them; or the bare manifest, the signature then coming from --signature or a file
	 * M.json.sig next to it. */
	man = json_object_get(doc, "manifest");
	if (sig_opt != NULL)
		sig = signature_arg(sig_opt);
	else if (json_is_string(json_object_get(doc, "signature")))
		sig = strdup(json_string_value(json_object_get(doc, "signature")));
	else
		sig = sibling_signature(mpath);
	if (sig == NULL) {
		fprintf(stderr, "edgectl: %s carries no signature: pass --signature\n", mpath);
		goto done;
	}
	if (man == NULL) {
		/* The document itself, without a "signature" member the manifest does not have. */
		json_object_del(doc, "signature");
		man = doc;
	}
	mtext = json_is_string(man) ? strdup(json_string_value(man))
				    : json_dumps(man, JSON_COMPACT);
	if (mtext == NULL) {
		fprintf(stderr, "edgectl: out of memory\n");
		goto done;
	}
	rc = sign_verify_text(trust, mtext, strlen(mtext), sig, &m, err, sizeof err);
	if (rc != SIGN_OK) {
		fprintf(stderr, "edgectl: verification FAILED: signature: %s\n", err);
		goto done;
	}
	if ((bytes = cli_read_file(a->pos[0], &blen)) == NULL)
		goto done;
	rc = sign_verify_bytes(&m, (const uint8_t *)bytes, blen, err, sizeof err);
	if (rc != SIGN_OK) {
		fprintf(stderr, "edgectl: verification FAILED: %s: %s\n", a->pos[0], err);
		goto done;
	}
	if (ctx->json) {
		json_t *r = json_pack("{s:b, s:s, s:s, s:I, s:s, s:I, s:s}", "verified", 1,
				      "tenant", m.tenant, "module", m.module,
				      "version", (json_int_t)m.version, "digest", m.digest,
				      "size", (json_int_t)m.size, "key_id", m.key_id);
		if (r != NULL)
			cli_json_print(stdout, r);
		json_decref(r);
	} else {
		printf("OK: %s is %s/%s version %llu (%s, %llu bytes), signed by trusted key %s\n",
		       a->pos[0], m.tenant, m.module, (unsigned long long)m.version, m.digest,
		       (unsigned long long)m.size, m.key_id);
	}
	ret = CLI_EXIT_OK;
done:
	free(bytes);
	free(mtext);
	free(sig);
	json_decref(doc);
	sign_trust_destroy(trust);
	return ret;
}
