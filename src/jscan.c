/*
 * jscan: strict in-place JSON reading (see jscan.h).
 *
 * jscan_parse validates everything once, with a depth limit; the walkers after it trust that
 * and skip values by counting brackets outside strings, which is all a validated text needs.
 */
#include "jscan.h"

#include <stdbool.h>
#include <string.h>

#define MAX_DEPTH 64

static size_t skip_ws(const char *p, size_t n, size_t i)
{
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
                i++;
        return i;
}

static int hex(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Validation: each returns the index past the value at p[i], or 0 when it is not valid. */

/* Bytes that end a run of plain string text: the quote, the backslash and control bytes. */
static const bool special[256] = {
    [0 ... 0x1F] = true,
    ['"'] = true,
    ['\\'] = true,
};

static size_t check_string(const char *p, size_t n, size_t i)
{
        for (i++; i < n; i++) {
                while (i < n && !special[(unsigned char)p[i]])
                        i++;
                if (i >= n || (unsigned char)p[i] < 0x20)
                        return 0;
                if (p[i] == '"')
                        return i + 1;
                if (++i >= n)
                        return 0;
                if (p[i] == 'u') {
                        if (n - i <= 4 || hex(p[i + 1]) < 0 || hex(p[i + 2]) < 0 ||
                            hex(p[i + 3]) < 0 || hex(p[i + 4]) < 0)
                                return 0;
                        i += 4;
                } else if (p[i] == '\0' || strchr("\"\\/bfnrt", p[i]) == NULL) {
                        return 0;
                }
        }
        return 0;
}

static size_t digits(const char *p, size_t n, size_t i)
{
        while (i < n && p[i] >= '0' && p[i] <= '9')
                i++;
        return i;
}

static size_t check_number(const char *p, size_t n, size_t i)
{
        size_t j;

        if (i < n && p[i] == '-')
                i++;
        if (i < n && p[i] == '0')
                i++;
        else if ((j = digits(p, n, i)) > i)
                i = j;
        else
                return 0;
        if (i < n && p[i] == '.') {
                if ((j = digits(p, n, i + 1)) == i + 1)
                        return 0;
                i = j;
        }
        if (i < n && (p[i] == 'e' || p[i] == 'E')) {
                i++;
                if (i < n && (p[i] == '+' || p[i] == '-'))
                        i++;
                if ((j = digits(p, n, i)) == i)
                        return 0;
                i = j;
        }
        return i;
}

static size_t check_word(const char *p, size_t n, size_t i, const char *w)
{
        size_t len = strlen(w);

        return n - i >= len && memcmp(p + i, w, len) == 0 ? i + len : 0;
}

static size_t check_value(const char *p, size_t n, size_t i, int depth);

/* An object or array at p[i]: members "key": value, or values, separated by commas. */
static size_t check_container(const char *p, size_t n, size_t i, int depth)
{
        char close = p[i] == '{' ? '}' : ']';

        if (depth >= MAX_DEPTH)
                return 0;
        i = skip_ws(p, n, i + 1);
        if (i < n && p[i] == close)
                return i + 1;
        for (;;) {
                if (close == '}') {
                        if (i >= n || p[i] != '"' || (i = check_string(p, n, i)) == 0)
                                return 0;
                        i = skip_ws(p, n, i);
                        if (i >= n || p[i] != ':')
                                return 0;
                        i = skip_ws(p, n, i + 1);
                }
                if ((i = check_value(p, n, i, depth + 1)) == 0)
                        return 0;
                i = skip_ws(p, n, i);
                if (i < n && p[i] == close)
                        return i + 1;
                if (i >= n || p[i] != ',')
                        return 0;
                i = skip_ws(p, n, i + 1);
        }
}

static size_t check_value(const char *p, size_t n, size_t i, int depth)
{
        if (i >= n)
                return 0;
        switch (p[i]) {
        case '{':
        case '[':
                return check_container(p, n, i, depth);
        case '"':
                return check_string(p, n, i);
        case 't':
                return check_word(p, n, i, "true");
        case 'f':
                return check_word(p, n, i, "false");
        case 'n':
                return check_word(p, n, i, "null");
        default:
                return check_number(p, n, i);
        }
}

static enum jscan_type type_of(char c)
{
        switch (c) {
        case '{':
                return JSCAN_OBJECT;
        case '[':
                return JSCAN_ARRAY;
        case '"':
                return JSCAN_STRING;
        case 't':
                return JSCAN_TRUE;
        case 'f':
                return JSCAN_FALSE;
        case 'n':
                return JSCAN_NULL;
        default:
                return JSCAN_NUMBER;
        }
}

bool jscan_parse(const char *p, size_t n, struct jscan_value *out)
{
        size_t i = skip_ws(p, n, 0);
        size_t end = check_value(p, n, i, 0);

        if (end == 0 || skip_ws(p, n, end) != n)
                return false;
        out->type = type_of(p[i]);
        out->p = p + i;
        out->n = end - i;
        return true;
}

/* Walking a validated text. */

static size_t skip_string(const char *p, size_t i)
{
        i++;
        for (;;) {
                while (!special[(unsigned char)p[i]])
                        i++;
                if (p[i] == '"')
                        return i + 1;
                i += 2; /* a backslash and what it escapes */
        }
}

/* What skip_value looks for: inside a container, strings and brackets; after a scalar, the bytes
 * that can follow one. */
enum { PLAIN, QUOTE, OPEN, CLOSE };
static const unsigned char in_container[256] = {
    ['"'] = QUOTE, ['{'] = OPEN, ['['] = OPEN, ['}'] = CLOSE, [']'] = CLOSE};
static const bool ends_scalar[256] = {[','] = true,  ['}'] = true,  [']'] = true, [' '] = true,
                                      ['\t'] = true, ['\n'] = true, ['\r'] = true};

static size_t skip_value(const char *p, size_t n, size_t i, struct jscan_value *v)
{
        size_t start = i;
        int depth = 0;

        v->type = type_of(p[i]);
        if (v->type == JSCAN_STRING) {
                i = skip_string(p, i);
        } else if (v->type != JSCAN_OBJECT && v->type != JSCAN_ARRAY) {
                while (i < n && !ends_scalar[(unsigned char)p[i]])
                        i++;
        } else {
                /* Validated text: the brackets balance before the end, outside strings. */
                for (;;) {
                        unsigned char c = in_container[(unsigned char)p[i]];

                        if (c == PLAIN) {
                                i++;
                        } else if (c == QUOTE) {
                                i = skip_string(p, i);
                        } else {
                                i++;
                                if (c == OPEN)
                                        depth++;
                                else if (--depth == 0)
                                        break;
                        }
                }
        }
        v->p = p + start;
        v->n = i - start;
        return i;
}

/* The next item of a container: *pos is 0 before the first, then the index after an item. */
static bool next_item(const struct jscan_value *c, size_t *pos, struct jscan_value *key,
                      struct jscan_value *val)
{
        const char *p = c->p;
        size_t n = c->n - 1; /* the closing bracket */
        size_t i = skip_ws(p, n, *pos == 0 ? 1 : *pos);

        if (i < n && p[i] == ',')
                i = skip_ws(p, n, i + 1);
        if (i >= n)
                return false;
        if (key != NULL) {
                i = skip_value(p, n, i, key);
                i = skip_ws(p, n, i);
                i = skip_ws(p, n, i + 1); /* the colon */
        }
        *pos = skip_value(p, n, i, val);
        return true;
}

bool jscan_member(const struct jscan_value *obj, size_t *pos, struct jscan_value *key,
                  struct jscan_value *val)
{
        return obj->type == JSCAN_OBJECT && next_item(obj, pos, key, val);
}

bool jscan_element(const struct jscan_value *arr, size_t *pos, struct jscan_value *val)
{
        return arr->type == JSCAN_ARRAY && next_item(arr, pos, NULL, val);
}

static unsigned hex4(const char *p)
{
        return (unsigned)(hex(p[0]) << 12 | hex(p[1]) << 8 | hex(p[2]) << 4 | hex(p[3]));
}

static void put_utf8(struct buf *out, unsigned cp)
{
        char u[4];
        size_t k;

        if (cp < 0x80) {
                u[0] = (char)cp;
                k = 1;
        } else if (cp < 0x800) {
                u[0] = (char)(0xC0 | cp >> 6);
                u[1] = (char)(0x80 | (cp & 0x3F));
                k = 2;
        } else if (cp < 0x10000) {
                u[0] = (char)(0xE0 | cp >> 12);
                u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[2] = (char)(0x80 | (cp & 0x3F));
                k = 3;
        } else {
                u[0] = (char)(0xF0 | cp >> 18);
                u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
                u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
                u[3] = (char)(0x80 | (cp & 0x3F));
                k = 4;
        }
        buf_append(out, u, k);
}

/* What each one-letter escape stands for. */
static const char unescape[128] = {['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
                                   ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};

bool jscan_string(const struct jscan_value *v, struct buf *out)
{
        const char *p = v->p + 1;
        const char *end = v->p + v->n - 1;
        size_t start = out->len;

        if (v->type != JSCAN_STRING)
                return false;
        while (p < end) {
                const char *bs = memchr(p, '\\', (size_t)(end - p));
                unsigned cp;

                if (bs == NULL) {
                        buf_append(out, p, (size_t)(end - p));
                        break;
                }
                buf_append(out, p, (size_t)(bs - p));
                p = bs + 2;
                if (bs[1] != 'u') { /* validated: one of " \ / b f n r t */
                        buf_putc(out, unescape[(unsigned char)bs[1]]);
                        continue;
                }
                cp = hex4(p);
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                    hex4(p + 2) >= 0xDC00 && hex4(p + 2) <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(p + 2) - 0xDC00);
                        p += 6;
                } else if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
                        out->len = start; /* json_parse's business */
                        if (out->data != NULL)
                                out->data[start] = '\0';
                        return false;
                }
                put_utf8(out, cp);
        }
        return true;
}

bool jscan_long(const struct jscan_value *v, long *out)
{
        size_t i = 0;
        long x = 0;

        if (v->type != JSCAN_NUMBER || v->n == 0)
                return false;
        if (v->p[0] == '-')
                i = 1;
        if (v->n - i == 0 || v->n - i > 15)
                return false;
        for (; i < v->n; i++) {
                if (v->p[i] < '0' || v->p[i] > '9')
                        return false;
                x = x * 10 + (v->p[i] - '0');
        }
        *out = v->p[0] == '-' ? -x : x;
        return true;
}
