/* The interpreter: runs the slot-addressed code of compile.c with a computed-goto dispatch loop.
 *
 * Naming legend: pc = current instruction (opcode word, operands at pc[1..]); fp = frame base
 * (slot 0 = first parameter); D/A/B/C = the slots named by operands 1/2/3/4; `in` = the instance
 * whose code is running (changes on cross-instance calls); root = the instance invoked by the
 * embedder (owns the fuel counter and the error message); mem/memsize = cached linear memory of
 * `in`, reloaded after anything that can grow it or switch instances; acc = the accumulator
 * (the last integer result, also in its slot).
 * Handler labels: op_N (Wasm opcode N, slot operands), opi_ (immediate B), opx_ / opk_
 * (folded / constant address), acc* (one operand from acc), l_OP_* (internal opcodes, the
 * fused pairs and triples among them), brc*_ / shf_ / logic2_ / fkb_ / fka_ (fused families;
 * internal.h gives each one's operand words).
 * Wasm calls never recurse in C: frames live in rt_stack.frames; exhaustion is a trap. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"

#define RT_MAX_FRAMES 100000u

#ifdef RT_PROFILE
/* Development aid (-DRT_PROFILE): dynamic opcode counts printed at exit. */
static uint64_t rt__prof[OP_COUNT];
static uint32_t (*rt__prof2)[OP_COUNT]; /* [previous][current] with RT_PROFILE_PAIRS set */
static uint32_t rt__prof_prev;
__attribute__((destructor)) static void rt__prof_dump(void)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (rt__prof[i])
			fprintf(stderr, "op 0x%03x %llu\n", i, (unsigned long long)rt__prof[i]);
	for (int i = 0; rt__prof2 && i < OP_COUNT; i++)
		for (int j = 0; j < OP_COUNT; j++)
			if (rt__prof2[i][j] > 100000)
				fprintf(stderr, "pair 0x%03x 0x%03x %u\n", i, j, rt__prof2[i][j]);
}
#endif

/* One execution stack is cached per thread (in a pthread key, so that it is freed when the
 * thread exits): requests served by a thread reuse its already-touched pages. */
static pthread_key_t stack_key;
static pthread_once_t stack_once = PTHREAD_ONCE_INIT;
static bool stack_key_ok;

static void stack_free(void *p)
{
	struct rt_stack *s = p;
	if (!s)
		return;
	free(s->slots);
	free(s->frames);
	free(s);
}

static void stack_key_make(void)
{
	stack_key_ok = pthread_key_create(&stack_key, stack_free) == 0;
}

struct rt_stack *rt__stack_get(void)
{
	pthread_once(&stack_once, stack_key_make);
	struct rt_stack *s = stack_key_ok ? pthread_getspecific(stack_key) : NULL;
	if (s) {
		pthread_setspecific(stack_key, NULL);
		return s;
	}
	s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	/* Large but untouched pages cost nothing until used. */
	s->slots = malloc((size_t)RT_STACK_SLOTS * sizeof *s->slots);
	s->frames = malloc((size_t)RT_MAX_FRAMES * sizeof *s->frames);
	if (!s->slots || !s->frames) {
		stack_free(s);
		return NULL;
	}
	s->nslots = RT_STACK_SLOTS;
	s->nframes = RT_MAX_FRAMES;
	return s;
}

void rt__stack_put(struct rt_stack *s)
{
	if (!s)
		return;
	if (stack_key_ok && !pthread_getspecific(stack_key) && pthread_setspecific(stack_key, s) == 0)
		return;
	stack_free(s);
}

static inline float f32_min(float a, float b)
{
	if (isnan(a) || isnan(b))
		return a + b;
	if (a == b) {
		uint32_t x, y;
		memcpy(&x, &a, 4);
		memcpy(&y, &b, 4);
		x |= y;
		memcpy(&a, &x, 4);
		return a;
	}
	return a < b ? a : b;
}

static inline float f32_max(float a, float b)
{
	if (isnan(a) || isnan(b))
		return a + b;
	if (a == b) {
		uint32_t x, y;
		memcpy(&x, &a, 4);
		memcpy(&y, &b, 4);
		x &= y;
		memcpy(&a, &x, 4);
		return a;
	}
	return a > b ? a : b;
}

static inline double f64_min(double a, double b)
{
	if (isnan(a) || isnan(b))
		return a + b;
	if (a == b) {
		uint64_t x, y;
		memcpy(&x, &a, 8);
		memcpy(&y, &b, 8);
		x |= y;
		memcpy(&a, &x, 8);
		return a;
	}
	return a < b ? a : b;
}

static inline double f64_max(double a, double b)
{
	if (isnan(a) || isnan(b))
		return a + b;
	if (a == b) {
		uint64_t x, y;
		memcpy(&x, &a, 8);
		memcpy(&y, &b, 8);
		x &= y;
		memcpy(&a, &x, 8);
		return a;
	}
	return a > b ? a : b;
}

static const char *trap_text(wasm_trap t)
{
	return wasm_trap_name(t);
}

/* Calls a host function with copies of its arguments (so args and results never alias). */
static wasm_trap call_host(wasm_instance *in, struct rt_func *f, wasm_value *slots)
{
	wasm_value argbuf[16], resbuf[16];
	wasm_value *args = argbuf, *res = resbuf;
	uint32_t np = f->type->nparams, nr = f->type->nresults;
	if (np > 16 || nr > 16) {
		args = calloc(np + 1, sizeof *args);
		res = calloc(nr + 1, sizeof *res);
		if (!args || !res) {
			if (args != argbuf)
				free(args);
			if (res != resbuf)
				free(res);
			return WASM_TRAP_NOMEM;
		}
	}
	memcpy(args, slots, np * sizeof *args);
	memset(res, 0, nr * sizeof *res);
	wasm_trap t = f->host(in, f->user, args, res);
	if (t == WASM_OK)
		memcpy(slots, res, nr * sizeof *res);
	if (args != argbuf)
		free(args);
	if (res != resbuf)
		free(res);
	return t;
}

/* Direct threading: the compiler replaces every opcode word by the offset of its handler
 * from the first handler (rt__label_offsets), so that dispatch is one load and an indirect
 * jump, without the table look-up. run(NULL, ...) publishes the offsets; with RT_PROFILE the
 * code keeps its opcodes (the counters are indexed by them) and dispatch uses the table. */
static int32_t label_offset[OP_COUNT];

#ifdef RT_PROFILE
const int32_t *rt__label_offsets(void)
{
	return NULL;
}
#else
static pthread_once_t labels_once = PTHREAD_ONCE_INIT;

static wasm_trap run(wasm_instance *root, struct rt_stack *stk, struct rt_func *entry);

static void labels_make(void)
{
	run(NULL, NULL, NULL);
}

const int32_t *rt__label_offsets(void)
{
	pthread_once(&labels_once, labels_make);
	return label_offset;
}
#endif

/* Handlers start 64-byte aligned, and so does run() itself: 16-byte alignment measured 7-15 %
 * faster than none, 64 another ~3 % over 32 (sha, sort) on the benchmark machine (AMD EPYC),
 * and with run() itself aligned, edits elsewhere in the library no longer shift the handlers
 * against cache lines (an unrelated 32-byte shift once cost fib 20 %). */
#if defined(__clang__) /* no optimize attribute (the fuzz build): alignment only */
#define RT_RUN_ATTRS __attribute__((aligned(64)))
#else
#define RT_RUN_ATTRS \
	__attribute__((optimize("no-tree-loop-distribute-patterns", "align-labels=64"), aligned(64)))
#endif
RT_RUN_ATTRS static wasm_trap run(wasm_instance *root, struct rt_stack *stk, struct rt_func *entry)
{
	static void *const disp[OP_COUNT] = {
#define L(n) [n] = &&op_##n
		L(0x28), L(0x29), L(0x2a), L(0x2b), L(0x2c), L(0x2d), L(0x2e), L(0x2f), L(0x30),
		L(0x31), L(0x32), L(0x33), L(0x34), L(0x35), L(0x36), L(0x37), L(0x38), L(0x39),
		L(0x3a), L(0x3b), L(0x3c), L(0x3d), L(0x3e),
		L(0x45), L(0x46), L(0x47), L(0x48), L(0x49), L(0x4a), L(0x4b), L(0x4c), L(0x4d),
		L(0x4e), L(0x4f), L(0x50), L(0x51), L(0x52), L(0x53), L(0x54), L(0x55), L(0x56),
		L(0x57), L(0x58), L(0x59), L(0x5a), L(0x5b), L(0x5c), L(0x5d), L(0x5e), L(0x5f),
		L(0x60), L(0x61), L(0x62), L(0x63), L(0x64), L(0x65), L(0x66), L(0x67), L(0x68),
		L(0x69), L(0x6a), L(0x6b), L(0x6c), L(0x6d), L(0x6e), L(0x6f), L(0x70), L(0x71),
		L(0x72), L(0x73), L(0x74), L(0x75), L(0x76), L(0x77), L(0x78), L(0x79), L(0x7a),
		L(0x7b), L(0x7c), L(0x7d), L(0x7e), L(0x7f), L(0x80), L(0x81), L(0x82), L(0x83),
		L(0x84), L(0x85), L(0x86), L(0x87), L(0x88), L(0x89), L(0x8a), L(0x8b), L(0x8c),
		L(0x8d), L(0x8e), L(0x8f), L(0x90), L(0x91), L(0x92), L(0x93), L(0x94), L(0x95),
		L(0x96), L(0x97), L(0x98), L(0x99), L(0x9a), L(0x9b), L(0x9c), L(0x9d), L(0x9e),
		L(0x9f), L(0xa0), L(0xa1), L(0xa2), L(0xa3), L(0xa4), L(0xa5), L(0xa6), L(0xa7),
		L(0xa8), L(0xa9), L(0xaa), L(0xab), L(0xac), L(0xad), L(0xae), L(0xaf), L(0xb0),
		L(0xb1), L(0xb2), L(0xb3), L(0xb4), L(0xb5), L(0xb6), L(0xb7), L(0xb8), L(0xb9),
		L(0xba), L(0xbb), L(0xbc), L(0xbd), L(0xbe), L(0xbf), L(0xc0), L(0xc1), L(0xc2),
		L(0xc3), L(0xc4), L(0xe0), L(0xe1), L(0xe2), L(0xe3), L(0xe4), L(0xe5), L(0xe6),
		L(0xe7),
#undef L
#define L(n) [n] = &&l_##n
		L(OP_UNREACHABLE), L(OP_BR), L(OP_BR_IF), L(OP_BR_UNLESS), L(OP_BR_TABLE),
		L(OP_RETURN), L(OP_CALL), L(OP_CALL_IMPORT), L(OP_CALL_INDIRECT), L(OP_SELECT),
		L(OP_COPY), L(OP_CONST32), L(OP_CONST64), L(OP_FUEL), L(OP_GLOBAL_GET),
		L(OP_GLOBAL_SET), L(OP_MEMORY_SIZE), L(OP_MEMORY_GROW), L(OP_MEMORY_FILL),
		L(OP_MEMORY_COPY), L(OP_MEMORY_INIT), L(OP_DATA_DROP), L(OP_TABLE_GET),
		L(OP_TABLE_SET), L(OP_TABLE_SIZE), L(OP_TABLE_GROW), L(OP_TABLE_FILL),
		L(OP_TABLE_COPY), L(OP_TABLE_INIT), L(OP_ELEM_DROP), L(OP_REF_NULL),
		L(OP_REF_IS_NULL), L(OP_REF_FUNC), L(OP_COPY2), L(OP_ADDI2), L(OP_ADDI_CALL),
		L(OP_ADD_RETURN), L(OP_ADDI_RETURN), L(OP_FMUL2), L(OP_ANDN), L(OP_ADD_LOAD),
		L(OP_ROT3), L(OP_ROT3S), L(OP_LDF_ADD), L(OP_LDF_SUB), L(OP_LDF_MUL),
		L(OP_LDXF_ADD), L(OP_LDXF_SUB), L(OP_LDXF_MUL), L(OP_FADD_ST), L(OP_FSUB_ST),
		L(OP_FMUL_ST), L(OP_ADD2A), L(OP_LDX_ADD), L(OP_COPY4),
#undef L
#define L(n) [OP_LOGIC2 + n] = &&logic2_##n
		L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8),
#undef L
#define L(n) [OP_FKB + n] = &&fkb_##n, [OP_FKA + n] = &&fka_##n
		L(0), L(1), L(2), L(3),
#undef L
		[OP_ACC + OP_ROT3] = &&acc_OP_ROT3, [OP_ACC + OP_ROT3S] = &&acc_OP_ROT3S,
#define L(n) [OP_IMM + n] = &&opi_##n
		L(0x46), L(0x47), L(0x48), L(0x49), L(0x4a), L(0x4b), L(0x4c), L(0x4d), L(0x4e), L(0x4f), L(0x51), L(0x52), L(0x53), L(0x54), L(0x55), L(0x56), L(0x57), L(0x58), L(0x59), L(0x5a), L(0x6a), L(0x6b), L(0x6c), L(0x6d), L(0x6e), L(0x6f), L(0x70), L(0x71), L(0x72), L(0x73), L(0x74), L(0x75), L(0x76), L(0x77), L(0x78), L(0x7c), L(0x7d), L(0x7e), L(0x7f), L(0x80), L(0x81), L(0x82), L(0x83), L(0x84), L(0x85), L(0x86), L(0x87), L(0x88), L(0x89), L(0x8a),
#undef L
#define L(n) [OP_MEMX + n - 0x28] = &&opx_##n
		L(0x28), L(0x29), L(0x2a), L(0x2b), L(0x2c), L(0x2d), L(0x2e), L(0x2f), L(0x30), L(0x31), L(0x32), L(0x33), L(0x34), L(0x35), L(0x36), L(0x37), L(0x38), L(0x39), L(0x3a), L(0x3b), L(0x3c), L(0x3d), L(0x3e),
#undef L
#define L(n) [OP_SHF + n] = &&shf_##n
		L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11),
#undef L
#define L(n) [OP_MEMK + n - 0x28] = &&opk_##n
		L(0x28), L(0x29), L(0x2a), L(0x2b), L(0x2c), L(0x2d), L(0x2e), L(0x2f), L(0x30), L(0x31), L(0x32), L(0x33), L(0x34), L(0x35), L(0x36), L(0x37), L(0x38), L(0x39), L(0x3a), L(0x3b), L(0x3c), L(0x3d), L(0x3e),
#undef L
#define L(n) [OP_BRC + n - 0x46] = &&brc_##n, [OP_BRCI + n - 0x46] = &&brci_##n, \
	     [OP_ACC + OP_BRC + n - 0x46] = &&accbrc_##n, [OP_ACC + OP_BRCI + n - 0x46] = &&accbrci_##n
		L(0x46), L(0x47), L(0x48), L(0x49), L(0x4a), L(0x4b), L(0x4c), L(0x4d), L(0x4e), L(0x4f),
#undef L
		/* accumulator forms (see compile.c finish_code) */
#define L(n) [OP_ACC + n] = &&acc_##n, [OP_ACC + OP_MEMX + n - 0x28] = &&accx_##n
		L(0x28), L(0x29), L(0x2a), L(0x2b), L(0x2c), L(0x2d), L(0x2e), L(0x2f), L(0x30), L(0x31), L(0x32), L(0x33), L(0x34), L(0x35), L(0x36), L(0x37), L(0x38), L(0x39), L(0x3a), L(0x3b), L(0x3c), L(0x3d), L(0x3e),
#undef L
#define L(n) [OP_ACC + OP_MEMK + n - 0x28] = &&acck_##n
		L(0x36), L(0x37), L(0x38), L(0x39), L(0x3a), L(0x3b), L(0x3c), L(0x3d), L(0x3e),
#undef L
#define L(n) [OP_ACC + n] = &&acc_##n, [OP_ACC + OP_IMM + n] = &&acci_##n
		L(0x46), L(0x47), L(0x48), L(0x49), L(0x4a), L(0x4b), L(0x4c), L(0x4d), L(0x4e), L(0x4f), L(0x51), L(0x52), L(0x53), L(0x54), L(0x55), L(0x56), L(0x57), L(0x58), L(0x59), L(0x5a), L(0x6a), L(0x6b), L(0x6c), L(0x6d), L(0x6e), L(0x6f), L(0x70), L(0x71), L(0x72), L(0x73), L(0x74), L(0x75), L(0x76), L(0x77), L(0x78), L(0x7c), L(0x7d), L(0x7e), L(0x7f), L(0x80), L(0x81), L(0x82), L(0x83), L(0x84), L(0x85), L(0x86), L(0x87), L(0x88), L(0x89), L(0x8a),
#undef L
#define L(n) [OP_ACC + OP_SHF + n] = &&accshf_##n
		L(0), L(1), L(2), L(3), L(4), L(5), L(6), L(7), L(8), L(9), L(10), L(11),
#undef L
		[OP_ACC + OP_BR_IF] = &&acc_OP_BR_IF, [OP_ACC + OP_BR_UNLESS] = &&acc_OP_BR_UNLESS,
	};

#ifdef RT_PROFILE
	if (getenv("RT_PROFILE_PAIRS") && !rt__prof2)
		rt__prof2 = calloc(OP_COUNT, sizeof *rt__prof2);
#endif
	if (!root) {
		for (int i = 0; i < OP_COUNT; i++)
			label_offset[i] = disp[i] ? (int32_t)((const char *)disp[i] - (const char *)&&op_0x28)
						  : RT_NO_HANDLER;
		return WASM_OK;
	}
	wasm_instance *in = entry->inst;
	const wasm_module *m = in->m;
	const struct rt_code *code = &m->code[entry->idx - m->nfunc_imports];
	wasm_value *fp = stk->slots;
	wasm_value *const stack_end = stk->slots + stk->nslots;
	struct rt_frame *const frames = stk->frames;
	uint32_t maxdepth = root->max_depth < stk->nframes ? root->max_depth : stk->nframes;
	struct rt_frame *const frames_end = frames + maxdepth;
	struct rt_frame *fr = frames;
	const uint32_t *pc;
	uint8_t *mem;
	uint64_t memsize;
	int64_t fuel = root->fuel_chunk;
	wasm_trap trap = WASM_OK;
	struct rt_func *callee;
	uint32_t base;
	/* The accumulator: the last integer result, also stored in its slot. An
	 * instruction whose operand is the previous instruction's result reads it from here,
	 * which spares the store-to-load round trip through the frame (compile.c finish_code). */
	uint64_t acc = 0;

#define RELOAD_MEM()                                     \
	do {                                             \
		if (in->mem) {                           \
			mem = in->mem->data;             \
			memsize = in->mem->size;         \
		} else {                                 \
			mem = NULL;                      \
			memsize = 0;                     \
		}                                        \
	} while (0)
#ifdef RT_PROFILE
#define NEXT()                                          \
	do {                                            \
		rt__prof[*pc]++;                        \
		if (rt__prof2)                          \
			rt__prof2[rt__prof_prev][*pc]++; \
		rt__prof_prev = *pc;                    \
		goto *disp[*pc];                        \
	} while (0)
#else
#define NEXT() goto *(const void *)((const char *)&&op_0x28 + (int32_t)*pc)
#endif
#define D fp[pc[1]]
#define A fp[pc[2]]
#define B fp[pc[3]]
/* Declared locals start at zero. Most functions have a handful: an inline loop (run() is
 * compiled without loop-to-memset conversion, whose call would cost more than the stores). */
#define ZERO_LOCALS(cc)                                                   \
	do {                                                              \
		wasm_value *z_ = fp + (cc)->nparams, *ze_ = fp + (cc)->nlocals; \
		for (; z_ < ze_; z_++)                                    \
			z_->i64 = 0;                                      \
	} while (0)
#define TRAP(k)                  \
	do {                     \
		trap = (k);      \
		goto trapped;    \
	} while (0)

	RELOAD_MEM();
	if (fp + code->frame_size > stack_end)
		TRAP(WASM_TRAP_STACK_EXHAUSTED);
	memset(fp + code->nparams, 0, (code->nlocals - code->nparams) * sizeof *fp);
	fuel -= code->entry_fuel;
	if (fuel < 0) {
		root->fuel_chunk = fuel;
		if ((trap = rt__fuel_slow(root)) != WASM_OK)
			goto trapped;
		fuel = root->fuel_chunk;
	}
	pc = code->ops;
	NEXT();

	/* ---- loads and stores: D/A = value/address slot, pc[3] = offset. The effective address
	 * is computed in 64 bits so that address + offset never wraps (spec 4.4.7); the opx_ forms
	 * first add an immediate with 32-bit wrap-around (a folded i32.add): pc[3] = imm,
	 * pc[4] = offset; the opk_ forms have a constant effective address in pc[2..3]. ---- */
/* The acc_ / accx_ forms take the address (loads) or the value (stores) from the
 * accumulator; acck_ is the constant-address store of the accumulator. Integer loads leave
 * their result in acc. (A floating-point accumulator would not stay in a register: the libm
 * calls below clobber every xmm register, so the compiler keeps it in memory.) */
#define LOADF(pfx, npc, EA, T_, FIELD_, CONV_, SETACC)                                      \
	pfx : {                                                           \
		uint64_t ea = (EA);                                       \
		if (ea + sizeof(T_) > memsize)                            \
			TRAP(WASM_TRAP_OOB_MEMORY);                       \
		T_ v_;                                                    \
		memcpy(&v_, mem + ea, sizeof v_);                         \
		const TY_##FIELD_ r_ = CONV_(v_);                         \
		D.FIELD_ = r_;                                            \
		SETACC(r_);                                               \
		pc += (npc);                                              \
		NEXT();                                                   \
	}
#define LOAD(n, T, field, conv, SETACC)                                                    \
	LOADF(op_##n, 4, (uint64_t)A.i32 + pc[3], T, field, conv, SETACC)                                   \
	LOADF(acc_##n, 4, (uint64_t)(uint32_t)acc + pc[3], T, field, conv, SETACC)                          \
	LOADF(opx_##n, 5, (uint64_t)(uint32_t)(A.i32 + pc[3]) + pc[4], T, field, conv, SETACC)              \
	LOADF(accx_##n, 5, (uint64_t)(uint32_t)((uint32_t)acc + pc[3]) + pc[4], T, field, conv, SETACC)     \
	LOADF(opk_##n, 4, (uint64_t)pc[2] | ((uint64_t)pc[3] << 32), T, field, conv, SETACC)
#define STOREF(pfx, npc, EA, T_, VAL)                                        \
	pfx : {                                                           \
		uint64_t ea = (EA);                                       \
		if (ea + sizeof(T_) > memsize)                            \
			TRAP(WASM_TRAP_OOB_MEMORY);                       \
		T_ v_ = (T_)(VAL);                                        \
		memcpy(mem + ea, &v_, sizeof v_);                         \
		pc += (npc);                                              \
		NEXT();                                                   \
	}
#define STORE(n, T, field, ACCV)                                                             \
	STOREF(op_##n, 4, (uint64_t)fp[pc[1]].i32 + pc[3], T, fp[pc[2]].field)                   \
	STOREF(acc_##n, 4, (uint64_t)fp[pc[1]].i32 + pc[3], T, ACCV)                             \
	STOREF(opx_##n, 5, (uint64_t)(uint32_t)(fp[pc[1]].i32 + pc[3]) + pc[4], T, fp[pc[2]].field) \
	STOREF(accx_##n, 5, (uint64_t)(uint32_t)(fp[pc[1]].i32 + pc[3]) + pc[4], T, ACCV)         \
	STOREF(opk_##n, 4, (uint64_t)pc[2] | ((uint64_t)pc[3] << 32), T, fp[pc[1]].field)         \
	STOREF(acck_##n, 4, (uint64_t)pc[2] | ((uint64_t)pc[3] << 32), T, ACCV)
#define ID(x) (x)
#define TY_i32 uint32_t
#define TY_i64 uint64_t
#define TY_f32 float
#define TY_f64 double
#define ACC_SET(x) (acc = (x))
#define ACC_NOSET(x) ((void)(x))
	LOAD(0x28, uint32_t, i32, ID, ACC_SET)
	LOAD(0x29, uint64_t, i64, ID, ACC_SET)
	LOAD(0x2a, float, f32, ID, ACC_NOSET)
	LOAD(0x2b, double, f64, ID, ACC_NOSET)
	LOAD(0x2c, int8_t, i32, (uint32_t)(int32_t), ACC_SET)
	LOAD(0x2d, uint8_t, i32, (uint32_t), ACC_SET)
	LOAD(0x2e, int16_t, i32, (uint32_t)(int32_t), ACC_SET)
	LOAD(0x2f, uint16_t, i32, (uint32_t), ACC_SET)
	LOAD(0x30, int8_t, i64, (uint64_t)(int64_t), ACC_SET)
	LOAD(0x31, uint8_t, i64, (uint64_t), ACC_SET)
	LOAD(0x32, int16_t, i64, (uint64_t)(int64_t), ACC_SET)
	LOAD(0x33, uint16_t, i64, (uint64_t), ACC_SET)
	LOAD(0x34, int32_t, i64, (uint64_t)(int64_t), ACC_SET)
	LOAD(0x35, uint32_t, i64, (uint64_t), ACC_SET)
	STORE(0x36, uint32_t, i32, acc)
	STORE(0x37, uint64_t, i64, acc)
	STORE(0x38, float, f32, fp[pc[2]].f32) /* float forms: no accumulator (never emitted) */
	STORE(0x39, double, f64, fp[pc[2]].f64)
	STORE(0x3a, uint8_t, i32, acc)
	STORE(0x3b, uint16_t, i32, acc)
	STORE(0x3c, uint8_t, i64, acc)
	STORE(0x3d, uint16_t, i64, acc)
	STORE(0x3e, uint32_t, i64, acc)

	/* ---- numeric: D = A op B ---- */
#define UN(n, field, expr)            \
	op_##n : {                     \
		D.field = (expr);      \
		pc += 3;               \
		NEXT();                \
	}
#define BIN(n, field, expr)           \
	op_##n : {                     \
		D.field = (expr);      \
		pc += 4;               \
		NEXT();                \
	}
/* Integer binary ops, in four forms: A from its slot or from the accumulator (the result of
 * the previous instruction, see compile.c finish_code), B from its slot or an immediate. Every form
 * leaves its result in the accumulator too. */
#define IBIN(n, field, expr)                                                    \
	op_##n : {                                                              \
		const wasm_value Av = fp[pc[2]], Bv = fp[pc[3]];                \
		const TY_##field r_ = (expr);                                  \
		D.field = r_;                                                   \
		acc = r_;                                                       \
		pc += 4;                                                        \
		NEXT();                                                         \
	}                                                                       \
	opi_##n : {                                                             \
		const wasm_value Av = fp[pc[2]];                                \
		wasm_value Bv;                                                  \
		Bv.i64 = (uint64_t)pc[3] | ((uint64_t)pc[4] << 32);             \
		const TY_##field r_ = (expr);                                  \
		D.field = r_;                                                   \
		acc = r_;                                                       \
		pc += 5;                                                        \
		NEXT();                                                         \
	}                                                                       \
	acc_##n : {                                                             \
		wasm_value Av;                                                  \
		Av.i64 = acc;                                                   \
		const wasm_value Bv = fp[pc[3]];                                \
		const TY_##field r_ = (expr);                                  \
		D.field = r_;                                                   \
		acc = r_;                                                       \
		pc += 4;                                                        \
		NEXT();                                                         \
	}                                                                       \
	acci_##n : {                                                            \
		wasm_value Av, Bv;                                              \
		Av.i64 = acc;                                                   \
		Bv.i64 = (uint64_t)pc[3] | ((uint64_t)pc[4] << 32);             \
		const TY_##field r_ = (expr);                                  \
		D.field = r_;                                                   \
		acc = r_;                                                       \
		pc += 5;                                                        \
		NEXT();                                                         \
	}
/* statement form (for the trapping division and remainder), same four forms */
#define IBINS(n, field, stmt)                                                   \
	op_##n : {                                                              \
		const wasm_value Av = fp[pc[2]], Bv = fp[pc[3]];                \
		TY_##field r_;                                                  \
		stmt D.field = r_;                                              \
		acc = r_;                                                       \
		pc += 4;                                                        \
		NEXT();                                                         \
	}                                                                       \
	opi_##n : {                                                             \
		const wasm_value Av = fp[pc[2]];                                \
		wasm_value Bv;                                                  \
		Bv.i64 = (uint64_t)pc[3] | ((uint64_t)pc[4] << 32);             \
		TY_##field r_;                                                  \
		stmt D.field = r_;                                              \
		acc = r_;                                                       \
		pc += 5;                                                        \
		NEXT();                                                         \
	}                                                                       \
	acc_##n : {                                                             \
		wasm_value Av;                                                  \
		Av.i64 = acc;                                                   \
		const wasm_value Bv = fp[pc[3]];                                \
		TY_##field r_;                                                  \
		stmt D.field = r_;                                              \
		acc = r_;                                                       \
		pc += 4;                                                        \
		NEXT();                                                         \
	}                                                                       \
	acci_##n : {                                                            \
		wasm_value Av, Bv;                                              \
		Av.i64 = acc;                                                   \
		Bv.i64 = (uint64_t)pc[3] | ((uint64_t)pc[4] << 32);             \
		TY_##field r_;                                                  \
		stmt D.field = r_;                                              \
		acc = r_;                                                       \
		pc += 5;                                                        \
		NEXT();                                                         \
	}
#define S32(x) ((int32_t)(x).i32)
#define S64(x) ((int64_t)(x).i64)
	UN(0x45, i32, A.i32 == 0)
	IBIN(0x46, i32, Av.i32 == Bv.i32)
	IBIN(0x47, i32, Av.i32 != Bv.i32)
	IBIN(0x48, i32, S32(Av) < S32(Bv))
	IBIN(0x49, i32, Av.i32 < Bv.i32)
	IBIN(0x4a, i32, S32(Av) > S32(Bv))
	IBIN(0x4b, i32, Av.i32 > Bv.i32)
	IBIN(0x4c, i32, S32(Av) <= S32(Bv))
	IBIN(0x4d, i32, Av.i32 <= Bv.i32)
	IBIN(0x4e, i32, S32(Av) >= S32(Bv))
	IBIN(0x4f, i32, Av.i32 >= Bv.i32)
	UN(0x50, i32, A.i64 == 0)
	IBIN(0x51, i32, Av.i64 == Bv.i64)
	IBIN(0x52, i32, Av.i64 != Bv.i64)
	IBIN(0x53, i32, S64(Av) < S64(Bv))
	IBIN(0x54, i32, Av.i64 < Bv.i64)
	IBIN(0x55, i32, S64(Av) > S64(Bv))
	IBIN(0x56, i32, Av.i64 > Bv.i64)
	IBIN(0x57, i32, S64(Av) <= S64(Bv))
	IBIN(0x58, i32, Av.i64 <= Bv.i64)
	IBIN(0x59, i32, S64(Av) >= S64(Bv))
	IBIN(0x5a, i32, Av.i64 >= Bv.i64)
	BIN(0x5b, i32, A.f32 == B.f32)
	BIN(0x5c, i32, A.f32 != B.f32)
	BIN(0x5d, i32, A.f32 < B.f32)
	BIN(0x5e, i32, A.f32 > B.f32)
	BIN(0x5f, i32, A.f32 <= B.f32)
	BIN(0x60, i32, A.f32 >= B.f32)
	BIN(0x61, i32, A.f64 == B.f64)
	BIN(0x62, i32, A.f64 != B.f64)
	BIN(0x63, i32, A.f64 < B.f64)
	BIN(0x64, i32, A.f64 > B.f64)
	BIN(0x65, i32, A.f64 <= B.f64)
	BIN(0x66, i32, A.f64 >= B.f64)
	UN(0x67, i32, A.i32 ? (uint32_t)__builtin_clz(A.i32) : 32u)
	UN(0x68, i32, A.i32 ? (uint32_t)__builtin_ctz(A.i32) : 32u)
	UN(0x69, i32, (uint32_t)__builtin_popcount(A.i32))
	IBIN(0x6a, i32, Av.i32 + Bv.i32)
	IBIN(0x6b, i32, Av.i32 - Bv.i32)
	IBIN(0x6c, i32, Av.i32 * Bv.i32)
IBINS(0x6d, i32, {
	if (Bv.i32 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	if (Av.i32 == 0x80000000u && Bv.i32 == 0xffffffffu)
		TRAP(WASM_TRAP_INT_OVERFLOW);
	r_ = (uint32_t)(S32(Av) / S32(Bv));
})
IBINS(0x6e, i32, {
	if (Bv.i32 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Av.i32 / Bv.i32;
})
IBINS(0x6f, i32, {
	if (Bv.i32 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Bv.i32 == 0xffffffffu ? 0 : (uint32_t)(S32(Av) % S32(Bv));
})
IBINS(0x70, i32, {
	if (Bv.i32 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Av.i32 % Bv.i32;
})
	IBIN(0x71, i32, Av.i32 & Bv.i32)
	IBIN(0x72, i32, Av.i32 | Bv.i32)
	IBIN(0x73, i32, Av.i32 ^ Bv.i32)
	IBIN(0x74, i32, Av.i32 << (Bv.i32 & 31))
	IBIN(0x75, i32, (uint32_t)(S32(Av) >> (Bv.i32 & 31)))
	IBIN(0x76, i32, Av.i32 >> (Bv.i32 & 31))
	IBIN(0x77, i32, (Av.i32 << (Bv.i32 & 31)) | (Av.i32 >> ((32 - Bv.i32) & 31)))
	IBIN(0x78, i32, (Av.i32 >> (Bv.i32 & 31)) | (Av.i32 << ((32 - Bv.i32) & 31)))
	UN(0x79, i64, A.i64 ? (uint64_t)__builtin_clzll(A.i64) : 64u)
	UN(0x7a, i64, A.i64 ? (uint64_t)__builtin_ctzll(A.i64) : 64u)
	UN(0x7b, i64, (uint64_t)__builtin_popcountll(A.i64))
	IBIN(0x7c, i64, Av.i64 + Bv.i64)
	IBIN(0x7d, i64, Av.i64 - Bv.i64)
	IBIN(0x7e, i64, Av.i64 * Bv.i64)
IBINS(0x7f, i64, {
	if (Bv.i64 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	if (Av.i64 == 0x8000000000000000ull && Bv.i64 == ~0ull)
		TRAP(WASM_TRAP_INT_OVERFLOW);
	r_ = (uint64_t)(S64(Av) / S64(Bv));
})
IBINS(0x80, i64, {
	if (Bv.i64 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Av.i64 / Bv.i64;
})
IBINS(0x81, i64, {
	if (Bv.i64 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Bv.i64 == ~0ull ? 0 : (uint64_t)(S64(Av) % S64(Bv));
})
IBINS(0x82, i64, {
	if (Bv.i64 == 0)
		TRAP(WASM_TRAP_DIV_ZERO);
	r_ = Av.i64 % Bv.i64;
})
	IBIN(0x83, i64, Av.i64 & Bv.i64)
	IBIN(0x84, i64, Av.i64 | Bv.i64)
	IBIN(0x85, i64, Av.i64 ^ Bv.i64)
	IBIN(0x86, i64, Av.i64 << (Bv.i64 & 63))
	IBIN(0x87, i64, (uint64_t)(S64(Av) >> (Bv.i64 & 63)))
	IBIN(0x88, i64, Av.i64 >> (Bv.i64 & 63))
	IBIN(0x89, i64, (Av.i64 << (Bv.i64 & 63)) | (Av.i64 >> ((64 - Bv.i64) & 63)))
	IBIN(0x8a, i64, (Av.i64 >> (Bv.i64 & 63)) | (Av.i64 << ((64 - Bv.i64) & 63)))
	/* abs/neg/copysign are bit operations (exact on NaNs, spec 4.3.3) */
	UN(0x8b, i32, A.i32 & 0x7fffffffu)
	UN(0x8c, i32, A.i32 ^ 0x80000000u)
	/* rounding: a signalling NaN input must come out quiet (arithmetic NaN), which libm's
	 * bit-twiddling versions do not guarantee, hence x + x for NaNs */
	UN(0x8d, f32, isnan(A.f32) ? A.f32 + A.f32 : ceilf(A.f32))
	UN(0x8e, f32, isnan(A.f32) ? A.f32 + A.f32 : floorf(A.f32))
	UN(0x8f, f32, isnan(A.f32) ? A.f32 + A.f32 : truncf(A.f32))
	UN(0x90, f32, isnan(A.f32) ? A.f32 + A.f32 : nearbyintf(A.f32))
	UN(0x91, f32, sqrtf(A.f32))
	BIN(0x92, f32, A.f32 + B.f32)
	BIN(0x93, f32, A.f32 - B.f32)
	BIN(0x94, f32, A.f32 * B.f32)
	BIN(0x95, f32, A.f32 / B.f32)
	BIN(0x96, f32, f32_min(A.f32, B.f32))
	BIN(0x97, f32, f32_max(A.f32, B.f32))
	BIN(0x98, i32, (A.i32 & 0x7fffffffu) | (B.i32 & 0x80000000u))
	UN(0x99, i64, A.i64 & 0x7fffffffffffffffull)
	UN(0x9a, i64, A.i64 ^ 0x8000000000000000ull)
	UN(0x9b, f64, isnan(A.f64) ? A.f64 + A.f64 : ceil(A.f64))
	UN(0x9c, f64, isnan(A.f64) ? A.f64 + A.f64 : floor(A.f64))
	UN(0x9d, f64, isnan(A.f64) ? A.f64 + A.f64 : trunc(A.f64))
	UN(0x9e, f64, isnan(A.f64) ? A.f64 + A.f64 : nearbyint(A.f64))
	UN(0x9f, f64, sqrt(A.f64))
	BIN(0xa0, f64, A.f64 + B.f64)
	BIN(0xa1, f64, A.f64 - B.f64)
	BIN(0xa2, f64, A.f64 * B.f64)
	BIN(0xa3, f64, A.f64 / B.f64)
	BIN(0xa4, f64, f64_min(A.f64, B.f64))
	BIN(0xa5, f64, f64_max(A.f64, B.f64))
	BIN(0xa6, i64, (A.i64 & 0x7fffffffffffffffull) | (B.i64 & 0x8000000000000000ull))
	UN(0xa7, i32, (uint32_t)A.i64)
	/* trapping float->int: NaN is an invalid conversion, out of range an overflow */
#define TRUNC(n, src, field, T, lo_ok, hi_ok)                   \
	op_##n : {                                               \
		if (isnan(A.src))                                \
			TRAP(WASM_TRAP_INVALID_CONVERSION);      \
		if (!(lo_ok && hi_ok))                           \
			TRAP(WASM_TRAP_INT_OVERFLOW);            \
		D.field = (T)A.src;                              \
		pc += 3;                                         \
		NEXT();                                          \
	}
	TRUNC(0xa8, f32, i32, uint32_t, A.f32 >= -2147483648.0f, A.f32 < 2147483648.0f)
	TRUNC(0xa9, f32, i32, uint32_t, A.f32 > -1.0f, A.f32 < 4294967296.0f)
	TRUNC(0xaa, f64, i32, uint32_t, A.f64 > -2147483649.0, A.f64 < 2147483648.0)
	TRUNC(0xab, f64, i32, uint32_t, A.f64 > -1.0, A.f64 < 4294967296.0)
	UN(0xac, i64, (uint64_t)(int64_t)S32(A))
	UN(0xad, i64, (uint64_t)A.i32)
	TRUNC(0xae, f32, i64, uint64_t, A.f32 >= -9223372036854775808.0f, A.f32 < 9223372036854775808.0f)
	TRUNC(0xaf, f32, i64, uint64_t, A.f32 > -1.0f, A.f32 < 18446744073709551616.0f)
	TRUNC(0xb0, f64, i64, uint64_t, A.f64 >= -9223372036854775808.0, A.f64 < 9223372036854775808.0)
	TRUNC(0xb1, f64, i64, uint64_t, A.f64 > -1.0, A.f64 < 18446744073709551616.0)
	UN(0xb2, f32, (float)S32(A))
	UN(0xb3, f32, (float)A.i32)
	UN(0xb4, f32, (float)S64(A))
	UN(0xb5, f32, (float)A.i64)
	UN(0xb6, f32, (float)A.f64)
	UN(0xb7, f64, (double)S32(A))
	UN(0xb8, f64, (double)A.i32)
	UN(0xb9, f64, (double)S64(A))
	UN(0xba, f64, (double)A.i64)
	UN(0xbb, f64, (double)A.f32)
	UN(0xbc, i32, A.i32) /* reinterpretations: same bits */
	UN(0xbd, i64, A.i64)
	UN(0xbe, i32, A.i32)
	UN(0xbf, i64, A.i64)
	UN(0xc0, i32, (uint32_t)(int32_t)(int8_t)A.i32)
	UN(0xc1, i32, (uint32_t)(int32_t)(int16_t)A.i32)
	UN(0xc2, i64, (uint64_t)(int64_t)(int8_t)A.i64)
	UN(0xc3, i64, (uint64_t)(int64_t)(int16_t)A.i64)
	UN(0xc4, i64, (uint64_t)(int64_t)(int32_t)A.i64)
	/* saturating float->int (non-trapping conversions proposal) */
#define TSAT(n, src, field, T, ST, lo_ok, hi_ok, minv, maxv)            \
	op_##n : {                                                       \
		if (isnan(A.src))                                        \
			D.field = 0;                                     \
		else if (!(lo_ok))                                       \
			D.field = (T)(minv);                             \
		else if (!(hi_ok))                                       \
			D.field = (T)(maxv);                             \
		else                                                     \
			D.field = (T)(ST)A.src;                          \
		pc += 3;                                                 \
		NEXT();                                                  \
	}
	TSAT(0xe0, f32, i32, uint32_t, int32_t, A.f32 >= -2147483648.0f, A.f32 < 2147483648.0f, INT32_MIN, INT32_MAX)
	TSAT(0xe1, f32, i32, uint32_t, uint32_t, A.f32 > -1.0f, A.f32 < 4294967296.0f, 0, UINT32_MAX)
	TSAT(0xe2, f64, i32, uint32_t, int32_t, A.f64 > -2147483649.0, A.f64 < 2147483648.0, INT32_MIN, INT32_MAX)
	TSAT(0xe3, f64, i32, uint32_t, uint32_t, A.f64 > -1.0, A.f64 < 4294967296.0, 0, UINT32_MAX)
	TSAT(0xe4, f32, i64, uint64_t, int64_t, A.f32 >= -9223372036854775808.0f, A.f32 < 9223372036854775808.0f, INT64_MIN, INT64_MAX)
	TSAT(0xe5, f32, i64, uint64_t, uint64_t, A.f32 > -1.0f, A.f32 < 18446744073709551616.0f, 0, UINT64_MAX)
	TSAT(0xe6, f64, i64, uint64_t, int64_t, A.f64 >= -9223372036854775808.0, A.f64 < 9223372036854775808.0, INT64_MIN, INT64_MAX)
	TSAT(0xe7, f64, i64, uint64_t, uint64_t, A.f64 > -1.0, A.f64 < 18446744073709551616.0, 0, UINT64_MAX)

	/* ---- fused "a OP (src SHIFT imm)" (i32) ---- */
#define SHF(n, OPR, SH)                                          \
	shf_##n : {                                              \
		uint32_t x_ = fp[pc[3]].i32, s_ = pc[4] & 31;    \
		uint32_t y_ = SH;                                \
		const uint32_t r_ = A.i32 OPR y_;                \
		D.i32 = r_;                                      \
		acc = r_;                                        \
		pc += 5;                                         \
		NEXT();                                          \
	}                                                        \
	accshf_##n : {                                           \
		uint32_t x_ = fp[pc[3]].i32, s_ = pc[4] & 31;    \
		uint32_t y_ = SH;                                \
		const uint32_t r_ = (uint32_t)acc OPR y_;        \
		D.i32 = r_;                                      \
		acc = r_;                                        \
		pc += 5;                                         \
		NEXT();                                          \
	}
#define SHL_ (x_ << s_)
#define SHRU_ (x_ >> s_)
#define ROTL_ ((x_ << s_) | (x_ >> ((32 - s_) & 31)))
	SHF(0, ^, SHL_)
	SHF(1, ^, SHRU_)
	SHF(2, ^, ROTL_)
	SHF(3, |, SHL_)
	SHF(4, |, SHRU_)
	SHF(5, |, ROTL_)
	SHF(6, +, SHL_)
	SHF(7, +, SHRU_)
	SHF(8, +, ROTL_)
	SHF(9, &, SHL_)
	SHF(10, &, SHRU_)
	SHF(11, &, ROTL_)

	/* ---- control ---- */
l_OP_UNREACHABLE:
	TRAP(WASM_TRAP_UNREACHABLE);
	/* Taken branch through the target word pc[k]. A backward branch is a loop back-edge: it
	 * charges the loop's per-iteration cost, held in the word after the target. */
#define JUMP(k)                                          \
	do {                                             \
		int32_t o_ = (int32_t)pc[k];             \
		if (o_ < 0)                              \
			fuel -= pc[(k) + 1];             \
		pc = pc + (k) + o_;                      \
		if (fuel < 0)                            \
			goto fuel_slow;                  \
	} while (0)
l_OP_BR:
	JUMP(1);
	NEXT();
l_OP_BR_IF:
	if (fp[pc[1]].i32)
		JUMP(2);
	else
		pc += 4;
	NEXT();
l_OP_BR_UNLESS:
	if (!fp[pc[1]].i32)
		JUMP(2);
	else
		pc += 4;
	NEXT();
acc_OP_BR_IF:
	if ((uint32_t)acc)
		JUMP(2);
	else
		pc += 4;
	NEXT();
acc_OP_BR_UNLESS:
	if (!(uint32_t)acc)
		JUMP(2);
	else
		pc += 4;
	NEXT();
l_OP_BR_TABLE: {
	uint32_t i = fp[pc[1]].i32, n = pc[2];
	if (i >= n - 1)
		i = n - 1;
	JUMP(3 + 2 * i);
	NEXT();
}
	/* fused i32 compare-and-branch: pc[1] = a, pc[2] = b slot (BRC) or immediate (BRCI) */
#define BRCF(pfx, X, Y, cond)                                                   \
	pfx : {                                                                 \
		uint32_t x = (X), y = (Y);                                      \
		if (cond)                                                       \
			JUMP(3);                                                \
		else                                                            \
			pc += 5;                                                \
		NEXT();                                                         \
	}
#define BRC(n, cond)                                                            \
	BRCF(brc_##n, fp[pc[1]].i32, fp[pc[2]].i32, cond)                       \
	BRCF(brci_##n, fp[pc[1]].i32, pc[2], cond)                              \
	BRCF(accbrc_##n, (uint32_t)acc, fp[pc[2]].i32, cond)                    \
	BRCF(accbrci_##n, (uint32_t)acc, pc[2], cond)
	BRC(0x46, x == y)
	BRC(0x47, x != y)
	BRC(0x48, (int32_t)x < (int32_t)y)
	BRC(0x49, x < y)
	BRC(0x4a, (int32_t)x > (int32_t)y)
	BRC(0x4b, x > y)
	BRC(0x4c, (int32_t)x <= (int32_t)y)
	BRC(0x4d, x <= y)
	BRC(0x4e, (int32_t)x >= (int32_t)y)
	BRC(0x4f, x >= y)
l_OP_FUEL:
	fuel -= pc[1];
	pc += 2;
	if (fuel < 0)
		goto fuel_slow;
	NEXT();
fuel_slow: /* the chunk ran out: account it, check fuel and deadline, continue at pc */
	root->fuel_chunk = fuel;
	if ((trap = rt__fuel_slow(root)) != WASM_OK)
		goto trapped;
	fuel = root->fuel_chunk;
	NEXT();
l_OP_RETURN:
	if (__builtin_expect(fr == frames, 0))
		goto done;
	fr--;
	pc = fr->pc;
	fp = fr->fp;
	/* Within one instance mem/memsize are current (everything that can grow the memory
	 * reloads them); another instance may have grown a memory it shares with us. */
	if (__builtin_expect(fr->inst != in, 0)) {
		in = fr->inst;
		m = in->m;
		RELOAD_MEM();
	}
	NEXT();
l_OP_CALL: { /* a function of this module (pc[1] = defined index): no host check, no
	       * instance switch */
	const struct rt_code *cc = &m->code[pc[1]];
	wasm_value *nfp = fp + pc[2];
	if (__builtin_expect(fr == frames_end || nfp + cc->frame_size > stack_end, 0))
		TRAP(WASM_TRAP_STACK_EXHAUSTED);
	fr->pc = pc + 3;
	fr->fp = fp;
	fr->inst = in;
	fr++;
	fp = nfp;
	ZERO_LOCALS(cc);
	pc = cc->ops;
	fuel -= cc->entry_fuel;
	if (fuel < 0)
		goto fuel_slow;
	NEXT();
}
l_OP_CALL_IMPORT:
	callee = in->funcs[pc[1]];
	base = pc[2];
	pc += 3;
	goto enter;
l_OP_CALL_INDIRECT: {
	struct rt_table *t = in->tables[pc[2]];
	uint32_t i = fp[pc[4]].i32;
	if (i >= t->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	callee = t->elems[i];
	if (!callee)
		TRAP(WASM_TRAP_NULL_REFERENCE);
	const struct rt_functype *want = &m->types[pc[1]];
	if (callee->type != want && !rt__functype_eq(callee->type, want))
		TRAP(WASM_TRAP_INDIRECT_MISMATCH);
	base = pc[3];
	pc += 5;
	goto enter;
}
enter:
	if (callee->host) {
		root->fuel_chunk = fuel;
		trap = call_host(in, callee, fp + base);
		fuel = root->fuel_chunk;
		if (trap != WASM_OK)
			goto trapped;
		RELOAD_MEM();
		NEXT();
	}
	{
		wasm_instance *ci = callee->inst;
		const struct rt_code *cc = &ci->m->code[callee->idx - ci->m->nfunc_imports];
		wasm_value *nfp = fp + base;
		if (fr == frames_end || nfp + cc->frame_size > stack_end)
			TRAP(WASM_TRAP_STACK_EXHAUSTED);
		fr->pc = pc;
		fr->fp = fp;
		fr->inst = in;
		fr++;
		fp = nfp;
		ZERO_LOCALS(cc);
		if (ci != in) {
			in = ci;
			m = in->m;
			RELOAD_MEM();
		}
		pc = cc->ops;
		fuel -= cc->entry_fuel;
		if (fuel < 0)
			goto fuel_slow;
		NEXT();
	}
l_OP_SELECT:
	D = fp[pc[2]].i32 ? fp[pc[3]] : fp[pc[4]];
	pc += 5;
	NEXT();
l_OP_COPY:
	D = A;
	pc += 3;
	NEXT();
l_OP_COPY2:
	D = A;
	fp[pc[3]] = fp[pc[4]];
	pc += 5;
	NEXT();
	/* ---- fused pairs (compile.c pair_pass): the second instruction starts at the word
	 * after the first's operands; its own opcode word is skipped ---- */
l_OP_ADDI2: {
	const uint32_t r1 = fp[pc[2]].i32 + pc[3];
	fp[pc[1]].i32 = r1;
	const uint32_t r2 = fp[pc[7]].i32 + pc[8];
	fp[pc[6]].i32 = r2;
	acc = r2;
	pc += 10;
	NEXT();
}
l_OP_ADDI_CALL:
	fp[pc[1]].i32 = fp[pc[2]].i32 + pc[3];
	pc += 5;
	goto l_OP_CALL;
l_OP_ADD_RETURN:
	fp[pc[1]].i32 = fp[pc[2]].i32 + fp[pc[3]].i32;
	pc += 4;
	goto l_OP_RETURN;
l_OP_ADDI_RETURN:
	fp[pc[1]].i32 = fp[pc[2]].i32 + pc[3];
	pc += 5;
	goto l_OP_RETURN;
l_OP_FMUL2:
	D.f64 = A.f64 * B.f64;
	fp[pc[5]].f64 = fp[pc[6]].f64 * fp[pc[7]].f64;
	pc += 8;
	NEXT();
l_OP_ANDN: { /* d1 = x ^ -1 (pc[1..4]); d2 = d1 & y (pc[6..8]) */
	const uint32_t r1 = ~fp[pc[2]].i32;
	fp[pc[1]].i32 = r1;
	const uint32_t r2 = r1 & fp[pc[8]].i32;
	fp[pc[6]].i32 = r2;
	acc = r2;
	pc += 9;
	NEXT();
}
l_OP_ADD2A: { /* d1 = acc + b1 (pc[1], pc[3]); d2 = d1 + b2 (pc[5], pc[7]) */
	const uint32_t r1 = (uint32_t)acc + fp[pc[3]].i32;
	fp[pc[1]].i32 = r1;
	const uint32_t r2 = r1 + fp[pc[7]].i32;
	fp[pc[5]].i32 = r2;
	acc = r2;
	pc += 8;
	NEXT();
}
l_OP_LDX_ADD: { /* d1 = i32.load (u32)(a + imm) + off (pc[1..4]); d2 = d1 + b (pc[6], pc[8]) */
	const uint64_t ea = (uint64_t)(uint32_t)(fp[pc[2]].i32 + pc[3]) + pc[4];
	if (ea + 4 > memsize)
		TRAP(WASM_TRAP_OOB_MEMORY);
	uint32_t v_;
	memcpy(&v_, mem + ea, 4);
	fp[pc[1]].i32 = v_;
	const uint32_t r_ = v_ + fp[pc[8]].i32;
	fp[pc[6]].i32 = r_;
	acc = r_;
	pc += 9;
	NEXT();
}
	/* d1 = a OP1 b (pc[1..3]); d2 = d1 OP2 c (pc[5], pc[7]) */
#define LOGIC2(n, OP1, OP2)                                    \
	logic2_##n : {                                         \
		const uint32_t r1 = A.i32 OP1 B.i32;           \
		D.i32 = r1;                                    \
		const uint32_t r2 = r1 OP2 fp[pc[7]].i32;      \
		fp[pc[5]].i32 = r2;                            \
		acc = r2;                                      \
		pc += 8;                                       \
		NEXT();                                        \
	}
	LOGIC2(0, &, &)
	LOGIC2(1, &, |)
	LOGIC2(2, &, ^)
	LOGIC2(3, |, &)
	LOGIC2(4, |, |)
	LOGIC2(5, |, ^)
	LOGIC2(6, ^, &)
	LOGIC2(7, ^, |)
	LOGIC2(8, ^, ^)
	/* d1 = f64 constant pc[2..3]; d2 = A2 OP d1 (KB) or d1 OP B2 (KA), d2 A2 B2 = pc[5..7] */
#define FK(n, OPR)                                                                \
	fkb_##n : {                                                               \
		const uint64_t bits_ = (uint64_t)pc[2] | ((uint64_t)pc[3] << 32); \
		double k_;                                                        \
		memcpy(&k_, &bits_, 8);                                           \
		D.i64 = bits_;                                                    \
		fp[pc[5]].f64 = fp[pc[6]].f64 OPR k_;                             \
		pc += 8;                                                          \
		NEXT();                                                           \
	}                                                                         \
	fka_##n : {                                                               \
		const uint64_t bits_ = (uint64_t)pc[2] | ((uint64_t)pc[3] << 32); \
		double k_;                                                        \
		memcpy(&k_, &bits_, 8);                                           \
		D.i64 = bits_;                                                    \
		fp[pc[5]].f64 = k_ OPR fp[pc[7]].f64;                             \
		pc += 8;                                                          \
		NEXT();                                                           \
	}
	FK(0, +)
	FK(1, -)
	FK(2, *)
	FK(3, /)
l_OP_COPY4:
	D = A;
	fp[pc[3]] = fp[pc[4]];
	fp[pc[6]] = fp[pc[7]];
	fp[pc[8]] = fp[pc[9]];
	pc += 10;
	NEXT();
l_OP_ADD_LOAD: { /* d1 = a + b (pc[1..3]); d2 = i32.load d1 offset pc[7] */
	const uint32_t a_ = fp[pc[2]].i32 + fp[pc[3]].i32;
	fp[pc[1]].i32 = a_;
	const uint64_t ea = (uint64_t)a_ + pc[7];
	if (ea + 4 > memsize)
		TRAP(WASM_TRAP_OOB_MEMORY);
	uint32_t v_;
	memcpy(&v_, mem + ea, 4);
	fp[pc[5]].i32 = v_;
	acc = v_;
	pc += 8;
	NEXT();
}
	/* f64 load, then an op of it (its B): the loaded value goes on in a register */
#define LDFOP(pfx, npc, EA, k, OPR)                                       \
	pfx : {                                                          \
		const uint64_t ea = (EA);                                \
		if (ea + 8 > memsize)                                    \
			TRAP(WASM_TRAP_OOB_MEMORY);                      \
		double v_;                                               \
		memcpy(&v_, mem + ea, 8);                                \
		fp[pc[1]].f64 = v_;                                      \
		fp[pc[(k) + 1]].f64 = fp[pc[(k) + 2]].f64 OPR v_;        \
		pc += (npc);                                             \
		NEXT();                                                  \
	}
#define LDFOPS(name, OPR)                                                                  \
	LDFOP(l_OP_LDF_##name, 8, (uint64_t)fp[pc[2]].i32 + pc[3], 4, OPR)                 \
	LDFOP(l_OP_LDXF_##name, 9, (uint64_t)(uint32_t)(fp[pc[2]].i32 + pc[3]) + pc[4], 5, OPR)
	LDFOPS(ADD, +)
	LDFOPS(SUB, -)
	LDFOPS(MUL, *)
	/* f64 op, then a store of its result: pc[5] = address slot, pc[7] = offset */
#define FOPST(name, OPR)                                                  \
	l_OP_##name : {                                                  \
		const double r_ = A.f64 OPR B.f64;                       \
		D.f64 = r_;                                              \
		const uint64_t ea = (uint64_t)fp[pc[5]].i32 + pc[7];     \
		if (ea + 8 > memsize)                                    \
			TRAP(WASM_TRAP_OOB_MEMORY);                      \
		memcpy(mem + ea, &r_, 8);                                \
		pc += 8;                                                 \
		NEXT();                                                  \
	}
	FOPST(FADD_ST, +)
	FOPST(FSUB_ST, -)
	FOPST(FMUL_ST, *)
	/* d = rotl(x, a) ^ rotl(x, b) ^ (rotl or shr_u)(x, c): d = pc[1], x = pc[2] (or acc),
	 * a, b, c = pc[3], pc[9], pc[14] (compile.c rot3_fuse) */
#define ROT32(x, n) (((x) << ((n) & 31)) | ((x) >> ((32 - (n)) & 31)))
#define ROT3F(pfx, X, THIRD)                                                   	pfx : {                                                                		const uint32_t x_ = (X);                                       		const uint32_t r_ = ROT32(x_, pc[3]) ^ ROT32(x_, pc[9]) ^ THIRD; 		D.i32 = r_;                                                    		acc = r_;                                                      		pc += 15;                                                      		NEXT();                                                        	}
	ROT3F(l_OP_ROT3, fp[pc[2]].i32, ROT32(x_, pc[14]))
	ROT3F(acc_OP_ROT3, (uint32_t)acc, ROT32(x_, pc[14]))
	ROT3F(l_OP_ROT3S, fp[pc[2]].i32, (x_ >> (pc[14] & 31)))
	ROT3F(acc_OP_ROT3S, (uint32_t)acc, (x_ >> (pc[14] & 31)))
l_OP_CONST32:
	D.i64 = pc[2];
	pc += 3;
	NEXT();
l_OP_CONST64:
	D.i64 = (uint64_t)pc[2] | ((uint64_t)pc[3] << 32);
	pc += 4;
	NEXT();
l_OP_GLOBAL_GET:
	D = in->globals[pc[2]]->v;
	pc += 3;
	NEXT();
l_OP_GLOBAL_SET:
	in->globals[pc[1]]->v = A;
	pc += 3;
	NEXT();

	/* ---- memory ---- */
	/* Bulk operations cost fuel in proportion to the bytes they touch (one unit per 64), so a
	 * guest cannot do unbounded work per instruction within its budget. */
#define BULK_FUEL(bytes)                         \
	do {                                     \
		fuel -= (int64_t)((bytes) >> 6); \
		if (fuel < 0)                    \
			goto fuel_slow;          \
	} while (0)
l_OP_MEMORY_SIZE:
	D.i32 = (uint32_t)(memsize / RT_PAGE);
	pc += 2;
	NEXT();
l_OP_MEMORY_GROW:
	D.i32 = (uint32_t)rt__memory_grow(in->mem, A.i32);
	RELOAD_MEM();
	pc += 3;
	NEXT();
l_OP_MEMORY_FILL: {
	uint64_t d = fp[pc[1]].i32, n = fp[pc[3]].i32;
	if (d + n > memsize)
		TRAP(WASM_TRAP_OOB_MEMORY);
	memset(mem + d, (int)(uint8_t)fp[pc[2]].i32, n);
	pc += 4;
	BULK_FUEL(n);
	NEXT();
}
l_OP_MEMORY_COPY: {
	uint64_t d = fp[pc[1]].i32, s = fp[pc[2]].i32, n = fp[pc[3]].i32;
	if (d + n > memsize || s + n > memsize)
		TRAP(WASM_TRAP_OOB_MEMORY);
	memmove(mem + d, mem + s, n);
	pc += 4;
	BULK_FUEL(n);
	NEXT();
}
l_OP_MEMORY_INIT: {
	const struct rt_data *seg = &m->datas[pc[1]];
	uint64_t len = in->data_dropped[pc[1]] ? 0 : seg->len;
	uint64_t d = fp[pc[2]].i32, s = fp[pc[3]].i32, n = fp[pc[4]].i32;
	if (s + n > len || d + n > memsize)
		TRAP(WASM_TRAP_OOB_MEMORY);
	if (n)
		memcpy(mem + d, seg->bytes + s, n);
	pc += 5;
	BULK_FUEL(n);
	NEXT();
}
l_OP_DATA_DROP:
	in->data_dropped[pc[1]] = 1;
	pc += 2;
	NEXT();

	/* ---- tables and references ---- */
l_OP_TABLE_GET: {
	struct rt_table *t = in->tables[pc[2]];
	uint32_t i = B.i32;
	if (i >= t->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	D.ref = t->elems[i];
	pc += 4;
	NEXT();
}
l_OP_TABLE_SET: {
	struct rt_table *t = in->tables[pc[1]];
	uint32_t i = A.i32;
	if (i >= t->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	t->elems[i] = B.ref;
	pc += 4;
	NEXT();
}
l_OP_TABLE_SIZE:
	D.i32 = in->tables[pc[2]]->size;
	pc += 3;
	NEXT();
l_OP_TABLE_GROW:
	D.i32 = (uint32_t)rt__table_grow(in->tables[pc[2]], fp[pc[4]].i32, B.ref);
	pc += 5;
	NEXT();
l_OP_TABLE_FILL: {
	struct rt_table *t = in->tables[pc[1]];
	uint64_t i = fp[pc[2]].i32, n = fp[pc[4]].i32;
	void *v = fp[pc[3]].ref;
	if (i + n > t->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	for (uint64_t k = 0; k < n; k++)
		t->elems[i + k] = v;
	pc += 5;
	BULK_FUEL(n * 8);
	NEXT();
}
l_OP_TABLE_COPY: {
	struct rt_table *td = in->tables[pc[1]], *ts = in->tables[pc[2]];
	uint64_t d = fp[pc[3]].i32, s = fp[pc[4]].i32, n = fp[pc[5]].i32;
	if (d + n > td->size || s + n > ts->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	if (n)
		memmove(td->elems + d, ts->elems + s, n * sizeof *td->elems);
	pc += 6;
	BULK_FUEL(n * 8);
	NEXT();
}
l_OP_TABLE_INIT: {
	struct rt_table *t = in->tables[pc[1]];
	const struct rt_elem *seg = &m->elems[pc[2]];
	uint64_t len = in->elem_dropped[pc[2]] ? 0 : seg->n;
	uint64_t d = fp[pc[3]].i32, s = fp[pc[4]].i32, n = fp[pc[5]].i32;
	if (s + n > len || d + n > t->size)
		TRAP(WASM_TRAP_OOB_TABLE);
	for (uint64_t k = 0; k < n; k++)
		t->elems[d + k] = rt__constexpr_ref(in, &seg->items[s + k]);
	pc += 6;
	BULK_FUEL(n * 8);
	NEXT();
}
l_OP_ELEM_DROP:
	in->elem_dropped[pc[1]] = 1;
	pc += 2;
	NEXT();
l_OP_REF_NULL:
	D.ref = NULL;
	pc += 2;
	NEXT();
l_OP_REF_IS_NULL:
	D.i32 = A.ref == NULL;
	pc += 3;
	NEXT();
l_OP_REF_FUNC:
	D.ref = in->funcs[pc[2]];
	pc += 3;
	NEXT();

done:
	root->fuel_chunk = fuel;
	return WASM_OK;
trapped:
	root->fuel_chunk = fuel;
	if (trap != WASM_TRAP_HOST && trap != WASM_TRAP_EXIT) {
		rt__trap(root, trap, trap_text(trap));
	} else if (in != root) {
		/* the host function reported on the instance that called it */
		memcpy(root->errmsg, in->errmsg, sizeof root->errmsg);
		root->exit_code = in->exit_code;
	}
	return trap;
}

wasm_trap rt__call(wasm_instance *inst, struct rt_func *f, wasm_value *args, size_t nargs,
		   wasm_value *results, size_t nresults)
{
	if (f->host) {
		wasm_value res[16];
		if (nresults > 16)
			return rt__trap(inst, WASM_TRAP_BAD_CALL, "host function with too many results");
		memset(res, 0, sizeof res);
		wasm_trap t = f->host(inst, f->user, args, res);
		if (t == WASM_OK && nresults)
			memcpy(results, res, nresults * sizeof *res);
		return t;
	}
	struct rt_stack *s = rt__stack_get();
	if (!s)
		return rt__trap(inst, WASM_TRAP_NOMEM, "out of memory for the call stack");
	if (nargs)
		memcpy(s->slots, args, nargs * sizeof *args);
	wasm_trap t = run(inst, s, f);
	if (t == WASM_OK && nresults)
		memcpy(results, s->slots, nresults * sizeof *results);
	rt__stack_put(s);
	return t;
}
