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

#include "record.h"

#include <pthread.h>
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_kind_names),
            cmocka_unit_test(test_payload_copies),
            cmocka_unit_test(test_payload_refs),
            cmocka_unit_test(test_payload_threads_main_last),
            cmocka_unit_test(test_payload_threads_worker_last),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
