/*
 * test_sse: the SSE parser must give the same events for any split of the same bytes, and accept
 * the variants real upstreams send (CRLF, bare CR, comments, event: lines, "data:" without a
 * space, a BOM, no blank line before EOF).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "sse.h"

#include <stdlib.h>
#include <string.h>

/* Every event rendered as "[event]data|" so one string comparison checks a whole run. */
static void collect(void *arg, const char *event, const char *data, size_t len)
{
        struct buf *b = arg;

        assert_int_equal(strlen(data), len);
        buf_printf(b, "[%s]%s|", event, data);
}

/* Parses text fed in pieces of step bytes (0: all at once), with or without a final end(). */
static char *parse(const char *text, size_t step, int end)
{
        struct sse_parser p;
        struct buf out;
        size_t n = strlen(text);

        buf_init(&out);
        sse_parser_init(&p, collect, &out);
        if (step == 0) {
                sse_parser_feed(&p, text, n);
        } else {
                for (size_t i = 0; i < n; i += step)
                        sse_parser_feed(&p, text + i, n - i < step ? n - i : step);
        }
        if (end)
                sse_parser_end(&p);
        sse_parser_fini(&p);
        return buf_detach(&out);
}

/* The same result for every split size from 1 byte to the whole input. */
static void expect(const char *text, int end, const char *want)
{
        size_t n = strlen(text);

        for (size_t step = 0; step <= n; step++) {
                char *got = parse(text, step, end);
                if (strcmp(got, want) != 0)
                        fail_msg("split %zu: got %s want %s", step, got, want);
                free(got);
        }
}

static void test_basic(void **state)
{
        (void)state;
        expect("data: {\"a\":1}\n\ndata: [DONE]\n\n", 0, "[]{\"a\":1}|[][DONE]|");
}

static void test_line_endings(void **state)
{
        (void)state;
        expect("data: a\r\n\r\ndata: b\r\rdata: c\n\n", 0, "[]a|[]b|[]c|");
        /* A CR at the end of one feed and its LF at the start of the next are one line end. */
        expect("data: x\r\n\r\ndata: y\r\n\r\n", 0, "[]x|[]y|");
}

static void test_no_space_and_comments(void **state)
{
        (void)state;
        expect(": keep-alive\n\ndata:{\"b\":2}\n: OPENROUTER PROCESSING\n\n", 0, "[]{\"b\":2}|");
        /* Only one leading space is removed. */
        expect("data:  two\n\n", 0, "[] two|");
}

static void test_event_lines(void **state)
{
        (void)state;
        expect("event: error\ndata: {\"error\":1}\n\ndata: next\n\n", 0,
               "[error]{\"error\":1}|[]next|");
        /* An event name without data dispatches nothing and does not leak into the next. */
        expect("event: ping\n\ndata: z\n\n", 0, "[]z|");
        /* id, retry and unknown fields are ignored. */
        expect("id: 7\nretry: 10\nfoo: bar\ndata: q\n\n", 0, "[]q|");
}

static void test_multiline_data(void **state)
{
        (void)state;
        expect("data: one\ndata: two\ndata\n\n", 0, "[]one\ntwo\n|");
        expect("data:\n\n", 0, "[]|");
}

static void test_bom(void **state)
{
        (void)state;
        expect("\xEF\xBB\xBF"
               "data: first\n\n",
               0, "[]first|");
}

static void test_end_without_blank_line(void **state)
{
        (void)state;
        expect("data: a\n\ndata: [DONE]", 1, "[]a|[][DONE]|");
        expect("data: a\n\ndata: [DONE]\n", 1, "[]a|[][DONE]|");
        /* Without end() the unterminated event stays pending. */
        expect("data: a\n\ndata: [DONE]", 0, "[]a|");
}

static void test_long_line(void **state)
{
        struct buf in;
        char *got, *want;

        (void)state;
        buf_init(&in);
        buf_puts(&in, "data: ");
        for (int i = 0; i < 10000; i++)
                buf_putc(&in, (char)('a' + i % 26));
        buf_puts(&in, "\n\n");
        want = parse(in.data, 0, 0);
        got = parse(in.data, 7, 0);
        assert_string_equal(got, want);
        assert_int_equal(strlen(want), 10000 + 3);
        free(got);
        free(want);
        buf_fini(&in);
}

static void test_write(void **state)
{
        struct buf out;

        (void)state;
        buf_init(&out);
        sse_write(&out, "message_stop", "{\"type\":\"message_stop\"}", 23);
        assert_string_equal(buf_str(&out),
                            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
        buf_fini(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_basic),
            cmocka_unit_test(test_line_endings),
            cmocka_unit_test(test_no_space_and_comments),
            cmocka_unit_test(test_event_lines),
            cmocka_unit_test(test_multiline_data),
            cmocka_unit_test(test_bom),
            cmocka_unit_test(test_end_without_blank_line),
            cmocka_unit_test(test_long_line),
            cmocka_unit_test(test_write),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
