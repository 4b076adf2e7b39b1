/*
 * recorder: where records enter the rings. It numbers and timestamps each record on the core
 * thread and offers it to every consumer (the journal, the inspector), each through its own
 * ring. A full ring never blocks: the record is dropped for that consumer only and counted,
 * and the next record that fits is preceded by a `dropped` record saying how many were lost.
 */
#ifndef CP_RECORDER_H
#define CP_RECORDER_H

#include "buf.h"
#include "record.h"
#include "ring.h"

#include <stdatomic.h>
#include <stdint.h>

#define RECORDER_MAX_SINKS 4

struct recorder_sink {
        const char *name;         /* "journal", "ui" */
        struct ring *ring;        /* not owned */
        _Atomic uint64_t dropped; /* in all; read from other threads (the inspector) */
        uint64_t unreported;      /* dropped since the last `dropped` record got through */
};

struct recorder {
        uint64_t seq;
        struct recorder_sink sinks[RECORDER_MAX_SINKS];
        size_t n_sinks;
        struct buf scratch; /* see recorder_scratch */
        /* Wall time is the monotonic clock plus this offset, re-read once per monotonic second:
         * one clock read per record instead of two. */
        struct timespec wall_offset;
        time_t offset_sec; /* the monotonic second the offset was read in; -1: never */
};

void recorder_init(struct recorder *r);
void recorder_fini(struct recorder *r);
void recorder_add_sink(struct recorder *r, const char *name, struct ring *ring);
/* True when some consumer listens (record building can be skipped otherwise). */
int recorder_active(const struct recorder *r);
/*
 * Makes one record and offers it to every sink. fields is the kind-specific members as JSON
 * text without braces ("\"status\":200"), or NULL. session, request_id and model may be NULL.
 */
void recorder_emit(struct recorder *r, enum record_kind kind, const char *session,
                   const char *request_id, const char *model, const struct buf *fields);
/* The same for raw bytes, shown by consumers as the record's "data" string. */
void recorder_emit_raw(struct recorder *r, enum record_kind kind, const char *session,
                       const char *request_id, const char *model, const char *p, size_t n);
/* An empty buffer to build a record's fields in, reused from record to record so that building
 * one costs no allocation; valid until the next recorder_emit (which may be given it). */
struct buf *recorder_scratch(struct recorder *r);
/* Records dropped for the named sink so far. */
uint64_t recorder_dropped(const struct recorder *r, const char *name);

#endif
