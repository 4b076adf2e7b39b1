/*
 * buf: a growable byte buffer, always NUL-terminated so its data can be used as a C string
 * when it holds text. Embedded (buf_init/buf_fini), never allocated on its own.
 */
#ifndef CP_BUF_H
#define CP_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

struct buf {
        char *data; /* NULL until the first append; buf_str() never returns NULL */
        size_t len;
        size_t cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
void buf_clear(struct buf *b);
/* Makes room for extra more bytes (and the NUL); the slow path of buf_reserve. */
void buf_grow(struct buf *b, size_t extra);

/* The appends are inline: the journal's record builders make hundreds per request, mostly of a
 * few bytes into a buffer that already has room, where a call costs more than the copy. */
static inline void buf_reserve(struct buf *b, size_t extra)
{
        if (b->len + extra + 1 > b->cap)
                buf_grow(b, extra);
}

static inline void buf_append(struct buf *b, const void *p, size_t n)
{
        buf_reserve(b, n);
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
}

static inline void buf_puts(struct buf *b, const char *s)
{
        buf_append(b, s, strlen(s));
}

static inline void buf_putc(struct buf *b, char c)
{
        buf_reserve(b, 1);
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
}
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
