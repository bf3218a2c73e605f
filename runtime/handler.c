/* runtime/handler.c: one run of a WASI command (rt_run_command): instantiate, attach a WASI
 * context, call `_start` under the limits, and classify how it ended. Everything per run lives
 * on the stack except the instance (the engine's) and the capture buffers (handed out). */
#include "runtime/handler.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/wasi.h"

/* A trap that follows a refused memory.grow is reported as RT_MEMORY: the engine does not say
 * whether a grow was refused, so "memory within this distance of the cap" stands for it (a
 * guest's allocator asks for at most a few MiB at a time). */
#define NEAR_CAP_BYTES (4u << 20)

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void set_outcome(struct rt_result *res, int outcome, const char *msg)
{
	res->outcome = outcome;
	res->exit_code = outcome == RT_OK ? res->exit_code : -1;
	snprintf(res->message, sizeof res->message, "%s", msg ? msg : "");
}

/* Maps how `_start` (or instantiation) ended to an outcome. */
static void classify(struct rt_result *res, wasm_trap t, const char *msg, wasm_instance *inst,
		     const struct wasi_ctx *ctx, const struct rt_limits *lim)
{
	switch (t) {
	case WASM_OK:
		res->exit_code = 0;
		set_outcome(res, RT_OK, NULL);
		return;
	case WASM_TRAP_EXIT:
		res->exit_code = inst ? wasm_instance_exit_code(inst) : ctx->exit_code;
		set_outcome(res, RT_OK, NULL);
		return;
	case WASM_TRAP_FUEL_EXHAUSTED:
		set_outcome(res, RT_FUEL, msg);
		return;
	case WASM_TRAP_DEADLINE:
		set_outcome(res, RT_TIMEOUT, msg);
		return;
	case WASM_TRAP_MEMORY_LIMIT:
		set_outcome(res, RT_MEMORY, msg);
		return;
	case WASM_TRAP_NOMEM:
	case WASM_TRAP_LINK:
	case WASM_TRAP_BAD_CALL:
		set_outcome(res, RT_ERROR, msg);
		return;
	case WASM_TRAP_HOST:
		if (ctx->out.overflow) {
			set_outcome(res, RT_OUTPUT_LIMIT, msg);
			return;
		}
		break;
	default:
		break;
	}
	if (inst != NULL && lim != NULL && lim->max_memory_bytes != 0 &&
	    wasm_memory_size(inst) + NEAR_CAP_BYTES >= lim->max_memory_bytes) {
		char m[256];
		snprintf(m, sizeof m, "memory limit of %llu bytes reached, then: %.180s",
			 (unsigned long long)lim->max_memory_bytes, msg ? msg : "");
		set_outcome(res, RT_MEMORY, m);
		return;
	}
	set_outcome(res, RT_TRAP, msg);
}

int rt_run_wasi(const wasm_module *m, struct wasi_ctx *ctx, const struct rt_limits *lim,
		struct rt_result *res)
{
	struct wasm_limits wl = {0};
	wasm_instance *inst = NULL;
	char sig[16], err[256] = "";

	if (res == NULL)
		return RT_E_INVALID;
	memset(res, 0, sizeof *res);
	res->exit_code = -1;
	if (m == NULL || ctx == NULL) {
		set_outcome(res, RT_ERROR, "no module or context");
		return RT_E_INVALID;
	}
	if (wasm_module_export_signature(m, "_start", sig, sizeof sig) != 0 ||
	    strcmp(sig, "->") != 0) {
		set_outcome(res, RT_ERROR, "module has no `_start` function of type [] -> []");
		return 0;
	}
	const wasm_imports *imp = wasi_imports_shared();
	if (imp == NULL) {
		set_outcome(res, RT_ERROR, "out of memory building the WASI imports");
		return 0;
	}
	if (lim != NULL) {
		wl.fuel = lim->fuel;
		wl.max_memory_bytes = lim->max_memory_bytes;
		if (lim->timeout_ms != 0 && lim->timeout_cpu)
			wl.cpu_ns = (uint64_t)lim->timeout_ms * 1000000ull;
		else if (lim->timeout_ms != 0)
			wl.deadline_ns = monotonic_ns() + (uint64_t)lim->timeout_ms * 1000000ull;
	}
	wasm_trap t = wasm_instance_create(m, imp, &wl, &inst, err, sizeof err);
	if (t != WASM_OK) {
		classify(res, t, err, NULL, ctx, lim);
		return 0;
	}
	wasm_instance_set_userdata(inst, ctx);
	t = wasm_instance_invoke(inst, "_start", NULL, 0, NULL, 0);
	classify(res, t, wasm_instance_errmsg(inst), inst, ctx, lim);
	wasm_instance_free(inst);
	return 0;
}

int rt_run_command(const wasm_module *m, const char *const *argv, const char *const *envp,
		   const uint8_t *in, size_t in_len, const struct rt_limits *lim,
		   struct rt_result *res)
{
	struct wasi_ctx ctx;

	wasi_ctx_init(&ctx, argv, envp, in, in_len, lim ? lim->max_stdout : 0,
		      lim ? lim->max_stderr : 0);
	int rc = rt_run_wasi(m, &ctx, lim, res);
	if (rc == 0) {
		res->out = wasi_ctx_take_output(&ctx, 1, &res->out_len);
		res->err = wasi_ctx_take_output(&ctx, 2, &res->err_len);
	}
	wasi_ctx_release(&ctx);
	return rc;
}

void rt_result_free(struct rt_result *res)
{
	if (res == NULL)
		return;
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof *res);
}

const char *rt_outcome_name(int outcome)
{
	switch (outcome) {
	case RT_OK: return "ok";
	case RT_TRAP: return "trap";
	case RT_FUEL: return "fuel";
	case RT_TIMEOUT: return "timeout";
	case RT_MEMORY: return "memory";
	case RT_OUTPUT_LIMIT: return "output_limit";
	case RT_ERROR: return "error";
	default: return "unknown";
	}
}
