/*
 * test_ui_keys: the key table has help for every row, no key twice on one screen, every action
 * the loop knows bound somewhere, and screen bindings that win over global ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ui_keys.h"

#include <curses.h>
#include <string.h>

static void test_help_and_duplicates(void **state)
{
        size_t i, k;
        (void)state;
        for (i = 0; i < ui_keys_count; i++) {
                assert_non_null(ui_keys[i].help);
                assert_true(strlen(ui_keys[i].help) > 3);
                assert_true(ui_keys[i].action != UI_ACT_NONE);
                for (k = i + 1; k < ui_keys_count; k++)
                        assert_false(ui_keys[i].key == ui_keys[k].key &&
                                     ui_keys[i].ctx == ui_keys[k].ctx);
        }
}

static void test_every_action_bound(void **state)
{
        int a;
        size_t i;
        (void)state;
        for (a = UI_ACT_NONE + 1; a < UI_ACT_COUNT; a++) {
                bool found = false;
                for (i = 0; i < ui_keys_count && !found; i++)
                        found = (int)ui_keys[i].action == a;
                assert_true(found);
        }
}

static void test_lookup(void **state)
{
        char tmp[8];
        (void)state;
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, 'q'), UI_ACT_QUIT);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, 'q'), UI_ACT_BACK);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, 'j'), UI_ACT_DOWN); /* global */
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, '\n'), UI_ACT_OPEN);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, '\t'), UI_ACT_NEXT_TAB);
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, 'F'), UI_ACT_FOLLOW);
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, '~'), UI_ACT_NONE);
        assert_string_equal(ui_keys_name('\n', tmp, sizeof(tmp)), "Enter");
        assert_string_equal(ui_keys_name(KEY_NPAGE, tmp, sizeof(tmp)), "PgDn");
        assert_string_equal(ui_keys_name(12, tmp, sizeof(tmp)), "^L");
        assert_string_equal(ui_keys_name('/', tmp, sizeof(tmp)), "/");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_help_and_duplicates),
            cmocka_unit_test(test_every_action_bound),
            cmocka_unit_test(test_lookup),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
