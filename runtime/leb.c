/* LEB128 decoding with the spec's bounds (Wasm 2.0 section 5.2.2: at most ceil(N/7) bytes, and
 * the unused bits of the last byte must be zero, or a sign extension for signed integers), plus
 * the error reporter shared by the decoder and compiler. */
#include <stdarg.h>
#include <stdio.h>

#include "runtime/reader.h"

void rt__fail(struct rt_rd *r, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		size_t off = (size_t)(r->p - r->start);
		if (r->section && r->func >= 0)
			snprintf(r->err, r->errlen, "%s (section %s, function %lld, offset 0x%zx)", msg,
				 r->section, (long long)r->func, off);
		else if (r->section)
			snprintf(r->err, r->errlen, "%s (section %s, offset 0x%zx)", msg, r->section, off);
		else
			snprintf(r->err, r->errlen, "%s (offset 0x%zx)", msg, off);
	}
	longjmp(r->jb, 1);
}

/* Reads an unsigned LEB128 of at most `bits` bits. */
static uint64_t rd_uleb(struct rt_rd *r, unsigned bits)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (r->p >= r->end)
			rt__fail(r, "unexpected end of LEB128 integer");
		uint8_t b = *r->p++;
		if (shift + 7 >= bits && shift < bits) {
			/* last permitted byte: no continuation, unused bits zero */
			if (b & 0x80)
				rt__fail(r, "integer representation too long");
			if ((b >> (bits - shift)) != 0)
				rt__fail(r, "integer too large");
			return v | ((uint64_t)b << shift);
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
	}
}

static int64_t rd_sleb(struct rt_rd *r, unsigned bits)
{
	uint64_t v = 0;
	unsigned shift = 0;
	for (;;) {
		if (r->p >= r->end)
			rt__fail(r, "unexpected end of LEB128 integer");
		uint8_t b = *r->p++;
		if (shift + 7 >= bits) {
			if (b & 0x80)
				rt__fail(r, "integer representation too long");
			/* bits [bits-shift-1, 6] of b must all equal the sign bit */
			unsigned used = bits - shift; /* value bits in this byte, 1..7 */
			int sign = (b >> (used - 1)) & 1;
			uint8_t mask = (uint8_t)(0x7f & ~((1u << used) - 1) & 0x7f);
			mask = (uint8_t)(mask | (1u << (used - 1)));
			uint8_t want = sign ? mask : 0;
			if ((b & mask) != want)
				rt__fail(r, "integer too large");
			v |= (uint64_t)(b & 0x7f) << shift;
			shift += 7;
			break;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (v >> (shift - 1)) & 1)
		v |= ~(uint64_t)0 << shift;
	return (int64_t)v;
}

uint32_t rt__rd_u32_slow(struct rt_rd *r)
{
	return (uint32_t)rd_uleb(r, 32);
}

int32_t rt__rd_s32(struct rt_rd *r)
{
	return (int32_t)rd_sleb(r, 32);
}

int64_t rt__rd_s33(struct rt_rd *r)
{
	return rd_sleb(r, 33);
}

int64_t rt__rd_s64(struct rt_rd *r)
{
	return rd_sleb(r, 64);
}
