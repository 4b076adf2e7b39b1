/*
 * exchange: one translated /v1/messages request (see exchange.h).
 *
 * Life of an exchange:
 *   start      translate the body; send it upstream
 *   response   2xx and streaming: answer the client with SSE headers and message_start at
 *              once; anything else: collect the body
 *   data       stream: translate and flush every event as soon as it exists
 *   done       stream: close it (or send event: error); otherwise translate the whole answer,
 *              or map the upstream error, or retry when nothing has reached the client yet
 * The client may vanish at any point: then the upstream transfer is cancelled at once and the
 * exchange ends without touching the (freed) request again.
 */
#include "exchange.h"

#include "alloc.h"
#include "errors.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "passthrough.h"
#include "tokens.h"
#include "toolmap.h"
#include "xlate_request.h"
#include "xlate_response.h"
#include "xlate_stream.h"

#include <event2/buffer.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_UPSTREAM_BODY (64L * 1024 * 1024)
#define DEBUG_BODY_MAX    ((size_t)1 << 20)
#define FLUSH_NOW_BYTES   (16 * 1024) /* stream events written at once past this (flush_soon) */

struct exchange {
        struct server *s;
        struct evhttp_request *req; /* NULL once the client is gone or answered */
        struct evhttp_connection *conn;
        struct server_config *cfg;
        const struct model_entry *e;
        cJSON *body; /* the client's request; freed once sent upstream, but for count_tokens */
        char *model; /* the model the client asked for */
        long max_tokens;
        cJSON *stop_sequences; /* the request's, detached from it */
        enum exchange_kind kind;
        bool direct;                    /* pass through to an Anthropic-compatible upstream */
        struct passthrough_watch watch; /* direct: usage and stop reason of the answer */
        char tail[2];       /* direct: the last two bytes relayed, to end a cut stream cleanly */
        struct trace trace; /* request id, session, and the records of every step */
        char *key;
        bool client_stream;
        bool upstream_stream;
        struct toolmap *names;
        struct xlate_reply_opts reply;
        struct xlate_stream *xs;
        struct xlate_result result;
        struct upstream_transfer *t;
        char *url;
        char *payload;
        size_t payload_len;
        int status; /* the current attempt's upstream status */
        int attempt;
        struct buf acc;          /* upstream body when not relayed as it comes */
        struct buf out;          /* bytes for the client not yet handed to evhttp */
        struct buf dbg_upstream; /* -dd: what the upstream answered */
        struct buf dbg_client;   /* -dd: what the client was sent */
        char *retry_after;
        char *retry_after_ms;
        struct event *ping;
        struct event *retry;
        struct event *flush; /* activated to flush out once curl's callbacks are done */
        bool streaming;      /* SSE headers sent to the client */
        bool answered;       /* the client's answer is complete */
        int final_status;
        bool failed;
        struct timespec t0;
        long ttft_ms;
};

static long ms_since(const struct timespec *t0)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

static void exchange_free(struct exchange *ex)
{
        if (ex->t != NULL)
                upstream_cancel(ex->t);
        if (ex->ping != NULL)
                event_free(ex->ping);
        if (ex->flush != NULL)
                event_free(ex->flush);
        if (ex->retry != NULL)
                event_free(ex->retry);
        xlate_stream_free(ex->xs);
        passthrough_watch_fini(&ex->watch);
        toolmap_free(ex->names);
        cJSON_Delete(ex->body);
        cJSON_Delete(ex->stop_sequences);
        free(ex->model);
        buf_fini(&ex->acc);
        buf_fini(&ex->out);
        buf_fini(&ex->dbg_upstream);
        buf_fini(&ex->dbg_client);
        free(ex->key);
        free(ex->url);
        free(ex->payload);
        free(ex->retry_after);
        free(ex->retry_after_ms);
        server_config_unref(ex->cfg);
        free(ex);
}

static void record_end(struct exchange *ex)
{
        struct trace_end end = {
            .status = ex->final_status,
            .model_id = ex->e->model_id,
            .mode = ex->direct ? "direct" : "translate",
            .stream = ex->client_stream,
            .ttft_ms = ex->ttft_ms,
            .duration_ms = ms_since(&ex->t0),
            .stop_reason = ex->result.stop_reason[0] ? ex->result.stop_reason : NULL,
            .tool_calls = ex->result.tool_calls,
            .attempts = ex->attempt + 1,
            .failed = ex->failed,
        };

        if (ex->status >= 200 && ex->status < 300)
                trace_usage(&ex->trace, &ex->result.usage, ex->result.usage_estimated);
        trace_end(&ex->trace, &end);
}

/* The one place an exchange ends: log, account, free. */
static void exchange_end(struct exchange *ex)
{
        struct server *s = ex->s;
        const struct usage *u = &ex->result.usage;

        if (ex->req != NULL && ex->conn != NULL)
                evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        if (ex->direct)
                ex->result = ex->watch.result;
        usage_totals_add(s->totals, ex->e->model_id, u, ex->failed);
        usage_totals_add(s->session_totals, ex->trace.session, u, ex->failed);
        record_end(ex);
        if (s->settings.debug)
                log_info("%s %s%s -> %s/%s (%s%s) %d in=%ld out=%ld cache_read=%ld "
                         "cache_write=%ld stop=%s ttft=%ldms total=%ldms%s",
                         ex->trace.request_id,
                         ex->kind == EXCHANGE_COUNT_TOKENS ? "count_tokens " : "", ex->reply.model,
                         ex->e->model_id, ex->e->model_name, ex->direct ? "direct" : "translate",
                         ex->client_stream ? ", stream" : "", ex->final_status, u->input, u->output,
                         u->cache_read, u->cache_write,
                         ex->result.stop_reason[0] ? ex->result.stop_reason : "-", ex->ttft_ms,
                         ms_since(&ex->t0), ex->attempt > 0 ? " (retried)" : "");
        if (s->settings.debug >= 2) {
                log_info("%s upstream response (%d): %s", ex->trace.request_id, ex->status,
                         buf_str(&ex->dbg_upstream));
                log_info("%s client response: %s", ex->trace.request_id, buf_str(&ex->dbg_client));
        }
        exchange_free(ex);
        server_request_done(s);
}

/* Replaces the key in msg, in case an upstream echoes it in an error. */
static void scrub_key(char **msg, const char *key)
{
        char safe[64];
        struct buf b;

        log_redact(key, safe, sizeof safe);
        buf_init(&b);
        buf_puts(&b, *msg);
        log_scrub(&b, key, safe);
        free(*msg);
        *msg = buf_detach(&b);
}

/* Answers an error; where is what failed, for the record: proxy, upstream or transport. */
static void answer_error(struct exchange *ex, const char *where, int status, const char *type,
                         const char *msg)
{
        struct buf b;

        ex->final_status = status;
        ex->failed = true;
        trace_error(&ex->trace, where, status, type, msg);
        if (ex->req == NULL)
                return;
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        if (ex->retry_after != NULL)
                evhttp_add_header(evhttp_request_get_output_headers(ex->req), "retry-after",
                                  ex->retry_after);
        if (ex->retry_after_ms != NULL)
                evhttp_add_header(evhttp_request_get_output_headers(ex->req), "retry-after-ms",
                                  ex->retry_after_ms);
        buf_init(&b);
        errors_body(&b, type, msg, ex->trace.request_id);
        trace_client_response(&ex->trace, status, b.data, b.len, true);
        server_send_json(ex->req, status, &b, ex->trace.request_id);
        buf_fini(&b);
        ex->req = NULL;
        ex->answered = true;
}

/* -dd keeps what went each way, up to a limit, for the log lines at the end. */
static void debug_keep(struct exchange *ex, struct buf *b, const char *p, size_t n)
{
        if (ex->s->settings.debug >= 2 && b->len < DEBUG_BODY_MAX)
                buf_append(b, p, n < DEBUG_BODY_MAX - b->len ? n : DEBUG_BODY_MAX - b->len);
}

/* Hands pending client bytes to evhttp and re-arms the ping timer. */
static void flush_out(struct exchange *ex)
{
        struct timeval tv;

        if (ex->out.len == 0 || ex->req == NULL)
                return;
        debug_keep(ex, &ex->dbg_client, ex->out.data, ex->out.len);
        trace_bytes(&ex->trace, RECORD_CLIENT_EVENT, ex->out.data, ex->out.len);
        server_stream_chunk(ex->req, ex->out.data, ex->out.len);
        buf_clear(&ex->out);
        if (ex->direct)
                return; /* the upstream sends its own pings; ours could split its frames */
        tv.tv_sec = ex->s->settings.ping_interval_ms / 1000;
        tv.tv_usec = (ex->s->settings.ping_interval_ms % 1000) * 1000;
        evtimer_add(ex->ping, &tv);
}

/*
 * curl hands over a stream one HTTP chunk at a time, often many from one socket read. Their
 * translations collect in out and go to the client in one write once curl returns to the loop,
 * still in the same loop turn: no added latency, one system call per read instead of one per
 * event.
 */
static void flush_soon(struct exchange *ex)
{
        /* curl keeps reading while the upstream keeps sending: past this much, write now
         * rather than hold the first events back until curl is done. */
        if (ex->out.len >= FLUSH_NOW_BYTES)
                flush_out(ex);
        else if (ex->out.len > 0)
                event_active(ex->flush, EV_TIMEOUT, 1);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        flush_out(arg);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
        struct exchange *ex = arg;

        (void)fd;
        (void)what;
        xlate_stream_ping(&ex->out);
        flush_out(ex);
}

struct header_copy {
        struct evkeyvalq *out;
        bool has_type;
        bool has_request_id;
};

static void copy_header(void *arg, const char *name, const char *value)
{
        struct header_copy *c = arg;

        if (!passthrough_response_header(name))
                return;
        c->has_type |= strcasecmp(name, "content-type") == 0;
        c->has_request_id |= strcasecmp(name, "request-id") == 0;
        evhttp_add_header(c->out, name, value);
}

/* Direct mode: the upstream's headers that the client should see. */
static void copy_upstream_headers(struct exchange *ex, struct upstream_transfer *t)
{
        struct header_copy c = {evhttp_request_get_output_headers(ex->req), false, false};

        upstream_headers_foreach(t, copy_header, &c);
        if (!c.has_request_id)
                evhttp_add_header(c.out, "request-id", ex->trace.request_id);
}

static void start_client_stream(struct exchange *ex)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(ex->req);

        if (evhttp_find_header(h, "Content-Type") == NULL)
                evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "X-Accel-Buffering", "no");
        if (evhttp_find_header(h, "request-id") == NULL)
                evhttp_add_header(h, "request-id", ex->trace.request_id);
        server_stream_start(ex->req);
        ex->streaming = true;
        ex->final_status = 200;
}

static void end_client_stream(struct exchange *ex)
{
        flush_out(ex);
        evtimer_del(ex->ping);
        ex->answered = true;
        if (ex->req == NULL)
                return;
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        server_stream_end(ex->req);
        ex->req = NULL;
}

static void on_client_close(struct evhttp_connection *conn, void *arg)
{
        struct exchange *ex = arg;
        struct evhttp_request *req = ex->req;

        (void)conn;
        /*
         * evhttp frees the requests still queued on a dying connection, but a reply in
         * progress has been detached from it (its connection is already NULL here): that
         * one is ours to free.
         */
        if (req != NULL && evhttp_request_get_connection(req) == NULL)
                evhttp_request_free(req);
        ex->req = NULL;
        if (!ex->answered) {
                ex->final_status = 499;
                ex->failed = true;
                trace_error(&ex->trace, "client", 499, "client_closed",
                            "the client closed the connection; the upstream was cancelled");
                if (ex->s->settings.debug)
                        log_info("%s: the client closed the connection; upstream cancelled",
                                 ex->trace.request_id);
        }
        exchange_end(ex);
}

static void send_upstream(struct exchange *ex);

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        send_upstream(arg);
}

/* Schedules another attempt if one is allowed; false when the failure must be answered. */
static bool maybe_retry(struct exchange *ex, long wait_hint_ms)
{
        long wait = wait_hint_ms >= 0 ? wait_hint_ms : 500L << ex->attempt;
        struct timeval tv;

        if (ex->attempt >= ex->s->settings.max_retries || ex->req == NULL)
                return false;
        if (wait > ex->s->settings.retry_max_wait_ms)
                return false;
        ex->attempt++;
        if (ex->s->settings.debug)
                log_info("%s: retrying in %ld ms (attempt %d of %d)", ex->trace.request_id, wait,
                         ex->attempt + 1, ex->s->settings.max_retries + 1);
        tv.tv_sec = wait / 1000;
        tv.tv_usec = (wait % 1000) * 1000;
        evtimer_add(ex->retry, &tv);
        return true;
}

/* The wait an upstream asked for, in ms; -1 when it did not say. */
static long retry_after_ms(const struct exchange *ex)
{
        if (ex->retry_after_ms != NULL)
                return strtol(ex->retry_after_ms, NULL, 10);
        if (ex->retry_after != NULL && ex->retry_after[0] >= '0' && ex->retry_after[0] <= '9')
                return strtol(ex->retry_after, NULL, 10) * 1000;
        return -1;
}

static void on_response(void *arg, struct upstream_transfer *t, int status)
{
        struct exchange *ex = arg;
        const char *v;

        ex->status = status;
        buf_clear(&ex->acc);
        trace_upstream_response(&ex->trace, status, t);
        if (ex->direct && status >= 200 && status < 300 && ex->req != NULL) {
                v = upstream_header(t, "content-type");
                if (v != NULL && strncasecmp(v, "text/event-stream", 17) == 0) {
                        copy_upstream_headers(ex, t);
                        start_client_stream(ex);
                }
                return;
        }
        if (status >= 200 && status < 300) {
                if (ex->upstream_stream && ex->req != NULL) {
                        start_client_stream(ex);
                        xlate_stream_begin(ex->xs, &ex->out);
                        flush_out(ex);
                }
                return;
        }
        free(ex->retry_after);
        free(ex->retry_after_ms);
        v = upstream_header(t, "retry-after");
        ex->retry_after = v != NULL ? xstrdup(v) : NULL;
        v = upstream_header(t, "retry-after-ms");
        ex->retry_after_ms = v != NULL ? xstrdup(v) : NULL;
}

/* Remembers how the relayed bytes end, so an error frame can be appended on a frame boundary. */
static void relay_tail(struct exchange *ex, const char *p, size_t n)
{
        if (n >= 2) {
                ex->tail[0] = p[n - 2];
                ex->tail[1] = p[n - 1];
        } else if (n == 1) {
                ex->tail[0] = ex->tail[1];
                ex->tail[1] = p[0];
        }
}

static int on_data(void *arg, struct upstream_transfer *t, const char *p, size_t n)
{
        struct exchange *ex = arg;
        enum xlate_stream_state st;

        (void)t;
        debug_keep(ex, &ex->dbg_upstream, p, n);
        trace_bytes(&ex->trace, RECORD_UPSTREAM_CHUNK, p, n);
        if (ex->ttft_ms < 0)
                ex->ttft_ms = ms_since(&ex->t0);
        if (!ex->streaming) {
                if (ex->acc.len + n > (size_t)MAX_UPSTREAM_BODY)
                        return 1;
                buf_append(&ex->acc, p, n);
                return 0;
        }
        if (ex->answered)
                return 0; /* after message_stop: drain so the connection can be reused */
        if (ex->direct) {
                buf_append(&ex->out, p, n);
                relay_tail(ex, p, n);
                passthrough_watch_feed(&ex->watch, p, n);
                flush_soon(ex);
                return 0;
        }
        st = xlate_stream_feed(ex->xs, p, n, &ex->out);
        if (st == XLATE_STREAM_OPEN) {
                flush_soon(ex);
                return 0;
        }
        if (st == XLATE_STREAM_FAILED) {
                ex->failed = true;
                trace_error(&ex->trace, "upstream", ex->status, "api_error",
                            "the upstream reported an error in the stream");
        }
        end_client_stream(ex);
        return st == XLATE_STREAM_FAILED;
}

/* The client's whole answer, translated into b. */
static void send_whole(struct exchange *ex, struct buf *b)
{
        debug_keep(ex, &ex->dbg_client, b->data, b->len);
        trace_client_response(&ex->trace, 200, b->data, b->len, true);
        ex->final_status = 200;
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        server_send_json(ex->req, 200, b, ex->trace.request_id);
        ex->req = NULL;
        ex->answered = true;
}

/* A complete non-streamed 2xx answer: translate it and answer in the client's form. */
static void answer_whole(struct exchange *ex)
{
        char *cause = NULL;
        cJSON *completion, *msg = NULL;
        struct buf b;

        buf_init(&b);
        if (!ex->client_stream &&
            xlate_response_plain(buf_str(&ex->acc), ex->acc.len, &ex->reply, &ex->result, &b)) {
                send_whole(ex, &b);
                buf_fini(&b);
                return;
        }
        completion = json_parse(buf_str(&ex->acc), ex->acc.len, &cause);
        if (completion != NULL)
                msg = xlate_response(completion, &ex->reply, &ex->result, &cause);
        cJSON_Delete(completion);
        if (msg == NULL) {
                char *m = xasprintf("the upstream's answer could not be translated: %s", cause);
                answer_error(ex, "upstream", 502, "api_error", m);
                free(m);
                free(cause);
                buf_fini(&b);
                return;
        }
        if (ex->client_stream) {
                start_client_stream(ex);
                xlate_stream_from_message(msg, &ex->out);
                end_client_stream(ex);
        } else {
                json_append(&b, msg);
                send_whole(ex, &b);
        }
        buf_fini(&b);
        cJSON_Delete(msg);
}

/* Direct mode: a stream cut by a transport failure ends with an error frame of its own. */
static void end_relay_with_error(struct exchange *ex, const char *error)
{
        char *msg = xasprintf("the upstream stream broke off: %s", error);

        if (ex->tail[0] != '\n' || ex->tail[1] != '\n')
                buf_puts(&ex->out, "\n\n"); /* close a frame cut in the middle */
        errors_event(&ex->out, "api_error", msg);
        trace_error(&ex->trace, "transport", ex->status, "api_error", msg);
        free(msg);
        ex->failed = true;
}

/* Direct mode: a whole answer goes back as it came, with the headers that matter. */
static void relay_whole(struct exchange *ex, struct upstream_transfer *t)
{
        struct evbuffer *eb;
        cJSON *msg;
        bool is_json;

        if (ex->req == NULL)
                return;
        msg = json_parse(buf_str(&ex->acc), ex->acc.len, NULL);
        is_json = msg != NULL;
        passthrough_watch_message(&ex->watch, msg);
        cJSON_Delete(msg);
        copy_upstream_headers(ex, t);
        debug_keep(ex, &ex->dbg_client, buf_str(&ex->acc), ex->acc.len);
        trace_client_response(&ex->trace, ex->status, buf_str(&ex->acc), ex->acc.len, is_json);
        eb = evbuffer_new();
        evbuffer_add(eb, buf_str(&ex->acc), ex->acc.len);
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        evhttp_send_reply(ex->req, ex->status, "OK", eb);
        evbuffer_free(eb);
        ex->req = NULL;
        ex->answered = true;
        ex->final_status = ex->status;
}

/*
 * Direct mode, non-2xx: an Anthropic-shaped error goes back as it is; anything else (a
 * gateway's HTML page, an OpenAI-style body) is mapped into one. count_tokens answered 404 by
 * an upstream that does not have it falls back to the local estimate.
 */
static void relay_error(struct exchange *ex, struct upstream_transfer *t)
{
        cJSON *err = json_parse(buf_str(&ex->acc), ex->acc.len, NULL);
        const char *type = json_get_str(err, "type");
        bool anthropic_shaped = type != NULL && strcmp(type, "error") == 0;
        struct errors_mapped m;

        cJSON_Delete(err);
        if (ex->kind == EXCHANGE_COUNT_TOKENS && ex->status == 404) {
                struct buf b;
                buf_init(&b);
                buf_printf(&b, "{\"input_tokens\":%ld}", tokens_estimate_request(ex->body));
                ex->final_status = 200;
                trace_client_response(&ex->trace, 200, b.data, b.len, true);
                evhttp_connection_set_closecb(ex->conn, NULL, NULL);
                server_send_json(ex->req, 200, &b, ex->trace.request_id);
                ex->req = NULL;
                ex->answered = true;
                buf_fini(&b);
                return;
        }
        if (anthropic_shaped) {
                relay_whole(ex, t);
                ex->failed = true;
                return;
        }
        /* The status stays the upstream's (direct mode relays it); only the body is made
         * Anthropic-shaped, with the type that goes with that status. */
        errors_from_upstream(ex->status, buf_str(&ex->acc), ex->acc.len, 0, &m);
        scrub_key(&m.message, ex->key);
        answer_error(ex, "upstream", ex->status, errors_type_for_status(ex->status), m.message);
        free(m.message);
}

static bool retryable_status(int status)
{
        return status == 429 || status == 500 || status == 502 || status == 503 || status == 504 ||
               status == 529;
}

static void on_done(void *arg, struct upstream_transfer *t, const struct upstream_outcome *o)
{
        struct exchange *ex = arg;
        struct errors_mapped m;

        (void)t;
        ex->t = NULL;
        if (ex->req == NULL && !ex->answered) {
                exchange_end(ex);
                return;
        }
        if (ex->streaming) {
                if (!ex->answered && ex->direct) {
                        if (!o->ok)
                                end_relay_with_error(ex, o->error);
                        end_client_stream(ex);
                } else if (!ex->answered) {
                        if (o->ok) {
                                if (xlate_stream_eof(ex->xs, &ex->out) == XLATE_STREAM_FAILED)
                                        ex->failed = true;
                        } else {
                                char *msg =
                                    xasprintf("the upstream stream broke off: %s", o->error);
                                xlate_stream_fail(ex->xs, "api_error", msg, &ex->out);
                                trace_error(&ex->trace, "transport", ex->status, "api_error", msg);
                                free(msg);
                                ex->failed = true;
                        }
                        end_client_stream(ex);
                }
                if (!ex->direct)
                        ex->result = *xlate_stream_result(ex->xs);
                exchange_end(ex);
                return;
        }
        if (!o->ok) {
                if (o->connect_failed && maybe_retry(ex, -1))
                        return;
                errors_from_transport(o->timed_out, o->error, &m);
                answer_error(ex, "transport", m.status, m.type, m.message);
                free(m.message);
        } else if (ex->direct) {
                if (ex->status >= 200 && ex->status < 300)
                        relay_whole(ex, t);
                else if (!(retryable_status(ex->status) && maybe_retry(ex, retry_after_ms(ex))))
                        relay_error(ex, t);
                else
                        return;
        } else if (ex->status >= 200 && ex->status < 300) {
                answer_whole(ex);
        } else {
                if (retryable_status(ex->status) && maybe_retry(ex, retry_after_ms(ex)))
                        return;
                errors_from_upstream(ex->status, buf_str(&ex->acc), ex->acc.len, ex->max_tokens,
                                     &m);
                scrub_key(&m.message, ex->key);
                if (ex->s->settings.debug)
                        log_info("%s: upstream %d: %s", ex->trace.request_id, ex->status,
                                 m.message);
                answer_error(ex, "upstream", m.status, m.type, m.message);
                free(m.message);
        }
        exchange_end(ex);
}

static const struct upstream_handlers handlers = {on_response, on_data, on_done};

/* Direct mode: the client's headers as the upstream should see them (no auth: added after). */
static struct curl_slist *direct_headers(struct exchange *ex)
{
        struct evkeyvalq *in = evhttp_request_get_input_headers(ex->req);
        struct curl_slist *h = NULL;
        struct evkeyval *kv;

        TAILQ_FOREACH(kv, in, next)
        {
                char *line;
                char *betas = NULL;
                if (!passthrough_request_header(kv->key))
                        continue;
                if (strcasecmp(kv->key, "anthropic-beta") == 0) {
                        betas =
                            passthrough_betas(kv->value, ex->e->drop_betas, ex->e->n_drop_betas);
                        if (betas == NULL)
                                continue;
                }
                line = xasprintf("%s: %s", kv->key, betas != NULL ? betas : kv->value);
                h = curl_slist_append(h, line);
                free(line);
                free(betas);
        }
        return h;
}

static void send_upstream(struct exchange *ex)
{
        struct upstream_request r = {0};
        struct curl_slist *h = NULL;
        char *auth;

        if (ex->direct) {
                h = direct_headers(ex);
        } else {
                h = curl_slist_append(h, "Content-Type: application/json");
                h = curl_slist_append(h, ex->upstream_stream ? "Accept: text/event-stream"
                                                             : "Accept: application/json");
                h = curl_slist_append(h, "User-Agent: claude-proxy/" CP_VERSION);
        }
        if (ex->e->auth == CONFIG_AUTH_X_API_KEY ||
            (ex->direct && ex->e->auth == CONFIG_AUTH_DEFAULT))
                auth = xasprintf("x-api-key: %s", ex->key);
        else
                auth = xasprintf("Authorization: Bearer %s", ex->key);
        h = curl_slist_append(h, auth);
        free(auth);
        for (size_t i = 0; i < ex->e->n_extra_headers; i++) {
                char *line = xasprintf("%s: %s", ex->e->extra_headers[i].name,
                                       ex->e->extra_headers[i].value);
                h = curl_slist_append(h, line);
                free(line);
        }
        r.url = ex->url;
        r.headers = h;
        r.body = xmalloc(ex->payload_len + 1);
        memcpy(r.body, ex->payload, ex->payload_len + 1);
        r.body_len = ex->payload_len;
        r.connect_timeout_ms = ex->s->settings.connect_timeout_ms;
        r.idle_timeout_ms = ex->s->settings.read_timeout_ms;
        ex->status = 0;
        trace_upstream_request(&ex->trace, ex->url, ex->attempt + 1, ex->payload, ex->payload_len);
        ex->t = upstream_start(ex->s->upstream, &r, &handlers, ex);
}

static char *chat_url(const char *api_base)
{
        size_t n = strlen(api_base);
        const char *suffix = "/chat/completions";

        if (n >= strlen(suffix) && strcmp(api_base + n - strlen(suffix), suffix) == 0)
                return xstrdup(api_base);
        return xasprintf("%s%s", api_base, suffix);
}

/* Translate mode: the OpenAI request, and what the answer's translation needs. */
static int prepare_translate(struct exchange *ex)
{
        const struct model_entry *e = ex->e;
        struct xlate_request_opts o;
        cJSON *openai = NULL;
        char *cause = NULL;

        ex->upstream_stream = ex->client_stream && e->can_stream;
        config_request_opts(e, ex->upstream_stream, &o);
        ex->names = toolmap_new();
        if (xlate_request(ex->body, &o, ex->names, &openai, &cause) != 0) {
                answer_error(ex, "proxy", 400, "invalid_request_error", cause);
                free(cause);
                return -1;
        }
        ex->payload = json_print(openai);
        ex->payload_len = strlen(ex->payload);
        cJSON_Delete(openai);

        ex->reply.names = ex->names;
        ex->reply.input_estimate = tokens_estimate_request(ex->body);
        /* A seed drawn from the server's generator, not its state: the message ids then share
         * nothing with the request ids made from that state. */
        ex->reply.seed = ids_next(&ex->s->seed);
        ex->reply.content_filter_end_turn = e->content_filter_end_turn;
        if (ex->upstream_stream)
                ex->xs = xlate_stream_new(&ex->reply);
        ex->url = chat_url(e->api_base);
        return 0;
}

/* Direct mode: the client's bytes with the entry's changes, to the same path upstream. */
static void prepare_direct(struct exchange *ex)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(ex->req);
        size_t n = evbuffer_get_length(in);
        const char *raw = (const char *)evbuffer_pullup(in, -1);
        struct buf body;
        bool repaired = false;

        buf_init(&body);
        passthrough_body(raw != NULL ? raw : "", n, ex->body, ex->e->model_name, ex->e->max_tokens,
                         &body, &repaired);
        if (repaired && ex->s->settings.debug)
                log_info("%s: history repaired for a direct upstream (unsigned thinking, tool "
                         "ids or empty text from a translated model)",
                         ex->trace.request_id);
        ex->payload_len = body.len;
        ex->payload = buf_detach(&body);
        ex->upstream_stream = ex->client_stream;
        ex->url = passthrough_url(ex->e->api_base, evhttp_request_get_uri(ex->req));
}

/*
 * Once the upstream body is built, the client's request matters only for a few values: those
 * are kept and the rest freed, the received bytes and the parsed tree (several times the size
 * of a 50 KB Claude Code request), instead of living as long as the answer streams. count_tokens
 * keeps the tree for the local estimate.
 */
static void release_request(struct exchange *ex)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(ex->req);

        evbuffer_drain(in, evbuffer_get_length(in));
        if (ex->kind == EXCHANGE_COUNT_TOKENS)
                return;
        ex->model = xstrdup(json_get_str(ex->body, "model"));
        ex->reply.model = ex->model;
        json_get_long(ex->body, "max_tokens", &ex->max_tokens);
        ex->stop_sequences = cJSON_DetachItemFromObjectCaseSensitive(ex->body, "stop_sequences");
        ex->reply.stop_sequences = ex->stop_sequences;
        cJSON_Delete(ex->body);
        ex->body = NULL;
}

void exchange_start(struct server *s, struct evhttp_request *req, cJSON *body,
                    struct server_config *cfg, const struct model_entry *e, const char *key,
                    const struct trace *trace, enum exchange_kind kind)
{
        struct exchange *ex = xcalloc(1, sizeof *ex);

        clock_gettime(CLOCK_MONOTONIC, &ex->t0);
        ex->s = s;
        ex->req = req;
        ex->conn = evhttp_request_get_connection(req);
        ex->cfg = cfg;
        ex->e = e;
        ex->body = body;
        ex->kind = kind;
        ex->direct = e->direct;
        ex->key = xstrdup(key);
        ex->ttft_ms = -1;
        ex->trace = *trace;
        buf_init(&ex->acc);
        buf_init(&ex->out);
        buf_init(&ex->dbg_upstream);
        buf_init(&ex->dbg_client);
        ex->ping = evtimer_new(s->base, on_ping, ex);
        ex->flush = event_new(s->base, -1, 0, on_flush, ex);
        ex->retry = evtimer_new(s->base, on_retry, ex);
        s->live++;
        evhttp_connection_set_closecb(ex->conn, on_client_close, ex);
        passthrough_watch_init(&ex->watch);
        ex->client_stream = json_get_bool(body, "stream", false);
        ex->reply.model = json_get_str(body, "model");

        if (ex->direct) {
                prepare_direct(ex);
        } else if (prepare_translate(ex) != 0) {
                exchange_end(ex);
                return;
        }
        if (s->settings.debug >= 2) {
                char *client = json_print(body);
                log_info("%s client request: %s", ex->trace.request_id, client);
                log_info("%s upstream request: %s", ex->trace.request_id, ex->payload);
                free(client);
        }
        release_request(ex);
        send_upstream(ex);
}
