/*
 * test_buf: the number appenders against printf's output (edges and a spread of values), the
 * fixed-width field, and the literal appender.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

static void check_u64(unsigned long long v)
{
        char want[32];
        struct buf b;

        buf_init(&b);
        buf_put_lit(&b, "x");
        buf_put_u64(&b, v);
        snprintf(want, sizeof want, "x%llu", v);
        assert_string_equal(buf_str(&b), want);
        assert_int_equal(b.len, strlen(want));
        buf_fini(&b);
}

static void check_i64(long long v)
{
        char want[32];
        struct buf b;

        buf_init(&b);
        buf_put_i64(&b, v);
        snprintf(want, sizeof want, "%lld", v);
        assert_string_equal(buf_str(&b), want);
        assert_int_equal(b.len, strlen(want));
        buf_fini(&b);
}

static void test_u64(void **state)
{
        unsigned long long v = 1;

        (void)state;
        check_u64(0);
        check_u64(ULLONG_MAX);
        /* Every digit count, and the values either side of each power of ten. */
        for (int i = 0; i < 20; i++, v *= 10) {
                check_u64(v);
                check_u64(v - 1);
                check_u64(v + 1);
                check_u64(v * 9 + (v - 1)); /* 99…9 */
        }
        for (unsigned long long x = 0; x < 100000; x++)
                check_u64(x);
        /* A spread over the whole range (a simple LCG). */
        v = 12345;
        for (int i = 0; i < 100000; i++) {
                v = v * 6364136223846793005ULL + 1442695040888963407ULL;
                check_u64(v);
                check_u64(v >> (i % 64));
        }
}

static void test_i64(void **state)
{
        (void)state;
        check_i64(0);
        check_i64(-1);
        check_i64(1);
        check_i64(LLONG_MAX);
        check_i64(LLONG_MIN);
        check_i64(LLONG_MIN + 1);
        for (long long x = -100000; x < 100000; x += 7)
                check_i64(x);
        check_i64(-9000000000000000000LL);
        check_i64(1700000000123456789LL);
}

static void test_padded(void **state)
{
        static const struct {
                unsigned long long v;
                int width;
                const char *want;
        } cases[] = {
            {0, 6, "000000"},
            {1, 6, "000001"},
            {999999, 6, "999999"},
            {123456, 6, "123456"},
            {42, 2, "42"},
            {7, 1, "7"},
            {1234567, 6, "234567"}, /* wider than the field: the low digits */
            {0, 0, ""},
            {5, -3, ""},
            {ULLONG_MAX, 20, "18446744073709551615"},
            {12, 25, "00000000000000000012"}, /* at most 20 digits */
        };
        struct buf b;

        (void)state;
        buf_init(&b);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                buf_clear(&b);
                buf_put_u64_padded(&b, cases[i].v, cases[i].width);
                assert_string_equal(buf_str(&b), cases[i].want);
                assert_int_equal(b.len, strlen(cases[i].want));
        }
        /* Matches %06llu for every microsecond value. */
        for (unsigned long long us = 0; us < 1000000; us += 37) {
                char want[16];
                buf_clear(&b);
                buf_put_u64_padded(&b, us, 6);
                snprintf(want, sizeof want, "%06llu", us);
                assert_string_equal(buf_str(&b), want);
        }
        buf_fini(&b);
}

static void test_lit(void **state)
{
        struct buf b;

        (void)state;
        buf_init(&b);
        buf_put_lit(&b, "{\"a\":");
        buf_put_lit(&b, "");
        buf_put_lit(&b, "1}");
        assert_string_equal(buf_str(&b), "{\"a\":1}");
        assert_int_equal(b.len, 7);
        buf_fini(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_u64),
            cmocka_unit_test(test_i64),
            cmocka_unit_test(test_padded),
            cmocka_unit_test(test_lit),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
