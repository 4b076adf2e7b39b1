/*
 * sse: the Server-Sent Events parser for upstream streams and the writer for the frames the proxy
 * sends (see sse.h).
 *
 * Upstreams are loose about the format (CRLF, bare CR, no space after "data:", keep-alive
 * comments, a last event with no blank line before EOF), so the parser follows the WHATWG event
 * stream rules rather than the common "data: " prefix match. Bytes may arrive in any split: a
 * line is only interpreted once its terminator has been seen, and complete lines are taken
 * straight from the caller's bytes without copying, so only a line cut by a read boundary is
 * buffered.
 */
#include "sse.h"

#include <string.h>

void sse_parser_init(struct sse_parser *p, sse_event_fn fn, void *arg)
{
        buf_init(&p->line);
        buf_init(&p->data);
        p->event[0] = '\0';
        p->has_data = 0;
        p->pending_cr = 0;
        p->fn = fn;
        p->arg = arg;
}

void sse_parser_fini(struct sse_parser *p)
{
        buf_fini(&p->line);
        buf_fini(&p->data);
}

static void dispatch(struct sse_parser *p)
{
        if (p->has_data)
                p->fn(p->arg, p->event, buf_str(&p->data), p->data.len);
        buf_clear(&p->data);
        p->event[0] = '\0';
        p->has_data = 0;
}

static void process_line(struct sse_parser *p, const char *s, size_t n)
{
        const char *colon;
        const char *value;
        size_t flen, vlen;

        /*
         * A byte order mark is only legal at the very start of a stream; tolerating it at the
         * start of any line costs nothing and spares the parser a "first line" state.
         */
        if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3;
                n -= 3;
        }
        if (n == 0) {
                dispatch(p);
                return;
        }
        if (s[0] == ':')
                return;
        colon = memchr(s, ':', n);
        if (colon != NULL) {
                flen = (size_t)(colon - s);
                value = colon + 1;
                vlen = n - flen - 1;
                if (vlen > 0 && value[0] == ' ') {
                        value++;
                        vlen--;
                }
        } else {
                flen = n;
                value = s + n;
                vlen = 0;
        }
        if (flen == 4 && memcmp(s, "data", 4) == 0) {
                if (p->has_data)
                        buf_putc(&p->data, '\n');
                buf_append(&p->data, value, vlen);
                p->has_data = 1;
        } else if (flen == 5 && memcmp(s, "event", 5) == 0) {
                if (vlen >= sizeof p->event)
                        vlen = sizeof p->event - 1;
                memcpy(p->event, value, vlen);
                p->event[vlen] = '\0';
        }
        /* id, retry and unknown fields mean nothing to a proxy that never reconnects. */
}

/* The first \r or \n in s[0..n), or NULL. */
static const char *find_eol(const char *s, size_t n)
{
        const char *nl = memchr(s, '\n', n);
        const char *cr = memchr(s, '\r', nl != NULL ? (size_t)(nl - s) : n);

        return cr != NULL ? cr : nl;
}

void sse_parser_feed(struct sse_parser *p, const char *bytes, size_t n)
{
        const char *s = bytes;
        const char *end = bytes + n;

        while (s < end) {
                const char *eol;

                if (p->pending_cr) {
                        p->pending_cr = 0;
                        if (*s == '\n') {
                                s++;
                                continue;
                        }
                }
                eol = find_eol(s, (size_t)(end - s));
                if (eol == NULL) {
                        buf_append(&p->line, s, (size_t)(end - s));
                        return;
                }
                if (p->line.len > 0) {
                        buf_append(&p->line, s, (size_t)(eol - s));
                        process_line(p, p->line.data, p->line.len);
                        buf_clear(&p->line);
                } else {
                        process_line(p, s, (size_t)(eol - s));
                }
                if (*eol == '\r')
                        p->pending_cr = 1;
                s = eol + 1;
        }
}

void sse_parser_end(struct sse_parser *p)
{
        if (p->line.len > 0) {
                process_line(p, p->line.data, p->line.len);
                buf_clear(&p->line);
        }
        p->pending_cr = 0;
        dispatch(p);
}

void sse_write(struct buf *out, const char *type, const char *json, size_t len)
{
        size_t tlen = strlen(type);

        buf_reserve(out, tlen + len + 16);
        buf_append(out, "event: ", 7);
        buf_append(out, type, tlen);
        buf_append(out, "\ndata: ", 7);
        buf_append(out, json, len);
        buf_append(out, "\n\n", 2);
}
