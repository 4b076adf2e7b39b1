/*
 * buf: a growable byte buffer, always NUL-terminated so its data can be used as a C string
 * when it holds text. Embedded (buf_init/buf_fini), never allocated on its own.
 */
#ifndef CP_BUF_H
#define CP_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
        char *data; /* NULL until the first append; buf_str() never returns NULL */
        size_t len;
        size_t cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
void buf_clear(struct buf *b);
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
const char *buf_str(const struct buf *b);
/* Hands the bytes to the caller (free() them) and leaves the buffer empty. */
char *buf_detach(struct buf *b);

#endif
