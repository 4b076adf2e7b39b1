/*
 * config: models.yaml -> struct config (see config.h and docs/configuration.md).
 *
 * The file is read with libyaml's document API so that every node keeps its position and every
 * message can point at line:column (1-based, the way editors count). Loading is a single walk
 * over that tree. Each mapping is checked against a table of known keys; the same table produces
 * the "known keys" list of the unknown-key warning, so the two cannot drift apart. Values go
 * through small typed readers that all word their complaints the same way
 * ("key: expected X, got Y"). Provider-dependent defaults (DeepSeek's thinking style, Gemini's
 * schema quirks, Mistral's tool ids, Anthropic's direct mode) are filled in last, and only for
 * settings the entry left out, so an explicit value always wins.
 *
 * A plain `key:` or `key: null` means "not set" for every optional key: that is what YAML says
 * and what the seed project's Python loader did.
 */
#include "config.h"

#include "alloc.h"
#include "buf.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <yaml.h>

/* Large enough for any real config; small enough that a wrong path (a log, /dev/zero) fails. */
#define CONFIG_MAX_FILE (8u << 20)
/* extra_body is user data converted recursively: bound it against alias loops and blow-ups. */
#define CONFIG_MAX_DEPTH 64
#define CONFIG_MAX_NODES 100000

struct loader {
        const char *name; /* for messages */
        const char *text;
        size_t len;
        yaml_document_t *doc;
        struct config *cfg;
        char *cause;
        size_t budget; /* nodes extra_body may still convert */
};

/* ---- messages ---- */

static int line_of(const yaml_node_t *n)
{
        return (int)n->start_mark.line + 1;
}

static int col_of(const yaml_node_t *n)
{
        return (int)n->start_mark.column + 1;
}

static char *vformat_at(const struct loader *ld, const yaml_node_t *n, const char *fmt, va_list ap)
{
        struct buf b;

        buf_init(&b);
        if (n != NULL)
                buf_printf(&b, "%s:%d:%d: ", ld->name, line_of(n), col_of(n));
        else
                buf_printf(&b, "%s: ", ld->name);
        buf_vprintf(&b, fmt, ap);
        return buf_detach(&b);
}

static int fail(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
        va_list ap;

        if (ld->cause != NULL) /* keep the first error: later ones are usually its echo */
                return -1;
        va_start(ap, fmt);
        ld->cause = vformat_at(ld, n, fmt, ap);
        va_end(ap);
        return -1;
}

static void warn(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warn(struct loader *ld, const yaml_node_t *n, const char *fmt, ...)
{
        struct config *c = ld->cfg;
        va_list ap;

        c->warnings = xrealloc(c->warnings, (c->n_warnings + 1) * sizeof *c->warnings);
        va_start(ap, fmt);
        c->warnings[c->n_warnings++] = vformat_at(ld, n, fmt, ap);
        va_end(ap);
}

/* ---- nodes ---- */

static yaml_node_t *node_at(const struct loader *ld, int index)
{
        return yaml_document_get_node(ld->doc, index);
}

/* The text of a scalar, or NULL for lists, mappings and scalars hiding a NUL byte. */
static const char *scalar(const yaml_node_t *n)
{
        const char *s;

        if (n == NULL || n->type != YAML_SCALAR_NODE)
                return NULL;
        s = (const char *)n->data.scalar.value;
        if (strlen(s) != n->data.scalar.length)
                return NULL;
        return s;
}

static bool is_plain(const yaml_node_t *n)
{
        return n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML's null: an empty plain value, `~` or `null` (core schema spellings). */
static bool is_null(const yaml_node_t *n)
{
        const char *s = scalar(n);

        if (s == NULL || !is_plain(n))
                return false;
        return *s == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
               strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

/* How a value looks in "got ..." so the user recognises what they wrote. */
static void describe(struct buf *b, const yaml_node_t *n)
{
        const char *s;
        size_t i, len;

        if (n->type == YAML_SEQUENCE_NODE) {
                buf_puts(b, "a list");
                return;
        }
        if (n->type == YAML_MAPPING_NODE) {
                buf_puts(b, "a mapping");
                return;
        }
        if (is_null(n)) {
                buf_puts(b, "nothing");
                return;
        }
        s = (const char *)n->data.scalar.value;
        len = n->data.scalar.length;
        buf_putc(b, '"');
        if (len > 60) {
                len = 60;
                /* Cut on a character boundary, not inside a UTF-8 sequence. */
                while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
                        len--;
        }
        for (i = 0; i < len; i++)
                buf_putc(b, iscntrl((unsigned char)s[i]) ? '?' : s[i]);
        if (len < n->data.scalar.length)
                buf_puts(b, "...");
        buf_putc(b, '"');
}

static int expected(struct loader *ld, const char *key, const yaml_node_t *v, const char *what)
{
        struct buf got;
        int rc;

        buf_init(&got);
        describe(&got, v);
        rc = fail(ld, v, "%s: expected %s, got %s", key, what, buf_str(&got));
        buf_fini(&got);
        return rc;
}

/* ---- scalar syntax ---- */

/* Digits with optional single '_' separators between them (YAML 1.1 / the seed's PyYAML). */
static const char *scan_digits(const char *p, long *out, bool *overflow)
{
        long v = 0;

        if (!isdigit((unsigned char)*p))
                return NULL;
        for (;;) {
                if (isdigit((unsigned char)*p)) {
                        int d = *p - '0';
                        if (v > (LONG_MAX - d) / 10)
                                *overflow = true;
                        else
                                v = v * 10 + d;
                        p++;
                } else if (*p == '_' && isdigit((unsigned char)p[1])) {
                        p++;
                } else {
                        break;
                }
        }
        *out = v;
        return p;
}

long config_parse_tokens(const char *s)
{
        bool overflow = false;
        long v, mult = 1;
        const char *p;

        if (s == NULL)
                return -1;
        p = scan_digits(s, &v, &overflow);
        if (p == NULL || overflow)
                return -1;
        if (*p == 'k' || *p == 'K') {
                mult = 1024;
                p++;
        } else if (*p == 'm' || *p == 'M') {
                mult = 1024L * 1024;
                p++;
        }
        if (*p != '\0' || v > LONG_MAX / mult)
                return -1;
        return v * mult;
}

/* Integer seconds, or a number with ms, s, m or h. Returns milliseconds, -1 when malformed. */
static long parse_duration_ms(const char *s)
{
        bool overflow = false;
        long v, mult;
        const char *p = scan_digits(s, &v, &overflow);

        if (p == NULL || overflow)
                return -1;
        if (strcmp(p, "ms") == 0)
                mult = 1;
        else if (*p == '\0' || strcmp(p, "s") == 0)
                mult = 1000;
        else if (strcmp(p, "m") == 0)
                mult = 60L * 1000;
        else if (strcmp(p, "h") == 0)
                mult = 3600L * 1000;
        else
                return -1;
        if (v > LONG_MAX / mult)
                return -1;
        return v * mult;
}

static bool parse_long(const char *s, long *out)
{
        bool neg = false, overflow = false;
        const char *p = s;
        long v;

        if (*p == '-' || *p == '+')
                neg = *p++ == '-';
        p = scan_digits(p, &v, &overflow);
        if (p == NULL || *p != '\0' || overflow)
                return false;
        *out = neg ? -v : v;
        return true;
}

/*
 * A decimal number in YAML's core-schema spelling ("1", "-0.5", ".5", "2e-3"). strtod alone
 * would also take "inf", "nan", hex and leading spaces, none of which JSON can carry; and it
 * reads the decimal point from the locale, which the inspector sets for wide characters.
 */
static bool parse_number(const char *s, double *out)
{
        char tmp[128];
        const char *p = s, *dp;
        size_t n, i;
        int digits = 0;
        char *end;
        double v;

        if (*p == '-' || *p == '+')
                p++;
        while (isdigit((unsigned char)*p)) {
                p++;
                digits++;
        }
        if (*p == '.') {
                p++;
                while (isdigit((unsigned char)*p)) {
                        p++;
                        digits++;
                }
        }
        if (digits == 0)
                return false;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '-' || *p == '+')
                        p++;
                if (!isdigit((unsigned char)*p))
                        return false;
                while (isdigit((unsigned char)*p))
                        p++;
        }
        if (*p != '\0')
                return false;
        n = strlen(s);
        if (n >= sizeof tmp)
                return false;
        dp = localeconv()->decimal_point;
        for (i = 0; i <= n; i++)
                tmp[i] = (s[i] == '.' && dp != NULL && dp[0] != '\0') ? dp[0] : s[i];
        errno = 0;
        v = strtod(tmp, &end);
        if (*end != '\0' || !isfinite(v))
                return false;
        *out = v;
        return true;
}

/* ---- typed readers: each returns 0, or -1 with the loader's cause set ---- */

static int read_string(struct loader *ld, const char *key, const yaml_node_t *v, char **out)
{
        const char *s = scalar(v);

        if (s == NULL || is_null(v) || *s == '\0')
                return expected(ld, key, v, "a non-empty string");
        free(*out);
        *out = xstrdup(s);
        return 0;
}

static int read_bool(struct loader *ld, const char *key, const yaml_node_t *v, bool *out,
                     const char *what)
{
        static const char *const yes[] = {"true", "yes", "on"};
        static const char *const no[] = {"false", "no", "off"};
        const char *s = scalar(v);
        size_t i;

        for (i = 0; s != NULL && i < 3; i++) {
                if (strcasecmp(s, yes[i]) == 0) {
                        *out = true;
                        return 0;
                }
                if (strcasecmp(s, no[i]) == 0) {
                        *out = false;
                        return 0;
                }
        }
        return expected(ld, key, v, what != NULL ? what : "true or false");
}

static int read_tokens(struct loader *ld, const char *key, const yaml_node_t *v, long *out)
{
        long t = config_parse_tokens(scalar(v));

        if (t < 0)
                return expected(ld, key, v, "a token count like 8192 or 8k");
        *out = t;
        return 0;
}

static int read_double(struct loader *ld, const char *key, const yaml_node_t *v, double lo,
                       double hi, double *out, const char *what)
{
        const char *s = scalar(v);
        double d;

        if (s == NULL || !parse_number(s, &d) || d < lo || d > hi)
                return expected(ld, key, v, what);
        *out = d;
        return 0;
}

static int read_long(struct loader *ld, const char *key, const yaml_node_t *v, long lo, long hi,
                     long *out, const char *what)
{
        const char *s = scalar(v);
        long l;

        if (s == NULL || !parse_long(s, &l) || l < lo || l > hi)
                return expected(ld, key, v, what);
        *out = l;
        return 0;
}

static int read_duration(struct loader *ld, const char *key, const yaml_node_t *v, long *ms)
{
        const char *s = scalar(v);
        long d = s != NULL ? parse_duration_ms(s) : -1;

        if (d <= 0)
                return expected(ld, key, v, "a duration like 30 (seconds), 30s, 500ms or 5m");
        *ms = d;
        return 0;
}

/* One of names (case-sensitive, as written in the docs); *out is its index. */
static int read_choice(struct loader *ld, const char *key, const yaml_node_t *v,
                       const char *const *names, size_t n, int *out)
{
        const char *s = scalar(v);
        struct buf what;
        size_t i;
        int rc;

        for (i = 0; s != NULL && i < n; i++) {
                if (strcmp(s, names[i]) == 0) {
                        *out = (int)i;
                        return 0;
                }
        }
        buf_init(&what);
        buf_puts(&what, "one of ");
        for (i = 0; i < n; i++)
                buf_printf(&what, "%s%s", i ? (i + 1 == n ? " or " : ", ") : "", names[i]);
        rc = expected(ld, key, v, buf_str(&what));
        buf_fini(&what);
        return rc;
}

/* A list of non-empty strings; a lone string is taken as a list of one. */
static int read_string_list(struct loader *ld, const char *key, const yaml_node_t *v, char ***out,
                            size_t *n)
{
        const yaml_node_item_t *it;
        size_t count;

        if (v->type == YAML_SCALAR_NODE) {
                char *one = NULL;
                if (read_string(ld, key, v, &one) < 0)
                        return -1;
                *out = xmalloc(sizeof **out);
                (*out)[0] = one;
                *n = 1;
                return 0;
        }
        if (v->type != YAML_SEQUENCE_NODE)
                return expected(ld, key, v, "a list of strings");
        count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        *out = xcalloc(count ? count : 1, sizeof **out);
        *n = 0;
        for (it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
                const yaml_node_t *item = node_at(ld, *it);
                const char *s = scalar(item);
                if (s == NULL || is_null(item) || *s == '\0')
                        return expected(ld, key, item, "a list of strings");
                (*out)[(*n)++] = xstrdup(s);
        }
        return 0;
}

/* ---- mappings against key tables ---- */

static void known_keys(struct buf *b, const char *const *names, size_t n)
{
        size_t i;

        for (i = 0; i < n; i++)
                buf_printf(b, "%s%s", i ? ", " : "", names[i]);
}

/*
 * Sorts the pairs of mapping m into keys[]/vals[] by table index. Unknown keys are warned about
 * (a typo should be visible, but one stray key must not take a working proxy down); a key given
 * twice is an error because YAML forbids it and which one wins would be a guess.
 */
static int map_collect(struct loader *ld, const yaml_node_t *m, const char *const *names, size_t n,
                       const char *where, yaml_node_t **keys, yaml_node_t **vals)
{
        const yaml_node_pair_t *pair;
        size_t i;

        memset(keys, 0, n * sizeof *keys);
        memset(vals, 0, n * sizeof *vals);
        for (pair = m->data.mapping.pairs.start; pair < m->data.mapping.pairs.top; pair++) {
                yaml_node_t *k = node_at(ld, pair->key);
                const char *s = scalar(k);

                if (s == NULL || is_null(k))
                        return expected(ld, where, k, "a key name");
                for (i = 0; i < n; i++)
                        if (strcmp(s, names[i]) == 0)
                                break;
                if (i == n) {
                        struct buf list;
                        buf_init(&list);
                        known_keys(&list, names, n);
                        warn(ld, k, "unknown key \"%s\" in %s (known keys: %s)", s, where,
                             buf_str(&list));
                        buf_fini(&list);
                        continue;
                }
                if (keys[i] != NULL)
                        return fail(ld, k, "key \"%s\" appears twice in %s (first at line %d)", s,
                                    where, line_of(keys[i]));
                keys[i] = k;
                vals[i] = node_at(ld, pair->value);
        }
        return 0;
}

/* ---- extra_body: YAML -> JSON ---- */

static cJSON *scalar_to_json(const yaml_node_t *n)
{
        const char *s = (const char *)n->data.scalar.value;
        double d;

        /* Quoting is how YAML says "this is text": "8", "true" stay strings. */
        if (!is_plain(n))
                return cJSON_CreateString(s);
        if (is_null(n))
                return cJSON_CreateNull();
        if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
                return cJSON_CreateTrue();
        if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
                return cJSON_CreateFalse();
        if (parse_number(s, &d))
                return cJSON_CreateNumber(d);
        return cJSON_CreateString(s);
}

static cJSON *to_json(struct loader *ld, const char *key, const yaml_node_t *n, int depth)
{
        const yaml_node_pair_t *p;
        cJSON *out;

        if (depth > CONFIG_MAX_DEPTH || ld->budget == 0) {
                fail(ld, n, "%s: nested too deeply (or through a recursive alias)", key);
                return NULL;
        }
        ld->budget--;
        if (n->type == YAML_SCALAR_NODE) {
                if (scalar(n) == NULL) {
                        fail(ld, n, "%s: a value contains a NUL character", key);
                        return NULL;
                }
                return scalar_to_json(n);
        }
        if (n->type == YAML_SEQUENCE_NODE) {
                const yaml_node_item_t *it;
                out = cJSON_CreateArray();
                for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
                        cJSON *item = to_json(ld, key, node_at(ld, *it), depth + 1);
                        if (item == NULL) {
                                cJSON_Delete(out);
                                return NULL;
                        }
                        cJSON_AddItemToArray(out, item);
                }
                return out;
        }
        out = cJSON_CreateObject();
        for (p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node_at(ld, p->key);
                const char *name = scalar(k);
                cJSON *val;

                if (name == NULL) {
                        expected(ld, key, k, "a field name");
                        cJSON_Delete(out);
                        return NULL;
                }
                if (cJSON_GetObjectItemCaseSensitive(out, name) != NULL) {
                        fail(ld, k, "%s: field \"%s\" appears twice", key, name);
                        cJSON_Delete(out);
                        return NULL;
                }
                val = to_json(ld, key, node_at(ld, p->value), depth + 1);
                if (val == NULL) {
                        cJSON_Delete(out);
                        return NULL;
                }
                cJSON_AddItemToObject(out, name, val);
        }
        return out;
}

/* ---- model entries ---- */

enum entry_key {
        EK_MODEL_ID,
        EK_MODEL_NAME,
        EK_API_BASE,
        EK_DIRECT,
        EK_CAN_STREAM,
        EK_MAX_TOKENS,
        EK_MAX_INPUT_TOKENS,
        EK_CONTEXT,
        EK_TEMPERATURE,
        EK_REASONING_EFFORT,
        EK_EXTRA_BODY,
        EK_EXTRA_HEADERS,
        EK_API_KEY_NAME,
        /* beyond the seed format */
        EK_ALIASES,
        EK_THINKING_STYLE,
        EK_HISTORY_THINKING,
        EK_TOOL_ID_STYLE,
        EK_MAX_COMPLETION_TOKENS,
        EK_STREAM_USAGE,
        EK_SANITIZE_SCHEMA,
        EK_DROP_SAMPLING,
        EK_DEVELOPER_ROLE,
        EK_EMPTY_CONTENT_STRING,
        EK_EMPTY_TOOL_RESULT,
        EK_CONTENT_FILTER_END_TURN,
        EK_DROP_BETAS,
        EK_AUTH,
        EK_PRICE,
        EK_COUNT
};

static const char *const entry_keys[EK_COUNT] = {
    [EK_MODEL_ID] = "model_id",
    [EK_MODEL_NAME] = "model_name",
    [EK_API_BASE] = "api_base",
    [EK_DIRECT] = "direct",
    [EK_CAN_STREAM] = "can_stream",
    [EK_MAX_TOKENS] = "max_tokens",
    [EK_MAX_INPUT_TOKENS] = "max_input_tokens",
    [EK_CONTEXT] = "context",
    [EK_TEMPERATURE] = "temperature",
    [EK_REASONING_EFFORT] = "reasoning_effort",
    [EK_EXTRA_BODY] = "extra_body",
    [EK_EXTRA_HEADERS] = "extra_headers",
    [EK_API_KEY_NAME] = "api_key_name",
    [EK_ALIASES] = "aliases",
    [EK_THINKING_STYLE] = "thinking_style",
    [EK_HISTORY_THINKING] = "history_thinking",
    [EK_TOOL_ID_STYLE] = "tool_id_style",
    [EK_MAX_COMPLETION_TOKENS] = "max_completion_tokens",
    [EK_STREAM_USAGE] = "stream_usage",
    [EK_SANITIZE_SCHEMA] = "sanitize_schema",
    [EK_DROP_SAMPLING] = "drop_sampling",
    [EK_DEVELOPER_ROLE] = "developer_role",
    [EK_EMPTY_CONTENT_STRING] = "empty_content_string",
    [EK_EMPTY_TOOL_RESULT] = "empty_tool_result",
    [EK_CONTENT_FILTER_END_TURN] = "content_filter_end_turn",
    [EK_DROP_BETAS] = "drop_betas",
    [EK_AUTH] = "auth",
    [EK_PRICE] = "price",
};

static const char *const efforts[] = {"minimal", "low", "medium", "high"};
/* Indexed by enum xlate_reasoning. */
static const char *const thinking_styles[] = {"effort", "deepseek", "openrouter", "qwen", "none"};
/* Indexed by enum xlate_history_thinking. */
static const char *const history_modes[] = {"drop", "reasoning_content"};
/* Indexed by enum ids_style. */
static const char *const id_styles[] = {"default", "mistral"};
/* Indexed by enum config_auth minus one. */
static const char *const auth_styles[] = {"bearer", "x-api-key"};

enum price_key { PK_INPUT, PK_OUTPUT, PK_CACHE_READ, PK_CACHE_WRITE, PK_COUNT };
static const char *const price_keys[PK_COUNT] = {"input", "output", "cache_read", "cache_write"};

static void entry_fini(struct model_entry *e)
{
        size_t i;

        free(e->model_id);
        free(e->model_name);
        free(e->api_base);
        free(e->reasoning_effort);
        free(e->empty_tool_result);
        cJSON_Delete(e->extra_body);
        for (i = 0; i < e->n_extra_headers; i++) {
                free(e->extra_headers[i].name);
                free(e->extra_headers[i].value);
        }
        free(e->extra_headers);
        free(e->api_key_name);
        for (i = 0; i < e->n_aliases; i++)
                free(e->aliases[i]);
        free(e->aliases);
        for (i = 0; i < e->n_drop_betas; i++)
                free(e->drop_betas[i]);
        free(e->drop_betas);
}

/* The host part of an http(s) URL, for the "is this Anthropic itself" test. */
static bool url_host_is(const char *url, const char *host)
{
        const char *p = strstr(url, "://");
        size_t n;

        if (p == NULL)
                return false;
        p += 3;
        n = strcspn(p, "/:?#");
        return n == strlen(host) && strncasecmp(p, host, n) == 0;
}

static int read_api_base(struct loader *ld, const yaml_node_t *v, char **out)
{
        const char *s = scalar(v);
        const char *host;
        size_t n;

        if (s == NULL || is_null(v) || *s == '\0')
                return expected(ld, "api_base", v,
                                "the provider's URL, like https://api.deepseek.com/v1");
        if (strncasecmp(s, "http://", 7) == 0)
                host = s + 7;
        else if (strncasecmp(s, "https://", 8) == 0)
                host = s + 8;
        else
                return expected(ld, "api_base", v, "a URL starting with http:// or https://");
        if (*host == '\0' || *host == '/' || strpbrk(s, " \t\r\n") != NULL)
                return expected(ld, "api_base", v, "a URL with a host and no spaces");
        /* Paths are appended as "/v1/..." or "/chat/completions": a trailing '/' would double. */
        n = strlen(s);
        while (n > 0 && s[n - 1] == '/')
                n--;
        *out = xstrndup(s, n);
        return 0;
}

/*
 * The name of an environment variable. Pasting the key itself here is an easy mistake that
 * would otherwise fail quietly (the variable is never set); the message must not repeat the
 * value, since it is probably a secret.
 */
static int read_key_name(struct loader *ld, const yaml_node_t *v, char **out)
{
        static const char what[] = "api_key_name: expected the name of an environment variable "
                                   "holding the key, like DEEPSEEK_API_KEY (not the key itself)";
        const char *s = scalar(v);
        const char *p;

        if (s == NULL || is_null(v) || *s == '\0' || isdigit((unsigned char)*s) ||
            strncmp(s, "sk-", 3) == 0 || strncmp(s, "AIza", 4) == 0 || strlen(s) > 64)
                return fail(ld, v, "%s", what);
        for (p = s; *p != '\0'; p++)
                if (!isalnum((unsigned char)*p) && *p != '_')
                        return fail(ld, v, "%s", what);
        *out = xstrdup(s);
        return 0;
}

static bool header_name_ok(const char *s)
{
        if (*s == '\0')
                return false;
        for (; *s != '\0'; s++)
                if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
                        return false;
        return true;
}

static int read_headers(struct loader *ld, const yaml_node_t *v, struct model_entry *e)
{
        const yaml_node_pair_t *p;
        size_t count;

        if (v->type != YAML_MAPPING_NODE)
                return expected(ld, "extra_headers", v,
                                "a mapping of header names to values, like {X-Title: my-app}");
        count = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        e->extra_headers = xcalloc(count ? count : 1, sizeof *e->extra_headers);
        for (p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
                const yaml_node_t *k = node_at(ld, p->key);
                const yaml_node_t *val = node_at(ld, p->value);
                const char *name = scalar(k);
                const char *value = scalar(val);
                struct header_kv *h;

                if (name == NULL || !header_name_ok(name))
                        return expected(ld, "extra_headers", k, "a header name");
                /*
                 * A line break would let the config smuggle in a second header. The value is
                 * not echoed: it is often "Bearer <key>".
                 */
                if (value == NULL || strpbrk(value, "\r\n") != NULL)
                        return fail(ld, val,
                                    "extra_headers: the value of %s must be text on one "
                                    "line",
                                    name);
                h = &e->extra_headers[e->n_extra_headers++];
                h->name = xstrdup(name);
                h->value = xstrdup(is_null(val) ? "" : value);
        }
        return 0;
}

static int read_price(struct loader *ld, const yaml_node_t *v, struct model_entry *e)
{
        static const char what[] = "a price in USD per million tokens, like 0.28";
        yaml_node_t *keys[PK_COUNT], *vals[PK_COUNT];
        double *dst[PK_COUNT] = {&e->price_input, &e->price_output, &e->price_cache_read,
                                 &e->price_cache_write};
        int i;

        if (v->type != YAML_MAPPING_NODE)
                return expected(ld, "price", v,
                                "a mapping like {input: 0.28, output: 0.42} (USD per million "
                                "tokens)");
        if (map_collect(ld, v, price_keys, PK_COUNT, "price", keys, vals) < 0)
                return -1;
        for (i = 0; i < PK_COUNT; i++)
                if (vals[i] != NULL && !is_null(vals[i]) &&
                    read_double(ld, price_keys[i], vals[i], 0, 1e9, dst[i], what) < 0)
                        return -1;
        return 0;
}

static int read_entry_key(struct loader *ld, struct model_entry *e, int k, const yaml_node_t *v)
{
        const char *key = entry_keys[k];
        int choice;

        switch (k) {
        case EK_MODEL_ID:
                return read_string(ld, key, v, &e->model_id);
        case EK_MODEL_NAME:
                return read_string(ld, key, v, &e->model_name);
        case EK_API_BASE:
                return read_api_base(ld, v, &e->api_base);
        case EK_DIRECT:
                return read_bool(ld, key, v, &e->direct, NULL);
        case EK_CAN_STREAM:
                return read_bool(ld, key, v, &e->can_stream, NULL);
        case EK_MAX_TOKENS:
                return read_tokens(ld, key, v, &e->max_tokens);
        case EK_MAX_INPUT_TOKENS:
        case EK_CONTEXT:
                return read_tokens(ld, key, v, &e->max_input_tokens);
        case EK_TEMPERATURE:
                e->has_temperature = true;
                return read_double(ld, key, v, 0, 2, &e->temperature,
                                   "a number from 0 to 2, like 0.7");
        case EK_REASONING_EFFORT:
                if (read_choice(ld, key, v, efforts, 4, &choice) < 0)
                        return -1;
                e->reasoning_effort = xstrdup(efforts[choice]);
                return 0;
        case EK_EXTRA_BODY:
                if (v->type != YAML_MAPPING_NODE)
                        return expected(ld, key, v,
                                        "a mapping of fields to merge into the upstream body");
                e->extra_body = to_json(ld, key, v, 0);
                return e->extra_body != NULL ? 0 : -1;
        case EK_EXTRA_HEADERS:
                return read_headers(ld, v, e);
        case EK_API_KEY_NAME:
                return read_key_name(ld, v, &e->api_key_name);
        case EK_ALIASES:
                return read_string_list(ld, key, v, &e->aliases, &e->n_aliases);
        case EK_THINKING_STYLE:
                if (read_choice(ld, key, v, thinking_styles, 5, &choice) < 0)
                        return -1;
                e->reasoning = (enum xlate_reasoning)choice;
                return 0;
        case EK_HISTORY_THINKING:
                if (read_choice(ld, key, v, history_modes, 2, &choice) < 0)
                        return -1;
                e->history_thinking = (enum xlate_history_thinking)choice;
                return 0;
        case EK_TOOL_ID_STYLE:
                if (read_choice(ld, key, v, id_styles, 2, &choice) < 0)
                        return -1;
                e->tool_ids = (enum ids_style)choice;
                return 0;
        case EK_MAX_COMPLETION_TOKENS:
                /* Easy to mistake for a cap; say where the cap goes. */
                return read_bool(ld, key, v, &e->max_completion_tokens,
                                 "true or false (the cap itself is max_tokens)");
        case EK_STREAM_USAGE:
                return read_bool(ld, key, v, &e->stream_usage, NULL);
        case EK_SANITIZE_SCHEMA:
                return read_bool(ld, key, v, &e->sanitize_schema, NULL);
        case EK_DROP_SAMPLING:
                return read_bool(ld, key, v, &e->drop_sampling, NULL);
        case EK_DEVELOPER_ROLE:
                return read_bool(ld, key, v, &e->developer_role, NULL);
        case EK_EMPTY_CONTENT_STRING:
                return read_bool(ld, key, v, &e->empty_content_string, NULL);
        case EK_EMPTY_TOOL_RESULT:
                return read_string(ld, key, v, &e->empty_tool_result);
        case EK_CONTENT_FILTER_END_TURN:
                return read_bool(ld, key, v, &e->content_filter_end_turn, NULL);
        case EK_DROP_BETAS:
                return read_string_list(ld, key, v, &e->drop_betas, &e->n_drop_betas);
        case EK_AUTH:
                if (read_choice(ld, key, v, auth_styles, 2, &choice) < 0)
                        return -1;
                e->auth = choice == 0 ? CONFIG_AUTH_BEARER : CONFIG_AUTH_X_API_KEY;
                return 0;
        case EK_PRICE:
                return read_price(ld, v, e);
        default:
                abort();
        }
}

/* Defaults that depend on the provider, applied only where the entry is silent (set[k]). */
static void entry_defaults(struct model_entry *e, const bool *set)
{
        const char *base = e->api_base;
        bool gemini = strcasestr(base, "generativelanguage") != NULL;

        if (e->model_name == NULL)
                e->model_name = xstrdup(e->model_id);
        if (!set[EK_DIRECT])
                e->direct = url_host_is(base, "api.anthropic.com");
        if (!set[EK_CAN_STREAM])
                e->can_stream = true;
        if (!set[EK_STREAM_USAGE])
                e->stream_usage = true;
        if (!set[EK_THINKING_STYLE]) {
                if (strcasestr(base, "deepseek") != NULL)
                        e->reasoning = XLATE_REASONING_DEEPSEEK;
                else if (strcasestr(base, "openrouter") != NULL)
                        e->reasoning = XLATE_REASONING_OPENROUTER;
                else
                        e->reasoning = XLATE_REASONING_EFFORT;
        }
        /* DeepSeek rejects a tool-call turn whose reasoning_content was dropped. */
        if (!set[EK_HISTORY_THINKING])
                e->history_thinking = e->reasoning == XLATE_REASONING_DEEPSEEK
                                          ? XLATE_HISTORY_REASONING_CONTENT
                                          : XLATE_HISTORY_DROP;
        if (!set[EK_TOOL_ID_STYLE])
                e->tool_ids =
                    strcasestr(base, "mistral") != NULL ? IDS_STYLE_MISTRAL : IDS_STYLE_DEFAULT;
        if (!set[EK_SANITIZE_SCHEMA])
                e->sanitize_schema = gemini;
        if (!set[EK_EMPTY_CONTENT_STRING])
                e->empty_content_string = gemini;
}

static int entry_parse(struct loader *ld, const yaml_node_t *n, struct model_entry *e)
{
        yaml_node_t *keys[EK_COUNT], *vals[EK_COUNT];
        bool set[EK_COUNT];
        int k;

        e->line = line_of(n);
        if (n->type != YAML_MAPPING_NODE)
                return expected(ld, "model entry", n,
                                "a mapping with at least model_id and api_base");
        if (map_collect(ld, n, entry_keys, EK_COUNT, "model entry", keys, vals) < 0)
                return -1;
        if (vals[EK_MAX_INPUT_TOKENS] != NULL && vals[EK_CONTEXT] != NULL) {
                /* The seed accepted either; keep loading, but say which one counts. */
                warn(ld, keys[EK_CONTEXT],
                     "context and max_input_tokens (line %d) both set; using max_input_tokens",
                     line_of(keys[EK_MAX_INPUT_TOKENS]));
                vals[EK_CONTEXT] = NULL;
        }
        if (vals[EK_MODEL_ID] == NULL)
                return fail(ld, n,
                            "model entry has no model_id (the name clients ask for, like "
                            "deepseek-chat)");
        if (vals[EK_API_BASE] == NULL)
                return fail(ld, n,
                            "model entry \"%s\" has no api_base (the provider's URL, like "
                            "https://api.deepseek.com/v1)",
                            scalar(vals[EK_MODEL_ID]) ? scalar(vals[EK_MODEL_ID]) : "?");
        for (k = 0; k < EK_COUNT; k++) {
                const yaml_node_t *v = vals[k];
                bool required = k == EK_MODEL_ID || k == EK_API_BASE;

                set[k] = v != NULL && !is_null(v);
                if (v == NULL || (!set[k] && !required))
                        continue;
                if (read_entry_key(ld, e, k, v) < 0)
                        return -1;
        }
        entry_defaults(e, set);
        return 0;
}

static int entries_parse(struct loader *ld, const yaml_node_t *list)
{
        struct config *c = ld->cfg;
        const yaml_node_item_t *it;
        size_t count = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);

        c->models = xcalloc(count ? count : 1, sizeof *c->models);
        for (it = list->data.sequence.items.start; it < list->data.sequence.items.top; it++) {
                const yaml_node_t *n = node_at(ld, *it);
                struct model_entry *e = &c->models[c->n_models++];
                size_t i;

                if (entry_parse(ld, n, e) < 0)
                        return -1;
                for (i = 0; i + 1 < c->n_models; i++)
                        if (strcmp(c->models[i].model_id, e->model_id) == 0)
                                return fail(ld, n,
                                            "duplicate model_id \"%s\": the entry at line %d "
                                            "already uses it",
                                            e->model_id, c->models[i].line);
        }
        return 0;
}

/* ---- the whole file ---- */

enum top_key { TK_MODELS, TK_DEFAULT, TK_HOST, TK_PORT, TK_CONNECT, TK_READ, TK_RETRIES, TK_COUNT };
static const char *const top_keys[TK_COUNT] = {
    "models", "default", "host", "port", "connect_timeout", "read_timeout", "max_retries",
};

static const char no_entries[] =
    "write a YAML list with one entry per model, each with at least model_id and api_base, "
    "for example `- {model_id: deepseek-chat, api_base: \"https://api.deepseek.com/v1\", "
    "api_key_name: DEEPSEEK_API_KEY}` (models.yaml.example documents every key)";

static int models_parse(struct loader *ld, const yaml_node_t *list)
{
        if (list->data.sequence.items.top == list->data.sequence.items.start)
                return fail(ld, list, "no model entries: the list is empty; %s", no_entries);
        return entries_parse(ld, list);
}

static int mapping_parse(struct loader *ld, const yaml_node_t *root)
{
        struct config *c = ld->cfg;
        yaml_node_t *keys[TK_COUNT], *vals[TK_COUNT];
        long l;
        size_t i;

        if (map_collect(ld, root, top_keys, TK_COUNT, "the top-level mapping", keys, vals) < 0)
                return -1;
        if (vals[TK_MODELS] == NULL || is_null(vals[TK_MODELS]))
                return fail(ld, root, "no models: list in the top-level mapping; %s", no_entries);
        if (vals[TK_MODELS]->type != YAML_SEQUENCE_NODE)
                return expected(ld, "models", vals[TK_MODELS], "a list of model entries");
        if (models_parse(ld, vals[TK_MODELS]) < 0)
                return -1;
        if (vals[TK_HOST] != NULL && !is_null(vals[TK_HOST]) &&
            read_string(ld, "host", vals[TK_HOST], &c->host) < 0)
                return -1;
        if (vals[TK_PORT] != NULL && !is_null(vals[TK_PORT])) {
                if (read_long(ld, "port", vals[TK_PORT], 1, 65535, &l,
                              "a port number from 1 to 65535") < 0)
                        return -1;
                c->port = (int)l;
        }
        if (vals[TK_CONNECT] != NULL && !is_null(vals[TK_CONNECT]) &&
            read_duration(ld, "connect_timeout", vals[TK_CONNECT], &c->connect_timeout_ms) < 0)
                return -1;
        if (vals[TK_READ] != NULL && !is_null(vals[TK_READ]) &&
            read_duration(ld, "read_timeout", vals[TK_READ], &c->read_timeout_ms) < 0)
                return -1;
        if (vals[TK_RETRIES] != NULL && !is_null(vals[TK_RETRIES])) {
                if (read_long(ld, "max_retries", vals[TK_RETRIES], 0, 100, &l,
                              "a number of retries from 0 to 100") < 0)
                        return -1;
                c->max_retries = (int)l;
        }
        /* The mapping form routes unknown models only where `default:` says so. */
        c->default_model = -1;
        if (vals[TK_DEFAULT] != NULL && !is_null(vals[TK_DEFAULT])) {
                char *name = NULL;
                struct buf ids;
                if (read_string(ld, "default", vals[TK_DEFAULT], &name) < 0)
                        return -1;
                for (i = 0; i < c->n_models; i++)
                        if (strcmp(c->models[i].model_id, name) == 0)
                                break;
                if (i < c->n_models) {
                        c->default_model = (int)i;
                        c->default_explicit = true;
                        free(name);
                        return 0;
                }
                buf_init(&ids);
                for (i = 0; i < c->n_models; i++)
                        buf_printf(&ids, "%s%s", i ? ", " : "", c->models[i].model_id);
                fail(ld, vals[TK_DEFAULT], "default: \"%s\" is not the model_id of any entry (%s)",
                     name, buf_str(&ids));
                buf_fini(&ids);
                free(name);
                return -1;
        }
        return 0;
}

static int root_parse(struct loader *ld, const yaml_node_t *root)
{
        if (root == NULL || is_null(root))
                return fail(ld, NULL, "no model entries: the file is empty; %s", no_entries);
        if (root->type == YAML_SEQUENCE_NODE)
                return models_parse(ld, root);
        if (root->type == YAML_MAPPING_NODE)
                return mapping_parse(ld, root);
        return fail(ld, root,
                    "expected a list of model entries (or a mapping with models:), got a "
                    "single value; see models.yaml.example");
}

/* libyaml's own words, placed where it found the problem. */
static char *syntax_error(const struct loader *ld, const yaml_parser_t *p)
{
        struct buf b;
        size_t line = 1, col = 1, i;

        buf_init(&b);
        if (p->error == YAML_READER_ERROR) {
                /* The reader reports a byte offset, not a mark: count lines ourselves. */
                for (i = 0; i < p->problem_offset && i < ld->len; i++) {
                        if (ld->text[i] == '\n') {
                                line++;
                                col = 1;
                        } else {
                                col++;
                        }
                }
                buf_printf(&b, "%s:%zu:%zu: %s", ld->name, line, col,
                           p->problem ? p->problem : "cannot read the file");
                if (p->problem_value != -1)
                        buf_printf(&b, " (byte 0x%02x)", (unsigned)p->problem_value);
                return buf_detach(&b);
        }
        buf_printf(&b, "%s:%zu:%zu: YAML syntax error: %s", ld->name, p->problem_mark.line + 1,
                   p->problem_mark.column + 1, p->problem ? p->problem : "unknown problem");
        if (p->context != NULL)
                buf_printf(&b, " (%s at line %zu, column %zu)", p->context,
                           p->context_mark.line + 1, p->context_mark.column + 1);
        return buf_detach(&b);
}

int config_parse(const char *text, size_t len, const char *name, struct config **out, char **cause)
{
        struct loader ld = {0};
        yaml_parser_t parser;
        yaml_document_t doc, extra;
        struct config *c;
        int rc;

        *out = NULL;
        ld.name = name != NULL ? name : "models.yaml";
        ld.text = text;
        ld.len = len;
        ld.doc = &doc;
        ld.budget = CONFIG_MAX_NODES;
        ld.cfg = c = xcalloc(1, sizeof *c);
        c->max_retries = -1;

        if (!yaml_parser_initialize(&parser))
                abort(); /* only fails on out of memory */
        yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
        if (!yaml_parser_load(&parser, &doc)) {
                *cause = syntax_error(&ld, &parser);
                yaml_parser_delete(&parser);
                config_free(c);
                return -1;
        }
        rc = root_parse(&ld, yaml_document_get_root_node(&doc));
        if (rc == 0) {
                /* A second document is most likely a stray "---": say it is not read. */
                if (!yaml_parser_load(&parser, &extra)) {
                        ld.cause = syntax_error(&ld, &parser);
                        rc = -1;
                } else {
                        const yaml_node_t *r = yaml_document_get_root_node(&extra);
                        if (r != NULL)
                                warn(&ld, r,
                                     "only the first YAML document is read; this one "
                                     "is ignored");
                        yaml_document_delete(&extra);
                }
        }
        yaml_document_delete(&doc);
        yaml_parser_delete(&parser);
        if (rc < 0) {
                *cause = ld.cause;
                config_free(c);
                return -1;
        }
        *out = c;
        return 0;
}

int config_load(const char *path, struct config **out, char **cause)
{
        struct buf text;
        char chunk[65536];
        FILE *f;
        size_t n;
        int rc;

        *out = NULL;
        f = fopen(path, "rb");
        if (f == NULL) {
                *cause = xasprintf("%s: cannot open: %s", path, strerror(errno));
                return -1;
        }
        buf_init(&text);
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
                buf_append(&text, chunk, n);
                if (text.len > CONFIG_MAX_FILE)
                        break;
        }
        if (ferror(f) || text.len > CONFIG_MAX_FILE) {
                *cause = ferror(f) ? xasprintf("%s: cannot read: %s", path, strerror(errno))
                                   : xasprintf("%s: larger than %u MB; is this the right file?",
                                               path, CONFIG_MAX_FILE >> 20);
                fclose(f);
                buf_fini(&text);
                return -1;
        }
        fclose(f);
        rc = config_parse(buf_str(&text), text.len, path, out, cause);
        buf_fini(&text);
        if (rc == 0)
                (*out)->path = xstrdup(path);
        return rc;
}

void config_free(struct config *c)
{
        size_t i;

        if (c == NULL)
                return;
        for (i = 0; i < c->n_models; i++)
                entry_fini(&c->models[i]);
        free(c->models);
        for (i = 0; i < c->n_warnings; i++)
                free(c->warnings[i]);
        free(c->warnings);
        free(c->path);
        free(c->host);
        free(c);
}

const struct model_entry *config_find(const struct config *c, const char *model_id)
{
        size_t i;

        if (c == NULL || model_id == NULL)
                return NULL;
        for (i = 0; i < c->n_models; i++)
                if (strcmp(c->models[i].model_id, model_id) == 0)
                        return &c->models[i];
        return NULL;
}

const struct model_entry *config_route(const struct config *c, const char *model, bool *fallback)
{
        const struct model_entry *e;
        size_t i, j;

        if (fallback != NULL)
                *fallback = false;
        if (c == NULL || c->n_models == 0)
                return NULL;
        if (model != NULL) {
                e = config_find(c, model);
                if (e != NULL)
                        return e;
                for (i = 0; i < c->n_models; i++)
                        for (j = 0; j < c->models[i].n_aliases; j++)
                                if (fnmatch(c->models[i].aliases[j], model, 0) == 0)
                                        return &c->models[i];
        }
        if (c->default_model < 0)
                return NULL;
        if (fallback != NULL)
                *fallback = true;
        return &c->models[c->default_model];
}

static bool regular_file(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *config_search(const char *given, char **cause)
{
        const char *env = getenv("CLAUDE_PROXY_CONFIG");
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        char *user;

        if (given != NULL)
                return xstrdup(given);
        if (env != NULL && *env != '\0')
                return xstrdup(env);
        if (regular_file("models.yaml"))
                return xstrdup("models.yaml");
        if (xdg != NULL && *xdg != '\0')
                user = xasprintf("%s/claude-proxy/models.yaml", xdg);
        else
                user = xasprintf("%s/.config/claude-proxy/models.yaml", home ? home : "");
        if (regular_file(user))
                return user;
        *cause = xasprintf("no models.yaml found (looked for --config, $CLAUDE_PROXY_CONFIG, "
                           "./models.yaml and %s); copy models.yaml.example there and edit it",
                           user);
        free(user);
        return NULL;
}

void config_request_opts(const struct model_entry *e, bool stream, struct xlate_request_opts *o)
{
        memset(o, 0, sizeof *o);
        o->upstream_model = e->model_name;
        o->max_tokens_cap = e->max_tokens;
        o->max_completion_tokens = e->max_completion_tokens;
        o->stream = stream;
        o->stream_usage = e->stream_usage;
        o->reasoning_effort = e->reasoning_effort;
        o->reasoning = e->reasoning;
        o->history_thinking = e->history_thinking;
        o->tool_ids = e->tool_ids;
        o->sanitize_schema = e->sanitize_schema;
        o->has_temperature = e->has_temperature;
        o->temperature = e->temperature;
        o->drop_sampling = e->drop_sampling;
        o->developer_role = e->developer_role;
        o->empty_content_string = e->empty_content_string;
        o->empty_tool_result = e->empty_tool_result;
        o->extra_body = e->extra_body;
}
