/*
 * test_jscan: the in-place reader accepts exactly strict JSON (and never something json_parse
 * would refuse), walks members and elements as written, and decodes strings to the same bytes as
 * cJSON, refusing what only json_parse handles (lone surrogates, escaped NUL).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "jscan.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool parses(const char *s)
{
        struct jscan_value v;

        return jscan_parse(s, strlen(s), &v);
}

static void test_accepts_strict_json(void **state)
{
        static const char *ok[] = {
            "{}",
            "[]",
            " { } ",
            "0",
            "-0",
            "12.5e-3",
            "1E+2",
            "\"\"",
            "true",
            "false",
            "null",
            "{\"a\":[1,{\"b\":null},\"c\\n\\u00e9\\\"\"]}",
            "[\"\\ud83d\\ude00\"]",
            "{\"a\" : 1 ,\n\t\"b\":2}",
        };
        (void)state;
        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
                cJSON *j = cJSON_Parse(ok[i]);
                assert_true(parses(ok[i]));
                assert_non_null(j); /* and cJSON agrees */
                cJSON_Delete(j);
        }
}

static void test_refuses_what_is_not_json(void **state)
{
        static const char *bad[] = {
            "",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "[1,]",
            "[1 2]",
            "01",
            "1.",
            ".5",
            "1e",
            "-",
            "tru",
            "nul",
            "\"abc",
            "\"a\\x\"",
            "\"\\u12G4\"",
            "\"\\u12\"",
            "{} x",
            "{a:1}",
            "{'a':1}",
            "\"tab\there\"",
            "[1]]",
            "{\"a\":1}}",
        };
        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                assert_false(parses(bad[i]));
        /* A raw control byte inside a string, and a NUL in the middle of the text. */
        assert_false(parses("\"a\x01\""));
        {
                struct jscan_value v;
                assert_false(jscan_parse("{\"a\":\0}", 7, &v));
        }
}

static void test_depth_limit(void **state)
{
        char deep[200];

        (void)state;
        memset(deep, '[', 100);
        memset(deep + 100, ']', 100);
        assert_false(jscan_parse(deep, sizeof deep, &(struct jscan_value){0}));
        assert_true(jscan_parse(deep + 40, 120, &(struct jscan_value){0})); /* 60 deep */
}

static void test_walk(void **state)
{
        const char *s = "{\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":\"hi\"}},7],"
                        "\"n\":-1.5e3,\"z\":null}";
        struct jscan_value root, k, v, el;
        size_t pos = 0, epos = 0;
        int members = 0;

        (void)state;
        assert_true(jscan_parse(s, strlen(s), &root));
        assert_int_equal(root.type, JSCAN_OBJECT);
        while (jscan_member(&root, &pos, &k, &v)) {
                members++;
                if (jscan_is(&k, "choices")) {
                        assert_int_equal(v.type, JSCAN_ARRAY);
                        assert_true(jscan_element(&v, &epos, &el));
                        assert_int_equal(el.type, JSCAN_OBJECT);
                        assert_int_equal(el.n, strlen("{\"delta\":{\"content\":\"hi\"}}"));
                        assert_true(jscan_element(&v, &epos, &el));
                        assert_int_equal(el.type, JSCAN_NUMBER);
                        assert_memory_equal(el.p, "7", 1);
                        assert_false(jscan_element(&v, &epos, &el));
                } else if (jscan_is(&k, "n")) {
                        assert_int_equal(v.type, JSCAN_NUMBER);
                        assert_int_equal(v.n, 6);
                } else if (jscan_is(&k, "z")) {
                        assert_int_equal(v.type, JSCAN_NULL);
                }
        }
        assert_int_equal(members, 4);
        /* Walking the wrong kind finds nothing. */
        pos = 0;
        assert_false(jscan_element(&root, &pos, &el));
        assert_false(jscan_is(&root, "id"));
}

/* Every value a walk finds, depth first, as "type:length" words: what the walk saw. */
static void spans(const struct jscan_value *v, struct buf *out)
{
        struct jscan_value k, m;
        size_t pos = 0;

        buf_printf(out, "%d:%zu ", (int)v->type, v->n);
        while (jscan_member(v, &pos, &k, &m)) {
                buf_printf(out, "k%zu ", k.n);
                spans(&m, out);
        }
        pos = 0;
        while (jscan_element(v, &pos, &m))
                spans(&m, out);
}

/*
 * A walk skips values to reach the next member: the spans must be whole values however many
 * containers there are, and whatever text was parsed in between.
 */
static void test_walk_spans(void **state)
{
        const char *a = "{\"x\":[{\"y\":[1,[2,{}]],\"s\":\"]}\\\"\"},[]],\"z\":{\"w\":[[[]]]}}";
        const char *b = "[{\"other\":\"text\"},[1,2,3]]";
        struct buf many, want, got;
        struct jscan_value va, vb, sub;
        size_t pos = 0;

        (void)state;
        buf_init(&many);
        buf_init(&want);
        buf_init(&got);
        /* Three hundred containers, more than are recorded; each [k] and {"k":[k]}. */
        buf_putc(&many, '[');
        for (int i = 0; i < 150; i++)
                buf_printf(&many, "%s[%d],{\"k\":[%d]}", i > 0 ? "," : "", i, i);
        buf_putc(&many, ']');
        assert_true(jscan_parse(many.data, many.len, &va));
        for (int i = 0; jscan_element(&va, &pos, &sub); i++) {
                char text[32];
                int len = snprintf(text, sizeof text, i % 2 == 0 ? "[%d]" : "{\"k\":[%d]}", i / 2);
                assert_int_equal(sub.n, (size_t)len);
                assert_memory_equal(sub.p, text, (size_t)len);
        }

        assert_true(jscan_parse(a, strlen(a), &va));
        spans(&va, &want);
        /* After another text was parsed. */
        assert_true(jscan_parse(b, strlen(b), &vb));
        spans(&va, &got);
        assert_string_equal(buf_str(&got), buf_str(&want));
        /* After a part of the same text was parsed. */
        pos = 0;
        assert_true(jscan_member(&va, &pos, (struct jscan_value[1]){0}, &sub));
        assert_true(jscan_parse(sub.p, sub.n, &sub));
        buf_clear(&got);
        spans(&va, &got);
        assert_string_equal(buf_str(&got), buf_str(&want));
        /* After a parse that failed. */
        assert_false(jscan_parse("[1,", 3, &vb));
        buf_clear(&got);
        spans(&va, &got);
        assert_string_equal(buf_str(&got), buf_str(&want));
        buf_fini(&many);
        buf_fini(&want);
        buf_fini(&got);
}

/* Decodes the one string in s with jscan and with cJSON; both must give the same bytes. */
static void same_as_cjson(const char *s)
{
        struct jscan_value v;
        struct buf b;
        cJSON *j = cJSON_Parse(s);

        buf_init(&b);
        assert_non_null(j);
        assert_true(jscan_parse(s, strlen(s), &v));
        assert_true(jscan_string(&v, &b));
        assert_string_equal(buf_str(&b), j->valuestring);
        assert_int_equal(b.len, strlen(j->valuestring));
        cJSON_Delete(j);
        buf_fini(&b);
}

static void test_strings_decode_like_cjson(void **state)
{
        (void)state;
        same_as_cjson("\"plain words\"");
        same_as_cjson("\"\"");
        same_as_cjson("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
        same_as_cjson("\"caf\\u00e9 \\u4e2d\\u6587 \\u20AC\"");
        same_as_cjson("\"raw UTF-8: caf\xc3\xa9 \xe4\xb8\xad\"");
        same_as_cjson("\"emoji \\ud83d\\ude00 pair\"");
        same_as_cjson("\"\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff\"");
}

static void test_strings_left_to_json_parse(void **state)
{
        static const char *refused[] = {
            "\"a\\ud83d b\"", /* high surrogate alone */
            "\"a\\ude00\"",   /* low surrogate alone */
            "\"a\\ud83d\"",   /* high at the end */
            "\"nul \\u0000 inside\"",
        };
        struct buf b;

        (void)state;
        buf_init(&b);
        buf_puts(&b, "keep");
        for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
                struct jscan_value v;
                assert_true(jscan_parse(refused[i], strlen(refused[i]), &v));
                assert_false(jscan_string(&v, &b));
                assert_string_equal(buf_str(&b), "keep"); /* nothing appended */
        }
        buf_fini(&b);
}

/*
 * Differential: every text jscan accepts, json_parse accepts too. Texts come from mutating a real
 * chunk byte by byte (each byte replaced by each of a set of JSON-significant bytes, or cut).
 */
static void test_never_accepts_what_cjson_refuses(void **state)
{
        static const char chunk[] =
            "{\"id\":\"c-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
            "\"a\\u00e9\\n\"},\"finish_reason\":null}],\"n\":-1.5e3}";
        static const char swaps[] = "{}[]\",:\\ 0-.eEtfnu";
        char text[sizeof chunk];
        size_t accepted = 0;

        (void)state;
        for (size_t i = 0; i + 1 < sizeof chunk; i++) {
                for (size_t k = 0; k <= sizeof swaps - 1; k++) {
                        struct jscan_value v;
                        size_t n = sizeof chunk - 1;

                        memcpy(text, chunk, sizeof chunk);
                        if (k < sizeof swaps - 1)
                                text[i] = swaps[k];
                        else
                                n = i; /* cut */
                        if (jscan_parse(text, n, &v)) {
                                cJSON *j = json_parse(text, n, NULL);
                                assert_non_null(j);
                                cJSON_Delete(j);
                                accepted++;
                        }
                }
        }
        assert_true(accepted > 100); /* many mutations are still JSON: the check did run */
}

int main(void)
{
        static const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accepts_strict_json),
            cmocka_unit_test(test_refuses_what_is_not_json),
            cmocka_unit_test(test_depth_limit),
            cmocka_unit_test(test_walk),
            cmocka_unit_test(test_walk_spans),
            cmocka_unit_test(test_strings_decode_like_cjson),
            cmocka_unit_test(test_strings_left_to_json_parse),
            cmocka_unit_test(test_never_accepts_what_cjson_refuses),
        };

        alloc_init_cjson();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
