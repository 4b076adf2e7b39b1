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

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void server_send_json(struct evhttp_request *req, int status, const struct buf *body,
                      const char *request_id)
{
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        struct evbuffer *eb = evbuffer_new();

        evhttp_add_header(h, "Content-Type", "application/json");
        if (request_id != NULL)
                evhttp_add_header(h, "request-id", request_id);
        evbuffer_add(eb, buf_str(body), body->len);
        evhttp_send_reply(req, status, reason_phrase(status), eb);
        evbuffer_free(eb);
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

/* Reads and parses the JSON body; answers the error itself and returns NULL on failure. */
static cJSON *read_body(struct evhttp_request *req, const char *request_id)
{
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *cause = NULL;
        cJSON *body;

        if (len > (size_t)MAX_BODY) {
                char *msg = xasprintf("request body is %zu bytes; the limit is %ld bytes (32 MB)",
                                      len, MAX_BODY);
                server_send_error(req, 413, NULL, msg, request_id);
                free(msg);
                return NULL;
        }
        body = json_parse((const char *)evbuffer_pullup(in, -1), len, &cause);
        if (body == NULL) {
                server_send_error(req, 400, NULL, cause, request_id);
                free(cause);
                return NULL;
        }
        if (!cJSON_IsObject(body)) {
                server_send_error(req, 400, NULL, "the body must be a JSON object", request_id);
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
static const struct model_entry *route(struct server *s, struct evhttp_request *req,
                                       const struct config *cfg, const char *model,
                                       const char *request_id)
{
        bool fallback = false;
        const struct model_entry *e = config_route(cfg, model, &fallback);
        struct buf msg;

        if (e != NULL) {
                if (fallback && s->settings.debug)
                        log_info("%s: model \"%s\" is not configured; using the default \"%s\"",
                                 request_id, model, e->model_id);
                return e;
        }
        buf_init(&msg);
        buf_printf(&msg, "model \"%s\" is not configured; configured models:", model);
        for (size_t i = 0; i < cfg->n_models; i++)
                buf_printf(&msg, "%s %s", i ? "," : "", cfg->models[i].model_id);
        server_send_error(req, 404, NULL, msg.data, request_id);
        buf_fini(&msg);
        return NULL;
}

/*
 * /v1/messages, and count_tokens: routes the checked body and hands it to an exchange, except
 * count_tokens for a translated model, which the local estimate answers (OpenAI upstreams have
 * no such endpoint).
 */
static void handle_messages(struct server *s, struct evhttp_request *req, const char *request_id,
                            enum exchange_kind kind)
{
        cJSON *body = read_body(req, request_id);
        struct server_config *cfg;
        const struct model_entry *e;
        const char *problem;
        const char *key;

        if (body == NULL)
                return;
        problem = check_messages_body(body, kind == EXCHANGE_COUNT_TOKENS);
        if (problem != NULL) {
                server_send_error(req, 400, NULL, problem, request_id);
                cJSON_Delete(body);
                return;
        }
        cfg = server_config_ref(s);
        e = route(s, req, cfg->cfg, json_get_str(body, "model"), request_id);
        if (e == NULL)
                goto done;
        if (kind == EXCHANGE_COUNT_TOKENS && !e->direct) {
                struct buf out;
                buf_init(&out);
                buf_printf(&out, "{\"input_tokens\":%ld}", tokens_estimate_request(body));
                server_send_json(req, 200, &out, request_id);
                buf_fini(&out);
                goto done;
        }
        key = upstream_key(e, req);
        if (key == NULL) {
                char *msg = xasprintf("no API key for model \"%s\": send x-api-key or "
                                      "Authorization: Bearer%s%s",
                                      e->model_id, e->api_key_name ? ", or set " : "",
                                      e->api_key_name ? e->api_key_name : "");
                server_send_error(req, 401, NULL, msg, request_id);
                free(msg);
                goto done;
        }
        exchange_start(s, req, body, cfg, e, key, request_id, kind);
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
        usage_totals_json(s->totals, &out);
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
        int is_post = cmd == EVHTTP_REQ_POST;
        int is_get = cmd == EVHTTP_REQ_GET;
        const char *want = NULL;

        ids_random(request_id, sizeof request_id, "req_", &s->seed);
        if (strcmp(path, "/v1/messages") == 0) {
                if (is_post)
                        handle_messages(s, req, request_id, EXCHANGE_MESSAGES);
                else
                        want = "POST";
        } else if (strcmp(path, "/v1/messages/count_tokens") == 0) {
                if (is_post)
                        handle_messages(s, req, request_id, EXCHANGE_COUNT_TOKENS);
                else
                        want = "POST";
        } else if (strcmp(path, "/v1/models") == 0 && is_get) {
                handle_models(s, req, request_id);
        } else if (strcmp(path, "/v1/stats") == 0 && is_get) {
                handle_stats(s, req, request_id);
        } else if (strcmp(path, "/health") == 0 && is_get) {
                struct buf ok;
                buf_init(&ok);
                buf_puts(&ok, "{\"status\":\"ok\",\"version\":\"" CP_VERSION "\"}");
                server_send_json(req, 200, &ok, request_id);
                buf_fini(&ok);
        } else {
                char *msg = xasprintf("no such endpoint: %s; the proxy serves POST "
                                      "/v1/messages, POST /v1/messages/count_tokens, GET "
                                      "/v1/models, GET /v1/stats and GET /health",
                                      path);
                server_send_error(req, 404, NULL, msg, request_id);
                free(msg);
        }
        if (want != NULL) {
                char *msg = xasprintf("%s takes %s", path, want);
                server_send_error(req, 405, "invalid_request_error", msg, request_id);
                free(msg);
        }
        free(path);
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

void server_free(struct server *s)
{
        if (s == NULL)
                return;
        if (s->http != NULL)
                evhttp_free(s->http);
        upstream_free(s->upstream);
        server_config_unref(s->config);
        usage_totals_free(s->totals);
        free(s);
}
