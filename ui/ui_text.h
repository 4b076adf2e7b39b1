/*
 * ui_text: terminal text measurement for the inspector. Everything the screen shows goes
 * through here: UTF-8 is decoded by hand (invalid bytes become U+FFFD), each character is
 * measured with wcwidth(), and control bytes are escaped (\n, \t, \xNN) so a body can never
 * move the cursor or change the terminal's state. Pure functions, no curses.
 */
#ifndef UI_TEXT_H
#define UI_TEXT_H

#include <stddef.h>

/* Decodes one UTF-8 character of s[0..n); sets *cp (U+FFFD for a bad sequence) and returns the
 * bytes used (at least 1 when n > 0). */
size_t ui_text_decode(const char *s, size_t n, unsigned *cp);

/* Columns a character takes: 0 for combining marks, 2 for wide, and the width of its escape
 * for control characters. */
int ui_text_cp_width(unsigned cp);

/* Columns s[0..n) takes once escaped. */
int ui_text_width(const char *s, size_t n);

/*
 * Writes s[0..n) escaped and cut to at most cols columns into out (outsz bytes, always
 * NUL-terminated); a cut ends in "…" (which counts as one column). When pad is set, spaces fill
 * up to cols. Returns the columns written.
 */
int ui_text_fit(const char *s, size_t n, int cols, int pad, char *out, size_t outsz);

/*
 * Horizontal scrolling: writes s[0..n) escaped, from display column `from` on, into out (outsz
 * bytes, always NUL-terminated), at most cols columns and no ellipsis. A character is never
 * split: one that straddles `from` (a wide character, an escape like \x1b) shows as spaces for
 * its visible columns, and one that would cross the right edge is left out. Returns the columns
 * written.
 */
int ui_text_cut(const char *s, size_t n, int from, int cols, char *out, size_t outsz);

/*
 * s[0..n) as seen through a window cols wide scrolled to column `from`: like ui_text_cut, but
 * the first column is "…" when from > 0 and the line has text (hidden on the left) and the last
 * is "…" when text lies beyond the right edge. Returns the columns written.
 */
int ui_text_window(const char *s, size_t n, int from, int cols, char *out, size_t outsz);

/* Case-insensitive (ASCII) substring search of needle in hay[0..n); NULL when absent. */
const char *ui_text_find(const char *hay, size_t n, const char *needle);

#endif
