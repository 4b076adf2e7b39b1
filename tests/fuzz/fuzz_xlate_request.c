/*
 * fuzz_xlate_request: any body a client could send is either translated into a body that
 * prints as JSON, or refused with a reason; never a crash. The first byte picks the model
 * entry's options, so every provider dialect is exercised.
 */
#include "fuzz.h"

#include "json.h"
#include "toolmap.h"
#include "xlate_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct xlate_request_opts o = {.upstream_model = "fuzz-model"};
        unsigned bits = size > 0 ? data[0] : 0;
        struct toolmap *names = toolmap_new();
        cJSON *req, *out = NULL;
        char *cause = NULL;

        if (size > 0) {
                data++;
                size--;
        }
        o.reasoning = (enum xlate_reasoning)(bits % 5);
        o.history_thinking = bits & 8 ? XLATE_HISTORY_REASONING_CONTENT : XLATE_HISTORY_DROP;
        o.tool_ids = bits & 16 ? IDS_STYLE_MISTRAL : IDS_STYLE_DEFAULT;
        o.sanitize_schema = bits & 32;
        o.stream = bits & 64;
        o.stream_usage = o.stream;
        o.max_tokens_cap = bits & 128 ? 8192 : 0;
        o.reasoning_effort = bits & 4 ? "high" : NULL;
        req = json_parse((const char *)data, size, NULL);
        if (req != NULL) {
                int rc = xlate_request(req, &o, names, &out, &cause);
                fuzz_check(rc == 0 ? out != NULL : cause != NULL, "no body and no reason");
                if (out != NULL) {
                        char *text = json_print(out);
                        cJSON *back = cJSON_Parse(text);
                        fuzz_check(back != NULL, "the translated body does not parse");
                        cJSON_Delete(back);
                        free(text);
                }
        }
        cJSON_Delete(out);
        cJSON_Delete(req);
        free(cause);
        toolmap_free(names);
        return 0;
}
