/*
 * ui_screen: the inspector's screen state, shared by the loop (ui.c) and the panes
 * (ui_list.c, ui_detail.c, ui_compare.c, ui_picker.c, ui_help.c, ui_status.c). Panes draw from it
 * and return flags from their handlers; only the loop changes screens and owns the terminal.
 */
#ifndef UI_SCREEN_H
#define UI_SCREEN_H

#include "ui.h"
#include "ui_json.h"
#include "ui_keys.h"
#include "ui_model.h"

#include <curses.h>
#include <stdbool.h>
#include <stdint.h>

/* What a handler tells the loop. */
enum {
        UI_HANDLED = 1,
        UI_REDRAW = 2,
        UI_QUIT = 4,
};

enum ui_color {
        UI_C_WAITING = 1,
        UI_C_STREAMING,
        UI_C_DONE,
        UI_C_ERROR,
        UI_C_KEY,
        UI_C_STRING,
        UI_C_NUMBER,
        UI_C_LITERAL,
        UI_C_BAR,
        UI_C_SESSION,
        UI_C_HOT,
        UI_C_SEL,
        UI_C_COUNT,
};

enum ui_tab {
        UI_TAB_CLIENT_REQ,
        UI_TAB_UPSTREAM_REQ,
        UI_TAB_UPSTREAM_RESP,
        UI_TAB_CLIENT_RESP,
        UI_TAB_HEADERS,
        UI_TAB_TIMING,
        UI_TAB_DIFF,
        UI_TAB_COUNT,
};

enum ui_view { UI_VIEW_LIST, UI_VIEW_DETAIL, UI_VIEW_COMPARE };

/* A journal file shown read-only, fed to a model by its original timing. */
struct ui_replay {
        char *path;
        char *data;   /* the whole file */
        char **lines; /* into data, NUL-terminated */
        size_t *lens;
        int64_t *mono; /* mono_ns of each line, 0 when unknown */
        size_t n, pos; /* pos: lines fed so far */
        bool playing;
        double speed;
        double start_clock; /* wall seconds when play (re)started */
        int64_t start_mono; /* mono of line pos at that moment */
};

struct ui {
        const struct ui_options *o;
        struct ui_model live; /* from the ring */
        struct ui_model file; /* a journal opened with o or --replay */
        struct ui_model *m;   /* the one shown */
        struct ui_replay replay;
        bool have_file;

        enum ui_view view;
        bool help;
        bool picker;
        bool picker_resend; /* the picker chooses a model to re-send to */
        long picker_cursor;
        long help_top;

        long cursor, top; /* list */
        bool follow;
        char *cursor_id; /* request id under the cursor, kept across rebuilds */

        /* Detail */
        char *detail_id;
        enum ui_tab tab;
        struct ui_json_doc doc;
        size_t doc_records; /* records of the request when doc was built */
        enum ui_tab doc_tab;
        bool doc_valid;
        long dtop;
        long dcur;  /* visible line under the cursor */
        long dleft; /* horizontal scroll: the first column shown */

        /* Compare: a re-send against its original, by request id. */
        char *cmp_orig, *cmp_resend;
        enum ui_view cmp_back; /* the view c was pressed on */
        long ctop;

        /* Prompt on the message line: filter, search or open. */
        int prompt; /* 0, 'f', '/', 'o' */
        char input[512];
        size_t input_len;
        char *search;
        char message[512];

        bool color;
        int rows, cols;
        bool dirty; /* redraw now (a key, a message) */
        bool stale; /* records arrived: redraw at the next frame */
};

void ui_attr(struct ui *u, int pair, int extra, bool on);

void ui_list_draw(struct ui *u, int y, int h);
int ui_list_key(struct ui *u, enum ui_action a, int h);
void ui_list_clamp(struct ui *u, int h);
/* Puts the cursor on row (clamped); follow turns following on when that is the newest row. */
void ui_list_select(struct ui *u, long row, bool follow);
const struct replay_request *ui_list_selected(const struct ui *u);

void ui_detail_draw(struct ui *u, int y, int h);
int ui_detail_key(struct ui *u, enum ui_action a, int h);
void ui_detail_open(struct ui *u, const char *request_id);
void ui_detail_close(struct ui *u);
const char *ui_detail_tab_name(enum ui_tab t);
/* Reads a released request's records back from the live journal, once, before a view needs
 * them; says so (or why not) on the message line. */
void ui_reload(struct ui *u, const struct replay_request *r);
/* The lines a tab shows for r (pure, for tests). */
void ui_detail_build(const struct replay_request *r, enum ui_tab tab, struct ui_json_doc *d);

/* Opens the compare view on sel's pair (0), or leaves a message (-1). */
int ui_compare_open(struct ui *u, const struct replay_request *sel);
void ui_compare_close(struct ui *u);
void ui_compare_draw(struct ui *u, int y, int h);
int ui_compare_key(struct ui *u, enum ui_action a, int h);

void ui_picker_draw(struct ui *u);
int ui_picker_key(struct ui *u, int key);

/* The help overlay's lines, generated from the key table: a screen's name, then "  keys  help"
 * lines. Returns how many (at most max). */
int ui_help_lines(char lines[][160], int max);
struct ui_box {
        int y, x, h, w;
};
/* Where the help overlay goes on a cols x rows screen: as wide as its longest line, capped at
 * the screen, centred. */
void ui_help_box(int cols, int rows, struct ui_box *b);
void ui_help_draw(struct ui *u);
int ui_help_key(struct ui *u, int key);

void ui_status_draw(struct ui *u, int y);

/* Draws s[0..n) escaped and cut to cols columns at (y, x); returns the columns used. */
int ui_put(int y, int x, const char *s, size_t n, int cols);

/* Re-send r through the proxy at listen (on a worker thread); model_id NULL keeps the body's
 * model. Returns 0 when started, -1 with a message in msg. */
int ui_resend_start(const char *listen, const struct replay_request *r, const char *model_id,
                    char *msg, size_t msgsz);
/* A finished re-send's message, if any (copied into msg; true when there was one). */
bool ui_resend_poll(char *msg, size_t msgsz);
/* A re-send is on its way (its message is still to come): the loop must not sleep for good. */
bool ui_resend_busy(void);

/* Writes r as a curl command (body false) or its body (body true) to a file in the current
 * directory; the path or the error goes to msg. */
int ui_export(const struct replay_request *r, const char *listen, bool body, char *msg,
              size_t msgsz);

#endif
