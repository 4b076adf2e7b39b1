/*
 * fuzz_xlate_response: the whole-answer translator never crashes on what an upstream sends, and
 * its fast path (xlate_response_plain) either leaves an answer alone or writes exactly what
 * xlate_response and json_append would, with the same result for logs and stats.
 */
#include "fuzz.h"

#include "buf.h"
#include "json.h"
#include "xlate_response.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes, so a read past the end is caught by the sanitizer. */
        char *text = malloc(size > 0 ? size : 1);
        struct xlate_reply_opts opts = {
            .model = "claude-sonnet-4-5", .input_estimate = 99, .seed = 7};
        struct xlate_result full_res, plain_res;
        struct buf full, plain;
        char *cause = NULL;
        cJSON *in, *msg = NULL;

        memcpy(text, data, size);
        in = json_parse(text, size, NULL);
        if (in != NULL)
                msg = xlate_response(in, &opts, &full_res, &cause);
        buf_init(&full);
        buf_init(&plain);
        if (xlate_response_plain(text, size, &opts, &plain_res, &plain)) {
                fuzz_check(msg != NULL, "the fast path took an answer xlate_response refuses");
                json_append(&full, msg);
                fuzz_check(plain.len == full.len && memcmp(plain.data, full.data, full.len) == 0,
                           "the fast path wrote a different message");
                fuzz_check(memcmp(&plain_res.usage, &full_res.usage, sizeof full_res.usage) == 0 &&
                               plain_res.usage_estimated == full_res.usage_estimated &&
                               strcmp(plain_res.stop_reason, full_res.stop_reason) == 0 &&
                               plain_res.tool_calls == full_res.tool_calls,
                           "the fast path gave a different result");
        } else {
                fuzz_check(plain.len == 0, "the fast path appended to an answer it left alone");
        }
        buf_fini(&full);
        buf_fini(&plain);
        cJSON_Delete(msg);
        cJSON_Delete(in);
        free(cause);
        free(text);
        return 0;
}
