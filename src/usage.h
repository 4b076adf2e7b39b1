/*
 * usage: token counts of one answer, and the running totals per model that /v1/stats serves.
 * Counts follow Anthropic's meaning: input excludes cached tokens.
 */
#ifndef CP_USAGE_H
#define CP_USAGE_H

#include "buf.h"

#include <stdbool.h>

struct usage {
        long input;
        long output;
        long cache_read;
        long cache_write;
};

struct usage_totals;

/* Adds u to sum, each count capped at LONG_MAX. */
void usage_add(struct usage *sum, const struct usage *u);

struct usage_totals *usage_totals_new(void);
void usage_totals_free(struct usage_totals *t);
/* Adds one finished request: its model id, usage and whether it failed. */
void usage_totals_add(struct usage_totals *t, const char *model_id, const struct usage *u,
                      bool failed);
/* Appends the totals as a JSON object {"<label>":{id:{requests,errors,input_tokens,...}},
 * "total":{...}}. */
void usage_totals_json(const struct usage_totals *t, const char *label, struct buf *out);

#endif
