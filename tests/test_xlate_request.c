/*
 * test_xlate_request: the Anthropic -> OpenAI request translation. Small requests are checked
 * against the exact OpenAI body expected (PROTOCOL.md §G scenarios 22-35 and the Claude Code
 * 2.1 specifics of CLAUDE_CODE.md); the recorded Claude Code requests in fixtures/claude-code/
 * are translated and checked against the rules an OpenAI server enforces.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "testutil.h"
#include "toolmap.h"
#include "xlate_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct xlate_request_opts opts(void)
{
        struct xlate_request_opts o;

        memset(&o, 0, sizeof o);
        o.upstream_model = "up";
        o.reasoning = XLATE_REASONING_EFFORT;
        o.history_thinking = XLATE_HISTORY_DROP;
        o.tool_ids = IDS_STYLE_DEFAULT;
        return o;
}

/* Translates req (parsed with the proxy's tolerant parser); fails the test on an error. */
static cJSON *xl_names(const char *req, const struct xlate_request_opts *o, struct toolmap *names)
{
        char *cause = NULL;
        cJSON *in = json_parse(req, strlen(req), &cause);
        cJSON *out = NULL;

        if (in == NULL)
                fail_msg("bad test input: %s", cause);
        if (xlate_request(in, o, names, &out, &cause) != 0)
                fail_msg("xlate_request failed: %s", cause);
        cJSON_Delete(in);
        return out;
}

static cJSON *xl(const char *req, const struct xlate_request_opts *o)
{
        struct toolmap *names = toolmap_new();
        cJSON *out = xl_names(req, o, names);

        toolmap_free(names);
        return out;
}

static void assert_json(const cJSON *got, const char *want_text)
{
        cJSON *want = testutil_json(want_text);

        if (!testutil_json_equal(got, want)) {
                char *g = cJSON_Print(got);
                char *w = cJSON_Print(want);
                print_error("got:\n%s\nwant:\n%s\n", g, w);
                free(g);
                free(w);
                cJSON_Delete(want);
                fail();
        }
        cJSON_Delete(want);
}

/* The whole body must equal want. */
static void expect_body(const char *req, const struct xlate_request_opts *o, const char *want)
{
        cJSON *out = xl(req, o);

        assert_json(out, want);
        cJSON_Delete(out);
}

/* Only body.messages must equal want. */
static void expect_messages(const char *req, const struct xlate_request_opts *o, const char *want)
{
        cJSON *out = xl(req, o);

        assert_json(json_get(out, "messages"), want);
        cJSON_Delete(out);
}

static void expect_error(const char *req, const char *want_cause)
{
        struct xlate_request_opts o = opts();
        cJSON *in = testutil_json(req);
        cJSON *out = NULL;
        char *cause = NULL;

        assert_int_equal(xlate_request(in, &o, NULL, &out, &cause), -1);
        assert_null(out);
        assert_non_null(cause);
        if (strcmp(cause, want_cause) != 0)
                fail_msg("cause \"%s\", want \"%s\"", cause, want_cause);
        free(cause);
        cJSON_Delete(in);
}

static int id_ok(const char *s)
{
        size_t n = strlen(s);

        return n >= 1 && n <= 40 &&
               strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

/*
 * What an OpenAI server checks: every tool call of an assistant message is answered by exactly
 * one of the tool messages right after it, tool messages follow only such a message, call ids
 * are unique in the request, a system message comes first if at all, and tools/tool_choice
 * appear together.
 */
static void assert_openai_valid(const cJSON *body)
{
        const cJSON *msgs = json_get(body, "messages");
        const cJSON *m;
        const cJSON *open_calls = NULL; /* tool_calls still to be answered */
        int answered = 0, idx = 0;
        char seen[256][64];
        int n_seen = 0;

        assert_true(cJSON_IsArray(msgs));
        assert_true(cJSON_GetArraySize(msgs) > 0);
        assert_non_null(json_get_str(body, "model"));
        cJSON_ArrayForEach(m, msgs)
        {
                const char *role = json_get_str(m, "role");

                assert_non_null(role);
                if (strcmp(role, "tool") == 0) {
                        const char *id = json_get_str(m, "tool_call_id");
                        const cJSON *c;
                        int found = 0;

                        if (open_calls == NULL)
                                fail_msg("messages.%d: tool message without a call", idx);
                        assert_non_null(id);
                        assert_true(cJSON_IsString(json_get(m, "content")));
                        cJSON_ArrayForEach(c, open_calls)
                        {
                                found += strcmp(json_get_str(c, "id"), id) == 0;
                        }
                        if (found != 1)
                                fail_msg("messages.%d: tool message for unknown id %s", idx, id);
                        answered++;
                } else {
                        if (open_calls != NULL && answered != cJSON_GetArraySize(open_calls))
                                fail_msg("messages.%d: %d of %d tool calls answered", idx, answered,
                                         cJSON_GetArraySize(open_calls));
                        open_calls = NULL;
                        answered = 0;
                        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0)
                                assert_int_equal(idx, 0);
                        else
                                assert_true(strcmp(role, "user") == 0 ||
                                            strcmp(role, "assistant") == 0);
                        if (strcmp(role, "user") == 0) {
                                const cJSON *content = json_get(m, "content");
                                assert_true(cJSON_IsString(content) ||
                                            cJSON_GetArraySize(content) > 0);
                        }
                }
                if (strcmp(role, "assistant") == 0 && json_get(m, "tool_calls") != NULL) {
                        const cJSON *c;
                        open_calls = json_get(m, "tool_calls");
                        assert_true(cJSON_GetArraySize(open_calls) > 0);
                        cJSON_ArrayForEach(c, open_calls)
                        {
                                const char *id = json_get_str(c, "id");
                                const cJSON *fn = json_get(c, "function");
                                cJSON *args;

                                assert_true(id != NULL && id_ok(id));
                                for (int k = 0; k < n_seen; k++)
                                        if (strcmp(seen[k], id) == 0)
                                                fail_msg("tool call id %s used twice", id);
                                assert_true(n_seen < 256);
                                snprintf(seen[n_seen++], sizeof seen[0], "%s", id);
                                assert_string_equal(json_get_str(c, "type"), "function");
                                assert_non_null(json_get_str(fn, "name"));
                                args = cJSON_Parse(json_get_str(fn, "arguments"));
                                assert_true(cJSON_IsObject(args));
                                cJSON_Delete(args);
                        }
                }
                idx++;
        }
        if (open_calls != NULL && answered != cJSON_GetArraySize(open_calls))
                fail_msg("the last tool calls are not all answered");
        if (json_get(body, "tools") == NULL) {
                assert_null(json_get(body, "tool_choice"));
                assert_null(json_get(body, "parallel_tool_calls"));
        } else {
                assert_true(cJSON_GetArraySize(json_get(body, "tools")) > 0);
        }
}

/* ---- §G 22-26: tool results ---------------------------------------------------------------- */

#define TWO_CALLS                                                                                  \
        "{\"role\":\"user\",\"content\":\"list and read\"},"                                       \
        "{\"role\":\"assistant\",\"content\":["                                                    \
        "{\"type\":\"tool_use\",\"id\":\"toolu_A\",\"name\":\"Bash\",\"input\":{\"command\":"      \
        "\"ls\"}},"                                                                                \
        "{\"type\":\"tool_use\",\"id\":\"toolu_B\",\"name\":\"Read\",\"input\":{\"path\":\"x\"}}]" \
        "}"

#define TWO_CALLS_OUT                                                                              \
        "{\"role\":\"user\",\"content\":\"list and read\"},"                                       \
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["                                \
        "{\"id\":\"toolu_A\",\"type\":\"function\",\"function\":{\"name\":\"Bash\","               \
        "\"arguments\":\"{\\\"command\\\":\\\"ls\\\"}\"}},"                                        \
        "{\"id\":\"toolu_B\",\"type\":\"function\",\"function\":{\"name\":\"Read\","               \
        "\"arguments\":\"{\\\"path\\\":\\\"x\\\"}\"}}]}"

static void test_g22_results_then_text(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_body(
            "{\"model\":\"claude\",\"max_tokens\":100,\"messages\":[" TWO_CALLS ","
            "{\"role\":\"user\",\"content\":["
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"a.txt\"},"
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"content\":"
            "[{\"type\":\"text\",\"text\":\"line1\"},{\"type\":\"text\",\"text\":"
            "\"line2\"}]},"
            "{\"type\":\"text\",\"text\":\"now summarise\"}]}]}",
            &o,
            "{\"model\":\"up\",\"max_tokens\":100,\"messages\":[" TWO_CALLS_OUT ","
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"a.txt\"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"line1\\nline2\"},"
            "{\"role\":\"user\",\"content\":\"now summarise\"}]}");
}

static void test_g23_results_reordered(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_messages("{\"messages\":[" TWO_CALLS ","
                        "{\"role\":\"user\",\"content\":["
                        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"content\":\"b\"},"
                        "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"a\"}"
                        "]}]}",
                        &o,
                        "[" TWO_CALLS_OUT ","
                        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"a\"},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"b\"}]");
}

static void test_g24_image_in_tool_result(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_messages(
            "{\"messages\":[" TWO_CALLS ","
            "{\"role\":\"user\",\"content\":["
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"ok\"},"
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"content\":["
            "{\"type\":\"text\",\"text\":\"screenshot:\"},"
            "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\","
            "\"data\":\"iVBORw0\"}}]}]}]}",
            &o,
            "[" TWO_CALLS_OUT ","
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"ok\"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\","
            "\"content\":\"screenshot:\\n[image attached below]\"},"
            "{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
            "{\"url\":\"data:image/png;base64,iVBORw0\"}}]}]");
}

static void test_g25_is_error(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_messages(
            "{\"messages\":[" TWO_CALLS ","
            "{\"role\":\"user\",\"content\":["
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"no such file\","
            "\"is_error\":true},"
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"is_error\":false}]}]}",
            &o,
            "[" TWO_CALLS_OUT ","
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"[error] no such file\"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"\"}]");
}

/* models.yaml's empty_tool_result replaces only an empty result: not an error's prefix, not
 * the placeholder for a call the client never answered. */
static void test_empty_tool_result(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        o.empty_tool_result = "(no output)";
        expect_messages(
            "{\"messages\":[" TWO_CALLS ","
            "{\"role\":\"user\",\"content\":["
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":[],"
            "\"is_error\":true},"
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_B\",\"content\":\"\"}]},"
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_C\","
            "\"name\":\"Read\",\"input\":{}}]},"
            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_C\"}"
            "]}]}",
            &o,
            "[" TWO_CALLS_OUT ","
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"[error] \"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"(no output)\"},"
            "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"toolu_C\","
            "\"type\":\"function\",\"function\":{\"name\":\"Read\",\"arguments\":\"{}\"}}]},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_C\",\"content\":\"(no output)\"}]");
}

static void test_g26_dangling_and_orphan(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        /* B never answered; Z answers nothing. */
        expect_messages(
            "{\"messages\":[" TWO_CALLS ","
            "{\"role\":\"user\",\"content\":["
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"a\"},"
            "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_Z\",\"content\":\"zz\"},"
            "{\"type\":\"text\",\"text\":\"go on\"}]}]}",
            &o,
            "[" TWO_CALLS_OUT ","
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"a\"},"
            "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"[no result]\"},"
            "{\"role\":\"user\",\"content\":\"[tool result for toolu_Z]\\nzz\\n\\ngo on\"}]");
        /* Calls at the very end and calls followed by another assistant turn. */
        expect_messages("{\"messages\":[" TWO_CALLS "]}", &o,
                        "[" TWO_CALLS_OUT ","
                        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_A\",\"content\":\"[no "
                        "result]\"},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"toolu_B\",\"content\":\"[no "
                        "result]\"}]");
        /* A result with no assistant turn before it at all. */
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                        "\"tool_use_id\":\"x\",\"content\":\"out\"}]}]}",
                        &o, "[{\"role\":\"user\",\"content\":\"[tool result for x]\\nout\"}]");
}

/* ---- §G 27-28: system prompt, thinking history --------------------------------------------- */

static void test_g27_system_billing_and_cache_control(void **state)
{
        struct xlate_request_opts o = opts();
        cJSON *out;
        char *s;

        (void)state;
        expect_body(
            "{\"system\":[{\"type\":\"text\",\"text\":\"x-anthropic-billing-header: "
            "cc_version=2.1.331.6b3; cc_entrypoint=sdk-cli; cch=abc;\"},"
            "{\"type\":\"text\",\"text\":\"You are Claude Code.\",\"cache_control\":{\"type\":"
            "\"ephemeral\",\"scope\":\"global\"}},"
            "{\"type\":\"text\",\"text\":\"\"},"
            "{\"type\":\"text\",\"text\":\"Be brief.\",\"cache_control\":{\"type\":"
            "\"ephemeral\",\"ttl\":\"1h\"}}],"
            "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\","
            "\"cache_control\":{\"type\":\"ephemeral\"}}]}],"
            "\"service_tier\":\"auto\",\"top_k\":5,\"container\":\"c\",\"mcp_servers\":[],"
            "\"context_management\":{\"edits\":[]}}",
            &o,
            "{\"model\":\"up\",\"messages\":["
            "{\"role\":\"system\",\"content\":\"You are Claude Code.\\n\\nBe brief.\"},"
            "{\"role\":\"user\",\"content\":\"hi\"}]}");

        /* The string form, and the developer role. */
        o.developer_role = true;
        expect_messages("{\"system\":\"Be nice.\",\"messages\":[{\"role\":\"user\",\"content\":"
                        "\"hi\"}]}",
                        &o,
                        "[{\"role\":\"developer\",\"content\":\"Be nice.\"},"
                        "{\"role\":\"user\",\"content\":\"hi\"}]");

        /* cache_control on tools and tool results leaves no trace either. */
        o = opts();
        out = xl("{\"tools\":[{\"name\":\"Bash\",\"input_schema\":{\"type\":\"object\"},"
                 "\"cache_control\":{\"type\":\"ephemeral\"}}],"
                 "\"messages\":[" TWO_CALLS ",{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"tool_result\",\"tool_use_id\":\"toolu_A\",\"content\":\"x\","
                 "\"cache_control\":{\"type\":\"ephemeral\"}}]}]}",
                 &o);
        s = json_print(out);
        assert_null(strstr(s, "cache_control"));
        assert_null(strstr(s, "ephemeral"));
        free(s);
        cJSON_Delete(out);
}

#define THINKING_HISTORY                                                                           \
        "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"                                   \
        "{\"role\":\"assistant\",\"content\":["                                                    \
        "{\"type\":\"thinking\",\"thinking\":\"Need ls.\",\"signature\":\"sig\"},"                 \
        "{\"type\":\"redacted_thinking\",\"data\":\"opaque\"},"                                    \
        "{\"type\":\"text\",\"text\":\"Listing.\"},"                                               \
        "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Bash\",\"input\":{}}]},"                  \
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","        \
        "\"content\":\"a\"}]},"                                                                    \
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Done.\"}]},"           \
        "{\"role\":\"user\",\"content\":\"thanks\"}]}"

static void test_g28_thinking_history(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_messages(THINKING_HISTORY, &o,
                        "[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":\"Listing.\",\"tool_calls\":[{\"id\":"
                        "\"t1\",\"type\":\"function\",\"function\":{\"name\":\"Bash\","
                        "\"arguments\":\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"a\"},"
                        "{\"role\":\"assistant\",\"content\":\"Done.\"},"
                        "{\"role\":\"user\",\"content\":\"thanks\"}]");
        /* DeepSeek: thinking comes back as reasoning_content, and a tool-call turn always has
         * the field; a plain answer without thinking does not need it. */
        o.history_thinking = XLATE_HISTORY_REASONING_CONTENT;
        expect_messages(THINKING_HISTORY, &o,
                        "[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":\"Listing.\",\"reasoning_content\":"
                        "\"Need ls.\",\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\","
                        "\"function\":{\"name\":\"Bash\",\"arguments\":\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"a\"},"
                        "{\"role\":\"assistant\",\"content\":\"Done.\"},"
                        "{\"role\":\"user\",\"content\":\"thanks\"}]");
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                        "\"t1\",\"name\":\"Bash\",\"input\":{}}]}]}",
                        &o,
                        "[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":\"\","
                        "\"tool_calls\":[{\"id\":\"t1\",\"type\":\"function\",\"function\":"
                        "{\"name\":\"Bash\",\"arguments\":\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"[no "
                        "result]\"}]");
}

/* ---- §G 29-30: tools ------------------------------------------------------------------------- */

#define BASH_TOOL                                                                                  \
        "{\"name\":\"Bash\",\"description\":\"Run\",\"input_schema\":{\"type\":\"object\","        \
        "\"properties\":{\"command\":{\"type\":\"string\"}}}}"
#define BASH_FN                                                                                    \
        "{\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"description\":\"Run\","          \
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"command\":{\"type\":"               \
        "\"string\"}}}}}"
#define WEB_SEARCH "{\"type\":\"web_search_20250305\",\"name\":\"web_search\",\"max_uses\":5}"
#define HI         "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"
#define HI_OUT     "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static void test_g29_tool_choice(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_body("{" HI ",\"tools\":[" BASH_TOOL "," WEB_SEARCH "],"
                    "\"tool_choice\":{\"type\":\"any\",\"disable_parallel_tool_use\":true}}",
                    &o,
                    "{\"model\":\"up\"," HI_OUT ",\"tools\":[" BASH_FN "],"
                    "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}");
        expect_body("{" HI ",\"tools\":[" BASH_TOOL "],\"tool_choice\":{\"type\":\"auto\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"tools\":[" BASH_FN "],\"tool_choice\":"
                    "\"auto\"}");
        expect_body("{" HI ",\"tools\":[" BASH_TOOL "],\"tool_choice\":{\"type\":\"none\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"tools\":[" BASH_FN "],\"tool_choice\":"
                    "\"none\"}");
        expect_body("{" HI ",\"tools\":[" BASH_TOOL "],\"tool_choice\":{\"type\":\"tool\","
                    "\"name\":\"Bash\"}}",
                    &o,
                    "{\"model\":\"up\"," HI_OUT ",\"tools\":[" BASH_FN "],\"tool_choice\":"
                    "{\"type\":\"function\",\"function\":{\"name\":\"Bash\"}}}");
        /* Forcing a server tool that was dropped: the choice goes, the tools stay. */
        expect_body("{" HI ",\"tools\":[" BASH_TOOL "," WEB_SEARCH "],\"tool_choice\":{\"type\":"
                    "\"tool\",\"name\":\"web_search\"}}",
                    &o, "{\"model\":\"up\"," HI_OUT ",\"tools\":[" BASH_FN "]}");
        /* Only server tools: no tools, tool_choice or parallel_tool_calls at all. */
        expect_body("{" HI ",\"tools\":[" WEB_SEARCH ",{\"type\":\"bash_20250124\",\"name\":"
                    "\"bash\"}],\"tool_choice\":{\"type\":\"any\","
                    "\"disable_parallel_tool_use\":true}}",
                    &o, "{\"model\":\"up\"," HI_OUT "}");
        expect_body("{" HI ",\"tools\":[],\"tool_choice\":{\"type\":\"auto\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT "}");
        /* An explicit "custom" type is a custom tool; a missing schema becomes an empty one. */
        expect_body(
            "{" HI ",\"tools\":[{\"type\":\"custom\",\"name\":\"Noop\"}]}", &o,
            "{\"model\":\"up\"," HI_OUT ",\"tools\":[{\"type\":\"function\",\"function\":"
            "{\"name\":\"Noop\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}");
}

static void test_g30_long_tool_name(void **state)
{
        const char *name =
            "mcp__some_very_long_server_name_here__and_an_even_longer_tool_name_for_testing_x";
        struct xlate_request_opts o = opts();
        struct toolmap *names = toolmap_new();
        char req[2048];
        cJSON *out;
        const char *up, *hist;

        (void)state;
        snprintf(req, sizeof req,
                 "{\"tools\":[{\"name\":\"%s\",\"input_schema\":{\"type\":\"object\"}}],"
                 "\"tool_choice\":{\"type\":\"tool\",\"name\":\"%s\"},"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                 "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\","
                 "\"name\":\"%s\",\"input\":{\"q\":1}}]},"
                 "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                 "\"t1\",\"content\":\"r\"}]}]}",
                 name, name, name);
        out = xl_names(req, &o, names);
        up = json_get_str(json_get(cJSON_GetArrayItem(json_get(out, "tools"), 0), "function"),
                          "name");
        assert_non_null(up);
        assert_int_equal(strlen(up), 64);
        assert_memory_equal(up, name, 55);
        hist = json_get_str(
            json_get(
                cJSON_GetArrayItem(
                    json_get(cJSON_GetArrayItem(json_get(out, "messages"), 1), "tool_calls"), 0),
                "function"),
            "name");
        assert_string_equal(hist, up);
        assert_string_equal(
            json_get_str(json_get(json_get(out, "tool_choice"), "function"), "name"), up);
        /* The answer's tool call is restored to the client's name. */
        assert_string_equal(toolmap_client(names, up), name);
        assert_openai_valid(out);
        cJSON_Delete(out);
        toolmap_free(names);
}

/* ---- §G 31-35 ------------------------------------------------------------------------------- */

static void test_g31_user_id(void **state)
{
        struct xlate_request_opts o = opts();
        char req[1024], uid[151];
        cJSON *out;
        const char *user;

        (void)state;
        expect_body("{" HI ",\"metadata\":{\"user_id\":\"abc123\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"user\":\"abc123\"}");
        memset(uid, 'u', 150);
        uid[150] = '\0';
        snprintf(req, sizeof req, "{" HI ",\"metadata\":{\"user_id\":\"%s\"}}", uid);
        out = xl(req, &o);
        user = json_get_str(out, "user");
        assert_non_null(user);
        assert_int_equal(strlen(user), 64);
        assert_int_equal(strspn(user, "0123456789abcdef"), 64);
        cJSON_Delete(out);
        /* Exactly 64 characters still fits. */
        memset(uid, 'v', 64);
        uid[64] = '\0';
        snprintf(req, sizeof req, "{" HI ",\"metadata\":{\"user_id\":\"%s\"}}", uid);
        out = xl(req, &o);
        assert_string_equal(json_get_str(out, "user"), uid);
        cJSON_Delete(out);
}

static void test_g32_max_tokens_cap(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        o.max_tokens_cap = 8192;
        expect_body("{" HI ",\"max_tokens\":32000}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"max_tokens\":8192}");
        expect_body("{" HI ",\"max_tokens\":1000}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"max_tokens\":1000}");
        o.max_completion_tokens = true;
        expect_body("{" HI ",\"max_tokens\":32000}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"max_completion_tokens\":8192}");
        o = opts();
        expect_body("{" HI ",\"max_tokens\":128000}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"max_tokens\":128000}");
}

static void test_g33_schema_sanitized(void **state)
{
        const char *req =
            "{" HI ",\"tools\":[{\"name\":\"Edit\",\"input_schema\":{"
            "\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\","
            "\"additionalProperties\":false,"
            "\"properties\":{"
            "\"url\":{\"type\":\"string\",\"format\":\"uri\"},"
            "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
            "\"n\":{\"type\":\"integer\",\"exclusiveMinimum\":0,\"exclusiveMaximum\":10},"
            "\"mode\":{\"const\":\"fast\"},"
            "\"const\":{\"type\":\"string\"},"
            "\"tags\":{\"type\":\"object\",\"propertyNames\":{\"pattern\":\"^a\"},"
            "\"additionalProperties\":{\"type\":\"string\"}},"
            "\"edits\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
            "\"additionalProperties\":false,\"properties\":{\"old\":{\"anyOf\":["
            "{\"type\":\"string\",\"format\":\"email\"},{\"type\":\"null\"}]}}}}},"
            "\"required\":[\"url\"],\"$defs\":{\"x\":{\"type\":\"string\",\"const\":\"y\"}}}}]}";
        struct xlate_request_opts o = opts();
        cJSON *out;

        (void)state;
        o.sanitize_schema = true;
        out = xl(req, &o);
        assert_json(json_get(json_get(cJSON_GetArrayItem(json_get(out, "tools"), 0), "function"),
                             "parameters"),
                    "{\"type\":\"object\",\"properties\":{"
                    "\"url\":{\"type\":\"string\"},"
                    "\"when\":{\"type\":\"string\",\"format\":\"date-time\"},"
                    "\"n\":{\"type\":\"integer\"},"
                    "\"mode\":{},"
                    "\"const\":{\"type\":\"string\"},"
                    "\"tags\":{\"type\":\"object\"},"
                    "\"edits\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
                    "\"properties\":{\"old\":{\"anyOf\":[{\"type\":\"string\"},"
                    "{\"type\":\"null\"}]}}}}},"
                    "\"required\":[\"url\"],\"$defs\":{\"x\":{\"type\":\"string\"}}}");
        cJSON_Delete(out);
        /* Without the option the schema goes out untouched. */
        o.sanitize_schema = false;
        out = xl(req, &o);
        {
                cJSON *in = testutil_json(req);
                assert_true(testutil_json_equal(
                    json_get(json_get(cJSON_GetArrayItem(json_get(out, "tools"), 0), "function"),
                             "parameters"),
                    json_get(cJSON_GetArrayItem(json_get(in, "tools"), 0), "input_schema")));
                cJSON_Delete(in);
        }
        cJSON_Delete(out);
}

static void test_g34_mistral_ids(void **state)
{
        const char *turn1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                            "\"toolu_01A09q90qw90lq917835lq9\",\"name\":\"Bash\",\"input\":{}}]},"
                            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                            "\"tool_use_id\":\"toolu_01A09q90qw90lq917835lq9\",\"content\":"
                            "\"ok\"}]}]}";
        const char *turn2 = "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                            "\"toolu_01A09q90qw90lq917835lq9\",\"name\":\"Bash\",\"input\":{}}]},"
                            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                            "\"tool_use_id\":\"toolu_01A09q90qw90lq917835lq9\",\"content\":"
                            "\"ok\"}]},"
                            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                            "\"functions.Bash:0\",\"name\":\"Bash\",\"input\":{}}]},"
                            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                            "\"tool_use_id\":\"functions.Bash:0\",\"content\":\"ok\"}]}]}";
        struct xlate_request_opts o = opts();
        cJSON *a, *b;
        const cJSON *msgs;
        const char *id1, *id2;

        (void)state;
        o.tool_ids = IDS_STYLE_MISTRAL;
        a = xl(turn1, &o);
        b = xl(turn2, &o);
        msgs = json_get(a, "messages");
        id1 = json_get_str(
            cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(msgs, 1), "tool_calls"), 0), "id");
        assert_int_equal(strlen(id1), 9);
        assert_int_equal(
            strspn(id1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"), 9);
        assert_string_equal(json_get_str(cJSON_GetArrayItem(msgs, 2), "tool_call_id"), id1);
        /* The next turn maps the same history to the same ids. */
        msgs = json_get(b, "messages");
        id2 = json_get_str(
            cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(msgs, 1), "tool_calls"), 0), "id");
        assert_string_equal(id1, id2);
        id2 = json_get_str(
            cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(msgs, 3), "tool_calls"), 0), "id");
        assert_int_equal(strlen(id2), 9);
        assert_string_equal(json_get_str(cJSON_GetArrayItem(msgs, 4), "tool_call_id"), id2);
        assert_openai_valid(a);
        assert_openai_valid(b);
        cJSON_Delete(a);
        cJSON_Delete(b);

        /* Default style: a Kimi-style id from history is made acceptable, consistently. */
        o.tool_ids = IDS_STYLE_DEFAULT;
        b = xl(turn2, &o);
        msgs = json_get(b, "messages");
        id2 = json_get_str(
            cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(msgs, 3), "tool_calls"), 0), "id");
        assert_true(id_ok(id2));
        assert_string_equal(json_get_str(cJSON_GetArrayItem(msgs, 4), "tool_call_id"), id2);
        assert_string_equal(
            json_get_str(cJSON_GetArrayItem(json_get(cJSON_GetArrayItem(msgs, 1), "tool_calls"), 0),
                         "id"),
            "toolu_01A09q90qw90lq917835lq9");
        cJSON_Delete(b);
}

static void test_g35_lone_surrogate(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_body("{\"messages\":[{\"role\":\"user\",\"content\":\"smile \\ud83d!\"},"
                    "{\"role\":\"assistant\",\"content\":\"pair \\ud83d\\ude00 \\ude00\"}]}",
                    &o,
                    "{\"model\":\"up\",\"messages\":["
                    "{\"role\":\"user\",\"content\":\"smile \xef\xbf\xbd!\"},"
                    "{\"role\":\"assistant\",\"content\":\"pair \xf0\x9f\x98\x80 "
                    "\xef\xbf\xbd\"}]}");
}

/* ---- Claude Code specifics ------------------------------------------------------------------ */

static void test_system_role_messages_merged(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        /* In order, after the system prompt; blocks or a string; empty ones add nothing. */
        expect_messages(
            "{\"system\":[{\"type\":\"text\",\"text\":\"Main prompt.\"}],"
            "\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
            "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"# Environment\","
            "\"cache_control\":{\"type\":\"ephemeral\"}}]},"
            "{\"role\":\"assistant\",\"content\":\"two\"},"
            "{\"role\":\"system\",\"content\":\"Later note.\"},"
            "{\"role\":\"system\",\"content\":[]},"
            "{\"role\":\"user\",\"content\":\"three\"}]}",
            &o,
            "[{\"role\":\"system\",\"content\":\"Main prompt.\\n\\n# Environment\\n\\nLater "
            "note.\"},"
            "{\"role\":\"user\",\"content\":\"one\"},"
            "{\"role\":\"assistant\",\"content\":\"two\"},"
            "{\"role\":\"user\",\"content\":\"three\"}]");
        /* No top-level system: the message alone makes the system prompt. */
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
                        "{\"role\":\"system\",\"content\":\"env\"}]}",
                        &o,
                        "[{\"role\":\"system\",\"content\":\"env\"},"
                        "{\"role\":\"user\",\"content\":\"one\"}]");
        /* A system message between two user messages: the user turns merge. */
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
                        "{\"role\":\"system\",\"content\":\"env\"},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"two\"}]}]}",
                        &o,
                        "[{\"role\":\"system\",\"content\":\"env\"},"
                        "{\"role\":\"user\",\"content\":\"one\\n\\ntwo\"}]");
}

static void test_thinking_to_reasoning(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        assert_string_equal(xlate_request_effort_for_budget(1024), "low");
        assert_string_equal(xlate_request_effort_for_budget(4095), "low");
        assert_string_equal(xlate_request_effort_for_budget(4096), "medium");
        assert_string_equal(xlate_request_effort_for_budget(16383), "medium");
        assert_string_equal(xlate_request_effort_for_budget(16384), "high");
        assert_string_equal(xlate_request_effort_for_budget(31999), "high");

        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":10000}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"medium\"}");
        /* Claude Code 2.1: adaptive + output_config.effort; max is beyond every upstream. */
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\",\"display\":\"omitted\"},"
                    "\"output_config\":{\"effort\":\"max\"}}",
                    &o, "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"high\"}");
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"medium\"}");
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":"
                    "\"low\"}}",
                    &o, "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"low\"}");
        /* A system message's output_config sets the effort for this turn. */
        expect_body("{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"system\","
                    "\"content\":[],\"output_config\":{\"effort\":\"high\"}}],"
                    "\"thinking\":{\"type\":\"adaptive\"},\"output_config\":{\"effort\":\"low\"}}",
                    &o, "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"high\"}");
        expect_body("{" HI ",\"thinking\":{\"type\":\"disabled\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT "}");

        /* The entry's effort wins over the request; minimal is as little as the API allows. */
        o.reasoning_effort = "high";
        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"high\"}");
        expect_body("{" HI "}", &o, "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"high\"}");
        o.reasoning_effort = "minimal";
        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":20000}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning_effort\":\"minimal\"}");

        /* DeepSeek: thinking on/off said explicitly; minimal is off. */
        o = opts();
        o.reasoning = XLATE_REASONING_DEEPSEEK;
        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":20000}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"thinking\":{\"type\":\"enabled\"},"
                    "\"reasoning_effort\":\"high\"}");
        expect_body("{" HI "}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"thinking\":{\"type\":\"disabled\"}}");
        o.reasoning_effort = "minimal";
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"thinking\":{\"type\":\"disabled\"}}");

        /* OpenRouter: the budget itself when there is one, else the effort. */
        o = opts();
        o.reasoning = XLATE_REASONING_OPENROUTER;
        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":5000}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning\":{\"max_tokens\":5000}}");
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"reasoning\":{\"effort\":\"medium\"}}");
        expect_body("{" HI "}", &o, "{\"model\":\"up\"," HI_OUT "}");

        /* Qwen: the template switch, both ways (Qwen3 thinks unless told not to). */
        o.reasoning = XLATE_REASONING_QWEN;
        expect_body("{" HI ",\"thinking\":{\"type\":\"adaptive\"}}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"chat_template_kwargs\":{\"enable_thinking\":"
                    "true}}");
        expect_body("{" HI "}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"chat_template_kwargs\":{\"enable_thinking\":"
                    "false}}");

        o.reasoning = XLATE_REASONING_NONE;
        expect_body("{" HI ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":5000}}", &o,
                    "{\"model\":\"up\"," HI_OUT "}");
}

static void test_defer_loading_tool(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_body("{" HI ",\"tools\":[{\"name\":\"Later\",\"description\":\"d\","
                    "\"input_schema\":{\"type\":\"object\",\"properties\":{}},"
                    "\"defer_loading\":true,\"strict\":true,\"input_examples\":[{}],"
                    "\"eager_input_streaming\":true}]}",
                    &o,
                    "{\"model\":\"up\"," HI_OUT ",\"tools\":[{\"type\":\"function\",\"function\":"
                    "{\"name\":\"Later\",\"description\":\"d\",\"parameters\":{\"type\":"
                    "\"object\",\"properties\":{}}}}]}");
        /* A ToolSearch answer names the tools it loaded. */
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                        "\"t1\",\"name\":\"ToolSearch\",\"input\":{\"query\":\"x\"}}]},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                        "\"tool_use_id\":\"t1\",\"content\":[{\"type\":\"tool_reference\","
                        "\"tool_name\":\"Later\"}]}]}]}",
                        &o,
                        "[{\"role\":\"user\",\"content\":\"go\"},"
                        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\","
                        "\"type\":\"function\",\"function\":{\"name\":\"ToolSearch\","
                        "\"arguments\":\"{\\\"query\\\":\\\"x\\\"}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"[tool "
                        "available: Later]\"}]");
}

/* Claude Code 1.0.x re-sends the first turn with the same tool_use ids. */
static void test_duplicated_history(void **state)
{
        const char *turn = "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
                           "\"Writing.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
                           "\"Write\",\"input\":{\"file_path\":\"out.txt\"}}]},"
                           "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                           "\"tool_use_id\":\"toolu_1\",\"content\":\"ok\"}]}";
        struct xlate_request_opts o = opts();
        char req[4096];
        cJSON *out, *again;

        (void)state;
        snprintf(req, sizeof req,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"create out.txt\"},%s,%s]}", turn,
                 turn);
        out = xl(req, &o);
        assert_openai_valid(out);
        assert_int_equal(cJSON_GetArraySize(json_get(out, "messages")), 5);
        /* The repeat gets its own id, the same one every time. */
        again = xl(req, &o);
        assert_true(testutil_json_equal(out, again));
        cJSON_Delete(out);
        cJSON_Delete(again);

        /* Many turns, the whole history sent twice: ids stay unique past any table growth. */
        {
                struct buf b;
                cJSON *big, *big2;

                buf_init(&b);
                buf_puts(&b, "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"}");
                for (int rep = 0; rep < 2; rep++)
                        for (int i = 0; i < 100; i++)
                                buf_printf(&b,
                                           ",{\"role\":\"assistant\",\"content\":[{\"type\":"
                                           "\"tool_use\",\"id\":\"toolu_%d\",\"name\":\"Bash\","
                                           "\"input\":{}}]},{\"role\":\"user\",\"content\":[{"
                                           "\"type\":\"tool_result\",\"tool_use_id\":\"toolu_%d\","
                                           "\"content\":\"r\"}]}",
                                           i, i);
                buf_puts(&b, "]}");
                big = xl(buf_str(&b), &o);
                big2 = xl(buf_str(&b), &o);
                assert_openai_valid(big);
                assert_int_equal(cJSON_GetArraySize(json_get(big, "messages")), 1 + 400);
                assert_true(testutil_json_equal(big, big2));
                cJSON_Delete(big);
                cJSON_Delete(big2);
                buf_fini(&b);
        }

        /* The same call twice in one turn, and its result twice. */
        expect_messages(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"go\"},"
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":"
            "\"Bash\",\"input\":{}}]},"
            "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":"
            "\"Bash\",\"input\":{}}]},"
            "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
            "\"content\":\"a\"},{\"type\":\"tool_result\",\"tool_use_id\":\"t1\","
            "\"content\":\"a\"}]}]}",
            &o,
            "[{\"role\":\"user\",\"content\":\"go\"},"
            "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"t1\",\"type\":"
            "\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":\"{}\"}}]},"
            "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"a\"}]");
}

/* ---- content and options -------------------------------------------------------------------- */

static void test_user_content(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_messages(
            "{\"messages\":[{\"role\":\"user\",\"content\":["
            "{\"type\":\"text\",\"text\":\"look\"},"
            "{\"type\":\"text\",\"text\":\"\"},"
            "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x/y.png\"}},"
            "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/jpeg\","
            "\"data\":\"/9j/\"}},"
            "{\"type\":\"document\",\"title\":\"spec.pdf\",\"source\":{\"type\":\"base64\","
            "\"media_type\":\"application/pdf\",\"data\":\"JVBERi0=\"}},"
            "{\"type\":\"document\",\"source\":{\"type\":\"text\",\"media_type\":\"text/plain\","
            "\"data\":\"plain doc\"}},"
            "{\"type\":\"search_result\",\"source\":\"s\"},"
            "{\"type\":\"document\",\"source\":{\"type\":\"content\",\"content\":["
            "{\"type\":\"text\",\"text\":\"chunk\"}]}}]}]}",
            &o,
            "[{\"role\":\"user\",\"content\":["
            "{\"type\":\"text\",\"text\":\"look\"},"
            "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}},"
            "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/jpeg;base64,/9j/\"}},"
            "{\"type\":\"file\",\"file\":{\"filename\":\"spec.pdf\",\"file_data\":"
            "\"data:application/pdf;base64,JVBERi0=\"}},"
            "{\"type\":\"text\",\"text\":\"plain doc\"},"
            "{\"type\":\"text\",\"text\":\"chunk\"}]}]");
        /* All text: one plain string. Empty user turns vanish. */
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":["
                        "{\"type\":\"text\",\"text\":\"<system-reminder>x</system-reminder>\\n\"},"
                        "{\"type\":\"text\",\"text\":\"create out.txt\"},"
                        "{\"type\":\"document\",\"source\":{\"type\":\"text\",\"data\":\"d\"}}]},"
                        "{\"role\":\"assistant\",\"content\":\"ok\"},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\"}]}]}",
                        &o,
                        "[{\"role\":\"user\",\"content\":\"<system-reminder>x</system-reminder>\\n"
                        "\\n\\ncreate out.txt\\n\\nd\"},"
                        "{\"role\":\"assistant\",\"content\":\"ok\"}]");
}

static void test_assistant_content(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        /* Texts joined, empty ones skipped, server tool blocks dropped, compact arguments. */
        expect_messages(
            "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
            "{\"role\":\"assistant\",\"content\":["
            "{\"type\":\"text\",\"text\":\"First.\"},{\"type\":\"text\",\"text\":\"\"},"
            "{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\",\"name\":\"web_search\","
            "\"input\":{}},"
            "{\"type\":\"web_search_tool_result\",\"tool_use_id\":\"srvtoolu_1\",\"content\":[]},"
            "{\"type\":\"text\",\"text\":\"Second.\"},"
            "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"Edit\",\"input\":{\"a\": [1, 2], "
            "\"b\": {\"c\": \"\\u00e9\"}}}]}]}",
            &o,
            "[{\"role\":\"user\",\"content\":\"q\"},"
            "{\"role\":\"assistant\",\"content\":\"First.\\n\\nSecond.\",\"tool_calls\":[{\"id\":"
            "\"t1\",\"type\":\"function\",\"function\":{\"name\":\"Edit\",\"arguments\":"
            "\"{\\\"a\\\":[1,2],\\\"b\\\":{\\\"c\\\":\\\"\xc3\xa9\\\"}}\"}}]},"
            "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"[no result]\"}]");
        /* "" rather than null for servers that reject null; a prefill stays last. */
        o.empty_content_string = true;
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                        "\"t1\",\"name\":\"Bash\"}]},"
                        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                        "\"tool_use_id\":\"t1\"}]},"
                        "{\"role\":\"assistant\",\"content\":\"{\"}]}",
                        &o,
                        "[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"t1\","
                        "\"type\":\"function\",\"function\":{\"name\":\"Bash\",\"arguments\":"
                        "\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"\"},"
                        "{\"role\":\"assistant\",\"content\":\"{\"}]");
        /* A turn that held only thinking leaves nothing behind. */
        o = opts();
        expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
                        "\"thinking\":\"hm\",\"signature\":\"s\"}]},"
                        "{\"role\":\"user\",\"content\":\"again\"}]}",
                        &o,
                        "[{\"role\":\"user\",\"content\":\"q\"},"
                        "{\"role\":\"user\",\"content\":\"again\"}]");
}

static void test_sampling_stop_stream(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        expect_body("{" HI ",\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,"
                    "\"stop_sequences\":[\"a\",\"b\",\"c\",\"d\",\"e\"],\"stream\":true}",
                    &o,
                    "{\"model\":\"up\"," HI_OUT ",\"temperature\":0.5,\"top_p\":0.9,"
                    "\"stop\":[\"a\",\"b\",\"c\",\"d\"]}");
        o.stream = true;
        o.stream_usage = true;
        o.has_temperature = true;
        o.temperature = 0.2;
        expect_body("{" HI ",\"temperature\":1,\"stop_sequences\":[]}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"temperature\":0.2,\"stream\":true,"
                    "\"stream_options\":{\"include_usage\":true}}");
        o.stream_usage = false;
        o.drop_sampling = true;
        expect_body("{" HI ",\"temperature\":1,\"top_p\":0.5}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"stream\":true}");
}

static void test_extra_body(void **state)
{
        struct xlate_request_opts o = opts();
        cJSON *extra = testutil_json("{\"chat_template_kwargs\":{\"x\":1},\"stream_options\":"
                                     "{\"include_usage\":false},\"seed\":7}");

        (void)state;
        o.stream = true;
        o.stream_usage = true;
        o.reasoning = XLATE_REASONING_QWEN;
        o.extra_body = extra;
        expect_body("{" HI "}", &o,
                    "{\"model\":\"up\"," HI_OUT ",\"stream\":true,\"stream_options\":"
                    "{\"include_usage\":false},\"chat_template_kwargs\":{\"enable_thinking\":"
                    "false,\"x\":1},\"seed\":7}");
        cJSON_Delete(extra);
}

static void test_model_fallback(void **state)
{
        struct xlate_request_opts o = opts();

        (void)state;
        o.upstream_model = NULL;
        expect_body("{\"model\":\"claude-x\"," HI "}", &o, "{\"model\":\"claude-x\"," HI_OUT "}");
}

static void test_errors(void **state)
{
        (void)state;
        expect_error("[]", "the request body must be a JSON object");
        expect_error("{\"model\":\"m\"}", "messages: missing or not an array");
        expect_error("{\"messages\":{}}", "messages: missing or not an array");
        expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"content\":\"b\"}]}",
                     "messages.1.role: missing");
        expect_error("{\"messages\":[\"hi\"]}", "messages.0: expected an object");
        expect_error("{\"messages\":[{\"role\":\"tool\",\"content\":\"b\"}]}",
                     "messages.0.role: unknown role \"tool\" (expected user or assistant)");
        expect_error("{\"messages\":[{\"role\":\"user\"}]}",
                     "messages.0.content: expected a string or an array of content blocks");
        expect_error("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":"
                     "\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                     "{\"type\":\"tool_use\",\"id\":\"t\",\"input\":{}}]}]}",
                     "messages.1.content.1: tool_use without a name");
        expect_error("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
                     "\"name\":\"X\"}]}]}",
                     "messages.0.content.0: tool_use without an id");
        expect_error(
            "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\"}]}]}",
            "messages.0.content.0: tool_result without a tool_use_id");
        expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"x\"}]}]}",
                     "messages.0.content.0: expected a content block with a \"type\"");
        expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
                     "messages.0.content.0.text: expected a string");
        expect_error("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
                     "\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}]}]}",
                     "messages.0.content.0.source: unsupported image source (expected base64 "
                     "or url)");
        expect_error("{\"system\":5," HI "}",
                     "system: expected a string or an array of text blocks");
        expect_error("{\"system\":[\"x\"]," HI "}", "system.0: expected a text block");
        expect_error("{" HI ",\"tools\":{}}", "tools: expected an array");
        expect_error("{" HI ",\"tools\":[" BASH_TOOL ",{\"input_schema\":{}}]}",
                     "tools.1.name: missing");
        expect_error("{" HI ",\"tools\":[" BASH_TOOL "],\"tool_choice\":\"auto\"}",
                     "tool_choice: expected an object");
        expect_error("{" HI ",\"max_tokens\":0}", "max_tokens: expected a positive integer");
        expect_error("{" HI ",\"max_tokens\":\"5\"}", "max_tokens: expected a positive integer");
        /* Unknown block types are not errors: they are dropped. */
        {
                struct xlate_request_opts o = opts();
                expect_messages("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                                "\"foo\"},{\"type\":\"text\",\"text\":\"a\"}]}]}",
                                &o, "[{\"role\":\"user\",\"content\":\"a\"}]");
        }
}

/* ---- recorded Claude Code 2.1.331 requests --------------------------------------------------- */

static cJSON *fixture_out(const char *name, const struct xlate_request_opts *o, cJSON **in_out)
{
        char path[256];
        size_t len;
        char *text, *cause = NULL;
        cJSON *rec, *out = NULL;
        struct toolmap *names = toolmap_new();

        snprintf(path, sizeof path, "claude-code/%s", name);
        text = testutil_read_fixture(path, &len);
        rec = json_parse(text, len, &cause);
        assert_non_null(rec);
        if (xlate_request(json_get(rec, "body"), o, names, &out, &cause) != 0)
                fail_msg("%s: %s", name, cause);
        free(text);
        toolmap_free(names);
        *in_out = rec;
        return out;
}

static struct xlate_request_opts claude_code_opts(void)
{
        struct xlate_request_opts o = opts();

        o.upstream_model = "deepseek-chat";
        o.stream = true;
        o.stream_usage = true;
        o.max_tokens_cap = 8192;
        o.sanitize_schema = true;
        return o;
}

static void check_common(const cJSON *out)
{
        char *s = json_print(out);
        const cJSON *sys = cJSON_GetArrayItem(json_get(out, "messages"), 0);
        static const char *const gone[] = {"x-anthropic-billing-header",
                                           "cache_control",
                                           "defer_loading",
                                           "$schema",
                                           "propertyNames",
                                           "additionalProperties"};

        for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
                if (strstr(s, gone[i]) != NULL)
                        fail_msg("\"%s\" reached the upstream body", gone[i]);
        free(s);
        assert_openai_valid(out);
        assert_string_equal(json_get_str(out, "model"), "deepseek-chat");
        assert_string_equal(json_get_str(sys, "role"), "system");
        for (const char *const *k =
                 (const char *const[]){"thinking", "output_config", "context_management",
                                       "metadata", "system", NULL};
             *k != NULL; k++)
                assert_null(json_get(out, *k));
}

static void test_fixture_turn1(void **state)
{
        struct xlate_request_opts o = claude_code_opts();
        cJSON *rec, *out = fixture_out("01_main_turn1_request.json", &o, &rec);
        const cJSON *msgs = json_get(out, "messages");
        const cJSON *t;
        const char *sys = json_get_str(cJSON_GetArrayItem(msgs, 0), "content");
        int found_deferred = 0;

        (void)state;
        check_common(out);
        /* The system prompt: its two real blocks, then the environment message. */
        assert_true(strncmp(sys, "You are a Claude agent", 22) == 0);
        assert_non_null(strstr(sys, "# Environment"));
        assert_true(strstr(sys, "# Environment") > strstr(sys, "You are an agent working"));
        assert_int_equal(cJSON_GetArraySize(msgs), 2);
        assert_string_equal(json_get_str(cJSON_GetArrayItem(msgs, 1), "role"), "user");
        assert_non_null(
            strstr(json_get_str(cJSON_GetArrayItem(msgs, 1), "content"), "\n\ncreate out.txt"));
        assert_int_equal(cJSON_GetArraySize(json_get(out, "tools")), 12);
        cJSON_ArrayForEach(t, json_get(out, "tools"))
        {
                const char *name = json_get_str(json_get(t, "function"), "name");
                found_deferred += strcmp(name, "DeferredToolPlaceholder") == 0;
        }
        assert_int_equal(found_deferred, 1);
        assert_int_equal((int)json_get(out, "max_tokens")->valuedouble, 8192);
        assert_string_equal(json_get_str(out, "reasoning_effort"), "medium");
        assert_int_equal(strlen(json_get_str(out, "user")), 64);
        assert_true(json_get_bool(json_get(out, "stream_options"), "include_usage", false));
        cJSON_Delete(out);
        cJSON_Delete(rec);
}

static void test_fixture_turn2(void **state)
{
        struct xlate_request_opts o = claude_code_opts();
        cJSON *rec, *out = fixture_out("02_main_turn2_tool_result_request.json", &o, &rec);
        const cJSON *msgs = json_get(out, "messages");
        const cJSON *asst = cJSON_GetArrayItem(msgs, 2);
        const cJSON *tool = cJSON_GetArrayItem(msgs, 3);

        (void)state;
        check_common(out);
        assert_int_equal(cJSON_GetArraySize(msgs), 4);
        assert_string_equal(json_get_str(asst, "content"), "I will do that now.");
        assert_string_equal(json_get_str(cJSON_GetArrayItem(json_get(asst, "tool_calls"), 0), "id"),
                            "toolu_32f5052e2794945761fbf031");
        assert_string_equal(json_get_str(tool, "role"), "tool");
        assert_string_equal(json_get_str(tool, "tool_call_id"), "toolu_32f5052e2794945761fbf031");
        assert_true(strncmp(json_get_str(tool, "content"), "File created successfully", 25) == 0);
        assert_non_null(
            strstr(json_get_str(cJSON_GetArrayItem(msgs, 0), "content"), "# Environment"));
        cJSON_Delete(out);
        cJSON_Delete(rec);
}

static void test_fixture_side_and_count(void **state)
{
        struct xlate_request_opts o = claude_code_opts();
        cJSON *rec, *out;

        (void)state;
        /* The title request: tools [] and a structured-output format, neither sent. */
        out = fixture_out("03_title_side_request_interactive.json", &o, &rec);
        check_common(out);
        assert_null(json_get(out, "tools"));
        assert_null(json_get(out, "reasoning_effort"));
        assert_int_equal(cJSON_GetArraySize(json_get(out, "messages")), 2);
        cJSON_Delete(out);
        cJSON_Delete(rec);

        /* count_tokens bodies have no system and no max_tokens; they still translate. */
        out = fixture_out("04_count_tokens_request.json", &o, &rec);
        assert_openai_valid(out);
        assert_null(json_get(out, "max_tokens"));
        assert_int_equal(cJSON_GetArraySize(json_get(out, "tools")), 11);
        assert_json(json_get(out, "messages"), "[{\"role\":\"user\",\"content\":\"foo\"}]");
        cJSON_Delete(out);
        cJSON_Delete(rec);

        /* The bare run: its system message is empty and adds nothing. */
        out = fixture_out("06_bare_turn1_request.json", &o, &rec);
        check_common(out);
        assert_json(json_get(out, "messages"),
                    "[{\"role\":\"system\",\"content\":\"You are a Claude agent, built on "
                    "Anthropic's Claude Agent SDK.\\n\\nCWD: /home/dev/project\\nDate: "
                    "2026-11-25\"},{\"role\":\"user\",\"content\":\"create out.txt\"}]");
        assert_int_equal(cJSON_GetArraySize(json_get(out, "tools")), 3);
        cJSON_Delete(out);
        cJSON_Delete(rec);
}

/* Every fixture under every option combination stays valid. */
static void test_fixture_option_matrix(void **state)
{
        static const char *const files[] = {
            "01_main_turn1_request.json", "02_main_turn2_tool_result_request.json",
            "03_title_side_request_interactive.json", "04_count_tokens_request.json",
            "06_bare_turn1_request.json"};

        (void)state;
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++)
                for (int v = 0; v < 16; v++) {
                        struct xlate_request_opts o = claude_code_opts();
                        cJSON *rec, *out;

                        o.tool_ids = (v & 1) ? IDS_STYLE_MISTRAL : IDS_STYLE_DEFAULT;
                        o.history_thinking =
                            (v & 2) ? XLATE_HISTORY_REASONING_CONTENT : XLATE_HISTORY_DROP;
                        o.reasoning = (enum xlate_reasoning)(v % 5);
                        o.developer_role = (v & 4) != 0;
                        o.empty_content_string = (v & 8) != 0;
                        o.sanitize_schema = (v & 4) == 0;
                        out = fixture_out(files[f], &o, &rec);
                        assert_openai_valid(out);
                        cJSON_Delete(out);
                        cJSON_Delete(rec);
                }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_g22_results_then_text),
            cmocka_unit_test(test_g23_results_reordered),
            cmocka_unit_test(test_g24_image_in_tool_result),
            cmocka_unit_test(test_g25_is_error),
            cmocka_unit_test(test_empty_tool_result),
            cmocka_unit_test(test_g26_dangling_and_orphan),
            cmocka_unit_test(test_g27_system_billing_and_cache_control),
            cmocka_unit_test(test_g28_thinking_history),
            cmocka_unit_test(test_g29_tool_choice),
            cmocka_unit_test(test_g30_long_tool_name),
            cmocka_unit_test(test_g31_user_id),
            cmocka_unit_test(test_g32_max_tokens_cap),
            cmocka_unit_test(test_g33_schema_sanitized),
            cmocka_unit_test(test_g34_mistral_ids),
            cmocka_unit_test(test_g35_lone_surrogate),
            cmocka_unit_test(test_system_role_messages_merged),
            cmocka_unit_test(test_thinking_to_reasoning),
            cmocka_unit_test(test_defer_loading_tool),
            cmocka_unit_test(test_duplicated_history),
            cmocka_unit_test(test_user_content),
            cmocka_unit_test(test_assistant_content),
            cmocka_unit_test(test_sampling_stop_stream),
            cmocka_unit_test(test_extra_body),
            cmocka_unit_test(test_model_fallback),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_fixture_turn1),
            cmocka_unit_test(test_fixture_turn2),
            cmocka_unit_test(test_fixture_side_and_count),
            cmocka_unit_test(test_fixture_option_matrix),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
