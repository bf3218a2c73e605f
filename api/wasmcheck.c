/* api/wasmcheck.c: an uploaded module must be valid WebAssembly before it is stored. The
 * structure pass here gives precise messages for the common mistakes (not a Wasm file at all,
 * a truncated upload, a wrong version); the runtime's loader then applies every rule of the
 * spec, so what is stored is exactly what the agents can run. */
#include "api/wasmcheck.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/api_int.h"
#include "runtime/wasm.h"

static const char *const section_names[] = {
	"custom", "type", "import", "function", "table", "memory", "global",
	"export", "start", "element", "code", "data", "data count",
};

/* Reads an unsigned LEB128 of at most 32 bits at *pos; false when malformed or truncated. */
static bool read_u32(const uint8_t *b, size_t len, size_t *pos, uint32_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 35; shift += 7) {
		if (*pos >= len)
			return false;
		uint8_t byte = b[(*pos)++];
		v |= (uint64_t)(byte & 0x7f) << shift;
		if ((byte & 0x80) == 0) {
			if (v > UINT32_MAX)
				return false;
			*out = (uint32_t)v;
			return true;
		}
	}
	return false;
}

/* The position of a section id in the order the spec requires (data count sits between
 * element and code). */
static int order_of(uint8_t id)
{
	static const int order[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
	return order[id];
}

static int structure(const uint8_t *b, size_t len, char *err, size_t errlen)
{
	static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
	size_t pos = 8;
	int last = 0;

	if (len < 8 || memcmp(b, magic, 4) != 0) {
		snprintf(err, errlen, "not a WebAssembly binary: it must start with \\0asm (got %zu bytes)", len);
		return -1;
	}
	if (b[4] != 1 || b[5] != 0 || b[6] != 0 || b[7] != 0) {
		snprintf(err, errlen, "unsupported WebAssembly binary version %u (only version 1 is supported)",
			 (unsigned)(b[4] | b[5] << 8 | b[6] << 16 | (unsigned)b[7] << 24));
		return -1;
	}
	while (pos < len) {
		size_t at = pos;
		uint8_t id = b[pos++];
		uint32_t size;
		if (id > 12) {
			snprintf(err, errlen, "unknown section id %u at byte %zu", id, at);
			return -1;
		}
		if (!read_u32(b, len, &pos, &size)) {
			snprintf(err, errlen, "section %u (%s) at byte %zu: malformed or truncated size",
				 id, section_names[id], at);
			return -1;
		}
		if (size > len - pos) {
			snprintf(err, errlen, "section %u (%s) at byte %zu: size %u runs past the end of the "
				 "module (%zu bytes left; truncated upload?)", id, section_names[id], at, size,
				 len - pos);
			return -1;
		}
		if (id == 0) {
			size_t p = pos;
			uint32_t nlen;
			if (!read_u32(b, pos + size, &p, &nlen) || nlen > pos + size - p ||
			    !api__utf8_valid(b + p, nlen)) {
				snprintf(err, errlen, "custom section at byte %zu: malformed name", at);
				return -1;
			}
		} else {
			if (order_of(id) <= last) {
				snprintf(err, errlen, "section %u (%s) at byte %zu: out of order or repeated",
					 id, section_names[id], at);
				return -1;
			}
			last = order_of(id);
		}
		pos += size;
	}
	return 0;
}

int api__wasm_check(const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
	char rerr[512];
	wasm_module *m;

	if (structure(bytes, len, err, errlen) < 0)
		return -1;
	rerr[0] = '\0';
	m = wasm_module_load(bytes, len, rerr, sizeof rerr);
	if (m == NULL) {
		snprintf(err, errlen, "invalid module: %s", rerr[0] ? rerr : "rejected by the validator");
		return -1;
	}
	wasm_module_free(m);
	return 0;
}
