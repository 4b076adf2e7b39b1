/*
 * trace: building the records of one request (see trace.h).
 */
#include "trace.h"

#include "alloc.h"
#include "json.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <event2/keyvalq_struct.h>

#define SECRET(name)                                                                               \
        {                                                                                          \
                name, sizeof(name) - 1                                                             \
        }
static const struct {
        const char *name;
        size_t len;
} secret_headers[] = {
    SECRET("x-api-key"), SECRET("authorization"),  SECRET("proxy-authorization"),
    SECRET("cookie"),    SECRET("x-goog-api-key"), SECRET("api-key"),
};
#undef SECRET

void trace_init(struct trace *t, struct recorder *rec, const char *request_id)
{
        memset(t, 0, sizeof *t);
        t->rec = rec;
        if (request_id != NULL) {
                size_t n = strnlen(request_id, sizeof t->request_id - 1);
                memcpy(t->request_id, request_id, n); /* cut, as snprintf would */
        }
}

int trace_on(const struct trace *t)
{
        return t != NULL && recorder_active(t->rec);
}

/* log_redact's form of a secret, made without printf (every request has a key or two): the
 * first four bytes of a long secret, an ellipsis and the length. Returns its length. */
#define TRACE_SAFE_MAX 48
static size_t trace_redact(const char *secret, char out[TRACE_SAFE_MAX])
{
        char digits[24];
        size_t n = strlen(secret);
        size_t k = 0;
        size_t d = sizeof digits;

        if (n == 0) {
                memcpy(out, "(none)", 7);
                return 6;
        }
        if (n >= 16) {
                memcpy(out, secret, 4);
                k = 4;
        }
        memcpy(out + k, "\xE2\x80\xA6(", 4);
        k += 4;
        for (size_t v = n;; v /= 10) {
                digits[--d] = (char)('0' + v % 10);
                if (v < 10)
                        break;
        }
        memcpy(out + k, digits + d, sizeof digits - d);
        k += sizeof digits - d;
        out[k++] = ')';
        out[k] = '\0';
        return k;
}

void trace_add_key(struct trace *t, const char *key)
{
        size_t n = key != NULL ? strlen(key) : 0;

        if (n < 4 || n >= sizeof t->keys[0])
                return;
        for (int i = 0; i < 2; i++) {
                if (strcmp(t->keys[i], key) == 0)
                        return;
                if (t->keys[i][0] == '\0') {
                        memcpy(t->keys[i], key, n + 1);
                        trace_redact(key, t->keys_safe[i]);
                        return;
                }
        }
}

/* The session_id inside metadata.user_id: a JSON string (Claude Code 2.x) or
 * user_<hash>_account_<uuid>_session_<uuid> (1.0.x). */
static bool session_from_user_id(const char *uid, char *out, size_t n)
{
        const char *p;

        if (uid == NULL)
                return false;
        if (uid[0] == '{') {
                cJSON *j = cJSON_Parse(uid);
                const char *s = json_get_str(j, "session_id");
                bool ok = s != NULL && *s != '\0';
                if (ok)
                        snprintf(out, n, "%s", s);
                cJSON_Delete(j);
                return ok;
        }
        p = strstr(uid, "_session_");
        if (p == NULL || p[9] == '\0')
                return false;
        snprintf(out, n, "%s", p + 9);
        return true;
}

void trace_session_id(struct evhttp_request *req, const cJSON *body, unsigned long conn_id,
                      char *out, size_t n)
{
        const char *h =
            evhttp_find_header(evhttp_request_get_input_headers(req), "x-claude-code-session-id");

        if (h != NULL && *h != '\0') {
                snprintf(out, n, "%s", h);
                return;
        }
        if (session_from_user_id(json_get_str(json_get(body, "metadata"), "user_id"), out, n))
                return;
        snprintf(out, n, "conn-%lu", conn_id);
}

/* Replaces the keys wherever they appear in b, then emits. */
static void emit(struct trace *t, enum record_kind kind, struct buf *b)
{
        for (int i = 0; i < 2; i++)
                log_scrub(b, t->keys[i], t->keys_safe[i]);
        recorder_emit(t->rec, kind, t->session[0] ? t->session : NULL,
                      t->request_id[0] ? t->request_id : NULL, t->model[0] ? t->model : NULL, b);
}

/* The members are built with direct appends, not printf: a request makes ten records or more,
 * and formatting them is on the core thread's hot path. */

/* A record's members are built in the recorder's reused buffer, with room for what the record
 * is known to hold: no allocation once it has grown to the usual size. */
static struct buf *start(struct trace *t, size_t extra)
{
        struct buf *b = recorder_scratch(t->rec);

        buf_reserve(b, extra);
        return b;
}

/* "name": preceded by a comma unless it is the first member. The names are literals, so the
 * put_ macros below pass their lengths, known at compile time ("" name insists on a literal). */
static void put_key(struct buf *b, const char *name, size_t n)
{
        char *o;

        buf_reserve(b, n + 4);
        o = b->data + b->len;
        if (b->len > 0)
                *o++ = ',';
        *o++ = '"';
        memcpy(o, name, n);
        o += n;
        *o++ = '"';
        *o++ = ':';
        *o = '\0';
        b->len = (size_t)(o - b->data);
}

static void put_str_n(struct buf *b, const char *name, size_t n, const char *v)
{
        put_key(b, name, n);
        if (v != NULL)
                record_put_string(b, v, strlen(v));
        else
                buf_put_lit(b, "null");
}

static void put_long_n(struct buf *b, const char *name, size_t n, long v)
{
        put_key(b, name, n);
        buf_put_i64(b, v);
}

static void put_bool_n(struct buf *b, const char *name, size_t n, bool v)
{
        put_key(b, name, n);
        if (v)
                buf_put_lit(b, "true");
        else
                buf_put_lit(b, "false");
}

#define put_str(b, name, v)  put_str_n(b, "" name, sizeof(name) - 1, v)
#define put_long(b, name, v) put_long_n(b, "" name, sizeof(name) - 1, v)
#define put_bool(b, name, v) put_bool_n(b, "" name, sizeof(name) - 1, v)

/* A body as JSON when it is JSON, else as a string under name_text. */
static void put_body(struct buf *b, const char *body, size_t n, bool is_json)
{
        if (b->len > 0)
                buf_putc(b, ',');
        if (is_json && n > 0) {
                /* Valid JSON has raw line breaks only between tokens, where a space does as
                 * well: the record stays on one line. */
                size_t at;
                char *s;
                char *end;
                buf_put_lit(b, "\"body\":");
                at = b->len;
                buf_append(b, body, n); /* may move b->data: s is taken after */
                /* Bodies seldom hold a line break at all: memchr skips them whole. */
                s = b->data + at;
                end = b->data + b->len;
                for (char *p = s; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
                        *p = ' ';
                for (char *p = s; (p = memchr(p, '\r', (size_t)(end - p))) != NULL; p++)
                        *p = ' ';
        } else {
                buf_put_lit(b, "\"body_text\":");
                record_put_string(b, body != NULL ? body : "", n);
        }
}

/* Every header of every request is checked: compare lengths before letters. */
static bool is_secret_header(const char *name, size_t n)
{
        for (size_t i = 0; i < sizeof secret_headers / sizeof secret_headers[0]; i++)
                if (secret_headers[i].len == n && strcasecmp(name, secret_headers[i].name) == 0)
                        return true;
        return false;
}

static void put_redacted(struct buf *b, const char *secret)
{
        char safe[TRACE_SAFE_MAX];
        size_t n = trace_redact(secret, safe);

        record_put_string(b, safe, n);
}

static void put_header(struct buf *b, bool *first, const char *name, const char *value)
{
        size_t n = record_plain_len(name);
        size_t v = record_plain_len(value);

        /* Most headers are plain ASCII on both sides: one copy each, no escaping pass. */
        if (n != (size_t)-1 && v != (size_t)-1 && !is_secret_header(name, n)) {
                char *o;

                buf_reserve(b, n + v + 6);
                o = b->data + b->len;
                if (!*first)
                        *o++ = ',';
                *o++ = '"';
                memcpy(o, name, n);
                o += n;
                memcpy(o, "\":\"", 3);
                o += 3;
                memcpy(o, value, v);
                o += v;
                *o++ = '"';
                *o = '\0';
                b->len = (size_t)(o - b->data);
                *first = false;
                return;
        }
        n = strlen(name);
        if (!*first)
                buf_putc(b, ',');
        *first = false;
        record_put_string(b, name, n);
        buf_putc(b, ':');
        if (is_secret_header(name, n))
                put_redacted(b, value);
        else
                record_put_string(b, value, strlen(value));
}

void trace_client_request(struct trace *t, struct evhttp_request *req, const char *body, size_t n,
                          bool body_is_json)
{
        static const char *const methods[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS"};
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        const char *method = "OTHER";
        const char *replay_of = evhttp_find_header(h, "x-claude-proxy-replay-of");
        struct evkeyval *kv;
        struct buf *b;
        bool first = true;

        if (!trace_on(t))
                return;
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
                if (cmd == (enum evhttp_cmd_type)(1 << i))
                        method = methods[i];
        b = start(t, n + 512);
        put_str(b, "method", method);
        put_str(b, "path", evhttp_request_get_uri(req));
        buf_puts(b, ",\"headers\":{");
        TAILQ_FOREACH(kv, h, next)
        {
                put_header(b, &first, kv->key, kv->value);
        }
        buf_putc(b, '}');
        if (replay_of != NULL)
                put_str(b, "replay_of", replay_of);
        put_body(b, body, n, body_is_json);
        emit(t, RECORD_CLIENT_REQUEST, b);
}

void trace_route(struct trace *t, const char *requested, const struct model_entry *e, bool fallback)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, 0);
        put_str(b, "requested", requested);
        put_str(b, "model_id", e->model_id);
        put_str(b, "model_name", e->model_name);
        put_str(b, "mode", e->direct ? "direct" : "translate");
        put_str(b, "api_base", e->api_base);
        put_bool(b, "fallback", fallback);
        emit(t, RECORD_ROUTE, b);
}

void trace_upstream_request(struct trace *t, const char *url, int attempt, const char *body,
                            size_t n)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, n + (url != NULL ? strlen(url) : 0));
        put_str(b, "url", url);
        put_long(b, "attempt", attempt);
        put_body(b, body, n, true);
        emit(t, RECORD_UPSTREAM_REQUEST, b);
}

struct header_json {
        struct buf *b;
        bool first;
};

static void header_cb(void *arg, const char *name, const char *value)
{
        struct header_json *h = arg;
        put_header(h->b, &h->first, name, value);
}

void trace_upstream_response(struct trace *t, int status, const struct upstream_transfer *up)
{
        struct header_json h;
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, 256);
        put_long(b, "status", status);
        buf_puts(b, ",\"headers\":{");
        h.b = b;
        h.first = true;
        upstream_headers_foreach(up, header_cb, &h);
        buf_putc(b, '}');
        emit(t, RECORD_UPSTREAM_RESPONSE, b);
}

/* Chunks and stream bytes are the hot path: one copy, no escaping here (the consumer's thread
 * does that), and the slow scrubbing path only when a key is really in the bytes. */
void trace_bytes(struct trace *t, enum record_kind kind, const char *p, size_t n)
{
        struct buf b;

        if (!trace_on(t) || n == 0)
                return;
        if ((t->keys[0][0] == '\0' || memmem(p, n, t->keys[0], strlen(t->keys[0])) == NULL) &&
            (t->keys[1][0] == '\0' || memmem(p, n, t->keys[1], strlen(t->keys[1])) == NULL)) {
                recorder_emit_raw(t->rec, kind, t->session[0] ? t->session : NULL,
                                  t->request_id[0] ? t->request_id : NULL,
                                  t->model[0] ? t->model : NULL, p, n);
                return;
        }
        buf_init(&b);
        buf_append(&b, p, n);
        for (int i = 0; i < 2; i++)
                log_scrub(&b, t->keys[i], t->keys_safe[i]);
        recorder_emit_raw(t->rec, kind, t->session[0] ? t->session : NULL,
                          t->request_id[0] ? t->request_id : NULL, t->model[0] ? t->model : NULL,
                          b.data, b.len);
        buf_fini(&b);
}

void trace_client_response(struct trace *t, int status, const char *body, size_t n,
                           bool body_is_json)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, n);
        put_long(b, "status", status);
        put_body(b, body, n, body_is_json);
        emit(t, RECORD_CLIENT_RESPONSE, b);
}

void trace_usage(struct trace *t, const struct usage *u, bool estimated)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, 0);
        put_long(b, "input_tokens", u->input);
        put_long(b, "output_tokens", u->output);
        put_long(b, "cache_read_input_tokens", u->cache_read);
        put_long(b, "cache_creation_input_tokens", u->cache_write);
        put_bool(b, "estimated", estimated);
        emit(t, RECORD_USAGE, b);
}

void trace_error(struct trace *t, const char *where, int status, const char *type,
                 const char *message)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, strlen(message != NULL ? message : ""));
        put_str(b, "where", where);
        put_long(b, "status", status);
        put_str(b, "type", type);
        put_str(b, "message", message);
        emit(t, RECORD_ERROR, b);
}

void trace_end(struct trace *t, const struct trace_end *e)
{
        struct buf *b;

        if (!trace_on(t))
                return;
        b = start(t, 0);
        put_long(b, "status", e->status);
        put_str(b, "model_id", e->model_id);
        put_str(b, "mode", e->mode);
        put_bool(b, "stream", e->stream);
        put_long(b, "ttft_ms", e->ttft_ms);
        put_long(b, "duration_ms", e->duration_ms);
        put_str(b, "stop_reason", e->stop_reason);
        put_long(b, "tool_calls", e->tool_calls);
        put_long(b, "attempts", e->attempts);
        put_bool(b, "failed", e->failed);
        emit(t, RECORD_END, b);
}

void trace_config(struct recorder *rec, const char *path, const struct config *cfg,
                  const char *error)
{
        struct buf b;

        if (!recorder_active(rec))
                return;
        buf_init(&b);
        put_str(&b, "path", path);
        put_str(&b, "result", error == NULL ? "loaded" : "rejected");
        if (cfg != NULL) {
                buf_puts(&b, ",\"models\":[");
                for (size_t i = 0; i < cfg->n_models; i++) {
                        if (i > 0)
                                buf_putc(&b, ',');
                        json_append_string(&b, cfg->models[i].model_id,
                                           strlen(cfg->models[i].model_id));
                }
                buf_putc(&b, ']');
                /* What the inspector's model picker and cost column need. */
                buf_puts(&b, ",\"entries\":[");
                for (size_t i = 0; i < cfg->n_models; i++) {
                        const struct model_entry *e = &cfg->models[i];
                        struct buf one;
                        buf_init(&one);
                        put_str(&one, "model_id", e->model_id);
                        put_str(&one, "model_name", e->model_name);
                        put_str(&one, "mode", e->direct ? "direct" : "translate");
                        put_str(&one, "api_base", e->api_base);
                        put_long(&one, "max_tokens", e->max_tokens);
                        put_long(&one, "max_input_tokens", e->max_input_tokens);
                        put_bool(&one, "default", (int)i == cfg->default_model);
                        buf_printf(&one,
                                   ",\"price\":{\"input\":%g,\"output\":%g,\"cache_read\":%g,"
                                   "\"cache_write\":%g}",
                                   e->price_input, e->price_output, e->price_cache_read,
                                   e->price_cache_write);
                        buf_printf(&b, "%s{%s}", i ? "," : "", one.data);
                        buf_fini(&one);
                }
                buf_putc(&b, ']');
        }
        if (error != NULL)
                put_str(&b, "error", error);
        recorder_emit(rec, RECORD_CONFIG, NULL, NULL, NULL, &b);
        buf_fini(&b);
}
