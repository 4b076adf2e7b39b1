/*
 * passthrough: the pure parts of direct mode, for Anthropic-compatible upstreams (Anthropic,
 * Kimi, DeepSeek's /anthropic). Nothing is translated: the body goes upstream byte for byte
 * except the two values the model entry changes (model, max_tokens), and the answer comes back
 * as the upstream sent it. The exchange does the I/O; this module decides what changes.
 *
 * One repair is made when, and only when, it is needed: history produced while a translated
 * model was in use can hold what Anthropic rejects (thinking blocks without a real signature,
 * tool ids outside ^[a-zA-Z0-9_-]+$, empty text blocks). Such a body is re-serialised with
 * those parts fixed.
 */
#ifndef CP_PASSTHROUGH_H
#define CP_PASSTHROUGH_H

#include "buf.h"
#include "sse.h"
#include "xlate_response.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* api_base + the client's path and query; one /v1 is dropped when api_base ends in /v1, and a
 * doubled /v1 from the client is collapsed. The caller frees. */
char *passthrough_url(const char *api_base, const char *uri);

/*
 * Writes the body to send upstream into out: raw with model set to model_name and max_tokens
 * capped at cap (0: no cap), or the repaired body when the history needs repair. parsed is raw
 * parsed. Sets *repaired when the body was re-serialised.
 */
void passthrough_body(const char *raw, size_t n, const cJSON *parsed, const char *model_name,
                      long cap, struct buf *out, bool *repaired);

/* Whether a client request header goes upstream as it is. */
bool passthrough_request_header(const char *name);
/* The anthropic-beta value without the dropped betas; NULL when none remain. Caller frees. */
char *passthrough_betas(const char *value, char *const *drop, size_t n_drop);
/* Whether an upstream response header is copied back to the client. */
bool passthrough_response_header(const char *name);

/* Usage and stop reason from a relayed answer, for logs and stats. */
struct passthrough_watch {
        struct sse_parser parser;
        struct xlate_result result;
};

void passthrough_watch_init(struct passthrough_watch *w);
void passthrough_watch_fini(struct passthrough_watch *w);
/* Relayed SSE bytes, any split. */
void passthrough_watch_feed(struct passthrough_watch *w, const char *p, size_t n);
/* A whole (non-streamed) Anthropic message. */
void passthrough_watch_message(struct passthrough_watch *w, const cJSON *msg);

#endif
