/*
 * test_xlate_stream: golden tests for the stream translator.
 *
 * Every tests/fixtures/streams/<scenario>.sse (raw bytes as an OpenAI-compatible server sends
 * them) is translated fed in one piece, in 13-byte pieces and byte by byte; the three outputs
 * must be identical, pass the stream validator, and equal <scenario>.expected byte for byte.
 * An optional <scenario>.opts (JSON) sets stop_sequences, content_filter_end_turn and the client
 * tool names the request had to rename ("tool_names").
 *
 * UPDATE_GOLDEN=1 rewrites the .expected files from the current output; read every changed file
 * before committing it, since the expected files are the specification.
 *
 * The table of facts below restates what each scenario is about (stop reason, block count, tool
 * count), so a regenerated golden file that drifts from the scenario's point still fails.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "stream_validator.h"
#include "testutil.h"
#include "toolmap.h"
#include "xlate_stream.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEED 0x5eedULL

struct fact {
        const char *name;
        const char *end; /* stop_reason, or "error:<type>" */
        int blocks;
        int tool_uses;
};

static const struct fact facts[] = {
    {"text_basic", "end_turn", 1, 0},
    {"text_no_usage", "end_turn", 1, 0},
    {"usage_choices_empty", "end_turn", 1, 0},
    {"usage_choices_null", "end_turn", 1, 0},
    {"tool_fragments", "tool_use", 1, 1},
    {"tool_whole_chunk", "tool_use", 1, 1},
    {"tool_args_before_name", "tool_use", 1, 1},
    {"tool_parallel", "tool_use", 2, 2},
    {"tool_parallel_same_index", "tool_use", 2, 2},
    {"tool_no_index", "tool_use", 2, 2},
    {"tool_name_repeated", "tool_use", 1, 1},
    {"tool_empty_args", "tool_use", 1, 1},
    {"tool_args_object", "tool_use", 1, 1},
    {"tool_args_empty_object_prefix", "tool_use", 1, 1},
    {"finish_length", "max_tokens", 1, 0},
    {"finish_content_filter", "refusal", 1, 0},
    {"finish_content_filter_end_turn", "end_turn", 1, 0},
    {"finish_stop_after_tool", "tool_use", 1, 1},
    {"stop_sequence_vllm", "stop_sequence", 1, 0},
    {"stop_sequence_not_requested", "end_turn", 1, 0},
    {"text_tool_text", "tool_use", 3, 1},
    {"reasoning_deepseek", "end_turn", 2, 0},
    {"reasoning_openrouter", "end_turn", 2, 0},
    {"reasoning_details_only", "end_turn", 2, 0},
    {"reasoning_vllm", "tool_use", 2, 1},
    {"blocks_mixed", "tool_use", 6, 2},
    {"error_midstream_overloaded", "error:overloaded_error", 1, 0},
    {"error_midstream_rate_limit", "error:rate_limit_error", 0, 0},
    {"error_midstream_generic", "error:api_error", 1, 0},
    {"error_event_line", "error:api_error", 1, 0},
    {"eof_no_done", "error:api_error", 1, 0},
    {"eof_tool_pending", "error:api_error", 0, 0},
    {"done_no_finish", "end_turn", 1, 0},
    {"done_no_finish_tool", "tool_use", 1, 1},
    {"finish_no_done", "end_turn", 1, 0},
    {"after_done_ignored", "end_turn", 1, 0},
    {"usage_before_finish", "end_turn", 1, 0},
    {"sse_variants", "end_turn", 1, 0},
    {"kimi_tool_ids", "tool_use", 2, 2},
    {"tool_name_mapped", "tool_use", 1, 1},
    {"tool_missing_id", "tool_use", 1, 1},
    {"tool_args_concatenated", "tool_use", 1, 1},
    {"tool_nameless_dropped", "tool_use", 1, 1},
    {"tool_args_truncated", "max_tokens", 1, 1},
    {"utf8_text", "end_turn", 1, 0},
};

static const struct fact *fact_for(const char *name)
{
        for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++)
                if (strcmp(facts[i].name, name) == 0)
                        return &facts[i];
        return NULL;
}

struct run_opts {
        struct xlate_reply_opts reply;
        struct toolmap *names;
        cJSON *opts_json;
};

static void load_opts(const char *name, struct run_opts *ro)
{
        char path[1024];
        char *text;
        const cJSON *it;

        memset(ro, 0, sizeof *ro);
        ro->reply.model = "claude-sonnet-4-5";
        ro->reply.input_estimate = 1000;
        ro->reply.seed = SEED;
        ro->names = toolmap_new();
        ro->reply.names = ro->names;
        snprintf(path, sizeof path, "%s/streams/%s.opts", FIXTURES_DIR, name);
        text = testutil_read_file(path, NULL);
        if (text == NULL)
                return;
        ro->opts_json = testutil_json(text);
        free(text);
        ro->reply.stop_sequences = json_get(ro->opts_json, "stop_sequences");
        ro->reply.content_filter_end_turn =
            json_get_bool(ro->opts_json, "content_filter_end_turn", false);
        cJSON_ArrayForEach(it, json_get(ro->opts_json, "tool_names"))
        {
                toolmap_upstream(ro->names, it->valuestring);
        }
}

static void free_opts(struct run_opts *ro)
{
        toolmap_free(ro->names);
        cJSON_Delete(ro->opts_json);
}

/* Translates in pieces of step bytes (0: one piece); returns the output, fills the result. */
static char *translate(const struct xlate_reply_opts *opts, const char *in, size_t n, size_t step,
                       struct xlate_result *res, size_t *outlen)
{
        struct xlate_stream *s = xlate_stream_new(opts);
        struct buf out;

        buf_init(&out);
        xlate_stream_begin(s, &out);
        if (step == 0)
                step = n > 0 ? n : 1;
        for (size_t i = 0; i < n; i += step)
                xlate_stream_feed(s, in + i, n - i < step ? n - i : step, &out);
        xlate_stream_eof(s, &out);
        assert_int_not_equal(xlate_stream_state(s), XLATE_STREAM_OPEN);
        /* Nothing comes out once the stream has ended. */
        {
                size_t before = out.len;
                xlate_stream_feed(s, "data: {}\n\n", 10, &out);
                xlate_stream_eof(s, &out);
                assert_int_equal(out.len, before);
        }
        *res = *xlate_stream_result(s);
        xlate_stream_free(s);
        *outlen = out.len;
        return buf_detach(&out);
}

static void write_file(const char *path, const char *data, size_t n)
{
        FILE *f = fopen(path, "wb");

        if (f == NULL || fwrite(data, 1, n, f) != n)
                fail_msg("cannot write %s", path);
        fclose(f);
}

static void check_facts(const char *name, const struct stream_summary *sum,
                        const struct xlate_result *res)
{
        const struct fact *f = fact_for(name);
        char end[64];

        if (f == NULL)
                fail_msg("%s: add the scenario to the facts table", name);
        if (sum->failed)
                snprintf(end, sizeof end, "error:%s", sum->error_type);
        else
                snprintf(end, sizeof end, "%s", sum->stop_reason);
        if (strcmp(end, f->end) != 0)
                fail_msg("%s: ends with %s, expected %s", name, end, f->end);
        if (sum->blocks != f->blocks || sum->tool_uses != f->tool_uses)
                fail_msg("%s: %d blocks / %d tool_use, expected %d / %d", name, sum->blocks,
                         sum->tool_uses, f->blocks, f->tool_uses);
        assert_int_equal(res->tool_calls, f->tool_uses);
        if (!sum->failed) {
                assert_string_equal(res->stop_reason, sum->stop_reason);
                assert_int_equal(res->usage.input, sum->input_tokens);
                assert_int_equal(res->usage.output, sum->output_tokens);
                assert_true(sum->output_tokens >= 1);
        }
}

static void test_golden(void **state)
{
        const char *name = *state;
        struct run_opts ro;
        struct xlate_result res, res1, res13;
        struct stream_summary sum;
        char rel[512], path[1024];
        char *in, *whole, *bytewise, *split13, *want, *cause = NULL;
        size_t n, wlen, blen, slen, want_len;

        snprintf(rel, sizeof rel, "streams/%s.sse", name);
        in = testutil_read_fixture(rel, &n);
        load_opts(name, &ro);
        whole = translate(&ro.reply, in, n, 0, &res, &wlen);
        bytewise = translate(&ro.reply, in, n, 1, &res1, &blen);
        split13 = translate(&ro.reply, in, n, 13, &res13, &slen);
        if (wlen != blen || memcmp(whole, bytewise, wlen) != 0)
                fail_msg("%s: byte-by-byte output differs:\n%s\n---\n%s", name, whole, bytewise);
        if (wlen != slen || memcmp(whole, split13, wlen) != 0)
                fail_msg("%s: 13-byte-split output differs", name);
        if (stream_validator_check(whole, wlen, &sum, &cause) != 0)
                fail_msg("%s: invalid stream: %s\n%s", name, cause, whole);
        check_facts(name, &sum, &res);

        snprintf(path, sizeof path, "%s/streams/%s.expected", FIXTURES_DIR, name);
        if (getenv("UPDATE_GOLDEN") != NULL && strcmp(getenv("UPDATE_GOLDEN"), "1") == 0)
                write_file(path, whole, wlen);
        want = testutil_read_file(path, &want_len);
        if (want == NULL)
                fail_msg("%s: missing %s (run with UPDATE_GOLDEN=1, then review it)", name, path);
        if (want_len != wlen || memcmp(want, whole, wlen) != 0)
                fail_msg("%s: output differs from %s:\n%s", name, path, whole);
        free(want);
        free(whole);
        free(bytewise);
        free(split13);
        free(in);
        free_opts(&ro);
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Scenario names: every streams/<name>.sse, sorted. */
static char **list_scenarios(size_t *count)
{
        char dir[1024];
        DIR *d;
        const struct dirent *e;
        char **v = NULL;
        size_t n = 0;

        snprintf(dir, sizeof dir, "%s/streams", FIXTURES_DIR);
        d = opendir(dir);
        if (d == NULL)
                return NULL;
        while ((e = readdir(d)) != NULL) {
                size_t len = strlen(e->d_name);

                if (len < 5 || strcmp(e->d_name + len - 4, ".sse") != 0)
                        continue;
                v = xrealloc(v, (n + 1) * sizeof *v);
                v[n++] = xstrndup(e->d_name, len - 4);
        }
        closedir(d);
        qsort(v, n, sizeof *v, name_cmp);
        *count = n;
        return v;
}

/* Every scenario named in the facts table has its fixture. */
static void test_facts_have_fixtures(void **state)
{
        char rel[512];

        (void)state;
        for (size_t i = 0; i < sizeof facts / sizeof facts[0]; i++) {
                snprintf(rel, sizeof rel, "streams/%s.sse", facts[i].name);
                free(testutil_read_fixture(rel, NULL));
        }
}

static void test_ping(void **state)
{
        struct buf out;

        (void)state;
        buf_init(&out);
        xlate_stream_ping(&out);
        assert_string_equal(buf_str(&out), "event: ping\ndata: {\"type\":\"ping\"}\n\n");
        buf_fini(&out);
}

/* Pings between frames keep a stream valid; a transport failure ends it with one error. */
static void test_ping_and_fail(void **state)
{
        struct xlate_reply_opts opts = {.model = "m", .input_estimate = 5, .seed = 1};
        struct xlate_stream *s = xlate_stream_new(&opts);
        const char *chunk =
            "data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hm\"}}]}\n\n";
        struct stream_summary sum;
        struct buf out;
        char *cause = NULL;

        (void)state;
        buf_init(&out);
        xlate_stream_begin(s, &out);
        xlate_stream_ping(&out);
        xlate_stream_feed(s, chunk, strlen(chunk), &out);
        xlate_stream_ping(&out);
        xlate_stream_fail(s, "timeout_error", "the upstream went silent for 300 s", &out);
        assert_int_equal(xlate_stream_state(s), XLATE_STREAM_FAILED);
        if (stream_validator_check(out.data, out.len, &sum, &cause) != 0)
                fail_msg("%s\n%s", cause, out.data);
        assert_true(sum.failed);
        assert_string_equal(sum.error_type, "timeout_error");
        /* A second failure, or more input, adds nothing. */
        {
                size_t before = out.len;
                xlate_stream_fail(s, "api_error", "again", &out);
                xlate_stream_feed(s, chunk, strlen(chunk), &out);
                assert_int_equal(out.len, before);
        }
        xlate_stream_free(s);
        buf_fini(&out);
}

/* Mid-stream error objects come in many shapes; the type decides whether Claude Code retries. */
static void test_error_types(void **state)
{
        static const struct {
                const char *data, *type;
        } cases[] = {
            {"{\"error\":{\"code\":\"529\",\"message\":\"busy\"}}", "overloaded_error"},
            {"{\"error\":{\"status\":503,\"message\":\"x\"}}", "overloaded_error"},
            {"{\"error\":{\"message\":\"Service Unavailable\"}}", "overloaded_error"},
            {"{\"error\":\"Too Many Requests\"}", "rate_limit_error"},
            {"{\"error\":{\"code\":429,\"message\":\"slow down\"}}", "rate_limit_error"},
            {"{\"error\":{\"message\":\"prompt has 5030 tokens, 4290 allowed\"}}", "api_error"},
            {"{\"error\":{\"type\":\"server_error\"}}", "api_error"},
        };
        struct xlate_reply_opts opts = {.model = "m", .input_estimate = 5, .seed = 1};

        (void)state;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct xlate_stream *s = xlate_stream_new(&opts);
                struct stream_summary sum;
                struct buf out, in;
                char *cause = NULL;

                buf_init(&out);
                buf_init(&in);
                buf_printf(&in, "data: %s\n\n", cases[i].data);
                xlate_stream_begin(s, &out);
                assert_int_equal(xlate_stream_feed(s, in.data, in.len, &out), XLATE_STREAM_FAILED);
                if (stream_validator_check(out.data, out.len, &sum, &cause) != 0)
                        fail_msg("%s", cause);
                if (strcmp(sum.error_type, cases[i].type) != 0)
                        fail_msg("%s gave %s", cases[i].data, sum.error_type);
                xlate_stream_free(s);
                buf_fini(&out);
                buf_fini(&in);
        }
}

/* The validator itself rejects what clients reject. */
static void test_validator_rejects(void **state)
{
        static const char start[] =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
            "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":[],"
            "\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":1,"
            "\"output_tokens\":1}}}\n\n";
        static const char end[] =
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
            "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":1,"
            "\"output_tokens\":2}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
        static const char *bad_middles[] = {
            /* index gap */
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            /* delta for a block never started */
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
            /* block never stopped */
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
            /* type mismatch */
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: content_block_delta\n"
            "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
            "\"input_json_delta\",\"partial_json\":\"{}\"}}\n\nevent: content_block_stop\ndata: "
            "{\"type\":\"content_block_stop\",\"index\":0}\n\n",
            /* tool input {}{...} */
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
            "\"content_block\":{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"B\",\"input\":{}}}"
            "\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
            "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{}{\\\"a\\\":1}\"}}\n\n"
            "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
            /* a frame without its event line */
            "data: {\"type\":\"ping\"}\n\n",
            /* event name and data type disagree */
            "event: ping\ndata: {\"type\":\"pong\"}\n\n",
            /* [DONE] */
            "event: done\ndata: [DONE]\n\n",
            /* second message_start */
            start,
        };
        struct buf b;
        char *cause = NULL;

        (void)state;
        buf_init(&b);
        buf_puts(&b, start);
        buf_puts(&b, end);
        if (stream_validator_check(b.data, b.len, NULL, &cause) != 0)
                fail_msg("the minimal stream is rejected: %s", cause);
        for (size_t i = 0; i < sizeof bad_middles / sizeof bad_middles[0]; i++) {
                buf_clear(&b);
                buf_puts(&b, start);
                buf_puts(&b, bad_middles[i]);
                buf_puts(&b, end);
                if (stream_validator_check(b.data, b.len, NULL, &cause) == 0)
                        fail_msg("case %zu accepted", i);
                free(cause);
                cause = NULL;
        }
        /* No message_stop. */
        buf_clear(&b);
        buf_puts(&b, start);
        assert_int_equal(stream_validator_check(b.data, b.len, NULL, &cause), -1);
        free(cause);
        cause = NULL;
        /* Frames after message_stop. */
        buf_clear(&b);
        buf_puts(&b, start);
        buf_puts(&b, end);
        buf_puts(&b, "event: ping\ndata: {\"type\":\"ping\"}\n\n");
        assert_int_equal(stream_validator_check(b.data, b.len, NULL, &cause), -1);
        free(cause);
        buf_fini(&b);
}

/*
 * The fast path for plain text and reasoning chunks (read in place) and the tree path give the
 * same frames: each stream is translated once as written and once with an escaped member name
 * added to every chunk, which sends every chunk down the tree path.
 */
static void test_fast_path_matches_tree(void **state)
{
        static const char *deltas[] = {
            "{\"role\":\"assistant\",\"content\":\"\"}",
            "{\"content\":\"plain\"}",
            "{\"content\":\"caf\\u00e9 \\ud83d\\ude00 \\n\\\"q\\\" \\/\"}",
            "{\"content\":\"lone \\ud83d here\"}",
            "{\"content\":\"nul \\u0000 cut\"}",
            "{\"reasoning_content\":\"think\",\"content\":null}",
            "{\"reasoning\":\"alt think\"}",
            "{\"reasoning_content\":\"\",\"reasoning\":\"second\",\"content\":\"and text\"}",
            "{\"reasoning_content\":\"first\",\"reasoning\":\"not repeated\"}",
            "{\"content\":7}",
            "{\"content\":\"x\",\"tool_calls\":null,\"function_call\":null}",
            "{\"content\":\"dup\",\"content\":\"licate\"}",
            "[\"not an object\"]",
            "{\"content\":\"after odd delta\"}",
        };
        struct xlate_reply_opts opts = {.model = "m", .input_estimate = 5, .seed = 7};
        struct xlate_result ra, rb;
        struct buf a, b;
        char *out_a, *out_b;
        size_t na, nb;

        (void)state;
        buf_init(&a);
        buf_init(&b);
        for (size_t i = 0; i < sizeof deltas / sizeof deltas[0]; i++) {
                const char *tail = i % 2 ? ",\"finish_reason\":null}]}"
                                         : ",\"finish_reason\":\"\"}],\"usage\":null}";
                buf_printf(&a, "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":%s%s\n\n",
                           deltas[i], tail);
                buf_printf(
                    &b,
                    "data: {\"\\u0078\":0,\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":%s%s"
                    "\n\n",
                    deltas[i], tail);
        }
        buf_puts(&a, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                     "data: [DONE]\n\n");
        buf_puts(&b, "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                     "data: [DONE]\n\n");
        out_a = translate(&opts, a.data, a.len, 0, &ra, &na);
        out_b = translate(&opts, b.data, b.len, 0, &rb, &nb);
        assert_string_equal(out_a, out_b);
        assert_non_null(strstr(out_a, "caf\u00e9 \xf0\x9f\x98\x80"));
        assert_non_null(strstr(out_a, "\"thinking\":\"second\""));
        free(out_a);
        free(out_b);
        buf_fini(&a);
        buf_fini(&b);
}

/* Numbers from an upstream that no integer can hold (usage, a tool call's index, an error
 * code) saturate instead of converting out of range; the stream stays valid. */
static void test_huge_numbers(void **state)
{
        static const char in[] =
            "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1e300,\"id\":\"c1\","
            "\"function\":{\"name\":\"Read\",\"arguments\":\"{}\"}}]}}]}\n\n"
            "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}],"
            "\"usage\":{\"prompt_tokens\":1e300,\"completion_tokens\":-1e300}}\n\n"
            "data: [DONE]\n\n";
        static const char err[] =
            "event: error\ndata: {\"error\":{\"code\":1e300,\"message\":\"x\"}}"
            "\n\n";
        struct xlate_reply_opts opts = {.model = "m", .input_estimate = 5, .seed = 1};
        struct xlate_result res;
        size_t n;
        char *out;

        (void)state;
        out = translate(&opts, in, sizeof in - 1, 0, &res, &n);
        assert_int_equal(stream_validator_check(out, n, NULL, NULL), 0);
        assert_int_equal(res.tool_calls, 1);
        free(out);
        out = translate(&opts, err, sizeof err - 1, 0, &res, &n);
        assert_int_equal(stream_validator_check(out, n, NULL, NULL), 0);
        free(out);
}

int main(void)
{
        static const struct CMUnitTest fixed[] = {
            cmocka_unit_test(test_facts_have_fixtures),
            cmocka_unit_test(test_ping),
            cmocka_unit_test(test_ping_and_fail),
            cmocka_unit_test(test_error_types),
            cmocka_unit_test(test_validator_rejects),
            cmocka_unit_test(test_fast_path_matches_tree),
            cmocka_unit_test(test_huge_numbers),
        };
        size_t nfix = sizeof fixed / sizeof fixed[0];
        size_t n = 0;
        char **names = list_scenarios(&n);
        struct CMUnitTest *tests = xcalloc(n + nfix, sizeof *tests);
        int rc;

        alloc_init_cjson();
        memcpy(tests, fixed, sizeof fixed);
        for (size_t i = 0; i < n; i++) {
                tests[nfix + i].name = names[i];
                tests[nfix + i].test_func = test_golden;
                tests[nfix + i].initial_state = names[i];
        }
        rc = _cmocka_run_group_tests("xlate_stream", tests, n + nfix, NULL, NULL);
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        free(tests);
        return rc;
}
