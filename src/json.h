/*
 * json: the small set of cJSON helpers every module needs, plus the tolerant parser. Clients send
 * lone UTF-16 surrogate escapes ("\ud83d" with no pair) that cJSON rejects; json_parse() rewrites
 * them to U+FFFD instead of failing the whole request.
 */
#ifndef CP_JSON_H
#define CP_JSON_H

#include "buf.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Parses n bytes (not NUL-terminated). On failure returns NULL and sets *cause. */
cJSON *json_parse(const char *p, size_t n, char **cause);

/* Case-sensitive member lookups; NULL/false when absent or of another type. */
const char *json_get_str(const cJSON *obj, const char *key);
bool json_get_num(const cJSON *obj, const char *key, double *out);
/* The same as a long, saturated at +-2^53 (beyond which JSON numbers are not exact integers
 * anyway): 1e300 from a client or an upstream becomes 2^53, not an undefined conversion or a
 * count that overflows the totals it is added to; NaN becomes 0. */
bool json_get_long(const cJSON *obj, const char *key, long *out);
long json_to_long(double d);
bool json_get_bool(const cJSON *obj, const char *key, bool dflt);
cJSON *json_get(const cJSON *obj, const char *key);

/* Compact serialisation; the caller frees. */
char *json_print(const cJSON *item);
/* Appends the compact serialisation of item. */
void json_append(struct buf *b, const cJSON *item);
/* Appends the NUL-terminated s as a quoted JSON string, as json_append prints a cJSON string:
 * its bytes as they are, escaping only what JSON requires. */
void json_append_cstr(struct buf *b, const char *s);
/* Appends s as a quoted JSON string (n bytes; invalid UTF-8 becomes U+FFFD), for the journal,
 * whose lines must be valid UTF-8 whatever passed through. */
void json_append_string(struct buf *b, const char *s, size_t n);

/*
 * Finds the value of a top-level member in raw JSON text without parsing it into a tree, so an
 * edit can replace exactly those bytes and leave every other byte as it was. Sets [*start,
 * *end) to the value's bytes; -1 when the text is not an object or has no such member (keys
 * are compared as written, escapes and all).
 */
int json_member_span(const char *p, size_t n, const char *key, size_t *start, size_t *end);

/* Adds or replaces obj[key]; takes ownership of val. */
void json_set(cJSON *obj, const char *key, cJSON *val);
/* Deep-merges src into dst: objects merge recursively, anything else replaces. */
void json_merge(cJSON *dst, const cJSON *src);

#endif
