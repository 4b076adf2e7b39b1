/*
 * fuzz_jscan: the in-place reader never accepts what json_parse refuses, walks what it accepts
 * without reading past it and in whole values, and decodes strings to the bytes json_parse
 * gives (the fast paths of both translators rely on all of it).
 */
#include "fuzz.h"

#include "buf.h"
#include "jscan.h"
#include "json.h"

#include <string.h>

/* Walks every member and element, decoding every string; depth-first. */
static void walk(const struct jscan_value *v, struct buf *scratch)
{
        struct jscan_value k, m;
        size_t pos = 0;

        if (v->type == JSCAN_STRING) {
                buf_clear(scratch);
                (void)jscan_string(v, scratch);
        }
        while (jscan_member(v, &pos, &k, &m)) {
                fuzz_check(k.type == JSCAN_STRING, "a member name that is not a string");
                walk(&m, scratch);
        }
        pos = 0;
        while (jscan_element(v, &pos, &m))
                walk(&m, scratch);
        /* The span the walk gave is the whole value. */
        if (v->type == JSCAN_OBJECT || v->type == JSCAN_ARRAY) {
                struct jscan_value again;
                fuzz_check(jscan_parse(v->p, v->n, &again) && again.n == v->n &&
                               again.type == v->type,
                           "a container's span is not the whole container");
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes, so a read past the end is caught by the sanitizer. */
        char *text = malloc(size > 0 ? size : 1);
        struct jscan_value v;
        struct buf scratch;

        memcpy(text, data, size);
        buf_init(&scratch);
        if (jscan_parse(text, size, &v)) {
                cJSON *j = json_parse(text, size, NULL);
                fuzz_check(j != NULL, "jscan accepted what json_parse refuses");
                walk(&v, &scratch);
                if (v.type == JSCAN_STRING && cJSON_IsString(j)) {
                        buf_clear(&scratch);
                        if (jscan_string(&v, &scratch))
                                fuzz_check(strcmp(buf_str(&scratch), j->valuestring) == 0,
                                           "a string decodes differently");
                }
                cJSON_Delete(j);
        }
        buf_fini(&scratch);
        free(text);
        return 0;
}
