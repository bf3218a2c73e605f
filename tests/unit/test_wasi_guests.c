/* Guest vs native: every C program of tests/guests/ that is meant to behave the same built with
 * wasi-libc (run in our engine through rt_run_command) and built natively with gcc (run as a
 * process) gets the same arguments, environment and stdin; stdout, stderr and the exit code
 * must be equal byte for byte. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/handler.h"
#include "runtime/wasm.h"
#include "tests/lib/th.h"

struct run {
	int code;
	char *out, *err;
	size_t out_len, err_len;
};

/* Reads fd to the end into a malloc'ed buffer. */
static char *slurp(int fd, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	ssize_t r;

	ck_assert_ptr_nonnull(b);
	while ((r = read(fd, b + n, cap - n)) > 0) {
		n += (size_t)r;
		if (n == cap) {
			b = realloc(b, cap *= 2);
			ck_assert_ptr_nonnull(b);
		}
	}
	*len = n;
	return b;
}

/* Runs NAME.native with exactly argv/envp and stdin `in`. */
static void run_native(const char *name, const char *const *argv, const char *const *envp,
		       const char *in, size_t in_len, struct run *r)
{
	char path[64], inpath[] = "/tmp/ep-guest-in-XXXXXX", errpath[] = "/tmp/ep-guest-err-XXXXXX";
	int outp[2];

	snprintf(path, sizeof path, "%s.native", name);
	const char *exe = th_guest(path);
	int infd = mkstemp(inpath), errfd = mkstemp(errpath);
	ck_assert(infd >= 0 && errfd >= 0);
	unlink(inpath);
	unlink(errpath);
	ck_assert(in_len == 0 || write(infd, in, in_len) == (ssize_t)in_len);
	lseek(infd, 0, SEEK_SET);
	ck_assert_int_eq(pipe(outp), 0);
	pid_t pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0) {
		dup2(infd, 0);
		dup2(outp[1], 1);
		dup2(errfd, 2);
		close(outp[0]);
		execve(exe, (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(outp[1]);
	close(infd);
	r->out = slurp(outp[0], &r->out_len);
	close(outp[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st), "%s.native died with a signal", name);
	r->code = WEXITSTATUS(st);
	lseek(errfd, 0, SEEK_SET);
	r->err = slurp(errfd, &r->err_len);
	close(errfd);
}

static void run_guest(const char *name, const char *const *argv, const char *const *envp,
		      const char *in, size_t in_len, struct run *r)
{
	char path[64], err[512];
	size_t len;

	snprintf(path, sizeof path, "%s.wasm", name);
	char *bytes = th_read_file(th_guest(path), &len);
	ck_assert_msg(bytes != NULL, "no %s (make guests)", path);
	wasm_module *m = wasm_module_load((const uint8_t *)bytes, len, err, sizeof err);
	ck_assert_msg(m != NULL, "%s: %s", path, err);
	free(bytes);
	struct rt_result res;
	struct rt_limits lim = {.fuel = 0, .timeout_ms = 20000, .max_memory_bytes = 256u << 20};
	ck_assert_int_eq(rt_run_command(m, argv, envp, (const uint8_t *)in, in_len, &lim, &res), 0);
	ck_assert_msg(res.outcome == RT_OK, "%s: %s: %s", name, rt_outcome_name(res.outcome),
		      res.message);
	r->code = res.exit_code;
	r->out = malloc(res.out_len + 1);
	r->err = malloc(res.err_len + 1);
	ck_assert(r->out && r->err);
	if (res.out_len)
		memcpy(r->out, res.out, res.out_len);
	if (res.err_len)
		memcpy(r->err, res.err, res.err_len);
	r->out_len = res.out_len;
	r->err_len = res.err_len;
	rt_result_free(&res);
	wasm_module_free(m);
}

/* Runs both and compares; `in` may be NULL (empty stdin). */
static void same(const char *name, const char *const *argv, const char *const *envp,
		 const char *in, size_t in_len)
{
	static const char *const no_args[] = {"guest", NULL};
	static const char *const no_env[] = {NULL};
	struct run n, g;

	if (argv == NULL)
		argv = no_args;
	if (envp == NULL)
		envp = no_env;
	run_native(name, argv, envp, in, in_len, &n);
	run_guest(name, argv, envp, in, in_len, &g);
	ck_assert_msg(n.out_len > 0, "%s: native printed nothing", name);
	ck_assert_msg(n.out_len == g.out_len && memcmp(n.out, g.out, n.out_len) == 0,
		      "%s stdout differs:\n--- native (%zu)\n%.*s\n--- wasm (%zu)\n%.*s", name,
		      n.out_len, (int)(n.out_len > 1500 ? 1500 : n.out_len), n.out, g.out_len,
		      (int)(g.out_len > 1500 ? 1500 : g.out_len), g.out);
	ck_assert_msg(n.err_len == g.err_len && memcmp(n.err, g.err, n.err_len) == 0,
		      "%s stderr differs: [%.*s] vs [%.*s]", name, (int)n.err_len, n.err,
		      (int)g.err_len, g.err);
	ck_assert_msg(n.code == g.code, "%s exit code: native %d, wasm %d", name, n.code, g.code);
	free(n.out);
	free(n.err);
	free(g.out);
	free(g.err);
}

START_TEST(printf_and_floats)
{
	same("wasi_printf", NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(malloc_qsort_strings)
{
	same("wasi_alloc", NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(strtod_strtol)
{
	same("wasi_strtod", NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(args_and_getenv)
{
	const char *argv[] = {"guest", "a", "b c", "", "--flag=1", NULL};
	const char *envp[] = {"GUEST_A=alpha", "GUEST_B=", "OTHER=x", "GUEST_Z=last=one", NULL};

	same("wasi_env", argv, envp, NULL, 0);
	same("wasi_env", NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(reading_stdin)
{
	const char *text = "first line here\nsecond, longer line of words\n\n  spaced   out  \nlast";
	same("wasi_stdin", NULL, NULL, text, strlen(text));
	same("wasi_stdin", NULL, NULL, NULL, 0);
	/* 300 KB: many reads through stdio's buffer. */
	size_t big = 300000;
	char *b = malloc(big);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 0; i < big; i++)
		b[i] = (i % 61 == 60) ? '\n' : (char)('a' + (i * 7) % 26);
	same("wasi_stdin", NULL, NULL, b, big);
	free(b);
}
END_TEST

START_TEST(exit_codes)
{
	static const char *const cases[][3] = {
		{"guest", "return", "0"}, {"guest", "return", "3"},  {"guest", "exit", "7"},
		{"guest", "exit", "255"}, {"guest", "_exit", "5"},   {"guest", "atexit", "0"},
		{"guest", "exit", "0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *argv[] = {cases[i][0], cases[i][1], cases[i][2], NULL};
		same("wasi_exit", argv, NULL, NULL, 0);
	}
}
END_TEST

START_TEST(clocks_random_time)
{
	same("wasi_misc", NULL, NULL, NULL, 0);
}
END_TEST

START_TEST(handlers_as_commands)
{
	const char *envp[] = {"REQUEST_METHOD=POST", "PATH_INFO=/a/b", "QUERY_STRING=x=1",
			      "HTTP_X_ONE=1", "HTTP_ACCEPT=*/*", "CONTENT_LENGTH=5", NULL};

	same("hello_handler", NULL, envp, NULL, 0);
	same("hello_handler", NULL, NULL, NULL, 0);
	same("handler_echo", NULL, envp, "hello", 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wasi_guests");
	TCase *tc = tcase_create("guest_vs_native");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, printf_and_floats);
	tcase_add_test(tc, malloc_qsort_strings);
	tcase_add_test(tc, strtod_strtol);
	tcase_add_test(tc, args_and_getenv);
	tcase_add_test(tc, reading_stdin);
	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, clocks_random_time);
	tcase_add_test(tc, handlers_as_commands);
	suite_add_tcase(s, tc);
	return th_main(s);
}
