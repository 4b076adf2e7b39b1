/*
 * toolmap: per-request tool-name map (see toolmap.h).
 *
 * A request has a few dozen tools at most, so the map is a flat array searched linearly; it
 * only holds the names that had to change, and valid names are answered without an entry. The
 * hash suffix is taken over the whole original name, so two long names sharing their first 55
 * characters still get different upstream names, and the same name maps the same way on every
 * turn of a conversation.
 */
#include "toolmap.h"

#include "alloc.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 64
#define PREFIX_LEN   55

struct toolmap_entry {
        char *client;
        char *upstream;
};

struct toolmap {
        struct toolmap_entry *v;
        size_t n, cap;
};

struct toolmap *toolmap_new(void)
{
        return xcalloc(1, sizeof(struct toolmap));
}

void toolmap_free(struct toolmap *m)
{
        if (m == NULL)
                return;
        for (size_t i = 0; i < m->n; i++) {
                free(m->v[i].client);
                free(m->v[i].upstream);
        }
        free(m->v);
        free(m);
}

static int valid_char(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

static int valid_name(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > NAME_MAX_LEN)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (!valid_char((unsigned char)s[i]))
                        return 0;
        return 1;
}

/* The first 55 characters with invalid ones turned into '_', then "_" and 8 hex of the hash. */
static char *make_upstream(const char *name)
{
        char hex[65];
        char *out = xmalloc(PREFIX_LEN + 1 + 8 + 1);
        size_t n = 0;

        for (const char *p = name; *p != '\0' && n < PREFIX_LEN; p++)
                out[n++] = valid_char((unsigned char)*p) ? *p : '_';
        sha256_hex(name, strlen(name), hex);
        out[n++] = '_';
        memcpy(out + n, hex, 8);
        out[n + 8] = '\0';
        return out;
}

const char *toolmap_upstream(struct toolmap *m, const char *client_name)
{
        struct toolmap_entry *e;

        if (client_name == NULL)
                client_name = "";
        if (valid_name(client_name))
                return client_name;
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].client, client_name) == 0)
                        return m->v[i].upstream;
        if (m->n == m->cap) {
                m->cap = m->cap ? m->cap * 2 : 8;
                m->v = xrealloc(m->v, m->cap * sizeof *m->v);
        }
        e = &m->v[m->n++];
        e->client = xstrdup(client_name);
        e->upstream = make_upstream(client_name);
        return e->upstream;
}

const char *toolmap_client(const struct toolmap *m, const char *upstream_name)
{
        if (m == NULL || upstream_name == NULL)
                return upstream_name;
        for (size_t i = 0; i < m->n; i++)
                if (strcmp(m->v[i].upstream, upstream_name) == 0)
                        return m->v[i].client;
        return upstream_name;
}
