/*
 * ids: message and tool-use identifiers. Random ids come from a caller-held state so translators
 * stay pure and tests deterministic; upstream tool ids are derived deterministically so the same
 * Anthropic id maps to the same upstream id on every turn.
 */
#ifndef CP_IDS_H
#define CP_IDS_H

#include <stddef.h>
#include <stdint.h>

enum ids_style {
        IDS_STYLE_DEFAULT, /* [A-Za-z0-9_-], at most 40 characters */
        IDS_STYLE_MISTRAL, /* exactly 9 alphanumerics */
};

/* A seed from the operating system's random source. */
uint64_t ids_seed(void);
/* The next value of the generator behind ids_random (a seed for another id state). */
uint64_t ids_next(uint64_t *state);
/* prefix + 24 base62 characters ("msg_…", "toolu_…", "req_…"); advances *state. */
void ids_random(char *out, size_t outsz, const char *prefix, uint64_t *state);
/* The id to send upstream for an id found in Anthropic history. */
void ids_upstream_tool(const char *id, enum ids_style style, char *out, size_t outsz);
/*
 * An id an Anthropic client accepts (^[a-zA-Z0-9_-]+$) for one an upstream produced, such as
 * Kimi's "functions.Bash:0": invalid characters become '_'; an empty id gets a random one.
 */
void ids_client_tool(const char *id, char *out, size_t outsz, uint64_t *state);

#endif
