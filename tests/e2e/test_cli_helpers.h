/* tests/e2e/test_cli_helpers.h: what the edgectl end-to-end programs share: running the real
 * edgectl binary against a real control plane and capturing its exit code, stdout and stderr.
 * Included by tests/e2e/test_cli*.c only (each is its own program). */
#ifndef TEST_CLI_HELPERS_H
#define TEST_CLI_HELPERS_H

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/th.h"

#define CLI_UNUSED __attribute__((unused))

/* One edgectl run: exit code (-1 when killed), its stdout and stderr (NUL-terminated, owned). */
struct ctl_out {
	int code;
	char *out;
	char *err;
	json_t *json; /* stdout parsed when it is JSON */
};

static CLI_UNUSED void ctl_free(struct ctl_out *o)
{
	free(o->out);
	free(o->err);
	if (o->json != NULL)
		json_decref(o->json);
	memset(o, 0, sizeof *o);
}

/* Runs edgectl with argv (NULL-terminated, without the program) and EDGECTL_URL/TOKEN set to
 * url/token (either may be NULL: then the variable is removed). Output goes through temporary
 * files, so a large output cannot block the child. */
static CLI_UNUSED int ctl_runv(struct ctl_out *o, const char *url, const char *token,
			       const char *tenant, char *const args[])
{
	char *dir = th_tmpdir();
	char outp[512], errp[512];
	char *argv[64];
	size_t n = 0;
	pid_t pid;
	int st;

	memset(o, 0, sizeof *o);
	argv[n++] = strdup(th_bin("edgectl"));
	for (size_t i = 0; args[i] != NULL && n < 63; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(outp, sizeof outp, "%s/out", dir);
	snprintf(errp, sizeof errp, "%s/err", dir);
	pid = fork();
	ck_assert_msg(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fo = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fi = open("/dev/null", O_RDONLY);
		if (fo < 0 || fe < 0 || fi < 0)
			_exit(126);
		dup2(fi, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		if (url != NULL)
			setenv("EDGECTL_URL", url, 1);
		else
			unsetenv("EDGECTL_URL");
		if (token != NULL)
			setenv("EDGECTL_TOKEN", token, 1);
		else
			unsetenv("EDGECTL_TOKEN");
		if (tenant != NULL)
			setenv("EDGECTL_TENANT", tenant, 1);
		else
			unsetenv("EDGECTL_TENANT");
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	o->code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	o->out = th_read_file(outp, NULL);
	o->err = th_read_file(errp, NULL);
	if (o->out == NULL)
		o->out = strdup("");
	if (o->err == NULL)
		o->err = strdup("");
	o->json = json_loads(o->out, 0, NULL);
	th_rmrf(dir);
	free(dir);
	free(argv[0]);
	return o->code;
}

/* ctl_runv with the arguments inline: ctl(&o, url, token, tenant, "tenants", "list", NULL). */
static CLI_UNUSED int ctl(struct ctl_out *o, const char *url, const char *token,
			  const char *tenant, ...)
{
	char *args[64];
	size_t n = 0;
	va_list ap;

	va_start(ap, tenant);
	for (char *a = va_arg(ap, char *); a != NULL && n < 63; a = va_arg(ap, char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	return ctl_runv(o, url, token, tenant, args);
}

/* A string member of obj, or "" (borrowed). */
static CLI_UNUSED const char *jstr(json_t *obj, const char *key)
{
	const char *v = json_string_value(json_object_get(obj, key));

	return v != NULL ? v : "";
}

/* The first line of s, copied (caller frees). */
static CLI_UNUSED char *first_line(const char *s)
{
	size_t n = strcspn(s, "\r\n");
	char *l = malloc(n + 1);

	ck_assert(l != NULL);
	memcpy(l, s, n);
	l[n] = '\0';
	return l;
}

/* Writes `len` bytes to dir/name; returns the path (caller frees). */
static CLI_UNUSED char *write_tmp(const char *dir, const char *name, const void *data, size_t len)
{
	char *p;

	ck_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	ck_assert_msg(th_write_file(p, data, len), "cannot write %s", p);
	return p;
}

/* A valid variant of a module: the same code plus a custom section carrying `tag`, so its
 * digest differs (a new version) while it behaves the same. Caller frees. */
static CLI_UNUSED unsigned char *wasm_variant(const unsigned char *wasm, size_t len,
					      const char *tag, size_t *out_len)
{
	size_t tl = strlen(tag);
	/* custom section: id 0, size (LEB128, < 128 here), name length 1, name "x", payload */
	size_t sec = 2 + tl;
	unsigned char *o = malloc(len + 2 + sec);

	ck_assert(o != NULL && sec < 128);
	memcpy(o, wasm, len);
	o[len] = 0;
	o[len + 1] = (unsigned char)sec;
	o[len + 2] = 1;
	o[len + 3] = 'x';
	memcpy(o + len + 4, tag, tl);
	*out_len = len + 2 + sec;
	return o;
}

#endif
