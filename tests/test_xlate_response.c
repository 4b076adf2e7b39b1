/*
 * test_xlate_response: the non-streaming translation (PROTOCOL.md §F.2), the pieces the stream
 * translator shares with it (stop reasons, usage, tool-argument repair), and
 * xlate_stream_from_message, which replays a whole message as events for clients that asked to
 * stream from an upstream that cannot (scenario 37 runs the other way: stream:false).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "ids.h"
#include "json.h"
#include "stream_validator.h"
#include "testutil.h"
#include "toolmap.h"
#include "xlate_response.h"
#include "xlate_stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED 42

static struct xlate_reply_opts default_opts(void)
{
        struct xlate_reply_opts o = {
            .model = "claude-sonnet-4-5", .input_estimate = 321, .seed = SEED};
        return o;
}

/* The n-th id ids_random gives from SEED: what the translator must have used. */
static void nth_id(int n, const char *prefix, char *out, size_t outsz)
{
        uint64_t st = SEED;

        for (int i = 0; i <= n; i++)
                ids_random(out, outsz, i == 0 ? "msg_" : prefix, &st);
}

/*
 * xlate_response_plain on completion: false when it leaves the answer to xlate_response;
 * otherwise its text and result must be exactly xlate_response's, printed by json_append.
 */
static bool plain_agrees(const char *completion, const struct xlate_reply_opts *opts)
{
        cJSON *in = json_parse(completion, strlen(completion), NULL);
        struct xlate_result full_res, plain_res;
        struct buf full, plain;
        char *cause = NULL;
        cJSON *msg = in != NULL ? xlate_response(in, opts, &full_res, &cause) : NULL;
        bool taken;

        buf_init(&full);
        buf_init(&plain);
        buf_puts(&plain, "x"); /* appended to, not overwritten */
        memset(&plain_res, 0x55, sizeof plain_res);
        taken = xlate_response_plain(completion, strlen(completion), opts, &plain_res, &plain);
        if (!taken) {
                assert_int_equal(plain.len, 1);
        } else {
                if (msg == NULL)
                        fail_msg("fast path took what xlate_response refuses: %s", completion);
                json_append(&full, msg);
                if (strcmp(buf_str(&plain) + 1, buf_str(&full)) != 0)
                        fail_msg("%s\nplain %s\nfull  %s", completion, buf_str(&plain) + 1,
                                 buf_str(&full));
                assert_memory_equal(&plain_res.usage, &full_res.usage, sizeof full_res.usage);
                assert_int_equal(plain_res.usage_estimated, full_res.usage_estimated);
                assert_string_equal(plain_res.stop_reason, full_res.stop_reason);
                assert_int_equal(plain_res.tool_calls, full_res.tool_calls);
        }
        buf_fini(&full);
        buf_fini(&plain);
        cJSON_Delete(msg);
        cJSON_Delete(in);
        free(cause);
        return taken;
}

static cJSON *run(const char *completion, const struct xlate_reply_opts *opts,
                  struct xlate_result *res)
{
        cJSON *in = testutil_json(completion);
        char *cause = NULL;
        cJSON *out = xlate_response(in, opts, res, &cause);

        if (out == NULL)
                fail_msg("xlate_response failed: %s", cause);
        cJSON_Delete(in);
        plain_agrees(completion, opts);
        return out;
}

static void assert_json(const cJSON *got, const char *want_text)
{
        cJSON *want = testutil_json(want_text);

        if (!testutil_json_equal(got, want)) {
                char *g = json_print(got);
                fail_msg("got  %s\nwant %s", g, want_text);
        }
        cJSON_Delete(want);
}

/* Scenario 37: a stream:false answer is a full Message with usage. */
static void test_text_message(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        char id[64], want[1024];
        cJSON *m;

        (void)state;
        m = run("{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,"
                "\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
                "\"assistant\",\"content\":\"Hello there.\",\"refusal\":null},"
                "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
                "\"completion_tokens\":3,\"total_tokens\":15}}",
                &opts, &res);
        nth_id(0, "", id, sizeof id);
        snprintf(
            want, sizeof want,
            "{\"id\":\"%s\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
            "\"claude-sonnet-4-5\",\"content\":[{\"type\":\"text\",\"text\":\"Hello there.\"}],"
            "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,"
            "\"output_tokens\":3,\"cache_creation_input_tokens\":0,"
            "\"cache_read_input_tokens\":0}}",
            id);
        assert_json(m, want);
        assert_false(res.usage_estimated);
        assert_string_equal(res.stop_reason, "end_turn");
        assert_int_equal(res.tool_calls, 0);
        cJSON_Delete(m);
}

static void test_order_thinking_text_tools(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        char id[64], want[2048];
        cJSON *m;

        (void)state;
        m = run("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
                "\"content\":\"I will list.\",\"reasoning_content\":\"Need ls.\","
                "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
                "\"Bash\",\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}},{\"id\":\"functions."
                "Read:1\","
                "\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"\"}},"
                "{\"type\":\"function\",\"function\":{\"name\":\"Glob\",\"arguments\":"
                "{\"pattern\":\"*\"}}}]},\"finish_reason\":\"tool_calls\"}],"
                "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":20}}",
                &opts, &res);
        nth_id(1, "toolu_", id, sizeof id);
        snprintf(
            want, sizeof want,
            "[{\"type\":\"thinking\",\"thinking\":\"Need ls.\",\"signature\":\"\"},"
            "{\"type\":\"text\",\"text\":\"I will list.\"},"
            "{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":\"Bash\",\"input\":{\"command\":"
            "\"ls\"}},{\"type\":\"tool_use\",\"id\":\"functions_Read_1\",\"name\":\"Read\","
            "\"input\":{}},{\"type\":\"tool_use\",\"id\":\"%s\",\"name\":\"Glob\",\"input\":"
            "{\"pattern\":\"*\"}}]",
            id);
        assert_json(json_get(m, "content"), want);
        assert_string_equal(json_get_str(m, "stop_reason"), "tool_use");
        assert_int_equal(res.tool_calls, 3);
        cJSON_Delete(m);
}

static void test_reasoning_sources(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        cJSON *m;

        (void)state;
        /* OpenRouter sends reasoning and the same text in reasoning_details: no duplicate. */
        m = run("{\"choices\":[{\"message\":{\"content\":\"Paris.\",\"reasoning\":\"Capital.\","
                "\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"Capital.\","
                "\"signature\":\"sig123\"}]},\"finish_reason\":\"stop\"}]}",
                &opts, &res);
        assert_json(json_get(m, "content"),
                    "[{\"type\":\"thinking\",\"thinking\":\"Capital.\",\"signature\":\"sig123\"},"
                    "{\"type\":\"text\",\"text\":\"Paris.\"}]");
        cJSON_Delete(m);
        m = run("{\"choices\":[{\"message\":{\"content\":null,\"reasoning_details\":["
                "{\"type\":\"reasoning.text\",\"text\":\"a\"},{\"type\":\"reasoning.text\","
                "\"text\":\"b\"}]},\"finish_reason\":\"stop\"}]}",
                &opts, &res);
        assert_json(json_get(m, "content"),
                    "[{\"type\":\"thinking\",\"thinking\":\"ab\",\"signature\":\"\"}]");
        cJSON_Delete(m);
}

static cJSON *input_for(const char *arguments_json)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        char body[1024];
        cJSON *m, *input;

        snprintf(body, sizeof body,
                 "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":"
                 "\"T\",\"arguments\":%s}}]},\"finish_reason\":\"tool_calls\"}]}",
                 arguments_json);
        m = run(body, &opts, &res);
        input = cJSON_DetachItemFromObject(cJSON_GetArrayItem(json_get(m, "content"), 0), "input");
        cJSON_Delete(m);
        return input;
}

static void test_tool_arguments(void **state)
{
        static const struct {
                const char *args, *want;
        } cases[] = {
            {"\"\"", "{}"},
            {"\"   \"", "{}"},
            {"{\"a\":1}", "{\"a\":1}"},
            {"\"{\\\"a\\\":1}\"", "{\"a\":1}"},
            {"\"{}{\\\"location\\\":\\\"Boston\\\"}\"", "{\"location\":\"Boston\"}"},
            {"\"{\\\"a\\\":1}{\\\"b\\\":2}\"", "{\"a\":1}"},
            {"\"Sure: {\\\"a\\\":\\\"}\\\"} done\"", "{\"a\":\"}\"}"},
            {"\"not json\"", "{}"},
            {"\"{\\\"a\\\":\"", "{}"},
            {"\"[1,2]\"", "{}"},
            {"\"\\\"{\\\\\\\"x\\\\\\\":2}\\\"\"", "{\"x\":2}"},
            {"null", "{}"},
        };

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                cJSON *got = input_for(cases[i].args);
                cJSON *want = testutil_json(cases[i].want);

                if (!testutil_json_equal(got, want))
                        fail_msg("arguments %s gave %s", cases[i].args, json_print(got));
                cJSON_Delete(got);
                cJSON_Delete(want);
        }
}

static void test_tool_args_text(void **state)
{
        char *s;

        (void)state;
        assert_null(xlate_response_tool_args("", 0));
        assert_null(xlate_response_tool_args(" \n", 2));
        s = xlate_response_tool_args(" {\"a\": [1, {\"b\": \"}\"}]} ", 25);
        assert_string_equal(s, "{\"a\": [1, {\"b\": \"}\"}]}");
        free(s);
        s = xlate_response_tool_args("{} {}", 5);
        assert_string_equal(s, "{}");
        free(s);
}

static void test_names_restored_and_nameless_dropped(void **state)
{
        static const char long_name[] =
            "mcp__claude_in_chrome__browser_navigate_to_url_and_wait_for_network_idle_x";
        struct xlate_reply_opts opts = default_opts();
        struct toolmap *names = toolmap_new();
        struct xlate_result res;
        const char *up = toolmap_upstream(names, long_name);
        char body[1024];
        cJSON *m, *content;

        (void)state;
        opts.names = names;
        snprintf(body, sizeof body,
                 "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"a\",\"function\":"
                 "{\"arguments\":\"{}\"}},{\"id\":\"b\",\"function\":{\"name\":\"%s\","
                 "\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}",
                 up);
        m = run(body, &opts, &res);
        content = json_get(m, "content");
        assert_int_equal(cJSON_GetArraySize(content), 1);
        assert_string_equal(json_get_str(cJSON_GetArrayItem(content, 0), "name"), long_name);
        assert_int_equal(res.tool_calls, 1);
        cJSON_Delete(m);
        toolmap_free(names);
}

static void test_legacy_function_call(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        cJSON *m;

        (void)state;
        m = run("{\"choices\":[{\"message\":{\"content\":null,\"function_call\":{\"name\":\"Bash\","
                "\"arguments\":\"{\\\"command\\\":\\\"pwd\\\"}\"}},\"finish_reason\":"
                "\"function_call\"}]}",
                &opts, &res);
        assert_string_equal(json_get_str(m, "stop_reason"), "tool_use");
        assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(m, "content"), 0), "name"),
                            "Bash");
        cJSON_Delete(m);
}

static void test_stop_reasons(void **state)
{
        cJSON *stops = testutil_json("[\"END\",\"###\"]");
        cJSON *end = cJSON_CreateString("END");
        cJSON *other = cJSON_CreateString("FOO");
        cJSON *token = cJSON_CreateNumber(151645);
        const char *seq = "x";

        (void)state;
        assert_string_equal(xlate_response_stop_reason("stop", false, NULL, NULL, false, &seq),
                            "end_turn");
        assert_null(seq);
        assert_string_equal(xlate_response_stop_reason("stop", false, end, stops, false, &seq),
                            "stop_sequence");
        assert_string_equal(seq, "END");
        assert_string_equal(xlate_response_stop_reason("stop", false, other, stops, false, &seq),
                            "end_turn");
        assert_null(seq);
        assert_string_equal(xlate_response_stop_reason("stop", false, token, stops, false, &seq),
                            "end_turn");
        assert_string_equal(xlate_response_stop_reason("stop", false, end, NULL, false, &seq),
                            "end_turn");
        assert_string_equal(xlate_response_stop_reason("length", false, NULL, NULL, false, &seq),
                            "max_tokens");
        assert_string_equal(xlate_response_stop_reason("length", true, NULL, NULL, false, &seq),
                            "max_tokens");
        assert_string_equal(xlate_response_stop_reason("tool_calls", true, NULL, NULL, false, &seq),
                            "tool_use");
        assert_string_equal(
            xlate_response_stop_reason("function_call", true, NULL, NULL, false, &seq), "tool_use");
        assert_string_equal(xlate_response_stop_reason("stop", true, NULL, NULL, false, &seq),
                            "tool_use");
        assert_string_equal(xlate_response_stop_reason(NULL, true, NULL, NULL, false, &seq),
                            "tool_use");
        /* A tool_calls finish whose calls were all unusable is an ordinary end. */
        assert_string_equal(
            xlate_response_stop_reason("tool_calls", false, NULL, NULL, false, &seq), "end_turn");
        assert_string_equal(
            xlate_response_stop_reason("content_filter", false, NULL, NULL, false, &seq),
            "refusal");
        assert_string_equal(
            xlate_response_stop_reason("content_filter", false, NULL, NULL, true, &seq),
            "end_turn");
        assert_string_equal(xlate_response_stop_reason(NULL, false, NULL, NULL, false, &seq),
                            "end_turn");
        assert_string_equal(xlate_response_stop_reason("eos", false, NULL, NULL, false, NULL),
                            "end_turn");
        cJSON_Delete(stops);
        cJSON_Delete(end);
        cJSON_Delete(other);
        cJSON_Delete(token);
}

static void check_usage(const char *json, bool ok, long in, long out, long read, long write)
{
        cJSON *u = testutil_json(json);
        struct usage got = {-1, -1, -1, -1};

        struct xlate_reply_opts opts = default_opts();
        char *completion = xasprintf("{\"choices\":[{\"message\":{\"content\":\"hi\"},"
                                     "\"finish_reason\":\"stop\"}],\"usage\":%s}",
                                     json);

        assert_int_equal(xlate_response_usage(u, &got), ok);
        if (ok) {
                if (got.input != in || got.output != out || got.cache_read != read ||
                    got.cache_write != write)
                        fail_msg("%s -> %ld %ld %ld %ld", json, got.input, got.output,
                                 got.cache_read, got.cache_write);
        }
        /* The fast path reads usage objects itself: the same numbers. */
        if (json[0] == '{' && !plain_agrees(completion, &opts))
                fail_msg("the fast path left this usage to xlate_response: %s", json);
        free(completion);
        cJSON_Delete(u);
}

static void test_usage_mapping(void **state)
{
        (void)state;
        check_usage("{\"prompt_tokens\":100,\"completion_tokens\":7}", true, 100, 7, 0, 0);
        check_usage("{\"prompt_tokens\":100,\"completion_tokens\":7,\"prompt_tokens_details\":"
                    "{\"cached_tokens\":60,\"cache_write_tokens\":30}}",
                    true, 10, 7, 60, 30);
        /* DeepSeek */
        check_usage("{\"prompt_tokens\":100,\"completion_tokens\":7,\"prompt_cache_hit_tokens\":"
                    "64,\"prompt_cache_miss_tokens\":36}",
                    true, 36, 7, 64, 0);
        /* Moonshot */
        check_usage("{\"prompt_tokens\":100,\"completion_tokens\":7,\"cached_tokens\":90}", true,
                    10, 7, 90, 0);
        /* Never negative. */
        check_usage("{\"prompt_tokens\":10,\"completion_tokens\":1,\"prompt_tokens_details\":"
                    "{\"cached_tokens\":60}}",
                    true, 0, 1, 60, 0);
        /* Members of other types, negative numbers: absent. */
        check_usage("{\"prompt_tokens\":\"12\",\"completion_tokens\":-3,\"output_tokens\":4,"
                    "\"prompt_tokens_details\":null,\"total_tokens\":1.5}",
                    true, 0, 4, 0, 0);
        check_usage("{\"input_tokens\":null,\"prompt_tokens_details\":{\"cached_tokens\":[]}}",
                    true, 0, 0, 0, 0);
        check_usage("{\"total_tokens\":9}", false, 0, 0, 0, 0);
        check_usage("null", false, 0, 0, 0, 0);
        check_usage("{}", false, 0, 0, 0, 0);
        check_usage("[1]", false, 0, 0, 0, 0);
}

/* No usage: the estimate, flagged, and all four fields still present (free-claude-code#209). */
static void test_usage_estimated(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        cJSON *m;

        (void)state;
        m = run("{\"choices\":[{\"message\":{\"content\":\"0123456789abcdef\"},"
                "\"finish_reason\":\"stop\"}]}",
                &opts, &res);
        assert_true(res.usage_estimated);
        assert_json(json_get(m, "usage"),
                    "{\"input_tokens\":321,\"output_tokens\":4,\"cache_creation_input_tokens\":0,"
                    "\"cache_read_input_tokens\":0}");
        cJSON_Delete(m);
        /* Empty answer: content [], at least one output token. */
        m = run("{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":null}]}", &opts,
                &res);
        assert_int_equal(cJSON_GetArraySize(json_get(m, "content")), 0);
        assert_string_equal(json_get_str(m, "stop_reason"), "end_turn");
        assert_int_equal(res.usage.output, 1);
        cJSON_Delete(m);
}

static void test_stop_sequence_in_message(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        cJSON *stops = testutil_json("[\"</answer>\"]");
        cJSON *m;

        (void)state;
        opts.stop_sequences = stops;
        m = run("{\"choices\":[{\"message\":{\"content\":\"42\"},\"finish_reason\":\"stop\","
                "\"stop_reason\":\"</answer>\"}]}",
                &opts, &res);
        assert_string_equal(json_get_str(m, "stop_reason"), "stop_sequence");
        assert_string_equal(json_get_str(m, "stop_sequence"), "</answer>");
        cJSON_Delete(m);
        cJSON_Delete(stops);
}

static void test_unusable(void **state)
{
        static const char *bad[] = {
            "[]",
            "{\"error\":{\"message\":\"model overloaded\",\"code\":503}}",
            "{\"error\":\"boom\"}",
            "{\"choices\":[]}",
            "{\"object\":\"chat.completion\"}",
        };
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;

        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                cJSON *in = testutil_json(bad[i]);
                char *cause = NULL;

                assert_null(xlate_response(in, &opts, &res, &cause));
                assert_non_null(cause);
                free(cause);
                cJSON_Delete(in);
        }
}

/* Which answers the fast path takes (and, through plain_agrees, that it gets them right). */
static void test_plain_fast_path(void **state)
{
        static const struct {
                bool taken;
                const char *completion;
        } cases[] = {
            {true,
             "{\"id\":\"c1\",\"object\":\"chat.completion\",\"created\":1,\"choices\":"
             "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"Hello \\\"you\\\""
             " \\u00e9\\ud83d\\ude00\\/\",\"refusal\":null,\"tool_calls\":null},\"logprobs\":"
             "null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
             "\"completion_tokens\":7,\"total_tokens\":19,\"prompt_tokens_details\":"
             "{\"cached_tokens\":4,\"audio_tokens\":0}}}"},
            {true, "{\"choices\":[{\"message\":{\"content\":\"x\",\"reasoning_content\":\"hmm\"},"
                   "\"finish_reason\":\"length\"}]}"},
            {true, "{\"choices\":[{\"message\":{\"content\":null,\"reasoning\":\"r\"},"
                   "\"finish_reason\":\"content_filter\",\"stop_reason\":151643}]}"},
            {true, "{\"choices\":[{\"message\":{\"content\":\"\",\"refusal\":\"no\"}}],"
                   "\"error\":null}"},
            {true, "{\"choices\":[{\"message\":{}}, {\"message\":{\"content\":\"second\"}}]}"},
            {true, "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":"
                   "\"a_very_long_unknown_reason_30\"}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":"
                    "\"a_very_long_unknown_reason_of_32\"}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":[{\"id\":"
                    "\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
                    "\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":"
                    "\"a\"}]}}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\",\"reasoning_details\":[]}}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":\"stop\","
                    "\"stop_reason\":\"</a>\"}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\",\"content\":\"b\"}}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"nul \\u0000 inside\"}}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"usage\":"
                    "{\"prompt_tokens\":1e3}}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\"}}],\"usage\":"
                    "{\"prompt_tokens\":12345678901234567}}"},
            {false, "{\"choices\":[{\"message\":{\"\\u0063ontent\":\"a\"}}]}"},
            {false, "{\"error\":{\"message\":\"boom\"}}"},
            {false, "{\"choices\":[]}"},
            {false, "{\"choices\":[{\"message\":\"a\"}]}"},
            {false, "{\"choices\":[{\"message\":{\"content\":\"a\"}}]} trailing"},
            {false, "[]"},
        };
        struct xlate_reply_opts opts = default_opts();

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                if (plain_agrees(cases[i].completion, &opts) != cases[i].taken)
                        fail_msg("case %zu: fast path %s: %s", i,
                                 cases[i].taken ? "not taken" : "taken", cases[i].completion);
        /* The model it reports and content_filter as end_turn come from the options. */
        opts.model = "my \"model\"";
        opts.content_filter_end_turn = true;
        assert_true(plain_agrees(cases[2].completion, &opts));
        opts.model = NULL;
        assert_true(plain_agrees(cases[0].completion, &opts));
}

static char *replay(const char *msg_json, struct stream_summary *sum)
{
        cJSON *msg = testutil_json(msg_json);
        struct buf out;
        char *cause = NULL;

        buf_init(&out);
        xlate_stream_from_message(msg, &out);
        if (stream_validator_check(out.data, out.len, sum, &cause) != 0)
                fail_msg("%s\n%s", cause, out.data);
        cJSON_Delete(msg);
        return buf_detach(&out);
}

/* A translated answer replayed as a stream is a valid stream with the same content. */
static void test_from_message(void **state)
{
        struct xlate_reply_opts opts = default_opts();
        struct xlate_result res;
        struct stream_summary sum;
        char *printed, *events;
        cJSON *m;

        (void)state;
        m = run("{\"choices\":[{\"message\":{\"content\":\"Let me look.\",\"reasoning_content\":"
                "\"hm\",\"tool_calls\":[{\"id\":\"call_9\",\"function\":{\"name\":\"Read\","
                "\"arguments\":\"{\\\"file_path\\\":\\\"x\\\"}\"}},{\"id\":\"call_10\","
                "\"function\":{\"name\":\"TodoRead\",\"arguments\":\"\"}}]},"
                "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":50,"
                "\"completion_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":20}}}",
                &opts, &res);
        printed = json_print(m);
        events = replay(printed, &sum);
        assert_false(sum.failed);
        assert_int_equal(sum.blocks, 4);
        assert_int_equal(sum.tool_uses, 2);
        assert_string_equal(sum.stop_reason, "tool_use");
        assert_int_equal(sum.input_tokens, 30);
        assert_int_equal(sum.output_tokens, 9);
        assert_non_null(strstr(events, "\"partial_json\":\"{\\\"file_path\\\":\\\"x\\\"}\""));
        assert_non_null(strstr(events, "\"cache_read_input_tokens\":20"));
        free(events);
        free(printed);
        cJSON_Delete(m);
}

static void test_from_message_exact(void **state)
{
        struct stream_summary sum;
        char *events;

        (void)state;
        events = replay("{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
                        "\"m\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
                        "\"signature\":\"s\"},{\"type\":\"redacted_thinking\",\"data\":\"r\"},"
                        "{\"type\":\"text\",\"text\":\"\"},{\"type\":\"text\",\"text\":\"A\"}],"
                        "\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"Z\",\"usage\":{"
                        "\"input_tokens\":3,\"output_tokens\":2,\"cache_creation_input_tokens\":0,"
                        "\"cache_read_input_tokens\":0}}",
                        &sum);
        assert_string_equal(
            events,
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
            "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],"
            "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,"
            "\"output_tokens\":1,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}"
            "\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"t\"}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"signature_delta\",\"signature\":\"s\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
            "\"content_block\":{\"type\":\"redacted_thinking\",\"data\":\"r\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,"
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":2,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"A\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
            "\"stop_sequence\",\"stop_sequence\":\"Z\"},\"usage\":{\"input_tokens\":3,"
            "\"output_tokens\":2,\"cache_read_input_tokens\":0,\"cache_creation_input_tokens\":0}}"
            "\n\n"
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        free(events);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_text_message),
            cmocka_unit_test(test_order_thinking_text_tools),
            cmocka_unit_test(test_reasoning_sources),
            cmocka_unit_test(test_tool_arguments),
            cmocka_unit_test(test_tool_args_text),
            cmocka_unit_test(test_names_restored_and_nameless_dropped),
            cmocka_unit_test(test_legacy_function_call),
            cmocka_unit_test(test_stop_reasons),
            cmocka_unit_test(test_usage_mapping),
            cmocka_unit_test(test_usage_estimated),
            cmocka_unit_test(test_stop_sequence_in_message),
            cmocka_unit_test(test_unusable),
            cmocka_unit_test(test_plain_fast_path),
            cmocka_unit_test(test_from_message),
            cmocka_unit_test(test_from_message_exact),
        };

        alloc_init_cjson();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
