/*
 * exchange: one /v1/messages request in translate mode, from the parsed client body to the last
 * byte sent back: translate, call the upstream (retrying what may be retried before the client
 * saw anything), translate the answer or stream, keep the client's stream alive with pings,
 * and account the usage. A client that disconnects cancels its upstream transfer at once.
 */
#ifndef CP_EXCHANGE_H
#define CP_EXCHANGE_H

#include "server.h"

#include <cjson/cJSON.h>
#include <event2/http.h>

/*
 * Starts serving req. Takes ownership of body (the parsed client JSON) and of cfg's reference.
 * key is the upstream key (copied); request_id the id answers carry.
 */
void exchange_start(struct server *s, struct evhttp_request *req, cJSON *body,
                    struct server_config *cfg, const struct model_entry *entry, const char *key,
                    const char *request_id);

#endif
