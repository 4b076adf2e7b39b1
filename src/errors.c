/*
 * errors: Anthropic error bodies and the mapping of upstream failures onto them (see errors.h).
 *
 * The mapping follows PROTOCOL.md §F.4. Two rewrites matter to Claude Code beyond the status:
 * context overflows become "prompt is too long: N tokens > M maximum" (its context-full UX) or
 * "input length and `max_tokens` exceed context limit: X + Y > Z" (it retries with a smaller
 * max_tokens), and an exhausted quota becomes 402 billing_error so nobody retries it.
 */
#include "errors.h"

#include "alloc.h"
#include "json.h"
#include "sse.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *errors_type_for_status(int status)
{
        switch (status) {
        case 400:
                return "invalid_request_error";
        case 401:
                return "authentication_error";
        case 402:
                return "billing_error";
        case 403:
                return "permission_error";
        case 404:
                return "not_found_error";
        case 413:
                return "request_too_large";
        case 429:
                return "rate_limit_error";
        case 504:
                return "timeout_error";
        case 529:
                return "overloaded_error";
        default:
                return status >= 500 ? "api_error" : "invalid_request_error";
        }
}

void errors_body(struct buf *out, const char *type, const char *message, const char *request_id)
{
        buf_puts(out, "{\"type\":\"error\",\"error\":{\"type\":");
        json_append_string(out, type, strlen(type));
        buf_puts(out, ",\"message\":");
        json_append_string(out, message, strlen(message));
        buf_puts(out, "}");
        if (request_id != NULL) {
                buf_puts(out, ",\"request_id\":");
                json_append_string(out, request_id, strlen(request_id));
        }
        buf_puts(out, "}");
}

void errors_event(struct buf *out, const char *type, const char *message)
{
        struct buf body;

        buf_init(&body);
        errors_body(&body, type, message, NULL);
        sse_write(out, "error", body.data, body.len);
        buf_fini(&body);
}

/* The human message and machine code an OpenAI-compatible error body carries. */
static void upstream_message(const char *body, size_t len, char **message, char **code)
{
        cJSON *root = json_parse(body, len, NULL);
        const cJSON *err = json_get(root, "error");
        const char *msg = NULL;
        const char *c = NULL;

        if (cJSON_IsObject(err)) {
                msg = json_get_str(err, "message");
                c = json_get_str(err, "code");
                if (c == NULL)
                        c = json_get_str(err, "type");
        } else if (cJSON_IsString(err)) {
                msg = err->valuestring;
        }
        if (msg == NULL)
                msg = json_get_str(root, "message");
        if (msg == NULL)
                msg = json_get_str(root, "detail");
        if (msg != NULL)
                *message = xstrdup(msg);
        else if (len > 0)
                *message = xstrndup(body, len > 500 ? 500 : len);
        else
                *message = xstrdup("(empty body)");
        *code = c != NULL ? xstrdup(c) : NULL;
        cJSON_Delete(root);
}

static bool contains(const char *hay, const char *needle)
{
        return hay != NULL && strcasestr(hay, needle) != NULL;
}

/* The first integer after needle in s, or -1. */
static long number_after(const char *s, const char *needle)
{
        const char *p = strcasestr(s, needle);

        if (p == NULL)
                return -1;
        p += strlen(needle);
        while (*p != '\0' && (*p < '0' || *p > '9'))
                p++;
        return *p != '\0' ? strtol(p, NULL, 10) : -1;
}

/* The integer just before needle in s ("60000 in the messages"), or -1. */
static long number_before(const char *s, const char *needle)
{
        const char *p = strcasestr(s, needle);

        if (p == NULL)
                return -1;
        while (p > s && (p[-1] == ' ' || p[-1] == '('))
                p--;
        while (p > s && p[-1] >= '0' && p[-1] <= '9')
                p--;
        return (*p >= '0' && *p <= '9') ? strtol(p, NULL, 10) : -1;
}

static bool is_context_overflow(const char *msg, const char *code)
{
        return (code != NULL && strcmp(code, "context_length_exceeded") == 0) ||
               contains(msg, "maximum context length") || contains(msg, "context length") ||
               contains(msg, "context window") || contains(msg, "prompt is too long") ||
               contains(msg, "too many tokens");
}

/* Rewrites a context overflow in the words Claude Code acts on. */
static char *context_message(const char *msg, long max_tokens)
{
        long limit = number_after(msg, "maximum context length");
        long in_msgs = number_before(msg, "in the messages");
        long in_completion = number_before(msg, "in the completion");
        long requested = number_after(msg, "you requested");
        long prompt = number_after(msg, "messages resulted in");

        if (limit < 0)
                limit = number_after(msg, "context length");
        if (limit > 0 && in_msgs >= 0 && in_completion >= 0)
                return xasprintf("input length and `max_tokens` exceed context limit: %ld + %ld > "
                                 "%ld, decrease input length or `max_tokens` and try again",
                                 in_msgs, in_completion, limit);
        if (limit > 0 && requested > 0 && max_tokens > 0 && requested - max_tokens > 0 &&
            requested - max_tokens <= limit)
                return xasprintf("input length and `max_tokens` exceed context limit: %ld + %ld > "
                                 "%ld, decrease input length or `max_tokens` and try again",
                                 requested - max_tokens, max_tokens, limit);
        if (limit > 0 && prompt > 0)
                return xasprintf("prompt is too long: %ld tokens > %ld maximum", prompt, limit);
        if (limit > 0 && requested > 0)
                return xasprintf("prompt is too long: %ld tokens > %ld maximum", requested, limit);
        return xasprintf("prompt is too long: %s", msg);
}

void errors_from_upstream(int status, const char *body, size_t len, long max_tokens,
                          struct errors_mapped *out)
{
        char *msg = NULL;
        char *code = NULL;

        upstream_message(body, len, &msg, &code);
        out->message = NULL;
        if ((status == 400 || status == 413 || status == 422) && is_context_overflow(msg, code)) {
                out->status = 400;
                out->message = context_message(msg, max_tokens);
        } else if (status == 402 || (code != NULL && strcmp(code, "insufficient_quota") == 0) ||
                   contains(msg, "insufficient balance") || contains(msg, "insufficient_quota")) {
                out->status = 402;
        } else if (status == 408 || status == 504) {
                out->status = 504;
        } else if (status == 503 || status == 529 || contains(msg, "overloaded")) {
                out->status = 529;
        } else if (status == 401 || status == 403 || status == 404 || status == 413 ||
                   status == 429 || status == 500 || status == 502) {
                out->status = status;
        } else if (status >= 500) {
                out->status = 500;
        } else {
                out->status = 400;
        }
        out->type = errors_type_for_status(out->status);
        if (out->message == NULL)
                out->message = xasprintf("upstream answered %d: %s", status, msg);
        free(msg);
        free(code);
}

void errors_from_transport(int timed_out, const char *what, struct errors_mapped *out)
{
        out->status = timed_out ? 504 : 502;
        out->type = errors_type_for_status(out->status);
        out->message =
            xasprintf("%s: %s", timed_out ? "upstream timed out" : "upstream unreachable", what);
}
