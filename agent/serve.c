/* agent/serve.c: the edge listener. Every request is routed by Host and path to a module and
 * runs in a fresh instance under the request limits; the route table is held by reference for
 * the whole request, so a swap in the middle never frees what the request runs. A trap or a
 * limit becomes a 500 (a deadline a 504) with the request id; the agent itself never fails. */
#include "agent/agent.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <strings.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "agent/httpd.h"
#include "agent/routes.h"
#include "agent/stats.h"
#include "common/buf.h"
#include "common/log.h"
#include "runtime/cgi.h"
#include "runtime/handler.h"

/* Handler stderr kept for the log per request. */
#define STDERR_KEEP 4096
/* Room for the CGI header section on top of the response body limit. */
#define HEADER_ROOM (64u * 1024u)

struct req {
	char *uri;          /* raw request target, as received (owned) */
	struct buf body;
	bool too_big;
	bool started;       /* the first call (headers only) has been seen */
	bool answered;      /* a response is queued: later calls only drain */
};

struct hdrs {
	struct cgi_header *v;
	size_t n, cap;
	bool nomem;
};

static struct agt *serve_agent;
static struct MHD_Daemon *serve_daemon;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *r = calloc(1, sizeof(*r));

	(void)cls;
	(void)c;
	if (r != NULL && (r->uri = strdup(uri)) == NULL) {
		free(r);
		r = NULL;
	}
	return r;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
		    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *req_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (r == NULL)
		return;
	free(r->uri);
	buf_free(&r->body);
	free(r);
	*req_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct hdrs *h = cls;

	(void)kind;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 32;
		struct cgi_header *nv = realloc(h->v, cap * sizeof(*nv));
		if (nv == NULL) {
			h->nomem = true;
			return MHD_NO;
		}
		h->v = nv;
		h->cap = cap;
	}
	h->v[h->n].name = key;
	h->v[h->n].value = value ? value : "";
	h->n++;
	return MHD_YES;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A problem+json error answer (edge errors carry the request id in body and header). */
static enum MHD_Result problem(struct MHD_Connection *c, unsigned status, const char *title,
			       const char *detail, const char *rid, const struct agt_module *m)
{
	struct buf b = {0};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char label[160];
	json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", "about:blank", "title", title,
			      "status", (int)status, "detail", detail ? detail : title,
			      "request_id", rid);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (text == NULL || !buf_puts(&b, text)) {
		free(text);
		return MHD_NO;
	}
	free(text);
	resp = MHD_create_response_from_buffer(b.len, b.data, MHD_RESPMEM_MUST_COPY);
	buf_free(&b);
	if (resp == NULL)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
	MHD_add_response_header(resp, "X-Request-Id", rid);
	if (m != NULL) {
		agt_module_label(m, label, sizeof(label));
		MHD_add_response_header(resp, "X-Edgeplane-Version", label);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void free_cb(void *cls)
{
	free(cls);
}

/* Logs the handler's stderr (bounded) with the request's identity. */
static void log_stderr(const struct agt_module *m, const char *rid, const struct rt_result *res)
{
	char line[STDERR_KEEP + 1];
	size_t n;

	if (res->err == NULL || res->err_len == 0)
		return;
	n = res->err_len < STDERR_KEEP ? res->err_len : STDERR_KEEP;
	memcpy(line, res->err, n);
	line[n] = '\0';
	log_info("handler %s/%s@%lld stderr (request %s): %s", m->tenant, m->name,
		 (long long)m->version, rid, line);
}

/* Runs the module of route rt for the request; returns MHD's result, *out_status the status. */
static enum MHD_Result run(struct MHD_Connection *c, struct req *r, const char *method,
			   const char *host, const struct agt_route *rt, const char *pop,
			   const char *rid, unsigned *out_status)
{
	struct agt *a = serve_agent;
	const struct agt_module *m = rt->mod;
	struct hdrs h = {0};
	struct cgi_request cr = {0};
	struct cgi_response cresp = {0};
	struct rt_result res = {0};
	struct rt_limits lim = {0};
	struct MHD_Response *resp;
	const union MHD_ConnectionInfo *ci;
	char **envp = NULL, why[256], addr[64] = "", sname[256], label[160], rid_env[96];
	const char *argv[2] = {m->name, NULL};
	const char *extra[2] = {rid_env, NULL};
	char *q = strchr(r->uri, '?');
	enum MHD_Result ret;
	size_t hn;

	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &h);
	if (h.nomem) {
		free(h.v);
		*out_status = 500;
		return problem(c, 500, "Internal Server Error", "out of memory", rid, m);
	}
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
				  addr, sizeof(addr));
		else if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr,
				  addr, sizeof(addr));
	}
	hn = strcspn(host, ":");
	snprintf(sname, sizeof(sname), "%.*s", (int)hn, host);
	snprintf(rid_env, sizeof(rid_env), "X_REQUEST_ID=%s", rid);
	if (q != NULL)
		*q = '\0'; /* r->uri is now the path; q + 1 the query */
	cr.method = method;
	cr.path = r->uri;
	cr.query = q ? q + 1 : "";
	cr.server_name = sname;
	cr.server_port = host[hn] == ':' ? host + hn + 1 : "80";
	cr.remote_addr = addr;
	cr.matched_route = rt->path;
	cr.pop = pop;
	cr.content_length = r->body.len;
	cr.headers = h.v;
	cr.n_headers = h.n;
	cr.extra_env = extra;
	if (cgi_env_build(&cr, &envp, why, sizeof(why)) != CGI_OK) {
		free(h.v);
		*out_status = 400;
		return problem(c, 400, "Bad Request", why, rid, m);
	}
	free(h.v);

	lim.fuel = a->cfg.fuel;
	lim.timeout_ms = a->cfg.timeout_ms;
	lim.timeout_cpu = true; /* DESIGN: "50 ms CPU": on a busy PoP, waiting is not charged */
	lim.max_memory_bytes = a->cfg.max_memory;
	lim.max_stdout = (size_t)a->cfg.max_response + HEADER_ROOM;
	lim.max_stderr = STDERR_KEEP;
	if (rt_run_command((const wasm_module *)m->wasm, argv, (const char *const *)envp,
			   (const uint8_t *)r->body.data, r->body.len, &lim, &res) != 0) {
		free(envp);
		*out_status = 500;
		return problem(c, 500, "Internal Server Error", "the runtime refused the call", rid, m);
	}
	free(envp);
	log_stderr(m, rid, &res);
	if (res.outcome == RT_TIMEOUT || res.outcome == RT_FUEL) {
		log_warn("request %s: %s/%s@%lld hit its %s limit: %s", rid, m->tenant, m->name,
			 (long long)m->version, rt_outcome_name(res.outcome), res.message);
		rt_result_free(&res);
		*out_status = 504;
		return problem(c, 504, "Gateway Timeout", "the handler ran out of time", rid, m);
	}
	if (res.outcome != RT_OK) {
		log_warn("request %s: %s/%s@%lld failed (%s): %s", rid, m->tenant, m->name,
			 (long long)m->version, rt_outcome_name(res.outcome), res.message);
		snprintf(why, sizeof(why), "the handler failed: %s", rt_outcome_name(res.outcome));
		rt_result_free(&res);
		*out_status = 500;
		return problem(c, 500, "Internal Server Error", why, rid, m);
	}
	if (cgi_parse(res.out, res.out_len, &cresp, why, sizeof(why)) != CGI_OK) {
		log_warn("request %s: %s/%s@%lld wrote no valid CGI response (exit %d): %s", rid,
			 m->tenant, m->name, (long long)m->version, res.exit_code, why);
		cgi_response_free(&cresp);
		rt_result_free(&res);
		*out_status = 500;
		return problem(c, 500, "Internal Server Error",
			       "the handler did not write a valid CGI response", rid, m);
	}
	if (cresp.body_len > a->cfg.max_response) {
		cgi_response_free(&cresp);
		rt_result_free(&res);
		*out_status = 500;
		return problem(c, 500, "Internal Server Error", "the response is too large", rid, m);
	}
	/* The body points into res.out: hand that buffer to MHD instead of copying it. */
	resp = MHD_create_response_from_buffer_with_free_callback_cls(
		cresp.body_len, (void *)cresp.body, free_cb, res.out);
	if (resp == NULL) {
		cgi_response_free(&cresp);
		rt_result_free(&res);
		*out_status = 500;
		return MHD_NO;
	}
	res.out = NULL; /* now owned by resp */
	for (size_t i = 0; i < cresp.n_headers; i++) {
		/* Framing and identity headers are the agent's. */
		if (strcasecmp(cresp.headers[i].name, "X-Request-Id") == 0 ||
		    strcasecmp(cresp.headers[i].name, "X-Edgeplane-Version") == 0)
			continue;
		MHD_add_response_header(resp, cresp.headers[i].name, cresp.headers[i].value);
	}
	agt_module_label(m, label, sizeof(label));
	MHD_add_response_header(resp, "X-Request-Id", rid);
	MHD_add_response_header(resp, "X-Edgeplane-Version", label);
	*out_status = (unsigned)cresp.status;
	ret = MHD_queue_response(c, (unsigned)cresp.status, resp);
	MHD_destroy_response(resp);
	cgi_response_free(&cresp);
	rt_result_free(&res);
	return ret;
}

static bool rid_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* Routes the request and answers it: 404 without a route, 413 when the body was too large,
 * else the module's answer. Counts the request in the module's statistics. */
static enum MHD_Result respond(struct MHD_Connection *c, struct req *r, const char *method)
{
	struct agt_table *t;
	const struct agt_route *rt;
	const char *host, *in_rid;
	char rid[65], path[4096];
	unsigned status = 0;
	enum MHD_Result ret;
	double t0 = now_ms();

	in_rid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (rid_ok(in_rid))
		snprintf(rid, sizeof(rid), "%s", in_rid);
	else
		agt_request_id(rid);
	host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (host == NULL)
		host = "";
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(r->uri, "?"), r->uri);
	t = agt_routes_acquire();
	rt = agt_table_match(t, host, path);
	if (rt == NULL) {
		ret = problem(c, 404, "Not Found", "no route for this host and path", rid, NULL);
		agt_table_unref(t);
		return ret;
	}
	if (r->too_big) {
		status = 413;
		ret = problem(c, 413, "Content Too Large", "the request body exceeds the limit", rid,
			      rt->mod);
	} else {
		ret = run(c, r, method, host, rt, t->pop, rid, &status);
	}
	agt_stats_record(rt->mod->stats, now_ms() - t0, status >= 500);
	agt_table_unref(t);
	return ret;
}

/* True when the request announces a body larger than the limit (Content-Length). */
static bool announced_too_big(struct MHD_Connection *c, uint64_t max)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (cl == NULL || cl[0] < '0' || cl[0] > '9')
		return false; /* absent or malformed: libmicrohttpd frames (or refuses) the body */
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno == ERANGE)
		return true;
	return *end == '\0' && n > max;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *data_size, void **req_cls)
{
	struct agt *a = cls;
	struct req *r = *req_cls;

	(void)version;
	(void)url;
	if (r == NULL)
		return MHD_NO; /* out of memory in on_uri: drop the connection */
	/* libmicrohttpd calls once with the headers, then per body chunk, then a final time. */
	if (!r->started) {
		r->started = true;
		/* A body announced as too large is refused before it is read: answering now makes
		 * libmicrohttpd skip "100 Continue" and close the connection after the 413, so the
		 * client cannot make the agent read (and drop) megabytes first. */
		if (announced_too_big(c, a->cfg.max_body)) {
			r->too_big = true;
			r->answered = true;
			return respond(c, r, method);
		}
		return MHD_YES;
	}
	if (r->answered) {
		*data_size = 0;
		return MHD_YES;
	}
	if (*data_size > 0) {
		if (!r->too_big && r->body.len + *data_size <= a->cfg.max_body) {
			if (!buf_append(&r->body, data, *data_size))
				return MHD_NO;
		} else {
			/* A chunked body has no length up front: it is refused once it passes the
			 * limit, and the rest is read and dropped so the answer can be sent. */
			r->too_big = true;
		}
		*data_size = 0;
		return MHD_YES;
	}
	r->answered = true;
	return respond(c, r, method);
}

int agt_serve_start(struct agt *a, char *err, size_t errlen)
{
	serve_agent = a;
	serve_daemon = agt_httpd_start(a->cfg.listen, a->cfg.threads, on_request, a, on_done,
				       (void *)on_uri, NULL, err, errlen);
	if (serve_daemon == NULL)
		return -1;
	log_info("edge listener on %s (port %u, %u threads)", a->cfg.listen,
		 agt_httpd_port(serve_daemon), a->cfg.threads);
	return 0;
}

void agt_serve_stop(void)
{
	if (serve_daemon != NULL)
		MHD_stop_daemon(serve_daemon);
	serve_daemon = NULL;
}
