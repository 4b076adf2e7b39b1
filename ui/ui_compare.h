/*
 * ui_compare: a re-sent request against its original, side by side. The pure part (no curses)
 * finds the pair in a journal, sums each request up (status, routed model, stop reason, tool
 * calls with their inputs, tokens, timing, the reassembled answer) and lines the two summaries
 * up row by row; the pane (ui_compare.c, declared in ui_screen.h) only draws those rows.
 */
#ifndef UI_COMPARE_H
#define UI_COMPARE_H

#include "replay.h"

#include <stdbool.h>
#include <stddef.h>

/* One request summed up; every string is set (at least "-"). */
struct ui_compare_summary {
        char *id;
        char *status; /* "200", "429", "- (not over)" */
        char *model;  /* "requested → routed (mode)" */
        char *stop;
        char *tokens; /* "in 12  out 5  cache 0/0" (read/write) */
        char *ttft, *duration;
        char **tools; /* "Name {input}" in answer order */
        size_t n_tools;
        char *text; /* the answer's text, reassembled from a stream; may hold newlines */
};

/* One row of the view: a label (empty under a multi-line value) and the two sides. */
struct ui_compare_row {
        char *label, *left, *right;
};

struct ui_compare_rows {
        struct ui_compare_row *rows;
        size_t n, cap;
};

/*
 * The pair around sel: when sel is a re-send, its original (NULL when the journal shown does
 * not hold it) and sel; otherwise sel and its latest re-send. False when sel is neither.
 */
bool ui_compare_pair(const struct replay_journal *j, const struct replay_request *sel,
                     const struct replay_request **orig, const struct replay_request **resend);

/* Sums r up (r NULL: a summary saying missing_id is not in the journal shown). */
void ui_compare_summarize(const struct replay_request *r, const char *missing_id,
                          struct ui_compare_summary *s);
void ui_compare_summary_free(struct ui_compare_summary *s);

/* The rows comparing a (left) and b (right), aligned by label. */
void ui_compare_build(const struct ui_compare_summary *a, const struct ui_compare_summary *b,
                      struct ui_compare_rows *out);
void ui_compare_rows_free(struct ui_compare_rows *out);

#endif
