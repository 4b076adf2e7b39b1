/*
 * ui_keys: the key table (see ui_keys.h), in the mitmproxy and htop tradition.
 */
#include "ui_keys.h"

#include <curses.h>
#include <stdio.h>

#define CTRL(c) ((c)&0x1f)
#define ESC     27

const struct ui_key ui_keys[] = {
    {KEY_UP, UI_CTX_GLOBAL, UI_ACT_UP, "move up"},
    {'k', UI_CTX_GLOBAL, UI_ACT_UP, "move up"},
    {KEY_DOWN, UI_CTX_GLOBAL, UI_ACT_DOWN, "move down"},
    {'j', UI_CTX_GLOBAL, UI_ACT_DOWN, "move down"},
    {KEY_PPAGE, UI_CTX_GLOBAL, UI_ACT_PAGE_UP, "page up"},
    {KEY_NPAGE, UI_CTX_GLOBAL, UI_ACT_PAGE_DOWN, "page down"},
    {KEY_HOME, UI_CTX_GLOBAL, UI_ACT_HOME, "first line"},
    {'g', UI_CTX_GLOBAL, UI_ACT_HOME, "first line"},
    {KEY_END, UI_CTX_GLOBAL, UI_ACT_END, "last line"},
    {'G', UI_CTX_GLOBAL, UI_ACT_END, "last line"},
    {'?', UI_CTX_GLOBAL, UI_ACT_HELP, "this help"},
    {'m', UI_CTX_GLOBAL, UI_ACT_PICKER, "model picker: route new requests to a model"},
    {'o', UI_CTX_GLOBAL, UI_ACT_OPEN_JOURNAL, "open a journal file (read-only)"},
    {'p', UI_CTX_GLOBAL, UI_ACT_PLAY, "replay: play / pause the original timing"},
    {'.', UI_CTX_GLOBAL, UI_ACT_STEP, "replay: step one record"},
    {'+', UI_CTX_GLOBAL, UI_ACT_FASTER, "replay: twice as fast"},
    {'-', UI_CTX_GLOBAL, UI_ACT_SLOWER, "replay: half as fast"},
    {CTRL('l'), UI_CTX_GLOBAL, UI_ACT_REDRAW, "redraw the screen"},
    {ESC, UI_CTX_GLOBAL, UI_ACT_BACK, "back"},

    {'\n', UI_CTX_LIST, UI_ACT_OPEN, "open the request's detail"},
    {KEY_ENTER, UI_CTX_LIST, UI_ACT_OPEN, "open the request's detail"},
    {'q', UI_CTX_LIST, UI_ACT_QUIT, "quit"},
    {'/', UI_CTX_LIST, UI_ACT_SEARCH, "search the records' data"},
    {'n', UI_CTX_LIST, UI_ACT_SEARCH_NEXT, "next match"},
    {'N', UI_CTX_LIST, UI_ACT_SEARCH_PREV, "previous match"},
    {'f', UI_CTX_LIST, UI_ACT_FILTER, "filter: model:X status:4xx session:X state:X text"},
    {'F', UI_CTX_LIST, UI_ACT_FOLLOW, "follow the newest request"},
    {'r', UI_CTX_LIST, UI_ACT_RESEND, "re-send the request through the proxy"},
    {'R', UI_CTX_LIST, UI_ACT_RESEND_TO, "re-send the request to a model chosen in the picker"},
    {'c', UI_CTX_LIST, UI_ACT_COMPARE, "compare a re-send with its original, side by side"},
    {'x', UI_CTX_LIST, UI_ACT_EXPORT_CURL, "export the request as a curl command"},
    {'X', UI_CTX_LIST, UI_ACT_EXPORT_BODY, "export the request body"},

    {'q', UI_CTX_DETAIL, UI_ACT_BACK, "back to the list"},
    {'\t', UI_CTX_DETAIL, UI_ACT_NEXT_TAB, "next tab"},
    {KEY_BTAB, UI_CTX_DETAIL, UI_ACT_PREV_TAB, "previous tab"},
    {KEY_RIGHT, UI_CTX_DETAIL, UI_ACT_SCROLL_RIGHT, "scroll right 8 columns (long lines)"},
    {'l', UI_CTX_DETAIL, UI_ACT_SCROLL_RIGHT, "scroll right 8 columns (long lines)"},
    {KEY_LEFT, UI_CTX_DETAIL, UI_ACT_SCROLL_LEFT, "scroll left 8 columns"},
    {'h', UI_CTX_DETAIL, UI_ACT_SCROLL_LEFT, "scroll left 8 columns"},
    {'<', UI_CTX_DETAIL, UI_ACT_LINE_START, "scroll back to the start of the lines"},
    {'>', UI_CTX_DETAIL, UI_ACT_LINE_END, "scroll to the end of the line under the cursor"},
    {'\n', UI_CTX_DETAIL, UI_ACT_TOGGLE_FOLD, "fold / unfold the { or [ under the cursor"},
    {KEY_ENTER, UI_CTX_DETAIL, UI_ACT_TOGGLE_FOLD, "fold / unfold the { or [ under the cursor"},
    {' ', UI_CTX_DETAIL, UI_ACT_TOGGLE_FOLD, "fold / unfold the { or [ under the cursor"},
    {'z', UI_CTX_DETAIL, UI_ACT_FOLD_ALL, "fold everything"},
    {'Z', UI_CTX_DETAIL, UI_ACT_UNFOLD_ALL, "unfold everything"},
    {'r', UI_CTX_DETAIL, UI_ACT_RESEND, "re-send the request through the proxy"},
    {'R', UI_CTX_DETAIL, UI_ACT_RESEND_TO, "re-send the request to a model chosen in the picker"},
    {'c', UI_CTX_DETAIL, UI_ACT_COMPARE, "compare a re-send with its original, side by side"},
    {'x', UI_CTX_DETAIL, UI_ACT_EXPORT_CURL, "export the request as a curl command"},
    {'X', UI_CTX_DETAIL, UI_ACT_EXPORT_BODY, "export the request body"},

    {'\n', UI_CTX_PICKER, UI_ACT_OPEN, "route every new request there"},
    {KEY_ENTER, UI_CTX_PICKER, UI_ACT_OPEN, "route every new request there"},
    {'s', UI_CTX_PICKER, UI_ACT_SCOPED,
     "route there only requests asking for the selected row's model"},
    {'q', UI_CTX_PICKER, UI_ACT_BACK, "close the picker"},

    {'q', UI_CTX_COMPARE, UI_ACT_BACK, "close the comparison"},
};

const size_t ui_keys_count = sizeof(ui_keys) / sizeof(ui_keys[0]);

enum ui_action ui_keys_lookup(enum ui_ctx ctx, int key)
{
        size_t i;

        for (i = 0; i < ui_keys_count; i++) {
                if (ui_keys[i].ctx == ctx && ui_keys[i].key == key)
                        return ui_keys[i].action;
        }
        for (i = 0; i < ui_keys_count; i++) {
                if (ui_keys[i].ctx == UI_CTX_GLOBAL && ui_keys[i].key == key)
                        return ui_keys[i].action;
        }
        return UI_ACT_NONE;
}

const char *ui_keys_name(int key, char *tmp, size_t n)
{
        switch (key) {
        case KEY_UP:
                return "Up";
        case KEY_DOWN:
                return "Down";
        case KEY_LEFT:
                return "Left";
        case KEY_RIGHT:
                return "Right";
        case KEY_PPAGE:
                return "PgUp";
        case KEY_NPAGE:
                return "PgDn";
        case KEY_HOME:
                return "Home";
        case KEY_END:
                return "End";
        case KEY_BTAB:
                return "Shift-Tab";
        case KEY_ENTER:
                return "KpEnter";
        case '\n':
                return "Enter";
        case '\t':
                return "Tab";
        case ' ':
                return "Space";
        case ESC:
                return "Esc";
        default:
                break;
        }
        if (key > 0 && key < 0x20)
                snprintf(tmp, n, "^%c", key + '@');
        else
                snprintf(tmp, n, "%c", key);
        return tmp;
}

const char *ui_keys_ctx_name(enum ui_ctx ctx)
{
        static const char *const names[] = {"everywhere", "request list", "request detail",
                                            "model picker", "compare"};
        return ctx < UI_CTX_COUNT ? names[ctx] : "?";
}
