/*
 * fuzz_record_string: the journal's string escaper (record_put_string, with its eight- and
 * sixteen-byte steps) writes exactly what json_append_string writes, for any bytes.
 */
#include "fuzz.h"

#include "buf.h"
#include "json.h"
#include "record.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* A copy of exactly size bytes, so a read past the end is caught by the sanitizer. */
        char *text = malloc(size > 0 ? size : 1);
        struct buf want, got;

        memcpy(text, data, size);
        buf_init(&want);
        buf_init(&got);
        json_append_string(&want, text, size);
        record_put_string(&got, text, size);
        fuzz_check(got.len == want.len && memcmp(got.data, want.data, want.len) == 0,
                   "record_put_string and json_append_string differ");
        buf_fini(&want);
        buf_fini(&got);
        free(text);
        return 0;
}
