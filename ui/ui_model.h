/*
 * ui_model: the inspector's own copy of what it shows, built with the journal reader (replay.h)
 * from records popped off the ring or lines of a journal file. On top of the reader it keeps
 * the model entries of the last `config` record (for the picker and for prices), the routing of
 * the last `model_switch` record, and the rows of the request list: sessions ordered by their
 * latest request, each a header row followed by its requests, so the newest request is at the
 * bottom. A filter hides rows; search looks inside the records' data. No curses.
 */
#ifndef UI_MODEL_H
#define UI_MODEL_H

#include "replay.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct record;

enum ui_state { UI_WAITING, UI_STREAMING, UI_DONE, UI_ERROR };

struct ui_entry {
        char *model_id, *model_name, *mode, *api_base;
        long max_tokens, max_input_tokens;
        bool is_default;
        bool has_price;
        double price_input, price_output, price_cache_read, price_cache_write; /* USD / Mtok */
};

enum ui_row_type { UI_ROW_SESSION, UI_ROW_REQUEST };

struct ui_row {
        enum ui_row_type type;
        struct replay_session *session;
        struct replay_request *request; /* NULL for a session row */
};

/* A parsed filter: every term given must match. */
struct ui_filter {
        char *model, *status, *session, *state;
        char **words; /* free text */
        size_t n_words;
        char *text; /* as typed */
};

struct ui_model {
        struct replay_journal *j;
        struct ui_entry *entries;
        size_t n_entries;
        char *config_path;
        bool routed;       /* a model_switch is in force */
        char *route_to;    /* its target, NULL when back to models.yaml */
        char *route_scope; /* "all" or a requested model name */

        struct ui_filter filter;
        struct ui_row *rows;
        size_t n_rows, cap_rows;
        bool dirty;            /* totals (and maybe rows) need a refresh */
        bool rows_dirty;       /* rows need rebuilding whatever came (filter, reset) */
        size_t rows_requests;  /* the journal's n_requests when the rows were built */
        size_t compacted_upto; /* requests before this index had their streams released */
        size_t bodies_upto;    /* and before this one their bodies too */

        /* Totals over every request (not only the filtered ones). */
        size_t live; /* requests not ended */
        long input_tokens, output_tokens, cache_tokens;
        double cost;
        uint64_t records;

        /* The totals of requests before `settled`, all ended (or released), summed once: a
         * refresh adds only the newer ones. Reset when prices change or a record arrives for
         * one of them. */
        size_t settled;
        long settled_in, settled_out, settled_cache;
        double settled_cost;
};

void ui_model_init(struct ui_model *m);
void ui_model_fini(struct ui_model *m);
/* Forgets every record (replay restarting from the beginning); keeps the filter. */
void ui_model_reset(struct ui_model *m);

/* Takes a record from the ring (the caller still releases its payload). */
void ui_model_add_record(struct ui_model *m, const struct record *rec);
/* The same, taking the record's payload reference (the ring's). */
void ui_model_take_record(struct ui_model *m, const struct record *rec);
/* Takes one journal line. */
void ui_model_add_line(struct ui_model *m, const char *line, size_t n);
/* Rebuilds rows and totals when records arrived or the filter changed. */
void ui_model_refresh(struct ui_model *m);

enum ui_state ui_request_state(const struct replay_request *r);
const char *ui_state_name(enum ui_state s);
/* The entry named model_id, or NULL. */
const struct ui_entry *ui_model_entry(const struct ui_model *m, const char *model_id);
/* The request's cost in USD; false when its entry has no prices or tokens are unknown. */
bool ui_model_cost(const struct ui_model *m, const struct replay_request *r, double *usd);

/* Parses "model:kimi status:4xx session:abc state:error free text" (0 on success). */
int ui_filter_parse(struct ui_filter *f, const char *text);
void ui_filter_clear(struct ui_filter *f);
bool ui_filter_active(const struct ui_filter *f);
bool ui_filter_match(const struct ui_filter *f, const struct replay_request *r);
/* Sets the model's filter (text NULL or "" clears it). */
void ui_model_set_filter(struct ui_model *m, const char *text);

/* Whether any record of r contains needle (case-insensitive). */
bool ui_request_contains(const struct replay_request *r, const char *needle);
/* The next request row after (forward) or before `from` whose records contain needle,
 * wrapping around; -1 when none. */
long ui_model_search(const struct ui_model *m, const char *needle, long from, bool forward);
/* The row showing the request with that id, or -1. */
long ui_model_row_of(const struct ui_model *m, const char *request_id);

#endif
