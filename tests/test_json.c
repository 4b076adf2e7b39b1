/*
 * test_json: the tolerant parser (lone surrogates, §G 35), string escaping (valid UTF-8 out
 * whatever comes in), merging, and the byte buffer underneath.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static cJSON *parse(const char *s)
{
        char *cause = NULL;
        cJSON *j = json_parse(s, strlen(s), &cause);
        free(cause);
        return j;
}

static void test_lone_surrogates(void **state)
{
        static const char *inputs[] = {
            "{\"t\":\"a\\ud83d b\"}",        /* high alone */
            "{\"t\":\"a\\ude00 b\"}",        /* low alone */
            "{\"t\":\"a\\ud83d\"}",          /* high at the end of the string */
            "{\"t\":\"a\\ud83d\\u0041 b\"}", /* high followed by a non-surrogate */
        };
        (void)state;
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
                cJSON *j = parse(inputs[i]);
                assert_non_null(j);
                assert_non_null(strstr(json_get_str(j, "t"), "\xEF\xBF\xBD"));
                cJSON_Delete(j);
        }
}

static void test_pairs_and_escaped_backslash_kept(void **state)
{
        cJSON *j;

        (void)state;
        j = parse("{\"t\":\"\\ud83d\\ude00\",\"u\":\"\\\\ud83d\"}");
        assert_non_null(j);
        assert_string_equal(json_get_str(j, "t"), "\xF0\x9F\x98\x80");
        assert_string_equal(json_get_str(j, "u"), "\\ud83d");
        cJSON_Delete(j);
}

static void test_parse_errors(void **state)
{
        char *cause = NULL;

        (void)state;
        assert_null(json_parse("{\"a\":", 5, &cause));
        assert_non_null(strstr(cause, "not valid JSON"));
        free(cause);
        cause = NULL;
        assert_null(json_parse("", 0, &cause));
        assert_non_null(strstr(cause, "empty"));
        free(cause);
}

static void test_append_string(void **state)
{
        struct buf b;

        (void)state;
        buf_init(&b);
        json_append_string(&b, "a\"b\\c\n\x01\xC3\xA9", 9);
        assert_string_equal(b.data, "\"a\\\"b\\\\c\\n\\u0001\xC3\xA9\"");
        buf_clear(&b);
        /* Invalid UTF-8: a lone continuation byte and a truncated sequence. */
        json_append_string(&b, "x\x80y\xE2\x82", 5);
        assert_string_equal(b.data, "\"x\xEF\xBF\xBDy\xEF\xBF\xBD\xEF\xBF\xBD\"");
        buf_fini(&b);
}

static void test_merge(void **state)
{
        cJSON *dst = cJSON_Parse("{\"a\":1,\"o\":{\"x\":1,\"y\":2}}");
        cJSON *src = cJSON_Parse("{\"a\":2,\"o\":{\"y\":3,\"z\":[1]},\"n\":null}");
        cJSON *want = cJSON_Parse("{\"a\":2,\"o\":{\"x\":1,\"y\":3,\"z\":[1]},\"n\":null}");

        (void)state;
        json_merge(dst, src);
        assert_true(cJSON_Compare(dst, want, 1));
        cJSON_Delete(dst);
        cJSON_Delete(src);
        cJSON_Delete(want);
}

static void test_buf(void **state)
{
        struct buf b;
        char *s;

        (void)state;
        buf_init(&b);
        assert_string_equal(buf_str(&b), "");
        for (int i = 0; i < 1000; i++)
                buf_printf(&b, "%d,", i);
        assert_int_equal(b.len, strlen(b.data));
        buf_consume(&b, 4);
        assert_memory_equal(b.data, "2,3,", 4);
        s = buf_detach(&b);
        assert_null(b.data);
        free(s);
        buf_fini(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lone_surrogates),
            cmocka_unit_test(test_pairs_and_escaped_backslash_kept),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_append_string),
            cmocka_unit_test(test_merge),
            cmocka_unit_test(test_buf),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
