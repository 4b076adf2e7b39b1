/*
 * passthrough: what direct mode changes and what it only observes (see passthrough.h).
 */
#include "passthrough.h"

#include "alloc.h"
#include "ids.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *passthrough_url(const char *api_base, const char *uri)
{
        size_t n = strlen(api_base);
        const char *path = uri != NULL && *uri != '\0' ? uri : "/";

        while (n > 0 && api_base[n - 1] == '/')
                n--;
        while (strncmp(path, "/v1/v1/", 7) == 0 || strncmp(path, "/v1/v1?", 7) == 0)
                path += 3;
        if (n >= 3 && strncmp(api_base + n - 3, "/v1", 3) == 0 &&
            (strncmp(path, "/v1/", 4) == 0 || strncmp(path, "/v1?", 4) == 0))
                path += 3;
        return xasprintf("%.*s%s", (int)n, api_base, path);
}

static bool valid_tool_id(const char *id)
{
        if (id == NULL || *id == '\0')
                return false;
        for (const char *p = id; *p != '\0'; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
                        return false;
        return true;
}

/* A block Anthropic would reject in replayed history. */
static bool block_is_bad(const cJSON *b)
{
        const char *type = json_get_str(b, "type");
        const char *v;

        if (type == NULL)
                return false;
        if (strcmp(type, "thinking") == 0) {
                v = json_get_str(b, "signature");
                return v == NULL || *v == '\0';
        }
        if (strcmp(type, "text") == 0) {
                v = json_get_str(b, "text");
                return v != NULL && *v == '\0';
        }
        if (strcmp(type, "tool_use") == 0)
                return !valid_tool_id(json_get_str(b, "id"));
        if (strcmp(type, "tool_result") == 0)
                return !valid_tool_id(json_get_str(b, "tool_use_id"));
        return false;
}

static bool needs_repair(const cJSON *req)
{
        const cJSON *m;
        const cJSON *b;

        cJSON_ArrayForEach(m, json_get(req, "messages"))
        {
                cJSON_ArrayForEach(b, json_get(m, "content"))
                {
                        if (block_is_bad(b))
                                return true;
                }
        }
        return false;
}

static void fix_id(cJSON *block, const char *key)
{
        const char *id = json_get_str(block, key);
        char fixed[128];
        uint64_t state = 0x5EED; /* fixed: the same bad id must map the same way every time */

        if (valid_tool_id(id))
                return;
        ids_client_tool(id != NULL ? id : "", fixed, sizeof fixed, &state);
        json_set(block, key, cJSON_CreateString(fixed));
}

/* Removes unsigned thinking and empty text, fixes tool ids, drops messages left empty. */
static void repair(cJSON *req)
{
        cJSON *msgs = json_get(req, "messages");
        cJSON *m = msgs != NULL ? msgs->child : NULL;

        while (m != NULL) {
                cJSON *next_m = m->next;
                cJSON *content = json_get(m, "content");
                cJSON *b = cJSON_IsArray(content) ? content->child : NULL;

                while (b != NULL) {
                        cJSON *next_b = b->next;
                        const char *type = json_get_str(b, "type");
                        if (type != NULL && strcmp(type, "tool_use") == 0)
                                fix_id(b, "id");
                        else if (type != NULL && strcmp(type, "tool_result") == 0)
                                fix_id(b, "tool_use_id");
                        else if (block_is_bad(b))
                                cJSON_Delete(cJSON_DetachItemViaPointer(content, b));
                        b = next_b;
                }
                if (cJSON_IsArray(content) && cJSON_GetArraySize(content) == 0)
                        cJSON_Delete(cJSON_DetachItemViaPointer(msgs, m));
                m = next_m;
        }
}

/* One value replaced in the raw body. */
struct edit {
        size_t start, end;
        enum { EDIT_MODEL, EDIT_MAX_TOKENS } what;
};

void passthrough_body(const char *raw, size_t n, const cJSON *parsed, const char *model_name,
                      long cap, struct buf *out, bool *repaired)
{
        const char *model = json_get_str(parsed, "model");
        double max_tokens = 0;
        bool cap_it =
            cap > 0 && json_get_num(parsed, "max_tokens", &max_tokens) && max_tokens > (double)cap;
        bool rename = model_name != NULL && (model == NULL || strcmp(model, model_name) != 0);
        size_t ms = 0, me = 0, ts = 0, te = 0;

        *repaired = needs_repair(parsed);
        if (*repaired) {
                cJSON *copy = cJSON_Duplicate(parsed, true);
                repair(copy);
                if (rename)
                        json_set(copy, "model", cJSON_CreateString(model_name));
                if (cap_it)
                        json_set(copy, "max_tokens", cJSON_CreateNumber((double)cap));
                json_append(out, copy);
                cJSON_Delete(copy);
                return;
        }
        if (rename && json_member_span(raw, n, "model", &ms, &me) != 0)
                rename = false;
        if (cap_it && json_member_span(raw, n, "max_tokens", &ts, &te) != 0)
                cap_it = false;
        /* Splice the (at most two) replaced values in, in the order they appear. */
        {
                struct edit edits[2];
                size_t n_edits = 0;
                size_t pos = 0;

                if (rename)
                        edits[n_edits++] = (struct edit){ms, me, EDIT_MODEL};
                if (cap_it)
                        edits[n_edits++] = (struct edit){ts, te, EDIT_MAX_TOKENS};
                if (n_edits == 2 && edits[1].start < edits[0].start) {
                        struct edit t = edits[0];
                        edits[0] = edits[1];
                        edits[1] = t;
                }
                for (size_t i = 0; i < n_edits; i++) {
                        buf_append(out, raw + pos, edits[i].start - pos);
                        if (edits[i].what == EDIT_MODEL)
                                json_append_string(out, model_name, strlen(model_name));
                        else
                                buf_printf(out, "%ld", cap);
                        pos = edits[i].end;
                }
                buf_append(out, raw + pos, n - pos);
        }
}

bool passthrough_request_header(const char *name)
{
        static const char *const dropped[] = {
            "host",
            "content-length",
            "connection",
            "keep-alive",
            "proxy-connection",
            "proxy-authorization",
            "proxy-authenticate",
            "te",
            "trailer",
            "trailers",
            "transfer-encoding",
            "upgrade",
            "accept-encoding",
            "x-api-key",
            "authorization",
            "expect",
        };
        for (size_t i = 0; i < sizeof dropped / sizeof dropped[0]; i++)
                if (strcasecmp(name, dropped[i]) == 0)
                        return false;
        return true;
}

char *passthrough_betas(const char *value, char *const *drop, size_t n_drop)
{
        struct buf out;
        const char *p = value;

        buf_init(&out);
        while (*p != '\0') {
                const char *comma = strchr(p, ',');
                const char *end = comma != NULL ? comma : p + strlen(p);
                const char *s = p;
                const char *e = end;
                bool keep = true;

                while (s < e && (*s == ' ' || *s == '\t'))
                        s++;
                while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                        e--;
                for (size_t i = 0; i < n_drop && keep; i++)
                        if (strlen(drop[i]) == (size_t)(e - s) && strncmp(drop[i], s, e - s) == 0)
                                keep = false;
                if (keep && e > s) {
                        if (out.len > 0)
                                buf_putc(&out, ',');
                        buf_append(&out, s, (size_t)(e - s));
                }
                p = comma != NULL ? comma + 1 : end;
        }
        if (out.len == 0) {
                buf_fini(&out);
                return NULL;
        }
        return buf_detach(&out);
}

bool passthrough_response_header(const char *name)
{
        return strcasecmp(name, "content-type") == 0 || strcasecmp(name, "request-id") == 0 ||
               strcasecmp(name, "x-request-id") == 0 || strcasecmp(name, "retry-after") == 0 ||
               strcasecmp(name, "retry-after-ms") == 0 || strcasecmp(name, "x-should-retry") == 0 ||
               strncasecmp(name, "anthropic-", 10) == 0;
}

static void usage_from(const cJSON *u, struct usage *out)
{
        long v;

        if (json_get_long(u, "input_tokens", &v) && v > 0)
                out->input = v;
        if (json_get_long(u, "output_tokens", &v) && v > 0)
                out->output = v;
        if (json_get_long(u, "cache_read_input_tokens", &v) && v > 0)
                out->cache_read = v;
        if (json_get_long(u, "cache_creation_input_tokens", &v) && v > 0)
                out->cache_write = v;
}

static void set_stop(struct xlate_result *r, const char *stop)
{
        if (stop != NULL)
                snprintf(r->stop_reason, sizeof r->stop_reason, "%s", stop);
}

static void count_tools(struct xlate_result *r, const cJSON *block)
{
        const char *type = json_get_str(block, "type");

        if (type != NULL && strcmp(type, "tool_use") == 0)
                r->tool_calls++;
}

static void on_event(void *arg, const char *event, const char *data, size_t len)
{
        struct passthrough_watch *w = arg;
        cJSON *j;
        const char *type;

        (void)event;
        /* Only the few events that carry usage or the stop reason are worth parsing. */
        if (strstr(data, "\"message_start\"") == NULL &&
            strstr(data, "\"message_delta\"") == NULL &&
            strstr(data, "\"content_block_start\"") == NULL)
                return;
        j = json_parse(data, len, NULL);
        type = json_get_str(j, "type");
        if (type != NULL && strcmp(type, "message_start") == 0) {
                usage_from(json_get(json_get(j, "message"), "usage"), &w->result.usage);
        } else if (type != NULL && strcmp(type, "message_delta") == 0) {
                usage_from(json_get(j, "usage"), &w->result.usage);
                set_stop(&w->result, json_get_str(json_get(j, "delta"), "stop_reason"));
        } else if (type != NULL && strcmp(type, "content_block_start") == 0) {
                count_tools(&w->result, json_get(j, "content_block"));
        }
        cJSON_Delete(j);
}

void passthrough_watch_init(struct passthrough_watch *w)
{
        memset(&w->result, 0, sizeof w->result);
        sse_parser_init(&w->parser, on_event, w);
}

void passthrough_watch_fini(struct passthrough_watch *w)
{
        sse_parser_fini(&w->parser);
}

void passthrough_watch_feed(struct passthrough_watch *w, const char *p, size_t n)
{
        sse_parser_feed(&w->parser, p, n);
}

void passthrough_watch_message(struct passthrough_watch *w, const cJSON *msg)
{
        const cJSON *b;

        usage_from(json_get(msg, "usage"), &w->result.usage);
        set_stop(&w->result, json_get_str(msg, "stop_reason"));
        cJSON_ArrayForEach(b, json_get(msg, "content"))
        {
                count_tools(&w->result, b);
        }
}
