/*
 * test_usage: per-model totals as /v1/stats reports them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "json.h"
#include "usage.h"

#include <limits.h>

static void test_totals(void **state)
{
        struct usage_totals *t = usage_totals_new();
        struct usage a = {100, 20, 5, 1};
        struct usage b = {50, 10, 0, 0};
        struct buf out;
        cJSON *j;
        double v;

        (void)state;
        usage_totals_add(t, "m1", &a, false);
        usage_totals_add(t, "m1", &b, true);
        usage_totals_add(t, "m2", &b, false);
        buf_init(&out);
        usage_totals_json(t, "models", &out);
        j = cJSON_Parse(out.data);
        assert_non_null(j);
        assert_true(json_get_num(json_get(json_get(j, "models"), "m1"), "input_tokens", &v));
        assert_int_equal((long)v, 150);
        assert_true(json_get_num(json_get(json_get(j, "models"), "m1"), "errors", &v));
        assert_int_equal((long)v, 1);
        assert_true(json_get_num(json_get(j, "total"), "requests", &v));
        assert_int_equal((long)v, 3);
        assert_true(json_get_num(json_get(j, "total"), "output_tokens", &v));
        assert_int_equal((long)v, 40);
        cJSON_Delete(j);
        buf_fini(&out);
        usage_totals_free(t);
}

/* Sums stop at LONG_MAX instead of overflowing, whatever upstreams report. */
static void test_add_capped(void **state)
{
        struct usage sum = {LONG_MAX - 1, 5, -3, 0};
        struct usage big = {10, LONG_MAX, LONG_MIN, 7};

        (void)state;
        usage_add(&sum, &big);
        assert_true(sum.input == LONG_MAX);
        assert_true(sum.output == LONG_MAX);
        assert_true(sum.cache_read == LONG_MIN);
        assert_int_equal(sum.cache_write, 7);
}

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_totals),
                                           cmocka_unit_test(test_add_capped)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
