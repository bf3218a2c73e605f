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

/* ------------------------------------------------------------------------------------------ */
/* Request -> environment                                                                     */

/* Length of s, or SIZE_MAX when it holds a control character (DEL included; HTAB allowed in
 * header values): every string is scanned once, for both the check and its length. */
static size_t ctl_len(const char *s, bool allow_tab)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++)
		if ((*p < 0x20 && !(*p == '\t' && allow_tab)) || *p == 0x7f)
			return SIZE_MAX;
	return (size_t)(p - (const unsigned char *)s);
}

/* A header becomes HTTP_<NAME> only when its name is letters, digits and '-' (see cgi.h). */
static bool header_passes(const char *name, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
	}
	return !(n == 12 && strcasecmp(name, "Content-Type") == 0) &&
	       !(n == 14 && strcasecmp(name, "Content-Length") == 0) &&
	       !(n == 5 && strcasecmp(name, "Proxy") == 0);
}

static int hex_val(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes the n bytes of s into dst (when dst is not NULL; it needs n bytes) and returns
 * the decoded length, or SIZE_MAX when a %HH decodes to a control character (%00, %0A...): the
 * result goes into the environment, where it must not carry one. A '%' not followed by two hex
 * digits stays as it is, as servers commonly do with malformed escapes. PATH_INFO is decoded,
 * as RFC 3875 section 4.1.5 and WAGI have it; REQUEST_URI keeps the raw form. */
static size_t pct_decode(char *dst, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		int hi, lo;
		if (c == '%' && i + 2 < n && (hi = hex_val((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_val((unsigned char)s[i + 2])) >= 0) {
			c = (unsigned char)(hi << 4 | lo);
			if (c < 0x20 || c == 0x7f)
				return SIZE_MAX;
			i += 2;
		}
		if (dst != NULL)
			dst[o] = (char)c;
		o++;
	}
	return o;
}

/* Case-insensitive FNV-1a of a header name: repeated names are found by comparing hashes first,
 * so a request with many headers costs n^2 integer compares, not n^2 string compares. */
static uint32_t name_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32u : c)) * 16777619u;
	}
	return h;
}

/* What cgi_env_build learnt about each request header while checking it. */
struct hdr_info {
	uint32_t hash;     /* name_hash */
	uint32_t name_len;
	size_t value_len;
	bool emit;         /* starts an HTTP_ variable (passes, first of its name) */
};

static bool same_name(const struct cgi_header *h, const struct hdr_info *hi, size_t i, size_t j)
{
	return hi[i].hash == hi[j].hash && hi[i].name_len == hi[j].name_len &&
	       strcasecmp(h[i].name, h[j].name) == 0;
}

/* A fixed variable: key and value with their lengths. */
struct kv {
	const char *k;
	size_t kl;
	const char *v;
	size_t vl;     /* length in the environment (decoded length when decode is set) */
	size_t raw_len; /* length of v itself when decode is set */
	bool decode;   /* percent-decode v while copying it */
};

#define KV(key, val, len) ((struct kv){key, sizeof key - 1, val, len, 0, false})

int cgi_env_build(const struct cgi_request *req, char ***out_envp, char *err, size_t errlen)
{
	struct hdr_info hi[CGI_MAX_REQUEST_HEADERS];
	struct kv fixed[16];
	size_t nf = 0, nvec = 0, bytes = 0;
	char clen[24];

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
	if (req->n_headers > CGI_MAX_REQUEST_HEADERS) {
		set_err(err, errlen, "more than %d request headers", CGI_MAX_REQUEST_HEADERS);
		return CGI_E_INVALID;
	}

	/* Strings that end up in the environment must not carry line breaks or other controls:
	 * a handler that logs them, or echoes them into its response headers, would be injectable. */
	const char *content_type = req->content_type;
	size_t ct_len = 0;
	for (size_t i = 0; i < req->n_headers; i++) {
		const struct cgi_header *h = &req->headers[i];
		size_t nl = h->name ? strlen(h->name) : 0;
		size_t vl = h->value ? ctl_len(h->value, true) : 0;
		if (vl == SIZE_MAX) {
			set_err(err, errlen, "control character in header %.64s",
				h->name ? h->name : "");
			return CGI_E_INVALID;
		}
		hi[i] = (struct hdr_info){.hash = name_hash(h->name, nl), .name_len = (uint32_t)nl,
					  .value_len = vl, .emit = header_passes(h->name, nl)};
		if (content_type == NULL && nl == 12 && strcasecmp(h->name, "Content-Type") == 0)
			content_type = h->value;
		/* A repeated name is emitted once, at its first position, values joined. */
		for (size_t j = 0; j < i && hi[i].emit; j++)
			if (same_name(req->headers, hi, i, j))
				hi[i].emit = false;
	}
	if (content_type != NULL && (ct_len = ctl_len(content_type, true)) == SIZE_MAX) {
		set_err(err, errlen, "control character in the content type");
		return CGI_E_INVALID;
	}

	const char *query = req->query ? req->query : "";
	const char *sname = req->server_name ? req->server_name : "localhost";
	const char *sport = req->server_port ? req->server_port : "80";
	size_t path_len = ctl_len(req->path, false), query_len = ctl_len(query, false);
	size_t sname_len = ctl_len(sname, false), sport_len = ctl_len(sport, false);
	size_t raddr_len = req->remote_addr ? ctl_len(req->remote_addr, false) : 0;
	size_t route_len = req->matched_route ? ctl_len(req->matched_route, false) : 0;
	size_t pop_len = req->pop ? ctl_len(req->pop, false) : 0;
	if ((path_len | query_len | sname_len | sport_len | raddr_len | route_len | pop_len) ==
	    SIZE_MAX) {
		set_err(err, errlen, "control character in a request field");
		return CGI_E_INVALID;
	}
	/* CONTENT_LENGTH digits, written backwards (snprintf costs more than the rest). */
	char *cl = clen + sizeof clen - 1;
	size_t n = req->content_length;
	*cl = '\0';
	do {
		*--cl = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);

	fixed[nf++] = KV("GATEWAY_INTERFACE", "CGI/1.1", 7);
	fixed[nf++] = KV("SERVER_PROTOCOL", "HTTP/1.1", 8);
	fixed[nf++] = KV("SERVER_SOFTWARE", "Edgeplane", 9);
	fixed[nf++] = KV("REQUEST_METHOD", req->method, strlen(req->method));
	fixed[nf++] = KV("SCRIPT_NAME", "", 0);
	size_t dpath_len = pct_decode(NULL, req->path, path_len);
	if (dpath_len == SIZE_MAX) {
		set_err(err, errlen, "the path escapes a control character");
		return CGI_E_INVALID;
	}
	fixed[nf++] = (struct kv){"PATH_INFO", 9, req->path, dpath_len, path_len, true};
	fixed[nf++] = KV("QUERY_STRING", query, query_len);
	fixed[nf++] = KV("SERVER_NAME", sname, sname_len);
	fixed[nf++] = KV("SERVER_PORT", sport, sport_len);
	if (req->remote_addr)
		fixed[nf++] = KV("REMOTE_ADDR", req->remote_addr, raddr_len);
	if (content_type)
		fixed[nf++] = KV("CONTENT_TYPE", content_type, ct_len);
	fixed[nf++] = KV("CONTENT_LENGTH", cl, (size_t)(clen + sizeof clen - 1 - cl));
	if (req->matched_route)
		fixed[nf++] = KV("X_MATCHED_ROUTE", req->matched_route, route_len);
	if (req->pop)
		fixed[nf++] = KV("X_EDGEPLANE_POP", req->pop, pop_len);

	/* Sizes: fixed variables, REQUEST_URI (path plus "?query" when there is one), headers
	 * (HTTP_ + name + '=' + values joined by ", "), extra entries; each with its NUL. */
	for (size_t i = 0; i < nf; i++)
		bytes += fixed[i].kl + 1 + fixed[i].vl + 1;
	nvec = nf + 1;
	bytes += 12 + path_len + (query_len ? 1 + query_len : 0) + 1;
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!hi[i].emit)
			continue;
		nvec++;
		bytes += 5 + hi[i].name_len + 1 + hi[i].value_len + 1;
		for (size_t j = i + 1; j < req->n_headers; j++)
			if (same_name(req->headers, hi, i, j))
				bytes += 2 + hi[j].value_len;
	}
	if (req->extra_env != NULL)
		for (const char *const *e = req->extra_env; *e; e++) {
			if (strchr(*e, '=') == NULL || **e == '=') {
				set_err(err, errlen, "extra environment entry is not K=V");
				return CGI_E_INVALID;
			}
			nvec++;
			bytes += strlen(*e) + 1;
		}

	/* One allocation: [pointer array | strings]. */
	size_t vec_bytes = (nvec + 1) * sizeof(char *);
	char *mem = malloc(vec_bytes + bytes);
	if (mem == NULL) {
		set_err(err, errlen, "out of memory");
		return CGI_E_NOMEM;
	}
	char **vec = (char **)(void *)mem, *d = mem + vec_bytes;
	size_t k = 0;
#define PUT(src, len) (memcpy(d, (src), (len)), d += (len))
	for (size_t i = 0; i < nf; i++) {
		vec[k++] = d;
		PUT(fixed[i].k, fixed[i].kl);
		*d++ = '=';
		if (fixed[i].decode)
			d += pct_decode(d, fixed[i].v, fixed[i].raw_len);
		else
			PUT(fixed[i].v, fixed[i].vl);
		*d++ = '\0';
	}
	vec[k++] = d;
	PUT("REQUEST_URI=", 12);
	PUT(req->path, path_len);
	if (query_len) {
		*d++ = '?';
		PUT(query, query_len);
	}
	*d++ = '\0';
	for (size_t i = 0; i < req->n_headers; i++) {
		if (!hi[i].emit)
			continue;
		const char *name = req->headers[i].name;
		vec[k++] = d;
		PUT("HTTP_", 5);
		for (size_t c = 0; c < hi[i].name_len; c++) {
			char ch = name[c];
			*d++ = ch == '-' ? '_' : (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
		}
		*d++ = '=';
		if (hi[i].value_len)
			PUT(req->headers[i].value, hi[i].value_len);
		for (size_t j = i + 1; j < req->n_headers; j++)
			if (same_name(req->headers, hi, i, j)) {
				PUT(", ", 2);
				if (hi[j].value_len)
					PUT(req->headers[j].value, hi[j].value_len);
			}
		*d++ = '\0';
	}
	if (req->extra_env != NULL)
		for (const char *const *e = req->extra_env; *e; e++) {
			size_t el = strlen(*e) + 1;
			vec[k++] = d;
			PUT(*e, el);
		}
#undef PUT
	vec[k] = NULL;
	*out_envp = vec;
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
