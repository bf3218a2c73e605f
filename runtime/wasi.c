/* runtime/wasi.c: WASI preview1 host functions over a wasi_ctx (see wasi.h for the capability
 * set). Guest pointers are checked with wasm_memory_ptr before every access; a range outside
 * the guest's memory answers EFAULT and never touches host memory. All values in guest memory
 * are little-endian (WASI ABI), written byte by byte so the host's byte order does not matter. */
#include "runtime/wasi.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MOD "wasi_snapshot_preview1"

/* preview1 constants (witx: typenames.witx). */
#define FILETYPE_UNKNOWN 0
#define CLOCK_REALTIME_ID 0
#define CLOCK_MONOTONIC_ID 1
#define CLOCK_PROCESS_CPUTIME_ID_ 2
#define CLOCK_THREAD_CPUTIME_ID_ 3
#define RIGHT_FD_READ (1ull << 1)
#define RIGHT_FD_WRITE (1ull << 6)
#define RIGHT_POLL_FD_READWRITE (1ull << 27)
#define FIRST_CAP 4096 /* first capture allocation: a small handler's whole response */

static struct wasi_ctx *ctx_of(wasm_instance *inst);
static wasm_trap ret(wasm_value *results, uint32_t errnum);

/* ------------------------------------------------------------------------------------------ */
/* Context                                                                                    */

void wasi_ctx_init(struct wasi_ctx *ctx, const char *const *argv, const char *const *envp,
		   const uint8_t *in, size_t in_len, size_t max_out, size_t max_err)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->argv = argv;
	ctx->envp = envp;
	ctx->in = in;
	ctx->in_len = in ? in_len : 0;
	ctx->out.max = max_out;
	ctx->err.max = max_err;
	ctx->stdout_overflow_traps = true;
}

void wasi_ctx_release(struct wasi_ctx *ctx)
{
	if (ctx == NULL)
		return;
	free(ctx->out.data);
	free(ctx->err.data);
	ctx->out.data = ctx->err.data = NULL;
	ctx->out.len = ctx->out.cap = ctx->err.len = ctx->err.cap = 0;
}

uint8_t *wasi_ctx_take_output(struct wasi_ctx *ctx, int fd, size_t *out_len)
{
	struct wasi_out *o = fd == 2 ? &ctx->err : &ctx->out;
	uint8_t *p = o->data;

	*out_len = o->len;
	o->data = NULL;
	o->len = o->cap = 0;
	return p;
}

static struct wasi_ctx *ctx_of(wasm_instance *inst)
{
	return (struct wasi_ctx *)wasm_instance_userdata(inst);
}

static wasm_trap ret(wasm_value *results, uint32_t errnum)
{
	results[0].i32 = errnum;
	return WASM_OK;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Stores a u32 result at guest address addr; false if out of bounds. */
static bool store_u32(wasm_instance *inst, uint32_t addr, uint32_t v)
{
	uint8_t *p = wasm_memory_ptr(inst, addr, 4);
	if (p == NULL)
		return false;
	put_u32(p, v);
	return true;
}

/* ------------------------------------------------------------------------------------------ */
/* args and environ: a NULL-terminated string list laid out as WASI wants it                  */

static void list_sizes(const char *const *list, uint32_t *count, uint64_t *bytes)
{
	*count = 0;
	*bytes = 0;
	if (list == NULL)
		return;
	for (; *list; list++) {
		(*count)++;
		*bytes += strlen(*list) + 1;
	}
}

static wasm_trap list_sizes_get(wasm_instance *inst, const char *const *list,
				const wasm_value *args, wasm_value *results)
{
	uint32_t count;
	uint64_t bytes;

	list_sizes(list, &count, &bytes);
	if (bytes > UINT32_MAX)
		return ret(results, WASI_E2BIG);
	if (!store_u32(inst, args[0].i32, count) || !store_u32(inst, args[1].i32, (uint32_t)bytes))
		return ret(results, WASI_EFAULT);
	return ret(results, WASI_ESUCCESS);
}

/* Writes the pointer array at args[0] and the strings at args[1] (sizes as list_sizes_get). */
static wasm_trap list_get(wasm_instance *inst, const char *const *list, const wasm_value *args,
			  wasm_value *results)
{
	uint32_t count, vec = args[0].i32, buf = args[1].i32;
	uint64_t bytes;

	list_sizes(list, &count, &bytes);
	if (bytes > UINT32_MAX)
		return ret(results, WASI_E2BIG);
	uint8_t *pv = wasm_memory_ptr(inst, vec, (uint64_t)count * 4);
	uint8_t *pb = wasm_memory_ptr(inst, buf, bytes);
	if ((count && pv == NULL) || (bytes && pb == NULL))
		return ret(results, WASI_EFAULT);
	uint64_t off = 0;
	for (uint32_t i = 0; i < count; i++) {
		size_t n = strlen(list[i]) + 1;
		put_u32(pv + 4 * (uint64_t)i, (uint32_t)(buf + off));
		memcpy(pb + off, list[i], n);
		off += n;
	}
	return ret(results, WASI_ESUCCESS);
}

static wasm_trap h_args_sizes_get(wasm_instance *inst, void *user, const wasm_value *args,
				  wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	return list_sizes_get(inst, c ? c->argv : NULL, args, results);
}

static wasm_trap h_args_get(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	return list_get(inst, c ? c->argv : NULL, args, results);
}

static wasm_trap h_environ_sizes_get(wasm_instance *inst, void *user, const wasm_value *args,
				     wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	return list_sizes_get(inst, c ? c->envp : NULL, args, results);
}

static wasm_trap h_environ_get(wasm_instance *inst, void *user, const wasm_value *args,
			       wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	return list_get(inst, c ? c->envp : NULL, args, results);
}

/* ------------------------------------------------------------------------------------------ */
/* Clocks and random                                                                          */

/* Process and thread CPU clocks both read the calling thread's CPU time: the host process runs
 * many tenants, and its total CPU time is none of a guest's business. */
static bool host_clock(uint32_t id, clockid_t *out)
{
	switch (id) {
	case CLOCK_REALTIME_ID: *out = CLOCK_REALTIME; return true;
	case CLOCK_MONOTONIC_ID: *out = CLOCK_MONOTONIC; return true;
	case CLOCK_PROCESS_CPUTIME_ID_:
	case CLOCK_THREAD_CPUTIME_ID_: *out = CLOCK_THREAD_CPUTIME_ID; return true;
	default: return false;
	}
}

static wasm_trap h_clock_res_get(wasm_instance *inst, void *user, const wasm_value *args,
				 wasm_value *results)
{
	(void)user;
	clockid_t id;
	struct timespec ts;

	if (!host_clock(args[0].i32, &id))
		return ret(results, WASI_EINVAL);
	if (clock_getres(id, &ts) != 0)
		return ret(results, WASI_EINVAL);
	uint8_t *p = wasm_memory_ptr(inst, args[1].i32, 8);
	if (p == NULL)
		return ret(results, WASI_EFAULT);
	put_u64(p, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	return ret(results, WASI_ESUCCESS);
}

/* clock_time_get(id, precision, *time): precision is a hint we may ignore. */
static wasm_trap h_clock_time_get(wasm_instance *inst, void *user, const wasm_value *args,
				  wasm_value *results)
{
	(void)user;
	clockid_t id;
	struct timespec ts;

	if (!host_clock(args[0].i32, &id))
		return ret(results, WASI_EINVAL);
	if (clock_gettime(id, &ts) != 0)
		return ret(results, WASI_EINVAL);
	uint8_t *p = wasm_memory_ptr(inst, args[2].i32, 8);
	if (p == NULL)
		return ret(results, WASI_EFAULT);
	put_u64(p, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
	return ret(results, WASI_ESUCCESS);
}

static wasm_trap h_random_get(wasm_instance *inst, void *user, const wasm_value *args,
			      wasm_value *results)
{
	(void)user;
	uint32_t len = args[1].i32;
	uint8_t *p = wasm_memory_ptr(inst, args[0].i32, len);

	if (p == NULL && len != 0)
		return ret(results, WASI_EFAULT);
	size_t done = 0;
	while (done < len) {
		ssize_t n = getrandom(p + done, len - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ret(results, WASI_EIO);
		}
		done += (size_t)n;
	}
	return ret(results, WASI_ESUCCESS);
}

/* ------------------------------------------------------------------------------------------ */
/* stdio                                                                                      */

/* True if fd is one of stdio and still open in this context. */
static bool stdio_open(const struct wasi_ctx *c, uint32_t fd)
{
	return c != NULL && fd <= 2 && !c->closed[fd];
}

/* Appends n bytes of fd's output within its limit (to the buffer, or through write_fn).
 * Returns how many bytes were taken (the rest sets overflow); -1 when the host is out of memory,
 * -2 when write_fn failed. */
static int64_t out_append(struct wasi_ctx *c, int fd, const uint8_t *p, size_t n)
{
	struct wasi_out *o = fd == 1 ? &c->out : &c->err;
	size_t room = o->max ? (o->len < o->max ? o->max - o->len : 0) : SIZE_MAX - o->len;
	size_t take = n < room ? n : room;

	if (take < n)
		o->overflow = true;
	if (take == 0)
		return 0;
	if (c->write_fn != NULL) {
		if (c->write_fn(c->io_arg, fd, p, take) != 0)
			return -2;
		o->len += take;
		return (int64_t)take;
	}
	if (o->len + take > o->cap) {
		size_t cap = o->cap ? o->cap : FIRST_CAP;
		while (cap < o->len + take)
			cap = cap > SIZE_MAX / 2 ? o->len + take : cap * 2;
		if (o->max && cap > o->max)
			cap = o->max;
		uint8_t *d = realloc(o->data, cap);
		if (d == NULL)
			return -1;
		o->data = d;
		o->cap = cap;
	}
	memcpy(o->data + o->len, p, take);
	o->len += take;
	return (int64_t)take;
}

/* fd_write(fd, iovs, iovs_len, *nwritten) */
static wasm_trap h_fd_write(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	uint32_t fd = args[0].i32, iovs = args[1].i32, niov = args[2].i32;

	if (!stdio_open(c, fd) || fd == 0)
		return ret(results, WASI_EBADF);
	const uint8_t *vec = wasm_memory_ptr(inst, iovs, (uint64_t)niov * 8);
	if (vec == NULL && niov != 0)
		return ret(results, WASI_EFAULT);
	/* Check every buffer before writing any, so a bad iovec writes nothing (EFAULT). */
	uint64_t total = 0;
	for (uint32_t i = 0; i < niov; i++) {
		uint32_t b = get_u32(vec + 8 * (uint64_t)i), n = get_u32(vec + 8 * (uint64_t)i + 4);
		if (n != 0 && wasm_memory_ptr(inst, b, n) == NULL)
			return ret(results, WASI_EFAULT);
		total += n;
	}
	if (total > UINT32_MAX)
		return ret(results, WASI_EINVAL);
	for (uint32_t i = 0; i < niov; i++) {
		uint32_t b = get_u32(vec + 8 * (uint64_t)i), n = get_u32(vec + 8 * (uint64_t)i + 4);
		if (n == 0)
			continue;
		int64_t put = out_append(c, (int)fd, wasm_memory_ptr(inst, b, n), n);
		if (put == -1)
			return wasm_instance_trapf(inst, WASM_TRAP_NOMEM,
						   "out of memory capturing fd %u", fd);
		if (put == -2)
			return ret(results, WASI_EIO);
		if ((uint64_t)put < n && fd == 1 && c->stdout_overflow_traps)
			return wasm_instance_trapf(inst, WASM_TRAP_HOST,
						   "stdout limit of %zu bytes exceeded", c->out.max);
	}
	/* Dropped stderr bytes still count as written: the guest has nothing to retry. */
	if (!store_u32(inst, args[3].i32, (uint32_t)total))
		return ret(results, WASI_EFAULT);
	return ret(results, WASI_ESUCCESS);
}

/* fd_read(fd, iovs, iovs_len, *nread): only stdin, from the buffer the embedder handed us. */
static wasm_trap h_fd_read(wasm_instance *inst, void *user, const wasm_value *args,
			   wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	uint32_t fd = args[0].i32, iovs = args[1].i32, niov = args[2].i32;

	if (!stdio_open(c, fd) || fd != 0)
		return ret(results, WASI_EBADF);
	const uint8_t *vec = wasm_memory_ptr(inst, iovs, (uint64_t)niov * 8);
	if (vec == NULL && niov != 0)
		return ret(results, WASI_EFAULT);
	for (uint32_t i = 0; i < niov; i++) {
		uint32_t b = get_u32(vec + 8 * (uint64_t)i), n = get_u32(vec + 8 * (uint64_t)i + 4);
		if (n != 0 && wasm_memory_ptr(inst, b, n) == NULL)
			return ret(results, WASI_EFAULT);
	}
	uint64_t total = 0;
	if (c->read_fn != NULL) {
		/* Like read(2): one call, fill what the source gives for the first non-empty iovec. */
		for (uint32_t i = 0; i < niov; i++) {
			uint32_t b = get_u32(vec + 8 * (uint64_t)i);
			uint32_t n = get_u32(vec + 8 * (uint64_t)i + 4);
			if (n == 0)
				continue;
			long got = c->read_fn(c->io_arg, wasm_memory_ptr(inst, b, n), n);
			if (got < 0)
				return ret(results, WASI_EIO);
			total = (uint64_t)got > n ? n : (uint64_t)got;
			break;
		}
	}
	for (uint32_t i = 0; i < niov && c->read_fn == NULL && c->in_pos < c->in_len; i++) {
		uint32_t b = get_u32(vec + 8 * (uint64_t)i), n = get_u32(vec + 8 * (uint64_t)i + 4);
		size_t left = c->in_len - c->in_pos, take = n < left ? n : left;
		if (take == 0)
			continue;
		memcpy(wasm_memory_ptr(inst, b, take), c->in + c->in_pos, take);
		c->in_pos += take;
		total += take;
	}
	if (!store_u32(inst, args[3].i32, (uint32_t)total))
		return ret(results, WASI_EFAULT);
	return ret(results, WASI_ESUCCESS);
}

/* fd_fdstat_get(fd, *fdstat): stdio are non-seekable streams of unknown type (like pipes), so
 * wasi-libc buffers stdout fully, as a native program writing to a pipe does. */
static wasm_trap h_fd_fdstat_get(wasm_instance *inst, void *user, const wasm_value *args,
				 wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	uint32_t fd = args[0].i32;

	if (!stdio_open(c, fd))
		return ret(results, WASI_EBADF);
	uint8_t *p = wasm_memory_ptr(inst, args[1].i32, 24);
	if (p == NULL)
		return ret(results, WASI_EFAULT);
	memset(p, 0, 24);
	p[0] = FILETYPE_UNKNOWN;
	put_u16(p + 2, 0); /* fdflags */
	put_u64(p + 8, (fd == 0 ? RIGHT_FD_READ : RIGHT_FD_WRITE) | RIGHT_POLL_FD_READWRITE);
	put_u64(p + 16, 0);
	return ret(results, WASI_ESUCCESS);
}

/* fd_filestat_get(fd, *filestat): a stream with no size and no times. */
static wasm_trap h_fd_filestat_get(wasm_instance *inst, void *user, const wasm_value *args,
				   wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);

	if (!stdio_open(c, args[0].i32))
		return ret(results, WASI_EBADF);
	uint8_t *p = wasm_memory_ptr(inst, args[1].i32, 64);
	if (p == NULL)
		return ret(results, WASI_EFAULT);
	memset(p, 0, 64);
	p[16] = FILETYPE_UNKNOWN;
	return ret(results, WASI_ESUCCESS);
}

static wasm_trap h_fd_close(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)user;
	struct wasi_ctx *c = ctx_of(inst);
	uint32_t fd = args[0].i32;

	if (!stdio_open(c, fd))
		return ret(results, WASI_EBADF);
	c->closed[fd] = true;
	return ret(results, WASI_ESUCCESS);
}

/* fd_seek / fd_tell: stdio are streams, so ESPIPE (as lseek on a pipe). */
static wasm_trap h_fd_spipe(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)user;
	return ret(results, stdio_open(ctx_of(inst), args[0].i32) ? WASI_ESPIPE : WASI_EBADF);
}

/* No preopened directories: the guest's scan of fds 3.. stops at once. */
static wasm_trap h_ebadf(wasm_instance *inst, void *user, const wasm_value *args,
			 wasm_value *results)
{
	(void)inst;
	(void)user;
	(void)args;
	return ret(results, WASI_EBADF);
}

/* Any other call taking a file descriptor first: EBADF unless it is open stdio, then ENOSYS. */
static wasm_trap h_fd_other(wasm_instance *inst, void *user, const wasm_value *args,
			    wasm_value *results)
{
	(void)user;
	return ret(results, stdio_open(ctx_of(inst), args[0].i32) ? WASI_ENOSYS : WASI_EBADF);
}

static wasm_trap h_enosys(wasm_instance *inst, void *user, const wasm_value *args,
			  wasm_value *results)
{
	(void)inst;
	(void)user;
	(void)args;
	return ret(results, WASI_ENOSYS);
}

/* ------------------------------------------------------------------------------------------ */
/* Process                                                                                    */

static wasm_trap h_proc_exit(wasm_instance *inst, void *user, const wasm_value *args,
			     wasm_value *results)
{
	(void)user;
	(void)results;
	struct wasi_ctx *c = ctx_of(inst);
	int code = (int)args[0].i32;

	if (c != NULL) {
		c->exited = true;
		c->exit_code = code;
	}
	return wasm_instance_exit(inst, code);
}

/* sched_yield: a guest has one thread and shares the host thread with nobody; nothing to do. */
static wasm_trap h_sched_yield(wasm_instance *inst, void *user, const wasm_value *args,
			       wasm_value *results)
{
	(void)inst;
	(void)user;
	(void)args;
	return ret(results, WASI_ESUCCESS);
}

/* ------------------------------------------------------------------------------------------ */
/* Registration                                                                               */

struct wasi_fn {
	const char *name;
	const char *sig;
	wasm_host_fn fn;
};

/* Every function of wasi_snapshot_preview1 (witx), with its core signature. */
static const struct wasi_fn wasi_fns[] = {
	{"args_get", "ii->i", h_args_get},
	{"args_sizes_get", "ii->i", h_args_sizes_get},
	{"environ_get", "ii->i", h_environ_get},
	{"environ_sizes_get", "ii->i", h_environ_sizes_get},
	{"clock_res_get", "ii->i", h_clock_res_get},
	{"clock_time_get", "iIi->i", h_clock_time_get},
	{"fd_advise", "iIIi->i", h_fd_other},
	{"fd_allocate", "iII->i", h_fd_other},
	{"fd_close", "i->i", h_fd_close},
	{"fd_datasync", "i->i", h_fd_other},
	{"fd_fdstat_get", "ii->i", h_fd_fdstat_get},
	{"fd_fdstat_set_flags", "ii->i", h_fd_other},
	{"fd_fdstat_set_rights", "iII->i", h_fd_other},
	{"fd_filestat_get", "ii->i", h_fd_filestat_get},
	{"fd_filestat_set_size", "iI->i", h_fd_other},
	{"fd_filestat_set_times", "iIIi->i", h_fd_other},
	{"fd_pread", "iiiIi->i", h_fd_spipe},
	{"fd_prestat_get", "ii->i", h_ebadf},
	{"fd_prestat_dir_name", "iii->i", h_ebadf},
	{"fd_pwrite", "iiiIi->i", h_fd_spipe},
	{"fd_read", "iiii->i", h_fd_read},
	{"fd_readdir", "iiiIi->i", h_fd_other},
	{"fd_renumber", "ii->i", h_fd_other},
	{"fd_seek", "iIii->i", h_fd_spipe},
	{"fd_sync", "i->i", h_fd_other},
	{"fd_tell", "ii->i", h_fd_spipe},
	{"fd_write", "iiii->i", h_fd_write},
	{"path_create_directory", "iii->i", h_ebadf},
	{"path_filestat_get", "iiiii->i", h_ebadf},
	{"path_filestat_set_times", "iiiiIIi->i", h_ebadf},
	{"path_link", "iiiiiii->i", h_ebadf},
	{"path_open", "iiiiiIIii->i", h_ebadf},
	{"path_readlink", "iiiiii->i", h_ebadf},
	{"path_remove_directory", "iii->i", h_ebadf},
	{"path_rename", "iiiiii->i", h_ebadf},
	{"path_symlink", "iiiii->i", h_ebadf},
	{"path_unlink_file", "iii->i", h_ebadf},
	{"poll_oneoff", "iiii->i", h_enosys},
	{"proc_exit", "i->", h_proc_exit},
	{"proc_raise", "i->i", h_enosys},
	{"random_get", "ii->i", h_random_get},
	{"sched_yield", "->i", h_sched_yield},
	{"sock_accept", "iii->i", h_fd_other},
	{"sock_recv", "iiiiii->i", h_fd_other},
	{"sock_send", "iiiii->i", h_fd_other},
	{"sock_shutdown", "ii->i", h_fd_other},
};

int wasi_imports_add(wasm_imports *imp)
{
	for (size_t i = 0; i < sizeof wasi_fns / sizeof wasi_fns[0]; i++)
		if (wasm_imports_add_func(imp, MOD, wasi_fns[i].name, wasi_fns[i].sig,
					  wasi_fns[i].fn, NULL) != 0)
			return -1;
	return 0;
}

static pthread_once_t shared_once = PTHREAD_ONCE_INIT;
static wasm_imports *shared_imports;

static void shared_build(void)
{
	wasm_imports *imp = wasm_imports_create();

	if (imp != NULL && wasi_imports_add(imp) != 0) {
		wasm_imports_free(imp);
		imp = NULL;
	}
	shared_imports = imp;
}

const wasm_imports *wasi_imports_shared(void)
{
	pthread_once(&shared_once, shared_build);
	return shared_imports;
}
