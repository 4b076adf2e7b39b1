/*
 * usage: per-model request and token totals (see usage.h). A handful of models at most, so a
 * flat array searched linearly is both the simplest and the fastest structure.
 */
#include "usage.h"

#include "alloc.h"
#include "json.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct usage_row {
        char *model_id;
        long requests;
        long errors;
        struct usage sum;
};

struct usage_totals {
        struct usage_row *rows;
        size_t n;
};

/* A sum that stops at LONG_MAX instead of overflowing (counts come from upstreams). */
static long add_capped(long a, long b)
{
        long r;

        return __builtin_add_overflow(a, b, &r) ? (b > 0 ? LONG_MAX : LONG_MIN) : r;
}

void usage_add(struct usage *sum, const struct usage *u)
{
        sum->input = add_capped(sum->input, u->input);
        sum->output = add_capped(sum->output, u->output);
        sum->cache_read = add_capped(sum->cache_read, u->cache_read);
        sum->cache_write = add_capped(sum->cache_write, u->cache_write);
}

struct usage_totals *usage_totals_new(void)
{
        return xcalloc(1, sizeof(struct usage_totals));
}

void usage_totals_free(struct usage_totals *t)
{
        if (t == NULL)
                return;
        for (size_t i = 0; i < t->n; i++)
                free(t->rows[i].model_id);
        free(t->rows);
        free(t);
}

void usage_totals_add(struct usage_totals *t, const char *model_id, const struct usage *u,
                      bool failed)
{
        struct usage_row *row = NULL;

        for (size_t i = 0; i < t->n && row == NULL; i++)
                if (strcmp(t->rows[i].model_id, model_id) == 0)
                        row = &t->rows[i];
        if (row == NULL) {
                t->rows = xrealloc(t->rows, (t->n + 1) * sizeof *t->rows);
                row = &t->rows[t->n++];
                memset(row, 0, sizeof *row);
                row->model_id = xstrdup(model_id);
        }
        row->requests++;
        if (failed)
                row->errors++;
        if (u != NULL)
                usage_add(&row->sum, u);
}

static void row_json(struct buf *out, const char *name, long requests, long errors,
                     const struct usage *u)
{
        json_append_string(out, name, strlen(name));
        buf_printf(out,
                   ":{\"requests\":%ld,\"errors\":%ld,\"input_tokens\":%ld,\"output_tokens\":%ld,"
                   "\"cache_read_input_tokens\":%ld,\"cache_creation_input_tokens\":%ld}",
                   requests, errors, u->input, u->output, u->cache_read, u->cache_write);
}

void usage_totals_json(const struct usage_totals *t, const char *label, struct buf *out)
{
        struct usage all = {0};
        long requests = 0;
        long errors = 0;

        buf_printf(out, "{\"%s\":{", label);
        for (size_t i = 0; i < t->n; i++) {
                const struct usage_row *r = &t->rows[i];
                if (i > 0)
                        buf_putc(out, ',');
                row_json(out, r->model_id, r->requests, r->errors, &r->sum);
                requests += r->requests;
                errors += r->errors;
                usage_add(&all, &r->sum);
        }
        buf_puts(out, "},");
        row_json(out, "total", requests, errors, &all);
        buf_putc(out, '}');
}
