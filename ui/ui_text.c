/*
 * ui_text: UTF-8 decoding, width and escaping (see ui_text.h). wcwidth() is used for printable
 * characters, so the process must run in a UTF-8 locale (ui_run sets it from the environment);
 * a character wcwidth() does not know is shown as U+FFFD, one column.
 */
#include "ui_text.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

size_t ui_text_decode(const char *s, size_t n, unsigned *cp)
{
        const unsigned char *u = (const unsigned char *)s;
        unsigned c;
        size_t need, i;

        if (n == 0) {
                *cp = 0;
                return 0;
        }
        c = u[0];
        if (c < 0x80) {
                *cp = c;
                return 1;
        }
        if (c >= 0xc2 && c <= 0xdf) {
                need = 1;
                c &= 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                c &= 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                c &= 0x07;
        } else {
                *cp = 0xfffd;
                return 1;
        }
        if (n < need + 1) {
                *cp = 0xfffd;
                return 1;
        }
        for (i = 1; i <= need; i++) {
                if ((u[i] & 0xc0) != 0x80) {
                        *cp = 0xfffd;
                        return 1;
                }
                c = (c << 6) | (u[i] & 0x3f);
        }
        if ((need == 2 && c < 0x800) || (need == 3 && (c < 0x10000 || c > 0x10ffff)) ||
            (c >= 0xd800 && c <= 0xdfff)) {
                *cp = 0xfffd;
                return 1;
        }
        *cp = c;
        return need + 1;
}

/* The escape shown for a control character, or NULL for a printable one. */
static const char *escape(unsigned cp, char tmp[8])
{
        switch (cp) {
        case '\n':
                return "\\n";
        case '\t':
                return "\\t";
        case '\r':
                return "\\r";
        default:
                break;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
                snprintf(tmp, 8, "\\x%02x", cp & 0xff);
                return tmp;
        }
        return NULL;
}

int ui_text_cp_width(unsigned cp)
{
        char tmp[8];
        const char *e = escape(cp, tmp);
        int w;

        if (e)
                return (int)strlen(e);
        w = wcwidth((wchar_t)cp);
        return w < 0 ? 1 : w;
}

int ui_text_width(const char *s, size_t n)
{
        size_t i = 0;
        int w = 0;

        while (i < n) {
                unsigned cp;
                i += ui_text_decode(s + i, n - i, &cp);
                w += ui_text_cp_width(cp);
        }
        return w;
}

/* Appends the UTF-8 form of cp; returns bytes written (0 when it does not fit). */
static size_t put_cp(char *out, size_t room, unsigned cp)
{
        char b[4];
        size_t k;

        if (cp < 0x80) {
                b[0] = (char)cp;
                k = 1;
        } else if (cp < 0x800) {
                b[0] = (char)(0xc0 | (cp >> 6));
                b[1] = (char)(0x80 | (cp & 0x3f));
                k = 2;
        } else if (cp < 0x10000) {
                b[0] = (char)(0xe0 | (cp >> 12));
                b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                b[2] = (char)(0x80 | (cp & 0x3f));
                k = 3;
        } else {
                b[0] = (char)(0xf0 | (cp >> 18));
                b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                b[3] = (char)(0x80 | (cp & 0x3f));
                k = 4;
        }
        if (k > room)
                return 0;
        memcpy(out, b, k);
        return k;
}

int ui_text_fit(const char *s, size_t n, int cols, int pad, char *out, size_t outsz)
{
        size_t i = 0, o = 0;
        int w = 0;

        if (outsz == 0)
                return 0;
        if (cols < 0)
                cols = 0;
        while (i < n) {
                unsigned cp;
                char tmp[8];
                const char *e;
                int cw;
                size_t used = ui_text_decode(s + i, n - i, &cp);

                e = escape(cp, tmp);
                if (!e && wcwidth((wchar_t)cp) < 0)
                        cp = 0xfffd;
                cw = e ? (int)strlen(e) : ui_text_cp_width(cp);
                /* Leave room for the ellipsis unless this is the last character. */
                if (w + cw > cols || (i + used < n && w + cw == cols && cols > 0 &&
                                      ui_text_width(s + i + used, n - i - used) > 0)) {
                        if (w < cols) {
                                size_t k = put_cp(out + o, outsz - 1 - o, 0x2026);
                                if (k) {
                                        o += k;
                                        w++;
                                }
                        }
                        break;
                }
                if (e) {
                        size_t k = strlen(e);
                        if (o + k >= outsz)
                                break;
                        memcpy(out + o, e, k);
                        o += k;
                } else {
                        size_t k = put_cp(out + o, outsz - 1 - o, cp);
                        if (!k)
                                break;
                        o += k;
                }
                w += cw;
                i += used;
        }
        while (pad && w < cols && o + 1 < outsz) {
                out[o++] = ' ';
                w++;
        }
        out[o] = '\0';
        return w;
}

/* Appends k bytes of b, keeping room for the NUL; false when they do not fit. */
static bool put_bytes(char *out, size_t outsz, size_t *o, const char *b, size_t k)
{
        if (*o + k >= outsz)
                return false;
        memcpy(out + *o, b, k);
        *o += k;
        return true;
}

int ui_text_cut(const char *s, size_t n, int from, int cols, char *out, size_t outsz)
{
        size_t i = 0, o = 0;
        int x = 0, w = 0; /* x: the line's column; w: the columns written */

        if (outsz == 0)
                return 0;
        if (from < 0)
                from = 0;
        while (i < n && w < cols) {
                unsigned cp;
                char tmp[8], b[4];
                const char *e;
                int cw;
                size_t used = ui_text_decode(s + i, n - i, &cp), k;

                e = escape(cp, tmp);
                if (!e && wcwidth((wchar_t)cp) < 0)
                        cp = 0xfffd;
                cw = e ? (int)strlen(e) : ui_text_cp_width(cp);
                i += used;
                if (x + cw <= from) {
                        x += cw;
                        continue;
                }
                if (x < from) {
                        /* Straddles the left edge: its visible columns as spaces. */
                        cw -= from - x;
                        x = from;
                        for (; cw > 0 && w < cols && put_bytes(out, outsz, &o, " ", 1); cw--) {
                                w++;
                                x++;
                        }
                        continue;
                }
                if (w + cw > cols)
                        break;
                if (e) {
                        if (!put_bytes(out, outsz, &o, e, strlen(e)))
                                break;
                } else {
                        k = put_cp(b, sizeof(b), cp);
                        if (!put_bytes(out, outsz, &o, b, k))
                                break;
                }
                w += cw;
                x += cw;
        }
        out[o] = '\0';
        return w;
}

int ui_text_window(const char *s, size_t n, int from, int cols, char *out, size_t outsz)
{
        static const char ell[] = "\xe2\x80\xa6";
        int total = ui_text_width(s, n), w = 0, left, right, got;
        size_t o = 0;

        if (outsz == 0)
                return 0;
        out[0] = '\0';
        if (cols <= 0)
                return 0;
        if (from < 0)
                from = 0;
        left = from > 0 && total > 0;
        right = total > from + cols;
        if (left && put_bytes(out, outsz, &o, ell, 3))
                w++;
        if (cols - w - right <= 0) {
                if (right && w < cols && put_bytes(out, outsz, &o, ell, 3))
                        w++;
                out[o] = '\0';
                return w;
        }
        got = ui_text_cut(s, n, from + w, cols - w - right, out + o, outsz - o);
        o += strlen(out + o);
        w += got;
        /* A wide character left out at the edge: the marker still goes in the last column. */
        while (right && w < cols - 1 && put_bytes(out, outsz, &o, " ", 1))
                w++;
        if (right && put_bytes(out, outsz, &o, ell, 3))
                w++;
        out[o] = '\0';
        return w;
}

const char *ui_text_find(const char *hay, size_t n, const char *needle)
{
        size_t m = strlen(needle), i, k;

        if (m == 0)
                return hay;
        if (m > n)
                return NULL;
        for (i = 0; i + m <= n; i++) {
                for (k = 0; k < m; k++) {
                        if (tolower((unsigned char)hay[i + k]) != tolower((unsigned char)needle[k]))
                                break;
                }
                if (k == m)
                        return hay + i;
        }
        return NULL;
}
