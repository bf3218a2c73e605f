/* Internals of the Wasm engine shared by its files: the decoded module, compiled code format,
 * instance layout and the interpreter entry. Not part of the public API (see runtime/wasm.h). */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "runtime/wasm.h"

#define RT_PAGE 65536u
#define RT_MAX_PAGES 65536u
#define RT_MAX_LOCALS 50000u      /* implementation limit on params + locals of one function */
#define RT_MAX_FRAME_SLOTS 200000u /* locals + operand stack of one function */
#define RT_STACK_SLOTS (1u << 20) /* value stack of one invocation (8 MiB, touched lazily) */
#define RT_MAX_IMAGE (16u << 20)  /* largest pristine memory image kept per module */

/* Value type "unknown" used by validation for the polymorphic stack after unreachable code. */
#define RT_UNKNOWN 0

/* Import/export kinds, as encoded in the binary. */
enum { RT_EXT_FUNC = 0, RT_EXT_TABLE = 1, RT_EXT_MEMORY = 2, RT_EXT_GLOBAL = 3 };

struct rt_functype {
	uint32_t nparams, nresults;
	uint8_t *types; /* nparams parameter types followed by nresults result types */
};

struct rt_limits {
	uint64_t min, max; /* max valid only if has_max */
	bool has_max;
};

struct rt_tabletype {
	uint8_t elem; /* WASM_FUNCREF or WASM_EXTERNREF */
	struct rt_limits lim;
};

struct rt_globaltype {
	uint8_t type;
	bool mut;
};

/* A constant expression (Wasm 2.0 allows exactly one producing instruction). */
enum { RT_CE_CONST, RT_CE_GLOBAL, RT_CE_REF_NULL, RT_CE_REF_FUNC };
struct rt_constexpr {
	uint8_t kind;
	wasm_value v; /* RT_CE_CONST */
	uint32_t idx; /* global or function index */
};

/* Wasm names are byte strings that may hold NUL: each is kept with its length (and
 * NUL-terminated as well, for messages). */
struct rt_import {
	char *module, *name;
	uint32_t module_len, name_len;
	uint8_t kind;
	uint32_t type; /* RT_EXT_FUNC: type index */
	struct rt_tabletype table;
	struct rt_limits mem;
	struct rt_globaltype global;
};

struct rt_export {
	char *name;
	uint32_t name_len;
	uint8_t kind;
	uint32_t idx;
};

struct rt_global {
	struct rt_globaltype type;
	struct rt_constexpr init;
};

enum { RT_SEG_ACTIVE, RT_SEG_PASSIVE, RT_SEG_DECLARATIVE };

struct rt_elem {
	uint8_t mode, type;
	uint32_t table;
	struct rt_constexpr offset;
	uint32_t n;
	struct rt_constexpr *items;
};

struct rt_data {
	uint8_t mode;
	struct rt_constexpr offset;
	uint32_t len;
	const uint8_t *bytes; /* points into the module's copy of the binary */
};

/* A compiled function: slot-addressed three-operand code (see interp.c for the format). */
struct rt_code {
	uint32_t *ops;
	uint32_t nops;
	uint32_t nparams;
	uint32_t nlocals;    /* params + declared locals (the first slots of the frame) */
	uint32_t frame_size; /* locals + maximum operand stack height, in slots */
	uint32_t entry_fuel; /* cost charged on entry */
};

struct wasm_module {
	uint8_t *bytes; /* private copy of the binary (data segments point into it) */
	size_t len;

	uint32_t ntypes;
	struct rt_functype *types;
	uint32_t *type_canon; /* type index -> first structurally equal type index */

	uint32_t nimports;
	struct rt_import *imports;

	uint32_t nfuncs, nfunc_imports; /* function index space: imports first */
	uint32_t *func_type;            /* type index of every function */
	struct rt_code *code;           /* [nfuncs - nfunc_imports] */

	uint32_t ntables, ntable_imports;
	struct rt_tabletype *tables;

	uint32_t nmems, nmem_imports;
	struct rt_limits mem;

	uint32_t nglobals, nglobal_imports;
	struct rt_global *globals; /* all globals; init unused for imports */

	uint32_t nexports;
	struct rt_export *exports;

	bool has_start;
	uint32_t start;

	uint32_t nelems;
	struct rt_elem *elems;

	bool has_datacount;
	uint32_t ndatas;
	struct rt_data *datas;

	uint8_t *declared; /* per function: may be named by ref.func */

	/* Pristine memory image: when the memory is defined here and every active data segment has
	 * a constant in-bounds offset, the initial bytes [0, image_len) are precomputed. */
	bool has_image;
	uint8_t *image;
	uint64_t image_len;
};

/* ---- Runtime objects -------------------------------------------------------------------- */

/* A function reference: what tables hold and what funcref values point to. */
struct rt_func {
	const struct rt_functype *type;
	wasm_instance *inst; /* owning instance (NULL for host functions) */
	uint32_t idx;        /* function index in inst's module */
	wasm_host_fn host;
	void *user;
};

struct rt_memory {
	uint8_t *data;
	uint64_t size;      /* bytes */
	uint64_t cap_pages; /* effective maximum (module max and embedder cap) */
	uint64_t max_pages; /* declared maximum (for import matching); RT_MAX_PAGES if none */
	bool has_max;
};

struct rt_table {
	void **elems;
	uint32_t size;
	uint32_t max; /* UINT32_MAX if none */
	bool has_max;
	uint8_t type;
	wasm_instance *owner; /* instance that defines the table */
};

struct rt_global_cell {
	wasm_value v;
	uint8_t type;
	bool mut;
};

struct rt_frame {
	const uint32_t *pc; /* return address in the caller's code */
	wasm_value *fp;
	wasm_instance *inst;
};

/* Per-invocation execution state (value and call stacks), cached per thread. */
struct rt_stack {
	wasm_value *slots;
	size_t nslots;
	struct rt_frame *frames;
	uint32_t nframes;
};

struct wasm_instance {
	const wasm_module *m;
	struct rt_func **funcs; /* whole function index space */
	struct rt_func *own_funcs;
	struct rt_memory *mem; /* NULL if the module has none */
	struct rt_memory own_mem;
	struct rt_table **tables;
	struct rt_table *own_tables;
	struct rt_global_cell **globals;
	struct rt_global_cell *own_globals;
	uint8_t *data_dropped;
	uint8_t *elem_dropped;

	/* Limits and accounting. fuel_chunk is what the interpreter decrements; when it goes
	 * negative the slow path moves it into fuel_used and checks fuel and deadline. */
	uint64_t fuel_limit; /* 0 = none */
	uint64_t fuel_used;
	int64_t fuel_chunk;
	int64_t chunk_size;
	uint64_t deadline_ns;
	uint64_t cpu_deadline_ns; /* on CLOCK_THREAD_CPUTIME_ID; 0 = none */
	uint64_t cpu_gate_ns;     /* CLOCK_MONOTONIC time before which cpu_deadline_ns cannot
				   * have passed (CPU time never runs faster than wall time): the
				   * thread's CPU clock is a system call, the monotonic one is not */
	uint64_t max_memory_bytes;
	uint32_t max_depth;

	void *userdata;
	int exit_code;
	char errmsg[256];

	/* Instances whose instantiation failed after storing their functions in one of our
	 * tables: kept alive (and freed) with us, since the table still refers to them. */
	wasm_instance *zombies, *zombie_next;
};

/* ---- Shared functions ------------------------------------------------------------------- */

/* compile.c: a reusable compiler context (one per module load), and the compilation of
 * defined function `defidx` from the body at r->p..r->end (fails through rt__fail, see
 * reader.h; the context owns its buffers, so unwinding leaks nothing). */
struct rt_cc;
struct rt_rd;
struct rt_cc *rt__cc_create(void);
void rt__cc_free(struct rt_cc *cc);
void rt__compile_body(struct rt_cc *cc, struct rt_rd *r, wasm_module *m, uint32_t defidx);

/* interp.c: calls function `f` (Wasm or host) of `inst` with args[0..nargs), writing
 * results[0..nresults); returns WASM_OK or the trap (message in inst->errmsg). */
wasm_trap rt__call(wasm_instance *inst, struct rt_func *f, wasm_value *args, size_t nargs,
		   wasm_value *results, size_t nresults);

/* interp.c: the handler offset that replaces each opcode word in direct-threaded code
 * (indexed by opcode; a static table, never freed), or NULL when the code keeps its opcodes
 * (RT_PROFILE builds). */
const int32_t *rt__label_offsets(void);
#define RT_NO_HANDLER INT32_MIN /* rt__label_offsets entry of an opcode without a handler */

/* instance.c */
wasm_trap rt__trap(wasm_instance *inst, wasm_trap kind, const char *msg);
wasm_trap rt__fuel_slow(wasm_instance *inst);
int64_t rt__memory_grow(struct rt_memory *mem, uint32_t delta);
int64_t rt__table_grow(struct rt_table *t, uint32_t delta, void *init);
bool rt__functype_eq(const struct rt_functype *a, const struct rt_functype *b);
/* The export named by the bytes name[0..len), or NULL. */
const struct rt_export *rt__find_export(const wasm_module *m, const char *name, size_t len);
void *rt__constexpr_ref(wasm_instance *inst, const struct rt_constexpr *ce);
struct rt_stack *rt__stack_get(void);
void rt__stack_put(struct rt_stack *s);

/* Branch targets in the code are relative: the word at index k holding t means k + (int32)t.
 * Every target word is followed by a cost word: the fuel a backward branch (a loop back-edge)
 * charges, i.e. the loop body's instruction count. */

/* Internal opcodes beyond those that reuse the Wasm numbering (loads/stores 0x28-0x3e,
 * numeric 0x45-0xc4, saturating truncations at 0xe0-0xe7). */
enum {
	OP_TRUNC_SAT = 0xe0, /* 0xe0..0xe7 */
	OP_UNREACHABLE = 0x100,
	OP_BR,
	OP_BR_IF,
	OP_BR_UNLESS,
	OP_BR_TABLE,
	OP_RETURN,
	OP_CALL,
	OP_CALL_IMPORT,
	OP_CALL_INDIRECT,
	OP_SELECT,
	OP_COPY,
	OP_CONST32,
	OP_CONST64,
	OP_FUEL,
	OP_GLOBAL_GET,
	OP_GLOBAL_SET,
	OP_MEMORY_SIZE,
	OP_MEMORY_GROW,
	OP_MEMORY_FILL,
	OP_MEMORY_COPY,
	OP_MEMORY_INIT,
	OP_DATA_DROP,
	OP_TABLE_GET,
	OP_TABLE_SET,
	OP_TABLE_SIZE,
	OP_TABLE_GROW,
	OP_TABLE_FILL,
	OP_TABLE_COPY,
	OP_TABLE_INIT,
	OP_ELEM_DROP,
	OP_REF_NULL,
	OP_REF_IS_NULL,
	OP_REF_FUNC,
	OP_COPY2, /* d1 s1 d2 s2: two copies, in order */
	/* Pairs fused by compile.c pair_pass; each keeps the words of its two instructions (the
	 * second opcode word is left in place, unused), so no branch offset moves. */
	OP_ADDI2,      /* i32.add imm, then i32.add imm (10 words) */
	OP_ADDI_CALL,  /* i32.add imm, then OP_CALL (8 words) */
	OP_ADD_RETURN, /* i32.add, then OP_RETURN (5 words) */
	OP_ADDI_RETURN, /* i32.add imm, then OP_RETURN (6 words) */
	OP_FMUL2,      /* f64.mul, then f64.mul (8 words) */
	OP_ANDN,       /* i32.xor imm -1, then i32.and of its result (9 words) */
	OP_ADD_LOAD,   /* i32.add, then i32.load of its result (8 words) */
	/* f64.load (LDF, 8 words) or its OP_MEMX form (LDXF, 9 words), then f64 add/sub/mul
	 * whose B is the loaded value; f64 add/sub/mul, then f64.store of its result (FST,
	 * 8 words). In the order add, sub, mul. */
	OP_LDF_ADD, OP_LDF_SUB, OP_LDF_MUL,
	OP_LDXF_ADD, OP_LDXF_SUB, OP_LDXF_MUL,
	OP_FADD_ST, OP_FSUB_ST, OP_FMUL_ST,
	OP_ADD2A,   /* accumulator-form i32.add, twice (the second adds to the first's result) */
	OP_LDX_ADD, /* OP_MEMX i32.load, then accumulator-form i32.add of it (9 words) */
	OP_COPY4,   /* OP_COPY2, twice (10 words) */
	/* i32 and/or/xor (slot form), then accumulator-form and/or/xor of its result:
	 * OP_LOGIC2 + first * 3 + second, 0 = and, 1 = or, 2 = xor (8 words) */
	OP_LOGIC2,
	OP_LOGIC2_LAST = OP_LOGIC2 + 8,
	/* OP_CONST64, then f64 add/sub/mul/div with the constant as B (KB) or as A (KA), in
	 * the order add, sub, mul, div (8 words) */
	OP_FKB, OP_FKB_LAST = OP_FKB + 3,
	OP_FKA, OP_FKA_LAST = OP_FKA + 3,
	/* Three fused: i32.rotl imm (x), then two OP_SHF xor-rotl (ROT3) or xor-rotl and
	 * xor-shr_u (ROT3S) of the same x, all into one slot: the SHA-2 sigma functions. The
	 * OP_ACC forms take x from the accumulator. 15 words. */
	OP_ROT3,
	OP_ROT3S,
	/* Integer binary op n (0x46..0x8a) with an immediate second operand: OP_IMM + n, operands
	 * d a lo hi. */
	OP_IMM = 0x200,
	/* Fused i32 compare (n = 0x46..0x4f) and branch: OP_BRC + n - 0x46 (operands a b target)
	 * and OP_BRCI + n - 0x46 (operands a imm target). */
	OP_BRC = 0x300,
	OP_BRCI = 0x310,
	/* Load/store n (0x28..0x3e) whose address is (u32)(a + imm) + offset: OP_MEMX + n - 0x28,
	 * operands d a imm off (loads) or a v imm off (stores). */
	OP_MEMX = 0x320,
	/* i32 a OP (src SHIFT imm), OP in xor/or/add/and, SHIFT in shl/shr_u/rotl:
	 * OP_SHF + op * 3 + shift, operands d a src imm (see compile.c try_fuse_shift). */
	OP_SHF = 0x340,
	/* Load/store n at a constant effective address: OP_MEMK + n - 0x28, operands d (or v)
	 * ea_lo ea_hi. */
	OP_MEMK = 0x350,
	/* Accumulator forms (compile.c finish_code): OP_ACC + op is op with one operand taken from
	 * the result of the instruction just before it (held in a register by the interpreter)
	 * instead of its slot: the address of loads, the value of stores, A of integer binary
	 * ops (slot and OP_IMM forms), OP_SHF, OP_BRC/OP_BRCI, the condition of
	 * OP_BR_IF/OP_BR_UNLESS. The slot is still written, so nothing else changes. */
	OP_ACC = 0x400,
	OP_COUNT = 0x800
};

/* Is the Wasm name (s, len) the byte string q[0..qlen)? */
static inline bool rt__name_is(const char *s, uint32_t len, const char *q, size_t qlen)
{
	return len == qlen && memcmp(s, q, qlen) == 0;
}

#endif
