/*
 * server: evhttp routes, request checks and the small endpoints (see server.h).
 *
 * Paths are matched without the query string (Claude Code appends ?beta=true) and with a doubled
 * /v1 collapsed, since misconfigured base URLs ending in /v1 are common. Every answer, even a
 * 404, is Anthropic-shaped JSON with a request id, so any client shows a useful message.
 */
#include "server.h"

#include "alloc.h"
#include "errors.h"
#include "exchange.h"
#include "ids.h"
#include "json.h"
#include "log.h"
#include "tokens.h"
#include "trace.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_BODY (32L * 1024 * 1024) /* Anthropic's limit on Messages and count_tokens */

static const char *reason_phrase(int status)
{
        switch (status) {
        case 200:
                return "OK";
        case 400:
                return "Bad Request";
        case 401:
                return "Unauthorized";
        case 402:
                return "Payment Required";
        case 403:
                return "Forbidden";
        case 404:
                return "Not Found";
        case 405:
                return "Method Not Allowed";
        case 413:
                return "Payload Too Large";
        case 429:
                return "Too Many Requests";
        case 500:
                return "Internal Server Error";
        case 502:
                return "Bad Gateway";
        case 503:
                return "Service Unavailable";
        case 504:
                return "Gateway Timeout";
        case 529:
                return "Overloaded";
        default:
                return status < 400 ? "OK" : "Error";
        }
}

/*
 * Streamed replies go to the socket as each piece is handed over. Left to evhttp, every piece
 * would register interest in writability, wait a loop turn for epoll to report it, write, and
 * withdraw the interest: two epoll_ctl calls and an extra turn per chunk of an answer. Here the
 * piece is written at once; when the socket took all of it, the write interest is withdrawn in
 * the same turn (the changelist then never tells the kernel), and when it did not, the rest
 * waits for writability as before. The end restores the interest, because evhttp completes the
 * reply (and reads the connection's next request) from its write callback.
 */
static struct bufferevent *client_bev(struct evhttp_request *req)
{
        struct evhttp_connection *evcon = evhttp_request_get_connection(req);

        return evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
}

/* Writes what evhttp queued on bev at once; true when the socket took all of it. */
static bool write_now(struct bufferevent *bev)
{
        struct evbuffer *out = bufferevent_get_output(bev);

        evbuffer_write(out, bufferevent_getfd(bev)); /* errors surface in evhttp's own write */
        return evbuffer_get_length(out) == 0;
}

static void stream_write_now(struct evhttp_request *req)
{
        struct bufferevent *bev = client_bev(req);

        if (bev != NULL && write_now(bev))
                bufferevent_disable(bev, EV_WRITE);
        else if (bev != NULL)
                bufferevent_enable(bev, EV_WRITE);
}

/*
 * The Date header, made once a second rather than by evhttp for every answer (gmtime and a
 * printf: a few percent of a small request). Names spelt out: strftime's follow the locale,
 * which the inspector sets.
 */
static void add_date(struct evkeyvalq *h)
{
        static const char days[][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
        static const char months[][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        static _Thread_local time_t made = -1;
        static _Thread_local char date[64];
        time_t now = time(NULL);

        if (now != made) {
                struct tm tm;

                gmtime_r(&now, &tm);
                snprintf(date, sizeof date, "%s, %02d %s %d %02d:%02d:%02d GMT", days[tm.tm_wday],
                         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
                made = now;
        }
        evhttp_add_header(h, "Date", date);
}

void server_stream_start(struct evhttp_request *req)
{
        add_date(evhttp_request_get_output_headers(req));
        evhttp_send_reply_start(req, 200, "OK");
        stream_write_now(req);
}

void server_stream_chunk(struct evhttp_request *req, const char *p, size_t n)
{
        struct evbuffer *eb = evbuffer_new();

        evbuffer_add(eb, p, n);
        evhttp_send_reply_chunk(req, eb);
        evbuffer_free(eb);
        stream_write_now(req);
}

void server_stream_end(struct evhttp_request *req)
{
        struct bufferevent *bev = client_bev(req);

        if (bev != NULL)
                bufferevent_enable(bev, EV_WRITE);
        evhttp_send_reply_end(req);
}

void server_send_json(struct evhttp_request *req, int status, const struct buf *body,
                      const char *request_id)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        struct bufferevent *bev = client_bev(req);
        struct evbuffer *eb = evbuffer_new();

        evhttp_add_header(h, "Content-Type", "application/json");
        if (request_id != NULL)
                evhttp_add_header(h, "request-id", request_id);
        add_date(h);
        evbuffer_add(eb, buf_str(body), body->len);
        evhttp_send_reply(req, status, reason_phrase(status), eb);
        evbuffer_free(eb);
        /* The same shortcut as for streams: write the answer now, and when the socket took it
         * all, run evhttp's write callback (which completes the request and reads the next
         * one) from the loop's deferred queue, in this same turn, instead of a turn later. */
        if (bev != NULL && write_now(bev))
                bufferevent_trigger(bev, EV_WRITE,
                                    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void server_send_error(struct evhttp_request *req, int status, const char *type,
                       const char *message, const char *request_id)
{
        struct buf b;

        buf_init(&b);
        errors_body(&b, type != NULL ? type : errors_type_for_status(status), message, request_id);
        server_send_json(req, status, &b, request_id);
        buf_fini(&b);
}

struct server_config *server_config_ref(struct server *s)
{
        s->config->refs++;
        return s->config;
}

void server_config_unref(struct server_config *c)
{
        if (c == NULL || --c->refs > 0)
                return;
        config_free(c->cfg);
        free(c);
}

void server_set_config(struct server *s, struct config *cfg)
{
        struct server_config *c = xcalloc(1, sizeof *c);

        c->cfg = cfg;
        c->refs = 1;
        server_config_unref(s->config);
        s->config = c;
}

void server_request_done(struct server *s)
{
        s->live--;
        if (s->draining && s->live == 0 && s->drained != NULL)
                s->drained(s->drained_arg);
}

void server_drain(struct server *s, void (*drained)(void *arg), void *arg)
{
        if (s->sock != NULL) {
                evhttp_del_accept_socket(s->http, s->sock);
                s->sock = NULL;
        }
        s->draining = 1;
        s->drained = drained;
        s->drained_arg = arg;
        if (s->live == 0 && drained != NULL)
                drained(arg);
}

/* One request the server answers, or hands to an exchange. */
struct call {
        struct server *s;
        struct evhttp_request *req;
        struct trace trace;
        struct timespec t0;
        int status;      /* what the proxy answered itself */
        bool handed_off; /* an exchange owns the rest */
        const struct model_entry *entry;
};

/* An answer of the server's own: recorded, then sent. */
static void reply(struct call *c, int status, const struct buf *body)
{
        c->status = status;
        trace_client_response(&c->trace, status, buf_str(body), body->len, true);
        server_send_json(c->req, status, body, c->trace.request_id);
}

static void reply_error(struct call *c, int status, const char *type, const char *message)
{
        struct buf b;

        if (type == NULL)
                type = errors_type_for_status(status);
        trace_error(&c->trace, "proxy", status, type, message);
        buf_init(&b);
        errors_body(&b, type, message, c->trace.request_id);
        reply(c, status, &b);
        buf_fini(&b);
}

/* The request path without query, trailing slash or a doubled /v1. Caller frees. */
static char *request_path(struct evhttp_request *req)
{
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *p = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
        char *path = xstrdup(p != NULL && *p != '\0' ? p : "/");
        size_t n;

        while (strncmp(path, "/v1/v1/", 7) == 0 || strcmp(path, "/v1/v1") == 0)
                memmove(path, path + 3, strlen(path + 3) + 1);
        n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
                path[--n] = '\0';
        return path;
}

/* The client's key: x-api-key, else Authorization: Bearer. */
static const char *client_key(struct evhttp_request *req)
{
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        const char *k = evhttp_find_header(h, "x-api-key");
        const char *auth;

        if (k != NULL && *k != '\0')
                return k;
        auth = evhttp_find_header(h, "authorization");
        if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
                auth += 7;
                while (*auth == ' ')
                        auth++;
                if (*auth != '\0')
                        return auth;
        }
        return NULL;
}

/* The key the upstream gets: the entry's environment variable when set, else the client's. */
static const char *upstream_key(const struct model_entry *e, struct evhttp_request *req)
{
        if (e->api_key_name != NULL) {
                const char *v = getenv(e->api_key_name);
                if (v != NULL && *v != '\0')
                        return v;
        }
        return client_key(req);
}

/* Requests without a session of their own are grouped by their connection. */
static unsigned long connection_id(struct evhttp_request *req)
{
        return (unsigned long)(uintptr_t)evhttp_request_get_connection(req) >> 4;
}

/*
 * Reads the body, records the client's request (with its session, known once the body is
 * parsed) and parses it; answers the error itself and returns NULL on failure.
 */
static cJSON *read_body(struct call *c)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
        size_t len = evbuffer_get_length(in);
        const char *raw;
        char *cause = NULL;
        cJSON *body = NULL;

        if (len > (size_t)MAX_BODY) {
                char *msg = xasprintf("request body is %zu bytes; the limit is %ld bytes (32 MB)",
                                      len, MAX_BODY);
                trace_session_id(c->req, NULL, connection_id(c->req), c->trace.session,
                                 sizeof c->trace.session);
                trace_client_request(&c->trace, c->req, "(body not recorded: too large)", 31,
                                     false);
                reply_error(c, 413, NULL, msg);
                free(msg);
                return NULL;
        }
        raw = (const char *)evbuffer_pullup(in, -1);
        trace_add_key(&c->trace, client_key(c->req));
        body = json_parse(raw != NULL ? raw : "", len, &cause);
        trace_session_id(c->req, body, connection_id(c->req), c->trace.session,
                         sizeof c->trace.session);
        if (cJSON_IsString(json_get(body, "model")))
                snprintf(c->trace.model, sizeof c->trace.model, "%s", json_get_str(body, "model"));
        trace_client_request(&c->trace, c->req, raw, len, body != NULL);
        if (body == NULL) {
                reply_error(c, 400, NULL, cause);
                free(cause);
                return NULL;
        }
        if (!cJSON_IsObject(body)) {
                reply_error(c, 400, NULL, "the body must be a JSON object");
                cJSON_Delete(body);
                return NULL;
        }
        return body;
}

/* Checks the fields every Messages request needs; NULL when fine, else the message. */
static const char *check_messages_body(const cJSON *body, int count_tokens)
{
        const cJSON *v = json_get(body, "model");

        if (v == NULL)
                return "model: field required";
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
                return "model: expected a non-empty string";
        v = json_get(body, "messages");
        if (v == NULL)
                return "messages: field required";
        if (!cJSON_IsArray(v))
                return "messages: expected an array of messages";
        if (count_tokens)
                return NULL;
        v = json_get(body, "max_tokens");
        if (v == NULL)
                return "max_tokens: field required";
        if (!cJSON_IsNumber(v) || v->valuedouble < 1)
                return "max_tokens: expected an integer >= 1";
        v = json_get(body, "stream");
        if (v != NULL && !cJSON_IsBool(v) && !cJSON_IsNull(v))
                return "stream: expected a boolean";
        return NULL;
}

/* Routes body's model; answers 404 itself and returns NULL when nothing fits. */
static const struct model_entry *route(struct call *c, const struct config *cfg, const char *model)
{
        bool fallback = false;
        const struct model_entry *e = config_route(cfg, model, &fallback);
        struct buf msg;

        /* A switch made in the inspector wins over models.yaml while it lasts. */
        if (c->s->switch_to != NULL &&
            (c->s->switch_scope == NULL || strcmp(c->s->switch_scope, model) == 0)) {
                const struct model_entry *chosen = config_find(cfg, c->s->switch_to);
                if (chosen != NULL) {
                        e = chosen;
                        fallback = false;
                }
        }
        if (e != NULL) {
                if (fallback && c->s->settings.debug)
                        log_info("%s: model \"%s\" is not configured; using the default \"%s\"",
                                 c->trace.request_id, model, e->model_id);
                trace_route(&c->trace, model, e, fallback);
                c->entry = e;
                return e;
        }
        buf_init(&msg);
        buf_printf(&msg, "model \"%s\" is not configured; configured models:", model);
        for (size_t i = 0; i < cfg->n_models; i++)
                buf_printf(&msg, "%s %s", i ? "," : "", cfg->models[i].model_id);
        reply_error(c, 404, NULL, msg.data);
        buf_fini(&msg);
        return NULL;
}

/*
 * /v1/messages, and count_tokens: routes the checked body and hands it to an exchange, except
 * count_tokens for a translated model, which the local estimate answers (OpenAI upstreams have
 * no such endpoint).
 */
static void handle_messages(struct call *c, enum exchange_kind kind)
{
        cJSON *body = read_body(c);
        struct server_config *cfg;
        const struct model_entry *e;
        const char *problem;
        const char *key;

        if (body == NULL)
                return;
        problem = check_messages_body(body, kind == EXCHANGE_COUNT_TOKENS);
        if (problem != NULL) {
                reply_error(c, 400, NULL, problem);
                cJSON_Delete(body);
                return;
        }
        cfg = server_config_ref(c->s);
        e = route(c, cfg->cfg, json_get_str(body, "model"));
        if (e == NULL)
                goto done;
        if (kind == EXCHANGE_COUNT_TOKENS && !e->direct) {
                struct buf out;
                buf_init(&out);
                buf_printf(&out, "{\"input_tokens\":%ld}", tokens_estimate_request(body));
                reply(c, 200, &out);
                buf_fini(&out);
                goto done;
        }
        key = upstream_key(e, c->req);
        if (key == NULL) {
                char *msg = xasprintf("no API key for model \"%s\": send x-api-key or "
                                      "Authorization: Bearer%s%s",
                                      e->model_id, e->api_key_name ? ", or set " : "",
                                      e->api_key_name ? e->api_key_name : "");
                reply_error(c, 401, NULL, msg);
                free(msg);
                goto done;
        }
        trace_add_key(&c->trace, key);
        c->handed_off = true;
        exchange_start(c->s, c->req, body, cfg, e, key, &c->trace, kind);
        return;
done:
        server_config_unref(cfg);
        cJSON_Delete(body);
}

static void handle_models(struct server *s, struct evhttp_request *req, const char *request_id)
{
        const struct config *cfg = s->config->cfg;
        struct buf out;

        buf_init(&out);
        buf_puts(&out, "{\"data\":[");
        for (size_t i = 0; i < cfg->n_models; i++) {
                const char *id = cfg->models[i].model_id;
                if (i > 0)
                        buf_putc(&out, ',');
                buf_puts(&out, "{\"type\":\"model\",\"id\":");
                json_append_string(&out, id, strlen(id));
                buf_puts(&out, ",\"display_name\":");
                json_append_string(&out, id, strlen(id));
                buf_puts(&out, ",\"created_at\":\"2025-01-01T00:00:00Z\"}");
        }
        buf_puts(&out, "],\"has_more\":false,\"first_id\":");
        if (cfg->n_models > 0) {
                const char *first = cfg->models[0].model_id;
                const char *last = cfg->models[cfg->n_models - 1].model_id;
                json_append_string(&out, first, strlen(first));
                buf_puts(&out, ",\"last_id\":");
                json_append_string(&out, last, strlen(last));
        } else {
                buf_puts(&out, "null,\"last_id\":null");
        }
        buf_putc(&out, '}');
        server_send_json(req, 200, &out, request_id);
        buf_fini(&out);
}

static void handle_stats(struct server *s, struct evhttp_request *req, const char *request_id)
{
        struct buf out;

        buf_init(&out);
        buf_printf(&out, "{\"live_requests\":%d,\"usage\":", s->live);
        usage_totals_json(s->totals, "models", &out);
        buf_puts(&out, ",\"session_usage\":");
        usage_totals_json(s->session_totals, "sessions", &out);
        buf_puts(&out, ",\"records\":{");
        for (size_t i = 0; i < s->recorder.n_sinks; i++)
                buf_printf(
                    &out, "%s\"%s\":{\"dropped\":%llu}", i ? "," : "", s->recorder.sinks[i].name,
                    (unsigned long long)recorder_dropped(&s->recorder, s->recorder.sinks[i].name));
        buf_puts(&out, "},\"journal\":");
        if (s->journal_dir != NULL)
                json_append_string(&out, s->journal_dir, strlen(s->journal_dir));
        else
                buf_puts(&out, "null");
        buf_putc(&out, '}');
        server_send_json(req, 200, &out, request_id);
        buf_fini(&out);
}

static void on_request(struct evhttp_request *req, void *arg)
{
        struct server *s = arg;
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        char *path = request_path(req);
        char request_id[40];
        bool is_post = cmd == EVHTTP_REQ_POST;
        bool is_get = cmd == EVHTTP_REQ_GET;
        bool recorded = true; /* health, models and stats are not worth a record */
        struct call c = {.s = s, .req = req};

        ids_random(request_id, sizeof request_id, "req_", &s->seed);
        clock_gettime(CLOCK_MONOTONIC, &c.t0);
        trace_init(&c.trace, &s->recorder, request_id);
        if (strcmp(path, "/v1/messages") == 0 && is_post) {
                handle_messages(&c, EXCHANGE_MESSAGES);
        } else if (strcmp(path, "/v1/messages/count_tokens") == 0 && is_post) {
                handle_messages(&c, EXCHANGE_COUNT_TOKENS);
        } else if (strcmp(path, "/v1/models") == 0 && is_get) {
                handle_models(s, req, request_id);
                recorded = false;
        } else if (strcmp(path, "/v1/stats") == 0 && is_get) {
                handle_stats(s, req, request_id);
                recorded = false;
        } else if (strcmp(path, "/health") == 0 && is_get) {
                struct buf ok;
                buf_init(&ok);
                buf_puts(&ok, "{\"status\":\"ok\",\"version\":\"" CP_VERSION "\"}");
                server_send_json(req, 200, &ok, request_id);
                buf_fini(&ok);
                recorded = false;
        } else {
                bool known = strcmp(path, "/v1/messages") == 0 ||
                             strcmp(path, "/v1/messages/count_tokens") == 0;
                char *msg = known ? xasprintf("%s takes POST", path)
                                  : xasprintf("no such endpoint: %s; the proxy serves POST "
                                              "/v1/messages, POST /v1/messages/count_tokens, GET "
                                              "/v1/models, GET /v1/stats and GET /health",
                                              path);
                trace_session_id(req, NULL, connection_id(req), c.trace.session,
                                 sizeof c.trace.session);
                trace_client_request(&c.trace, req, NULL, 0, false);
                reply_error(&c, known ? 405 : 404, known ? "invalid_request_error" : NULL, msg);
                free(msg);
        }
        if (recorded && !c.handed_off) {
                struct trace_end end = {
                    .status = c.status,
                    .model_id = c.entry != NULL ? c.entry->model_id : NULL,
                    .mode = c.entry != NULL ? (c.entry->direct ? "direct" : "translate") : NULL,
                    .ttft_ms = -1,
                    .failed = c.status >= 400,
                };
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                end.duration_ms =
                    (now.tv_sec - c.t0.tv_sec) * 1000 + (now.tv_nsec - c.t0.tv_nsec) / 1000000;
                trace_end(&c.trace, &end);
        }
        free(path);
}

void server_settings_defaults(struct server_settings *s, const struct config *cfg)
{
        const char *env = getenv("MAX_RETRIES");

        memset(s, 0, sizeof *s);
        s->host = cfg->host != NULL ? cfg->host : "127.0.0.1";
        s->port = cfg->port > 0 ? cfg->port : 8082;
        s->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
        s->read_timeout_ms = cfg->read_timeout_ms > 0 ? cfg->read_timeout_ms : 600000;
        s->max_retries = cfg->max_retries >= 0 ? cfg->max_retries : 2;
        if (env != NULL && *env != '\0')
                s->max_retries = atoi(env);
        s->retry_max_wait_ms = 10000;
        s->ping_interval_ms = 10000;
        s->shutdown_grace_ms = 5000;
}

struct server *server_new(struct event_base *base, struct config *cfg,
                          const struct server_settings *settings, char **cause)
{
        struct server *s = xcalloc(1, sizeof *s);
        evutil_socket_t fd;
        struct sockaddr_storage ss;
        ev_socklen_t sslen = sizeof ss;

        s->base = base;
        s->settings = *settings;
        s->seed = ids_seed();
        s->totals = usage_totals_new();
        s->session_totals = usage_totals_new();
        recorder_init(&s->recorder);
        s->upstream = upstream_new(base);
        server_set_config(s, cfg);
        s->http = evhttp_new(base);
        /* Well above the 32 MB limit so oversized bodies get our 413 JSON; only a body over
         * twice the limit is cut off by evhttp itself (with its own 413 page). */
        evhttp_set_max_body_size(s->http, 2 * MAX_BODY);
        evhttp_set_timeout(s->http, 3600);
        evhttp_set_gencb(s->http, on_request, s);
        s->sock =
            evhttp_bind_socket_with_handle(s->http, settings->host, (ev_uint16_t)settings->port);
        if (s->sock == NULL) {
                *cause = xasprintf("cannot listen on %s:%d (in use, or not an address of this "
                                   "machine)",
                                   settings->host, settings->port);
                server_free(s);
                return NULL;
        }
        fd = evhttp_bound_socket_get_fd(s->sock);
        {
                /* Accepted sockets inherit it on Linux. Without it the last frame of every
                 * streamed answer on a kept-alive connection waits 40 ms for a delayed ACK. */
                int one = 1;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
                if (ss.ss_family == AF_INET)
                        s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
                else if (ss.ss_family == AF_INET6)
                        s->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        return s;
}

int server_switch_model(struct server *s, const char *model_id, const char *scope, char **cause)
{
        struct buf b;

        if (model_id != NULL && config_find(s->config->cfg, model_id) == NULL) {
                *cause = xasprintf("model \"%s\" is not configured", model_id);
                return -1;
        }
        buf_init(&b);
        buf_puts(&b, "\"from\":");
        if (s->switch_to != NULL)
                json_append_string(&b, s->switch_to, strlen(s->switch_to));
        else
                buf_puts(&b, "null");
        buf_puts(&b, ",\"to\":");
        if (model_id != NULL)
                json_append_string(&b, model_id, strlen(model_id));
        else
                buf_puts(&b, "null");
        buf_puts(&b, ",\"scope\":");
        json_append_string(&b, scope != NULL ? scope : "all",
                           strlen(scope != NULL ? scope : "all"));
        free(s->switch_to);
        free(s->switch_scope);
        s->switch_to = model_id != NULL ? xstrdup(model_id) : NULL;
        s->switch_scope = model_id != NULL && scope != NULL ? xstrdup(scope) : NULL;
        recorder_emit(&s->recorder, RECORD_MODEL_SWITCH, NULL, NULL, NULL, &b);
        log_info("routing: %s%s%s", model_id != NULL ? model_id : "back to models.yaml",
                 s->switch_scope != NULL ? " for requests asking for " : "",
                 s->switch_scope != NULL ? s->switch_scope : "");
        buf_fini(&b);
        return 0;
}

void server_set_journal_dir(struct server *s, const char *dir)
{
        free(s->journal_dir);
        s->journal_dir = dir != NULL ? xstrdup(dir) : NULL;
}

void server_free(struct server *s)
{
        if (s == NULL)
                return;
        if (s->http != NULL)
                evhttp_free(s->http);
        upstream_free(s->upstream);
        server_config_unref(s->config);
        usage_totals_free(s->totals);
        usage_totals_free(s->session_totals);
        recorder_fini(&s->recorder);
        free(s->journal_dir);
        free(s->switch_to);
        free(s->switch_scope);
        free(s);
}
