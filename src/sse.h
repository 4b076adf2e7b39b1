/*
 * sse: an incremental Server-Sent Events parser (bytes in any split, \n or \r\n, comments,
 * optional "event:" lines, "data:" with or without a space) and the writer for the frames the
 * proxy emits ("event: T\ndata: JSON\n\n").
 */
#ifndef CP_SSE_H
#define CP_SSE_H

#include "buf.h"

#include <stddef.h>

/* One dispatched event: event is "" when the frame had no event line. data is NUL-terminated. */
typedef void (*sse_event_fn)(void *arg, const char *event, const char *data, size_t len);

struct sse_parser {
        struct buf line; /* the incomplete line carried between feeds */
        struct buf data; /* data lines of the current event, joined by \n */
        char event[64];  /* event name of the current event */
        int has_data;
        int pending_cr; /* the last byte fed was \r: a following \n belongs to it */
        sse_event_fn fn;
        void *arg;
};

void sse_parser_init(struct sse_parser *p, sse_event_fn fn, void *arg);
void sse_parser_fini(struct sse_parser *p);
void sse_parser_feed(struct sse_parser *p, const char *bytes, size_t n);
/* End of input: dispatches a last event that was not followed by a blank line. */
void sse_parser_end(struct sse_parser *p);

/* Appends "event: <type>\ndata: <json>\n\n". */
void sse_write(struct buf *out, const char *type, const char *json, size_t len);

#endif
