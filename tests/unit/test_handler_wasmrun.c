/* Tests of the wasmrun program (DESIGN.md "Programs"): the guest's exit code and output, traps
 * and limits (message on stderr, non-zero exit), --env, and --cgi turning a raw HTTP request on
 * stdin into an HTTP response. Runs $EDGEPLANE_BIN/wasmrun on the guests of tests/guests/. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/th.h"

/* Runs a shell command line; returns the exit status, stdout and stderr (caller frees). */
static int sh(const char *cmd, char **out, char **err)
{
	char errpath[] = "/tmp/ep-wasmrun-err-XXXXXX";
	int fd = mkstemp(errpath);
	ck_assert(fd >= 0);
	close(fd);
	char *full = NULL;
	ck_assert(asprintf(&full, "%s 2>%s", cmd, errpath) > 0);
	FILE *p = popen(full, "r");
	ck_assert_ptr_nonnull(p);
	size_t cap = 1 << 16, n = 0, r;
	char *b = malloc(cap + 1);
	ck_assert_ptr_nonnull(b);
	while ((r = fread(b + n, 1, cap - n, p)) > 0) {
		n += r;
		if (n == cap) {
			b = realloc(b, (cap *= 2) + 1);
			ck_assert_ptr_nonnull(b);
		}
	}
	b[n] = '\0';
	int st = pclose(p);
	size_t elen;
	char *e = th_read_file(errpath, &elen);
	unlink(errpath);
	free(full);
	*out = b;
	if (err)
		*err = e ? e : strdup("");
	else
		free(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char cmd[4096];

static const char *wr(void)
{
	static char path[1024];
	snprintf(path, sizeof path, "%s", th_bin("wasmrun"));
	return path;
}

static const char *g(const char *name)
{
	static char path[4][1024];
	static int i;
	i = (i + 1) % 4;
	snprintf(path[i], sizeof path[i], "%s", th_guest(name));
	return path[i];
}

START_TEST(exit_code_and_output)
{
	char *out, *err;

	snprintf(cmd, sizeof cmd, "%s %s exit 7", wr(), g("wasi_exit.wasm"));
	ck_assert_int_eq(sh(cmd, &out, &err), 7);
	ck_assert_str_eq(out, "ending with exit 7\n");
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s %s return 0", wr(), g("wasi_exit.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	free(out);
	snprintf(cmd, sizeof cmd, "printf 'a b\\nc\\n' | %s %s", wr(), g("wasi_stdin.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert(strstr(out, "lines=2 words=3 bytes=6") != NULL);
	free(out);
}
END_TEST

START_TEST(env_flags)
{
	char *out;

	snprintf(cmd, sizeof cmd, "%s --env GUEST_A=one --env 'GUEST_B=two words' %s x", wr(),
		 g("wasi_env.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert(strstr(out, "argv[1]=[x]") != NULL);
	ck_assert(strstr(out, "GUEST_A=one GUEST_B=two words") != NULL);
	free(out);
	/* --opt=value is the same as --opt value */
	snprintf(cmd, sizeof cmd, "%s --env=GUEST_A=eq --fuel=100000000 %s", wr(), g("wasi_env.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert(strstr(out, "GUEST_A=eq GUEST_B=(null)") != NULL);
	free(out);
	/* everything after the module belongs to the guest, flags included */
	snprintf(cmd, sizeof cmd, "%s %s --fuel 1 --env X=y", wr(), g("wasi_env.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert(strstr(out, "argc=5") != NULL);
	ck_assert(strstr(out, "argv[1]=[--fuel]") != NULL);
	ck_assert(strstr(out, "argv[4]=[X=y]") != NULL);
	free(out);
}
END_TEST

START_TEST(traps_and_limits_fail_with_a_message)
{
	static const char *const cases[][3] = {
		{"", "handler_trap.wasm", "unreachable"},
		{"--fuel 1000000", "handler_loop.wasm", "fuel"},
		{"--timeout-ms 100", "handler_loop.wasm", "timeout"},
		{"--max-memory-mb 8", "handler_grow.wasm", "memory"},
		{"", "handler_recurse.wasm", "stack"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out, *err;
		snprintf(cmd, sizeof cmd, "%s %s %s", wr(), cases[i][0], g(cases[i][1]));
		int rc = sh(cmd, &out, &err);
		ck_assert_msg(rc != 0 && rc != -1, "%s: exit %d", cases[i][1], rc);
		ck_assert_msg(strstr(err, cases[i][2]) != NULL, "%s: stderr %s", cases[i][1], err);
		free(out);
		free(err);
	}
}
END_TEST

START_TEST(bad_usage_and_modules)
{
	char *out, *err;

	snprintf(cmd, sizeof cmd, "%s", wr());
	ck_assert_int_eq(sh(cmd, &out, &err), 2);
	ck_assert(strstr(err, "usage") != NULL);
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s --fuel abc %s", wr(), g("hello_handler.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 2);
	free(out);
	/* 0 is not a budget (the engine would read it as "unlimited"); flags without values */
	static const char *const bad_flags[] = {"--fuel 0", "--fuel=", "--timeout-ms 0",
						"--max-memory-mb 65537", "--cgi=1", "--env =x",
						"--fuel -5", "--fuel 12x"};
	for (size_t i = 0; i < sizeof bad_flags / sizeof bad_flags[0]; i++) {
		snprintf(cmd, sizeof cmd, "%s %s %s", wr(), bad_flags[i], g("hello_handler.wasm"));
		ck_assert_msg(sh(cmd, &out, &err) == 2, "%s accepted", bad_flags[i]);
		ck_assert_msg(strstr(err, "wasmrun: ") != NULL, "%s: %s", bad_flags[i], err);
		free(out);
		free(err);
	}
	snprintf(cmd, sizeof cmd, "%s /nonexistent.wasm", wr());
	ck_assert_int_eq(sh(cmd, &out, NULL), 2);
	free(out);
	/* Not a Wasm module at all: the C source of a guest. */
	snprintf(cmd, sizeof cmd, "%s %s", wr(), th_top("tests/guests/hello_handler.c"));
	ck_assert_int_eq(sh(cmd, &out, &err), 2);
	ck_assert(strlen(err) > 10);
	free(out);
	free(err);
	snprintf(cmd, sizeof cmd, "%s %s", wr(), g("wasi_badimport.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 2);
	free(out);
}
END_TEST

START_TEST(cgi_mode)
{
	char *out, *err;

	snprintf(cmd, sizeof cmd,
		 "printf 'GET /hello/world?q=1 HTTP/1.1\\r\\nHost: example.com\\r\\n\\r\\n' | %s --cgi %s",
		 wr(), g("hello_handler.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert_msg(strncmp(out, "HTTP/1.1 200 OK\r\n", 17) == 0, "%s", out);
	ck_assert(strstr(out, "Content-Type: text/plain\r\n") != NULL);
	ck_assert(strstr(out, "\r\n\r\nHello from Edgeplane! /hello/world\n") != NULL);
	free(out);

	snprintf(cmd, sizeof cmd,
		 "printf 'POST /p?status=201 HTTP/1.1\\r\\nHost: h\\r\\nX-A: b\\r\\n"
		 "Content-Length: 4\\r\\n\\r\\nbodyEXTRA' | %s --cgi %s",
		 wr(), g("handler_echo.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert_msg(strncmp(out, "HTTP/1.1 201 Created\r\n", 22) == 0, "%s", out);
	ck_assert(strstr(out, "header: HTTP_X_A=b\n") != NULL);
	ck_assert(strstr(out, "body: body") != NULL);
	ck_assert(strstr(out, "EXTRA") == NULL); /* only Content-Length bytes are the body */
	free(out);

	/* A chunked body (with a chunk extension and a trailer) is decoded before the handler
	 * sees it; what follows the last chunk is not body. */
	snprintf(cmd, sizeof cmd,
		 "printf 'POST /p HTTP/1.1\\r\\nHost: h\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n"
		 "4\\r\\nbody\\r\\n6;x=1\\r\\n-more!\\r\\n0\\r\\nX-T: 1\\r\\n\\r\\nEXTRA' | %s --cgi %s",
		 wr(), g("handler_echo.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 0);
	ck_assert_msg(strstr(out, "content-length: 10\n") != NULL, "%s", out);
	ck_assert(strstr(out, "body: body-more!") != NULL);
	ck_assert(strstr(out, "EXTRA") == NULL);
	free(out);
	/* and a bad one is a 400 that names the problem */
	static const struct {
		const char *req, *why;
	} bad[] = {
		{"Transfer-Encoding: chunked\\r\\n\\r\\n4\\r\\nbo", "shorter"},
		{"Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n", "malformed chunk size"},
		{"Transfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nabc\\r\\n0\\r\\n\\r\\n", "CRLF"},
		{"Transfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n", "blank line"},
		{"Transfer-Encoding: chunked\\r\\nContent-Length: 3\\r\\n\\r\\n0\\r\\n\\r\\n", "both"},
		{"Transfer-Encoding: gzip\\r\\n\\r\\n", "unsupported"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, "printf 'POST / HTTP/1.1\\r\\n%s' | %s --cgi %s", bad[i].req,
			 wr(), g("handler_echo.wasm"));
		ck_assert_int_eq(sh(cmd, &out, &err), 2);
		ck_assert_msg(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "%s", out);
		ck_assert_msg(strstr(err, bad[i].why) != NULL, "%s: %s", bad[i].why, err);
		free(out);
		free(err);
	}

	snprintf(cmd, sizeof cmd, "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | %s --cgi --fuel 100000 %s",
		 wr(), g("handler_loop.wasm"));
	ck_assert_int_eq(sh(cmd, &out, &err), 1);
	ck_assert(strncmp(out, "HTTP/1.1 500 ", 13) == 0);
	ck_assert(strstr(err, "fuel") != NULL);
	free(out);
	free(err);

	snprintf(cmd, sizeof cmd, "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | %s --cgi --timeout-ms 50 %s",
		 wr(), g("handler_loop.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 1);
	ck_assert(strncmp(out, "HTTP/1.1 504 ", 13) == 0);
	free(out);

	/* Output that is not CGI. */
	snprintf(cmd, sizeof cmd, "printf 'GET / HTTP/1.1\\r\\n\\r\\n' | %s --cgi %s", wr(),
		 g("wasi_printf.wasm"));
	ck_assert_int_eq(sh(cmd, &out, &err), 1);
	ck_assert(strncmp(out, "HTTP/1.1 500 ", 13) == 0);
	ck_assert(strstr(err, "malformed") != NULL);
	free(out);
	free(err);

	/* A request that is not HTTP. */
	snprintf(cmd, sizeof cmd, "printf 'nonsense\\n\\n' | %s --cgi %s", wr(),
		 g("hello_handler.wasm"));
	ck_assert_int_eq(sh(cmd, &out, NULL), 2);
	ck_assert(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wasmrun");
	TCase *tc = tcase_create("wasmrun");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, exit_code_and_output);
	tcase_add_test(tc, env_flags);
	tcase_add_test(tc, traps_and_limits_fail_with_a_message);
	tcase_add_test(tc, bad_usage_and_modules);
	tcase_add_test(tc, cgi_mode);
	suite_add_tcase(s, tc);
	return th_main(s);
}
