/*
 * ui_model: see ui_model.h. The reader keeps every record; this file only derives what the
 * list shows and remembers the configuration and routing the core confirmed.
 */
#include "ui_model.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "record.h"
#include "ui_text.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void free_entries(struct ui_model *m)
{
        size_t i;

        for (i = 0; i < m->n_entries; i++) {
                free(m->entries[i].model_id);
                free(m->entries[i].model_name);
                free(m->entries[i].mode);
                free(m->entries[i].api_base);
        }
        free(m->entries);
        m->entries = NULL;
        m->n_entries = 0;
}

/* Forgets the summed totals: the next refresh sums every request again. */
static void unsettle(struct ui_model *m)
{
        m->settled = 0;
        m->settled_in = m->settled_out = m->settled_cache = 0;
        m->settled_cost = 0;
}

void ui_model_init(struct ui_model *m)
{
        memset(m, 0, sizeof(*m));
        m->j = replay_journal_new();
}

void ui_model_reset(struct ui_model *m)
{
        replay_journal_free(m->j);
        m->j = replay_journal_new();
        free_entries(m);
        free(m->config_path);
        free(m->route_to);
        free(m->route_scope);
        m->config_path = m->route_to = m->route_scope = NULL;
        m->routed = false;
        m->n_rows = 0;
        m->records = 0;
        m->compacted_upto = m->bodies_upto = 0;
        unsettle(m);
        m->dirty = m->rows_dirty = true;
}

void ui_model_fini(struct ui_model *m)
{
        ui_model_reset(m);
        replay_journal_free(m->j);
        ui_filter_clear(&m->filter);
        free(m->rows);
        memset(m, 0, sizeof(*m));
}

static char *dup_str(const cJSON *o, const char *key)
{
        const char *s = json_get_str(o, key);
        return s ? xstrdup(s) : NULL;
}

static void take_config(struct ui_model *m, const cJSON *o)
{
        const cJSON *entries, *e;
        const char *result = json_get_str(o, "result");

        if (!result || strcmp(result, "loaded"))
                return; /* a rejected configuration changes nothing */
        unsettle(m);    /* the prices may have changed */
        free(m->config_path);
        m->config_path = dup_str(o, "path");
        entries = json_get(o, "entries");
        if (!cJSON_IsArray(entries)) {
                const cJSON *names = json_get(o, "models");
                if (!cJSON_IsArray(names))
                        return;
                free_entries(m);
                m->entries = xcalloc((size_t)cJSON_GetArraySize(names) + 1, sizeof(*m->entries));
                cJSON_ArrayForEach(e, names)
                {
                        if (cJSON_IsString(e))
                                m->entries[m->n_entries++].model_id = xstrdup(e->valuestring);
                }
                return;
        }
        free_entries(m);
        m->entries = xcalloc((size_t)cJSON_GetArraySize(entries) + 1, sizeof(*m->entries));
        cJSON_ArrayForEach(e, entries)
        {
                struct ui_entry *u = &m->entries[m->n_entries];
                const cJSON *price = json_get(e, "price");
                double v;

                u->model_id = dup_str(e, "model_id");
                if (!u->model_id)
                        continue;
                u->model_name = dup_str(e, "model_name");
                u->mode = dup_str(e, "mode");
                u->api_base = dup_str(e, "api_base");
                if (!json_get_long(e, "max_tokens", &u->max_tokens))
                        u->max_tokens = 0;
                if (!json_get_long(e, "max_input_tokens", &u->max_input_tokens))
                        u->max_input_tokens = 0;
                u->is_default = json_get_bool(e, "default", false);
                if (cJSON_IsObject(price)) {
                        u->has_price = true;
                        if (json_get_num(price, "input", &v))
                                u->price_input = v;
                        if (json_get_num(price, "output", &v))
                                u->price_output = v;
                        if (json_get_num(price, "cache_read", &v))
                                u->price_cache_read = v;
                        if (json_get_num(price, "cache_write", &v))
                                u->price_cache_write = v;
                }
                m->n_entries++;
        }
}

static void take_switch(struct ui_model *m, const cJSON *o)
{
        const char *to = json_get_str(o, "to");
        const char *scope = json_get_str(o, "scope");

        free(m->route_to);
        free(m->route_scope);
        m->route_to = to ? xstrdup(to) : NULL;
        m->route_scope = xstrdup(scope ? scope : "all");
        m->routed = to != NULL;
}

/* Looks at records of no request that arrived since `before`. */
static void take_other(struct ui_model *m, size_t before)
{
        size_t i;

        for (i = before; i < m->j->n_other; i++) {
                const struct replay_record *r = &m->j->other[i];
                cJSON *o;

                if (r->kind != RECORD_CONFIG && r->kind != RECORD_MODEL_SWITCH)
                        continue;
                o = replay_record_parse(NULL, r);
                if (!o)
                        continue;
                if (r->kind == RECORD_CONFIG)
                        take_config(m, o);
                else
                        take_switch(m, o);
                cJSON_Delete(o);
        }
}

/*
 * A day of streamed traffic is mostly chunk and event records. Once a request is finished and
 * older than the newest UI_KEEP_STREAMS requests, its stream bytes are released (the journal
 * still has them); summaries and bodies stay. Checked every so many records, not on each.
 */
#define UI_KEEP_STREAMS  500
#define UI_KEEP_BODIES   5000 /* beyond this, only summaries: a day of 50 KB requests adds up */
#define UI_COMPACT_EVERY 4096

static void compact(struct ui_model *m)
{
        size_t n = m->j->n_requests;

        /* Unended ones too: that far back, a request without an end record lost it to a full
         * ring (or is an hours-long stream, whose bytes the journal still has). */
        for (size_t i = m->compacted_upto; i + UI_KEEP_STREAMS < n; i++)
                if (!m->j->requests[i]->released)
                        replay_request_release_stream(m->j->requests[i]);
        if (n > UI_KEEP_STREAMS)
                m->compacted_upto = n - UI_KEEP_STREAMS;
        for (size_t i = m->bodies_upto; i + UI_KEEP_BODIES < n; i++)
                replay_request_release_bodies(m->j->requests[i]);
        if (n > UI_KEEP_BODIES)
                m->bodies_upto = n - UI_KEEP_BODIES;
}

static void add_record(struct ui_model *m, const struct record *rec, bool take)
{
        size_t before = m->j->n_other;

        if ((take ? replay_journal_take_record(m->j, rec) : replay_journal_add_record(m->j, rec)) ==
            0)
                m->records++;
        if (m->j->last_request && m->j->last_request->index < m->settled)
                unsettle(m); /* a late record for a request already summed */
        take_other(m, before);
        if (m->records % UI_COMPACT_EVERY == 0)
                compact(m);
        m->dirty = true;
}

void ui_model_add_record(struct ui_model *m, const struct record *rec)
{
        add_record(m, rec, false);
}

void ui_model_take_record(struct ui_model *m, const struct record *rec)
{
        add_record(m, rec, true);
}

void ui_model_add_line(struct ui_model *m, const char *line, size_t n)
{
        size_t before = m->j->n_other;

        if (replay_journal_add_line(m->j, line, n) == 0) {
                m->records++;
                if (m->j->last_request && m->j->last_request->index < m->settled)
                        unsettle(m);
        }
        take_other(m, before);
        m->dirty = true;
}

enum ui_state ui_request_state(const struct replay_request *r)
{
        size_t i;

        /* Released without an end record: its end was dropped, it will never arrive. */
        if (r->failed || r->status >= 400 || (!r->ended && (r->error || r->released)))
                return UI_ERROR;
        if (r->ended)
                return UI_DONE;
        for (i = 0; i < r->n_records; i++) {
                int k = r->records[i].kind;
                if (k == RECORD_UPSTREAM_CHUNK || k == RECORD_CLIENT_EVENT)
                        return UI_STREAMING;
        }
        return UI_WAITING;
}

const char *ui_state_name(enum ui_state s)
{
        static const char *const names[] = {"waiting", "streaming", "done", "error"};
        return names[s];
}

const struct ui_entry *ui_model_entry(const struct ui_model *m, const char *model_id)
{
        size_t i;

        if (!model_id)
                return NULL;
        for (i = 0; i < m->n_entries; i++) {
                if (!strcmp(m->entries[i].model_id, model_id))
                        return &m->entries[i];
        }
        return NULL;
}

bool ui_model_cost(const struct ui_model *m, const struct replay_request *r, double *usd)
{
        const struct ui_entry *e = ui_model_entry(m, r->model_id);

        if (!e || !e->has_price || !r->has_usage)
                return false;
        *usd =
            ((double)r->input_tokens * e->price_input + (double)r->output_tokens * e->price_output +
             (double)r->cache_read_tokens * e->price_cache_read +
             (double)r->cache_creation_tokens * e->price_cache_write) /
            1e6;
        return true;
}

void ui_filter_clear(struct ui_filter *f)
{
        size_t i;

        free(f->model);
        free(f->status);
        free(f->session);
        free(f->state);
        for (i = 0; i < f->n_words; i++)
                free(f->words[i]);
        free(f->words);
        free(f->text);
        memset(f, 0, sizeof(*f));
}

bool ui_filter_active(const struct ui_filter *f)
{
        return f->model || f->status || f->session || f->state || f->n_words;
}

int ui_filter_parse(struct ui_filter *f, const char *text)
{
        const char *p = text;

        memset(f, 0, sizeof(*f));
        f->text = xstrdup(text ? text : "");
        while (p && *p) {
                const char *start, *colon;
                size_t n;
                char *word;

                while (*p == ' ')
                        p++;
                if (!*p)
                        break;
                start = p;
                while (*p && *p != ' ')
                        p++;
                n = (size_t)(p - start);
                colon = memchr(start, ':', n);
                if (colon && colon + 1 < p) {
                        size_t kn = (size_t)(colon - start);
                        char **slot = NULL;

                        if (kn == 5 && !strncmp(start, "model", 5))
                                slot = &f->model;
                        else if (kn == 6 && !strncmp(start, "status", 6))
                                slot = &f->status;
                        else if (kn == 7 && !strncmp(start, "session", 7))
                                slot = &f->session;
                        else if (kn == 5 && !strncmp(start, "state", 5))
                                slot = &f->state;
                        if (slot) {
                                free(*slot);
                                *slot = xstrndup(colon + 1, (size_t)(p - colon - 1));
                                continue;
                        }
                }
                word = xstrndup(start, n);
                f->words = xrealloc(f->words, (f->n_words + 1) * sizeof(*f->words));
                f->words[f->n_words++] = word;
        }
        return 0;
}

static bool has(const char *s, const char *needle)
{
        return s && ui_text_find(s, strlen(s), needle);
}

/* "4xx", "429", "err" (>= 400 or failed), "ok" (2xx). */
static bool status_match(const char *pat, const struct replay_request *r)
{
        char buf[16];
        size_t i, n = strlen(pat);

        if (!strcmp(pat, "err") || !strcmp(pat, "error"))
                return r->status >= 400 || r->failed;
        if (!strcmp(pat, "ok"))
                return r->status >= 200 && r->status < 300;
        if (r->status == 0)
                return false;
        snprintf(buf, sizeof(buf), "%d", r->status);
        if (strlen(buf) != n)
                return false;
        for (i = 0; i < n; i++) {
                if (tolower((unsigned char)pat[i]) != 'x' && pat[i] != buf[i])
                        return false;
        }
        return true;
}

bool ui_request_contains(const struct replay_request *r, const char *needle)
{
        struct buf line;
        bool found = false;

        /* A record from the ring has no line until asked: written here, one at a time. */
        buf_init(&line);
        for (size_t i = 0; i < r->n_records && !found; i++) {
                const struct replay_record *rec = &r->records[i];
                if (rec->line != NULL) {
                        found = ui_text_find(rec->line, rec->len, needle);
                        continue;
                }
                buf_clear(&line);
                replay_record_text(r, rec, &line);
                found = ui_text_find(line.data, line.len, needle);
        }
        buf_fini(&line);
        return found;
}

bool ui_filter_match(const struct ui_filter *f, const struct replay_request *r)
{
        size_t i;

        if (f->model && !has(r->model, f->model) && !has(r->model_id, f->model))
                return false;
        if (f->status && !status_match(f->status, r))
                return false;
        if (f->session && !has(r->session, f->session))
                return false;
        if (f->state && !has(ui_state_name(ui_request_state(r)), f->state))
                return false;
        for (i = 0; i < f->n_words; i++) {
                const char *w = f->words[i];
                if (has(r->id, w) || has(r->session, w) || has(r->model, w) ||
                    has(r->model_id, w) || has(r->error, w) || has(r->stop_reason, w))
                        continue;
                if (!ui_request_contains(r, w))
                        return false;
        }
        return true;
}

void ui_model_set_filter(struct ui_model *m, const char *text)
{
        ui_filter_clear(&m->filter);
        if (text && *text)
                ui_filter_parse(&m->filter, text);
        m->dirty = m->rows_dirty = true;
}

static void push_row(struct ui_model *m, enum ui_row_type t, struct replay_session *s,
                     struct replay_request *r)
{
        if (m->n_rows == m->cap_rows) {
                m->cap_rows = m->cap_rows ? m->cap_rows * 2 : 64;
                m->rows = xrealloc(m->rows, m->cap_rows * sizeof(*m->rows));
        }
        m->rows[m->n_rows].type = t;
        m->rows[m->n_rows].session = s;
        m->rows[m->n_rows].request = r;
        m->n_rows++;
}

/* Adds r's tokens and cost to the totals. */
static void add_totals(const struct ui_model *m, const struct replay_request *r, long *in,
                       long *out, long *cache, double *cost)
{
        double usd;

        if (r->has_usage) {
                *in += r->input_tokens;
                *out += r->output_tokens;
                *cache += r->cache_read_tokens + r->cache_creation_tokens;
        }
        if (ui_model_cost(m, r, &usd))
                *cost += usd;
}

/*
 * Runs at most once a frame: so nothing here looks anything up by name. Finished requests'
 * totals are summed once (settled); sessions come in the reader's order of activity. The rows
 * change only when a request is new (it adds a row and moves its session to the bottom) or,
 * with a filter, when any record may change what matches: otherwise they are kept, so a frame
 * of records for requests already listed costs no walk over every request.
 */
void ui_model_refresh(struct ui_model *m)
{
        struct replay_journal *j = m->j;
        bool filtering = ui_filter_active(&m->filter);
        size_t i;

        if (!m->dirty)
                return;
        m->dirty = false;
        while (m->settled < j->n_requests &&
               (j->requests[m->settled]->ended || j->requests[m->settled]->released)) {
                add_totals(m, j->requests[m->settled], &m->settled_in, &m->settled_out,
                           &m->settled_cache, &m->settled_cost);
                m->settled++;
        }
        m->live = 0;
        m->input_tokens = m->settled_in;
        m->output_tokens = m->settled_out;
        m->cache_tokens = m->settled_cache;
        m->cost = m->settled_cost;
        for (i = m->settled; i < j->n_requests; i++) {
                const struct replay_request *r = j->requests[i];

                if (!r->ended && !r->released)
                        m->live++;
                add_totals(m, r, &m->input_tokens, &m->output_tokens, &m->cache_tokens, &m->cost);
        }
        if (!m->rows_dirty && !filtering && m->rows_requests == j->n_requests)
                return;
        m->rows_dirty = false;
        m->rows_requests = j->n_requests;
        m->n_rows = 0;
        /* Sessions by their latest request, oldest activity first. */
        for (struct replay_session *s = j->first_active; s != NULL; s = s->more_active) {
                size_t head = m->n_rows, k;
                bool any = false;

                push_row(m, UI_ROW_SESSION, s, NULL);
                for (k = 0; k < s->n_requests; k++) {
                        if (filtering && !ui_filter_match(&m->filter, s->requests[k]))
                                continue;
                        push_row(m, UI_ROW_REQUEST, s, s->requests[k]);
                        any = true;
                }
                if (!any)
                        m->n_rows = head;
        }
}

long ui_model_search(const struct ui_model *m, const char *needle, long from, bool forward)
{
        long n = (long)m->n_rows, i, step = forward ? 1 : -1;

        if (n == 0 || !needle || !*needle)
                return -1;
        if (from < 0 || from >= n)
                from = forward ? -1 : n;
        for (i = 1; i <= n; i++) {
                long at = ((from + step * i) % n + n) % n;
                const struct ui_row *row = &m->rows[at];
                if (row->type == UI_ROW_REQUEST && ui_request_contains(row->request, needle))
                        return at;
        }
        return -1;
}

long ui_model_row_of(const struct ui_model *m, const char *request_id)
{
        size_t i;

        if (!request_id)
                return -1;
        for (i = 0; i < m->n_rows; i++) {
                if (m->rows[i].request && !strcmp(m->rows[i].request->id, request_id))
                        return (long)i;
        }
        return -1;
}
