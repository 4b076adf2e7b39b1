/*
 * ui_stream: a recorded stream read back (see ui_stream.h).
 */
#include "ui_stream.h"

#include "json.h"

#include <string.h>

void ui_stream_gather(const struct replay_request *r, int kind, struct buf *out)
{
        for (size_t i = 0; i < r->n_records; i++) {
                if (r->records[i].kind == kind)
                        replay_record_data(r, &r->records[i], out);
        }
}

void ui_stream_each_event(const char *sse,
                          void (*fn)(void *arg, const char *type, int index, const cJSON *ev),
                          void *arg)
{
        const char *p = sse;

        while (p != NULL && (p = strstr(p, "data: ")) != NULL) {
                const char *end = strchr(p, '\n');
                size_t len = end != NULL ? (size_t)(end - p - 6) : strlen(p + 6);
                cJSON *ev = json_parse(p + 6, len, NULL);
                double idx = -1;

                p = end != NULL ? end + 1 : p + 6 + len;
                if (ev == NULL)
                        continue;
                json_get_num(ev, "index", &idx);
                fn(arg, json_get_str(ev, "type"), (int)idx, ev);
                cJSON_Delete(ev);
        }
}
