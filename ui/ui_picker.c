/*
 * ui_picker: the model entries of the last configuration, with mode and limits, and a last
 * line "back to models.yaml routing". Enter routes every new request to the entry (s: only
 * requests asking for the selected row's model); the core confirms with a model_switch record
 * and the status bar shows it then. Opened with R, it picks the model a re-send goes to.
 */
#include "ui_screen.h"

#include <stdio.h>
#include <string.h>

static long count(const struct ui *u)
{
        return (long)u->live.n_entries + (u->picker_resend ? 0 : 1);
}

void ui_picker_draw(struct ui *u)
{
        const struct ui_model *m = &u->live;
        long n = count(u), i;
        int w = u->cols - 8, h = (int)n + 4, y0 = 3;
        char line[512];
        const char *title = u->picker_resend ? " re-send to which model? (Enter; Esc closes) "
                                             : " route new requests to (Enter: all, s: only "
                                               "this row's model; Esc closes) ";

        if (w > 110)
                w = 110;
        if (h > u->rows - 5)
                h = u->rows - 5;
        for (i = 0; i < h; i++) {
                ui_attr(u, 0, A_REVERSE * !u->color, true);
                mvhline(y0 + (int)i, 4, ' ', w);
                ui_attr(u, 0, A_REVERSE * !u->color, false);
        }
        ui_attr(u, UI_C_BAR, A_BOLD, true);
        mvhline(y0, 4, ' ', w);
        ui_put(y0, 5, title, strlen(title), w - 2);
        ui_attr(u, UI_C_BAR, A_BOLD, false);
        if (n == 0) {
                const char *none = "no model entries yet (no config record seen)";
                ui_put(y0 + 2, 6, none, strlen(none), w - 4);
                return;
        }
        for (i = 0; i < n && i < h - 3; i++) {
                bool sel = i == u->picker_cursor;
                if ((size_t)i < m->n_entries) {
                        const struct ui_entry *e = &m->entries[i];
                        bool active = m->routed && m->route_to && !strcmp(m->route_to, e->model_id);
                        snprintf(line, sizeof(line), "%c %-24s %-9s out %-7ld in %-8ld %s%s",
                                 active ? '*' : ' ', e->model_id, e->mode ? e->mode : "-",
                                 e->max_tokens, e->max_input_tokens,
                                 e->model_name ? e->model_name : "",
                                 e->is_default ? "  (default)" : "");
                } else {
                        snprintf(line, sizeof(line), "%c back to models.yaml routing",
                                 m->routed ? ' ' : '*');
                }
                ui_attr(u, sel ? UI_C_SEL : 0, sel ? A_REVERSE * !u->color : 0, true);
                if (sel)
                        mvhline(y0 + 2 + (int)i, 5, ' ', w - 2);
                ui_put(y0 + 2 + (int)i, 5, line, strlen(line), w - 2);
                ui_attr(u, sel ? UI_C_SEL : 0, sel ? A_REVERSE * !u->color : 0, false);
        }
}

int ui_picker_key(struct ui *u, int key)
{
        enum ui_action a = ui_keys_lookup(UI_CTX_PICKER, key);
        long n = count(u);
        const struct ui_entry *e;
        const struct replay_request *r = ui_list_selected(u);

        switch (a) {
        case UI_ACT_UP:
                if (u->picker_cursor > 0)
                        u->picker_cursor--;
                return UI_REDRAW;
        case UI_ACT_DOWN:
                if (u->picker_cursor < n - 1)
                        u->picker_cursor++;
                return UI_REDRAW;
        case UI_ACT_HOME:
                u->picker_cursor = 0;
                return UI_REDRAW;
        case UI_ACT_END:
                u->picker_cursor = n > 0 ? n - 1 : 0;
                return UI_REDRAW;
        case UI_ACT_BACK:
                u->picker = false;
                return UI_REDRAW;
        case UI_ACT_OPEN:
        case UI_ACT_SCOPED:
                break;
        default:
                return UI_HANDLED;
        }
        if (n == 0 || u->picker_cursor < 0 || u->picker_cursor >= n)
                return UI_HANDLED;
        u->picker = false;
        e = (size_t)u->picker_cursor < u->live.n_entries ? &u->live.entries[u->picker_cursor]
                                                         : NULL;
        if (u->picker_resend) {
                if (r && e) {
                        ui_reload(u, r); /* its client request, if released */
                        ui_resend_start(u->o->listen, r, e->model_id, u->message,
                                        sizeof(u->message));
                }
                return UI_REDRAW;
        }
        if (a == UI_ACT_SCOPED && (!r || !r->model)) {
                snprintf(u->message, sizeof(u->message),
                         "select a request first: s routes only the model it asked for");
                return UI_REDRAW;
        }
        u->o->switch_model(u->o->arg, e ? e->model_id : NULL, a == UI_ACT_SCOPED ? r->model : NULL);
        if (e && a == UI_ACT_SCOPED)
                snprintf(u->message, sizeof(u->message), "asked the proxy: %s \xe2\x86\x92 %s",
                         r->model, e->model_id);
        else
                snprintf(u->message, sizeof(u->message), "asked the proxy: route to %s",
                         e ? e->model_id : "models.yaml");
        return UI_REDRAW;
}
