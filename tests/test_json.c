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
#include "testutil.h"

#include <limits.h>
#include <math.h>

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

/* The escaper as it was written first (an append per run), kept as the reference. */
static size_t ref_utf8_len(const unsigned char *p, size_t avail)
{
        size_t len;
        unsigned cp;

        if ((p[0] & 0xE0) == 0xC0) {
                len = 2;
                cp = p[0] & 0x1F;
        } else if ((p[0] & 0xF0) == 0xE0) {
                len = 3;
                cp = p[0] & 0x0F;
        } else if ((p[0] & 0xF8) == 0xF0) {
                len = 4;
                cp = p[0] & 0x07;
        } else {
                return 0;
        }
        if (len > avail)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

static void ref_append_string(struct buf *b, const unsigned char *p, size_t n)
{
        static const char hex[] = "0123456789abcdef";

        buf_putc(b, '"');
        for (size_t i = 0; i < n;) {
                unsigned char c = p[i];
                size_t len;
                if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                        buf_putc(b, (char)c);
                        i++;
                } else if (c == '"' || c == '\\') {
                        buf_putc(b, '\\');
                        buf_putc(b, (char)c);
                        i++;
                } else if (c == '\n' || c == '\r' || c == '\t') {
                        buf_putc(b, '\\');
                        buf_putc(b, c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
                        i++;
                } else if (c < 0x20) {
                        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
                        buf_puts(b, esc);
                        i++;
                } else if ((len = ref_utf8_len(p + i, n - i)) == 0) {
                        buf_puts(b, "\xEF\xBF\xBD");
                        i++;
                } else {
                        buf_append(b, p + i, len);
                        i += len;
                }
        }
        buf_putc(b, '"');
}

/* Random bytes biased towards what needs care (quotes, controls, UTF-8 lead and continuation
 * bytes), in lengths around the escaper's 4096-byte rounds so that sequences straddle them. */
static void test_append_string_random(void **state)
{
        static const unsigned char pick[] = {'a',  'b',  '"',  '\\', '\n', '\r', '\t', 0x00, 0x01,
                                             0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xa9, 0xe2, 0x82, 0xac,
                                             0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xff};
        static unsigned char in[3 * 4096 + 17];
        unsigned long long x = 88172645463325252ULL;
        struct buf got;
        struct buf want;

        (void)state;
        buf_init(&got);
        buf_init(&want);
        for (int round = 0; round < 400; round++) {
                size_t n = round < 200 ? (size_t)round : sizeof in - (size_t)(round % 40);
                for (size_t i = 0; i < n; i++) {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        in[i] =
                            (x & 3) == 0 ? (unsigned char)(x >> 8) : pick[(x >> 8) % sizeof pick];
                }
                buf_clear(&got);
                buf_clear(&want);
                buf_puts(&got, "pre");
                buf_puts(&want, "pre");
                json_append_string(&got, (const char *)in, n);
                ref_append_string(&want, in, n);
                assert_int_equal(got.len, want.len);
                assert_memory_equal(got.data, want.data, want.len + 1);
        }
        buf_fini(&got);
        buf_fini(&want);
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

/* json_print and cJSON_PrintUnformatted give the same bytes for item. */
static void same_print(const cJSON *item)
{
        char *ours = json_print(item);
        char *theirs = cJSON_PrintUnformatted(item);

        assert_string_equal(ours, theirs != NULL ? theirs : "null");
        free(ours);
        free(theirs);
}

static void test_print_numbers_like_cjson(void **state)
{
        static const double numbers[] = {
            0,
            -0.0,
            1,
            -1,
            7,
            12,
            255,
            1700000000,
            2147483647,
            2147483648.0,
            -2147483649.0,
            4294967296.0,
            9007199254740991.0,
            9007199254740993.0,
            999999999999999.0,
            1e15,
            -1e15,
            1e16,
            1e21,
            1e300,
            -1e300,
            0.1,
            0.7,
            1.5,
            -2.25,
            1.0 / 3,
            1.5e-7,
            5e-324,
            123456.789,
            0.30000000000000004,
            2.5e15,
            NAN,
            INFINITY,
            -INFINITY,
        };
        (void)state;
        for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
                cJSON *n = cJSON_CreateNumber(numbers[i]);
                same_print(n);
                cJSON_Delete(n);
        }
}

static void test_print_strings_like_cjson(void **state)
{
        char all[256];
        cJSON *s;

        (void)state;
        for (int i = 1; i < 256; i++)
                all[i - 1] = (char)i;
        all[255] = '\0';
        s = cJSON_CreateString(all); /* every byte, control and non-ASCII included */
        same_print(s);
        cJSON_Delete(s);
        s = cJSON_CreateString("");
        same_print(s);
        cJSON_Delete(s);
        s = cJSON_CreateString("caf\xc3\xa9 \"quoted\" back\\slash \xff invalid");
        same_print(s);
        cJSON_Delete(s);
}

static void test_print_trees_like_cjson(void **state)
{
        static const char *texts[] = {
            "{}",
            "[]",
            "[[],{},[{}]]",
            "{\"\":\"\",\"a\\nb\":[1,2.5,null,true,false]}",
            "{\"nested\":{\"deeper\":{\"x\":[-0.5,1e-9,\"\\u0001\"]}}}",
        };
        static const char *fixtures[] = {
            "claude-code/01_main_turn1_request.json",
            "claude-code/02_main_turn2_tool_result_request.json",
            "claude-code/03_title_side_request_interactive.json",
            "claude-code/04_count_tokens_request.json",
            "claude-code/06_bare_turn1_request.json",
        };
        cJSON *raw;

        (void)state;
        for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
                cJSON *j = testutil_json(texts[i]);
                same_print(j);
                cJSON_Delete(j);
        }
        for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++) {
                size_t n;
                char *text = testutil_read_fixture(fixtures[i], &n);
                cJSON *j = testutil_json(text);
                same_print(j);
                cJSON_Delete(j);
                free(text);
        }
        /* Raw members, and a tree cJSON refuses to print (a raw item without text). */
        raw = cJSON_CreateObject();
        cJSON_AddRawToObject(raw, "r", "{\"pre\":\"printed\"}");
        same_print(raw);
        cJSON_AddItemToObject(raw, "bad", cJSON_CreateRaw(NULL));
        same_print(raw);
        cJSON_Delete(raw);
        same_print(NULL);
}

/* Numbers beyond 2^53 saturate instead of converting out of range (undefined behaviour, caught
 * by the sanitizer build's float-cast-overflow check) or overflowing the sums they go into. */
static void test_to_long_saturates(void **state)
{
        cJSON *o = testutil_json("{\"big\":1e300,\"small\":-1e300,\"n\":42.9,\"s\":\"7\"}");
        long v = 0;

        (void)state;
        assert_int_equal(json_to_long(1e300), 9007199254740992L);
        assert_int_equal(json_to_long(-1e300), -9007199254740992L);
        assert_int_equal(json_to_long(9007199254740991.0), 9007199254740991L);
        assert_int_equal(json_to_long(NAN), 0);
        assert_int_equal(json_to_long(-3.7), -3);
        assert_true(json_get_long(o, "big", &v));
        assert_int_equal(v, 9007199254740992L);
        assert_true(json_get_long(o, "small", &v));
        assert_int_equal(v, -9007199254740992L);
        assert_true(json_get_long(o, "n", &v));
        assert_int_equal(v, 42);
        assert_false(json_get_long(o, "s", &v));
        assert_false(json_get_long(o, "absent", &v));
        cJSON_Delete(o);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lone_surrogates),
            cmocka_unit_test(test_pairs_and_escaped_backslash_kept),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_append_string),
            cmocka_unit_test(test_append_string_random),
            cmocka_unit_test(test_merge),
            cmocka_unit_test(test_buf),
            cmocka_unit_test(test_to_long_saturates),
            cmocka_unit_test(test_print_numbers_like_cjson),
            cmocka_unit_test(test_print_strings_like_cjson),
            cmocka_unit_test(test_print_trees_like_cjson),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
