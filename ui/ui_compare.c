/*
 * ui_compare: a re-send against its original (see ui_compare.h). The summaries are rebuilt on
 * every draw from the request records, so a re-send still streaming fills its column live. The
 * pane shows a label column and two equal columns, each cut to its width by display columns
 * (ui_text), so wide characters and control bytes never spill into the other side.
 */
#include "ui_compare.h"
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

#define LABEL_W   9
#define MAX_TOOLS 64

bool ui_compare_pair(const struct replay_journal *j, const struct replay_request *sel,
                     const struct replay_request **orig, const struct replay_request **resend)
{
        size_t i;

        *orig = *resend = NULL;
        if (!sel)
                return false;
        if (sel->replay_of) {
                *orig = replay_journal_request(j, sel->replay_of);
                *resend = sel;
                return true;
        }
        for (i = j->n_requests; i-- > 0;) {
                const struct replay_request *r = j->requests[i];
                if (r->replay_of && !strcmp(r->replay_of, sel->id)) {
                        *orig = sel;
                        *resend = r;
                        return true;
                }
        }
        return false;
}

static char *ms_str(long ms)
{
        return ms < 0 ? xstrdup("-") : xasprintf("%ld ms", ms);
}

struct answer {
        struct buf text;
        struct buf tools[MAX_TOOLS]; /* "Name " then the input */
        bool is_tool[MAX_TOOLS];
        bool has_delta[MAX_TOOLS];
        int n;
};

static void block_start(struct answer *a, int idx, const cJSON *cb)
{
        const char *type = json_get_str(cb, "type");
        const char *name = json_get_str(cb, "name");
        const cJSON *input = json_get(cb, "input");

        if (idx < 0 || idx >= MAX_TOOLS || !type || strcmp(type, "tool_use"))
                return;
        while (a->n <= idx)
                buf_init(&a->tools[a->n++]);
        a->is_tool[idx] = true;
        buf_clear(&a->tools[idx]);
        buf_printf(&a->tools[idx], "%s ", name ? name : "?");
        /* A whole input in the start (a non-streamed answer, or one sent in one piece). */
        if (cJSON_IsObject(input) && input->child)
                json_append(&a->tools[idx], input);
}

static void block_delta(struct answer *a, int idx, const cJSON *d)
{
        const char *s = json_get_str(d, "text");

        if (s) {
                buf_puts(&a->text, s);
                return;
        }
        s = json_get_str(d, "partial_json");
        if (!s || idx < 0 || idx >= a->n || !a->is_tool[idx])
                return;
        if (!a->has_delta[idx]) {
                /* The deltas replace the empty input of the start. */
                const char *t = buf_str(&a->tools[idx]);
                const char *sp = strchr(t, ' ');
                size_t keep = sp ? (size_t)(sp - t) + 1 : a->tools[idx].len;
                a->tools[idx].len = keep;
                a->has_delta[idx] = true;
        }
        buf_puts(&a->tools[idx], s);
}

static void on_event(void *arg, const char *type, int index, const cJSON *ev)
{
        struct answer *a = arg;

        if (type != NULL && strcmp(type, "content_block_start") == 0)
                block_start(a, index, json_get(ev, "content_block"));
        else if (type != NULL && strcmp(type, "content_block_delta") == 0)
                block_delta(a, index, json_get(ev, "delta"));
}

/* The answer from the events a stream sent to the client. */
static void from_events(const struct replay_request *r, struct answer *a)
{
        struct buf all;

        buf_init(&all);
        ui_stream_gather(r, RECORD_CLIENT_EVENT, &all);
        ui_stream_each_event(buf_str(&all), on_event, a);
        buf_fini(&all);
}

/* The answer from a whole client response (non-streamed, or an error). */
static void from_response(const struct replay_request *r, struct answer *a)
{
        const struct replay_record *rec = NULL;
        const cJSON *c, *content, *err;
        cJSON *o;
        size_t i;
        int k = 0;

        for (i = r->n_records; i-- > 0 && !rec;) {
                if (r->records[i].kind == RECORD_CLIENT_RESPONSE)
                        rec = &r->records[i];
        }
        o = rec ? replay_record_parse(r, rec) : NULL;
        content = json_get(json_get(o, "body"), "content");
        err = json_get(json_get(o, "body"), "error");
        if (cJSON_IsObject(err)) {
                const char *t = json_get_str(err, "type"), *m = json_get_str(err, "message");
                buf_printf(&a->text, "error %s: %s", t ? t : "?", m ? m : "");
        }
        cJSON_ArrayForEach(c, content)
        {
                const char *type = json_get_str(c, "type");
                const char *s = json_get_str(c, "text");

                if (type && !strcmp(type, "text") && s)
                        buf_puts(&a->text, s);
                else if (type && !strcmp(type, "tool_use"))
                        block_start(a, k, c);
                k++;
        }
        cJSON_Delete(o);
}

void ui_compare_summarize(const struct replay_request *r, const char *missing_id,
                          struct ui_compare_summary *s)
{
        struct answer a;
        int i;

        memset(s, 0, sizeof(*s));
        if (!r) {
                s->id = xstrdup(missing_id ? missing_id : "-");
                s->status = xstrdup("(not in the journal shown)");
                s->model = xstrdup("-");
                s->stop = xstrdup("-");
                s->tokens = xstrdup("-");
                s->ttft = xstrdup("-");
                s->duration = xstrdup("-");
                s->text = xstrdup("");
                return;
        }
        s->id = xstrdup(r->id);
        if (r->status)
                s->status = xasprintf("%d%s%s", r->status, r->ended ? "" : " (not over)",
                                      r->failed ? " failed" : "");
        else
                s->status = xstrdup(r->ended ? "-" : "- (not over)");
        s->model = xasprintf("%s \xe2\x86\x92 %s (%s)", r->model ? r->model : "?",
                             r->model_id ? r->model_id : "?", r->mode ? r->mode : "?");
        s->stop = xstrdup(r->stop_reason ? r->stop_reason : "-");
        if (r->has_usage)
                s->tokens =
                    xasprintf("in %ld  out %ld  cache %ld/%ld", r->input_tokens, r->output_tokens,
                              r->cache_read_tokens, r->cache_creation_tokens);
        else
                s->tokens = xstrdup("-");
        s->ttft = ms_str(r->ttft_ms);
        s->duration = ms_str(r->duration_ms);

        memset(&a, 0, sizeof(a));
        buf_init(&a.text);
        if (replay_request_find(r, RECORD_CLIENT_EVENT))
                from_events(r, &a);
        else
                from_response(r, &a);
        if (!a.text.len && r->error)
                buf_printf(&a.text, "error %s", r->error);
        s->tools = xcalloc((size_t)a.n + 1, sizeof(*s->tools));
        for (i = 0; i < a.n; i++) {
                if (a.is_tool[i])
                        s->tools[s->n_tools++] = buf_detach(&a.tools[i]);
                buf_fini(&a.tools[i]);
        }
        s->text = a.text.len ? buf_detach(&a.text) : xstrdup("");
        buf_fini(&a.text);
}

void ui_compare_summary_free(struct ui_compare_summary *s)
{
        size_t i;

        free(s->id);
        free(s->status);
        free(s->model);
        free(s->stop);
        free(s->tokens);
        free(s->ttft);
        free(s->duration);
        for (i = 0; i < s->n_tools; i++)
                free(s->tools[i]);
        free(s->tools);
        free(s->text);
        memset(s, 0, sizeof(*s));
}

static void add_row(struct ui_compare_rows *out, const char *label, const char *l, size_t ln,
                    const char *r, size_t rn)
{
        struct ui_compare_row *row;

        if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 32;
                out->rows = xrealloc(out->rows, out->cap * sizeof(*out->rows));
        }
        row = &out->rows[out->n++];
        row->label = xstrdup(label);
        row->left = xstrndup(l, ln);
        row->right = xstrndup(r, rn);
}

static void add_pair(struct ui_compare_rows *out, const char *label, const char *l, const char *r)
{
        add_row(out, label, l ? l : "", l ? strlen(l) : 0, r ? r : "", r ? strlen(r) : 0);
}

/* The next line of *p (advancing it); false at the end. */
static bool next_line(const char **p, const char **line, size_t *n)
{
        const char *nl;

        if (!*p || !**p)
                return false;
        nl = strchr(*p, '\n');
        *line = *p;
        *n = nl ? (size_t)(nl - *p) : strlen(*p);
        *p = nl ? nl + 1 : *p + *n;
        return true;
}

void ui_compare_build(const struct ui_compare_summary *a, const struct ui_compare_summary *b,
                      struct ui_compare_rows *out)
{
        size_t i, n = a->n_tools > b->n_tools ? a->n_tools : b->n_tools;
        const char *pa = a->text, *pb = b->text;
        char label[32], count_a[16], count_b[16];
        bool first = true;

        memset(out, 0, sizeof(*out));
        add_pair(out, "request", a->id, b->id);
        add_pair(out, "status", a->status, b->status);
        add_pair(out, "model", a->model, b->model);
        add_pair(out, "stop", a->stop, b->stop);
        add_pair(out, "tokens", a->tokens, b->tokens);
        add_pair(out, "ttft", a->ttft, b->ttft);
        add_pair(out, "duration", a->duration, b->duration);
        snprintf(count_a, sizeof(count_a), "%zu", a->n_tools);
        snprintf(count_b, sizeof(count_b), "%zu", b->n_tools);
        add_pair(out, "tools", count_a, count_b);
        for (i = 0; i < n; i++) {
                snprintf(label, sizeof(label), "tool %zu", i + 1);
                add_pair(out, label, i < a->n_tools ? a->tools[i] : "",
                         i < b->n_tools ? b->tools[i] : "");
        }
        for (;;) {
                const char *la = "", *lb = "";
                size_t na = 0, nb = 0;
                bool ga = next_line(&pa, &la, &na), gb = next_line(&pb, &lb, &nb);

                if (!ga && !gb && !first)
                        break;
                add_row(out, first ? "answer" : "", la, na, lb, nb);
                first = false;
                if (!ga && !gb)
                        break;
        }
}

void ui_compare_rows_free(struct ui_compare_rows *out)
{
        size_t i;

        for (i = 0; i < out->n; i++) {
                free(out->rows[i].label);
                free(out->rows[i].left);
                free(out->rows[i].right);
        }
        free(out->rows);
        memset(out, 0, sizeof(*out));
}

/* ---- the pane ---- */

void ui_compare_close(struct ui *u)
{
        free(u->cmp_orig);
        free(u->cmp_resend);
        u->cmp_orig = u->cmp_resend = NULL;
        if (u->view == UI_VIEW_COMPARE)
                u->view = u->cmp_back;
}

int ui_compare_open(struct ui *u, const struct replay_request *sel)
{
        const struct replay_request *orig, *resend;

        if (!sel) {
                snprintf(u->message, sizeof(u->message), "no request selected");
                return -1;
        }
        if (!ui_compare_pair(u->m->j, sel, &orig, &resend)) {
                snprintf(u->message, sizeof(u->message),
                         "%s is not a re-send and was not re-sent (r or R re-sends it)", sel->id);
                return -1;
        }
        ui_reload(u, orig);
        ui_reload(u, resend);
        free(u->cmp_orig);
        free(u->cmp_resend);
        u->cmp_orig = xstrdup(orig ? orig->id : resend->replay_of);
        u->cmp_resend = xstrdup(resend->id);
        u->cmp_back = u->view == UI_VIEW_COMPARE ? u->cmp_back : u->view;
        u->view = UI_VIEW_COMPARE;
        u->ctop = 0;
        return 0;
}

/* Writes s[0..n) cut to cols display columns at (y, x), padded. */
static void cell(int y, int x, const char *s, size_t n, int cols)
{
        char out[2048];

        if (cols <= 0)
                return;
        ui_text_fit(s, n, cols, 1, out, sizeof(out));
        mvaddstr(y, x, out);
}

void ui_compare_draw(struct ui *u, int y, int h)
{
        const struct replay_request *a = replay_journal_request(u->m->j, u->cmp_orig);
        const struct replay_request *b = replay_journal_request(u->m->j, u->cmp_resend);
        struct ui_compare_summary sa, sb;
        struct ui_compare_rows rows;
        int colw = (u->cols - LABEL_W - 6) / 2, xl = LABEL_W + 1, xr, i, body = h - 1;
        long max;
        const char *sep = "\xe2\x94\x82";

        if (colw < 4)
                colw = 4;
        xr = xl + colw + 3;
        ui_compare_summarize(a, u->cmp_orig, &sa);
        ui_compare_summarize(b, u->cmp_resend, &sb);
        ui_compare_build(&sa, &sb, &rows);

        ui_attr(u, UI_C_BAR, A_BOLD, true);
        mvhline(y, 0, ' ', u->cols);
        cell(y, 0, "compare", 7, LABEL_W);
        cell(y, xl, "original", 8, colw);
        ui_put(y, xl + colw + 1, sep, strlen(sep), 1);
        cell(y, xr, "re-send", 7, colw);
        ui_attr(u, UI_C_BAR, A_BOLD, false);

        max = (long)rows.n - body;
        if (u->ctop > max)
                u->ctop = max;
        if (u->ctop < 0)
                u->ctop = 0;
        for (i = 0; i < body && (size_t)(u->ctop + i) < rows.n; i++) {
                const struct ui_compare_row *r = &rows.rows[u->ctop + i];
                bool differ = strcmp(r->left, r->right) != 0;
                int yy = y + 1 + i;

                ui_attr(u, UI_C_KEY, 0, true);
                cell(yy, 0, r->label, strlen(r->label), LABEL_W);
                ui_attr(u, UI_C_KEY, 0, false);
                ui_attr(u, 0, differ ? A_BOLD : 0, true);
                cell(yy, xl, r->left, strlen(r->left), colw);
                ui_attr(u, 0, differ ? A_BOLD : 0, false);
                ui_put(yy, xl + colw + 1, sep, strlen(sep), 1);
                ui_attr(u, 0, differ ? A_BOLD : 0, true);
                cell(yy, xr, r->right, strlen(r->right), u->cols - xr);
                ui_attr(u, 0, differ ? A_BOLD : 0, false);
        }
        ui_compare_rows_free(&rows);
        ui_compare_summary_free(&sa);
        ui_compare_summary_free(&sb);
}

int ui_compare_key(struct ui *u, enum ui_action a, int h)
{
        switch (a) {
        case UI_ACT_BACK:
                ui_compare_close(u);
                return UI_REDRAW;
        case UI_ACT_UP:
                u->ctop--;
                break;
        case UI_ACT_DOWN:
                u->ctop++;
                break;
        case UI_ACT_PAGE_UP:
                u->ctop -= h;
                break;
        case UI_ACT_PAGE_DOWN:
                u->ctop += h;
                break;
        case UI_ACT_HOME:
                u->ctop = 0;
                break;
        case UI_ACT_END:
                u->ctop = 1L << 30; /* clamped when drawn */
                break;
        default:
                return UI_HANDLED;
        }
        if (u->ctop < 0)
                u->ctop = 0;
        return UI_REDRAW;
}
