/*
 * jscan: a strict JSON reader that builds nothing. It validates a value in place and then walks
 * its members and elements as spans of the original text, so a hot path (one upstream stream
 * chunk, thousands per answer) can pick out the two fields it needs without the allocations of
 * a cJSON tree.
 *
 * It accepts only RFC 8259 JSON, a subset of what json_parse accepts (cJSON itself refuses lone
 * UTF-16 surrogate escapes, which json_parse repairs first). Callers use it as a fast path and
 * fall back to json_parse whenever jscan refuses the text or meets a case it does not decode (a
 * lone surrogate, an escaped NUL): both paths then see the same values.
 */
#ifndef CP_JSCAN_H
#define CP_JSCAN_H

#include "buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum jscan_type {
        JSCAN_NONE, /* absent */
        JSCAN_OBJECT,
        JSCAN_ARRAY,
        JSCAN_STRING,
        JSCAN_NUMBER,
        JSCAN_TRUE,
        JSCAN_FALSE,
        JSCAN_NULL,
};

/* One value: its type and its bytes in the text (strings with their quotes). */
struct jscan_value {
        enum jscan_type type;
        const char *p;
        size_t n;
};

/*
 * Reads the whole text as one JSON value (whitespace around it allowed, nothing else). False
 * when it is not valid JSON or nests deeper than 64.
 */
bool jscan_parse(const char *p, size_t n, struct jscan_value *out);

/*
 * The next member of an object read by jscan_parse (or found inside one): *pos starts at 0 and
 * is advanced; false after the last member. key is the member name's span, quotes included.
 */
bool jscan_member(const struct jscan_value *obj, size_t *pos, struct jscan_value *key,
                  struct jscan_value *val);
/* The same for the elements of an array. */
bool jscan_element(const struct jscan_value *arr, size_t *pos, struct jscan_value *val);

/* True when v is a string whose raw text (no escapes involved) equals s. Inline, so that the
 * length of a literal s is known at compile time. */
static inline bool jscan_is(const struct jscan_value *v, const char *s)
{
        size_t len = strlen(s);

        return v->type == JSCAN_STRING && v->n == len + 2 && memcmp(v->p + 1, s, len) == 0;
}

/*
 * Appends the decoded text of a string value to out. False (nothing appended) for what a
 * caller must leave to json_parse: a lone UTF-16 surrogate or an escaped NUL.
 */
bool jscan_string(const struct jscan_value *v, struct buf *out);

/* A plain integer of at most 15 digits (no fraction or exponent) into *out; false otherwise,
 * so that a caller can leave anything else to cJSON's reading of numbers. */
bool jscan_long(const struct jscan_value *v, long *out);

/* The helpers of a fast path that picks members out of an object. */

/* True when v's text holds an escape: a member name a fast path leaves to cJSON, which would
 * decode it before comparing. */
static inline bool jscan_escaped(const struct jscan_value *v)
{
        return memchr(v->p, '\\', v->n) != NULL;
}

/* Keeps v in *slot; false when the slot is taken: a duplicate member, where cJSON's lookup
 * would pick the first and a fast path should not guess. */
static inline bool jscan_take(struct jscan_value *slot, const struct jscan_value *v)
{
        if (slot->type != JSCAN_NONE)
                return false;
        *slot = *v;
        return true;
}

static inline bool jscan_absent_or_null(const struct jscan_value *v)
{
        return v->type == JSCAN_NONE || v->type == JSCAN_NULL;
}

/* Appends the decoded string to out when v is a string, and nothing otherwise; false only when
 * v is a string jscan_string cannot decode. */
static inline bool jscan_decode(const struct jscan_value *v, struct buf *out)
{
        return v->type != JSCAN_STRING || jscan_string(v, out);
}

#endif
