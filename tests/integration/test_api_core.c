/* Integration tests of the HTTP layer of `edgeplane serve`: request ids, 404/405, CORS,
 * body limits while streaming, health and readiness, metrics, the access log, the OpenAPI
 * document against the route table, and SIGTERM finishing the requests in flight. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api/server.h"
#include "common/buf.h"
#include "tests/integration/test_api.h"
#include "tests/lib/th.h"

static struct th_cp cp;

static void setup(void)
{
	static char cors[] = "EDGEPLANE_CORS_ORIGINS=https://dash.example, http://localhost:3000";
	char *env[] = {cors, NULL};

	th_cp_start(&cp, env);
}

static void teardown(void)
{
	th_cp_stop(&cp);
}

/* A raw TCP connection to the control plane. */
static int raw_connect(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert(fd >= 0);
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		ck_assert_msg(w > 0, "send: %s", strerror(errno));
		c += w;
		n -= (size_t)w;
	}
}

/* Reads until the peer closes or timeout_ms of silence; returns what arrived (caller frees). */
static char *recv_some(int fd, int timeout_ms)
{
	struct buf b = {0};
	char chunk[4096];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	while (poll(&pfd, 1, timeout_ms) > 0) {
		ssize_t n = recv(fd, chunk, sizeof chunk, 0);
		if (n <= 0)
			break;
		ck_assert(buf_append(&b, chunk, (size_t)n));
		if (strstr(b.data, "\r\n\r\n") != NULL && strstr(b.data, "}") != NULL)
			break;
	}
	return buf_steal(&b);
}

START_TEST(request_id_on_every_answer)
{
	struct th_resp r;
	const char *mine[] = {"X-Request-Id: trace-abc.123", NULL};

	ta_expect(&cp, 200, "GET", "/healthz", NULL, NULL, &r);
	const char *id = th_header(&r, "X-Request-Id");
	ck_assert(id != NULL && strlen(id) >= 16);
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/nope", NULL, NULL, NULL);
	ta_expect(&cp, 401, "GET", "/v1/tenants", NULL, NULL, NULL);
	th_http(&r, "GET", th_cp_url(&cp, "/healthz"), NULL, NULL, NULL, 0, mine);
	ck_assert_str_eq(th_header(&r, "X-Request-Id"), "trace-abc.123");
	th_resp_free(&r);
	/* A caller's id that is not plain is replaced rather than echoed. */
	const char *odd[] = {"X-Request-Id: <script>", NULL};
	th_http(&r, "GET", th_cp_url(&cp, "/healthz"), NULL, NULL, NULL, 0, odd);
	ck_assert_str_ne(th_header(&r, "X-Request-Id"), "<script>");
	th_resp_free(&r);
}
END_TEST

START_TEST(unknown_paths_and_wrong_methods)
{
	struct th_resp r;

	ta_expect(&cp, 404, "GET", "/v1/nothing", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 404, "GET", "/v1/tenants/a/b/c/d/e/f/g", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 405, "PUT", "/v1/tenants", cp.admin_token, "{}", &r);
	const char *allow = th_header(&r, "Allow");
	ck_assert_ptr_nonnull(allow);
	ck_assert_ptr_nonnull(strstr(allow, "GET"));
	ck_assert_ptr_nonnull(strstr(allow, "POST"));
	th_resp_free(&r);
	ta_expect(&cp, 405, "DELETE", "/v1/tenants/x", cp.admin_token, NULL, &r);
	ck_assert_str_eq(th_header(&r, "Allow"), "GET, HEAD, OPTIONS");
	th_resp_free(&r);
	ta_expect(&cp, 405, "PATCH", "/healthz", NULL, NULL, NULL);
	/* HEAD of a GET route: the headers without a body. */
	th_http(&r, "HEAD", th_cp_url(&cp, "/healthz"), NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 0);
	th_resp_free(&r);
}
END_TEST

START_TEST(cors_preflight_and_headers)
{
	struct th_resp r;
	const char *pre[] = {"Origin: https://dash.example", "Access-Control-Request-Method: POST",
			     "Access-Control-Request-Headers: authorization, content-type", NULL};
	const char *evil[] = {"Origin: https://evil.example", "Access-Control-Request-Method: POST", NULL};
	const char *get[] = {"Origin: http://localhost:3000", NULL};

	th_http(&r, "OPTIONS", th_cp_url(&cp, "/v1/tenants"), NULL, NULL, NULL, 0, pre);
	ck_assert_int_eq(r.status, 204);
	ck_assert_str_eq(th_header(&r, "Access-Control-Allow-Origin"), "https://dash.example");
	ck_assert_ptr_nonnull(strstr(th_header(&r, "Access-Control-Allow-Methods"), "POST"));
	ck_assert_ptr_nonnull(strstr(th_header(&r, "Access-Control-Allow-Headers"), "Authorization"));
	th_resp_free(&r);
	th_http(&r, "OPTIONS", th_cp_url(&cp, "/v1/tenants"), NULL, NULL, NULL, 0, evil);
	ck_assert_ptr_null(th_header(&r, "Access-Control-Allow-Origin"));
	th_resp_free(&r);
	th_http(&r, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, get);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(th_header(&r, "Access-Control-Allow-Origin"), "http://localhost:3000");
	ck_assert_ptr_nonnull(strstr(th_header(&r, "Access-Control-Expose-Headers"), "X-Request-Id"));
	th_resp_free(&r);
	th_http(&r, "OPTIONS", th_cp_url(&cp, "/v1/unknown"), NULL, NULL, NULL, 0, pre);
	ta_problem(&r, 404);
	th_resp_free(&r);
}
END_TEST

/* A body announced larger than the limit is refused at once: the 413 arrives although almost
 * nothing of the body was sent, and the connection is closed. */
START_TEST(body_limit_before_reading)
{
	int fd = raw_connect(cp.port);
	char head[512];
	int n = snprintf(head, sizeof head,
			 "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{\"slug\":",
			 cp.admin_token);
	send_all(fd, head, (size_t)n);
	char *resp = recv_some(fd, 5000);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "got: %s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "application/problem+json"));
	free(resp);
	close(fd);
}
END_TEST

/* Sends what the peer takes, without failing when it stops reading (or closes). */
static size_t send_best_effort(int fd, const void *p, size_t n)
{
	const char *c = p;
	size_t sent = 0;

	while (sent < n) {
		ssize_t w = send(fd, c + sent, n - sent, MSG_NOSIGNAL);
		if (w <= 0)
			break;
		sent += (size_t)w;
	}
	return sent;
}

/* A chunked body that crosses the limit is answered 413 although the client never sends the
 * rest of it nor the final chunk: the server does not wait for (or read) what is left. */
START_TEST(body_limit_chunked_midstream)
{
	int fd = raw_connect(cp.port);
	char head[512];
	size_t piece = 1200 * 1024; /* over the 1 MiB JSON limit */
	char *data = malloc(piece);
	int n = snprintf(head, sizeof head,
			 "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "%zx\r\n", cp.admin_token, 4 * piece);

	ck_assert_ptr_nonnull(data);
	memset(data, ' ', piece);
	data[0] = '{';
	send_all(fd, head, (size_t)n);
	send_best_effort(fd, data, piece);
	/* The chunk announced 4x more; none of it comes. An answer can only be the 413. */
	char *resp = recv_some(fd, 20000);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 413", 12) == 0, "got: %.200s", resp);
	ck_assert_ptr_nonnull(strstr(resp, "application/problem+json"));
	ck_assert_ptr_nonnull(strcasestr(resp, "X-Request-Id: "));
	ck_assert_ptr_nonnull(strstr(resp, "\"status\":413"));
	free(resp);
	free(data);
	close(fd);
	ta_expect(&cp, 200, "GET", "/healthz", NULL, NULL, NULL);
}
END_TEST

/* Answers decided from the headers alone (404, 405, 401) keep a bodiless request's
 * connection open: two requests on one connection get two answers. */
START_TEST(header_answers_keep_alive)
{
	int fd = raw_connect(cp.port);
	const char *two = "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
			  "PUT /v1/tenants HTTP/1.1\r\nHost: x\r\n\r\n";
	struct buf b = {0};
	char chunk[4096];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};

	send_all(fd, two, strlen(two));
	while (poll(&pfd, 1, 5000) > 0) {
		ssize_t k = recv(fd, chunk, sizeof chunk, 0);
		if (k <= 0)
			break;
		ck_assert(buf_append(&b, chunk, (size_t)k));
		if (strstr(b.data, "HTTP/1.1 405") != NULL && strstr(strstr(b.data, "HTTP/1.1 405"), "}"))
			break;
	}
	ck_assert_msg(b.data != NULL && strncmp(b.data, "HTTP/1.1 404", 12) == 0, "got: %s", b.data);
	ck_assert_msg(strstr(b.data, "HTTP/1.1 405") != NULL, "second answer missing: %s", b.data);
	ck_assert_ptr_nonnull(strstr(strstr(b.data, "HTTP/1.1 405"), "Allow: "));
	buf_free(&b);
	close(fd);
}
END_TEST

START_TEST(body_limit_chunked)
{
	struct th_resp r;
	const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
	size_t big = 2 * 1024 * 1024;
	char *body = malloc(big);

	ck_assert_ptr_nonnull(body);
	memset(body, ' ', big);
	body[0] = '{';
	body[big - 1] = '}';
	th_http(&r, "POST", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, body, big, chunked);
	ta_problem(&r, 413);
	th_resp_free(&r);
	free(body);
	/* The server is fine afterwards. */
	ta_expect(&cp, 200, "GET", "/v1/tenants", cp.admin_token, NULL, NULL);
}
END_TEST

START_TEST(health_ready_metrics)
{
	struct th_resp r;

	ta_expect(&cp, 200, "GET", "/healthz", NULL, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/readyz", NULL, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "checks"), "database")), "ok");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r.json, "checks"), "redis")), "ok");
	th_resp_free(&r);
	ta_expect(&cp, 404, "GET", "/v1/tenants/ghost", cp.admin_token, NULL, NULL);
	ta_expect(&cp, 200, "GET", "/metrics", NULL, NULL, &r);
	ck_assert_ptr_nonnull(strstr(th_header(&r, "Content-Type"), "text/plain"));
	ck_assert_ptr_nonnull(strstr(r.body, "edgeplane_http_requests_total{method=\"GET\",route=\"/v1/tenants/{t}\",status=\"404\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "edgeplane_http_request_duration_seconds_bucket{method=\"GET\",route=\"/readyz\",le=\"+Inf\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "edgeplane_db_pool_connections{state=\"in_use\"}"));
	ck_assert_ptr_nonnull(strstr(r.body, "edgeplane_db_pool_connections{state=\"idle\"}"));
	{
		const char *why = th_prom_check(r.body);
		ck_assert_msg(why == NULL, "metrics: %s", why);
	}
	th_resp_free(&r);
}
END_TEST

START_TEST(access_log_lines)
{
	struct th_resp r;
	const char *mine[] = {"X-Request-Id: log-check-42", NULL};

	th_http(&r, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, mine);
	ck_assert_int_eq(r.status, 200);
	th_resp_free(&r);
	char *log = NULL;
	for (int i = 0; i < 50; i++) {
		free(log);
		log = th_read_file(cp.log_path, NULL);
		if (log != NULL && strstr(log, "log-check-42") != NULL)
			break;
		usleep(20000);
	}
	ck_assert_ptr_nonnull(log);
	char *line = strstr(log, "{\"ts\"");
	bool found = false;
	/* Every line is JSON; the request's line names its route, status and id. */
	for (char *p = log; *p; ) {
		char *eol = strchr(p, '\n');
		size_t n = eol ? (size_t)(eol - p) : strlen(p);
		if (n > 0 && p[0] == '{') {
			json_t *j = json_loadb(p, n, 0, NULL);
			ck_assert_msg(j != NULL, "not JSON: %.*s", (int)n, p);
			const char *rid = json_string_value(json_object_get(j, "request_id"));
			if (rid && strcmp(rid, "log-check-42") == 0) {
				found = true;
				ck_assert_str_eq(json_string_value(json_object_get(j, "route")), "/v1/tenants");
				ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 200);
				ck_assert(json_is_number(json_object_get(j, "duration_ms")));
			}
			json_decref(j);
		}
		p = eol ? eol + 1 : p + n;
	}
	(void)line;
	ck_assert(found);
	/* Token secrets never reach the log. */
	ck_assert_ptr_null(strstr(log, cp.admin_token));
	free(log);
}
END_TEST

/* Every served route is in the OpenAPI document and every documented operation is served. */
START_TEST(openapi_matches_routes)
{
	struct th_resp r;
	json_t *table = api_route_table();

	ck_assert_ptr_nonnull(table);
	ta_expect(&cp, 200, "GET", "/v1/openapi.json", NULL, NULL, &r);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")), "3.1.0");
	json_t *paths = json_object_get(r.json, "paths");
	ck_assert(json_is_object(paths));
	size_t served = 0, i;
	json_t *row;
	json_array_foreach(table, i, row) {
		if (!json_is_true(json_object_get(row, "documented")))
			continue;
		char method[16];
		snprintf(method, sizeof method, "%s", json_string_value(json_object_get(row, "method")));
		for (char *m = method; *m; m++)
			*m = (char)(*m - 'A' + 'a');
		const char *path = json_string_value(json_object_get(row, "path"));
		ck_assert_msg(json_object_get(json_object_get(paths, path), method) != NULL,
			      "served but not documented: %s %s", method, path);
		served++;
	}
	const char *path;
	json_t *ops;
	size_t documented = 0;
	json_object_foreach(paths, path, ops) {
		const char *m;
		json_t *op;
		json_object_foreach(ops, m, op) {
			bool found = false;
			json_array_foreach(table, i, row)
				if (strcasecmp(json_string_value(json_object_get(row, "method")), m) == 0 &&
				    strcmp(json_string_value(json_object_get(row, "path")), path) == 0)
					found = true;
			ck_assert_msg(found, "documented but not served: %s %s", m, path);
			documented++;
		}
	}
	ck_assert_uint_eq(served, documented);
	th_resp_free(&r);
	json_decref(table);
}
END_TEST

/* SIGTERM while a request is being received: the request completes, then the process exits 0. */
/* A second control plane on a port already in use must fail to start, not share the port
 * (SO_REUSEPORT would let it take half of the traffic, answered from its own database). */
START_TEST(second_serve_on_busy_port_fails)
{
	char db[1024], listen[64], key[1024], redis[1024], log[1024];
	snprintf(db, sizeof db, "EDGEPLANE_DATABASE_URL=%s", cp.db_url);
	snprintf(listen, sizeof listen, "EDGEPLANE_LISTEN=127.0.0.1:%d", cp.port);
	snprintf(key, sizeof key, "EDGEPLANE_SIGNING_KEY=%s", cp.key_path);
	snprintf(redis, sizeof redis, "EDGEPLANE_REDIS_URL=%s", getenv("EDGEPLANE_REDIS_URL"));
	snprintf(log, sizeof log, "%s/second.log", cp.dir);
	char *env[] = {db, listen, key, redis, NULL};
	char *argv[] = {(char *)th_bin("edgeplane"), "serve", "--no-migrate", NULL};
	pid_t pid = th_spawn(argv, env, log);
	int st = -1;
	for (int i = 0; i < 200; i++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		st = -1;
		usleep(50000);
	}
	if (st == -1) {
		th_stop(pid, SIGKILL, 5000);
		ck_abort_msg("a second edgeplane serve started on a busy port");
	}
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) != 0, "second serve: status %d", st);
	size_t len;
	char *text = th_read_file(log, &len);
	ck_assert_msg(text != NULL && strstr(text, "cannot listen") != NULL, "log: %s", text);
	free(text);
	/* The first one still answers everything. */
	for (int i = 0; i < 20; i++) {
		struct th_resp r;
		th_http(&r, "GET", th_cp_url(&cp, "/v1/tenants"), cp.admin_token, NULL, NULL, 0, NULL);
		ck_assert_int_eq(r.status, 200);
		th_resp_free(&r);
	}
}
END_TEST

START_TEST(sigterm_finishes_in_flight)
{
	struct th_cp own;
	th_cp_start(&own, NULL);
	int fd = raw_connect(own.port);
	const char *body = "{\"slug\":\"inflight\",\"name\":\"In flight\"}";
	char head[512];
	int n = snprintf(head, sizeof head,
			 "POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			 own.admin_token, strlen(body));
	send_all(fd, head, (size_t)n);
	send_all(fd, body, 10);
	usleep(200000);
	kill(own.pid, SIGTERM);
	usleep(300000);
	send_all(fd, body + 10, strlen(body) - 10);
	char *resp = recv_some(fd, 5000);
	ck_assert_msg(strncmp(resp, "HTTP/1.1 201", 12) == 0, "got: %s", resp);
	free(resp);
	close(fd);
	int st = th_stop(own.pid, SIGTERM, 10000);
	own.pid = 0;
	ck_assert_int_eq(st, 0);
	/* New connections are refused once draining ended. */
	struct th_resp r;
	th_http(&r, "GET", th_cp_url(&own, "/healthz"), NULL, NULL, NULL, 0, NULL);
	ck_assert_int_eq(r.status, 0);
	th_resp_free(&r);
	th_cp_stop(&own);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("api_core");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, request_id_on_every_answer);
	tcase_add_test(tc, unknown_paths_and_wrong_methods);
	tcase_add_test(tc, cors_preflight_and_headers);
	tcase_add_test(tc, body_limit_before_reading);
	tcase_add_test(tc, body_limit_chunked);
	tcase_add_test(tc, body_limit_chunked_midstream);
	tcase_add_test(tc, header_answers_keep_alive);
	tcase_add_test(tc, health_ready_metrics);
	tcase_add_test(tc, access_log_lines);
	tcase_add_test(tc, openapi_matches_routes);
	tcase_add_test(tc, second_serve_on_busy_port_fails);
	tcase_add_test(tc, sigterm_finishes_in_flight);
	suite_add_tcase(s, tc);
	return th_main(s);
}
