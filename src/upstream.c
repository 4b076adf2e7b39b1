/*
 * upstream: libcurl multi on libevent (see upstream.h).
 *
 * curl tells us which sockets to watch (socket callback) and when to call it back (timer
 * callback); libevent tells curl when a socket is ready or the timer fired; after each such
 * call, finished transfers are collected from curl_multi_info_read(). Everything happens on the
 * loop's thread, so there is no locking.
 *
 * A transfer may not be removed from the multi handle from inside one of curl's own callbacks.
 * Cancelling from there (the client went away while data was being written) only marks the
 * transfer; the write callback then fails it and the cleanup happens when curl reports it done.
 *
 * Finished easy handles are kept on a short free list and reset for the next transfer instead of
 * being freed: creating one costs more than the rest of a small request's setup, and a reused
 * handle keeps its receive buffer.
 */
#include "upstream.h"

#include "alloc.h"
#include "buf.h"
#include "log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Enough for the parallel requests of a busy session; more would only hold memory after a burst. */
#define UPSTREAM_SPARE_EASY 16

struct upstream {
        struct event_base *base;
        CURLM *multi;
        struct event *timer;
        struct upstream_transfer *transfers; /* every live transfer, for upstream_free */
        CURL *spare[UPSTREAM_SPARE_EASY];    /* finished easy handles kept for reuse */
        size_t n_spare;
};

struct upstream_transfer {
        struct upstream *u;
        CURL *easy;
        struct upstream_handlers h;
        void *arg;
        struct curl_slist *req_headers;
        char *body;
        struct event *idle;
        struct timeval idle_tv;
        struct buf headers; /* the response's: name NUL value NUL, for each in order */
        int status;
        bool responded; /* on_response was called */
        bool cancelled; /* no more callbacks; cleanup pending */
        bool timed_out; /* our idle timer fired */
        bool in_curl;   /* inside one of curl's callbacks */
        char errbuf[CURL_ERROR_SIZE];
        struct upstream_transfer *prev, *next;
};

/* A socket curl asked us to watch. */
struct upstream_sock {
        struct event *ev;
        curl_socket_t fd;
};

static void check_done(struct upstream *u);

static void link_transfer(struct upstream *u, struct upstream_transfer *t)
{
        t->next = u->transfers;
        if (u->transfers != NULL)
                u->transfers->prev = t;
        u->transfers = t;
}

static void unlink_transfer(struct upstream_transfer *t)
{
        if (t->prev != NULL)
                t->prev->next = t->next;
        else
                t->u->transfers = t->next;
        if (t->next != NULL)
                t->next->prev = t->prev;
}

/* An easy handle with default options: a spare one when there is one. */
static CURL *easy_get(struct upstream *u)
{
        CURL *easy;

        if (u->n_spare > 0) {
                easy = u->spare[--u->n_spare];
                curl_easy_reset(easy);
                return easy;
        }
        easy = curl_easy_init();
        if (easy == NULL)
                abort();
        return easy;
}

/* Keeps a handle that is no longer in the multi handle for the next transfer, or frees it. */
static void easy_put(struct upstream *u, CURL *easy)
{
        if (u->n_spare < UPSTREAM_SPARE_EASY)
                u->spare[u->n_spare++] = easy;
        else
                curl_easy_cleanup(easy);
}

static void transfer_free(struct upstream_transfer *t)
{
        unlink_transfer(t);
        curl_multi_remove_handle(t->u->multi, t->easy);
        easy_put(t->u, t->easy);
        curl_slist_free_all(t->req_headers);
        free(t->body);
        event_free(t->idle);
        buf_fini(&t->headers);
        free(t);
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
        struct upstream *u = arg;
        int action =
            ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
        int running;

        curl_multi_socket_action(u->multi, fd, action, &running);
        check_done(u);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        struct upstream *u = arg;
        int running;

        (void)fd;
        (void)what;
        curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        check_done(u);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
        struct upstream *u = userp;
        struct upstream_sock *s = socketp;
        short kind;

        (void)easy;
        if (what == CURL_POLL_REMOVE) {
                if (s != NULL) {
                        event_free(s->ev);
                        free(s);
                }
                return 0;
        }
        kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
               ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
        if (s == NULL) {
                s = xcalloc(1, sizeof *s);
                s->fd = fd;
                curl_multi_assign(u->multi, fd, s);
        } else {
                event_free(s->ev);
        }
        s->ev = event_new(u->base, fd, kind, on_socket_event, u);
        event_add(s->ev, NULL);
        return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
        struct upstream *u = userp;
        struct timeval tv;

        (void)multi;
        if (timeout_ms < 0) {
                evtimer_del(u->timer);
                return 0;
        }
        if (timeout_ms == 0) {
                /* "As soon as possible" (a transfer was just added): later in this same loop
                 * turn, rather than after another trip through epoll_wait. */
                evtimer_del(u->timer);
                event_active(u->timer, EV_TIMEOUT, 1);
                return 0;
        }
        tv.tv_sec = timeout_ms / 1000;
        tv.tv_usec = (timeout_ms % 1000) * 1000;
        evtimer_add(u->timer, &tv);
        return 0;
}

struct upstream *upstream_new(struct event_base *base)
{
        struct upstream *u = xcalloc(1, sizeof *u);

        u->base = base;
        u->multi = curl_multi_init();
        if (u->multi == NULL)
                abort();
        u->timer = evtimer_new(base, on_timer, u);
        curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
        curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
        curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
        curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
        /* Keep enough idle connections for a busy session's parallel requests. */
        curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
        return u;
}

void upstream_free(struct upstream *u)
{
        if (u == NULL)
                return;
        while (u->transfers != NULL)
                transfer_free(u->transfers);
        while (u->n_spare > 0)
                curl_easy_cleanup(u->spare[--u->n_spare]);
        curl_multi_cleanup(u->multi);
        event_free(u->timer);
        free(u);
}

static void idle_touch(struct upstream_transfer *t)
{
        evtimer_add(t->idle, &t->idle_tv);
}

static void finish(struct upstream_transfer *t, const struct upstream_outcome *o)
{
        if (!t->cancelled && t->h.on_done != NULL)
                t->h.on_done(t->arg, t, o);
        transfer_free(t);
}

static void on_idle(evutil_socket_t fd, short what, void *arg)
{
        struct upstream_transfer *t = arg;
        struct upstream_outcome o = {0};
        char msg[96];

        (void)fd;
        (void)what;
        t->timed_out = true;
        snprintf(msg, sizeof msg, "no data from the upstream for %ld ms",
                 (long)(t->idle_tv.tv_sec * 1000 + t->idle_tv.tv_usec / 1000));
        o.timed_out = 1;
        o.error = msg;
        finish(t, &o);
}

static void check_done(struct upstream *u)
{
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(u->multi, &left)) != NULL) {
                struct upstream_transfer *t = NULL;
                struct upstream_outcome o = {0};
                CURLcode rc;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                rc = msg->data.result;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
                o.ok = rc == CURLE_OK;
                o.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
                o.connect_failed = rc == CURLE_COULDNT_CONNECT ||
                                   rc == CURLE_COULDNT_RESOLVE_HOST ||
                                   rc == CURLE_COULDNT_RESOLVE_PROXY ||
                                   (rc == CURLE_OPERATION_TIMEDOUT && !t->responded);
                o.error = t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc);
                finish(t, &o);
        }
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
        struct upstream_transfer *t = arg;
        size_t len = size * n;
        size_t end = len;
        const char *colon;

        if (t->cancelled)
                return 0;
        idle_touch(t);
        while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n'))
                end--;
        if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
                /* A new response block (after 100 Continue or a redirect): start over. */
                buf_clear(&t->headers);
                return len;
        }
        if (end == 0) {
                long code = 0;
                curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &code);
                if (code >= 200 && !t->responded) {
                        t->responded = true;
                        t->status = (int)code;
                        if (t->h.on_response != NULL) {
                                t->in_curl = true;
                                t->h.on_response(t->arg, t, t->status);
                                t->in_curl = false;
                        }
                }
                return t->cancelled ? 0 : len;
        }
        colon = memchr(p, ':', end);
        if (colon != NULL) {
                const char *v = colon + 1;
                while (v < p + end && (*v == ' ' || *v == '\t'))
                        v++;
                buf_append(&t->headers, p, (size_t)(colon - p));
                buf_putc(&t->headers, '\0');
                buf_append(&t->headers, v, (size_t)(p + end - v));
                buf_putc(&t->headers, '\0');
        }
        return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
        struct upstream_transfer *t = arg;
        size_t len = size * n;
        int stop = 0;

        if (t->cancelled)
                return 0;
        idle_touch(t);
        if (t->h.on_data != NULL) {
                t->in_curl = true;
                stop = t->h.on_data(t->arg, t, p, len);
                t->in_curl = false;
        }
        return (stop || t->cancelled) ? 0 : len;
}

struct upstream_transfer *upstream_start(struct upstream *u, struct upstream_request *r,
                                         const struct upstream_handlers *h, void *arg)
{
        struct upstream_transfer *t = xcalloc(1, sizeof *t);
        long idle = r->idle_timeout_ms > 0 ? r->idle_timeout_ms : 600000;

        t->u = u;
        buf_init(&t->headers);
        t->h = *h;
        t->arg = arg;
        t->req_headers = curl_slist_append(r->headers, "Expect:");
        r->headers = NULL;
        t->body = r->body;
        r->body = NULL;
        t->easy = easy_get(u);
        t->idle = evtimer_new(u->base, on_idle, t);
        t->idle_tv.tv_sec = idle / 1000;
        t->idle_tv.tv_usec = (idle % 1000) * 1000;

        curl_easy_setopt(t->easy, CURLOPT_URL, r->url);
        curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
        curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(t->easy, CURLOPT_TCP_NODELAY, 1L);
        curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
        curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->req_headers);
        curl_easy_setopt(t->easy, CURLOPT_HEADERFUNCTION, header_cb);
        curl_easy_setopt(t->easy, CURLOPT_HEADERDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, write_cb);
        curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t);
        curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         r->connect_timeout_ms > 0 ? r->connect_timeout_ms : 10000L);
        /* Small receive buffers keep thousands of open streams cheap: stream chunks are a few
         * hundred bytes, and a large non-streamed answer just takes a few more reads. */
        curl_easy_setopt(t->easy, CURLOPT_BUFFERSIZE, 2048L);
        if (r->method != NULL && strcmp(r->method, "GET") == 0) {
                curl_easy_setopt(t->easy, CURLOPT_HTTPGET, 1L);
        } else {
                curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
                curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body != NULL ? t->body : "");
                curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE,
                                 (curl_off_t)(t->body != NULL ? r->body_len : 0));
        }
        link_transfer(u, t);
        idle_touch(t);
        if (curl_multi_add_handle(u->multi, t->easy) != CURLM_OK)
                abort();
        return t;
}

void upstream_cancel(struct upstream_transfer *t)
{
        if (t == NULL)
                return;
        if (t->in_curl) {
                /* curl is on the stack: fail the transfer from its callback, free it later. */
                t->cancelled = true;
                return;
        }
        transfer_free(t);
}

/* The next name and value in t's headers after *pos (0 at first); false after the last. */
static bool next_header(const struct upstream_transfer *t, size_t *pos, const char **name,
                        const char **value)
{
        if (*pos >= t->headers.len)
                return false;
        *name = t->headers.data + *pos;
        *value = *name + strlen(*name) + 1;
        *pos = (size_t)(*value - t->headers.data) + strlen(*value) + 1;
        return true;
}

const char *upstream_header(const struct upstream_transfer *t, const char *name)
{
        const char *k, *v;
        size_t pos = 0;

        while (next_header(t, &pos, &k, &v))
                if (strcasecmp(k, name) == 0)
                        return v;
        return NULL;
}

void upstream_headers_foreach(const struct upstream_transfer *t,
                              void (*fn)(void *arg, const char *name, const char *value), void *arg)
{
        const char *k, *v;
        size_t pos = 0;

        while (next_header(t, &pos, &k, &v))
                fn(arg, k, v);
}
