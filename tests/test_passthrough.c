/*
 * test_passthrough: what direct mode changes in a request (model, max_tokens, and history repair
 * only when needed) and what it leaves byte for byte; URLs, headers, betas; usage watching.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "json.h"
#include "passthrough.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static void test_url(void **state)
{
        static const char *rows[][3] = {
            {"https://api.anthropic.com", "/v1/messages?beta=true",
             "https://api.anthropic.com/v1/messages?beta=true"},
            {"https://api.anthropic.com/", "/v1/messages", "https://api.anthropic.com/v1/messages"},
            {"http://127.0.0.1:9/v1", "/v1/messages/count_tokens?beta=true",
             "http://127.0.0.1:9/v1/messages/count_tokens?beta=true"},
            {"https://api.deepseek.com/anthropic", "/v1/messages",
             "https://api.deepseek.com/anthropic/v1/messages"},
            {"https://api.moonshot.cn/anthropic/", "/v1/v1/messages?beta=true",
             "https://api.moonshot.cn/anthropic/v1/messages?beta=true"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                char *u = passthrough_url(rows[i][0], rows[i][1]);
                assert_string_equal(u, rows[i][2]);
                free(u);
        }
}

/* Runs passthrough_body over text; returns the new body (caller frees). */
static char *body_of(const char *text, const char *model_name, long cap, bool *repaired)
{
        cJSON *parsed = testutil_json(text);
        struct buf out;

        buf_init(&out);
        passthrough_body(text, strlen(text), parsed, model_name, cap, &out, repaired);
        cJSON_Delete(parsed);
        return buf_detach(&out);
}

static void test_body_only_model_and_max_tokens_change(void **state)
{
        /* Odd spacing, key order, escapes and big numbers must survive byte for byte. */
        const char *in = "{ \"max_tokens\" :128000,\"model\":  \"claude-opus-5-5\", \"x\":"
                         "{\"model\":\"inner\",\"n\":12345678901234567890},\"s\":\"\\u00e9\\/\" }";
        bool repaired = true;
        char *out = body_of(in, "kimi-k2", 32000, &repaired);

        (void)state;
        assert_false(repaired);
        assert_string_equal(out, "{ \"max_tokens\" :32000,\"model\":  \"kimi-k2\", \"x\":"
                                 "{\"model\":\"inner\",\"n\":12345678901234567890},\"s\":"
                                 "\"\\u00e9\\/\" }");
        free(out);
}

static void test_body_untouched_when_nothing_to_change(void **state)
{
        const char *in = "{\"model\":\"m\",\"max_tokens\":100,\"messages\":[]}";
        bool repaired = true;
        char *out;

        (void)state;
        out = body_of(in, "m", 8192, &repaired);
        assert_string_equal(out, in);
        free(out);
        out = body_of(in, "m", 0, &repaired);
        assert_string_equal(out, in);
        free(out);
}

static void test_recorded_claude_code_request(void **state)
{
        size_t n;
        char *fixture = testutil_read_fixture("claude-code/01_main_turn1_request.json", &n);
        cJSON *rec = testutil_json(fixture);
        char *raw = json_print(json_get(rec, "body"));
        bool repaired = true;
        char *out = body_of(raw, "claude-opus-5-5", 0, &repaired);

        (void)state;
        assert_false(repaired);
        assert_string_equal(out, raw);
        free(out);
        free(raw);
        cJSON_Delete(rec);
        free(fixture);
}

static void test_repair_translated_history(void **state)
{
        const char *in =
            "{\"model\":\"m\",\"max_tokens\":10,\"messages\":["
            "{\"role\":\"user\",\"content\":\"go\"},"
            "{\"role\":\"assistant\",\"content\":["
            "{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"\"},"
            "{\"type\":\"text\",\"text\":\"\"},"
            "{\"type\":\"tool_use\",\"id\":\"functions.Bash:0\",\"name\":\"Bash\",\"input\":{}}]},"
            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
            "\"functions.Bash:0\",\"content\":\"ok\"}]},"
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\"}]},"
            "{\"role\":\"user\",\"content\":\"next\"}]}";
        const char *want =
            "{\"model\":\"m\",\"max_tokens\":10,\"messages\":["
            "{\"role\":\"user\",\"content\":\"go\"},"
            "{\"role\":\"assistant\",\"content\":["
            "{\"type\":\"tool_use\",\"id\":\"functions_Bash_0\",\"name\":\"Bash\",\"input\":{}}]},"
            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
            "\"functions_Bash_0\",\"content\":\"ok\"}]},"
            "{\"role\":\"user\",\"content\":\"next\"}]}";
        bool repaired = false;
        char *out = body_of(in, "m", 0, &repaired);
        cJSON *got = testutil_json(out);
        cJSON *exp = testutil_json(want);

        (void)state;
        assert_true(repaired);
        assert_true(testutil_json_equal(got, exp));
        cJSON_Delete(got);
        cJSON_Delete(exp);
        free(out);
}

static void test_signed_thinking_kept(void **state)
{
        const char *in = "{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":"
                         "\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
                         "\"signature\":\"EqQBCkYIBxgC\"},{\"type\":\"redacted_thinking\","
                         "\"data\":\"abc\"}]}]}";
        bool repaired = true;
        char *out = body_of(in, "m", 0, &repaired);

        (void)state;
        assert_false(repaired);
        assert_string_equal(out, in);
        free(out);
}

static void test_betas(void **state)
{
        char *drop[] = {"context-1m-2025-08-07", "effort-2025-11-24"};
        char *v;

        (void)state;
        v = passthrough_betas("claude-code-20250219, context-1m-2025-08-07,effort-2025-11-24,x",
                              drop, 2);
        assert_string_equal(v, "claude-code-20250219,x");
        free(v);
        assert_null(passthrough_betas("effort-2025-11-24", drop, 2));
        v = passthrough_betas("a,b", NULL, 0);
        assert_string_equal(v, "a,b");
        free(v);
}

static void test_headers(void **state)
{
        (void)state;
        assert_true(passthrough_request_header("anthropic-version"));
        assert_true(passthrough_request_header("anthropic-beta"));
        assert_true(passthrough_request_header("x-claude-code-session-id"));
        assert_true(passthrough_request_header("User-Agent"));
        assert_false(passthrough_request_header("X-Api-Key"));
        assert_false(passthrough_request_header("authorization"));
        assert_false(passthrough_request_header("Accept-Encoding"));
        assert_false(passthrough_request_header("Connection"));
        assert_false(passthrough_request_header("host"));
        assert_false(passthrough_request_header("content-length"));
        assert_true(passthrough_response_header("request-id"));
        assert_true(passthrough_response_header("Retry-After"));
        assert_true(passthrough_response_header("retry-after-ms"));
        assert_true(passthrough_response_header("anthropic-ratelimit-requests-remaining"));
        assert_true(passthrough_response_header("x-should-retry"));
        assert_false(passthrough_response_header("set-cookie"));
        assert_false(passthrough_response_header("content-length"));
}

static void test_watch_stream(void **state)
{
        static const char stream[] =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
            "{\"input_tokens\":120,\"cache_read_input_tokens\":30,\"output_tokens\":1}}}\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"Bash\"}}\n\n"
            "event: ping\ndata: {\"type\":\"ping\"}\n\n"
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
            "\"tool_use\"},\"usage\":{\"output_tokens\":42}}\n\n";
        struct passthrough_watch w;

        (void)state;
        passthrough_watch_init(&w);
        for (size_t i = 0; i < sizeof stream - 1; i += 7)
                passthrough_watch_feed(&w, stream + i,
                                       sizeof stream - 1 - i < 7 ? sizeof stream - 1 - i : 7);
        assert_int_equal(w.result.usage.input, 120);
        assert_int_equal(w.result.usage.cache_read, 30);
        assert_int_equal(w.result.usage.output, 42);
        assert_string_equal(w.result.stop_reason, "tool_use");
        assert_int_equal(w.result.tool_calls, 1);
        passthrough_watch_fini(&w);
}

static void test_watch_message(void **state)
{
        cJSON *msg = testutil_json("{\"type\":\"message\",\"content\":[{\"type\":\"text\","
                                   "\"text\":\"hi\"}],\"stop_reason\":\"end_turn\",\"usage\":"
                                   "{\"input_tokens\":5,\"output_tokens\":2}}");
        struct passthrough_watch w;

        (void)state;
        passthrough_watch_init(&w);
        passthrough_watch_message(&w, msg);
        assert_int_equal(w.result.usage.input, 5);
        assert_int_equal(w.result.usage.output, 2);
        assert_string_equal(w.result.stop_reason, "end_turn");
        passthrough_watch_fini(&w);
        cJSON_Delete(msg);
}

static void test_member_span(void **state)
{
        const char *t =
            "{\"a\":[1,{\"model\":\"no\"}],\"s\":\"x\\\"model\\\":\",\"model\":\"yes\"}";
        size_t s = 0, e = 0;

        (void)state;
        assert_int_equal(json_member_span(t, strlen(t), "model", &s, &e), 0);
        assert_memory_equal(t + s, "\"yes\"", e - s);
        assert_int_equal(json_member_span(t, strlen(t), "missing", &s, &e), -1);
        assert_int_equal(json_member_span("[1]", 3, "a", &s, &e), -1);
        assert_int_equal(json_member_span("{\"a\":", 5, "b", &s, &e), -1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_url),
            cmocka_unit_test(test_body_only_model_and_max_tokens_change),
            cmocka_unit_test(test_body_untouched_when_nothing_to_change),
            cmocka_unit_test(test_recorded_claude_code_request),
            cmocka_unit_test(test_repair_translated_history),
            cmocka_unit_test(test_signed_thinking_kept),
            cmocka_unit_test(test_betas),
            cmocka_unit_test(test_headers),
            cmocka_unit_test(test_watch_stream),
            cmocka_unit_test(test_watch_message),
            cmocka_unit_test(test_member_span),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
