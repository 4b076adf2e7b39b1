/*
 * xlate_response: OpenAI chat.completion -> Anthropic message (PROTOCOL.md §F.2), and the pieces
 * of that mapping the stream translator shares (stop reasons, usage). Pure functions.
 */
#ifndef CP_XLATE_RESPONSE_H
#define CP_XLATE_RESPONSE_H

#include "buf.h"
#include "jscan.h"
#include "toolmap.h"
#include "usage.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What both translators of an answer need to know about the request. */
struct xlate_reply_opts {
        const char *model;            /* reported to the client: the model it asked for */
        const struct toolmap *names;  /* restores tool names, may be NULL */
        long input_estimate;          /* local estimate of input tokens */
        const cJSON *stop_sequences;  /* the request's stop_sequences array, or NULL */
        uint64_t seed;                /* for msg_/toolu_ ids */
        bool content_filter_end_turn; /* map content_filter to end_turn instead of refusal */
};

/* What the answer came to, for logs and stats. */
struct xlate_result {
        struct usage usage;
        bool usage_estimated; /* the upstream reported no usage */
        char stop_reason[32];
        int tool_calls;
};

/* Returns a new Anthropic message object, or NULL with *cause when completion is unusable. */
cJSON *xlate_response(const cJSON *completion, const struct xlate_reply_opts *opts,
                      struct xlate_result *res, char **cause);

/*
 * For the fast paths of both translators: reads an OpenAI completion or chunk with jscan and
 * finds its first choice (an object) and its usage member (JSCAN_NONE when absent). False for
 * what they leave to cJSON: text that is not strict JSON or not an object, an escaped or
 * repeated member name among choices/usage/error, an error that is not null, no first choice.
 */
bool xlate_response_first_choice(const char *p, size_t n, struct jscan_value *first,
                                 struct jscan_value *usage);

/*
 * The same translation, appended to out as JSON text, for the common answer that is text and
 * reasoning only: read in place (jscan) and written straight out, byte for byte what
 * xlate_response and json_append would give. False, with nothing appended and *res untouched,
 * for anything else (tool calls, content parts, errors, text jscan does not decode): the caller
 * then takes xlate_response.
 */
bool xlate_response_plain(const char *p, size_t n, const struct xlate_reply_opts *opts,
                          struct xlate_result *res, struct buf *out);

/*
 * Anthropic stop_reason for an OpenAI finish_reason (NULL when missing). stop_sequence is set to
 * the matched sequence when the upstream reports it (vLLM's stop_reason) and it was requested.
 */
const char *xlate_response_stop_reason(const char *finish_reason, bool any_tool,
                                       const cJSON *matched, const cJSON *stop_sequences,
                                       bool content_filter_end_turn, const char **stop_sequence);

/* Fills u from an OpenAI usage object; false when usage is missing or not an object. */
bool xlate_response_usage(const cJSON *openai_usage, struct usage *u);

/*
 * The JSON object text to use as a tool call's input, from the arguments string an upstream sent
 * (NUL-terminated, free() it), or NULL when nothing usable is there (input {}): a leading "{}"
 * followed by more JSON is skipped, "{...}{...}" keeps the first object, text around an object
 * is dropped, and arguments encoded twice (a JSON string holding the object) are unwrapped.
 */
char *xlate_response_tool_args(const char *args, size_t n);

#endif
