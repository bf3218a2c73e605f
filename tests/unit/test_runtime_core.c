/* Unit tests of the Wasm engine core (runtime/wasm.h): traps of every kind, limits (fuel,
 * deadline, memory cap, call depth), memory bounds at every access width and at the edge of
 * memory (offsets past 4 GiB included), host functions and linking, validation messages, and
 * sharing one module between threads. Test modules are assembled in-process by a small binary
 * builder, so each test shows the exact instructions it runs. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/wasm.h"
#include "tests/lib/th.h"

/* ---- A tiny module builder ------------------------------------------------------------- */

struct buf {
	uint8_t b[8192];
	size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
	ck_assert_uint_le(o->n + n, sizeof o->b);
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void u8(struct buf *o, uint8_t v)
{
	put(o, &v, 1);
}

static void uleb(struct buf *o, uint64_t v)
{
	do {
		uint8_t c = v & 0x7f;
		v >>= 7;
		u8(o, (uint8_t)(c | (v ? 0x80 : 0)));
	} while (v);
}

static void str(struct buf *o, const char *s)
{
	uleb(o, strlen(s));
	put(o, s, strlen(s));
}

static void section(struct buf *m, uint8_t id, const struct buf *c)
{
	u8(m, id);
	uleb(m, c->n);
	put(m, c->b, c->n);
}

/* "ii->i" style signature (i I f F) as a function type. */
static void functype(struct buf *o, const char *sig)
{
	const char *arrow = strstr(sig, "->");
	ck_assert_ptr_nonnull(arrow);
	u8(o, 0x60);
	for (int part = 0; part < 2; part++) {
		const char *s = part ? arrow + 2 : sig;
		size_t n = part ? strlen(s) : (size_t)(arrow - sig);
		uleb(o, n);
		for (size_t i = 0; i < n; i++)
			u8(o, s[i] == 'i' ? 0x7f : s[i] == 'I' ? 0x7e : s[i] == 'f' ? 0x7d : 0x7c);
	}
}

struct fn {
	const char *sig, *export;
	const uint8_t *body; /* locals vector, instructions, final end */
	size_t len;
};

struct imp {
	const char *module, *name, *sig;
};

struct spec {
	const struct imp *imps;
	int nimps;
	const struct fn *fns;
	int nfns;
	int mem_min, mem_max; /* -1: no memory / no maximum */
	int table_min;        /* -1: no table */
	const uint32_t *elems; /* function indices placed at table offset 0 */
	int nelems;
};

#define BODY(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static void build(const struct spec *s, struct buf *m)
{
	static const uint8_t hdr[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	struct buf c;
	m->n = 0;
	put(m, hdr, 8);
	c.n = 0;
	uleb(&c, (uint64_t)(s->nimps + s->nfns));
	for (int i = 0; i < s->nimps; i++)
		functype(&c, s->imps[i].sig);
	for (int i = 0; i < s->nfns; i++)
		functype(&c, s->fns[i].sig);
	section(m, 1, &c);
	if (s->nimps) {
		c.n = 0;
		uleb(&c, (uint64_t)s->nimps);
		for (int i = 0; i < s->nimps; i++) {
			str(&c, s->imps[i].module);
			str(&c, s->imps[i].name);
			u8(&c, 0);
			uleb(&c, (uint64_t)i);
		}
		section(m, 2, &c);
	}
	c.n = 0;
	uleb(&c, (uint64_t)s->nfns);
	for (int i = 0; i < s->nfns; i++)
		uleb(&c, (uint64_t)(s->nimps + i));
	section(m, 3, &c);
	if (s->table_min >= 0) {
		c.n = 0;
		u8(&c, 1);
		u8(&c, 0x70);
		u8(&c, 0);
		uleb(&c, (uint64_t)s->table_min);
		section(m, 4, &c);
	}
	if (s->mem_min >= 0) {
		c.n = 0;
		u8(&c, 1);
		u8(&c, s->mem_max >= 0 ? 1 : 0);
		uleb(&c, (uint64_t)s->mem_min);
		if (s->mem_max >= 0)
			uleb(&c, (uint64_t)s->mem_max);
		section(m, 5, &c);
	}
	c.n = 0;
	int nexp = 0;
	for (int i = 0; i < s->nfns; i++)
		nexp += s->fns[i].export != NULL;
	uleb(&c, (uint64_t)nexp);
	for (int i = 0; i < s->nfns; i++)
		if (s->fns[i].export) {
			str(&c, s->fns[i].export);
			u8(&c, 0);
			uleb(&c, (uint64_t)(s->nimps + i));
		}
	section(m, 7, &c);
	if (s->nelems) {
		c.n = 0;
		u8(&c, 1);
		u8(&c, 0);
		u8(&c, 0x41);
		u8(&c, 0);
		u8(&c, 0x0b);
		uleb(&c, (uint64_t)s->nelems);
		for (int i = 0; i < s->nelems; i++)
			uleb(&c, s->elems[i]);
		section(m, 9, &c);
	}
	c.n = 0;
	uleb(&c, (uint64_t)s->nfns);
	for (int i = 0; i < s->nfns; i++) {
		uleb(&c, s->fns[i].len);
		put(&c, s->fns[i].body, s->fns[i].len);
	}
	section(m, 10, &c);
}

static wasm_module *load_spec(const struct spec *s)
{
	struct buf m;
	char err[256];
	build(s, &m);
	wasm_module *mod = wasm_module_load(m.b, m.n, err, sizeof err);
	ck_assert_msg(mod != NULL, "load: %s", err);
	return mod;
}

static wasm_instance *inst_of(const wasm_module *m, const wasm_imports *imp,
			      const struct wasm_limits *lim)
{
	wasm_instance *in;
	char err[256];
	wasm_trap t = wasm_instance_create(m, imp, lim, &in, err, sizeof err);
	ck_assert_msg(t == WASM_OK, "instantiate: %s (%s)", err, wasm_trap_name(t));
	return in;
}

static wasm_trap call1(wasm_instance *in, const char *name, uint64_t arg, int nargs,
		       wasm_value *res, int nres)
{
	wasm_value a[1];
	a[0].i64 = arg;
	return wasm_instance_invoke(in, name, a, (size_t)nargs, res, (size_t)nres);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Traps ------------------------------------------------------------------------------ */

/* Functions that trap in every way the spec defines, plus fine neighbours. */
static const struct fn trap_fns[] = {
	{"->", "unreachable", BODY(0, 0x00, 0x0b)},
	/* (a, b) -> a / b signed, unsigned, a % b signed */
	{"ii->i", "div_s", BODY(0, 0x20, 0, 0x20, 1, 0x6d, 0x0b)},
	{"ii->i", "div_u", BODY(0, 0x20, 0, 0x20, 1, 0x6e, 0x0b)},
	{"ii->i", "rem_s", BODY(0, 0x20, 0, 0x20, 1, 0x6f, 0x0b)},
	{"II->I", "div64_s", BODY(0, 0x20, 0, 0x20, 1, 0x7f, 0x0b)},
	/* i32.trunc_f32_s and the saturating form */
	{"f->i", "trunc", BODY(0, 0x20, 0, 0xa8, 0x0b)},
	{"f->i", "trunc_sat", BODY(0, 0x20, 0, 0xfc, 0x00, 0x0b)},
	/* call_indirect (type 0 = "->") through table slot i */
	{"i->", "call_slot", BODY(0, 0x20, 0, 0x11, 0, 0, 0x0b)},
	/* infinite recursion */
	{"->", "recurse", BODY(0, 0x10, 8, 0x0b)},
	/* i32.load at address a */
	{"i->i", "load", BODY(0, 0x20, 0, 0x28, 2, 0, 0x0b)},
};

static const uint32_t trap_elems[] = {0, 1}; /* slot 0: unreachable ("->"), 1: div_s */

static wasm_module *trap_module(void)
{
	struct spec s = {.fns = trap_fns, .nfns = 10, .mem_min = 1, .mem_max = -1, .table_min = 3,
			 .elems = trap_elems, .nelems = 2};
	return load_spec(&s);
}

START_TEST(test_trap_kinds)
{
	wasm_module *m = trap_module();
	wasm_instance *in = inst_of(m, NULL, NULL);
	wasm_value r[1], a[2];

	ck_assert_int_eq(wasm_instance_invoke(in, "unreachable", NULL, 0, NULL, 0), WASM_TRAP_UNREACHABLE);
	ck_assert_str_eq(wasm_instance_errmsg(in), "unreachable");

	a[0].i32 = 7;
	a[1].i32 = 0;
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 2, r, 1), WASM_TRAP_DIV_ZERO);
	ck_assert_int_eq(wasm_instance_invoke(in, "div_u", a, 2, r, 1), WASM_TRAP_DIV_ZERO);
	ck_assert_int_eq(wasm_instance_invoke(in, "rem_s", a, 2, r, 1), WASM_TRAP_DIV_ZERO);
	a[0].i32 = 0x80000000u;
	a[1].i32 = 0xffffffffu;
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 2, r, 1), WASM_TRAP_INT_OVERFLOW);
	/* INT_MIN % -1 is 0, not a trap */
	ck_assert_int_eq(wasm_instance_invoke(in, "rem_s", a, 2, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	a[0].i64 = 0x8000000000000000ull;
	a[1].i64 = ~0ull;
	ck_assert_int_eq(wasm_instance_invoke(in, "div64_s", a, 2, r, 1), WASM_TRAP_INT_OVERFLOW);
	a[0].i32 = 7;
	a[1].i32 = 2;
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 2, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 3);

	a[0].i64 = 0;
	a[0].f32 = 3e9f;
	ck_assert_int_eq(wasm_instance_invoke(in, "trunc", a, 1, r, 1), WASM_TRAP_INT_OVERFLOW);
	ck_assert_int_eq(wasm_instance_invoke(in, "trunc_sat", a, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0x7fffffffu);
	a[0].i32 = 0x7fc00000u; /* NaN */
	ck_assert_int_eq(wasm_instance_invoke(in, "trunc", a, 1, r, 1), WASM_TRAP_INVALID_CONVERSION);
	ck_assert_int_eq(wasm_instance_invoke(in, "trunc_sat", a, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	a[0].f32 = -7.9f;
	ck_assert_int_eq(wasm_instance_invoke(in, "trunc", a, 1, r, 1), WASM_OK);
	ck_assert_int_eq((int32_t)r[0].i32, -7);

	/* table: slot 0 = unreachable (right type), 1 = div_s (wrong type), 2 = null, 3 = OOB */
	ck_assert_int_eq(call1(in, "call_slot", 0, 1, NULL, 0), WASM_TRAP_UNREACHABLE);
	ck_assert_int_eq(call1(in, "call_slot", 1, 1, NULL, 0), WASM_TRAP_INDIRECT_MISMATCH);
	ck_assert_int_eq(call1(in, "call_slot", 2, 1, NULL, 0), WASM_TRAP_NULL_REFERENCE);
	ck_assert_int_eq(call1(in, "call_slot", 3, 1, NULL, 0), WASM_TRAP_OOB_TABLE);
	ck_assert_int_eq(call1(in, "call_slot", 0xffffffffu, 1, NULL, 0), WASM_TRAP_OOB_TABLE);

	ck_assert_int_eq(wasm_instance_invoke(in, "recurse", NULL, 0, NULL, 0), WASM_TRAP_STACK_EXHAUSTED);
	ck_assert_str_eq(wasm_instance_errmsg(in), "call stack exhausted");
	ck_assert_int_eq(call1(in, "load", 65536, 1, r, 1), WASM_TRAP_OOB_MEMORY);

	/* the instance stays usable after traps */
	ck_assert_int_eq(call1(in, "load", 0, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_bad_calls)
{
	wasm_module *m = trap_module();
	wasm_instance *in = inst_of(m, NULL, NULL);
	wasm_value a[2], r[1];
	a[0].i32 = a[1].i32 = 1;
	ck_assert_int_eq(wasm_instance_invoke(in, "nope", NULL, 0, NULL, 0), WASM_TRAP_BAD_CALL);
	ck_assert_ptr_nonnull(strstr(wasm_instance_errmsg(in), "nope"));
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 1, r, 1), WASM_TRAP_BAD_CALL);
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 2, r, 0), WASM_TRAP_BAD_CALL);
	ck_assert_int_eq(wasm_instance_invoke(in, "div_s", a, 2, r, 1), WASM_OK);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

/* ---- Memory bounds ---------------------------------------------------------------------- */

/* Loads and stores of every width, each with offset 0 and with offset 0xffffffff. */
#define OFF_MAX 0xff, 0xff, 0xff, 0xff, 0x0f
static const struct fn mem_fns[] = {
	{"i->i", "ld8", BODY(0, 0x20, 0, 0x2d, 0, 0, 0x0b)},
	{"i->i", "ld16", BODY(0, 0x20, 0, 0x2f, 1, 0, 0x0b)},
	{"i->i", "ld32", BODY(0, 0x20, 0, 0x28, 2, 0, 0x0b)},
	{"i->I", "ld64", BODY(0, 0x20, 0, 0x29, 3, 0, 0x0b)},
	{"i->", "st8", BODY(0, 0x20, 0, 0x41, 0x2a, 0x3a, 0, 0, 0x0b)},
	{"i->", "st16", BODY(0, 0x20, 0, 0x41, 0x2a, 0x3b, 1, 0, 0x0b)},
	{"i->", "st32", BODY(0, 0x20, 0, 0x41, 0x2a, 0x36, 2, 0, 0x0b)},
	{"i->", "st64", BODY(0, 0x20, 0, 0x42, 0x2a, 0x37, 3, 0, 0x0b)},
	{"i->i", "ld8_big", BODY(0, 0x20, 0, 0x2d, 0, OFF_MAX, 0x0b)},
	{"i->I", "ld64_big", BODY(0, 0x20, 0, 0x29, 3, OFF_MAX, 0x0b)},
	{"i->", "st32_big", BODY(0, 0x20, 0, 0x41, 0x2a, 0x36, 2, OFF_MAX, 0x0b)},
	/* memory.grow(delta) -> old pages or -1; memory.size */
	{"i->i", "grow", BODY(0, 0x20, 0, 0x40, 0, 0x0b)},
	{"->i", "size", BODY(0, 0x3f, 0, 0x0b)},
	/* memory.fill(dst, 0xab, n) */
	{"ii->", "fill", BODY(0, 0x20, 0, 0x41, 0xab, 0x01, 0x20, 1, 0xfc, 11, 0, 0x0b)},
	/* i32.load (a + -16): the i32.add wraps at 32 bits before the access */
	{"i->i", "ld_wrap", BODY(0, 0x20, 0, 0x41, 0x70, 0x6a, 0x28, 2, 0, 0x0b)},
	/* i32.store (a + -16) 42 */
	{"i->", "st_wrap", BODY(0, 0x20, 0, 0x41, 0x70, 0x6a, 0x41, 0x2a, 0x36, 2, 0, 0x0b)},
	/* (a + 4), then a = 1000, then i32.load of the first value: must use the old a */
	{"i->i", "add_then_set", BODY(0, 0x20, 0, 0x41, 4, 0x6a, 0x41, 0xe8, 0x07, 0x21, 0, 0x28, 2, 0,
				      0x0b)},
	/* a + 5 as a plain value */
	{"i->i", "add5", BODY(0, 0x20, 0, 0x41, 5, 0x6a, 0x0b)},
	/* constant addresses: i32.load 65532 (last word), 65533, and -1 with offset 0xffffffff */
	{"->i", "ldk_edge", BODY(0, 0x41, 0xfc, 0xff, 0x03, 0x28, 2, 0, 0x0b)},
	{"->i", "ldk_oob", BODY(0, 0x41, 0xfd, 0xff, 0x03, 0x28, 2, 0, 0x0b)},
	{"->i", "ldk_big", BODY(0, 0x41, 0x7f, 0x28, 2, OFF_MAX, 0x0b)},
	/* i32.store16 at constant 65535 */
	{"->", "stk_oob", BODY(0, 0x41, 0xff, 0xff, 0x03, 0x41, 1, 0x3b, 1, 0, 0x0b)},
};

static wasm_module *mem_module(int min, int max)
{
	struct spec s = {.fns = mem_fns, .nfns = 22, .mem_min = min, .mem_max = max, .table_min = -1};
	return load_spec(&s);
}

START_TEST(test_bounds_every_width)
{
	wasm_module *m = mem_module(1, -1);
	wasm_instance *in = inst_of(m, NULL, NULL);
	static const struct {
		const char *ld, *st;
		uint32_t w;
	} widths[] = {{"ld8", "st8", 1}, {"ld16", "st16", 2}, {"ld32", "st32", 4}, {"ld64", "st64", 8}};
	wasm_value r[1];
	for (size_t i = 0; i < 4; i++) {
		uint32_t last = 65536 - widths[i].w; /* highest in-bounds address */
		ck_assert_int_eq(call1(in, widths[i].st, last, 1, NULL, 0), WASM_OK);
		ck_assert_int_eq(call1(in, widths[i].ld, last, 1, r, 1), WASM_OK);
		ck_assert_uint_eq(r[0].i64 & 0xff, 0x2a);
		for (uint32_t bad = last + 1; bad <= 65536; bad++) {
			ck_assert_int_eq(call1(in, widths[i].ld, bad, 1, r, 1), WASM_TRAP_OOB_MEMORY);
			ck_assert_int_eq(call1(in, widths[i].st, bad, 1, NULL, 0), WASM_TRAP_OOB_MEMORY);
		}
		ck_assert_int_eq(call1(in, widths[i].ld, 0xffffffffu, 1, r, 1), WASM_TRAP_OOB_MEMORY);
		ck_assert_int_eq(call1(in, widths[i].st, 0xffffffffu, 1, NULL, 0), WASM_TRAP_OOB_MEMORY);
	}
	/* address + offset must not wrap around 4 GiB: 1 + 0xffffffff is 4 GiB, not 0 */
	ck_assert_int_eq(call1(in, "ld8_big", 1, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "ld8_big", 0xffffffffu, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "ld64_big", 0, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "st32_big", 0x10, 1, NULL, 0), WASM_TRAP_OOB_MEMORY);
	/* a trapping store writes nothing: the last 4 bytes keep what st64 left (0x2a, 0...) */
	ck_assert_int_eq(call1(in, "st32", 65533, 1, NULL, 0), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "ld32", 65532, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	/* bulk fill: exactly to the end is fine, one more byte traps and writes nothing */
	wasm_value a[2];
	a[0].i32 = 65536 - 16;
	a[1].i32 = 16;
	ck_assert_int_eq(wasm_instance_invoke(in, "fill", a, 2, NULL, 0), WASM_OK);
	a[0].i32 = 65536 - 24;
	a[1].i32 = 25;
	ck_assert_int_eq(wasm_instance_invoke(in, "fill", a, 2, NULL, 0), WASM_TRAP_OOB_MEMORY);
	uint8_t *p = wasm_memory_ptr(in, 65536 - 24, 8);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(p[0], 0);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_address_arithmetic)
{
	wasm_module *m = mem_module(1, -1);
	wasm_instance *in = inst_of(m, NULL, NULL);
	wasm_value r[1];
	uint32_t v = 0x11223344, w = 0x55667788;
	ck_assert_int_eq(wasm_memory_write(in, 0x10, &v, 4), 0);
	ck_assert_int_eq(wasm_memory_write(in, 104, &w, 4), 0);
	ck_assert_int_eq(call1(in, "ld_wrap", 0x20, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, v);
	/* 8 - 16 wraps to 0xfffffff8: out of bounds, not address -8 or 0 */
	ck_assert_int_eq(call1(in, "ld_wrap", 8, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "st_wrap", 0x30, 1, NULL, 0), WASM_OK);
	ck_assert_int_eq(call1(in, "ld32", 0x20, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 42);
	ck_assert_int_eq(call1(in, "st_wrap", 15, 1, NULL, 0), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "add_then_set", 100, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, w);
	ck_assert_int_eq(call1(in, "add5", 0xfffffffeu, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 3);
	uint32_t edge = 0xa1b2c3d4;
	ck_assert_int_eq(wasm_memory_write(in, 65532, &edge, 4), 0);
	ck_assert_int_eq(wasm_instance_invoke(in, "ldk_edge", NULL, 0, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, edge);
	ck_assert_int_eq(wasm_instance_invoke(in, "ldk_oob", NULL, 0, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(wasm_instance_invoke(in, "ldk_big", NULL, 0, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(wasm_instance_invoke(in, "stk_oob", NULL, 0, NULL, 0), WASM_TRAP_OOB_MEMORY);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_zero_memory)
{
	wasm_module *m = mem_module(0, -1);
	wasm_instance *in = inst_of(m, NULL, NULL);
	wasm_value r[1];
	ck_assert_uint_eq(wasm_memory_size(in), 0);
	ck_assert_int_eq(call1(in, "ld8", 0, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	ck_assert_int_eq(call1(in, "grow", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	ck_assert_int_eq(call1(in, "ld8", 65535, 1, r, 1), WASM_OK);
	ck_assert_int_eq(call1(in, "ld8", 65536, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_memory_cap)
{
	wasm_module *m = mem_module(1, 10);
	struct wasm_limits lim = {.max_memory_bytes = 3 * 65536};
	wasm_instance *in = inst_of(m, NULL, &lim);
	wasm_value r[1];
	ck_assert_int_eq(call1(in, "grow", 2, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 1);
	/* past the cap (but below the module's maximum of 10): refused with -1, memory unchanged */
	ck_assert_int_eq(call1(in, "grow", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0xffffffffu);
	ck_assert_int_eq(wasm_instance_invoke(in, "size", NULL, 0, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 3);
	ck_assert_uint_eq(wasm_memory_size(in), 3 * 65536);
	ck_assert_int_eq(call1(in, "grow", 0x10000, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0xffffffffu);
	ck_assert_int_eq(call1(in, "ld8", 3 * 65536 - 1, 1, r, 1), WASM_OK);
	ck_assert_int_eq(call1(in, "ld8", 3 * 65536, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	wasm_instance_free(in);

	/* without a cap the module maximum applies */
	in = inst_of(m, NULL, NULL);
	ck_assert_int_eq(call1(in, "grow", 9, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 1);
	ck_assert_int_eq(call1(in, "grow", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0xffffffffu);
	wasm_instance_free(in);

	/* a cap below the initial size fails instantiation */
	wasm_module *big = mem_module(4, -1);
	char err[256];
	ck_assert_int_eq(wasm_instance_create(big, NULL, &lim, &in, err, sizeof err),
			 WASM_TRAP_MEMORY_LIMIT);
	ck_assert_ptr_null(in);
	ck_assert_ptr_nonnull(strstr(err, "cap"));
	wasm_module_free(big);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_memory_cap_not_page_multiple)
{
	/* No module maximum; a cap of 2 pages and 100 bytes allows 2 whole pages, never a third. */
	wasm_module *m = mem_module(1, -1);
	struct wasm_limits lim = {.max_memory_bytes = 2 * 65536 + 100};
	wasm_instance *in = inst_of(m, NULL, &lim);
	wasm_value r[1];
	ck_assert_int_eq(call1(in, "grow", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 1);
	ck_assert_int_eq(call1(in, "grow", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0xffffffffu);
	ck_assert_int_eq(call1(in, "grow", 0, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 2);
	ck_assert_uint_eq(wasm_memory_size(in), 2 * 65536);
	ck_assert_int_eq(call1(in, "ld8", 2 * 65536, 1, r, 1), WASM_TRAP_OOB_MEMORY);
	wasm_instance_free(in);
	/* a cap below one page leaves no room for the module's one initial page */
	lim.max_memory_bytes = 65535;
	char err[256];
	ck_assert_int_eq(wasm_instance_create(m, NULL, &lim, &in, err, sizeof err),
			 WASM_TRAP_MEMORY_LIMIT);
	ck_assert_ptr_null(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_memory_helpers)
{
	wasm_module *m = mem_module(1, -1);
	wasm_instance *in = inst_of(m, NULL, NULL);
	uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, back[8];
	ck_assert_int_eq(wasm_memory_write(in, 65536 - 8, buf, 8), 0);
	ck_assert_int_eq(wasm_memory_read(in, 65536 - 8, back, 8), 0);
	ck_assert_mem_eq(buf, back, 8);
	ck_assert_int_eq(wasm_memory_write(in, 65536 - 7, buf, 8), -1);
	ck_assert_int_eq(wasm_memory_read(in, UINT64_MAX, back, 1), -1);
	ck_assert_int_eq(wasm_memory_read(in, 65536, back, 0), 0);
	ck_assert_ptr_nonnull(wasm_memory_ptr(in, 65532, 4));
	ck_assert_ptr_null(wasm_memory_ptr(in, 65533, 4));
	ck_assert_ptr_null(wasm_memory_ptr(in, 4, UINT64_MAX));
	wasm_value r[1];
	ck_assert_int_eq(call1(in, "ld32", 65532, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0x08070605u);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

/* ---- Limits ----------------------------------------------------------------------------- */

static const struct fn loop_fns[] = {
	/* loop br 0 end: spins forever */
	{"->", "spin", BODY(0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b)},
	/* counts a loop down from n: (local.get 0, i32.const 1, i32.sub, local.tee 0, br_if 0) */
	{"i->", "count", BODY(0, 0x03, 0x40, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b)},
	/* deep recursion with 600 i64 locals per frame: exhausts the value stack, not the depth */
	{"->", "fat", BODY(1, 0xd8, 0x04, 0x7e, 0x10, 2, 0x0b)},
	/* n times: { t = 0; acc += t; t = 7 } -> acc: the "t = 0" inside the loop must run every
	 * iteration (the compiler drops only zero stores no earlier write can precede) */
	{"i->i", "zeros", BODY(1, 2, 0x7f, 0x03, 0x40, 0x41, 0, 0x21, 2, 0x20, 2, 0x20, 1, 0x6a, 0x21, 1,
			       0x41, 7, 0x21, 2, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x20,
			       1, 0x0b)},
	/* rec(n): if n then rec(n - 1): calls, but no loop, so only the call-side fuel check can
	 * stop it */
	{"i->", "rec", BODY(0, 0x20, 0, 0x04, 0x40, 0x20, 0, 0x41, 1, 0x6b, 0x10, 4, 0x0b, 0x0b)},
};

static wasm_module *loop_module(void)
{
	struct spec s = {.fns = loop_fns, .nfns = 5, .mem_min = -1, .table_min = -1};
	return load_spec(&s);
}

START_TEST(test_fuel_stops_infinite_loop)
{
	wasm_module *m = loop_module();
	struct wasm_limits lim = {.fuel = 1000000};
	wasm_instance *in = inst_of(m, NULL, &lim);
	ck_assert_int_eq(wasm_instance_invoke(in, "spin", NULL, 0, NULL, 0), WASM_TRAP_FUEL_EXHAUSTED);
	ck_assert_uint_eq(wasm_instance_fuel_left(in), 0);
	ck_assert_str_eq(wasm_instance_errmsg(in), "fuel exhausted");
	/* fuel is per instance and consumed: still empty */
	ck_assert_int_eq(call1(in, "count", 10, 1, NULL, 0), WASM_TRAP_FUEL_EXHAUSTED);
	/* a refill lets a bounded loop finish, and fuel is charged for it */
	wasm_instance_set_limits(in, &lim);
	ck_assert_int_eq(call1(in, "count", 1000, 1, NULL, 0), WASM_OK);
	uint64_t left = wasm_instance_fuel_left(in);
	ck_assert_uint_lt(left, 1000000 - 1000);
	ck_assert_uint_gt(left, 0);
	ck_assert_int_eq(call1(in, "count", 2000000, 1, NULL, 0), WASM_TRAP_FUEL_EXHAUSTED);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_fuel_checked_at_calls)
{
	wasm_module *m = loop_module();
	struct wasm_limits lim = {.fuel = 100};
	wasm_instance *in = inst_of(m, NULL, &lim);
	/* 10000 nested calls and no loop: the budget of 100 runs out at a call */
	ck_assert_int_eq(call1(in, "rec", 10000, 1, NULL, 0), WASM_TRAP_FUEL_EXHAUSTED);
	ck_assert_uint_eq(wasm_instance_fuel_left(in), 0);
	/* the same call is fine without a budget, and a bounded one is charged per call */
	wasm_instance_set_limits(in, NULL);
	ck_assert_int_eq(call1(in, "rec", 10000, 1, NULL, 0), WASM_OK);
	lim.fuel = 1000000;
	wasm_instance_set_limits(in, &lim);
	ck_assert_int_eq(call1(in, "rec", 100, 1, NULL, 0), WASM_OK);
	ck_assert_uint_le(wasm_instance_fuel_left(in), 1000000 - 100);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_deadline_stops_infinite_loop)
{
	wasm_module *m = loop_module();
	uint64_t t0 = now_ns();
	struct wasm_limits lim = {.deadline_ns = t0 + 50 * 1000000ull};
	wasm_instance *in = inst_of(m, NULL, &lim);
	ck_assert_uint_eq(wasm_instance_fuel_left(in), UINT64_MAX);
	ck_assert_int_eq(wasm_instance_invoke(in, "spin", NULL, 0, NULL, 0), WASM_TRAP_DEADLINE);
	uint64_t t1 = now_ns();
	ck_assert_uint_ge(t1 - t0, 50 * 1000000ull);
	/* generous bound: the point is that it stops at all */
	ck_assert_uint_lt(t1 - t0, 10ull * 1000000000ull);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

static uint64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A host call that waits without using the CPU, as a busy machine makes a guest wait. */
static wasm_trap host_nap(wasm_instance *inst, void *user, const wasm_value *args,
			  wasm_value *results)
{
	(void)inst;
	(void)args;
	(void)results;
	struct timespec ts = {0, (long)*(const unsigned *)user * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
	return WASM_OK;
}

static const struct imp nap_imps[] = {{"env", "nap", "->"}};
static const struct fn nap_fns[] = {
	/* nap, then count n down (enough work that the deadline is polled after the nap) */
	{"i->", "napcount",
	 BODY(0, 0x10, 0, 0x03, 0x40, 0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0, 0x0b, 0x0b)},
	{"->", "spin", BODY(0, 0x03, 0x40, 0x0c, 0, 0x0b, 0x0b)},
};

START_TEST(test_cpu_deadline)
{
	struct spec s = {.imps = nap_imps, .nimps = 1, .fns = nap_fns, .nfns = 2, .mem_min = -1,
			 .table_min = -1};
	wasm_module *m = load_spec(&s);
	unsigned nap_ms = 150;
	wasm_imports *imp = wasm_imports_create();
	ck_assert_ptr_nonnull(imp);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "nap", "->", host_nap, &nap_ms), 0);

	/* 150 ms asleep against a 100 ms wall-clock deadline: stopped after the nap */
	struct wasm_limits wall = {.deadline_ns = now_ns() + 100 * 1000000ull};
	wasm_instance *in = inst_of(m, imp, &wall);
	ck_assert_int_eq(call1(in, "napcount", 300000, 1, NULL, 0), WASM_TRAP_DEADLINE);
	wasm_instance_free(in);

	/* the same on the thread's CPU clock: the nap is not charged, the count finishes */
	struct wasm_limits cpu = {.cpu_ns = 100 * 1000000ull};
	in = inst_of(m, imp, &cpu);
	ck_assert_int_eq(call1(in, "napcount", 300000, 1, NULL, 0), WASM_OK);

	/* and a guest that spins is stopped once it has used its CPU time */
	uint64_t c0 = cpu_ns();
	cpu.cpu_ns = 50 * 1000000ull;
	wasm_instance_set_limits(in, &cpu);
	ck_assert_int_eq(wasm_instance_invoke(in, "spin", NULL, 0, NULL, 0), WASM_TRAP_DEADLINE);
	ck_assert_uint_ge(cpu_ns() - c0, 50 * 1000000ull);
	wasm_instance_free(in);
	wasm_imports_free(imp);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_deep_recursion)
{
	wasm_module *m = loop_module();
	wasm_instance *in = inst_of(m, NULL, NULL);
	ck_assert_int_eq(wasm_instance_invoke(in, "fat", NULL, 0, NULL, 0), WASM_TRAP_STACK_EXHAUSTED);
	wasm_instance_free(in);
	/* a lower depth limit is honoured too */
	struct wasm_limits lim = {.max_call_depth = 10};
	in = inst_of(m, NULL, &lim);
	ck_assert_int_eq(wasm_instance_invoke(in, "fat", NULL, 0, NULL, 0), WASM_TRAP_STACK_EXHAUSTED);
	ck_assert_int_eq(call1(in, "count", 5, 1, NULL, 0), WASM_OK);
	wasm_value r[1];
	ck_assert_int_eq(call1(in, "zeros", 5, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

/* ---- Host functions and linking --------------------------------------------------------- */

static wasm_trap host_add(wasm_instance *inst, void *user, const wasm_value *args,
			  wasm_value *results)
{
	(void)inst;
	int *calls = user;
	(*calls)++;
	results[0].i32 = args[0].i32 + args[1].i32;
	return WASM_OK;
}

static wasm_trap host_boom(wasm_instance *inst, void *user, const wasm_value *args,
			   wasm_value *results)
{
	(void)user;
	(void)results;
	return wasm_instance_trapf(inst, WASM_TRAP_HOST, "boom %u", args[0].i32);
}

static wasm_trap host_exit(wasm_instance *inst, void *user, const wasm_value *args,
			   wasm_value *results)
{
	(void)user;
	(void)results;
	return wasm_instance_exit(inst, (int)args[0].i32);
}

static const struct imp host_imps[] = {
	{"env", "add", "ii->i"},
	{"env", "boom", "i->"},
	{"env", "exit", "i->"},
};

static const struct fn host_fns[] = {
	{"ii->i", "add", BODY(0, 0x20, 0, 0x20, 1, 0x10, 0, 0x0b)},
	{"i->", "boom", BODY(0, 0x20, 0, 0x10, 1, 0x0b)},
	/* exit(a) then unreachable: exit must stop the guest */
	{"i->", "exit", BODY(0, 0x20, 0, 0x10, 2, 0x00, 0x0b)},
};

START_TEST(test_host_functions)
{
	struct spec s = {.imps = host_imps, .nimps = 3, .fns = host_fns, .nfns = 3, .mem_min = -1,
			 .table_min = -1};
	wasm_module *m = load_spec(&s);
	int calls = 0;
	wasm_imports *imp = wasm_imports_create();
	ck_assert_ptr_nonnull(imp);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "add", "ii->i", host_add, &calls), 0);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "boom", "i->", host_boom, NULL), 0);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "exit", "i->", host_exit, NULL), 0);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "bad", "q->", host_exit, NULL), -1);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "bad", "ii", host_exit, NULL), -1);
	wasm_instance *in = inst_of(m, imp, NULL);
	/* the instance keeps its own copy of the host closures */
	wasm_imports_free(imp);
	wasm_value a[2], r[1];
	a[0].i32 = 40;
	a[1].i32 = 2;
	ck_assert_int_eq(wasm_instance_invoke(in, "add", a, 2, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 42);
	ck_assert_int_eq(calls, 1);
	ck_assert_int_eq(call1(in, "boom", 7, 1, NULL, 0), WASM_TRAP_HOST);
	ck_assert_str_eq(wasm_instance_errmsg(in), "boom 7");
	ck_assert_int_eq(call1(in, "exit", 3, 1, NULL, 0), WASM_TRAP_EXIT);
	ck_assert_int_eq(wasm_instance_exit_code(in), 3);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_link_errors)
{
	struct spec s = {.imps = host_imps, .nimps = 3, .fns = host_fns, .nfns = 3, .mem_min = -1,
			 .table_min = -1};
	wasm_module *m = load_spec(&s);
	int calls = 0;
	char err[256];
	wasm_instance *in = (wasm_instance *)&calls; /* must be reset to NULL */
	ck_assert_int_eq(wasm_instance_create(m, NULL, NULL, &in, err, sizeof err), WASM_TRAP_LINK);
	ck_assert_ptr_null(in);
	ck_assert_ptr_nonnull(strstr(err, "unknown import"));
	ck_assert_ptr_nonnull(strstr(err, "\"env\".\"add\""));

	wasm_imports *imp = wasm_imports_create();
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "add", "i->i", host_add, &calls), 0);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "boom", "i->", host_boom, NULL), 0);
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "exit", "i->", host_exit, NULL), 0);
	ck_assert_int_eq(wasm_instance_create(m, imp, NULL, &in, err, sizeof err), WASM_TRAP_LINK);
	ck_assert_ptr_nonnull(strstr(err, "incompatible import type"));
	/* replacing the registration with the right signature fixes the link */
	ck_assert_int_eq(wasm_imports_add_func(imp, "env", "add", "ii->i", host_add, &calls), 0);
	ck_assert_int_eq(wasm_instance_create(m, imp, NULL, &in, err, sizeof err), WASM_OK);
	wasm_instance_free(in);
	wasm_imports_free(imp);
	wasm_module_free(m);
}
END_TEST

/* ---- Validation messages ---------------------------------------------------------------- */

static void expect_invalid(const uint8_t *bytes, size_t n, const char *what, const char *where)
{
	char err[256];
	wasm_module *m = wasm_module_load(bytes, n, err, sizeof err);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err, what) != NULL, "message \"%s\" lacks \"%s\"", err, what);
	if (where)
		ck_assert_msg(strstr(err, where) != NULL, "message \"%s\" lacks \"%s\"", err, where);
}

START_TEST(test_validation_messages)
{
	struct buf m;
	const struct fn f_mismatch[] = {
		{"->i", "f", BODY(0, 0x41, 0, 0x42, 0, 0x6a, 0x0b)}, /* i32.add of i32, i64 */
	};
	const struct fn f_ok_then_bad[] = {
		{"->", "a", BODY(0, 0x0b)},
		{"->", "b", BODY(0, 0x20, 5, 0x1a, 0x0b)}, /* local.get 5 of none */
	};
	const struct fn f_opcode[] = {{"->", "f", BODY(0, 0xff, 0x0b)}};
	const struct fn f_noend[] = {{"->", "f", BODY(0, 0x01)}};
	const struct fn f_align[] = {{"i->i", "f", BODY(0, 0x20, 0, 0x28, 3, 0, 0x0b)}};
	const struct fn f_nomem[] = {{"i->i", "f", BODY(0, 0x20, 0, 0x28, 2, 0, 0x0b)}};
	const struct fn f_leftover[] = {{"->", "f", BODY(0, 0x41, 1, 0x0b)}};
	struct spec s = {.fns = f_mismatch, .nfns = 1, .mem_min = -1, .mem_max = -1, .table_min = -1};

	build(&s, &m);
	expect_invalid(m.b, m.n, "type mismatch", "section code, function 0, offset 0x");
	s.fns = f_ok_then_bad;
	s.nfns = 2;
	build(&s, &m);
	expect_invalid(m.b, m.n, "unknown local 5", "function 1");
	s.fns = f_opcode;
	s.nfns = 1;
	build(&s, &m);
	expect_invalid(m.b, m.n, "illegal opcode 0xff", "function 0");
	s.fns = f_noend;
	build(&s, &m);
	expect_invalid(m.b, m.n, "unexpected end", NULL);
	s.fns = f_align;
	s.mem_min = 1;
	build(&s, &m);
	expect_invalid(m.b, m.n, "alignment must not be larger than natural", NULL);
	s.fns = f_nomem;
	s.mem_min = -1;
	build(&s, &m);
	expect_invalid(m.b, m.n, "unknown memory", NULL);
	s.fns = f_leftover;
	build(&s, &m);
	expect_invalid(m.b, m.n, "type mismatch", NULL);
	/* operands the compiler keeps symbolic (constants, x + constant) are type-checked too */
	const struct fn f_sym[][1] = {
		/* (i32 local 0) + (i64.const 1) */
		{{"i->i", "f", BODY(0, 0x20, 0, 0x42, 1, 0x6a, 0x0b)}},
		/* i32 (local 0 + 1) stored into an i64 local */
		{{"i->", "f", BODY(1, 1, 0x7e, 0x20, 0, 0x41, 1, 0x6a, 0x21, 1, 0x0b)}},
		/* f32.const used as a load address */
		{{"->i", "f", BODY(0, 0x43, 0, 0, 0, 0, 0x28, 2, 0, 0x0b)}},
		/* i64.const stored as an i32 value at a constant address */
		{{"->", "f", BODY(0, 0x41, 0, 0x42, 1, 0x36, 2, 0, 0x0b)}},
		/* local.set of an i64 constant into an i32 local */
		{{"i->", "f", BODY(0, 0x42, 1, 0x21, 0, 0x0b)}},
	};
	s.mem_min = 1;
	for (size_t i = 0; i < sizeof f_sym / sizeof f_sym[0]; i++) {
		s.fns = f_sym[i];
		build(&s, &m);
		expect_invalid(m.b, m.n, "type mismatch", "function 0");
	}
	s.mem_min = -1;

	static const uint8_t bad_magic[] = {0, 'a', 's', 'n', 1, 0, 0, 0};
	expect_invalid(bad_magic, sizeof bad_magic, "magic header", NULL);
	static const uint8_t bad_version[] = {0, 'a', 's', 'm', 2, 0, 0, 0};
	expect_invalid(bad_version, sizeof bad_version, "unknown binary version", NULL);
	expect_invalid(bad_magic, 3, "magic header", NULL);
	/* type section after the function section */
	static const uint8_t order[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 3, 1, 0, 1, 1, 0};
	expect_invalid(order, sizeof order, "section", "offset 0x");
	/* section longer than the module */
	static const uint8_t trunc[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 9, 1, 0x60};
	expect_invalid(trunc, sizeof trunc, "unexpected end", NULL);
	/* over-long LEB128 (6 bytes for a u32) */
	static const uint8_t leb[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 0x86, 0x80, 0x80, 0x80, 0x80, 0};
	expect_invalid(leb, sizeof leb, "integer", NULL);
	/* invalid UTF-8 in a custom section name */
	static const uint8_t utf8[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 2, 1, 0xff};
	expect_invalid(utf8, sizeof utf8, "malformed UTF-8", NULL);
	/* memory above 4 GiB */
	static const uint8_t mem[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 5, 5, 1, 0, 0x81, 0x80, 0x04};
	expect_invalid(mem, sizeof mem, "memory size must be at most 65536", NULL);
	/* block parameters taken from the polymorphic stack after unreachable (valid) */
	const struct fn f_poly[] = {
		{"->", "f", BODY(0, 0x00, 0x02, 0x01, 0x1a, 0x1a, 0x0b, 0x0b)},
		{"ii->", NULL, BODY(0, 0x0b)},
	};
	s.fns = f_poly;
	s.nfns = 2;
	build(&s, &m);
	char err[256];
	wasm_module *pm = wasm_module_load(m.b, m.n, err, sizeof err);
	ck_assert_msg(pm != NULL, "%s", err);
	wasm_instance *pi = inst_of(pm, NULL, NULL);
	ck_assert_int_eq(wasm_instance_invoke(pi, "f", NULL, 0, NULL, 0), WASM_TRAP_UNREACHABLE);
	wasm_instance_free(pi);
	wasm_module_free(pm);

	/* NULL err buffer is allowed */
	ck_assert_ptr_null(wasm_module_load(bad_magic, sizeof bad_magic, NULL, 0));
	/* an empty module is valid */
	static const uint8_t empty[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
	wasm_module *ok = wasm_module_load(empty, sizeof empty, NULL, 0);
	ck_assert_ptr_nonnull(ok);
	ck_assert_uint_eq(wasm_module_export_count(ok), 0);
	wasm_module_free(ok);
	wasm_module_free(NULL);
	wasm_instance_free(NULL);
}
END_TEST

/* ---- Sharing a module across threads ---------------------------------------------------- */

static const struct fn fib_fns[] = {
	/* fib(n) = n < 2 ? n : fib(n-1) + fib(n-2) */
	{"i->i", "fib", BODY(0, 0x20, 0, 0x41, 2, 0x49, 0x04, 0x7f, 0x20, 0, 0x05, 0x20, 0, 0x41, 1,
			     0x6b, 0x10, 0, 0x20, 0, 0x41, 2, 0x6b, 0x10, 0, 0x6a, 0x0b, 0x0b)},
};

static void *fib_thread(void *arg)
{
	const wasm_module *m = arg;
	long ok = 0;
	for (int i = 0; i < 50; i++) {
		wasm_instance *in;
		char err[256];
		if (wasm_instance_create(m, NULL, NULL, &in, err, sizeof err) != WASM_OK)
			return (void *)0;
		wasm_value a[1], r[1];
		a[0].i32 = 15;
		if (wasm_instance_invoke(in, "fib", a, 1, r, 1) == WASM_OK && r[0].i32 == 610)
			ok++;
		wasm_instance_free(in);
	}
	return (void *)ok;
}

START_TEST(test_threads_share_module)
{
	struct spec s = {.fns = fib_fns, .nfns = 1, .mem_min = -1, .table_min = -1};
	wasm_module *m = load_spec(&s);
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, fib_thread, m), 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		ck_assert_int_eq((long)r, 50);
	}
	char sig[16];
	ck_assert_int_eq(wasm_module_export_signature(m, "fib", sig, sizeof sig), 0);
	ck_assert_str_eq(sig, "i->i");
	ck_assert_int_eq(wasm_module_export_signature(m, "fib", sig, 3), -1);
	ck_assert_int_eq(wasm_module_export_signature(m, "nope", sig, sizeof sig), -1);
	wasm_module_free(m);
}
END_TEST

START_TEST(test_instances_are_isolated)
{
	wasm_module *m = mem_module(1, -1);
	wasm_instance *a = inst_of(m, NULL, NULL), *b = inst_of(m, NULL, NULL);
	ck_assert_int_eq(call1(a, "st32", 100, 1, NULL, 0), WASM_OK);
	wasm_value r[1];
	ck_assert_int_eq(call1(b, "ld32", 100, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	ck_assert_int_eq(call1(a, "ld32", 100, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0x2a);
	wasm_instance_free(a);
	wasm_instance_free(b);
	wasm_module_free(m);
}
END_TEST

/* ---- Tables and references ---------------------------------------------------------------
 * (wabt cannot convert the spec's table_get/set/size/grow/fill.wast, so these instructions are
 * covered here.) The module, assembled with wat2wasm from:
 * (module
 *   (table $t 2 10 externref)
 *   (table $f 1 funcref)
 *   (elem declare func $g)
 *   (func $g (result i32) i32.const 7)
 *   (func (export "get") (param i32) (result externref) (table.get $t (local.get 0)))
 *   (func (export "set") (param i32 externref) (table.set $t (local.get 0) (local.get 1)))
 *   (func (export "size") (result i32) (table.size $t))
 *   (func (export "grow") (param externref i32) (result i32) (table.grow $t (local.get 0) (local.get 1)))
 *   (func (export "fill") (param i32 externref i32) (table.fill $t (local.get 0) (local.get 1) (local.get 2)))
 *   (func (export "is_null") (param i32) (result i32) (ref.is_null (table.get $t (local.get 0))))
 *   (func (export "set_func") (table.set $f (i32.const 0) (ref.func $g)))
 *   (func (export "call0") (result i32) (call_indirect $f (result i32) (i32.const 0)))
 * )
 */
static const uint8_t tables_wasm[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x23, 0x07, 0x60,
  0x00, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x6f, 0x60, 0x02, 0x7f, 0x6f,
  0x00, 0x60, 0x02, 0x6f, 0x7f, 0x01, 0x7f, 0x60, 0x03, 0x7f, 0x6f, 0x7f,
  0x00, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x00, 0x03, 0x0a, 0x09,
  0x00, 0x01, 0x02, 0x00, 0x03, 0x04, 0x05, 0x06, 0x00, 0x04, 0x08, 0x02,
  0x6f, 0x01, 0x02, 0x0a, 0x70, 0x00, 0x01, 0x07, 0x3f, 0x08, 0x03, 0x67,
  0x65, 0x74, 0x00, 0x01, 0x03, 0x73, 0x65, 0x74, 0x00, 0x02, 0x04, 0x73,
  0x69, 0x7a, 0x65, 0x00, 0x03, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x04,
  0x04, 0x66, 0x69, 0x6c, 0x6c, 0x00, 0x05, 0x07, 0x69, 0x73, 0x5f, 0x6e,
  0x75, 0x6c, 0x6c, 0x00, 0x06, 0x08, 0x73, 0x65, 0x74, 0x5f, 0x66, 0x75,
  0x6e, 0x63, 0x00, 0x07, 0x05, 0x63, 0x61, 0x6c, 0x6c, 0x30, 0x00, 0x08,
  0x09, 0x05, 0x01, 0x03, 0x00, 0x01, 0x00, 0x0a, 0x4b, 0x09, 0x04, 0x00,
  0x41, 0x07, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x25, 0x00, 0x0b, 0x08, 0x00,
  0x20, 0x00, 0x20, 0x01, 0x26, 0x00, 0x0b, 0x05, 0x00, 0xfc, 0x10, 0x00,
  0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0xfc, 0x0f, 0x00, 0x0b, 0x0b,
  0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc, 0x11, 0x00, 0x0b, 0x07,
  0x00, 0x20, 0x00, 0x25, 0x00, 0xd1, 0x0b, 0x08, 0x00, 0x41, 0x00, 0xd2,
  0x00, 0x26, 0x01, 0x0b, 0x07, 0x00, 0x41, 0x00, 0x11, 0x00, 0x01, 0x0b
};

START_TEST(test_tables_and_refs)
{
	char err[256];
	wasm_module *m = wasm_module_load(tables_wasm, sizeof tables_wasm, err, sizeof err);
	ck_assert_msg(m != NULL, "%s", err);
	wasm_instance *in = inst_of(m, NULL, NULL);
	int x, y; /* externref values are host pointers */
	wasm_value a[3], r[1];

	ck_assert_int_eq(wasm_instance_invoke(in, "size", NULL, 0, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 2);
	ck_assert_int_eq(call1(in, "get", 0, 1, r, 1), WASM_OK);
	ck_assert_ptr_null(r[0].ref);
	a[0].i64 = 1;
	a[1].ref = &x;
	ck_assert_int_eq(wasm_instance_invoke(in, "set", a, 2, NULL, 0), WASM_OK);
	ck_assert_int_eq(call1(in, "get", 1, 1, r, 1), WASM_OK);
	ck_assert_ptr_eq(r[0].ref, &x);
	ck_assert_int_eq(call1(in, "is_null", 1, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0);
	ck_assert_int_eq(call1(in, "is_null", 0, 1, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 1);
	ck_assert_int_eq(call1(in, "get", 2, 1, r, 1), WASM_TRAP_OOB_TABLE);
	a[0].i64 = 2;
	ck_assert_int_eq(wasm_instance_invoke(in, "set", a, 2, NULL, 0), WASM_TRAP_OOB_TABLE);

	/* grow by 3 (to 5) with &y; growing past the maximum of 10 gives -1 and changes nothing */
	a[0].ref = &y;
	a[1].i64 = 3;
	ck_assert_int_eq(wasm_instance_invoke(in, "grow", a, 2, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 2);
	ck_assert_int_eq(call1(in, "get", 4, 1, r, 1), WASM_OK);
	ck_assert_ptr_eq(r[0].ref, &y);
	a[1].i64 = 6;
	ck_assert_int_eq(wasm_instance_invoke(in, "grow", a, 2, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 0xffffffffu);
	ck_assert_int_eq(wasm_instance_invoke(in, "size", NULL, 0, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 5);

	/* fill [3, 5) with &x; [4, 6) is out of bounds and writes nothing */
	a[0].i64 = 3;
	a[1].ref = &x;
	a[2].i64 = 2;
	ck_assert_int_eq(wasm_instance_invoke(in, "fill", a, 3, NULL, 0), WASM_OK);
	ck_assert_int_eq(call1(in, "get", 4, 1, r, 1), WASM_OK);
	ck_assert_ptr_eq(r[0].ref, &x);
	a[0].i64 = 4;
	a[1].ref = NULL;
	ck_assert_int_eq(wasm_instance_invoke(in, "fill", a, 3, NULL, 0), WASM_TRAP_OOB_TABLE);
	ck_assert_int_eq(call1(in, "get", 4, 1, r, 1), WASM_OK);
	ck_assert_ptr_eq(r[0].ref, &x);

	/* funcref table: null until ref.func is stored */
	ck_assert_int_eq(wasm_instance_invoke(in, "call0", NULL, 0, r, 1), WASM_TRAP_NULL_REFERENCE);
	ck_assert_int_eq(wasm_instance_invoke(in, "set_func", NULL, 0, NULL, 0), WASM_OK);
	ck_assert_int_eq(wasm_instance_invoke(in, "call0", NULL, 0, r, 1), WASM_OK);
	ck_assert_uint_eq(r[0].i32, 7);
	wasm_instance_free(in);
	wasm_module_free(m);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("runtime_core");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_trap_kinds);
	tcase_add_test(tc, test_bad_calls);
	tcase_add_test(tc, test_bounds_every_width);
	tcase_add_test(tc, test_address_arithmetic);
	tcase_add_test(tc, test_zero_memory);
	tcase_add_test(tc, test_memory_cap);
	tcase_add_test(tc, test_memory_cap_not_page_multiple);
	tcase_add_test(tc, test_memory_helpers);
	tcase_add_test(tc, test_fuel_stops_infinite_loop);
	tcase_add_test(tc, test_fuel_checked_at_calls);
	tcase_add_test(tc, test_deadline_stops_infinite_loop);
	tcase_add_test(tc, test_cpu_deadline);
	tcase_add_test(tc, test_deep_recursion);
	tcase_add_test(tc, test_host_functions);
	tcase_add_test(tc, test_link_errors);
	tcase_add_test(tc, test_validation_messages);
	tcase_add_test(tc, test_threads_share_module);
	tcase_add_test(tc, test_instances_are_isolated);
	tcase_add_test(tc, test_tables_and_refs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return th_main(suite());
}
