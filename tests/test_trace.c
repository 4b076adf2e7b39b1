/*
 * test_trace: what the record builders guarantee about secrets and shape: secret headers carry
 * log_redact's form (written without printf here, so checked against it byte for byte), other
 * headers are escaped as JSON, the request's key is replaced wherever it occurs, and a JSON body
 * is kept on one line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "json.h"
#include "log.h"
#include "trace.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <string.h>

#define KEY "sk-ant-0123456789abcdef"

static const char *const headers[][2] = {
    {"x-api-key", KEY},
    {"Authorization", "Bearer " KEY},
    {"Cookie", "a=b"},
    {"api-key", "short"},
    {"X-Goog-Api-Key", ""},
    {"Proxy-Authorization", "abc\xc3\xa9-long-enough-secret"}, /* cut inside a character */
    {"proxy-authorization",
     "\xe2\x80\xa6\xe2\x80\xa6\xe2\x80\xa6\xe2\x80\xa6\xe2\x80\xa6\xe2\x80\xa6"},
    {"Content-Type", "application/json"},
    {"X-Quote", "a\"b\\c"},
    {"X-Tab", "a\tb"},
    {"X-Utf8", "caf\xc3\xa9"},
    {"X-\"Odd\"", "plain"},
    {"X-Del", "a\x7f"},
    {"x-api-keys", "not-a-secret-header-name"},
    {"X-Long", "a fairly long header value with nothing to escape in it at all"},
};

/* The headers member as the trace must write it. */
static void want_headers(struct buf *want)
{
        static const char *const secret[] = {"x-api-key", "authorization",  "proxy-authorization",
                                             "cookie",    "x-goog-api-key", "api-key"};

        buf_puts(want, "\"headers\":{");
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
                const char *v = headers[i][1];
                char safe[48];
                if (i > 0)
                        buf_putc(want, ',');
                json_append_string(want, headers[i][0], strlen(headers[i][0]));
                buf_putc(want, ':');
                for (size_t k = 0; k < sizeof secret / sizeof secret[0]; k++) {
                        if (strcasecmp(headers[i][0], secret[k]) == 0) {
                                log_redact(v, safe, sizeof safe);
                                v = safe;
                        }
                }
                json_append_string(want, v, strlen(v));
        }
        buf_putc(want, '}');
}

static void test_client_request(void **state)
{
        static const char body[] = "{\"a\":\"" KEY "\",\r\n\"b\":\"x" KEY KEY "\"\n}";
        struct recorder rec;
        struct ring *ring = ring_new(16);
        struct evhttp_request *req = evhttp_request_new(NULL, NULL);
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        struct trace t;
        struct record r;
        struct buf want;
        char safe[48];

        (void)state;
        recorder_init(&rec);
        recorder_add_sink(&rec, "test", ring);
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
                assert_int_equal(evhttp_add_header(h, headers[i][0], headers[i][1]), 0);
        trace_init(&t, &rec, "req_1");
        trace_add_key(&t, KEY);
        trace_client_request(&t, req, body, strlen(body), true);
        assert_true(ring_pop(ring, &r));
        assert_int_equal(r.kind, RECORD_CLIENT_REQUEST);
        assert_string_equal(r.request_id, "req_1");

        buf_init(&want);
        want_headers(&want);
        assert_non_null(strstr(r.payload->data, buf_str(&want)));
        /* The key, wherever it was, is gone; the body is on one line. */
        assert_null(strstr(r.payload->data, KEY));
        assert_null(strchr(r.payload->data, '\n'));
        assert_null(strchr(r.payload->data, '\r'));
        log_redact(KEY, safe, sizeof safe);
        buf_clear(&want);
        buf_printf(&want, "\"body\":{\"a\":\"%s\",  \"b\":\"x%s%s\" }", safe, safe, safe);
        assert_non_null(strstr(r.payload->data, buf_str(&want)));
        record_payload_unref(r.payload);

        buf_fini(&want);
        evhttp_request_free(req);
        recorder_fini(&rec);
        ring_free(ring);
}

/* A body appended after headers longer than the room reserved up front: the buffer moves while
 * the body goes in, and its line breaks must still be found (ASan sees a stale pointer). */
static void test_body_after_long_headers(void **state)
{
        static char value[4000];
        struct recorder rec;
        struct ring *ring = ring_new(16);
        struct evhttp_request *req = evhttp_request_new(NULL, NULL);
        struct trace t;
        struct record r;
        char body[5000];

        (void)state;
        recorder_init(&rec);
        recorder_add_sink(&rec, "test", ring);
        memset(value, 'v', sizeof value - 1);
        assert_int_equal(evhttp_add_header(evhttp_request_get_input_headers(req), "X-Big", value),
                         0);
        for (size_t i = 0; i < sizeof body - 1; i++)
                body[i] = i % 50 == 49 ? '\n' : ' ';
        body[0] = '{';
        body[sizeof body - 2] = '}';
        body[sizeof body - 1] = '\0';
        trace_init(&t, &rec, "req_3");
        trace_client_request(&t, req, body, strlen(body), true);
        assert_true(ring_pop(ring, &r));
        assert_null(strchr(r.payload->data, '\n'));
        assert_non_null(strstr(r.payload->data, value));
        record_payload_unref(r.payload);
        evhttp_request_free(req);
        recorder_fini(&rec);
        ring_free(ring);
}

/* Raw bytes are scrubbed too, and copied as they are when the key is not in them. */
static void test_bytes(void **state)
{
        static const char with[] = "data: {\"k\":\"" KEY "\"}\n\n";
        static const char without[] = "data: {\"k\":\"sk-ant-0123456789abcde\"}\n\n";
        struct recorder rec;
        struct ring *ring = ring_new(16);
        struct trace t;
        struct record r;
        char safe[48];
        char want[128];

        (void)state;
        recorder_init(&rec);
        recorder_add_sink(&rec, "test", ring);
        trace_init(&t, &rec, "req_2");
        trace_add_key(&t, KEY);
        trace_bytes(&t, RECORD_UPSTREAM_CHUNK, with, strlen(with));
        trace_bytes(&t, RECORD_UPSTREAM_CHUNK, without, strlen(without));
        assert_true(ring_pop(ring, &r));
        assert_true(r.raw);
        log_redact(KEY, safe, sizeof safe);
        snprintf(want, sizeof want, "data: {\"k\":\"%s\"}\n\n", safe);
        assert_string_equal(r.payload->data, want);
        record_payload_unref(r.payload);
        assert_true(ring_pop(ring, &r));
        assert_string_equal(r.payload->data, without);
        record_payload_unref(r.payload);
        recorder_fini(&rec);
        ring_free(ring);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_client_request),
            cmocka_unit_test(test_body_after_long_headers),
            cmocka_unit_test(test_bytes),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
