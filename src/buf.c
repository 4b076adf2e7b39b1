/*
 * buf: growable byte buffer (see buf.h). Growth doubles so appends are amortised O(1).
 */
#include "buf.h"

#include "alloc.h"

#include <stdint.h>
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

void buf_grow(struct buf *b, size_t extra)
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

static const char buf_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";

/* Below 2^32 the divisions by constants are 32-bit multiplies, cheaper than 64-bit ones. */
static char *digits32(char *p, uint32_t v)
{
        while (v >= 100) {
                uint32_t d = (v % 100) * 2;
                v /= 100;
                *--p = buf_pairs[d + 1];
                *--p = buf_pairs[d];
        }
        if (v >= 10) {
                *--p = buf_pairs[v * 2 + 1];
                *--p = buf_pairs[v * 2];
        } else {
                *--p = (char)('0' + v);
        }
        return p;
}

/* Exactly 8 digits of v < 10^8, two 4-digit halves in 32-bit arithmetic. */
static char *digits8(char *p, uint32_t v)
{
        uint32_t hi = v / 10000;
        uint32_t lo = v % 10000;

        memcpy(p - 2, buf_pairs + (lo % 100) * 2, 2);
        memcpy(p - 4, buf_pairs + (lo / 100) * 2, 2);
        memcpy(p - 6, buf_pairs + (hi % 100) * 2, 2);
        memcpy(p - 8, buf_pairs + (hi / 100) * 2, 2);
        return p - 8;
}

/* Writes the decimal digits of v right-aligned ending at end; returns where they start. The
 * journal writes a nanosecond clock (14 digits and more) and a sequence number per record. */
static char *digits(char *end, unsigned long long v)
{
        char *p = end;

        while (v > UINT32_MAX) {
                p = digits8(p, (uint32_t)(v % 100000000ULL));
                v /= 100000000ULL;
        }
        return digits32(p, (uint32_t)v);
}

void buf_put_u64(struct buf *b, unsigned long long v)
{
        char tmp[24];
        char *end = tmp + sizeof tmp;
        char *p = digits(end, v);

        buf_append(b, p, (size_t)(end - p));
}

void buf_put_i64(struct buf *b, long long v)
{
        char tmp[24];
        char *end = tmp + sizeof tmp;
        /* The magnitude as unsigned, so LLONG_MIN does not overflow. */
        char *p = digits(end, v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v);

        if (v < 0)
                *--p = '-';
        buf_append(b, p, (size_t)(end - p));
}

void buf_put_u64_padded(struct buf *b, unsigned long long v, int width)
{
        char tmp[24];
        char *end = tmp + sizeof tmp;
        char *p;

        if (width <= 0)
                return;
        if (width > 20)
                width = 20;
        p = digits(end, v);
        while (end - p < width)
                *--p = '0';
        buf_append(b, end - width, (size_t)width);
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
