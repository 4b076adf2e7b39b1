/*
 * test_ui_keys: the key table has help for every row, no key twice on one screen, every action
 * the loop knows bound somewhere, screen bindings that win over global ones, and
 * docs/inspector.md's key table generated from this one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ui_keys.h"
#include "ui_screen.h"

#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOC FIXTURES_DIR "/../../docs/inspector.md"

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
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, KEY_BTAB), UI_ACT_PREV_TAB);
        /* Left/Right scroll long lines in the detail; Tab/Shift-Tab switch tabs. */
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, KEY_RIGHT), UI_ACT_SCROLL_RIGHT);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, KEY_LEFT), UI_ACT_SCROLL_LEFT);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, '<'), UI_ACT_LINE_START);
        assert_int_equal(ui_keys_lookup(UI_CTX_DETAIL, '>'), UI_ACT_LINE_END);
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, 'F'), UI_ACT_FOLLOW);
        assert_int_equal(ui_keys_lookup(UI_CTX_LIST, '~'), UI_ACT_NONE);
        assert_string_equal(ui_keys_name('\n', tmp, sizeof(tmp)), "Enter");
        assert_string_equal(ui_keys_name(KEY_NPAGE, tmp, sizeof(tmp)), "PgDn");
        assert_string_equal(ui_keys_name(12, tmp, sizeof(tmp)), "^L");
        assert_string_equal(ui_keys_name('/', tmp, sizeof(tmp)), "/");
}

/* The markdown key table docs/inspector.md must hold, generated from ui_keys (caller frees). */
static char *doc_table(void)
{
        size_t i, cap = 16384, len = 0;
        char *out = malloc(cap), tmp[8];

        assert_non_null(out);
        len += (size_t)snprintf(out, cap, "| key | screen | action |\n|---|---|---|\n");
        for (i = 0; i < ui_keys_count; i++) {
                len += (size_t)snprintf(out + len, cap - len, "| `%s` | %s | %s |\n",
                                        ui_keys_name(ui_keys[i].key, tmp, sizeof(tmp)),
                                        ui_keys_ctx_name(ui_keys[i].ctx), ui_keys[i].help);
                assert_true(len < cap);
        }
        return out;
}

/* docs/inspector.md's key table is exactly the one generated from ui_keys.c (print it with
 * `test_ui_keys --doc-table`). */
static void test_doc_table(void **state)
{
        FILE *f = fopen(DOC, "rb");
        char *doc, *want = doc_table();
        long n;
        (void)state;
        assert_non_null(f);
        assert_int_equal(fseek(f, 0, SEEK_END), 0);
        n = ftell(f);
        assert_true(n > 0);
        rewind(f);
        doc = calloc(1, (size_t)n + 1);
        assert_non_null(doc);
        assert_int_equal(fread(doc, 1, (size_t)n, f), (size_t)n);
        fclose(f);
        if (!strstr(doc, want))
                fail_msg("docs/inspector.md's key table differs from ui_keys.c; it should be:\n%s",
                         want);
        free(doc);
        free(want);
}

/* The help overlay is as wide as its longest line plus a margin each side (so the list behind
 * does not show through on its right), centred, and never wider than the screen. */
static void test_help_box(void **state)
{
        static char lines[128][160];
        int n = ui_help_lines(lines, 128), i, longest = 0;
        struct ui_box b;
        (void)state;
        assert_true(n > 10 && n < 128);
        for (i = 0; i < n; i++) {
                int w = (int)strlen(lines[i]); /* the lines are ASCII */
                if (w > longest)
                        longest = w;
        }
        assert_true(longest > 40);
        ui_help_box(120, 40, &b);
        assert_int_equal(b.w, longest + 2);
        assert_int_equal(b.x, (120 - b.w) / 2);
        assert_int_equal(b.h, 37); /* more lines than fit: rows less the bottom lines and one */
        ui_help_box(200, 120, &b);
        assert_int_equal(b.w, longest + 2);
        assert_int_equal(b.h, n + 2);
        assert_int_equal(b.y, (120 - 2 - b.h) / 2);
        ui_help_box(50, 10, &b);
        assert_int_equal(b.w, 48);
        assert_int_equal(b.x, 1);
        assert_true(b.y >= 0 && b.y + b.h <= 8);
}

int main(int argc, char **argv)
{
        if (argc > 1 && !strcmp(argv[1], "--doc-table")) {
                char *t = doc_table();
                fputs(t, stdout);
                free(t);
                return 0;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_help_and_duplicates),
            cmocka_unit_test(test_every_action_bound),
            cmocka_unit_test(test_lookup),
            cmocka_unit_test(test_doc_table),
            cmocka_unit_test(test_help_box),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
