/*
 * buf: growable byte buffer (see buf.h). Growth doubles so appends are amortised O(1).
 */
#include "buf.h"

#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b)
{
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
}

void buf_fini(struct buf *b)
{
        free(b->data);
        buf_init(b);
}

void buf_clear(struct buf *b)
{
        b->len = 0;
        if (b->data != NULL)
                b->data[0] = '\0';
}

void buf_reserve(struct buf *b, size_t extra)
{
        size_t need = b->len + extra + 1;
        size_t cap;

        if (need <= b->cap)
                return;
        cap = b->cap ? b->cap : 64;
        while (cap < need)
                cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
}

void buf_append(struct buf *b, const void *p, size_t n)
{
        buf_reserve(b, n);
        if (n > 0)
                memcpy(b->data + b->len, p, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
        buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
        buf_append(b, &c, 1);
}

void buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
        va_list ap2;
        int n;

        va_copy(ap2, ap);
        buf_reserve(b, 64);
        n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        if (n >= 0 && (size_t)n >= b->cap - b->len) {
                buf_reserve(b, (size_t)n);
                n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
        }
        va_end(ap2);
        if (n > 0)
                b->len += (size_t)n;
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
}

void buf_consume(struct buf *b, size_t n)
{
        if (n >= b->len) {
                buf_clear(b);
                return;
        }
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
        b->data[b->len] = '\0';
}

const char *buf_str(const struct buf *b)
{
        return b->data != NULL ? b->data : "";
}

char *buf_detach(struct buf *b)
{
        char *p = b->data != NULL ? b->data : xstrdup("");
        buf_init(b);
        return p;
}
