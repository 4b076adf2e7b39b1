/*
 * test_tokens: the local token estimate. Small texts pin the heuristic's rules; the recorded
 * Claude Code count_tokens request (Anthropic answered 7506) pins its accuracy to a band that
 * docs/translation.md states.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "json.h"
#include "testutil.h"
#include "tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long text(const char *s)
{
        return tokens_estimate_text(s, strlen(s));
}

static long request(const char *json)
{
        cJSON *req = testutil_json(json);
        long n = tokens_estimate_request(req);

        cJSON_Delete(req);
        return n;
}

static void test_text_rules(void **state)
{
        (void)state;
        assert_int_equal(text(""), 0);
        assert_int_equal(text("hello"), 1);
        assert_int_equal(text("hello world"), 2); /* the space rides with "world" */
        assert_int_equal(text("The quick brown fox jumps over the lazy dog."), 10);
        assert_int_equal(text("internationalization"), 3); /* 20 letters: one per 8 */
        assert_int_equal(text("1234567"), 3);              /* digits in threes */
        assert_int_equal(text("a\n\n\nb"), 3);             /* a newline run is one token */
        assert_int_equal(text("        x"), 2);            /* indentation is one token */
        assert_int_equal(text("->"), 1);
        assert_int_equal(text("{\"a\":"), 3);
        assert_int_equal(text("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"), 3); /* 日本語 */
        assert_int_equal(text("\xf0\x9f\x98\x80"), 2);                     /* an emoji */
        assert_int_equal(text("caf\xc3\xa9"), 2);
        /* Only n bytes are read. */
        assert_int_equal(tokens_estimate_text("hello world", 5), 1);
        /* A truncated UTF-8 sequence at the end does not read past it. */
        assert_int_equal(tokens_estimate_text("\xe6\x97", 2), 1);
}

static void test_request_parts(void **state)
{
        long base, with_image, with_tool;

        (void)state;
        assert_int_equal(request("{}"), 0);
        base = request("{\"messages\":[{\"role\":\"user\",\"content\":\"hello world\"}]}");
        assert_int_equal(base, 3 + 2);
        /* Block and string forms cost the same text, plus a little structure. */
        assert_int_equal(request("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                                 "\"text\",\"text\":\"hello world\"}]}]}"),
                         base + 2);
        assert_int_equal(request("{\"system\":\"hello world\",\"messages\":[]}"), 2);
        assert_int_equal(request("{\"system\":[{\"type\":\"text\",\"text\":\"hello world\"}],"
                                 "\"messages\":[]}"),
                         4);
        with_image = request("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                             "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
                             "\"image/png\",\"data\":\"AAAA\"}}]}]}");
        assert_int_equal(with_image, 3 + 2 + 1600);
        /* Tools: their text and schema, plus Anthropic's fixed tool-use preamble. */
        with_tool = request("{\"messages\":[],\"tools\":[{\"name\":\"Bash\",\"description\":"
                            "\"Run a command\",\"input_schema\":{\"type\":\"object\"}}]}");
        assert_true(with_tool > 346 && with_tool < 346 + 20);
        /* Tool calls and results count their content. */
        assert_true(
            request("{\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
                    "\"tool_use\",\"id\":\"t\",\"name\":\"Bash\",\"input\":{\"command\":"
                    "\"ls -la /tmp\"}}]},{\"role\":\"user\",\"content\":[{\"type\":"
                    "\"tool_result\",\"tool_use_id\":\"t\",\"content\":\"a b c d e f\"}]}]}") > 10);
        /* Malformed shapes are counted as far as they go, never crash. */
        assert_true(request("{\"messages\":\"x\",\"tools\":5,\"system\":7}") >= 0);
        assert_true(request("{\"messages\":[5,{\"content\":{}}],\"tools\":[1]}") >= 0);
}

struct recorded {
        const char *file;
        long anthropic; /* what Anthropic answered, or 0 when not recorded */
};

static long fixture_estimate(const char *file)
{
        char path[256];
        size_t len;
        char *data, *cause = NULL;
        cJSON *rec;
        long n;

        snprintf(path, sizeof path, "claude-code/%s", file);
        data = testutil_read_fixture(path, &len);
        rec = json_parse(data, len, &cause);
        assert_non_null(rec);
        n = tokens_estimate_request(json_get(rec, "body"));
        cJSON_Delete(rec);
        free(data);
        return n;
}

/*
 * The band: within 10% of Anthropic's own count on the one request whose answer was recorded
 * (count_tokens of "foo" with Claude Code's 11 tools: 7506). The estimate is 7354 (-2.0%).
 */
static void test_fixture_accuracy(void **state)
{
        long est = fixture_estimate("04_count_tokens_request.json");
        long want = 7506;

        (void)state;
        print_message("04_count_tokens_request.json: estimate %ld, Anthropic %ld (%+.1f%%)\n", est,
                      want, 100.0 * (double)(est - want) / (double)want);
        assert_true(est >= want * 9 / 10 && est <= want * 11 / 10);
}

/* The other recordings have no answer; their estimates must at least be ordered sensibly. */
static void test_fixture_ordering(void **state)
{
        long turn1 = fixture_estimate("01_main_turn1_request.json");
        long turn2 = fixture_estimate("02_main_turn2_tool_result_request.json");
        long title = fixture_estimate("03_title_side_request_interactive.json");
        long bare = fixture_estimate("06_bare_turn1_request.json");
        long count = fixture_estimate("04_count_tokens_request.json");

        (void)state;
        print_message("estimates: turn1 %ld, turn2 %ld, title %ld, bare %ld\n", turn1, turn2, title,
                      bare);
        assert_true(turn2 > turn1);    /* the same plus a tool call and result */
        assert_true(turn1 > count);    /* a system prompt and one more tool */
        assert_true(title < bare);     /* no tools at all */
        assert_true(bare < count / 2); /* three tools instead of eleven */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_text_rules),
            cmocka_unit_test(test_request_parts),
            cmocka_unit_test(test_fixture_accuracy),
            cmocka_unit_test(test_fixture_ordering),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
