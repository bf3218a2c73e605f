/* runtime/handler.h: runs a WASI command module (`_start`) once, in a fresh instance, with its
 * arguments, environment and stdin, under limits (fuel and/or deadline, memory cap, output caps),
 * capturing stdout/stderr, and reports what happened as an outcome the embedder can map to an
 * HTTP status or an exit code. */
#ifndef RT_HANDLER_H
#define RT_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/wasm.h"

/* Limits of one run. A zero field means "no limit" (the memory cap is then the module's own
 * maximum). */
struct rt_limits {
	uint64_t fuel;             /* instruction budget (see wasm_limits.fuel) */
	uint32_t timeout_ms;       /* deadline from the start of the run */
	bool timeout_cpu;          /* timeout_ms counts the calling thread's CPU time (a guest
				    * waiting for a CPU on a busy machine is not charged), else
				    * wall-clock time */
	uint64_t max_memory_bytes; /* linear memory cap */
	size_t max_stdout;         /* bytes of stdout kept; writing more stops the guest */
	size_t max_stderr;         /* bytes of stderr kept; more is dropped silently */
};

/* What ended the run. */
enum rt_outcome {
	RT_OK = 0,        /* `_start` returned or the guest called proc_exit: see exit_code */
	RT_TRAP,          /* a trap of the spec (unreachable, out of bounds, stack exhausted...) */
	RT_FUEL,          /* the fuel budget ran out */
	RT_TIMEOUT,       /* the deadline passed */
	RT_MEMORY,        /* the memory cap: instantiation needs more, or the guest failed after
			   * memory.grow was refused by the cap */
	RT_OUTPUT_LIMIT,  /* the guest wrote more than max_stdout */
	RT_ERROR          /* the run could not start: no `_start`, unknown import, out of memory */
};

struct rt_result {
	int exit_code;     /* RT_OK: 0 when `_start` returned, else proc_exit's argument;
			    * -1 for every other outcome */
	int outcome;       /* enum rt_outcome */
	char message[256]; /* "" for RT_OK; else what happened ("unreachable executed in ...") */
	uint8_t *out;      /* captured stdout (up to max_stdout; kept on every outcome); may be NULL */
	size_t out_len;
	uint8_t *err;      /* captured stderr (up to max_stderr); may be NULL */
	size_t err_len;
};

/* Error codes of rt_run_command. */
#define RT_E_INVALID (-1) /* NULL module or result */

/* Runs `_start` of m in a fresh instance linked only with WASI preview1 (runtime/wasi.h).
 * argv: NULL-terminated, argv[0] is the program name (NULL: no arguments); envp:
 * NULL-terminated "K=V" (NULL: empty environment); in/in_len: stdin (borrowed). lim NULL means
 * no limits. Every outcome, including a link failure (RT_ERROR), is reported in *res, which the
 * caller releases with rt_result_free; the function returns 0 then, and RT_E_INVALID only for
 * NULL m/res. Thread-safe: concurrent runs of one module are fine. */
int rt_run_command(const wasm_module *m, const char *const *argv, const char *const *envp,
		   const uint8_t *in, size_t in_len, const struct rt_limits *lim,
		   struct rt_result *res);

struct wasi_ctx;

/* Like rt_run_command with a WASI context the caller prepared (wasi_ctx_init, then optionally
 * streaming callbacks; its output limits are used as given, lim's max_stdout/max_stderr are
 * ignored). Whatever ctx captured is left in ctx (res->out/err stay NULL); the caller releases
 * it with wasi_ctx_release. Same return values as rt_run_command. */
int rt_run_wasi(const wasm_module *m, struct wasi_ctx *ctx, const struct rt_limits *lim,
		struct rt_result *res);

/* Frees res->out and res->err and empties *res. NULL is a no-op. Both buffers are plain
 * malloc() memory: a caller may take one (keep the pointer, set the field to NULL) and free() it
 * later, e.g. to hand the body to the HTTP server without a copy. */
void rt_result_free(struct rt_result *res);

/* Short name of an outcome ("ok", "trap", "fuel", "timeout", "memory", "output_limit",
 * "error"). Static string. */
const char *rt_outcome_name(int outcome);

#endif
