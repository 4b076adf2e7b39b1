/*
 * server: the HTTP surface (evhttp on the core thread's event_base). It parses and checks
 * requests, routes them to a model entry and hands /v1/messages to an exchange; it answers the
 * small endpoints (count_tokens, models, health, stats) itself. The configuration can be
 * replaced while running; requests keep the one they started with (reference counted).
 */
#ifndef CP_SERVER_H
#define CP_SERVER_H

#include "buf.h"
#include "config.h"
#include "recorder.h"
#include "upstream.h"
#include "usage.h"

#include <event2/event.h>
#include <event2/http.h>
#include <stdint.h>

struct server_settings {
        const char *host;
        int port;                /* 0: any free port */
        long connect_timeout_ms; /* upstream connect */
        long read_timeout_ms;    /* upstream idle read */
        int max_retries;         /* before anything reached the client */
        long retry_max_wait_ms;  /* a longer retry-after is passed to the client instead */
        long ping_interval_ms;   /* SSE ping while the upstream is silent */
        long shutdown_grace_ms;  /* in-flight requests get this long on SIGINT/SIGTERM */
        int debug;               /* 1: a log line per request; 2: and the bodies */
};

/* Settings from the configuration's server part and the defaults; host and port are left to
 * the caller (the command line wins over the file). MAX_RETRIES in the environment wins. */
void server_settings_defaults(struct server_settings *s, const struct config *cfg);

/* A configuration shared by the requests that started under it. */
struct server_config {
        struct config *cfg;
        int refs;
};

struct server {
        struct event_base *base;
        struct evhttp *http;
        struct evhttp_bound_socket *sock;
        struct upstream *upstream;
        struct server_config *config;
        struct usage_totals *totals;         /* per model_id */
        struct usage_totals *session_totals; /* per session */
        struct recorder recorder;            /* records to the journal and the inspector */
        struct server_settings settings;
        uint64_t seed; /* state for request and message ids */
        int live;      /* requests in flight */
        int port;
        int draining;
        void (*drained)(void *arg);
        void *drained_arg;
        char *journal_dir;
        char *switch_to;    /* model_id chosen in the inspector, NULL: models.yaml routing */
        char *switch_scope; /* only requests for this model name, NULL: every request */
};

/* Binds and starts serving; takes ownership of cfg. NULL with *cause when it cannot bind. */
struct server *server_new(struct event_base *base, struct config *cfg,
                          const struct server_settings *settings, char **cause);
void server_free(struct server *s);
/* Replaces the configuration for new requests; takes ownership of cfg. */
void server_set_config(struct server *s, struct config *cfg);
/* Stops accepting; calls drained once no request is in flight. */
void server_drain(struct server *s, void (*drained)(void *arg), void *arg);

struct server_config *server_config_ref(struct server *s);
void server_config_unref(struct server_config *c);
/* One fewer request in flight (an exchange ended). */
void server_request_done(struct server *s);

/*
 * Routes new requests to model_id (NULL: back to models.yaml routing), for every request
 * (scope NULL) or only those asking for the model named scope. Confirmed with a model_switch
 * record; -1 with *cause when model_id is not configured.
 */
int server_switch_model(struct server *s, const char *model_id, const char *scope, char **cause);

/* The journal's directory, for /v1/stats (NULL: no journal). */
void server_set_journal_dir(struct server *s, const char *dir);

/* Sends an Anthropic error answer and completes req. */
void server_send_error(struct evhttp_request *req, int status, const char *type,
                       const char *message, const char *request_id);
/*
 * A streamed 200 answer (headers set by the caller): its start, each piece, and its end, each
 * written to the socket at once when it takes them.
 */
void server_stream_start(struct evhttp_request *req);
void server_stream_chunk(struct evhttp_request *req, const char *p, size_t n);
void server_stream_end(struct evhttp_request *req);
/* Sends a JSON answer and completes req. */
void server_send_json(struct evhttp_request *req, int status, const struct buf *body,
                      const char *request_id);

#endif
