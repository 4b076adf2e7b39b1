/*
 * record: one step of one request, as data. The core thread makes records as a request goes
 * through the proxy (the client's request, the routing decision, the upstream request, each
 * upstream chunk, each piece sent to the client, usage, errors, the end) and hands them to
 * consumers (the journal, later the inspector) through lock-free rings.
 *
 * A record is a small fixed struct, copied by value into each consumer's ring. What is large
 * (bodies, chunks) lives in a payload: immutable once made, reference counted, shared by every
 * consumer, freed by whichever lets go of it last. The payload holds the kind-specific members
 * of the record's JSON object, already serialised ("\"status\":200,\"body\":{...}"), so the
 * journal writes it without parsing and the inspector parses it only when it shows it.
 */
#ifndef CP_RECORD_H
#define CP_RECORD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum record_kind {
        RECORD_CLIENT_REQUEST,    /* method, path, headers (redacted), body, replay_of? */
        RECORD_ROUTE,             /* requested model -> entry, mode, fallback */
        RECORD_UPSTREAM_REQUEST,  /* url, body as sent */
        RECORD_UPSTREAM_RESPONSE, /* status and headers of the upstream's answer */
        RECORD_UPSTREAM_CHUNK,    /* raw upstream body bytes, as received */
        RECORD_CLIENT_EVENT,      /* bytes sent to the client on a stream */
        RECORD_CLIENT_RESPONSE,   /* a whole answer sent to the client: status, body */
        RECORD_USAGE,             /* token counts */
        RECORD_ERROR,             /* where, status, type, message */
        RECORD_END,               /* status, ttft, duration, stop reason, attempts */
        RECORD_MODEL_SWITCH,      /* from, to, scope */
        RECORD_CONFIG,            /* a configuration loaded or rejected */
        RECORD_DROPPED,           /* records a consumer could not take: count */
        RECORD_KIND_COUNT,
};

#define RECORD_POOL_NONE 0xff

struct record_payload {
        atomic_int refs;
        unsigned char size_class; /* its block's size in the maker's pool; RECORD_POOL_NONE */
        size_t len;
        /* The thread that made it (the address of a thread-local), and the link in the list of
         * payloads waiting for that thread to free them (see record_payload_unref). */
        const void *home;
        struct record_payload *next_free;
        char data[]; /* len bytes + NUL */
};

struct record {
        uint64_t seq;
        struct timespec mono; /* CLOCK_MONOTONIC */
        struct timespec wall; /* CLOCK_REALTIME */
        enum record_kind kind;
        char session[48];               /* "" for records of no session (config, model switch) */
        char request_id[32];            /* "" for records of no request */
        char model[64];                 /* the model the client asked for, when known */
        struct record_payload *payload; /* may be NULL */
        /* The payload is raw bytes (a chunk, stream bytes) that consumers show as the "data"
         * member: escaping them into JSON is left to the consumer's thread, off the core's. */
        bool raw;
};

struct buf;

/* Appends the record as one JSON object, exactly as the journal writes it (no newline). */
void record_format(const struct record *r, int pid, struct buf *out);

/* Appends s as a JSON string, byte for byte as json_append_string does, but faster on the ASCII
 * that ids, headers, chunks and stream events mostly are: eight bytes a step, escaping quotes,
 * backslashes and line breaks itself, and handing json_append_string the rest from the first
 * non-ASCII or other control byte. */
void record_put_string(struct buf *b, const char *s, size_t n);

/* The length of the NUL-terminated s when none of its bytes needs escaping in a JSON string
 * (printable ASCII but the quote and the backslash), else (size_t)-1: the quick test for the
 * short, plain strings most headers are. */
size_t record_plain_len(const char *s);

/* The kind's name in the journal ("client_request", …). */
const char *record_kind_name(enum record_kind kind);
/* The kind for a name; -1 when unknown. */
int record_kind_from_name(const char *name);

/* A payload holding a copy of n bytes, with one reference. */
struct record_payload *record_payload_new(const char *data, size_t n);
/* Before p is handed to anyone: turns its one reference into n (n >= 1), one per consumer it
 * is about to be offered to, without an atomic read-modify-write per consumer. */
void record_payload_share(struct record_payload *p, int n);
/* Takes one more reference (for one more consumer). */
struct record_payload *record_payload_ref(struct record_payload *p);
/* Lets go of one reference. Safe from any thread. The last reference frees the payload when
 * it is dropped on the thread that made it; on another thread (a consumer) the payload is only
 * queued, lock-free, and freed by the next record_payload_collect, because a free of memory
 * from another thread's malloc arena takes that arena's lock and contends with it. */
void record_payload_unref(struct record_payload *p);
/* Frees the payloads queued by other threads' last unrefs, and the blocks this thread keeps for
 * reuse (below). Any thread may call it, e.g. at shutdown. Returns how many queued payloads it
 * freed.
 *
 * Payloads are not freed one by one while records flow: a thread that makes payloads keeps the
 * blocks of its dead ones (its own last unrefs, and the queue, taken before each payload it
 * makes) in a small pool by size class and makes the next payloads in them. Consumers let go of
 * payloads in batches, and freeing those to malloc overflowed its per-thread cache and sent
 * every other allocation down its slow path. */
size_t record_payload_collect(void);

#endif
