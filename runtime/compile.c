/* Validation and compilation of function bodies (Wasm 2.0 section 3.3, with the algorithm of the
 * spec's validation appendix) in a single pass into slot-addressed three-operand code.
 *
 * Code format: an array of 32-bit words; each instruction is an opcode word followed by its
 * operands. Operands are frame slot indices (fp[i]), immediates or branch targets (relative to
 * the target word itself). Branch targets are all resolved here, LEB128 is never re-read.
 * Frame layout: params and locals in slots [0, nlocals), then the operand stack: the value at
 * stack height h lives in slot nlocals + h ("canonical slot"), so every operand has a fixed slot
 * known at compile time and the interpreter keeps no stack pointer. local.get produces no code:
 * the stack entry refers to the local's slot directly until something could change it
 * ("materialization" copies it to its canonical slot first). A value-producing instruction
 * directly followed by local.set writes into the local (its destination is retargeted).
 * Calls pass arguments in place: the callee's frame starts at the first argument's slot.
 * Constants and "x + constant" are kept symbolic on the stack and become immediates (OP_IMM,
 * OP_MEMX address folding); compares feeding br_if/if become fused compare-and-branch
 * (OP_BRC*); shift-then-xor/or/add/and becomes OP_SHF; copy pairs become OP_COPY2.
 * Fuel: each function entry and loop back-edge charges the number of instructions of that
 * straight-line region (counted here), so the interpreter checks fuel once per region. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "runtime/reader.h"

#define NO_POS UINT32_MAX
#define LAZY_MAX 256 /* operand stack depth up to which entries may refer to locals */

/* An operand stack entry: its type and the slot holding it, or a value not computed yet:
 * K_CONST, a constant (kv) that becomes an immediate of the consuming instruction when it has
 * an immediate form; K_ADD, slot + kv (i32.add of a constant), which a load or store folds
 * into its address. Both are only written to a slot when something needs them there. */
enum { K_PLAIN, K_CONST, K_ADD };

struct val {
	uint8_t type;
	uint8_t k;
	uint32_t slot;
	uint64_t kv;
};

enum { C_FUNC, C_BLOCK, C_LOOP, C_IF, C_ELSE };

struct ctl {
	uint8_t kind;
	bool unreachable; /* validation: the rest of this block is stack-polymorphic */
	bool dead;        /* emission: code here can never run (inherited from the parent) */
	uint32_t nparams, nresults;
	const uint8_t *params, *results;
	uint32_t height;     /* operand stack height below the block's params */
	uint32_t loop_pc;    /* C_LOOP: branch target */
	uint32_t patches;    /* linked list (through code words) of forward branch sites */
	uint32_t else_patch; /* C_IF: the BR_UNLESS target word */
	uint32_t cost_words; /* C_LOOP: linked list of back-edge cost words to patch */
	uint32_t fuel;       /* instructions charged at this fuel point so far */
	uint8_t single;      /* storage for a one-value block type */
};

struct rt_cc {
	struct rt_rd *r;
	wasm_module *m;
	uint32_t *code;
	uint32_t ncode, capcode;
	struct val *st;
	uint32_t nst, capst;
	struct ctl *ctl;
	uint32_t nctl, capctl;
	uint8_t *ltypes;
	uint32_t capltypes;
	uint32_t nlocals, nparams;
	uint32_t max_height;
	uint32_t first_lazy; /* no entry below this index is lazy (local ref, K_CONST, K_ADD) */
	uint32_t fuel_ctl; /* index of the innermost fuel point (C_FUNC or C_LOOP) */
	/* Peephole state: the last emitted instruction wrote stack height fresh_h through the
	 * destination word at fresh_dst, and ended at fresh_end. */
	uint32_t fresh_dst, fresh_end, fresh_h;
	uint32_t last_copy; /* start of the last COPY emitted (see emit_copy) */
	uint32_t barrier;   /* position of the last branch target */
	/* Zero-initialisation elision: a declared local that no local.set/tee precedes
	 * lexically still holds its initial zero at any point outside a loop (without loops,
	 * every path to a point runs only instructions written before it), so storing zero
	 * into it there is dropped. */
	uint32_t loops;  /* loops enclosing the current position */
	uint8_t *lset;   /* per local: some local.set/tee of it has been seen */
	uint32_t caplset;
	uint8_t *tgt; /* acc_pass: per code word, some branch targets it */
	uint32_t captgt;
};

static void len_tab_make(void);
static pthread_once_t len_once = PTHREAD_ONCE_INIT;

struct rt_cc *rt__cc_create(void)
{
	pthread_once(&len_once, len_tab_make);
	return calloc(1, sizeof(struct rt_cc));
}

void rt__cc_free(struct rt_cc *cc)
{
	if (!cc)
		return;
	free(cc->code);
	free(cc->st);
	free(cc->ctl);
	free(cc->ltypes);
	free(cc->lset);
	free(cc->tgt);
	free(cc);
}

static void *grow(struct rt_cc *cc, void *p, uint32_t *cap, uint32_t need, size_t elem)
{
	if (need <= *cap)
		return p;
	uint32_t nc = *cap ? *cap : 64;
	while (nc < need)
		nc *= 2;
	void *q = realloc(p, (size_t)nc * elem);
	if (!q)
		rt__fail(cc->r, "out of memory");
	*cap = nc;
	return q;
}

static const char *tname(uint8_t t)
{
	switch (t) {
	case WASM_I32: return "i32";
	case WASM_I64: return "i64";
	case WASM_F32: return "f32";
	case WASM_F64: return "f64";
	case WASM_FUNCREF: return "funcref";
	case WASM_EXTERNREF: return "externref";
	default: return "unknown";
	}
}

static inline struct ctl *top(struct rt_cc *cc)
{
	return &cc->ctl[cc->nctl - 1];
}

static inline bool dead(struct rt_cc *cc)
{
	struct ctl *c = top(cc);
	return c->unreachable || c->dead;
}

/* ---- Emission --------------------------------------------------------------------------- */

static inline void emit(struct rt_cc *cc, uint32_t w)
{
	if (cc->ncode == cc->capcode)
		cc->code = grow(cc, cc->code, &cc->capcode, cc->ncode + 1, sizeof *cc->code);
	cc->code[cc->ncode++] = w;
}

static inline uint32_t canon(struct rt_cc *cc, uint32_t h)
{
	return cc->nlocals + h;
}

/* Marks the current position as a branch target: instructions before it are no longer
 * candidates for merging with what follows. */
static inline void bind_label(struct rt_cc *cc)
{
	cc->barrier = cc->ncode;
}

/* A copy directly following another copy (with no branch target between) becomes one COPY2
 * instruction, which performs both in order: copy chains are common in compiled loops. */
static void emit_copy(struct rt_cc *cc, uint32_t dst, uint32_t src)
{
	if (dst == src || dead(cc))
		return;
	if (cc->last_copy != NO_POS && cc->last_copy + 3 == cc->ncode && cc->last_copy >= cc->barrier &&
	    cc->code[cc->last_copy] == OP_COPY) {
		cc->code[cc->last_copy] = OP_COPY2;
		emit(cc, dst);
		emit(cc, src);
		cc->last_copy = NO_POS;
		return;
	}
	cc->last_copy = cc->ncode;
	emit(cc, OP_COPY);
	emit(cc, dst);
	emit(cc, src);
}

static void emit_const(struct rt_cc *cc, uint32_t dst, uint8_t type, uint64_t v)
{
	if (dead(cc))
		return;
	if (type == WASM_I64 || type == WASM_F64) {
		emit(cc, OP_CONST64);
		emit(cc, dst);
		emit(cc, (uint32_t)v);
		emit(cc, (uint32_t)(v >> 32));
	} else {
		emit(cc, OP_CONST32);
		emit(cc, dst);
		emit(cc, (uint32_t)v);
	}
}

static void emit_addimm(struct rt_cc *cc, uint32_t dst, uint32_t a, uint32_t imm)
{
	if (dead(cc))
		return;
	emit(cc, OP_IMM + 0x6a);
	emit(cc, dst);
	emit(cc, a);
	emit(cc, imm);
	emit(cc, 0);
}

/* Stores stack entry i in its canonical slot: computes a deferred constant or address, or
 * copies a local that the entry still refers to. */
static void materialize(struct rt_cc *cc, uint32_t i)
{
	struct val *v = &cc->st[i];
	uint32_t c = canon(cc, i);
	if (v->k == K_CONST) {
		emit_const(cc, c, v->type, v->kv);
		v->k = K_PLAIN;
		v->slot = c;
	} else if (v->k == K_ADD) {
		emit_addimm(cc, c, v->slot, (uint32_t)v->kv);
		v->k = K_PLAIN;
		v->slot = c;
	} else if (v->slot != c) {
		emit_copy(cc, c, v->slot);
		v->slot = c;
	}
}

/* Materializes entries [from, nst). Only entries at or above first_lazy can be lazy, which
 * keeps this linear in what actually needs work (block entries do it for the whole stack). */
static void materialize_from(struct rt_cc *cc, uint32_t from)
{
	uint32_t i = from > cc->first_lazy ? from : cc->first_lazy;
	for (; i < cc->nst; i++)
		materialize(cc, i);
	if (from <= cc->first_lazy)
		cc->first_lazy = cc->nst;
}

static inline void note_lazy(struct rt_cc *cc, uint32_t i)
{
	if (i < cc->first_lazy)
		cc->first_lazy = i;
}

/* ---- Operand stack (validation) --------------------------------------------------------- */

static void push(struct rt_cc *cc, uint8_t t, uint32_t slot)
{
	if (cc->nst == cc->capst)
		cc->st = grow(cc, cc->st, &cc->capst, cc->nst + 1, sizeof *cc->st);
	if (slot != canon(cc, cc->nst)) {
		/* A reference to a local. Deep in the stack it is copied at once, so that local.set
		 * only ever scans the first LAZY_MAX entries for pending reads. */
		if (cc->nst >= LAZY_MAX) {
			emit_copy(cc, canon(cc, cc->nst), slot);
			slot = canon(cc, cc->nst);
		} else {
			note_lazy(cc, cc->nst);
		}
	}
	cc->st[cc->nst].type = t;
	cc->st[cc->nst].k = K_PLAIN;
	cc->st[cc->nst].slot = slot;
	cc->nst++;
	if (cc->nst > cc->max_height) {
		cc->max_height = cc->nst;
		if (cc->nlocals + cc->max_height > RT_MAX_FRAME_SLOTS)
			rt__fail(cc->r, "function too large (operand stack deeper than %u)",
				 RT_MAX_FRAME_SLOTS);
	}
}

/* Pushes a result at its canonical slot; returns that slot. */
static uint32_t push_new(struct rt_cc *cc, uint8_t t)
{
	uint32_t s = canon(cc, cc->nst);
	push(cc, t, s);
	return s;
}

static void push_const(struct rt_cc *cc, uint8_t t, uint64_t v)
{
	push(cc, t, canon(cc, cc->nst));
	cc->st[cc->nst - 1].k = K_CONST;
	note_lazy(cc, cc->nst - 1);
	cc->st[cc->nst - 1].kv = v;
}

/* Pops without storing a constant (the caller handles .k). */
static struct val pop_raw(struct rt_cc *cc)
{
	struct ctl *c = top(cc);
	if (cc->nst == c->height) {
		if (c->unreachable)
			return (struct val){RT_UNKNOWN, K_PLAIN, canon(cc, cc->nst), 0};
		rt__fail(cc->r, "type mismatch: operand stack underflow");
	}
	return cc->st[--cc->nst];
}

/* Pops an entry that the caller reads from its slot (constants get stored first). */
static struct val pop_any(struct rt_cc *cc)
{
	struct val v = pop_raw(cc);
	if (v.k != K_PLAIN) {
		cc->nst++; /* materialize in place, then pop again */
		materialize(cc, cc->nst - 1);
		v = cc->st[--cc->nst];
	}
	return v;
}

static inline bool top_is_const(struct rt_cc *cc)
{
	return cc->nst > top(cc)->height && cc->st[cc->nst - 1].k == K_CONST;
}

static struct val pop(struct rt_cc *cc, uint8_t want)
{
	struct val v = pop_any(cc);
	if (v.type != want && v.type != RT_UNKNOWN && want != RT_UNKNOWN)
		rt__fail(cc->r, "type mismatch: expected %s, got %s", tname(want), tname(v.type));
	return v;
}

static void set_unreachable(struct rt_cc *cc)
{
	struct ctl *c = top(cc);
	cc->nst = c->height;
	c->unreachable = true;
}

/* Checks (without popping) that the top of the stack matches types[0..n). */
static void check_top(struct rt_cc *cc, const uint8_t *types, uint32_t n)
{
	struct ctl *c = top(cc);
	for (uint32_t k = 0; k < n; k++) {
		uint8_t want = types[n - 1 - k];
		if (cc->nst < c->height + k + 1) {
			if (c->unreachable)
				continue;
			rt__fail(cc->r, "type mismatch: expected %s, operand stack is empty", tname(want));
		}
		uint8_t got = cc->st[cc->nst - 1 - k].type;
		if (got != want && got != RT_UNKNOWN)
			rt__fail(cc->r, "type mismatch: expected %s, got %s", tname(want), tname(got));
	}
}

static void invalidate_fresh(struct rt_cc *cc)
{
	cc->fresh_end = NO_POS;
}

/* ---- Fuel ------------------------------------------------------------------------------- */

static inline void charge(struct rt_cc *cc)
{
	cc->ctl[cc->fuel_ctl].fuel++;
}

/* ---- Control ---------------------------------------------------------------------------- */

static struct ctl *push_ctl(struct rt_cc *cc, uint8_t kind, uint32_t np, const uint8_t *params,
			    uint32_t nr, const uint8_t *results)
{
	bool d = cc->nctl ? dead(cc) : false;
	if (cc->nctl == cc->capctl)
		cc->ctl = grow(cc, cc->ctl, &cc->capctl, cc->nctl + 1, sizeof *cc->ctl);
	struct ctl *c = &cc->ctl[cc->nctl++];
	memset(c, 0, sizeof *c);
	c->kind = kind;
	c->dead = d;
	c->nparams = np;
	c->params = params;
	c->nresults = nr;
	c->results = results;
	c->height = cc->nst - np;
	c->patches = NO_POS;
	c->else_patch = NO_POS;
	c->cost_words = NO_POS;
	return c;
}

/* Type-checks the block parameters on top of the stack and leaves them there (they become
 * the new block's first values). On a polymorphic stack missing values are fresh entries. */
static void keep_params(struct rt_cc *cc, uint32_t np, const uint8_t *p)
{
	uint32_t before = cc->nst;
	for (uint32_t k = np; k-- > 0;)
		pop(cc, p[k]);
	if (cc->nst + np == before) {
		cc->nst = before;
		for (uint32_t k = 0; k < np; k++)
			cc->st[before - np + k].type = p[k];
	} else {
		for (uint32_t k = 0; k < np; k++)
			push_new(cc, p[k]);
	}
}

static void read_blocktype(struct rt_cc *cc, uint32_t *np, const uint8_t **params, uint32_t *nr,
			   const uint8_t **results, uint8_t *single)
{
	int64_t bt = rt__rd_s33(cc->r);
	*np = 0;
	*params = NULL;
	if (bt == -64) { /* 0x40: [] -> [] */
		*nr = 0;
		*results = NULL;
	} else if (bt < 0) {
		uint8_t t = (uint8_t)(bt & 0x7f);
		switch (t) {
		case WASM_I32: case WASM_I64: case WASM_F32: case WASM_F64:
		case WASM_FUNCREF: case WASM_EXTERNREF:
			break;
		default:
			rt__fail(cc->r, "malformed block type");
		}
		*single = t;
		*nr = 1;
		*results = NULL; /* stored in ctl.single */
	} else {
		if ((uint64_t)bt >= cc->m->ntypes)
			rt__fail(cc->r, "unknown type %lld", (long long)bt);
		const struct rt_functype *ft = &cc->m->types[bt];
		*np = ft->nparams;
		*params = ft->types;
		*nr = ft->nresults;
		*results = ft->types + ft->nparams;
	}
}

/* Patches every forward branch site of list `head` to `target`. */
static void patch_list(struct rt_cc *cc, uint32_t head, uint32_t target)
{
	while (head != NO_POS) {
		uint32_t next = cc->code[head];
		cc->code[head] = target - head;
		head = next;
	}
}

/* Writes the branch target of label `c` into words [at, at+1): the target (relative to
 * `at`) and the fuel cost a backward branch charges (the loop's per-iteration cost, patched
 * when the loop ends; 0 and unused for forward branches). */
static void set_target(struct rt_cc *cc, struct ctl *c, uint32_t at)
{
	if (c->kind == C_LOOP) {
		cc->code[at] = c->loop_pc - at;
		cc->code[at + 1] = c->cost_words;
		c->cost_words = at + 1;
	} else {
		cc->code[at] = c->patches;
		c->patches = at;
		cc->code[at + 1] = 0;
	}
}

/* Emits the target and cost words of a branch to label `c`. */
static void emit_target(struct rt_cc *cc, struct ctl *c)
{
	uint32_t at = cc->ncode;
	emit(cc, 0);
	emit(cc, 0);
	set_target(cc, c, at);
}

static inline uint32_t label_arity(struct ctl *c)
{
	return c->kind == C_LOOP ? c->nparams : c->nresults;
}

/* Block result types; a single-value block type lives in ctl.single (not a pointer, since
 * the ctl array may move). */
static inline const uint8_t *res(struct ctl *c)
{
	return c->results ? c->results : &c->single;
}

static inline const uint8_t *label_types(struct ctl *c)
{
	return c->kind == C_LOOP ? c->params : res(c);
}

/* Copies the top n (materialized) values to the label's slots. */
static void emit_label_copies(struct rt_cc *cc, struct ctl *c, uint32_t n)
{
	uint32_t src = cc->nst - n;
	uint32_t dst = c->kind == C_FUNC ? 0 : cc->nlocals + c->height;
	uint32_t srcslot = canon(cc, src);
	for (uint32_t k = 0; k < n; k++)
		emit_copy(cc, dst + k, srcslot + k);
}

static bool label_needs_copies(struct rt_cc *cc, struct ctl *c, uint32_t n)
{
	if (n == 0)
		return false;
	uint32_t dst = c->kind == C_FUNC ? 0 : cc->nlocals + c->height;
	return dst != canon(cc, cc->nst - n);
}

/* Unconditional jump (br / return) to label `c`, values already type-checked. */
static void emit_jump(struct rt_cc *cc, struct ctl *c)
{
	if (dead(cc))
		return;
	uint32_t n = label_arity(c);
	if (c->kind == C_FUNC && n == 1) {
		/* A single result computed by the previous instruction (or a constant) is written
		 * straight into the result slot 0 instead of being copied there. */
		struct val *v = &cc->st[cc->nst - 1];
		if (v->k == K_ADD) {
			emit_addimm(cc, 0, v->slot, (uint32_t)v->kv);
			emit(cc, OP_RETURN);
			invalidate_fresh(cc);
			return;
		}
		if (v->k == K_CONST) {
			emit_const(cc, 0, v->type, v->kv);
			emit(cc, OP_RETURN);
			invalidate_fresh(cc);
			return;
		}
		if (cc->fresh_end == cc->ncode && cc->fresh_h == cc->nst - 1 &&
		    v->slot == canon(cc, cc->nst - 1)) {
			cc->code[cc->fresh_dst] = 0;
			emit(cc, OP_RETURN);
			invalidate_fresh(cc);
			return;
		}
	}
	materialize_from(cc, cc->nst - n);
	emit_label_copies(cc, c, n);
	if (c->kind == C_FUNC) {
		emit(cc, OP_RETURN);
	} else {
		emit(cc, OP_BR);
		emit_target(cc, c);
	}
}

static struct ctl *label(struct rt_cc *cc, uint32_t depth)
{
	if (depth >= cc->nctl)
		rt__fail(cc->r, "unknown label %u", depth);
	return &cc->ctl[cc->nctl - 1 - depth];
}


/* Records that the instruction just emitted wrote stack height h through word dstpos. */
static void mark_fresh(struct rt_cc *cc, uint32_t dstpos)
{
	cc->fresh_dst = dstpos;
	cc->fresh_end = cc->ncode;
	cc->fresh_h = cc->nst - 1;
}

/* Emits the head of a conditional branch on `cond` (taken when it is non-zero, or zero if
 * negate); the caller emits the target word next. When the condition was just computed by an
 * i32 comparison, that instruction is replaced by a fused compare-and-branch. */
static void emit_cond_head(struct rt_cc *cc, struct val cond, bool negate)
{
	if (cc->fresh_end == cc->ncode && cc->fresh_h == cc->nst && cond.slot == canon(cc, cc->nst)) {
		uint32_t st = cc->fresh_dst - 1, op = cc->code[st], cmp = 0, a = 0, b = 0;
		bool imm = false;
		if (op >= 0x46 && op <= 0x4f) {
			cmp = op;
			a = cc->code[st + 2];
			b = cc->code[st + 3];
		} else if (op >= OP_IMM + 0x46 && op <= OP_IMM + 0x4f) {
			cmp = op - OP_IMM;
			imm = true;
			a = cc->code[st + 2];
			b = cc->code[st + 3];
		} else if (op == 0x45) { /* eqz x == (x == 0) */
			cmp = 0x46;
			imm = true;
			a = cc->code[st + 2];
		}
		if (cmp) {
			if (negate) {
				static const uint8_t neg[10] = {0x47, 0x46, 0x4e, 0x4f, 0x4c,
								0x4d, 0x4a, 0x4b, 0x48, 0x49};
				cmp = neg[cmp - 0x46];
			}
			cc->ncode = st;
			cc->last_copy = NO_POS;
			emit(cc, (imm ? OP_BRCI : OP_BRC) + cmp - 0x46);
			emit(cc, a);
			emit(cc, b);
			invalidate_fresh(cc);
			return;
		}
	}
	emit(cc, negate ? OP_BR_UNLESS : OP_BR_IF);
	emit(cc, cond.slot);
	invalidate_fresh(cc);
}

/* ---- Generic instruction shapes --------------------------------------------------------- */

static void op_unary(struct rt_cc *cc, uint32_t op, uint8_t in, uint8_t out)
{
	struct val a = pop(cc, in);
	uint32_t d = push_new(cc, out);
	if (dead(cc))
		return;
	emit(cc, op);
	emit(cc, d);
	emit(cc, a.slot);
	mark_fresh(cc, cc->ncode - 2);
}

static bool imm_capable(uint32_t op)
{
	return (op >= 0x46 && op <= 0x4f) || (op >= 0x51 && op <= 0x5a) ||
	       (op >= 0x6a && op <= 0x78) || (op >= 0x7c && op <= 0x8a);
}

/* i32 xor/or/add/and whose second operand was just computed by a shift or rotate by a
 * constant (hash and checksum code is full of these): the shift is folded into one SHF
 * instruction, d = a OP (src SHIFT imm). Only when nothing was emitted in between. */
static bool try_fuse_shift(struct rt_cc *cc, uint32_t op)
{
	static const uint32_t ops[4] = {0x73, 0x72, 0x6a, 0x71};
	static const uint32_t shifts[3] = {OP_IMM + 0x74, OP_IMM + 0x76, OP_IMM + 0x77};
	int oi = -1, si = -1;
	for (int i = 0; i < 4; i++)
		if (ops[i] == op)
			oi = i;
	if (oi < 0 || dead(cc) || cc->fresh_end != cc->ncode || cc->nst < top(cc)->height + 2 ||
	    cc->fresh_h != cc->nst - 1)
		return false;
	struct val *b = &cc->st[cc->nst - 1], *a = &cc->st[cc->nst - 2];
	if (b->k != K_PLAIN || b->slot != canon(cc, cc->nst - 1) || b->type != WASM_I32 ||
	    a->k != K_PLAIN || a->type != WASM_I32)
		return false;
	uint32_t st = cc->fresh_dst - 1;
	for (int i = 0; i < 3; i++)
		if (cc->code[st] == shifts[i])
			si = i;
	if (si < 0)
		return false;
	uint32_t src = cc->code[st + 2], amount = cc->code[st + 3];
	cc->ncode = st; /* drop the shift: its result is consumed only here */
	cc->last_copy = NO_POS;
	cc->nst--;
	struct val av = pop_raw(cc);
	uint32_t d = push_new(cc, WASM_I32);
	emit(cc, OP_SHF + (uint32_t)(oi * 3 + si));
	emit(cc, d);
	emit(cc, av.slot);
	emit(cc, src);
	emit(cc, amount);
	mark_fresh(cc, cc->ncode - 4);
	return true;
}

static void op_binary(struct rt_cc *cc, uint32_t op, uint8_t in, uint8_t out)
{
	if (op == 0x6a && top_is_const(cc) && cc->st[cc->nst - 1].type == WASM_I32 &&
	    cc->nst >= top(cc)->height + 2 && cc->st[cc->nst - 2].k == K_PLAIN &&
	    cc->st[cc->nst - 2].type == WASM_I32) {
		/* i32.add of a constant: deferred, so that a load/store can fold it */
		struct val b = pop_raw(cc);
		struct val a = pop_raw(cc);
		push(cc, WASM_I32, a.slot);
		cc->st[cc->nst - 1].k = K_ADD;
		note_lazy(cc, cc->nst - 1);
		cc->st[cc->nst - 1].kv = (uint32_t)b.kv;
		invalidate_fresh(cc);
		return;
	}
	if (try_fuse_shift(cc, op))
		return;
	if (imm_capable(op) && top_is_const(cc) && cc->st[cc->nst - 1].type == in) {
		struct val b = pop_raw(cc);
		struct val a = pop(cc, in);
		uint32_t d = push_new(cc, out);
		if (dead(cc))
			return;
		emit(cc, OP_IMM + op);
		emit(cc, d);
		emit(cc, a.slot);
		emit(cc, (uint32_t)b.kv);
		emit(cc, (uint32_t)(b.kv >> 32));
		mark_fresh(cc, cc->ncode - 4);
		return;
	}
	struct val b = pop(cc, in);
	struct val a = pop(cc, in);
	uint32_t d = push_new(cc, out);
	if (dead(cc))
		return;
	emit(cc, op);
	emit(cc, d);
	emit(cc, a.slot);
	emit(cc, b.slot);
	mark_fresh(cc, cc->ncode - 3);
}

/* Signature of the numeric opcodes 0x45..0xc4: input type(s), output type, arity. */
struct numsig {
	uint8_t in, out, arity;
};

static struct numsig numeric_sig(uint8_t op)
{
	const uint8_t i = WASM_I32, I = WASM_I64, f = WASM_F32, F = WASM_F64;
	if (op == 0x45) return (struct numsig){i, i, 1};
	if (op <= 0x4f) return (struct numsig){i, i, 2};
	if (op == 0x50) return (struct numsig){I, i, 1};
	if (op <= 0x5a) return (struct numsig){I, i, 2};
	if (op <= 0x60) return (struct numsig){f, i, 2};
	if (op <= 0x66) return (struct numsig){F, i, 2};
	if (op <= 0x69) return (struct numsig){i, i, 1};
	if (op <= 0x78) return (struct numsig){i, i, 2};
	if (op <= 0x7b) return (struct numsig){I, I, 1};
	if (op <= 0x8a) return (struct numsig){I, I, 2};
	if (op <= 0x91) return (struct numsig){f, f, 1};
	if (op <= 0x98) return (struct numsig){f, f, 2};
	if (op <= 0x9f) return (struct numsig){F, F, 1};
	if (op <= 0xa6) return (struct numsig){F, F, 2};
	switch (op) {
	case 0xa7: return (struct numsig){I, i, 1};
	case 0xa8: case 0xa9: return (struct numsig){f, i, 1};
	case 0xaa: case 0xab: return (struct numsig){F, i, 1};
	case 0xac: case 0xad: return (struct numsig){i, I, 1};
	case 0xae: case 0xaf: return (struct numsig){f, I, 1};
	case 0xb0: case 0xb1: return (struct numsig){F, I, 1};
	case 0xb2: case 0xb3: return (struct numsig){i, f, 1};
	case 0xb4: case 0xb5: return (struct numsig){I, f, 1};
	case 0xb6: return (struct numsig){F, f, 1};
	case 0xb7: case 0xb8: return (struct numsig){i, F, 1};
	case 0xb9: case 0xba: return (struct numsig){I, F, 1};
	case 0xbb: return (struct numsig){f, F, 1};
	case 0xbc: return (struct numsig){f, i, 1};
	case 0xbd: return (struct numsig){F, I, 1};
	case 0xbe: return (struct numsig){i, f, 1};
	case 0xbf: return (struct numsig){I, F, 1};
	case 0xc0: case 0xc1: return (struct numsig){i, i, 1};
	default: return (struct numsig){I, I, 1}; /* 0xc2..0xc4 */
	}
}

/* Memory access: natural alignment (log2) and value type of loads/stores 0x28..0x3e. */
static void memarg(struct rt_cc *cc, uint32_t natural, uint32_t *offset)
{
	uint32_t align = rt__rd_u32(cc->r);
	*offset = rt__rd_u32(cc->r);
	if (cc->m->nmems == 0)
		rt__fail(cc->r, "unknown memory 0");
	if (align > natural)
		rt__fail(cc->r, "alignment must not be larger than natural");
}

static void op_load(struct rt_cc *cc, uint8_t op)
{
	static const uint8_t nat[14] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
	static const uint8_t ty[14] = {WASM_I32, WASM_I64, WASM_F32, WASM_F64, WASM_I32, WASM_I32,
				       WASM_I32, WASM_I32, WASM_I64, WASM_I64, WASM_I64, WASM_I64,
				       WASM_I64, WASM_I64};
	uint32_t off;
	memarg(cc, nat[op - 0x28], &off);
	if (top_is_const(cc) && cc->st[cc->nst - 1].type == WASM_I32) {
		/* constant address: the effective address is known now (< 2^33, no wrap) */
		struct val a = pop_raw(cc);
		uint64_t ea = (uint64_t)(uint32_t)a.kv + off;
		uint32_t d = push_new(cc, ty[op - 0x28]);
		if (dead(cc))
			return;
		emit(cc, OP_MEMK + op - 0x28);
		emit(cc, d);
		emit(cc, (uint32_t)ea);
		emit(cc, (uint32_t)(ea >> 32));
		mark_fresh(cc, cc->ncode - 3);
		return;
	}
	if (cc->nst > top(cc)->height && cc->st[cc->nst - 1].k == K_ADD) {
		struct val a = pop_raw(cc);
		uint32_t d = push_new(cc, ty[op - 0x28]);
		if (dead(cc))
			return;
		emit(cc, OP_MEMX + op - 0x28);
		emit(cc, d);
		emit(cc, a.slot);
		emit(cc, (uint32_t)a.kv);
		emit(cc, off);
		mark_fresh(cc, cc->ncode - 4);
		return;
	}
	struct val a = pop(cc, WASM_I32);
	uint32_t d = push_new(cc, ty[op - 0x28]);
	if (dead(cc))
		return;
	emit(cc, op);
	emit(cc, d);
	emit(cc, a.slot);
	emit(cc, off);
	mark_fresh(cc, cc->ncode - 3);
}

static void op_store(struct rt_cc *cc, uint8_t op)
{
	static const uint8_t nat[9] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
	static const uint8_t ty[9] = {WASM_I32, WASM_I64, WASM_F32, WASM_F64, WASM_I32, WASM_I32,
				      WASM_I64, WASM_I64, WASM_I64};
	uint32_t off;
	memarg(cc, nat[op - 0x36], &off);
	struct val v = pop(cc, ty[op - 0x36]);
	if (top_is_const(cc) && cc->st[cc->nst - 1].type == WASM_I32) {
		struct val a = pop_raw(cc);
		uint64_t ea = (uint64_t)(uint32_t)a.kv + off;
		if (dead(cc))
			return;
		emit(cc, OP_MEMK + op - 0x28);
		emit(cc, v.slot);
		emit(cc, (uint32_t)ea);
		emit(cc, (uint32_t)(ea >> 32));
		return;
	}
	if (cc->nst > top(cc)->height && cc->st[cc->nst - 1].k == K_ADD) {
		struct val a = pop_raw(cc);
		if (dead(cc))
			return;
		emit(cc, OP_MEMX + op - 0x28);
		emit(cc, a.slot);
		emit(cc, v.slot);
		emit(cc, (uint32_t)a.kv);
		emit(cc, off);
		return;
	}
	struct val a = pop(cc, WASM_I32);
	if (dead(cc))
		return;
	emit(cc, op);
	emit(cc, a.slot);
	emit(cc, v.slot);
	emit(cc, off);
}

static void op_call(struct rt_cc *cc, uint32_t op, const struct rt_functype *t, uint32_t imm1,
		    uint32_t imm2, bool indirect)
{
	struct val idx = {0, K_PLAIN, 0, 0};
	if (indirect)
		idx = pop(cc, WASM_I32);
	check_top(cc, t->types, t->nparams);
	struct ctl *c = top(cc);
	uint32_t base;
	if (cc->nst - c->height < t->nparams) {
		if (!c->unreachable)
			rt__fail(cc->r, "type mismatch: call needs %u arguments", t->nparams);
		base = c->height;
	} else {
		base = cc->nst - t->nparams;
	}
	/* Arguments must sit in their canonical slots (the callee's frame starts there); the
	 * results land in the same place. */
	if (!dead(cc))
		materialize_from(cc, base);
	cc->nst = base;
	for (uint32_t k = 0; k < t->nresults; k++)
		push_new(cc, t->types[t->nparams + k]);
	if (dead(cc))
		return;
	emit(cc, op);
	emit(cc, imm1);
	if (indirect)
		emit(cc, imm2);
	emit(cc, canon(cc, base));
	if (indirect)
		emit(cc, idx.slot);
	invalidate_fresh(cc);
}

/* ---- Accumulator pass ------------------------------------------------------------------- */

/* Length in words (opcode and operands) of the instruction at p; accumulator forms have the
 * length of their base form. See op_len for the fast version. */
static uint32_t op_len_slow(const uint32_t *p)
{
	uint32_t op = p[0];
	if (op >= OP_ACC)
		op -= OP_ACC;
	if (op >= OP_MEMK)
		return 4;
	if (op >= OP_IMM)
		return 5; /* OP_IMM, OP_BRC(I), OP_MEMX, OP_SHF */
	if (op >= 0x28 && op <= 0x3e)
		return 4;
	if (op >= 0x45 && op <= 0xc4)
		return numeric_sig((uint8_t)op).arity == 1 ? 3 : 4;
	if (op >= OP_TRUNC_SAT && op < OP_TRUNC_SAT + 8)
		return 3;
	switch (op) {
	case OP_UNREACHABLE: case OP_RETURN: return 1;
	case OP_FUEL: case OP_MEMORY_SIZE: case OP_DATA_DROP: case OP_ELEM_DROP: case OP_REF_NULL:
		return 2;
	case OP_BR: case OP_CALL: case OP_CALL_IMPORT: case OP_COPY: case OP_CONST32:
	case OP_GLOBAL_GET: case OP_GLOBAL_SET: case OP_MEMORY_GROW: case OP_TABLE_SIZE:
	case OP_REF_IS_NULL: case OP_REF_FUNC:
		return 3;
	case OP_BR_IF: case OP_BR_UNLESS: case OP_CONST64: case OP_MEMORY_FILL: case OP_MEMORY_COPY:
	case OP_TABLE_GET: case OP_TABLE_SET:
		return 4;
	case OP_CALL_INDIRECT: case OP_SELECT: case OP_MEMORY_INIT: case OP_TABLE_GROW:
	case OP_TABLE_FILL: case OP_COPY2:
		return 5;
	case OP_TABLE_COPY: case OP_TABLE_INIT: case OP_ADDI_RETURN: return 6;
	case OP_ADD_RETURN: return 5;
	case OP_ADDI_CALL: case OP_FMUL2: case OP_ADD_LOAD: return 8;
	case OP_LDF_ADD: case OP_LDF_SUB: case OP_LDF_MUL: return 8;
	case OP_FADD_ST: case OP_FSUB_ST: case OP_FMUL_ST: return 8;
	case OP_LDXF_ADD: case OP_LDXF_SUB: case OP_LDXF_MUL: return 9;
	case OP_ANDN: case OP_LDX_ADD: return 9;
	case OP_ADD2A: return 8;
	case OP_LOGIC2: case OP_LOGIC2 + 1: case OP_LOGIC2 + 2: case OP_LOGIC2 + 3:
	case OP_LOGIC2 + 4: case OP_LOGIC2 + 5: case OP_LOGIC2 + 6: case OP_LOGIC2 + 7:
	case OP_LOGIC2_LAST:
	case OP_FKB: case OP_FKB + 1: case OP_FKB + 2: case OP_FKB_LAST:
	case OP_FKA: case OP_FKA + 1: case OP_FKA + 2: case OP_FKA_LAST:
		return 8;
	case OP_COPY4: return 10;
	case OP_ROT3: case OP_ROT3S: return 15;
	case OP_ADDI2: return 10;
	case OP_BR_TABLE: return 3 + 2 * p[2];
	default: return 1; /* not reached: the compiler emits no other opcode */
	}
}

/* Instruction lengths by opcode (0 for OP_BR_TABLE, whose length depends on its operand),
 * filled once: the passes below walk every instruction of every function. */
static uint8_t len_tab[OP_COUNT]; /* filled under len_once, in rt__cc_create */
/* Per opcode, for finish_code: leaves its result in the accumulator; may start a fused pair;
 * has a branch target word. */
enum { I_ACC = 1, I_PAIR = 2, I_BRANCH = 4 };
static uint8_t info_tab[OP_COUNT];

static bool acc_produced(uint32_t op);

static void len_tab_make(void)
{
	for (uint32_t op = 0; op < OP_COUNT; op++) {
		uint32_t w[3] = {op, 0, 0};
		len_tab[op] = op == OP_BR_TABLE ? 0 : (uint8_t)op_len_slow(w);
		info_tab[op] = (uint8_t)((acc_produced(op) ? I_ACC : 0) |
					 (op == OP_IMM + 0x6a || op == 0x6a || op == 0xa2 ||
							  op == OP_IMM + 0x73 || op == 0xa0 || op == 0xa1 ||
							  op == 0x2b || op == OP_MEMX + 0x2b - 0x28 ||
							  op == OP_ACC + 0x6a || op == OP_MEMX ||
							  op == OP_COPY2 || (op >= 0x71 && op <= 0x73) ||
							  op == OP_CONST64
						  ? I_PAIR
						  : 0) |
					 (op == OP_BR || op == OP_BR_IF || op == OP_BR_UNLESS ||
							  op == OP_BR_TABLE || (op >= OP_BRC && op < OP_BRCI + 10)
						  ? I_BRANCH
						  : 0));
	}
}

static inline uint32_t op_len(const uint32_t *p)
{
	uint32_t l = len_tab[p[0]];
	return l ? l : 3 + 2 * p[2];
}

/* Whether the instruction with opcode op leaves its result in the interpreter's accumulator
 * (its destination is always operand 1): integer binary ops, integer loads, OP_SHF. */
static bool acc_produced(uint32_t op)
{
	if (op >= OP_ACC)
		op -= OP_ACC;
	if ((op >= OP_SHF && op < OP_SHF + 12) || op == OP_ROT3 || op == OP_ROT3S || op == OP_ANDN ||
	    op == OP_ADD_LOAD || op == OP_ADD2A || op == OP_LDX_ADD ||
	    (op >= OP_LOGIC2 && op <= OP_LOGIC2_LAST))
		return true;
	uint32_t ld = op;
	if (op >= OP_MEMK && op < OP_MEMK + 14)
		ld = op - OP_MEMK + 0x28;
	else if (op >= OP_MEMX && op < OP_MEMX + 14)
		ld = op - OP_MEMX + 0x28;
	if (ld >= 0x28 && ld <= 0x35)
		return ld != 0x2a && ld != 0x2b;
	if (op >= OP_IMM && op < OP_BRC)
		op -= OP_IMM;
	return op < 0x100 && imm_capable(op);
}

/* The compare with swapped operands (a OP b == b OP' a), or 0 if op is no i32/i64 compare
 * or commutative integer op. */
static uint32_t swapped(uint32_t op)
{
	switch (op) {
	case 0x46: case 0x47: case 0x51: case 0x52: case 0x6a: case 0x6c: case 0x71: case 0x72:
	case 0x73: case 0x7c: case 0x7e: case 0x83: case 0x84: case 0x85:
		return op;
	case 0x48: return 0x4a;
	case 0x4a: return 0x48;
	case 0x49: return 0x4b;
	case 0x4b: return 0x49;
	case 0x4c: return 0x4e;
	case 0x4e: return 0x4c;
	case 0x4d: return 0x4f;
	case 0x4f: return 0x4d;
	case 0x53: return 0x55;
	case 0x55: return 0x53;
	case 0x54: return 0x56;
	case 0x56: return 0x54;
	case 0x57: return 0x59;
	case 0x59: return 0x57;
	case 0x58: return 0x5a;
	case 0x5a: return 0x58;
	default: return 0;
	}
}

/* Rewrites instruction p, whose predecessor left slot d in the accumulator, into its
 * accumulator form when it reads d through an operand that has one. */
static void acc_rewrite(uint32_t *p, uint32_t d)
{
	uint32_t op = p[0];
	bool int_store = (op >= 0x36 && op <= 0x3e && op != 0x38 && op != 0x39);
	uint32_t base = op;
	if (op >= OP_MEMX && op < OP_MEMX + 23)
		base = op - OP_MEMX + 0x28;
	else if (op >= OP_MEMK && op < OP_MEMK + 23)
		base = op - OP_MEMK + 0x28;
	if (base >= 0x28 && base <= 0x3e && base != op) {
		int_store = base >= 0x36 && base != 0x38 && base != 0x39;
		if (op >= OP_MEMK) {
			if (int_store && p[1] == d)
				p[0] = OP_ACC + op;
			return;
		}
	}
	if (base >= 0x28 && base <= 0x35) { /* load: the address */
		if (p[2] == d)
			p[0] = OP_ACC + op;
		return;
	}
	if (base >= 0x36 && base <= 0x3e) { /* store: the value */
		if (int_store && p[2] == d)
			p[0] = OP_ACC + op;
		return;
	}
	if (op < 0x100 && imm_capable(op)) {
		if (p[2] == d) {
			p[0] = OP_ACC + op;
		} else if (p[3] == d && swapped(op)) {
			p[3] = p[2];
			p[2] = d;
			p[0] = OP_ACC + swapped(op);
		}
		return;
	}
	if ((op >= OP_IMM && op < OP_IMM + 0x100 && imm_capable(op - OP_IMM)) ||
	    (op >= OP_SHF && op < OP_SHF + 12)) {
		if (p[2] == d)
			p[0] = OP_ACC + op;
		return;
	}
	if (op >= OP_BRC && op < OP_BRC + 10) {
		if (p[1] == d) {
			p[0] = OP_ACC + op;
		} else if (p[2] == d) {
			p[2] = p[1];
			p[1] = d;
			p[0] = OP_ACC + OP_BRC + swapped(op - OP_BRC + 0x46) - 0x46;
		}
		return;
	}
	if ((op >= OP_BRCI && op < OP_BRCI + 10) || op == OP_BR_IF || op == OP_BR_UNLESS) {
		if (p[1] == d)
			p[0] = OP_ACC + op;
	}
}

/* Marks in cc->tgt every instruction that some branch targets. */
static void mark_targets(struct rt_cc *cc)
{
	const uint32_t *code = cc->code;
	uint32_t n = cc->ncode;
	cc->tgt = grow(cc, cc->tgt, &cc->captgt, n + 1, 1);
	memset(cc->tgt, 0, n + 1);
	for (uint32_t k = 0; k < n; k += op_len(code + k)) {
		uint32_t op = code[k], w = 0; /* the target word, if one */
		if (!(info_tab[op] & I_BRANCH))
			continue;
		if (op == OP_BR) {
			w = 1;
		} else if (op == OP_BR_IF || op == OP_BR_UNLESS) {
			w = 2;
		} else if (op >= OP_BRC && op < OP_BRCI + 10) {
			w = 3;
		} else if (op == OP_BR_TABLE) {
			for (uint32_t i = 0; i < code[k + 2]; i++) {
				uint32_t at = k + 3 + 2 * i;
				cc->tgt[at + (int32_t)code[at]] = 1;
			}
		}
		if (w) {
			uint32_t at = k + w;
			cc->tgt[at + (int32_t)code[at]] = 1;
		}
	}
}

/* Fuses the instructions at p (length lp) and p + lp, which no branch enters between, when
 * the pair is one of the hot ones that have a combined handler; returns whether it did. The
 * combined handler does the first, then the second (which reads its operands from the frame,
 * so it may use the first's result even in its accumulator form). */
static bool pair_fuse(uint32_t *p, uint32_t lp)
{
	uint32_t a = p[0], b = p[lp];
	const uint32_t addi = OP_IMM + 0x6a;
	if (a == addi && (b == addi || b == OP_ACC + addi)) {
		p[0] = OP_ADDI2;
	} else if (a == addi && b == OP_CALL) {
		p[0] = OP_ADDI_CALL;
	} else if (a == 0x6a && b == OP_RETURN) {
		p[0] = OP_ADD_RETURN;
	} else if (a == addi && b == OP_RETURN) {
		p[0] = OP_ADDI_RETURN;
	} else if (a == 0xa2 && b == 0xa2) {
		p[0] = OP_FMUL2;
	} else if (a == OP_ACC + 0x6a && b == OP_ACC + 0x6a) {
		p[0] = OP_ADD2A; /* sums of several terms */
	} else if (a == OP_MEMX && b == OP_ACC + 0x6a) {
		p[0] = OP_LDX_ADD; /* adding a table entry */
	} else if (a >= 0x71 && a <= 0x73 && b >= OP_ACC + 0x71 && b <= OP_ACC + 0x73) {
		p[0] = OP_LOGIC2 + (a - 0x71) * 3 + (b - OP_ACC - 0x71); /* bit-mixing functions */
	} else if (a == OP_CONST64 && b >= 0xa0 && b <= 0xa3 && (p[lp + 2] == p[1]) != (p[lp + 3] == p[1])) {
		p[0] = (p[lp + 3] == p[1] ? OP_FKB : OP_FKA) + b - 0xa0; /* a floating-point constant */
	} else if (a == OP_COPY2 && b == OP_COPY2) {
		p[0] = OP_COPY4; /* rotating loop variables */
	} else if (a >= 0xa0 && a <= 0xa2 && b == 0x39 && p[lp + 2] == p[1]) {
		p[0] = OP_FADD_ST + a - 0xa0; /* store the result just computed */
	} else if ((a == 0x2b || a == OP_MEMX + 0x2b - 0x28) && b >= 0xa0 && b <= 0xa2 &&
		   p[lp + 3] == p[1] && p[lp + 2] != p[1]) {
		/* the loaded value is B (and only B: the handler keeps it in a register) */
		p[0] = (a == 0x2b ? OP_LDF_ADD : OP_LDXF_ADD) + b - 0xa0;
	} else if (a == OP_IMM + 0x73 && p[3] == UINT32_MAX && p[4] == 0 && b == OP_ACC + 0x71) {
		p[0] = OP_ANDN; /* ~x & y */
	} else if (a == 0x6a && b == OP_ACC + 0x28) {
		p[0] = OP_ADD_LOAD; /* a load from base + index */
	} else {
		return false;
	}
	return true;
}

/* Replaces the opcode word at p by its handler's offset (offsets NULL: the code keeps its
 * opcodes). An opcode without a handler is a compiler bug: the module fails to load rather
 * than run the wrong handler. */
/* Fuses the rotate at p (i32.rotl imm, slot or accumulator form) with the two instructions
 * after it into OP_ROT3/OP_ROT3S when they are xor-rotl, xor-rotl or xor-shr_u (OP_SHF) of the
 * same source, chained through one slot that the rotate does not read (so the source is
 * the same value in all three), with no branch target inside; returns whether it did. */
static bool rot3_fuse(const struct rt_cc *cc, uint32_t *p, uint32_t k)
{
	const uint32_t rotl = OP_IMM + 0x77, xrotl = OP_SHF + 2, xshr = OP_SHF + 1;
	if ((p[0] != rotl && p[0] != OP_ACC + rotl) || k + 15 > cc->ncode || cc->tgt[k + 5] ||
	    cc->tgt[k + 10])
		return false;
	uint32_t d = p[1], x = p[2];
	if (x == d || p[5] != xrotl || p[6] != d || p[7] != d || p[8] != x ||
	    (p[10] != xrotl && p[10] != xshr) || p[11] != d || p[12] != d || p[13] != x)
		return false;
	/* operands: d x a (the rotate's, p[4] unused), b at p[9], c at p[14] */
	p[0] = (p[0] == rotl ? 0 : OP_ACC) + (p[10] == xrotl ? OP_ROT3 : OP_ROT3S);
	return true;
}

static void thread_op(struct rt_cc *cc, uint32_t *p, const int32_t *offsets)
{
	if (!offsets)
		return;
	if (offsets[p[0]] == RT_NO_HANDLER)
		rt__fail(cc->r, "internal error: no handler for opcode 0x%03x", p[0]);
	p[0] = (uint32_t)offsets[p[0]];
}

/* The passes over the finished code of a function, in one walk:
 * - accumulator: an instruction that reads the result of the instruction just before it
 *   (and is no branch target, so that nothing else runs between the two) takes it from the
 *   interpreter's accumulator register instead of its slot. Values chained through the frame
 *   would each pay a store-to-load forwarding delay; the accumulator makes the common
 *   "compute, then use at once" chain run at register speed;
 * - superinstructions for the hottest adjacent pairs (measured with RT_PROFILE_PAIRS): one
 *   dispatch instead of two (a fused pair is not fused again);
 * - direct threading: each dispatched opcode word becomes its handler's offset. */
#ifdef RT_PROFILE
#include <stdio.h>
/* Development aid (-DRT_PROFILE, RT_DUMP=1): prints each function's finished code, one
 * instruction a line (opcode in hex, then its operand words), to stderr. */
static void dump_code(const struct rt_cc *cc)
{
	static unsigned nfunc;
	fprintf(stderr, "func %u (%u words)\n", nfunc++, cc->ncode);
	for (uint32_t k = 0; k < cc->ncode; k += op_len(cc->code + k)) {
		fprintf(stderr, "%5u%c %03x", k, cc->tgt[k] ? '*' : ' ', cc->code[k]);
		for (uint32_t i = 1; i < op_len(cc->code + k); i++)
			fprintf(stderr, " %d", (int32_t)cc->code[k + i]);
		fputc('\n', stderr);
	}
}
#endif

static void finish_code(struct rt_cc *cc)
{
	uint32_t *code = cc->code;
	uint32_t n = cc->ncode;
	const int32_t *offsets = rt__label_offsets();
	mark_targets(cc);
	bool in_acc = false;
	uint32_t d = 0, pk = NO_POS, l;
	for (uint32_t k = 0; k < n; k += l) {
		l = op_len(code + k);
		bool fused = false;
		if (!cc->tgt[k]) {
			if (in_acc)
				acc_rewrite(code + k, d);
			fused = pk != NO_POS && (info_tab[code[pk]] & I_PAIR) &&
				pair_fuse(code + pk, k - pk);
			if (!fused && rot3_fuse(cc, code + k, k))
				l = 15;
		}
		if (pk != NO_POS)
			thread_op(cc, code + pk, offsets);
		in_acc = info_tab[code[k]] & I_ACC;
		d = in_acc ? code[k + 1] : 0; /* producers have a destination word */
		pk = fused ? NO_POS : k;
	}
	if (pk != NO_POS)
		thread_op(cc, code + pk, offsets);
#ifdef RT_PROFILE
	if (getenv("RT_DUMP"))
		dump_code(cc);
#endif
}

/* local.set/local.tee: makes pending reads of local x see its old value, then writes it. */
static void op_local_set(struct rt_cc *cc, uint32_t x, bool tee)
{
	if (x >= cc->nlocals)
		rt__fail(cc->r, "unknown local %u", x);
	uint8_t t = cc->ltypes[x];
	bool was_set = cc->lset[x];
	if (top_is_const(cc) && cc->st[cc->nst - 1].type == t) {
		struct val kv = pop_raw(cc);
		if (cc->loops == 0 && !tee && x >= cc->nparams && !was_set && kv.kv == 0) {
			/* the local still holds its initial zero (pending reads of it too), and
			 * still does after this: a later zero store is dropped as well */
			invalidate_fresh(cc);
			return;
		}
		cc->lset[x] = 1;
		for (uint32_t i = cc->first_lazy; i < cc->nst && i < LAZY_MAX; i++)
			if (cc->st[i].slot == x && cc->st[i].k != K_CONST)
				materialize(cc, i);
		emit_const(cc, x, t, kv.kv);
		invalidate_fresh(cc);
		if (tee)
			push_const(cc, t, kv.kv);
		return;
	}
	cc->lset[x] = 1;
	if (t == WASM_I32 && cc->nst > top(cc)->height && cc->st[cc->nst - 1].k == K_ADD) {
		struct val av = pop_raw(cc);
		for (uint32_t i = cc->first_lazy; i < cc->nst && i < LAZY_MAX; i++)
			if (cc->st[i].slot == x && cc->st[i].k != K_CONST)
				materialize(cc, i);
		emit_addimm(cc, x, av.slot, (uint32_t)av.kv);
		invalidate_fresh(cc);
		if (tee)
			push(cc, t, x);
		return;
	}
	struct val v = pop(cc, t);
	bool refs = false;
	for (uint32_t i = cc->first_lazy; i < cc->nst && i < LAZY_MAX; i++)
		if (cc->st[i].slot == x && cc->st[i].k != K_CONST) {
			refs = true;
			break;
		}
	if (!dead(cc)) {
		if (refs) {
			for (uint32_t i = cc->first_lazy; i < cc->nst && i < LAZY_MAX; i++)
				if (cc->st[i].slot == x && cc->st[i].k != K_CONST)
					materialize(cc, i);
			emit_copy(cc, x, v.slot);
		} else if (cc->fresh_end == cc->ncode && cc->fresh_h == cc->nst &&
			   v.slot == canon(cc, cc->nst)) {
			cc->code[cc->fresh_dst] = x; /* retarget the producer */
		} else {
			emit_copy(cc, x, v.slot);
		}
	}
	invalidate_fresh(cc);
	if (tee)
		push(cc, t, x);
}

/* ---- The body --------------------------------------------------------------------------- */

static void read_locals(struct rt_cc *cc, const struct rt_functype *ft)
{
	struct rt_rd *r = cc->r;
	uint64_t total = ft->nparams;
	uint32_t ngroups = rt__rd_u32(r);
	const uint8_t *save = r->p;
	/* first pass: count (so that huge counts fail before allocating) */
	for (uint32_t g = 0; g < ngroups; g++) {
		uint32_t n = rt__rd_u32(r);
		rt__rd_u8(r);
		total += n;
		if (total > RT_MAX_LOCALS)
			rt__fail(r, "too many locals");
	}
	cc->ltypes = grow(cc, cc->ltypes, &cc->capltypes, (uint32_t)total + 1, 1);
	memcpy(cc->ltypes, ft->types, ft->nparams);
	r->p = save;
	uint32_t k = ft->nparams;
	for (uint32_t g = 0; g < ngroups; g++) {
		uint32_t n = rt__rd_u32(r);
		uint8_t t = rt__rd_u8(r);
		switch (t) {
		case WASM_I32: case WASM_I64: case WASM_F32: case WASM_F64:
		case WASM_FUNCREF: case WASM_EXTERNREF:
			break;
		default:
			r->p--;
			rt__fail(r, "malformed value type 0x%02x", t);
		}
		memset(cc->ltypes + k, t, n);
		k += n;
	}
	cc->nlocals = (uint32_t)total;
	cc->nparams = ft->nparams;
	cc->lset = grow(cc, cc->lset, &cc->caplset, cc->nlocals + 1, 1);
	memset(cc->lset, 0, cc->nlocals);
}

static void op_end(struct rt_cc *cc)
{
	struct ctl *c = top(cc);
	check_top(cc, res(c), c->nresults);
	if (cc->nst - c->height != c->nresults && !(c->unreachable && cc->nst - c->height < c->nresults))
		rt__fail(cc->r, "type mismatch: block leaves %u values, expected %u",
			 cc->nst - c->height, c->nresults);
	if (c->kind == C_IF) {
		/* if without else: the implicit else passes the params through as results */
		if (c->nparams != c->nresults || (c->nparams && memcmp(c->params, res(c), c->nparams)))
			rt__fail(cc->r, "type mismatch: if without else must have matching param and result types");
	}
	if (!dead(cc))
		materialize_from(cc, c->height);
	if (c->kind == C_LOOP) {
		cc->loops--;
		for (uint32_t w = c->cost_words; w != NO_POS;) {
			uint32_t next = cc->code[w];
			cc->code[w] = c->fuel;
			w = next;
		}
		/* fuel accounting returns to the enclosing fuel point, which also pays for the
		 * first iteration (back-edges pay for the others) */
		uint32_t k = cc->nctl - 1;
		while (k-- > 0)
			if (cc->ctl[k].kind == C_LOOP || cc->ctl[k].kind == C_FUNC)
				break;
		cc->fuel_ctl = k;
		cc->ctl[k].fuel += c->fuel;
	}
	uint32_t here = cc->ncode;
	patch_list(cc, c->patches, here);
	bind_label(cc);
	if (c->else_patch != NO_POS)
		cc->code[c->else_patch] = here - c->else_patch;
	uint32_t h = c->height, nr = c->nresults;
	const uint8_t *rs = c->results;
	uint8_t single = c->single;
	cc->nctl--;
	cc->nst = h;
	for (uint32_t k = 0; k < nr; k++)
		push_new(cc, rs ? rs[k] : single);
	invalidate_fresh(cc);
}

void rt__compile_body(struct rt_cc *cc, struct rt_rd *r, wasm_module *m, uint32_t defidx)
{
	uint32_t fidx = m->nfunc_imports + defidx;
	const struct rt_functype *ft = &m->types[m->func_type[fidx]];
	cc->r = r;
	cc->m = m;
	cc->ncode = 0;
	cc->nst = 0;
	cc->nctl = 0;
	cc->max_height = 0;
	invalidate_fresh(cc);
	cc->last_copy = NO_POS;
	cc->barrier = 0;
	cc->first_lazy = 0;
	cc->loops = 0;
	read_locals(cc, ft);
	struct ctl *fc = push_ctl(cc, C_FUNC, 0, NULL, ft->nresults, ft->types + ft->nparams);
	fc->height = 0;
	cc->fuel_ctl = 0;

	for (;;) {
		uint8_t op = rt__rd_u8(r);
		charge(cc);
		if (op >= 0x45 && op <= 0xc4) {
			struct numsig s = numeric_sig(op);
			if (s.arity == 1)
				op_unary(cc, op, s.in, s.out);
			else
				op_binary(cc, op, s.in, s.out);
			continue;
		}
		if (op >= 0x28 && op <= 0x35) {
			op_load(cc, op);
			continue;
		}
		if (op >= 0x36 && op <= 0x3e) {
			op_store(cc, op);
			continue;
		}
		switch (op) {
		case 0x00: /* unreachable */
			if (!dead(cc))
				emit(cc, OP_UNREACHABLE);
			set_unreachable(cc);
			break;
		case 0x01: /* nop */
			break;
		case 0x02: /* block */
		case 0x03: /* loop */ {
			uint32_t np, nr;
			const uint8_t *p, *rs;
			uint8_t single = 0;
			read_blocktype(cc, &np, &p, &nr, &rs, &single);
			keep_params(cc, np, p);
			if (!dead(cc))
				materialize_from(cc, 0);
			struct ctl *c = push_ctl(cc, op == 0x02 ? C_BLOCK : C_LOOP, np, p, nr, rs);
			c->single = single;
			invalidate_fresh(cc);
			if (op == 0x03) {
				c->loop_pc = cc->ncode;
				bind_label(cc);
				cc->loops++;
				cc->fuel_ctl = cc->nctl - 1;
			}
			break;
		}
		case 0x04: /* if */ {
			uint32_t np, nr;
			const uint8_t *p, *rs;
			uint8_t single = 0;
			read_blocktype(cc, &np, &p, &nr, &rs, &single);
			struct val cond = pop(cc, WASM_I32);
			keep_params(cc, np, p);
			bool d = dead(cc);
			if (!d) {
				materialize_from(cc, 0);
				emit_cond_head(cc, cond, true);
				emit(cc, NO_POS);
				emit(cc, 0); /* cost word (forward branch) */
			}
			struct ctl *c = push_ctl(cc, C_IF, np, p, nr, rs);
			c->single = single;
			if (!d)
				c->else_patch = cc->ncode - 2;
			invalidate_fresh(cc);
			break;
		}
		case 0x05: /* else */ {
			struct ctl *c = top(cc);
			if (c->kind != C_IF)
				rt__fail(r, "else without matching if");
			check_top(cc, res(c), c->nresults);
			if (cc->nst - c->height != c->nresults &&
			    !(c->unreachable && cc->nst - c->height < c->nresults))
				rt__fail(r, "type mismatch: block leaves %u values, expected %u",
					 cc->nst - c->height, c->nresults);
			if (!dead(cc)) {
				materialize_from(cc, c->height);
				emit(cc, OP_BR);
				emit_target(cc, c);
			}
			if (c->else_patch != NO_POS) {
				cc->code[c->else_patch] = cc->ncode - c->else_patch;
				bind_label(cc);
				c->else_patch = NO_POS;
			}
			c->kind = C_ELSE;
			c->unreachable = false;
			cc->nst = c->height;
			for (uint32_t k = 0; k < c->nparams; k++)
				push_new(cc, c->params[k]);
			invalidate_fresh(cc);
			break;
		}
		case 0x0b: /* end */
			if (cc->nctl == 1) {
				struct ctl *c = top(cc);
				check_top(cc, c->results, c->nresults);
				if (cc->nst - c->height != c->nresults &&
				    !(c->unreachable && cc->nst - c->height < c->nresults))
					rt__fail(r, "type mismatch: function leaves %u values, expected %u",
						 cc->nst, c->nresults);
				emit_jump(cc, c);
				if (dead(cc))
					emit(cc, OP_UNREACHABLE); /* never reached; keeps the code well-formed */
				goto done;
			}
			op_end(cc);
			break;
		case 0x0c: /* br */ {
			struct ctl *l = label(cc, rt__rd_u32(r));
			uint32_t n = label_arity(l);
			check_top(cc, label_types(l), n);
			if (cc->nst - top(cc)->height < n && !top(cc)->unreachable)
				rt__fail(r, "type mismatch: br needs %u values", n);
			if (cc->nst - top(cc)->height >= n)
				emit_jump(cc, l);
			set_unreachable(cc);
			break;
		}
		case 0x0d: /* br_if */ {
			struct ctl *l = label(cc, rt__rd_u32(r));
			struct val cond = pop(cc, WASM_I32);
			uint32_t n = label_arity(l);
			const uint8_t *lt = label_types(l);
			/* pop and re-push the label types (spec algorithm): real entries keep their
			 * slots, missing ones (polymorphic stack) become fresh entries */
			uint32_t before = cc->nst;
			for (uint32_t k = n; k-- > 0;)
				pop(cc, lt[k]);
			if (cc->nst + n == before) {
				cc->nst = before;
				for (uint32_t k = 0; k < n; k++)
					cc->st[before - n + k].type = lt[k];
			} else {
				for (uint32_t k = 0; k < n; k++)
					push_new(cc, lt[k]);
			}
			if (dead(cc))
				break;
			materialize_from(cc, cc->nst - n);
			if (!label_needs_copies(cc, l, n) && l->kind != C_FUNC) {
				emit_cond_head(cc, cond, false);
				emit_target(cc, l);
			} else {
				emit_cond_head(cc, cond, true);
				uint32_t skip = cc->ncode;
				emit(cc, NO_POS);
				emit(cc, 0); /* cost word (forward branch) */
				emit_label_copies(cc, l, n);
				if (l->kind == C_FUNC) {
					emit(cc, OP_RETURN);
				} else {
					emit(cc, OP_BR);
					emit_target(cc, l);
				}
				cc->code[skip] = cc->ncode - skip;
				bind_label(cc);
			}
			invalidate_fresh(cc);
			break;
		}
		case 0x0e: /* br_table */ {
			uint32_t n = rt__rd_u32(r);
			if (n > (size_t)(r->end - r->p))
				rt__fail(r, "unexpected end (br_table of %u labels)", n);
			const uint8_t *labels_at = r->p;
			struct val idx = pop(cc, WASM_I32);
			/* validate: every label has the default's arity and accepts the operands */
			for (uint32_t k = 0; k < n; k++)
				rt__rd_u32(r);
			struct ctl *def = label(cc, rt__rd_u32(r));
			uint32_t arity = label_arity(def);
			const uint8_t *after = r->p;
			r->p = labels_at;
			for (uint32_t k = 0; k <= n; k++) {
				struct ctl *l = label(cc, rt__rd_u32(r));
				if (label_arity(l) != arity)
					rt__fail(r, "type mismatch: br_table labels have different arities");
				check_top(cc, label_types(l), arity);
			}
			r->p = after;
			if (cc->nst - top(cc)->height < arity && !top(cc)->unreachable)
				rt__fail(r, "type mismatch: br_table needs %u values", arity);
			if (!dead(cc)) {
				materialize_from(cc, cc->nst - arity);
				emit(cc, OP_BR_TABLE);
				emit(cc, idx.slot);
				emit(cc, n + 1);
				/* (target, cost) word pairs, one per label */
				uint32_t tbl = cc->ncode;
				for (uint32_t k = 0; k <= n; k++) {
					emit(cc, 0);
					emit(cc, 0);
				}
				r->p = labels_at;
				for (uint32_t k = 0; k <= n; k++) {
					struct ctl *l = label(cc, rt__rd_u32(r));
					if (!label_needs_copies(cc, l, arity) && l->kind != C_FUNC) {
						set_target(cc, l, tbl + 2 * k);
					} else {
						/* a trampoline: copy the values the label keeps, then branch or return */
						cc->code[tbl + 2 * k] = cc->ncode - (tbl + 2 * k);
						bind_label(cc);
						emit_label_copies(cc, l, arity);
						if (l->kind == C_FUNC) {
							emit(cc, OP_RETURN);
						} else {
							emit(cc, OP_BR);
							emit_target(cc, l);
						}
					}
				}
				r->p = after;
			}
			set_unreachable(cc);
			break;
		}
		case 0x0f: /* return */ {
			struct ctl *f = &cc->ctl[0];
			check_top(cc, f->results, f->nresults);
			if (cc->nst - top(cc)->height < f->nresults && !top(cc)->unreachable)
				rt__fail(r, "type mismatch: return needs %u values", f->nresults);
			if (cc->nst - top(cc)->height >= f->nresults)
				emit_jump(cc, f);
			set_unreachable(cc);
			break;
		}
		case 0x10: /* call */ {
			uint32_t f = rt__rd_u32(r);
			if (f >= m->nfuncs)
				rt__fail(r, "unknown function %u", f);
			const struct rt_functype *t = &m->types[m->func_type[f]];
			/* OP_CALL names the callee by its index among defined functions */
			if (f < m->nfunc_imports)
				op_call(cc, OP_CALL_IMPORT, t, f, 0, false);
			else
				op_call(cc, OP_CALL, t, f - m->nfunc_imports, 0, false);
			break;
		}
		case 0x11: /* call_indirect */ {
			uint32_t ti = rt__rd_u32(r);
			uint32_t tab = rt__rd_u32(r);
			if (tab >= m->ntables)
				rt__fail(r, "unknown table %u", tab);
			if (ti >= m->ntypes)
				rt__fail(r, "unknown type %u", ti);
			if (m->tables[tab].elem != WASM_FUNCREF)
				rt__fail(r, "type mismatch: call_indirect on a table of externref");
			op_call(cc, OP_CALL_INDIRECT, &m->types[ti], m->type_canon[ti], tab, true);
			break;
		}
		case 0x1a: /* drop */
			pop_raw(cc);
			invalidate_fresh(cc);
			break;
		case 0x1b: /* select */
		case 0x1c: /* select t */ {
			uint8_t want = RT_UNKNOWN;
			if (op == 0x1c) {
				uint32_t nt = rt__rd_u32(r);
				if (nt != 1)
					rt__fail(r, "invalid result arity for select");
				want = rt__rd_u8(r);
				switch (want) {
				case WASM_I32: case WASM_I64: case WASM_F32: case WASM_F64:
				case WASM_FUNCREF: case WASM_EXTERNREF:
					break;
				default:
					rt__fail(r, "malformed value type 0x%02x", want);
				}
			}
			struct val c = pop(cc, WASM_I32);
			struct val b = pop(cc, want);
			struct val a = pop(cc, want);
			uint8_t t = want;
			if (op == 0x1b) {
				bool ra = a.type == WASM_FUNCREF || a.type == WASM_EXTERNREF;
				bool rb = b.type == WASM_FUNCREF || b.type == WASM_EXTERNREF;
				if (ra || rb)
					rt__fail(r, "type mismatch: select without type on reference operands");
				if (a.type != b.type && a.type != RT_UNKNOWN && b.type != RT_UNKNOWN)
					rt__fail(r, "type mismatch: select operands %s and %s", tname(a.type),
						 tname(b.type));
				t = a.type != RT_UNKNOWN ? a.type : b.type;
			}
			uint32_t d = push_new(cc, t);
			if (dead(cc))
				break;
			emit(cc, OP_SELECT);
			emit(cc, d);
			emit(cc, c.slot);
			emit(cc, a.slot);
			emit(cc, b.slot);
			mark_fresh(cc, cc->ncode - 4);
			break;
		}
		case 0x20: /* local.get */ {
			uint32_t x = rt__rd_u32(r);
			if (x >= cc->nlocals)
				rt__fail(r, "unknown local %u", x);
			push(cc, cc->ltypes[x], x);
			invalidate_fresh(cc);
			break;
		}
		case 0x21: /* local.set */
			op_local_set(cc, rt__rd_u32(r), false);
			break;
		case 0x22: /* local.tee */
			op_local_set(cc, rt__rd_u32(r), true);
			break;
		case 0x23: /* global.get */ {
			uint32_t g = rt__rd_u32(r);
			if (g >= m->nglobals)
				rt__fail(r, "unknown global %u", g);
			uint32_t d = push_new(cc, m->globals[g].type.type);
			if (dead(cc))
				break;
			emit(cc, OP_GLOBAL_GET);
			emit(cc, d);
			emit(cc, g);
			mark_fresh(cc, cc->ncode - 2);
			break;
		}
		case 0x24: /* global.set */ {
			uint32_t g = rt__rd_u32(r);
			if (g >= m->nglobals)
				rt__fail(r, "unknown global %u", g);
			if (!m->globals[g].type.mut)
				rt__fail(r, "global is immutable");
			struct val v = pop(cc, m->globals[g].type.type);
			if (dead(cc))
				break;
			emit(cc, OP_GLOBAL_SET);
			emit(cc, g);
			emit(cc, v.slot);
			invalidate_fresh(cc);
			break;
		}
		case 0x25: /* table.get */ {
			uint32_t t = rt__rd_u32(r);
			if (t >= m->ntables)
				rt__fail(r, "unknown table %u", t);
			struct val i = pop(cc, WASM_I32);
			uint32_t d = push_new(cc, m->tables[t].elem);
			if (dead(cc))
				break;
			emit(cc, OP_TABLE_GET);
			emit(cc, d);
			emit(cc, t);
			emit(cc, i.slot);
			mark_fresh(cc, cc->ncode - 3);
			break;
		}
		case 0x26: /* table.set */ {
			uint32_t t = rt__rd_u32(r);
			if (t >= m->ntables)
				rt__fail(r, "unknown table %u", t);
			struct val v = pop(cc, m->tables[t].elem);
			struct val i = pop(cc, WASM_I32);
			if (dead(cc))
				break;
			emit(cc, OP_TABLE_SET);
			emit(cc, t);
			emit(cc, i.slot);
			emit(cc, v.slot);
			invalidate_fresh(cc);
			break;
		}
		case 0x3f: /* memory.size */
		case 0x40: /* memory.grow */ {
			uint8_t z = rt__rd_u8(r);
			if (z != 0)
				rt__fail(r, "zero byte expected");
			if (m->nmems == 0)
				rt__fail(r, "unknown memory 0");
			if (op == 0x3f) {
				uint32_t d = push_new(cc, WASM_I32);
				if (dead(cc))
					break;
				emit(cc, OP_MEMORY_SIZE);
				emit(cc, d);
				mark_fresh(cc, cc->ncode - 1);
			} else {
				op_unary(cc, OP_MEMORY_GROW, WASM_I32, WASM_I32);
			}
			break;
		}
		case 0x41: /* i32.const */ {
			uint32_t v = (uint32_t)rt__rd_s32(r);
			push_const(cc, WASM_I32, v);
			invalidate_fresh(cc);
			break;
		}
		case 0x42: /* i64.const */
		case 0x44: /* f64.const */ {
			uint64_t v;
			if (op == 0x42) {
				v = (uint64_t)rt__rd_s64(r);
			} else {
				if (r->end - r->p < 8)
					rt__fail(r, "unexpected end");
				memcpy(&v, r->p, 8);
				r->p += 8;
			}
			push_const(cc, op == 0x42 ? WASM_I64 : WASM_F64, v);
			invalidate_fresh(cc);
			break;
		}
		case 0x43: /* f32.const */ {
			uint32_t v;
			if (r->end - r->p < 4)
				rt__fail(r, "unexpected end");
			memcpy(&v, r->p, 4);
			r->p += 4;
			push_const(cc, WASM_F32, v);
			invalidate_fresh(cc);
			break;
		}
		case 0xd0: /* ref.null */ {
			uint8_t t = rt__rd_u8(r);
			if (t != WASM_FUNCREF && t != WASM_EXTERNREF)
				rt__fail(r, "malformed reference type 0x%02x", t);
			uint32_t d = push_new(cc, t);
			if (dead(cc))
				break;
			emit(cc, OP_REF_NULL);
			emit(cc, d);
			mark_fresh(cc, cc->ncode - 1);
			break;
		}
		case 0xd1: /* ref.is_null */ {
			struct val a = pop_any(cc);
			if (a.type != WASM_FUNCREF && a.type != WASM_EXTERNREF && a.type != RT_UNKNOWN)
				rt__fail(r, "type mismatch: ref.is_null on %s", tname(a.type));
			uint32_t d = push_new(cc, WASM_I32);
			if (dead(cc))
				break;
			emit(cc, OP_REF_IS_NULL);
			emit(cc, d);
			emit(cc, a.slot);
			mark_fresh(cc, cc->ncode - 2);
			break;
		}
		case 0xd2: /* ref.func */ {
			uint32_t f = rt__rd_u32(r);
			if (f >= m->nfuncs)
				rt__fail(r, "unknown function %u", f);
			if (!m->declared[f])
				rt__fail(r, "undeclared function reference %u", f);
			uint32_t d = push_new(cc, WASM_FUNCREF);
			if (dead(cc))
				break;
			emit(cc, OP_REF_FUNC);
			emit(cc, d);
			emit(cc, f);
			mark_fresh(cc, cc->ncode - 2);
			break;
		}
		case 0xfc: {
			uint32_t sub = rt__rd_u32(r);
			if (sub <= 7) {
				static const uint8_t in[8] = {WASM_F32, WASM_F32, WASM_F64, WASM_F64,
							      WASM_F32, WASM_F32, WASM_F64, WASM_F64};
				op_unary(cc, OP_TRUNC_SAT + sub, in[sub], sub < 4 ? WASM_I32 : WASM_I64);
				break;
			}
			switch (sub) {
			case 8: /* memory.init */ {
				uint32_t seg = rt__rd_u32(r);
				uint8_t z = rt__rd_u8(r);
				if (z != 0)
					rt__fail(r, "zero byte expected");
				if (m->nmems == 0)
					rt__fail(r, "unknown memory 0");
				if (!m->has_datacount)
					rt__fail(r, "data count section required");
				if (seg >= m->ndatas)
					rt__fail(r, "unknown data segment %u", seg);
				struct val n = pop(cc, WASM_I32), s = pop(cc, WASM_I32), d = pop(cc, WASM_I32);
				if (dead(cc))
					break;
				emit(cc, OP_MEMORY_INIT);
				emit(cc, seg);
				emit(cc, d.slot);
				emit(cc, s.slot);
				emit(cc, n.slot);
				break;
			}
			case 9: /* data.drop */ {
				uint32_t seg = rt__rd_u32(r);
				if (!m->has_datacount)
					rt__fail(r, "data count section required");
				if (seg >= m->ndatas)
					rt__fail(r, "unknown data segment %u", seg);
				if (dead(cc))
					break;
				emit(cc, OP_DATA_DROP);
				emit(cc, seg);
				break;
			}
			case 10: /* memory.copy */
			case 11: /* memory.fill */ {
				uint8_t z = rt__rd_u8(r);
				if (z != 0)
					rt__fail(r, "zero byte expected");
				if (sub == 10 && (z = rt__rd_u8(r)) != 0)
					rt__fail(r, "zero byte expected");
				if (m->nmems == 0)
					rt__fail(r, "unknown memory 0");
				struct val n = pop(cc, WASM_I32), s = pop(cc, WASM_I32), d = pop(cc, WASM_I32);
				if (dead(cc))
					break;
				emit(cc, sub == 10 ? OP_MEMORY_COPY : OP_MEMORY_FILL);
				emit(cc, d.slot);
				emit(cc, s.slot);
				emit(cc, n.slot);
				break;
			}
			case 12: /* table.init */ {
				uint32_t seg = rt__rd_u32(r);
				uint32_t t = rt__rd_u32(r);
				if (t >= m->ntables)
					rt__fail(r, "unknown table %u", t);
				if (seg >= m->nelems)
					rt__fail(r, "unknown elem segment %u", seg);
				if (m->elems[seg].type != m->tables[t].elem)
					rt__fail(r, "type mismatch: table.init of %s into a table of %s",
						 tname(m->elems[seg].type), tname(m->tables[t].elem));
				struct val n = pop(cc, WASM_I32), s = pop(cc, WASM_I32), d = pop(cc, WASM_I32);
				if (dead(cc))
					break;
				emit(cc, OP_TABLE_INIT);
				emit(cc, t);
				emit(cc, seg);
				emit(cc, d.slot);
				emit(cc, s.slot);
				emit(cc, n.slot);
				break;
			}
			case 13: /* elem.drop */ {
				uint32_t seg = rt__rd_u32(r);
				if (seg >= m->nelems)
					rt__fail(r, "unknown elem segment %u", seg);
				if (dead(cc))
					break;
				emit(cc, OP_ELEM_DROP);
				emit(cc, seg);
				break;
			}
			case 14: /* table.copy */ {
				uint32_t td = rt__rd_u32(r);
				uint32_t ts = rt__rd_u32(r);
				if (td >= m->ntables || ts >= m->ntables)
					rt__fail(r, "unknown table %u", td >= m->ntables ? td : ts);
				if (m->tables[td].elem != m->tables[ts].elem)
					rt__fail(r, "type mismatch: table.copy between %s and %s tables",
						 tname(m->tables[td].elem), tname(m->tables[ts].elem));
				struct val n = pop(cc, WASM_I32), s = pop(cc, WASM_I32), d = pop(cc, WASM_I32);
				if (dead(cc))
					break;
				emit(cc, OP_TABLE_COPY);
				emit(cc, td);
				emit(cc, ts);
				emit(cc, d.slot);
				emit(cc, s.slot);
				emit(cc, n.slot);
				break;
			}
			case 15: /* table.grow */
			case 16: /* table.size */
			case 17: /* table.fill */ {
				uint32_t t = rt__rd_u32(r);
				if (t >= m->ntables)
					rt__fail(r, "unknown table %u", t);
				uint8_t et = m->tables[t].elem;
				if (sub == 16) {
					uint32_t d = push_new(cc, WASM_I32);
					if (dead(cc))
						break;
					emit(cc, OP_TABLE_SIZE);
					emit(cc, d);
					emit(cc, t);
					mark_fresh(cc, cc->ncode - 2);
				} else if (sub == 15) {
					struct val n = pop(cc, WASM_I32), v = pop(cc, et);
					uint32_t d = push_new(cc, WASM_I32);
					if (dead(cc))
						break;
					emit(cc, OP_TABLE_GROW);
					emit(cc, d);
					emit(cc, t);
					emit(cc, v.slot);
					emit(cc, n.slot);
					mark_fresh(cc, cc->ncode - 4);
				} else {
					struct val n = pop(cc, WASM_I32), v = pop(cc, et), i = pop(cc, WASM_I32);
					if (dead(cc))
						break;
					emit(cc, OP_TABLE_FILL);
					emit(cc, t);
					emit(cc, i.slot);
					emit(cc, v.slot);
					emit(cc, n.slot);
				}
				break;
			}
			default:
				rt__fail(r, "illegal opcode 0xfc %u", sub);
			}
			invalidate_fresh(cc);
			break;
		}
		default:
			r->p--;
			rt__fail(r, "illegal opcode 0x%02x", op);
		}
	}
done:
	finish_code(cc);
	struct rt_code *code = &m->code[defidx];
	code->ops = malloc((size_t)cc->ncode * sizeof *code->ops);
	if (!code->ops)
		rt__fail(r, "out of memory");
	memcpy(code->ops, cc->code, (size_t)cc->ncode * sizeof *code->ops);
	code->nops = cc->ncode;
	code->nlocals = cc->nlocals;
	code->nparams = ft->nparams;
	code->frame_size = cc->nlocals + cc->max_height + 1;
	code->entry_fuel = cc->ctl[0].fuel;
}
