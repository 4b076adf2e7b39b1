/*
 * test_toolmap: tool names that fit OpenAI's rule pass unchanged; long or odd names (MCP tools)
 * get a deterministic 64-character-or-less name that maps back to the original.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "toolmap.h"

#include <string.h>

static int valid(const char *s)
{
        size_t n = strlen(s);

        return n >= 1 && n <= 64 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

static void test_valid_names_pass(void **state)
{
        struct toolmap *m = toolmap_new();

        (void)state;
        assert_string_equal(toolmap_upstream(m, "Bash"), "Bash");
        assert_string_equal(toolmap_upstream(m, "mcp__github__create_issue"),
                            "mcp__github__create_issue");
        assert_string_equal(toolmap_client(m, "Bash"), "Bash");
        assert_string_equal(toolmap_client(m, "unknown_tool"), "unknown_tool");
        toolmap_free(m);
}

static void test_long_name(void **state)
{
        /* 80 characters: an MCP server and tool name that together exceed the limit. */
        const char *name =
            "mcp__some_very_long_server_name_here__and_an_even_longer_tool_name_for_testing_x";
        struct toolmap *m = toolmap_new();
        struct toolmap *m2 = toolmap_new();
        const char *up;

        (void)state;
        assert_int_equal(strlen(name), 80);
        up = toolmap_upstream(m, name);
        assert_true(valid(up));
        assert_int_equal(strlen(up), 64);
        assert_memory_equal(up, name, 55);
        assert_int_equal(up[55], '_');
        assert_string_equal(toolmap_client(m, up), name);
        /* Same name, same answer: on every call and in a fresh map (the next turn). */
        assert_ptr_equal(toolmap_upstream(m, name), up);
        assert_string_equal(toolmap_upstream(m2, name), up);
        toolmap_free(m);
        toolmap_free(m2);
}

static void test_shared_prefix(void **state)
{
        const char *a = "mcp__server__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_one";
        const char *b = "mcp__server__aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_two";
        struct toolmap *m = toolmap_new();
        const char *ua, *ub;

        (void)state;
        ua = toolmap_upstream(m, a);
        ub = toolmap_upstream(m, b);
        assert_string_not_equal(ua, ub);
        assert_string_equal(toolmap_client(m, ua), a);
        assert_string_equal(toolmap_client(m, ub), b);
        toolmap_free(m);
}

static void test_invalid_chars(void **state)
{
        struct toolmap *m = toolmap_new();
        const char *up;

        (void)state;
        up = toolmap_upstream(m, "my.tool:v2");
        assert_true(valid(up));
        assert_memory_equal(up, "my_tool_v2_", 11);
        assert_string_equal(toolmap_client(m, up), "my.tool:v2");
        up = toolmap_upstream(m, "");
        assert_true(valid(up));
        assert_string_equal(toolmap_client(m, up), "");
        toolmap_free(m);
        toolmap_free(NULL);
        assert_string_equal(toolmap_client(NULL, "X"), "X");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid_names_pass),
            cmocka_unit_test(test_long_name),
            cmocka_unit_test(test_shared_prefix),
            cmocka_unit_test(test_invalid_chars),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
