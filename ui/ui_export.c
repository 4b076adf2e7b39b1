/*
 * ui_export: writes the selected request to a file in the current directory, as a curl command
 * that sends it to the proxy again (keys stay redacted as recorded: set $ANTHROPIC_API_KEY) or
 * as its JSON body alone.
 */
#include "ui_screen.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Single-quotes s for a POSIX shell. */
static void shell_quote(struct buf *b, const char *s)
{
        buf_putc(b, '\'');
        for (; *s; s++) {
                if (*s == '\'')
                        buf_puts(b, "'\\''");
                else
                        buf_putc(b, *s);
        }
        buf_putc(b, '\'');
}

int ui_export(const struct replay_request *r, const char *listen, bool body_only, char *msg,
              size_t msgsz)
{
        const struct replay_record *rec = replay_request_find(r, RECORD_CLIENT_REQUEST);
        cJSON *o = rec ? replay_record_parse(r, rec) : NULL;
        const cJSON *body = json_get(o, "body"), *h, *headers = json_get(o, "headers");
        const char *path = json_get_str(o, "path");
        char name[128];
        struct buf b;
        char *text;
        FILE *f;

        if (!o) {
                snprintf(msg, msgsz, "%s: no client request recorded", r->id);
                return -1;
        }
        text = body ? cJSON_Print(body)
                    : xstrdup(json_get_str(o, "body_text") ? json_get_str(o, "body_text") : "");
        buf_init(&b);
        if (body_only) {
                snprintf(name, sizeof(name), "%s.json", r->id);
                buf_puts(&b, text);
                buf_putc(&b, '\n');
        } else {
                char *url = xasprintf("http://%s%s", listen ? listen : "127.0.0.1:8082",
                                      path ? path : "/v1/messages");
                snprintf(name, sizeof(name), "%s.sh", r->id);
                buf_puts(&b, "#!/bin/sh\n# ");
                buf_puts(&b, r->id);
                buf_puts(&b, " as recorded; keys were redacted: the key comes from "
                             "$ANTHROPIC_API_KEY\ncurl -sS ");
                shell_quote(&b, url);
                free(url);
                buf_puts(&b, " \\\n  -H \"x-api-key: $ANTHROPIC_API_KEY\"");
                cJSON_ArrayForEach(h, headers)
                {
                        char *line;
                        if (!cJSON_IsString(h) || !strcasecmp(h->string, "x-api-key") ||
                            !strcasecmp(h->string, "authorization") ||
                            !strcasecmp(h->string, "content-length") ||
                            !strcasecmp(h->string, "host"))
                                continue;
                        line = xasprintf("%s: %s", h->string, h->valuestring);
                        buf_puts(&b, " \\\n  -H ");
                        shell_quote(&b, line);
                        free(line);
                }
                buf_puts(&b, " \\\n  --data-binary ");
                shell_quote(&b, text);
                buf_putc(&b, '\n');
        }
        free(text);
        cJSON_Delete(o);
        f = fopen(name, "w");
        if (!f || fwrite(b.data, 1, b.len, f) != b.len) {
                snprintf(msg, msgsz, "cannot write %s: %s", name, strerror(errno));
                if (f)
                        fclose(f);
                buf_fini(&b);
                return -1;
        }
        fclose(f);
        buf_fini(&b);
        snprintf(msg, msgsz, "wrote %s", name);
        return 0;
}
