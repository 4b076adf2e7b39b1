/*
 * test_errors: Anthropic error bodies and the upstream error mapping of PROTOCOL.md §F.4,
 * including the context-overflow rewrites Claude Code acts on (§G 20, 21).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "errors.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

static void map(int status, const char *body, long max_tokens, struct errors_mapped *m)
{
        errors_from_upstream(status, body, strlen(body), max_tokens, m);
}

static void test_body_shape(void **state)
{
        struct buf b;
        cJSON *j;

        (void)state;
        buf_init(&b);
        errors_body(&b, "invalid_request_error", "bad \"thing\"\n", "req_1");
        j = cJSON_Parse(b.data);
        assert_non_null(j);
        assert_string_equal(json_get_str(j, "type"), "error");
        assert_string_equal(json_get_str(json_get(j, "error"), "type"), "invalid_request_error");
        assert_string_equal(json_get_str(json_get(j, "error"), "message"), "bad \"thing\"\n");
        assert_string_equal(json_get_str(j, "request_id"), "req_1");
        cJSON_Delete(j);
        buf_fini(&b);
}

static void test_event_frame(void **state)
{
        struct buf b;

        (void)state;
        buf_init(&b);
        errors_event(&b, "overloaded_error", "Overloaded");
        assert_string_equal(b.data, "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                                    "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
        buf_fini(&b);
}

static void test_status_table(void **state)
{
        static const struct {
                int in;
                int out;
                const char *type;
        } rows[] = {
            {400, 400, "invalid_request_error"},
            {422, 400, "invalid_request_error"},
            {401, 401, "authentication_error"},
            {402, 402, "billing_error"},
            {403, 403, "permission_error"},
            {404, 404, "not_found_error"},
            {408, 504, "timeout_error"},
            {413, 413, "request_too_large"},
            {429, 429, "rate_limit_error"},
            {500, 500, "api_error"},
            {502, 502, "api_error"},
            {503, 529, "overloaded_error"},
            {504, 504, "timeout_error"},
            {529, 529, "overloaded_error"},
            {418, 400, "invalid_request_error"},
            {599, 500, "api_error"},
        };
        (void)state;
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
                struct errors_mapped m;
                map(rows[i].in, "{\"error\":{\"message\":\"boom\"}}", 0, &m);
                assert_int_equal(m.status, rows[i].out);
                assert_string_equal(m.type, rows[i].type);
                assert_non_null(strstr(m.message, "boom"));
                free(m.message);
        }
}

static void test_quota_is_billing(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(429,
            "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":"
            "\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
            0, &m);
        assert_int_equal(m.status, 402);
        assert_string_equal(m.type, "billing_error");
        free(m.message);
}

static void test_overloaded_text(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(500, "{\"error\":{\"message\":\"The engine is currently overloaded\"}}", 0, &m);
        assert_int_equal(m.status, 529);
        assert_string_equal(m.type, "overloaded_error");
        free(m.message);
}

static void test_deepseek_context_split(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(400,
            "{\"error\":{\"message\":\"This model's maximum context length is 65536 tokens. "
            "However, you requested 70000 tokens (60000 in the messages, 10000 in the "
            "completion). Please reduce the length of the messages or completion.\","
            "\"type\":\"invalid_request_error\",\"code\":\"invalid_request_error\"}}",
            10000, &m);
        assert_int_equal(m.status, 400);
        assert_string_equal(m.type, "invalid_request_error");
        assert_non_null(strstr(m.message, "input length and `max_tokens` exceed context "
                                          "limit: 60000 + 10000 > 65536"));
        free(m.message);
}

static void test_openai_context_prompt(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(400,
            "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens. "
            "However, your messages resulted in 9000 tokens. Please reduce the length of the "
            "messages.\",\"code\":\"context_length_exceeded\"}}",
            0, &m);
        assert_int_equal(m.status, 400);
        assert_string_equal(m.message, "prompt is too long: 9000 tokens > 8192 maximum");
        free(m.message);
}

static void test_requested_total_split(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(400,
            "{\"error\":{\"message\":\"This model's maximum context length is 131072 tokens. "
            "However, you requested 140000 tokens.\",\"code\":\"context_length_exceeded\"}}",
            32000, &m);
        assert_non_null(strstr(m.message, "108000 + 32000 > 131072"));
        free(m.message);
}

static void test_non_json_body(void **state)
{
        struct errors_mapped m;

        (void)state;
        map(502, "<html>Bad Gateway</html>", 0, &m);
        assert_int_equal(m.status, 502);
        assert_non_null(strstr(m.message, "<html>Bad Gateway</html>"));
        free(m.message);
        map(500, "", 0, &m);
        assert_non_null(strstr(m.message, "(empty body)"));
        free(m.message);
}

static void test_transport(void **state)
{
        struct errors_mapped m;

        (void)state;
        errors_from_transport(1, "no data for 1000 ms", &m);
        assert_int_equal(m.status, 504);
        assert_string_equal(m.type, "timeout_error");
        free(m.message);
        errors_from_transport(0, "Connection refused", &m);
        assert_int_equal(m.status, 502);
        assert_string_equal(m.type, "api_error");
        assert_non_null(strstr(m.message, "Connection refused"));
        free(m.message);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_body_shape),
            cmocka_unit_test(test_event_frame),
            cmocka_unit_test(test_status_table),
            cmocka_unit_test(test_quota_is_billing),
            cmocka_unit_test(test_overloaded_text),
            cmocka_unit_test(test_deepseek_context_split),
            cmocka_unit_test(test_openai_context_prompt),
            cmocka_unit_test(test_requested_total_split),
            cmocka_unit_test(test_non_json_body),
            cmocka_unit_test(test_transport),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
