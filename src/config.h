/*
 * config: models.yaml -> typed configuration. Two forms load:
 *   - the seed project's: a top-level YAML list of model entries;
 *   - a mapping with `models:` (that same list), `default:` (a model_id) and server settings.
 * Errors name the file, line and column and say what was expected; unknown keys become warnings.
 */
#ifndef CP_CONFIG_H
#define CP_CONFIG_H

#include "xlate_request.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

struct header_kv {
        char *name;
        char *value;
};

enum config_auth {
        CONFIG_AUTH_DEFAULT, /* translate: Bearer; direct: x-api-key */
        CONFIG_AUTH_BEARER,  /* Authorization: Bearer KEY */
        CONFIG_AUTH_X_API_KEY,
};

struct model_entry {
        char *model_id;        /* what clients ask for (required, unique) */
        char *model_name;      /* what the upstream is asked for (default: model_id) */
        char *api_base;        /* e.g. https://api.deepseek.com/v1 (required) */
        bool direct;           /* Anthropic-compatible upstream: pass through */
        bool can_stream;       /* default true; false: call upstream without streaming */
        long max_tokens;       /* output cap, 0: none */
        long max_input_tokens; /* context size (max_input_tokens or context), 0: unknown */
        bool has_temperature;
        double temperature;
        char *reasoning_effort; /* minimal|low|medium|high or NULL; minimal = no thinking */
        cJSON *extra_body;      /* object merged into the upstream body, or NULL */
        struct header_kv *extra_headers;
        size_t n_extra_headers;
        char *api_key_name; /* environment variable holding the key, or NULL */

        /* Settings beyond the seed format. */
        char **aliases; /* other request model names routed here; '*' and '?' glob */
        size_t n_aliases;
        enum xlate_reasoning reasoning;               /* thinking_style */
        enum xlate_history_thinking history_thinking; /* history_thinking */
        enum ids_style tool_ids;                      /* tool_id_style */
        bool max_completion_tokens;
        bool stream_usage; /* default true */
        bool sanitize_schema;
        bool drop_sampling;
        bool developer_role;
        bool empty_content_string;
        char *empty_tool_result; /* sent for a tool result with no content; NULL: "" */
        bool content_filter_end_turn;
        char **drop_betas; /* direct: anthropic-beta values removed before forwarding */
        size_t n_drop_betas;
        enum config_auth auth;
        double price_input; /* USD per million tokens, 0: unknown */
        double price_output;
        double price_cache_read;
        double price_cache_write;
        int line; /* where the entry starts in the file */
};

struct config {
        char *path; /* the file it came from, or NULL */
        struct model_entry *models;
        size_t n_models;
        int default_model;     /* index into models; -1: mapping form without `default:` */
        bool default_explicit; /* set by `default:` (mapping form) rather than first entry */
        /* Server settings (mapping form); 0/NULL when the file does not set them. */
        char *host;
        int port;
        long connect_timeout_ms;
        long read_timeout_ms;
        int max_retries; /* -1: not set */
        char **warnings; /* "file:line:col: message" */
        size_t n_warnings;
};

/*
 * The file to load: given (--config), else $CLAUDE_PROXY_CONFIG, ./models.yaml, then
 * $XDG_CONFIG_HOME/claude-proxy/models.yaml (~/.config/...). NULL with *cause when none exists.
 */
char *config_search(const char *given, char **cause);

/* Loads and validates a file. On error returns -1 and *cause says where and what. */
int config_load(const char *path, struct config **out, char **cause);
/* The same over text in memory; name is used in messages. */
int config_parse(const char *text, size_t len, const char *name, struct config **out, char **cause);
void config_free(struct config *c);

/* "8k" -> 8192 (k = 1024, either case), "200K", "32000". -1 when not a token count. */
long config_parse_tokens(const char *s);

/*
 * The entry for a request's model: exact model_id, then aliases, then the default. *fallback is
 * set when the default was used. NULL when nothing matches and there is no default (the mapping
 * form without `default:`).
 */
const struct model_entry *config_route(const struct config *c, const char *model, bool *fallback);

/* The request translator's options for entry e (stream: whether the upstream call streams). */
void config_request_opts(const struct model_entry *e, bool stream, struct xlate_request_opts *o);
/* The entry with exactly this model_id, or NULL. */
const struct model_entry *config_find(const struct config *c, const char *model_id);

#endif
