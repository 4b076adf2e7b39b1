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

int main(void)
{
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_totals)};
        return cmocka_run_group_tests(tests, NULL, NULL);
}
