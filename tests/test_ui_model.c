/*
 * test_ui_model: the inspector's model over the hand-written journal of test_replay (sessions
 * ordered by their latest request, states, routing from model_switch), prices from a config
 * record fed as a ring record, filter parsing and matching, and search inside the records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "record.h"
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

static const struct replay_request *row_req(const struct ui_model *m, size_t i)
{
        assert_true(i < m->n_rows);
        return m->rows[i].request;
}

static void test_rows_and_states(void **state)
{
        struct ui_model m;
        (void)state;

        ui_model_init(&m);
        load(&m);
        /* Three sessions, each a header followed by its requests; the session of the newest
         * request (A4) comes last. */
        assert_int_equal(m.n_rows, 3 + 7);
        assert_int_equal(m.rows[0].type, UI_ROW_SESSION);
        assert_string_equal(row_req(&m, 1)->id, C1);
        assert_int_equal(m.rows[2].type, UI_ROW_SESSION);
        assert_string_equal(row_req(&m, 3)->id, B1);
        assert_string_equal(row_req(&m, 4)->id, B2);
        assert_string_equal(row_req(&m, 6)->id, "req_A1streamedToolUse000001");
        assert_string_equal(row_req(&m, 9)->id, A4);

        assert_int_equal(ui_request_state(row_req(&m, 6)), UI_DONE);
        assert_int_equal(ui_request_state(row_req(&m, 7)), UI_DONE); /* retried, then 200 */
        assert_int_equal(ui_request_state(row_req(&m, 3)), UI_ERROR);
        assert_int_equal(ui_request_state(row_req(&m, 9)), UI_STREAMING); /* cut short */
        assert_string_equal(ui_state_name(UI_WAITING), "waiting");

        assert_true(m.routed);
        assert_string_equal(m.route_to, "kimi");
        assert_string_equal(m.route_scope, "all");
        assert_int_equal(m.live, 1);
        assert_int_equal(m.input_tokens, 2095 + 40 + 55 + 1900);
        assert_int_equal(ui_model_row_of(&m, B2), 4);
        assert_int_equal(ui_model_row_of(&m, "req_nope"), -1);
        ui_model_fini(&m);
}

static void test_config_prices_from_ring_record(void **state)
{
        static const char cfg[] =
            "\"path\":\"m.yaml\",\"result\":\"loaded\",\"models\":[\"deepseek-chat\"],"
            "\"entries\":[{\"model_id\":\"deepseek-chat\",\"model_name\":\"deepseek-chat\","
            "\"mode\":\"translate\",\"api_base\":\"http://x\",\"max_tokens\":8192,"
            "\"max_input_tokens\":131072,\"default\":true,\"price\":{\"input\":1,\"output\":2,"
            "\"cache_read\":0.5,\"cache_write\":0}},{\"model_id\":\"kimi\",\"mode\":\"direct\"}]";
        struct record rec;
        struct ui_model m;
        const struct ui_entry *e;
        const struct replay_request *r;
        double usd;
        (void)state;

        ui_model_init(&m);
        memset(&rec, 0, sizeof(rec));
        rec.seq = 1;
        rec.kind = RECORD_CONFIG;
        rec.payload = record_payload_new(cfg, sizeof(cfg) - 1);
        ui_model_add_record(&m, &rec);
        record_payload_unref(rec.payload);
        load(&m);
        /* The journal's own config (no entries) came later and replaced the list. */
        assert_int_equal(m.n_entries, 2);
        ui_model_reset(&m);
        rec.seq = 99;
        rec.payload = record_payload_new(cfg, sizeof(cfg) - 1);
        load(&m);
        ui_model_add_record(&m, &rec);
        record_payload_unref(rec.payload);
        ui_model_refresh(&m);
        assert_int_equal(m.n_entries, 2);
        e = ui_model_entry(&m, "deepseek-chat");
        assert_non_null(e);
        assert_true(e->has_price);
        assert_true(e->is_default);
        assert_int_equal(e->max_input_tokens, 131072);
        assert_false(ui_model_entry(&m, "kimi")->has_price);
        r = replay_journal_request(m.j, "req_A1streamedToolUse000001");
        assert_true(ui_model_cost(&m, r, &usd));
        assert_true(usd > (2095 * 1.0 + 503 * 2.0) / 1e6 - 1e-12);
        assert_true(usd < (2095 * 1.0 + 503 * 2.0) / 1e6 + 1e-12);
        assert_false(ui_model_cost(&m, replay_journal_request(m.j, C1), &usd)); /* kimi */
        assert_true(m.cost > 0);
        ui_model_fini(&m);
}

/* One live record, as the core would send it through the ring. */
static void feed(struct ui_model *m, uint64_t seq, enum record_kind kind, const char *id,
                 const char *fields, bool raw)
{
        struct record r;

        memset(&r, 0, sizeof r);
        r.seq = seq;
        r.kind = kind;
        r.raw = raw;
        snprintf(r.request_id, sizeof r.request_id, "%s", id);
        snprintf(r.session, sizeof r.session, "s");
        r.payload = record_payload_new(fields, strlen(fields));
        ui_model_add_record(m, &r);
        record_payload_unref(r.payload);
}

static void test_old_streams_released(void **state)
{
        struct ui_model m;
        uint64_t seq = 0;
        const size_t n = 1400; /* 3 records each: past the compaction check */

        (void)state;
        ui_model_init(&m);
        for (size_t i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof id, "req_%zu", i);
                feed(&m, ++seq, RECORD_CLIENT_REQUEST, id,
                     "\"method\":\"POST\",\"path\":\"/v1/messages\",\"body\":{}", false);
                feed(&m, ++seq, RECORD_CLIENT_EVENT, id, "event: ping\ndata: {}\n\n", true);
                feed(&m, ++seq, RECORD_END, id, "\"status\":200,\"failed\":false", false);
        }
        assert_int_equal(m.j->n_requests, n);
        /* The oldest lost their stream bytes, the newest 500 kept them; all kept summaries. */
        assert_true(m.j->requests[0]->released);
        assert_null(replay_request_find(m.j->requests[0], RECORD_CLIENT_EVENT));
        assert_non_null(replay_request_find(m.j->requests[0], RECORD_CLIENT_REQUEST));
        assert_int_equal(m.j->requests[0]->status, 200);
        assert_false(m.j->requests[n - 1]->released);
        assert_non_null(replay_request_find(m.j->requests[n - 1], RECORD_CLIENT_EVENT));
        assert_false(m.j->requests[n - 500]->released);
        ui_model_fini(&m);

        /* Requests whose end record was lost to a full ring are released too, and no longer
         * count as live. */
        ui_model_init(&m);
        for (size_t i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof id, "req_%zu", i);
                feed(&m, ++seq, RECORD_CLIENT_REQUEST, id,
                     "\"method\":\"POST\",\"path\":\"/v1/messages\",\"body\":{}", false);
                feed(&m, ++seq, RECORD_CLIENT_EVENT, id, "event: ping\ndata: {}\n\n", true);
                feed(&m, ++seq, RECORD_CLIENT_EVENT, id, "event: ping\ndata: {}\n\n", true);
        }
        assert_true(m.j->requests[0]->released);
        assert_int_equal(ui_request_state(m.j->requests[0]), UI_ERROR);
        ui_model_refresh(&m);
        assert_true(m.live < 600); /* the check runs every 4096 records */
        ui_model_fini(&m);
}

static void test_old_bodies_released(void **state)
{
        struct ui_model m;
        uint64_t seq = 0;
        const size_t n = 6200; /* a compaction check falls after the 5000th newest */

        (void)state;
        ui_model_init(&m);
        for (size_t i = 0; i < n; i++) {
                char id[32];
                snprintf(id, sizeof id, "req_%zu", i);
                feed(&m, ++seq, RECORD_CLIENT_REQUEST, id,
                     "\"method\":\"POST\",\"path\":\"/v1/messages\",\"body\":{}", false);
                feed(&m, ++seq, RECORD_END, id, "\"status\":200,\"failed\":false", false);
        }
        assert_true(m.j->requests[0]->bodies_released);
        assert_null(replay_request_find(m.j->requests[0], RECORD_CLIENT_REQUEST));
        assert_int_equal(m.j->requests[0]->status, 200);
        assert_false(m.j->requests[n - 1]->bodies_released);
        assert_non_null(replay_request_find(m.j->requests[n - 1], RECORD_CLIENT_REQUEST));
        ui_model_fini(&m);
}

static void feed_in(struct ui_model *m, uint64_t seq, enum record_kind kind, const char *session,
                    const char *id, const char *fields)
{
        struct record r;

        memset(&r, 0, sizeof r);
        r.seq = seq;
        r.kind = kind;
        snprintf(r.request_id, sizeof r.request_id, "%s", id);
        snprintf(r.session, sizeof r.session, "%s", session);
        r.payload = record_payload_new(fields, strlen(fields));
        ui_model_add_record(m, &r);
        record_payload_unref(r.payload);
}

/* Sessions move to the bottom when they get a new request, not on any record; totals of
 * finished requests are summed once but a late record or new prices still count. */
static void test_session_order_and_totals(void **state)
{
        struct ui_model m;
        static const char usage[] = "\"input_tokens\":10,\"output_tokens\":1";
        static const char cfg[] =
            "\"result\":\"loaded\",\"entries\":[{\"model_id\":\"m\",\"price\":{\"input\":1e6}}]";
        static const char route[] = "\"requested\":\"m\",\"model_id\":\"m\",\"mode\":\"translate\"";

        (void)state;
        ui_model_init(&m);
        feed_in(&m, 1, RECORD_USAGE, "a", "r1", usage);
        feed_in(&m, 2, RECORD_END, "a", "r1", "\"status\":200");
        feed_in(&m, 3, RECORD_USAGE, "b", "r2", usage);
        feed_in(&m, 4, RECORD_END, "b", "r2", "\"status\":200");
        feed_in(&m, 5, RECORD_USAGE, "a", "r3", usage);
        feed_in(&m, 6, RECORD_USAGE, "b", "r2", usage); /* late: b keeps its place */
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 5);
        assert_string_equal(m.rows[0].session->id, "b");
        assert_string_equal(m.rows[2].session->id, "a");
        assert_string_equal(m.rows[3].request->id, "r1");
        assert_string_equal(m.rows[4].request->id, "r3");
        assert_int_equal(m.input_tokens, 30);
        assert_int_equal(m.live, 1);
        assert_int_equal(m.settled, 2);
        /* A record for a summed request: summed again. */
        feed_in(&m, 7, RECORD_USAGE, "a", "r1", "\"input_tokens\":100,\"output_tokens\":1");
        ui_model_refresh(&m);
        assert_int_equal(m.input_tokens, 120);
        /* Prices arrive: the summed requests get their cost. */
        feed_in(&m, 8, RECORD_ROUTE, "a", "r1", route);
        feed_in(&m, 9, RECORD_END, "a", "r3", "\"status\":200,\"model_id\":\"m\"");
        ui_model_refresh(&m);
        assert_true(m.cost == 0);
        {
                struct record r;
                memset(&r, 0, sizeof r);
                r.seq = 10;
                r.kind = RECORD_CONFIG;
                r.payload = record_payload_new(cfg, sizeof cfg - 1);
                ui_model_add_record(&m, &r);
                record_payload_unref(r.payload);
        }
        ui_model_refresh(&m);
        /* r3's 10 tokens at $1 each; r1's route came after its end, so it has no entry */
        assert_true(m.cost > 9.99 && m.cost < 10.01);
        assert_int_equal(m.live, 0);
        ui_model_fini(&m);
}

static void test_filter_parse(void **state)
{
        struct ui_filter f;
        (void)state;
        ui_filter_parse(&f, "model:kimi  status:4xx session:abc free text");
        assert_string_equal(f.model, "kimi");
        assert_string_equal(f.status, "4xx");
        assert_string_equal(f.session, "abc");
        assert_null(f.state);
        assert_int_equal(f.n_words, 2);
        assert_string_equal(f.words[0], "free");
        assert_string_equal(f.words[1], "text");
        assert_true(ui_filter_active(&f));
        ui_filter_clear(&f);
        assert_false(ui_filter_active(&f));
        ui_filter_parse(&f, "unknown:x :y");
        assert_int_equal(f.n_words, 2);
        ui_filter_clear(&f);
}

static size_t matches(struct ui_model *m, const char *filter)
{
        size_t i, n = 0;
        ui_model_set_filter(m, filter);
        ui_model_refresh(m);
        for (i = 0; i < m->n_rows; i++)
                n += m->rows[i].type == UI_ROW_REQUEST;
        return n;
}

static void test_filter_rows(void **state)
{
        struct ui_model m;
        (void)state;
        ui_model_init(&m);
        load(&m);
        assert_int_equal(matches(&m, "status:4xx"), 2);
        assert_int_equal(matches(&m, "status:429"), 1);
        assert_int_equal(matches(&m, "status:err"), 2);
        assert_int_equal(matches(&m, "model:kimi"), 1);
        assert_int_equal(m.n_rows, 2); /* only the session with a match has a header */
        assert_int_equal(matches(&m, "session:conn"), 2);
        assert_int_equal(matches(&m, "state:streaming"), 1);
        assert_int_equal(matches(&m, "model:deepseek status:2xx"), 3);
        assert_int_equal(matches(&m, "rate_limit_error"), 1); /* found inside the records */
        assert_int_equal(matches(&m, "B2badRequest"), 1);     /* the request id */
        assert_int_equal(matches(&m, "no-such-thing-anywhere"), 0);
        assert_int_equal(m.n_rows, 0);
        assert_int_equal(matches(&m, ""), 7);
        ui_model_fini(&m);
}

static void test_search(void **state)
{
        struct ui_model m;
        long a, b;
        (void)state;
        ui_model_init(&m);
        load(&m);
        a = ui_model_search(&m, "rate_limit", -1, true);
        assert_int_equal(a, ui_model_row_of(&m, B1));
        b = ui_model_search(&m, "rate_limit", a, true);
        assert_int_equal(b, a); /* only one match: wraps back to it */
        /* Several matches: forward then back returns to the first. */
        a = ui_model_search(&m, "Write", -1, true);
        b = ui_model_search(&m, "Write", a, true);
        assert_true(a >= 0 && b > a);
        assert_int_equal(ui_model_search(&m, "Write", b, false), a);
        assert_int_equal(m.rows[a].type, UI_ROW_REQUEST);
        assert_true(ui_request_contains(m.rows[b].request, "write"));
        assert_int_equal(ui_model_search(&m, "zzz-none", 0, true), -1);
        assert_int_equal(ui_model_search(&m, "", 0, true), -1);
        ui_model_fini(&m);
}

/* Rows are kept across refreshes while only records of listed requests arrive (the same
 * array, untouched), rebuilt for a new request, and with a filter whenever records come. */
static void test_rows_kept_between_frames(void **state)
{
        struct ui_model m;
        struct ui_row *rows;

        (void)state;
        ui_model_init(&m);
        feed_in(&m, 1, RECORD_USAGE, "a", "r1", "\"input_tokens\":1");
        feed_in(&m, 2, RECORD_USAGE, "b", "r2", "\"input_tokens\":2");
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 4);
        rows = m.rows;
        rows[0].request = (struct replay_request *)&m; /* a mark a rebuild would overwrite */
        feed_in(&m, 3, RECORD_END, "a", "r1", "\"status\":200");
        ui_model_refresh(&m);
        assert_ptr_equal(m.rows[0].request, &m); /* kept */
        assert_int_equal(m.input_tokens, 3);     /* totals still refreshed */
        assert_int_equal(m.live, 1);
        feed_in(&m, 4, RECORD_USAGE, "a", "r3", "\"input_tokens\":4");
        ui_model_refresh(&m);
        assert_null(m.rows[0].request); /* rebuilt: a's new request moved it to the bottom */
        assert_int_equal(m.n_rows, 5);
        assert_string_equal(m.rows[0].session->id, "b");
        assert_string_equal(m.rows[4].request->id, "r3");
        /* A filter on state: a request that ends leaves it without a new request. */
        ui_model_set_filter(&m, "state:waiting");
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 4); /* b r2, a r3 */
        feed_in(&m, 5, RECORD_END, "b", "r2", "\"status\":200");
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 2);
        assert_string_equal(m.rows[1].request->id, "r3");
        ui_model_set_filter(&m, NULL);
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 5);
        ui_model_reset(&m);
        ui_model_refresh(&m);
        assert_int_equal(m.n_rows, 0);
        ui_model_fini(&m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rows_and_states),
            cmocka_unit_test(test_config_prices_from_ring_record),
            cmocka_unit_test(test_old_streams_released),
            cmocka_unit_test(test_old_bodies_released),
            cmocka_unit_test(test_session_order_and_totals),
            cmocka_unit_test(test_rows_kept_between_frames),
            cmocka_unit_test(test_filter_parse),
            cmocka_unit_test(test_filter_rows),
            cmocka_unit_test(test_search),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
