/* Module decoding and module-level validation (Wasm 2.0 sections 5.5 and 3.4): sections in
 * order, types, imports, functions, tables, memories, globals, exports, start, element and data
 * segments, constant expressions, UTF-8 names. Function bodies are handed to compile.c, which
 * validates and compiles each one; the pristine memory image is prepared at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/internal.h"
#include "runtime/reader.h"

static void *xcalloc(struct rt_rd *r, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		rt__fail(r, "out of memory");
	return p;
}

/* A vector count, bounded by the bytes left (each element takes at least `minsize` bytes) so a
 * forged count cannot make us allocate gigabytes. */
static uint32_t rd_count(struct rt_rd *r, size_t minsize)
{
	uint32_t n = rt__rd_u32(r);
	if ((uint64_t)n * minsize > (uint64_t)(r->end - r->p))
		rt__fail(r, "unexpected end (vector length %u exceeds the section)", n);
	return n;
}

static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint32_t cp;
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + len > n)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += len;
	}
	return true;
}

/* A name, malloc'ed and NUL-terminated; its byte length (NULs included) in *out_len. */
static char *rd_name(struct rt_rd *r, uint32_t *out_len)
{
	uint32_t n = rt__rd_u32(r);
	if (n > (size_t)(r->end - r->p))
		rt__fail(r, "unexpected end (name length %u)", n);
	if (!utf8_valid(r->p, n))
		rt__fail(r, "malformed UTF-8 encoding");
	char *s = xcalloc(r, (size_t)n + 1, 1);
	memcpy(s, r->p, n);
	r->p += n;
	*out_len = n;
	return s;
}

static uint8_t rd_valtype(struct rt_rd *r)
{
	uint8_t t = rt__rd_u8(r);
	switch (t) {
	case WASM_I32: case WASM_I64: case WASM_F32: case WASM_F64:
	case WASM_FUNCREF: case WASM_EXTERNREF:
		return t;
	default:
		r->p--;
		rt__fail(r, "malformed value type 0x%02x", t);
	}
}

static uint8_t rd_reftype(struct rt_rd *r)
{
	uint8_t t = rt__rd_u8(r);
	if (t != WASM_FUNCREF && t != WASM_EXTERNREF) {
		r->p--;
		rt__fail(r, "malformed reference type 0x%02x", t);
	}
	return t;
}

static void rd_limits(struct rt_rd *r, struct rt_limits *l, uint64_t bound, const char *what)
{
	uint8_t flag = rt__rd_u8(r);
	if (flag > 1) {
		r->p--;
		rt__fail(r, "integer too large (malformed limits flags 0x%02x)", flag);
	}
	l->min = rt__rd_u32(r);
	l->has_max = flag == 1;
	l->max = l->has_max ? rt__rd_u32(r) : 0;
	if (l->min > bound)
		rt__fail(r, "%s size must be at most %llu", what, (unsigned long long)bound);
	if (l->has_max && l->max > bound)
		rt__fail(r, "%s size must be at most %llu", what, (unsigned long long)bound);
	if (l->has_max && l->min > l->max)
		rt__fail(r, "size minimum must not be greater than maximum");
}

static void rd_tabletype(struct rt_rd *r, struct rt_tabletype *t)
{
	t->elem = rd_reftype(r);
	rd_limits(r, &t->lim, UINT32_MAX, "table");
}

static void rd_globaltype(struct rt_rd *r, struct rt_globaltype *g)
{
	g->type = rd_valtype(r);
	uint8_t mut = rt__rd_u8(r);
	if (mut > 1) {
		r->p--;
		rt__fail(r, "malformed mutability 0x%02x", mut);
	}
	g->mut = mut == 1;
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
	default: return "?";
	}
}

/* Constant expression of type `want` (spec 3.3.10). `nglobals` bounds global.get: constant
 * expressions may only read imported immutable globals (spec 3.4.10, context C'). */
static void rd_constexpr(struct rt_rd *r, wasm_module *m, struct rt_constexpr *ce, uint8_t want,
			 uint32_t nglobals)
{
	uint8_t got = RT_UNKNOWN;
	int n = 0;
	for (;;) {
		uint8_t op = rt__rd_u8(r);
		if (op == 0x0b)
			break;
		if (n++ > 0)
			rt__fail(r, "type mismatch: constant expression produces more than one value");
		switch (op) {
		case 0x41:
			ce->kind = RT_CE_CONST;
			ce->v.i64 = (uint32_t)rt__rd_s32(r);
			got = WASM_I32;
			break;
		case 0x42:
			ce->kind = RT_CE_CONST;
			ce->v.i64 = (uint64_t)rt__rd_s64(r);
			got = WASM_I64;
			break;
		case 0x43:
			if (r->end - r->p < 4)
				rt__fail(r, "unexpected end");
			ce->kind = RT_CE_CONST;
			ce->v.i64 = 0;
			memcpy(&ce->v.f32, r->p, 4);
			r->p += 4;
			got = WASM_F32;
			break;
		case 0x44:
			if (r->end - r->p < 8)
				rt__fail(r, "unexpected end");
			ce->kind = RT_CE_CONST;
			memcpy(&ce->v.f64, r->p, 8);
			r->p += 8;
			got = WASM_F64;
			break;
		case 0xd0:
			ce->kind = RT_CE_REF_NULL;
			ce->v.ref = NULL;
			got = rd_reftype(r);
			break;
		case 0xd2: {
			uint32_t f = rt__rd_u32(r);
			if (f >= m->nfuncs)
				rt__fail(r, "unknown function %u", f);
			ce->kind = RT_CE_REF_FUNC;
			ce->idx = f;
			m->declared[f] = 1;
			got = WASM_FUNCREF;
			break;
		}
		case 0x23: {
			uint32_t g = rt__rd_u32(r);
			if (g >= nglobals)
				rt__fail(r, "unknown global %u", g);
			if (m->globals[g].type.mut)
				rt__fail(r, "constant expression required (mutable global %u)", g);
			ce->kind = RT_CE_GLOBAL;
			ce->idx = g;
			got = m->globals[g].type.type;
			break;
		}
		default:
			r->p--;
			rt__fail(r, "constant expression required (opcode 0x%02x)", op);
		}
	}
	if (n == 0 || got != want)
		rt__fail(r, "type mismatch: constant expression has type %s, expected %s",
			 n ? tname(got) : "[]", tname(want));
}

static void sec_type(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 3);
	m->types = xcalloc(r, n, sizeof *m->types);
	m->type_canon = xcalloc(r, n, sizeof *m->type_canon);
	m->ntypes = n;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_functype *t = &m->types[i];
		uint8_t form = rt__rd_u8(r);
		if (form != 0x60) {
			r->p--;
			rt__fail(r, "integer representation too long (malformed function type 0x%02x)", form);
		}
		uint32_t np = rd_count(r, 1);
		uint8_t *tmp = xcalloc(r, (size_t)np + 1, 1);
		t->types = tmp; /* owned by the module from here */
		for (uint32_t k = 0; k < np; k++)
			tmp[k] = rd_valtype(r);
		uint32_t nr = rd_count(r, 1);
		uint8_t *all = realloc(tmp, (size_t)np + nr + 1);
		if (!all)
			rt__fail(r, "out of memory");
		t->types = all;
		t->nparams = np;
		for (uint32_t k = 0; k < nr; k++)
			all[np + k] = rd_valtype(r);
		t->nresults = nr;
		/* Equal types share one index so that call_indirect usually compares pointers; the
		 * search is bounded (a forged module could have a million types), and types left
		 * unmerged are still compared structurally. */
		m->type_canon[i] = i;
		for (uint32_t j = i > 256 ? i - 256 : 0; j < i; j++)
			if (rt__functype_eq(&m->types[j], t)) {
				m->type_canon[i] = m->type_canon[j];
				break;
			}
	}
}

static void sec_import(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 4);
	m->imports = xcalloc(r, n, sizeof *m->imports);
	m->nimports = n;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_import *im = &m->imports[i];
		im->module = rd_name(r, &im->module_len);
		im->name = rd_name(r, &im->name_len);
		im->kind = rt__rd_u8(r);
		switch (im->kind) {
		case RT_EXT_FUNC:
			im->type = rt__rd_u32(r);
			if (im->type >= m->ntypes)
				rt__fail(r, "unknown type %u", im->type);
			m->nfunc_imports++;
			break;
		case RT_EXT_TABLE:
			rd_tabletype(r, &im->table);
			m->ntable_imports++;
			break;
		case RT_EXT_MEMORY:
			rd_limits(r, &im->mem, RT_MAX_PAGES, "memory");
			if (m->nmem_imports++ > 0)
				rt__fail(r, "multiple memories");
			break;
		case RT_EXT_GLOBAL:
			rd_globaltype(r, &im->global);
			m->nglobal_imports++;
			break;
		default:
			r->p--;
			rt__fail(r, "malformed import kind 0x%02x", im->kind);
		}
	}
	/* Lay out the index spaces' import parts now; defined entries follow later. */
	m->func_type = xcalloc(r, m->nfunc_imports, sizeof *m->func_type);
	m->tables = xcalloc(r, m->ntable_imports, sizeof *m->tables);
	m->globals = xcalloc(r, m->nglobal_imports, sizeof *m->globals);
	uint32_t fi = 0, ti = 0, gi = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_import *im = &m->imports[i];
		if (im->kind == RT_EXT_FUNC)
			m->func_type[fi++] = im->type;
		else if (im->kind == RT_EXT_TABLE)
			m->tables[ti++] = im->table;
		else if (im->kind == RT_EXT_GLOBAL)
			m->globals[gi++].type = im->global;
		else
			m->mem = im->mem;
	}
	m->nfuncs = fi;
	m->ntables = ti;
	m->nglobals = gi;
	m->nmems = m->nmem_imports;
}

static void sec_function(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 1);
	uint32_t *ft = realloc(m->func_type, ((size_t)m->nfuncs + n + 1) * sizeof *ft);
	if (!ft)
		rt__fail(r, "out of memory");
	m->func_type = ft;
	for (uint32_t i = 0; i < n; i++) {
		uint32_t t = rt__rd_u32(r);
		if (t >= m->ntypes)
			rt__fail(r, "unknown type %u", t);
		ft[m->nfuncs++] = t;
	}
}

static void sec_table(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 2);
	struct rt_tabletype *t = realloc(m->tables, ((size_t)m->ntables + n + 1) * sizeof *t);
	if (!t)
		rt__fail(r, "out of memory");
	m->tables = t;
	for (uint32_t i = 0; i < n; i++)
		rd_tabletype(r, &t[m->ntables++]);
}

static void sec_memory(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 2);
	for (uint32_t i = 0; i < n; i++) {
		struct rt_limits l;
		rd_limits(r, &l, RT_MAX_PAGES, "memory");
		if (m->nmems++ > 0)
			rt__fail(r, "multiple memories");
		m->mem = l;
	}
}

static void sec_global(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 3);
	struct rt_global *g = realloc(m->globals, ((size_t)m->nglobals + n + 1) * sizeof *g);
	if (!g)
		rt__fail(r, "out of memory");
	m->globals = g;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_global *gl = &g[m->nglobals];
		memset(gl, 0, sizeof *gl);
		rd_globaltype(r, &gl->type);
		rd_constexpr(r, m, &gl->init, gl->type.type, m->nglobal_imports);
		m->nglobals++;
	}
}

/* Orders exports by name bytes (length first), so equal names end up side by side. */
static int cmp_names(const void *a, const void *b)
{
	const struct rt_export *x = *(const struct rt_export *const *)a;
	const struct rt_export *y = *(const struct rt_export *const *)b;

	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return memcmp(x->name, y->name, x->name_len);
}

static void sec_export(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 3);
	m->exports = xcalloc(r, n, sizeof *m->exports);
	for (uint32_t i = 0; i < n; i++) {
		struct rt_export *e = &m->exports[i];
		e->name = rd_name(r, &e->name_len);
		m->nexports = i + 1;
		e->kind = rt__rd_u8(r);
		e->idx = rt__rd_u32(r);
		uint32_t lim;
		switch (e->kind) {
		case RT_EXT_FUNC: lim = m->nfuncs; break;
		case RT_EXT_TABLE: lim = m->ntables; break;
		case RT_EXT_MEMORY: lim = m->nmems; break;
		case RT_EXT_GLOBAL: lim = m->nglobals; break;
		default:
			rt__fail(r, "malformed export kind 0x%02x", e->kind);
		}
		if (e->idx >= lim)
			rt__fail(r, "unknown %s %u",
				 e->kind == 0 ? "function" : e->kind == 1 ? "table" :
				 e->kind == 2 ? "memory" : "global", e->idx);
		if (e->kind == RT_EXT_FUNC)
			m->declared[e->idx] = 1;
	}
	/* duplicate names: sort a copy of the name pointers (n log n, not n^2) */
	if (n > 1) {
		const struct rt_export **names = xcalloc(r, n, sizeof *names);
		for (uint32_t i = 0; i < n; i++)
			names[i] = &m->exports[i];
		qsort(names, n, sizeof *names, cmp_names);
		for (uint32_t i = 1; i < n; i++)
			if (cmp_names(&names[i - 1], &names[i]) == 0) {
				char dup[64];
				snprintf(dup, sizeof dup, "%s", names[i]->name);
				free(names);
				rt__fail(r, "duplicate export name \"%s\"", dup);
			}
		free(names);
	}
}

static void sec_start(struct rt_rd *r, wasm_module *m)
{
	uint32_t f = rt__rd_u32(r);
	if (f >= m->nfuncs)
		rt__fail(r, "unknown function %u", f);
	const struct rt_functype *t = &m->types[m->func_type[f]];
	if (t->nparams || t->nresults)
		rt__fail(r, "start function must have type [] -> []");
	m->has_start = true;
	m->start = f;
}

static void sec_elem(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 1);
	m->elems = xcalloc(r, n, sizeof *m->elems);
	for (uint32_t i = 0; i < n; i++) {
		struct rt_elem *e = &m->elems[i];
		m->nelems = i + 1;
		uint32_t flags = rt__rd_u32(r);
		if (flags > 7)
			rt__fail(r, "malformed elements segment kind %u", flags);
		e->mode = (flags & 1) ? ((flags & 2) ? RT_SEG_DECLARATIVE : RT_SEG_PASSIVE) : RT_SEG_ACTIVE;
		e->table = 0;
		if (e->mode == RT_SEG_ACTIVE) {
			if (flags & 2)
				e->table = rt__rd_u32(r);
			if (e->table >= m->ntables)
				rt__fail(r, "unknown table %u", e->table);
			rd_constexpr(r, m, &e->offset, WASM_I32, m->nglobal_imports);
		}
		bool exprs = flags & 4;
		e->type = WASM_FUNCREF;
		if (flags & 3) {
			if (exprs) {
				e->type = rd_reftype(r);
			} else {
				uint8_t k = rt__rd_u8(r);
				if (k != 0)
					rt__fail(r, "malformed element kind 0x%02x", k);
			}
		}
		uint32_t cnt = rd_count(r, 1);
		e->items = xcalloc(r, cnt, sizeof *e->items);
		e->n = cnt;
		for (uint32_t k = 0; k < cnt; k++) {
			if (exprs) {
				rd_constexpr(r, m, &e->items[k], e->type, m->nglobal_imports);
			} else {
				uint32_t f = rt__rd_u32(r);
				if (f >= m->nfuncs)
					rt__fail(r, "unknown function %u", f);
				e->items[k].kind = RT_CE_REF_FUNC;
				e->items[k].idx = f;
				m->declared[f] = 1;
			}
		}
		if (e->mode == RT_SEG_ACTIVE && m->tables[e->table].elem != e->type)
			rt__fail(r, "type mismatch: element segment of %s for a table of %s",
				 tname(e->type), tname(m->tables[e->table].elem));
	}
}

static void sec_datacount(struct rt_rd *r, wasm_module *m)
{
	m->ndatas = rt__rd_u32(r);
	m->has_datacount = true;
}

static void sec_code(struct rt_rd *r, wasm_module *m, struct rt_cc *cc)
{
	uint32_t n = rt__rd_u32(r);
	uint32_t ndef = m->nfuncs - m->nfunc_imports;
	if (n != ndef)
		rt__fail(r, "function and code section have inconsistent lengths (%u bodies for %u functions)",
			 n, ndef);
	m->code = xcalloc(r, n, sizeof *m->code);
	const uint8_t *send = r->end;
	for (uint32_t i = 0; i < n; i++) {
		r->func = (int64_t)(m->nfunc_imports + i);
		uint32_t size = rt__rd_u32(r);
		if (size > (size_t)(send - r->p))
			rt__fail(r, "unexpected end (function body of %u bytes)", size);
		r->end = r->p + size;
		rt__compile_body(cc, r, m, i);
		if (r->p != r->end)
			rt__fail(r, "section size mismatch (function body)");
		r->end = send;
	}
	r->func = -1;
}

static void sec_data(struct rt_rd *r, wasm_module *m)
{
	uint32_t n = rd_count(r, 1);
	if (m->has_datacount && n != m->ndatas)
		rt__fail(r, "data count and data section have inconsistent lengths");
	m->datas = xcalloc(r, n, sizeof *m->datas);
	m->ndatas = n;
	for (uint32_t i = 0; i < n; i++) {
		struct rt_data *d = &m->datas[i];
		uint32_t flags = rt__rd_u32(r);
		if (flags > 2)
			rt__fail(r, "malformed data segment kind %u", flags);
		d->mode = flags == 1 ? RT_SEG_PASSIVE : RT_SEG_ACTIVE;
		if (d->mode == RT_SEG_ACTIVE) {
			uint32_t mem = flags == 2 ? rt__rd_u32(r) : 0;
			if (mem >= m->nmems)
				rt__fail(r, "unknown memory %u", mem);
			rd_constexpr(r, m, &d->offset, WASM_I32, m->nglobal_imports);
		}
		d->len = rt__rd_u32(r);
		if (d->len > (size_t)(r->end - r->p))
			rt__fail(r, "unexpected end of section or function (data segment of %u bytes)", d->len);
		d->bytes = r->p;
		r->p += d->len;
	}
}

/* Order rank of each section id (datacount, 12, sits between element and code). */
static int section_rank(uint8_t id)
{
	static const int8_t rank[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
	return id <= 12 ? rank[id] : -1;
}

static const char *section_name(uint8_t id)
{
	static const char *names[13] = {"custom", "type", "import", "function", "table", "memory",
					"global", "export", "start", "element", "code", "data",
					"datacount"};
	return id <= 12 ? names[id] : "unknown";
}

/* Precomputes the initial memory contents when that is possible (see wasm_module.image). */
static void build_image(struct rt_rd *r, wasm_module *m)
{
	if (m->nmems == 0 || m->nmem_imports > 0)
		return;
	uint64_t msize = m->mem.min * (uint64_t)RT_PAGE, hi = 0;
	for (uint32_t i = 0; i < m->ndatas; i++) {
		struct rt_data *d = &m->datas[i];
		if (d->mode != RT_SEG_ACTIVE)
			continue;
		if (d->offset.kind != RT_CE_CONST)
			return;
		uint64_t end = (uint64_t)d->offset.v.i32 + d->len;
		if (end > msize)
			return; /* instantiation traps; leave it to the slow path */
		if (end > hi)
			hi = end;
	}
	if (hi > RT_MAX_IMAGE)
		return; /* data far into memory: not worth keeping a copy per module */
	m->image = xcalloc(r, hi ? hi : 1, 1);
	for (uint32_t i = 0; i < m->ndatas; i++) {
		struct rt_data *d = &m->datas[i];
		if (d->mode == RT_SEG_ACTIVE && d->len)
			memcpy(m->image + d->offset.v.i32, d->bytes, d->len);
	}
	m->image_len = hi;
	m->has_image = true;
}

wasm_module *wasm_module_load(const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	/* volatile: these are used after longjmp returns to the setjmp below */
	wasm_module *volatile m = calloc(1, sizeof(wasm_module));
	struct rt_rd *volatile r = calloc(1, sizeof(struct rt_rd));
	struct rt_cc *volatile cc = rt__cc_create();
	if (!m || !r || !cc || !(m->bytes = malloc(len ? len : 1))) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		free(r);
		rt__cc_free(cc);
		wasm_module_free(m);
		return NULL;
	}
	memcpy(m->bytes, bytes, len);
	m->len = len;
	r->start = r->p = m->bytes;
	r->end = m->bytes + len;
	r->err = err;
	r->errlen = errlen;
	r->func = -1;
	if (setjmp(r->jb)) {
		free(r);
		rt__cc_free(cc);
		wasm_module_free(m);
		return NULL;
	}
	static const uint8_t magic[4] = {0, 'a', 's', 'm'};
	if (len < 4 || memcmp(r->p, magic, 4) != 0)
		rt__fail(r, "magic header not detected");
	r->p += 4;
	static const uint8_t version[4] = {1, 0, 0, 0};
	if (len < 8 || memcmp(r->p, version, 4) != 0)
		rt__fail(r, "unknown binary version");
	r->p += 4;

	int last = 0;
	bool have_code = false;
	while (r->p < r->end) {
		uint8_t id = rt__rd_u8(r);
		int rank = section_rank(id);
		if (rank < 0) {
			r->p--;
			rt__fail(r, "malformed section id %u", id);
		}
		uint32_t size = rt__rd_u32(r);
		if (size > (size_t)(r->end - r->p))
			rt__fail(r, "unexpected end: section %s of %u bytes exceeds the module",
				 section_name(id), size);
		const uint8_t *send = r->p + size, *mend = r->end;
		r->end = send;
		r->section = section_name(id);
		if (id == 0) {
			uint32_t len;
			free(rd_name(r, &len));
			r->p = send;
		} else {
			if (rank <= last)
				rt__fail(r, "unexpected content after last section (section %s out of order)",
					 section_name(id));
			last = rank;
			/* ref.func declarations are collected from the table section on, once the
			 * function index space is complete. */
			if (rank >= 4 && !m->declared)
				m->declared = xcalloc(r, m->nfuncs, 1);
			switch (id) {
			case 1: sec_type(r, m); break;
			case 2: sec_import(r, m); break;
			case 3: sec_function(r, m); break;
			case 4: sec_table(r, m); break;
			case 5: sec_memory(r, m); break;
			case 6: sec_global(r, m); break;
			case 7: sec_export(r, m); break;
			case 8: sec_start(r, m); break;
			case 9: sec_elem(r, m); break;
			case 10: sec_code(r, m, cc); have_code = true; break;
			case 11: sec_data(r, m); break;
			case 12: sec_datacount(r, m); break;
			}
			if (r->p != send)
				rt__fail(r, "section size mismatch");
		}
		r->end = mend;
		r->section = NULL;
	}
	if (m->nfuncs > m->nfunc_imports && !have_code)
		rt__fail(r, "function and code section have inconsistent lengths");
	if (m->has_datacount && m->ndatas && !m->datas)
		rt__fail(r, "data count and data section have inconsistent lengths");
	if (!m->declared)
		m->declared = xcalloc(r, m->nfuncs, 1);
	if (!m->func_type)
		m->func_type = xcalloc(r, 1, sizeof *m->func_type);
	build_image(r, m);
	free(r);
	rt__cc_free(cc);
	return m;
}

void wasm_module_free(wasm_module *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->ntypes; i++)
		free(m->types[i].types);
	free(m->types);
	free(m->type_canon);
	for (uint32_t i = 0; i < m->nimports; i++) {
		free(m->imports[i].module);
		free(m->imports[i].name);
	}
	free(m->imports);
	free(m->func_type);
	if (m->code)
		for (uint32_t i = 0; i < m->nfuncs - m->nfunc_imports; i++)
			free(m->code[i].ops);
	free(m->code);
	free(m->tables);
	free(m->globals);
	for (uint32_t i = 0; i < m->nexports; i++)
		free(m->exports[i].name);
	free(m->exports);
	for (uint32_t i = 0; i < m->nelems; i++)
		free(m->elems[i].items);
	free(m->elems);
	free(m->datas);
	free(m->declared);
	free(m->image);
	free(m->bytes);
	free(m);
}

uint32_t wasm_module_export_count(const wasm_module *m)
{
	return m->nexports;
}

const char *wasm_module_export_name(const wasm_module *m, uint32_t i, int *out_kind)
{
	if (i >= m->nexports)
		return NULL;
	if (out_kind)
		*out_kind = m->exports[i].kind;
	return m->exports[i].name;
}

uint32_t wasm_module_import_count(const wasm_module *m)
{
	return m->nimports;
}

const char *wasm_module_import_name(const wasm_module *m, uint32_t i, const char **out_module,
				    int *out_kind)
{
	if (i >= m->nimports)
		return NULL;
	if (out_module)
		*out_module = m->imports[i].module;
	if (out_kind)
		*out_kind = m->imports[i].kind;
	return m->imports[i].name;
}

const struct rt_export *rt__find_export(const wasm_module *m, const char *name, size_t len)
{
	for (uint32_t i = 0; i < m->nexports; i++)
		if (rt__name_is(m->exports[i].name, m->exports[i].name_len, name, len))
			return &m->exports[i];
	return NULL;
}

int wasm_module_export_signature_n(const wasm_module *m, const char *name, size_t name_len,
				   char *buf, size_t buflen)
{
	static const char letters[256] = {[WASM_I32] = 'i', [WASM_I64] = 'I', [WASM_F32] = 'f',
					  [WASM_F64] = 'F', [WASM_FUNCREF] = 'r',
					  [WASM_EXTERNREF] = 'x'};
	const struct rt_export *e = rt__find_export(m, name, name_len);

	if (e == NULL || e->kind != RT_EXT_FUNC)
		return -1;
	const struct rt_functype *t = &m->types[m->func_type[e->idx]];
	size_t need = (size_t)t->nparams + t->nresults + 3;
	if (buflen < need)
		return -1;
	size_t k = 0;
	for (uint32_t j = 0; j < t->nparams; j++)
		buf[k++] = letters[t->types[j]];
	buf[k++] = '-';
	buf[k++] = '>';
	for (uint32_t j = 0; j < t->nresults; j++)
		buf[k++] = letters[t->types[t->nparams + j]];
	buf[k] = 0;
	return 0;
}

int wasm_module_export_signature(const wasm_module *m, const char *name, char *buf, size_t buflen)
{
	return wasm_module_export_signature_n(m, name, strlen(name), buf, buflen);
}
