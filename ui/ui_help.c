/*
 * ui_help: the `?` overlay, printed from the key table (ui_keys.c) so it always tells the truth.
 * Keys bound to the same action on the same screen share one line.
 */
#include "ui_screen.h"

#include "ui_text.h"

#include <stdio.h>
#include <string.h>

#define MAX_HELP 128

int ui_help_lines(char lines[][160], int max)
{
        int n = 0;
        size_t i, k;
        int c;

        for (c = 0; c < UI_CTX_COUNT && n < max; c++) {
                snprintf(lines[n++], 160, "%s", ui_keys_ctx_name((enum ui_ctx)c));
                for (i = 0; i < ui_keys_count && n < max; i++) {
                        char keys[64] = "", tmp[8];
                        bool dup = false;

                        if (ui_keys[i].ctx != (enum ui_ctx)c)
                                continue;
                        for (k = 0; k < i && !dup; k++)
                                dup = ui_keys[k].ctx == ui_keys[i].ctx &&
                                      ui_keys[k].action == ui_keys[i].action;
                        if (dup)
                                continue;
                        for (k = i; k < ui_keys_count; k++) {
                                if (ui_keys[k].ctx != ui_keys[i].ctx ||
                                    ui_keys[k].action != ui_keys[i].action)
                                        continue;
                                if (keys[0])
                                        strncat(keys, " ", sizeof(keys) - strlen(keys) - 1);
                                strncat(keys, ui_keys_name(ui_keys[k].key, tmp, sizeof(tmp)),
                                        sizeof(keys) - strlen(keys) - 1);
                        }
                        snprintf(lines[n++], 160, "  %-16s %s", keys, ui_keys[i].help);
                }
        }
        return n;
}

static const char title[] = " keys (Esc, q or ? closes) ";

void ui_help_box(int cols, int rows, struct ui_box *b)
{
        static char lines[MAX_HELP][160];
        int n = ui_help_lines(lines, MAX_HELP), i, w = ui_text_width(title, strlen(title));

        /* As wide as the longest line plus a column each side, so nothing behind shows through
         * on the right; capped at the screen less a column each side, and centred. */
        for (i = 0; i < n; i++) {
                int lw = ui_text_width(lines[i], strlen(lines[i]));
                if (lw > w)
                        w = lw;
        }
        b->w = w + 2;
        if (b->w > cols - 2)
                b->w = cols - 2;
        /* The title row, the lines and a blank row, above the message and status lines. */
        b->h = n + 2;
        if (b->h > rows - 3)
                b->h = rows - 3;
        if (b->w < 0)
                b->w = 0;
        if (b->h < 0)
                b->h = 0;
        b->x = (cols - b->w) / 2;
        b->y = (rows - 2 - b->h) / 2;
        if (b->y < 0)
                b->y = 0;
}

void ui_help_draw(struct ui *u)
{
        static char lines[MAX_HELP][160];
        struct ui_box b;
        int n = ui_help_lines(lines, MAX_HELP), i;

        ui_help_box(u->cols, u->rows, &b);
        if (u->help_top > n - (b.h - 2))
                u->help_top = n - (b.h - 2);
        if (u->help_top < 0)
                u->help_top = 0;
        for (i = 0; i < b.h; i++) {
                ui_attr(u, 0, A_REVERSE * !u->color, true);
                mvhline(b.y + i, b.x, ' ', b.w);
                ui_attr(u, 0, A_REVERSE * !u->color, false);
        }
        ui_attr(u, UI_C_BAR, A_BOLD, true);
        mvhline(b.y, b.x, ' ', b.w);
        ui_put(b.y, b.x + 1, title, strlen(title), b.w - 2);
        ui_attr(u, UI_C_BAR, A_BOLD, false);
        for (i = 0; i < b.h - 2 && u->help_top + i < n; i++) {
                const char *l = lines[u->help_top + i];
                bool head = l[0] != ' ';
                if (head)
                        ui_attr(u, 0, A_BOLD, true);
                ui_put(b.y + 1 + i, b.x + 1, l, strlen(l), b.w - 2);
                if (head)
                        ui_attr(u, 0, A_BOLD, false);
        }
}

int ui_help_key(struct ui *u, int key)
{
        enum ui_action a = ui_keys_lookup(UI_CTX_GLOBAL, key);

        if (key == 'q' || key == '?' || key == 27) {
                u->help = false;
                return UI_REDRAW;
        }
        if (a == UI_ACT_DOWN || a == UI_ACT_PAGE_DOWN)
                u->help_top += a == UI_ACT_DOWN ? 1 : 10;
        else if (a == UI_ACT_UP || a == UI_ACT_PAGE_UP)
                u->help_top -= a == UI_ACT_UP ? 1 : 10;
        return UI_REDRAW;
}
