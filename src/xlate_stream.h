/*
 * xlate_stream: the streaming state machine of PROTOCOL.md §F.3. Raw bytes of an OpenAI chunk
 * stream go in as they arrive; Anthropic SSE frames come out, each as soon as it can be
 * translated. Output is appended to a caller's buffer so the server can flush it at once.
 */
#ifndef CP_XLATE_STREAM_H
#define CP_XLATE_STREAM_H

#include "buf.h"
#include "xlate_response.h"

#include <cjson/cJSON.h>

enum xlate_stream_state {
        XLATE_STREAM_OPEN,   /* more input expected */
        XLATE_STREAM_DONE,   /* message_stop sent; ignore the rest */
        XLATE_STREAM_FAILED, /* event: error sent; close the stream */
};

struct xlate_stream;

/* opts (and what it points to) must outlive the stream. */
struct xlate_stream *xlate_stream_new(const struct xlate_reply_opts *opts);
void xlate_stream_free(struct xlate_stream *s);
/* message_start. Call once, right after the upstream answered 2xx. */
void xlate_stream_begin(struct xlate_stream *s, struct buf *out);
/* Raw upstream bytes, any split. */
enum xlate_stream_state xlate_stream_feed(struct xlate_stream *s, const char *p, size_t n,
                                          struct buf *out);
/* The upstream body ended without a transport error. */
enum xlate_stream_state xlate_stream_eof(struct xlate_stream *s, struct buf *out);
/* The transfer failed (reset, timeout): emits event: error of the given type unless finished. */
void xlate_stream_fail(struct xlate_stream *s, const char *type, const char *message,
                       struct buf *out);
enum xlate_stream_state xlate_stream_state(const struct xlate_stream *s);
const struct xlate_result *xlate_stream_result(const struct xlate_stream *s);

/* {"type":"ping"} frame, sent while the upstream is silent. */
void xlate_stream_ping(struct buf *out);
/* The frames a stream would have carried for a whole Anthropic message (can_stream: false). */
void xlate_stream_from_message(const cJSON *msg, struct buf *out);

#endif
