/*
 * ring: the single-producer single-consumer record queue (see ring.h).
 *
 * head and tail are free-running counters (never masked; the slot is counter & mask), so full is
 * tail - head == capacity and empty is tail == head, with no slot wasted. Each side keeps a
 * private copy of the other side's counter and re-reads the shared one only when its copy says
 * full (producer) or empty (consumer): in steady state each side touches only its own cache line
 * and the slots.
 *
 * Sleeping is a Dekker handshake between two seq_cst pairs. The consumer stores sleeping = true,
 * then loads tail; the producer stores tail, then loads sleeping. Sequential consistency forbids
 * both loads missing the other side's store, so either the consumer sees the record and does not
 * sleep, or the producer sees the flag and writes the eventfd. The consumer only sets the flag
 * when it found the ring empty, so a busy consumer costs the producer one load, no system call.
 */
#include "ring.h"

#include <errno.h>
#include <poll.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RING_CACHE_LINE 64

struct ring {
        /* Read-only after ring_new: shared by both sides without contention. */
        size_t mask;
        int efd;

        /* Producer's line: written on every push, read by the consumer only when it finds its
         * copy of tail says empty. */
        alignas(RING_CACHE_LINE) atomic_size_t tail;
        size_t head_cache; /* the producer's last view of head */

        /* Consumer's line. */
        alignas(RING_CACHE_LINE) atomic_size_t head;
        size_t tail_cache; /* the consumer's last view of tail */

        /* Written by the consumer only when it is about to sleep; read by the producer on every
         * push, so it stays shared in the producer's cache while the consumer is busy. */
        alignas(RING_CACHE_LINE) atomic_bool sleeping;

        alignas(RING_CACHE_LINE) struct record slots[];
};

static void ring_die(const char *what)
{
        fprintf(stderr, "claude-proxy: ring: %s: %s\n", what, strerror(errno));
        abort();
}

struct ring *ring_new(size_t capacity)
{
        size_t cap = 2;
        size_t size;
        struct ring *r;

        while (cap < capacity) {
                if (cap > SIZE_MAX / 2 / sizeof(struct record)) {
                        errno = EOVERFLOW;
                        ring_die("capacity too large");
                }
                cap <<= 1;
        }
        /* aligned_alloc wants a size that is a multiple of the alignment. */
        size = sizeof *r + cap * sizeof(struct record);
        size = (size + RING_CACHE_LINE - 1) & ~(size_t)(RING_CACHE_LINE - 1);
        r = aligned_alloc(RING_CACHE_LINE, size);
        if (r == NULL)
                ring_die("out of memory");
        memset(r, 0, sizeof *r);
        r->mask = cap - 1;
        r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (r->efd < 0)
                ring_die("eventfd");
        atomic_init(&r->tail, 0);
        atomic_init(&r->head, 0);
        atomic_init(&r->sleeping, false);
        r->head_cache = 0;
        r->tail_cache = 0;
        return r;
}

void ring_free(struct ring *r)
{
        struct record rec;

        if (r == NULL)
                return;
        while (ring_pop(r, &rec))
                record_payload_unref(rec.payload);
        close(r->efd);
        free(r);
        /* Teardown: free here what consumers' last unrefs queued (see record_payload_unref). */
        record_payload_collect();
}

static void ring_signal(struct ring *r)
{
        uint64_t one = 1;
        /* Can only fail with EAGAIN when the counter is about to overflow, which still leaves
         * it readable: the consumer wakes either way. */
        ssize_t n = write(r->efd, &one, sizeof one);
        (void)n;
}

bool ring_push(struct ring *r, const struct record *rec)
{
        size_t t = atomic_load_explicit(&r->tail, memory_order_relaxed); /* only we write it */

        if (t - r->head_cache > r->mask) {
                /* Acquire: the consumer's copy out of the slot we are about to reuse happened
                 * before it published the new head. */
                r->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
                if (t - r->head_cache > r->mask)
                        return false;
        }
        r->slots[t & r->mask] = *rec;
        /* Release publishes the slot; seq_cst (not just release) because this store is the
         * producer's half of the sleep handshake, ordered before the load of sleeping below. */
        atomic_store_explicit(&r->tail, t + 1, memory_order_seq_cst);
        if (atomic_load_explicit(&r->sleeping, memory_order_seq_cst) &&
            atomic_exchange_explicit(&r->sleeping, false, memory_order_relaxed))
                ring_signal(r);
        return true;
}

bool ring_pop(struct ring *r, struct record *out)
{
        size_t h = atomic_load_explicit(&r->head, memory_order_relaxed); /* only we write it */

        if (h == r->tail_cache) {
                /* Acquire pairs with the producer's store of tail: the slot is written. */
                r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
                if (h == r->tail_cache)
                        return false;
        }
        *out = r->slots[h & r->mask];
        /* Release: our copy out of the slot happens before the producer may overwrite it. */
        atomic_store_explicit(&r->head, h + 1, memory_order_release);
        return true;
}

/* ring_wait, also watching fd when it is not negative (poll ignores a negative fd). With fd, a
 * signal ends the wait (the caller may have a SIGWINCH to look at); without, it waits on. */
static bool ring_sleep(struct ring *r, int fd, int timeout_ms)
{
        size_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
        struct pollfd pfd[2] = {{.fd = r->efd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        uint64_t count;

        if (h != r->tail_cache)
                return false;
        /* A plain look first: records already there need no handshake. */
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
        if (h != r->tail_cache)
                return false;
        atomic_store_explicit(&r->sleeping, true, memory_order_seq_cst);
        /* The consumer's half of the handshake: a push that this load misses is one whose
         * producer will see sleeping set and write the eventfd. */
        r->tail_cache = atomic_load_explicit(&r->tail, memory_order_seq_cst);
        if (h == r->tail_cache) {
                while (poll(pfd, 2, timeout_ms) < 0 && errno == EINTR && fd < 0)
                        ;
                /* Drain: a wake-up left over from an earlier round would make the next wait
                 * return at once. Non-blocking, so a count of zero is just EAGAIN. */
                if (read(r->efd, &count, sizeof count) < 0 && errno != EAGAIN)
                        ring_die("eventfd read");
        }
        /* Awake (or never slept): pushes need not signal. Harmless if the producer already
         * cleared it. */
        atomic_store_explicit(&r->sleeping, false, memory_order_relaxed);
        return fd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

void ring_wait(struct ring *r, int timeout_ms)
{
        (void)ring_sleep(r, -1, timeout_ms);
}

bool ring_wait_fd(struct ring *r, int fd, int timeout_ms)
{
        return ring_sleep(r, fd, timeout_ms);
}

void ring_wake(struct ring *r)
{
        ring_signal(r);
}

size_t ring_count(const struct ring *r)
{
        /* head first: tail only grows, so the tail read after it is never behind it. */
        size_t h = atomic_load_explicit(&r->head, memory_order_acquire);
        size_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
        size_t n = t - h;

        return n > r->mask + 1 ? r->mask + 1 : n;
}
