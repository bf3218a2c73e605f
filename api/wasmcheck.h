/* api/wasmcheck.h: validation of an uploaded module before it is stored. */
#ifndef API_WASMCHECK_H
#define API_WASMCHECK_H

#include <stddef.h>
#include <stdint.h>

/* Checks the binary's header and section structure (magic, version, each section's id, size
 * and order, custom section names), then decodes, validates and compiles it fully with the
 * runtime (wasm_module_load). Returns 0, or -1 with a reason a person can act on in err
 * ("section 10 (code) at byte 1234: ..."). Thread-safe. */
int api__wasm_check(const uint8_t *bytes, size_t len, char *err, size_t errlen);

#endif
