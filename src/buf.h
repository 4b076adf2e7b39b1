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
/* Numbers in decimal without printf: the journal's hot path formats several per record. */
void buf_put_u64(struct buf *b, unsigned long long v);
void buf_put_i64(struct buf *b, long long v);
/* v in exactly width digits (at most 20), zero-padded on the left; digits beyond width are
 * dropped from the left (v mod 10^width), as a fixed-format field wants. */
void buf_put_u64_padded(struct buf *b, unsigned long long v, int width);
/* A string literal, its length known at compile time. */
#define buf_put_lit(b, lit) buf_append((b), "" lit, sizeof(lit) - 1)
/* Removes the first n bytes. */
void buf_consume(struct buf *b, size_t n);
const char *buf_str(const struct buf *b);
/* Hands the bytes to the caller (free() them) and leaves the buffer empty. */
char *buf_detach(struct buf *b);

#endif
