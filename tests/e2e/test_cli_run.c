/* tests/e2e/test_cli_run.c: `make run` reaches the point where the example handler answers over
 * HTTP through a real agent: runs `scripts/run.sh BUILD --exit-after-check` (its own PostgreSQL,
 * Redis, control plane and agent on ports it picks itself) and checks that it exits 0, said so,
 * and left nothing running. Then the interactive form: run.sh without the flag, interrupted
 * like a Ctrl-C in a terminal (SIGINT to its whole process group), stops everything it started.
 * Also: a bad invocation is refused. */
#include "tests/e2e/test_cli_helpers.h"

#define RUN_TIMEOUT_S 150

/* Starts run.sh with args in a process group of its own, output to log. SIGINT goes back to
 * its default first: a shell ignores signals it was started with ignored (a test runner put in
 * the background), and run.sh's Ctrl-C handling is what is under test. */
static pid_t start_script(const char *log, const char *arg1, const char *arg2)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char *argv[] = {(char *)th_top("scripts/run.sh"), (char *)arg1, (char *)arg2, NULL};
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(126);
		setpgid(0, 0);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid); /* also here: no race with the signals sent below */
	return pid;
}

/* Waits up to timeout_s for pid; returns its exit status, -1 when it had to be stopped
 * (TERM lets run.sh stop what it started; it has 30 s for that). */
static int wait_script(pid_t pid, int timeout_s)
{
	int st;

	for (int waited = 0; waited < timeout_s * 10; waited++) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
		usleep(100000);
	}
	th_stop(pid, SIGTERM, 30000);
	return -1;
}

static int run_script(const char *log, int timeout_s, const char *arg1, const char *arg2)
{
	return wait_script(start_script(log, arg1, arg2), timeout_s);
}

/* The end of the output, for failure messages (libcheck keeps messages short). */
static const char *tail_of(const char *text)
{
	size_t n = strlen(text);

	return n > 3000 ? text + n - 3000 : text;
}

/* Checks that every process run.sh reported ("processes: postgres=P redis=P edgeplane=P
 * edge-agent=P") has exited, allowing a few seconds for the daemons' own shutdown, and that
 * its work folder is gone. */
static void check_nothing_left(const char *text)
{
	static const char *const names[] = {"postgres=", "redis=", "edgeplane=", "edge-agent="};
	const char *line = strstr(text, "processes: "), *workdir = strstr(text, "work folder ");
	char path[512];
	struct stat sb;
	size_t n;

	ck_assert_msg(line != NULL, "run.sh did not list its processes:\n%s", tail_of(text));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *p = strstr(line, names[i]);
		long pid;
		ck_assert_msg(p != NULL, "no %s in: %.200s", names[i], line);
		pid = strtol(p + strlen(names[i]), NULL, 10);
		ck_assert_msg(pid > 1, "no pid for %s in: %.200s", names[i], line);
		for (int k = 0; k < 100 && kill((pid_t)pid, 0) == 0; k++)
			usleep(100000);
		/* Not our child: a zombie cannot linger here, so "exists" means still running. */
		ck_assert_msg(kill((pid_t)pid, 0) != 0 && errno == ESRCH,
			      "%s%ld is still running after run.sh exited", names[i], pid);
	}
	ck_assert_msg(workdir != NULL, "no work folder named:\n%s", tail_of(text));
	n = strcspn(workdir + 12, ")\n");
	snprintf(path, sizeof path, "%.*s", (int)n, workdir + 12);
	ck_assert_msg(stat(path, &sb) != 0, "%s still exists", path);
}

START_TEST(test_run_exit_after_check)
{
	char *dir = th_tmpdir(), *log, *text;
	int code;

	ck_assert(asprintf(&log, "%s/run.log", dir) > 0);
	code = run_script(log, RUN_TIMEOUT_S, th_env("EDGEPLANE_BUILD"), "--exit-after-check");
	text = th_read_file(log, NULL);
	ck_assert_msg(text != NULL, "no output from run.sh");
	ck_assert_msg(code == 0, "run.sh exited %d; the end of its output:\n%s", code,
		      tail_of(text));
	ck_assert_msg(strstr(text, "the example answered over HTTP") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "Hello from Edgeplane!") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "curl -H 'Host: demo.localhost'") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "edgectl pops list") != NULL, "output:\n%s", text);
	ck_assert_msg(strstr(text, "EDGECTL_TOKEN=ept_") != NULL, "output:\n%s", text);
	check_nothing_left(text);
	free(text);
	free(log);
	th_rmrf(dir);
	free(dir);
}
END_TEST

START_TEST(test_run_ctrl_c_stops_everything)
{
	char *dir = th_tmpdir(), *log, *text = NULL;
	pid_t pid;
	int code;
	bool ready = false;

	ck_assert(asprintf(&log, "%s/run.log", dir) > 0);
	pid = start_script(log, th_env("EDGEPLANE_BUILD"), NULL);
	for (int i = 0; i < RUN_TIMEOUT_S * 10 && !ready; i++) {
		free(text);
		text = th_read_file(log, NULL);
		ready = text != NULL && strstr(text, "Press Ctrl-C") != NULL;
		if (!ready && waitpid(pid, NULL, WNOHANG) == pid)
			ck_abort_msg("run.sh exited before it was ready:\n%s",
				     text ? tail_of(text) : "");
		if (!ready)
			usleep(100000);
	}
	if (!ready) {
		th_stop(pid, SIGTERM, 30000);
		ck_abort_msg("run.sh never got ready:\n%s", text ? tail_of(text) : "");
	}
	/* What a terminal does on Ctrl-C: SIGINT to the foreground process group. */
	ck_assert_int_eq(kill(-pid, SIGINT), 0);
	code = wait_script(pid, 60);
	free(text);
	text = th_read_file(log, NULL);
	ck_assert_msg(code == 130, "run.sh exited %d after SIGINT:\n%s", code, tail_of(text));
	ck_assert_msg(strstr(text, "run.sh: stopping") != NULL, "output:\n%s", tail_of(text));
	check_nothing_left(text);
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
	ck_assert_int_eq(run_script(log, 20, NULL, NULL), 2);
	free(log);
	th_rmrf(dir);
	free(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli-run");
	TCase *tc = tcase_create("make-run");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_run_bad_arguments);
	tcase_add_test(tc, test_run_exit_after_check);
	tcase_add_test(tc, test_run_ctrl_c_stops_everything);
	suite_add_tcase(s, tc);
	return th_main(s);
}
