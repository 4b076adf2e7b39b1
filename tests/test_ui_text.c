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

static void test_cut(void **state)
{
        char out[64];
        const char *wide = "ab\xe4\xb8\xad\xe6\x96\x87"
                           "cd"; /* ab中文cd: 8 columns */
        (void)state;
        assert_int_equal(ui_text_cut("hello world", 11, 6, 40, out, sizeof(out)), 5);
        assert_string_equal(out, "world");
        assert_int_equal(ui_text_cut("hello world", 11, 2, 3, out, sizeof(out)), 3);
        assert_string_equal(out, "llo");
        assert_int_equal(ui_text_cut("abc", 3, 5, 10, out, sizeof(out)), 0);
        assert_string_equal(out, "");
        /* From column 2 the wide characters are whole. */
        assert_int_equal(ui_text_cut(wide, strlen(wide), 2, 40, out, sizeof(out)), 6);
        assert_string_equal(out, "\xe4\xb8\xad\xe6\x96\x87"
                                 "cd");
        /* From column 3 the left half of 中 is hidden: its right half shows as a space. */
        assert_int_equal(ui_text_cut(wide, strlen(wide), 3, 40, out, sizeof(out)), 5);
        assert_string_equal(out, " \xe6\x96\x87"
                                 "cd");
        /* A wide character crossing the right edge is left out, never split. */
        assert_int_equal(ui_text_cut(wide, strlen(wide), 0, 3, out, sizeof(out)), 2);
        assert_string_equal(out, "ab");
        assert_int_equal(ui_text_cut(wide, strlen(wide), 1, 4, out, sizeof(out)), 3);
        assert_string_equal(out, "b\xe4\xb8\xad");
        /* An escape is one unit: \x1b cut at its second column shows three spaces. */
        assert_int_equal(ui_text_cut("a\x1bz", 3, 2, 40, out, sizeof(out)), 4);
        assert_string_equal(out, "   z");
        assert_int_equal(ui_text_cut("a\tb", 3, 1, 40, out, sizeof(out)), 3);
        assert_string_equal(out, "\\tb");
        /* A small buffer stays terminated. */
        ui_text_cut("abcdefgh", 8, 1, 40, out, 4);
        assert_string_equal(out, "bcd");
}

static void test_window(void **state)
{
        char out[64];
        const char *wide = "ab\xe4\xb8\xad\xe6\x96\x87"
                           "cd";
        (void)state;
        /* Not scrolled: the right marker when text goes beyond the edge. */
        assert_int_equal(ui_text_window("abcdefghij", 10, 0, 5, out, sizeof(out)), 5);
        assert_string_equal(out, "abcd\xe2\x80\xa6");
        assert_int_equal(ui_text_window("abcde", 5, 0, 5, out, sizeof(out)), 5);
        assert_string_equal(out, "abcde");
        /* Scrolled: the left marker covers column `from`. */
        assert_int_equal(ui_text_window("abcdefghij", 10, 3, 5, out, sizeof(out)), 5);
        assert_string_equal(out, "\xe2\x80\xa6"
                                 "efg\xe2\x80\xa6");
        assert_int_equal(ui_text_window("abcdefghij", 10, 5, 5, out, sizeof(out)), 5);
        assert_string_equal(out, "\xe2\x80\xa6"
                                 "ghij");
        /* A line that ends left of the window still says it has text there. */
        assert_int_equal(ui_text_window("ab", 2, 8, 5, out, sizeof(out)), 1);
        assert_string_equal(out, "\xe2\x80\xa6");
        assert_int_equal(ui_text_window("", 0, 8, 5, out, sizeof(out)), 0);
        assert_string_equal(out, "");
        /* Wide characters: never split at either edge; the right marker stays in the last
         * column. */
        assert_int_equal(ui_text_window(wide, strlen(wide), 2, 4, out, sizeof(out)), 4);
        assert_string_equal(out, "\xe2\x80\xa6  \xe2\x80\xa6");
        assert_int_equal(ui_text_window(wide, strlen(wide), 1, 5, out, sizeof(out)), 5);
        assert_string_equal(out, "\xe2\x80\xa6\xe4\xb8\xad \xe2\x80\xa6");
        assert_int_equal(ui_text_window("abc", 3, 0, 0, out, sizeof(out)), 0);
        assert_string_equal(out, "");
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
            cmocka_unit_test(test_width),  cmocka_unit_test(test_decode_invalid),
            cmocka_unit_test(test_fit),    cmocka_unit_test(test_cut),
            cmocka_unit_test(test_window), cmocka_unit_test(test_find),
        };
        return cmocka_run_group_tests(tests, setup, NULL);
}
