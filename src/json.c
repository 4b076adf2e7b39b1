/*
 * json: cJSON helpers and the tolerant parser (see json.h).
 */
#include "json.h"

#include "alloc.h"

#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

/* Reads a \uXXXX escape at p (p points at the backslash); -1 if it is not one. */
static long read_u_escape(const char *p, const char *end)
{
        long v = 0;

        if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                return -1;
        for (int i = 2; i < 6; i++) {
                int h = hexval((unsigned char)p[i]);
                if (h < 0)
                        return -1;
                v = v * 16 + h;
        }
        return v;
}

/*
 * Returns a copy of the text with every unpaired surrogate escape replaced by \ufffd, or NULL
 * when there is none (the common case: one scan, no copy). Only escapes inside strings matter,
 * and a backslash outside a string is a syntax error anyway, so a flat scan is enough.
 */
static char *fix_lone_surrogates(const char *p, size_t n)
{
        const char *end = p + n;
        struct buf out;
        const char *copied = p;
        bool changed = false;

        buf_init(&out);
        for (const char *q = p; q < end; q++) {
                long hi, lo;

                if (*q != '\\')
                        continue;
                if (q + 1 < end && q[1] != 'u') {
                        q++; /* skip the escaped character (it may be a backslash) */
                        continue;
                }
                hi = read_u_escape(q, end);
                if (hi < 0xD800 || hi > 0xDFFF)
                        continue;
                lo = read_u_escape(q + 6, end);
                if (hi <= 0xDBFF && lo >= 0xDC00 && lo <= 0xDFFF) {
                        q += 11; /* a proper pair */
                        continue;
                }
                buf_append(&out, copied, (size_t)(q - copied));
                buf_puts(&out, "\\ufffd");
                copied = q + 6;
                q += 5;
                changed = true;
        }
        if (!changed) {
                buf_fini(&out);
                return NULL;
        }
        buf_append(&out, copied, (size_t)(end - copied));
        return buf_detach(&out);
}

cJSON *json_parse(const char *p, size_t n, char **cause)
{
        char *fixed = fix_lone_surrogates(p, n);
        const char *text = fixed != NULL ? fixed : p;
        const char *err = NULL;
        cJSON *root;

        root = cJSON_ParseWithLengthOpts(text, fixed != NULL ? strlen(fixed) : n, &err, false);
        if (root == NULL && cause != NULL) {
                size_t off = err != NULL && err >= text ? (size_t)(err - text) : 0;
                if (n == 0)
                        *cause = xstrdup("the body is empty; expected a JSON object");
                else
                        *cause = xasprintf("the body is not valid JSON (error near byte %zu)", off);
        }
        free(fixed);
        return root;
}

#define JSON_MAX_EXACT 9007199254740992.0 /* 2^53 */

long json_to_long(double d)
{
        if (isnan(d))
                return 0;
        if (d >= JSON_MAX_EXACT)
                return (long)JSON_MAX_EXACT;
        if (d <= -JSON_MAX_EXACT)
                return -(long)JSON_MAX_EXACT;
        return (long)d;
}

bool json_get_long(const cJSON *obj, const char *key, long *out)
{
        double d;

        if (!json_get_num(obj, key, &d))
                return false;
        *out = json_to_long(d);
        return true;
}

cJSON *json_get(const cJSON *obj, const char *key)
{
        if (obj == NULL || !cJSON_IsObject(obj))
                return NULL;
        return cJSON_GetObjectItemCaseSensitive(obj, key);
}

const char *json_get_str(const cJSON *obj, const char *key)
{
        const cJSON *v = json_get(obj, key);
        return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool json_get_num(const cJSON *obj, const char *key, double *out)
{
        const cJSON *v = json_get(obj, key);
        if (!cJSON_IsNumber(v))
                return false;
        *out = v->valuedouble;
        return true;
}

bool json_get_bool(const cJSON *obj, const char *key, bool dflt)
{
        const cJSON *v = json_get(obj, key);
        if (cJSON_IsBool(v))
                return cJSON_IsTrue(v);
        return dflt;
}

/*
 * The compact printer. It writes exactly what cJSON_PrintUnformatted writes (the differential
 * tests hold it to that), but straight into a buf and without cJSON's number round trip:
 * cJSON prints every number with sprintf("%1.15g") and reads it back with sscanf to check it,
 * which made printing most of a small request's JSON cost. Integers, nearly every number in
 * this traffic, are written directly; any other number is left to cJSON itself.
 */
void json_append_cstr(struct buf *b, const char *s)
{
        /* The two-character escapes cJSON uses; any other byte below 32 becomes \u00XX. */
        static const char short_escape[32 + 1] = {
            ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't'};
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
        const unsigned char *run = p;

        buf_putc(b, '"');
        for (;; p++) {
                unsigned char c = *p;

                if (c > 31 && c != '"' && c != '\\')
                        continue;
                buf_append(b, run, (size_t)(p - run));
                run = p + 1;
                if (c == '\0')
                        break;
                if (c == '"' || c == '\\') {
                        char e[2] = {'\\', (char)c};
                        buf_append(b, e, sizeof e);
                } else if (short_escape[c] != '\0') {
                        char e[2] = {'\\', short_escape[c]};
                        buf_append(b, e, sizeof e);
                } else {
                        char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                        buf_append(b, u, sizeof u);
                }
        }
        buf_putc(b, '"');
}

static bool print_number(struct buf *b, const cJSON *item)
{
        double d = item->valuedouble;
        char *s;

        /* Integral and below 1e15: what "%1.15g" (and cJSON's "%d" for int-sized values)
         * prints is the plain integer. Negative zero is not, so it takes the general path. */
        if (d > -1e15 && d < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
                buf_put_i64(b, (long long)d);
                return true;
        }
        s = cJSON_PrintUnformatted(item);
        if (s == NULL)
                return false;
        buf_puts(b, s);
        free(s);
        return true;
}

static bool print_value(struct buf *b, const cJSON *item)
{
        const cJSON *it;

        switch (item->type & 0xFF) {
        case cJSON_NULL:
                buf_put_lit(b, "null");
                return true;
        case cJSON_False:
                buf_put_lit(b, "false");
                return true;
        case cJSON_True:
                buf_put_lit(b, "true");
                return true;
        case cJSON_Number:
                return print_number(b, item);
        case cJSON_String:
                json_append_cstr(b, item->valuestring);
                return true;
        case cJSON_Raw:
                if (item->valuestring == NULL)
                        return false;
                buf_puts(b, item->valuestring);
                return true;
        case cJSON_Array:
                buf_putc(b, '[');
                for (it = item->child; it != NULL; it = it->next) {
                        if (!print_value(b, it))
                                return false;
                        if (it->next != NULL)
                                buf_putc(b, ',');
                }
                buf_putc(b, ']');
                return true;
        case cJSON_Object:
                buf_putc(b, '{');
                for (it = item->child; it != NULL; it = it->next) {
                        json_append_cstr(b, it->string);
                        buf_putc(b, ':');
                        if (!print_value(b, it))
                                return false;
                        if (it->next != NULL)
                                buf_putc(b, ',');
                }
                buf_putc(b, '}');
                return true;
        default:
                return false;
        }
}

void json_append(struct buf *b, const cJSON *item)
{
        size_t start = b->len;

        if (item == NULL || !print_value(b, item)) {
                /* cJSON prints nothing at all for a tree it cannot print. */
                b->len = start;
                buf_put_lit(b, "null");
        }
}

char *json_print(const cJSON *item)
{
        struct buf b;

        buf_init(&b);
        json_append(&b, item);
        return buf_detach(&b);
}

/* Length of the valid UTF-8 sequence at p, or 0 if the bytes there are not one. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
        size_t len;
        unsigned int cp;

        if (p[0] < 0x80)
                return 1;
        if ((p[0] & 0xE0) == 0xC0) {
                len = 2;
                cp = p[0] & 0x1F;
        } else if ((p[0] & 0xF0) == 0xE0) {
                len = 3;
                cp = p[0] & 0x0F;
        } else if ((p[0] & 0xF8) == 0xF0) {
                len = 4;
                cp = p[0] & 0x07;
        } else {
                return 0;
        }
        if (len > avail)
                return 0;
        for (size_t i = 1; i < len; i++) {
                if ((p[i] & 0xC0) != 0x80)
                        return 0;
                cp = (cp << 6) | (p[i] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return 0;
        return len;
}

/* 1 for the bytes a JSON string holds as they are: printable ASCII but the quote and the
 * backslash. A table lookup is one load per byte where the comparisons were four. */
static const unsigned char json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Input bytes escaped per round: the output is written in place, into room for the worst case
 * of a round (6 bytes per byte, plus a UTF-8 sequence running past its end), so a large string
 * never reserves six times its size at once. */
#define ESCAPE_ROUND 4096

void json_append_string(struct buf *b, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        const unsigned char *p = (const unsigned char *)s;
        size_t i = 0;

        /* The journal escapes every upstream chunk and stream event through here, so bytes are
         * written straight into the buffer rather than through an append per run. */
        buf_reserve(b, n + n / 8 + 2);
        buf_putc(b, '"');
        while (i < n) {
                size_t end = n - i > ESCAPE_ROUND ? i + ESCAPE_ROUND : n;
                char *o;

                buf_reserve(b, (end - i) * 6 + 3);
                o = b->data + b->len;
                while (i < end) {
                        unsigned char c = p[i];
                        size_t len;

                        if (json_plain[c]) {
                                *o++ = (char)c;
                                i++;
                                continue;
                        }
                        i++;
                        switch (c) {
                        case '"':
                                *o++ = '\\';
                                *o++ = '"';
                                continue;
                        case '\\':
                                *o++ = '\\';
                                *o++ = '\\';
                                continue;
                        case '\n':
                                *o++ = '\\';
                                *o++ = 'n';
                                continue;
                        case '\r':
                                *o++ = '\\';
                                *o++ = 'r';
                                continue;
                        case '\t':
                                *o++ = '\\';
                                *o++ = 't';
                                continue;
                        default:
                                break;
                        }
                        if (c < 0x20) {
                                memcpy(o, "\\u00", 4);
                                o[4] = hex[c >> 4];
                                o[5] = hex[c & 15];
                                o += 6;
                                continue;
                        }
                        len = utf8_seq_len(p + i - 1, n - (i - 1));
                        if (len == 0) {
                                memcpy(o, "\xEF\xBF\xBD", 3);
                                o += 3;
                                continue;
                        }
                        memcpy(o, p + i - 1, len);
                        o += len;
                        i += len - 1;
                }
                b->len = (size_t)(o - b->data);
        }
        buf_putc(b, '"');
}

static size_t skip_ws(const char *p, size_t n, size_t i)
{
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
                i++;
        return i;
}

/* The index just past the string starting at p[i] (a quote), or n when it does not end. */
static size_t skip_string(const char *p, size_t n, size_t i)
{
        for (i++; i < n; i++) {
                if (p[i] == '\\')
                        i++;
                else if (p[i] == '"')
                        return i + 1;
        }
        return n;
}

/* The index just past the value starting at p[i]; nested containers are skipped whole. */
static size_t skip_value(const char *p, size_t n, size_t i)
{
        int depth = 0;

        if (i < n && p[i] == '"')
                return skip_string(p, n, i);
        if (i < n && p[i] != '{' && p[i] != '[') {
                while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' &&
                       p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
                        i++;
                return i;
        }
        while (i < n) {
                if (p[i] == '"') {
                        i = skip_string(p, n, i);
                        continue;
                }
                if (p[i] == '{' || p[i] == '[')
                        depth++;
                else if (p[i] == '}' || p[i] == ']')
                        depth--;
                i++;
                if (depth == 0)
                        return i;
        }
        return n;
}

int json_member_span(const char *p, size_t n, const char *key, size_t *start, size_t *end)
{
        size_t klen = strlen(key);
        size_t i = skip_ws(p, n, 0);

        if (i >= n || p[i] != '{')
                return -1;
        i++;
        while (1) {
                size_t k0;
                size_t k1;

                i = skip_ws(p, n, i);
                if (i >= n || p[i] != '"')
                        return -1;
                k0 = i + 1;
                i = skip_string(p, n, i);
                k1 = i - 1;
                i = skip_ws(p, n, i);
                if (i >= n || p[i] != ':')
                        return -1;
                i = skip_ws(p, n, i + 1);
                if (k1 - k0 == klen && memcmp(p + k0, key, klen) == 0) {
                        *start = i;
                        *end = skip_value(p, n, i);
                        return *end > *start ? 0 : -1;
                }
                i = skip_ws(p, n, skip_value(p, n, i));
                if (i >= n || p[i] != ',')
                        return -1;
                i++;
        }
}

void json_set(cJSON *obj, const char *key, cJSON *val)
{
        if (cJSON_GetObjectItemCaseSensitive(obj, key) != NULL)
                cJSON_ReplaceItemInObjectCaseSensitive(obj, key, val);
        else
                cJSON_AddItemToObject(obj, key, val);
}

void json_merge(cJSON *dst, const cJSON *src)
{
        const cJSON *it;

        if (!cJSON_IsObject(dst) || !cJSON_IsObject(src))
                return;
        cJSON_ArrayForEach(it, src)
        {
                cJSON *cur = cJSON_GetObjectItemCaseSensitive(dst, it->string);
                if (cJSON_IsObject(cur) && cJSON_IsObject(it))
                        json_merge(cur, it);
                else
                        json_set(dst, it->string, cJSON_Duplicate(it, true));
        }
}
