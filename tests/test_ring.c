/*
 * test_ring: the SPSC ring. Single-threaded: capacity rounding, order across wrap-around, a full
 * ring refusing pushes at once (a million of them, so a producer that blocked or spun would
 * never finish), payloads released by ring_free. Two threads: a stress run of millions of
 * records through a small ring checking order, count and slot contents, once with a producer
 * that retries when full and once with one that drops and counts; and a consumer asleep in
 * ring_wait(-1) woken by a push and by ring_wake, and ring_wait_fd woken by a push or by its fd
 * (the inspector's terminal). The test command also runs this under TSan.
 *
 * CP_RING_STRESS_RECORDS overrides the stress size (default 5 million, 1 million under a
 * sanitizer).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "record.h"
#include "ring.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define STRESS_DEFAULT 1000000
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRESS_DEFAULT 1000000
#endif
#endif
#ifndef STRESS_DEFAULT
#define STRESS_DEFAULT 5000000
#endif

/* Every PAYLOAD_EVERY-th record carries a payload with its seq in decimal. */
#define PAYLOAD_EVERY 16

static uint64_t stress_records(void)
{
        const char *env = getenv("CP_RING_STRESS_RECORDS");
        char *end;
        unsigned long long n;

        if (env == NULL || *env == '\0')
                return STRESS_DEFAULT;
        errno = 0;
        n = strtoull(env, &end, 10);
        if (errno != 0 || *end != '\0' || n == 0)
                return STRESS_DEFAULT;
        return n;
}

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A record whose every field is derived from seq, so a torn or stale slot shows. */
static void make_record(struct record *rec, uint64_t seq)
{
        memset(rec, 0, sizeof *rec);
        rec->seq = seq;
        rec->mono.tv_sec = (time_t)(seq * 3);
        rec->wall.tv_nsec = (long)(seq % 1000000000);
        rec->kind = (enum record_kind)(seq % RECORD_KIND_COUNT);
        rec->session[0] = (char)('a' + seq % 26);
        rec->request_id[31] = (char)(seq & 0x7f);
        rec->model[63] = (char)((seq >> 7) & 0x7f);
        rec->payload = NULL;
}

static bool record_matches(const struct record *rec)
{
        uint64_t seq = rec->seq;

        return rec->mono.tv_sec == (time_t)(seq * 3) &&
               rec->wall.tv_nsec == (long)(seq % 1000000000) &&
               rec->kind == (enum record_kind)(seq % RECORD_KIND_COUNT) &&
               rec->session[0] == (char)('a' + seq % 26) &&
               rec->request_id[31] == (char)(seq & 0x7f) &&
               rec->model[63] == (char)((seq >> 7) & 0x7f);
}

static struct record_payload *seq_payload(uint64_t seq)
{
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64, seq);

        return record_payload_new(buf, (size_t)n);
}

/* ---- single-threaded ---- */

static size_t fill(struct ring *r)
{
        struct record rec;
        size_t n = 0;

        make_record(&rec, 0);
        while (ring_push(r, &rec))
                n++;
        return n;
}

static void test_capacity_rounding(void **state)
{
        static const size_t asked[] = {0, 1, 2, 3, 5, 8, 1000, 1024, 1025};
        static const size_t got[] = {2, 2, 2, 4, 8, 8, 1024, 1024, 2048};

        (void)state;
        for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
                struct ring *r = ring_new(asked[i]);
                assert_int_equal(fill(r), got[i]);
                assert_int_equal(ring_count(r), got[i]);
                ring_free(r);
        }
}

static void test_order_across_wrap(void **state)
{
        struct ring *r = ring_new(4);
        uint64_t next_in = 1, next_out = 1;
        struct record rec;

        (void)state;
        /* Batches of 1..4 so head and tail cross the end of the slots at every offset. */
        for (int round = 0; round < 10000; round++) {
                int batch = 1 + round % 4;
                for (int i = 0; i < batch; i++) {
                        make_record(&rec, next_in++);
                        assert_true(ring_push(r, &rec));
                }
                assert_int_equal(ring_count(r), batch);
                for (int i = 0; i < batch; i++) {
                        assert_true(ring_pop(r, &rec));
                        assert_int_equal(rec.seq, next_out++);
                        assert_true(record_matches(&rec));
                }
                assert_false(ring_pop(r, &rec));
                assert_int_equal(ring_count(r), 0);
        }
        ring_free(r);
}

/* The producer never blocks: on a full ring with no consumer at all, a million more pushes all
 * return false. Were push to wait for room, this loop would never end (ctest's timeout fails it);
 * no timing is asserted, so a slow machine cannot make it flake. */
static void test_full_ring_never_blocks(void **state)
{
        struct ring *r = ring_new(8);
        struct record_payload *p = record_payload_new("kept", 4);
        struct record rec;
        uint64_t refused = 0;
        double t0, t1;

        (void)state;
        for (uint64_t i = 0; i < 8; i++) {
                make_record(&rec, i);
                assert_true(ring_push(r, &rec));
        }
        assert_int_equal(ring_count(r), 8);

        make_record(&rec, 99);
        rec.payload = p;
        t0 = now_s();
        for (int i = 0; i < 1000000; i++) {
                if (!ring_push(r, &rec))
                        refused++;
        }
        t1 = now_s();
        assert_int_equal(refused, 1000000);
        /* A refused push takes no reference and keeps nothing. */
        assert_int_equal(atomic_load(&p->refs), 1);
        assert_int_equal(ring_count(r), 8);
        print_message("full ring: 1000000 refused pushes in %.3f s (%.1f ns each)\n", t1 - t0,
                      (t1 - t0) * 1e9 / 1e6);

        /* What was queued is intact and in order, and the ring takes records again. */
        for (uint64_t i = 0; i < 8; i++) {
                assert_true(ring_pop(r, &rec));
                assert_int_equal(rec.seq, i);
                assert_true(record_matches(&rec));
        }
        assert_false(ring_pop(r, &rec));
        make_record(&rec, 100);
        assert_true(ring_push(r, &rec));
        ring_free(r);
        record_payload_unref(p);
}

static void test_free_releases_payloads(void **state)
{
        struct ring *r = ring_new(8);
        struct record_payload *p[3];
        struct record rec;

        (void)state;
        for (int i = 0; i < 3; i++) {
                p[i] = seq_payload((uint64_t)i);
                make_record(&rec, (uint64_t)i);
                /* One reference for the ring, one kept here to look at the count afterwards. */
                rec.payload = record_payload_ref(p[i]);
                assert_true(ring_push(r, &rec));
        }
        /* A queued record with no payload is fine too. */
        make_record(&rec, 3);
        assert_true(ring_push(r, &rec));
        ring_free(r);
        for (int i = 0; i < 3; i++) {
                assert_int_equal(atomic_load(&p[i]->refs), 1);
                record_payload_unref(p[i]);
        }
        ring_free(NULL);
}

static void test_wait_returns(void **state)
{
        struct ring *r = ring_new(4);
        struct record rec;

        (void)state;
        ring_wait(r, 0);  /* empty: polls and returns */
        ring_wait(r, 20); /* empty: times out */
        make_record(&rec, 1);
        assert_true(ring_push(r, &rec));
        ring_wait(r, -1); /* not empty: returns at once, would hang otherwise */
        assert_true(ring_pop(r, &rec));
        ring_free(r);
}

/* ---- two threads ---- */

struct stress {
        struct ring *r;
        uint64_t n;
        bool retry;

        /* producer's results */
        uint64_t dropped;
        uint64_t full_spins;
        atomic_bool drop_seen;
        atomic_bool done;

        /* consumer's results */
        uint64_t received;
        uint64_t out_of_order;
        uint64_t bad_record;
        uint64_t bad_payload;
        uint64_t waits;
};

static void *stress_producer(void *arg)
{
        struct stress *s = arg;
        struct record rec;

        for (uint64_t seq = 1; seq <= s->n; seq++) {
                struct record_payload *mine = NULL;

                make_record(&rec, seq);
                if (seq % PAYLOAD_EVERY == 0) {
                        /* As the core does with two consumers: one reference for the ring, one
                         * kept until both are handed out; the last unref may be on either
                         * thread. */
                        mine = seq_payload(seq);
                        rec.payload = record_payload_ref(mine);
                }
                if (s->retry) {
                        while (!ring_push(s->r, &rec)) {
                                s->full_spins++;
                                sched_yield();
                        }
                } else if (!ring_push(s->r, &rec)) {
                        s->dropped++;
                        record_payload_unref(rec.payload); /* refused: still ours */
                        atomic_store_explicit(&s->drop_seen, true, memory_order_release);
                }
                record_payload_unref(mine);
        }
        atomic_store_explicit(&s->done, true, memory_order_release);
        /* The consumer may be asleep on an empty ring waiting for records that will not come. */
        ring_wake(s->r);
        return NULL;
}

static void stress_take(struct stress *s, const struct record *rec, uint64_t *last)
{
        s->received++;
        if (s->retry ? rec->seq != *last + 1 : rec->seq <= *last)
                s->out_of_order++;
        *last = rec->seq;
        if (!record_matches(rec))
                s->bad_record++;
        if ((rec->seq % PAYLOAD_EVERY == 0) != (rec->payload != NULL))
                s->bad_payload++;
        if (rec->payload != NULL) {
                if (strtoull(rec->payload->data, NULL, 10) != rec->seq)
                        s->bad_payload++;
                record_payload_unref(rec->payload);
        }
}

static void *stress_consumer(void *arg)
{
        struct stress *s = arg;
        struct record rec;
        uint64_t last = 0;

        /* Dropping variant: start only once the ring has overflowed, so drops are certain. */
        if (!s->retry) {
                while (!atomic_load_explicit(&s->drop_seen, memory_order_acquire))
                        sched_yield();
        }
        for (;;) {
                if (ring_pop(s->r, &rec)) {
                        stress_take(s, &rec, &last);
                        continue;
                }
                if (atomic_load_explicit(&s->done, memory_order_acquire)) {
                        /* Every push happened before done: what is left is all there is. */
                        while (ring_pop(s->r, &rec))
                                stress_take(s, &rec, &last);
                        break;
                }
                s->waits++;
                ring_wait(s->r, -1);
        }
        return NULL;
}

static void stress_run(bool retry)
{
        struct stress s = {.r = ring_new(1024), .n = stress_records(), .retry = retry};
        pthread_t prod, cons;
        double t0, t1;

        atomic_init(&s.drop_seen, false);
        atomic_init(&s.done, false);
        t0 = now_s();
        assert_int_equal(pthread_create(&cons, NULL, stress_consumer, &s), 0);
        assert_int_equal(pthread_create(&prod, NULL, stress_producer, &s), 0);
        assert_int_equal(pthread_join(prod, NULL), 0);
        assert_int_equal(pthread_join(cons, NULL), 0);
        t1 = now_s();

        print_message("%s: %" PRIu64 " sent, %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
                      " full retries, %" PRIu64 " consumer waits, %.2f s, %.1f M records/s\n",
                      retry ? "retrying producer" : "dropping producer", s.n, s.received, s.dropped,
                      s.full_spins, s.waits, t1 - t0, (double)s.n / (t1 - t0) / 1e6);
        assert_int_equal(s.out_of_order, 0);
        assert_int_equal(s.bad_record, 0);
        assert_int_equal(s.bad_payload, 0);
        assert_int_equal(s.received + s.dropped, s.n);
        if (retry) {
                assert_int_equal(s.dropped, 0);
                assert_int_equal(s.received, s.n);
        } else {
                assert_true(s.dropped > 0);
                assert_true(s.received >= 1024); /* at least what filled the ring */
        }
        assert_int_equal(ring_count(s.r), 0);
        ring_free(s.r);
}

static void test_stress_retry(void **state)
{
        (void)state;
        stress_run(true);
}

static void test_stress_drop(void **state)
{
        (void)state;
        stress_run(false);
}

struct sleeper {
        struct ring *r;
        atomic_bool entered;
        atomic_bool returned;
};

static void *sleeper_thread(void *arg)
{
        struct sleeper *s = arg;

        atomic_store(&s->entered, true);
        ring_wait(s->r, -1);
        atomic_store(&s->returned, true);
        return NULL;
}

/* A consumer blocked in ring_wait(-1) on an empty ring wakes on a push (by_push) or on
 * ring_wake. It must not return before either: checked just before waking it. */
static void wake_run(bool by_push)
{
        struct sleeper s = {.r = ring_new(16)};
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
        struct timespec deadline;
        struct record rec;
        pthread_t th;

        atomic_init(&s.entered, false);
        atomic_init(&s.returned, false);
        assert_int_equal(pthread_create(&th, NULL, sleeper_thread, &s), 0);
        while (!atomic_load(&s.entered))
                sched_yield();
        /* Give it time to reach poll(); if it has not yet, the wake-up is still not lost. */
        nanosleep(&nap, NULL);
        assert_false(atomic_load(&s.returned));
        if (by_push) {
                make_record(&rec, 1);
                assert_true(ring_push(s.r, &rec));
        } else {
                ring_wake(s.r);
        }
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        assert_int_equal(pthread_timedjoin_np(th, NULL, &deadline), 0);
        assert_true(atomic_load(&s.returned));
        if (by_push) {
                assert_true(ring_pop(s.r, &rec));
                assert_int_equal(rec.seq, 1);
        }
        assert_false(ring_pop(s.r, &rec));
        ring_free(s.r);
}

static void test_wake_by_push(void **state)
{
        (void)state;
        wake_run(true);
}

static void test_wake_by_ring_wake(void **state)
{
        (void)state;
        wake_run(false);
}

/* ring_wait_fd: returns for the other fd too, says which woke it, and still waits for a push. */
static void test_wait_fd(void **state)
{
        struct ring *r = ring_new(4);
        struct record rec;
        int fds[2];
        char c = 'k';

        (void)state;
        assert_int_equal(pipe(fds), 0);
        assert_false(ring_wait_fd(r, fds[0], 20)); /* nothing: times out */
        assert_int_equal(write(fds[1], &c, 1), 1);
        assert_true(ring_wait_fd(r, fds[0], -1)); /* a key: returns at once */
        assert_int_equal(read(fds[0], &c, 1), 1);
        make_record(&rec, 1);
        assert_true(ring_push(r, &rec));
        assert_false(ring_wait_fd(r, fds[0], -1)); /* a record: returns at once */
        assert_true(ring_pop(r, &rec));
        close(fds[0]);
        close(fds[1]);
        ring_free(r);
}

struct fd_sleeper {
        struct ring *r;
        int fd;
        atomic_bool returned;
        atomic_bool saw_fd;
};

static void *fd_sleeper_thread(void *arg)
{
        struct fd_sleeper *s = arg;

        atomic_store(&s->saw_fd, ring_wait_fd(s->r, s->fd, -1));
        atomic_store(&s->returned, true);
        return NULL;
}

/* A consumer blocked in ring_wait_fd(-1) wakes on a push (no key seen) or on its fd. */
static void wake_fd_run(bool by_push)
{
        struct fd_sleeper s = {.r = ring_new(16)};
        struct timespec nap = {.tv_sec = 0, .tv_nsec = 50 * 1000 * 1000};
        struct timespec deadline;
        struct record rec;
        pthread_t th;
        int fds[2];
        char c = 'k';

        assert_int_equal(pipe(fds), 0);
        s.fd = fds[0];
        atomic_init(&s.returned, false);
        atomic_init(&s.saw_fd, false);
        assert_int_equal(pthread_create(&th, NULL, fd_sleeper_thread, &s), 0);
        nanosleep(&nap, NULL);
        assert_false(atomic_load(&s.returned));
        if (by_push) {
                make_record(&rec, 1);
                assert_true(ring_push(s.r, &rec));
        } else {
                assert_int_equal(write(fds[1], &c, 1), 1);
        }
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 10;
        assert_int_equal(pthread_timedjoin_np(th, NULL, &deadline), 0);
        assert_true(atomic_load(&s.returned));
        assert_true(atomic_load(&s.saw_fd) == !by_push);
        if (by_push)
                assert_true(ring_pop(s.r, &rec));
        close(fds[0]);
        close(fds[1]);
        ring_free(s.r);
}

static void test_wake_fd_by_push(void **state)
{
        (void)state;
        wake_fd_run(true);
}

static void test_wake_fd_by_key(void **state)
{
        (void)state;
        wake_fd_run(false);
}

/* One record at a time: the producer pushes, then waits until the consumer has taken it, so
 * nearly every push races with the consumer going to sleep in ring_wait(-1). A lost wake-up
 * would leave the record unseen: the producer gives up waiting after a second, counts it and
 * wakes the consumer with ring_wake, so the test fails instead of hanging. */
#define PINGPONG_ROUNDS 20000

struct pingpong {
        struct ring *r;
        atomic_uint_fast64_t taken;
        atomic_bool done;
};

static void *pingpong_consumer(void *arg)
{
        struct pingpong *p = arg;
        struct record rec;

        while (!atomic_load(&p->done)) {
                if (ring_pop(p->r, &rec)) {
                        atomic_fetch_add(&p->taken, 1);
                        continue;
                }
                ring_wait(p->r, -1);
        }
        return NULL;
}

static void test_wake_pingpong(void **state)
{
        struct pingpong p = {.r = ring_new(16)};
        struct record rec;
        pthread_t th;
        int lost = 0;

        (void)state;
        atomic_init(&p.taken, 0);
        atomic_init(&p.done, false);
        memset(&rec, 0, sizeof rec);
        assert_int_equal(pthread_create(&th, NULL, pingpong_consumer, &p), 0);
        for (uint64_t i = 1; i <= PINGPONG_ROUNDS; i++) {
                double deadline;
                rec.seq = i;
                assert_true(ring_push(p.r, &rec));
                deadline = now_s() + 1.0;
                for (int spins = 0; atomic_load(&p.taken) < i; spins++) {
                        if (spins > 100)
                                sched_yield();
                        if (now_s() > deadline) {
                                lost++;
                                ring_wake(p.r);
                                deadline = now_s() + 1.0;
                        }
                }
        }
        atomic_store(&p.done, true);
        ring_wake(p.r);
        assert_int_equal(pthread_join(th, NULL), 0);
        assert_int_equal(lost, 0);
        ring_free(p.r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_capacity_rounding),
            cmocka_unit_test(test_order_across_wrap),
            cmocka_unit_test(test_full_ring_never_blocks),
            cmocka_unit_test(test_free_releases_payloads),
            cmocka_unit_test(test_wait_returns),
            cmocka_unit_test(test_stress_retry),
            cmocka_unit_test(test_stress_drop),
            cmocka_unit_test(test_wake_by_push),
            cmocka_unit_test(test_wake_by_ring_wake),
            cmocka_unit_test(test_wait_fd),
            cmocka_unit_test(test_wake_fd_by_push),
            cmocka_unit_test(test_wake_fd_by_key),
            cmocka_unit_test(test_wake_pingpong),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
