/*
 * ui_detail: one request in tabs. Each tab is built into a ui_json_doc (pretty JSON with
 * folding, or plain lines) from the request's records, and rebuilt when more records of that
 * request arrive, so a stream grows live; only the lines on screen are drawn.
 *
 * The client response tab of a stream starts with what the events add up to: the text and each
 * tool's input reassembled from the deltas, then the raw events. The diff tab shows the client
 * request and the upstream request side by side (raw against translated).
 */
#include "ui_screen.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "record.h"
#include "ui_stream.h"
#include "ui_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tab_names[UI_TAB_COUNT] = {"client request",
                                                    "upstream request",
                                                    "upstream response",
                                                    "client response",
                                                    "headers",
                                                    "timing & usage",
                                                    "diff"};

const char *ui_detail_tab_name(enum ui_tab t)
{
        return t < UI_TAB_COUNT ? tab_names[t] : "?";
}

/* The last record of that kind, parsed (caller deletes), or NULL. */
static cJSON *last_of(const struct replay_request *r, int kind)
{
        size_t i;

        for (i = r->n_records; i-- > 0;) {
                if (r->records[i].kind == kind)
                        return replay_record_parse(r, &r->records[i]);
        }
        return NULL;
}

#define RELEASED        "(released from memory: an older request; the journal has it)"
#define RELEASED_STREAM "(stream released from memory: an older request; the journal has it)"
#define NOT_RELOADED    "(released from memory: an older request; not found in the journal)"

void ui_reload(struct ui *u, const struct replay_request *cr)
{
        struct replay_request *r;
        char *cause = NULL;
        long n;

        if (!cr || !cr->released || cr->reload_tried || u->m != &u->live || !u->o->journal)
                return;
        r = replay_journal_request(u->m->j, cr->id); /* the same request, ours to change */
        if (!r)
                return;
        n = replay_request_reload(r, u->o->journal, &cause);
        if (n < 0) {
                snprintf(u->message, sizeof(u->message), "%s", cause);
                free(cause);
                return;
        }
        snprintf(u->message, sizeof(u->message), "%s: %ld records read back from the journal",
                 r->id, n);
}

/* Each content block's text, tool input or thinking, by index, with its kind and name. */
struct blocks {
        struct buf text[64];
        char *names[64];
        int n;
};

static void on_block_event(void *arg, const char *type, int idx, const cJSON *ev)
{
        struct blocks *b = arg;

        if (type == NULL || idx < 0 || idx >= 64)
                return;
        while (b->n <= idx)
                buf_init(&b->text[b->n++]);
        if (strcmp(type, "content_block_start") == 0) {
                const cJSON *cb = json_get(ev, "content_block");
                const char *bt = json_get_str(cb, "type");
                const char *name = json_get_str(cb, "name");
                free(b->names[idx]);
                b->names[idx] =
                    xasprintf("%s%s%s", bt ? bt : "block", name ? " " : "", name ? name : "");
        } else if (strcmp(type, "content_block_delta") == 0) {
                const cJSON *d = json_get(ev, "delta");
                const char *s = json_get_str(d, "text");
                if (!s)
                        s = json_get_str(d, "partial_json");
                if (!s)
                        s = json_get_str(d, "thinking");
                if (s)
                        buf_puts(&b->text[idx], s);
        }
}

/* Text and tool inputs reassembled from Anthropic SSE frames. */
static void reassemble(const char *sse, struct buf *out)
{
        struct blocks b = {0};

        ui_stream_each_event(sse, on_block_event, &b);
        for (int i = 0; i < b.n; i++) {
                buf_printf(out, "\xe2\x94\x80\xe2\x94\x80 [%d] %s\n", i,
                           b.names[i] ? b.names[i] : "block");
                buf_append(out, b.text[i].data ? b.text[i].data : "", b.text[i].len);
                buf_putc(out, '\n');
                buf_fini(&b.text[i]);
                free(b.names[i]);
        }
}

static void add_json_or_text(struct buf *out, const cJSON *o, const char *key)
{
        const cJSON *v = json_get(o, key);
        char *s;

        if (!v)
                return;
        s = cJSON_Print(v);
        if (s) {
                buf_puts(out, s);
                buf_putc(out, '\n');
                cJSON_free(s);
        }
}

/* Puts o's `body` (or body_text) in d as JSON; a note when absent. */
static void build_body(struct ui_json_doc *d, cJSON *o, const char *none)
{
        const cJSON *body = json_get(o, "body");
        const char *text = json_get_str(o, "body_text");

        if (body)
                ui_json_build(d, body);
        else if (text)
                ui_json_build_text(d, text, strlen(text));
        else
                ui_json_build_text(d, none, strlen(none));
}

static void build_side_by_side(const struct replay_request *r, struct ui_json_doc *d)
{
        cJSON *a = last_of(r, RECORD_CLIENT_REQUEST), *b = last_of(r, RECORD_UPSTREAM_REQUEST);
        struct ui_json_doc da, db;
        struct buf out;
        size_t i, n;

        ui_json_build(&da, json_get(a, "body"));
        ui_json_build(&db, json_get(b, "body"));
        ui_json_fold_all(&da, false);
        ui_json_fold_all(&db, false);
        buf_init(&out);
        buf_puts(&out, "client request (raw)\t\xe2\x94\x82\tupstream request (translated)\n");
        n = da.n_visible > db.n_visible ? da.n_visible : db.n_visible;
        for (i = 0; i < n; i++) {
                char la[1024], lb[1024];
                ui_json_render(&da, i, la, sizeof(la));
                ui_json_render(&db, i, lb, sizeof(lb));
                buf_printf(&out, "%s\t\xe2\x94\x82\t%s\n", la, lb);
        }
        ui_json_build_text(d, out.data ? out.data : "", out.len);
        buf_fini(&out);
        ui_json_free(&da);
        ui_json_free(&db);
        cJSON_Delete(a);
        cJSON_Delete(b);
}

void ui_detail_build(const struct replay_request *r, enum ui_tab tab, struct ui_json_doc *d)
{
        struct buf out;
        cJSON *o = NULL;
        bool lost = r->reload_tried && !r->reloaded;
        const char *released = lost ? NOT_RELOADED : RELEASED;
        const char *released_stream = lost ? NOT_RELOADED : RELEASED_STREAM;

        buf_init(&out);
        switch (tab) {
        case UI_TAB_CLIENT_REQ:
                o = last_of(r, RECORD_CLIENT_REQUEST);
                build_body(d, o, r->bodies_released ? released : "(no client request recorded)");
                break;
        case UI_TAB_UPSTREAM_REQ:
                o = last_of(r, RECORD_UPSTREAM_REQUEST);
                build_body(d, o, r->bodies_released ? released : "(nothing was sent upstream)");
                break;
        case UI_TAB_UPSTREAM_RESP: {
                cJSON *body;
                o = last_of(r, RECORD_UPSTREAM_RESPONSE);
                ui_stream_gather(r, RECORD_UPSTREAM_CHUNK, &out);
                body = out.len ? json_parse(out.data, out.len, NULL) : NULL;
                if (body) {
                        ui_json_build(d, body);
                        cJSON_Delete(body);
                } else if (out.len) {
                        ui_json_build_text(d, out.data, out.len);
                } else {
                        const char *none = r->released ? released_stream
                                           : o         ? "(no body yet)"
                                                       : "(no upstream response)";
                        ui_json_build_text(d, none, strlen(none));
                }
                break;
        }
        case UI_TAB_CLIENT_RESP: {
                struct buf ev;
                buf_init(&ev);
                ui_stream_gather(r, RECORD_CLIENT_EVENT, &ev);
                if (ev.len) {
                        buf_puts(&out, "reassembled from the events:\n");
                        reassemble(ev.data, &out);
                        buf_puts(&out, "\nevents as sent:\n");
                        buf_append(&out, ev.data, ev.len);
                        ui_json_build_text(d, out.data, out.len);
                } else {
                        o = last_of(r, RECORD_CLIENT_RESPONSE);
                        build_body(d, o, r->released ? released_stream : "(no answer yet)");
                }
                buf_fini(&ev);
                break;
        }
        case UI_TAB_HEADERS: {
                cJSON *up = last_of(r, RECORD_UPSTREAM_RESPONSE);
                o = last_of(r, RECORD_CLIENT_REQUEST);
                buf_puts(&out, "client request headers (keys redacted):\n");
                add_json_or_text(&out, o, "headers");
                if (up) {
                        double st = 0;
                        json_get_num(up, "status", &st);
                        buf_printf(&out, "\nupstream response %d headers:\n", (int)st);
                        add_json_or_text(&out, up, "headers");
                }
                cJSON_Delete(up);
                ui_json_build_text(d, out.data ? out.data : "", out.len);
                break;
        }
        case UI_TAB_TIMING: {
                cJSON *u = last_of(r, RECORD_USAGE), *e = last_of(r, RECORD_END);
                buf_printf(&out, "request   %s\nsession   %s\nstarted   %s\n", r->id,
                           r->session[0] ? r->session : "-", r->time);
                buf_printf(&out, "model     %s -> %s (%s)\n", r->model ? r->model : "?",
                           r->model_id ? r->model_id : "?", r->mode ? r->mode : "?");
                buf_printf(&out, "status    %d%s\n", r->status, r->ended ? "" : " (not over)");
                buf_printf(&out, "ttft      %ld ms\nduration  %ld ms\nattempts  %d\n", r->ttft_ms,
                           r->duration_ms, r->attempts);
                buf_printf(&out, "stop      %s\ntool calls %d\n",
                           r->stop_reason ? r->stop_reason : "-", r->tool_calls);
                if (r->has_usage)
                        buf_printf(&out,
                                   "tokens    in %ld  out %ld  cache read %ld  cache write %ld\n",
                                   r->input_tokens, r->output_tokens, r->cache_read_tokens,
                                   r->cache_creation_tokens);
                if (r->replay_of)
                        buf_printf(&out, "re-send of %s\n", r->replay_of);
                if (r->error)
                        buf_printf(&out, "error     %s\n", r->error);
                buf_printf(&out, "records   %zu\n", r->n_records);
                if (u) {
                        buf_puts(&out, "\nusage record:\n");
                        add_json_or_text(&out, u, "input_tokens");
                }
                cJSON_Delete(u);
                cJSON_Delete(e);
                ui_json_build_text(d, out.data, out.len);
                break;
        }
        case UI_TAB_DIFF:
        default:
                build_side_by_side(r, d);
                break;
        }
        cJSON_Delete(o);
        buf_fini(&out);
}

void ui_detail_open(struct ui *u, const char *request_id)
{
        free(u->detail_id);
        u->detail_id = xstrdup(request_id);
        u->view = UI_VIEW_DETAIL;
        u->doc_valid = false;
        u->dtop = u->dcur = u->dleft = 0;
}

void ui_detail_close(struct ui *u)
{
        free(u->detail_id);
        u->detail_id = NULL;
        u->view = UI_VIEW_LIST;
        if (u->doc_valid)
                ui_json_free(&u->doc);
        u->doc_valid = false;
}

static const struct replay_request *current(struct ui *u)
{
        const struct replay_request *r =
            u->detail_id ? replay_journal_request(u->m->j, u->detail_id) : NULL;

        if (!r)
                return NULL;
        if (r->released && !r->reload_tried) {
                ui_reload(u, r);
                u->doc_valid = false;
        }
        if (!u->doc_valid || u->doc_tab != u->tab || u->doc_records != r->n_records) {
                bool same = u->doc_valid && u->doc_tab == u->tab;
                struct ui_json_view keep;
                size_t cur = (size_t)u->dcur, top = (size_t)u->dtop;

                /* More records of this request: rebuild, keeping the user's folds, cursor and
                 * scroll position by JSON path. */
                if (same)
                        ui_json_save(&u->doc, cur, top, &keep);
                if (u->doc_valid)
                        ui_json_free(&u->doc);
                ui_detail_build(r, u->tab, &u->doc);
                u->doc_valid = true;
                u->doc_tab = u->tab;
                u->doc_records = r->n_records;
                if (same) {
                        ui_json_restore(&u->doc, &keep, &cur, &top);
                        ui_json_view_free(&keep);
                        u->dcur = (long)cur;
                        u->dtop = (long)top;
                } else {
                        u->dtop = u->dcur = u->dleft = 0;
                }
        }
        return r;
}

/* Columns the detail scrolls by with Left/Right. */
#define HSTEP 8

/* A piece of a detail line with its colour: the key, the value, the folded summary. */
struct piece {
        const char *s;
        size_t n;
        int pair, attr;
};

/* The pieces of visible line v after its indent (returned); more holds the folded summary. */
static int pieces(const struct ui *u, size_t v, struct piece p[3], char *more, size_t moresz)
{
        const struct ui_json_line *l = &u->doc.lines[u->doc.visible[v]];
        static const int pair[] = {0, UI_C_KEY, UI_C_STRING, UI_C_NUMBER, UI_C_LITERAL, 0};
        int np = 0;

        if (l->key_len)
                p[np++] = (struct piece){l->text, l->key_len, UI_C_KEY, 0};
        p[np++] =
            (struct piece){l->text + l->key_len, strlen(l->text + l->key_len), pair[l->tok], 0};
        if (l->opens && l->folded) {
                snprintf(more, moresz, " \xe2\x80\xa6 %zu %s %s", l->items,
                         l->items == 1 ? "item" : "items", u->doc.lines[l->close].text);
                p[np++] = (struct piece){more, strlen(more), 0, A_DIM};
        }
        return np;
}

/* A side-by-side line (diff tab): left \t│\t right; NULL for any other line. */
static const char *side_by_side(const struct ui *u, size_t v)
{
        const struct ui_json_line *l = &u->doc.lines[u->doc.visible[v]];

        return l->tok == UI_JSON_PLAIN && !l->key_len ? strchr(l->text, '\t') : NULL;
}

/* How far line v must scroll for its end to show: its width past the view's. */
static long scroll_need(const struct ui *u, size_t v)
{
        const struct ui_json_line *l = &u->doc.lines[u->doc.visible[v]];
        const char *sep = side_by_side(u, v);
        struct piece p[3];
        char more[64];
        long w = l->depth * 2, view = u->cols;
        int np, i;

        if (sep) {
                const char *right = strchr(sep + 1, '\t');
                long a = ui_text_width(l->text, (size_t)(sep - l->text));
                long b = right ? ui_text_width(right + 1, strlen(right + 1)) : 0;
                view = (u->cols - 3) / 2;
                w = a > b ? a : b;
        } else {
                np = pieces(u, v, p, more, sizeof(more));
                for (i = 0; i < np; i++)
                        w += ui_text_width(p[i].s, p[i].n);
        }
        return w > view ? w - view : 0;
}

/* Draws s[0..n) from its column `from`, at most cols columns, at (y, x). */
static void put_cut(int y, int x, const char *s, size_t n, int from, int cols)
{
        char out[2048];

        if (cols <= 0)
                return;
        ui_text_cut(s, n, from, cols, out, sizeof(out));
        mvaddstr(y, x, out);
}

/* Draws s[0..n) through a window cols wide scrolled to u->dleft, at (y, x). */
static void put_window(const struct ui *u, int y, int x, const char *s, size_t n, int cols)
{
        char out[2048];

        if (cols <= 0)
                return;
        ui_text_window(s, n, (int)u->dleft, cols, out, sizeof(out));
        mvaddstr(y, x, out);
}

static void draw_line(struct ui *u, int y, size_t v)
{
        const struct ui_json_line *l = &u->doc.lines[u->doc.visible[v]];
        const char *sep = side_by_side(u, v);
        struct piece p[3];
        char more[64];
        int np, i, cols = u->cols, hs = (int)u->dleft, indent = l->depth * 2, vx, total;
        int first, last; /* the line's columns shown: [first, last) */
        bool right;

        if (sep) {
                /* Each half its own column, both scrolled alike. */
                const char *t = l->text, *rt = strchr(sep + 1, '\t');
                int half = (cols - 3) / 2;
                put_window(u, y, 0, t, (size_t)(sep - t), half);
                ui_put(y, half + 1, "\xe2\x94\x82", 3, 1);
                if (rt)
                        put_window(u, y, half + 3, rt + 1, strlen(rt + 1), cols - half - 3);
                return;
        }
        np = pieces(u, v, p, more, sizeof(more));
        total = indent;
        for (i = 0; i < np; i++)
                total += ui_text_width(p[i].s, p[i].n);
        /* Scrolled, column 0 is the left marker; text past the edge, the last column is the
         * right one. */
        right = total > hs + cols;
        first = hs + (hs > 0);
        last = hs + cols - right;
        for (i = 0, vx = indent; i < np; i++) {
                int w = ui_text_width(p[i].s, p[i].n), start = vx, from;

                vx += w;
                if (start + w <= first || start >= last)
                        continue;
                from = start < first ? first - start : 0;
                ui_attr(u, p[i].pair, p[i].attr, true);
                put_cut(y, start + from - hs, p[i].s, p[i].n, from, last - (start + from));
                ui_attr(u, p[i].pair, p[i].attr, false);
        }
        ui_attr(u, 0, A_DIM, true);
        if (hs > 0 && indent < first && total > indent)
                mvaddstr(y, 0, "\xe2\x80\xa6");
        if (right)
                mvaddstr(y, cols - 1, "\xe2\x80\xa6");
        ui_attr(u, 0, A_DIM, false);
}

void ui_detail_draw(struct ui *u, int y, int h)
{
        const struct replay_request *r = current(u);
        int x = 0, i, body = h - 1;
        long max;

        mvhline(y, 0, ' ', u->cols);
        for (i = 0; i < UI_TAB_COUNT && x < u->cols; i++) {
                char label[64];
                snprintf(label, sizeof(label), " %s ", tab_names[i]);
                ui_attr(u, i == (int)u->tab ? UI_C_BAR : 0, i == (int)u->tab ? A_BOLD : A_DIM,
                        true);
                x += ui_put(y, x, label, strlen(label), u->cols - x);
                ui_attr(u, i == (int)u->tab ? UI_C_BAR : 0, i == (int)u->tab ? A_BOLD : A_DIM,
                        false);
                if (x < u->cols)
                        x += ui_put(y, x, "\xe2\x94\x82", 3, 1);
        }
        if (!r) {
                ui_put(y + 2, 2, "this request is not in the journal shown", 40, u->cols - 2);
                return;
        }
        if (u->dcur >= (long)u->doc.n_visible)
                u->dcur = (long)u->doc.n_visible - 1;
        if (u->dcur < 0)
                u->dcur = 0;
        if (u->dtop > u->dcur)
                u->dtop = u->dcur;
        if (u->dcur >= u->dtop + body)
                u->dtop = u->dcur - body + 1;
        max = (long)u->doc.n_visible - body;
        if (u->dtop > max)
                u->dtop = max;
        if (u->dtop < 0)
                u->dtop = 0;
        for (i = 0; i < body && (size_t)(u->dtop + i) < u->doc.n_visible; i++) {
                bool cur = u->dtop + i == u->dcur;
                /* The cursor line is reversed across the width (and still coloured). */
                if (cur) {
                        attron(A_REVERSE);
                        mvhline(y + 1 + i, 0, ' ', u->cols);
                }
                draw_line(u, y + 1 + i, (size_t)(u->dtop + i));
                if (cur)
                        attroff(A_REVERSE);
        }
}

int ui_detail_key(struct ui *u, enum ui_action a, int h)
{
        switch (a) {
        case UI_ACT_BACK:
                ui_detail_close(u);
                return UI_REDRAW;
        case UI_ACT_NEXT_TAB:
                u->tab = (u->tab + 1) % UI_TAB_COUNT;
                u->dleft = 0;
                return UI_REDRAW;
        case UI_ACT_PREV_TAB:
                u->tab = (u->tab + UI_TAB_COUNT - 1) % UI_TAB_COUNT;
                u->dleft = 0;
                return UI_REDRAW;
        case UI_ACT_SCROLL_LEFT:
                u->dleft = u->dleft > HSTEP ? u->dleft - HSTEP : 0;
                return UI_REDRAW;
        case UI_ACT_LINE_START:
                u->dleft = 0;
                return UI_REDRAW;
        case UI_ACT_SCROLL_RIGHT:
        case UI_ACT_LINE_END: {
                /* Right stops once the longest line on screen ends in view; > shows the end
                 * of the line under the cursor. */
                long need = 0, i;
                if (!u->doc_valid)
                        return UI_HANDLED;
                if (a == UI_ACT_LINE_END) {
                        if (u->dcur >= 0 && (size_t)u->dcur < u->doc.n_visible)
                                need = scroll_need(u, (size_t)u->dcur);
                        u->dleft = need;
                        return UI_REDRAW;
                }
                for (i = u->dtop; i <= u->dtop + h && (size_t)i < u->doc.n_visible; i++) {
                        long n = scroll_need(u, (size_t)i);
                        if (n > need)
                                need = n;
                }
                if (u->dleft < need)
                        u->dleft = u->dleft + HSTEP < need ? u->dleft + HSTEP : need;
                return UI_REDRAW;
        }
        case UI_ACT_UP:
                u->dcur--;
                break;
        case UI_ACT_DOWN:
                u->dcur++;
                break;
        case UI_ACT_PAGE_UP:
                u->dcur -= h;
                u->dtop -= h;
                break;
        case UI_ACT_PAGE_DOWN:
                u->dcur += h;
                u->dtop += h;
                break;
        case UI_ACT_HOME:
                u->dcur = u->dtop = 0;
                break;
        case UI_ACT_END:
                u->dcur = (long)u->doc.n_visible - 1;
                break;
        case UI_ACT_TOGGLE_FOLD:
                if (u->doc_valid && u->dcur >= 0)
                        ui_json_toggle(&u->doc, (size_t)u->dcur);
                break;
        case UI_ACT_FOLD_ALL:
        case UI_ACT_UNFOLD_ALL:
                if (u->doc_valid)
                        ui_json_fold_all(&u->doc, a == UI_ACT_FOLD_ALL);
                u->dcur = u->dtop = 0;
                break;
        default:
                return UI_HANDLED;
        }
        if (u->dtop < 0)
                u->dtop = 0;
        if (u->dcur < 0)
                u->dcur = 0;
        if (u->dcur >= (long)u->doc.n_visible)
                u->dcur = (long)u->doc.n_visible - 1;
        if (u->dcur < 0)
                u->dcur = 0;
        return UI_REDRAW;
}
