/*
 * alloc: allocation that cannot fail. Out of memory is the one error the proxy does not try to
 * survive: every x* function aborts with a message instead of returning NULL, so callers never
 * carry an error path for it.
 */
#ifndef CP_ALLOC_H
#define CP_ALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Routes cJSON's allocations through the functions above. Call once at start. */
void alloc_init_cjson(void);

#endif
