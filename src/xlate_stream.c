/*
 * xlate_stream: OpenAI chat.completion.chunk stream -> Anthropic SSE events (PROTOCOL.md §F.3).
 *
 * The client side is strict (Claude Code's own consumer throws on a delta for a block it never
 * saw, and commits a block only at its stop), the upstream side is loose (tool-call fragments
 * keyed by index, by id, by nothing; names resent every chunk; usage after the finish). So the
 * machine keeps exactly one Anthropic block open at a time, allocates indices only when it starts
 * a block, and never emits a tool_use block until the call is complete: a call's fragments are
 * buffered and the block goes out in one start/delta/stop burst when a different call, other
 * content, the finish or the end of the stream shows it is finished. message_delta waits for the
 * usage that OpenAI sends after the finish chunk.
 *
 * This is the hot path of the proxy (one call per upstream chunk), so frames are written with
 * json_append_string into a reused scratch buffer rather than built as cJSON trees; only the
 * incoming chunk is parsed with cJSON.
 */
#include "xlate_stream.h"

#include "alloc.h"
#include "ids.h"
#include "jscan.h"
#include "json.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MESSAGE_STOP "{\"type\":\"message_stop\"}"
#define PING         "{\"type\":\"ping\"}"

enum block { BLOCK_NONE, BLOCK_TEXT, BLOCK_THINKING };

struct tool_call {
        long up_index; /* the upstream's index, -1 when it sent none */
        char *id;      /* the upstream's id; NULL until one arrives */
        char *name;
        struct buf args;
        bool emitted; /* sent to the client, or dropped: no more fragments accepted */
};

struct xlate_stream {
        const struct xlate_reply_opts *opts;
        uint64_t rng;
        struct sse_parser parser;
        struct buf *out; /* where frames go during the current feed or eof call */
        struct buf frame;
        enum xlate_stream_state state;
        bool began;

        int next_index;
        enum block open;
        int open_index;
        struct buf signature; /* of the open thinking block, from reasoning_details */
        struct buf text;      /* a simple chunk's decoded reasoning and text */

        struct tool_call *tools;
        size_t ntools, cap;
        size_t first_pending; /* tools before this one are emitted */
        long last_tool;       /* where an id-less fragment without index goes; -1 none */

        bool have_finish;
        char finish[32];
        cJSON *matched; /* vLLM's stop_reason: the stop string that ended the answer */
        bool have_usage;
        struct usage usage;
        size_t out_bytes; /* text, thinking and tool input sent, for the usage estimate */
        struct xlate_result res;
};

static void on_event(void *arg, const char *event, const char *data, size_t len);

struct xlate_stream *xlate_stream_new(const struct xlate_reply_opts *opts)
{
        struct xlate_stream *s = xcalloc(1, sizeof *s);

        s->opts = opts;
        s->rng = opts->seed;
        sse_parser_init(&s->parser, on_event, s);
        buf_init(&s->frame);
        buf_init(&s->signature);
        buf_init(&s->text);
        s->state = XLATE_STREAM_OPEN;
        s->open = BLOCK_NONE;
        s->last_tool = -1;
        return s;
}

void xlate_stream_free(struct xlate_stream *s)
{
        if (s == NULL)
                return;
        sse_parser_fini(&s->parser);
        buf_fini(&s->frame);
        buf_fini(&s->signature);
        buf_fini(&s->text);
        for (size_t i = 0; i < s->ntools; i++) {
                free(s->tools[i].id);
                free(s->tools[i].name);
                buf_fini(&s->tools[i].args);
        }
        free(s->tools);
        cJSON_Delete(s->matched);
        free(s);
}

enum xlate_stream_state xlate_stream_state(const struct xlate_stream *s)
{
        return s->state;
}

const struct xlate_result *xlate_stream_result(const struct xlate_stream *s)
{
        return &s->res;
}

/* Frame writing. */

static void put_long(struct buf *b, long v)
{
        char tmp[24];
        size_t i = sizeof tmp;
        unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;

        do {
                tmp[--i] = (char)('0' + u % 10);
                u /= 10;
        } while (u != 0);
        if (v < 0)
                tmp[--i] = '-';
        buf_append(b, tmp + i, sizeof tmp - i);
}

static void frame_begin(struct xlate_stream *s, const char *json_prefix)
{
        buf_clear(&s->frame);
        buf_puts(&s->frame, json_prefix);
}

static void frame_send(struct xlate_stream *s, const char *type)
{
        sse_write(s->out, type, s->frame.data, s->frame.len);
}

static void put_usage(struct buf *b, const struct usage *u, bool start)
{
        buf_puts(b, "\"usage\":{\"input_tokens\":");
        put_long(b, u->input);
        buf_puts(b, ",\"output_tokens\":");
        put_long(b, u->output);
        if (start) {
                buf_puts(b, ",\"cache_creation_input_tokens\":");
                put_long(b, u->cache_write);
                buf_puts(b, ",\"cache_read_input_tokens\":");
                put_long(b, u->cache_read);
        } else {
                buf_puts(b, ",\"cache_read_input_tokens\":");
                put_long(b, u->cache_read);
                buf_puts(b, ",\"cache_creation_input_tokens\":");
                put_long(b, u->cache_write);
        }
        buf_putc(b, '}');
}

static void write_message_start(struct buf *out, struct buf *frame, const char *id,
                                const char *model, const struct usage *u)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"message_start\",\"message\":{\"id\":");
        json_append_string(frame, id, strlen(id));
        buf_puts(frame, ",\"type\":\"message\",\"role\":\"assistant\",\"model\":");
        json_append_string(frame, model, strlen(model));
        buf_puts(frame, ",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,");
        put_usage(frame, u, true);
        buf_puts(frame, "}}");
        sse_write(out, "message_start", frame->data, frame->len);
}

static void write_block_stop(struct buf *out, struct buf *frame, int index)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"content_block_stop\",\"index\":");
        put_long(frame, index);
        buf_putc(frame, '}');
        sse_write(out, "content_block_stop", frame->data, frame->len);
}

/* A content_block_delta whose delta is {"type":dtype,field:"text"}. */
static void write_delta(struct buf *out, struct buf *frame, int index, const char *dtype,
                        const char *field, const char *text, size_t n)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"content_block_delta\",\"index\":");
        put_long(frame, index);
        buf_puts(frame, ",\"delta\":{\"type\":\"");
        buf_puts(frame, dtype);
        buf_puts(frame, "\",\"");
        buf_puts(frame, field);
        buf_puts(frame, "\":");
        json_append_string(frame, text, n);
        buf_puts(frame, "}}");
        sse_write(out, "content_block_delta", frame->data, frame->len);
}

static void write_tool_start(struct buf *out, struct buf *frame, int index, const char *id,
                             const char *name)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"content_block_start\",\"index\":");
        put_long(frame, index);
        buf_puts(frame, ",\"content_block\":{\"type\":\"tool_use\",\"id\":");
        json_append_string(frame, id, strlen(id));
        buf_puts(frame, ",\"name\":");
        json_append_string(frame, name, strlen(name));
        buf_puts(frame, ",\"input\":{}}}");
        sse_write(out, "content_block_start", frame->data, frame->len);
}

static void write_message_end(struct buf *out, struct buf *frame, const char *stop_reason,
                              const char *stop_sequence, const struct usage *u)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
        json_append_string(frame, stop_reason, strlen(stop_reason));
        buf_puts(frame, ",\"stop_sequence\":");
        if (stop_sequence != NULL)
                json_append_string(frame, stop_sequence, strlen(stop_sequence));
        else
                buf_puts(frame, "null");
        buf_puts(frame, "},");
        put_usage(frame, u, false);
        buf_putc(frame, '}');
        sse_write(out, "message_delta", frame->data, frame->len);
        sse_write(out, "message_stop", MESSAGE_STOP, sizeof MESSAGE_STOP - 1);
}

static void write_error(struct buf *out, struct buf *frame, const char *type, const char *message)
{
        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"error\",\"error\":{\"type\":");
        json_append_string(frame, type, strlen(type));
        buf_puts(frame, ",\"message\":");
        json_append_string(frame, message, strlen(message));
        buf_puts(frame, "}}");
        sse_write(out, "error", frame->data, frame->len);
}

void xlate_stream_ping(struct buf *out)
{
        sse_write(out, "ping", PING, sizeof PING - 1);
}

void xlate_stream_begin(struct xlate_stream *s, struct buf *out)
{
        struct usage u = {s->opts->input_estimate, 1, 0, 0};
        char id[64];

        if (s->began)
                return;
        s->began = true;
        ids_random(id, sizeof id, "msg_", &s->rng);
        write_message_start(out, &s->frame, id, s->opts->model != NULL ? s->opts->model : "", &u);
}

/* Blocks. */

static void close_open(struct xlate_stream *s)
{
        if (s->open == BLOCK_NONE)
                return;
        /* Only a signature the upstream gave is worth sending: a made-up one helps no client. */
        if (s->open == BLOCK_THINKING && s->signature.len > 0)
                write_delta(s->out, &s->frame, s->open_index, "signature_delta", "signature",
                            s->signature.data, s->signature.len);
        buf_clear(&s->signature);
        write_block_stop(s->out, &s->frame, s->open_index);
        s->open = BLOCK_NONE;
}

static void open_block(struct xlate_stream *s, enum block kind)
{
        close_open(s);
        s->open = kind;
        s->open_index = s->next_index++;
        frame_begin(s, "{\"type\":\"content_block_start\",\"index\":");
        put_long(&s->frame, s->open_index);
        if (kind == BLOCK_TEXT)
                buf_puts(&s->frame, ",\"content_block\":{\"type\":\"text\",\"text\":\"\"}}");
        else
                buf_puts(&s->frame, ",\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\","
                                    "\"signature\":\"\"}}");
        frame_send(s, "content_block_start");
}

static void emit_tool(struct xlate_stream *s, struct tool_call *t)
{
        const char *name;
        char id[256];
        char *input;
        int index;

        t->emitted = true;
        if (t->name == NULL) {
                /* Fragments that never got a name cannot be called; dropping them is all that
                 * keeps the rest of the answer usable. */
                buf_fini(&t->args);
                return;
        }
        name = toolmap_client(s->opts->names, t->name);
        ids_client_tool(t->id != NULL ? t->id : "", id, sizeof id, &s->rng);
        index = s->next_index++;
        write_tool_start(s->out, &s->frame, index, id, name);
        input = xlate_response_tool_args(buf_str(&t->args), t->args.len);
        if (input != NULL) {
                size_t n = strlen(input);

                write_delta(s->out, &s->frame, index, "input_json_delta", "partial_json", input, n);
                s->out_bytes += n;
                free(input);
        }
        write_block_stop(s->out, &s->frame, index);
        buf_fini(&t->args);
        s->res.tool_calls++;
}

/* Emits every pending call before tools[upto]. */
static void flush_tools(struct xlate_stream *s, size_t upto)
{
        while (s->first_pending < upto && s->first_pending < s->ntools)
                emit_tool(s, &s->tools[s->first_pending++]);
}

static void on_text(struct xlate_stream *s, const char *text, size_t n)
{
        flush_tools(s, s->ntools);
        if (s->open != BLOCK_TEXT)
                open_block(s, BLOCK_TEXT);
        write_delta(s->out, &s->frame, s->open_index, "text_delta", "text", text, n);
        s->out_bytes += n;
}

static void on_thinking(struct xlate_stream *s, const char *text, size_t n)
{
        flush_tools(s, s->ntools);
        if (s->open != BLOCK_THINKING)
                open_block(s, BLOCK_THINKING);
        write_delta(s->out, &s->frame, s->open_index, "thinking_delta", "thinking", text, n);
        s->out_bytes += n;
}

/* Tool-call fragments. */

static long find_by_index(const struct xlate_stream *s, long index)
{
        for (size_t i = s->ntools; i-- > 0;)
                if (s->tools[i].up_index == index)
                        return (long)i;
        return -1;
}

static long find_by_id(const struct xlate_stream *s, const char *id)
{
        for (size_t i = s->ntools; i-- > 0;)
                if (s->tools[i].id != NULL && strcmp(s->tools[i].id, id) == 0)
                        return (long)i;
        return -1;
}

static long new_call(struct xlate_stream *s, long up_index)
{
        struct tool_call *t;

        /* A new call finishes the previous one, and ends any text or thinking before it. */
        close_open(s);
        flush_tools(s, s->ntools);
        if (s->ntools == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 4;
                s->tools = xrealloc(s->tools, s->cap * sizeof *s->tools);
        }
        t = &s->tools[s->ntools];
        memset(t, 0, sizeof *t);
        t->up_index = up_index;
        buf_init(&t->args);
        return (long)s->ntools++;
}

/* Which call a fragment belongs to (PROTOCOL.md §F.3 step 6); -1 for a new one. */
static long resolve_call(const struct xlate_stream *s, bool has_index, long index, const char *id)
{
        long k;

        if (has_index) {
                k = find_by_index(s, index);
                /* Providers that number every parallel call 0 tell them apart by id only. */
                if (k >= 0 && id != NULL && s->tools[k].id != NULL &&
                    strcmp(s->tools[k].id, id) != 0 && s->tools[k].name != NULL)
                        return -1;
                return k;
        }
        if (id == NULL)
                return s->last_tool;
        k = find_by_id(s, id);
        if (k < 0 && s->last_tool >= 0 && s->tools[s->last_tool].id == NULL)
                k = s->last_tool; /* fragments came first, the id with a later one */
        return k;
}

static void on_tool_fragment(struct xlate_stream *s, bool has_index, long index, const char *id,
                             const char *name, const cJSON *args)
{
        struct tool_call *t;
        long k;

        if (id != NULL && id[0] == '\0')
                id = NULL;
        if (name != NULL && name[0] == '\0')
                name = NULL;
        k = resolve_call(s, has_index, index, id);
        if (k >= 0 && s->tools[k].emitted)
                return; /* its block is already closed; nothing can be added to it */
        if (k < 0)
                k = new_call(s, has_index ? index : -1);
        else
                flush_tools(s, (size_t)k);
        t = &s->tools[k];
        s->last_tool = k;
        if (id != NULL && t->id == NULL)
                t->id = xstrdup(id);
        /* Names are assigned, never appended: some servers resend the name in every chunk. */
        if (name != NULL && (t->name == NULL || strcmp(t->name, name) != 0)) {
                free(t->name);
                t->name = xstrdup(name);
        }
        if (cJSON_IsString(args))
                buf_puts(&t->args, args->valuestring);
        else if (cJSON_IsObject(args))
                json_append(&t->args, args);
}

static void on_tool_calls(struct xlate_stream *s, const cJSON *calls)
{
        const cJSON *it;

        cJSON_ArrayForEach(it, calls)
        {
                const cJSON *fn = json_get(it, "function");
                long index = 0;
                bool has_index = json_get_long(it, "index", &index);

                on_tool_fragment(s, has_index, index, json_get_str(it, "id"),
                                 json_get_str(fn, "name"), json_get(fn, "arguments"));
        }
}

/* The end. */

static void fill_usage(struct xlate_stream *s)
{
        if (s->have_usage) {
                s->res.usage = s->usage;
                s->res.usage_estimated = false;
                return;
        }
        s->res.usage_estimated = true;
        s->res.usage.input = s->opts->input_estimate;
        s->res.usage.output = s->out_bytes / 4 > 0 ? (long)(s->out_bytes / 4) : 1;
        s->res.usage.cache_read = 0;
        s->res.usage.cache_write = 0;
}

static void finish(struct xlate_stream *s)
{
        const char *reason, *stop_sequence;

        close_open(s);
        flush_tools(s, s->ntools);
        reason = xlate_response_stop_reason(
            s->have_finish ? s->finish : NULL, s->res.tool_calls > 0, s->matched,
            s->opts->stop_sequences, s->opts->content_filter_end_turn, &stop_sequence);
        snprintf(s->res.stop_reason, sizeof s->res.stop_reason, "%s", reason);
        fill_usage(s);
        write_message_end(s->out, &s->frame, reason, stop_sequence, &s->res.usage);
        s->state = XLATE_STREAM_DONE;
}

static int contains_ci(const char *hay, const char *needle)
{
        size_t n = strlen(needle);

        for (; hay != NULL && *hay != '\0'; hay++) {
                size_t i = 0;

                while (i < n && hay[i] != '\0' && (hay[i] | 0x20) == (needle[i] | 0x20))
                        i++;
                if (i == n)
                        return 1;
        }
        return 0;
}

/* An HTTP-like status in err's code or status member, as a number or a numeric string. */
static long error_status(const cJSON *err)
{
        static const char *const keys[] = {"code", "status", "status_code"};

        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
                const cJSON *v = json_get(err, keys[i]);

                if (cJSON_IsNumber(v))
                        return json_to_long(v->valuedouble);
                if (cJSON_IsString(v) && v->valuestring[0] >= '1' && v->valuestring[0] <= '9')
                        return strtol(v->valuestring, NULL, 10);
        }
        return 0;
}

/*
 * The Anthropic error type for an error object an upstream sent inside a 200 stream. Overload
 * matters most: Claude Code retries overloaded_error by itself. Numbers are only trusted in the
 * status fields; in free text "503" may as well be a token count.
 */
static const char *error_type(const cJSON *err, const char *text)
{
        long status = error_status(err);

        if (status == 503 || status == 529 || contains_ci(text, "overload") ||
            contains_ci(text, "unavailable"))
                return "overloaded_error";
        if (status == 429 || contains_ci(text, "rate limit") || contains_ci(text, "rate_limit") ||
            contains_ci(text, "ratelimit") || contains_ci(text, "too many requests"))
                return "rate_limit_error";
        return "api_error";
}

static void fail(struct xlate_stream *s, const char *type, const char *message)
{
        if (s->state != XLATE_STREAM_OPEN)
                return;
        write_error(s->out, &s->frame, type, message);
        fill_usage(s);
        s->res.stop_reason[0] = '\0';
        s->state = XLATE_STREAM_FAILED;
}

static void on_upstream_error(struct xlate_stream *s, const cJSON *err)
{
        const char *message = cJSON_IsString(err) ? err->valuestring : json_get_str(err, "message");
        char *printed = json_print(err);

        fail(s, error_type(err, printed), message != NULL ? message : printed);
        free(printed);
}

/*
 * The members of a chunk that matter, found in one walk over each object: chunks carry a dozen
 * keys, and looking each wanted key up separately was the largest cost per chunk.
 */
struct chunk_fields {
        const cJSON *error, *usage, *choice;                  /* chunk */
        const cJSON *delta, *finish, *matched, *choice_usage; /* choices[0] */
        const cJSON *reasoning_content, *reasoning, *details; /* delta */
        const cJSON *content, *tool_calls, *function_call;
};

static void chunk_fields(const cJSON *chunk, struct chunk_fields *f)
{
        const cJSON *it;

        memset(f, 0, sizeof *f);
        for (it = chunk->child; it != NULL; it = it->next) {
                if (strcmp(it->string, "choices") == 0) {
                        if (cJSON_IsArray(it) && cJSON_IsObject(it->child))
                                f->choice = it->child;
                } else if (strcmp(it->string, "usage") == 0) {
                        f->usage = it;
                } else if (strcmp(it->string, "error") == 0) {
                        f->error = it;
                }
        }
        for (it = f->choice != NULL ? f->choice->child : NULL; it != NULL; it = it->next) {
                if (strcmp(it->string, "delta") == 0)
                        f->delta = it;
                else if (strcmp(it->string, "finish_reason") == 0)
                        f->finish = it;
                else if (strcmp(it->string, "stop_reason") == 0)
                        f->matched = it;
                else if (strcmp(it->string, "usage") == 0)
                        f->choice_usage = it;
        }
        for (it = cJSON_IsObject(f->delta) ? f->delta->child : NULL; it != NULL; it = it->next) {
                const char *k = it->string;

                if (strcmp(k, "content") == 0)
                        f->content = it;
                else if (strcmp(k, "reasoning_content") == 0)
                        f->reasoning_content = it;
                else if (strcmp(k, "reasoning") == 0)
                        f->reasoning = it;
                else if (strcmp(k, "reasoning_details") == 0)
                        f->details = it;
                else if (strcmp(k, "tool_calls") == 0)
                        f->tool_calls = it;
                else if (strcmp(k, "function_call") == 0)
                        f->function_call = it;
        }
}

/* A non-empty string value, or NULL. */
static const char *nonempty(const cJSON *v)
{
        return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

static void on_reasoning(struct xlate_stream *s, const struct chunk_fields *f)
{
        const char *r = nonempty(f->reasoning_content);
        const char *signature = NULL;
        const cJSON *it;

        if (r == NULL)
                r = nonempty(f->reasoning);
        if (r != NULL)
                on_thinking(s, r, strlen(r));
        /* OpenRouter repeats the reasoning text in reasoning_details: use those only alone. */
        cJSON_ArrayForEach(it, (cJSON_IsArray(f->details) ? f->details : NULL))
        {
                const char *t = json_get_str(it, "text");
                const char *sig = json_get_str(it, "signature");

                if (r == NULL && t != NULL && t[0] != '\0')
                        on_thinking(s, t, strlen(t));
                if (sig != NULL && sig[0] != '\0')
                        signature = sig;
        }
        if (signature != NULL && s->open == BLOCK_THINKING) {
                buf_clear(&s->signature);
                buf_puts(&s->signature, signature);
        }
}

/* One chunk: reasoning, then content, then tool calls, then the finish (§F.3 step 3). */
static void on_chunk(struct xlate_stream *s, const cJSON *chunk)
{
        struct chunk_fields f;
        const char *text, *finish_reason;
        const cJSON *usage;

        chunk_fields(chunk, &f);
        if (f.error != NULL && !cJSON_IsNull(f.error)) {
                on_upstream_error(s, f.error);
                return;
        }
        if (f.reasoning_content != NULL || f.reasoning != NULL || f.details != NULL)
                on_reasoning(s, &f);
        text = nonempty(f.content);
        if (text != NULL)
                on_text(s, text, strlen(text));
        if (cJSON_IsArray(f.tool_calls))
                on_tool_calls(s, f.tool_calls);
        else if (cJSON_IsObject(f.function_call)) /* the legacy single function call */
                on_tool_fragment(s, true, 0, NULL, json_get_str(f.function_call, "name"),
                                 json_get(f.function_call, "arguments"));
        finish_reason = nonempty(f.finish);
        if (finish_reason != NULL) {
                s->have_finish = true;
                snprintf(s->finish, sizeof s->finish, "%s", finish_reason);
                if (cJSON_IsString(f.matched)) {
                        cJSON_Delete(s->matched);
                        s->matched = cJSON_CreateString(f.matched->valuestring);
                }
                close_open(s);
                flush_tools(s, s->ntools);
        }
        /* Moonshot puts the usage inside the choice of the finish chunk. */
        usage = cJSON_IsObject(f.usage) ? f.usage : f.choice_usage;
        if (usage != NULL && xlate_response_usage(usage, &s->usage)) {
                s->have_usage = true;
                if (s->have_finish)
                        finish(s);
        }
}

static bool is_done_marker(const char *data, size_t len)
{
        while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t'))
                len--;
        while (len > 0 && (*data == ' ' || *data == '\t')) {
                data++;
                len--;
        }
        return len == 6 && memcmp(data, "[DONE]", 6) == 0;
}

/*
 * The fast path for the chunk that makes up nearly every answer: a delta of text or reasoning
 * and nothing else, read in place by jscan instead of built into a cJSON tree (which was most
 * of the translator's cost per chunk). Whatever it does not fully understand (a finish, usage,
 * tool calls, an error, reasoning_details, a repeated or escaped key, text jscan will not
 * decode, or anything that is not strict JSON) returns false before anything is emitted, and
 * on_chunk handles it from json_parse's tree exactly as before.
 */
static bool on_simple_chunk(struct xlate_stream *s, const char *data, size_t len)
{
        struct jscan_value k, v, first, usage;
        struct jscan_value delta = {0}, finish = {0}, choice_usage = {0};
        struct jscan_value content = {0}, rc = {0}, reasoning = {0}, other = {0};
        size_t pos = 0, n_reasoning;

        if (!xlate_response_first_choice(data, len, &first, &usage) ||
            !jscan_absent_or_null(&usage))
                return false;
        while (jscan_member(&first, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                if ((jscan_is(&k, "delta") && !jscan_take(&delta, &v)) ||
                    (jscan_is(&k, "finish_reason") && !jscan_take(&finish, &v)) ||
                    (jscan_is(&k, "usage") && !jscan_take(&choice_usage, &v)))
                        return false;
        }
        if ((finish.type == JSCAN_STRING && finish.n > 2) || !jscan_absent_or_null(&choice_usage))
                return false;
        pos = 0;
        while (jscan_member(&delta, &pos, &k, &v)) {
                if (jscan_escaped(&k))
                        return false;
                if ((jscan_is(&k, "content") && !jscan_take(&content, &v)) ||
                    (jscan_is(&k, "reasoning_content") && !jscan_take(&rc, &v)) ||
                    (jscan_is(&k, "reasoning") && !jscan_take(&reasoning, &v)))
                        return false;
                if ((jscan_is(&k, "reasoning_details") || jscan_is(&k, "tool_calls") ||
                     jscan_is(&k, "function_call")) &&
                    (!jscan_take(&other, &v) || v.type != JSCAN_NULL))
                        return false;
        }
        /* The reasoning on_reasoning would pick (reasoning_content, else reasoning), then the
         * text, both decoded before anything is emitted. */
        buf_clear(&s->text);
        if (!jscan_decode(&rc, &s->text))
                return false;
        if (s->text.len == 0 && !jscan_decode(&reasoning, &s->text))
                return false;
        n_reasoning = s->text.len;
        if (!jscan_decode(&content, &s->text))
                return false;
        if (n_reasoning > 0)
                on_thinking(s, s->text.data, n_reasoning);
        if (s->text.len > n_reasoning)
                on_text(s, s->text.data + n_reasoning, s->text.len - n_reasoning);
        return true;
}

static void on_event(void *arg, const char *event, const char *data, size_t len)
{
        struct xlate_stream *s = arg;
        cJSON *chunk;

        if (s->state != XLATE_STREAM_OPEN)
                return;
        if (is_done_marker(data, len)) {
                finish(s);
                return;
        }
        if (strcmp(event, "error") != 0 && on_simple_chunk(s, data, len))
                return;
        chunk = json_parse(data, len, NULL);
        if (strcmp(event, "error") == 0) {
                const cJSON *err = json_get(chunk, "error");

                if (err == NULL || cJSON_IsNull(err))
                        err = chunk;
                if (err != NULL)
                        on_upstream_error(s, err);
                else
                        fail(s, "api_error", len > 0 ? data : "the upstream reported an error");
        } else if (cJSON_IsObject(chunk)) {
                on_chunk(s, chunk);
        }
        /* Anything else (a stray non-JSON line) carries nothing a client could use. */
        cJSON_Delete(chunk);
}

enum xlate_stream_state xlate_stream_feed(struct xlate_stream *s, const char *p, size_t n,
                                          struct buf *out)
{
        if (s->state != XLATE_STREAM_OPEN)
                return s->state;
        xlate_stream_begin(s, out);
        s->out = out;
        sse_parser_feed(&s->parser, p, n);
        s->out = NULL;
        return s->state;
}

enum xlate_stream_state xlate_stream_eof(struct xlate_stream *s, struct buf *out)
{
        if (s->state != XLATE_STREAM_OPEN)
                return s->state;
        xlate_stream_begin(s, out);
        s->out = out;
        sse_parser_end(&s->parser);
        if (s->state == XLATE_STREAM_OPEN) {
                /* A finish without [DONE] is a complete answer; no finish at all is a cut. */
                if (s->have_finish)
                        finish(s);
                else
                        fail(s, "api_error",
                             "the upstream stream ended before the answer was "
                             "complete");
        }
        s->out = NULL;
        return s->state;
}

void xlate_stream_fail(struct xlate_stream *s, const char *type, const char *message,
                       struct buf *out)
{
        s->out = out;
        fail(s, type != NULL ? type : "api_error", message != NULL ? message : "upstream failed");
        s->out = NULL;
}

/* A whole message replayed as events. */

static void replay_block(struct buf *out, struct buf *frame, int index, const cJSON *block)
{
        const char *type = json_get_str(block, "type");
        const char *text;

        buf_clear(frame);
        buf_puts(frame, "{\"type\":\"content_block_start\",\"index\":");
        put_long(frame, index);
        buf_puts(frame, ",\"content_block\":");
        if (strcmp(type, "text") == 0) {
                text = json_get_str(block, "text");
                buf_puts(frame, "{\"type\":\"text\",\"text\":\"\"}}");
                sse_write(out, "content_block_start", frame->data, frame->len);
                write_delta(out, frame, index, "text_delta", "text", text, strlen(text));
        } else if (strcmp(type, "thinking") == 0) {
                const char *sig = json_get_str(block, "signature");

                text = json_get_str(block, "thinking");
                buf_puts(frame, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}");
                sse_write(out, "content_block_start", frame->data, frame->len);
                if (text != NULL && text[0] != '\0')
                        write_delta(out, frame, index, "thinking_delta", "thinking", text,
                                    strlen(text));
                if (sig != NULL && sig[0] != '\0')
                        write_delta(out, frame, index, "signature_delta", "signature", sig,
                                    strlen(sig));
        } else if (strcmp(type, "tool_use") == 0 || strcmp(type, "server_tool_use") == 0) {
                const char *id = json_get_str(block, "id");
                const char *name = json_get_str(block, "name");
                const cJSON *input = json_get(block, "input");

                buf_puts(frame, "{\"type\":");
                json_append_string(frame, type, strlen(type));
                buf_puts(frame, ",\"id\":");
                json_append_string(frame, id != NULL ? id : "", id != NULL ? strlen(id) : 0);
                buf_puts(frame, ",\"name\":");
                json_append_string(frame, name != NULL ? name : "",
                                   name != NULL ? strlen(name) : 0);
                buf_puts(frame, ",\"input\":{}}}");
                sse_write(out, "content_block_start", frame->data, frame->len);
                if (cJSON_IsObject(input) && input->child != NULL) {
                        char *json = json_print(input);

                        write_delta(out, frame, index, "input_json_delta", "partial_json", json,
                                    strlen(json));
                        free(json);
                }
        } else {
                /* redacted_thinking and anything newer start complete. */
                json_append(frame, block);
                buf_putc(frame, '}');
                sse_write(out, "content_block_start", frame->data, frame->len);
        }
        write_block_stop(out, frame, index);
}

void xlate_stream_from_message(const cJSON *msg, struct buf *out)
{
        const cJSON *usage = json_get(msg, "usage");
        const cJSON *content = json_get(msg, "content");
        const char *id = json_get_str(msg, "id");
        const char *model = json_get_str(msg, "model");
        const char *reason = json_get_str(msg, "stop_reason");
        struct usage u = {0, 0, 0, 0};
        struct usage start;
        struct buf frame;
        const cJSON *it;
        int index = 0;

        json_get_long(usage, "input_tokens", &u.input);
        json_get_long(usage, "output_tokens", &u.output);
        json_get_long(usage, "cache_creation_input_tokens", &u.cache_write);
        json_get_long(usage, "cache_read_input_tokens", &u.cache_read);
        start = u;
        start.output = 1;

        buf_init(&frame);
        write_message_start(out, &frame, id != NULL ? id : "msg_proxy", model != NULL ? model : "",
                            &start);
        cJSON_ArrayForEach(it, (cJSON_IsArray(content) ? content : NULL))
        {
                const char *type = json_get_str(it, "type");
                const char *text = json_get_str(it, "text");

                if (type == NULL)
                        continue;
                if (strcmp(type, "text") == 0 && (text == NULL || text[0] == '\0'))
                        continue; /* an empty text block is invalid on the Anthropic side */
                replay_block(out, &frame, index++, it);
        }
        write_message_end(out, &frame, reason != NULL ? reason : "end_turn",
                          json_get_str(msg, "stop_sequence"), &u);
        buf_fini(&frame);
}
