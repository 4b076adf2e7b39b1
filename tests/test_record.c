/*
 * test_record: kind names exactly as docs/journal-format.md spells them, both ways, and the
 * payload's reference counting, including many threads sharing one payload (ASan and TSan catch
 * a double free, a leak or a race).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "record.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

static void test_kind_names(void **state)
{
        static const char *const want[RECORD_KIND_COUNT] = {
            "client_request", "route",        "upstream_request", "upstream_response",
            "upstream_chunk", "client_event", "client_response",  "usage",
            "error",          "end",          "model_switch",     "config",
            "dropped",
        };

        (void)state;
        for (int k = 0; k < RECORD_KIND_COUNT; k++) {
                assert_string_equal(record_kind_name((enum record_kind)k), want[k]);
                assert_int_equal(record_kind_from_name(want[k]), k);
        }
        assert_int_equal(record_kind_from_name("nope"), -1);
        assert_int_equal(record_kind_from_name(""), -1);
        assert_int_equal(record_kind_from_name("Client_Request"), -1);
        assert_int_equal(record_kind_from_name(NULL), -1);
        assert_non_null(record_kind_name(RECORD_KIND_COUNT));
}

static void test_payload_copies(void **state)
{
        char src[] = "\"status\":200";
        struct record_payload *p = record_payload_new(src, strlen(src));

        (void)state;
        src[0] = 'X'; /* a copy, not a view */
        assert_int_equal(p->len, 12);
        assert_memory_equal(p->data, "\"status\":200", 13); /* NUL-terminated */
        assert_int_equal(atomic_load(&p->refs), 1);
        record_payload_unref(p);

        /* Embedded NULs are kept; len says how many bytes. */
        p = record_payload_new("a\0b", 3);
        assert_int_equal(p->len, 3);
        assert_memory_equal(p->data, "a\0b\0", 4);
        record_payload_unref(p);

        p = record_payload_new(NULL, 0);
        assert_int_equal(p->len, 0);
        assert_int_equal(p->data[0], '\0');
        record_payload_unref(p);
}

static void test_payload_refs(void **state)
{
        struct record_payload *p = record_payload_new("x", 1);

        (void)state;
        assert_ptr_equal(record_payload_ref(p), p);
        assert_ptr_equal(record_payload_ref(p), p);
        assert_int_equal(atomic_load(&p->refs), 3);
        record_payload_unref(p);
        record_payload_unref(p);
        assert_int_equal(atomic_load(&p->refs), 1);
        assert_string_equal(p->data, "x");
        record_payload_unref(p); /* freed: LSan would report a leak otherwise */

        assert_null(record_payload_ref(NULL));
        record_payload_unref(NULL);
}

#define SHARE_THREADS 8

struct share {
        struct record_payload *p; /* each thread owns one reference on entry */
        int rounds;
        atomic_int bad; /* reads that saw other bytes than were written */
};

static void *share_thread(void *arg)
{
        struct share *s = arg;
        struct record_payload *p = s->p;

        for (int i = 0; i < s->rounds; i++) {
                struct record_payload *q = record_payload_ref(p);
                if (q->len != 5 || memcmp(q->data, "hello", 6) != 0)
                        atomic_fetch_add(&s->bad, 1);
                record_payload_unref(q);
        }
        record_payload_unref(p); /* this thread's own reference; maybe the last */
        return NULL;
}

/* Each thread holds a reference and takes and drops many more. keep_last says whether the main
 * thread keeps one to the end (it then checks the count is back to one) or lets go first, so
 * that whichever worker finishes last frees the payload. */
static void share_run(bool keep_last, int rounds)
{
        struct share s = {.p = record_payload_new("hello", 5), .rounds = rounds};
        pthread_t th[SHARE_THREADS];

        atomic_init(&s.bad, 0);
        for (int i = 0; i < SHARE_THREADS; i++)
                record_payload_ref(s.p);
        for (int i = 0; i < SHARE_THREADS; i++)
                assert_int_equal(pthread_create(&th[i], NULL, share_thread, &s), 0);
        if (!keep_last)
                record_payload_unref(s.p);
        for (int i = 0; i < SHARE_THREADS; i++)
                assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(atomic_load(&s.bad), 0);
        if (keep_last) {
                assert_int_equal(atomic_load(&s.p->refs), 1);
                record_payload_unref(s.p);
        }
}

static void test_payload_threads_main_last(void **state)
{
        (void)state;
        share_run(true, 100000);
}

static void test_payload_threads_worker_last(void **state)
{
        (void)state;
        for (int i = 0; i < 20; i++)
                share_run(false, 5000);
}

static void *unref_thread(void *arg)
{
        record_payload_unref(arg);
        return NULL;
}

/* A last reference dropped on the payload's own thread frees at once; on another thread the
 * payload waits for a collect, which frees it exactly once. */
static void test_payload_deferred(void **state)
{
        struct record_payload *p;
        pthread_t th;

        (void)state;
        (void)record_payload_collect(); /* whatever earlier tests left */
        p = record_payload_new("mine", 4);
        record_payload_unref(p);
        assert_int_equal(record_payload_collect(), 0);

        p = record_payload_new("theirs", 6);
        record_payload_ref(p);
        assert_int_equal(pthread_create(&th, NULL, unref_thread, p), 0);
        assert_int_equal(pthread_join(th, NULL), 0); /* not the last reference */
        assert_int_equal(record_payload_collect(), 0);
        assert_string_equal(p->data, "theirs");
        assert_int_equal(pthread_create(&th, NULL, unref_thread, p), 0);
        assert_int_equal(pthread_join(th, NULL), 0); /* the last: queued */
        assert_int_equal(record_payload_collect(), 1);
        assert_int_equal(record_payload_collect(), 0);

        /* Making a payload collects first: the queued ones go back to their thread's arena. */
        p = record_payload_new("x", 1);
        assert_int_equal(pthread_create(&th, NULL, unref_thread, p), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        p = record_payload_new("y", 1);
        assert_int_equal(record_payload_collect(), 0);
        record_payload_unref(p);
}

/* Dead payloads' blocks are reused by size class, from this thread's own unrefs and from the
 * queue; a payload too large for the pool is malloc'd; collect frees the pool (LSan checks). */
static void test_payload_pool(void **state)
{
        static char big[20000];
        struct record_payload *p;
        struct record_payload *q;
        pthread_t th;

        (void)state;
        (void)record_payload_collect();
        p = record_payload_new("first", 5);
        record_payload_unref(p);
        q = record_payload_new("second, same class", 18);
        assert_ptr_equal(q, p);
        assert_string_equal(q->data, "second, same class");
        assert_int_equal(atomic_load(&q->refs), 1);
        record_payload_unref(q);

        /* Another class does not take it. */
        memset(big, 'b', sizeof big);
        q = record_payload_new(big, 1000);
        assert_ptr_not_equal(q, p);
        assert_int_equal(q->len, 1000);
        record_payload_unref(q);

        /* From the queue: another thread's last unref, then the next payload reuses it. */
        p = record_payload_new("queued", 6);
        assert_int_equal(pthread_create(&th, NULL, unref_thread, p), 0);
        assert_int_equal(pthread_join(th, NULL), 0);
        q = record_payload_new("again", 5);
        assert_ptr_equal(q, p);
        record_payload_unref(q);

        /* Too large for any class. */
        p = record_payload_new(big, sizeof big);
        assert_int_equal(p->size_class, RECORD_POOL_NONE);
        assert_int_equal(p->len, sizeof big);
        record_payload_unref(p);

        /* Many at once: the pool keeps a bounded number, the rest go to malloc. */
        {
                static struct record_payload *many[5000];
                for (int i = 0; i < 5000; i++)
                        many[i] = record_payload_new("x", 1);
                for (int i = 0; i < 5000; i++)
                        record_payload_unref(many[i]);
        }
        assert_int_equal(record_payload_collect(), 0);
}

#define DEFER_THREADS 4
#define DEFER_EACH    20000

struct defer {
        struct record_payload **p; /* DEFER_EACH payloads this thread holds the last reference to */
        int bad;
};

static void *defer_thread(void *arg)
{
        struct defer *d = arg;

        for (int i = 0; i < DEFER_EACH; i++) {
                if (d->p[i]->len != 7 || memcmp(d->p[i]->data, "payload", 8) != 0)
                        d->bad++;
                record_payload_unref(d->p[i]);
        }
        return NULL;
}

/* Several threads queue payloads at once while this thread collects and makes more: every one
 * is freed exactly once (ASan), and TSan sees the pushes and the collects race-free. */
static void test_payload_deferred_threads(void **state)
{
        static struct record_payload *all[DEFER_THREADS][DEFER_EACH];
        struct defer d[DEFER_THREADS];
        pthread_t th[DEFER_THREADS];
        struct record_payload *own = record_payload_new("own", 3);
        size_t freed;

        (void)state;
        (void)record_payload_collect();
        for (int t = 0; t < DEFER_THREADS; t++) {
                for (int i = 0; i < DEFER_EACH; i++)
                        all[t][i] = record_payload_new("payload", 7);
                d[t].p = all[t];
                d[t].bad = 0;
        }
        for (int t = 0; t < DEFER_THREADS; t++)
                assert_int_equal(pthread_create(&th[t], NULL, defer_thread, &d[t]), 0);
        freed = 0;
        for (int i = 0; i < 2000; i++) {
                /* The producer's own traffic, interleaved with the collects. */
                record_payload_unref(record_payload_ref(own));
                freed += record_payload_collect();
        }
        for (int t = 0; t < DEFER_THREADS; t++) {
                assert_int_equal(pthread_join(th[t], NULL), 0);
                assert_int_equal(d[t].bad, 0);
        }
        freed += record_payload_collect();
        assert_int_equal(freed, DEFER_THREADS * DEFER_EACH);
        assert_int_equal(record_payload_collect(), 0);
        record_payload_unref(own);
}

/* The line's fixed part is written without printf: check it byte by byte. */
static void test_format(void **state)
{
        struct record r;
        struct buf b;

        (void)state;
        memset(&r, 0, sizeof r);
        r.seq = 18446744073709551615ULL;
        r.kind = RECORD_UPSTREAM_CHUNK;
        r.wall.tv_sec = 1795587000; /* 2026-11-25T06:10:00Z */
        r.wall.tv_nsec = 1999;      /* 1 µs: zero-padded, truncated */
        r.mono.tv_sec = 81;
        r.mono.tv_nsec = 234567890;
        snprintf(r.session, sizeof r.session, "%s", "s\"1");
        snprintf(r.request_id, sizeof r.request_id, "%s", "req_1");
        r.payload = record_payload_new("a\nb", 3);
        r.raw = true;
        buf_init(&b);
        record_format(&r, 4242, &b);
        assert_string_equal(
            buf_str(&b), "{\"seq\":18446744073709551615,\"time\":\"2026-11-25T06:10:00.000001Z\","
                         "\"mono_ns\":81234567890,\"pid\":4242,\"kind\":\"upstream_chunk\","
                         "\"session\":\"s\\\"1\",\"request\":\"req_1\",\"data\":\"a\\nb\"}");
        record_payload_unref(r.payload);

        /* A second in the same thread reuses the cached date; a new second changes it. */
        buf_clear(&b);
        r.seq = 2;
        r.kind = RECORD_END;
        r.wall.tv_sec += 61;
        r.wall.tv_nsec = 999999999;
        r.session[0] = '\0';
        r.request_id[0] = '\0';
        snprintf(r.model, sizeof r.model, "%s", "m");
        r.payload = record_payload_new("\"status\":200", 12);
        r.raw = false;
        record_format(&r, 1, &b);
        assert_string_equal(buf_str(&b), "{\"seq\":2,\"time\":\"2026-11-25T06:11:01.999999Z\","
                                         "\"mono_ns\":81234567890,\"pid\":1,\"kind\":\"end\","
                                         "\"model\":\"m\",\"status\":200}");
        record_payload_unref(r.payload);

        /* No payload, and an unknown kind. */
        buf_clear(&b);
        r.payload = NULL;
        r.kind = RECORD_KIND_COUNT;
        r.model[0] = '\0';
        record_format(&r, 1, &b);
        assert_string_equal(buf_str(&b), "{\"seq\":2,\"time\":\"2026-11-25T06:11:01.999999Z\","
                                         "\"mono_ns\":81234567890,\"pid\":1,\"kind\":\"unknown\"}");
        buf_fini(&b);
}

/* The fast path for plain text gives byte for byte what json_append_string gives, for any bytes:
 * plain ASCII of every length around the 8-byte steps, and each kind of byte that needs care
 * (quote, backslash, controls, DEL, valid and broken UTF-8) at every position, in strings long
 * enough for the sixteen-byte steps too. */
static void check_put_string(const char *s, size_t n)
{
        struct buf want;
        struct buf got;

        buf_init(&want);
        buf_init(&got);
        json_append_string(&want, s, n);
        buf_putc(&got, 'x'); /* appends after what is there */
        record_put_string(&got, s, n);
        assert_int_equal(got.len, want.len + 1);
        assert_memory_equal(got.data + 1, want.data, want.len);
        assert_int_equal(got.data[got.len], '\0');
        buf_fini(&want);
        buf_fini(&got);
}

static void test_put_string(void **state)
{
        static const char *const odd[] = {"\"",
                                          "\\",
                                          "\n",
                                          "\r",
                                          "\t",
                                          "\x01",
                                          "\x1f",
                                          "\x7f",
                                          "\xc3\xa9",
                                          "\xe2\x80\xa6",
                                          "\xf0\x9f\x98\x80",
                                          "\xc3",
                                          "\xff",
                                          "\x80",
                                          "\0"};
        char s[128];
        unsigned seed = 12345;

        (void)state;
        /* Lengths around the 8-byte steps, and the 16-byte ones taken while 32 bytes remain. */
        for (size_t n = 0; n <= 80; n++) {
                for (size_t i = 0; i < n; i++)
                        s[i] = (char)('a' + (i % 26));
                check_put_string(s, n);
                for (size_t k = 0; k < sizeof odd / sizeof odd[0]; k++) {
                        size_t m = k == sizeof odd / sizeof odd[0] - 1 ? 1 : strlen(odd[k]);
                        for (size_t at = 0; at + m <= n; at++) {
                                for (size_t i = 0; i < n; i++)
                                        s[i] = (char)('a' + (i % 26));
                                memcpy(s + at, odd[k], m);
                                check_put_string(s, n);
                        }
                }
        }
        /* Random mixes of the bytes that matter, at every alignment. */
        for (int round = 0; round < 20000; round++) {
                static const char pick[] = "ab\"\\\n\r\t\x01\x7f\xc3\xa9\xe2\x80\xa6";
                size_t n = (size_t)(round % 100);
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        /* mostly plain in half the rounds, so runs of every length occur */
                        s[i] = round % 2 == 0 && (seed >> 8) % 4 != 0
                                   ? 'q'
                                   : pick[(seed >> 16) % (sizeof pick - 1)];
                }
                check_put_string(s, n);
        }
        /* Random bytes, mostly printable, some strings longer than json_append_string's rounds
         * of 4096 bytes. */
        for (int round = 0; round < 20000; round++) {
                static char l[10000];
                size_t n = (size_t)(round % 48);
                if (round % 1000 == 999) {
                        n = sizeof l - (size_t)(round / 1000);
                        for (size_t i = 0; i < n; i++) {
                                seed = seed * 1103515245u + 12345u;
                                unsigned r = (seed >> 16) & 0xff;
                                l[i] = (char)(r < 250 ? 0x20 + r % 0x5f : r);
                        }
                        check_put_string(l, n);
                        continue;
                }
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        unsigned r = (seed >> 16) & 0xff;
                        s[i] = (char)(r < 200 ? 0x20 + r % 0x5f : r);
                }
                check_put_string(s, n);
        }
}

/* Consumers keep the ids they escaped last: records of other requests, of no request, and ids
 * that differ only past a shorter one's end must not reuse them. */
static void test_format_ids(void **state)
{
        static const char *const ids[][3] = {
            {"s1", "req_1", "m"}, {"s1", "req_1", "m"}, {"s1", "req_2", "m"}, {"s1", "req_2", "m2"},
            {"", "", ""},         {"s1", "req_1", "m"}, {"s1", "req_", "m"},  {"s\"2", "req_1", ""},
        };
        struct record r;
        struct buf b;
        struct buf want;

        (void)state;
        buf_init(&b);
        buf_init(&want);
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
                memset(&r, 0, sizeof r);
                r.seq = i;
                r.kind = RECORD_USAGE;
                snprintf(r.session, sizeof r.session, "%s", ids[i][0]);
                snprintf(r.request_id, sizeof r.request_id, "%s", ids[i][1]);
                snprintf(r.model, sizeof r.model, "%s", ids[i][2]);
                buf_clear(&b);
                record_format(&r, 7, &b);
                buf_clear(&want);
                buf_printf(&want,
                           "{\"seq\":%zu,\"time\":\"1970-01-01T00:00:00.000000Z\","
                           "\"mono_ns\":0,\"pid\":7,\"kind\":\"usage\"",
                           i);
                if (ids[i][0][0] != '\0') {
                        buf_puts(&want, ",\"session\":");
                        json_append_string(&want, ids[i][0], strlen(ids[i][0]));
                }
                if (ids[i][1][0] != '\0')
                        buf_printf(&want, ",\"request\":\"%s\"", ids[i][1]);
                if (ids[i][2][0] != '\0')
                        buf_printf(&want, ",\"model\":\"%s\"", ids[i][2]);
                buf_putc(&want, '}');
                assert_string_equal(buf_str(&b), buf_str(&want));
        }
        buf_fini(&b);
        buf_fini(&want);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kind_names),
            cmocka_unit_test(test_payload_copies),
            cmocka_unit_test(test_payload_refs),
            cmocka_unit_test(test_payload_threads_main_last),
            cmocka_unit_test(test_payload_threads_worker_last),
            cmocka_unit_test(test_payload_deferred),
            cmocka_unit_test(test_payload_pool),
            cmocka_unit_test(test_payload_deferred_threads),
            cmocka_unit_test(test_format),
            cmocka_unit_test(test_put_string),
            cmocka_unit_test(test_format_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
