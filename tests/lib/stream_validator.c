/*
 * stream_validator: the strictest reading of PROTOCOL.md §C (see stream_validator.h).
 *
 * It parses frames itself instead of using src/sse.c: the point is to catch what a loose parser
 * would forgive, such as a frame without its event: line, a CR, or a missing blank line. The
 * rules are the union of what the official SDK's MessageStream and Claude Code's own consumer
 * throw on, plus the tool-input rule (the concatenated partial_json must parse as an object).
 */
#include "stream_validator.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct block {
        char type[32];
        bool stopped;
        bool signed_; /* a signature_delta was seen: no thinking may follow */
        struct buf json;
};

struct check {
        struct stream_summary sum;
        struct block *blocks;
        int nblocks, cap;
        int frame;
        bool started, delta_seen, ended;
        char *cause;
};

static int failf(struct check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int failf(struct check *c, const char *fmt, ...)
{
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        c->cause = xasprintf("frame %d: %s", c->frame, msg);
        return -1;
}

static bool has_num(const cJSON *obj, const char *key)
{
        double d;

        return json_get_num(obj, key, &d);
}

static long get_long(const cJSON *obj, const char *key)
{
        long v = 0;

        json_get_long(obj, key, &v);
        return v;
}

static bool valid_tool_id(const char *id)
{
        if (id == NULL || id[0] == '\0')
                return false;
        for (const char *p = id; *p != '\0'; p++) {
                char ch = *p;
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
                        return false;
        }
        return true;
}

static int on_message_start(struct check *c, const cJSON *ev)
{
        const cJSON *msg = json_get(ev, "message");
        const cJSON *usage = json_get(msg, "usage");
        const cJSON *content = json_get(msg, "content");
        const char *type = json_get_str(msg, "type");
        const char *role = json_get_str(msg, "role");

        if (c->started)
                return failf(c, "a second message_start");
        if (c->frame != 1)
                return failf(c, "message_start is not the first frame");
        if (json_get_str(msg, "id") == NULL || type == NULL || strcmp(type, "message") != 0 ||
            role == NULL || strcmp(role, "assistant") != 0 || json_get_str(msg, "model") == NULL)
                return failf(c, "message_start.message lacks id/type/role/model");
        if (!cJSON_IsArray(content) || cJSON_GetArraySize(content) != 0)
                return failf(c, "message_start.message.content is not []");
        if (!has_num(usage, "input_tokens") || !has_num(usage, "output_tokens"))
                return failf(c, "message_start usage lacks input_tokens/output_tokens");
        c->started = true;
        c->sum.input_tokens = get_long(usage, "input_tokens");
        c->sum.output_tokens = get_long(usage, "output_tokens");
        return 0;
}

static int on_block_start(struct check *c, const cJSON *ev)
{
        const cJSON *cb = json_get(ev, "content_block");
        const char *type = json_get_str(cb, "type");
        double index = -1;
        struct block *b;

        if (c->delta_seen)
                return failf(c, "content_block_start after message_delta");
        if (!json_get_num(ev, "index", &index) || (int)index != c->nblocks)
                return failf(c, "content_block_start index %g, expected %d", index, c->nblocks);
        if (type == NULL)
                return failf(c, "content_block without a type");
        if (strcmp(type, "text") == 0) {
                const char *t = json_get_str(cb, "text");
                if (t == NULL || t[0] != '\0')
                        return failf(c, "text block must start with text \"\"");
        } else if (strcmp(type, "thinking") == 0) {
                if (json_get_str(cb, "thinking") == NULL || json_get_str(cb, "signature") == NULL)
                        return failf(c, "thinking block must start with thinking and signature");
        } else if (strcmp(type, "tool_use") == 0 || strcmp(type, "server_tool_use") == 0) {
                const cJSON *input = json_get(cb, "input");
                const char *name = json_get_str(cb, "name");
                if (!valid_tool_id(json_get_str(cb, "id")))
                        return failf(c, "tool_use id does not match ^[a-zA-Z0-9_-]+$");
                if (name == NULL || name[0] == '\0')
                        return failf(c, "tool_use without a name");
                if (!cJSON_IsObject(input) || input->child != NULL)
                        return failf(c, "tool_use must start with input {}");
                c->sum.tool_uses++;
        } else if (strcmp(type, "redacted_thinking") != 0) {
                return failf(c, "unknown content block type %s", type);
        }
        if (c->nblocks == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 8;
                c->blocks = xrealloc(c->blocks, (size_t)c->cap * sizeof *c->blocks);
        }
        b = &c->blocks[c->nblocks++];
        memset(b, 0, sizeof *b);
        snprintf(b->type, sizeof b->type, "%s", type);
        buf_init(&b->json);
        c->sum.blocks = c->nblocks;
        return 0;
}

/* The block an event's index names, or NULL after recording why it is not usable. */
static struct block *target(struct check *c, const cJSON *ev, const char *what)
{
        double index = -1;

        if (!json_get_num(ev, "index", &index) || index < 0 || (int)index >= c->nblocks) {
                failf(c, "%s for block %g, which was never started", what, index);
                return NULL;
        }
        if (c->blocks[(int)index].stopped) {
                failf(c, "%s for block %g, which is already stopped", what, index);
                return NULL;
        }
        return &c->blocks[(int)index];
}

static int on_block_delta(struct check *c, const cJSON *ev)
{
        struct block *b = target(c, ev, "content_block_delta");
        const cJSON *delta = json_get(ev, "delta");
        const char *dt = json_get_str(delta, "type");
        const char *want;
        const char *field;

        if (b == NULL)
                return -1;
        if (dt == NULL)
                return failf(c, "delta without a type");
        if (strcmp(dt, "text_delta") == 0) {
                want = "text";
                field = "text";
        } else if (strcmp(dt, "citations_delta") == 0) {
                want = "text";
                field = NULL;
        } else if (strcmp(dt, "input_json_delta") == 0) {
                want = strcmp(b->type, "server_tool_use") == 0 ? "server_tool_use" : "tool_use";
                field = "partial_json";
        } else if (strcmp(dt, "thinking_delta") == 0) {
                want = "thinking";
                field = "thinking";
        } else if (strcmp(dt, "signature_delta") == 0) {
                want = "thinking";
                field = "signature";
        } else {
                return failf(c, "unknown delta type %s", dt);
        }
        if (strcmp(b->type, want) != 0)
                return failf(c, "%s sent to a %s block", dt, b->type);
        if (field != NULL && json_get_str(delta, field) == NULL)
                return failf(c, "%s without a string %s", dt, field);
        if (strcmp(dt, "thinking_delta") == 0 && b->signed_)
                return failf(c, "thinking_delta after the block's signature_delta");
        if (strcmp(dt, "signature_delta") == 0) {
                if (b->signed_)
                        return failf(c, "a second signature_delta for one block");
                b->signed_ = true;
        }
        if (strcmp(dt, "input_json_delta") == 0)
                buf_puts(&b->json, json_get_str(delta, "partial_json"));
        return 0;
}

static int on_block_stop(struct check *c, const cJSON *ev)
{
        struct block *b = target(c, ev, "content_block_stop");

        if (b == NULL)
                return -1;
        if (b->json.len > 0) {
                cJSON *input = json_parse(b->json.data, b->json.len, NULL);
                const char *end = NULL;
                cJSON *strict = cJSON_ParseWithLengthOpts(b->json.data, b->json.len, &end, false);
                bool ok = cJSON_IsObject(input) && cJSON_IsObject(strict) && end != NULL &&
                          strspn(end, " \t\r\n") == (size_t)(b->json.data + b->json.len - end);

                cJSON_Delete(input);
                cJSON_Delete(strict);
                if (!ok)
                        return failf(c, "tool input is not one JSON object: %.200s", b->json.data);
        }
        b->stopped = true;
        return 0;
}

static int on_message_delta(struct check *c, const cJSON *ev)
{
        const cJSON *delta = json_get(ev, "delta");
        const cJSON *usage = json_get(ev, "usage");
        const char *reason = json_get_str(delta, "stop_reason");

        if (c->delta_seen)
                return failf(c, "a second message_delta");
        for (int i = 0; i < c->nblocks; i++)
                if (!c->blocks[i].stopped)
                        return failf(c, "message_delta while block %d is still open", i);
        if (reason == NULL)
                return failf(c, "message_delta without a stop_reason");
        if (strcmp(reason, "stop_sequence") == 0 && json_get_str(delta, "stop_sequence") == NULL)
                return failf(c, "stop_reason stop_sequence without the sequence");
        if (!has_num(usage, "output_tokens") || !has_num(usage, "input_tokens"))
                return failf(c, "message_delta usage lacks output_tokens/input_tokens");
        c->delta_seen = true;
        snprintf(c->sum.stop_reason, sizeof c->sum.stop_reason, "%s", reason);
        c->sum.input_tokens = get_long(usage, "input_tokens");
        c->sum.output_tokens = get_long(usage, "output_tokens");
        return 0;
}

static int on_error(struct check *c, const cJSON *ev)
{
        const cJSON *err = json_get(ev, "error");
        const char *type = json_get_str(err, "type");

        if (type == NULL || json_get_str(err, "message") == NULL)
                return failf(c, "error frame without error.type/error.message");
        c->ended = true;
        c->sum.failed = true;
        snprintf(c->sum.error_type, sizeof c->sum.error_type, "%s", type);
        return 0;
}

static int on_frame(struct check *c, const char *name, const cJSON *ev)
{
        if (c->ended)
                return failf(c, "%s after the end of the stream", name);
        if (strcmp(name, "error") == 0)
                return on_error(c, ev);
        if (strcmp(name, "message_start") == 0)
                return on_message_start(c, ev);
        if (!c->started)
                return failf(c, "%s before message_start", name);
        if (strcmp(name, "ping") == 0)
                return 0;
        if (strcmp(name, "content_block_start") == 0)
                return on_block_start(c, ev);
        if (strcmp(name, "content_block_delta") == 0)
                return on_block_delta(c, ev);
        if (strcmp(name, "content_block_stop") == 0)
                return on_block_stop(c, ev);
        if (strcmp(name, "message_delta") == 0)
                return on_message_delta(c, ev);
        if (strcmp(name, "message_stop") == 0) {
                if (!c->delta_seen)
                        return failf(c, "message_stop without message_delta");
                c->ended = true;
                return 0;
        }
        return failf(c, "unknown event %s", name);
}

/* One frame's text (without its blank line): exactly an event line and a data line. */
static int check_frame(struct check *c, const char *f, size_t n)
{
        const char *nl = memchr(f, '\n', n);
        const char *data;
        size_t dlen;
        char name[64];
        size_t nlen;
        cJSON *ev;
        const char *type;
        int rc;

        if (n < 7 || memcmp(f, "event: ", 7) != 0)
                return failf(c, "frame does not start with an event: line: %.80s", f);
        if (nl == NULL)
                return failf(c, "frame has no data: line");
        nlen = (size_t)(nl - f) - 7;
        if (nlen == 0 || nlen >= sizeof name)
                return failf(c, "bad event name");
        memcpy(name, f + 7, nlen);
        name[nlen] = '\0';
        data = nl + 1;
        dlen = n - (size_t)(data - f);
        if (dlen < 6 || memcmp(data, "data: ", 6) != 0)
                return failf(c, "the line after event: %s is not a data: line", name);
        data += 6;
        dlen -= 6;
        if (memchr(data, '\n', dlen) != NULL)
                return failf(c, "data of %s spans several lines", name);
        if (dlen == 6 && memcmp(data, "[DONE]", 6) == 0)
                return failf(c, "data: [DONE] sent to an Anthropic client");
        ev = json_parse(data, dlen, NULL);
        type = json_get_str(ev, "type");
        if (!cJSON_IsObject(ev) || type == NULL) {
                cJSON_Delete(ev);
                return failf(c, "data of %s is not a JSON object with a type", name);
        }
        if (strcmp(type, name) != 0) {
                rc = failf(c, "event: %s carries data of type %s", name, type);
                cJSON_Delete(ev);
                return rc;
        }
        rc = on_frame(c, name, ev);
        cJSON_Delete(ev);
        return rc;
}

int stream_validator_check(const char *p, size_t n, struct stream_summary *sum, char **cause)
{
        struct check c;
        size_t pos = 0;
        int rc = 0;

        memset(&c, 0, sizeof c);
        if (memchr(p, '\r', n) != NULL) {
                c.cause = xstrdup("the stream contains a CR; frames use bare LF");
                rc = -1;
        }
        while (rc == 0 && pos < n) {
                const char *start = p + pos;
                const char *sep = memmem(start, n - pos, "\n\n", 2);

                c.frame++;
                if (sep == NULL) {
                        rc = failf(&c, "the last frame is not ended by a blank line");
                        break;
                }
                rc = check_frame(&c, start, (size_t)(sep - start));
                pos = (size_t)(sep - p) + 2;
        }
        c.sum.frames = c.frame;
        if (rc == 0 && c.frame == 0) {
                c.cause = xstrdup("the stream is empty");
                rc = -1;
        }
        if (rc == 0 && !c.ended) {
                c.frame++;
                rc = failf(&c, "the stream ends without message_stop or error");
        }
        for (int i = 0; i < c.nblocks; i++)
                buf_fini(&c.blocks[i].json);
        free(c.blocks);
        if (sum != NULL)
                *sum = c.sum;
        if (rc != 0) {
                if (cause != NULL)
                        *cause = c.cause;
                else
                        free(c.cause);
        }
        return rc;
}
