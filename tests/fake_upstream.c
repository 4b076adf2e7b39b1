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
 * --record FILE appends one JSON line per request ({"method","path","query","headers","body",
 * "body_b64"}: every header, the body parsed and as exact bytes in base64) and flushes it before
 * answering, so a test can check what the proxy sent upstream; a client that goes away before its
 * answer is complete adds {"event":"client_closed","uri","model","steps_sent"}.
 *
 * The wire dialect is a table entry: routes, validation, turn preparation, aggregation, error
 * shape. Both dialects refuse what the real API refuses, so a test passes only if the proxy sends
 * what a real upstream would accept:
 *   openai     POST /v1/chat/completions. An assistant message with tool_calls must be followed
 *              by one tool message per call id (any order) before anything else; a tool message
 *              must answer a call of that assistant message; call ids must be non-empty.
 *              → 400 {"error":{"message","type","param","code"}}.
 *   anthropic  POST /v1/messages and /v1/messages/count_tokens. x-api-key (or Authorization:
 *              Bearer) → else 401 authentication_error; anthropic-version required; thinking
 *              blocks must carry the signature this fake issued for their exact text ("fakesig1."
 *              + sha256 hex: empty, missing, foreign or edited ones are refused); tool_use ids
 *              match ^[a-zA-Z0-9_-]+$; every tool_use is answered by a tool_result in the next
 *              message and every tool_result answers the previous message's tool_use; text blocks
 *              are non-empty; count_tokens takes no max_tokens/stream. → 400/401 Anthropic error
 *              JSON with Anthropic's wording. role "system" messages (Claude Code) are skipped.
 *              A turn may be written as the finished message, {"message":{"content":[...],
 *              "stop_reason"?, "usage"?}, "step_delay_ms"?}, and is streamed as a real server
 *              would (each text, thinking and tool input in two deltas). Thinking blocks are
 *              signed by the fake: a signature_delta is sent before the block's stop unless the
 *              scenario sends one itself. count_tokens answers {"input_tokens": body length / 4},
 *              or the scenario's "count_tokens" object ({"status":404,"body":...}) as written.
 *
 * Everything runs on one libevent loop: delays are timers, never sleeps.
 */
#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "sha256.h"

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
#include <stdarg.h>
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

static int reject(struct rejection *rej, int status, const char *type, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int reject(struct rejection *rej, int status, const char *type, const char *code,
                  const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        rej->status = status;
        rej->type = type;
        rej->code = code;
        rej->msg = buf_detach(&b);
        return -1;
}

/* ", "-joined strings of a cJSON array, for error messages; the caller frees. */
static char *join_ids(const cJSON *ids)
{
        struct buf b;
        const cJSON *id;

        buf_init(&b);
        cJSON_ArrayForEach(id, ids)
        {
                if (b.len > 0)
                        buf_puts(&b, ", ");
                buf_puts(&b, cJSON_IsString(id) ? id->valuestring : "?");
        }
        return buf_detach(&b);
}

static int find_id(const cJSON *ids, const char *id)
{
        const cJSON *it;
        int i = 0;

        cJSON_ArrayForEach(it, ids)
        {
                if (cJSON_IsString(it) && id != NULL && strcmp(it->valuestring, id) == 0)
                        return i;
                i++;
        }
        return -1;
}

static void remove_id(cJSON *ids, const char *id)
{
        int i = find_id(ids, id);

        if (i >= 0)
                cJSON_DeleteItemFromArray(ids, i);
}

/*
 * OpenAI's pairing rules: an assistant message with tool_calls is followed by one tool message
 * per call id (any order) before anything else, and a tool message answers a call of the
 * assistant message before it. Messages and the quirky spelling are OpenAI's own.
 */
static int openai_validate(struct evhttp_request *req, const cJSON *body, bool counting,
                           struct rejection *rej)
{
        const cJSON *msgs = json_get(body, "messages"), *m;
        cJSON *calls = NULL, *pending = cJSON_CreateArray();
        int i = 0, asst = -1, rc = 0;

        (void)req;
        (void)counting;
        if (!cJSON_IsArray(msgs)) {
                cJSON_Delete(pending);
                return reject(rej, 400, "invalid_request_error", "missing_required_parameter",
                              "Missing required parameter: 'messages'.");
        }
        cJSON_ArrayForEach(m, msgs)
        {
                const char *role = json_get_str(m, "role");
                const cJSON *tc = json_get(m, "tool_calls");

                if (role != NULL && strcmp(role, "tool") == 0) {
                        const char *id = json_get_str(m, "tool_call_id");

                        if (calls == NULL || find_id(calls, id) < 0) {
                                rc = reject(rej, 400, "invalid_request_error", NULL,
                                            "Invalid parameter: messages with role 'tool' must "
                                            "be a response to a preceeding message with "
                                            "'tool_calls'. (messages.[%d], tool_call_id %s)",
                                            i, id != NULL ? id : "(none)");
                                break;
                        }
                        remove_id(pending, id);
                        i++;
                        continue;
                }
                if (cJSON_GetArraySize(pending) > 0) {
                        char *ids = join_ids(pending);

                        rc = reject(rej, 400, "invalid_request_error", NULL,
                                    "An assistant message with 'tool_calls' must be followed by "
                                    "tool messages responding to each 'tool_call_id'. The "
                                    "following tool_call_ids did not have response messages: %s "
                                    "(messages.[%d])",
                                    ids, asst);
                        free(ids);
                        break;
                }
                cJSON_Delete(calls);
                calls = NULL;
                if (role != NULL && strcmp(role, "assistant") == 0 && cJSON_IsArray(tc) &&
                    cJSON_GetArraySize(tc) > 0) {
                        const cJSON *call;
                        int j = 0;

                        calls = cJSON_CreateArray();
                        asst = i;
                        cJSON_ArrayForEach(call, tc)
                        {
                                const char *id = json_get_str(call, "id");

                                if (id == NULL || id[0] == '\0') {
                                        rc = reject(rej, 400, "invalid_request_error",
                                                    "empty_string",
                                                    "Invalid 'messages[%d].tool_calls[%d].id': "
                                                    "empty string. Expected a string with "
                                                    "minimum length 1, but got an empty string "
                                                    "instead.",
                                                    i, j);
                                        break;
                                }
                                cJSON_AddItemToArray(calls, cJSON_CreateString(id));
                                cJSON_AddItemToArray(pending, cJSON_CreateString(id));
                                j++;
                        }
                        if (rc != 0)
                                break;
                }
                i++;
        }
        if (rc == 0 && cJSON_GetArraySize(pending) > 0) {
                char *ids = join_ids(pending);

                rc = reject(rej, 400, "invalid_request_error", NULL,
                            "An assistant message with 'tool_calls' must be followed by tool "
                            "messages responding to each 'tool_call_id'. The following "
                            "tool_call_ids did not have response messages: %s (messages.[%d])",
                            ids, asst);
                free(ids);
        }
        cJSON_Delete(calls);
        cJSON_Delete(pending);
        return rc;
}

/*
 * Thinking signatures: the fake signs the thinking it streams and accepts only its own
 * signatures back, as Anthropic does, so history whose thinking was made elsewhere (a translated
 * model) or altered on the way is refused. A recognisable prefix, then sha256 of the text.
 */
#define FAKE_SIGNATURE_PREFIX "fakesig1."

static char *thinking_signature(const char *thinking)
{
        char hex[65];

        sha256_hex(thinking, strlen(thinking), hex);
        return xasprintf("%s%s", FAKE_SIGNATURE_PREFIX, hex);
}

static bool valid_tool_id(const char *s)
{
        if (s == NULL || s[0] == '\0')
                return false;
        for (; *s != '\0'; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                        return false;
        return true;
}

/* One content block of message i (role `role`); tool_use ids go to `uses`, results leave
 * `pending` (the previous assistant's unanswered ids) after being checked against `prev`. */
static int anthropic_check_block(const cJSON *b, int i, int j, const char *role, const cJSON *prev,
                                 cJSON *pending, cJSON *uses, struct rejection *rej)
{
        const char *type = json_get_str(b, "type");
        bool assistant = strcmp(role, "assistant") == 0;

        if (type == NULL)
                return reject(rej, 400, "invalid_request_error", NULL,
                              "messages.%d.content.%d.type: Field required", i, j);
        if (strcmp(type, "text") == 0) {
                const char *text = json_get_str(b, "text");

                if (text == NULL || text[0] == '\0')
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d: text content blocks must be "
                                      "non-empty",
                                      i, j);
        } else if (strcmp(type, "thinking") == 0) {
                const char *thinking = json_get_str(b, "thinking");
                const char *sig = json_get_str(b, "signature");
                char *want = thinking_signature(thinking != NULL ? thinking : "");
                bool ok = sig != NULL && strcmp(sig, want) == 0;

                free(want);
                if (!assistant || !ok)
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d: Invalid `signature` in "
                                      "`thinking` block",
                                      i, j);
        } else if (strcmp(type, "redacted_thinking") == 0) {
                /* the fake never issues one, so none can be genuine */
                return reject(rej, 400, "invalid_request_error", NULL,
                              "messages.%d.content.%d: Invalid `data` in `redacted_thinking` "
                              "block",
                              i, j);
        } else if (strcmp(type, "tool_use") == 0) {
                const char *id = json_get_str(b, "id");

                if (!assistant)
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d: `tool_use` blocks can only be in "
                                      "`assistant` messages",
                                      i, j);
                if (!valid_tool_id(id))
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d.tool_use.id: String should match "
                                      "pattern '^[a-zA-Z0-9_-]+$'",
                                      i, j);
                if (!cJSON_IsObject(json_get(b, "input")))
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d.tool_use.input: Input should be a "
                                      "valid dictionary",
                                      i, j);
                cJSON_AddItemToArray(uses, cJSON_CreateString(id));
        } else if (strcmp(type, "tool_result") == 0) {
                const char *id = json_get_str(b, "tool_use_id");

                if (assistant || find_id(prev, id) < 0)
                        return reject(rej, 400, "invalid_request_error", NULL,
                                      "messages.%d.content.%d: unexpected `tool_use_id` found in "
                                      "`tool_result` blocks: %s. Each `tool_result` block must "
                                      "have a corresponding `tool_use` block in the previous "
                                      "message.",
                                      i, j, id != NULL ? id : "(none)");
                remove_id(pending, id);
        }
        return 0;
}

/*
 * Anthropic's checks on a Messages (or count_tokens) request: credentials and version header,
 * required fields, and the history rules an upstream enforces (PROTOCOL.md §A): signed thinking,
 * tool id pattern, tool_use answered by tool_result in the very next message, non-empty text.
 * Claude Code's role "system" messages are accepted and skipped.
 */
static int anthropic_validate(struct evhttp_request *req, const cJSON *body, bool counting,
                              struct rejection *rej)
{
        struct evkeyvalq *h = evhttp_request_get_input_headers(req);
        const char *key = evhttp_find_header(h, "x-api-key");
        const char *auth = evhttp_find_header(h, "authorization");
        const cJSON *msgs = json_get(body, "messages"), *m;
        cJSON *prev = cJSON_CreateArray(), *pending = cJSON_CreateArray();
        int i = 0, asst = -1, n, rc = 0;
        double max_tokens;

        if ((key == NULL || key[0] == '\0') &&
            (auth == NULL || strncmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0'))
                rc = reject(rej, 401, "authentication_error", NULL, "x-api-key header is required");
        else if (evhttp_find_header(h, "anthropic-version") == NULL)
                rc = reject(rej, 400, "invalid_request_error", NULL,
                            "anthropic-version: header is required");
        else if (json_get_str(body, "model") == NULL)
                rc = reject(rej, 400, "invalid_request_error", NULL, "model: Field required");
        else if (counting && json_get(body, "max_tokens") != NULL)
                rc = reject(rej, 400, "invalid_request_error", NULL,
                            "max_tokens: Extra inputs are not permitted");
        else if (counting && json_get(body, "stream") != NULL)
                rc = reject(rej, 400, "invalid_request_error", NULL,
                            "stream: Extra inputs are not permitted");
        else if (!counting && (!json_get_num(body, "max_tokens", &max_tokens) || max_tokens < 1))
                rc = reject(rej, 400, "invalid_request_error", NULL,
                            "max_tokens: Field required (an integer >= 1)");
        else if (!cJSON_IsArray(msgs))
                rc = reject(rej, 400, "invalid_request_error", NULL, "messages: Field required");
        n = cJSON_GetArraySize(msgs);
        cJSON_ArrayForEach(m, msgs)
        {
                const char *role = json_get_str(m, "role");
                const cJSON *content = json_get(m, "content"), *b;
                cJSON *uses;
                int j = 0;

                if (rc != 0)
                        break;
                if (role != NULL && strcmp(role, "system") == 0) {
                        i++;
                        continue;
                }
                if (role == NULL || (strcmp(role, "user") != 0 && strcmp(role, "assistant") != 0)) {
                        rc = reject(rej, 400, "invalid_request_error", NULL,
                                    "messages.%d.role: Input should be 'user' or 'assistant'", i);
                        break;
                }
                if (cJSON_IsString(content) && content->valuestring[0] == '\0' &&
                    !(i == n - 1 && strcmp(role, "assistant") == 0)) {
                        rc = reject(rej, 400, "invalid_request_error", NULL,
                                    "messages.%d: all messages must have non-empty content "
                                    "except for the optional final assistant message",
                                    i);
                        break;
                }
                uses = cJSON_CreateArray();
                if (!cJSON_IsArray(content))
                        content = NULL;
                cJSON_ArrayForEach(b, content)
                {
                        rc = anthropic_check_block(b, i, j++, role, prev, pending, uses, rej);
                        if (rc != 0)
                                break;
                }
                if (rc == 0 && cJSON_GetArraySize(pending) > 0) {
                        char *ids = join_ids(pending);

                        rc = reject(rej, 400, "invalid_request_error", NULL,
                                    "messages.%d: `tool_use` ids were found without "
                                    "`tool_result` blocks immediately after: %s. Each "
                                    "`tool_use` block must have a corresponding `tool_result` "
                                    "block in the next message.",
                                    asst, ids);
                        free(ids);
                }
                cJSON_Delete(prev);
                cJSON_Delete(pending);
                prev = uses;
                pending = cJSON_Duplicate(uses, true);
                if (strcmp(role, "assistant") == 0)
                        asst = i;
                i++;
        }
        /* a final assistant message (prefill) may end with unanswered tool_use blocks */
        cJSON_Delete(prev);
        cJSON_Delete(pending);
        return rc;
}

/* Cuts s into two pieces on a UTF-8 boundary so clients have something to concatenate. */
static void add_split_deltas(cJSON *steps, int index, const char *delta_type, const char *field,
                             const char *s, double delay)
{
        size_t len = strlen(s), cut = len / 2;

        while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
                cut--;
        for (int k = 0; k < 2; k++) {
                size_t from = k == 0 ? 0 : cut, to = k == 0 ? cut : len;
                cJSON *step, *data, *delta;
                char *piece;

                if (to == from)
                        continue;
                piece = xstrndup(s + from, to - from);
                step = cJSON_CreateObject();
                data = cJSON_CreateObject();
                delta = cJSON_CreateObject();
                cJSON_AddNumberToObject(step, "delay_ms", delay);
                cJSON_AddStringToObject(step, "event", "content_block_delta");
                cJSON_AddStringToObject(data, "type", "content_block_delta");
                cJSON_AddNumberToObject(data, "index", index);
                cJSON_AddStringToObject(delta, "type", delta_type);
                cJSON_AddStringToObject(delta, field, piece);
                cJSON_AddItemToObject(data, "delta", delta);
                cJSON_AddItemToObject(step, "data", data);
                cJSON_AddItemToArray(steps, step);
                free(piece);
        }
}

static cJSON *event_data(const char *type)
{
        cJSON *data = cJSON_CreateObject();

        cJSON_AddStringToObject(data, "type", type);
        return data;
}

/* Appends {"delay_ms", "event", "data"}; takes data, made by event_data(type). */
static void add_event(cJSON *steps, const char *type, cJSON *data, double delay)
{
        cJSON *step = cJSON_CreateObject();

        cJSON_AddNumberToObject(step, "delay_ms", delay);
        cJSON_AddStringToObject(step, "event", type);
        cJSON_AddItemToObject(step, "data", data);
        cJSON_AddItemToArray(steps, step);
}

/*
 * A turn written as the finished message ({"message": {content, stop_reason, usage}}) becomes
 * the event stream a real server would send for it: text, thinking and tool input each in two
 * deltas, "step_delay_ms" before every event. Thinking needs no signature: signing adds it.
 */
static cJSON *anthropic_expand(const cJSON *msg, const char *model, double delay)
{
        cJSON *steps = cJSON_CreateArray();
        cJSON *start = event_data("message_start"), *m = cJSON_CreateObject(), *usage, *data,
              *delta;
        const cJSON *usage_in = json_get(msg, "usage"), *b;
        const char *stop = json_get_str(msg, "stop_reason");
        double in_tokens = 10, out_tokens = 5;
        bool any_tool = false;
        int index = 0;

        json_get_num(usage_in, "input_tokens", &in_tokens);
        json_get_num(usage_in, "output_tokens", &out_tokens);
        cJSON_AddStringToObject(m, "id",
                                json_get_str(msg, "id") ? json_get_str(msg, "id") : "msg_fake");
        cJSON_AddStringToObject(m, "type", "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "model", model);
        cJSON_AddItemToObject(m, "content", cJSON_CreateArray());
        cJSON_AddItemToObject(m, "stop_reason", cJSON_CreateNull());
        cJSON_AddItemToObject(m, "stop_sequence", cJSON_CreateNull());
        usage = cJSON_CreateObject();
        cJSON_AddNumberToObject(usage, "input_tokens", in_tokens);
        cJSON_AddNumberToObject(usage, "cache_creation_input_tokens", 0);
        cJSON_AddNumberToObject(usage, "cache_read_input_tokens", 0);
        cJSON_AddNumberToObject(usage, "output_tokens", 1);
        cJSON_AddItemToObject(m, "usage", usage);
        cJSON_AddItemToObject(start, "message", m);
        add_event(steps, "message_start", start, delay);

        cJSON_ArrayForEach(b, json_get(msg, "content"))
        {
                const char *type = json_get_str(b, "type");
                cJSON *block = cJSON_CreateObject();

                data = event_data("content_block_start");
                cJSON_AddNumberToObject(data, "index", index);
                if (type != NULL && strcmp(type, "text") == 0) {
                        cJSON_AddStringToObject(block, "type", "text");
                        cJSON_AddStringToObject(block, "text", "");
                } else if (type != NULL && strcmp(type, "thinking") == 0) {
                        cJSON_AddStringToObject(block, "type", "thinking");
                        cJSON_AddStringToObject(block, "thinking", "");
                        cJSON_AddStringToObject(block, "signature", "");
                } else if (type != NULL && strcmp(type, "tool_use") == 0) {
                        cJSON_AddStringToObject(block, "type", "tool_use");
                        cJSON_AddItemToObject(block, "id",
                                              cJSON_Duplicate(json_get(b, "id"), true));
                        cJSON_AddItemToObject(block, "name",
                                              cJSON_Duplicate(json_get(b, "name"), true));
                        cJSON_AddItemToObject(block, "input", cJSON_CreateObject());
                        any_tool = true;
                } else {
                        cJSON_Delete(block);
                        block = cJSON_Duplicate(b, true);
                }
                cJSON_AddItemToObject(data, "content_block", block);
                add_event(steps, "content_block_start", data, delay);
                if (type != NULL && strcmp(type, "text") == 0) {
                        add_split_deltas(steps, index, "text_delta", "text",
                                         json_get_str(b, "text") ? json_get_str(b, "text") : "",
                                         delay);
                } else if (type != NULL && strcmp(type, "thinking") == 0) {
                        const char *t = json_get_str(b, "thinking");

                        add_split_deltas(steps, index, "thinking_delta", "thinking",
                                         t != NULL ? t : "", delay);
                } else if (type != NULL && strcmp(type, "tool_use") == 0) {
                        const cJSON *input = json_get(b, "input");
                        char *json = input != NULL ? json_print(input) : xstrdup("{}");

                        add_split_deltas(steps, index, "input_json_delta", "partial_json", json,
                                         delay);
                        free(json);
                }
                data = event_data("content_block_stop");
                cJSON_AddNumberToObject(data, "index", index);
                add_event(steps, "content_block_stop", data, delay);
                index++;
        }

        data = event_data("message_delta");
        delta = cJSON_CreateObject();
        cJSON_AddStringToObject(delta, "stop_reason",
                                stop != NULL ? stop
                                : any_tool   ? "tool_use"
                                             : "end_turn");
        cJSON_AddItemToObject(delta, "stop_sequence", cJSON_CreateNull());
        cJSON_AddItemToObject(data, "delta", delta);
        usage = cJSON_CreateObject();
        cJSON_AddNumberToObject(usage, "input_tokens", in_tokens);
        cJSON_AddNumberToObject(usage, "cache_creation_input_tokens", 0);
        cJSON_AddNumberToObject(usage, "cache_read_input_tokens", 0);
        cJSON_AddNumberToObject(usage, "output_tokens", out_tokens);
        cJSON_AddItemToObject(data, "usage", usage);
        add_event(steps, "message_delta", data, delay);
        add_event(steps, "message_stop", event_data("message_stop"), delay);
        return steps;
}

/*
 * Gives every thinking block of the stream the signature_delta a real server sends just before
 * its content_block_stop, computed from the thinking text streamed for it. A block that already
 * got a signature_delta from the scenario keeps it (so a test can stream a foreign one).
 * Moves the steps into the array it returns.
 */
static cJSON *anthropic_sign(cJSON *steps)
{
        cJSON *open = cJSON_CreateObject(); /* index -> {"thinking": text, "signed": bool} */
        cJSON *out = cJSON_CreateArray(), *step;

        while ((step = cJSON_DetachItemFromArray(steps, 0)) != NULL) {
                const cJSON *data = json_get(step, "data");
                const char *type = json_get_str(data, "type");
                const cJSON *delta = json_get(data, "delta");
                double index = -1;
                char key[32];
                cJSON *st;

                cJSON_AddItemToArray(out, step);
                if (type == NULL || !json_get_num(data, "index", &index))
                        continue;
                snprintf(key, sizeof key, "%d", (int)index);
                st = json_get(open, key);
                if (strcmp(type, "content_block_start") == 0) {
                        const cJSON *cb = json_get(data, "content_block");
                        const char *t = json_get_str(cb, "thinking");

                        cJSON_DeleteItemFromObjectCaseSensitive(open, key);
                        if (strcmp(json_get_str(cb, "type") ? json_get_str(cb, "type") : "",
                                   "thinking") != 0)
                                continue;
                        st = cJSON_CreateObject();
                        cJSON_AddStringToObject(st, "thinking", t != NULL ? t : "");
                        cJSON_AddBoolToObject(st, "signed", false);
                        cJSON_AddItemToObject(open, key, st);
                } else if (st != NULL && strcmp(type, "content_block_delta") == 0) {
                        const char *dt = json_get_str(delta, "type");

                        if (dt != NULL && strcmp(dt, "thinking_delta") == 0)
                                concat_field(st, "thinking", json_get(delta, "thinking"));
                        else if (dt != NULL && strcmp(dt, "signature_delta") == 0)
                                json_set(st, "signed", cJSON_CreateTrue());
                } else if (st != NULL && strcmp(type, "content_block_stop") == 0) {
                        if (!json_get_bool(st, "signed", false)) {
                                char *sig = thinking_signature(json_get_str(st, "thinking"));
                                cJSON *d = cJSON_CreateObject(), *sd = cJSON_CreateObject();
                                cJSON *s = cJSON_CreateObject();
                                double delay = 0;

                                /* the signature goes out when the stop was due; the stop follows */
                                json_get_num(step, "delay_ms", &delay);
                                json_set(step, "delay_ms", cJSON_CreateNumber(0));
                                cJSON_AddStringToObject(sd, "type", "signature_delta");
                                cJSON_AddStringToObject(sd, "signature", sig);
                                cJSON_AddStringToObject(d, "type", "content_block_delta");
                                cJSON_AddNumberToObject(d, "index", index);
                                cJSON_AddItemToObject(d, "delta", sd);
                                cJSON_AddNumberToObject(s, "delay_ms", delay);
                                cJSON_AddStringToObject(s, "event", "content_block_delta");
                                cJSON_AddItemToObject(s, "data", d);
                                /* sent before the stop: swap it in ahead of the stop */
                                cJSON_DetachItemViaPointer(out, step);
                                cJSON_AddItemToArray(out, s);
                                cJSON_AddItemToArray(out, step);
                                free(sig);
                        }
                        cJSON_DeleteItemFromObjectCaseSensitive(open, key);
                }
        }
        cJSON_Delete(open);
        return out;
}

static void anthropic_prepare(cJSON *turn, const char *model)
{
        const cJSON *msg = json_get(turn, "message");

        if (cJSON_IsObject(msg) && json_get(turn, "stream") == NULL) {
                double delay = 0;

                json_get_num(turn, "step_delay_ms", &delay);
                json_set(turn, "stream", anthropic_expand(msg, model, delay));
        }
        if (cJSON_IsArray(json_get(turn, "stream")))
                json_set(turn, "stream", anthropic_sign(json_get(turn, "stream")));
}

/* The Message a non-streaming request gets: the stream's events applied in order. */
static cJSON *anthropic_aggregate(const cJSON *steps, const char *model, char **cause)
{
        cJSON *events = steps_data(steps);
        cJSON *partial = cJSON_CreateObject(); /* index -> concatenated partial_json */
        cJSON *msg = NULL, *content;
        const cJSON *ev;

        cJSON_ArrayForEach(ev, events)
        {
                const char *type = json_get_str(ev, "type");
                double index = -1;
                cJSON *block;
                char key[32];

                if (type == NULL)
                        continue;
                if (strcmp(type, "error") == 0) {
                        *cause = json_print(ev);
                        cJSON_Delete(msg);
                        msg = NULL;
                        break;
                }
                if (strcmp(type, "message_start") == 0) {
                        cJSON_Delete(msg);
                        msg = cJSON_Duplicate(json_get(ev, "message"), true);
                        if (!cJSON_IsObject(msg)) {
                                cJSON_Delete(msg);
                                msg = cJSON_CreateObject();
                        }
                        if (!cJSON_IsArray(json_get(msg, "content")))
                                json_set(msg, "content", cJSON_CreateArray());
                        continue;
                }
                if (msg == NULL)
                        continue;
                content = json_get(msg, "content");
                json_get_num(ev, "index", &index);
                snprintf(key, sizeof key, "%d", (int)index);
                block = cJSON_GetArrayItem(content, (int)index);
                if (strcmp(type, "content_block_start") == 0) {
                        cJSON_AddItemToArray(content,
                                             cJSON_Duplicate(json_get(ev, "content_block"), true));
                } else if (strcmp(type, "content_block_delta") == 0 && block != NULL) {
                        const cJSON *d = json_get(ev, "delta");
                        const char *dt = json_get_str(d, "type");

                        if (dt == NULL)
                                continue;
                        if (strcmp(dt, "text_delta") == 0)
                                concat_field(block, "text", json_get(d, "text"));
                        else if (strcmp(dt, "thinking_delta") == 0)
                                concat_field(block, "thinking", json_get(d, "thinking"));
                        else if (strcmp(dt, "signature_delta") == 0)
                                json_set(block, "signature",
                                         cJSON_Duplicate(json_get(d, "signature"), true));
                        else if (strcmp(dt, "input_json_delta") == 0)
                                concat_field(partial, key, json_get(d, "partial_json"));
                } else if (strcmp(type, "content_block_stop") == 0 && block != NULL) {
                        const char *js = json_get_str(partial, key);

                        if (js != NULL && js[0] != '\0') {
                                cJSON *input = json_parse(js, strlen(js), NULL);

                                json_set(block, "input",
                                         input != NULL ? input : cJSON_CreateObject());
                        }
                } else if (strcmp(type, "message_delta") == 0) {
                        const cJSON *d = json_get(ev, "delta"), *it;

                        cJSON_ArrayForEach(it, d)
                            json_set(msg, it->string, cJSON_Duplicate(it, true));
                        if (cJSON_IsObject(json_get(ev, "usage"))) {
                                if (!cJSON_IsObject(json_get(msg, "usage")))
                                        json_set(msg, "usage", cJSON_CreateObject());
                                json_merge(json_get(msg, "usage"), json_get(ev, "usage"));
                        }
                }
        }
        if (msg == NULL && *cause == NULL)
                *cause = xasprintf("{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                                   "\"message\":\"fake-upstream: the %s stream has no "
                                   "message_start\"}}",
                                   model);
        cJSON_Delete(partial);
        cJSON_Delete(events);
        return msg;
}

static const char *const openai_paths[] = {"/chat/completions", "/v1/chat/completions", NULL};
static const char *const anthropic_paths[] = {"/v1/messages", "/messages", NULL};
static const char *const anthropic_count_paths[] = {"/v1/messages/count_tokens",
                                                    "/messages/count_tokens", NULL};

static const struct dialect dialects[] = {
    {"openai", openai_paths, NULL, openai_validate, NULL, openai_aggregate, openai_error_body},
    {"anthropic", anthropic_paths, anthropic_count_paths, anthropic_validate, anthropic_prepare,
     anthropic_aggregate, anthropic_error_body},
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

static void base64_append(struct buf *b, const unsigned char *p, size_t n)
{
        static const char tab[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        for (size_t i = 0; i < n; i += 3) {
                unsigned v = (unsigned)p[i] << 16;

                if (i + 1 < n)
                        v |= (unsigned)p[i + 1] << 8;
                if (i + 2 < n)
                        v |= p[i + 2];
                buf_putc(b, tab[(v >> 18) & 63]);
                buf_putc(b, tab[(v >> 12) & 63]);
                buf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
                buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
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
        {
                /* the exact bytes, for tests that compare bodies byte for byte */
                struct buf raw;

                buf_init(&raw);
                base64_append(&raw, (const unsigned char *)body, len);
                cJSON_AddStringToObject(line, "body_b64", buf_str(&raw));
                buf_fini(&raw);
        }
        text = json_print(line);
        fprintf(f->record, "%s\n", text);
        fflush(f->record);
        free(text);
        cJSON_Delete(line);
}

static bool is_route(const char *const *paths, const char *path)
{
        for (const char *const *p = paths; p != NULL && *p != NULL; p++)
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

/*
 * count_tokens: the scenario's "count_tokens" object answers as written ({"status":404,...} to
 * test a client's fallback); otherwise a deterministic count, a quarter of the body's length.
 */
static void answer_count(struct fake *f, struct evhttp_request *req, const cJSON *scenario,
                         size_t len)
{
        const cJSON *ct = json_get(scenario, "count_tokens");
        char *text;

        if (cJSON_IsObject(ct)) {
                const cJSON *body = json_get(ct, "body");

                set_headers(req, ct, "application/json");
                text = cJSON_IsString(body) ? xstrdup(body->valuestring)
                       : body != NULL       ? json_print(body)
                                            : xstrdup("{}");
                send_json(f, req, turn_status(ct), text);
        } else {
                text = xasprintf("{\"input_tokens\":%zu}", len / 4 > 0 ? len / 4 : 1);
                send_json(f, req, 200, text);
        }
        free(text);
}

static void handle_model_request(struct fake *f, struct evhttp_request *req, const char *body,
                                 size_t len, bool counting)
{
        char *cause = NULL;
        cJSON *json = json_parse(body, len, &cause);
        const char *model;
        cJSON *scenario, *turn;
        const cJSON *steps;
        struct answer *a;
        struct rejection rej = {0};
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
        if (f->dialect->validate(req, json, counting, &rej) != 0) {
                send_error(f, req, rej.status, rej.type, rej.code, rej.msg);
                free(rej.msg);
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
        if (counting) {
                answer_count(f, req, scenario, len);
                cJSON_Delete(scenario);
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
        if (f->dialect->prepare != NULL)
                f->dialect->prepare(turn, model);
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
        else if (cmd == EVHTTP_REQ_POST && is_route(f->dialect->paths, path))
                handle_model_request(f, req, body, len, false);
        else if (cmd == EVHTTP_REQ_POST && is_route(f->dialect->count_paths, path))
                handle_model_request(f, req, body, len, true);
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
