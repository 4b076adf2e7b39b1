/*
 * fuzz_sse: any bytes, fed to the SSE parser in pieces whose sizes come from the input itself,
 * give the same events as fed whole, and never crash or read out of bounds.
 */
#include "fuzz.h"

#include "buf.h"
#include "sse.h"

#include <string.h>

/* Every event, serialised as event NUL data NUL, so two runs can be compared. */
static void collect(void *arg, const char *event, const char *data, size_t len)
{
        struct buf *b = arg;

        buf_append(b, event, strlen(event) + 1);
        buf_append(b, data, len);
        buf_putc(b, '\0');
}

static void run(const uint8_t *data, size_t size, size_t step, struct buf *out)
{
        struct sse_parser p;

        sse_parser_init(&p, collect, out);
        for (size_t i = 0; i < size; i += step)
                sse_parser_feed(&p, (const char *)data + i, size - i < step ? size - i : step);
        sse_parser_end(&p);
        sse_parser_fini(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct buf whole, pieces;
        size_t step = size > 0 ? (size_t)data[0] % 17 + 1 : 1;

        buf_init(&whole);
        buf_init(&pieces);
        run(data, size, size > 0 ? size : 1, &whole);
        run(data, size, step, &pieces);
        fuzz_check(whole.len == pieces.len &&
                       (whole.len == 0 || memcmp(whole.data, pieces.data, whole.len) == 0),
                   "events differ with the split");
        buf_fini(&whole);
        buf_fini(&pieces);
        return 0;
}
