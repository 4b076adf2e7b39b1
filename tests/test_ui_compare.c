/*
 * test_ui_compare: a re-send against its original from the hand-written journal of test_replay
 * (C1 re-sends the streamed A1 to kimi, non-streamed): finding the pair from either side, the
 * two summaries (status, routed model, stop reason, tool calls with inputs reassembled from the
 * stream or taken from the whole answer, tokens, timing, answer text) and the aligned rows.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ui_compare.h"
#include "testutil.h"
#include "ui_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_fixture.h"

static void add_line(void *arg, const char *line, size_t n)
{
        ui_model_add_line(arg, line, n);
}

static void load(struct ui_model *m)
{
        testutil_each_line(DAY, add_line, m);
        ui_model_refresh(m);
}

static void test_pair(void **state)
{
        struct ui_model m;
        const struct replay_request *o, *r;
        (void)state;

        ui_model_init(&m);
        load(&m);
        /* From the re-send and from its original: the same pair. */
        assert_true(ui_compare_pair(m.j, replay_journal_request(m.j, C1), &o, &r));
        assert_string_equal(o->id, A1);
        assert_string_equal(r->id, C1);
        assert_true(ui_compare_pair(m.j, replay_journal_request(m.j, A1), &o, &r));
        assert_string_equal(o->id, A1);
        assert_string_equal(r->id, C1);
        /* Neither a re-send nor re-sent. */
        assert_false(ui_compare_pair(m.j, replay_journal_request(m.j, B1), &o, &r));
        assert_false(ui_compare_pair(m.j, NULL, &o, &r));
        ui_model_fini(&m);
}

static void test_summaries(void **state)
{
        struct ui_model m;
        struct ui_compare_summary a, b, missing;
        (void)state;

        ui_model_init(&m);
        load(&m);
        ui_compare_summarize(replay_journal_request(m.j, A1), NULL, &a);
        ui_compare_summarize(replay_journal_request(m.j, C1), NULL, &b);

        assert_string_equal(a.id, A1);
        assert_string_equal(a.status, "200");
        assert_string_equal(a.model, "claude-opus-5-5 \xe2\x86\x92 deepseek-chat (translate)");
        assert_string_equal(a.stop, "tool_use");
        assert_string_equal(a.tokens, "in 2095  out 503  cache 0/0");
        assert_string_equal(a.ttft, "412 ms");
        assert_string_equal(a.duration, "5230 ms");
        /* The stream's tool input, reassembled from its input_json_delta. */
        assert_int_equal(a.n_tools, 1);
        assert_string_equal(a.tools[0], "Write {\"file_path\":\"hello.txt\"}");
        assert_string_equal(a.text, "");

        assert_string_equal(b.model, "kimi \xe2\x86\x92 kimi (direct)");
        assert_string_equal(b.tokens, "in 1900  out 77  cache 1024/0");
        assert_string_equal(b.ttft, "-");
        assert_string_equal(b.duration, "930 ms");
        /* A whole answer: its text and each tool_use with its input. */
        assert_int_equal(b.n_tools, 2);
        assert_string_equal(b.tools[0], "Write {\"file_path\":\"hello.txt\"}");
        assert_string_equal(b.tools[1], "Read {\"file_path\":\"hello.txt\"}");
        assert_string_equal(b.text, "I'll write it.");

        ui_compare_summarize(NULL, "req_gone", &missing);
        assert_string_equal(missing.id, "req_gone");
        assert_string_equal(missing.status, "(not in the journal shown)");
        assert_int_equal(missing.n_tools, 0);

        ui_compare_summary_free(&a);
        ui_compare_summary_free(&b);
        ui_compare_summary_free(&missing);
        ui_model_fini(&m);
}

static void test_rows(void **state)
{
        struct ui_compare_summary a, b;
        struct ui_compare_rows rows;
        char *tools_a[] = {"Bash {\"command\":\"ls\"}"};
        (void)state;

        memset(&a, 0, sizeof(a));
        memset(&b, 0, sizeof(b));
        a.id = "req_a";
        a.status = "200";
        a.text = "line one\nline two";
        a.tools = tools_a;
        a.n_tools = 1;
        b.id = "req_b";
        b.status = "429";
        b.text = "only";
        ui_compare_build(&a, &b, &rows);
        /* request status model stop tokens ttft duration tools, tool 1, answer + one more. */
        assert_int_equal(rows.n, 8 + 1 + 2);
        assert_string_equal(rows.rows[0].label, "request");
        assert_string_equal(rows.rows[0].left, "req_a");
        assert_string_equal(rows.rows[0].right, "req_b");
        assert_string_equal(rows.rows[1].right, "429");
        assert_string_equal(rows.rows[2].left, ""); /* a missing value stays empty */
        assert_string_equal(rows.rows[7].left, "1");
        assert_string_equal(rows.rows[7].right, "0");
        assert_string_equal(rows.rows[8].label, "tool 1");
        assert_string_equal(rows.rows[8].left, "Bash {\"command\":\"ls\"}");
        assert_string_equal(rows.rows[8].right, "");
        assert_string_equal(rows.rows[9].label, "answer");
        assert_string_equal(rows.rows[9].left, "line one");
        assert_string_equal(rows.rows[9].right, "only");
        assert_string_equal(rows.rows[10].label, "");
        assert_string_equal(rows.rows[10].left, "line two");
        assert_string_equal(rows.rows[10].right, "");
        ui_compare_rows_free(&rows);

        /* No answer on either side still shows the answer row. */
        a.text = b.text = "";
        a.n_tools = 0;
        ui_compare_build(&a, &b, &rows);
        assert_int_equal(rows.n, 9);
        assert_string_equal(rows.rows[8].label, "answer");
        ui_compare_rows_free(&rows);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pair),
            cmocka_unit_test(test_summaries),
            cmocka_unit_test(test_rows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
