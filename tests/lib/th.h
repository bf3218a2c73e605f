/* tests/lib/th.h: helpers for the integration and end-to-end suites: real processes of our
 * programs, the private PostgreSQL/Redis of scripts/services.sh, and HTTP over libcurl.
 * Every function that fails calls ck_abort_msg (the test fails with the reason). */
#ifndef TESTS_TH_H
#define TESTS_TH_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Value of a required environment variable (set by scripts/run-suite.sh / services.sh). */
const char *th_env(const char *name);
/* "$EDGEPLANE_BIN/<prog>", "$EDGEPLANE_GUESTS/<name>", "$EDGEPLANE_TOP/<rel>": static buffers
 * rotate, so copy a result you keep across more than 8 calls. */
const char *th_bin(const char *prog);
const char *th_guest(const char *name);
const char *th_top(const char *rel);
/* A fresh temporary folder (caller frees the string; th_rmrf removes it). */
char *th_tmpdir(void);
void th_rmrf(const char *dir);
/* A TCP port on 127.0.0.1 nobody listens on right now. */
int th_free_port(void);
/* Creates a new, empty database on the private PostgreSQL; returns its URL (caller frees). */
char *th_fresh_db(void);
/* Reads a whole file; NULL if it cannot (caller frees). */
char *th_read_file(const char *path, size_t *len);
bool th_write_file(const char *path, const void *data, size_t len);

/* Starts argv with the current environment plus `env` ("K=V", NULL-terminated, may be NULL);
 * stdout and stderr go to `log_path` (appended) when given. */
pid_t th_spawn(char *const argv[], char *const env[], const char *log_path);
/* Runs argv to completion; returns its exit status (-1 if killed) and, if `out` is given,
 * its stdout (caller frees). */
int th_run(char *const argv[], char *const env[], char **out);
/* Sends `sig` and waits up to timeout_ms; returns the exit status, or -1 (then SIGKILLed). */
int th_stop(pid_t pid, int sig, int timeout_ms);

struct th_resp {
	long status;    /* 0 when the request could not be made */
	char *body;     /* NUL-terminated */
	size_t len;
	char *headers;  /* raw header block, NUL-terminated */
	json_t *json;   /* parsed body when it is JSON, else NULL */
};
/* One HTTP request. token may be NULL (no Authorization); content_type NULL means JSON when a
 * body is given; extra_headers is a NULL-terminated list of "Name: value" (may be NULL). */
bool th_http(struct th_resp *r, const char *method, const char *url, const char *token,
	     const char *content_type, const void *body, size_t len, const char *const *extra_headers);
/* Shorthand: JSON body from a format string (may be NULL); returns the status. */
long th_req(struct th_resp *r, const char *method, const char *url, const char *token,
	    const char *json_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Value of a response header (case-insensitive), copied into a static buffer; NULL if absent. */
const char *th_header(const struct th_resp *r, const char *name);
void th_resp_free(struct th_resp *r);
/* Polls url until it answers 200 or timeout_ms passes. */
bool th_wait_http(const char *url, int timeout_ms);

/* A running `edgeplane serve` on its own fresh database, signing key and port. */
struct th_cp {
	pid_t pid;
	int port;
	char url[64];         /* http://127.0.0.1:PORT */
	char *db_url;
	char *dir;            /* temp folder: signing key, log */
	char *key_path;
	char *log_path;
	char *admin_token;    /* from `edgeplane token create --role admin` */
};
/* Fresh database, `edgeplane keygen`, `edgeplane token create`, then `edgeplane serve` with the
 * private Redis; waits for /healthz. `env` adds variables (may be NULL). */
void th_cp_start(struct th_cp *cp, char *const env[]);
/* Starts `edgeplane serve` again on the same database, key and port (after th_cp_kill). */
void th_cp_restart(struct th_cp *cp, char *const env[]);
void th_cp_kill(struct th_cp *cp, int sig);
/* Stops the process and removes its folder. */
void th_cp_stop(struct th_cp *cp);
/* "<cp url><path>" in a static rotating buffer. */
const char *th_cp_url(const struct th_cp *cp, const char *path);

/* Checks Prometheus text: every sample belongs to the family of the TYPE line above it
 * (histograms: NAME_bucket, _sum, _count) and no family appears twice. NULL when it holds,
 * else what is wrong (static buffer). */
const char *th_prom_check(const char *text);

/* Runs every test of s (takes ownership of s) and returns the exit code for main(): 0 when
 * all passed, 1 otherwise. */
int th_main(Suite *s);

#endif
