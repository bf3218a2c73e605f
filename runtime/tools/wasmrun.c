/* wasmrun: runs a WASI command module under Edgeplane's runtime (DESIGN.md "Programs").
 *   wasmrun [--fuel N] [--max-memory-mb N] [--timeout-ms N] [--env K=V]... [--cgi] MODULE.wasm [ARGS...]
 * Plain mode streams the guest's stdin/stdout/stderr and exits with its exit code; a trap or a
 * limit prints "wasmrun: <kind>: <message>" on stderr and exits 134. --cgi reads one raw HTTP/1.1
 * request on stdin, runs the module as a CGI handler (DESIGN.md "Handler ABI") and prints the
 * HTTP response (500 for a trap, a limit or malformed output, 504 for the deadline; exit 1). Bad
 * usage, an unreadable or invalid module: exit 2. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "runtime/cgi.h"
#include "runtime/handler.h"
#include "runtime/wasi.h"
#include "runtime/wasm.h"

#define EXIT_TRAP 134
#define EXIT_USAGE 2
#define MAX_ENV 256
#define MAX_REQUEST_HEADERS 100

struct opts {
	struct rt_limits lim;
	const char *env[MAX_ENV + 1];
	size_t nenv;
	bool cgi;
	const char *module;
	char **args; /* guest arguments after the module, NULL-terminated */
};

static void usage(FILE *f)
{
	fputs("usage: wasmrun [--fuel N] [--max-memory-mb N] [--timeout-ms N] [--env K=V]... "
	      "[--cgi] MODULE.wasm [ARGS...]\n"
	      "  --fuel N           stop the guest after about N instructions\n"
	      "  --max-memory-mb N  cap the guest's linear memory at N MiB\n"
	      "  --timeout-ms N     stop the guest after N ms of wall-clock time\n"
	      "  --env K=V          add K=V to the guest's environment (repeatable)\n"
	      "  --cgi              read an HTTP/1.1 request on stdin, run MODULE as a CGI handler,\n"
	      "                     print the HTTP response\n"
	      "exit status: the guest's; 134 after a trap or limit; 2 for usage or module errors\n",
	      f);
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	int i = 1;
	uint64_t v;

	memset(o, 0, sizeof *o);
	for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		const char *eq = strchr(a, '=');
		char name[32];
		bool inline_val = false;
		/* "--fuel=N" means "--fuel N", as with every GNU-style tool. */
		if (eq != NULL && (size_t)(eq - a) < sizeof name) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			a = name;
			val = eq + 1;
			inline_val = true;
		}
		if (inline_val && (strcmp(a, "--cgi") == 0 || strcmp(a, "--help") == 0)) {
			fprintf(stderr, "wasmrun: %s takes no value\n", a);
			return -1;
		}
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		} else if (strcmp(a, "--help") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--cgi") == 0) {
			o->cgi = true;
			continue;
		} else if (strcmp(a, "--fuel") == 0) {
			/* 0 would mean "no limit" to the engine, which is not what --fuel 0 asks for */
			if (!parse_u64(val, UINT64_MAX, &v) || v == 0)
				goto bad;
			o->lim.fuel = v;
		} else if (strcmp(a, "--max-memory-mb") == 0) {
			if (!parse_u64(val, 65536, &v) || v == 0)
				goto bad;
			o->lim.max_memory_bytes = v << 20;
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (!parse_u64(val, UINT32_MAX, &v) || v == 0)
				goto bad;
			o->lim.timeout_ms = (uint32_t)v;
		} else if (strcmp(a, "--env") == 0) {
			if (val == NULL || strchr(val, '=') == NULL || val[0] == '=') {
				fprintf(stderr, "wasmrun: --env wants K=V\n");
				return -1;
			}
			if (o->nenv == MAX_ENV) {
				fprintf(stderr, "wasmrun: more than %d --env\n", MAX_ENV);
				return -1;
			}
			o->env[o->nenv++] = val;
		} else {
			fprintf(stderr, "wasmrun: unknown option %s\n", a);
			return -1;
		}
		if (!inline_val)
			i++; /* the option's value */
		continue;
bad:
		fprintf(stderr, "wasmrun: %s needs a positive integer, got %s\n", a,
			val ? val : "nothing");
		return -1;
	}
	if (i >= argc) {
		fprintf(stderr, "wasmrun: no module given\n");
		return -1;
	}
	o->module = argv[i];
	o->args = argv + i; /* argv[0] of the guest is the module path */
	return 0;
}

/* Reads all of fd into a malloc'ed buffer (NUL-terminated for convenience); NULL on error. */
static uint8_t *read_all(int fd, size_t *len)
{
	size_t cap = 65536, n = 0;
	uint8_t *b = malloc(cap + 1);

	if (b == NULL)
		return NULL;
	for (;;) {
		if (n == cap) {
			uint8_t *nb = cap > SIZE_MAX / 4 ? NULL : realloc(b, cap * 2 + 1);
			if (nb == NULL) {
				free(b);
				errno = ENOMEM;
				return NULL;
			}
			b = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	b[n] = 0;
	*len = n;
	return b;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *s = p;

	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Streaming I/O for plain mode: the guest's stdio are ours. */
static long io_read(void *arg, uint8_t *dst, size_t n)
{
	(void)arg;
	for (;;) {
		ssize_t r = read(0, dst, n);
		if (r < 0 && errno == EINTR)
			continue;
		return (long)r;
	}
}

static int io_write(void *arg, int fd, const uint8_t *src, size_t n)
{
	(void)arg;
	return write_all(fd, src, n);
}

static wasm_module *load_module(const char *path)
{
	FILE *f = fopen(path, "rb");
	char err[512];

	if (f == NULL) {
		fprintf(stderr, "wasmrun: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t len;
	uint8_t *bytes = read_all(fileno(f), &len);
	int e = errno;
	fclose(f);
	if (bytes == NULL) {
		fprintf(stderr, "wasmrun: %s: %s\n", path, strerror(e));
		return NULL;
	}
	wasm_module *m = wasm_module_load(bytes, len, err, sizeof err);
	free(bytes);
	if (m == NULL)
		fprintf(stderr, "wasmrun: %s: %s\n", path, err);
	return m;
}

static int run_plain(const wasm_module *m, const struct opts *o)
{
	struct wasi_ctx ctx;
	struct rt_result res;

	wasi_ctx_init(&ctx, (const char *const *)o->args, o->env, NULL, 0, 0, 0);
	ctx.read_fn = io_read;
	ctx.write_fn = io_write;
	rt_run_wasi(m, &ctx, &o->lim, &res);
	wasi_ctx_release(&ctx);
	if (res.outcome == RT_OK)
		return res.exit_code & 0xff;
	fprintf(stderr, "wasmrun: %s: %s\n", rt_outcome_name(res.outcome), res.message);
	return res.outcome == RT_ERROR ? EXIT_USAGE : EXIT_TRAP;
}

/* ---- --cgi --------------------------------------------------------------------------------- */

struct http_req {
	char *method, *target, *path, *query, *host, *port;
	struct cgi_header headers[MAX_REQUEST_HEADERS];
	size_t n_headers;
	const uint8_t *body;
	size_t body_len;
	bool head;
};

static void trim(char **s, char *end)
{
	while (**s == ' ' || **s == '\t')
		(*s)++;
	while (end > *s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
}

/* Decodes a chunked body (RFC 9112 7.1) in place: the data of every chunk moved to the front
 * of p, its length in *out. Chunk extensions and trailer fields are read and dropped; the
 * decoded bytes are never more than the encoded ones, so the moves stay inside p. 0, or -1
 * with a reason. */
static int dechunk(char *p, size_t avail, size_t *out, const char **why)
{
	char *end = p + avail, *rd = p, *wr = p;

	for (;;) {
		char *eol = memchr(rd, '\n', (size_t)(end - rd));
		size_t size = 0;
		int digits = 0;
		if (eol == NULL) {
			*why = "chunked body: unterminated chunk size line";
			return -1;
		}
		for (; rd < eol && isxdigit((unsigned char)*rd); rd++, digits++) {
			if (size > (SIZE_MAX >> 4)) {
				*why = "chunked body: chunk size too large";
				return -1;
			}
			size = size << 4 | (size_t)(isdigit((unsigned char)*rd) ? *rd - '0'
									: (*rd | 0x20) - 'a' + 10);
		}
		if (digits == 0 || (rd < eol && *rd != ';' && *rd != '\r' && *rd != ' ' && *rd != '\t')) {
			*why = "chunked body: malformed chunk size";
			return -1;
		}
		rd = eol + 1;
		if (size == 0)
			break;
		if (size > (size_t)(end - rd)) {
			*why = "chunked body shorter than its chunk sizes";
			return -1;
		}
		memmove(wr, rd, size);
		wr += size;
		rd += size;
		if (rd < end && *rd == '\r')
			rd++;
		if (rd >= end || *rd != '\n') {
			*why = "chunked body: chunk data not followed by CRLF";
			return -1;
		}
		rd++;
	}
	/* trailer fields up to the blank line */
	for (;;) {
		char *eol = memchr(rd, '\n', (size_t)(end - rd));
		if (eol == NULL) {
			*why = "chunked body: no blank line after the last chunk";
			return -1;
		}
		bool blank = eol == rd || (eol == rd + 1 && *rd == '\r');
		rd = eol + 1;
		if (blank)
			break;
	}
	*out = (size_t)(wr - p);
	return 0;
}

/* Parses a raw HTTP/1.1 request in place (buf is NUL-terminated). 0, or -1 with a reason. */
static int parse_http(char *buf, size_t len, struct http_req *r, const char **why)
{
	char *p = buf, *end = buf + len;

	memset(r, 0, sizeof *r);
	char *eol = memchr(p, '\n', len);
	if (eol == NULL) {
		*why = "no request line";
		return -1;
	}
	*eol = '\0';
	if (eol > p && eol[-1] == '\r')
		eol[-1] = '\0';
	r->method = strtok(p, " ");
	r->target = strtok(NULL, " ");
	char *version = strtok(NULL, " ");
	if (r->method == NULL || r->target == NULL || version == NULL ||
	    strtok(NULL, " ") != NULL || strncmp(version, "HTTP/1.", 7) != 0) {
		*why = "malformed request line";
		return -1;
	}
	p = eol + 1;
	for (;;) {
		if (p >= end) {
			*why = "no blank line after the headers";
			return -1;
		}
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL) {
			*why = "unterminated header line";
			return -1;
		}
		char *le = eol;
		if (le > p && le[-1] == '\r')
			le--;
		*le = '\0';
		if (le == p) {
			p = eol + 1;
			break;
		}
		char *colon = strchr(p, ':');
		if (colon == NULL || colon == p || r->n_headers == MAX_REQUEST_HEADERS) {
			*why = colon ? "too many headers" : "malformed header line";
			return -1;
		}
		*colon = '\0';
		char *v = colon + 1;
		trim(&v, le);
		r->headers[r->n_headers].name = p;
		r->headers[r->n_headers].value = v;
		r->n_headers++;
		p = eol + 1;
	}
	size_t avail = (size_t)(end - p);
	bool chunked = false, has_length = false;
	r->body = (const uint8_t *)p;
	r->body_len = 0;
	for (size_t i = 0; i < r->n_headers; i++) {
		const struct cgi_header *h = &r->headers[i];
		if (strcasecmp(h->name, "Content-Length") == 0) {
			uint64_t n;
			if (!parse_u64(h->value, SIZE_MAX, &n) || n > avail) {
				*why = "bad Content-Length (or body shorter than it)";
				return -1;
			}
			r->body_len = (size_t)n;
			has_length = true;
		} else if (strcasecmp(h->name, "Transfer-Encoding") == 0) {
			if (strcasecmp(h->value, "chunked") != 0) {
				*why = "unsupported Transfer-Encoding (only chunked)";
				return -1;
			}
			chunked = true;
		} else if (strcasecmp(h->name, "Host") == 0 && r->host == NULL) {
			r->host = (char *)h->value;
		}
	}
	if (chunked && has_length) {
		/* RFC 9112 6.3: a request with both is a smuggling attempt more often than not */
		*why = "both Content-Length and Transfer-Encoding";
		return -1;
	}
	if (chunked && dechunk(p, avail, &r->body_len, why) != 0)
		return -1;
	/* Absolute-form target: take the authority as the host. */
	char *t = r->target;
	if (strncasecmp(t, "http://", 7) == 0 || strncasecmp(t, "https://", 8) == 0) {
		char *auth = strstr(t, "//") + 2, *slash = strchr(auth, '/');
		if (r->host == NULL) { /* cut the authority out of the target, in place */
			memmove(t, auth, slash ? (size_t)(slash - auth) : strlen(auth));
			t[slash ? (size_t)(slash - auth) : strlen(auth)] = '\0';
			r->host = t;
		}
		t = slash ? slash : "/";
	}
	if (t[0] != '/' && strcmp(t, "*") != 0) {
		*why = "request target must start with '/'";
		return -1;
	}
	r->path = strdup(t);
	if (r->path == NULL) {
		*why = "out of memory";
		return -1;
	}
	char *q = strchr(r->path, '?');
	if (q != NULL) {
		*q = '\0';
		r->query = q + 1;
	}
	if (r->host != NULL) {
		char *h = strdup(r->host), *colon;
		if (h == NULL) {
			*why = "out of memory";
			return -1;
		}
		/* "[v6]:port" or "name:port" */
		colon = h[0] == '[' ? strstr(h, "]:") : strrchr(h, ':');
		if (colon != NULL) {
			if (h[0] == '[')
				colon++;
			*colon = '\0';
			r->port = colon + 1;
		}
		r->host = h;
	}
	r->head = strcmp(r->method, "HEAD") == 0;
	return 0;
}

static void print_response(int status, const char *reason, const struct cgi_response *cr,
			   const uint8_t *body, size_t body_len, bool head)
{
	printf("HTTP/1.1 %d %s\r\n", status, reason);
	if (cr != NULL)
		for (size_t i = 0; i < cr->n_headers; i++)
			printf("%s: %s\r\n", cr->headers[i].name, cr->headers[i].value);
	else
		printf("Content-Type: text/plain; charset=utf-8\r\n");
	printf("Content-Length: %zu\r\nConnection: close\r\n\r\n", body_len);
	fflush(stdout);
	if (!head)
		write_all(1, body, body_len);
}

static void print_error(int status, const char *text, bool head)
{
	char body[512];
	int n = snprintf(body, sizeof body, "%s\n", text);
	print_response(status, cgi_reason_phrase(status), NULL, (const uint8_t *)body,
		       n < 0 ? 0 : (size_t)n, head);
}

static int run_cgi(const wasm_module *m, const struct opts *o)
{
	size_t len;
	uint8_t *raw = read_all(0, &len);
	struct http_req rq;
	const char *why = "";
	char err[256];
	char **envp = NULL;
	int rc = 1;

	if (raw == NULL) {
		fprintf(stderr, "wasmrun: reading the request: %s\n", strerror(errno));
		return EXIT_USAGE;
	}
	if (parse_http((char *)raw, len, &rq, &why) != 0) {
		fprintf(stderr, "wasmrun: bad HTTP request: %s\n", why);
		print_error(400, why, false);
		free(raw);
		return EXIT_USAGE;
	}
	struct cgi_request cr = {.method = rq.method, .path = rq.path, .query = rq.query,
				 .server_name = rq.host, .server_port = rq.port,
				 .remote_addr = "127.0.0.1", .matched_route = "/",
				 .pop = "local", .content_length = rq.body_len,
				 .headers = rq.headers, .n_headers = rq.n_headers,
				 .extra_env = o->env};
	if (cgi_env_build(&cr, &envp, err, sizeof err) != CGI_OK) {
		fprintf(stderr, "wasmrun: bad HTTP request: %s\n", err);
		print_error(400, err, rq.head);
		rc = EXIT_USAGE;
		goto out;
	}
	struct rt_result res;
	rt_run_command(m, (const char *const *)o->args, (const char *const *)envp, rq.body,
		       rq.body_len, &o->lim, &res);
	if (res.err_len > 0)
		write_all(2, res.err, res.err_len);
	if (res.outcome != RT_OK) {
		int status = res.outcome == RT_TIMEOUT ? 504 : 500;
		fprintf(stderr, "wasmrun: %s: %s\n", rt_outcome_name(res.outcome), res.message);
		print_error(status, res.outcome == RT_TIMEOUT ? "handler timed out"
							      : "handler failed",
			    rq.head);
		rc = res.outcome == RT_ERROR ? EXIT_USAGE : 1;
	} else {
		struct cgi_response resp;
		if (res.exit_code != 0)
			fprintf(stderr, "wasmrun: handler exited with status %d\n", res.exit_code);
		if (cgi_parse(res.out, res.out_len, &resp, err, sizeof err) != CGI_OK) {
			fprintf(stderr, "wasmrun: malformed CGI response: %s\n", err);
			print_error(500, "handler wrote a malformed response", rq.head);
			rc = 1;
		} else {
			print_response(resp.status, resp.reason, &resp, resp.body, resp.body_len,
				       rq.head);
			rc = 0;
		}
		cgi_response_free(&resp);
	}
	rt_result_free(&res);
out:
	free(envp);
	free(rq.path);
	free(rq.host);
	free(raw);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;

	if (parse_args(argc, argv, &o) != 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	wasm_module *m = load_module(o.module);
	if (m == NULL)
		return EXIT_USAGE;
	int rc = o.cgi ? run_cgi(m, &o) : run_plain(m, &o);
	wasm_module_free(m);
	return rc;
}
