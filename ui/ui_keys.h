/*
 * ui_keys: the one table of keys. Each row is a key, the screen it works on, the action it
 * runs and the help text; the loop looks actions up here and the `?` overlay is printed from
 * it, so the help can never disagree with the keys.
 */
#ifndef UI_KEYS_H
#define UI_KEYS_H

#include <stddef.h>

enum ui_ctx {
        UI_CTX_GLOBAL, /* every screen unless the screen has its own binding */
        UI_CTX_LIST,
        UI_CTX_DETAIL,
        UI_CTX_PICKER,
        UI_CTX_COMPARE,
        UI_CTX_COUNT,
};

enum ui_action {
        UI_ACT_NONE,
        UI_ACT_UP,
        UI_ACT_DOWN,
        UI_ACT_PAGE_UP,
        UI_ACT_PAGE_DOWN,
        UI_ACT_HOME,
        UI_ACT_END,
        UI_ACT_OPEN,
        UI_ACT_BACK,
        UI_ACT_QUIT,
        UI_ACT_NEXT_TAB,
        UI_ACT_PREV_TAB,
        UI_ACT_SCROLL_LEFT,
        UI_ACT_SCROLL_RIGHT,
        UI_ACT_LINE_START,
        UI_ACT_LINE_END,
        UI_ACT_TOGGLE_FOLD,
        UI_ACT_FOLD_ALL,
        UI_ACT_UNFOLD_ALL,
        UI_ACT_SEARCH,
        UI_ACT_SEARCH_NEXT,
        UI_ACT_SEARCH_PREV,
        UI_ACT_FILTER,
        UI_ACT_FOLLOW,
        UI_ACT_PICKER,
        UI_ACT_RESEND,
        UI_ACT_RESEND_TO,
        UI_ACT_SCOPED,
        UI_ACT_COMPARE,
        UI_ACT_EXPORT_CURL,
        UI_ACT_EXPORT_BODY,
        UI_ACT_OPEN_JOURNAL,
        UI_ACT_PLAY,
        UI_ACT_STEP,
        UI_ACT_FASTER,
        UI_ACT_SLOWER,
        UI_ACT_HELP,
        UI_ACT_REDRAW,
        UI_ACT_COUNT,
};

struct ui_key {
        int key; /* a character or a curses KEY_* code */
        enum ui_ctx ctx;
        enum ui_action action;
        const char *help;
};

extern const struct ui_key ui_keys[];
extern const size_t ui_keys_count;

/* The action of key on screen ctx (its own binding first, then the global one). */
enum ui_action ui_keys_lookup(enum ui_ctx ctx, int key);
/* The key's name as the help shows it ("j", "Enter", "PgDn", "^L"). */
const char *ui_keys_name(int key, char *tmp, size_t n);
const char *ui_keys_ctx_name(enum ui_ctx ctx);

#endif
