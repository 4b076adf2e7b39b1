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
#include "json.h"
#include "log.h"
#include "tokens.h"
#include "toolmap.h"
#include "xlate_request.h"
#include "xlate_response.h"
#include "xlate_stream.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_UPSTREAM_BODY (64L * 1024 * 1024)
#define DEBUG_BODY_MAX    ((size_t)1 << 20)

struct exchange {
        struct server *s;
        struct evhttp_request *req; /* NULL once the client is gone or answered */
        struct evhttp_connection *conn;
        struct server_config *cfg;
        const struct model_entry *e;
        cJSON *body; /* the client's request */
        char request_id[40];
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
        bool streaming; /* SSE headers sent to the client */
        bool answered;  /* the client's answer is complete */
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
        if (ex->retry != NULL)
                event_free(ex->retry);
        xlate_stream_free(ex->xs);
        toolmap_free(ex->names);
        cJSON_Delete(ex->body);
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

/* The one place an exchange ends: log, account, free. */
static void exchange_end(struct exchange *ex)
{
        struct server *s = ex->s;
        const struct usage *u = &ex->result.usage;

        if (ex->req != NULL && ex->conn != NULL)
                evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        usage_totals_add(s->totals, ex->e->model_id, u, ex->failed);
        if (s->settings.debug)
                log_info("%s %s -> %s/%s (translate%s) %d in=%ld out=%ld cache_read=%ld "
                         "cache_write=%ld stop=%s ttft=%ldms total=%ldms%s",
                         ex->request_id, ex->reply.model, ex->e->model_id, ex->e->model_name,
                         ex->client_stream ? ", stream" : "", ex->final_status, u->input, u->output,
                         u->cache_read, u->cache_write,
                         ex->result.stop_reason[0] ? ex->result.stop_reason : "-", ex->ttft_ms,
                         ms_since(&ex->t0), ex->attempt > 0 ? " (retried)" : "");
        if (s->settings.debug >= 2) {
                log_info("%s upstream response (%d): %s", ex->request_id, ex->status,
                         buf_str(&ex->dbg_upstream));
                log_info("%s client response: %s", ex->request_id, buf_str(&ex->dbg_client));
        }
        exchange_free(ex);
        server_request_done(s);
}

/* Replaces every occurrence of the key in msg, in case an upstream echoes it in an error. */
static void scrub_key(char **msg, const char *key)
{
        char safe[64];
        char *hit;
        struct buf b;
        const char *p = *msg;

        if (key == NULL || strlen(key) < 4 || strstr(*msg, key) == NULL)
                return;
        log_redact(key, safe, sizeof safe);
        buf_init(&b);
        while ((hit = strstr(p, key)) != NULL) {
                buf_append(&b, p, (size_t)(hit - p));
                buf_puts(&b, safe);
                p = hit + strlen(key);
        }
        buf_puts(&b, p);
        free(*msg);
        *msg = buf_detach(&b);
}

static void answer_error(struct exchange *ex, int status, const char *type, const char *msg)
{
        ex->final_status = status;
        ex->failed = true;
        if (ex->req == NULL)
                return;
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        if (ex->retry_after != NULL)
                evhttp_add_header(evhttp_request_get_output_headers(ex->req), "retry-after",
                                  ex->retry_after);
        if (ex->retry_after_ms != NULL)
                evhttp_add_header(evhttp_request_get_output_headers(ex->req), "retry-after-ms",
                                  ex->retry_after_ms);
        server_send_error(ex->req, status, type, msg, ex->request_id);
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
        struct evbuffer *eb;
        struct timeval tv;

        if (ex->out.len == 0 || ex->req == NULL)
                return;
        debug_keep(ex, &ex->dbg_client, ex->out.data, ex->out.len);
        eb = evbuffer_new();
        evbuffer_add(eb, ex->out.data, ex->out.len);
        evhttp_send_reply_chunk(ex->req, eb);
        evbuffer_free(eb);
        buf_clear(&ex->out);
        tv.tv_sec = ex->s->settings.ping_interval_ms / 1000;
        tv.tv_usec = (ex->s->settings.ping_interval_ms % 1000) * 1000;
        evtimer_add(ex->ping, &tv);
}

static void on_ping(evutil_socket_t fd, short what, void *arg)
{
        struct exchange *ex = arg;

        (void)fd;
        (void)what;
        xlate_stream_ping(&ex->out);
        flush_out(ex);
}

static void start_client_stream(struct exchange *ex)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(ex->req);

        evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "X-Accel-Buffering", "no");
        evhttp_add_header(h, "request-id", ex->request_id);
        evhttp_send_reply_start(ex->req, 200, "OK");
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
        evhttp_send_reply_end(ex->req);
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
                if (ex->s->settings.debug)
                        log_info("%s: the client closed the connection; upstream cancelled",
                                 ex->request_id);
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
                log_info("%s: retrying in %ld ms (attempt %d of %d)", ex->request_id, wait,
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

static int on_data(void *arg, struct upstream_transfer *t, const char *p, size_t n)
{
        struct exchange *ex = arg;
        enum xlate_stream_state st;

        (void)t;
        debug_keep(ex, &ex->dbg_upstream, p, n);
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
        st = xlate_stream_feed(ex->xs, p, n, &ex->out);
        if (st == XLATE_STREAM_OPEN) {
                flush_out(ex);
                return 0;
        }
        if (st == XLATE_STREAM_FAILED)
                ex->failed = true;
        end_client_stream(ex);
        return st == XLATE_STREAM_FAILED;
}

/* A complete non-streamed 2xx answer: translate it and answer in the client's form. */
static void answer_whole(struct exchange *ex)
{
        char *cause = NULL;
        cJSON *completion =
            json_parse(ex->acc.data != NULL ? ex->acc.data : "", ex->acc.len, &cause);
        cJSON *msg = NULL;
        struct buf b;

        if (completion != NULL)
                msg = xlate_response(completion, &ex->reply, &ex->result, &cause);
        cJSON_Delete(completion);
        if (msg == NULL) {
                char *m = xasprintf("the upstream's answer could not be translated: %s", cause);
                answer_error(ex, 502, "api_error", m);
                free(m);
                free(cause);
                return;
        }
        buf_init(&b);
        if (ex->client_stream) {
                start_client_stream(ex);
                xlate_stream_from_message(msg, &ex->out);
                end_client_stream(ex);
        } else {
                json_append(&b, msg);
                debug_keep(ex, &ex->dbg_client, b.data, b.len);
                ex->final_status = 200;
                evhttp_connection_set_closecb(ex->conn, NULL, NULL);
                server_send_json(ex->req, 200, &b, ex->request_id);
                ex->req = NULL;
                ex->answered = true;
        }
        buf_fini(&b);
        cJSON_Delete(msg);
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
                if (!ex->answered) {
                        if (o->ok) {
                                if (xlate_stream_eof(ex->xs, &ex->out) == XLATE_STREAM_FAILED)
                                        ex->failed = true;
                        } else {
                                char *msg =
                                    xasprintf("the upstream stream broke off: %s", o->error);
                                xlate_stream_fail(ex->xs, "api_error", msg, &ex->out);
                                free(msg);
                                ex->failed = true;
                        }
                        end_client_stream(ex);
                }
                ex->result = *xlate_stream_result(ex->xs);
                exchange_end(ex);
                return;
        }
        if (!o->ok) {
                if (o->connect_failed && maybe_retry(ex, -1))
                        return;
                errors_from_transport(o->timed_out, o->error, &m);
                answer_error(ex, m.status, m.type, m.message);
                free(m.message);
        } else if (ex->status >= 200 && ex->status < 300) {
                answer_whole(ex);
        } else {
                if (retryable_status(ex->status) && maybe_retry(ex, retry_after_ms(ex)))
                        return;
                errors_from_upstream(ex->status, buf_str(&ex->acc), ex->acc.len,
                                     (long)cJSON_GetNumberValue(json_get(ex->body, "max_tokens")),
                                     &m);
                scrub_key(&m.message, ex->key);
                if (ex->s->settings.debug)
                        log_info("%s: upstream %d: %s", ex->request_id, ex->status, m.message);
                answer_error(ex, m.status, m.type, m.message);
                free(m.message);
        }
        exchange_end(ex);
}

static const struct upstream_handlers handlers = {on_response, on_data, on_done};

static void send_upstream(struct exchange *ex)
{
        struct upstream_request r = {0};
        struct curl_slist *h = NULL;
        char *auth;

        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, ex->upstream_stream ? "Accept: text/event-stream"
                                                     : "Accept: application/json");
        h = curl_slist_append(h, "User-Agent: claude-proxy/" CP_VERSION);
        if (ex->e->auth == CONFIG_AUTH_X_API_KEY)
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

void exchange_start(struct server *s, struct evhttp_request *req, cJSON *body,
                    struct server_config *cfg, const struct model_entry *e, const char *key,
                    const char *request_id)
{
        struct exchange *ex = xcalloc(1, sizeof *ex);
        struct xlate_request_opts o = {0};
        cJSON *openai = NULL;
        char *cause = NULL;

        clock_gettime(CLOCK_MONOTONIC, &ex->t0);
        ex->s = s;
        ex->req = req;
        ex->conn = evhttp_request_get_connection(req);
        ex->cfg = cfg;
        ex->e = e;
        ex->body = body;
        ex->key = xstrdup(key);
        ex->ttft_ms = -1;
        snprintf(ex->request_id, sizeof ex->request_id, "%s", request_id);
        buf_init(&ex->acc);
        buf_init(&ex->out);
        buf_init(&ex->dbg_upstream);
        buf_init(&ex->dbg_client);
        ex->names = toolmap_new();
        ex->ping = evtimer_new(s->base, on_ping, ex);
        ex->retry = evtimer_new(s->base, on_retry, ex);
        s->live++;
        evhttp_connection_set_closecb(ex->conn, on_client_close, ex);

        ex->client_stream = json_get_bool(body, "stream", false);
        ex->upstream_stream = ex->client_stream && e->can_stream;
        o.upstream_model = e->model_name;
        o.max_tokens_cap = e->max_tokens;
        o.max_completion_tokens = e->max_completion_tokens;
        o.stream = ex->upstream_stream;
        o.stream_usage = e->stream_usage;
        o.reasoning_effort = e->reasoning_effort;
        o.reasoning = e->reasoning;
        o.history_thinking = e->history_thinking;
        o.tool_ids = e->tool_ids;
        o.sanitize_schema = e->sanitize_schema;
        o.has_temperature = e->has_temperature;
        o.temperature = e->temperature;
        o.drop_sampling = e->drop_sampling;
        o.developer_role = e->developer_role;
        o.empty_content_string = e->empty_content_string;
        o.extra_body = e->extra_body;
        if (xlate_request(body, &o, ex->names, &openai, &cause) != 0) {
                answer_error(ex, 400, "invalid_request_error", cause);
                free(cause);
                exchange_end(ex);
                return;
        }
        ex->payload = json_print(openai);
        ex->payload_len = strlen(ex->payload);
        cJSON_Delete(openai);
        if (s->settings.debug >= 2) {
                char *client = json_print(body);
                log_info("%s client request: %s", ex->request_id, client);
                log_info("%s upstream request: %s", ex->request_id, ex->payload);
                free(client);
        }

        ex->reply.model = json_get_str(body, "model");
        ex->reply.names = ex->names;
        ex->reply.input_estimate = tokens_estimate_request(body);
        ex->reply.stop_sequences = json_get(body, "stop_sequences");
        s->seed += 0x9E3779B97F4A7C15ULL;
        ex->reply.seed = s->seed;
        ex->reply.content_filter_end_turn = e->content_filter_end_turn;
        if (ex->upstream_stream)
                ex->xs = xlate_stream_new(&ex->reply);
        ex->url = chat_url(e->api_base);
        send_upstream(ex);
}
