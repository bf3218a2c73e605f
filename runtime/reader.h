/* Bounds-checked reading of the Wasm binary (bytes and LEB128 integers) for the decoder and the
 * function compiler. Errors unwind with longjmp to wasm_module_load, which owns every allocation
 * made so far, so the parser stays linear (the STYLE.md exception for the runtime parser). */
#ifndef RT_READER_H
#define RT_READER_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

struct rt_rd {
	const uint8_t *p, *end; /* current position and end of the current region */
	const uint8_t *start;   /* start of the whole binary, for offsets in messages */
	jmp_buf jb;
	char *err;
	size_t errlen;
	const char *section; /* name of the section being read, or NULL */
	int64_t func;        /* function index being compiled, or -1 */
};

/* Formats "what and where" into r->err and unwinds to the setjmp in wasm_module_load. */
_Noreturn void rt__fail(struct rt_rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

uint32_t rt__rd_u32_slow(struct rt_rd *r);
int32_t rt__rd_s32(struct rt_rd *r);
int64_t rt__rd_s33(struct rt_rd *r);
int64_t rt__rd_s64(struct rt_rd *r);

static inline uint8_t rt__rd_u8(struct rt_rd *r)
{
	if (r->p >= r->end)
		rt__fail(r, "unexpected end");
	return *r->p++;
}

static inline uint32_t rt__rd_u32(struct rt_rd *r)
{
	if (r->p < r->end && *r->p < 0x80)
		return *r->p++;
	return rt__rd_u32_slow(r);
}

#endif
