/* runtime/wasi.h: WASI preview1 ("wasi_snapshot_preview1") as host functions of the engine.
 * A guest gets exactly the capabilities of DESIGN.md's Handler ABI: its arguments and
 * environment, clocks, random bytes, stdin from a buffer, stdout/stderr into bounded buffers,
 * proc_exit and sched_yield. Every other preview1 function is linked too (so any wasi-libc
 * program instantiates) and answers EBADF (a file descriptor that is not stdio: there are no
 * preopened directories, files or sockets) or ENOSYS. */
#ifndef RT_WASI_H
#define RT_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/wasm.h"

/* WASI errno values used here (preview1 `errno` enum). */
#define WASI_ESUCCESS 0
#define WASI_E2BIG 1
#define WASI_EBADF 8
#define WASI_EFAULT 21
#define WASI_EINVAL 28
#define WASI_EIO 29
#define WASI_ENOSYS 52
#define WASI_ENOTSUP 58
#define WASI_ESPIPE 70

/* A bounded capture buffer for stdout or stderr. Private to wasi.c except `data`/`len`. */
struct wasi_out {
	uint8_t *data;  /* malloc'ed, owned by the context until taken (wasi_ctx_take_out) */
	size_t len;     /* bytes captured */
	size_t cap;     /* allocated bytes */
	size_t max;     /* capture limit; 0 = unlimited */
	bool overflow;  /* the guest tried to write past max */
};

/* The per-run state of one guest: what its WASI calls see and produce. The embedder allocates it
 * (usually on its stack), fills it with wasi_ctx_init and attaches it to the instance with
 * wasm_instance_set_userdata before running the guest. Not shared between threads. */
struct wasi_ctx {
	const char *const *argv;  /* borrowed, NULL-terminated (argv[0] = program name) */
	const char *const *envp;  /* borrowed, NULL-terminated "K=V" */
	const uint8_t *in;        /* borrowed stdin bytes */
	size_t in_len;
	size_t in_pos;            /* bytes of stdin consumed */
	struct wasi_out out;      /* stdout capture */
	struct wasi_out err;      /* stderr capture */
	bool stdout_overflow_traps; /* true: a write past out.max stops the guest (RT_OUTPUT_LIMIT);
				     * false: the excess is dropped silently */
	/* Optional streaming I/O (e.g. a command-line runner): when read_fn is set, stdin comes from
	 * it instead of `in` (returns bytes read, 0 at end, -1 on error = EIO); when write_fn is
	 * set, stdout/stderr bytes go to it instead of the buffers (0, or -1 = EIO). The limits
	 * still count the bytes. Both are called on the guest's thread, with io_arg. */
	long (*read_fn)(void *io_arg, uint8_t *dst, size_t n);
	int (*write_fn)(void *io_arg, int fd, const uint8_t *src, size_t n);
	void *io_arg;
	bool closed[3];           /* fd_close was called on 0/1/2 */
	bool exited;              /* proc_exit was called */
	int exit_code;            /* its argument */
};

/* Prepares ctx for one run. The strings and stdin bytes are borrowed: they must outlive the run.
 * argv and envp may be NULL (none). max_out/max_err: capture limits in bytes (0 = unlimited);
 * a stdout write past max_out stops the guest with a WASM_TRAP_HOST trap (and out.overflow set),
 * stderr past max_err is dropped (err.overflow set). Never fails (buffers grow on first write). */
void wasi_ctx_init(struct wasi_ctx *ctx, const char *const *argv, const char *const *envp,
		   const uint8_t *in, size_t in_len, size_t max_out, size_t max_err);

/* Frees the capture buffers still owned by ctx. The ctx may then be initialised again. */
void wasi_ctx_release(struct wasi_ctx *ctx);

/* Hands the stdout (fd 1) or stderr (fd 2) capture to the caller (free() it): *out_len gets its
 * length; the pointer may be NULL when nothing was written. ctx no longer owns it. */
uint8_t *wasi_ctx_take_output(struct wasi_ctx *ctx, int fd, size_t *out_len);

/* Registers every wasi_snapshot_preview1 function in imp (see the top of this file). The host
 * functions find their wasi_ctx through wasm_instance_userdata(): an instance run without one
 * gets EBADF/ENOSYS from every call and proc_exit still works. 0, or -1 on out-of-memory. */
int wasi_imports_add(wasm_imports *imp);

/* A process-wide import set holding only the WASI functions, created on first use (thread-safe)
 * and never freed. Shared read-only by every instantiation; NULL if it could not be built. */
const wasm_imports *wasi_imports_shared(void);

#endif
