/*
 * test_ui_json: pretty lines of a request body, system and tools folded by default, toggling a
 * fold, fold all, plain text, a large body built once, and folds, cursor and scroll kept by JSON
 * path across a rebuild of a grown body.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "ui_json.h"

#include <stdlib.h>
#include <string.h>

static const char BODY[] = "{\"model\":\"m\",\"system\":[{\"type\":\"text\",\"text\":\"be nice\"}],"
                           "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                           "\"tools\":[{\"name\":\"Write\"},{\"name\":\"Read\"}],"
                           "\"max_tokens\":10,\"stream\":true,\"empty\":{}}";

static void line(const struct ui_json_doc *d, size_t v, const char *want)
{
        char out[256];
        ui_json_render(d, v, out, sizeof(out));
        assert_string_equal(out, want);
}

static void test_pretty_and_default_folds(void **state)
{
        cJSON *j = cJSON_Parse(BODY);
        struct ui_json_doc d;
        (void)state;

        ui_json_build(&d, j);
        line(&d, 0, "{");
        line(&d, 1, "  \"model\": \"m\",");
        line(&d, 2, "  \"system\": [ \xe2\x80\xa6 1 item ],");
        line(&d, 3, "  \"messages\": [");
        line(&d, 4, "    {");
        line(&d, 5, "      \"role\": \"user\",");
        line(&d, 6, "      \"content\": \"hi\"");
        line(&d, 7, "    }");
        line(&d, 8, "  ],");
        line(&d, 9, "  \"tools\": [ \xe2\x80\xa6 2 items ],");
        line(&d, 10, "  \"max_tokens\": 10,");
        line(&d, 11, "  \"stream\": true,");
        line(&d, 12, "  \"empty\": {}");
        line(&d, 13, "}");
        assert_int_equal(d.n_visible, 14);
        assert_int_equal(d.lines[d.visible[1]].tok, UI_JSON_STRING);
        assert_int_equal(d.lines[d.visible[1]].key_len, strlen("\"model\": "));
        assert_int_equal(d.lines[d.visible[10]].tok, UI_JSON_NUMBER);
        assert_int_equal(d.lines[d.visible[11]].tok, UI_JSON_LITERAL);

        /* Unfold system, fold messages. */
        assert_true(ui_json_toggle(&d, 2));
        line(&d, 2, "  \"system\": [");
        line(&d, 3, "    {");
        assert_int_equal(d.n_visible, 19);
        assert_false(ui_json_toggle(&d, 1)); /* not a container */
        assert_true(ui_json_toggle(&d, 8));  /* messages, now line 8 */
        line(&d, 8, "  \"messages\": [ \xe2\x80\xa6 1 item ],");
        line(&d, 9, "  \"tools\": [ \xe2\x80\xa6 2 items ],");
        assert_false(ui_json_toggle(&d, 1000));

        ui_json_fold_all(&d, true);
        line(&d, 0, "{");
        line(&d, 2, "  \"system\": [ \xe2\x80\xa6 1 item ],");
        ui_json_fold_all(&d, false);
        assert_int_equal(d.n_visible, d.n);
        ui_json_free(&d);
        cJSON_Delete(j);
}

static void test_text(void **state)
{
        struct ui_json_doc d;
        (void)state;
        ui_json_build_text(&d, "a\nb\n\nc", 6);
        assert_int_equal(d.n_visible, 4);
        line(&d, 0, "a");
        line(&d, 2, "");
        line(&d, 3, "c");
        assert_false(ui_json_toggle(&d, 0));
        ui_json_free(&d);
}

static void test_large(void **state)
{
        cJSON *j = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(j, "messages");
        char *big = xmalloc(1 << 20);
        struct ui_json_doc d;
        char out[128];
        int i;
        (void)state;

        memset(big, 'x', (1 << 20) - 1);
        big[(1 << 20) - 1] = '\0';
        cJSON_AddStringToObject(j, "blob", big);
        for (i = 0; i < 5000; i++)
                cJSON_AddItemToArray(arr, cJSON_CreateNumber(i));
        ui_json_build(&d, j);
        assert_int_equal(d.n_visible, 5000 + 5);
        ui_json_render(&d, d.n_visible - 2, out, sizeof(out));
        assert_int_equal(strlen(out), sizeof(out) - 1); /* cut, never overrun */
        ui_json_free(&d);
        cJSON_Delete(j);
        free(big);
}

static void test_folds_survive_rebuild(void **state)
{
        static const char GROWN[] =
            "{\"metadata\":{\"user_id\":\"u\"},\"model\":\"m\","
            "\"system\":[{\"type\":\"text\",\"text\":\"be nice\"}],"
            "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\","
            "\"content\":\"yo\"}],\"tools\":[{\"name\":\"Write\"},{\"name\":\"Read\"}],"
            "\"max_tokens\":10,\"stream\":true,\"empty\":{}}";
        cJSON *j = cJSON_Parse(BODY), *g = cJSON_Parse(GROWN);
        struct ui_json_doc d;
        struct ui_json_view keep;
        size_t cur = 9, top = 3;
        (void)state;

        ui_json_build(&d, j);
        assert_string_equal(d.lines[d.visible[2]].path, "/system");
        assert_true(ui_json_toggle(&d, 2)); /* unfold system (folded by default) */
        line(&d, 8, "  \"messages\": [");
        assert_true(ui_json_toggle(&d, 8)); /* fold messages */
        line(&d, 9, "  \"tools\": [ \xe2\x80\xa6 2 items ],");
        assert_string_equal(d.lines[d.visible[3]].path, "/system/0");
        assert_string_equal(d.lines[d.visible[4]].path, "/system/0/type");
        ui_json_save(&d, cur, top, &keep);
        ui_json_free(&d);

        /* The body grew (a member before, an element inside): lines moved, paths did not. */
        ui_json_build(&d, g);
        ui_json_restore(&d, &keep, &cur, &top);
        ui_json_view_free(&keep);
        line(&d, 1, "  \"metadata\": {");
        line(&d, 5, "  \"system\": [");
        line(&d, 11, "  \"messages\": [ \xe2\x80\xa6 2 items ],");
        line(&d, 12, "  \"tools\": [ \xe2\x80\xa6 2 items ],");
        assert_int_equal(cur, 12);
        assert_int_equal(top, 6);
        ui_json_free(&d);

        /* Plain text: lines by number, so a growing stream keeps the position. */
        ui_json_build_text(&d, "a\nb\nc", 5);
        ui_json_save(&d, 2, 1, &keep);
        ui_json_free(&d);
        ui_json_build_text(&d, "a\nb\nc\nd", 7);
        cur = top = 0;
        ui_json_restore(&d, &keep, &cur, &top);
        ui_json_view_free(&keep);
        assert_int_equal(cur, 2);
        assert_int_equal(top, 1);
        ui_json_free(&d);
        cJSON_Delete(j);
        cJSON_Delete(g);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pretty_and_default_folds),
            cmocka_unit_test(test_text),
            cmocka_unit_test(test_large),
            cmocka_unit_test(test_folds_survive_rebuild),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
