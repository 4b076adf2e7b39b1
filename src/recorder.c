/*
 * recorder: numbering, timestamps and fan-out of records (see recorder.h). Core thread only.
 */
#include "recorder.h"

#include <stdio.h>
#include <string.h>

/* A scratch buffer grown beyond this by a large body is let go rather than kept. */
#define SCRATCH_KEEP (64 * 1024)

void recorder_init(struct recorder *r)
{
        memset(r, 0, sizeof *r);
        buf_init(&r->scratch);
        r->offset_sec = (time_t)-1;
}

void recorder_fini(struct recorder *r)
{
        buf_fini(&r->scratch);
        /* The payload blocks this thread kept for reuse. */
        record_payload_collect();
}

struct buf *recorder_scratch(struct recorder *r)
{
        buf_clear(&r->scratch);
        return &r->scratch;
}

void recorder_add_sink(struct recorder *r, const char *name, struct ring *ring)
{
        if (r->n_sinks == RECORDER_MAX_SINKS)
                return;
        r->sinks[r->n_sinks].name = name;
        r->sinks[r->n_sinks].ring = ring;
        r->n_sinks++;
}

int recorder_active(const struct recorder *r)
{
        return r != NULL && r->n_sinks > 0;
}

static void stamp(struct recorder *r, struct record *rec, enum record_kind kind)
{
        memset(rec, 0, sizeof *rec);
        rec->seq = ++r->seq;
        rec->kind = kind;
        clock_gettime(CLOCK_MONOTONIC, &rec->mono);
        if (rec->mono.tv_sec != r->offset_sec) {
                /* Both clocks advance at the same rate (NTP slews both); only a step of the wall
                 * clock (settimeofday) reaches records up to a second late. */
                clock_gettime(CLOCK_REALTIME, &rec->wall);
                r->wall_offset.tv_sec = rec->wall.tv_sec - rec->mono.tv_sec;
                r->wall_offset.tv_nsec = rec->wall.tv_nsec - rec->mono.tv_nsec;
                r->offset_sec = rec->mono.tv_sec;
                return;
        }
        rec->wall.tv_sec = rec->mono.tv_sec + r->wall_offset.tv_sec;
        rec->wall.tv_nsec = rec->mono.tv_nsec + r->wall_offset.tv_nsec;
        if (rec->wall.tv_nsec >= 1000000000L) {
                rec->wall.tv_nsec -= 1000000000L;
                rec->wall.tv_sec++;
        } else if (rec->wall.tv_nsec < 0) {
                rec->wall.tv_nsec += 1000000000L;
                rec->wall.tv_sec--;
        }
}

/* Tells a sink how many records it lost, if it can take a record now. */
static void report_drops(struct recorder *r, struct recorder_sink *s)
{
        struct record rec;
        char fields[96];
        int n;

        stamp(r, &rec, RECORD_DROPPED);
        n = snprintf(fields, sizeof fields, "\"consumer\":\"%s\",\"count\":%llu", s->name,
                     (unsigned long long)s->unreported);
        rec.payload = record_payload_new(fields, (size_t)n);
        /* When even this does not fit, the count waits for the next try. */
        if (ring_push(s->ring, &rec))
                s->unreported = 0;
        else
                record_payload_unref(rec.payload);
}

/* A bounded copy of an id into a record's fixed field (cut, never overflowing). */
static void copy_id(char *dst, size_t n, const char *src)
{
        size_t len = strnlen(src, n - 1);

        memcpy(dst, src, len);
        dst[len] = '\0';
}

/* Stamps a record around payload (taking its reference) and offers it to every sink. */
static void offer(struct recorder *r, enum record_kind kind, const char *session,
                  const char *request_id, const char *model, struct record_payload *payload,
                  bool raw)
{
        struct record rec;

        stamp(r, &rec, kind);
        if (session != NULL)
                copy_id(rec.session, sizeof rec.session, session);
        if (request_id != NULL)
                copy_id(rec.request_id, sizeof rec.request_id, request_id);
        if (model != NULL)
                copy_id(rec.model, sizeof rec.model, model);
        rec.payload = payload;
        rec.raw = raw;
        /* One reference per sink, set before any push; a sink that cannot take the record gives
         * its reference back (the last one frees). */
        if (rec.payload != NULL)
                record_payload_share(rec.payload, (int)r->n_sinks);
        for (size_t i = 0; i < r->n_sinks; i++) {
                struct recorder_sink *s = &r->sinks[i];
                if (s->unreported > 0)
                        report_drops(r, s);
                if (!ring_push(s->ring, &rec)) {
                        if (rec.payload != NULL)
                                record_payload_unref(rec.payload);
                        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
                        s->unreported++;
                }
        }
}

void recorder_emit(struct recorder *r, enum record_kind kind, const char *session,
                   const char *request_id, const char *model, const struct buf *fields)
{
        if (!recorder_active(r))
                return;
        offer(r, kind, session, request_id, model,
              fields != NULL && fields->len > 0 ? record_payload_new(fields->data, fields->len)
                                                : NULL,
              false);
        if (r->scratch.cap > SCRATCH_KEEP)
                buf_fini(&r->scratch);
}

void recorder_emit_raw(struct recorder *r, enum record_kind kind, const char *session,
                       const char *request_id, const char *model, const char *p, size_t n)
{
        if (!recorder_active(r))
                return;
        offer(r, kind, session, request_id, model, record_payload_new(p, n), true);
}

uint64_t recorder_dropped(const struct recorder *r, const char *name)
{
        for (size_t i = 0; i < r->n_sinks; i++)
                if (strcmp(r->sinks[i].name, name) == 0)
                        return atomic_load_explicit(&r->sinks[i].dropped, memory_order_relaxed);
        return 0;
}
