/* api/http.c: the libmicrohttpd glue. Owns the daemon (a pool of worker threads), reads each
 * request's body while it streams (answering 413 as soon as the limit is crossed, without
 * reading the rest), hands complete requests to the router, sends the reply with X-Request-Id
 * and CORS headers, and writes one JSON access-log line per request when it completes. */
#include "api/api_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"


static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls);
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe);
static enum MHD_Result send_reply(struct api_req *req);
static enum MHD_Result refuse_midstream(struct api_req *req);

/* Accepts a caller's X-Request-Id when it is short and plain, so that a request can be traced
 * through a proxy; otherwise generates one. */
static void pick_request_id(struct api_req *req)
{
	const char *in = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "X-Request-Id");
	size_t n = in ? strlen(in) : 0;
	bool ok = n > 0 && n < sizeof req->request_id;

	for (size_t i = 0; ok && i < n; i++) {
		char ch = in[i];
		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		     ch == '-' || ch == '_' || ch == '.';
	}
	if (ok)
		memcpy(req->request_id, in, n + 1);
	else
		api__random_hex(req->request_id, 16);
}

static struct api_req *req_create(struct api_server *s, struct MHD_Connection *c,
				  const char *url, const char *method)
{
	struct api_req *req = calloc(1, sizeof *req);

	if (req == NULL)
		return NULL;
	req->srv = s;
	req->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &req->start);
	snprintf(req->method, sizeof req->method, "%s", method);
	req->path = strdup(url);
	if (req->path == NULL) {
		free(req);
		return NULL;
	}
	pick_request_id(req);
	req->limit = s->cfg->max_json_bytes;
	atomic_fetch_add(&s->inflight, 1);
	return req;
}

static void req_destroy(struct api_req *req)
{
	if (req == NULL)
		return;
	api__db_release(req);
	for (int i = 0; i < req->nparams; i++) {
		free(req->params[i].name);
		free(req->params[i].value);
	}
	api__reply_free(req);
	buf_free(&req->body);
	if (req->json != NULL)
		json_decref(req->json);
	free(req->path);
	atomic_fetch_sub(&req->srv->inflight, 1);
	free(req);
}

/* The size the client announced, or -1 when it sent none (chunked or no body). */
static long long announced_length(struct api_req *req)
{
	const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Content-Length");
	char *end;
	long long v;

	if (cl == NULL)
		return -1;
	errno = 0;
	v = strtoll(cl, &end, 10);
	if (errno != 0 || end == cl || *end != '\0' || v < 0)
		return -1;
	return v;
}

/* True when the request carries a body: one announced by a non-zero Content-Length, or a
 * chunked one. */
static bool has_body(struct api_req *req)
{
	const char *te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Transfer-Encoding");

	return announced_length(req) > 0 || (te != NULL && strcasecmp(te, "identity") != 0);
}

/* Decides what can be answered from the request line and headers alone: unknown path (404),
 * wrong method (405 + Allow), CORS preflight, an announced body over the limit (413). */
static bool answer_early(struct api_req *req)
{
	struct api_server *s = req->srv;
	const char *method = req->method;
	char *allow = NULL;

	if (strcmp(method, "HEAD") == 0) {
		req->head = true;
		method = "GET";
	}
	if (strcmp(method, "OPTIONS") == 0) {
		/* OPTIONS is answered for any known path: a CORS preflight, or plain Allow. */
		api__route_match(&s->router, req, "\x01", req->path, &allow);
		if (allow == NULL) {
			api_reply_problem(req, 404, "no resource at %s", req->path);
			return true;
		}
		api_add_header(req, "Allow", allow);
		if (MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin") != NULL &&
		    MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
						"Access-Control-Request-Method") != NULL) {
			const char *origin = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Origin");
			if (api__cors_allowed(s, origin)) {
				api_add_header(req, "Access-Control-Allow-Methods", allow);
				api_add_header(req, "Access-Control-Allow-Headers",
					       "Authorization, Content-Type, Idempotency-Key, X-Request-Id");
				api_add_header(req, "Access-Control-Max-Age", "600");
			}
		}
		free(allow);
		api_reply_empty(req, 204);
		return true;
	}
	req->route = api__route_match(&s->router, req, method, req->path, &allow);
	if (req->route == NULL) {
		if (allow != NULL) {
			api_add_header(req, "Allow", allow);
			api_reply_problem(req, 405, "%s is not allowed on %s (allowed: %s)", req->method,
					  req->path, allow);
			free(allow);
		} else {
			api_reply_problem(req, 404, "no resource at %s", req->path);
		}
		return true;
	}
	if (req->route->r->flags & API_F_RAW_BODY)
		req->limit = s->cfg->max_module_bytes;
	long long announced = announced_length(req);
	if (announced >= 0 && (unsigned long long)announced > req->limit) {
		req->too_large = true;
		api_reply_problem(req, 413, "the request body (%lld bytes) is larger than the limit of %zu bytes",
				  announced, req->limit);
		return true;
	}
	return false;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_req *req = *con_cls;

	(void)version;
	if (req == NULL) {
		req = req_create(s, c, url, method);
		if (req == NULL)
			return MHD_NO; /* out of memory: MHD closes the connection */
		*con_cls = req;
		if (answer_early(req)) {
			/* With a body still to come, the answer goes out now and libmicrohttpd
			 * closes the connection without reading the body. Without one, it waits
			 * for the (empty) end of the request so the connection stays alive. */
			if (has_body(req)) {
				req->answered_early = true;
				return send_reply(req);
			}
			req->answer_pending = true;
		}
		return MHD_YES;
	}
	if (req->answer_pending) {
		*upload_size = 0;
		return send_reply(req);
	}
	if (req->answered_early) {
		/* Answered from the headers: MHD closes the connection after the reply. */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		size_t n = *upload_size;
		*upload_size = 0;
		req->bytes_in += n;
		if (req->body.len + n > req->limit) {
			req->too_large = true;
			buf_free(&req->body);
			api_reply_problem(req, 413, "the request body is larger than the limit of %zu bytes",
					  req->limit);
			return refuse_midstream(req);
		}
		if (!buf_append(&req->body, upload, n)) {
			buf_free(&req->body);
			api_reply_problem(req, 503, "out of memory reading the request body");
			return refuse_midstream(req);
		}
		return MHD_YES;
	}
	api__dispatch(req);
	return send_reply(req);
}

/* Builds the MHD response from req's reply and queues it. */
static enum MHD_Result send_reply(struct api_req *req)
{
	struct MHD_Response *resp;
	enum MHD_Result rc;

	if (!req->replied)
		api_reply_problem(req, 500, "the handler produced no answer");
	/* HEAD is answered like GET: libmicrohttpd sends the headers (Content-Length included)
	 * and leaves the body out by itself. */
	resp = MHD_create_response_from_buffer(req->resp_len, req->resp, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL)
		return MHD_NO;
	req->resp = NULL; /* MHD owns (and frees) the bytes now */
	MHD_add_response_header(resp, "X-Request-Id", req->request_id);
	if (req->resp_type != NULL)
		MHD_add_response_header(resp, "Content-Type", req->resp_type);
	api__cors_headers(req);
	for (int i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	if (req->too_large)
		MHD_add_response_header(resp, "Connection", "close");
	rc = MHD_queue_response(req->conn, req->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Answers a request whose body is being refused half-way (a chunked body that crossed the
 * limit: bodies that announce their length are refused before any byte is read). This
 * libmicrohttpd (0.9.7x) cannot queue a reply in the middle of a body, and reading the rest
 * just to answer is what the limit is there to prevent. So the reply is written to the
 * socket directly, the sending side is shut, and returning MHD_NO makes libmicrohttpd close
 * the connection without reading further. Clients that read while they send (curl, browsers)
 * see the 413; the others see the connection end, which is all they could get anyway. */
static enum MHD_Result refuse_midstream(struct api_req *req)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct buf b = {0};
	bool ok;

	api__cors_headers(req);
	ok = buf_printf(&b, "HTTP/1.1 %u %s\r\nConnection: close\r\nX-Request-Id: %s\r\n"
			"Content-Length: %zu\r\n", req->status, api__reason(req->status),
			req->request_id, req->resp_len);
	if (ok && req->resp_type != NULL)
		ok = buf_printf(&b, "Content-Type: %s\r\n", req->resp_type);
	for (int i = 0; ok && i < req->nheaders; i++)
		ok = buf_printf(&b, "%s: %s\r\n", req->headers[i].name, req->headers[i].value);
	ok = ok && buf_puts(&b, "\r\n") && buf_append(&b, req->resp ? req->resp : "", req->resp_len);
	if (ok && ci != NULL) {
		/* A fresh connection's send buffer takes these few hundred bytes at once; what
		 * does not fit is dropped rather than waited for. */
		size_t off = 0;
		while (off < b.len) {
			ssize_t w = send(ci->connect_fd, b.data + off, b.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		shutdown(ci->connect_fd, SHUT_WR);
	}
	buf_free(&b);
	return MHD_NO;
}

static void access_log(struct api_req *req, double seconds)
{
	json_t *o = json_object();
	char ts[32];
	char *line;

	if (o == NULL)
		return;
	api__now_rfc3339_ms(ts);
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string("info"));
	json_object_set_new(o, "prog", json_string("edgeplane"));
	json_object_set_new(o, "msg", json_string("request"));
	json_object_set_new(o, "request_id", json_string(req->request_id));
	json_object_set_new(o, "method", json_string(req->method));
	/* The path may hold bytes that are not UTF-8: jansson refuses those, so fall back. */
	json_t *p = json_string(req->path);
	json_object_set_new(o, "path", p ? p : json_string("(not utf-8)"));
	json_object_set_new(o, "route", json_string(req->route ? req->route->r->path : ""));
	json_object_set_new(o, "status", json_integer(req->status));
	json_object_set_new(o, "duration_ms", json_real(seconds * 1000.0));
	json_object_set_new(o, "bytes_in", json_integer((json_int_t)req->bytes_in));
	if (req->who.token_id[0] != '\0')
		json_object_set_new(o, "token_id", json_string(req->who.token_id));
	line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(o);
	if (line != NULL) {
		log_json_line(line);
		free(line);
	}
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_server *s = cls;
	struct api_req *req = *con_cls;
	struct timespec end;
	double seconds;

	(void)c;
	(void)toe;
	if (req == NULL)
		return;
	clock_gettime(CLOCK_MONOTONIC, &end);
	seconds = (double)(end.tv_sec - req->start.tv_sec) +
		  (double)(end.tv_nsec - req->start.tv_nsec) / 1e9;
	if (req->status == 0)
		req->status = 499; /* the client went away before an answer */
	api__metrics_record(s, req->method, req->route ? req->route->r->path : "unmatched",
			    req->status, seconds);
	access_log(req, seconds);
	req_destroy(req);
	*con_cls = NULL;
}

/* Parses "host:port" (IPv4 or a name resolving to one: only literal addresses here). */
static int parse_listen(const char *listen, struct sockaddr_in *out, char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	char *end;
	long port;

	if (colon == NULL || (size_t)(colon - listen) >= sizeof host) {
		snprintf(err, errlen, "EDGEPLANE_LISTEN '%s' is not host:port", listen);
		return -1;
	}
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535) {
		snprintf(err, errlen, "EDGEPLANE_LISTEN '%s': bad port", listen);
		return -1;
	}
	memset(out, 0, sizeof *out);
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "*") == 0)
		out->sin_addr.s_addr = htonl(INADDR_ANY);
	else if (strcmp(host, "localhost") == 0)
		out->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &out->sin_addr) != 1) {
		snprintf(err, errlen, "EDGEPLANE_LISTEN '%s': host must be an IPv4 address", listen);
		return -1;
	}
	return 0;
}

int api_server_start(struct api_server *s, char *err, size_t errlen)
{
	struct sockaddr_in addr;
	unsigned threads = s->cfg->threads ? s->cfg->threads : 1;

	if (parse_listen(s->cfg->listen, &addr, err, errlen) < 0)
		return -1;
	/* No MHD_OPTION_LISTENING_ADDRESS_REUSE: on Linux it sets SO_REUSEPORT, and a second
	 * control plane started on a busy port would then bind too and silently take half of the
	 * traffic (against whatever database it was given). The default, SO_REUSEADDR, still
	 * allows a quick restart. */
	s->daemon = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ITC, 0, NULL, NULL,
		on_request, s,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE, threads,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
		MHD_OPTION_END);
	if (s->daemon == NULL) {
		snprintf(err, errlen, "cannot listen on %s (in use or not allowed)", s->cfg->listen);
		return -1;
	}
	return 0;
}

void api_server_drain(struct api_server *s, unsigned timeout_ms)
{
	if (s->daemon == NULL)
		return;
	atomic_store(&s->draining, true);
	/* Quiescing closes the listening socket: no new connections, current ones go on. */
	MHD_socket ls = MHD_quiesce_daemon(s->daemon);
	if (ls != MHD_INVALID_SOCKET)
		close(ls);
	for (unsigned waited = 0; waited < timeout_ms && atomic_load(&s->inflight) > 0; waited += 10)
		usleep(10000);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
}
