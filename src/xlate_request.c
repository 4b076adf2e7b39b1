/*
 * xlate_request: Anthropic Messages request -> OpenAI Chat Completions body (PROTOCOL.md §F.1;
 * every decision is explained in docs/translation.md, "Requests: Anthropic -> OpenAI").
 *
 * The walk over messages is where most of the care goes. OpenAI is strict where Anthropic is
 * lenient: an assistant message with tool_calls must be followed at once by one tool message per
 * call, and a tool message may only answer a call of the assistant message right before it. So
 * consecutive messages of one role are first merged into one turn (Anthropic does the same), then
 * each user turn answers the calls of the assistant turn before it in the order of those calls;
 * calls left unanswered get a synthetic result, results that answer nothing become user text,
 * and a call id that was already used earlier (Claude Code 1.0.x re-sends whole turns with the
 * same ids) gets a fresh, still deterministic, upstream id.
 */
#include "xlate_request.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "sha256.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BILLING_PREFIX    "x-anthropic-billing-header:"
#define NO_RESULT         "[no result]"
#define ERROR_PREFIX      "[error] "
#define IMAGE_PLACEHOLDER "[image attached below]"
#define DOC_PLACEHOLDER   "[document attached below]"
#define MAX_STOP          4
#define MAX_USER_LEN      64
#define UPSTREAM_ID_MAX   64

/* One content block of a merged turn, or the whole text of a message whose content is a string. */
struct part {
        const cJSON *block; /* NULL: text is a message's string content */
        const char *text;
        int msg, idx; /* for error paths: messages.<msg>.content.<idx> */
};

struct parts {
        struct part *v;
        size_t n, cap;
};

/* A tool call of the last assistant turn, waiting for its result. */
struct call {
        const char *client_id; /* borrowed from the request */
        char upstream_id[UPSTREAM_ID_MAX];
        bool answered;
};

struct ctx {
        const struct xlate_request_opts *opts;
        struct toolmap *names;
        cJSON *out;  /* the messages array being built */
        char **used; /* upstream tool-call ids handed out so far: an open-addressing set */
        size_t n_used, cap_used;
        struct call *pending;
        size_t n_pending, cap_pending;
        char **cause;
};

static int fail(struct ctx *c, char *msg)
{
        *c->cause = msg;
        return -1;
}

static void parts_push(struct parts *p, const cJSON *block, const char *text, int msg, int idx)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 16;
                p->v = xrealloc(p->v, p->cap * sizeof *p->v);
        }
        p->v[p->n++] = (struct part){block, text, msg, idx};
}

/* Appends s to out, separated from what is already there by sep; empty strings add nothing. */
static void append_piece(struct buf *out, const char *s, const char *sep)
{
        if (s == NULL || s[0] == '\0')
                return;
        if (out->len > 0)
                buf_puts(out, sep);
        buf_puts(out, s);
}

static bool str_eq(const char *a, const char *b)
{
        return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* ---- system ---------------------------------------------------------------------------- */

/*
 * Adds the text of a system prompt (string or text blocks) to out. The billing header block
 * changes on every request and would defeat the upstream's prefix cache, so it is left out.
 */
static int system_text(struct ctx *c, const cJSON *sys, const char *path, struct buf *out)
{
        const cJSON *b;
        int i = 0;

        if (sys == NULL || cJSON_IsNull(sys))
                return 0;
        if (cJSON_IsString(sys)) {
                if (strncmp(sys->valuestring, BILLING_PREFIX, strlen(BILLING_PREFIX)) != 0)
                        append_piece(out, sys->valuestring, "\n\n");
                return 0;
        }
        if (!cJSON_IsArray(sys))
                return fail(c, xasprintf("%s: expected a string or an array of text blocks", path));
        cJSON_ArrayForEach(b, sys)
        {
                const char *text;

                if (!cJSON_IsObject(b))
                        return fail(c, xasprintf("%s.%d: expected a text block", path, i));
                i++;
                if (!str_eq(json_get_str(b, "type"), "text"))
                        continue;
                text = json_get_str(b, "text");
                if (text == NULL)
                        return fail(c, xasprintf("%s.%d.text: expected a string", path, i - 1));
                if (strncmp(text, BILLING_PREFIX, strlen(BILLING_PREFIX)) == 0)
                        continue;
                append_piece(out, text, "\n\n");
        }
        return 0;
}

/* ---- content blocks -------------------------------------------------------------------- */

static cJSON *text_part(const char *text)
{
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "text");
        cJSON_AddStringToObject(p, "text", text);
        return p;
}

static cJSON *data_url(const char *media_type, const char *data)
{
        struct buf b;
        cJSON *s;

        buf_init(&b);
        buf_printf(&b, "data:%s;base64,", media_type);
        buf_puts(&b, data);
        s = cJSON_CreateString(buf_str(&b));
        buf_fini(&b);
        return s;
}

/* An image_url part for an image block, or NULL when its source cannot be expressed as a URL. */
static cJSON *image_part(const cJSON *block)
{
        const cJSON *src = json_get(block, "source");
        const char *st = json_get_str(src, "type");
        cJSON *p, *iu;

        if (str_eq(st, "base64")) {
                const char *mt = json_get_str(src, "media_type");
                const char *data = json_get_str(src, "data");
                if (data == NULL)
                        return NULL;
                iu = cJSON_CreateObject();
                json_set(iu, "url", data_url(mt != NULL ? mt : "image/png", data));
        } else if (str_eq(st, "url") && json_get_str(src, "url") != NULL) {
                iu = cJSON_CreateObject();
                cJSON_AddStringToObject(iu, "url", json_get_str(src, "url"));
        } else {
                return NULL;
        }
        p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "image_url");
        cJSON_AddItemToObject(p, "image_url", iu);
        return p;
}

static cJSON *file_part(const cJSON *block, const char *media_type, const char *data)
{
        const char *title = json_get_str(block, "title");
        cJSON *p = cJSON_CreateObject();
        cJSON *f = cJSON_CreateObject();

        cJSON_AddStringToObject(f, "filename",
                                title != NULL && title[0] != '\0' ? title : "document.pdf");
        json_set(f, "file_data", data_url(media_type, data));
        cJSON_AddStringToObject(p, "type", "file");
        cJSON_AddItemToObject(p, "file", f);
        return p;
}

/*
 * Appends the OpenAI parts for a document block to parts. Text documents become text; a PDF
 * becomes a file part; a URL cannot be fetched by most upstreams, so it is named in text.
 * Returns false when the document has no usable source.
 */
static bool document_parts(const cJSON *block, cJSON *parts)
{
        const cJSON *src = json_get(block, "source");
        const char *st = json_get_str(src, "type");

        if (str_eq(st, "text")) {
                const char *data = json_get_str(src, "data");
                if (data == NULL)
                        return false;
                if (data[0] != '\0')
                        cJSON_AddItemToArray(parts, text_part(data));
                return true;
        }
        if (str_eq(st, "base64")) {
                const char *mt = json_get_str(src, "media_type");
                const char *data = json_get_str(src, "data");
                if (data == NULL)
                        return false;
                cJSON_AddItemToArray(parts,
                                     file_part(block, mt != NULL ? mt : "application/pdf", data));
                return true;
        }
        if (str_eq(st, "url") && json_get_str(src, "url") != NULL) {
                char *t = xasprintf("[document: %s]", json_get_str(src, "url"));
                cJSON_AddItemToArray(parts, text_part(t));
                free(t);
                return true;
        }
        if (str_eq(st, "content")) {
                const cJSON *content = json_get(src, "content");
                const cJSON *b;

                if (cJSON_IsString(content)) {
                        if (content->valuestring[0] != '\0')
                                cJSON_AddItemToArray(parts, text_part(content->valuestring));
                        return true;
                }
                cJSON_ArrayForEach(b, content)
                {
                        const char *type = json_get_str(b, "type");
                        const char *text = json_get_str(b, "text");
                        cJSON *img;

                        if (str_eq(type, "text") && text != NULL && text[0] != '\0')
                                cJSON_AddItemToArray(parts, text_part(text));
                        else if (str_eq(type, "image") && (img = image_part(b)) != NULL)
                                cJSON_AddItemToArray(parts, img);
                }
                return true;
        }
        return false;
}

/*
 * The text of a tool message for a tool_result block. OpenAI tool messages carry text only, so
 * images and PDFs found inside leave a placeholder here and their parts go to attach, which the
 * caller sends in the user message that follows.
 */
static char *tool_result_text(const cJSON *block, cJSON *attach)
{
        const cJSON *content = json_get(block, "content");
        struct buf out, body;
        const cJSON *b;

        buf_init(&body);
        if (cJSON_IsString(content)) {
                buf_puts(&body, content->valuestring);
        } else if (cJSON_IsArray(content)) {
                cJSON_ArrayForEach(b, content)
                {
                        const char *type = json_get_str(b, "type");
                        cJSON *p;

                        if (str_eq(type, "text")) {
                                append_piece(&body, json_get_str(b, "text"), "\n");
                        } else if (str_eq(type, "image")) {
                                p = image_part(b);
                                if (p != NULL) {
                                        cJSON_AddItemToArray(attach, p);
                                        append_piece(&body, IMAGE_PLACEHOLDER, "\n");
                                } else {
                                        append_piece(&body, "[image omitted]", "\n");
                                }
                        } else if (str_eq(type, "document")) {
                                cJSON *tmp = cJSON_CreateArray();
                                cJSON *q;

                                document_parts(b, tmp);
                                /* Text stays in the tool message; anything else is attached. */
                                while ((q = cJSON_DetachItemFromArray(tmp, 0)) != NULL) {
                                        if (str_eq(json_get_str(q, "type"), "text")) {
                                                append_piece(&body, json_get_str(q, "text"), "\n");
                                                cJSON_Delete(q);
                                        } else {
                                                cJSON_AddItemToArray(attach, q);
                                                append_piece(&body, DOC_PLACEHOLDER, "\n");
                                        }
                                }
                                cJSON_Delete(tmp);
                        } else if (str_eq(type, "tool_reference")) {
                                /* ToolSearch results: every tool is already declared upstream. */
                                const char *tn = json_get_str(b, "tool_name");
                                char *t = xasprintf("[tool available: %s]", tn ? tn : "?");
                                append_piece(&body, t, "\n");
                                free(t);
                        }
                }
        }
        buf_init(&out);
        if (json_get_bool(block, "is_error", false))
                buf_puts(&out, ERROR_PREFIX);
        buf_append(&out, buf_str(&body), body.len);
        buf_fini(&body);
        return buf_detach(&out);
}

/* ---- tool-call ids ----------------------------------------------------------------------- */

static size_t id_hash(const char *s)
{
        size_t h = 14695981039346656037ULL & SIZE_MAX; /* FNV-1a */

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
        return h;
}

/* The slot holding id, or the empty slot where it would go. */
static size_t id_slot(const struct ctx *c, const char *id)
{
        size_t i = id_hash(id) & (c->cap_used - 1);

        while (c->used[i] != NULL && strcmp(c->used[i], id) != 0)
                i = (i + 1) & (c->cap_used - 1);
        return i;
}

static void id_add(struct ctx *c, const char *id)
{
        if (2 * (c->n_used + 1) > c->cap_used) {
                char **old = c->used;
                size_t old_cap = c->cap_used;

                c->cap_used = old_cap ? old_cap * 2 : 32;
                c->used = xcalloc(c->cap_used, sizeof *c->used);
                for (size_t i = 0; i < old_cap; i++)
                        if (old[i] != NULL)
                                c->used[id_slot(c, old[i])] = old[i];
                free(old);
        }
        c->used[id_slot(c, id)] = xstrdup(id);
        c->n_used++;
}

static bool id_used(const struct ctx *c, const char *id)
{
        return c->cap_used > 0 && c->used[id_slot(c, id)] != NULL;
}

/*
 * The upstream id for a tool_use id, unique within the request. A repeated id (duplicated
 * history) is derived from "<id>#<n>", so the same history maps identically on every turn.
 */
static void upstream_id(struct ctx *c, const char *client_id, char out[UPSTREAM_ID_MAX])
{
        ids_upstream_tool(client_id, c->opts->tool_ids, out, UPSTREAM_ID_MAX);
        for (int n = 2; id_used(c, out); n++) {
                char *alt = xasprintf("%s#%d", client_id, n);
                ids_upstream_tool(alt, c->opts->tool_ids, out, UPSTREAM_ID_MAX);
                free(alt);
        }
        id_add(c, out);
}

static void tool_message(struct ctx *c, const char *upstream, const char *content)
{
        cJSON *m = cJSON_CreateObject();

        /* Some servers reject a tool message with empty content (models.yaml's
         * empty_tool_result, e.g. "(no output)"). */
        if (content[0] == '\0' && c->opts->empty_tool_result != NULL)
                content = c->opts->empty_tool_result;

        cJSON_AddStringToObject(m, "role", "tool");
        cJSON_AddStringToObject(m, "tool_call_id", upstream);
        cJSON_AddStringToObject(m, "content", content);
        cJSON_AddItemToArray(c->out, m);
}

/* Answers every call still waiting with a synthetic result and forgets them. */
static void flush_pending(struct ctx *c)
{
        for (size_t i = 0; i < c->n_pending; i++)
                if (!c->pending[i].answered)
                        tool_message(c, c->pending[i].upstream_id, NO_RESULT);
        c->n_pending = 0;
}

/* ---- turns --------------------------------------------------------------------------------- */

/* Collects the content of messages[i] as parts; validates the shape of every block. */
static int collect_parts(struct ctx *c, const cJSON *msg, int mi, struct parts *p)
{
        const cJSON *content = json_get(msg, "content");
        const cJSON *b;
        int k = 0;

        if (cJSON_IsString(content)) {
                parts_push(p, NULL, content->valuestring, mi, -1);
                return 0;
        }
        if (!cJSON_IsArray(content))
                return fail(c, xasprintf("messages.%d.content: expected a string or an array "
                                         "of content blocks",
                                         mi));
        cJSON_ArrayForEach(b, content)
        {
                const char *type = json_get_str(b, "type");

                if (!cJSON_IsObject(b) || type == NULL)
                        return fail(c, xasprintf("messages.%d.content.%d: expected a content "
                                                 "block with a \"type\"",
                                                 mi, k));
                if (str_eq(type, "text") && json_get_str(b, "text") == NULL)
                        return fail(
                            c, xasprintf("messages.%d.content.%d.text: expected a string", mi, k));
                parts_push(p, b, str_eq(type, "text") ? json_get_str(b, "text") : NULL, mi, k);
                k++;
        }
        return 0;
}

static bool part_is(const struct part *p, const char *type)
{
        if (p->block == NULL)
                return str_eq(type, "text");
        return str_eq(json_get_str(p->block, "type"), type);
}

static int assistant_turn(struct ctx *c, const struct parts *p)
{
        struct buf text, reasoning;
        cJSON *calls = cJSON_CreateArray();
        cJSON *m;
        size_t first_call = c->n_pending; /* 0: flushed before every assistant turn */

        buf_init(&text);
        buf_init(&reasoning);
        for (size_t i = 0; i < p->n; i++) {
                const struct part *pt = &p->v[i];

                if (part_is(pt, "text")) {
                        append_piece(&text, pt->text, "\n\n");
                } else if (part_is(pt, "tool_use")) {
                        const char *id = json_get_str(pt->block, "id");
                        const char *name = json_get_str(pt->block, "name");
                        const cJSON *input = json_get(pt->block, "input");
                        bool dup = false;
                        cJSON *call, *fn;
                        char *args;

                        if (name == NULL || id == NULL) {
                                buf_fini(&text);
                                buf_fini(&reasoning);
                                cJSON_Delete(calls);
                                return fail(c, xasprintf("messages.%d.content.%d: tool_use "
                                                         "without %s",
                                                         pt->msg, pt->idx,
                                                         name == NULL ? "a name" : "an id"));
                        }
                        /* The same call twice in one turn is a repeat, not a second call. */
                        for (size_t k = first_call; k < c->n_pending; k++)
                                dup = dup || strcmp(c->pending[k].client_id, id) == 0;
                        if (dup)
                                continue;
                        if (c->n_pending == c->cap_pending) {
                                c->cap_pending = c->cap_pending ? c->cap_pending * 2 : 8;
                                c->pending =
                                    xrealloc(c->pending, c->cap_pending * sizeof *c->pending);
                        }
                        c->pending[c->n_pending].client_id = id;
                        c->pending[c->n_pending].answered = false;
                        upstream_id(c, id, c->pending[c->n_pending].upstream_id);
                        args = cJSON_IsObject(input) ? json_print(input) : xstrdup("{}");
                        fn = cJSON_CreateObject();
                        cJSON_AddStringToObject(fn, "name", toolmap_upstream(c->names, name));
                        cJSON_AddStringToObject(fn, "arguments", args);
                        free(args);
                        call = cJSON_CreateObject();
                        cJSON_AddStringToObject(call, "id", c->pending[c->n_pending].upstream_id);
                        cJSON_AddStringToObject(call, "type", "function");
                        cJSON_AddItemToObject(call, "function", fn);
                        cJSON_AddItemToArray(calls, call);
                        c->n_pending++;
                } else if (part_is(pt, "thinking") &&
                           c->opts->history_thinking == XLATE_HISTORY_REASONING_CONTENT) {
                        append_piece(&reasoning, json_get_str(pt->block, "thinking"), "\n\n");
                }
                /* redacted_thinking is opaque to other providers; server tool blocks and
                 * unknown types cannot be replayed to an OpenAI upstream: all dropped. */
        }

        if (text.len == 0 && reasoning.len == 0 && cJSON_GetArraySize(calls) == 0) {
                buf_fini(&text);
                buf_fini(&reasoning);
                cJSON_Delete(calls);
                return 0;
        }
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "assistant");
        if (text.len > 0)
                cJSON_AddStringToObject(m, "content", buf_str(&text));
        else if (cJSON_GetArraySize(calls) > 0 && !c->opts->empty_content_string)
                cJSON_AddNullToObject(m, "content");
        else
                cJSON_AddStringToObject(m, "content", "");
        /* DeepSeek in thinking mode rejects a tool-call turn without reasoning_content. */
        if (c->opts->history_thinking == XLATE_HISTORY_REASONING_CONTENT &&
            (reasoning.len > 0 || cJSON_GetArraySize(calls) > 0))
                cJSON_AddStringToObject(m, "reasoning_content", buf_str(&reasoning));
        if (cJSON_GetArraySize(calls) > 0)
                cJSON_AddItemToObject(m, "tool_calls", calls);
        else
                cJSON_Delete(calls);
        cJSON_AddItemToArray(c->out, m);
        buf_fini(&text);
        buf_fini(&reasoning);
        return 0;
}

/* The pending call a tool_use_id answers, or NULL. */
static struct call *find_call(struct ctx *c, const char *id)
{
        for (size_t i = 0; id != NULL && i < c->n_pending; i++)
                if (strcmp(c->pending[i].client_id, id) == 0)
                        return &c->pending[i];
        return NULL;
}

/* Adds the parts of one non-tool_result user block; unknown types are dropped. */
static int user_block(struct ctx *c, const struct part *pt, cJSON *parts)
{
        cJSON *img;

        if (part_is(pt, "text")) {
                if (pt->text[0] != '\0')
                        cJSON_AddItemToArray(parts, text_part(pt->text));
        } else if (part_is(pt, "image")) {
                img = image_part(pt->block);
                if (img == NULL)
                        return fail(c, xasprintf("messages.%d.content.%d.source: unsupported "
                                                 "image source (expected base64 or url)",
                                                 pt->msg, pt->idx));
                cJSON_AddItemToArray(parts, img);
        } else if (part_is(pt, "document")) {
                if (!document_parts(pt->block, parts))
                        return fail(c, xasprintf("messages.%d.content.%d.source: unsupported "
                                                 "document source",
                                                 pt->msg, pt->idx));
        }
        return 0;
}

/* Emits parts as one user message: a plain string when they are all text. */
static void user_message(struct ctx *c, cJSON *parts)
{
        const cJSON *q;
        bool all_text = true;
        cJSON *m;

        if (cJSON_GetArraySize(parts) == 0) {
                cJSON_Delete(parts);
                return;
        }
        cJSON_ArrayForEach(q, parts)
        {
                all_text = all_text && str_eq(json_get_str(q, "type"), "text");
        }
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        if (all_text) {
                struct buf b;

                buf_init(&b);
                cJSON_ArrayForEach(q, parts)
                {
                        append_piece(&b, json_get_str(q, "text"), "\n\n");
                }
                cJSON_AddStringToObject(m, "content", buf_str(&b));
                buf_fini(&b);
                cJSON_Delete(parts);
        } else {
                cJSON_AddItemToObject(m, "content", parts);
        }
        cJSON_AddItemToArray(c->out, m);
}

static int user_turn(struct ctx *c, const struct parts *p)
{
        bool *used = xcalloc(p->n ? p->n : 1, sizeof *used);
        cJSON **attach = xcalloc(p->n ? p->n : 1, sizeof *attach);
        cJSON *parts = cJSON_CreateArray();
        int rc = 0;

        /* Validate first, so a bad block does not leave half a turn behind. */
        for (size_t i = 0; i < p->n; i++)
                if (part_is(&p->v[i], "tool_result") &&
                    json_get_str(p->v[i].block, "tool_use_id") == NULL) {
                        rc = fail(c, xasprintf("messages.%d.content.%d: tool_result without a "
                                               "tool_use_id",
                                               p->v[i].msg, p->v[i].idx));
                        goto out;
                }

        /* Tool messages first, in the order of the calls they answer. */
        for (size_t k = 0; k < c->n_pending; k++) {
                struct call *call = &c->pending[k];

                for (size_t i = 0; i < p->n && !call->answered; i++) {
                        const struct part *pt = &p->v[i];
                        char *text;

                        if (used[i] || !part_is(pt, "tool_result") ||
                            !str_eq(json_get_str(pt->block, "tool_use_id"), call->client_id))
                                continue;
                        used[i] = true;
                        attach[i] = cJSON_CreateArray();
                        text = tool_result_text(pt->block, attach[i]);
                        tool_message(c, call->upstream_id, text);
                        free(text);
                        call->answered = true;
                }
                if (!call->answered) {
                        tool_message(c, call->upstream_id, NO_RESULT);
                        call->answered = true;
                }
        }

        /* Then everything else, in the order the client wrote it. */
        for (size_t i = 0; i < p->n; i++) {
                const struct part *pt = &p->v[i];

                if (!part_is(pt, "tool_result")) {
                        rc = user_block(c, pt, parts);
                        if (rc < 0)
                                goto out;
                } else if (used[i]) {
                        cJSON *q;
                        while ((q = cJSON_DetachItemFromArray(attach[i], 0)) != NULL)
                                cJSON_AddItemToArray(parts, q);
                } else if (find_call(c, json_get_str(pt->block, "tool_use_id")) == NULL) {
                        /* An orphan: keep what it says, as text the model can still read. */
                        cJSON *extra = cJSON_CreateArray();
                        char *body = tool_result_text(pt->block, extra);
                        char *t = xasprintf("[tool result for %s]\n%s",
                                            json_get_str(pt->block, "tool_use_id"), body);
                        cJSON *q;

                        cJSON_AddItemToArray(parts, text_part(t));
                        while ((q = cJSON_DetachItemFromArray(extra, 0)) != NULL)
                                cJSON_AddItemToArray(parts, q);
                        cJSON_Delete(extra);
                        free(t);
                        free(body);
                }
                /* else: a second result for a call already answered (repeated history). */
        }
        c->n_pending = 0;
        user_message(c, parts);
        parts = NULL;
out:
        for (size_t i = 0; i < p->n; i++)
                cJSON_Delete(attach[i]);
        free(attach);
        free(used);
        cJSON_Delete(parts);
        return rc;
}

/*
 * Walks messages[]. System-role messages (Claude Code puts its environment block there) are
 * merged into the system prompt in sys; the last one's output_config.effort is returned in
 * *effort because Claude Code uses it for a per-turn effort.
 */
static int walk_messages(struct ctx *c, const cJSON *msgs, struct buf *sys, const char **effort)
{
        int n = cJSON_GetArraySize(msgs);
        struct parts p = {0};
        const char *run_role = NULL;
        int rc = 0;

        for (int i = 0; i <= n; i++) {
                const cJSON *m = i < n ? cJSON_GetArrayItem(msgs, i) : NULL;
                const char *role = NULL;

                if (m != NULL) {
                        if (!cJSON_IsObject(m)) {
                                rc = fail(c, xasprintf("messages.%d: expected an object", i));
                                break;
                        }
                        role = json_get_str(m, "role");
                        if (role == NULL) {
                                rc = fail(c, xasprintf("messages.%d.role: missing", i));
                                break;
                        }
                        if (str_eq(role, "system")) {
                                char *path = xasprintf("messages.%d.content", i);
                                const char *e =
                                    json_get_str(json_get(m, "output_config"), "effort");

                                rc = system_text(c, json_get(m, "content"), path, sys);
                                free(path);
                                if (rc < 0)
                                        break;
                                if (e != NULL)
                                        *effort = e;
                                continue;
                        }
                        if (!str_eq(role, "user") && !str_eq(role, "assistant")) {
                                rc = fail(c, xasprintf("messages.%d.role: unknown role \"%s\" "
                                                       "(expected user or assistant)",
                                                       i, role));
                                break;
                        }
                }
                /* A role change (or the end) closes the turn collected so far. */
                if (run_role != NULL && (m == NULL || !str_eq(role, run_role))) {
                        if (str_eq(run_role, "assistant")) {
                                flush_pending(c);
                                rc = assistant_turn(c, &p);
                        } else {
                                rc = user_turn(c, &p);
                        }
                        if (rc < 0)
                                break;
                        p.n = 0;
                }
                if (m == NULL)
                        break;
                run_role = role;
                rc = collect_parts(c, m, i, &p);
                if (rc < 0)
                        break;
        }
        if (rc == 0)
                flush_pending(c);
        free(p.v);
        return rc;
}

/* ---- tools --------------------------------------------------------------------------------- */

static bool format_supported(const char *f)
{
        static const char *const ok[] = {"date-time", "enum", "int32", "int64", "float", "double"};

        for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
                if (strcmp(f, ok[i]) == 0)
                        return true;
        return false;
}

/*
 * Strips the keywords Gemini-like servers reject. Only keys in schema position are touched:
 * a property that happens to be called "const" is data and stays.
 */
static void sanitize_schema(cJSON *s)
{
        static const char *const drop[] = {"$schema", "additionalProperties", "propertyNames",
                                           "const",   "exclusiveMinimum",     "exclusiveMaximum"};
        static const char *const maps[] = {"properties", "patternProperties", "$defs",
                                           "definitions", "dependentSchemas"};
        static const char *const subs[] = {
            "items",    "additionalItems", "not",   "if",    "then",       "else",
            "contains", "anyOf",           "oneOf", "allOf", "prefixItems"};
        cJSON *k, *next;

        if (cJSON_IsArray(s)) {
                cJSON_ArrayForEach(k, s)
                {
                        sanitize_schema(k);
                }
                return;
        }
        if (!cJSON_IsObject(s))
                return;
        for (k = s->child; k != NULL; k = next) {
                bool gone = false;

                next = k->next;
                for (size_t i = 0; i < sizeof drop / sizeof drop[0] && !gone; i++)
                        gone = strcmp(k->string, drop[i]) == 0;
                if (!gone && strcmp(k->string, "format") == 0)
                        gone = !cJSON_IsString(k) || !format_supported(k->valuestring);
                if (gone) {
                        cJSON_Delete(cJSON_DetachItemViaPointer(s, k));
                        continue;
                }
                for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
                        cJSON *v;
                        if (strcmp(k->string, maps[i]) == 0 && cJSON_IsObject(k))
                                cJSON_ArrayForEach(v, k)
                                {
                                        sanitize_schema(v);
                                }
                }
                for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
                        if (strcmp(k->string, subs[i]) == 0)
                                sanitize_schema(k);
        }
}

/* Converts the custom tools; *kept gets the tools array (NULL when no tool remains). */
static int convert_tools(struct ctx *c, const cJSON *req, cJSON **kept)
{
        const cJSON *tools = json_get(req, "tools");
        const cJSON *t;
        cJSON *out;
        int i = 0;

        *kept = NULL;
        if (tools == NULL || cJSON_IsNull(tools))
                return 0;
        if (!cJSON_IsArray(tools))
                return fail(c, xstrdup("tools: expected an array"));
        out = cJSON_CreateArray();
        cJSON_ArrayForEach(t, tools)
        {
                const char *type = json_get_str(t, "type");
                const char *name = json_get_str(t, "name");
                const char *desc = json_get_str(t, "description");
                const cJSON *schema = json_get(t, "input_schema");
                cJSON *fn, *tool, *params;

                if (!cJSON_IsObject(t)) {
                        cJSON_Delete(out);
                        return fail(c, xasprintf("tools.%d: expected an object", i));
                }
                i++;
                /* Server tools (web_search_*, bash_*, …) run at Anthropic; nothing to send. */
                if (type != NULL && strcmp(type, "custom") != 0)
                        continue;
                if (name == NULL || name[0] == '\0') {
                        cJSON_Delete(out);
                        return fail(c, xasprintf("tools.%d.name: missing", i - 1));
                }
                params = cJSON_IsObject(schema)
                             ? cJSON_Duplicate(schema, 1)
                             : cJSON_Parse("{\"type\":\"object\",\"properties\":{}}");
                if (c->opts->sanitize_schema)
                        sanitize_schema(params);
                fn = cJSON_CreateObject();
                cJSON_AddStringToObject(fn, "name", toolmap_upstream(c->names, name));
                if (desc != NULL)
                        cJSON_AddStringToObject(fn, "description", desc);
                cJSON_AddItemToObject(fn, "parameters", params);
                tool = cJSON_CreateObject();
                cJSON_AddStringToObject(tool, "type", "function");
                cJSON_AddItemToObject(tool, "function", fn);
                cJSON_AddItemToArray(out, tool);
        }
        if (cJSON_GetArraySize(out) == 0) {
                cJSON_Delete(out);
                return 0;
        }
        *kept = out;
        return 0;
}

static bool tools_have(const cJSON *tools, const char *upstream_name)
{
        const cJSON *t;

        cJSON_ArrayForEach(t, tools)
        {
                if (str_eq(json_get_str(json_get(t, "function"), "name"), upstream_name))
                        return true;
        }
        return false;
}

/* tool_choice and parallel_tool_calls; only called when tools remain. */
static int convert_tool_choice(struct ctx *c, const cJSON *req, const cJSON *tools, cJSON *body)
{
        const cJSON *tc = json_get(req, "tool_choice");
        const char *type;

        if (tc == NULL || cJSON_IsNull(tc))
                return 0;
        if (!cJSON_IsObject(tc))
                return fail(c, xstrdup("tool_choice: expected an object"));
        type = json_get_str(tc, "type");
        if (str_eq(type, "auto")) {
                cJSON_AddStringToObject(body, "tool_choice", "auto");
        } else if (str_eq(type, "any")) {
                cJSON_AddStringToObject(body, "tool_choice", "required");
        } else if (str_eq(type, "none")) {
                cJSON_AddStringToObject(body, "tool_choice", "none");
        } else if (str_eq(type, "tool")) {
                const char *name = json_get_str(tc, "name");
                const char *up;

                if (name == NULL)
                        return fail(c, xstrdup("tool_choice.name: missing"));
                up = toolmap_upstream(c->names, name);
                /* A forced server tool was dropped: naming it would be rejected upstream. */
                if (tools_have(tools, up)) {
                        cJSON *v = cJSON_CreateObject();
                        cJSON *fn = cJSON_CreateObject();
                        cJSON_AddStringToObject(fn, "name", up);
                        cJSON_AddStringToObject(v, "type", "function");
                        cJSON_AddItemToObject(v, "function", fn);
                        cJSON_AddItemToObject(body, "tool_choice", v);
                }
        }
        if (json_get_bool(tc, "disable_parallel_tool_use", false))
                cJSON_AddFalseToObject(body, "parallel_tool_calls");
        return 0;
}

/* ---- reasoning ------------------------------------------------------------------------------ */

const char *xlate_request_effort_for_budget(long budget)
{
        if (budget < 4096)
                return "low";
        if (budget < 16384)
                return "medium";
        return "high";
}

/* Anthropic's effort levels onto the three every upstream knows. */
static const char *normalize_effort(const char *e)
{
        if (str_eq(e, "low") || str_eq(e, "medium") || str_eq(e, "high"))
                return e;
        if (str_eq(e, "max") || str_eq(e, "xhigh"))
                return "high";
        if (str_eq(e, "minimal"))
                return "low";
        return "medium";
}

static void convert_reasoning(const struct ctx *c, const cJSON *req, const char *turn_effort,
                              cJSON *body)
{
        const struct xlate_request_opts *o = c->opts;
        const cJSON *thinking = json_get(req, "thinking");
        const char *tt = json_get_str(thinking, "type");
        const char *effort = NULL; /* NULL: thinking off */
        bool minimal = false;
        double budget = 0;

        if (o->reasoning_effort != NULL) {
                if (strcmp(o->reasoning_effort, "minimal") == 0)
                        minimal = true;
                else
                        effort = o->reasoning_effort;
        } else if (str_eq(tt, "enabled")) {
                if (json_get_num(thinking, "budget_tokens", &budget) && budget > 0)
                        effort = xlate_request_effort_for_budget(json_to_long(budget));
                else
                        effort = "medium";
        } else if (str_eq(tt, "adaptive")) {
                const char *e = turn_effort;
                if (e == NULL)
                        e = json_get_str(json_get(req, "output_config"), "effort");
                effort = normalize_effort(e);
        }

        switch (o->reasoning) {
        case XLATE_REASONING_EFFORT:
                if (effort != NULL || minimal)
                        cJSON_AddStringToObject(body, "reasoning_effort",
                                                minimal ? "minimal" : effort);
                break;
        case XLATE_REASONING_DEEPSEEK: {
                /* DeepSeek's hybrid models think unless told not to. */
                cJSON *t = cJSON_CreateObject();
                cJSON_AddStringToObject(t, "type", effort != NULL ? "enabled" : "disabled");
                cJSON_AddItemToObject(body, "thinking", t);
                if (effort != NULL)
                        cJSON_AddStringToObject(body, "reasoning_effort", effort);
                break;
        }
        case XLATE_REASONING_OPENROUTER: {
                cJSON *r;
                if (effort == NULL && !minimal)
                        break;
                r = cJSON_CreateObject();
                if (o->reasoning_effort == NULL && budget > 0)
                        cJSON_AddNumberToObject(r, "max_tokens", floor(budget));
                else
                        cJSON_AddStringToObject(r, "effort", minimal ? "minimal" : effort);
                cJSON_AddItemToObject(body, "reasoning", r);
                break;
        }
        case XLATE_REASONING_QWEN: {
                /* Qwen3's chat template thinks unless told not to, like DeepSeek. */
                cJSON *k = cJSON_CreateObject();
                cJSON_AddBoolToObject(k, "enable_thinking", effort != NULL);
                cJSON_AddItemToObject(body, "chat_template_kwargs", k);
                break;
        }
        case XLATE_REASONING_NONE:
                break;
        }
}

/* ---- the rest of the body ---------------------------------------------------------------- */

static int convert_scalars(struct ctx *c, const cJSON *req, cJSON *body)
{
        const struct xlate_request_opts *o = c->opts;
        const cJSON *mt = json_get(req, "max_tokens");
        const cJSON *stop = json_get(req, "stop_sequences");
        const char *uid = json_get_str(json_get(req, "metadata"), "user_id");
        double v;

        if (mt != NULL && !cJSON_IsNull(mt)) {
                double n = mt->valuedouble;

                if (!cJSON_IsNumber(mt) || n < 1 || n != floor(n))
                        return fail(c, xstrdup("max_tokens: expected a positive integer"));
                if (o->max_tokens_cap > 0 && n > (double)o->max_tokens_cap)
                        n = (double)o->max_tokens_cap;
                cJSON_AddNumberToObject(
                    body, o->max_completion_tokens ? "max_completion_tokens" : "max_tokens", n);
        }
        if (cJSON_IsArray(stop)) {
                cJSON *s = cJSON_CreateArray();
                const cJSON *e;
                cJSON_ArrayForEach(e, stop)
                {
                        if (cJSON_IsString(e) && cJSON_GetArraySize(s) < MAX_STOP)
                                cJSON_AddItemToArray(s, cJSON_CreateString(e->valuestring));
                }
                if (cJSON_GetArraySize(s) > 0)
                        cJSON_AddItemToObject(body, "stop", s);
                else
                        cJSON_Delete(s);
        }
        if (!o->drop_sampling) {
                if (o->has_temperature)
                        cJSON_AddNumberToObject(body, "temperature", o->temperature);
                else if (json_get_num(req, "temperature", &v))
                        cJSON_AddNumberToObject(body, "temperature", v);
                if (json_get_num(req, "top_p", &v))
                        cJSON_AddNumberToObject(body, "top_p", v);
        }
        if (o->stream) {
                cJSON_AddTrueToObject(body, "stream");
                if (o->stream_usage) {
                        cJSON *so = cJSON_CreateObject();
                        cJSON_AddTrueToObject(so, "include_usage");
                        cJSON_AddItemToObject(body, "stream_options", so);
                }
        }
        if (uid != NULL && uid[0] != '\0') {
                if (strlen(uid) <= MAX_USER_LEN) {
                        cJSON_AddStringToObject(body, "user", uid);
                } else {
                        char hex[65];
                        sha256_hex(uid, strlen(uid), hex);
                        cJSON_AddStringToObject(body, "user", hex);
                }
        }
        return 0;
}

int xlate_request(const cJSON *req, const struct xlate_request_opts *opts, struct toolmap *names,
                  cJSON **out, char **cause)
{
        struct ctx c = {.opts = opts, .cause = cause};
        struct toolmap *own = NULL;
        const cJSON *msgs = json_get(req, "messages");
        const char *model = opts->upstream_model;
        const char *turn_effort = NULL;
        cJSON *body = NULL, *tools = NULL;
        struct buf sys;
        int rc;

        *out = NULL;
        if (!cJSON_IsObject(req)) {
                *cause = xstrdup("the request body must be a JSON object");
                return -1;
        }
        if (!cJSON_IsArray(msgs)) {
                *cause = xstrdup("messages: missing or not an array");
                return -1;
        }
        if (names == NULL)
                names = own = toolmap_new();
        c.names = names;
        c.out = cJSON_CreateArray();
        buf_init(&sys);

        rc = system_text(&c, json_get(req, "system"), "system", &sys);
        if (rc == 0)
                rc = walk_messages(&c, msgs, &sys, &turn_effort);
        if (rc == 0)
                rc = convert_tools(&c, req, &tools);
        if (rc < 0)
                goto out;

        body = cJSON_CreateObject();
        if (model == NULL)
                model = json_get_str(req, "model");
        cJSON_AddStringToObject(body, "model", model != NULL ? model : "");
        if (sys.len > 0) {
                cJSON *m = cJSON_CreateObject();
                cJSON_AddStringToObject(m, "role", opts->developer_role ? "developer" : "system");
                cJSON_AddStringToObject(m, "content", buf_str(&sys));
                cJSON_InsertItemInArray(c.out, 0, m);
        }
        cJSON_AddItemToObject(body, "messages", c.out);
        c.out = NULL;
        if (tools != NULL) {
                cJSON_AddItemToObject(body, "tools", tools);
                rc = convert_tool_choice(&c, req, tools, body);
                tools = NULL;
                if (rc < 0)
                        goto out;
        }
        convert_reasoning(&c, req, turn_effort, body);
        rc = convert_scalars(&c, req, body);
        if (rc < 0)
                goto out;
        if (cJSON_IsObject(opts->extra_body))
                json_merge(body, opts->extra_body);
        *out = body;
        body = NULL;
out:
        cJSON_Delete(body);
        cJSON_Delete(tools);
        cJSON_Delete(c.out);
        for (size_t i = 0; i < c.cap_used; i++)
                free(c.used[i]);
        free(c.used);
        free(c.pending);
        buf_fini(&sys);
        toolmap_free(own);
        return rc;
}
