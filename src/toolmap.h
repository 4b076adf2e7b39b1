/*
 * toolmap: the per-request map between the tool names a client uses and the names an OpenAI
 * upstream accepts (^[a-zA-Z0-9_-]{1,64}$). A name that does not fit becomes its first 55 valid
 * characters, "_" and 8 hex digits of its hash; the answer's tool calls are mapped back.
 */
#ifndef CP_TOOLMAP_H
#define CP_TOOLMAP_H

struct toolmap;

struct toolmap *toolmap_new(void);
void toolmap_free(struct toolmap *m);
/* The name to send upstream for a client tool name (recorded when it had to change). */
const char *toolmap_upstream(struct toolmap *m, const char *client_name);
/* The client's name for a name the upstream used; the name itself when it was never mapped. */
const char *toolmap_client(const struct toolmap *m, const char *upstream_name);

#endif
