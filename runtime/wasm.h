/* Edgeplane's WebAssembly 2.0 engine (no SIMD): the public embedding API.
 *
 * A module is decoded, fully validated and compiled once (wasm_module_load) into an immutable
 * object that any number of threads may instantiate concurrently. An instance is cheap to create,
 * owns its memory, tables and globals, and is used by one thread at a time. Guest faults are
 * values (wasm_trap), never signals: the engine never touches memory it does not own.
 *
 * Host functions are registered in a wasm_imports set with a signature string; linking checks
 * every import's type. Signature strings list parameter then result types, separated by "->":
 *   i = i32, I = i64, f = f32, F = f64, r = funcref, x = externref.   e.g. "iiii->i", "i->", "->"
 */
#ifndef WASM_H
#define WASM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct wasm_module wasm_module;     /* compiled module: immutable, thread-shareable */
typedef struct wasm_instance wasm_instance; /* one instantiation: single-threaded */
typedef struct wasm_imports wasm_imports;   /* named host functions and registered instances */

/* Value types, with their binary encodings. */
typedef enum wasm_valtype {
	WASM_I32 = 0x7f,
	WASM_I64 = 0x7e,
	WASM_F32 = 0x7d,
	WASM_F64 = 0x7c,
	WASM_FUNCREF = 0x70,
	WASM_EXTERNREF = 0x6f
} wasm_valtype;

/* One Wasm value. Which member is meaningful follows from the type (which the caller knows from
 * the signature). i32/f32 occupy the low 32 bits. A null reference is ref == NULL; an externref is
 * any host pointer (non-NULL = non-null reference); a funcref is an engine-owned opaque pointer. */
typedef union wasm_value {
	uint32_t i32;
	uint64_t i64;
	float f32;
	double f64;
	void *ref;
} wasm_value;

/* Outcome of running guest code. 0 is success; every other value is a trap or a limit. */
typedef enum wasm_trap {
	WASM_OK = 0,
	WASM_TRAP_UNREACHABLE,        /* `unreachable` executed */
	WASM_TRAP_INT_OVERFLOW,       /* integer overflow (div_s INT_MIN/-1, trunc out of range) */
	WASM_TRAP_DIV_ZERO,           /* integer divide (or remainder) by zero */
	WASM_TRAP_INVALID_CONVERSION, /* float-to-int trunc of NaN */
	WASM_TRAP_OOB_MEMORY,         /* out-of-bounds memory access (incl. memory.fill/copy/init) */
	WASM_TRAP_OOB_TABLE,          /* out-of-bounds table access (incl. call_indirect index) */
	WASM_TRAP_INDIRECT_MISMATCH,  /* call_indirect signature mismatch */
	WASM_TRAP_NULL_REFERENCE,     /* call_indirect on an uninitialized (null) element */
	WASM_TRAP_STACK_EXHAUSTED,    /* call stack exhausted (deep recursion) */
	WASM_TRAP_FUEL_EXHAUSTED,     /* instruction budget (wasm_limits.fuel) used up */
	WASM_TRAP_DEADLINE,           /* wall-clock deadline (wasm_limits.deadline_ns) passed */
	WASM_TRAP_MEMORY_LIMIT,       /* instantiation needs more memory than the cap allows */
	WASM_TRAP_HOST,               /* a host function reported an error */
	WASM_TRAP_EXIT,               /* a host function requested exit (see wasm_instance_exit_code) */
	WASM_TRAP_NOMEM,              /* the engine could not allocate memory */
	WASM_TRAP_LINK,               /* instantiation: an import is missing or has the wrong type */
	WASM_TRAP_BAD_CALL            /* invoke: no such export, not a function, or wrong arity */
} wasm_trap;

/* Short English name of a trap kind ("out of bounds memory access", ...). Static string. */
const char *wasm_trap_name(wasm_trap t);

/* ---- Modules ---------------------------------------------------------------------------- */

/* Decodes, validates (all rules of the WebAssembly 2.0 spec, minus SIMD) and compiles `bytes`.
 * On success returns a module that the caller owns (free with wasm_module_free); `bytes` may be
 * released afterwards (the module keeps what it needs). On failure returns NULL and writes a
 * human-readable message saying what and where (section, function index, byte offset) into
 * err[0..errlen) (err may be NULL). Thread-safe. */
wasm_module *wasm_module_load(const uint8_t *bytes, size_t len, char *err, size_t errlen);

/* Frees a module. Every instance of it must have been freed first. NULL is a no-op. */
void wasm_module_free(wasm_module *m);

/* Export/import introspection. Index i ranges over [0, count). Returned strings are owned by the
 * module. kind: 0 = function, 1 = table, 2 = memory, 3 = global (the binary encoding). */
uint32_t wasm_module_export_count(const wasm_module *m);
const char *wasm_module_export_name(const wasm_module *m, uint32_t i, int *out_kind);
uint32_t wasm_module_import_count(const wasm_module *m);
const char *wasm_module_import_name(const wasm_module *m, uint32_t i, const char **out_module,
				    int *out_kind);

/* Signature of the exported function `name` as a signature string (see top of file) written to
 * buf[0..buflen). Returns 0, or -1 if there is no such function export or buf is too small. */
int wasm_module_export_signature(const wasm_module *m, const char *name, char *buf, size_t buflen);
/* The same for a name given as bytes (a Wasm name may hold NUL bytes). */
int wasm_module_export_signature_n(const wasm_module *m, const char *name, size_t name_len,
				   char *buf, size_t buflen);

/* ---- Imports ---------------------------------------------------------------------------- */

/* A host function. `args` holds the parameters, `results` receives the results (they never
 * alias). Return WASM_OK, or the result of wasm_instance_trapf / wasm_instance_exit to stop the
 * guest. `inst` is the calling instance (for memory access and wasm_instance_userdata). */
typedef wasm_trap (*wasm_host_fn)(wasm_instance *inst, void *user, const wasm_value *args,
				  wasm_value *results);

/* Creates an empty import set; NULL on out-of-memory. Owned by the caller (wasm_imports_free).
 * An import set may be shared read-only by many concurrent instantiations once filled in. */
wasm_imports *wasm_imports_create(void);
void wasm_imports_free(wasm_imports *imp); /* NULL is a no-op; instances made with it survive */

/* Adds host function module.name with signature `sig` (see top of file). The strings are
 * copied; `user` is passed to fn as is. Returns 0, or -1 on a bad signature or out-of-memory.
 * A later registration of the same name replaces the earlier one. */
int wasm_imports_add_func(wasm_imports *imp, const char *module, const char *name, const char *sig,
			  wasm_host_fn fn, void *user);

/* Makes every export of `inst` importable under module name `module` (the spec's "register").
 * `inst` is borrowed: it must outlive every instance linked with this import set. Functions,
 * tables, memories and globals are then shared, not copied. Returns 0 or -1 (out-of-memory). */
int wasm_imports_add_instance(wasm_imports *imp, const char *module, wasm_instance *inst);

/* ---- Instances -------------------------------------------------------------------------- */

/* Per-instance limits. Zero fields mean "no limit" (or the module's own maximum). */
struct wasm_limits {
	uint64_t fuel;             /* instruction budget, charged per block of straight-line code at
				    * function entry and loop back-edges (bulk memory/table operations
				    * add one unit per 64 bytes); 0 = unlimited. Consumed across
				    * invocations. */
	uint64_t deadline_ns;      /* absolute CLOCK_MONOTONIC time in ns; 0 = none */
	uint64_t cpu_ns;           /* CPU time the instance may use from when the limits are set,
				    * on the setting thread's clock (CLOCK_THREAD_CPUTIME_ID), so
				    * that waiting for a CPU on a busy machine is not charged; the
				    * instance must then run on that thread. 0 = none. Running out
				    * is WASM_TRAP_DEADLINE too. */
	uint64_t max_memory_bytes; /* cap on linear memory below the module's maximum; 0 = none */
	uint32_t max_call_depth;   /* nested Wasm calls; 0 = default (WASM_DEFAULT_CALL_DEPTH) */
};
#define WASM_DEFAULT_CALL_DEPTH 20000

/* Instantiates `m`: resolves imports from `imp` (may be NULL if none), creates memory (from the
 * module's pristine image), tables and globals, applies element and data segments and runs the
 * start function under `lim` (NULL = no limits). `m` and `imp`'s registered instances must outlive
 * the instance. Returns WASM_OK and stores the instance (owned by the caller, wasm_instance_free)
 * in *out; otherwise *out = NULL, the return value says why (WASM_TRAP_LINK for an unresolvable
 * import, WASM_TRAP_MEMORY_LIMIT, WASM_TRAP_NOMEM, or the trap of a segment or start function)
 * and err[0..errlen) holds a message. */
wasm_trap wasm_instance_create(const wasm_module *m, const wasm_imports *imp,
			       const struct wasm_limits *lim, wasm_instance **out, char *err,
			       size_t errlen);

/* Frees an instance and the memory/tables/globals it defines. NULL is a no-op. */
void wasm_instance_free(wasm_instance *inst);

/* Calls exported function `name` with args[0..nargs); writes the results to results[0..nresults).
 * nargs and nresults must match the function type (else WASM_TRAP_BAD_CALL). Returns WASM_OK or
 * the trap; details in wasm_instance_errmsg. An instance is left usable after a trap (its state is
 * whatever the guest had written), but a guest that trapped should normally be discarded. */
wasm_trap wasm_instance_invoke(wasm_instance *inst, const char *name, const wasm_value *args,
			       size_t nargs, wasm_value *results, size_t nresults);
/* The same for a name given as bytes name[0..name_len) (a Wasm name may hold NUL bytes). */
wasm_trap wasm_instance_invoke_n(wasm_instance *inst, const char *name, size_t name_len,
				 const wasm_value *args, size_t nargs, wasm_value *results,
				 size_t nresults);

/* Reads exported global `name` into *out (and its type into *out_type if not NULL). 0 or -1. */
int wasm_instance_global_get(const wasm_instance *inst, const char *name, wasm_value *out,
			     wasm_valtype *out_type);

/* The module an instance was made from (borrowed). */
const wasm_module *wasm_instance_module(const wasm_instance *inst);

/* Message of the last trap or error of this instance ("" if none). Owned by the instance, valid
 * until the next call into it. */
const char *wasm_instance_errmsg(const wasm_instance *inst);

/* Exit code stored by wasm_instance_exit (valid after a WASM_TRAP_EXIT). */
int wasm_instance_exit_code(const wasm_instance *inst);

/* Fuel left (the limit minus what was consumed); UINT64_MAX if unlimited. */
uint64_t wasm_instance_fuel_left(const wasm_instance *inst);

/* Replaces the fuel, deadline and call-depth limits of an instance between invocations (fuel is
 * reset to lim->fuel; NULL = no limits). The memory cap stays as set at instantiation. */
void wasm_instance_set_limits(wasm_instance *inst, const struct wasm_limits *lim);

/* Embedder data attached to the instance (e.g. the WASI context). Not owned by the engine. */
void wasm_instance_set_userdata(wasm_instance *inst, void *data);
void *wasm_instance_userdata(const wasm_instance *inst);

/* For host functions: record a trap of kind `kind` (usually WASM_TRAP_HOST) with a printf-style
 * message and return `kind`, so a host function can `return wasm_instance_trapf(...)`. */
wasm_trap wasm_instance_trapf(wasm_instance *inst, wasm_trap kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* For host functions: request that the guest stop with exit code `code`; returns
 * WASM_TRAP_EXIT, which the host function must return. */
wasm_trap wasm_instance_exit(wasm_instance *inst, int code);

/* ---- Guest memory (memory index 0), bounds-checked ------------------------------------------ */

/* Current size of the instance's memory in bytes (0 if it has none). */
uint64_t wasm_memory_size(const wasm_instance *inst);

/* Pointer to guest bytes [addr, addr+len), or NULL if the range is out of bounds (or there is no
 * memory). The pointer is valid only until the guest runs again or memory grows. */
uint8_t *wasm_memory_ptr(wasm_instance *inst, uint64_t addr, uint64_t len);

/* Copy between guest memory and host buffers; 0, or -1 if [addr, addr+len) is out of bounds
 * (nothing is copied then). */
int wasm_memory_read(const wasm_instance *inst, uint64_t addr, void *dst, size_t len);
int wasm_memory_write(wasm_instance *inst, uint64_t addr, const void *src, size_t len);

#ifdef __cplusplus
}
#endif
#endif
