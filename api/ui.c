/* api/ui.c: the dashboard's static files under /ui/, from EDGEPLANE_WEB_ROOT.
 *
 * The dashboard is plain files (web/: HTML, CSS, JavaScript modules) that talk to the public
 * REST API only, so serving them is a small, careful file server:
 *   - GET /ui redirects to /ui/; /ui/ is index.html; a directory is never listed.
 *   - Only regular files strictly inside the root: ".." and "." segments, hidden names, control
 *     characters and backslashes are refused, and the resolved path (symlinks followed) must
 *     still be under the resolved root; anything else is 404 (never 403: no hint either way).
 *   - The test harness folder (tests/, node_modules/) is not part of the site and is not served.
 *   - Content-Type from a fixed table; ETag from inode, size and modification time, so a
 *     revalidation (If-None-Match) costs a stat and answers 304 without reading the file.
 *   - Every answer carries a strict Content-Security-Policy (no inline script or style, no
 *     framing, no plugins) and X-Content-Type-Options: nosniff.
 * No database is touched (API_F_NO_DB), and the routes stay out of the OpenAPI document
 * (API_F_UNDOCUMENTED): they are not part of the REST API. */
#include "api/api.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/asset.h"

/* Larger files are not dashboard assets; refusing them bounds the memory of one request. */
#define UI_MAX_FILE_BYTES (8u * 1024u * 1024u)

/* default-src 'self' covers fonts and anything not named; the rest is spelled out so that a
 * reader of the header sees every rule. form-action 'none': no form of the dashboard submits
 * by navigation (they are handled in script), so none may be turned into a token exfiltration. */
static const char ui_csp[] =
	"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
	"frame-ancestors 'none'; form-action 'none'";

static void ui_redirect(struct api_req *req);
static void ui_serve(struct api_req *req);
static bool ui_security_headers(struct api_req *req);
static bool ui_default_root(char *out, size_t outlen);
static bool ui_rel_ok(const char *rel);
static const char *ui_content_type(const char *path);
static bool ui_etag_matches(const char *header, const char *etag);
static void ui_problem(struct api_req *req, unsigned status, const char *detail);
static void ui_not_found(struct api_req *req);

static const struct api_route ui_routes[] = {
	{"GET", "/ui", API_PUBLIC, ui_redirect, API_F_UNDOCUMENTED | API_F_NO_DB},
	{"GET", "/ui/{path*}", API_PUBLIC, ui_serve, API_F_UNDOCUMENTED | API_F_NO_DB},
};

void api_ui_register(struct api_router *r)
{
	/* A failure here (duplicate row) is logged by the router, which then refuses to start. */
	(void)api_router_add(r, ui_routes, sizeof ui_routes / sizeof ui_routes[0]);
}

static bool ui_security_headers(struct api_req *req)
{
	return api_add_header(req, "Content-Security-Policy", ui_csp) &&
	       api_add_header(req, "X-Content-Type-Options", "nosniff") &&
	       api_add_header(req, "X-Frame-Options", "DENY") &&
	       api_add_header(req, "Referrer-Policy", "no-referrer") &&
	       api_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
}

/* Errors carry the same security headers as files: a problem document is still a page of
 * this origin. */
static void ui_problem(struct api_req *req, unsigned status, const char *detail)
{
	(void)ui_security_headers(req);
	api_reply_problem(req, status, "%s", detail);
}

static void ui_not_found(struct api_req *req)
{
	ui_problem(req, 404, "no such file of the dashboard");
}

static void ui_redirect(struct api_req *req)
{
	if (!ui_security_headers(req) || !api_add_header(req, "Location", "/ui/")) {
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	api_reply_empty(req, 301);
}

/* The dashboard next to the program when EDGEPLANE_WEB_ROOT is not set: the checkout's web/
 * seen from BUILD/bin (build/bin/../../web, deeper for BUILD=build/NAME), or $EDGEPLANE_TOP/web.
 * Looking for index.html rather than the folder avoids an unrelated "web" directory. */
static bool ui_default_root(char *out, size_t outlen)
{
	char *slash;

	if (asset_find(NULL, "web/index.html", out, outlen) != 0)
		return false;
	slash = strrchr(out, '/');
	if (slash == NULL)
		return false;
	*slash = '\0';
	return true;
}

/* A request path below /ui/ (already percent-decoded by the router) is acceptable when every
 * segment is a plain name: not empty, not "." or "..", not hidden, no backslash or control
 * character, and it does not reach into the test harness. */
static bool ui_rel_ok(const char *rel)
{
	const char *seg = rel;
	bool first = true;

	if (strlen(rel) > 512)
		return false;
	for (;;) {
		size_t len = strcspn(seg, "/");

		if (len == 0 || seg[0] == '.')
			return false; /* "", ".", "..", ".git", ".env", ... */
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)seg[i];
			if (c < 0x20 || c == 0x7f || c == '\\')
				return false;
		}
		if ((first && len == 5 && memcmp(seg, "tests", 5) == 0) ||
		    (len == 12 && memcmp(seg, "node_modules", 12) == 0))
			return false;
		if (seg[len] == '\0')
			return true;
		seg += len + 1;
		first = false;
	}
}

static const char *ui_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".mjs", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".map", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},
		{".gif", "image/gif"},
		{".webp", "image/webp"},
		{".ico", "image/x-icon"},
		{".woff2", "font/woff2"},
		{".woff", "font/woff"},
		{".txt", "text/plain; charset=utf-8"},
		{".md", "text/markdown; charset=utf-8"},
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');

	if (dot != NULL && (slash == NULL || dot > slash))
		for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	/* With nosniff, the browser will neither run nor render an unknown type. */
	return "application/octet-stream";
}

/* If-None-Match: "*" or a comma list of entity tags; the weak comparison applies (RFC 9110
 * 13.1.2), so W/"x" matches "x". */
static bool ui_etag_matches(const char *header, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = header;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		const char *end = p;
		if (*end == '"') {
			end = strchr(end + 1, '"');
			if (end == NULL)
				return false; /* malformed: treat as no match */
			end++;
		} else {
			end += strcspn(end, ", \t");
		}
		if ((size_t)(end - p) == elen && memcmp(p, etag, elen) == 0)
			return true;
		p = end;
	}
	return false;
}

static void ui_serve(struct api_req *req)
{
	const struct api_config *cfg = api_cfg(req);
	const char *rel = api_param(req, "path");
	char root_buf[PATH_MAX], root[PATH_MAX], full[2 * PATH_MAX], real[PATH_MAX], etag[80];
	const char *inm;
	struct stat st;
	size_t root_len;
	uint8_t *data;
	int fd, w;

	if (rel == NULL || rel[0] == '\0')
		rel = "index.html";
	if (!ui_rel_ok(rel)) {
		ui_not_found(req);
		return;
	}

	/* Resolve the root itself first: it may be relative or a symlink (e.g. a release folder). */
	if (cfg->web_root != NULL && cfg->web_root[0] != '\0') {
		w = snprintf(root_buf, sizeof root_buf, "%s", cfg->web_root);
		if (w < 0 || (size_t)w >= sizeof root_buf) {
			ui_problem(req, 500, "the dashboard folder path is too long");
			return;
		}
	} else if (!ui_default_root(root_buf, sizeof root_buf)) {
		ui_problem(req, 404, "the dashboard is not installed (set EDGEPLANE_WEB_ROOT)");
		return;
	}
	if (realpath(root_buf, root) == NULL) {
		ui_problem(req, 404, "the dashboard folder does not exist (EDGEPLANE_WEB_ROOT)");
		return;
	}
	root_len = strlen(root);

	w = snprintf(full, sizeof full, "%s/%s", root, rel);
	if (w < 0 || (size_t)w >= sizeof full || realpath(full, real) == NULL) {
		ui_not_found(req);
		return;
	}
	/* Symlinks are followed by realpath: the target must still be inside the root. */
	if (strncmp(real, root, root_len) != 0 || (real[root_len] != '/' && root_len != 1)) {
		ui_not_found(req);
		return;
	}

	/* O_NOFOLLOW: the resolved path has no symlink left; refuse one swapped in since. */
	fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		ui_not_found(req);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0 ||
	    (uint64_t)st.st_size > UI_MAX_FILE_BYTES) {
		close(fd);
		ui_not_found(req);
		return;
	}

	snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "%09ld\"",
		 (uint64_t)st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
		 (long)st.st_mtim.tv_nsec);
	if (!ui_security_headers(req) || !api_add_header(req, "ETag", etag) ||
	    /* Always revalidate: a new dashboard version shows on the next load, and the
	     * revalidation is a cheap 304. */
	    !api_add_header(req, "Cache-Control", "no-cache")) {
		close(fd);
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	inm = api_header(req, "If-None-Match");
	if (inm != NULL && ui_etag_matches(inm, etag)) {
		close(fd);
		api_reply_empty(req, 304);
		return;
	}

	data = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (data == NULL) {
		close(fd);
		api_reply_problem(req, 500, "out of memory");
		return;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* error, or the file shrank: serve nothing rather than a torn file */
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)st.st_size) {
		free(data);
		ui_problem(req, 500, "could not read the file");
		return;
	}
	api_reply_bytes_take(req, 200, ui_content_type(real), data, got);
}
