/* runtime/cgi.c: the CGI Handler ABI (DESIGN.md "Handler ABI"; RFC 3875 sections 4 and 6).
 * cgi_env_build lays the whole environment out in one allocation (it runs once per request);
 * cgi_parse reads the handler's header section and points at the body without copying it. */
#include "runtime/cgi.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool is_tchar(unsigned char c);
static bool ctl_free(const char *s, bool allow_tab);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* RFC 9110 5.6.2 token characters: what a header field name or a method may contain. */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* True when s has no control characters (DEL included); HTAB is allowed in header values. */
static bool ctl_free(const char *s, bool allow_tab)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\t' && allow_tab)
			continue;
		if (*p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Request -> environment                                                                     */

/* A header becomes HTTP_<NAME> only when its name is letters, digits and '-' (see cgi.h). */
static bool header_passes(const char *name)
{
	if (name == NULL || *name == '\0')
		return false;
	for (const char *p = name; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return strcasecmp(name, "Content-Type") != 0 && strcasecmp(name, "Content-Length") != 0 &&
	       strcasecmp(name, "Proxy") != 0;
}

/* Index of the first header with the same name as headers[i] (case-insensitive), i if none:
 * repeated headers are emitted once, at their first position, with the values joined. */
static size_t first_of_name(const struct cgi_header *h, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (h[j].name != NULL && strcasecmp(h[j].name, h[i].name) == 0)
			return j;
	return i;
}

/* The writer used by both passes of cgi_env_build: with base == NULL it only counts. */
struct env_writer {
	char **vec;   /* pointer slots (NULL while counting) */
	char *base;   /* string area (NULL while counting) */
	size_t nvec;  /* entries written/counted */
	size_t bytes; /* string bytes written/counted, NULs included */
};

static void ew_begin(struct env_writer *w)
{
	if (w->vec != NULL)
		w->vec[w->nvec] = w->base + w->bytes;
	w->nvec++;
}

static void ew_put(struct env_writer *w, const char *s, size_t n)
{
	if (w->base != NULL)
		memcpy(w->base + w->bytes, s, n);
	w->bytes += n;
}

static void ew_end(struct env_writer *w)
{
	if (w->base != NULL)
		w->base[w->bytes] = '\0';
	w->bytes++;
}

/* Adds "K=V" (V may be NULL: skipped unless dflt is given). */
static void ew_kv(struct env_writer *w, const char *k, const char *v, const char *dflt)
{
	if (v == NULL)
		v = dflt;
	if (v == NULL)
		return;
	ew_begin(w);
	ew_put(w, k, strlen(k));
	ew_put(w, "=", 1);
	ew_put(w, v, strlen(v));
	ew_end(w);
}

/* Adds an entry already in "K=V" form. */
static void ew_raw(struct env_writer *w, const char *kv)
{
	ew_begin(w);
	ew_put(w, kv, strlen(kv));
	ew_end(w);
}

/* Adds HTTP_<NAME>=<value>[, <value>...] for the header at index i and its repeats after it. */
static void ew_header(struct env_writer *w, const struct cgi_request *req, size_t i)
{
	const char *name = req->headers[i].name;
	size_t nlen = strlen(name);

	ew_begin(w);
	ew_put(w, "HTTP_", 5);
	if (w->base != NULL) {
		char *d = w->base + w->bytes;
		for (size_t k = 0; k < nlen; k++) {
			char c = name[k];
			d[k] = c == '-' ? '_' : (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
		}
	}
	w->bytes += nlen;
	ew_put(w, "=", 1);
	bool first = true;
	for (size_t j = i; j < req->n_headers; j++) {
		if (j != i && (req->headers[j].name == NULL ||
			       strcasecmp(req->headers[j].name, name) != 0))
			continue;
		const char *v = req->headers[j].value ? req->headers[j].value : "";
		if (!first)
			ew_put(w, ", ", 2);
		ew_put(w, v, strlen(v));
		first = false;
	}
	ew_end(w);
}

/* Writes every variable (see cgi.h for the list and order). */
static void ew_all(struct env_writer *w, const struct cgi_request *req, const char *clen,
		   const char *content_type)
{
	const char *query = req->query ? req->query : "";

	ew_kv(w, "GATEWAY_INTERFACE", "CGI/1.1", NULL);
	ew_kv(w, "SERVER_PROTOCOL", "HTTP/1.1", NULL);
	ew_kv(w, "SERVER_SOFTWARE", "Edgeplane", NULL);
	ew_kv(w, "REQUEST_METHOD", req->method, NULL);
	ew_kv(w, "SCRIPT_NAME", "", NULL);
	ew_kv(w, "PATH_INFO", req->path, NULL);
	ew_kv(w, "QUERY_STRING", query, NULL);
	/* REQUEST_URI: path plus "?query" when there is one (what most CGI code expects). */
	ew_begin(w);
	ew_put(w, "REQUEST_URI=", 12);
	ew_put(w, req->path, strlen(req->path));
	if (*query) {
		ew_put(w, "?", 1);
		ew_put(w, query, strlen(query));
	}
	ew_end(w);
	ew_kv(w, "SERVER_NAME", req->server_name, "localhost");
	ew_kv(w, "SERVER_PORT", req->server_port, "80");
	ew_kv(w, "REMOTE_ADDR", req->remote_addr, NULL);
	ew_kv(w, "CONTENT_TYPE", content_type, NULL);
	ew_kv(w, "CONTENT_LENGTH", clen, NULL);
	ew_kv(w, "X_MATCHED_ROUTE", req->matched_route, NULL);
	ew_kv(w, "X_EDGEPLANE_POP", req->pop, NULL);
	for (size_t i = 0; i < req->n_headers; i++)
		if (header_passes(req->headers[i].name) && first_of_name(req->headers, i) == i)
			ew_header(w, req, i);
	if (req->extra_env != NULL)
		for (const char *const *e = req->extra_env; *e; e++)
			ew_raw(w, *e);
}

int cgi_env_build(const struct cgi_request *req, char ***out_envp, char *err, size_t errlen)
{
	char clen[24];
	const char *content_type;
	struct env_writer w = {0};

	*out_envp = NULL;
	if (req == NULL || req->method == NULL || req->path == NULL || *req->method == '\0') {
		set_err(err, errlen, "request needs a method and a path");
		return CGI_E_INVALID;
	}
	for (const char *p = req->method; *p; p++)
		if (!is_tchar((unsigned char)*p)) {
			set_err(err, errlen, "invalid request method");
			return CGI_E_INVALID;
		}
	/* Strings that end up in the environment must not carry line breaks or other controls:
	 * a handler that logs them, or echoes them into its response headers, would be injectable. */
	const char *plain[] = {req->path, req->query, req->server_name, req->server_port,
			       req->remote_addr, req->matched_route, req->pop, req->content_type};
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (plain[i] != NULL && !ctl_free(plain[i], false)) {
			set_err(err, errlen, "control character in a request field");
			return CGI_E_INVALID;
		}
	content_type = req->content_type;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct cgi_header *h = &req->headers[i];
		if (h->name == NULL)
			continue;
		if (h->value != NULL && !ctl_free(h->value, true)) {
			set_err(err, errlen, "control character in header %.64s", h->name);
			return CGI_E_INVALID;
		}
		if (content_type == NULL && strcasecmp(h->name, "Content-Type") == 0)
			content_type = h->value;
	}
	if (req->extra_env != NULL)
		for (const char *const *e = req->extra_env; *e; e++)
			if (strchr(*e, '=') == NULL || **e == '=') {
				set_err(err, errlen, "extra environment entry is not K=V");
				return CGI_E_INVALID;
			}
	snprintf(clen, sizeof clen, "%zu", req->content_length);

	/* Pass 1 counts, pass 2 writes into [pointer array | strings]. */
	ew_all(&w, req, clen, content_type);
	size_t nvec = w.nvec, bytes = w.bytes;
	size_t vec_bytes = (nvec + 1) * sizeof(char *);
	char *mem = malloc(vec_bytes + bytes);
	if (mem == NULL) {
		set_err(err, errlen, "out of memory");
		return CGI_E_NOMEM;
	}
	w = (struct env_writer){.vec = (char **)(void *)mem, .base = mem + vec_bytes};
	ew_all(&w, req, clen, content_type);
	w.vec[w.nvec] = NULL;
	*out_envp = w.vec;
	return CGI_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Handler output -> response                                                                 */

/* Headers the server owns: framing and hop-by-hop (RFC 9110 7.6.1). */
static bool dropped_header(const char *name, size_t n)
{
	static const char *const names[] = {"Connection", "Keep-Alive", "Transfer-Encoding",
					    "Content-Length", "Upgrade", "TE", "Trailer",
					    "Proxy-Connection"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i]) == n && strncasecmp(names[i], name, n) == 0)
			return true;
	return false;
}

static bool name_is(const char *name, size_t n, const char *want)
{
	return strlen(want) == n && strncasecmp(name, want, n) == 0;
}

/* One header line split into its parts (pointers into the handler's output). */
struct line {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Parses "Status: NNN reason": 3 digits in 100..599, then optional SP + reason. */
static bool parse_status(const char *v, size_t n, int *status, const char **reason,
			 size_t *reason_len)
{
	if (n < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' || v[2] < '0' ||
	    v[2] > '9')
		return false;
	if (n > 3 && v[3] != ' ' && v[3] != '\t')
		return false;
	*status = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
	size_t i = 3;
	while (i < n && (v[i] == ' ' || v[i] == '\t'))
		i++;
	*reason = v + i;
	*reason_len = n - i;
	return true;
}

int cgi_parse(const uint8_t *buf, size_t len, struct cgi_response *out, char *err, size_t errlen)
{
	struct line lines[CGI_MAX_HEADERS + 1];
	size_t nlines = 0, pos = 0, body_at = 0, kept = 0, str_bytes = 0;
	bool ended = false;
	int status = 0;
	const char *reason = NULL;
	size_t reason_len = 0;
	const char *s = (const char *)buf;

	memset(out, 0, sizeof *out);
	if (len == 0) {
		set_err(err, errlen, "handler wrote nothing to stdout");
		return CGI_E_MALFORMED;
	}
	/* Pass 1: find the lines of the header section and check each (no allocation). */
	/* The header section is searched only within its size limit, so a huge body written
	 * without any blank line costs no more than CGI_MAX_HEADER_BYTES to reject. */
	size_t limit = len < CGI_MAX_HEADER_BYTES ? len : CGI_MAX_HEADER_BYTES;
	while (pos < limit) {
		const char *nl = memchr(s + pos, '\n', limit - pos);
		if (nl == NULL) {
			if (limit < len) {
				set_err(err, errlen, "header section longer than %d bytes",
					CGI_MAX_HEADER_BYTES);
				return CGI_E_MALFORMED;
			}
			break;
		}
		size_t end = (size_t)(nl - s), next = end + 1;
		if (end > pos && s[end - 1] == '\r')
			end--;
		if (end == pos) { /* the empty line that ends the header section */
			ended = true;
			body_at = next;
			break;
		}
		if (s[pos] == ' ' || s[pos] == '\t') {
			set_err(err, errlen, "folded header line at byte %zu", pos);
			return CGI_E_MALFORMED;
		}
		const char *colon = memchr(s + pos, ':', end - pos);
		if (colon == NULL) {
			set_err(err, errlen, "header line without ':' at byte %zu", pos);
			return CGI_E_MALFORMED;
		}
		struct line l = {.name = s + pos, .name_len = (size_t)(colon - (s + pos))};
		if (l.name_len == 0) {
			set_err(err, errlen, "empty header name at byte %zu", pos);
			return CGI_E_MALFORMED;
		}
		for (size_t i = 0; i < l.name_len; i++)
			if (!is_tchar((unsigned char)l.name[i])) {
				set_err(err, errlen, "invalid character in header name at byte %zu",
					pos + i);
				return CGI_E_MALFORMED;
			}
		size_t vs = (size_t)(colon - s) + 1, ve = end;
		for (size_t i = vs; i < ve; i++) {
			unsigned char c = (unsigned char)s[i];
			if ((c < 0x20 && c != '\t') || c == 0x7f) {
				set_err(err, errlen, "control character in header value at byte %zu",
					i);
				return CGI_E_MALFORMED;
			}
		}
		while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
			vs++;
		while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
			ve--;
		l.value = s + vs;
		l.value_len = ve - vs;
		if (nlines == CGI_MAX_HEADERS) {
			set_err(err, errlen, "more than %d header lines", CGI_MAX_HEADERS);
			return CGI_E_MALFORMED;
		}
		lines[nlines++] = l;
		pos = next;
	}
	if (!ended) {
		set_err(err, errlen, "no blank line after the CGI headers");
		return CGI_E_MALFORMED;
	}

	/* Pass 2: interpret the CGI fields; count what we keep. */
	bool has_ct = false, has_loc = false, has_status = false;
	for (size_t i = 0; i < nlines; i++) {
		struct line *l = &lines[i];
		if (name_is(l->name, l->name_len, "Status")) {
			if (has_status) {
				set_err(err, errlen, "repeated Status header");
				return CGI_E_MALFORMED;
			}
			if (!parse_status(l->value, l->value_len, &status, &reason, &reason_len)) {
				set_err(err, errlen, "invalid Status: %.*s",
					(int)(l->value_len > 40 ? 40 : l->value_len), l->value);
				return CGI_E_MALFORMED;
			}
			has_status = true;
			continue;
		}
		if (name_is(l->name, l->name_len, "Content-Type")) {
			if (has_ct) {
				set_err(err, errlen, "repeated Content-Type header");
				return CGI_E_MALFORMED;
			}
			has_ct = true;
		} else if (name_is(l->name, l->name_len, "Location")) {
			if (has_loc) {
				set_err(err, errlen, "repeated Location header");
				return CGI_E_MALFORMED;
			}
			if (l->value_len == 0) {
				set_err(err, errlen, "empty Location header");
				return CGI_E_MALFORMED;
			}
			has_loc = true;
		} else if (dropped_header(l->name, l->name_len)) {
			l->name = NULL; /* marks "skip" */
			continue;
		}
		kept++;
		str_bytes += l->name_len + 1 + l->value_len + 1;
	}
	if (!has_status && !has_ct && !has_loc) {
		set_err(err, errlen, "no Status, Content-Type or Location header");
		return CGI_E_MALFORMED;
	}
	if (!has_status)
		status = has_loc ? 302 : 200;
	if (reason_len == 0) {
		reason = cgi_reason_phrase(status);
		reason_len = strlen(reason);
	}
	str_bytes += reason_len + 1;

	/* One allocation: [header array | strings]. */
	size_t arr = kept * sizeof(struct cgi_resp_header);
	char *mem = malloc(arr + str_bytes);
	if (mem == NULL) {
		set_err(err, errlen, "out of memory");
		return CGI_E_NOMEM;
	}
	struct cgi_resp_header *hs = (struct cgi_resp_header *)(void *)mem;
	char *sp = mem + arr;
	size_t k = 0;
	for (size_t i = 0; i < nlines; i++) {
		struct line *l = &lines[i];
		if (l->name == NULL || name_is(l->name, l->name_len, "Status"))
			continue;
		hs[k].name = sp;
		memcpy(sp, l->name, l->name_len);
		sp[l->name_len] = '\0';
		sp += l->name_len + 1;
		hs[k].value = sp;
		memcpy(sp, l->value, l->value_len);
		sp[l->value_len] = '\0';
		sp += l->value_len + 1;
		if (name_is(l->name, l->name_len, "Content-Type"))
			out->content_type = hs[k].value;
		else if (name_is(l->name, l->name_len, "Location"))
			out->location = hs[k].value;
		k++;
	}
	memcpy(sp, reason, reason_len);
	sp[reason_len] = '\0';
	out->reason = sp;
	out->status = status;
	out->headers = kept ? hs : NULL;
	out->n_headers = kept;
	out->body = buf + body_at;
	out->body_len = len - body_at;
	out->mem_ = mem;
	return CGI_OK;
}

void cgi_response_free(struct cgi_response *resp)
{
	if (resp == NULL)
		return;
	free(resp->mem_);
	memset(resp, 0, sizeof *resp);
}

const char *cgi_reason_phrase(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 203: return "Non-Authoritative Information";
	case 204: return "No Content";
	case 205: return "Reset Content";
	case 206: return "Partial Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 417: return "Expectation Failed";
	case 418: return "I'm a teapot";
	case 421: return "Misdirected Request";
	case 422: return "Unprocessable Content";
	case 425: return "Too Early";
	case 426: return "Upgrade Required";
	case 428: return "Precondition Required";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 451: return "Unavailable For Legal Reasons";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
