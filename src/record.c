/*
 * record: kind names as the journal spells them, and the shared, reference-counted payload.
 */
#include "record.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
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

/* Indexed by enum record_kind; the names are the journal's "kind" values (journal-format.md),
 * with their lengths for record_format. */
#define KIND(k, name) [k] = {name, sizeof(name) - 1}
static const struct {
        const char *name;
        size_t len;
} record_kinds[RECORD_KIND_COUNT] = {
    KIND(RECORD_CLIENT_REQUEST, "client_request"),
    KIND(RECORD_ROUTE, "route"),
    KIND(RECORD_UPSTREAM_REQUEST, "upstream_request"),
    KIND(RECORD_UPSTREAM_RESPONSE, "upstream_response"),
    KIND(RECORD_UPSTREAM_CHUNK, "upstream_chunk"),
    KIND(RECORD_CLIENT_EVENT, "client_event"),
    KIND(RECORD_CLIENT_RESPONSE, "client_response"),
    KIND(RECORD_USAGE, "usage"),
    KIND(RECORD_ERROR, "error"),
    KIND(RECORD_END, "end"),
    KIND(RECORD_MODEL_SWITCH, "model_switch"),
    KIND(RECORD_CONFIG, "config"),
    KIND(RECORD_DROPPED, "dropped"),
};
#undef KIND

const char *record_kind_name(enum record_kind kind)
{
        /* An out-of-range kind is a bug elsewhere; a printable name keeps the journal readable. */
        if ((unsigned)kind >= RECORD_KIND_COUNT)
                return "unknown";
        return record_kinds[kind].name;
}

int record_kind_from_name(const char *name)
{
        if (name == NULL)
                return -1;
        for (int k = 0; k < RECORD_KIND_COUNT; k++) {
                if (strcmp(record_kinds[k].name, name) == 0)
                        return k;
        }
        return -1;
}

/* Payloads whose last reference was dropped away from their home thread, waiting for their
 * maker. A Treiber stack: consumers push with a CAS; taking takes the whole list with one
 * exchange, never a single node, so there is no ABA problem. */
static _Atomic(struct record_payload *) record_deferred;
/* Its address identifies the thread (a payload's home). */
static _Thread_local char record_thread_mark;

/* Block sizes of the pool: 256 bytes << class, header included. A class keeps at most
 * RECORD_POOL_BYTES of blocks; larger payloads are malloc'd and freed as before. */
#define RECORD_POOL_CLASSES 7 /* up to 16 KiB */
#define RECORD_POOL_SHIFT   8
#define RECORD_POOL_BYTES   (256u * 1024)

static _Thread_local struct {
        struct record_payload *head[RECORD_POOL_CLASSES];
        unsigned count[RECORD_POOL_CLASSES];
        bool at_exit; /* record_pool_key is set: the pool is freed when the thread ends */
} record_pool;

static pthread_key_t record_pool_key;
static pthread_once_t record_pool_once = PTHREAD_ONCE_INIT;

static void record_pool_exit(void *arg)
{
        (void)arg;
        record_payload_collect();
}

static void record_pool_key_make(void)
{
        if (pthread_key_create(&record_pool_key, record_pool_exit) != 0) {
                fprintf(stderr, "claude-proxy: record: pthread_key_create failed\n");
                abort();
        }
}

/* A dead payload of this thread: back to the pool, or to malloc when its class is full. */
static void record_payload_release(struct record_payload *p)
{
        unsigned c = p->size_class;

        if (c == RECORD_POOL_NONE ||
            record_pool.count[c] >= RECORD_POOL_BYTES >> (RECORD_POOL_SHIFT + c)) {
                free(p);
                return;
        }
        if (!record_pool.at_exit) {
                /* A thread that makes payloads and ends (a test's producer) frees its pool as
                 * it goes; the main thread's is freed by record_payload_collect at shutdown. */
                pthread_once(&record_pool_once, record_pool_key_make);
                pthread_setspecific(record_pool_key, &record_pool);
                record_pool.at_exit = true;
        }
        p->next_free = record_pool.head[c];
        record_pool.head[c] = p;
        record_pool.count[c]++;
}

/* Takes the queue; keep: into this thread's pool, else freed. Returns how many. */
static size_t record_payload_take(bool keep)
{
        struct record_payload *p;
        size_t n = 0;

        /* The common case: nothing queued, and no write to the shared line. */
        if (atomic_load_explicit(&record_deferred, memory_order_relaxed) == NULL)
                return 0;
        /* Acquire pairs with the pushes' release: their owners are done with the payloads. */
        p = atomic_exchange_explicit(&record_deferred, NULL, memory_order_acquire);
        while (p != NULL) {
                struct record_payload *next = p->next_free;
                if (keep && p->home == &record_thread_mark)
                        record_payload_release(p);
                else
                        free(p);
                p = next;
                n++;
        }
        return n;
}

size_t record_payload_collect(void)
{
        size_t n = record_payload_take(false);

        for (int c = 0; c < RECORD_POOL_CLASSES; c++) {
                while (record_pool.head[c] != NULL) {
                        struct record_payload *p = record_pool.head[c];
                        record_pool.head[c] = p->next_free;
                        free(p);
                }
                record_pool.count[c] = 0;
        }
        return n;
}

struct record_payload *record_payload_new(const char *data, size_t n)
{
        struct record_payload *p;
        size_t size;
        unsigned c = 0;

        if (n > SIZE_MAX - sizeof *p - 1) {
                fprintf(stderr, "claude-proxy: record payload of %zu bytes is too large\n", n);
                abort();
        }
        /* Producers make payloads, so this is where the ones consumers let go of come back. */
        record_payload_take(true);
        size = sizeof *p + n + 1;
        while (c < RECORD_POOL_CLASSES && ((size_t)1 << (RECORD_POOL_SHIFT + c)) < size)
                c++;
        if (c == RECORD_POOL_CLASSES) {
                p = xmalloc(size);
                p->size_class = RECORD_POOL_NONE;
        } else if (record_pool.head[c] != NULL) {
                p = record_pool.head[c];
                record_pool.head[c] = p->next_free;
                record_pool.count[c]--;
                p->size_class = (unsigned char)c;
        } else {
                p = xmalloc((size_t)1 << (RECORD_POOL_SHIFT + c));
                p->size_class = (unsigned char)c;
        }
        atomic_init(&p->refs, 1);
        p->len = n;
        p->home = &record_thread_mark;
        p->next_free = NULL;
        if (n > 0)
                memcpy(p->data, data, n);
        p->data[n] = '\0';
        return p;
}

void record_payload_share(struct record_payload *p, int n)
{
        /* Nobody else can see p yet; whatever publishes it (a ring's release store) publishes
         * this store with it. */
        atomic_store_explicit(&p->refs, n, memory_order_relaxed);
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
        struct record_payload *head;

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
        if (p->home == &record_thread_mark) {
                record_payload_release(p);
                return;
        }
        /* Release: everything every owner did with the payload happens before the collector's
         * acquire exchange, hence before its free. */
        head = atomic_load_explicit(&record_deferred, memory_order_relaxed);
        do
                p->next_free = head;
        while (!atomic_compare_exchange_weak_explicit(&record_deferred, &head, p,
                                                      memory_order_release, memory_order_relaxed));
}

/* SWAR tests on 8 bytes at once. A byte's flag may be wrong only above a byte whose flag is
 * right (a borrow runs upwards), so the lowest flag found is always the first byte that
 * matches, and no flag at all means no byte does. */
#define RECORD_ONES          0x0101010101010101ULL
#define RECORD_HIGHS         0x8080808080808080ULL
#define RECORD_ZERO_AT(x)    (((x)-RECORD_ONES) & ~(x)&RECORD_HIGHS)
#define RECORD_BYTE_AT(x, c) RECORD_ZERO_AT((x) ^ (RECORD_ONES * (c)))
#define RECORD_CONTROL_AT(x) (((x)-RECORD_ONES * 0x20) & ~(x)&RECORD_HIGHS)
/* Bytes JSON cannot hold as they are, or (from 0x80) whose UTF-8 must be checked. */
#define RECORD_SPECIAL_AT(x)                                                                       \
        (((x)&RECORD_HIGHS) | RECORD_CONTROL_AT(x) | RECORD_BYTE_AT(x, '"') |                      \
         RECORD_BYTE_AT(x, '\\'))

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define RECORD_SWAR 1
#endif

/* Per byte: 1 plain (printable ASCII but the quote and the backslash), the second byte of the
 * two-byte escapes written here, or 0: left to json_append_string (other controls, and from 0x80
 * UTF-8, which it checks). */
static const unsigned char record_escape[256] = {
    /* clang-format off */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 't', 'n', 0, 0, 'r', 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, '"', 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, '\\', 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    /* clang-format on */
};

#if defined(__SSE2__)
/*
 * Sixteen bytes a step while at least 32 remain, for the JSON-in-JSON that chunk and event
 * records mostly are: a quote every few bytes would end an eight-byte step each time. The
 * specials in a step are handled without reloading it: each run of plain bytes before one is a
 * sixteen-byte copy from the input (the next copy writes over its excess, hence the 32 bytes
 * of input and the room record_put_string reserves), then the two-byte escape. Stops at a byte
 * record_escape leaves to json_append_string; returns where it stopped.
 */
static size_t put_blocks(const unsigned char *p, size_t n, size_t i, char **op)
{
        const __m128i quote = _mm_set1_epi8('"');
        const __m128i bslash = _mm_set1_epi8('\\');
        const __m128i ctl = _mm_set1_epi8(0x1F);
        char *o = *op;

        while (i + 32 <= n) {
                __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
                /* below 0x20: max(x, 0x1F) == 0x1F; from 0x80: the top bit movemask takes */
                __m128i sp =
                    _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
                                 _mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl));
                unsigned m = (unsigned)_mm_movemask_epi8(sp);
                unsigned high = (unsigned)_mm_movemask_epi8(x);
                unsigned end = high != 0 ? (unsigned)__builtin_ctz(high) : 16;
                unsigned pos = 0;

                if (m == 0 && high == 0) {
                        _mm_storeu_si128((__m128i *)o, x);
                        o += 16;
                        i += 16;
                        continue;
                }
                m &= end < 16 ? (1u << end) - 1 : 0xFFFFu;
                for (; m != 0; m &= m - 1) {
                        unsigned k = (unsigned)__builtin_ctz(m);
                        unsigned char e = record_escape[p[i + k]];

                        _mm_storeu_si128((__m128i *)o,
                                         _mm_loadu_si128((const __m128i *)(p + i + pos)));
                        o += k - pos;
                        if (e <= 1) { /* a control json_append_string escapes */
                                end = k;
                                pos = k;
                                break;
                        }
                        *o++ = '\\';
                        *o++ = (char)e;
                        pos = k + 1;
                }
                _mm_storeu_si128((__m128i *)o, _mm_loadu_si128((const __m128i *)(p + i + pos)));
                o += end > pos ? end - pos : 0;
                i += end > pos ? end : pos;
                if (end < 16)
                        break;
        }
        *op = o;
        return i;
}
#endif

void record_put_string(struct buf *b, const char *s, size_t n)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;
        size_t at;
        char *o;

        /* Room for the worst case of what is escaped here, two bytes a byte, and for
         * put_blocks' copies past what they keep. */
        buf_reserve(b, 2 * n + 18);
        o = b->data + b->len;
        *o++ = '"';
#if defined(__SSE2__)
        i = put_blocks(p, n, i, &o);
#endif
#ifdef RECORD_SWAR
        while (i + 8 <= n) {
                uint64_t x;
                uint64_t m;
                memcpy(&x, p + i, 8);
                m = RECORD_SPECIAL_AT(x);
                /* All eight are copied; only those before the first special one count. There is
                 * room: o is at most 2i + 1 bytes in, and i + 8 <= n. */
                memcpy(o, &x, 8);
                if (m == 0) {
                        o += 8;
                        i += 8;
                        continue;
                }
                o += __builtin_ctzll(m) / 8;
                i += __builtin_ctzll(m) / 8;
                if (record_escape[p[i]] <= 1)
                        goto careful;
                *o++ = '\\';
                *o++ = (char)record_escape[p[i++]];
        }
#endif
        for (; i < n; i++) {
                unsigned char e = record_escape[p[i]];
                if (e == 1) {
                        *o++ = (char)p[i];
                } else if (e != 0) {
                        *o++ = '\\';
                        *o++ = (char)e;
                } else {
                        goto careful;
                }
        }
        *o++ = '"';
        *o = '\0';
        b->len = (size_t)(o - b->data);
        return;

careful:
        /* Non-ASCII or a rare control byte: the rest goes through json_append_string. All
         * before it was ASCII, so it starts on the same character boundary either way; its
         * opening quote is dropped. */
        b->len = (size_t)(o - b->data);
        at = b->len;
        json_append_string(b, s + i, n - i);
        memmove(b->data + at, b->data + at + 1, b->len - at - 1);
        b->len--;
        b->data[b->len] = '\0';
}

size_t record_plain_len(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        while (record_escape[p[i]] == 1)
                i++;
        return p[i] == '\0' ? i : (size_t)-1;
}

/* ,"name":"value" for a literal name. */
#define PUT_MEMBER(out, lit, v)                                                                    \
        do {                                                                                       \
                buf_put_lit(out, lit);                                                             \
                record_put_string(out, v, strlen(v));                                              \
        } while (0)

/* The session, request and model members, escaped. Every record of a request repeats them and
 * a consumer formats a request's records mostly one after another, so each thread keeps the
 * last ids it escaped and their text: a hit costs three short compares instead of escaping
 * three strings. The longest ids escape to 6 bytes a byte; such text is not kept. */
struct record_ids {
        char session[sizeof(((struct record *)0)->session)];
        char request_id[sizeof(((struct record *)0)->request_id)];
        char model[sizeof(((struct record *)0)->model)];
        size_t len;
        char text[512];
};

static bool record_ids_same(const struct record_ids *c, const struct record *r)
{
        return strncmp(c->request_id, r->request_id, sizeof c->request_id) == 0 &&
               strncmp(c->session, r->session, sizeof c->session) == 0 &&
               strncmp(c->model, r->model, sizeof c->model) == 0;
}

static void record_put_ids(const struct record *r, struct buf *out)
{
        static _Thread_local struct record_ids cache = {.len = (size_t)-1};
        size_t at = out->len;

        if (cache.len != (size_t)-1 && record_ids_same(&cache, r)) {
                buf_append(out, cache.text, cache.len);
                return;
        }
        if (r->session[0] != '\0')
                PUT_MEMBER(out, ",\"session\":", r->session);
        if (r->request_id[0] != '\0')
                PUT_MEMBER(out, ",\"request\":", r->request_id);
        if (r->model[0] != '\0')
                PUT_MEMBER(out, ",\"model\":", r->model);
        cache.len = (size_t)-1;
        if (out->len - at > sizeof cache.text)
                return;
        memcpy(cache.session, r->session, sizeof cache.session);
        memcpy(cache.request_id, r->request_id, sizeof cache.request_id);
        memcpy(cache.model, r->model, sizeof cache.model);
        cache.len = out->len - at;
        if (cache.len > 0)
                memcpy(cache.text, out->data + at, cache.len);
}

void record_format(const struct record *r, int pid, struct buf *out)
{
        /* Consumers format records by the thousand per second: the date and time part is
         * the same for all of them within a second, so each thread keeps its last one. */
        static _Thread_local time_t stamp_sec = (time_t)-1;
        static _Thread_local char stamp[40];
        static _Thread_local size_t stamp_len;
        /* And the pid, the same for all. */
        static _Thread_local int pid_num = -1;
        static _Thread_local char pid_text[24];
        static _Thread_local size_t pid_len;
        const char *kind = "unknown";
        size_t kind_len = 7;

        if (r->wall.tv_sec != stamp_sec) {
                struct tm tm;
                gmtime_r(&r->wall.tv_sec, &tm);
                stamp_len = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
                stamp_sec = r->wall.tv_sec;
        }
        if ((unsigned)r->kind < RECORD_KIND_COUNT) {
                kind = record_kinds[r->kind].name;
                kind_len = record_kinds[r->kind].len;
        }
        /* One reservation for the fixed part; the appends below then never reallocate. */
        buf_reserve(out, 160 + kind_len);
        buf_put_lit(out, "{\"seq\":");
        buf_put_u64(out, (unsigned long long)r->seq);
        buf_put_lit(out, ",\"time\":\"");
        buf_append(out, stamp, stamp_len);
        buf_putc(out, '.');
        buf_put_u64_padded(out, (unsigned long long)(r->wall.tv_nsec / 1000), 6);
        buf_put_lit(out, "Z\",\"mono_ns\":");
        buf_put_i64(out, (long long)r->mono.tv_sec * 1000000000LL + r->mono.tv_nsec);
        buf_put_lit(out, ",\"pid\":");
        if (pid != pid_num) {
                struct buf tmp = {pid_text, 0, sizeof pid_text};
                buf_put_i64(&tmp, pid);
                pid_len = tmp.len;
                pid_num = pid;
        }
        buf_append(out, pid_text, pid_len);
        buf_put_lit(out, ",\"kind\":\"");
        buf_append(out, kind, kind_len);
        buf_putc(out, '"');
        record_put_ids(r, out);
        if (r->payload != NULL && r->raw) {
                buf_put_lit(out, ",\"data\":");
                record_put_string(out, r->payload->data, r->payload->len);
        } else if (r->payload != NULL && r->payload->len > 0) {
                buf_putc(out, ',');
                buf_append(out, r->payload->data, r->payload->len);
        }
        buf_putc(out, '}');
}
