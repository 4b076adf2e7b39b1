/*
 * upstream: HTTP calls to model providers through one libcurl multi handle driven by the
 * proxy's libevent loop (curl's hiperfifo pattern): no thread per request, no blocking call,
 * connections kept alive and reused across requests.
 *
 * A transfer reports through three callbacks, all on the loop's thread: the final status and
 * headers, each piece of body as it arrives, and the end. Two timeouts are separate because
 * reasoning models may be silent for minutes once connected: connect, and idle (no byte from
 * the upstream for that long, counted from the start and reset by every byte).
 */
#ifndef CP_UPSTREAM_H
#define CP_UPSTREAM_H

#include <curl/curl.h>
#include <event2/event.h>
#include <stddef.h>

struct upstream;
struct upstream_transfer;

struct upstream_outcome {
        int ok;             /* the body was received completely */
        int timed_out;      /* connect or idle timeout */
        int connect_failed; /* nothing was sent: the upstream could not be reached */
        const char *error;  /* what went wrong, when !ok */
};

struct upstream_handlers {
        /* The final status and headers arrived. */
        void (*on_response)(void *arg, struct upstream_transfer *t, int status);
        /* Body bytes as they arrive. Return nonzero to abort the transfer. */
        int (*on_data)(void *arg, struct upstream_transfer *t, const char *p, size_t n);
        /* The transfer ended; t is freed right after this returns. Not called after cancel. */
        void (*on_done)(void *arg, struct upstream_transfer *t, const struct upstream_outcome *o);
};

struct upstream_request {
        const char *url;
        const char *method;         /* "POST" (default) or "GET" */
        struct curl_slist *headers; /* taken */
        char *body;                 /* taken; may be NULL */
        size_t body_len;
        long connect_timeout_ms;
        long idle_timeout_ms;
};

struct upstream *upstream_new(struct event_base *base);
/* Cancels every transfer still running (without callbacks) and frees the client. */
void upstream_free(struct upstream *u);

struct upstream_transfer *upstream_start(struct upstream *u, struct upstream_request *r,
                                         const struct upstream_handlers *h, void *arg);
/* Stops a transfer at once; no callback follows. */
void upstream_cancel(struct upstream_transfer *t);

/* The value of a response header (case-insensitive name), or NULL. */
const char *upstream_header(const struct upstream_transfer *t, const char *name);
/* Visits every response header in order. */
void upstream_headers_foreach(const struct upstream_transfer *t,
                              void (*fn)(void *arg, const char *name, const char *value),
                              void *arg);

#endif
