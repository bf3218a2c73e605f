/* Unit tests of runtime/wasi.c: each WASI preview1 call made directly (through the re-exports
 * of tests/guests/wasi_calls.wat, which also imports the whole preview1 set), with good and bad
 * pointers, closed and unknown descriptors, output caps and proc_exit. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/wasi.h"
#include "runtime/wasm.h"
#include "tests/lib/th.h"

static wasm_module *mod;

/* One instance of wasi_calls.wasm with a WASI context; freed by fx_end. */
struct fx {
	wasm_instance *inst;
	struct wasi_ctx ctx;
};

static void load_module(void)
{
	size_t len;
	char *bytes = th_read_file(th_guest("wasi_calls.wasm"), &len);
	char err[256];

	ck_assert_msg(bytes != NULL, "build the guests first (make guests)");
	mod = wasm_module_load((const uint8_t *)bytes, len, err, sizeof err);
	ck_assert_msg(mod != NULL, "load: %s", err);
	free(bytes);
}

static void unload_module(void)
{
	wasm_module_free(mod);
	mod = NULL;
}

static void fx_begin(struct fx *f, const char *const *argv, const char *const *envp,
		     const char *in, size_t max_out, size_t max_err)
{
	char err[256];
	const wasm_imports *imp = wasi_imports_shared();

	ck_assert_ptr_nonnull(imp);
	wasi_ctx_init(&f->ctx, argv, envp, (const uint8_t *)in, in ? strlen(in) : 0, max_out,
		      max_err);
	ck_assert_int_eq(wasm_instance_create(mod, imp, NULL, &f->inst, err, sizeof err), WASM_OK);
	wasm_instance_set_userdata(f->inst, &f->ctx);
}

static void fx_end(struct fx *f)
{
	wasm_instance_free(f->inst);
	wasi_ctx_release(&f->ctx);
}

/* Calls an i32-returning export with i32 arguments; returns the WASI errno. */
static uint32_t call(struct fx *f, const char *name, int n, uint32_t a, uint32_t b, uint32_t c,
		     uint32_t d)
{
	wasm_value args[4] = {{.i32 = a}, {.i32 = b}, {.i32 = c}, {.i32 = d}}, r = {0};
	wasm_trap t = wasm_instance_invoke(f->inst, name, args, (size_t)n, &r, 1);

	ck_assert_msg(t == WASM_OK, "%s trapped: %s", name, wasm_instance_errmsg(f->inst));
	return r.i32;
}

static uint32_t rd32(struct fx *f, uint32_t addr)
{
	uint8_t b[4];
	ck_assert_int_eq(wasm_memory_read(f->inst, addr, b, 4), 0);
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(struct fx *f, uint32_t addr)
{
	return (uint64_t)rd32(f, addr) | (uint64_t)rd32(f, addr + 4) << 32;
}

static void wr32(struct fx *f, uint32_t addr, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
	ck_assert_int_eq(wasm_memory_write(f->inst, addr, b, 4), 0);
}

/* Puts an iovec array at `at` describing the given (addr, len) pairs. */
static void iovecs(struct fx *f, uint32_t at, int n, const uint32_t *pairs)
{
	for (int i = 0; i < n; i++) {
		wr32(f, at + 8 * (uint32_t)i, pairs[2 * i]);
		wr32(f, at + 8 * (uint32_t)i + 4, pairs[2 * i + 1]);
	}
}

START_TEST(fd_write_gathers_iovecs)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	ck_assert_int_eq(wasm_memory_write(f.inst, 1000, "Hello, ", 7), 0);
	ck_assert_int_eq(wasm_memory_write(f.inst, 2000, "world!\n", 7), 0);
	const uint32_t v[] = {1000, 7, 3000, 0, 2000, 7};
	iovecs(&f, 100, 3, v);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 100, 3, 200), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 200), 14);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 2, 100, 1, 200), WASI_ESUCCESS);
	ck_assert_uint_eq(f.ctx.out.len, 14);
	ck_assert(memcmp(f.ctx.out.data, "Hello, world!\n", 14) == 0);
	ck_assert_uint_eq(f.ctx.err.len, 7);
	size_t n;
	uint8_t *o = wasi_ctx_take_output(&f.ctx, 1, &n);
	ck_assert_uint_eq(n, 14);
	ck_assert_ptr_null(f.ctx.out.data);
	free(o);
	fx_end(&f);
}
END_TEST

START_TEST(fd_write_bad_pointers_and_fds)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	/* A buffer that runs past the end of the 64 KiB memory: EFAULT, nothing written. */
	const uint32_t v[] = {1000, 5, 65530, 10};
	iovecs(&f, 100, 2, v);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 100, 2, 200), WASI_EFAULT);
	ck_assert_uint_eq(f.ctx.out.len, 0);
	/* The iovec array itself out of bounds, and a huge count that would overflow 32 bits. */
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 65532, 1, 200), WASI_EFAULT);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 100, 0x20000000u, 200), WASI_EFAULT);
	/* nwritten pointer out of bounds. */
	const uint32_t ok[] = {1000, 5};
	iovecs(&f, 100, 1, ok);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 100, 1, 0xfffffffeu), WASI_EFAULT);
	/* Not writable or unknown descriptors. */
	ck_assert_uint_eq(call(&f, "fd_write", 4, 0, 100, 1, 200), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 3, 100, 1, 200), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 0xffffffffu, 100, 1, 200), WASI_EBADF);
	/* After fd_close(1), stdout is gone; closing it twice is EBADF. */
	ck_assert_uint_eq(call(&f, "fd_close", 1, 1, 0, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(call(&f, "fd_close", 1, 1, 0, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_write", 4, 1, 100, 1, 200), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_close", 1, 7, 0, 0, 0), WASI_EBADF);
	fx_end(&f);
}
END_TEST

START_TEST(stdout_cap_stops_the_guest)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, NULL, 10, 4);
	const uint32_t v[] = {1000, 16};
	iovecs(&f, 100, 1, v);
	/* stderr over its cap: the excess is dropped, the guest sees a full write. */
	ck_assert_uint_eq(call(&f, "fd_write", 4, 2, 100, 1, 200), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 200), 16);
	ck_assert_uint_eq(f.ctx.err.len, 4);
	ck_assert(f.ctx.err.overflow);
	/* stdout over its cap: kept up to the cap, then a trap. */
	wasm_value args[4] = {{.i32 = 1}, {.i32 = 100}, {.i32 = 1}, {.i32 = 200}}, r;
	ck_assert_int_eq(wasm_instance_invoke(f.inst, "fd_write", args, 4, &r, 1), WASM_TRAP_HOST);
	ck_assert(strstr(wasm_instance_errmsg(f.inst), "stdout limit") != NULL);
	ck_assert_uint_eq(f.ctx.out.len, 10);
	ck_assert(f.ctx.out.overflow);
	fx_end(&f);
}
END_TEST

START_TEST(fd_read_stdin)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, "hello world", 0, 0);
	const uint32_t v[] = {1000, 4, 2000, 0, 3000, 100};
	iovecs(&f, 100, 3, v);
	ck_assert_uint_eq(call(&f, "fd_read", 4, 0, 100, 3, 200), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 200), 11);
	char got[8] = "";
	ck_assert_int_eq(wasm_memory_read(f.inst, 1000, got, 4), 0);
	ck_assert(memcmp(got, "hell", 4) == 0);
	ck_assert_int_eq(wasm_memory_read(f.inst, 3000, got, 7), 0);
	ck_assert(memcmp(got, "o world", 7) == 0);
	/* End of input: 0 bytes, success. */
	ck_assert_uint_eq(call(&f, "fd_read", 4, 0, 100, 3, 200), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 200), 0);
	/* Only fd 0 reads; bad buffers fault. */
	ck_assert_uint_eq(call(&f, "fd_read", 4, 1, 100, 3, 200), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_read", 4, 9, 100, 3, 200), WASI_EBADF);
	const uint32_t bad[] = {65535, 2};
	iovecs(&f, 100, 1, bad);
	ck_assert_uint_eq(call(&f, "fd_read", 4, 0, 100, 1, 200), WASI_EFAULT);
	fx_end(&f);
}
END_TEST

START_TEST(args_and_environ_layout)
{
	const char *argv[] = {"prog", "", "two words", NULL};
	const char *envp[] = {"A=1", "PATH_INFO=/x", NULL};
	struct fx f;
	char s[32];

	fx_begin(&f, argv, envp, NULL, 0, 0);
	ck_assert_uint_eq(call(&f, "args_sizes_get", 2, 100, 104, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 100), 3);
	ck_assert_uint_eq(rd32(&f, 104), 5 + 1 + 10);
	ck_assert_uint_eq(call(&f, "args_get", 2, 200, 300, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 200), 300);
	ck_assert_uint_eq(rd32(&f, 204), 305);
	ck_assert_uint_eq(rd32(&f, 208), 306);
	ck_assert_int_eq(wasm_memory_read(f.inst, 300, s, 16), 0);
	ck_assert(memcmp(s, "prog\0\0two words\0", 16) == 0);
	ck_assert_uint_eq(call(&f, "environ_sizes_get", 2, 100, 104, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 100), 2);
	ck_assert_uint_eq(rd32(&f, 104), 4 + 13);
	ck_assert_uint_eq(call(&f, "environ_get", 2, 400, 500, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 404), 504);
	ck_assert_int_eq(wasm_memory_read(f.inst, 504, s, 13), 0);
	ck_assert_str_eq(s, "PATH_INFO=/x");
	/* Pointers past the end of memory. */
	ck_assert_uint_eq(call(&f, "args_get", 2, 65534, 300, 0, 0), WASI_EFAULT);
	ck_assert_uint_eq(call(&f, "environ_get", 2, 400, 65530, 0, 0), WASI_EFAULT);
	ck_assert_uint_eq(call(&f, "environ_sizes_get", 2, 65534, 104, 0, 0), WASI_EFAULT);
	fx_end(&f);

	/* No arguments, no environment. */
	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	ck_assert_uint_eq(call(&f, "environ_sizes_get", 2, 100, 104, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(rd32(&f, 100), 0);
	ck_assert_uint_eq(rd32(&f, 104), 0);
	ck_assert_uint_eq(call(&f, "args_get", 2, 65536, 65536, 0, 0), WASI_ESUCCESS);
	fx_end(&f);
}
END_TEST

START_TEST(clocks_and_random)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 1, 100, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 1, 108, 0, 0), WASI_ESUCCESS);
	ck_assert(rd64(&f, 108) >= rd64(&f, 100));
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 0, 100, 0, 0), WASI_ESUCCESS);
	ck_assert(rd64(&f, 100) > 1577836800ull * 1000000000ull); /* after 2020 */
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 2, 100, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 99, 100, 0, 0), WASI_EINVAL);
	ck_assert_uint_eq(call(&f, "clock_time_get", 2, 1, 65530, 0, 0), WASI_EFAULT);
	ck_assert_uint_eq(call(&f, "clock_res_get", 2, 1, 100, 0, 0), WASI_ESUCCESS);
	ck_assert(rd64(&f, 100) > 0 && rd64(&f, 100) <= 1000000000ull);
	ck_assert_uint_eq(call(&f, "clock_res_get", 2, 42, 100, 0, 0), WASI_EINVAL);

	uint8_t a[64], b[64];
	ck_assert_uint_eq(call(&f, "random_get", 2, 1000, 64, 0, 0), WASI_ESUCCESS);
	ck_assert_int_eq(wasm_memory_read(f.inst, 1000, a, 64), 0);
	ck_assert_uint_eq(call(&f, "random_get", 2, 1000, 64, 0, 0), WASI_ESUCCESS);
	ck_assert_int_eq(wasm_memory_read(f.inst, 1000, b, 64), 0);
	ck_assert(memcmp(a, b, 64) != 0);
	ck_assert_uint_eq(call(&f, "random_get", 2, 65500, 64, 0, 0), WASI_EFAULT);
	/* Zero bytes touch nothing, wherever they are. */
	ck_assert_uint_eq(call(&f, "random_get", 2, 70000, 0, 0, 0), WASI_ESUCCESS);
	fx_end(&f);
}
END_TEST

START_TEST(stdio_status_and_unsupported_calls)
{
	struct fx f;

	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	ck_assert_uint_eq(call(&f, "fd_fdstat_get", 2, 1, 100, 0, 0), WASI_ESUCCESS);
	uint8_t st[24];
	ck_assert_int_eq(wasm_memory_read(f.inst, 100, st, 24), 0);
	ck_assert_uint_eq(st[0], 0);                  /* filetype unknown: not a tty */
	ck_assert(rd64(&f, 108) & (1ull << 6));       /* fd_write right */
	ck_assert(!(rd64(&f, 108) & (1ull << 2)));    /* no fd_seek right */
	ck_assert_uint_eq(call(&f, "fd_fdstat_get", 2, 0, 100, 0, 0), WASI_ESUCCESS);
	ck_assert(rd64(&f, 108) & (1ull << 1));       /* fd_read right */
	ck_assert_uint_eq(call(&f, "fd_fdstat_get", 2, 3, 100, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_fdstat_get", 2, 1, 65520, 0, 0), WASI_EFAULT);
	ck_assert_uint_eq(call(&f, "fd_filestat_get", 2, 2, 100, 0, 0), WASI_ESUCCESS);
	ck_assert_uint_eq(call(&f, "fd_filestat_get", 2, 5, 100, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_seek", 2, 1, 100, 0, 0), WASI_ESPIPE);
	ck_assert_uint_eq(call(&f, "fd_seek", 2, 4, 100, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "fd_tell", 2, 0, 100, 0, 0), WASI_ESPIPE);
	/* No preopened directories: the scan from fd 3 ends at once; no files, no sockets. */
	ck_assert_uint_eq(call(&f, "fd_prestat_get", 2, 3, 100, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "path_open", 1, 3, 0, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "sock_recv", 1, 3, 0, 0, 0), WASI_EBADF);
	ck_assert_uint_eq(call(&f, "sock_recv", 1, 0, 0, 0, 0), WASI_ENOSYS);
	ck_assert_uint_eq(call(&f, "fd_sync", 1, 1, 0, 0, 0), WASI_ENOSYS);
	ck_assert_uint_eq(call(&f, "poll_oneoff", 0, 0, 0, 0, 0), WASI_ENOSYS);
	ck_assert_uint_eq(call(&f, "sched_yield", 0, 0, 0, 0, 0), WASI_ESUCCESS);
	fx_end(&f);
}
END_TEST

START_TEST(proc_exit_stops_with_code)
{
	struct fx f;
	wasm_value arg = {.i32 = 42};

	fx_begin(&f, NULL, NULL, NULL, 0, 0);
	ck_assert_int_eq(wasm_instance_invoke(f.inst, "proc_exit", &arg, 1, NULL, 0),
			 WASM_TRAP_EXIT);
	ck_assert_int_eq(wasm_instance_exit_code(f.inst), 42);
	ck_assert(f.ctx.exited);
	ck_assert_int_eq(f.ctx.exit_code, 42);
	fx_end(&f);
}
END_TEST

START_TEST(no_context_means_no_stdio)
{
	char err[256];
	wasm_instance *inst;
	wasm_value args[4] = {{.i32 = 1}, {.i32 = 100}, {.i32 = 0}, {.i32 = 200}}, r;

	ck_assert_int_eq(wasm_instance_create(mod, wasi_imports_shared(), NULL, &inst, err,
					      sizeof err),
			 WASM_OK);
	ck_assert_int_eq(wasm_instance_invoke(inst, "fd_write", args, 4, &r, 1), WASM_OK);
	ck_assert_uint_eq(r.i32, WASI_EBADF);
	args[0].i32 = 100;
	args[1].i32 = 104;
	ck_assert_int_eq(wasm_instance_invoke(inst, "args_sizes_get", args, 2, &r, 1), WASM_OK);
	ck_assert_uint_eq(r.i32, WASI_ESUCCESS);
	wasm_instance_free(inst);
}
END_TEST

START_TEST(own_import_set)
{
	wasm_imports *imp = wasm_imports_create();
	char err[256];
	wasm_instance *inst;

	ck_assert_ptr_nonnull(imp);
	/* Without WASI the module cannot link... */
	ck_assert_int_eq(wasm_instance_create(mod, imp, NULL, &inst, err, sizeof err),
			 WASM_TRAP_LINK);
	ck_assert_ptr_null(inst);
	/* ...with it, it can. */
	ck_assert_int_eq(wasi_imports_add(imp), 0);
	ck_assert_int_eq(wasm_instance_create(mod, imp, NULL, &inst, err, sizeof err), WASM_OK);
	wasm_instance_free(inst);
	wasm_imports_free(imp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("wasi");
	TCase *tc = tcase_create("wasi");

	tcase_add_unchecked_fixture(tc, load_module, unload_module);
	tcase_add_test(tc, fd_write_gathers_iovecs);
	tcase_add_test(tc, fd_write_bad_pointers_and_fds);
	tcase_add_test(tc, stdout_cap_stops_the_guest);
	tcase_add_test(tc, fd_read_stdin);
	tcase_add_test(tc, args_and_environ_layout);
	tcase_add_test(tc, clocks_and_random);
	tcase_add_test(tc, stdio_status_and_unsupported_calls);
	tcase_add_test(tc, proc_exit_stops_with_code);
	tcase_add_test(tc, no_context_means_no_stdio);
	tcase_add_test(tc, own_import_set);
	suite_add_tcase(s, tc);
	return th_main(s);
}
