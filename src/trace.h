/*
 * trace: the records of one request. The server and the exchange call one function per step
 * (the client's request, the route, each upstream attempt and chunk, what the client got, usage,
 * errors, the end); each builds that record's members and hands them to the recorder. Secrets
 * are removed here, before anything leaves the core thread: listed headers are redacted and
 * every occurrence of the request's key in any record is replaced by its redacted form.
 */
#ifndef CP_TRACE_H
#define CP_TRACE_H

#include "config.h"
#include "recorder.h"
#include "upstream.h"
#include "usage.h"

#include <cjson/cJSON.h>
#include <event2/http.h>
#include <stdbool.h>

struct trace {
        struct recorder *rec; /* NULL or inactive: every call is a no-op */
        char session[48];
        char request_id[32];
        char model[64];
        char keys[2][256];     /* keys to scrub from records (the client's, the upstream's) */
        char keys_safe[2][48]; /* their redacted forms */
};

/* The session a request belongs to: x-claude-code-session-id, else the session in
 * metadata.user_id, else one per client connection (conn_id). */
void trace_session_id(struct evhttp_request *req, const cJSON *body, unsigned long conn_id,
                      char *out, size_t n);

void trace_init(struct trace *t, struct recorder *rec, const char *request_id);
int trace_on(const struct trace *t);
/* Adds a key to scrub from every later record (at most two: the client's and the upstream's). */
void trace_add_key(struct trace *t, const char *key);

void trace_client_request(struct trace *t, struct evhttp_request *req, const char *body, size_t n,
                          bool body_is_json);
void trace_route(struct trace *t, const char *requested, const struct model_entry *e,
                 bool fallback);
void trace_upstream_request(struct trace *t, const char *url, int attempt, const char *body,
                            size_t n);
void trace_upstream_response(struct trace *t, int status, const struct upstream_transfer *up);
/* Raw bytes: upstream chunks and client stream pieces. */
void trace_bytes(struct trace *t, enum record_kind kind, const char *p, size_t n);
/* body_is_json: the caller knows (it made the body, or parsed the upstream's). */
void trace_client_response(struct trace *t, int status, const char *body, size_t n,
                           bool body_is_json);
void trace_usage(struct trace *t, const struct usage *u, bool estimated);
void trace_error(struct trace *t, const char *where, int status, const char *type,
                 const char *message);
struct trace_end {
        int status;
        const char *model_id; /* NULL when no entry was chosen */
        const char *mode;     /* "translate", "direct" or NULL */
        bool stream;
        long ttft_ms;
        long duration_ms;
        const char *stop_reason;
        int tool_calls;
        int attempts;
        bool failed;
};
void trace_end(struct trace *t, const struct trace_end *e);

/* Records of no request: configuration loads and model switches. */
void trace_config(struct recorder *rec, const char *path, const struct config *cfg,
                  const char *error);

#endif
