/*
 * test_replay: the journal reader over hand-written journals that follow docs/journal-format.md
 * (tests/fixtures/journal/): several sessions, streamed and not, interleaved requests, a retry,
 * upstream and proxy errors, count_tokens, a re-sent request, records of no request, a garbage
 * line, an object without a kind, and a last line cut by a crash. Each request's summary is
 * checked field by field, then the listing, then feeding the same lines one at a time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "record.h"
#include "replay.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_fixture.h"

static struct replay_journal *load(const char *path)
{
        struct replay_journal *j = NULL;
        char *cause = NULL;

        if (replay_journal_load(path, &j, &cause) != 0)
                fail_msg("load %s: %s", path, cause);
        return j;
}

static const struct replay_request *req(const struct replay_journal *j, const char *id)
{
        const struct replay_request *r = replay_journal_request(j, id);

        if (r == NULL)
                fail_msg("request %s not found", id);
        return r;
}

static void test_counts(void **state)
{
        struct replay_journal *j = load(DAY);

        (void)state;
        assert_int_equal(j->n_requests, 7);
        assert_int_equal(j->n_sessions, 3);
        assert_int_equal(j->bad_lines, 2); /* the text line and the object without a kind */
        assert_int_equal(j->first_bad, 16);
        assert_true(j->truncated);
        assert_int_equal(j->dropped, 12);
        assert_int_equal(j->n_other, 3); /* config, model_switch, dropped */
        assert_int_equal(j->other[0].kind, RECORD_CONFIG);
        assert_int_equal(j->other[1].kind, RECORD_MODEL_SWITCH);
        assert_int_equal(j->other[2].kind, RECORD_DROPPED);

        /* Sessions and their requests in order of first appearance. */
        assert_string_equal(j->sessions[0]->id, SA);
        assert_string_equal(j->sessions[1]->id, SC);
        assert_string_equal(j->sessions[2]->id, SB);
        assert_int_equal(j->sessions[0]->n_requests, 4);
        assert_string_equal(j->sessions[0]->requests[0]->id, A1);
        assert_string_equal(j->sessions[0]->requests[1]->id, A2);
        assert_string_equal(j->sessions[0]->requests[2]->id, A3);
        assert_string_equal(j->sessions[0]->requests[3]->id, A4);
        assert_int_equal(j->sessions[1]->n_requests, 1);
        assert_string_equal(j->sessions[1]->requests[0]->id, C1);
        assert_int_equal(j->sessions[2]->n_requests, 2);
        assert_string_equal(j->sessions[2]->requests[0]->id, B1);
        assert_string_equal(j->sessions[2]->requests[1]->id, B2);
        replay_journal_free(j);
}

static void test_streamed_tool_use(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, A1);
        static const int kinds[] = {
            RECORD_CLIENT_REQUEST,
            RECORD_ROUTE,
            RECORD_UPSTREAM_REQUEST,
            RECORD_UPSTREAM_RESPONSE,
            RECORD_UPSTREAM_CHUNK,
            RECORD_CLIENT_EVENT,
            RECORD_CLIENT_EVENT,
            RECORD_UPSTREAM_CHUNK,
            RECORD_CLIENT_EVENT,
            RECORD_USAGE,
            RECORD_END,
        };

        (void)state;
        assert_int_equal(r->n_records, sizeof kinds / sizeof kinds[0]);
        for (size_t i = 0; i < r->n_records; i++) {
                assert_int_equal(r->records[i].kind, kinds[i]);
                if (i > 0)
                        assert_true(r->records[i].seq > r->records[i - 1].seq);
        }
        assert_int_equal(r->records[0].seq, 2);
        assert_string_equal(r->session, SA);
        assert_string_equal(r->time, "2026-11-25T06:10:00.002000Z");
        assert_true(r->wall > 1795500000.0 && r->wall < 1795700000.0);
        assert_string_equal(r->path, "/v1/messages?beta=true");
        assert_string_equal(r->model, "claude-opus-5-5");
        assert_string_equal(r->model_id, "deepseek-chat");
        assert_string_equal(r->mode, "translate");
        assert_int_equal(r->status, 200);
        assert_true(r->stream);
        assert_false(r->count_tokens);
        assert_true(r->has_usage);
        assert_int_equal(r->input_tokens, 2095);
        assert_int_equal(r->output_tokens, 503);
        assert_int_equal(r->cache_read_tokens, 0);
        assert_int_equal(r->ttft_ms, 412);
        assert_int_equal(r->duration_ms, 5230);
        assert_string_equal(r->stop_reason, "tool_use");
        assert_int_equal(r->tool_calls, 1);
        assert_int_equal(r->n_tool_names, 1);
        assert_string_equal(r->tool_names[0], "Write");
        assert_int_equal(r->attempts, 1);
        assert_null(r->replay_of);
        assert_null(r->error);
        assert_false(r->failed);
        assert_true(r->ended);
        replay_journal_free(j);
}

static void test_retried_non_streamed(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, A2);

        (void)state;
        assert_int_equal(r->n_records, 10);
        assert_false(r->stream);
        assert_int_equal(r->status, 200);
        assert_int_equal(r->attempts, 2);
        assert_false(r->failed); /* the retry succeeded: the end record says so */
        assert_non_null(r->error);
        assert_non_null(strstr(r->error, "upstream: upstream answered 500"));
        assert_string_equal(r->stop_reason, "end_turn");
        assert_int_equal(r->input_tokens, 40);
        assert_int_equal(r->output_tokens, 3);
        assert_int_equal(r->ttft_ms, -1); /* null in the end record */
        assert_int_equal(r->duration_ms, 3100);
        assert_int_equal(r->tool_calls, 0);
        assert_int_equal(r->n_tool_names, 0);
        replay_journal_free(j);
}

static void test_count_tokens(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, A3);

        (void)state;
        assert_true(r->count_tokens);
        assert_int_equal(r->status, 200);
        assert_null(r->stop_reason);
        assert_false(r->has_usage);
        assert_int_equal(r->n_records, 3);
        replay_journal_free(j);
}

static void test_cut_short(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, A4);

        (void)state;
        assert_false(r->ended);
        assert_int_equal(r->n_records, 4); /* the cut line is not one of them */
        assert_int_equal(r->status, 0);
        assert_true(r->stream);
        assert_int_equal(r->duration_ms, -1);
        assert_true(r->has_usage); /* from message_start, as the client saw it */
        assert_int_equal(r->input_tokens, 55);
        assert_null(r->stop_reason);
        assert_false(r->failed);
        replay_journal_free(j);
}

static void test_errors(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *b1 = req(j, B1);
        const struct replay_request *b2 = req(j, B2);

        (void)state;
        assert_int_equal(b1->status, 429);
        assert_true(b1->failed);
        assert_true(b1->stream);
        assert_string_equal(b1->error, "upstream: upstream answered 429: slow down");
        assert_null(b1->stop_reason);
        assert_int_equal(b1->duration_ms, 800);

        assert_int_equal(b2->status, 400);
        assert_true(b2->failed);
        assert_null(b2->model);
        assert_null(b2->model_id);
        assert_null(b2->mode);
        assert_int_equal(b2->attempts, 0);
        assert_non_null(strstr(b2->error, "proxy: the body is not valid JSON"));
        replay_journal_free(j);
}

static void test_replay_of_and_direct(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, C1);

        (void)state;
        assert_string_equal(r->replay_of, A1);
        assert_string_equal(r->session, SC);
        assert_string_equal(r->mode, "direct");
        assert_string_equal(r->model_id, "kimi");
        assert_false(r->stream);
        assert_int_equal(r->tool_calls, 2);
        assert_int_equal(r->n_tool_names, 2);
        assert_string_equal(r->tool_names[0], "Write");
        assert_string_equal(r->tool_names[1], "Read");
        assert_int_equal(r->cache_read_tokens, 1024);
        assert_int_equal(r->input_tokens, 1900);
        assert_int_equal(r->output_tokens, 77);
        replay_journal_free(j);
}

static void test_records_parse(void **state)
{
        struct replay_journal *j = load(DAY);
        const struct replay_request *r = req(j, A1);
        const struct replay_record *rec = replay_request_find(r, RECORD_CLIENT_REQUEST);
        cJSON *parsed;

        (void)state;
        assert_non_null(rec);
        parsed = replay_record_parse(r, rec);
        assert_non_null(parsed);
        assert_string_equal(
            cJSON_GetObjectItem(cJSON_GetObjectItem(parsed, "body"), "model")->valuestring,
            "claude-opus-5-5");
        cJSON_Delete(parsed);
        assert_null(replay_request_find(r, RECORD_ERROR));
        replay_journal_free(j);
}

static void test_sessions(void **state)
{
        struct replay_journal *j = load(DAY);
        struct replay_totals tot;
        bool ambiguous;

        (void)state;
        assert_ptr_equal(replay_journal_find_session(j, SA, &ambiguous), j->sessions[0]);
        assert_ptr_equal(replay_journal_find_session(j, "d94b", &ambiguous), j->sessions[0]);
        assert_false(ambiguous);
        assert_null(replay_journal_find_session(j, "nope", &ambiguous));
        assert_false(ambiguous);
        replay_session_totals(j->sessions[0], &tot);
        assert_int_equal(tot.requests, 4);
        assert_int_equal(tot.failed, 0);
        assert_int_equal(tot.input_tokens, 2095 + 40 + 55);
        assert_int_equal(tot.output_tokens, 503 + 3 + 1);
        assert_int_equal(tot.duration_ms, 5230 + 3100 + 1);
        replay_session_totals(j->sessions[2], &tot);
        assert_int_equal(tot.failed, 2);
        replay_journal_free(j);
}

static void test_ambiguous_prefix(void **state)
{
        struct replay_journal *j = replay_journal_new();
        const char *l1 = "{\"seq\":1,\"kind\":\"end\",\"session\":\"abc-1\",\"request\":\"r1\"}";
        const char *l2 = "{\"seq\":2,\"kind\":\"end\",\"session\":\"abc-2\",\"request\":\"r2\"}";
        bool ambiguous;

        (void)state;
        assert_int_equal(replay_journal_add_line(j, l1, strlen(l1)), 0);
        assert_int_equal(replay_journal_add_line(j, l2, strlen(l2)), 0);
        assert_null(replay_journal_find_session(j, "abc", &ambiguous));
        assert_true(ambiguous);
        assert_non_null(replay_journal_find_session(j, "abc-2", &ambiguous));
        replay_journal_free(j);
}

/* The inspector feeds records one at a time: the same lines give the same requests. */
static void test_incremental(void **state)
{
        size_t len;
        char *text = testutil_read_fixture("journal/2026-11-25.jsonl", &len);
        struct replay_journal *j = replay_journal_new();
        struct replay_journal *whole = load(DAY);
        char *p = text;
        int bad = 0;

        (void)state;
        while (*p != '\0') {
                char *nl = strchr(p, '\n');
                size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
                const struct replay_request *a4 = replay_journal_request(j, A4);
                if (replay_journal_add_line(j, p, n) != 0)
                        bad++;
                /* A request in flight has a partial summary that fills in as records come. */
                if (a4 != NULL)
                        assert_false(a4->ended);
                p += n + (nl != NULL);
        }
        assert_int_equal(bad, 3); /* fed live, a cut line is just a bad line */
        assert_true(j->last_line_bad);
        assert_int_equal(j->n_requests, whole->n_requests);
        for (size_t i = 0; i < j->n_requests; i++) {
                const struct replay_request *a = j->requests[i], *b = whole->requests[i];
                assert_string_equal(a->id, b->id);
                assert_int_equal(a->n_records, b->n_records);
                assert_int_equal(a->status, b->status);
                assert_int_equal(a->output_tokens, b->output_tokens);
        }
        replay_journal_free(j);
        replay_journal_free(whole);
        free(text);
}

static void add(struct replay_journal *j, enum record_kind kind, uint64_t seq, const char *fields)
{
        struct record rec;

        memset(&rec, 0, sizeof rec);
        rec.seq = seq;
        rec.kind = kind;
        rec.wall.tv_sec = 1795500000;
        rec.wall.tv_nsec = 250000000;
        snprintf(rec.session, sizeof rec.session, "%s", "live-1");
        snprintf(rec.request_id, sizeof rec.request_id, "%s", "req_live");
        snprintf(rec.model, sizeof rec.model, "%s", "m-live");
        rec.payload = record_payload_new(fields, strlen(fields));
        assert_int_equal(replay_journal_add_record(j, &rec), 0);
        record_payload_unref(rec.payload);
}

/* Records straight from a ring (the inspector, replay --resend) read as their lines would. */
static void test_add_record(void **state)
{
        struct replay_journal *j = replay_journal_new();
        const struct replay_request *r;

        (void)state;
        add(j, RECORD_CLIENT_REQUEST, 1,
            "\"method\":\"POST\",\"path\":\"/v1/messages\",\"replay_of\":\"req_old\","
            "\"body\":{\"model\":\"m-live\",\"stream\":true}");
        add(j, RECORD_ROUTE, 2, "\"requested\":\"m-live\",\"model_id\":\"m1\",\"mode\":\"direct\"");
        r = replay_journal_request(j, "req_live");
        assert_non_null(r);
        assert_false(r->ended);
        assert_string_equal(r->model_id, "m1");
        add(j, RECORD_END, 3, "\"status\":200,\"duration_ms\":5,\"stop_reason\":\"end_turn\"");
        assert_true(r->ended);
        assert_true(r->stream);
        assert_int_equal(r->status, 200);
        assert_string_equal(r->replay_of, "req_old");
        assert_string_equal(r->session, "live-1");
        assert_string_equal(r->time, "2026-11-24T06:00:00.250000Z");
        assert_int_equal(r->n_records, 3);
        assert_int_equal(r->records[2].seq, 3);
        replay_journal_free(j);
}

/* take_record keeps a copy and gives the shared payload back at once (to its producer, whose
 * allocator then reuses warm memory); add_record leaves the caller's reference alone. */
static void test_take_record_copies(void **state)
{
        struct replay_journal *j = replay_journal_new();
        static const char fields[] = "\"status\":200,\"duration_ms\":5";
        struct record rec;
        const struct replay_request *r;

        (void)state;
        memset(&rec, 0, sizeof rec);
        rec.seq = 1;
        rec.kind = RECORD_END;
        snprintf(rec.request_id, sizeof rec.request_id, "%s", "req_take");
        rec.payload = record_payload_new(fields, sizeof fields - 1);
        record_payload_share(rec.payload, 2); /* ours and the ring's */
        assert_int_equal(replay_journal_take_record(j, &rec), 0);
        assert_int_equal(atomic_load(&rec.payload->refs), 1); /* the ring's is gone */
        assert_int_equal(replay_journal_add_record(j, &rec), 0);
        assert_int_equal(atomic_load(&rec.payload->refs), 1); /* ours stays ours */
        r = replay_journal_request(j, "req_take");
        assert_int_equal(r->n_records, 2);
        assert_ptr_not_equal(r->records[0].payload, rec.payload);
        assert_memory_equal(r->records[0].payload->data, fields, sizeof fields);
        record_payload_unref(rec.payload);
        assert_int_equal(r->duration_ms, 5);
        replay_journal_free(j);
}

/* A journal line taken apart into the record the core would have made: header fields, and the
 * rest as the payload (raw bytes for chunks and stream pieces). The caller unrefs the payload. */
static int record_of_line(const char *line, size_t n, struct record *rec)
{
        cJSON *o = json_parse(line, n, NULL), *it;
        const char *kind, *s;
        double v;
        struct tm tm;
        int y, mo, d, h, mi, sec, us = 0;

        memset(rec, 0, sizeof *rec);
        kind = o != NULL ? cJSON_GetStringValue(cJSON_GetObjectItem(o, "kind")) : NULL;
        if (kind == NULL || record_kind_from_name(kind) < 0) {
                cJSON_Delete(o);
                return -1;
        }
        rec->kind = (enum record_kind)record_kind_from_name(kind);
        if ((it = cJSON_GetObjectItem(o, "seq")) != NULL)
                rec->seq = (uint64_t)it->valuedouble;
        if ((it = cJSON_GetObjectItem(o, "mono_ns")) != NULL) {
                v = it->valuedouble;
                rec->mono.tv_sec = (time_t)(v / 1e9);
                rec->mono.tv_nsec = (long)(v - (double)rec->mono.tv_sec * 1e9);
        }
        s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "time"));
        if (s != NULL &&
            sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%6d", &y, &mo, &d, &h, &mi, &sec, &us) >= 6) {
                memset(&tm, 0, sizeof tm);
                tm.tm_year = y - 1900;
                tm.tm_mon = mo - 1;
                tm.tm_mday = d;
                tm.tm_hour = h;
                tm.tm_min = mi;
                tm.tm_sec = sec;
                rec->wall.tv_sec = timegm(&tm);
                rec->wall.tv_nsec = us * 1000L;
        }
        if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "session"))) != NULL)
                snprintf(rec->session, sizeof rec->session, "%s", s);
        if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "request"))) != NULL)
                snprintf(rec->request_id, sizeof rec->request_id, "%s", s);
        if ((s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "model"))) != NULL)
                snprintf(rec->model, sizeof rec->model, "%s", s);
        static const char *const header[] = {"seq",  "time",    "mono_ns", "pid",
                                             "kind", "session", "request", "model"};
        for (size_t i = 0; i < sizeof header / sizeof header[0]; i++)
                cJSON_DeleteItemFromObject(o, header[i]);
        s = cJSON_GetStringValue(cJSON_GetObjectItem(o, "data"));
        if ((rec->kind == RECORD_UPSTREAM_CHUNK || rec->kind == RECORD_CLIENT_EVENT) && s != NULL &&
            cJSON_GetArraySize(o) == 1) {
                rec->raw = true;
                rec->payload = record_payload_new(s, strlen(s));
        } else {
                char *text = cJSON_PrintUnformatted(o);
                size_t len = strlen(text);
                rec->payload = record_payload_new(text + 1, len - 2); /* without the braces */
                free(text);
        }
        cJSON_Delete(o);
        return 0;
}

static void assert_same_request(const struct replay_request *a, const struct replay_request *b)
{
        struct buf ta, tb;

        assert_string_equal(a->id, b->id);
        assert_string_equal(a->session, b->session);
        assert_string_equal(a->time, b->time);
        assert_true(a->wall == b->wall);
#define SAME_STR(f)                                                                                \
        do {                                                                                       \
                assert_int_equal(a->f == NULL, b->f == NULL);                                      \
                if (a->f != NULL)                                                                  \
                        assert_string_equal(a->f, b->f);                                           \
        } while (0)
        SAME_STR(path);
        SAME_STR(model);
        SAME_STR(model_id);
        SAME_STR(mode);
        SAME_STR(stop_reason);
        SAME_STR(replay_of);
        SAME_STR(error);
#undef SAME_STR
        assert_int_equal(a->status, b->status);
        assert_int_equal(a->stream, b->stream);
        assert_int_equal(a->count_tokens, b->count_tokens);
        assert_int_equal(a->has_usage, b->has_usage);
        assert_int_equal(a->input_tokens, b->input_tokens);
        assert_int_equal(a->output_tokens, b->output_tokens);
        assert_int_equal(a->cache_read_tokens, b->cache_read_tokens);
        assert_int_equal(a->cache_creation_tokens, b->cache_creation_tokens);
        assert_int_equal(a->ttft_ms, b->ttft_ms);
        assert_int_equal(a->duration_ms, b->duration_ms);
        assert_int_equal(a->tool_calls, b->tool_calls);
        assert_int_equal(a->n_tool_names, b->n_tool_names);
        for (size_t i = 0; i < a->n_tool_names; i++)
                assert_string_equal(a->tool_names[i], b->tool_names[i]);
        assert_int_equal(a->attempts, b->attempts);
        assert_int_equal(a->failed, b->failed);
        assert_int_equal(a->ended, b->ended);
        assert_int_equal(a->n_records, b->n_records);
        buf_init(&ta);
        buf_init(&tb);
        for (size_t i = 0; i < a->n_records; i++) {
                assert_int_equal(a->records[i].seq, b->records[i].seq);
                assert_int_equal(a->records[i].kind, b->records[i].kind);
                buf_clear(&ta);
                buf_clear(&tb);
                replay_record_text(a, &a->records[i], &ta);
                replay_record_text(b, &b->records[i], &tb);
                assert_int_equal(ta.len, tb.len);
                assert_memory_equal(ta.data, tb.data, ta.len);
                buf_clear(&ta);
                buf_clear(&tb);
                replay_record_data(a, &a->records[i], &ta);
                replay_record_data(b, &b->records[i], &tb);
                assert_int_equal(ta.len, tb.len);
                if (ta.len > 0)
                        assert_memory_equal(ta.data, tb.data, ta.len);
        }
        buf_fini(&ta);
        buf_fini(&tb);
}

struct twin {
        struct replay_journal *lines, *records;
        size_t fed;
};

static void feed_twin(void *arg, const char *line, size_t n)
{
        struct twin *t = arg;
        struct record rec;
        struct buf text;

        if (record_of_line(line, n, &rec) != 0)
                return;
        buf_init(&text);
        record_format(&rec, 0, &text);
        assert_int_equal(replay_journal_add_line(t->lines, text.data, text.len), 0);
        assert_int_equal(replay_journal_add_record(t->records, &rec), 0);
        record_payload_unref(rec.payload);
        buf_fini(&text);
        t->fed++;
}

static void add_raw(struct twin *t, enum record_kind kind, const char *id, const char *p, size_t n,
                    bool raw)
{
        struct record rec;
        struct buf text;

        memset(&rec, 0, sizeof rec);
        rec.seq = 1000 + t->fed++;
        rec.kind = kind;
        rec.wall.tv_sec = 1795500001;
        rec.wall.tv_nsec = 999999999;
        snprintf(rec.session, sizeof rec.session, "%s", "edge");
        snprintf(rec.request_id, sizeof rec.request_id, "%s", id);
        rec.payload = record_payload_new(p, n > 0 ? n : strlen(p));
        rec.raw = raw;
        buf_init(&text);
        record_format(&rec, 0, &text);
        assert_int_equal(replay_journal_add_line(t->lines, text.data, text.len), 0);
        assert_int_equal(replay_journal_add_record(t->records, &rec), 0);
        record_payload_unref(rec.payload);
        buf_fini(&text);
}

/* The inspector's path (records straight from the ring) and the journal's (their lines) build
 * the same requests: summaries, record texts, stream bytes; over the fixture and odd records. */
static void test_records_read_as_lines(void **state)
{
        struct twin t = {replay_journal_new(), replay_journal_new(), 0};
        static const char chunk[] = "data: {\"x\":\"caf\xc3\xa9 \xff bad\"}\n\nend\0after";
        static const char events[] =
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":"
            "{\"input_tokens\":3,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: "
            "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
            "\"tool_use\",\"name\":\"R\\u00e9ad\"}}\n\n";

        (void)state;
        testutil_each_line(DAY, feed_twin, &t);
        assert_true(t.fed > 40);
        /* Escapes in the summary's strings, a body that is not JSON, keys inside strings. */
        add_raw(
            &t, RECORD_CLIENT_REQUEST, "req_edge1",
            "\"method\":\"POST\",\"path\":\"/v1/messages\\u002fcount_tokens\",\"headers\":"
            "{\"x\":\"\\\"body\\\":{}\"},\"body\":{\"messages\":[{\"content\":\"\\\\\\\"model\\\""
            ":\\\"no\"}],\"model\":\"m\\\"q\\\"\",\"model\":\"second\",\"stream\":true}",
            0, false);
        add_raw(&t, RECORD_CLIENT_REQUEST, "req_edge2",
                "\"method\":\"POST\",\"path\":null,\"body_text\":\"not json {\"", 0, false);
        add_raw(&t, RECORD_UPSTREAM_CHUNK, "req_edge1", chunk, sizeof chunk - 1, true);
        add_raw(&t, RECORD_CLIENT_EVENT, "req_edge1", events, sizeof events - 1, true);
        add_raw(&t, RECORD_CLIENT_EVENT, "req_edge1", "\"data\":\"event: ping\\n\\n\"", 0, false);
        add_raw(&t, RECORD_END, "req_edge1",
                "\"status\":200,\"stop_reason\":null,\"tool_calls\":2,\"failed\":false", 0, false);
        /* The small payloads read in place (route, usage, end, error, client_response): first
         * of duplicate names, escapes in names and in values taken or skipped, numbers that
         * are not plain integers, values of the wrong type, content as an object. */
        add_raw(&t, RECORD_ROUTE, "req_edge3",
                "\"requested\":\"a\\u0062\",\"model_id\":\"m1\",\"model_id\":\"m2\",\"mode\":7", 0,
                false);
        add_raw(&t, RECORD_ROUTE, "req_edge3", "\"mod\\u0065_id\":\"escaped-key\"", 0, false);
        add_raw(&t, RECORD_USAGE, "req_edge3",
                "\"input_tokens\":12.5,\"output_tokens\":-3,\"cache_read_input_tokens\":\"9\"", 0,
                false);
        add_raw(&t, RECORD_CLIENT_RESPONSE, "req_edge3",
                "\"status\":200,\"body\":{\"type\":\"message\",\"content\":[{\"type\":\"text\","
                "\"text\":\"a\\\"b\\n\"},{\"type\":\"tool_use\",\"name\":\"Read\"},{\"type\":"
                "\"server_tool_use\"},\"x\",{\"type\":\"tool_use\",\"name\":3}],\"stop_reason\":"
                "\"tool_use\",\"usage\":{\"input_tokens\":4,\"output_tokens\":5}}",
                0, false);
        add_raw(&t, RECORD_CLIENT_RESPONSE, "req_edge3",
                "\"status\":200,\"body\":{\"content\":{\"a\":{\"type\":\"tool_use\",\"name\":"
                "\"W\\u00e9\"}},\"stop_reason\":\"end\\u005fturn\"}",
                0, false);
        add_raw(&t, RECORD_ERROR, "req_edge3",
                "\"where\":\"upstream\",\"message\":\"no \\\"x\\\"\"", 0, false);
        add_raw(&t, RECORD_ERROR, "req_edge3", "\"status\":500", 0, false);
        add_raw(&t, RECORD_END, "req_edge3",
                "\"status\":1e3,\"model_id\":\"m3\",\"stream\":false,\"ttft_ms\":-1,"
                "\"duration_ms\":123456789012345,\"stop_reason\":\"max_tokens\",\"attempts\":2",
                0, false);
        add_raw(
            &t, RECORD_CLIENT_RESPONSE, "req_edge4",
            "\"status\":429,\"body\":{\"type\":\"error\",\"error\":{\"message\":\"slow down\"}}", 0,
            false);
        add_raw(&t, RECORD_CLIENT_RESPONSE, "req_edge4",
                "\"status\":200,\"body\":{\"type\":\"error\",\"error\":7}", 0, false);
        add_raw(&t, RECORD_END, "req_edge4", "\"status\":429,\"stop_reason\":null,\"failed\":1", 0,
                false);

        add_raw(&t, RECORD_END, "req_edge5", "\"status\":200,\"failed\":true,\"mode\":\"di\\rect\"",
                0, false);
        assert_int_equal(t.lines->n_requests, t.records->n_requests);
        assert_int_equal(t.lines->n_sessions, t.records->n_sessions);
        assert_int_equal(t.lines->n_other, t.records->n_other);
        assert_int_equal(t.lines->lines, t.records->lines);
        for (size_t i = 0; i < t.lines->n_requests; i++)
                assert_same_request(t.lines->requests[i], t.records->requests[i]);
        assert_string_equal(replay_journal_request(t.records, "req_edge1")->model, "m\"q\"");
        assert_true(replay_journal_request(t.records, "req_edge1")->count_tokens);
        {
                const struct replay_request *e3 = replay_journal_request(t.records, "req_edge3");
                const struct replay_request *e4 = replay_journal_request(t.records, "req_edge4");
                assert_string_equal(e3->model_id, "m3");
                assert_int_equal(e3->n_tool_names, 4);
                assert_string_equal(e3->tool_names[3], "W\xc3\xa9");
                assert_string_equal(e3->error, "?: (no message)");
                assert_string_equal(e4->error, "slow down");
                assert_int_equal(e4->status, 429);
        }
        /* Released and freed alike. */
        for (size_t i = 0; i < t.records->n_requests; i++)
                replay_request_release_stream(t.records->requests[i]);
        replay_request_release_bodies(t.records->requests[0]);
        assert_int_equal(t.records->requests[0]->n_records, 0);
        replay_journal_free(t.lines);
        replay_journal_free(t.records);
}

static void test_bad_input(void **state)
{
        struct replay_journal *j = replay_journal_new();
        struct replay_journal *out = NULL;
        char *cause = NULL;
        const char *future = "{\"kind\":\"future\",\"request\":\"r\"}";
        static const char *const bad[] = {
            "", "   ", "{", "[1,2]", "\"kind\"", "{\"kind\":7}", "null", "{\"seq\":\"x\"}",
        };

        (void)state;
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                replay_journal_add_line(j, bad[i], strlen(bad[i]));
        assert_int_equal(j->lines, 6); /* blank lines do not count */
        assert_int_equal(j->bad_lines, 6);
        assert_int_equal(j->n_requests, 0);
        /* an unknown kind is kept (a newer proxy), not refused */
        assert_int_equal(replay_journal_add_line(j, future, strlen(future)), 0);
        assert_int_equal(j->n_requests, 1);
        assert_int_equal(j->requests[0]->records[0].kind, -1);
        assert_string_equal(j->requests[0]->session, "");
        replay_journal_free(j);

        assert_int_equal(replay_journal_load("/nonexistent/journal.jsonl", &out, &cause), -1);
        assert_null(out);
        assert_non_null(strstr(cause, "/nonexistent/journal.jsonl"));
        free(cause);
}

static char *listing(const struct replay_journal *j, const struct replay_session *only)
{
        char *text = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&text, &n);

        replay_print_list(f, j, "day.jsonl", only);
        fclose(f);
        return text;
}

static void test_release_stream(void **state)
{
        struct replay_journal *j = load(DAY);
        struct replay_request *r = replay_journal_request(j, A1);
        long in = r->input_tokens, out = r->output_tokens;

        (void)state;
        replay_request_release_stream(r);
        assert_true(r->released);
        for (size_t i = 0; i < r->n_records; i++) {
                assert_int_not_equal(r->records[i].kind, RECORD_UPSTREAM_CHUNK);
                assert_int_not_equal(r->records[i].kind, RECORD_CLIENT_EVENT);
        }
        assert_non_null(replay_request_find(r, RECORD_CLIENT_REQUEST));
        assert_non_null(replay_request_find(r, RECORD_END));
        assert_int_equal(r->input_tokens, in);
        assert_int_equal(r->output_tokens, out);
        replay_request_release_bodies(r);
        assert_true(r->bodies_released);
        assert_int_equal(r->n_records, 0);
        assert_null(replay_request_find(r, RECORD_END));
        assert_int_equal(r->input_tokens, in);
        replay_journal_free(j);
}

/* A released request is read back from the journal files: the same records, the same
 * summary; a request the files do not have says so. */
static void test_reload(void **state)
{
        char dir[] = "/tmp/test_replay_XXXXXX";
        char *path, *text, *cause = NULL;
        size_t n;
        FILE *f;
        struct replay_journal *j = load(DAY), *ref = load(DAY);
        struct replay_request *r = replay_journal_request(j, A1);
        const struct replay_request *want = req(ref, A1);
        struct buf a, b;

        (void)state;
        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/2026-11-25.jsonl", dir);
        text = testutil_read_file(DAY, &n);
        f = fopen(path, "w");
        assert_non_null(f);
        assert_int_equal(fwrite(text, 1, n, f), n);
        fclose(f);
        /* Noise: a file that is not a journal but names the request. */
        free(path);
        path = xasprintf("%s/notes.txt", dir);
        f = fopen(path, "w");
        fputs("\"request\":\"" A1 "\"\n", f);
        fclose(f);

        replay_request_release_bodies(r);
        assert_int_equal(replay_request_reload(r, dir, &cause), (long)want->n_records);
        assert_true(r->reloaded);
        assert_int_equal(r->n_records, want->n_records);
        buf_init(&a);
        buf_init(&b);
        for (size_t i = 0; i < r->n_records; i++) {
                buf_clear(&a);
                buf_clear(&b);
                replay_record_text(r, &r->records[i], &a);
                replay_record_text(want, &want->records[i], &b);
                assert_string_equal(buf_str(&a), buf_str(&b));
        }
        buf_fini(&a);
        buf_fini(&b);
        assert_int_equal(r->tool_calls, want->tool_calls); /* the summary was not counted twice */
        assert_int_equal(r->attempts, want->attempts);

        /* Not in the files. */
        r = replay_journal_request(j, B1);
        free(r->id);
        r->id = xstrdup("req_notInTheJournal00000001");
        replay_request_release_bodies(r);
        assert_int_equal(replay_request_reload(r, dir, &cause), -1);
        assert_true(r->reload_tried);
        assert_false(r->reloaded);
        assert_non_null(strstr(cause, "req_notInTheJournal00000001"));
        free(cause);

        unlink(path);
        free(path);
        path = xasprintf("%s/2026-11-25.jsonl", dir);
        unlink(path);
        free(path);
        rmdir(dir);
        free(text);
        replay_journal_free(j);
        replay_journal_free(ref);
}

static void test_listing(void **state)
{
        struct replay_journal *j = load(DAY);
        char *text = listing(j, NULL);
        char *one;

        (void)state;
        assert_non_null(strstr(text, "day.jsonl: 3 sessions, 7 requests"));
        assert_non_null(strstr(text, "skipped 2 lines"));
        assert_non_null(strstr(text, "last line is cut short"));
        assert_non_null(strstr(text, "12 records dropped"));
        assert_non_null(strstr(text, "session " SA "  2026-11-25 06:10:00-06:10:30  4 requests"));
        assert_non_null(strstr(text, "06:10:00  " A1 "   claude-opus-5-5 -> deepseek-chat  "
                                     "translate  200  stream  in 2095  out 503  cache 0/0  "
                                     "5.23s  tool_use  1 Write\n"));
        assert_non_null(strstr(text, "replay of " A1));
        assert_non_null(strstr(text, "end_turn  -        2 attempts\n"));
        assert_non_null(strstr(text, "429"));
        assert_non_null(strstr(text, "upstream: upstream answered 429: slow down"));
        assert_non_null(strstr(text, "(no end record"));
        assert_non_null(strstr(text, "total: 4 requests, 0 failed, in 2190 out 507 cache 0/0"));
        assert_non_null(strstr(text, "total: 2 requests, 2 failed"));

        one = listing(j, j->sessions[1]);
        assert_null(strstr(one, SA));
        assert_non_null(strstr(one, "session " SC));
        free(one);
        free(text);
        replay_journal_free(j);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_counts),
            cmocka_unit_test(test_streamed_tool_use),
            cmocka_unit_test(test_retried_non_streamed),
            cmocka_unit_test(test_count_tokens),
            cmocka_unit_test(test_cut_short),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_replay_of_and_direct),
            cmocka_unit_test(test_records_parse),
            cmocka_unit_test(test_sessions),
            cmocka_unit_test(test_ambiguous_prefix),
            cmocka_unit_test(test_incremental),
            cmocka_unit_test(test_add_record),
            cmocka_unit_test(test_records_read_as_lines),
            cmocka_unit_test(test_take_record_copies),
            cmocka_unit_test(test_bad_input),
            cmocka_unit_test(test_release_stream),
            cmocka_unit_test(test_reload),
            cmocka_unit_test(test_listing),
        };

        /* The listing shows local time; fix it so the expected text holds anywhere. */
        setenv("TZ", "UTC", 1);
        alloc_init_cjson();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
