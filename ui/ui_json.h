/*
 * ui_json: a JSON value as pretty-printed, foldable lines for the detail view. The lines are
 * made once per document; folding only rebuilds the index of visible lines, so a 1 MB body
 * scrolls by drawing the few lines on screen. Members named "system" and "tools" start folded.
 * Pure (no curses): the view colours lines by their token kinds.
 */
#ifndef UI_JSON_H
#define UI_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

enum ui_json_tok {
        UI_JSON_PUNCT, /* braces, brackets, commas, colons */
        UI_JSON_KEY,
        UI_JSON_STRING,
        UI_JSON_NUMBER,
        UI_JSON_LITERAL, /* true, false, null */
        UI_JSON_PLAIN,   /* text that is not JSON */
};

struct ui_json_line {
        char *text;           /* the line without indentation, NUL-terminated */
        size_t key_len;       /* bytes of text that are the quoted key and ": " (0: none) */
        int depth;            /* indentation level */
        enum ui_json_tok tok; /* the value's kind */
        size_t close;         /* for a line opening a container: index of its closing line */
        bool opens;           /* this line opens a non-empty object or array */
        bool folded;
        size_t items; /* members or elements of the container it opens */
        char *path;   /* where the line is: a JSON pointer ("/messages/0"), "…/}" for a
                       * closing line, "#N" for line N of plain text */
};

struct ui_json_doc {
        struct ui_json_line *lines;
        size_t n, cap;
        size_t *visible; /* indices of the lines shown, in order */
        size_t n_visible;
};

/* Lines of item, or of text when item is NULL (split on newlines, kind PLAIN). */
void ui_json_build(struct ui_json_doc *d, const cJSON *item);
void ui_json_build_text(struct ui_json_doc *d, const char *text, size_t n);
void ui_json_free(struct ui_json_doc *d);

/* Folds or unfolds the container opened on visible line v; false when it opens none. */
bool ui_json_toggle(struct ui_json_doc *d, size_t v);
/* Folds (fold) or unfolds every container. */
void ui_json_fold_all(struct ui_json_doc *d, bool fold);

/*
 * What the user did to a document, by path rather than line number, so it survives a rebuild
 * (a stream growing): every container's fold state, and the lines under the cursor and at the
 * top of the view.
 */
struct ui_json_view {
        char **paths; /* of the containers, sorted */
        bool *folded;
        size_t n;
        char *cursor, *top;
};

/* Saves d's folds and the paths of visible lines cursor and top. */
void ui_json_save(const struct ui_json_doc *d, size_t cursor, size_t top, struct ui_json_view *v);
/* Applies v's folds to the containers of d it knows (others keep their default) and moves
 * *cursor and *top to the visible lines of v's paths (left as they are when gone). */
void ui_json_restore(struct ui_json_doc *d, const struct ui_json_view *v, size_t *cursor,
                     size_t *top);
void ui_json_view_free(struct ui_json_view *v);

/* The text shown for a visible line: indentation, text, and for a folded one "… N items }".
 * Writes into out (always NUL-terminated). */
void ui_json_render(const struct ui_json_doc *d, size_t v, char *out, size_t outsz);

#endif
