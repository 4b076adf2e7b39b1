/*
 * test_recorder: numbering and stamps (the wall time derived from the monotonic clock stays
 * with the real clock), ids copied and cut to their fields, the reused scratch buffer, and drop
 * accounting with the `dropped` record that follows a full ring.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "recorder.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static long long ns(const struct timespec *t)
{
        return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

static void test_stamps(void **state)
{
        struct recorder r;
        struct ring *ring = ring_new(4096);
        struct record rec;
        struct timespec before;
        struct timespec after;
        uint64_t seq = 0;
        long long last_mono = 0;

        (void)state;
        recorder_init(&r);
        recorder_add_sink(&r, "test", ring);
        clock_gettime(CLOCK_REALTIME, &before);
        for (int i = 0; i < 3000; i++) {
                struct buf *b = recorder_scratch(&r);
                assert_int_equal(b->len, 0);
                buf_put_lit(b, "\"i\":");
                buf_put_i64(b, i);
                recorder_emit(&r, RECORD_USAGE, "s", "req_1", "m", b);
                if (i % 1000 == 999) {
                        /* Cross a second boundary now and then. */
                        struct timespec nap = {0, 400 * 1000000L};
                        nanosleep(&nap, NULL);
                }
        }
        clock_gettime(CLOCK_REALTIME, &after);
        while (ring_pop(ring, &rec)) {
                char want[16];
                assert_int_equal(rec.seq, ++seq);
                assert_true(rec.wall.tv_nsec >= 0 && rec.wall.tv_nsec < 1000000000L);
                assert_true(ns(&rec.mono) >= last_mono);
                last_mono = ns(&rec.mono);
                /* Within the real clock's reading around the run (a little slack for the
                 * offset's rounding). */
                assert_true(ns(&rec.wall) >= ns(&before) - 1000000LL);
                assert_true(ns(&rec.wall) <= ns(&after) + 1000000LL);
                assert_string_equal(rec.session, "s");
                assert_string_equal(rec.request_id, "req_1");
                assert_string_equal(rec.model, "m");
                snprintf(want, sizeof want, "\"i\":%llu", (unsigned long long)seq - 1);
                assert_string_equal(rec.payload->data, want);
                assert_false(rec.raw);
                record_payload_unref(rec.payload);
        }
        assert_int_equal(seq, 3000);
        recorder_fini(&r);
        ring_free(ring);
}

static void test_ids_cut(void **state)
{
        struct recorder r;
        struct ring *ring = ring_new(4);
        struct record rec;
        char longid[200];

        (void)state;
        memset(longid, 'x', sizeof longid - 1);
        longid[sizeof longid - 1] = '\0';
        recorder_init(&r);
        recorder_add_sink(&r, "test", ring);
        recorder_emit_raw(&r, RECORD_UPSTREAM_CHUNK, longid, longid, longid, "ab", 2);
        recorder_emit(&r, RECORD_END, NULL, NULL, NULL, NULL);
        assert_true(ring_pop(ring, &rec));
        assert_int_equal(strlen(rec.session), sizeof rec.session - 1);
        assert_int_equal(strlen(rec.request_id), sizeof rec.request_id - 1);
        assert_int_equal(strlen(rec.model), sizeof rec.model - 1);
        assert_true(rec.raw);
        assert_int_equal(rec.payload->len, 2);
        record_payload_unref(rec.payload);
        assert_true(ring_pop(ring, &rec));
        assert_string_equal(rec.session, "");
        assert_string_equal(rec.request_id, "");
        assert_null(rec.payload);
        recorder_fini(&r);
        ring_free(ring);
}

static void test_drops(void **state)
{
        struct recorder r;
        struct ring *ring = ring_new(2);
        struct record rec;

        (void)state;
        recorder_init(&r);
        recorder_add_sink(&r, "journal", ring);
        for (int i = 0; i < 5; i++)
                recorder_emit_raw(&r, RECORD_CLIENT_EVENT, NULL, NULL, NULL, "x", 1);
        assert_int_equal(recorder_dropped(&r, "journal"), 3);
        assert_int_equal(recorder_dropped(&r, "nope"), 0);
        while (ring_pop(ring, &rec))
                record_payload_unref(rec.payload);
        recorder_emit_raw(&r, RECORD_CLIENT_EVENT, NULL, NULL, NULL, "y", 1);
        assert_true(ring_pop(ring, &rec));
        assert_int_equal(rec.kind, RECORD_DROPPED);
        assert_string_equal(rec.payload->data, "\"consumer\":\"journal\",\"count\":3");
        record_payload_unref(rec.payload);
        assert_true(ring_pop(ring, &rec));
        assert_int_equal(rec.kind, RECORD_CLIENT_EVENT);
        assert_string_equal(rec.payload->data, "y");
        record_payload_unref(rec.payload);
        recorder_fini(&r);
        ring_free(ring);
}

/* A body that grew the scratch buffer far is not kept after its record. */
static void test_scratch_bounded(void **state)
{
        struct recorder r;
        struct ring *ring = ring_new(4);
        struct record rec;
        struct buf *b;

        (void)state;
        recorder_init(&r);
        recorder_add_sink(&r, "test", ring);
        b = recorder_scratch(&r);
        buf_reserve(b, 1 << 20);
        memset(b->data, 'a', 1 << 20);
        b->len = 1 << 20;
        b->data[b->len] = '\0';
        recorder_emit(&r, RECORD_CLIENT_REQUEST, NULL, NULL, NULL, b);
        assert_true(r.scratch.cap <= 64 * 1024);
        assert_true(ring_pop(ring, &rec));
        assert_int_equal(rec.payload->len, 1 << 20);
        record_payload_unref(rec.payload);
        recorder_fini(&r);
        ring_free(ring);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stamps),
            cmocka_unit_test(test_ids_cut),
            cmocka_unit_test(test_drops),
            cmocka_unit_test(test_scratch_bounded),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
