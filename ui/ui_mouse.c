/*
 * ui_mouse: see ui_mouse.h. The layout it assumes is the one the panes draw: one header line
 * (the list's column titles, the detail's tabs) at the top, the body below it down to the
 * message line and the status bar, which take the last two lines.
 */
#include "ui_mouse.h"

#include "ui_screen.h"

#include <string.h>

int ui_mouse_tab_at(int x)
{
        int at = 0;

        /* As ui_detail_draw lays them out: " name " then a one-column separator. */
        for (int t = 0; t < UI_TAB_COUNT; t++) {
                int w = (int)strlen(ui_detail_tab_name((enum ui_tab)t)) + 2;
                if (x >= at && x < at + w)
                        return t;
                at += w + 1;
        }
        return -1;
}

struct ui_mouse_hit ui_mouse_map(const struct ui_mouse_screen *s, enum ui_mouse_button b, int y,
                                 int x)
{
        struct ui_mouse_hit hit = {UI_MOUSE_NOTHING, 0};
        int body = s->rows - 3; /* lines between the header and the message line */
        long at;

        if (b == UI_MOUSE_WHEEL_UP || b == UI_MOUSE_WHEEL_DOWN) {
                hit.what = UI_MOUSE_SCROLL;
                hit.arg = b == UI_MOUSE_WHEEL_UP ? -UI_MOUSE_WHEEL_LINES : UI_MOUSE_WHEEL_LINES;
                return hit;
        }
        if (y < 0 || y > body || x < 0 || x >= s->cols || s->pane == UI_MOUSE_COMPARE)
                return hit;
        if (y == 0) {
                if (s->pane == UI_MOUSE_DETAIL && (hit.arg = ui_mouse_tab_at(x)) >= 0)
                        hit.what = UI_MOUSE_TAB;
                return hit;
        }
        at = s->top + (y - 1);
        if (at >= s->n)
                return hit;
        hit.what = at == s->cursor ? UI_MOUSE_OPEN : UI_MOUSE_SELECT;
        hit.arg = at;
        return hit;
}
