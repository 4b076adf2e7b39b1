/*
 * ui_help: the `?` overlay, printed from the key table (ui_keys.c) so it always tells the truth.
 * Keys bound to the same action on the same screen share one line.
 */
#include "ui_screen.h"

#include <stdio.h>
#include <string.h>

#define MAX_HELP 128

static int help_lines(char lines[][160], int max)
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

void ui_help_draw(struct ui *u)
{
        static char lines[MAX_HELP][160];
        int n = help_lines(lines, MAX_HELP), i, w = u->cols - 4, h = u->rows - 4;
        const char *title = " keys (Esc, q or ? closes) ";

        if (w > 90)
                w = 90;
        if (u->help_top > n - (h - 2))
                u->help_top = n - (h - 2);
        if (u->help_top < 0)
                u->help_top = 0;
        for (i = 0; i < h; i++) {
                ui_attr(u, 0, A_REVERSE * !u->color, true);
                mvhline(2 + i, 2, ' ', w);
                ui_attr(u, 0, A_REVERSE * !u->color, false);
        }
        ui_attr(u, UI_C_BAR, A_BOLD, true);
        mvhline(2, 2, ' ', w);
        ui_put(2, 3, title, strlen(title), w - 2);
        ui_attr(u, UI_C_BAR, A_BOLD, false);
        for (i = 0; i < h - 2 && u->help_top + i < n; i++) {
                const char *l = lines[u->help_top + i];
                bool head = l[0] != ' ';
                if (head)
                        ui_attr(u, 0, A_BOLD, true);
                ui_put(3 + i, 3, l, strlen(l), w - 2);
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
