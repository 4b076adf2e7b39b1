/*
 * exchange: one request that goes upstream, from the parsed client body to the last byte sent
 * back. Translate mode: translate, call the upstream, translate the answer or stream and keep
 * the client's stream alive with pings. Direct mode: forward the client's bytes with the
 * entry's changes and relay the answer as it arrives. Both retry what may be retried before the
 * client saw anything, account the usage, and cancel the upstream transfer at once when the
 * client disconnects.
 */
#ifndef CP_EXCHANGE_H
#define CP_EXCHANGE_H

#include "server.h"
#include "trace.h"

#include <cjson/cJSON.h>
#include <event2/http.h>

enum exchange_kind {
        EXCHANGE_MESSAGES,     /* POST /v1/messages */
        EXCHANGE_COUNT_TOKENS, /* POST /v1/messages/count_tokens (direct mode only) */
};

/*
 * Starts serving req. Takes ownership of body (the parsed client JSON) and of cfg's reference.
 * key is the upstream key (copied); trace (copied) carries the request id and session and
 * records every step from here on.
 */
void exchange_start(struct server *s, struct evhttp_request *req, cJSON *body,
                    struct server_config *cfg, const struct model_entry *entry, const char *key,
                    const struct trace *trace, enum exchange_kind kind);

#endif
