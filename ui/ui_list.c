/*
 * ui_list: the request list, one row per request under a header row per session, newest at the
 * bottom. Rows are coloured by state; a slow request (over 30 s, or 10 s to the first token)
 * and a large one (over 100k input tokens) are bold and flagged with "!". Follow mode keeps the
 * newest row in view only while the cursor is on the last row.
 */
#include "ui_screen.h"

#include "alloc.h"
#include "ui_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOW_MS      30000
#define SLOW_TTFT_MS 10000
#define LARGE_TOKENS 100000

const struct replay_request *ui_list_selected(const struct ui *u)
{
        if (u->view == UI_VIEW_DETAIL && u->detail_id)
                return replay_journal_request(u->m->j, u->detail_id);
        if (u->cursor < 0 || (size_t)u->cursor >= u->m->n_rows)
                return NULL;
        return u->m->rows[u->cursor].request;
}

static void fmt_ms(long ms, char *out, size_t n)
{
        if (ms < 0)
                snprintf(out, n, "-");
        else if (ms < 1000)
                snprintf(out, n, "%ldms", ms);
        else if (ms < 600000)
                snprintf(out, n, "%.1fs", (double)ms / 1000);
        else
                snprintf(out, n, "%ldm", ms / 60000);
}

static void fmt_tok(long t, char *out, size_t n)
{
        if (t < 10000)
                snprintf(out, n, "%d", t < 0 ? 0 : (int)t); /* counts are never negative */
        else if (t < 10000000)
                snprintf(out, n, "%ldk", t / 1000);
        else
                snprintf(out, n, "%ldM", t / 1000000);
}

void ui_list_clamp(struct ui *u, int h)
{
        long n = (long)u->m->n_rows;

        if (h < 1)
                h = 1;
        /* Keep the cursor on the same request across rebuilds, unless following. */
        if (u->follow) {
                u->cursor = n - 1;
        } else if (u->cursor_id) {
                long at = ui_model_row_of(u->m, u->cursor_id);
                if (at >= 0)
                        u->cursor = at;
        }
        if (u->cursor >= n)
                u->cursor = n - 1;
        if (u->cursor < 0)
                u->cursor = 0;
        if (u->top > u->cursor)
                u->top = u->cursor;
        if (u->cursor >= u->top + h)
                u->top = u->cursor - h + 1;
        if (u->top > n - h)
                u->top = n - h;
        if (u->top < 0)
                u->top = 0;
        free(u->cursor_id);
        u->cursor_id = NULL;
        if (n > 0 && u->m->rows[u->cursor].request)
                u->cursor_id = xstrdup(u->m->rows[u->cursor].request->id);
}

static void draw_session(struct ui *u, int y, const struct ui_row *row, bool sel)
{
        struct replay_totals t;
        char line[512], in[32], out[32];
        double cost = 0;
        bool priced = false;
        size_t i;
        const char *id = row->session->id[0] ? row->session->id : "(no session)";

        replay_session_totals(row->session, &t);
        for (i = 0; i < row->session->n_requests; i++) {
                double c;
                if (ui_model_cost(u->m, row->session->requests[i], &c)) {
                        cost += c;
                        priced = true;
                }
        }
        fmt_tok(t.input_tokens, in, sizeof(in));
        fmt_tok(t.output_tokens, out, sizeof(out));
        snprintf(line, sizeof(line),
                 "\xe2\x96\xbe session %s  %zu request%s, %zu failed  in %s out %s", id, t.requests,
                 t.requests == 1 ? "" : "s", t.failed, in, out);
        if (priced)
                snprintf(line + strlen(line), sizeof(line) - strlen(line), "  $%.4f", cost);
        ui_attr(u, sel ? UI_C_SEL : UI_C_SESSION, A_BOLD | (sel ? A_REVERSE * !u->color : 0), true);
        if (sel)
                mvhline(y, 0, ' ', u->cols);
        ui_put(y, 0, line, strlen(line), u->cols);
        ui_attr(u, sel ? UI_C_SEL : UI_C_SESSION, A_BOLD | (sel ? A_REVERSE * !u->color : 0),
                false);
}

static void draw_request(struct ui *u, int y, const struct replay_request *r, bool sel)
{
        enum ui_state st = ui_request_state(r);
        static const int pair[] = {UI_C_WAITING, UI_C_STREAMING, UI_C_DONE, UI_C_ERROR};
        char t[32], status[16], ttft[32], dur[32], toks[128], cost[32], models[256], in[32],
            out[16], cache[16];
        char head[160], tail[512];
        bool hot = r->duration_ms > SLOW_MS || r->ttft_ms > SLOW_TTFT_MS ||
                   (r->has_usage && r->input_tokens + r->cache_read_tokens > LARGE_TOKENS);
        double usd;
        int wmodel, x;
        int attr = (hot ? A_BOLD : 0) | (sel ? A_REVERSE : 0);

        snprintf(t, sizeof(t), "%.8s", strlen(r->time) >= 19 ? r->time + 11 : "--:--:--");
        if (r->status)
                snprintf(status, sizeof(status), "%d", r->status);
        else
                snprintf(status, sizeof(status), "-");
        fmt_ms(r->ttft_ms, ttft, sizeof(ttft));
        fmt_ms(r->duration_ms, dur, sizeof(dur));
        if (r->has_usage) {
                fmt_tok(r->input_tokens, in, sizeof(in));
                fmt_tok(r->output_tokens, out, sizeof(out));
                fmt_tok(r->cache_read_tokens + r->cache_creation_tokens, cache, sizeof(cache));
                snprintf(toks, sizeof(toks), "%s/%s/%s", in, out, cache);
        } else {
                snprintf(toks, sizeof(toks), "-");
        }
        if (ui_model_cost(u->m, r, &usd))
                snprintf(cost, sizeof(cost), "$%.4f", usd);
        else
                cost[0] = '\0';
        if (r->model_id && r->model && strcmp(r->model, r->model_id))
                snprintf(models, sizeof(models), "%s \xe2\x86\x92 %s", r->model, r->model_id);
        else
                snprintf(models, sizeof(models), "%s",
                         r->model_id ? r->model_id
                         : r->model  ? r->model
                                     : "?");
        if (r->count_tokens)
                snprintf(models + strlen(models), sizeof(models) - strlen(models), " (count)");
        if (r->replay_of)
                snprintf(models + strlen(models), sizeof(models) - strlen(models),
                         " \xe2\x86\xba%.10s", r->replay_of);

        snprintf(head, sizeof(head), " %c%s %-9s ", hot ? '!' : ' ', t, ui_state_name(st));
        snprintf(tail, sizeof(tail), " %-9.9s %3s %6s %7s %14s %8s", r->mode ? r->mode : "-",
                 status, ttft, dur, toks, cost);
        wmodel = u->cols - ui_text_width(head, strlen(head)) - (int)strlen(tail);

        if (sel) {
                ui_attr(u, sel && u->color ? UI_C_SEL : 0, attr, true);
                mvhline(y, 0, ' ', u->cols);
                ui_attr(u, sel && u->color ? UI_C_SEL : 0, attr, false);
        }
        ui_attr(u, sel && u->color ? UI_C_SEL : pair[st], attr, true);
        x = ui_put(y, 0, head, strlen(head), u->cols);
        ui_attr(u, sel && u->color ? UI_C_SEL : pair[st], attr, false);
        ui_attr(u, sel && u->color ? UI_C_SEL : 0, attr, true);
        if (wmodel > 4) {
                char fit[512];
                ui_text_fit(models, strlen(models), wmodel, 1, fit, sizeof(fit));
                mvaddstr(y, x, fit);
                x += wmodel;
                ui_put(y, x, tail, strlen(tail), u->cols - x);
        } else {
                ui_put(y, x, models, strlen(models), u->cols - x);
        }
        ui_attr(u, sel && u->color ? UI_C_SEL : 0, attr, false);
}

void ui_list_draw(struct ui *u, int y, int h)
{
        char hdr[256];
        int body = h - 1, wmodel, i;
        const char *tail = " mode      st.   ttft     dur   in/out/cache     cost";

        ui_list_clamp(u, body);
        wmodel = u->cols - 21 - (int)strlen(tail);
        snprintf(hdr, sizeof(hdr), "  time     state     %-*s%s", wmodel > 0 ? wmodel : 0,
                 "requested \xe2\x86\x92 routed", tail);
        ui_attr(u, 0, A_BOLD | A_UNDERLINE, true);
        mvhline(y, 0, ' ', u->cols);
        ui_put(y, 0, hdr, strlen(hdr), u->cols);
        ui_attr(u, 0, A_BOLD | A_UNDERLINE, false);
        if (u->m->n_rows == 0) {
                const char *msg = ui_filter_active(&u->m->filter)
                                      ? "no request matches the filter (f to change it)"
                                      : "no requests yet: point Claude Code at the proxy";
                ui_put(y + 2, 2, msg, strlen(msg), u->cols - 2);
                return;
        }
        for (i = 0; i < body && u->top + i < (long)u->m->n_rows; i++) {
                const struct ui_row *row = &u->m->rows[u->top + i];
                bool sel = u->top + i == u->cursor;
                if (row->type == UI_ROW_SESSION)
                        draw_session(u, y + 1 + i, row, sel);
                else
                        draw_request(u, y + 1 + i, row->request, sel);
        }
}

int ui_list_key(struct ui *u, enum ui_action a, int h)
{
        long n = (long)u->m->n_rows;

        switch (a) {
        case UI_ACT_UP:
                u->cursor--;
                break;
        case UI_ACT_DOWN:
                u->cursor++;
                break;
        case UI_ACT_PAGE_UP:
                u->cursor -= h;
                break;
        case UI_ACT_PAGE_DOWN:
                u->cursor += h;
                break;
        case UI_ACT_HOME:
                u->cursor = 0;
                break;
        case UI_ACT_END:
                u->cursor = n - 1;
                break;
        case UI_ACT_FOLLOW:
                u->follow = !u->follow;
                if (u->follow)
                        u->cursor = n - 1;
                snprintf(u->message, sizeof(u->message), "follow %s", u->follow ? "on" : "off");
                return UI_REDRAW;
        case UI_ACT_OPEN: {
                const struct replay_request *r = ui_list_selected(u);
                if (r)
                        ui_detail_open(u, r->id);
                return UI_REDRAW;
        }
        case UI_ACT_BACK:
                return UI_HANDLED;
        default:
                return UI_HANDLED;
        }
        ui_list_select(u, u->cursor, a == UI_ACT_END);
        return UI_REDRAW;
}

void ui_list_select(struct ui *u, long row, bool follow)
{
        long n = (long)u->m->n_rows;

        u->cursor = row;
        if (u->cursor >= n)
                u->cursor = n - 1;
        if (u->cursor < 0)
                u->cursor = 0;
        /* Following only while the cursor is on the newest row. */
        u->follow = n == 0 || u->cursor == n - 1 ? u->follow || follow : false;
        free(u->cursor_id);
        u->cursor_id = NULL;
        if (n > 0 && u->m->rows[u->cursor].request)
                u->cursor_id = xstrdup(u->m->rows[u->cursor].request->id);
}
