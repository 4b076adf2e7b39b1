/*
 * fuzz_xlate_stream: whatever an upstream sends, the client gets a stream every Anthropic client
 * accepts (a complete message, or one that fails cleanly with a single error event), checked by
 * the same validator as the golden tests; and the split of the input does not change it.
 */
#include "fuzz.h"

#include "buf.h"
#include "stream_validator.h"
#include "xlate_stream.h"

#include <string.h>

static char *translate(const uint8_t *data, size_t size, size_t step, size_t *n)
{
        struct xlate_reply_opts opts = {.model = "claude-fuzz", .input_estimate = 3, .seed = 7};
        struct xlate_stream *s = xlate_stream_new(&opts);
        struct buf out;

        buf_init(&out);
        xlate_stream_begin(s, &out);
        for (size_t i = 0; i < size; i += step)
                xlate_stream_feed(s, (const char *)data + i, size - i < step ? size - i : step,
                                  &out);
        xlate_stream_eof(s, &out);
        xlate_stream_free(s);
        *n = out.len;
        return buf_detach(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t n_whole, n_pieces;
        size_t step = size > 0 ? (size_t)data[0] % 29 + 1 : 1;
        char *whole = translate(data, size, size > 0 ? size : 1, &n_whole);
        char *pieces = translate(data, size, step, &n_pieces);
        char *cause = NULL;

        if (stream_validator_check(whole, n_whole, NULL, &cause) != 0) {
                fprintf(stderr, "fuzz: %s\n%.*s\n", cause, (int)n_whole, whole);
                fuzz_check(0, "the translated stream breaks a client rule");
        }
        fuzz_check(n_whole == n_pieces && memcmp(whole, pieces, n_whole) == 0,
                   "the output depends on how the input was split");
        free(whole);
        free(pieces);
        return 0;
}
