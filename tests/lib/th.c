/* tests/lib/th.c: processes, temp folders, databases and HTTP for the test suites. */
#include "tests/lib/th.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"

extern char **environ;

static char *th_ring(void)
{
	static __thread char ring[8][4096];
	static __thread int next;

	return ring[next++ & 7];
}

const char *th_env(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || *v == '\0')
		ck_abort_msg("environment variable %s is not set (run through make test)", name);
	return v;
}

static const char *th_join(const char *var, const char *rel)
{
	char *out = th_ring();

	snprintf(out, 4096, "%s/%s", th_env(var), rel);
	return out;
}

const char *th_bin(const char *prog) { return th_join("EDGEPLANE_BIN", prog); }
const char *th_guest(const char *name) { return th_join("EDGEPLANE_GUESTS", name); }
const char *th_top(const char *rel) { return th_join("EDGEPLANE_TOP", rel); }

char *th_tmpdir(void)
{
	char tmpl[] = "/tmp/edgeplane-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	if (d == NULL)
		ck_abort_msg("mkdtemp: %s", strerror(errno));
	chmod(d, 0755);
	return strdup(d);
}

static int th_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	remove(path);
	return 0;
}

void th_rmrf(const char *dir)
{
	if (dir != NULL && strncmp(dir, "/tmp/", 5) == 0)
		nftw(dir, th_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int th_free_port(void)
{
	struct sockaddr_in a;
	static unsigned seed;

	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	/* Below the kernel's ephemeral range (32768-60999): a port picked there could be taken
	 * by any outgoing connection on this shared machine before the server binds it. */
	for (int i = 0; i < 500; i++) {
		int port = 20000 + (int)(rand_r(&seed) % 12700);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_msg(fd >= 0, "socket: %s", strerror(errno));
		memset(&a, 0, sizeof a);
		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons((uint16_t)port);
		int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
		close(fd);
		if (ok)
			return port;
	}
	ck_abort_msg("no free port found in 20000-32699");
	return -1;
}

char *th_fresh_db(void)
{
	const char *base = th_env("EDGEPLANE_DATABASE_URL");
	char name[64], sql[128], *url, *slash;
	struct timespec ts;
	PGconn *c;
	PGresult *r;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "t_%d_%ld_%ld", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec);
	c = PQconnectdb(base);
	if (PQstatus(c) != CONNECTION_OK)
		ck_abort_msg("connect %s: %s", base, PQerrorMessage(c));
	/* The name is generated above from digits only: safe to put in the statement. */
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		ck_abort_msg("%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	url = malloc(strlen(base) + sizeof name + 2);
	ck_assert(url != NULL);
	strcpy(url, base);
	slash = strrchr(url, '/');
	ck_assert(slash != NULL);
	strcpy(slash + 1, name);
	return url;
}

char *th_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b = {0};
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		if (!buf_append(&b, chunk, n)) {
			fclose(f);
			buf_free(&b);
			return NULL;
		}
	fclose(f);
	if (len != NULL)
		*len = b.len;
	return buf_steal(&b);
}

bool th_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool ok;

	if (f == NULL)
		return false;
	ok = fwrite(data, 1, len, f) == len;
	return fclose(f) == 0 && ok;
}

static void th_child_env(char *const env[])
{
	for (size_t i = 0; env != NULL && env[i] != NULL; i++)
		putenv(env[i]);
}

pid_t th_spawn(char *const argv[], char *const env[], const char *log_path)
{
	pid_t pid = fork();

	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		if (log_path != NULL) {
			int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0) {
				dup2(fd, STDOUT_FILENO);
				dup2(fd, STDERR_FILENO);
				close(fd);
			}
		}
		/* Its own process group (so a signal to the test's group does not reach it), but it
		 * dies with the test process: a failed test never reaches its teardown, and a server
		 * left running would hold its port and database. (Spawning threads must outlive their
		 * children: the signal follows the thread that forked.) */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127); /* the test process is already gone */
		th_child_env(env);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int th_run(char *const argv[], char *const env[], char **out)
{
	int p[2], st;
	pid_t pid;
	struct buf b = {0};
	char chunk[4096];
	ssize_t n;

	ck_assert(pipe(p) == 0);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDOUT_FILENO);
		close(p[1]);
		th_child_env(env);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			ck_assert(buf_append(&b, chunk, (size_t)n));
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out != NULL)
		*out = buf_steal(&b);
	else
		buf_free(&b);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int th_stop(pid_t pid, int sig, int timeout_ms)
{
	int st;

	if (pid <= 0)
		return -1;
	kill(pid, sig);
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		if (w < 0)
			return -1;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static size_t th_curl_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_append(ud, p, size * n) ? size * n : 0;
}

bool th_http(struct th_resp *r, const char *method, const char *url, const char *token,
	     const char *content_type, const void *body, size_t len, const char *const *extra_headers)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf bb = {0}, hb = {0};
	char line[4200];
	CURLcode rc;

	memset(r, 0, sizeof *r);
	ck_assert(c != NULL);
	if (token != NULL) {
		snprintf(line, sizeof line, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, line);
	}
	if (body != NULL) {
		snprintf(line, sizeof line, "Content-Type: %s",
			 content_type ? content_type : "application/json");
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; extra_headers != NULL && extra_headers[i] != NULL; i++)
		h = curl_slist_append(h, extra_headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, th_curl_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, th_curl_body);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	r->len = bb.len;
	r->body = buf_steal(&bb);
	r->headers = buf_steal(&hb);
	if (r->len > 0)
		r->json = json_loadb(r->body, r->len, 0, NULL);
	return rc == CURLE_OK;
}

long th_req(struct th_resp *r, const char *method, const char *url, const char *token,
	    const char *json_fmt, ...)
{
	char *body = NULL;
	va_list ap;
	int n;

	if (json_fmt != NULL) {
		va_start(ap, json_fmt);
		n = vasprintf(&body, json_fmt, ap);
		va_end(ap);
		ck_assert(n >= 0);
	}
	th_http(r, method, url, token, NULL, body, body ? strlen(body) : 0, NULL);
	free(body);
	return r->status;
}

const char *th_header(const struct th_resp *r, const char *name)
{
	size_t nl = strlen(name);
	const char *p = r->headers;
	char *out = th_ring();

	while (p != NULL && *p != '\0') {
		const char *eol = strstr(p, "\r\n");
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			size_t vl = ll - (size_t)(v - p);
			if (vl > 4095)
				vl = 4095;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return out;
		}
		p = eol ? eol + 2 : NULL;
	}
	return NULL;
}

void th_resp_free(struct th_resp *r)
{
	free(r->body);
	free(r->headers);
	if (r->json != NULL)
		json_decref(r->json);
	memset(r, 0, sizeof *r);
}

bool th_wait_http(const char *url, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		struct th_resp r;
		th_http(&r, "GET", url, NULL, NULL, NULL, 0, NULL);
		long st = r.status;
		th_resp_free(&r);
		if (st == 200)
			return true;
		usleep(50000);
	}
	return false;
}

static char **th_cp_env(const struct th_cp *cp, char *const extra[])
{
	static char db[1024], listen[64], key[1024], redis[1024];
	static char *env[64];
	size_t n = 0;

	snprintf(db, sizeof db, "EDGEPLANE_DATABASE_URL=%s", cp->db_url);
	snprintf(listen, sizeof listen, "EDGEPLANE_LISTEN=127.0.0.1:%d", cp->port);
	snprintf(key, sizeof key, "EDGEPLANE_SIGNING_KEY=%s", cp->key_path);
	snprintf(redis, sizeof redis, "EDGEPLANE_REDIS_URL=%s", th_env("EDGEPLANE_REDIS_URL"));
	env[n++] = db;
	env[n++] = listen;
	env[n++] = key;
	env[n++] = redis;
	for (size_t i = 0; extra != NULL && extra[i] != NULL && n < 63; i++)
		env[n++] = extra[i];
	env[n] = NULL;
	return env;
}

static void th_cp_spawn(struct th_cp *cp, char *const env[])
{
	char *argv[] = {(char *)th_bin("edgeplane"), "serve", NULL};

	cp->pid = th_spawn(argv, th_cp_env(cp, env), cp->log_path);
	if (!th_wait_http(th_cp_url(cp, "/healthz"), 20000)) {
		size_t len;
		char *log = th_read_file(cp->log_path, &len);
		ck_abort_msg("edgeplane serve did not become healthy; log:\n%s", log ? log : "");
	}
}

void th_cp_start(struct th_cp *cp, char *const env[])
{
	char *out = NULL;
	int st;

	memset(cp, 0, sizeof *cp);
	cp->dir = th_tmpdir();
	cp->db_url = th_fresh_db();
	cp->port = th_free_port();
	snprintf(cp->url, sizeof cp->url, "http://127.0.0.1:%d", cp->port);
	ck_assert(asprintf(&cp->key_path, "%s/signing.key", cp->dir) > 0);
	ck_assert(asprintf(&cp->log_path, "%s/edgeplane.log", cp->dir) > 0);

	char *keygen[] = {(char *)th_bin("edgeplane"), "keygen", "--out", cp->key_path, NULL};
	st = th_run(keygen, th_cp_env(cp, env), NULL);
	ck_assert_msg(st == 0, "edgeplane keygen exited %d", st);
	char *migrate[] = {(char *)th_bin("edgeplane"), "migrate", NULL};
	st = th_run(migrate, th_cp_env(cp, env), NULL);
	ck_assert_msg(st == 0, "edgeplane migrate exited %d", st);
	char *tok[] = {(char *)th_bin("edgeplane"), "token", "create", "--role", "admin",
		       "--name", "test-admin", NULL};
	st = th_run(tok, th_cp_env(cp, env), &out);
	ck_assert_msg(st == 0, "edgeplane token create exited %d", st);
	/* The secret is the first line of stdout. */
	out[strcspn(out, "\r\n")] = '\0';
	ck_assert_msg(strncmp(out, "ept_", 4) == 0, "token create printed '%s'", out);
	cp->admin_token = out;
	th_cp_spawn(cp, env);
}

void th_cp_restart(struct th_cp *cp, char *const env[])
{
	th_cp_spawn(cp, env);
}

void th_cp_kill(struct th_cp *cp, int sig)
{
	th_stop(cp->pid, sig, 10000);
	cp->pid = 0;
}

void th_cp_stop(struct th_cp *cp)
{
	if (cp->pid > 0)
		th_cp_kill(cp, SIGTERM);
	th_rmrf(cp->dir);
	free(cp->dir);
	free(cp->db_url);
	free(cp->key_path);
	free(cp->log_path);
	free(cp->admin_token);
	memset(cp, 0, sizeof *cp);
}

const char *th_cp_url(const struct th_cp *cp, const char *path)
{
	char *out = th_ring();

	snprintf(out, 4096, "%s%s", cp->url, path);
	return out;
}

/* Is sample name `n` (length len) part of family `fam` of type `type`? */
static bool prom_in_family(const char *n, size_t len, const char *fam, const char *type)
{
	size_t fl = strlen(fam);
	static const char *const hist[] = {"_bucket", "_sum", "_count"};

	if (len == fl && strncmp(n, fam, fl) == 0)
		return true;
	if (strcmp(type, "histogram") != 0 || len <= fl || strncmp(n, fam, fl) != 0)
		return false;
	for (size_t i = 0; i < sizeof(hist) / sizeof(hist[0]); i++)
		if (len - fl == strlen(hist[i]) && strncmp(n + fl, hist[i], len - fl) == 0)
			return true;
	return false;
}

const char *th_prom_check(const char *text)
{
	static char why[512];
	char fam[128] = "", type[32] = "", seen[8192] = " ";

	for (const char *l = text; *l != '\0';) {
		const char *eol = strchr(l, '\n');
		size_t ll = eol != NULL ? (size_t)(eol - l) : strlen(l);

		if (ll > 7 && strncmp(l, "# TYPE ", 7) == 0) {
			char key[160];

			if (sscanf(l + 7, "%127s %31s", fam, type) != 2)
				return "a TYPE line without a name and a type";
			snprintf(key, sizeof(key), " %s ", fam);
			if (strstr(seen, key) != NULL) {
				snprintf(why, sizeof(why), "family %s declared twice", fam);
				return why;
			}
			strncat(seen, key + 1, sizeof(seen) - strlen(seen) - 1);
		} else if (ll > 0 && l[0] != '#') {
			size_t nl = strcspn(l, "{ ");

			if (fam[0] == '\0' || !prom_in_family(l, nl, fam, type)) {
				snprintf(why, sizeof(why), "sample %.*s is not under its family (last TYPE: %s)",
					 (int)nl, l, fam[0] != '\0' ? fam : "none");
				return why;
			}
		}
		l += ll + (eol != NULL);
	}
	return NULL;
}

int th_main(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
