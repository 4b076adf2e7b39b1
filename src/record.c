/*
 * record: kind names as the journal spells them, and the shared, reference-counted payload.
 */
#include "record.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ThreadSanitizer does not model atomic_thread_fence (GCC even warns about it under -Werror), so
 * under TSan the last unref synchronises through an acquire load instead: same guarantee, one
 * that TSan understands. */
#if defined(__SANITIZE_THREAD__)
#define RECORD_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RECORD_TSAN 1
#endif
#endif

/* Indexed by enum record_kind; the names are the journal's "kind" values (journal-format.md). */
static const char *const record_kind_names[RECORD_KIND_COUNT] = {
    [RECORD_CLIENT_REQUEST] = "client_request",
    [RECORD_ROUTE] = "route",
    [RECORD_UPSTREAM_REQUEST] = "upstream_request",
    [RECORD_UPSTREAM_RESPONSE] = "upstream_response",
    [RECORD_UPSTREAM_CHUNK] = "upstream_chunk",
    [RECORD_CLIENT_EVENT] = "client_event",
    [RECORD_CLIENT_RESPONSE] = "client_response",
    [RECORD_USAGE] = "usage",
    [RECORD_ERROR] = "error",
    [RECORD_END] = "end",
    [RECORD_MODEL_SWITCH] = "model_switch",
    [RECORD_CONFIG] = "config",
    [RECORD_DROPPED] = "dropped",
};

const char *record_kind_name(enum record_kind kind)
{
        /* An out-of-range kind is a bug elsewhere; a printable name keeps the journal readable. */
        if ((unsigned)kind >= RECORD_KIND_COUNT)
                return "unknown";
        return record_kind_names[kind];
}

int record_kind_from_name(const char *name)
{
        if (name == NULL)
                return -1;
        for (int k = 0; k < RECORD_KIND_COUNT; k++) {
                if (strcmp(record_kind_names[k], name) == 0)
                        return k;
        }
        return -1;
}

struct record_payload *record_payload_new(const char *data, size_t n)
{
        struct record_payload *p;

        if (n > SIZE_MAX - sizeof *p - 1) {
                fprintf(stderr, "claude-proxy: record payload of %zu bytes is too large\n", n);
                abort();
        }
        p = xmalloc(sizeof *p + n + 1);
        atomic_init(&p->refs, 1);
        p->len = n;
        if (n > 0)
                memcpy(p->data, data, n);
        p->data[n] = '\0';
        return p;
}

struct record_payload *record_payload_ref(struct record_payload *p)
{
        /* Relaxed: whoever hands out the new reference already holds one, so the payload cannot
         * go away meanwhile, and the payload itself is immutable; the new owner learns of it
         * through whatever publishes the pointer (a ring's release store). */
        if (p != NULL)
                atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
        return p;
}

void record_payload_unref(struct record_payload *p)
{
        if (p == NULL)
                return;
        /* Release: this owner's reads of the payload happen before the free. Only the last owner
         * needs acquire, to see every other owner's release before it frees. */
        if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_release) != 1)
                return;
#ifdef RECORD_TSAN
        (void)atomic_load_explicit(&p->refs, memory_order_acquire);
#else
        atomic_thread_fence(memory_order_acquire);
#endif
        free(p);
}

void record_format(const struct record *r, int pid, struct buf *out)
{
        /* Consumers format records by the thousand per second: the date and time part is
         * the same for all of them within a second, so each thread keeps its last one. */
        static _Thread_local time_t stamp_sec = (time_t)-1;
        static _Thread_local char stamp[40];

        if (r->wall.tv_sec != stamp_sec) {
                struct tm tm;
                gmtime_r(&r->wall.tv_sec, &tm);
                strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
                stamp_sec = r->wall.tv_sec;
        }
        buf_printf(out,
                   "{\"seq\":%llu,\"time\":\"%s.%06ldZ\",\"mono_ns\":%lld,\"pid\":%d,"
                   "\"kind\":\"%s\"",
                   (unsigned long long)r->seq, stamp, r->wall.tv_nsec / 1000,
                   (long long)r->mono.tv_sec * 1000000000LL + r->mono.tv_nsec, pid,
                   record_kind_name(r->kind));
        if (r->session[0] != '\0') {
                buf_puts(out, ",\"session\":");
                json_append_string(out, r->session, strlen(r->session));
        }
        if (r->request_id[0] != '\0') {
                buf_puts(out, ",\"request\":");
                json_append_string(out, r->request_id, strlen(r->request_id));
        }
        if (r->model[0] != '\0') {
                buf_puts(out, ",\"model\":");
                json_append_string(out, r->model, strlen(r->model));
        }
        if (r->payload != NULL && r->raw) {
                buf_puts(out, ",\"data\":");
                json_append_string(out, r->payload->data, r->payload->len);
        } else if (r->payload != NULL && r->payload->len > 0) {
                buf_putc(out, ',');
                buf_append(out, r->payload->data, r->payload->len);
        }
        buf_putc(out, '}');
}
