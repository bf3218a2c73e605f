/* libFuzzer target over the whole runtime: the CGI response parser on the raw input, decode + validate + compile (wasm_module_load), then,
 * for modules that load, instantiate with WASI and a few host functions under small limits (fuel,
 * memory cap, call depth, output caps) and call every exported function with zero arguments, and
 * `_start` through rt_run_command. Built and run by scripts/fuzz.sh (clang -fsanitize=fuzzer).
 * Any crash, sanitizer report, leak or hang is a bug in the runtime. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/cgi.h"
#include "runtime/handler.h"
#include "runtime/wasi.h"
#include "runtime/wasm.h"

#define FUEL 20000
#define MEM_CAP (8u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The spec suite's "spectest" module (tests/fuzz/spectest.wat, turned into a C array by
 * scripts/fuzz.sh), registered so spec modules that import from it get past linking. The
 * instance lives for the whole process; instances of fuzz inputs may write its memory, table and
 * globals, which only makes later inputs see other (valid) values. */
#include "spectest_wasm.h"

static wasm_imports *imports(void)
{
	static wasm_imports *imp;
	static wasm_module *spec_mod;
	static wasm_instance *spec_inst;
	char err[256];

	if (imp != NULL)
		return imp;
	imp = wasm_imports_create();
	if (imp == NULL || wasi_imports_add(imp) != 0)
		abort();
	spec_mod = wasm_module_load(spectest_wasm, spectest_wasm_len, err, sizeof err);
	if (spec_mod == NULL || wasm_instance_create(spec_mod, NULL, NULL, &spec_inst, err,
						     sizeof err) != WASM_OK ||
	    wasm_imports_add_instance(imp, "spectest", spec_inst) != 0)
		abort();
	return imp;
}

/* Number of parameters and results of a signature string such as "iI->f". */
static int arity(const char *sig, size_t *np, size_t *nr)
{
	const char *arrow = strstr(sig, "->");
	if (arrow == NULL)
		return -1;
	*np = (size_t)(arrow - sig);
	*nr = strlen(arrow + 2);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct cgi_response cr;

	/* The same bytes as a handler's stdout: the parser must reject or accept them cleanly. */
	if (cgi_parse(data, size, &cr, err, sizeof err) == CGI_OK &&
	    (cr.body < data || cr.body + cr.body_len != data + size || cr.status < 100 ||
	     cr.status > 599))
		abort();
	cgi_response_free(&cr);

	wasm_module *m = wasm_module_load(data, size, err, sizeof err);
	if (m == NULL)
		return 0;
	struct wasm_limits lim = {.fuel = FUEL, .max_memory_bytes = MEM_CAP, .max_call_depth = 500};
	struct wasi_ctx ctx;
	wasm_instance *inst = NULL;
	wasi_ctx_init(&ctx, NULL, NULL, (const uint8_t *)"stdin", 5, 4096, 4096);
	if (wasm_instance_create(m, imports(), &lim, &inst, err, sizeof err) == WASM_OK) {
		wasm_instance_set_userdata(inst, &ctx);
		uint32_t n = wasm_module_export_count(m);
		for (uint32_t i = 0; i < n && i < 64; i++) {
			int kind;
			const char *name = wasm_module_export_name(m, i, &kind);
			char sig[64];
			size_t np, nr;
			if (name == NULL || kind != 0 ||
			    wasm_module_export_signature(m, name, sig, sizeof sig) != 0 ||
			    arity(sig, &np, &nr) != 0 || np > 16 || nr > 16)
				continue;
			wasm_value args[16], res[16];
			memset(args, 0, sizeof args);
			wasm_instance_set_limits(inst, &lim); /* fresh fuel per export */
			(void)wasm_instance_invoke(inst, name, args, np, res, nr);
			(void)wasm_instance_errmsg(inst);
		}
		wasm_instance_free(inst);
	}
	wasi_ctx_release(&ctx);

	struct rt_limits rl = {.fuel = FUEL, .max_memory_bytes = MEM_CAP, .max_stdout = 4096,
			       .max_stderr = 4096};
	struct rt_result res;
	rt_run_command(m, NULL, NULL, (const uint8_t *)"x", 1, &rl, &res);
	if (cgi_parse(res.out, res.out_len, &cr, err, sizeof err) == CGI_OK)
		cgi_response_free(&cr);
	rt_result_free(&res);
	wasm_module_free(m);
	return 0;
}
