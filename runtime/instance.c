/* Instances: import resolution with type checks (Wasm 2.0 section 4.5.4 "instantiation"),
 * creation of memory/tables/globals from the module's pristine image, element and data segment
 * initialisation, the start function, limits (fuel, deadline, memory cap) and the public
 * instance, memory and import-set API. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/internal.h"

#define RT_MAX_TABLE_ELEMS (1u << 20) /* implementation limit on table sizes (8 MiB) */

/* ---- Import sets ------------------------------------------------------------------------ */

struct imp_func {
	char *module, *name;
	size_t module_len, name_len; /* kept so that linking compares lengths first */
	struct rt_functype type;
	struct rt_func fn;
};

struct imp_inst {
	char *module;
	size_t module_len;
	wasm_instance *inst;
};

struct wasm_imports {
	struct imp_func **funcs;
	size_t nfuncs, capfuncs;
	struct imp_inst *insts;
	size_t ninsts, capinsts;
};

const char *wasm_trap_name(wasm_trap t)
{
	switch (t) {
	case WASM_OK: return "ok";
	case WASM_TRAP_UNREACHABLE: return "unreachable";
	case WASM_TRAP_INT_OVERFLOW: return "integer overflow";
	case WASM_TRAP_DIV_ZERO: return "integer divide by zero";
	case WASM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
	case WASM_TRAP_OOB_MEMORY: return "out of bounds memory access";
	case WASM_TRAP_OOB_TABLE: return "out of bounds table access";
	case WASM_TRAP_INDIRECT_MISMATCH: return "indirect call type mismatch";
	case WASM_TRAP_NULL_REFERENCE: return "uninitialized element";
	case WASM_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
	case WASM_TRAP_FUEL_EXHAUSTED: return "fuel exhausted";
	case WASM_TRAP_DEADLINE: return "deadline exceeded";
	case WASM_TRAP_MEMORY_LIMIT: return "memory limit exceeded";
	case WASM_TRAP_HOST: return "host error";
	case WASM_TRAP_EXIT: return "exit";
	case WASM_TRAP_NOMEM: return "out of memory";
	case WASM_TRAP_LINK: return "link error";
	case WASM_TRAP_BAD_CALL: return "bad call";
	}
	return "unknown trap";
}

bool rt__functype_eq(const struct rt_functype *a, const struct rt_functype *b)
{
	return a->nparams == b->nparams && a->nresults == b->nresults &&
	       memcmp(a->types, b->types, (size_t)a->nparams + a->nresults) == 0;
}

static int parse_sig(const char *sig, struct rt_functype *t)
{
	const char *arrow = strstr(sig, "->");
	if (!arrow)
		return -1;
	size_t np = (size_t)(arrow - sig), nr = strlen(arrow + 2);
	t->types = malloc(np + nr + 1);
	if (!t->types)
		return -1;
	t->nparams = (uint32_t)np;
	t->nresults = (uint32_t)nr;
	for (size_t i = 0; i < np + nr; i++) {
		char c = i < np ? sig[i] : arrow[2 + i - np];
		uint8_t v;
		switch (c) {
		case 'i': v = WASM_I32; break;
		case 'I': v = WASM_I64; break;
		case 'f': v = WASM_F32; break;
		case 'F': v = WASM_F64; break;
		case 'r': v = WASM_FUNCREF; break;
		case 'x': v = WASM_EXTERNREF; break;
		default:
			free(t->types);
			t->types = NULL;
			return -1;
		}
		t->types[i] = v;
	}
	return 0;
}

wasm_imports *wasm_imports_create(void)
{
	return calloc(1, sizeof(wasm_imports));
}

void wasm_imports_free(wasm_imports *imp)
{
	if (!imp)
		return;
	for (size_t i = 0; i < imp->nfuncs; i++) {
		free(imp->funcs[i]->module);
		free(imp->funcs[i]->name);
		free(imp->funcs[i]->type.types);
		free(imp->funcs[i]);
	}
	free(imp->funcs);
	for (size_t i = 0; i < imp->ninsts; i++)
		free(imp->insts[i].module);
	free(imp->insts);
	free(imp);
}

int wasm_imports_add_func(wasm_imports *imp, const char *module, const char *name, const char *sig,
			  wasm_host_fn fn, void *user)
{
	if (!imp || !module || !name || !sig || !fn)
		return -1;
	struct imp_func *f = calloc(1, sizeof *f);
	if (!f)
		return -1;
	if (parse_sig(sig, &f->type) != 0)
		goto fail;
	f->module = strdup(module);
	f->name = strdup(name);
	if (!f->module || !f->name)
		goto fail;
	f->module_len = strlen(module);
	f->name_len = strlen(name);
	f->fn.type = &f->type;
	f->fn.host = fn;
	f->fn.user = user;
	for (size_t i = 0; i < imp->nfuncs; i++) {
		struct imp_func *o = imp->funcs[i];
		if (strcmp(o->module, module) == 0 && strcmp(o->name, name) == 0) {
			free(o->module);
			free(o->name);
			free(o->type.types);
			free(o);
			imp->funcs[i] = f;
			f->fn.type = &f->type;
			return 0;
		}
	}
	if (imp->nfuncs == imp->capfuncs) {
		size_t nc = imp->capfuncs ? imp->capfuncs * 2 : 16;
		struct imp_func **p = realloc(imp->funcs, nc * sizeof *p);
		if (!p)
			goto fail;
		imp->funcs = p;
		imp->capfuncs = nc;
	}
	imp->funcs[imp->nfuncs++] = f;
	return 0;
fail:
	free(f->module);
	free(f->name);
	free(f->type.types);
	free(f);
	return -1;
}

int wasm_imports_add_instance(wasm_imports *imp, const char *module, wasm_instance *inst)
{
	if (!imp || !module || !inst)
		return -1;
	if (imp->ninsts == imp->capinsts) {
		size_t nc = imp->capinsts ? imp->capinsts * 2 : 8;
		struct imp_inst *p = realloc(imp->insts, nc * sizeof *p);
		if (!p)
			return -1;
		imp->insts = p;
		imp->capinsts = nc;
	}
	char *s = strdup(module);
	if (!s)
		return -1;
	imp->insts[imp->ninsts].module = s;
	imp->insts[imp->ninsts].module_len = strlen(s);
	imp->insts[imp->ninsts].inst = inst;
	imp->ninsts++;
	return 0;
}

/* ---- Limits ----------------------------------------------------------------------------- */

static uint64_t now_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Starts a new chunk of fuel: small when a deadline must be polled, else as much as allowed. */
static void refill(wasm_instance *inst)
{
	int64_t chunk = inst->deadline_ns || inst->cpu_deadline_ns ? 20000 : INT64_MAX / 4;
	if (inst->fuel_limit) {
		uint64_t left = inst->fuel_limit > inst->fuel_used ? inst->fuel_limit - inst->fuel_used : 0;
		if ((uint64_t)chunk > left)
			chunk = (int64_t)left;
	}
	inst->chunk_size = chunk;
	inst->fuel_chunk = chunk;
}

wasm_trap rt__fuel_slow(wasm_instance *inst)
{
	inst->fuel_used += (uint64_t)(inst->chunk_size - inst->fuel_chunk);
	if (inst->fuel_limit && inst->fuel_used >= inst->fuel_limit) {
		inst->chunk_size = inst->fuel_chunk = 0;
		return WASM_TRAP_FUEL_EXHAUSTED;
	}
	if (inst->deadline_ns || inst->cpu_deadline_ns) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);
		if (inst->deadline_ns && now >= inst->deadline_ns) {
			refill(inst);
			return WASM_TRAP_DEADLINE;
		}
		if (inst->cpu_deadline_ns && now >= inst->cpu_gate_ns) {
			uint64_t cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
			if (cpu >= inst->cpu_deadline_ns) {
				refill(inst);
				return WASM_TRAP_DEADLINE;
			}
			inst->cpu_gate_ns = now + (inst->cpu_deadline_ns - cpu);
		}
	}
	refill(inst);
	return WASM_OK;
}

void wasm_instance_set_limits(wasm_instance *inst, const struct wasm_limits *lim)
{
	inst->fuel_limit = lim ? lim->fuel : 0;
	inst->fuel_used = 0;
	inst->deadline_ns = lim ? lim->deadline_ns : 0;
	inst->cpu_deadline_ns = 0;
	if (lim && lim->cpu_ns) {
		inst->cpu_deadline_ns = now_ns(CLOCK_THREAD_CPUTIME_ID) + lim->cpu_ns;
		inst->cpu_gate_ns = now_ns(CLOCK_MONOTONIC) + lim->cpu_ns;
	}
	inst->max_depth = lim && lim->max_call_depth ? lim->max_call_depth : WASM_DEFAULT_CALL_DEPTH;
	refill(inst);
}

uint64_t wasm_instance_fuel_left(const wasm_instance *inst)
{
	if (!inst->fuel_limit)
		return UINT64_MAX;
	uint64_t used = inst->fuel_used + (uint64_t)(inst->chunk_size - inst->fuel_chunk);
	return used >= inst->fuel_limit ? 0 : inst->fuel_limit - used;
}

/* ---- Memory and tables ------------------------------------------------------------------ */

int64_t rt__memory_grow(struct rt_memory *mem, uint32_t delta)
{
	uint64_t old = mem->size / RT_PAGE;
	if (delta == 0)
		return (int64_t)old;
	if (old + delta > mem->cap_pages)
		return -1;
	uint64_t nsize = (old + delta) * RT_PAGE;
	uint8_t *p = realloc(mem->data, nsize);
	if (!p)
		return -1;
	memset(p + mem->size, 0, nsize - mem->size);
	mem->data = p;
	mem->size = nsize;
	return (int64_t)old;
}

int64_t rt__table_grow(struct rt_table *t, uint32_t delta, void *init)
{
	uint64_t old = t->size;
	if (delta == 0)
		return (int64_t)old;
	uint64_t nsize = old + delta;
	if (nsize > t->max || nsize > RT_MAX_TABLE_ELEMS)
		return -1;
	void **p = realloc(t->elems, nsize * sizeof *p);
	if (!p)
		return -1;
	for (uint64_t i = old; i < nsize; i++)
		p[i] = init;
	t->elems = p;
	t->size = (uint32_t)nsize;
	return (int64_t)old;
}

void *rt__constexpr_ref(wasm_instance *inst, const struct rt_constexpr *ce)
{
	switch (ce->kind) {
	case RT_CE_REF_FUNC: return inst->funcs[ce->idx];
	case RT_CE_GLOBAL: return inst->globals[ce->idx]->v.ref;
	default: return NULL;
	}
}

static wasm_value eval_const(wasm_instance *inst, const struct rt_constexpr *ce)
{
	wasm_value v;
	v.i64 = 0;
	switch (ce->kind) {
	case RT_CE_CONST: v = ce->v; break;
	case RT_CE_GLOBAL: v = inst->globals[ce->idx]->v; break;
	case RT_CE_REF_FUNC: v.ref = inst->funcs[ce->idx]; break;
	default: v.ref = NULL; break;
	}
	return v;
}

wasm_trap rt__trap(wasm_instance *inst, wasm_trap kind, const char *msg)
{
	snprintf(inst->errmsg, sizeof inst->errmsg, "%s", msg);
	return kind;
}

wasm_trap wasm_instance_trapf(wasm_instance *inst, wasm_trap kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(inst->errmsg, sizeof inst->errmsg, fmt, ap);
	va_end(ap);
	return kind;
}

wasm_trap wasm_instance_exit(wasm_instance *inst, int code)
{
	inst->exit_code = code;
	snprintf(inst->errmsg, sizeof inst->errmsg, "exit with code %d", code);
	return WASM_TRAP_EXIT;
}

/* ---- Instantiation ---------------------------------------------------------------------- */

struct link_ctx {
	char *err;
	size_t errlen;
};

static wasm_trap link_fail(struct link_ctx *lc, const struct rt_import *im, const char *why)
{
	if (lc->err && lc->errlen)
		snprintf(lc->err, lc->errlen, "%s: import \"%s\".\"%s\"", why, im->module, im->name);
	return WASM_TRAP_LINK;
}

/* Finds the export named by import `im` in the registered instances (latest first). */
static wasm_instance *find_inst_export(const wasm_imports *imp, const struct rt_import *im,
				       const struct rt_export **out)
{
	if (!imp)
		return NULL;
	for (size_t i = imp->ninsts; i-- > 0;) {
		if (!rt__name_is(im->module, im->module_len, imp->insts[i].module,
				 imp->insts[i].module_len))
			continue;
		const struct rt_export *e = rt__find_export(imp->insts[i].inst->m, im->name, im->name_len);
		if (e) {
			*out = e;
			return imp->insts[i].inst;
		}
	}
	return NULL;
}

static bool limits_match(uint64_t size, bool has_max, uint64_t max, const struct rt_limits *want)
{
	if (size < want->min)
		return false;
	if (want->has_max && (!has_max || max > want->max))
		return false;
	return true;
}

static wasm_trap resolve_imports(wasm_instance *inst, const wasm_imports *imp, struct link_ctx *lc)
{
	const wasm_module *m = inst->m;
	uint32_t fi = 0, ti = 0, gi = 0;
	for (uint32_t i = 0; i < m->nimports; i++) {
		const struct rt_import *im = &m->imports[i];
		const struct rt_export *e = NULL;
		wasm_instance *src = NULL;
		if (im->kind == RT_EXT_FUNC && imp) {
			for (size_t k = 0; k < imp->nfuncs; k++) {
				struct imp_func *hf = imp->funcs[k];
				if (rt__name_is(im->module, im->module_len, hf->module, hf->module_len) &&
				    rt__name_is(im->name, im->name_len, hf->name, hf->name_len)) {
					if (!rt__functype_eq(&hf->type, &m->types[im->type]))
						return link_fail(lc, im, "incompatible import type");
					/* Copy the closure: the instance may outlive the import set. The
					 * type then points at the module's own (equal) type. */
					struct rt_func *own = &inst->own_funcs[(int64_t)fi - m->nfunc_imports];
					*own = hf->fn;
					own->type = &m->types[m->type_canon[im->type]];
					inst->funcs[fi++] = own;
					goto next;
				}
			}
		}
		src = find_inst_export(imp, im, &e);
		if (!src)
			return link_fail(lc, im, "unknown import");
		if (e->kind != im->kind)
			return link_fail(lc, im, "incompatible import type");
		switch (im->kind) {
		case RT_EXT_FUNC: {
			struct rt_func *f = src->funcs[e->idx];
			if (!rt__functype_eq(f->type, &m->types[im->type]))
				return link_fail(lc, im, "incompatible import type");
			inst->funcs[fi++] = f;
			break;
		}
		case RT_EXT_TABLE: {
			struct rt_table *t = src->tables[e->idx];
			if (t->type != im->table.elem ||
			    !limits_match(t->size, t->has_max, t->max, &im->table.lim))
				return link_fail(lc, im, "incompatible import type");
			inst->tables[ti++] = t;
			break;
		}
		case RT_EXT_MEMORY: {
			struct rt_memory *mm = src->mem;
			if (!limits_match(mm->size / RT_PAGE, mm->has_max, mm->max_pages, &im->mem))
				return link_fail(lc, im, "incompatible import type");
			inst->mem = mm;
			break;
		}
		case RT_EXT_GLOBAL: {
			struct rt_global_cell *g = src->globals[e->idx];
			if (g->type != im->global.type || g->mut != im->global.mut)
				return link_fail(lc, im, "incompatible import type");
			inst->globals[gi++] = g;
			break;
		}
		}
	next:;
	}
	return WASM_OK;
}

static void instance_release(wasm_instance *inst)
{
	if (!inst)
		return;
	const wasm_module *m = inst->m;
	if (m->nmems && !m->nmem_imports)
		free(inst->own_mem.data);
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++)
		free(inst->own_tables[i - m->ntable_imports].elems);
	wasm_instance *z = inst->zombies;
	while (z) {
		wasm_instance *next = z->zombie_next;
		instance_release(z);
		z = next;
	}
	free(inst);
}

void wasm_instance_free(wasm_instance *inst)
{
	instance_release(inst);
}

/* Segment initialisation may have stored this (failed) instance's functions into tables owned
 * by other instances; it is then kept alive, owned by the first such table's instance. */
static void bury(wasm_instance *inst)
{
	const wasm_module *m = inst->m;
	for (uint32_t i = 0; i < m->ntable_imports; i++) {
		wasm_instance *owner = inst->tables[i]->owner;
		if (owner && owner != inst) {
			inst->zombie_next = owner->zombies;
			owner->zombies = inst;
			return;
		}
	}
	instance_release(inst);
}

wasm_trap wasm_instance_create(const wasm_module *m, const wasm_imports *imp,
			       const struct wasm_limits *lim, wasm_instance **out, char *err,
			       size_t errlen)
{
	*out = NULL;
	if (err && errlen)
		err[0] = 0;
	uint32_t ndef_tables = m->ntables - m->ntable_imports;
	uint32_t ndef_globals = m->nglobals - m->nglobal_imports;
	/* One allocation for the instance and its fixed-size arrays. */
	size_t sz = sizeof(wasm_instance);
	size_t off_funcs = sz;
	sz += (size_t)m->nfuncs * sizeof(struct rt_func *);
	size_t off_own = sz;
	sz += (size_t)m->nfuncs * sizeof(struct rt_func);
	size_t off_tabp = sz;
	sz += (size_t)m->ntables * sizeof(struct rt_table *);
	size_t off_tab = sz;
	sz += (size_t)ndef_tables * sizeof(struct rt_table);
	size_t off_globp = sz;
	sz += (size_t)m->nglobals * sizeof(struct rt_global_cell *);
	size_t off_glob = sz;
	sz += (size_t)ndef_globals * sizeof(struct rt_global_cell);
	size_t off_drop = sz;
	sz += (size_t)m->ndatas + m->nelems;
	uint8_t *blk = calloc(1, sz);
	if (!blk) {
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
		return WASM_TRAP_NOMEM;
	}
	wasm_instance *inst = (wasm_instance *)blk;
	inst->m = m;
	inst->funcs = (struct rt_func **)(blk + off_funcs);
	/* own_funcs is indexed by defined-function index; imported host closures sit before it */
	inst->own_funcs = (struct rt_func *)(blk + off_own) + m->nfunc_imports;
	inst->tables = (struct rt_table **)(blk + off_tabp);
	inst->own_tables = (struct rt_table *)(blk + off_tab);
	inst->globals = (struct rt_global_cell **)(blk + off_globp);
	inst->own_globals = (struct rt_global_cell *)(blk + off_glob);
	inst->data_dropped = blk + off_drop;
	inst->elem_dropped = blk + off_drop + m->ndatas;
	inst->max_memory_bytes = lim ? lim->max_memory_bytes : 0;
	wasm_instance_set_limits(inst, lim);

	struct link_ctx lc = {err, errlen};
	wasm_trap t = resolve_imports(inst, imp, &lc);
	if (t != WASM_OK) {
		instance_release(inst);
		return t;
	}
	for (uint32_t i = m->nfunc_imports; i < m->nfuncs; i++) {
		struct rt_func *f = &inst->own_funcs[i - m->nfunc_imports];
		f->type = &m->types[m->type_canon[m->func_type[i]]];
		f->inst = inst;
		f->idx = i;
		inst->funcs[i] = f;
	}
	for (uint32_t i = m->nglobal_imports; i < m->nglobals; i++) {
		struct rt_global_cell *g = &inst->own_globals[i - m->nglobal_imports];
		g->type = m->globals[i].type.type;
		g->mut = m->globals[i].type.mut;
		g->v = eval_const(inst, &m->globals[i].init);
		inst->globals[i] = g;
	}
	for (uint32_t i = m->ntable_imports; i < m->ntables; i++) {
		struct rt_table *tb = &inst->own_tables[i - m->ntable_imports];
		const struct rt_tabletype *tt = &m->tables[i];
		tb->type = tt->elem;
		tb->has_max = tt->lim.has_max;
		tb->max = tt->lim.has_max ? (uint32_t)tt->lim.max : UINT32_MAX;
		tb->owner = inst;
		if (tt->lim.min > RT_MAX_TABLE_ELEMS) {
			if (err && errlen)
				snprintf(err, errlen, "table of %llu elements exceeds the limit",
					 (unsigned long long)tt->lim.min);
			instance_release(inst);
			return WASM_TRAP_MEMORY_LIMIT;
		}
		tb->size = (uint32_t)tt->lim.min;
		tb->elems = calloc(tb->size ? tb->size : 1, sizeof *tb->elems);
		inst->tables[i] = tb;
		if (!tb->elems) {
			instance_release(inst);
			return WASM_TRAP_NOMEM;
		}
	}
	if (m->nmems && !m->nmem_imports) {
		struct rt_memory *mm = &inst->own_mem;
		uint64_t cap = m->mem.has_max ? m->mem.max : RT_MAX_PAGES;
		if (inst->max_memory_bytes && inst->max_memory_bytes / RT_PAGE < cap)
			cap = inst->max_memory_bytes / RT_PAGE;
		mm->cap_pages = cap;
		mm->has_max = m->mem.has_max;
		mm->max_pages = m->mem.has_max ? m->mem.max : RT_MAX_PAGES;
		if (m->mem.min > cap) {
			if (err && errlen)
				snprintf(err, errlen, "memory of %llu pages exceeds the cap of %llu pages",
					 (unsigned long long)m->mem.min, (unsigned long long)cap);
			instance_release(inst);
			return WASM_TRAP_MEMORY_LIMIT;
		}
		mm->size = m->mem.min * (uint64_t)RT_PAGE;
		mm->data = calloc(mm->size ? mm->size : 1, 1);
		if (!mm->data) {
			if (err && errlen)
				snprintf(err, errlen, "out of memory for %llu bytes of linear memory",
					 (unsigned long long)mm->size);
			instance_release(inst);
			return WASM_TRAP_NOMEM;
		}
		if (m->has_image)
			memcpy(mm->data, m->image, m->image_len);
		inst->mem = mm;
	}

	/* Element segments, then data segments, in order (spec 4.5.4); a failure leaves the
	 * effects of earlier segments in place, as the spec requires for shared tables/memory. */
	for (uint32_t i = 0; i < m->nelems; i++) {
		const struct rt_elem *e = &m->elems[i];
		if (e->mode == RT_SEG_PASSIVE)
			continue;
		inst->elem_dropped[i] = 1;
		if (e->mode != RT_SEG_ACTIVE)
			continue;
		struct rt_table *tb = inst->tables[e->table];
		uint64_t o = eval_const(inst, &e->offset).i32;
		if (o + e->n > tb->size) {
			if (err && errlen)
				snprintf(err, errlen, "out of bounds table access (element segment %u)", i);
			bury(inst);
			return WASM_TRAP_OOB_TABLE;
		}
		for (uint32_t k = 0; k < e->n; k++)
			tb->elems[o + k] = rt__constexpr_ref(inst, &e->items[k]);
	}
	for (uint32_t i = 0; i < m->ndatas; i++) {
		const struct rt_data *d = &m->datas[i];
		if (d->mode != RT_SEG_ACTIVE)
			continue;
		inst->data_dropped[i] = 1;
		if (m->has_image)
			continue;
		uint64_t o = eval_const(inst, &d->offset).i32;
		if (o + d->len > inst->mem->size) {
			if (err && errlen)
				snprintf(err, errlen, "out of bounds memory access (data segment %u)", i);
			bury(inst);
			return WASM_TRAP_OOB_MEMORY;
		}
		if (d->len)
			memcpy(inst->mem->data + o, d->bytes, d->len);
	}
	if (m->has_start) {
		t = rt__call(inst, inst->funcs[m->start], NULL, 0, NULL, 0);
		if (t != WASM_OK) {
			if (err && errlen)
				snprintf(err, errlen, "start function: %s", inst->errmsg);
			bury(inst);
			return t;
		}
	}
	*out = inst;
	return WASM_OK;
}

/* ---- Calls and accessors ---------------------------------------------------------------- */

wasm_trap wasm_instance_invoke(wasm_instance *inst, const char *name, const wasm_value *args,
			       size_t nargs, wasm_value *results, size_t nresults)
{
	return wasm_instance_invoke_n(inst, name, strlen(name), args, nargs, results, nresults);
}

wasm_trap wasm_instance_invoke_n(wasm_instance *inst, const char *name, size_t name_len,
				 const wasm_value *args, size_t nargs, wasm_value *results,
				 size_t nresults)
{
	inst->errmsg[0] = 0;
	const struct rt_export *e = rt__find_export(inst->m, name, name_len);
	if (!e || e->kind != RT_EXT_FUNC)
		return wasm_instance_trapf(inst, WASM_TRAP_BAD_CALL, "no exported function \"%s\"", name);
	struct rt_func *f = inst->funcs[e->idx];
	if (nargs != f->type->nparams || nresults != f->type->nresults)
		return wasm_instance_trapf(inst, WASM_TRAP_BAD_CALL,
					   "\"%s\" takes %u arguments and returns %u results", name,
					   f->type->nparams, f->type->nresults);
	wasm_value tmp[16];
	wasm_value *a = tmp;
	if (nargs > 16) {
		a = malloc(nargs * sizeof *a);
		if (!a)
			return wasm_instance_trapf(inst, WASM_TRAP_NOMEM, "out of memory");
	}
	if (nargs)
		memcpy(a, args, nargs * sizeof *a);
	wasm_trap t = rt__call(inst, f, a, nargs, results, nresults);
	if (a != tmp)
		free(a);
	return t;
}

int wasm_instance_global_get(const wasm_instance *inst, const char *name, wasm_value *out,
			     wasm_valtype *out_type)
{
	const struct rt_export *e = rt__find_export(inst->m, name, strlen(name));
	if (!e || e->kind != RT_EXT_GLOBAL)
		return -1;
	*out = inst->globals[e->idx]->v;
	if (out_type)
		*out_type = (wasm_valtype)inst->globals[e->idx]->type;
	return 0;
}

const wasm_module *wasm_instance_module(const wasm_instance *inst)
{
	return inst->m;
}

const char *wasm_instance_errmsg(const wasm_instance *inst)
{
	return inst->errmsg;
}

int wasm_instance_exit_code(const wasm_instance *inst)
{
	return inst->exit_code;
}

void wasm_instance_set_userdata(wasm_instance *inst, void *data)
{
	inst->userdata = data;
}

void *wasm_instance_userdata(const wasm_instance *inst)
{
	return inst->userdata;
}

uint64_t wasm_memory_size(const wasm_instance *inst)
{
	return inst->mem ? inst->mem->size : 0;
}

uint8_t *wasm_memory_ptr(wasm_instance *inst, uint64_t addr, uint64_t len)
{
	if (!inst->mem || addr > inst->mem->size || len > inst->mem->size - addr)
		return NULL;
	return inst->mem->data + addr;
}

int wasm_memory_read(const wasm_instance *inst, uint64_t addr, void *dst, size_t len)
{
	if (!inst->mem || addr > inst->mem->size || len > inst->mem->size - addr)
		return -1;
	if (len)
		memcpy(dst, inst->mem->data + addr, len);
	return 0;
}

int wasm_memory_write(wasm_instance *inst, uint64_t addr, const void *src, size_t len)
{
	if (!inst->mem || addr > inst->mem->size || len > inst->mem->size - addr)
		return -1;
	if (len)
		memcpy(inst->mem->data + addr, src, len);
	return 0;
}
