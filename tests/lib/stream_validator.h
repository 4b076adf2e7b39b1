/*
 * stream_validator: checks the Anthropic SSE bytes the proxy emits against every ordering rule
 * clients enforce (PROTOCOL.md §C.1 and §C.3), so any test that captures a stream (golden files,
 * the server, end-to-end runs) can assert "a real client would accept this".
 */
#ifndef CP_STREAM_VALIDATOR_H
#define CP_STREAM_VALIDATOR_H

#include <stdbool.h>
#include <stddef.h>

/* What a valid stream came to. */
struct stream_summary {
        bool failed;          /* it ended with event: error (no message_stop) */
        int frames;           /* including pings */
        int blocks;           /* content blocks started */
        int tool_uses;        /* of which tool_use */
        char stop_reason[32]; /* from message_delta; "" when failed */
        char error_type[32];  /* error.type of the final error frame */
        long input_tokens;    /* from message_delta (message_start when absent) */
        long output_tokens;
};

/*
 * Returns 0 when the n bytes at p form a complete Anthropic event stream (or one that failed
 * cleanly with a single final event: error), else -1 with *cause (free() it) naming the first
 * broken rule and the frame number. sum may be NULL.
 */
int stream_validator_check(const char *p, size_t n, struct stream_summary *sum, char **cause);

#endif
