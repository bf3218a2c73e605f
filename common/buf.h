/* common/buf.h: a growable byte buffer. The buffer owns `data`; buf_free releases it. */
#ifndef COMMON_BUF_H
#define COMMON_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* always NUL-terminated when len > 0 or after buf_reserve */
	size_t len;
	size_t cap;
};

/* Each returns false (buffer unchanged) when memory runs out. */
bool buf_reserve(struct buf *b, size_t extra);
bool buf_append(struct buf *b, const void *p, size_t n);
bool buf_puts(struct buf *b, const char *s);
bool buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free() them); the buffer is left empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
