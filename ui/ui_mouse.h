/*
 * ui_mouse: what a mouse event means on the inspector's screens, as data. The loop (ui.c) reads
 * the event from curses, asks ui_mouse_map() what it means where it happened, and applies the
 * answer the way a key would; the mapping itself is pure, so tests check it without a terminal.
 *
 * List: a click selects the row under it, a click on the selected row opens it (like Enter).
 * Detail: a click on the tab bar switches to that tab, on a line moves the cursor there, on the
 * cursor line folds or unfolds it (like Enter). The wheel scrolls the list, the detail or the
 * comparison three lines at a time.
 */
#ifndef UI_MOUSE_H
#define UI_MOUSE_H

enum ui_mouse_button { UI_MOUSE_CLICK, UI_MOUSE_WHEEL_UP, UI_MOUSE_WHEEL_DOWN };

enum ui_mouse_pane { UI_MOUSE_LIST, UI_MOUSE_DETAIL, UI_MOUSE_COMPARE };

/* The screen the event landed on: its pane, size, and its scroll state. */
struct ui_mouse_screen {
        enum ui_mouse_pane pane;
        int rows, cols;
        long top;    /* first row (list) or visible line (detail) drawn under the header line */
        long cursor; /* the selected row or the detail's cursor line */
        long n;      /* rows in the list, visible lines in the detail */
};

enum ui_mouse_what {
        UI_MOUSE_NOTHING,
        UI_MOUSE_SCROLL, /* arg lines down (negative: up) */
        UI_MOUSE_SELECT, /* row or line arg */
        UI_MOUSE_OPEN,   /* the selected row or line was clicked again: Enter */
        UI_MOUSE_TAB,    /* tab arg */
};

struct ui_mouse_hit {
        enum ui_mouse_what what;
        long arg;
};

#define UI_MOUSE_WHEEL_LINES 3

struct ui_mouse_hit ui_mouse_map(const struct ui_mouse_screen *s, enum ui_mouse_button b, int y,
                                 int x);

/* The detail tab whose label is at column x of the tab bar, or -1. */
int ui_mouse_tab_at(int x);

#endif
