/* agent/desired.c: strict parsing of the desired-state document. The agent trusts the control
 * plane's TLS/token for transport only; everything that drives activation is validated here, and
 * the manifest itself is later verified by signature. */
#include "agent/desired.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/routes.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int agt_slug_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 63 || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '-'))
			return 0;
	return 1;
}

static bool digest_ok(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71)
		return false;
	for (int i = 7; i < 71; i++)
		if (!(isdigit((unsigned char)d[i]) || (d[i] >= 'a' && d[i] <= 'f')))
			return false;
	return true;
}

/* Copies the string member `key` of obj into *out (NULL + error when absent or not a string). */
static int get_str(json_t *obj, const char *key, char **out, const char *where, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return fail(err, errlen, "%s.%s: a string is required", where, key);
	*out = strdup(json_string_value(v));
	if (*out == NULL)
		return -ENOMEM;
	return 0;
}

static int get_int(json_t *obj, const char *key, int64_t min, int64_t *out, const char *where,
		   char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_integer(v) || json_integer_value(v) < min)
		return fail(err, errlen, "%s.%s: an integer >= %lld is required", where, key,
			    (long long)min);
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static int parse_module(json_t *o, struct agt_desired_module *m, const char *where, char *err,
			size_t errlen)
{
	int rc;
	int64_t size;
	json_t *man;

	if (!json_is_object(o))
		return fail(err, errlen, "%s: an object is required", where);
	if ((rc = get_str(o, "tenant", &m->tenant, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "module", &m->module, where, err, errlen)) != 0 ||
	    (rc = get_int(o, "version", 1, &m->version, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "digest", &m->digest, where, err, errlen)) != 0 ||
	    (rc = get_int(o, "size", 1, &size, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "signature", &m->signature, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "blob_url", &m->blob_url, where, err, errlen)) != 0)
		return rc;
	m->size = (uint64_t)size;
	if (!agt_slug_ok(m->tenant))
		return fail(err, errlen, "%s.tenant: not a valid slug", where);
	if (!agt_slug_ok(m->module))
		return fail(err, errlen, "%s.module: not a valid slug", where);
	if (!digest_ok(m->digest))
		return fail(err, errlen, "%s.digest: \"sha256:\" and 64 lowercase hex are required",
			    where);
	if (m->signature[0] == '\0')
		return fail(err, errlen, "%s.signature: must not be empty", where);
	if (m->blob_url[0] != '/' && strncmp(m->blob_url, "http://", 7) != 0 &&
	    strncmp(m->blob_url, "https://", 8) != 0)
		return fail(err, errlen, "%s.blob_url: a path or an http(s) URL is required", where);
	/* The manifest is kept as text: it is verified later, byte-for-byte meaning preserved by
	 * canonicalisation in the signing library. A string holding the JSON is accepted too. */
	man = json_object_get(o, "manifest");
	if (json_is_object(man)) {
		m->manifest = json_dumps(man, JSON_COMPACT | JSON_SORT_KEYS);
		if (m->manifest == NULL)
			return -ENOMEM;
	} else if (json_is_string(man)) {
		m->manifest = strdup(json_string_value(man));
		if (m->manifest == NULL)
			return -ENOMEM;
	} else {
		return fail(err, errlen, "%s.manifest: an object is required", where);
	}
	return 0;
}

static int parse_route(json_t *o, struct agt_desired_route *r, const char *where, char *err,
		       size_t errlen)
{
	int rc;
	char why[128];

	if (!json_is_object(o))
		return fail(err, errlen, "%s: an object is required", where);
	if ((rc = get_str(o, "tenant", &r->tenant, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "host", &r->host, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "path", &r->path, where, err, errlen)) != 0 ||
	    (rc = get_str(o, "module", &r->module, where, err, errlen)) != 0)
		return rc;
	if (!agt_slug_ok(r->tenant) || !agt_slug_ok(r->module))
		return fail(err, errlen, "%s: tenant and module must be valid slugs", where);
	if (agt_route_validate(r->host, r->path, why, sizeof(why)) != 0)
		return fail(err, errlen, "%s: %s", where, why);
	return 0;
}

int agt_desired_parse(const char *text, size_t len, struct agt_desired **out, char *err,
		      size_t errlen)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	json_t *mods, *routes, *pop;
	struct agt_desired *d = NULL;
	char where[48];
	int rc = -EINVAL;

	*out = NULL;
	if (root == NULL)
		return fail(err, errlen, "desired state is not JSON: %s (line %d)", jerr.text,
			    jerr.line);
	if (!json_is_object(root)) {
		rc = fail(err, errlen, "desired state must be a JSON object");
		goto done;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	pop = json_object_get(root, "pop");
	if (!json_is_string(pop) || !agt_slug_ok(json_string_value(pop))) {
		rc = fail(err, errlen, "pop: a PoP name is required");
		goto done;
	}
	if ((d->pop = strdup(json_string_value(pop))) == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	if ((rc = get_int(root, "generation", 0, &d->generation, "desired", err, errlen)) != 0)
		goto done;
	mods = json_object_get(root, "modules");
	routes = json_object_get(root, "routes");
	if (!json_is_array(mods) || !json_is_array(routes)) {
		rc = fail(err, errlen, "modules and routes must be arrays");
		goto done;
	}
	d->modules = calloc(json_array_size(mods) + 1, sizeof(*d->modules));
	d->routes = calloc(json_array_size(routes) + 1, sizeof(*d->routes));
	if (d->modules == NULL || d->routes == NULL) {
		rc = -ENOMEM;
		goto done;
	}
	for (size_t i = 0; i < json_array_size(mods); i++) {
		snprintf(where, sizeof(where), "modules[%zu]", i);
		d->n_modules = i + 1;
		rc = parse_module(json_array_get(mods, i), &d->modules[i], where, err, errlen);
		if (rc != 0)
			goto done;
		if (agt_desired_find(d, d->modules[i].tenant, d->modules[i].module) !=
		    &d->modules[i]) {
			rc = fail(err, errlen, "%s: %s/%s is listed twice", where, d->modules[i].tenant,
				  d->modules[i].module);
			goto done;
		}
	}
	for (size_t i = 0; i < json_array_size(routes); i++) {
		snprintf(where, sizeof(where), "routes[%zu]", i);
		d->n_routes = i + 1;
		rc = parse_route(json_array_get(routes, i), &d->routes[i], where, err, errlen);
		if (rc != 0)
			goto done;
	}
	rc = 0;
done:
	if (rc == -ENOMEM)
		fail(err, errlen, "out of memory");
	if (rc != 0)
		agt_desired_free(d);
	else
		*out = d;
	json_decref(root);
	return rc;
}

const struct agt_desired_module *agt_desired_find(const struct agt_desired *d, const char *tenant,
						  const char *module)
{
	for (size_t i = 0; i < d->n_modules; i++)
		if (d->modules[i].tenant != NULL && d->modules[i].module != NULL &&
		    strcmp(d->modules[i].tenant, tenant) == 0 &&
		    strcmp(d->modules[i].module, module) == 0)
			return &d->modules[i];
	return NULL;
}

json_t *agt_desired_to_json(const struct agt_desired *d)
{
	json_t *root = json_object(), *mods = json_array(), *routes = json_array();
	int bad = root == NULL || mods == NULL || routes == NULL;

	for (size_t i = 0; !bad && i < d->n_modules; i++) {
		const struct agt_desired_module *m = &d->modules[i];
		json_t *man = json_loads(m->manifest, 0, NULL);
		json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:o,s:s,s:s}", "tenant", m->tenant,
				      "module", m->module, "version", (json_int_t)m->version,
				      "digest", m->digest, "size", (json_int_t)m->size, "manifest",
				      man ? man : json_string(m->manifest), "signature",
				      m->signature, "blob_url", m->blob_url);
		bad = o == NULL || json_array_append_new(mods, o) != 0;
	}
	for (size_t i = 0; !bad && i < d->n_routes; i++) {
		const struct agt_desired_route *r = &d->routes[i];
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "tenant", r->tenant, "host", r->host,
				      "path", r->path, "module", r->module);
		bad = o == NULL || json_array_append_new(routes, o) != 0;
	}
	if (!bad)
		bad = json_object_set_new(root, "pop", json_string(d->pop)) != 0 ||
		      json_object_set_new(root, "generation", json_integer(d->generation)) != 0 ||
		      json_object_set(root, "modules", mods) != 0 ||
		      json_object_set(root, "routes", routes) != 0;
	json_decref(mods);
	json_decref(routes);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

void agt_desired_free(struct agt_desired *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n_modules; i++) {
		struct agt_desired_module *m = &d->modules[i];
		free(m->tenant);
		free(m->module);
		free(m->digest);
		free(m->manifest);
		free(m->signature);
		free(m->blob_url);
	}
	for (size_t i = 0; i < d->n_routes; i++) {
		free(d->routes[i].tenant);
		free(d->routes[i].host);
		free(d->routes[i].path);
		free(d->routes[i].module);
	}
	free(d->modules);
	free(d->routes);
	free(d->pop);
	free(d);
}
