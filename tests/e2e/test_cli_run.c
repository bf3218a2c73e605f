/* tests/e2e/test_cli_run.c: `make run` reaches the point where the example handler answers over
 * HTTP through a real agent: runs `scripts/run.sh BUILD --exit-after-check` (its own PostgreSQL,
 * Redis, control plane and agent on ports it picks itself) and checks that it exits 0, said so,
 * and left nothing running. Also: a bad invocation is refused. */
#include "tests/e2e/test_cli_helpers.h"

/* Runs run.sh with args, output to log; kills it (TERM: it cleans up) after timeout_s.
 * Returns the exit status, -1 when it had to be stopped. */
static int run_script(const char *log, int timeout_s, const char *arg1, const char *arg2)
{
	char *argv[] = {(char *)th_top("scripts/run.sh"), (char *)arg1, (char *)arg2, NULL};
	pid_t pid = th_spawn(argv, NULL, log);
	int st;

	for (int waited = 0; waited < timeout_s * 10; waited++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(100000);
	}
	/* TERM lets run.sh stop what it started; it has 30 s for that. */
	th_stop(pid, SIGTERM, 30000);
	return -1;
}

START_TEST(test_run_exit_after_check)
{
	char *dir = th_tmpdir(), *log, *text, *workdir;
	int code;

	ck_assert(asprintf(&log, "%s/run.log", dir) > 0);
	code = run_script(log, 150, th_env("EDGEPLANE_BUILD"), "--exit-after-check");
	text = th_read_file(log, NULL);
	ck_assert_msg(text != NULL, "no output from run.sh");
	/* libcheck keeps messages short: the end of the output says what went wrong. */
	ck_assert_msg(code == 0, "run.sh exited %d; the end of its output:\n%s", code,
		      strlen(text) > 3000 ? text + strlen(text) - 3000 : text);
	ck_assert_msg(strstr(text, "the example answered over HTTP") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "curl -H 'Host: demo.localhost'") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "edgectl") != NULL, "output:\n%s", text);
	/* It removed its work folder (and with it the services' data). */
	workdir = strstr(text, "work folder ");
	ck_assert_ptr_nonnull(workdir);
	{
		char path[512];
		struct stat sb;
		size_t n = strcspn(workdir + 12, ")\n");
		snprintf(path, sizeof path, "%.*s", (int)n, workdir + 12);
		ck_assert_msg(stat(path, &sb) != 0, "%s still exists", path);
	}
	free(text);
	free(log);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_run_bad_arguments)
{
	char *dir = th_tmpdir(), *log;

	ck_assert(asprintf(&log, "%s/run.log", dir) > 0);
	ck_assert_int_eq(run_script(log, 20, th_env("EDGEPLANE_BUILD"), "--frobnicate"), 2);
	ck_assert_int_eq(run_script(log, 20, "/nonexistent-build", "--exit-after-check"), 2);
	free(log);
	th_rmrf(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli-run");
	TCase *tc = tcase_create("make-run");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 200);
	tcase_add_test(tc, test_run_bad_arguments);
	tcase_add_test(tc, test_run_exit_after_check);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
