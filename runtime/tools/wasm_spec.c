/* wasm-spec FILE.json...: runs the WebAssembly spec test suite as converted by wast2json
 * against our engine. Every command counts: module, register, action, assert_return (with
 * nan:canonical / nan:arithmetic), assert_trap, assert_exhaustion, assert_invalid,
 * assert_malformed (binary modules; text ones are counted as skipped), assert_unlinkable and
 * assert_uninstantiable. Prints each failure as "FAIL file:line what", a per-file summary and a
 * total line "N passed, N failed, N skipped"; exits 1 if anything failed. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/wasm.h"

#define MAX_VALS 64
#define ACTION_TIMEOUT_NS (20ull * 1000000000ull)

struct named {
	char *name;
	wasm_instance *inst;
};

struct run {
	const char *dir, *file; /* folder of the json (module files are relative to it), .wast name */
	wasm_imports *imps;
	wasm_instance **insts; /* every instance created, freed at the end of the file */
	size_t ninsts, capinsts;
	wasm_module **mods;
	size_t nmods, capmods;
	struct named *names;
	size_t nnames, capnames;
	wasm_instance *cur;
	long passed, failed, skipped;
};

/* An expected or actual value: type plus bits; nan_kind 1 = canonical, 2 = arithmetic. */
struct val {
	wasm_valtype type;
	wasm_value v;
	int nan_kind;
	int any_ref; /* funcref/externref expected without a specific value */
};

static void fail(struct run *r, long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(struct run *r, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("FAIL %s:%ld ", r->file, line);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	r->failed++;
}

static int push_ptr(void ***arr, size_t *n, size_t *cap, void *p)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		void **q = realloc(*arr, nc * sizeof *q);
		if (!q)
			return -1;
		*arr = q;
		*cap = nc;
	}
	(*arr)[(*n)++] = p;
	return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	uint8_t *buf = malloc(cap);
	while (buf) {
		if (n == cap) {
			uint8_t *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		n += k;
		if (k == 0)
			break;
	}
	fclose(f);
	*len = n;
	return buf;
}

static wasm_module *load_module(struct run *r, const char *filename, char *err, size_t errlen)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", r->dir, filename);
	size_t len;
	uint8_t *bytes = read_file(path, &len);
	if (!bytes) {
		snprintf(err, errlen, "cannot read %.200s: %s", filename, strerror(errno));
		return NULL;
	}
	wasm_module *m = wasm_module_load(bytes, len, err, errlen);
	free(bytes);
	if (m && push_ptr((void ***)&r->mods, &r->nmods, &r->capmods, m) != 0) {
		wasm_module_free(m);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return m;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static wasm_trap instantiate(struct run *r, wasm_module *m, wasm_instance **out, char *err,
			     size_t errlen)
{
	struct wasm_limits lim = {0};
	lim.deadline_ns = now_ns() + ACTION_TIMEOUT_NS;
	wasm_trap t = wasm_instance_create(m, r->imps, &lim, out, err, errlen);
	if (t == WASM_OK && push_ptr((void ***)&r->insts, &r->ninsts, &r->capinsts, *out) != 0) {
		wasm_instance_free(*out);
		*out = NULL;
		snprintf(err, errlen, "out of memory");
		return WASM_TRAP_NOMEM;
	}
	return t;
}

static wasm_instance *lookup(struct run *r, const char *name)
{
	if (!name)
		return r->cur;
	for (size_t i = r->nnames; i-- > 0;)
		if (strcmp(r->names[i].name, name) == 0)
			return r->names[i].inst;
	return NULL;
}

static int parse_val(json_t *j, struct val *out)
{
	const char *type = json_string_value(json_object_get(j, "type"));
	json_t *jv = json_object_get(j, "value");
	const char *vs = json_string_value(jv);
	memset(out, 0, sizeof *out);
	if (!type)
		return -1;
	if (strcmp(type, "i32") == 0)
		out->type = WASM_I32;
	else if (strcmp(type, "i64") == 0)
		out->type = WASM_I64;
	else if (strcmp(type, "f32") == 0)
		out->type = WASM_F32;
	else if (strcmp(type, "f64") == 0)
		out->type = WASM_F64;
	else if (strcmp(type, "funcref") == 0)
		out->type = WASM_FUNCREF;
	else if (strcmp(type, "externref") == 0)
		out->type = WASM_EXTERNREF;
	else
		return -1;
	if (!vs) {
		out->any_ref = 1;
		return out->type == WASM_FUNCREF || out->type == WASM_EXTERNREF ? 0 : -1;
	}
	if (strcmp(vs, "nan:canonical") == 0) {
		out->nan_kind = 1;
		return 0;
	}
	if (strcmp(vs, "nan:arithmetic") == 0) {
		out->nan_kind = 2;
		return 0;
	}
	if (out->type == WASM_FUNCREF || out->type == WASM_EXTERNREF) {
		if (strcmp(vs, "null") == 0) {
			out->v.ref = NULL;
		} else {
			/* externref N is represented by the host pointer value N+1 (never NULL) */
			unsigned long long n = strtoull(vs, NULL, 10);
			out->v.ref = (void *)(uintptr_t)(n + 1);
		}
		return 0;
	}
	errno = 0;
	unsigned long long n = strtoull(vs, NULL, 10);
	if (errno)
		return -1;
	out->v.i64 = 0;
	if (out->type == WASM_I32 || out->type == WASM_F32)
		out->v.i32 = (uint32_t)n;
	else
		out->v.i64 = n;
	return 0;
}

static int val_matches(const struct val *want, wasm_value got, char *desc, size_t dlen)
{
	switch (want->type) {
	case WASM_I32:
		snprintf(desc, dlen, "i32 got %u want %u", got.i32, want->v.i32);
		return got.i32 == want->v.i32;
	case WASM_F32:
		snprintf(desc, dlen, "f32 got 0x%08x want 0x%08x%s", got.i32, want->v.i32,
			 want->nan_kind == 1 ? " (nan:canonical)" : want->nan_kind == 2 ? " (nan:arithmetic)" : "");
		if (want->nan_kind == 1)
			return (got.i32 & 0x7fffffffu) == 0x7fc00000u;
		if (want->nan_kind == 2)
			return (got.i32 & 0x7fc00000u) == 0x7fc00000u;
		return got.i32 == want->v.i32;
	case WASM_I64:
		snprintf(desc, dlen, "i64 got %llu want %llu", (unsigned long long)got.i64,
			 (unsigned long long)want->v.i64);
		return got.i64 == want->v.i64;
	case WASM_F64:
		snprintf(desc, dlen, "f64 got 0x%016llx want 0x%016llx%s", (unsigned long long)got.i64,
			 (unsigned long long)want->v.i64,
			 want->nan_kind == 1 ? " (nan:canonical)" : want->nan_kind == 2 ? " (nan:arithmetic)" : "");
		if (want->nan_kind == 1)
			return (got.i64 & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
		if (want->nan_kind == 2)
			return (got.i64 & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
		return got.i64 == want->v.i64;
	default:
		snprintf(desc, dlen, "ref got %p want %p", got.ref, want->v.ref);
		if (want->any_ref)
			return got.ref != NULL;
		return got.ref == want->v.ref;
	}
}

/* Runs an action; on success the results are in res[0..*nres). Returns the trap (WASM_OK),
 * or -1 for a malformed command (message in err). */
static int do_action(struct run *r, json_t *act, wasm_value *res, size_t *nres, char *err,
		     size_t errlen, wasm_instance **out_inst)
{
	const char *type = json_string_value(json_object_get(act, "type"));
	const char *modname = json_string_value(json_object_get(act, "module"));
	/* A field is a Wasm name: it may hold NUL bytes (names.wast), hence its length. */
	json_t *jfield = json_object_get(act, "field");
	const char *field = json_string_value(jfield);
	size_t field_len = json_string_length(jfield);
	wasm_instance *inst = lookup(r, modname);
	*out_inst = inst;
	if (!type || !field) {
		snprintf(err, errlen, "malformed action");
		return -1;
	}
	if (!inst) {
		snprintf(err, errlen, "no module %s", modname ? modname : "(current)");
		return -1;
	}
	if (strcmp(type, "get") == 0) {
		if (wasm_instance_global_get(inst, field, &res[0], NULL) != 0) {
			snprintf(err, errlen, "no global %s", field);
			return -1;
		}
		*nres = 1;
		return WASM_OK;
	}
	if (strcmp(type, "invoke") != 0) {
		snprintf(err, errlen, "unknown action %s", type);
		return -1;
	}
	json_t *args = json_object_get(act, "args");
	wasm_value a[MAX_VALS];
	size_t na = json_array_size(args);
	if (na > MAX_VALS) {
		snprintf(err, errlen, "too many arguments");
		return -1;
	}
	for (size_t i = 0; i < na; i++) {
		struct val v;
		if (parse_val(json_array_get(args, i), &v) != 0) {
			snprintf(err, errlen, "bad argument %zu", i);
			return -1;
		}
		a[i] = v.v;
	}
	char sig[256];
	/* the number of results comes from the export's signature */
	size_t nr = 0;
	if (wasm_module_export_signature_n(wasm_instance_module(inst), field, field_len, sig,
					   sizeof sig) != 0) {
		snprintf(err, errlen, "no exported function %s", field);
		return -1;
	}
	nr = strlen(strstr(sig, "->") + 2);
	struct wasm_limits lim = {0};
	lim.deadline_ns = now_ns() + ACTION_TIMEOUT_NS;
	wasm_instance_set_limits(inst, &lim);
	wasm_trap t = wasm_instance_invoke_n(inst, field, field_len, a, na, res, nr);
	*nres = nr;
	if (t != WASM_OK)
		snprintf(err, errlen, "%s: %s", wasm_trap_name(t), wasm_instance_errmsg(inst));
	return (int)t;
}

/* ---- spectest host module ---------------------------------------------------------------- */

static wasm_trap host_print(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)inst;
	(void)user;
	(void)args;
	(void)results;
	return WASM_OK;
}

/* Binary of a module exporting spectest's globals (666 / 666.6), table (10..20 funcref) and
 * memory (1..2 pages). */
static const uint8_t spectest_wasm[] = {
	0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
	0x04, 0x05, 0x01, 0x70, 0x01, 0x0a, 0x14,       /* table funcref 10..20 */
	0x05, 0x04, 0x01, 0x01, 0x01, 0x02,             /* memory 1..2 */
	0x06, 0x21, 0x04,                               /* 4 globals */
	0x7f, 0x00, 0x41, 0x9a, 0x05, 0x0b,             /* i32 666 */
	0x7e, 0x00, 0x42, 0x9a, 0x05, 0x0b,             /* i64 666 */
	0x7d, 0x00, 0x43, 0x66, 0xa6, 0x26, 0x44, 0x0b, /* f32 666.6 */
	0x7c, 0x00, 0x44, 0xcd, 0xcc, 0xcc, 0xcc, 0xcc, 0xd4, 0x84, 0x40, 0x0b, /* f64 666.6 */
	0x07, 0x46, 0x06,
	0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'i', '3', '2', 0x03, 0x00,
	0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'i', '6', '4', 0x03, 0x01,
	0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'f', '3', '2', 0x03, 0x02,
	0x0a, 'g', 'l', 'o', 'b', 'a', 'l', '_', 'f', '6', '4', 0x03, 0x03,
	0x05, 't', 'a', 'b', 'l', 'e', 0x01, 0x00,
	0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
};

static int setup_spectest(struct run *r)
{
	static const struct {
		const char *name, *sig;
	} prints[] = {
		{"print", "->"}, {"print_i32", "i->"}, {"print_i64", "I->"}, {"print_f32", "f->"},
		{"print_f64", "F->"}, {"print_i32_f32", "if->"}, {"print_f64_f64", "FF->"},
	};
	r->imps = wasm_imports_create();
	if (!r->imps)
		return -1;
	for (size_t i = 0; i < sizeof prints / sizeof prints[0]; i++)
		if (wasm_imports_add_func(r->imps, "spectest", prints[i].name, prints[i].sig, host_print,
					  NULL) != 0)
			return -1;
	char err[256];
	wasm_module *m = wasm_module_load(spectest_wasm, sizeof spectest_wasm, err, sizeof err);
	if (!m) {
		fprintf(stderr, "wasm-spec: spectest module: %s\n", err);
		return -1;
	}
	if (push_ptr((void ***)&r->mods, &r->nmods, &r->capmods, m) != 0) {
		wasm_module_free(m);
		return -1;
	}
	wasm_instance *inst;
	if (instantiate(r, m, &inst, err, sizeof err) != WASM_OK) {
		fprintf(stderr, "wasm-spec: spectest instance: %s\n", err);
		return -1;
	}
	return wasm_imports_add_instance(r->imps, "spectest", inst);
}

static void teardown(struct run *r)
{
	for (size_t i = r->ninsts; i-- > 0;)
		wasm_instance_free(r->insts[i]);
	for (size_t i = 0; i < r->nmods; i++)
		wasm_module_free(r->mods[i]);
	for (size_t i = 0; i < r->nnames; i++)
		free(r->names[i].name);
	free(r->insts);
	free(r->mods);
	free(r->names);
	wasm_imports_free(r->imps);
}

/* ---- commands ---------------------------------------------------------------------------- */

static void cmd_module(struct run *r, json_t *c, long line)
{
	const char *fn = json_string_value(json_object_get(c, "filename"));
	const char *name = json_string_value(json_object_get(c, "name"));
	char err[512];
	r->cur = NULL;
	wasm_module *m = fn ? load_module(r, fn, err, sizeof err) : NULL;
	if (!m) {
		fail(r, line, "module %s: %s", fn ? fn : "?", fn ? err : "no filename");
		return;
	}
	wasm_instance *inst;
	wasm_trap t = instantiate(r, m, &inst, err, sizeof err);
	if (t != WASM_OK) {
		fail(r, line, "instantiate %s: %s", fn, err);
		return;
	}
	r->cur = inst;
	if (name) {
		if (r->nnames == r->capnames) {
			size_t nc = r->capnames ? r->capnames * 2 : 8;
			struct named *p = realloc(r->names, nc * sizeof *p);
			if (!p) {
				fail(r, line, "out of memory");
				return;
			}
			r->names = p;
			r->capnames = nc;
		}
		r->names[r->nnames].name = strdup(name);
		r->names[r->nnames].inst = inst;
		r->nnames++;
	}
	r->passed++;
}

static void cmd_assert_return(struct run *r, json_t *c, long line)
{
	wasm_value res[MAX_VALS];
	size_t nres = 0;
	char err[512];
	wasm_instance *inst;
	int t = do_action(r, json_object_get(c, "action"), res, &nres, err, sizeof err, &inst);
	if (t != WASM_OK) {
		fail(r, line, "assert_return: %s", err);
		return;
	}
	json_t *exp = json_object_get(c, "expected");
	size_t ne = json_array_size(exp);
	if (ne != nres) {
		fail(r, line, "assert_return: %zu results, expected %zu", nres, ne);
		return;
	}
	for (size_t i = 0; i < ne; i++) {
		struct val want;
		char desc[160];
		if (parse_val(json_array_get(exp, i), &want) != 0) {
			fail(r, line, "assert_return: unparsable expected value %zu", i);
			return;
		}
		if (!val_matches(&want, res[i], desc, sizeof desc)) {
			fail(r, line, "assert_return: result %zu: %s", i, desc);
			return;
		}
	}
	r->passed++;
}

/* Whether trap kind t is the trap the spec test names with `text`. The spec's messages are the
 * reference interpreter's; ours name the same kinds (wasm_trap_name), except that the reference
 * says "undefined element" for a call_indirect index past the end of the table, which is our
 * out-of-bounds table trap. Prefix match, because the reference appends details
 * ("uninitialized element 2"). */
static bool trap_matches(wasm_trap t, const char *text)
{
	const char *name = wasm_trap_name(t);

	if (text == NULL)
		return true;
	if (t == WASM_TRAP_OOB_TABLE && strncmp(text, "undefined element", 17) == 0)
		return true;
	return strncmp(text, name, strlen(name)) == 0;
}

static void cmd_assert_trap(struct run *r, json_t *c, long line, bool exhaustion)
{
	wasm_value res[MAX_VALS];
	size_t nres = 0;
	char err[512];
	wasm_instance *inst;
	const char *text = json_string_value(json_object_get(c, "text"));
	int t = do_action(r, json_object_get(c, "action"), res, &nres, err, sizeof err, &inst);
	if (t < 0) {
		fail(r, line, "assert_trap: %s", err);
		return;
	}
	if (t == WASM_OK) {
		fail(r, line, "assert_trap: no trap, expected \"%s\"", text ? text : "");
		return;
	}
	if (exhaustion && t != WASM_TRAP_STACK_EXHAUSTED) {
		fail(r, line, "assert_exhaustion: trapped with %s", err);
		return;
	}
	if (!exhaustion && (t == WASM_TRAP_STACK_EXHAUSTED || t == WASM_TRAP_DEADLINE ||
			    t == WASM_TRAP_BAD_CALL || t == WASM_TRAP_NOMEM)) {
		fail(r, line, "assert_trap: trapped with %s, expected \"%s\"", err, text ? text : "");
		return;
	}
	if (!trap_matches((wasm_trap)t, text)) {
		fail(r, line, "assert_trap: trapped with \"%s\" (%s), expected \"%s\"",
		     wasm_trap_name((wasm_trap)t), err, text);
		return;
	}
	r->passed++;
}

static void cmd_assert_bad_module(struct run *r, json_t *c, long line, const char *kind)
{
	const char *mt = json_string_value(json_object_get(c, "module_type"));
	const char *fn = json_string_value(json_object_get(c, "filename"));
	if (mt && strcmp(mt, "binary") != 0) {
		r->skipped++;
		return;
	}
	char err[512];
	wasm_module *m = fn ? load_module(r, fn, err, sizeof err) : NULL;
	if (m) {
		fail(r, line, "%s: %s loaded, expected \"%s\"", kind, fn,
		     json_string_value(json_object_get(c, "text")));
		return;
	}
	r->passed++;
}

static void cmd_assert_instantiate_fails(struct run *r, json_t *c, long line, bool link)
{
	const char *fn = json_string_value(json_object_get(c, "filename"));
	char err[512];
	wasm_module *m = fn ? load_module(r, fn, err, sizeof err) : NULL;
	if (!m) {
		fail(r, line, "%s: %s did not load: %s", link ? "assert_unlinkable" : "assert_uninstantiable",
		     fn ? fn : "?", err);
		return;
	}
	wasm_instance *inst;
	wasm_trap t = instantiate(r, m, &inst, err, sizeof err);
	if (t == WASM_OK) {
		fail(r, line, "%s: %s instantiated", link ? "assert_unlinkable" : "assert_uninstantiable", fn);
		return;
	}
	if (link != (t == WASM_TRAP_LINK)) {
		fail(r, line, "%s: %s failed with %s: %s", link ? "assert_unlinkable" : "assert_uninstantiable",
		     fn, wasm_trap_name(t), err);
		return;
	}
	if (!link && !trap_matches(t, json_string_value(json_object_get(c, "text")))) {
		fail(r, line, "assert_uninstantiable: %s trapped with \"%s\", expected \"%s\"", fn,
		     wasm_trap_name(t), json_string_value(json_object_get(c, "text")));
		return;
	}
	r->passed++;
}

static void run_command(struct run *r, json_t *c)
{
	const char *type = json_string_value(json_object_get(c, "type"));
	long line = (long)json_integer_value(json_object_get(c, "line"));
	if (!type) {
		fail(r, line, "command without type");
		return;
	}
	if (strcmp(type, "module") == 0) {
		cmd_module(r, c, line);
	} else if (strcmp(type, "register") == 0) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *as = json_string_value(json_object_get(c, "as"));
		wasm_instance *inst = lookup(r, name);
		if (!inst || !as || wasm_imports_add_instance(r->imps, as, inst) != 0)
			fail(r, line, "register %s as %s failed", name ? name : "(current)", as ? as : "?");
		else
			r->passed++;
	} else if (strcmp(type, "action") == 0) {
		wasm_value res[MAX_VALS];
		size_t nres;
		char err[512];
		wasm_instance *inst;
		int t = do_action(r, json_object_get(c, "action"), res, &nres, err, sizeof err, &inst);
		if (t != WASM_OK)
			fail(r, line, "action: %s", err);
		else
			r->passed++;
	} else if (strcmp(type, "assert_return") == 0) {
		cmd_assert_return(r, c, line);
	} else if (strcmp(type, "assert_trap") == 0) {
		if (json_object_get(c, "action"))
			cmd_assert_trap(r, c, line, false);
		else
			cmd_assert_instantiate_fails(r, c, line, false);
	} else if (strcmp(type, "assert_exhaustion") == 0) {
		cmd_assert_trap(r, c, line, true);
	} else if (strcmp(type, "assert_invalid") == 0) {
		cmd_assert_bad_module(r, c, line, "assert_invalid");
	} else if (strcmp(type, "assert_malformed") == 0) {
		cmd_assert_bad_module(r, c, line, "assert_malformed");
	} else if (strcmp(type, "assert_unlinkable") == 0) {
		cmd_assert_instantiate_fails(r, c, line, true);
	} else if (strcmp(type, "assert_uninstantiable") == 0) {
		cmd_assert_instantiate_fails(r, c, line, false);
	} else {
		fail(r, line, "unknown command type %s", type);
	}
}

static int run_file(const char *path, long *tp, long *tf, long *ts)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, JSON_ALLOW_NUL, &jerr);
	struct run r;
	memset(&r, 0, sizeof r);
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	r.dir = dir;
	const char *src = root ? json_string_value(json_object_get(root, "source_filename")) : NULL;
	const char *base = src ? strrchr(src, '/') : NULL;
	r.file = base ? base + 1 : src ? src : path;
	if (!root) {
		printf("FAIL %s:%d cannot parse: %s\n", path, jerr.line, jerr.text);
		(*tf)++;
		return -1;
	}
	if (setup_spectest(&r) != 0) {
		printf("FAIL %s:0 cannot set up the spectest module\n", r.file);
		(*tf)++;
		teardown(&r);
		json_decref(root);
		return -1;
	}
	json_t *cmds = json_object_get(root, "commands");
	for (size_t i = 0; i < json_array_size(cmds); i++)
		run_command(&r, json_array_get(cmds, i));
	printf("%s: %ld passed, %ld failed, %ld skipped\n", r.file, r.passed, r.failed, r.skipped);
	fflush(stdout);
	*tp += r.passed;
	*tf += r.failed;
	*ts += r.skipped;
	teardown(&r);
	json_decref(root);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: wasm-spec FILE.json...\n");
		return 2;
	}
	long passed = 0, failed = 0, skipped = 0;
	for (int i = 1; i < argc; i++)
		run_file(argv[i], &passed, &failed, &skipped);
	printf("%ld passed, %ld failed, %ld skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
