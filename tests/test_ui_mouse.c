/*
 * test_ui_mouse: what clicks and the wheel mean on the list and the detail (ui_mouse_map), and
 * which tab a click on the tab bar hits, checked against the labels the detail draws.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ui_mouse.h"
#include "ui_screen.h"

#include <string.h>

static void test_list(void **state)
{
        /* 120x40: header on line 0, rows on lines 1..37, message and status on 38 and 39. */
        struct ui_mouse_screen s = {UI_MOUSE_LIST, 40, 120, 100, 105, 200};
        struct ui_mouse_hit h;

        (void)state;
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 1, 10);
        assert_int_equal(h.what, UI_MOUSE_SELECT);
        assert_int_equal(h.arg, 100);
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 37, 0);
        assert_int_equal(h.what, UI_MOUSE_SELECT);
        assert_int_equal(h.arg, 136);
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 6, 119); /* the selected row: open it */
        assert_int_equal(h.what, UI_MOUSE_OPEN);
        assert_int_equal(h.arg, 105);
        /* The header, the message line, the status bar, past the last row: nothing. */
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 0, 5).what, UI_MOUSE_NOTHING);
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 38, 5).what, UI_MOUSE_NOTHING);
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 39, 5).what, UI_MOUSE_NOTHING);
        s.n = 110;
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 11, 5).what, UI_MOUSE_NOTHING);
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 10, 5).what, UI_MOUSE_SELECT);
        h = ui_mouse_map(&s, UI_MOUSE_WHEEL_UP, 39, 5); /* the wheel works anywhere */
        assert_int_equal(h.what, UI_MOUSE_SCROLL);
        assert_int_equal(h.arg, -UI_MOUSE_WHEEL_LINES);
        h = ui_mouse_map(&s, UI_MOUSE_WHEEL_DOWN, 3, 5);
        assert_int_equal(h.what, UI_MOUSE_SCROLL);
        assert_int_equal(h.arg, UI_MOUSE_WHEEL_LINES);
}

static void test_detail(void **state)
{
        struct ui_mouse_screen s = {UI_MOUSE_DETAIL, 20, 120, 0, 2, 50};
        struct ui_mouse_hit h;

        (void)state;
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 0, 0);
        assert_int_equal(h.what, UI_MOUSE_TAB);
        assert_int_equal(h.arg, UI_TAB_CLIENT_REQ);
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 0, 20);
        assert_int_equal(h.what, UI_MOUSE_TAB);
        assert_int_equal(h.arg, UI_TAB_UPSTREAM_REQ);
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 3, 4); /* the cursor line: fold it */
        assert_int_equal(h.what, UI_MOUSE_OPEN);
        assert_int_equal(h.arg, 2);
        h = ui_mouse_map(&s, UI_MOUSE_CLICK, 17, 4);
        assert_int_equal(h.what, UI_MOUSE_SELECT);
        assert_int_equal(h.arg, 16);
        /* The compare view only scrolls. */
        s.pane = UI_MOUSE_COMPARE;
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_CLICK, 3, 4).what, UI_MOUSE_NOTHING);
        assert_int_equal(ui_mouse_map(&s, UI_MOUSE_WHEEL_DOWN, 3, 4).what, UI_MOUSE_SCROLL);
}

/* Every column of the tab bar as ui_detail_draw writes it: " name " then "│". */
static void test_tab_columns(void **state)
{
        int x = 0;

        (void)state;
        for (int t = 0; t < UI_TAB_COUNT; t++) {
                int w = (int)strlen(ui_detail_tab_name((enum ui_tab)t)) + 2;
                for (int i = 0; i < w; i++)
                        assert_int_equal(ui_mouse_tab_at(x + i), t);
                assert_int_equal(ui_mouse_tab_at(x + w), -1); /* the separator */
                x += w + 1;
        }
        assert_int_equal(ui_mouse_tab_at(x), -1);
        assert_int_equal(ui_mouse_tab_at(-1), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_list),
            cmocka_unit_test(test_detail),
            cmocka_unit_test(test_tab_columns),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
