/*
 * errors: Anthropic error bodies and the mapping of upstream failures onto them (PROTOCOL.md
 * §D and §F.4). Every error the proxy answers with goes through here, so each has the same shape:
 * {"type":"error","error":{"type":T,"message":M},"request_id":"req_…"}.
 */
#ifndef CP_ERRORS_H
#define CP_ERRORS_H

#include "buf.h"

#include <stddef.h>

/* The error.type Anthropic uses for an HTTP status. */
const char *errors_type_for_status(int status);
/* Appends an error body. */
void errors_body(struct buf *out, const char *type, const char *message, const char *request_id);
/* Appends the event: error frame used once a stream has started. */
void errors_event(struct buf *out, const char *type, const char *message);

/* An upstream failure mapped to what the client receives. */
struct errors_mapped {
        int status;
        const char *type;
        char *message; /* owned; free() it */
};

/*
 * Maps an OpenAI-compatible upstream's non-2xx answer. max_tokens is the request's (for the
 * "input length and max_tokens exceed context limit" rewrite), 0 when unknown.
 */
void errors_from_upstream(int status, const char *body, size_t len, long max_tokens,
                          struct errors_mapped *out);
/* Maps a transport failure (no HTTP answer): timeout -> 504 timeout_error, else 502 api_error. */
void errors_from_transport(int timed_out, const char *what, struct errors_mapped *out);

#endif
