/*
 * xlate_response: a whole OpenAI chat.completion becomes an Anthropic message (PROTOCOL.md §F.2).
 *
 * The answer is built as a cJSON tree: it is produced once per request, so clarity wins over
 * speed here (the stream translator is the hot path). The pieces both translators need to agree
 * on live here too: the stop-reason table, the usage mapping, and the repair of tool-call
 * arguments, which upstreams send as anything from "" to two concatenated objects.
 */
#include "xlate_response.h"

#include "alloc.h"
#include "buf.h"
#include "ids.h"
#include "json.h"
#include "jscan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * One past the brace that closes the object or array opened at s[0], or 0 when it never closes.
 * Braces inside strings do not count.
 */
static size_t value_end(const char *s, size_t n)
{
        int depth = 0;
        int in_str = 0;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (in_str) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_str = 0;
                        continue;
                }
                if (c == '"') {
                        in_str = 1;
                } else if (c == '{' || c == '[') {
                        depth++;
                } else if (c == '}' || c == ']') {
                        if (--depth == 0)
                                return i + 1;
                }
        }
        return 0;
}

static int is_empty_object(const char *s, size_t n)
{
        size_t i = 1;

        if (n < 2 || s[0] != '{' || s[n - 1] != '}')
                return 0;
        while (i < n - 1 && is_ws(s[i]))
                i++;
        return i == n - 1;
}

static int parses_as_object(const char *s, size_t n)
{
        cJSON *v = json_parse(s, n, NULL);
        int ok = cJSON_IsObject(v);

        cJSON_Delete(v);
        return ok;
}

static char *tool_args(const char *s, size_t n, int unwrap)
{
        for (;;) {
                size_t end;

                while (n > 0 && is_ws(s[0])) {
                        s++;
                        n--;
                }
                while (n > 0 && is_ws(s[n - 1]))
                        n--;
                if (n == 0)
                        return NULL;
                if (s[0] == '"' && unwrap) {
                        /* Arguments encoded twice: a JSON string holding the object. */
                        cJSON *v = json_parse(s, n, NULL);
                        char *r = NULL;

                        if (cJSON_IsString(v))
                                r = tool_args(v->valuestring, strlen(v->valuestring), 0);
                        cJSON_Delete(v);
                        return r;
                }
                if (s[0] != '{') {
                        const char *brace = memchr(s, '{', n);

                        if (brace == NULL)
                                return NULL;
                        n -= (size_t)(brace - s);
                        s = brace;
                }
                end = value_end(s, n);
                if (end == 0)
                        return NULL;
                if (end < n && is_empty_object(s, end)) {
                        /* "{}" sent first, then the real arguments. */
                        s += end;
                        n -= end;
                        continue;
                }
                return parses_as_object(s, end) ? xstrndup(s, end) : NULL;
        }
}

char *xlate_response_tool_args(const char *args, size_t n)
{
        return tool_args(args, n, 1);
}

static int requested_stop(const cJSON *matched, const cJSON *stop_sequences)
{
        const cJSON *it;

        if (!cJSON_IsString(matched) || !cJSON_IsArray(stop_sequences))
                return 0;
        cJSON_ArrayForEach(it, stop_sequences)
        {
                if (cJSON_IsString(it) && strcmp(it->valuestring, matched->valuestring) == 0)
                        return 1;
        }
        return 0;
}

const char *xlate_response_stop_reason(const char *finish_reason, bool any_tool,
                                       const cJSON *matched, const cJSON *stop_sequences,
                                       bool content_filter_end_turn, const char **stop_sequence)
{
        const char *f = finish_reason != NULL ? finish_reason : "";

        if (stop_sequence != NULL)
                *stop_sequence = NULL;
        if (strcmp(f, "length") == 0 || strcmp(f, "max_tokens") == 0)
                return "max_tokens";
        /* Gemini ends tool turns with "stop"; a tool_use block is what the client acts on. */
        if (any_tool)
                return "tool_use";
        if (strcmp(f, "stop") == 0 && requested_stop(matched, stop_sequences)) {
                if (stop_sequence != NULL)
                        *stop_sequence = matched->valuestring;
                return "stop_sequence";
        }
        if (strcmp(f, "content_filter") == 0)
                return content_filter_end_turn ? "end_turn" : "refusal";
        /*
         * tool_calls without a usable call (all were nameless) is an ordinary end: a tool_use
         * stop with no tool_use block would leave an agent waiting for a call that never came.
         */
        return "end_turn";
}

/*
 * The OpenAI usage members the mapping reads, wherever they were read from (a cJSON tree, or
 * jscan spans on the fast path): -1 for a member that is missing, not a number or negative.
 */
enum { U_PROMPT, U_COMPLETION, U_INPUT, U_OUTPUT, U_HIT, U_CACHED, U_COUNT };
enum { D_CACHED, D_WRITE, D_COUNT };
static const char *const usage_keys[U_COUNT] = {
    "prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
    /* DeepSeek's, and Moonshot's (Kimi) beside prompt_tokens */
    "prompt_cache_hit_tokens", "cached_tokens"};
static const char *const details_keys[D_COUNT] = {"cached_tokens", "cache_write_tokens"};

struct usage_members {
        long top[U_COUNT];
        long details[D_COUNT]; /* prompt_tokens_details */
};

static long first_of(long a, long b)
{
        return a >= 0 ? a : b >= 0 ? b : 0;
}

static void usage_from_members(const struct usage_members *m, struct usage *u)
{
        long prompt = first_of(m->top[U_PROMPT], m->top[U_INPUT]);
        long read = m->details[D_CACHED] > 0 ? m->details[D_CACHED] : 0;
        long write = m->details[D_WRITE] > 0 ? m->details[D_WRITE] : 0;

        if (read == 0)
                read = m->top[U_HIT] > 0 ? m->top[U_HIT] : 0;
        if (read == 0)
                read = m->top[U_CACHED] > 0 ? m->top[U_CACHED] : 0;
        u->cache_read = read;
        u->cache_write = write;
        u->input = prompt - read - write > 0 ? prompt - read - write : 0;
        u->output = first_of(m->top[U_COMPLETION], m->top[U_OUTPUT]);
}

static long member_or_none(const cJSON *obj, const char *key)
{
        long v;

        return json_get_long(obj, key, &v) && v >= 0 ? v : -1;
}

bool xlate_response_usage(const cJSON *openai_usage, struct usage *u)
{
        const cJSON *details;
        struct usage_members m;

        if (!cJSON_IsObject(openai_usage))
                return false;
        if (json_get(openai_usage, "prompt_tokens") == NULL &&
            json_get(openai_usage, "completion_tokens") == NULL &&
            json_get(openai_usage, "input_tokens") == NULL)
                return false;
        details = json_get(openai_usage, "prompt_tokens_details");
        for (int i = 0; i < U_COUNT; i++)
                m.top[i] = member_or_none(openai_usage, usage_keys[i]);
        for (int i = 0; i < D_COUNT; i++)
                m.details[i] = member_or_none(details, details_keys[i]);
        usage_from_members(&m, u);
        return true;
}

/* content is a string, or (some servers) an array of text parts. */
static void collect_text(const cJSON *content, struct buf *out)
{
        const cJSON *it;

        if (cJSON_IsString(content)) {
                buf_puts(out, content->valuestring);
                return;
        }
        cJSON_ArrayForEach(it, (cJSON_IsArray(content) ? content : NULL))
        {
                const char *t = json_get_str(it, "text");
                if (t != NULL)
                        buf_puts(out, t);
        }
}

/* Reasoning text in priority order, and the last signature reasoning_details carried. */
static void collect_reasoning(const cJSON *msg, struct buf *text, const char **signature)
{
        const char *r = json_get_str(msg, "reasoning_content");
        const cJSON *details = json_get(msg, "reasoning_details");
        const cJSON *it;
        int from_details = 0;

        if (r == NULL || r[0] == '\0')
                r = json_get_str(msg, "reasoning");
        if (r != NULL && r[0] != '\0')
                buf_puts(text, r);
        else
                from_details = 1;
        *signature = NULL;
        cJSON_ArrayForEach(it, (cJSON_IsArray(details) ? details : NULL))
        {
                const char *t = json_get_str(it, "text");
                const char *sig = json_get_str(it, "signature");

                if (from_details && t != NULL)
                        buf_puts(text, t);
                if (sig != NULL && sig[0] != '\0')
                        *signature = sig;
        }
}

static cJSON *tool_input(const cJSON *args)
{
        cJSON *input = NULL;

        if (cJSON_IsObject(args))
                return cJSON_Duplicate(args, true);
        if (cJSON_IsString(args)) {
                char *norm = xlate_response_tool_args(args->valuestring, strlen(args->valuestring));
                if (norm != NULL)
                        input = json_parse(norm, strlen(norm), NULL);
                free(norm);
        }
        return input != NULL ? input : cJSON_CreateObject();
}

/* Adds one tool_use block; false when the call has no name and cannot be used. */
static bool add_tool_use(cJSON *content, const char *id, const cJSON *fn,
                         const struct xlate_reply_opts *opts, uint64_t *rng, size_t *out_bytes)
{
        const char *name = json_get_str(fn, "name");
        char tid[128];
        cJSON *block, *input;
        char *printed;

        if (name == NULL || name[0] == '\0')
                return false;
        if (opts->names != NULL)
                name = toolmap_client(opts->names, name);
        ids_client_tool(id != NULL ? id : "", tid, sizeof tid, rng);
        input = tool_input(json_get(fn, "arguments"));
        printed = json_print(input);
        *out_bytes += strlen(printed);
        free(printed);
        block = cJSON_CreateObject();
        cJSON_AddStringToObject(block, "type", "tool_use");
        cJSON_AddStringToObject(block, "id", tid);
        cJSON_AddStringToObject(block, "name", name);
        cJSON_AddItemToObject(block, "input", input);
        cJSON_AddItemToArray(content, block);
        return true;
}

static cJSON *usage_json(const struct usage *u)
{
        cJSON *j = cJSON_CreateObject();

        cJSON_AddNumberToObject(j, "input_tokens", (double)u->input);
        cJSON_AddNumberToObject(j, "output_tokens", (double)u->output);
        cJSON_AddNumberToObject(j, "cache_creation_input_tokens", (double)u->cache_write);
        cJSON_AddNumberToObject(j, "cache_read_input_tokens", (double)u->cache_read);
        return j;
}

static char *upstream_error_cause(const cJSON *err)
{
        const char *m = json_get_str(err, "message");
        char *printed, *cause;

        if (cJSON_IsString(err))
                m = err->valuestring;
        if (m != NULL)
                return xasprintf("the upstream answered with an error: %s", m);
        printed = json_print(err);
        cause = xasprintf("the upstream answered with an error: %s", printed);
        free(printed);
        return cause;
}

cJSON *xlate_response(const cJSON *completion, const struct xlate_reply_opts *opts,
                      struct xlate_result *res, char **cause)
{
        uint64_t rng = opts->seed;
        const cJSON *choices, *choice, *msg, *calls, *it;
        const char *finish, *signature, *stop_seq;
        struct buf thinking, text;
        size_t out_bytes = 0;
        cJSON *answer, *content, *block;
        char id[64];
        int tools = 0;

        memset(res, 0, sizeof *res);
        if (!cJSON_IsObject(completion)) {
                *cause = xstrdup("the upstream answer is not a JSON object");
                return NULL;
        }
        if (json_get(completion, "error") != NULL && !cJSON_IsNull(json_get(completion, "error"))) {
                *cause = upstream_error_cause(json_get(completion, "error"));
                return NULL;
        }
        choices = json_get(completion, "choices");
        choice = cJSON_IsArray(choices) ? cJSON_GetArrayItem(choices, 0) : NULL;
        if (!cJSON_IsObject(choice)) {
                *cause = xstrdup("the upstream answer has no choices");
                return NULL;
        }
        msg = json_get(choice, "message");
        finish = json_get_str(choice, "finish_reason");
        ids_random(id, sizeof id, "msg_", &rng);

        content = cJSON_CreateArray();
        buf_init(&thinking);
        buf_init(&text);
        collect_reasoning(msg, &thinking, &signature);
        if (thinking.len > 0) {
                block = cJSON_CreateObject();
                cJSON_AddStringToObject(block, "type", "thinking");
                cJSON_AddStringToObject(block, "thinking", buf_str(&thinking));
                cJSON_AddStringToObject(block, "signature", signature != NULL ? signature : "");
                cJSON_AddItemToArray(content, block);
        }
        collect_text(json_get(msg, "content"), &text);
        if (text.len == 0)
                collect_text(json_get(msg, "refusal"), &text);
        if (text.len > 0) {
                block = cJSON_CreateObject();
                cJSON_AddStringToObject(block, "type", "text");
                cJSON_AddStringToObject(block, "text", buf_str(&text));
                cJSON_AddItemToArray(content, block);
        }
        out_bytes += thinking.len + text.len;
        buf_fini(&thinking);
        buf_fini(&text);

        calls = json_get(msg, "tool_calls");
        cJSON_ArrayForEach(it, (cJSON_IsArray(calls) ? calls : NULL))
        {
                if (add_tool_use(content, json_get_str(it, "id"), json_get(it, "function"), opts,
                                 &rng, &out_bytes))
                        tools++;
        }
        if (tools == 0 && cJSON_IsObject(json_get(msg, "function_call")) &&
            add_tool_use(content, NULL, json_get(msg, "function_call"), opts, &rng, &out_bytes))
                tools++;

        res->tool_calls = tools;
        snprintf(res->stop_reason, sizeof res->stop_reason, "%s",
                 xlate_response_stop_reason(finish, tools > 0, json_get(choice, "stop_reason"),
                                            opts->stop_sequences, opts->content_filter_end_turn,
                                            &stop_seq));
        if (!xlate_response_usage(json_get(completion, "usage"), &res->usage)) {
                res->usage_estimated = true;
                res->usage.input = opts->input_estimate;
                res->usage.output = out_bytes / 4 > 0 ? (long)(out_bytes / 4) : 1;
        }

        answer = cJSON_CreateObject();
        cJSON_AddStringToObject(answer, "id", id);
        cJSON_AddStringToObject(answer, "type", "message");
        cJSON_AddStringToObject(answer, "role", "assistant");
        cJSON_AddStringToObject(answer, "model", opts->model != NULL ? opts->model : "");
        cJSON_AddItemToObject(answer, "content", content);
        cJSON_AddStringToObject(answer, "stop_reason", res->stop_reason);
        if (stop_seq != NULL)
                cJSON_AddStringToObject(answer, "stop_sequence", stop_seq);
        else
                cJSON_AddNullToObject(answer, "stop_sequence");
        cJSON_AddItemToObject(answer, "usage", usage_json(&res->usage));
        return answer;
}

/* Fast paths. */

bool xlate_response_first_choice(const char *p, size_t n, struct jscan_value *first,
                                 struct jscan_value *usage)
{
        struct jscan_value root, k, v, choices = {0}, error = {0};
        size_t pos = 0;

        *usage = (struct jscan_value){0};
        if (!jscan_parse(p, n, &root) || root.type != JSCAN_OBJECT)
                return false;
        while (jscan_member(&root, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                if ((jscan_is(&k, "choices") && !jscan_take(&choices, &v)) ||
                    (jscan_is(&k, "usage") && !jscan_take(usage, &v)) ||
                    (jscan_is(&k, "error") && !jscan_take(&error, &v)))
                        return false;
        }
        if (!jscan_absent_or_null(&error) || choices.type != JSCAN_ARRAY)
                return false;
        pos = 0;
        return jscan_element(&choices, &pos, first) && first->type == JSCAN_OBJECT;
}

/* A usage member's value as usage_members keeps it; false for a number that is not a plain
 * integer, which the fast path leaves to cJSON's reading. */
static bool plain_member(const struct jscan_value *v, long *out)
{
        *out = -1;
        if (v->type == JSCAN_NUMBER && !jscan_long(v, out))
                return false;
        if (*out < 0)
                *out = -1;
        return true;
}

/* Reads the usage members of an OpenAI usage object; false when the fast path should leave it
 * to xlate_response (a number cJSON would read differently, a duplicate). *present as in
 * xlate_response_usage: the object has one of the members that make it usable. */
static bool plain_usage(const struct jscan_value *usage, struct usage_members *m, bool *present)
{
        struct jscan_value k, v, top[U_COUNT] = {0}, det[D_COUNT] = {0}, details = {0};
        size_t pos = 0;

        while (jscan_member(usage, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                for (int i = 0; i < U_COUNT; i++)
                        if (jscan_is(&k, usage_keys[i]) && !jscan_take(&top[i], &v))
                                return false;
                if (jscan_is(&k, "prompt_tokens_details") && !jscan_take(&details, &v))
                        return false;
        }
        pos = 0;
        while (details.type == JSCAN_OBJECT && jscan_member(&details, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                for (int i = 0; i < D_COUNT; i++)
                        if (jscan_is(&k, details_keys[i]) && !jscan_take(&det[i], &v))
                                return false;
        }
        for (int i = 0; i < U_COUNT; i++)
                if (!plain_member(&top[i], &m->top[i]))
                        return false;
        for (int i = 0; i < D_COUNT; i++)
                if (!plain_member(&det[i], &m->details[i]))
                        return false;
        *present = top[U_PROMPT].type != JSCAN_NONE || top[U_COMPLETION].type != JSCAN_NONE ||
                   top[U_INPUT].type != JSCAN_NONE;
        return true;
}

/* Appends ,"key":"value". */
static void put_member(struct buf *b, const char *key, const char *v)
{
        buf_putc(b, ',');
        json_append_cstr(b, key);
        buf_putc(b, ':');
        json_append_cstr(b, v);
}

/* The members of an answer the fast path translates, as spans of its text. */
struct plain_answer {
        struct jscan_value content, refusal, rc, reasoning, finish;
        struct usage_members usage;
        bool have_usage;
};

/* Finds the members; false for an answer the fast path leaves to xlate_response. */
static bool plain_read(const char *p, size_t n, struct plain_answer *a)
{
        struct jscan_value k, v, first, usage;
        struct jscan_value msg = {0}, matched = {0}, other = {0};
        size_t pos = 0;

        memset(a, 0, sizeof *a);
        if (!xlate_response_first_choice(p, n, &first, &usage))
                return false;
        while (jscan_member(&first, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                if ((jscan_is(&k, "message") && !jscan_take(&msg, &v)) ||
                    (jscan_is(&k, "finish_reason") && !jscan_take(&a->finish, &v)) ||
                    (jscan_is(&k, "stop_reason") && !jscan_take(&matched, &v)))
                        return false;
        }
        /* A matched stop sequence (vLLM) is the full path's business. */
        if (msg.type != JSCAN_OBJECT || matched.type == JSCAN_STRING)
                return false;
        pos = 0;
        while (jscan_member(&msg, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                if ((jscan_is(&k, "content") && !jscan_take(&a->content, &v)) ||
                    (jscan_is(&k, "refusal") && !jscan_take(&a->refusal, &v)) ||
                    (jscan_is(&k, "reasoning_content") && !jscan_take(&a->rc, &v)) ||
                    (jscan_is(&k, "reasoning") && !jscan_take(&a->reasoning, &v)))
                        return false;
                /* Tool calls, reasoning signatures and content parts take the full path. */
                if ((jscan_is(&k, "tool_calls") || jscan_is(&k, "function_call") ||
                     jscan_is(&k, "reasoning_details")) &&
                    (!jscan_take(&other, &v) || v.type != JSCAN_NULL))
                        return false;
        }
        if (a->content.type == JSCAN_ARRAY || a->refusal.type == JSCAN_ARRAY)
                return false;
        return usage.type != JSCAN_OBJECT || plain_usage(&usage, &a->usage, &a->have_usage);
}

/* Writes the Anthropic message, as json_append would print xlate_response's. */
static void plain_write(const struct buf *thinking, const struct buf *text,
                        const struct xlate_reply_opts *opts, const struct xlate_result *res,
                        struct buf *out)
{
        uint64_t rng = opts->seed;
        char id[64];

        ids_random(id, sizeof id, "msg_", &rng);
        buf_puts(out, "{\"id\":");
        json_append_cstr(out, id);
        buf_puts(out, ",\"type\":\"message\",\"role\":\"assistant\"");
        put_member(out, "model", opts->model != NULL ? opts->model : "");
        buf_puts(out, ",\"content\":[");
        if (thinking->len > 0) {
                buf_puts(out, "{\"type\":\"thinking\"");
                put_member(out, "thinking", buf_str(thinking));
                buf_puts(out, ",\"signature\":\"\"}");
        }
        if (text->len > 0) {
                buf_puts(out, thinking->len > 0 ? ",{\"type\":\"text\"" : "{\"type\":\"text\"");
                put_member(out, "text", buf_str(text));
                buf_putc(out, '}');
        }
        buf_putc(out, ']');
        put_member(out, "stop_reason", res->stop_reason);
        buf_puts(out, ",\"stop_sequence\":null,\"usage\":{\"input_tokens\":");
        buf_put_i64(out, res->usage.input);
        buf_puts(out, ",\"output_tokens\":");
        buf_put_i64(out, res->usage.output);
        buf_puts(out, ",\"cache_creation_input_tokens\":");
        buf_put_i64(out, res->usage.cache_write);
        buf_puts(out, ",\"cache_read_input_tokens\":");
        buf_put_i64(out, res->usage.cache_read);
        buf_puts(out, "}}");
}

bool xlate_response_plain(const char *p, size_t n, const struct xlate_reply_opts *opts,
                          struct xlate_result *res, struct buf *out)
{
        struct plain_answer a;
        struct buf thinking, text;
        char reason[32] = "";
        bool ok;

        if (!plain_read(p, n, &a))
                return false;
        if (a.finish.type == JSCAN_STRING) {
                if (a.finish.n - 2 >= sizeof reason || jscan_escaped(&a.finish))
                        return false;
                memcpy(reason, a.finish.p + 1, a.finish.n - 2);
                reason[a.finish.n - 2] = '\0';
        }
        /* Thinking (reasoning_content, else reasoning), then the text (content, else refusal),
         * decoded before anything is written. */
        buf_init(&thinking);
        buf_init(&text);
        ok = jscan_decode(&a.rc, &thinking) &&
             (thinking.len > 0 || jscan_decode(&a.reasoning, &thinking)) &&
             jscan_decode(&a.content, &text) && (text.len > 0 || jscan_decode(&a.refusal, &text));
        if (ok) {
                memset(res, 0, sizeof *res);
                snprintf(res->stop_reason, sizeof res->stop_reason, "%s",
                         xlate_response_stop_reason(reason, false, NULL, NULL,
                                                    opts->content_filter_end_turn, NULL));
                if (a.have_usage) {
                        usage_from_members(&a.usage, &res->usage);
                } else {
                        size_t out_bytes = thinking.len + text.len;

                        res->usage_estimated = true;
                        res->usage.input = opts->input_estimate;
                        res->usage.output = out_bytes / 4 > 0 ? (long)(out_bytes / 4) : 1;
                }
                plain_write(&thinking, &text, opts, res, out);
        }
        buf_fini(&thinking);
        buf_fini(&text);
        return ok;
}
