/*
 * ui_json: pretty lines and folding (see ui_json.h). A container is one opening line
 * ("key": { ), its members, and one closing line ( }, ); folding hides everything after the
 * opening line up to and including the closing one and shows a count instead.
 */
#include "ui_json.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INDENT 2

static size_t add_line(struct ui_json_doc *d, struct buf *text, size_t key_len, int depth,
                       enum ui_json_tok tok, char *path)
{
        struct ui_json_line *l;

        if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 64;
                d->lines = xrealloc(d->lines, d->cap * sizeof(*d->lines));
        }
        l = &d->lines[d->n];
        memset(l, 0, sizeof(*l));
        l->text = buf_detach(text);
        l->key_len = key_len;
        l->depth = depth;
        l->tok = tok;
        l->path = path;
        return d->n++;
}

/* parent's path and one step: a key (with ~ and / escaped as in a JSON pointer) or an index. */
static char *child_path(const char *parent, const char *key, size_t index)
{
        struct buf p;
        const char *c;

        buf_init(&p);
        buf_puts(&p, parent);
        buf_putc(&p, '/');
        if (!key) {
                buf_printf(&p, "%zu", index);
                return buf_detach(&p);
        }
        for (c = key; *c; c++) {
                if (*c == '~')
                        buf_puts(&p, "~0");
                else if (*c == '/')
                        buf_puts(&p, "~1");
                else
                        buf_putc(&p, *c);
        }
        if (!p.len)
                return xstrdup("");
        return buf_detach(&p);
}

static void emit(struct ui_json_doc *d, const cJSON *item, const char *key, int depth, bool comma,
                 const char *path)
{
        struct buf b;
        size_t key_len = 0;

        buf_init(&b);
        if (key) {
                json_append_string(&b, key, strlen(key));
                buf_puts(&b, ": ");
                key_len = b.len;
        }
        if ((cJSON_IsObject(item) || cJSON_IsArray(item)) && item->child) {
                bool obj = cJSON_IsObject(item);
                const cJSON *c;
                size_t open, close, items = 0;
                struct buf cl;

                buf_putc(&b, obj ? '{' : '[');
                open = add_line(d, &b, key_len, depth, UI_JSON_PUNCT, xstrdup(path));
                for (c = item->child; c; c = c->next) {
                        char *cp = child_path(path, obj ? c->string : NULL, items);
                        emit(d, c, obj ? c->string : NULL, depth + 1, c->next != NULL, cp);
                        free(cp);
                        items++;
                }
                buf_init(&cl);
                buf_putc(&cl, obj ? '}' : ']');
                if (comma)
                        buf_putc(&cl, ',');
                close = add_line(d, &cl, 0, depth, UI_JSON_PUNCT, xasprintf("%s/}", path));
                d->lines[open].opens = true;
                d->lines[open].close = close;
                d->lines[open].items = items;
                d->lines[open].folded =
                    key && depth == 1 && (!strcmp(key, "system") || !strcmp(key, "tools"));
                return;
        }
        {
                enum ui_json_tok tok = UI_JSON_LITERAL;

                if (cJSON_IsObject(item)) {
                        buf_puts(&b, "{}");
                        tok = UI_JSON_PUNCT;
                } else if (cJSON_IsArray(item)) {
                        buf_puts(&b, "[]");
                        tok = UI_JSON_PUNCT;
                } else {
                        char *s = json_print(item);
                        buf_puts(&b, s);
                        free(s);
                        if (cJSON_IsString(item))
                                tok = UI_JSON_STRING;
                        else if (cJSON_IsNumber(item))
                                tok = UI_JSON_NUMBER;
                }
                if (comma)
                        buf_putc(&b, ',');
                add_line(d, &b, key_len, depth, tok, xstrdup(path));
        }
}

static void reindex(struct ui_json_doc *d)
{
        size_t i;

        free(d->visible);
        d->visible = xmalloc((d->n ? d->n : 1) * sizeof(*d->visible));
        d->n_visible = 0;
        for (i = 0; i < d->n;) {
                d->visible[d->n_visible++] = i;
                if (d->lines[i].opens && d->lines[i].folded)
                        i = d->lines[i].close + 1;
                else
                        i++;
        }
}

void ui_json_build(struct ui_json_doc *d, const cJSON *item)
{
        memset(d, 0, sizeof(*d));
        if (item)
                emit(d, item, NULL, 0, false, "");
        reindex(d);
}

void ui_json_build_text(struct ui_json_doc *d, const char *text, size_t n)
{
        size_t i = 0;

        memset(d, 0, sizeof(*d));
        while (i < n) {
                const char *nl = memchr(text + i, '\n', n - i);
                size_t end = nl ? (size_t)(nl - text) : n;
                struct buf b;

                buf_init(&b);
                buf_append(&b, text + i, end - i);
                add_line(d, &b, 0, 0, UI_JSON_PLAIN, xasprintf("#%zu", d->n));
                i = nl ? end + 1 : n;
        }
        reindex(d);
}

void ui_json_free(struct ui_json_doc *d)
{
        size_t i;

        for (i = 0; i < d->n; i++) {
                free(d->lines[i].text);
                free(d->lines[i].path);
        }
        free(d->lines);
        free(d->visible);
        memset(d, 0, sizeof(*d));
}

bool ui_json_toggle(struct ui_json_doc *d, size_t v)
{
        struct ui_json_line *l;

        if (v >= d->n_visible)
                return false;
        l = &d->lines[d->visible[v]];
        if (!l->opens)
                return false;
        l->folded = !l->folded;
        reindex(d);
        return true;
}

void ui_json_fold_all(struct ui_json_doc *d, bool fold)
{
        size_t i;

        for (i = 0; i < d->n; i++) {
                if (d->lines[i].opens)
                        d->lines[i].folded = fold && d->lines[i].depth > 0;
        }
        reindex(d);
}

void ui_json_render(const struct ui_json_doc *d, size_t v, char *out, size_t outsz)
{
        const struct ui_json_line *l;
        int ind;

        if (outsz == 0)
                return;
        out[0] = '\0';
        if (v >= d->n_visible)
                return;
        l = &d->lines[d->visible[v]];
        ind = l->depth * INDENT;
        if (l->opens && l->folded) {
                const struct ui_json_line *c = &d->lines[l->close];
                snprintf(out, outsz, "%*s%s \xe2\x80\xa6 %zu %s %s", ind, "", l->text, l->items,
                         l->items == 1 ? "item" : "items", c->text);
        } else {
                snprintf(out, outsz, "%*s%s", ind, "", l->text);
        }
}

static int cmp_path(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

struct fold {
        char *path;
        bool folded;
};

static int cmp_fold(const void *a, const void *b)
{
        return strcmp(((const struct fold *)a)->path, ((const struct fold *)b)->path);
}

void ui_json_save(const struct ui_json_doc *d, size_t cursor, size_t top, struct ui_json_view *v)
{
        size_t i, n = 0;
        struct fold *f;

        memset(v, 0, sizeof(*v));
        for (i = 0; i < d->n; i++)
                n += d->lines[i].opens;
        f = xmalloc((n ? n : 1) * sizeof(*f));
        for (i = 0, n = 0; i < d->n; i++) {
                if (!d->lines[i].opens)
                        continue;
                f[n].path = xstrdup(d->lines[i].path);
                f[n++].folded = d->lines[i].folded;
        }
        qsort(f, n, sizeof(*f), cmp_fold);
        v->paths = xmalloc((n ? n : 1) * sizeof(*v->paths));
        v->folded = xmalloc((n ? n : 1) * sizeof(*v->folded));
        for (i = 0; i < n; i++) {
                v->paths[i] = f[i].path;
                v->folded[i] = f[i].folded;
        }
        v->n = n;
        free(f);
        if (cursor < d->n_visible)
                v->cursor = xstrdup(d->lines[d->visible[cursor]].path);
        if (top < d->n_visible)
                v->top = xstrdup(d->lines[d->visible[top]].path);
}

static bool find_visible(const struct ui_json_doc *d, const char *path, size_t *at)
{
        size_t i;

        if (!path)
                return false;
        for (i = 0; i < d->n_visible; i++) {
                if (!strcmp(d->lines[d->visible[i]].path, path)) {
                        *at = i;
                        return true;
                }
        }
        return false;
}

void ui_json_restore(struct ui_json_doc *d, const struct ui_json_view *v, size_t *cursor,
                     size_t *top)
{
        size_t i;

        for (i = 0; i < d->n && v->n; i++) {
                struct ui_json_line *l = &d->lines[i];
                const char *key = l->path;
                char **hit;

                if (!l->opens)
                        continue;
                hit = bsearch(&key, v->paths, v->n, sizeof(*v->paths), cmp_path);
                if (hit)
                        l->folded = v->folded[hit - v->paths];
        }
        reindex(d);
        find_visible(d, v->cursor, cursor);
        find_visible(d, v->top, top);
}

void ui_json_view_free(struct ui_json_view *v)
{
        size_t i;

        for (i = 0; i < v->n; i++)
                free(v->paths[i]);
        free(v->paths);
        free(v->folded);
        free(v->cursor);
        free(v->top);
        memset(v, 0, sizeof(*v));
}
