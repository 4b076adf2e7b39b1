/*
 * ui_stream: reading a request's recorded stream back. The detail view and the compare view
 * both rebuild what a client received from the client_event records; this is the part they
 * share: collecting the recorded bytes, and walking the Anthropic SSE frames in them.
 */
#ifndef CP_UI_STREAM_H
#define CP_UI_STREAM_H

#include "buf.h"
#include "replay.h"

#include <cjson/cJSON.h>

/* Appends the `data` of every record of that kind, in order (raw chunks, or stream bytes). */
void ui_stream_gather(const struct replay_request *r, int kind, struct buf *out);

/* Calls fn for each `data:` frame of Anthropic SSE text that parses: its type, its index
 * (-1 when it has none) and the parsed event (freed after the call). */
void ui_stream_each_event(const char *sse,
                          void (*fn)(void *arg, const char *type, int index, const cJSON *ev),
                          void *arg);

#endif
