/*
 * ring: a single-producer single-consumer lock-free queue of records (C11 atomics), one per
 * consumer. The producer (the core thread) never blocks and never waits: when the ring is full
 * the record is not queued and the caller counts it as dropped for that consumer.
 *
 * Capacity is a power of two; head (consumer) and tail (producer) sit on separate cache lines
 * and are published with release stores and read with acquire loads. The consumer sleeps on an
 * eventfd; the producer writes to it only when the consumer said it may be asleep, so a busy
 * consumer costs the producer no system call.
 */
#ifndef CP_RING_H
#define CP_RING_H

#include "record.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct ring;

/* capacity is rounded up to a power of two (at least 2). */
struct ring *ring_new(size_t capacity);
/* Frees the ring; records still queued have their payloads released. */
void ring_free(struct ring *r);

/* Producer: copies *rec in; false when full (nothing queued, the caller keeps its reference). */
bool ring_push(struct ring *r, const struct record *rec);
/* Consumer: copies the oldest record out; false when empty. */
bool ring_pop(struct ring *r, struct record *out);
/* Consumer: waits until a record may be there or timeout_ms passed (-1: forever); also wakes
 * on ring_wake. Returns at once when the ring is not empty. */
void ring_wait(struct ring *r, int timeout_ms);
/* Consumer: ring_wait that also returns when fd is readable (the inspector's terminal) or a
 * signal interrupts it; true when it saw fd readable. */
bool ring_wait_fd(struct ring *r, int fd, int timeout_ms);
/* Wakes a waiting consumer (used to make it stop). */
void ring_wake(struct ring *r);
/* Records in the ring now (approximate when the other side is busy). */
size_t ring_count(const struct ring *r);

#endif
