/*
 * xlate_request: Anthropic Messages request -> OpenAI Chat Completions request (PROTOCOL.md
 * §F.1). A pure function over cJSON trees: no I/O, no globals, no clock. What varies between
 * upstreams is in struct xlate_request_opts, which the server fills from the model entry.
 */
#ifndef CP_XLATE_REQUEST_H
#define CP_XLATE_REQUEST_H

#include "ids.h"
#include "toolmap.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

/* How the upstream is asked to think. */
enum xlate_reasoning {
        XLATE_REASONING_EFFORT,     /* reasoning_effort: low|medium|high (OpenAI, Gemini, most) */
        XLATE_REASONING_DEEPSEEK,   /* thinking:{type:enabled|disabled} (+ reasoning_effort) */
        XLATE_REASONING_OPENROUTER, /* reasoning:{effort} or reasoning:{max_tokens} */
        XLATE_REASONING_QWEN,       /* chat_template_kwargs:{enable_thinking} */
        XLATE_REASONING_NONE,       /* say nothing about reasoning */
};

/* What happens to thinking blocks in the assistant history. */
enum xlate_history_thinking {
        XLATE_HISTORY_DROP,              /* removed (default) */
        XLATE_HISTORY_REASONING_CONTENT, /* sent back as reasoning_content (DeepSeek) */
};

struct xlate_request_opts {
        const char *upstream_model;   /* the entry's model_name */
        long max_tokens_cap;          /* 0: no cap */
        bool max_completion_tokens;   /* send max_completion_tokens instead of max_tokens */
        bool stream;                  /* the upstream call streams */
        bool stream_usage;            /* ask for stream_options.include_usage */
        const char *reasoning_effort; /* the entry's minimal|low|medium|high, or NULL */
        enum xlate_reasoning reasoning;
        enum xlate_history_thinking history_thinking;
        enum ids_style tool_ids;
        bool sanitize_schema; /* strip JSON Schema keywords Gemini-like servers reject */
        bool has_temperature; /* the entry fixes the temperature */
        double temperature;
        bool drop_sampling;            /* never send temperature/top_p (reasoning models) */
        bool developer_role;           /* system prompt as role "developer" */
        bool empty_content_string;     /* "" instead of null content on tool-call-only messages */
        const char *empty_tool_result; /* the content of an empty tool result; NULL: "" */
        const cJSON *extra_body;       /* merged into the body last, or NULL */
};

/*
 * Translates req into a new chat.completions body in *out. Tool names that had to change are
 * recorded in names so the answer can be mapped back. On a request the proxy cannot translate
 * returns -1 with *cause saying what is wrong (it becomes a 400 invalid_request_error).
 */
int xlate_request(const cJSON *req, const struct xlate_request_opts *opts, struct toolmap *names,
                  cJSON **out, char **cause);

/* The reasoning effort (low|medium|high) for a thinking budget in tokens. */
const char *xlate_request_effort_for_budget(long budget);

#endif
