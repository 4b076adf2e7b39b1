/*
 * test_ui_text: width of ASCII, wide (CJK, emoji) and combining characters, escaping of control
 * bytes, invalid UTF-8, and cutting to a column count with an ellipsis.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ui_text.h"

#include <locale.h>
#include <string.h>

static int setup(void **state)
{
        (void)state;
        if (!setlocale(LC_ALL, "C.UTF-8"))
                setlocale(LC_ALL, "en_US.UTF-8");
        return 0;
}

static void test_width(void **state)
{
        (void)state;
        assert_int_equal(ui_text_width("abc", 3), 3);
        assert_int_equal(ui_text_width("\xe4\xb8\xad\xe6\x96\x87", 6), 4); /* 中文 */
        assert_int_equal(ui_text_width("e\xcc\x81", 3), 1);                /* e + combining */
        assert_int_equal(ui_text_width("\xf0\x9f\x98\x80", 4), 2);         /* emoji */
        assert_int_equal(ui_text_width("a\nb", 3), 4);                     /* \n escaped */
        assert_int_equal(ui_text_width("\x01", 1), 4);                     /* \x01 */
        assert_int_equal(ui_text_width("\xff", 1), 1);                     /* U+FFFD */
}

static void test_decode_invalid(void **state)
{
        unsigned cp;
        (void)state;
        assert_int_equal(ui_text_decode("\xc3\xa9", 2, &cp), 2);
        assert_int_equal(cp, 0xe9);
        assert_int_equal(ui_text_decode("\xc3", 1, &cp), 1);
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(ui_text_decode("\xed\xa0\x80", 3, &cp), 1); /* a surrogate */
        assert_int_equal(cp, 0xfffd);
        assert_int_equal(ui_text_decode("\xe0\x80\x80", 3, &cp), 1); /* overlong */
}

static void test_fit(void **state)
{
        char out[64];
        (void)state;
        assert_int_equal(ui_text_fit("hello", 5, 10, 0, out, sizeof(out)), 5);
        assert_string_equal(out, "hello");
        assert_int_equal(ui_text_fit("hello", 5, 10, 1, out, sizeof(out)), 10);
        assert_string_equal(out, "hello     ");
        assert_int_equal(ui_text_fit("hello world", 11, 5, 0, out, sizeof(out)), 5);
        assert_string_equal(out, "hell\xe2\x80\xa6");
        assert_int_equal(ui_text_fit("hello", 5, 5, 0, out, sizeof(out)), 5);
        assert_string_equal(out, "hello");
        /* A wide character that does not fit is not split. */
        assert_int_equal(ui_text_fit("a\xe4\xb8\xad\xe6\x96\x87", 7, 3, 0, out, sizeof(out)), 2);
        assert_string_equal(out, "a\xe2\x80\xa6");
        assert_int_equal(ui_text_fit("a\xe4\xb8\xad\xe6\x96\x87", 7, 4, 0, out, sizeof(out)), 4);
        assert_string_equal(out, "a\xe4\xb8\xad\xe2\x80\xa6");
        /* Control bytes come out escaped. */
        ui_text_fit("a\tb\x1b[2J", 7, 40, 0, out, sizeof(out));
        assert_string_equal(out, "a\\tb\\x1b[2J");
        assert_int_equal(ui_text_fit("abc", 3, 0, 0, out, sizeof(out)), 0);
        assert_string_equal(out, "");
        /* A small buffer stays terminated. */
        ui_text_fit("abcdefgh", 8, 40, 0, out, 4);
        assert_string_equal(out, "abc");
}

static void test_find(void **state)
{
        const char *h = "Hello World";
        (void)state;
        assert_ptr_equal(ui_text_find(h, strlen(h), "world"), h + 6);
        assert_null(ui_text_find(h, strlen(h), "worlds"));
        assert_null(ui_text_find(h, 5, "World"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_width),
            cmocka_unit_test(test_decode_invalid),
            cmocka_unit_test(test_fit),
            cmocka_unit_test(test_find),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
