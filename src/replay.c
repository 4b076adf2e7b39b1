/*
 * replay: the journal reader, the listing, and the re-send of a session (see replay.h and
 * docs/replay.md).
 *
 * Reading: each line is parsed once to learn its kind, session and request and to update the
 * request's summary, then only the line itself is kept. A summary is built from whatever
 * records have arrived, so a request still running (the inspector's live feed, or a journal
 * cut by a crash) has a partial one: the `end` record, when it comes, is authoritative for
 * status, routing, timings, stop reason and tool calls; a `usage` record for the tokens; the
 * answer the client got (client_event frames or client_response body) fills in what those
 * leave out, and gives the tool names, which `end` only counts.
 *
 * Re-sending: the session's client requests are posted, one after the other, to a proxy
 * server started in this process on 127.0.0.1:0 with the journal on, so they take the exact
 * path a client's request takes (routing, translation, retries, records). The answers are
 * summarised by the same code that summarises journal records, so "original" and "new" are
 * comparable by construction.
 */
#include "replay.h"

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "journal.h"
#include "jscan.h"
#include "json.h"
#include "record.h"
#include "recorder.h"
#include "ring.h"
#include "server.h"
#include "sse.h"
#include "trace.h"
#include "upstream.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

/* ---- a string -> pointer index (open addressing; keys are owned by the values) ---------- */

struct replay_index_slot {
        const char *key;
        void *val;
};

struct replay_index {
        struct replay_index_slot *slots;
        size_t cap; /* a power of two */
        size_t n;
};

static uint64_t hash_str(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */

        for (; *s != '\0'; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ULL;
        }
        return h;
}

static struct replay_index *index_new(void)
{
        struct replay_index *x = xcalloc(1, sizeof *x);

        x->cap = 64;
        x->slots = xcalloc(x->cap, sizeof *x->slots);
        return x;
}

static void index_free(struct replay_index *x)
{
        if (x == NULL)
                return;
        free(x->slots);
        free(x);
}

static void *index_get(const struct replay_index *x, const char *key)
{
        size_t mask = x->cap - 1;

        for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
                if (x->slots[i].key == NULL)
                        return NULL;
                if (strcmp(x->slots[i].key, key) == 0)
                        return x->slots[i].val;
        }
}

static void index_put(struct replay_index *x, const char *key, void *val)
{
        size_t mask;

        if ((x->n + 1) * 4 > x->cap * 3) {
                struct replay_index_slot *old = x->slots;
                size_t oldcap = x->cap;

                x->cap *= 2;
                x->slots = xcalloc(x->cap, sizeof *x->slots);
                x->n = 0;
                for (size_t i = 0; i < oldcap; i++) {
                        if (old[i].key != NULL)
                                index_put(x, old[i].key, old[i].val);
                }
                free(old);
        }
        mask = x->cap - 1;
        for (size_t i = hash_str(key) & mask;; i = (i + 1) & mask) {
                if (x->slots[i].key == NULL) {
                        x->slots[i].key = key;
                        x->slots[i].val = val;
                        x->n++;
                        return;
                }
        }
}

/* ---- small helpers --------------------------------------------------------------------- */

#define GROW(arr, n, cap)                                                                          \
        do {                                                                                       \
                if ((n) == (cap)) {                                                                \
                        (cap) = (cap) ? (cap)*2 : 4;                                               \
                        (arr) = xrealloc((arr), (cap) * sizeof *(arr));                            \
                }                                                                                  \
        } while (0)

/* Replaces *dst with a copy of s (NULL leaves *dst as it was). */
static void set_str(char **dst, const char *s)
{
        if (s == NULL || (*dst != NULL && strcmp(*dst, s) == 0))
                return;
        free(*dst);
        *dst = xstrdup(s);
}

/* set_str with n bytes (no NUL among them). */
static void set_strn(char **dst, const char *s, size_t n)
{
        if (s == NULL || (*dst != NULL && strncmp(*dst, s, n) == 0 && (*dst)[n] == '\0'))
                return;
        free(*dst);
        *dst = xstrndup(s, n);
}

/* "2026-11-25T06:10:00.123456Z" -> seconds since the epoch; 0 when it does not read. */
static double parse_time(const char *s)
{
        struct tm tm;
        int y, mo, d, h, mi, sec, n = 0;
        double frac = 0;

        if (s == NULL ||
            sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
                return 0;
        if (s[n] == '.') {
                double scale = 0.1;
                for (const char *p = s + n + 1; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        frac += (*p - '0') * scale;
        }
        memset(&tm, 0, sizeof tm);
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        return (double)timegm(&tm) + frac;
}

/* ---- journal structure ------------------------------------------------------------------ */

struct replay_journal *replay_journal_new(void)
{
        struct replay_journal *j = xcalloc(1, sizeof *j);

        j->by_request = index_new();
        j->by_session = index_new();
        j->models = index_new();
        j->stamp_sec = -1;
        return j;
}

/* A block of payload copies: they are made one after the other into the newest block of
 * their request and freed with it, all at once, so a small request's records cost one
 * allocation and one free rather than one each. */
struct replay_copies {
        struct replay_copies *next; /* older */
        size_t used, cap;
        alignas(16) char data[];
};

static void copies_free(struct replay_copies **head)
{
        while (*head != NULL) {
                struct replay_copies *b = *head;
                *head = b->next;
                free(b);
        }
}

static void record_fini(struct replay_record *rec)
{
        free(rec->line);
        if (!rec->own) /* a copy goes with its request's block */
                record_payload_unref(rec->payload);
}

static void request_free(struct replay_request *r)
{
        if (r == NULL)
                return;
        free(r->id);
        free(r->session);
        free(r->path);
        free(r->model);
        free(r->model_id);
        free(r->mode);
        free(r->stop_reason);
        for (size_t i = 0; i < r->n_tool_names; i++)
                free(r->tool_names[i]);
        free(r->tool_names);
        free(r->replay_of);
        free(r->error);
        for (size_t i = 0; i < r->n_records; i++)
                record_fini(&r->records[i]);
        free(r->records);
        copies_free(&r->copies[0]);
        copies_free(&r->copies[1]);
        free(r);
}

/* Frees the records for which drop() says so, keeping the others in order, in an array no
 * larger than they need (a released stream leaves a few records of a hundred). */
static void release_records(struct replay_request *r, bool (*drop)(int kind))
{
        size_t kept = 0;

        for (size_t i = 0; i < r->n_records; i++) {
                struct replay_record *rec = &r->records[i];
                if (drop(rec->kind))
                        record_fini(rec);
                else
                        r->records[kept++] = *rec;
        }
        r->n_records = kept;
        if (kept < r->cap_records) {
                r->cap_records = kept;
                if (kept == 0) {
                        free(r->records);
                        r->records = NULL;
                } else {
                        r->records = xrealloc(r->records, kept * sizeof *r->records);
                }
        }
}

static bool is_stream(int kind)
{
        return kind == RECORD_UPSTREAM_CHUNK || kind == RECORD_CLIENT_EVENT;
}

static bool is_any(int kind)
{
        (void)kind;
        return true;
}

void replay_request_release_stream(struct replay_request *r)
{
        release_records(r, is_stream);
        copies_free(&r->copies[1]);
        r->released = true;
}

void replay_request_release_bodies(struct replay_request *r)
{
        release_records(r, is_any);
        copies_free(&r->copies[0]);
        copies_free(&r->copies[1]);
        r->released = true;
        r->bodies_released = true;
}

void replay_journal_free(struct replay_journal *j)
{
        if (j == NULL)
                return;
        for (size_t i = 0; i < j->n_requests; i++)
                request_free(j->requests[i]);
        free(j->requests);
        for (size_t i = 0; i < j->n_sessions; i++) {
                free(j->sessions[i]->id);
                free(j->sessions[i]->requests);
                free(j->sessions[i]);
        }
        free(j->sessions);
        for (size_t i = 0; i < j->n_other; i++)
                record_fini(&j->other[i]);
        free(j->other);
        index_free(j->by_request);
        index_free(j->by_session);
        free(j->scan);
        if (j->models != NULL) {
                for (size_t i = 0; i < j->models->cap; i++)
                        free(j->models->slots[i].val);
                index_free(j->models);
        }
        free(j);
}

static struct replay_request *request_new(const char *id)
{
        struct replay_request *r = xcalloc(1, sizeof *r);

        r->id = xstrdup(id);
        r->ttft_ms = -1;
        r->duration_ms = -1;
        return r;
}

static struct replay_session *session_get(struct replay_journal *j, const char *id)
{
        struct replay_session *s = index_get(j->by_session, id);

        if (s != NULL)
                return s;
        s = xcalloc(1, sizeof *s);
        s->id = xstrdup(id);
        GROW(j->sessions, j->n_sessions, j->cap_sessions);
        j->sessions[j->n_sessions++] = s;
        index_put(j->by_session, s->id, s);
        return s;
}

static struct replay_request *request_get(struct replay_journal *j, const char *id,
                                          const char *session)
{
        struct replay_request *r = index_get(j->by_request, id);
        struct replay_session *s;

        if (r != NULL)
                return r;
        r = request_new(id);
        r->session = xstrdup(session != NULL ? session : "");
        GROW(j->requests, j->n_requests, j->cap_requests);
        r->index = j->n_requests;
        j->requests[j->n_requests++] = r;
        index_put(j->by_request, r->id, r);
        s = session_get(j, r->session);
        GROW(s->requests, s->n_requests, s->cap_requests);
        s->requests[s->n_requests++] = r;
        /* s now has the latest request: it moves to the end of the activity order. */
        if (j->last_active != s) {
                if (s->less_active != NULL)
                        s->less_active->more_active = s->more_active;
                else if (j->first_active == s)
                        j->first_active = s->more_active;
                if (s->more_active != NULL)
                        s->more_active->less_active = s->less_active;
                s->more_active = NULL;
                s->less_active = j->last_active;
                if (j->last_active != NULL)
                        j->last_active->more_active = s;
                else
                        j->first_active = s;
                j->last_active = s;
        }
        return r;
}

struct replay_request *replay_journal_request(const struct replay_journal *j, const char *id)
{
        return id != NULL ? index_get(j->by_request, id) : NULL;
}

struct replay_session *replay_journal_session(const struct replay_journal *j, const char *id)
{
        return id != NULL ? index_get(j->by_session, id) : NULL;
}

struct replay_session *replay_journal_find_session(const struct replay_journal *j, const char *id,
                                                   bool *ambiguous)
{
        struct replay_session *s = replay_journal_session(j, id);
        size_t n = strlen(id);

        *ambiguous = false;
        if (s != NULL || n == 0)
                return s;
        for (size_t i = 0; i < j->n_sessions; i++) {
                if (strncmp(j->sessions[i]->id, id, n) != 0)
                        continue;
                if (s != NULL) {
                        *ambiguous = true;
                        return NULL;
                }
                s = j->sessions[i];
        }
        return s;
}

/* ---- summaries from the answer the client got ------------------------------------------ */

static void add_tool_name(struct replay_request *r, const char *name)
{
        r->tool_names = xrealloc(r->tool_names, (r->n_tool_names + 1) * sizeof *r->tool_names);
        r->tool_names[r->n_tool_names++] = xstrdup(name != NULL ? name : "?");
        if (!r->tools_from_end)
                r->tool_calls = (int)r->n_tool_names;
}

static void note_usage_object(struct replay_request *r, const cJSON *u)
{
        long v;

        if (r->usage_from_record || !cJSON_IsObject(u))
                return;
        if (json_get_long(u, "input_tokens", &v)) {
                r->input_tokens = v;
                r->has_usage = true;
        }
        if (json_get_long(u, "output_tokens", &v)) {
                r->output_tokens = v;
                r->has_usage = true;
        }
        if (json_get_long(u, "cache_read_input_tokens", &v))
                r->cache_read_tokens = v;
        if (json_get_long(u, "cache_creation_input_tokens", &v))
                r->cache_creation_tokens = v;
}

static void note_stop_reason(struct replay_request *r, const cJSON *v)
{
        if (r->stop_from_end || !cJSON_IsString(v))
                return;
        set_str(&r->stop_reason, v->valuestring);
}

/* One Anthropic SSE event the client got (from a client_event record or a live answer). */
static void note_sse_event(void *arg, const char *event, const char *data, size_t len)
{
        struct replay_request *r = arg;
        cJSON *d;
        const char *type;

        /* Most frames are deltas; only these few say something the summary needs. */
        if (strcmp(event, "message_start") != 0 && strcmp(event, "content_block_start") != 0 &&
            strcmp(event, "message_delta") != 0 && strcmp(event, "error") != 0)
                return;
        d = json_parse(data, len, NULL);
        if (d == NULL)
                return;
        type = json_get_str(d, "type");
        if (type == NULL) {
                /* not an Anthropic event */
        } else if (strcmp(type, "message_start") == 0) {
                note_usage_object(r, json_get(json_get(d, "message"), "usage"));
        } else if (strcmp(type, "content_block_start") == 0) {
                const cJSON *cb = json_get(d, "content_block");
                const char *t = json_get_str(cb, "type");
                if (t != NULL && (strcmp(t, "tool_use") == 0 || strcmp(t, "server_tool_use") == 0))
                        add_tool_name(r, json_get_str(cb, "name"));
        } else if (strcmp(type, "message_delta") == 0) {
                note_stop_reason(r, json_get(json_get(d, "delta"), "stop_reason"));
                note_usage_object(r, json_get(d, "usage"));
        } else if (strcmp(type, "error") == 0 && !r->ended) {
                const char *msg = json_get_str(json_get(d, "error"), "message");
                char *e = xasprintf("stream: %s", msg != NULL ? msg : "error event");
                free(r->error);
                r->error = e;
                r->failed = true;
        }
        cJSON_Delete(d);
}

/* A whole answer the client got: a message or an error body. */
static void note_answer_body(struct replay_request *r, const cJSON *body)
{
        const cJSON *content = json_get(body, "content");
        const cJSON *it;
        const char *type = json_get_str(body, "type");

        if (type != NULL && strcmp(type, "error") == 0) {
                if (r->error == NULL) {
                        const char *msg = json_get_str(json_get(body, "error"), "message");
                        r->error = xasprintf("%s", msg != NULL ? msg : "error");
                }
                return;
        }
        note_stop_reason(r, json_get(body, "stop_reason"));
        note_usage_object(r, json_get(body, "usage"));
        cJSON_ArrayForEach(it, content)
        {
                const char *t = json_get_str(it, "type");
                if (t != NULL && (strcmp(t, "tool_use") == 0 || strcmp(t, "server_tool_use") == 0))
                        add_tool_name(r, json_get_str(it, "name"));
        }
}

static void note_sse_bytes(struct replay_request *r, const char *data, size_t len)
{
        struct sse_parser p;

        sse_parser_init(&p, note_sse_event, r);
        sse_parser_feed(&p, data, len);
        sse_parser_end(&p);
        sse_parser_fini(&p);
}

/* ---- summaries from records -------------------------------------------------------------- */

static void note_client_request(struct replay_request *r, const cJSON *rec)
{
        const cJSON *body = json_get(rec, "body");
        const char *path = json_get_str(rec, "path");

        set_str(&r->path, path);
        if (path != NULL && strstr(path, "/count_tokens") != NULL)
                r->count_tokens = true;
        if (r->model == NULL)
                set_str(&r->model, json_get_str(body, "model"));
        r->stream = json_get_bool(body, "stream", false);
        set_str(&r->replay_of, json_get_str(rec, "replay_of"));
}

static void note_end(struct replay_request *r, const cJSON *rec)
{
        long v;
        const cJSON *stop = json_get(rec, "stop_reason");

        r->ended = true;
        if (json_get_long(rec, "status", &v))
                r->status = (int)v;
        set_str(&r->model_id, json_get_str(rec, "model_id"));
        set_str(&r->mode, json_get_str(rec, "mode"));
        if (cJSON_IsBool(json_get(rec, "stream")))
                r->stream = json_get_bool(rec, "stream", false);
        if (json_get_long(rec, "ttft_ms", &v))
                r->ttft_ms = v;
        if (json_get_long(rec, "duration_ms", &v))
                r->duration_ms = v;
        if (cJSON_IsString(stop)) {
                set_str(&r->stop_reason, stop->valuestring);
                r->stop_from_end = true;
        } else if (cJSON_IsNull(stop)) {
                free(r->stop_reason);
                r->stop_reason = NULL;
                r->stop_from_end = true;
        }
        if (json_get_long(rec, "tool_calls", &v)) {
                r->tool_calls = (int)v;
                r->tools_from_end = true;
        }
        if (json_get_long(rec, "attempts", &v))
                r->attempts = (int)v;
        if (cJSON_IsBool(json_get(rec, "failed")))
                r->failed = json_get_bool(rec, "failed", false);
        else if (r->status >= 400)
                r->failed = true;
}

/* What the record says about its request (rec: the record's members; the header's `model`
 * is the caller's to note first). */
static void note_record(struct replay_request *r, int kind, const cJSON *rec)
{
        long v;

        switch (kind) {
        case RECORD_CLIENT_REQUEST:
                note_client_request(r, rec);
                break;
        case RECORD_ROUTE:
                if (r->model == NULL)
                        set_str(&r->model, json_get_str(rec, "requested"));
                if (!r->ended) {
                        set_str(&r->model_id, json_get_str(rec, "model_id"));
                        set_str(&r->mode, json_get_str(rec, "mode"));
                }
                break;
        case RECORD_UPSTREAM_REQUEST:
                if (!r->ended)
                        r->attempts++;
                break;
        case RECORD_CLIENT_EVENT: {
                const char *data = json_get_str(rec, "data");
                if (data != NULL)
                        note_sse_bytes(r, data, strlen(data));
                break;
        }
        case RECORD_CLIENT_RESPONSE:
                if (!r->ended && json_get_long(rec, "status", &v)) {
                        r->status = (int)v;
                        if (v >= 400)
                                r->failed = true;
                }
                note_answer_body(r, json_get(rec, "body"));
                break;
        case RECORD_USAGE:
                r->usage_from_record = false; /* a later usage record replaces an earlier one */
                note_usage_object(r, rec);
                r->usage_from_record = true;
                break;
        case RECORD_ERROR: {
                const char *where = json_get_str(rec, "where");
                const char *msg = json_get_str(rec, "message");
                free(r->error);
                r->error = xasprintf("%s: %s", where != NULL ? where : "?",
                                     msg != NULL ? msg : "(no message)");
                if (!r->ended)
                        r->failed = true;
                break;
        }
        case RECORD_END:
                note_end(r, rec);
                break;
        default:
                break;
        }
}

static void keep_record(struct replay_record **arr, size_t *n, size_t *cap, uint64_t seq, int kind,
                        const char *line, size_t len)
{
        struct replay_record *rec;

        GROW(*arr, *n, *cap);
        rec = &(*arr)[(*n)++];
        memset(rec, 0, sizeof *rec);
        rec->seq = seq;
        rec->kind = kind;
        rec->line = xstrndup(line, len);
        rec->len = len;
}

static bool blank(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
                        return false;
        }
        return true;
}

static int bad_line(struct replay_journal *j)
{
        j->bad_lines++;
        if (j->first_bad == 0)
                j->first_bad = j->lines;
        j->last_line_bad = true;
        return -1;
}

int replay_journal_add_line(struct replay_journal *j, const char *line, size_t n)
{
        cJSON *rec;
        const char *kind_name, *request, *session, *time;
        double seq = 0;
        int kind;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                n--;
        if (blank(line, n))
                return 0;
        j->lines++;
        rec = json_parse(line, n, NULL);
        kind_name = json_get_str(rec, "kind");
        if (rec == NULL || !cJSON_IsObject(rec) || kind_name == NULL) {
                cJSON_Delete(rec);
                return bad_line(j);
        }
        j->last_line_bad = false;
        kind = record_kind_from_name(kind_name);
        json_get_num(rec, "seq", &seq);
        request = json_get_str(rec, "request");
        session = json_get_str(rec, "session");
        time = json_get_str(rec, "time");
        if (request == NULL || *request == '\0') {
                double count;
                j->last_request = NULL;
                if (kind == RECORD_DROPPED && json_get_num(rec, "count", &count) && count > 0)
                        j->dropped += (uint64_t)count;
                keep_record(&j->other, &j->n_other, &j->cap_other, (uint64_t)seq, kind, line, n);
        } else {
                struct replay_request *r = request_get(j, request, session);
                j->last_request = r;
                if (r->n_records == 0 && time != NULL) {
                        snprintf(r->time, sizeof r->time, "%s", time);
                        r->wall = parse_time(time);
                }
                keep_record(&r->records, &r->n_records, &r->cap_records, (uint64_t)seq, kind, line,
                            n);
                if (r->model == NULL)
                        set_str(&r->model, json_get_str(rec, "model"));
                note_record(r, kind, rec);
        }
        cJSON_Delete(rec);
        return 0;
}

/* ---- records from a ring ------------------------------------------------------------------ */

/*
 * A payload holds an object's members without the braces ("k":v,"k":v). The summary needs a few
 * of them; scanning for those is far cheaper than parsing a 50 KB body into a tree.
 */
struct member {
        const char *key; /* as written, between the quotes */
        size_t klen;
        const char *val; /* the value's bytes */
        size_t vlen;
};

static const char *scan_ws(const char *p, const char *end)
{
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
                p++;
        return p;
}

/* Just past the string whose opening quote is at p; end when it does not close. */
static const char *scan_string(const char *p, const char *end)
{
        for (p++; p < end;) {
                const char *q = memchr(p, '"', (size_t)(end - p));
                const char *b = q;

                if (q == NULL)
                        return end;
                while (b > p && b[-1] == '\\')
                        b--;
                if ((q - b) % 2 == 0)
                        return q + 1;
                p = q + 1;
        }
        return end;
}

/* Just past the value starting at p; containers are skipped whole. */
static const char *scan_value(const char *p, const char *end)
{
        int depth = 0;

        if (p < end && *p == '"')
                return scan_string(p, end);
        if (p < end && *p != '{' && *p != '[') {
                while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
                       *p != '\n' && *p != '\r')
                        p++;
                return p;
        }
        while (p < end) {
                if (*p == '"') {
                        p = scan_string(p, end);
                        continue;
                }
                if (*p == '{' || *p == '[')
                        depth++;
                else if (*p == '}' || *p == ']')
                        depth--;
                p++;
                if (depth == 0)
                        return p;
        }
        return end;
}

/* The next member of members text at *pp (advanced past it and its comma); false at the end
 * or at anything that is not a member. */
static bool next_member(const char **pp, const char *end, struct member *m)
{
        const char *p = scan_ws(*pp, end), *k;

        if (p < end && *p == ',')
                p = scan_ws(p + 1, end);
        if (p >= end || *p != '"')
                return false;
        k = p;
        p = scan_string(p, end);
        m->key = k + 1;
        m->klen = p > k + 1 ? (size_t)(p - k - 2) : 0;
        p = scan_ws(p, end);
        if (p >= end || *p != ':')
                return false;
        p = scan_ws(p + 1, end);
        m->val = p;
        p = scan_value(p, end);
        m->vlen = (size_t)(p - m->val);
        *pp = p;
        return m->vlen > 0;
}

static bool member_is(const struct member *m, const char *key)
{
        return m->klen == strlen(key) && memcmp(m->key, key, m->klen) == 0;
}

/* A string member's value (the caller frees), NULL when it is not a string. */
static char *member_str(const struct member *m)
{
        cJSON *v;
        char *s = NULL;

        if (m->vlen < 2 || m->val[0] != '"' || m->val[m->vlen - 1] != '"')
                return NULL;
        if (memchr(m->val + 1, '\\', m->vlen - 2) == NULL)
                return xstrndup(m->val + 1, m->vlen - 2);
        v = json_parse(m->val, m->vlen, NULL); /* escapes: let the parser decode them */
        if (cJSON_IsString(v))
                s = xstrdup(v->valuestring);
        cJSON_Delete(v);
        return s;
}

/* note_client_request() from the payload's text: path, replay_of, the body's model and stream,
 * the first of each as the parser would take them, without parsing the body. */
static void note_client_request_text(struct replay_request *r, const char *p, size_t n)
{
        const char *end = p + n;
        char *path = NULL, *replay_of = NULL, *model = NULL;
        bool stream = false, seen_path = false, seen_replay = false, seen_body = false;
        struct member m;

        while (next_member(&p, end, &m)) {
                if (!seen_path && member_is(&m, "path")) {
                        seen_path = true;
                        path = member_str(&m);
                } else if (!seen_replay && member_is(&m, "replay_of")) {
                        seen_replay = true;
                        replay_of = member_str(&m);
                } else if (!seen_body && member_is(&m, "body")) {
                        const char *b = m.val + 1, *bend = m.val + m.vlen - 1;
                        bool seen_model = false, seen_stream = false;
                        struct member bm;

                        seen_body = true;
                        if (m.val[0] != '{')
                                continue;
                        while ((!seen_model || !seen_stream) && next_member(&b, bend, &bm)) {
                                if (!seen_model && member_is(&bm, "model")) {
                                        seen_model = true;
                                        model = member_str(&bm);
                                } else if (!seen_stream && member_is(&bm, "stream")) {
                                        seen_stream = true;
                                        stream = bm.vlen == 4 && memcmp(bm.val, "true", 4) == 0;
                                }
                        }
                }
        }
        set_str(&r->path, path);
        if (path != NULL && strstr(path, "/count_tokens") != NULL)
                r->count_tokens = true;
        if (r->model == NULL)
                set_str(&r->model, model);
        r->stream = stream;
        set_str(&r->replay_of, replay_of);
        free(path);
        free(replay_of);
        free(model);
}

/* The payload's members as an object (the caller deletes it); NULL when they do not parse. */
static cJSON *parse_members(const char *p, size_t n)
{
        struct buf b;
        cJSON *o;

        buf_init(&b);
        buf_reserve(&b, n + 2);
        buf_putc(&b, '{');
        buf_append(&b, p, n);
        buf_putc(&b, '}');
        o = json_parse(b.data, b.len, NULL);
        buf_fini(&b);
        return o;
}

/*
 * The small payloads the summary reads (route, usage, end, error, and a whole answer's
 * client_response) are read in place with jscan rather than parsed into a tree: note_record()'s
 * rules over spans of the text. Every value is checked before anything is noted; a string taken
 * that has escapes, or a number that is not a plain integer, sends the whole record to the
 * cJSON path (a span cannot say what cJSON would decode). Escapes in what is skipped (an
 * answer's text) cost nothing.
 */
struct span {
        const char *p; /* NULL: absent or not a string */
        size_t n;
};

/* The first member named keys[i] of obj, for each i, as cJSON's lookup finds it; NONE for the
 * absent. False when a member name has escapes (it might decode to one of keys). */
static bool pick(const struct jscan_value *obj, const char *const *keys, size_t n,
                 struct jscan_value *out)
{
        struct jscan_value k, v;
        size_t pos = 0;

        for (size_t i = 0; i < n; i++)
                out[i].type = JSCAN_NONE;
        if (obj->type != JSCAN_OBJECT)
                return true;
        while (jscan_member(obj, &pos, &k, &v)) {
                if (memchr(k.p, '\\', k.n) != NULL)
                        return false;
                for (size_t i = 0; i < n; i++) {
                        if (out[i].type == JSCAN_NONE && jscan_is(&k, keys[i])) {
                                out[i] = v;
                                break;
                        }
                }
        }
        return true;
}

/* A string value as written; false when it has escapes. Not a string: p NULL. */
static bool span_of(const struct jscan_value *v, struct span *s)
{
        s->p = NULL;
        s->n = 0;
        if (v->type != JSCAN_STRING)
                return true;
        if (memchr(v->p + 1, '\\', v->n - 2) != NULL)
                return false;
        s->p = v->p + 1;
        s->n = v->n - 2;
        return true;
}

static bool span_is(const struct span *s, const char *lit)
{
        size_t n = strlen(lit);

        return s->p != NULL && s->n == n && memcmp(s->p, lit, n) == 0;
}

/* A number that is a plain integer, as json_get_long() reads it; *has false when v is no number.
 * False for other numbers (fractions, exponents, 16 digits or more). */
static bool long_of(const struct jscan_value *v, bool *has, long *out)
{
        const char *p = v->p, *end = v->p + v->n;
        bool neg = false;
        long x = 0;

        *has = false;
        if (v->type != JSCAN_NUMBER)
                return true;
        if (*p == '-') {
                neg = true;
                p++;
        }
        if (end - p > 15)
                return false;
        for (; p < end; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                x = x * 10 + (*p - '0');
        }
        *out = neg ? -x : x;
        *has = true;
        return true;
}

struct scanned_usage {
        bool has[4];
        long v[4]; /* input, output, cache read, cache creation */
};

static bool scan_usage(const struct jscan_value *u, struct scanned_usage *out)
{
        static const char *const keys[] = {"input_tokens", "output_tokens",
                                           "cache_read_input_tokens",
                                           "cache_creation_input_tokens"};
        struct jscan_value v[4];

        memset(out, 0, sizeof *out);
        if (!pick(u, keys, 4, v))
                return false;
        for (size_t i = 0; i < 4; i++)
                if (!long_of(&v[i], &out->has[i], &out->v[i]))
                        return false;
        return true;
}

/* note_usage_object() (u_is_object: the value was an object). */
static void apply_usage(struct replay_request *r, bool u_is_object, const struct scanned_usage *u)
{
        if (r->usage_from_record || !u_is_object)
                return;
        if (u->has[0]) {
                r->input_tokens = u->v[0];
                r->has_usage = true;
        }
        if (u->has[1]) {
                r->output_tokens = u->v[1];
                r->has_usage = true;
        }
        if (u->has[2])
                r->cache_read_tokens = u->v[2];
        if (u->has[3])
                r->cache_creation_tokens = u->v[3];
}

/* The tool names of an answer's content (an array, or an object's values as cJSON walks
 * them); with add false it only checks that they can be read in place. */
static bool scan_content_tools(struct replay_request *r, const struct jscan_value *content,
                               bool add)
{
        static const char *const keys[] = {"type", "name"};
        struct jscan_value it, k, v[2];
        struct span type, name;
        size_t pos = 0;

        for (;;) {
                if (content->type == JSCAN_ARRAY) {
                        if (!jscan_element(content, &pos, &it))
                                break;
                } else if (content->type == JSCAN_OBJECT) {
                        if (!jscan_member(content, &pos, &k, &it))
                                break;
                } else {
                        break;
                }
                if (!pick(&it, keys, 2, v) || !span_of(&v[0], &type))
                        return false;
                if (!span_is(&type, "tool_use") && !span_is(&type, "server_tool_use"))
                        continue;
                if (!span_of(&v[1], &name))
                        return false;
                if (!add)
                        continue;
                if (name.p == NULL) {
                        add_tool_name(r, NULL);
                } else {
                        char *s = xstrndup(name.p, name.n);
                        add_tool_name(r, s);
                        free(s);
                }
        }
        return true;
}

/* note_answer_body() in place; false (nothing noted) when cJSON must read it. */
static bool scan_answer_body(struct replay_request *r, const struct jscan_value *body,
                             bool status_known, long status)
{
        static const char *const keys[] = {"type", "error", "stop_reason", "usage", "content"};
        static const char *const msg_key[] = {"message"};
        struct jscan_value v[5], msg;
        struct span type, stop = {NULL, 0}, message = {NULL, 0};
        struct scanned_usage u = {{false}, {0}};
        bool is_error;

        if (!pick(body, keys, 5, v) || !span_of(&v[0], &type))
                return false;
        is_error = span_is(&type, "error");
        if (is_error) {
                if (!pick(&v[1], msg_key, 1, &msg) || !span_of(&msg, &message))
                        return false;
        } else if (!span_of(&v[2], &stop) || !scan_usage(&v[3], &u) ||
                   !scan_content_tools(r, &v[4], false)) {
                return false;
        }
        /* Read: now note it all. */
        if (!r->ended && status_known) {
                r->status = (int)status;
                if (status >= 400)
                        r->failed = true;
        }
        if (is_error) {
                if (r->error == NULL)
                        r->error = message.p != NULL ? xasprintf("%.*s", (int)message.n, message.p)
                                                     : xstrdup("error");
                return true;
        }
        if (!r->stop_from_end && stop.p != NULL)
                set_strn(&r->stop_reason, stop.p, stop.n);
        apply_usage(r, v[3].type == JSCAN_OBJECT, &u);
        scan_content_tools(r, &v[4], true);
        return true;
}

/* note_end() in place. */
static bool scan_end(struct replay_request *r, const struct jscan_value *o)
{
        enum { STATUS, MODEL_ID, MODE, STREAM, TTFT, DURATION, STOP, TOOLS, ATTEMPTS, FAILED, N };
        static const char *const keys[N] = {"status",   "model_id",    "mode",        "stream",
                                            "ttft_ms",  "duration_ms", "stop_reason", "tool_calls",
                                            "attempts", "failed"};
        struct jscan_value v[N];
        struct span model_id, mode, stop;
        bool has[N] = {false};
        long n[N] = {0};

        if (!pick(o, keys, N, v) || !span_of(&v[MODEL_ID], &model_id) ||
            !span_of(&v[MODE], &mode) || !span_of(&v[STOP], &stop))
                return false;
        for (int i = 0; i < N; i++)
                if ((i == STATUS || i == TTFT || i == DURATION || i == TOOLS || i == ATTEMPTS) &&
                    !long_of(&v[i], &has[i], &n[i]))
                        return false;
        r->ended = true;
        if (has[STATUS])
                r->status = (int)n[STATUS];
        set_strn(&r->model_id, model_id.p, model_id.n);
        set_strn(&r->mode, mode.p, mode.n);
        if (v[STREAM].type == JSCAN_TRUE || v[STREAM].type == JSCAN_FALSE)
                r->stream = v[STREAM].type == JSCAN_TRUE;
        if (has[TTFT])
                r->ttft_ms = n[TTFT];
        if (has[DURATION])
                r->duration_ms = n[DURATION];
        if (stop.p != NULL) {
                set_strn(&r->stop_reason, stop.p, stop.n);
                r->stop_from_end = true;
        } else if (v[STOP].type == JSCAN_NULL) {
                free(r->stop_reason);
                r->stop_reason = NULL;
                r->stop_from_end = true;
        }
        if (has[TOOLS]) {
                r->tool_calls = (int)n[TOOLS];
                r->tools_from_end = true;
        }
        if (has[ATTEMPTS])
                r->attempts = (int)n[ATTEMPTS];
        if (v[FAILED].type == JSCAN_TRUE || v[FAILED].type == JSCAN_FALSE)
                r->failed = v[FAILED].type == JSCAN_TRUE;
        else if (r->status >= 400)
                r->failed = true;
        return true;
}

/* note_record() for the kinds above, over the payload's members read in place; false when
 * nothing was noted and cJSON must read them. */
static bool scan_members(struct replay_journal *j, struct replay_request *r, int kind,
                         const char *p, size_t n)
{
        struct jscan_value o, v[3];
        struct span a, b, c;

        /* The members in braces, in a buffer kept for the next record. */
        if (n + 3 > j->scan_cap) {
                j->scan_cap = n + 3 > 256 ? (n + 3) * 2 : 256;
                free(j->scan);
                j->scan = xmalloc(j->scan_cap);
        }
        j->scan[0] = '{';
        memcpy(j->scan + 1, p, n);
        j->scan[n + 1] = '}';
        if (!jscan_parse(j->scan, n + 2, &o))
                return false;
        switch (kind) {
        case RECORD_ROUTE: {
                static const char *const keys[] = {"requested", "model_id", "mode"};
                if (!pick(&o, keys, 3, v) || !span_of(&v[0], &a) || !span_of(&v[1], &b) ||
                    !span_of(&v[2], &c))
                        return false;
                if (r->model == NULL)
                        set_strn(&r->model, a.p, a.n);
                if (!r->ended) {
                        set_strn(&r->model_id, b.p, b.n);
                        set_strn(&r->mode, c.p, c.n);
                }
                return true;
        }
        case RECORD_CLIENT_RESPONSE: {
                static const char *const keys[] = {"status", "body"};
                bool has;
                long status = 0;
                if (!pick(&o, keys, 2, v) || !long_of(&v[0], &has, &status))
                        return false;
                return scan_answer_body(r, &v[1], has, status);
        }
        case RECORD_USAGE: {
                struct scanned_usage u;
                if (!scan_usage(&o, &u))
                        return false;
                r->usage_from_record = false; /* a later usage record replaces an earlier one */
                apply_usage(r, true, &u);
                r->usage_from_record = true;
                return true;
        }
        case RECORD_ERROR: {
                static const char *const keys[] = {"where", "message"};
                if (!pick(&o, keys, 2, v) || !span_of(&v[0], &a) || !span_of(&v[1], &b))
                        return false;
                free(r->error);
                r->error =
                    xasprintf("%.*s: %.*s", a.p != NULL ? (int)a.n : 1, a.p != NULL ? a.p : "?",
                              b.p != NULL ? (int)b.n : 12, b.p != NULL ? b.p : "(no message)");
                if (!r->ended)
                        r->failed = true;
                return true;
        }
        case RECORD_END:
                return scan_end(r, &o);
        default:
                return false;
        }
}

/* What the summary takes from a ring record: the same as note_record() from its line. */
static void note_ring_record(struct replay_journal *j, struct replay_request *r,
                             const struct record *rec)
{
        const char *p = "";
        size_t n = 0;
        cJSON *o;

        if (r->model == NULL && rec->model[0] != '\0')
                set_str(&r->model, rec->model);
        if (rec->payload != NULL) {
                p = rec->payload->data;
                n = rec->payload->len;
        }
        switch (rec->kind) {
        case RECORD_CLIENT_REQUEST:
                if (rec->raw) /* no such record; as its line would read: no members */
                        note_client_request_text(r, "", 0);
                else
                        note_client_request_text(r, p, n);
                return;
        case RECORD_UPSTREAM_REQUEST:
                if (!r->ended)
                        r->attempts++;
                return;
        case RECORD_CLIENT_EVENT:
                if (rec->raw) {
                        /* The line's data member read back stops at a NUL, as here. */
                        note_sse_bytes(r, p, strnlen(p, n));
                        return;
                }
                break;
        case RECORD_ROUTE:
        case RECORD_CLIENT_RESPONSE:
        case RECORD_USAGE:
        case RECORD_ERROR:
        case RECORD_END:
                break;
        default:
                return; /* chunks, upstream responses: nothing for the summary */
        }
        if (!rec->raw && scan_members(j, r, rec->kind, p, n))
                return;
        if (rec->raw) {
                struct buf b;
                buf_init(&b);
                buf_puts(&b, "\"data\":");
                json_append_string(&b, p, n);
                o = parse_members(b.data, b.len);
                buf_fini(&b);
        } else {
                o = parse_members(p, n);
        }
        if (o != NULL)
                note_record(r, rec->kind, o);
        cJSON_Delete(o);
}

static const char *intern_model(struct replay_journal *j, const char *model)
{
        char *s;

        if (model[0] == '\0')
                return "";
        if (j->last_model != NULL && strcmp(j->last_model, model) == 0)
                return j->last_model;
        s = index_get(j->models, model);
        if (s == NULL) {
                s = xstrdup(model);
                index_put(j->models, s, s);
        }
        j->last_model = s;
        return s;
}

/*
 * A private copy of a shared payload, in r's copies: only len and data are used, and it is
 * never unref'd, so it stays out of the producer's pool and its deferred frees. The first block
 * of the non-stream records is sized for the first (the client's request) twice over, as the
 * upstream request that follows is about as large, plus room for the small records of the
 * answer; a stream's blocks start at 1 KiB (a whole answer's one chunk) and double up to
 * 64 KiB. A payload that does not fit gets a block of its own size.
 */
static struct record_payload *payload_copy(struct replay_request *r, int kind,
                                           const struct record_payload *p)
{
        struct replay_copies **head = &r->copies[is_stream(kind)];
        struct replay_copies *b = *head;
        struct record_payload *c;
        size_t need = (sizeof *c + p->len + 1 + 15) & ~(size_t)15;

        if (b == NULL || b->cap - b->used < need) {
                size_t cap;
                if (is_stream(kind))
                        cap = b == NULL ? 1024 : b->cap >= 32768 ? 65536 : b->cap * 2;
                else
                        cap = b == NULL ? 2 * need + 2048 : 4096;
                if (cap < need)
                        cap = need;
                b = xmalloc(sizeof *b + cap);
                b->next = *head;
                b->used = 0;
                b->cap = cap;
                *head = b;
        }
        c = (struct record_payload *)(void *)(b->data + b->used);
        b->used += need;
        memset(c, 0, sizeof *c);
        atomic_init(&c->refs, 1);
        c->len = p->len;
        memcpy(c->data, p->data, p->len + 1);
        return c;
}

static int add_record(struct replay_journal *j, const struct record *rec, bool take);

int replay_journal_add_record(struct replay_journal *j, const struct record *rec)
{
        return add_record(j, rec, false);
}

int replay_journal_take_record(struct replay_journal *j, const struct record *rec)
{
        return add_record(j, rec, true);
}

/* take: the caller's payload reference is ours to drop. */
static int add_record(struct replay_journal *j, const struct record *rec, bool take)
{
        struct replay_request *r;
        struct replay_record *kept;

        if (rec->request_id[0] == '\0') {
                /* Configuration, model switches, drop counts: rare, kept as their lines. */
                struct buf line;
                int rc;
                buf_init(&line);
                record_format(rec, 0, &line);
                rc = replay_journal_add_line(j, line.data, line.len);
                buf_fini(&line);
                if (take)
                        record_payload_unref(rec->payload);
                return rc;
        }
        j->lines++;
        j->last_line_bad = false;
        r = request_get(j, rec->request_id, rec->session);
        j->last_request = r;
        if (r->n_records == 0) {
                /* As record_format writes the time, and as parse_time reads it back. */
                if (rec->wall.tv_sec != j->stamp_sec) {
                        struct tm tm;
                        time_t t = rec->wall.tv_sec;
                        gmtime_r(&t, &tm);
                        strftime(j->stamp, sizeof j->stamp, "%Y-%m-%dT%H:%M:%S", &tm);
                        j->stamp_sec = rec->wall.tv_sec;
                        j->stamp_wall = parse_time(j->stamp); /* the second, as read back */
                }
                {
                        /* "%s.%06uZ", and what parse_time() reads back, without stdio. */
                        unsigned us = (unsigned)(rec->wall.tv_nsec / 1000) % 1000000u;
                        size_t at = strlen(j->stamp);
                        double frac = 0, scale = 0.1;

                        memcpy(r->time, j->stamp, at);
                        r->time[at++] = '.';
                        for (int k = 5; k >= 0; k--, us /= 10)
                                r->time[at + (size_t)k] = (char)('0' + us % 10);
                        for (int k = 0; k < 6; k++, scale /= 10)
                                frac += (r->time[at + (size_t)k] - '0') * scale;
                        r->time[at + 6] = 'Z';
                        r->time[at + 7] = '\0';
                        r->wall = j->stamp_wall + frac;
                }
        }
        if (r->cap_records == 0) {
                /* A whole answer is about 8 records: one allocation rather than two. */
                r->cap_records = 8;
                r->records = xmalloc(r->cap_records * sizeof *r->records);
        }
        GROW(r->records, r->n_records, r->cap_records);
        kept = &r->records[r->n_records++];
        memset(kept, 0, sizeof *kept);
        kept->seq = rec->seq;
        kept->kind = (unsigned)rec->kind < RECORD_KIND_COUNT ? (int)rec->kind : -1;
        if (rec->payload != NULL) {
                kept->payload = payload_copy(r, kept->kind, rec->payload);
                kept->own = true;
        }
        kept->model = intern_model(j, rec->model);
        kept->mono_ns = (int64_t)rec->mono.tv_sec * 1000000000LL + rec->mono.tv_nsec;
        kept->wall_sec = (int64_t)rec->wall.tv_sec;
        kept->wall_nsec = (int32_t)rec->wall.tv_nsec;
        kept->raw = rec->raw;
        note_ring_record(j, r, rec);
        if (take)
                record_payload_unref(rec->payload); /* back to the producer while still warm */
        return 0;
}

void replay_record_text(const struct replay_request *r, const struct replay_record *rec,
                        struct buf *out)
{
        struct record tmp;

        if (rec->line != NULL) {
                buf_append(out, rec->line, rec->len);
                return;
        }
        memset(&tmp, 0, sizeof tmp);
        tmp.seq = rec->seq;
        tmp.kind = rec->kind;
        tmp.mono.tv_sec = (time_t)(rec->mono_ns / 1000000000LL);
        tmp.mono.tv_nsec = (long)(rec->mono_ns % 1000000000LL);
        tmp.wall.tv_sec = (time_t)rec->wall_sec;
        tmp.wall.tv_nsec = rec->wall_nsec;
        if (r != NULL) {
                snprintf(tmp.session, sizeof tmp.session, "%s", r->session);
                snprintf(tmp.request_id, sizeof tmp.request_id, "%s", r->id);
        }
        snprintf(tmp.model, sizeof tmp.model, "%s", rec->model != NULL ? rec->model : "");
        tmp.payload = rec->payload;
        tmp.raw = rec->raw;
        record_format(&tmp, 0, out);
}

int replay_journal_load(const char *path, struct replay_journal **out, char **cause)
{
        FILE *f = fopen(path, "r");
        struct replay_journal *j;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;

        if (f == NULL) {
                *cause = xasprintf("cannot open %s: %s", path, strerror(errno));
                return -1;
        }
        j = replay_journal_new();
        /* getline keeps memory to one line at a time beyond what the records keep. */
        while ((n = getline(&line, &cap, f)) > 0)
                replay_journal_add_line(j, line, (size_t)n);
        free(line);
        if (ferror(f)) {
                *cause = xasprintf("cannot read %s: %s", path, strerror(errno));
                fclose(f);
                replay_journal_free(j);
                return -1;
        }
        fclose(f);
        if (j->last_line_bad) {
                /* The writer was cut in the middle of its last line: expected, not an error. */
                j->truncated = true;
                j->bad_lines--;
                if (j->bad_lines == 0)
                        j->first_bad = 0;
        }
        *out = j;
        return 0;
}

/* ---- reading a released request back ---------------------------------------------------- */

struct journal_file {
        char *path;
        struct timespec mtime;
};

static int by_mtime(const void *a, const void *b)
{
        const struct journal_file *x = a, *y = b;

        if (x->mtime.tv_sec != y->mtime.tv_sec)
                return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
        return (x->mtime.tv_nsec > y->mtime.tv_nsec) - (x->mtime.tv_nsec < y->mtime.tv_nsec);
}

/* The journal files (YYYY-MM-DD[.N].jsonl) in dir last written at or after since, oldest
 * write first. */
static size_t journal_files(const char *dir, double since, struct journal_file **out)
{
        DIR *d = opendir(dir);
        struct dirent *e;
        struct journal_file *f = NULL;
        size_t n = 0, cap = 0;

        *out = NULL;
        if (d == NULL)
                return 0;
        while ((e = readdir(d)) != NULL) {
                size_t len = strlen(e->d_name);
                struct stat st;
                char *path;

                if (len <= 6 || strcmp(e->d_name + len - 6, ".jsonl") != 0 || e->d_name[0] < '0' ||
                    e->d_name[0] > '9')
                        continue;
                path = xasprintf("%s/%s", dir, e->d_name);
                if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
                    (double)st.st_mtim.tv_sec + 1 < since) {
                        free(path);
                        continue;
                }
                GROW(f, n, cap);
                f[n].path = path;
                f[n].mtime = st.st_mtim;
                n++;
        }
        closedir(d);
        if (n > 1)
                qsort(f, n, sizeof *f, by_mtime);
        *out = f;
        return n;
}

long replay_request_reload(struct replay_request *r, const char *dir, char **cause)
{
        struct journal_file *files;
        size_t n_files = journal_files(dir, r->wall, &files);
        struct replay_journal *tmp = replay_journal_new();
        struct replay_request *found = NULL;
        char *needle = xasprintf("\"request\":\"%s\"", r->id);
        char *line = NULL;
        size_t cap = 0;
        long got = -1;

        r->reload_tried = true;
        for (size_t i = 0; i < n_files && (found == NULL || !found->ended); i++) {
                FILE *f = fopen(files[i].path, "r");
                ssize_t len;

                if (f == NULL)
                        continue;
                /* Request ids are random: a line naming this one is one of its records. */
                while ((len = getline(&line, &cap, f)) > 0) {
                        if (memmem(line, (size_t)len, needle, strlen(needle)) == NULL)
                                continue;
                        replay_journal_add_line(tmp, line, (size_t)len);
                        found = replay_journal_request(tmp, r->id);
                }
                fclose(f);
        }
        if (found != NULL && found->n_records > 0) {
                for (size_t i = 0; i < r->n_records; i++)
                        record_fini(&r->records[i]);
                free(r->records);
                copies_free(&r->copies[0]);
                copies_free(&r->copies[1]);
                r->records = found->records;
                r->n_records = found->n_records;
                r->cap_records = found->cap_records;
                found->records = NULL;
                found->n_records = found->cap_records = 0;
                r->reloaded = true;
                got = (long)r->n_records;
        } else {
                *cause = xasprintf("no record of %s in the journal files in %s", r->id, dir);
        }
        for (size_t i = 0; i < n_files; i++)
                free(files[i].path);
        free(files);
        free(line);
        free(needle);
        replay_journal_free(tmp);
        return got;
}

void replay_session_totals(const struct replay_session *s, struct replay_totals *out)
{
        memset(out, 0, sizeof *out);
        for (size_t i = 0; i < s->n_requests; i++) {
                const struct replay_request *r = s->requests[i];
                out->requests++;
                if (r->failed)
                        out->failed++;
                out->input_tokens += r->input_tokens;
                out->output_tokens += r->output_tokens;
                out->cache_read_tokens += r->cache_read_tokens;
                out->cache_creation_tokens += r->cache_creation_tokens;
                if (r->duration_ms > 0)
                        out->duration_ms += r->duration_ms;
                if (r->wall > 0 && (out->first_wall == 0 || r->wall < out->first_wall))
                        out->first_wall = r->wall;
                if (r->wall > out->last_wall)
                        out->last_wall = r->wall;
        }
}

cJSON *replay_record_parse(const struct replay_request *r, const struct replay_record *rec)
{
        struct buf line;
        cJSON *o;

        if (rec->line != NULL)
                return json_parse(rec->line, rec->len, NULL);
        buf_init(&line);
        replay_record_text(r, rec, &line);
        o = json_parse(line.data, line.len, NULL);
        buf_fini(&line);
        return o;
}

static bool plain_ascii(const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)p[i];
                if (c == 0 || c >= 0x80)
                        return false;
        }
        return true;
}

void replay_record_data(const struct replay_request *r, const struct replay_record *rec,
                        struct buf *out)
{
        cJSON *o;
        const char *d;

        /* Raw ASCII bytes are what their escaped line reads back as; anything else (invalid
         * UTF-8, a NUL) takes the round trip, so both ways show the same. */
        if (rec->line == NULL && rec->raw && rec->payload != NULL &&
            plain_ascii(rec->payload->data, rec->payload->len)) {
                buf_append(out, rec->payload->data, rec->payload->len);
                return;
        }
        o = replay_record_parse(r, rec);
        d = json_get_str(o, "data");
        if (d != NULL)
                buf_puts(out, d);
        cJSON_Delete(o);
}

const struct replay_record *replay_request_find(const struct replay_request *r, int kind)
{
        for (size_t i = 0; i < r->n_records; i++) {
                if (r->records[i].kind == kind)
                        return &r->records[i];
        }
        return NULL;
}

/* ---- the listing ------------------------------------------------------------------------- */

/* Rows of cells printed in aligned columns; a cell starting with '>' is right-aligned. */
struct table {
        char **cells;
        size_t ncols;
        size_t n; /* cells */
        size_t cap;
};

static void table_init(struct table *t, size_t ncols)
{
        memset(t, 0, sizeof *t);
        t->ncols = ncols;
}

static void table_fini(struct table *t)
{
        for (size_t i = 0; i < t->n; i++)
                free(t->cells[i]);
        free(t->cells);
}

static void table_cell(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void table_cell(struct table *t, const char *fmt, ...)
{
        struct buf b;
        va_list ap;

        buf_init(&b);
        va_start(ap, fmt);
        buf_vprintf(&b, fmt, ap);
        va_end(ap);
        GROW(t->cells, t->n, t->cap);
        t->cells[t->n++] = b.data != NULL ? buf_detach(&b) : xstrdup("");
        buf_fini(&b);
}

/* Display width of UTF-8 text: code points, which is right for the text we print. */
static size_t text_width(const char *s)
{
        size_t w = 0;

        for (; *s != '\0'; s++) {
                if (((unsigned char)*s & 0xC0) != 0x80)
                        w++;
        }
        return w;
}

static void table_print(FILE *f, const struct table *t, const char *indent)
{
        size_t *width = xcalloc(t->ncols, sizeof *width);
        struct buf line;

        for (size_t i = 0; i < t->n; i++) {
                const char *c = t->cells[i];
                size_t w = text_width(c[0] == '>' ? c + 1 : c);
                if (w > width[i % t->ncols])
                        width[i % t->ncols] = w;
        }
        buf_init(&line);
        for (size_t i = 0; i < t->n; i++) {
                size_t col = i % t->ncols;
                const char *c = t->cells[i];
                bool right = c[0] == '>';
                size_t pad;

                if (right)
                        c++;
                pad = width[col] - text_width(c);
                if (col == 0)
                        buf_puts(&line, indent);
                else
                        buf_puts(&line, "  ");
                buf_printf(&line, "%*s%s%*s", right ? (int)pad : 0, "", c, right ? 0 : (int)pad,
                           "");
                if (col == t->ncols - 1) {
                        while (line.len > 0 && line.data[line.len - 1] == ' ')
                                line.data[--line.len] = '\0';
                        fprintf(f, "%s\n", buf_str(&line));
                        buf_clear(&line);
                }
        }
        buf_fini(&line);
        free(width);
}

static void fmt_duration(long ms, char *out, size_t n)
{
        if (ms < 0)
                snprintf(out, n, "-");
        else if (ms < 1000)
                snprintf(out, n, "%ldms", ms);
        else if (ms < 60000)
                snprintf(out, n, "%.2fs", (double)ms / 1000.0);
        else
                snprintf(out, n, "%ldm%02lds", ms / 60000, (ms % 60000) / 1000);
}

/* Local wall-clock time of a record: what the user's terminal clock showed then. */
static void fmt_clock(double wall, const char *fmt, char *out, size_t n)
{
        time_t t = (time_t)wall;
        struct tm tm;

        if (wall <= 0 || localtime_r(&t, &tm) == NULL || strftime(out, n, fmt, &tm) == 0)
                snprintf(out, n, "-");
}

/* "2 Read,Write", "1" when only counted, "-" when none. */
static void fmt_tools(const struct replay_request *r, char *out, size_t n)
{
        struct buf b;

        if (r->tool_calls == 0 && r->n_tool_names == 0) {
                snprintf(out, n, "-");
                return;
        }
        buf_init(&b);
        buf_printf(&b, "%d", r->tool_calls > 0 ? r->tool_calls : (int)r->n_tool_names);
        for (size_t i = 0; i < r->n_tool_names; i++)
                buf_printf(&b, "%c%s", i == 0 ? ' ' : ',', r->tool_names[i]);
        if (b.len >= n && n > 4)
                snprintf(out, n, "%.*s...", (int)(n - 4), buf_str(&b));
        else
                snprintf(out, n, "%s", buf_str(&b));
        buf_fini(&b);
}

static void fmt_status(const struct replay_request *r, char *out, size_t n)
{
        if (r->status > 0)
                snprintf(out, n, "%d", r->status);
        else if (r->failed)
                snprintf(out, n, "failed");
        else
                snprintf(out, n, "-");
}

/* One line (cells) per request for the listing. */
static void list_row(struct table *t, const struct replay_request *r)
{
        char clock[16], dur[24], tools[64], status[16];
        const char *model = r->model != NULL ? r->model : "-";
        struct buf note;

        fmt_clock(r->wall, "%H:%M:%S", clock, sizeof clock);
        fmt_duration(r->duration_ms, dur, sizeof dur);
        fmt_tools(r, tools, sizeof tools);
        fmt_status(r, status, sizeof status);
        table_cell(t, "%s", clock);
        table_cell(t, "%s", r->id);
        if (r->model_id != NULL && strcmp(r->model_id, model) != 0)
                table_cell(t, "%s -> %s", model, r->model_id);
        else
                table_cell(t, "%s", r->model_id != NULL ? r->model_id : model);
        table_cell(t, "%s", r->count_tokens ? "count" : r->mode != NULL ? r->mode : "-");
        table_cell(t, "%s", status);
        table_cell(t, "%s", r->stream ? "stream" : "json");
        if (r->has_usage)
                table_cell(t, ">in %ld", r->input_tokens);
        else
                table_cell(t, ">in -");
        if (r->has_usage)
                table_cell(t, ">out %ld", r->output_tokens);
        else
                table_cell(t, ">out -");
        table_cell(t, ">cache %ld/%ld", r->cache_read_tokens, r->cache_creation_tokens);
        table_cell(t, ">%s", dur);
        table_cell(t, "%s", r->stop_reason != NULL ? r->stop_reason : "-");
        table_cell(t, "%s", tools);
        buf_init(&note);
        if (r->replay_of != NULL)
                buf_printf(&note, "replay of %s", r->replay_of);
        if (r->attempts > 1)
                buf_printf(&note, "%s%d attempts", note.len ? "; " : "", r->attempts);
        if (r->failed && r->error != NULL)
                buf_printf(&note, "%s%.100s", note.len ? "; " : "", r->error);
        if (!r->ended)
                buf_printf(&note, "%s(no end record: still running, or cut off)",
                           note.len ? "; " : "");
        table_cell(t, "%s", buf_str(&note));
        buf_fini(&note);
}

#define LIST_COLS 13

static void print_session(FILE *f, const struct replay_session *s)
{
        struct replay_totals tot;
        struct table t;
        char day[32], from[16], to[16], dur[24];

        replay_session_totals(s, &tot);
        fmt_clock(tot.first_wall, "%Y-%m-%d", day, sizeof day);
        fmt_clock(tot.first_wall, "%H:%M:%S", from, sizeof from);
        fmt_clock(tot.last_wall, "%H:%M:%S", to, sizeof to);
        fprintf(f, "session %s  %s %s-%s  %zu request%s\n", *s->id ? s->id : "(none)", day, from,
                to, s->n_requests, s->n_requests == 1 ? "" : "s");
        table_init(&t, LIST_COLS);
        for (size_t i = 0; i < s->n_requests; i++)
                list_row(&t, s->requests[i]);
        table_print(f, &t, "  ");
        table_fini(&t);
        fmt_duration(tot.duration_ms, dur, sizeof dur);
        fprintf(f,
                "  total: %zu request%s, %zu failed, in %ld out %ld cache %ld/%ld "
                "tokens, %s\n\n",
                tot.requests, tot.requests == 1 ? "" : "s", tot.failed, tot.input_tokens,
                tot.output_tokens, tot.cache_read_tokens, tot.cache_creation_tokens, dur);
}

void replay_print_list(FILE *f, const struct replay_journal *j, const char *file,
                       const struct replay_session *only)
{
        fprintf(f, "%s: %zu session%s, %zu request%s", file, j->n_sessions,
                j->n_sessions == 1 ? "" : "s", j->n_requests, j->n_requests == 1 ? "" : "s");
        if (j->bad_lines > 0)
                fprintf(f, "; skipped %zu line%s that are not records (first: line %zu)",
                        j->bad_lines, j->bad_lines == 1 ? "" : "s", j->first_bad);
        if (j->truncated)
                fprintf(f, "; the last line is cut short (written as the proxy stopped)");
        if (j->dropped > 0)
                fprintf(f, "; %llu record%s dropped by the proxy (it was too busy to journal them)",
                        (unsigned long long)j->dropped, j->dropped == 1 ? "" : "s");
        fputs("\n\n", f);
        for (size_t i = 0; i < j->n_sessions; i++) {
                if (only == NULL || only == j->sessions[i])
                        print_session(f, j->sessions[i]);
        }
}

/* ---- the command ------------------------------------------------------------------------- */

struct replay_cli {
        const char *file;
        const char *session;
        const char *model;
        const char *config;
        const char *key_env;
        const char *journal;
        bool no_journal;
        bool resend;
};

static void replay_usage(FILE *f)
{
        fputs("usage: claude-proxy replay [FILE|DIR] [--session ID]\n"
              "       claude-proxy replay [FILE|DIR] --session ID --resend [--model MODEL_ID]\n"
              "                           [--config FILE] [--key-env NAME]\n"
              "                           [--journal DIR | --no-journal]\n"
              "\n"
              "Lists the sessions and requests in a journal file, or sends a session's\n"
              "requests again through the proxy (started in this process on 127.0.0.1)\n"
              "and compares the new answers with the originals. A directory stands for\n"
              "the newest journal file in it; no FILE at all, for the newest one in the\n"
              "default journal directory ($XDG_STATE_HOME/claude-proxy/journal). Ctrl-C\n"
              "during --resend stops it and prints what was sent so far.\n"
              "\n"
              "  --session ID     only this session (a unique prefix of its id is enough)\n"
              "  --resend         send the session's requests again, one after the other\n"
              "  --model ID       send them to this model entry instead of the original's\n"
              "  --config FILE    models.yaml; otherwise $CLAUDE_PROXY_CONFIG, ./models.yaml,\n"
              "                   then ~/.config/claude-proxy/models.yaml\n"
              "  --key-env NAME   the environment variable holding the API key to send\n"
              "                   (default ANTHROPIC_API_KEY; a model's api_key_name wins);\n"
              "                   the journal only holds redacted keys\n"
              "  --journal DIR    where the re-sent requests are journaled (default: FILE's\n"
              "                   directory); --no-journal: not at all\n",
              f);
}

static int replay_parse_cli(int argc, char **argv, struct replay_cli *c)
{
        static const struct option opts[] = {
            {"session", required_argument, NULL, 's'},
            {"resend", no_argument, NULL, 'r'},
            {"model", required_argument, NULL, 'm'},
            {"config", required_argument, NULL, 'c'},
            {"key-env", required_argument, NULL, 'k'},
            {"journal", required_argument, NULL, 'j'},
            {"no-journal", no_argument, NULL, 'n'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int ch;

        memset(c, 0, sizeof *c);
        optind = 1;
        while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (ch) {
                case 's':
                        c->session = optarg;
                        break;
                case 'r':
                        c->resend = true;
                        break;
                case 'm':
                        c->model = optarg;
                        break;
                case 'c':
                        c->config = optarg;
                        break;
                case 'k':
                        c->key_env = optarg;
                        break;
                case 'j':
                        c->journal = optarg;
                        break;
                case 'n':
                        c->no_journal = true;
                        break;
                case 'h':
                        replay_usage(stdout);
                        exit(0);
                default:
                        replay_usage(stderr);
                        return -1;
                }
        }
        if (optind < argc)
                c->file = argv[optind++];
        if (optind < argc) {
                fprintf(stderr, "claude-proxy replay: unexpected argument \"%s\"\n", argv[optind]);
                return -1;
        }
        if (!c->resend &&
            (c->model != NULL || c->key_env != NULL || c->journal != NULL || c->no_journal)) {
                fprintf(stderr, "claude-proxy replay: --model, --key-env, --journal and "
                                "--no-journal only apply with --resend\n");
                return -1;
        }
        return 0;
}

static void list_session_ids(FILE *f, const struct replay_journal *j)
{
        if (j->n_sessions == 0) {
                fputs("  (the journal has no sessions)\n", f);
                return;
        }
        for (size_t i = 0; i < j->n_sessions; i++)
                fprintf(f, "  %s  (%zu request%s)\n",
                        *j->sessions[i]->id ? j->sessions[i]->id : "\"\"",
                        j->sessions[i]->n_requests, j->sessions[i]->n_requests == 1 ? "" : "s");
}

static struct replay_session *pick_session(const struct replay_journal *j, const char *id)
{
        bool ambiguous;
        struct replay_session *s = replay_journal_find_session(j, id, &ambiguous);

        if (s == NULL) {
                fprintf(stderr, "claude-proxy replay: %s \"%s\"; the sessions are:\n",
                        ambiguous ? "more than one session starts with" : "no session", id);
                list_session_ids(stderr, j);
        }
        return s;
}

/* One request to send again and what came of it. */
struct resend_item {
        struct replay_request *orig;
        struct replay_request *now; /* summary of the new answer (same code as the journal's) */
        cJSON *client_request;      /* the original's client_request record */
        char *model_id;             /* the entry it goes to (a copy: the server frees its config) */
        const struct replay_request *recorded; /* the server's records of it, when complete */
        int http_status;
        char *transport_error;
        struct timespec t0;
        bool got_byte;
        bool is_stream;
        bool skipped;
        const char *skip_reason;
};

struct resend {
        struct event_base *base;
        struct server *server;
        struct upstream *client;
        struct resend_item *items;
        size_t n;
        size_t next;
        size_t current;
        const char *model; /* --model, or NULL */
        const char *key;   /* sent as x-api-key, or NULL */
        char session[48];  /* the new session the re-sent requests form */
        struct sse_parser sse;
        struct buf body;
        int transport_failures;
        /* The server's own records of the re-sent requests, read back as the inspector would:
         * they carry the proxy's request ids (in direct mode the client sees the upstream's),
         * its timings and its usage accounting. */
        struct ring *ring;
        struct replay_journal *live;
        struct event *drain_timer;
        struct upstream_transfer *t; /* the request in flight, or NULL */
        struct event *signals[2];    /* SIGINT, SIGTERM */
        bool interrupted;
};

static void resend_drain(struct resend *rs)
{
        struct record rec;

        if (rs->ring == NULL)
                return;
        while (ring_pop(rs->ring, &rec)) {
                replay_journal_take_record(rs->live, &rec);
        }
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        resend_drain(arg);
}

static long ms_since(const struct timespec *t0)
{
        struct timespec now;

        clock_gettime(CLOCK_MONOTONIC, &now);
        return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

static const char *header_of(const cJSON *headers, const char *name)
{
        const cJSON *h;

        cJSON_ArrayForEach(h, headers)
        {
                if (h->string != NULL && strcasecmp(h->string, name) == 0 && cJSON_IsString(h))
                        return h->valuestring;
        }
        return NULL;
}

static void resend_start_next(evutil_socket_t fd, short what, void *arg);

static void resend_schedule_next(struct resend *rs)
{
        /* Not from inside the finished transfer's callback: from the loop, on its own. */
        event_base_once(rs->base, -1, EV_TIMEOUT, resend_start_next, rs, NULL);
}

static void on_resend_response(void *arg, struct upstream_transfer *t, int status)
{
        struct resend *rs = arg;
        struct resend_item *it = &rs->items[rs->current];
        const char *ct = upstream_header(t, "content-type");
        const char *id = upstream_header(t, "request-id");

        it->http_status = status;
        it->now->status = status;
        if (status >= 400)
                it->now->failed = true;
        if (id != NULL) {
                free(it->now->id);
                it->now->id = xstrdup(id);
        }
        it->is_stream = ct != NULL && strncasecmp(ct, "text/event-stream", 17) == 0;
}

static int on_resend_data(void *arg, struct upstream_transfer *t, const char *p, size_t n)
{
        struct resend *rs = arg;
        struct resend_item *it = &rs->items[rs->current];

        (void)t;
        if (!it->got_byte) {
                it->got_byte = true;
                it->now->ttft_ms = ms_since(&it->t0);
        }
        if (it->is_stream)
                sse_parser_feed(&rs->sse, p, n);
        else
                buf_append(&rs->body, p, n);
        return 0;
}

static void on_resend_done(void *arg, struct upstream_transfer *t, const struct upstream_outcome *o)
{
        struct resend *rs = arg;
        struct resend_item *it = &rs->items[rs->current];

        (void)t;
        rs->t = NULL;
        it->now->duration_ms = ms_since(&it->t0);
        it->now->ended = true;
        if (it->is_stream) {
                sse_parser_end(&rs->sse);
        } else if (rs->body.len > 0) {
                cJSON *body = json_parse(rs->body.data, rs->body.len, NULL);
                if (body != NULL)
                        note_answer_body(it->now, body);
                cJSON_Delete(body);
        }
        if (!o->ok) {
                it->transport_error = xstrdup(o->error != NULL ? o->error : "transfer failed");
                it->now->failed = true;
                rs->transport_failures++;
        }
        resend_drain(rs);
        resend_schedule_next(rs);
}

static const struct upstream_handlers resend_handlers = {
    .on_response = on_resend_response,
    .on_data = on_resend_data,
    .on_done = on_resend_done,
};

static void on_server_drained(void *arg)
{
        struct resend *rs = arg;

        event_del(rs->drain_timer);
        event_base_loopexit(rs->base, NULL);
}

/*
 * Ctrl-C (or SIGTERM) during a re-send: nothing more is sent, the request in flight is cut off
 * and reported as such, the proxy finishes its records (so the journal is whole), and the
 * summary shows what was sent. A second signal quits at once.
 */
static void on_resend_signal(evutil_socket_t sig, short what, void *arg)
{
        struct resend *rs = arg;

        (void)sig;
        (void)what;
        if (rs->interrupted) {
                event_base_loopbreak(rs->base);
                return;
        }
        rs->interrupted = true;
        fprintf(stderr, "replay: interrupted; letting the proxy finish its records (again to "
                        "quit at once)\n");
        for (size_t i = rs->next; i < rs->n; i++) {
                if (!rs->items[i].skipped) {
                        rs->items[i].skipped = true;
                        rs->items[i].skip_reason = "interrupted";
                }
        }
        rs->next = rs->n;
        if (rs->t != NULL) {
                struct resend_item *it = &rs->items[rs->current];

                upstream_cancel(rs->t);
                rs->t = NULL;
                it->now->duration_ms = ms_since(&it->t0);
                it->now->failed = true;
                it->transport_error = xstrdup("interrupted before the answer was complete");
                /* Between requests a start is already scheduled; it finds nothing to send. */
                resend_schedule_next(rs);
        }
}

static void resend_start_next(evutil_socket_t fd, short what, void *arg)
{
        struct resend *rs = arg;
        struct upstream_request req;
        struct resend_item *it;
        cJSON *body;
        const cJSON *headers;
        const char *path, *v;
        struct curl_slist *h = NULL;
        char *line;

        (void)fd;
        (void)what;
        while (rs->next < rs->n && rs->items[rs->next].skipped)
                rs->next++;
        if (rs->next >= rs->n) {
                /* Every answer is in; let the server finish its records, then stop. */
                server_drain(rs->server, on_server_drained, rs);
                return;
        }
        rs->current = rs->next++;
        it = &rs->items[rs->current];
        body = cJSON_Duplicate(json_get(it->client_request, "body"), true);
        if (rs->model != NULL)
                json_set(body, "model", cJSON_CreateString(rs->model));
        headers = json_get(it->client_request, "headers");
        path = json_get_str(it->client_request, "path");
        if (path == NULL || *path != '/')
                path = "/v1/messages";

        h = curl_slist_append(h, "content-type: application/json");
        v = header_of(headers, "anthropic-version");
        line = xasprintf("anthropic-version: %s", v != NULL ? v : "2023-06-01");
        h = curl_slist_append(h, line);
        free(line);
        if ((v = header_of(headers, "anthropic-beta")) != NULL) {
                line = xasprintf("anthropic-beta: %s", v);
                h = curl_slist_append(h, line);
                free(line);
        }
        line = xasprintf("x-claude-code-session-id: %s", rs->session);
        h = curl_slist_append(h, line);
        free(line);
        line = xasprintf("x-claude-proxy-replay-of: %s", it->orig->id);
        h = curl_slist_append(h, line);
        free(line);
        if (rs->key != NULL) {
                line = xasprintf("x-api-key: %s", rs->key);
                h = curl_slist_append(h, line);
                free(line);
        }

        memset(&req, 0, sizeof req);
        req.url = xasprintf("http://127.0.0.1:%d%s", rs->server->port, path);
        req.method = "POST";
        req.headers = h;
        req.body = json_print(body);
        req.body_len = strlen(req.body);
        req.connect_timeout_ms = 10000;
        req.idle_timeout_ms = rs->server->settings.read_timeout_ms + 30000;
        cJSON_Delete(body);

        buf_clear(&rs->body);
        sse_parser_fini(&rs->sse);
        sse_parser_init(&rs->sse, note_sse_event, it->now);
        clock_gettime(CLOCK_MONOTONIC, &it->t0);
        fprintf(stderr, "replay: %zu/%zu %s ...\n", rs->current + 1, rs->n, it->orig->id);
        rs->t = upstream_start(rs->client, &req, &resend_handlers, rs);
        free((char *)req.url);
}

/* The side-by-side summary: one row per request, the original's cells left, the new right. */
static void summary_side(struct table *t, const struct replay_request *r, const char *model)
{
        char dur[24], tools[48], status[16];

        fmt_duration(r->duration_ms, dur, sizeof dur);
        fmt_tools(r, tools, sizeof tools);
        fmt_status(r, status, sizeof status);
        table_cell(t, "%s", model != NULL ? model : "?");
        table_cell(t, "%s", status);
        table_cell(t, "%s", r->stop_reason != NULL ? r->stop_reason : "-");
        table_cell(t, "%s", tools);
        if (r->has_usage)
                table_cell(t, ">%ld/%ld", r->input_tokens, r->output_tokens);
        else
                table_cell(t, ">-");
        table_cell(t, ">%s", dur);
}

static bool same_str(const char *a, const char *b)
{
        return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_tools(const struct replay_request *a, const struct replay_request *b)
{
        if (a->n_tool_names != b->n_tool_names)
                return false;
        for (size_t i = 0; i < a->n_tool_names; i++) {
                if (strcmp(a->tool_names[i], b->tool_names[i]) != 0)
                        return false;
        }
        return a->tool_calls == b->tool_calls;
}

#define SUMMARY_COLS 16

static void print_resend_summary(FILE *f, const struct resend *rs)
{
        struct table t;
        long in[2] = {0, 0}, out[2] = {0, 0}, ms[2] = {0, 0};
        char d0[24], d1[24];

        table_init(&t, SUMMARY_COLS);
        table_cell(&t, "#");
        table_cell(&t, "original");
        for (int side = 0; side < 2; side++) {
                table_cell(&t, "%s", side == 0 ? "model" : "| model");
                table_cell(&t, "status");
                table_cell(&t, "stop");
                table_cell(&t, "tools");
                table_cell(&t, ">in/out");
                table_cell(&t, ">time");
        }
        table_cell(&t, "new");
        table_cell(&t, "differs");
        for (size_t i = 0; i < rs->n; i++) {
                const struct resend_item *it = &rs->items[i];
                const struct replay_request *o = it->orig;
                const struct replay_request *n = it->recorded != NULL ? it->recorded : it->now;
                struct buf diff;

                table_cell(&t, "%zu", i + 1);
                table_cell(&t, "%s", o->id);
                summary_side(&t, o, o->model_id != NULL ? o->model_id : o->model);
                if (it->skipped) {
                        table_cell(&t, "| -");
                        for (int c = 0; c < 5; c++)
                                table_cell(&t, "%s", "");
                        table_cell(&t, "not sent: %s", it->skip_reason);
                        table_cell(&t, "%s", "");
                        continue;
                }
                /* summary_side's first cell carries the separator on the right-hand side */
                {
                        char *model = xasprintf("| %s", it->model_id != NULL ? it->model_id : "?");
                        summary_side(&t, n, model);
                        free(model);
                }
                table_cell(&t, "%s", n->id);
                buf_init(&diff);
                if (o->status != n->status)
                        buf_puts(&diff, "status ");
                if (!same_str(o->stop_reason, n->stop_reason))
                        buf_puts(&diff, "stop ");
                if (!same_tools(o, n))
                        buf_puts(&diff, "tools ");
                table_cell(&t, "%s", diff.len ? buf_str(&diff) : "-");
                buf_fini(&diff);
                in[0] += o->input_tokens;
                out[0] += o->output_tokens;
                ms[0] += o->duration_ms > 0 ? o->duration_ms : 0;
                in[1] += n->input_tokens;
                out[1] += n->output_tokens;
                ms[1] += n->duration_ms > 0 ? n->duration_ms : 0;
        }
        table_print(f, &t, "  ");
        table_fini(&t);
        fmt_duration(ms[0], d0, sizeof d0);
        fmt_duration(ms[1], d1, sizeof d1);
        fprintf(f, "  total: original in %ld out %ld tokens, %s; new in %ld out %ld tokens, %s\n",
                in[0], out[0], d0, in[1], out[1], d1);
        for (size_t i = 0; i < rs->n; i++) {
                const struct resend_item *it = &rs->items[i];
                const struct replay_request *n = it->recorded != NULL ? it->recorded : it->now;
                if (it->transport_error != NULL)
                        fprintf(f, "  #%zu new: no answer: %s\n", i + 1, it->transport_error);
                else if (!it->skipped && n->failed && n->error != NULL)
                        fprintf(f, "  #%zu new: %d %.200s\n", i + 1, it->http_status, n->error);
        }
}

static void print_model_ids(FILE *f, const struct config *cfg)
{
        for (size_t i = 0; i < cfg->n_models; i++)
                fprintf(f, "  %s%s\n", cfg->models[i].model_id,
                        (int)i == cfg->default_model ? "  (default)" : "");
}

static const char *env_value(const char *name)
{
        const char *v = name != NULL ? getenv(name) : NULL;
        return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * Picks what to send and checks, before anything starts, that every request has a model
 * entry and a key: the journal's keys are redacted, so a key must come from the environment.
 */
static int resend_prepare(struct resend *rs, const struct replay_session *s,
                          const struct config *cfg, const struct replay_cli *cli)
{
        const char *key_env = cli->key_env != NULL ? cli->key_env : "ANTHROPIC_API_KEY";
        size_t sendable = 0;

        rs->key = env_value(key_env);
        if (cli->key_env != NULL && rs->key == NULL) {
                fprintf(stderr, "claude-proxy replay: --key-env %s: $%s is not set\n", cli->key_env,
                        cli->key_env);
                return -1;
        }
        rs->items = xcalloc(s->n_requests > 0 ? s->n_requests : 1, sizeof *rs->items);
        rs->n = s->n_requests;
        for (size_t i = 0; i < s->n_requests; i++) {
                struct resend_item *it = &rs->items[i];
                const struct replay_record *rec;
                const char *model;
                bool fallback;
                const struct model_entry *entry;

                it->orig = s->requests[i];
                it->now = request_new(it->orig->id);
                it->now->session = xstrdup(rs->session);
                it->now->replay_of = xstrdup(it->orig->id);
                rec = replay_request_find(it->orig, RECORD_CLIENT_REQUEST);
                it->client_request = rec != NULL ? replay_record_parse(it->orig, rec) : NULL;
                if (it->client_request == NULL) {
                        it->skipped = true;
                        it->skip_reason = "no client_request record";
                        continue;
                }
                if (it->orig->count_tokens) {
                        it->skipped = true;
                        it->skip_reason = "count_tokens";
                        continue;
                }
                if (!cJSON_IsObject(json_get(it->client_request, "body"))) {
                        it->skipped = true;
                        it->skip_reason = "the body was not JSON";
                        continue;
                }
                model = rs->model != NULL
                            ? rs->model
                            : json_get_str(json_get(it->client_request, "body"), "model");
                entry = rs->model != NULL ? config_find(cfg, rs->model)
                                          : config_route(cfg, model, &fallback);
                if (entry == NULL) {
                        fprintf(stderr,
                                "claude-proxy replay: request %s asked for \"%s\", which no "
                                "model entry takes and there is no default; pass --model, "
                                "one of:\n",
                                it->orig->id, model != NULL ? model : "");
                        print_model_ids(stderr, cfg);
                        return -1;
                }
                it->model_id = xstrdup(entry->model_id);
                if (env_value(entry->api_key_name) == NULL && rs->key == NULL) {
                        fprintf(stderr,
                                "claude-proxy replay: no API key for model \"%s\": the "
                                "journal holds only redacted keys, so set %s%s%s$%s, or "
                                "name another variable with --key-env NAME\n",
                                entry->model_id, entry->api_key_name != NULL ? "$" : "",
                                entry->api_key_name != NULL ? entry->api_key_name : "",
                                entry->api_key_name != NULL ? " (its api_key_name) or " : "",
                                key_env);
                        return -1;
                }
                sendable++;
        }
        if (sendable == 0) {
                fprintf(stderr,
                        "claude-proxy replay: session \"%s\" has no request that can be "
                        "sent again (count_tokens and requests without a logged body "
                        "are not re-sent)\n",
                        s->id);
                return -1;
        }
        return 0;
}

/*
 * Takes the server's own summary of each re-sent request (found by its replay_of) over the one
 * made from the answer, when the server's records of it are complete.
 */
static void resend_adopt_records(struct resend *rs)
{
        for (size_t i = 0; i < rs->live->n_requests; i++) {
                struct replay_request *r = rs->live->requests[i];
                if (r->replay_of == NULL || !r->ended || strcmp(r->session, rs->session) != 0)
                        continue;
                for (size_t k = 0; k < rs->n; k++) {
                        struct resend_item *it = &rs->items[k];
                        if (it->recorded == NULL && !it->skipped &&
                            strcmp(it->orig->id, r->replay_of) == 0) {
                                it->recorded = r;
                                break;
                        }
                }
        }
}

static void resend_fini(struct resend *rs)
{
        for (size_t i = 0; i < rs->n; i++) {
                request_free(rs->items[i].now);
                cJSON_Delete(rs->items[i].client_request);
                free(rs->items[i].transport_error);
                free(rs->items[i].model_id);
        }
        free(rs->items);
        replay_journal_free(rs->live);
        ring_free(rs->ring);
        buf_fini(&rs->body);
        sse_parser_fini(&rs->sse);
}

/* The directory a journal file is in, to journal the re-sent requests beside it. */
static char *dir_of(const char *file)
{
        const char *slash = strrchr(file, '/');

        if (slash == NULL)
                return xstrdup(".");
        if (slash == file)
                return xstrdup("/");
        return xstrndup(file, (size_t)(slash - file));
}

static int resend(const struct replay_cli *cli, const struct replay_session *s)
{
        struct resend rs;
        struct server_settings settings;
        struct config *cfg = NULL;
        struct journal *journal = NULL;
        char *cause = NULL, *config_path, *jdir = NULL;
        char stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        const struct timeval drain_every = {0, 100000};
        int rc;

        memset(&rs, 0, sizeof rs);
        buf_init(&rs.body);
        sse_parser_init(&rs.sse, note_sse_event, NULL);
        config_path = config_search(cli->config, &cause);
        if (config_path == NULL || config_load(config_path, &cfg, &cause) != 0) {
                fprintf(stderr, "claude-proxy replay: %s\n", cause);
                free(cause);
                free(config_path);
                resend_fini(&rs);
                return 2;
        }
        free(config_path);
        if (cli->model != NULL && config_find(cfg, cli->model) == NULL) {
                fprintf(stderr,
                        "claude-proxy replay: --model %s: no such model_id in %s; the "
                        "models are:\n",
                        cli->model, cfg->path != NULL ? cfg->path : "the configuration");
                print_model_ids(stderr, cfg);
                config_free(cfg);
                resend_fini(&rs);
                return 2;
        }
        rs.model = cli->model;
        /* A session of its own, so the re-sent requests list apart from the originals. */
        gmtime_r(&now, &tm);
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
        snprintf(rs.session, sizeof rs.session, "replay-%s-%.8s", stamp, *s->id ? s->id : "none");
        if (resend_prepare(&rs, s, cfg, cli) != 0) {
                config_free(cfg);
                resend_fini(&rs);
                return 2;
        }

        rs.base = event_base_new();
        if (!cli->no_journal) {
                struct journal_settings js = {0};
                jdir = cli->journal != NULL ? xstrdup(cli->journal) : dir_of(cli->file);
                js.dir = jdir;
                journal = journal_new(&js, &cause);
                if (journal == NULL) {
                        fprintf(stderr, "claude-proxy replay: journal: %s\n", cause);
                        free(cause);
                        free(jdir);
                        config_free(cfg);
                        event_base_free(rs.base);
                        resend_fini(&rs);
                        return 1;
                }
        }
        server_settings_defaults(&settings, cfg);
        settings.host = "127.0.0.1";
        settings.port = 0;
        rs.server = server_new(rs.base, cfg, &settings, &cause); /* takes cfg */
        if (rs.server == NULL) {
                fprintf(stderr, "claude-proxy replay: cannot start the proxy: %s\n", cause);
                free(cause);
                journal_free(journal);
                free(jdir);
                event_base_free(rs.base);
                resend_fini(&rs);
                return 1;
        }
        if (journal != NULL) {
                recorder_add_sink(&rs.server->recorder, "journal", journal_ring(journal));
                server_set_journal_dir(rs.server, jdir);
                trace_config(&rs.server->recorder, rs.server->config->cfg->path,
                             rs.server->config->cfg, NULL);
        }
        rs.ring = ring_new(1 << 16);
        rs.live = replay_journal_new();
        recorder_add_sink(&rs.server->recorder, "replay", rs.ring);
        rs.drain_timer = event_new(rs.base, -1, EV_PERSIST, on_drain_tick, &rs);
        evtimer_add(rs.drain_timer, &drain_every);
        rs.client = upstream_new(rs.base);
        rs.signals[0] = evsignal_new(rs.base, SIGINT, on_resend_signal, &rs);
        rs.signals[1] = evsignal_new(rs.base, SIGTERM, on_resend_signal, &rs);
        for (int i = 0; i < 2; i++)
                event_add(rs.signals[i], NULL);
        fprintf(stderr,
                "replay: sending %zu request%s of session %s through the proxy on "
                "127.0.0.1:%d%s%s as session %s\n",
                rs.n, rs.n == 1 ? "" : "s", s->id, rs.server->port,
                rs.model != NULL ? " to model " : "", rs.model != NULL ? rs.model : "", rs.session);
        resend_schedule_next(&rs);
        event_base_dispatch(rs.base);

        for (int i = 0; i < 2; i++)
                event_free(rs.signals[i]);
        upstream_free(rs.client);
        server_free(rs.server);
        resend_drain(&rs);
        resend_adopt_records(&rs);
        journal_free(journal); /* writes what is still queued */
        event_free(rs.drain_timer);
        event_base_free(rs.base);

        printf("session %s re-sent as session %s%s%s%s%s\n\n", s->id, rs.session,
               rs.model != NULL ? " to " : "", rs.model != NULL ? rs.model : "",
               jdir != NULL ? "; journal: " : " (not journaled)", jdir != NULL ? jdir : "");
        print_resend_summary(stdout, &rs);
        rc = rs.interrupted ? 130 : rs.transport_failures > 0 ? 1 : 0;
        free(jdir);
        resend_fini(&rs);
        return rc;
}

/*
 * The journal file to read: path itself, or the newest journal file in it when it is a
 * directory (the default journal directory when path is NULL). NULL with *cause when there is
 * none; the caller frees the result.
 */
static char *journal_to_read(const char *path, char **cause)
{
        char *dir = path != NULL ? xstrdup(path) : journal_default_dir();
        struct journal_file *files;
        struct stat st;
        char *file = NULL;
        size_t n;

        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
                if (path == NULL)
                        *cause = xasprintf("no journal directory %s (give a journal FILE or "
                                           "DIR)",
                                           dir);
                else
                        file = dir; /* a file; opening it reports what is wrong */
                if (file == NULL)
                        free(dir);
                return file;
        }
        n = journal_files(dir, 0, &files);
        if (n == 0)
                *cause = xasprintf("no journal files (YYYY-MM-DD.jsonl) in %s", dir);
        else
                file = xstrdup(files[n - 1].path);
        for (size_t i = 0; i < n; i++)
                free(files[i].path);
        free(files);
        free(dir);
        return file;
}

/* Lists the journal cli names, or re-sends one of its sessions. */
static int replay_file(const struct replay_cli *cli)
{
        struct replay_journal *j = NULL;
        struct replay_session *s = NULL;
        char *cause = NULL;
        int rc;

        if (replay_journal_load(cli->file, &j, &cause) != 0) {
                fprintf(stderr, "claude-proxy replay: %s\n", cause);
                free(cause);
                return 1;
        }
        if (j->lines > 0 && j->n_requests == 0 && j->n_other == 0) {
                fprintf(stderr,
                        "claude-proxy replay: %s holds no journal records (%zu line%s "
                        "read); is it a claude-proxy journal?\n",
                        cli->file, j->lines, j->lines == 1 ? "" : "s");
                replay_journal_free(j);
                return 1;
        }
        if (cli->session != NULL && (s = pick_session(j, cli->session)) == NULL) {
                replay_journal_free(j);
                return 2;
        }
        if (cli->resend && s == NULL) {
                fprintf(stderr, "claude-proxy replay: --resend needs --session ID; the sessions "
                                "are:\n");
                list_session_ids(stderr, j);
                replay_journal_free(j);
                return 2;
        }
        if (!cli->resend) {
                replay_print_list(stdout, j, cli->file, s);
                replay_journal_free(j);
                return 0;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        signal(SIGPIPE, SIG_IGN);
        rc = resend(cli, s);
        curl_global_cleanup();
        replay_journal_free(j);
        return rc;
}

int replay_main(int argc, char **argv)
{
        struct replay_cli cli;
        char *file, *cause = NULL;
        int rc;

        if (replay_parse_cli(argc, argv, &cli) != 0)
                return 2;
        alloc_init_cjson();
        if ((file = journal_to_read(cli.file, &cause)) == NULL) {
                fprintf(stderr, "claude-proxy replay: %s\n", cause);
                free(cause);
                return 1;
        }
        if (cli.file == NULL || strcmp(cli.file, file) != 0)
                fprintf(stderr, "replay: reading %s (the newest journal file there)\n", file);
        cli.file = file;
        rc = replay_file(&cli);
        free(file);
        return rc;
}
