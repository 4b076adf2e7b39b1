/*
 * fake-upstream: a scriptable model server on loopback for the end-to-end tests and benchmarks.
 *
 * The proxy under test is pointed at this server instead of a real provider. Every answer comes
 * from a scenario file, so a test says exactly what the "model" does: stream these chunks with
 * these delays, fail with 429 and retry-after, send an error in the middle of a stream, drop the
 * connection half way, stay silent for a while.
 *
 *   fake-upstream --port N --scenarios DIR [--record FILE] [--mode openai|anthropic]
 *
 * prints "listening on http://127.0.0.1:PORT" once ready (port 0 picks a free one).
 *
 * Choosing the answer is stateless: the request's "model" names DIR/<model>.json, read on every
 * request (tests may write scenarios after start), and the turn used is the number of assistant
 * messages in the request, clamped to the last turn. A multi-turn tool conversation therefore
 * walks through the turns, and a client that retries the same request gets the same answer.
 *
 * A scenario is {"turns":[TURN, ...]}; a TURN is
 *   {"status":200, "headers":{"retry-after":"7"}, "delay_ms":N,
 *    "body": <JSON or string>,            the non-streaming answer (or the error body)
 *    "stream": [STEP, ...],               the SSE answer
 *    "disconnect_after": K}               send K steps, then drop the connection
 * and a STEP is {"delay_ms":N, "event":"name"?, "data": <JSON object or string such as "[DONE]">}
 * (written as "data: <compact JSON>\n\n") or {"delay_ms":N, "raw":"exact bytes"} for odd
 * framings. A non-streaming request to a turn that only has "stream" gets the chunks aggregated
 * into one answer, as a real server would (clients retry without streaming after stream errors).
 *
 * --record FILE appends one JSON line per request ({"method","path","query","headers","body"})
 * and flushes it before answering, so a test can check what the proxy sent upstream; a client
 * that goes away before its answer is complete adds {"event":"client_closed","uri","model",
 * "steps_sent"}.
 *
 * The wire dialect (paths, error shape, aggregation) is a table entry, so the Anthropic Messages
 * side for direct mode is one more entry; its aggregation is not written yet.
 * Everything runs on one libevent loop: delays are timers, never sleeps.
 */
#include "alloc.h"
#include "buf.h"
#include "json.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Why a request is refused, in the words of the API being imitated. */
struct rejection {
        int status;
        const char *type;
        const char *code; /* OpenAI's error code, or NULL */
        char *msg;        /* owned */
};

struct dialect {
        const char *name;
        const char *const *paths;       /* POST routes answered from scenarios */
        const char *const *count_paths; /* POST routes answered with a token count, or NULL */
        /* Refuses what the real API refuses: 0, or -1 with *rej filled. */
        int (*validate)(struct evhttp_request *req, const cJSON *body, bool counting,
                        struct rejection *rej);
        /* Completes a scenario turn before it is answered (expansions, signatures), or NULL. */
        void (*prepare)(cJSON *turn, const char *model);
        /* Builds the non-streaming answer from the stream steps; NULL + *cause when it cannot. */
        cJSON *(*aggregate)(const cJSON *steps, const char *model, char **cause);
        /* The error body this dialect's clients expect. */
        void (*error_body)(struct buf *b, const char *type, const char *code, const char *msg);
};

struct fake {
        struct event_base *base;
        struct evhttp *http;
        const struct dialect *dialect;
        const char *scenarios;
        FILE *record;
        struct answer *answers; /* in flight, so shutdown can free them */
        bool stopping;
};

/* One request being answered: owns the scenario tree until the reply is complete. */
struct answer {
        struct fake *fake;
        struct evhttp_request *req;
        struct evhttp_connection *evcon;
        struct event *timer;
        cJSON *scenario;
        const cJSON *turn;
        const cJSON *steps; /* the stream being sent, or NULL */
        const cJSON *cur;   /* the step at next_step (steps is a linked list), or NULL */
        int nsteps;
        int next_step;
        int disconnect_after; /* -1 = never */
        bool streaming;       /* reply started (headers sent, chunked body open) */
        bool dropping;        /* waiting for the output to drain before dropping the connection */
        char *path;
        struct answer *prev, *next;
};

static void send_json(struct fake *f, struct evhttp_request *req, int status, const char *text);

/* ---- dialects ---------------------------------------------------------------------------- */

static void openai_error_body(struct buf *b, const char *type, const char *code, const char *msg)
{
        buf_puts(b, "{\"error\":{\"message\":");
        json_append_string(b, msg, strlen(msg));
        buf_puts(b, ",\"type\":");
        json_append_string(b, type, strlen(type));
        buf_puts(b, ",\"param\":null,\"code\":");
        if (code != NULL)
                json_append_string(b, code, strlen(code));
        else
                buf_puts(b, "null");
        buf_puts(b, "}}");
}

static void anthropic_error_body(struct buf *b, const char *type, const char *code, const char *msg)
{
        /* The callers speak OpenAI's vocabulary; Anthropic clients branch on these types. */
        if (code != NULL &&
            (strcmp(code, "model_not_found") == 0 || strcmp(code, "unknown_url") == 0))
                type = "not_found_error";
        else if (strcmp(type, "server_error") == 0)
                type = "api_error";
        buf_puts(b, "{\"type\":\"error\",\"error\":{\"type\":");
        json_append_string(b, type, strlen(type));
        buf_puts(b, ",\"message\":");
        json_append_string(b, msg, strlen(msg));
        buf_puts(b, "},\"request_id\":\"req_fake\"}");
}

/* Appends the string or object value of src[key] to *acc (a cJSON string it creates). */
static void concat_field(cJSON *dst, const char *key, const cJSON *val)
{
        cJSON *cur;
        char *joined;

        if (val == NULL || cJSON_IsNull(val))
                return;
        if (!cJSON_IsString(val)) {
                /* llama.cpp sends tool arguments as an object: keep it as JSON text */
                char *text = json_print(val);
                cJSON *s = cJSON_CreateString(text);

                free(text);
                concat_field(dst, key, s);
                cJSON_Delete(s);
                return;
        }
        cur = cJSON_GetObjectItemCaseSensitive(dst, key);
        if (cur == NULL || !cJSON_IsString(cur)) {
                json_set(dst, key, cJSON_CreateString(val->valuestring));
                return;
        }
        joined = xasprintf("%s%s", cur->valuestring, val->valuestring);
        json_set(dst, key, cJSON_CreateString(joined));
        free(joined);
}

/* Finds the accumulated call a tool_calls delta belongs to: by index, else id, else the last. */
static cJSON *openai_find_call(cJSON *calls, const cJSON *delta)
{
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(delta, "index");
        const char *id = json_get_str(delta, "id");
        cJSON *call;

        cJSON_ArrayForEach(call, calls)
        {
                const cJSON *ci = cJSON_GetObjectItemCaseSensitive(call, "__index");

                if (cJSON_IsNumber(index) && cJSON_IsNumber(ci) &&
                    ci->valuedouble == index->valuedouble)
                        return call;
                if (!cJSON_IsNumber(index) && id != NULL) {
                        const char *cid = json_get_str(call, "id");

                        if (cid != NULL && strcmp(cid, id) == 0)
                                return call;
                }
        }
        if (!cJSON_IsNumber(index) && id == NULL && cJSON_GetArraySize(calls) > 0)
                return cJSON_GetArrayItem(calls, cJSON_GetArraySize(calls) - 1);
        call = cJSON_CreateObject();
        if (cJSON_IsNumber(index))
                cJSON_AddNumberToObject(call, "__index", index->valuedouble);
        cJSON_AddItemToObject(call, "id", cJSON_CreateNull());
        cJSON_AddStringToObject(call, "type", "function");
        cJSON_AddItemToObject(call, "function", cJSON_CreateObject());
        cJSON_AddItemToArray(calls, call);
        return call;
}

static void openai_merge_tool_calls(cJSON *calls, const cJSON *deltas)
{
        const cJSON *d;

        cJSON_ArrayForEach(d, deltas)
        {
                cJSON *call = openai_find_call(calls, d);
                cJSON *fn = json_get(call, "function");
                const cJSON *dfn = json_get(d, "function");
                const char *id = json_get_str(d, "id");

                if (id != NULL)
                        json_set(call, "id", cJSON_CreateString(id));
                if (dfn == NULL)
                        continue;
                if (json_get_str(dfn, "name") != NULL)
                        json_set(fn, "name", cJSON_CreateString(json_get_str(dfn, "name")));
                concat_field(fn, "arguments", json_get(dfn, "arguments"));
        }
}

/* The data objects of the steps: "data" members, and "data:" lines inside "raw" steps. */
static cJSON *steps_data(const cJSON *steps)
{
        cJSON *out = cJSON_CreateArray();
        const cJSON *step;

        cJSON_ArrayForEach(step, steps)
        {
                const cJSON *data = json_get(step, "data");
                const char *raw = json_get_str(step, "raw");

                if (cJSON_IsObject(data))
                        cJSON_AddItemToArray(out, cJSON_Duplicate(data, true));
                for (const char *p = raw; p != NULL && *p != '\0';) {
                        size_t n = strcspn(p, "\r\n");

                        if (n > 5 && strncmp(p, "data:", 5) == 0) {
                                cJSON *obj = json_parse(p + 5, n - 5, NULL);

                                if (cJSON_IsObject(obj))
                                        cJSON_AddItemToArray(out, obj);
                                else
                                        cJSON_Delete(obj);
                        }
                        p += n;
                        p += strspn(p, "\r\n");
                }
        }
        return out;
}

static cJSON *openai_aggregate(const cJSON *steps, const char *model, char **cause)
{
        cJSON *chunks = steps_data(steps);
        cJSON *message = cJSON_CreateObject();
        cJSON *calls = cJSON_CreateArray();
        cJSON *usage = NULL, *error = NULL, *out, *choice, *call;
        const char *id = NULL, *finish = NULL, *chunk_model = NULL;
        double created = 0;
        const cJSON *chunk;

        cJSON_AddStringToObject(message, "role", "assistant");
        cJSON_ArrayForEach(chunk, chunks)
        {
                const cJSON *c0 = cJSON_GetArrayItem(json_get(chunk, "choices"), 0);
                const cJSON *delta = json_get(c0, "delta");

                if (json_get(chunk, "error") != NULL && error == NULL)
                        error = cJSON_Duplicate(chunk, true);
                if (id == NULL)
                        id = json_get_str(chunk, "id");
                if (chunk_model == NULL)
                        chunk_model = json_get_str(chunk, "model");
                if (created == 0)
                        json_get_num(chunk, "created", &created);
                if (cJSON_IsObject(json_get(chunk, "usage"))) {
                        cJSON_Delete(usage);
                        usage = cJSON_Duplicate(json_get(chunk, "usage"), true);
                }
                if (json_get_str(c0, "finish_reason") != NULL)
                        finish = json_get_str(c0, "finish_reason");
                if (delta == NULL)
                        continue;
                concat_field(message, "content", json_get(delta, "content"));
                concat_field(message, "reasoning_content", json_get(delta, "reasoning_content"));
                concat_field(message, "reasoning", json_get(delta, "reasoning"));
                if (cJSON_IsArray(json_get(delta, "tool_calls")))
                        openai_merge_tool_calls(calls, json_get(delta, "tool_calls"));
        }
        if (error != NULL) {
                cJSON_Delete(chunks);
                cJSON_Delete(message);
                cJSON_Delete(calls);
                cJSON_Delete(usage);
                *cause = json_print(error);
                cJSON_Delete(error);
                return NULL;
        }
        if (json_get(message, "content") == NULL)
                cJSON_AddItemToObject(message, "content", cJSON_CreateNull());
        cJSON_ArrayForEach(call, calls)
        {
                cJSON_DeleteItemFromObjectCaseSensitive(call, "__index");
                if (json_get_str(json_get(call, "function"), "arguments") == NULL)
                        json_set(json_get(call, "function"), "arguments", cJSON_CreateString(""));
        }
        if (cJSON_GetArraySize(calls) > 0)
                cJSON_AddItemToObject(message, "tool_calls", calls);
        else
                cJSON_Delete(calls);

        out = cJSON_CreateObject();
        cJSON_AddStringToObject(out, "id", id != NULL ? id : "chatcmpl-fake");
        cJSON_AddStringToObject(out, "object", "chat.completion");
        cJSON_AddNumberToObject(out, "created", created);
        cJSON_AddStringToObject(out, "model", chunk_model != NULL ? chunk_model : model);
        choice = cJSON_CreateObject();
        cJSON_AddNumberToObject(choice, "index", 0);
        cJSON_AddItemToObject(choice, "message", message);
        if (finish != NULL)
                cJSON_AddStringToObject(choice, "finish_reason", finish);
        else
                cJSON_AddItemToObject(choice, "finish_reason", cJSON_CreateNull());
        cJSON_AddItemToObject(out, "choices", cJSON_CreateArray());
        cJSON_AddItemToArray(json_get(out, "choices"), choice);
        if (usage != NULL)
                cJSON_AddItemToObject(out, "usage", usage);
        cJSON_Delete(chunks);
        return out;
}

static cJSON *anthropic_aggregate(const cJSON *steps, const char *model, char **cause)
{
        (void)steps;
        (void)model;
        *cause = xstrdup("fake-upstream: anthropic mode does not aggregate streams; give the "
                         "turn a \"body\" for non-streaming requests");
        return NULL;
}

static const char *const openai_paths[] = {"/chat/completions", "/v1/chat/completions", NULL};
static const char *const anthropic_paths[] = {"/v1/messages", "/messages", NULL};

static const struct dialect dialects[] = {
    {"openai", openai_paths, openai_aggregate, openai_error_body},
    {"anthropic", anthropic_paths, anthropic_aggregate, anthropic_error_body},
};

/* ---- answers ----------------------------------------------------------------------------- */

static void answer_free(struct answer *a)
{
        if (a->evcon != NULL)
                evhttp_connection_set_closecb(a->evcon, NULL, NULL);
        if (a->prev != NULL)
                a->prev->next = a->next;
        else
                a->fake->answers = a->next;
        if (a->next != NULL)
                a->next->prev = a->prev;
        event_free(a->timer);
        cJSON_Delete(a->scenario);
        free(a->path);
        free(a);
}

/* The client went away (or the server is shutting down): stop, and never touch evcon again. */
static void answer_closed(struct evhttp_connection *evcon, void *arg)
{
        struct answer *a = arg;

        (void)evcon;
        a->evcon = NULL;
        if (!a->fake->stopping && a->fake->record != NULL) {
                /* Lets tests check that the proxy aborts its upstream when its client leaves. */
                cJSON *line = cJSON_CreateObject();
                char *text;

                cJSON_AddStringToObject(line, "event", "client_closed");
                cJSON_AddStringToObject(line, "uri", a->path);
                cJSON_AddStringToObject(line, "model", json_get_str(a->scenario, "__model"));
                cJSON_AddNumberToObject(line, "steps_sent", a->next_step);
                text = json_print(line);
                fprintf(a->fake->record, "%s\n", text);
                fflush(a->fake->record);
                free(text);
                cJSON_Delete(line);
        }
        /* A request libevent detached from its connection is ours to free; others it frees. */
        if (evhttp_request_get_connection(a->req) == NULL)
                evhttp_send_reply_end(a->req);
        answer_free(a);
}

static void set_headers(struct evhttp_request *req, const cJSON *turn, const char *ctype)
{
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);
        const cJSON *h;

        evhttp_add_header(out, "Content-Type", ctype);
        cJSON_ArrayForEach(h, json_get(turn, "headers"))
        {
                char *val = cJSON_IsString(h) ? xstrdup(h->valuestring) : json_print(h);

                evhttp_remove_header(out, h->string);
                evhttp_add_header(out, h->string, val);
                free(val);
        }
}

static int turn_status(const cJSON *turn)
{
        double st = 200;

        json_get_num(turn, "status", &st);
        return st >= 100 && st <= 999 ? (int)st : 500;
}

static void answer_arm(struct answer *a, double delay_ms)
{
        struct timeval tv;

        if (delay_ms < 0)
                delay_ms = 0;
        tv.tv_sec = (long)(delay_ms / 1000);
        tv.tv_usec = (long)((delay_ms - (double)tv.tv_sec * 1000) * 1000);
        evtimer_add(a->timer, &tv);
}

/* Drops the connection once what was sent so far has left the process. */
static void answer_drop(struct answer *a)
{
        struct bufferevent *bev = evhttp_connection_get_bufferevent(a->evcon);

        a->dropping = true;
        if (bev != NULL && evbuffer_get_length(bufferevent_get_output(bev)) > 0) {
                answer_arm(a, 5);
                return;
        }
        /* evhttp_connection_free also frees the request; closecb must not run for us. */
        struct evhttp_connection *evcon = a->evcon;

        answer_free(a);
        evhttp_connection_free(evcon);
}

static void answer_send_step(struct answer *a, const cJSON *step)
{
        struct evbuffer *eb = evbuffer_new();
        const char *event = json_get_str(step, "event");
        const char *raw = json_get_str(step, "raw");
        const cJSON *data = json_get(step, "data");

        if (raw != NULL) {
                evbuffer_add(eb, raw, strlen(raw));
        } else {
                struct buf b;

                buf_init(&b);
                if (event != NULL)
                        buf_printf(&b, "event: %s\n", event);
                buf_puts(&b, "data: ");
                if (cJSON_IsString(data))
                        buf_puts(&b, data->valuestring);
                else if (data != NULL)
                        json_append(&b, data);
                buf_puts(&b, "\n\n");
                evbuffer_add(eb, b.data, b.len);
                buf_fini(&b);
        }
        evhttp_send_reply_chunk(a->req, eb);
        evbuffer_free(eb);
}

/* Timer: the delay before the step at next_step is over (or the delay before headers). */
static void answer_tick(evutil_socket_t fd, short what, void *arg)
{
        struct answer *a = arg;
        int n = a->nsteps;

        (void)fd;
        (void)what;
        if (a->dropping) {
                answer_drop(a);
                return;
        }
        if (!a->streaming) {
                a->streaming = true;
                evhttp_send_reply_start(a->req, turn_status(a->turn), NULL);
        } else if (a->next_step < n) {
                answer_send_step(a, a->cur);
                a->cur = a->cur->next;
                a->next_step++;
        }
        if (a->disconnect_after >= 0 && a->next_step >= a->disconnect_after) {
                answer_drop(a);
                return;
        }
        if (a->next_step >= n) {
                struct evhttp_request *req = a->req;

                answer_free(a);
                evhttp_send_reply_end(req);
                return;
        }
        {
                double delay = 0;

                json_get_num(a->cur, "delay_ms", &delay);
                answer_arm(a, delay);
        }
}

/* Timer: the turn's delay_ms before a non-streaming answer (or a drop) is over. */
static void answer_reply_now(evutil_socket_t fd, short what, void *arg)
{
        struct answer *a = arg;
        struct fake *f = a->fake;
        struct evhttp_request *req = a->req;
        const cJSON *turn = a->turn;
        const cJSON *body = json_get(turn, "body");
        int status = turn_status(turn);
        struct buf b;

        (void)fd;
        (void)what;
        if (a->disconnect_after >= 0) {
                answer_drop(a);
                return;
        }
        buf_init(&b);
        if (body == NULL && cJSON_IsArray(a->steps)) {
                char *cause = NULL;
                const char *model = json_get_str(a->scenario, "__model");
                cJSON *agg = f->dialect->aggregate(a->steps, model ? model : "", &cause);

                if (agg == NULL) {
                        /* an error chunk inside the stream: answer with it as an HTTP error */
                        set_headers(req, turn, "application/json");
                        buf_puts(&b, cause);
                        free(cause);
                        answer_free(a);
                        send_json(f, req, status == 200 ? 500 : status, b.data);
                        buf_fini(&b);
                        return;
                }
                json_append(&b, agg);
                cJSON_Delete(agg);
                set_headers(req, turn, "application/json");
        } else if (cJSON_IsString(body)) {
                buf_puts(&b, body->valuestring);
                set_headers(req, turn, "text/plain");
        } else if (body != NULL) {
                json_append(&b, body);
                set_headers(req, turn, "application/json");
        } else {
                f->dialect->error_body(&b, "server_error", NULL,
                                       "fake-upstream: the scenario turn has neither \"body\" "
                                       "nor \"stream\"");
                set_headers(req, turn, "application/json");
                status = 500;
        }
        answer_free(a);
        {
                struct evbuffer *eb = evbuffer_new();

                evbuffer_add(eb, b.data, b.len);
                evhttp_send_reply(req, status, NULL, eb);
                evbuffer_free(eb);
        }
        buf_fini(&b);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void send_json(struct fake *f, struct evhttp_request *req, int status, const char *text)
{
        struct evbuffer *eb = evbuffer_new();
        struct evkeyvalq *out = evhttp_request_get_output_headers(req);

        (void)f;
        if (evhttp_find_header(out, "Content-Type") == NULL)
                evhttp_add_header(out, "Content-Type", "application/json");
        evbuffer_add(eb, text, strlen(text));
        evhttp_send_reply(req, status, NULL, eb);
        evbuffer_free(eb);
}

static void send_error(struct fake *f, struct evhttp_request *req, int status, const char *type,
                       const char *code, const char *msg)
{
        struct buf b;

        buf_init(&b);
        f->dialect->error_body(&b, type, code, msg);
        send_json(f, req, status, b.data);
        buf_fini(&b);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
        switch (cmd) {
        case EVHTTP_REQ_GET:
                return "GET";
        case EVHTTP_REQ_POST:
                return "POST";
        case EVHTTP_REQ_HEAD:
                return "HEAD";
        case EVHTTP_REQ_PUT:
                return "PUT";
        case EVHTTP_REQ_DELETE:
                return "DELETE";
        case EVHTTP_REQ_OPTIONS:
                return "OPTIONS";
        case EVHTTP_REQ_PATCH:
                return "PATCH";
        default:
                return "OTHER";
        }
}

static void record_request(struct fake *f, struct evhttp_request *req, const char *path,
                           const char *query, const char *body, size_t len)
{
        cJSON *line = cJSON_CreateObject();
        cJSON *headers = cJSON_CreateObject();
        struct evkeyval *kv;
        cJSON *parsed = json_parse(body, len, NULL);
        char *text;

        cJSON_AddStringToObject(line, "method", method_name(evhttp_request_get_command(req)));
        cJSON_AddStringToObject(line, "path", path);
        if (query != NULL)
                cJSON_AddStringToObject(line, "query", query);
        for (kv = evhttp_request_get_input_headers(req)->tqh_first; kv != NULL;
             kv = kv->next.tqe_next) {
                char *name = xstrdup(kv->key);
                const char *prev;

                for (char *p = name; *p != '\0'; p++)
                        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
                prev = json_get_str(headers, name);
                if (prev != NULL) {
                        char *joined = xasprintf("%s, %s", prev, kv->value);

                        json_set(headers, name, cJSON_CreateString(joined));
                        free(joined);
                } else {
                        json_set(headers, name, cJSON_CreateString(kv->value));
                }
                free(name);
        }
        cJSON_AddItemToObject(line, "headers", headers);
        if (parsed != NULL) {
                cJSON_AddItemToObject(line, "body", parsed);
        } else {
                char *copy = xstrndup(body, len);

                cJSON_AddStringToObject(line, "body", copy);
                free(copy);
        }
        text = json_print(line);
        fprintf(f->record, "%s\n", text);
        fflush(f->record);
        free(text);
        cJSON_Delete(line);
}

static bool is_dialect_path(const struct dialect *d, const char *path)
{
        for (const char *const *p = d->paths; *p != NULL; p++)
                if (strcmp(*p, path) == 0)
                        return true;
        return false;
}

/* Scenario names become file names: keep them to one plain path component. */
static bool valid_scenario_name(const char *s)
{
        if (s[0] == '\0' || s[0] == '.' || strlen(s) > 200)
                return false;
        for (; *s != '\0'; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

static cJSON *load_scenario(struct fake *f, const char *model, char **cause, bool *missing)
{
        char *path = xasprintf("%s/%s.json", f->scenarios, model);
        FILE *fp = fopen(path, "rb");
        struct buf b;
        char chunk[8192];
        size_t n;
        cJSON *root;

        *missing = false;
        if (fp == NULL) {
                *missing = errno == ENOENT;
                *cause = xasprintf("cannot open scenario %s: %s", path, strerror(errno));
                free(path);
                return NULL;
        }
        buf_init(&b);
        while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
                buf_append(&b, chunk, n);
        fclose(fp);
        root = json_parse(b.data != NULL ? b.data : "", b.len, cause);
        buf_fini(&b);
        if (root != NULL && !cJSON_IsArray(json_get(root, "turns"))) {
                cJSON_Delete(root);
                root = NULL;
                *cause = xstrdup("no \"turns\" array");
        }
        if (root == NULL) {
                char *why = xasprintf("bad scenario %s: %s", path, *cause);

                free(*cause);
                *cause = why;
        }
        free(path);
        return root;
}

static int count_assistant_turns(const cJSON *body)
{
        const cJSON *m;
        int n = 0;

        cJSON_ArrayForEach(m, json_get(body, "messages"))
        {
                const char *role = json_get_str(m, "role");

                if (role != NULL && strcmp(role, "assistant") == 0)
                        n++;
        }
        return n;
}

static void handle_model_request(struct fake *f, struct evhttp_request *req, const char *body,
                                 size_t len)
{
        char *cause = NULL;
        cJSON *json = json_parse(body, len, &cause);
        const char *model;
        cJSON *scenario;
        const cJSON *turn, *steps;
        struct answer *a;
        int nturns, idx;
        double delay = 0, disc = -1;
        bool missing;

        if (!cJSON_IsObject(json)) {
                char *msg = xasprintf("fake-upstream: request body is not a JSON object: %s",
                                      cause != NULL ? cause : "not an object");

                send_error(f, req, 400, "invalid_request_error", "invalid_json", msg);
                free(msg);
                free(cause);
                cJSON_Delete(json);
                return;
        }
        model = json_get_str(json, "model");
        if (model == NULL) {
                send_error(f, req, 400, "invalid_request_error", "missing_model",
                           "fake-upstream: request has no string \"model\"");
                cJSON_Delete(json);
                return;
        }
        scenario = valid_scenario_name(model) ? load_scenario(f, model, &cause, &missing) : NULL;
        if (scenario == NULL) {
                bool not_found = !valid_scenario_name(model) || missing;
                char *msg = not_found ? xasprintf("The model `%s` does not exist (fake-upstream "
                                                  "has no scenario %s/%s.json)",
                                                  model, f->scenarios, model)
                                      : xasprintf("fake-upstream: %s", cause);

                if (not_found)
                        send_error(f, req, 404, "invalid_request_error", "model_not_found", msg);
                else
                        send_error(f, req, 500, "server_error", NULL, msg);
                free(msg);
                free(cause);
                cJSON_Delete(json);
                return;
        }
        nturns = cJSON_GetArraySize(json_get(scenario, "turns"));
        if (nturns == 0) {
                send_error(f, req, 500, "server_error", NULL,
                           "fake-upstream: scenario has an empty \"turns\" list");
                cJSON_Delete(scenario);
                cJSON_Delete(json);
                return;
        }
        idx = count_assistant_turns(json);
        if (idx >= nturns)
                idx = nturns - 1;
        turn = cJSON_GetArrayItem(json_get(scenario, "turns"), idx);
        steps = json_get(turn, "stream");
        json_get_num(turn, "delay_ms", &delay);
        json_get_num(turn, "disconnect_after", &disc);
        cJSON_AddStringToObject(scenario, "__model", model);

        a = xcalloc(1, sizeof *a);
        a->fake = f;
        a->req = req;
        a->evcon = evhttp_request_get_connection(req);
        a->path = xstrdup(evhttp_request_get_uri(req));
        a->scenario = scenario;
        a->turn = turn;
        a->steps = cJSON_IsArray(steps) ? steps : NULL;
        a->nsteps = cJSON_GetArraySize(a->steps);
        a->cur = a->steps != NULL ? a->steps->child : NULL;
        a->disconnect_after = disc >= 0 ? (int)disc : -1;
        a->next = f->answers;
        if (f->answers != NULL)
                f->answers->prev = a;
        f->answers = a;
        evhttp_connection_set_closecb(a->evcon, answer_closed, a);
        if (json_get_bool(json, "stream", false) && a->steps != NULL) {
                set_headers(req, turn, "text/event-stream");
                evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
                                  "no-cache");
                a->timer = evtimer_new(f->base, answer_tick, a);
        } else {
                a->timer = evtimer_new(f->base, answer_reply_now, a);
        }
        answer_arm(a, delay);
        cJSON_Delete(json);
}

static void handle_request(struct evhttp_request *req, void *arg)
{
        struct fake *f = arg;
        const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
        const char *path = evhttp_uri_get_path(uri);
        const char *query = evhttp_uri_get_query(uri);
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(in);
        char *body = xmalloc(len + 1);

        if (path == NULL || path[0] == '\0')
                path = "/";
        evbuffer_copyout(in, body, len);
        body[len] = '\0';
        if (f->record != NULL)
                record_request(f, req, path, query, body, len);

        if (strcmp(path, "/health") == 0 && cmd == EVHTTP_REQ_GET)
                send_json(f, req, 200, "{\"status\":\"ok\"}");
        else if (cmd == EVHTTP_REQ_POST && is_dialect_path(f->dialect, path))
                handle_model_request(f, req, body, len);
        else {
                char *msg = xasprintf("fake-upstream (%s mode): no route for %s %s",
                                      f->dialect->name, method_name(cmd), path);

                send_error(f, req, 404, "invalid_request_error", "unknown_url", msg);
                free(msg);
        }
        free(body);
}

/* ---- main -------------------------------------------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        (void)sig;
        (void)what;
        event_base_loopbreak(arg);
}

static void usage(FILE *out)
{
        fprintf(out, "usage: fake-upstream --port N --scenarios DIR [--record FILE] "
                     "[--mode openai|anthropic]\n");
}

int main(int argc, char **argv)
{
        struct fake f = {0};
        const char *record = NULL, *mode = "openai";
        long port = -1;
        struct evhttp_bound_socket *sock;
        struct sockaddr_in addr;
        socklen_t alen = sizeof addr;
        struct event *sigint, *sigterm;

        for (int i = 1; i < argc; i++) {
                const char *opt = argv[i];
                const char *val = i + 1 < argc ? argv[i + 1] : NULL;

                if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (val == NULL) {
                        usage(stderr);
                        return 2;
                }
                i++;
                if (strcmp(opt, "--port") == 0) {
                        char *end;

                        port = strtol(val, &end, 10);
                        if (*end != '\0' || port < 0 || port > 65535) {
                                fprintf(stderr, "fake-upstream: bad --port %s\n", val);
                                return 2;
                        }
                } else if (strcmp(opt, "--scenarios") == 0) {
                        f.scenarios = val;
                } else if (strcmp(opt, "--record") == 0) {
                        record = val;
                } else if (strcmp(opt, "--mode") == 0) {
                        mode = val;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (port < 0 || f.scenarios == NULL) {
                usage(stderr);
                return 2;
        }
        for (size_t i = 0; i < sizeof dialects / sizeof dialects[0]; i++)
                if (strcmp(dialects[i].name, mode) == 0)
                        f.dialect = &dialects[i];
        if (f.dialect == NULL) {
                fprintf(stderr, "fake-upstream: unknown --mode %s (openai or anthropic)\n", mode);
                return 2;
        }
        if (record != NULL && (f.record = fopen(record, "a")) == NULL) {
                fprintf(stderr, "fake-upstream: cannot open %s: %s\n", record, strerror(errno));
                return 1;
        }

        alloc_init_cjson();
        signal(SIGPIPE, SIG_IGN);
        f.base = event_base_new();
        f.http = evhttp_new(f.base);
        evhttp_set_allowed_methods(f.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                               EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                               EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
        evhttp_set_max_body_size(f.http, 256 * 1024 * 1024);
        evhttp_set_gencb(f.http, handle_request, &f);
        sock = evhttp_bind_socket_with_handle(f.http, "127.0.0.1", (unsigned short)port);
        if (sock == NULL ||
            getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&addr, &alen) != 0) {
                fprintf(stderr, "fake-upstream: cannot listen on 127.0.0.1:%ld\n", port);
                return 1;
        }
        /*
         * Accepted sockets inherit TCP_NODELAY from the listener (Linux). Real providers stream
         * without Nagle; with it, a reused connection holds each answer's last small write until
         * the peer's delayed ACK (40 ms), which is what the tests and benchmarks would see.
         */
        {
                int one = 1;

                setsockopt(evhttp_bound_socket_get_fd(sock), IPPROTO_TCP, TCP_NODELAY, &one,
                           sizeof one);
        }
        sigint = evsignal_new(f.base, SIGINT, on_signal, f.base);
        sigterm = evsignal_new(f.base, SIGTERM, on_signal, f.base);
        evsignal_add(sigint, NULL);
        evsignal_add(sigterm, NULL);
        printf("listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
        fflush(stdout);

        event_base_dispatch(f.base);

        f.stopping = true;
        evhttp_free(f.http); /* close callbacks free the answers still attached */
        while (f.answers != NULL)
                answer_free(f.answers);
        event_free(sigint);
        event_free(sigterm);
        event_base_free(f.base);
        if (f.record != NULL)
                fclose(f.record);
        return 0;
}
