/*
 * ui: the inspector's loop (see ui.h). One turn: pop what the ring holds (never waiting on
 * the core; the ring drops what we cannot take and the core counts it), feed a replay by its
 * original timing, redraw if anything changed, and wait for a key. Handlers only mark state and
 * return flags; drawing happens in one place.
 *
 * Under load the inspector shares the machine with the proxy it shows, so it does its work in
 * batches: records only mark the screen stale, and a stale screen is redrawn at most once a
 * frame (FRAME_MS; BUSY_FRAME_MS once records have kept coming for a second, as at
 * saturation, where drawing was an eighth of the inspector's time), while a key redraws at once.
 * Between turns it naps in the key wait, never in the ring's sleep handshake, so the core never has
 * to wake it (a wake-up is a system call on the core's hot path). Once nothing has come for a while
 * it sleeps in the ring's wait, which also watches the terminal: an idle inspector wakes only for a
 * record, a key or a resize (the core pays one eventfd write for the first record after the pause).
 *
 * The terminal is restored on every way out: the normal return, exit() (atexit), and fatal
 * signals, whose handler writes the reset sequences and the saved termios with async-signal-safe
 * calls before dying with the default action.
 */
#define _XOPEN_SOURCE_EXTENDED 1
#include "ui_screen.h"

#include "alloc.h"
#include "json.h"
#include "ui_mouse.h"
#include "ui_text.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MIN_COLS      50
#define MIN_ROWS      10
#define FRAME_MS      50  /* least time between two redraws that records asked for */
#define BUSY_FRAME_MS 100 /* the same once every turn has found records for BUSY_AFTER_MS */
#define BUSY_AFTER_MS 1000
#define NAP_MS        30 /* a turn's wait for a key while records keep coming */
#define IDLE_MS       250 /* the wait once nothing has come for IDLE_AFTER_MS, when it cannot sleep */
#define IDLE_AFTER_MS 2000
#define POP_PER_TURN  65536 /* records taken per turn at most, so keys are still read */

static struct termios saved_tio;
static volatile sig_atomic_t curses_on;
static volatile sig_atomic_t have_tio;

static void restore_terminal(void)
{
        if (curses_on) {
                curses_on = 0;
                endwin();
        }
}

static void fatal_signal(int sig)
{
        static const char reset[] = "\033[0m\033[?25h\033[?1049l\r\n";

        if (curses_on) {
                ssize_t w = write(STDOUT_FILENO, reset, sizeof(reset) - 1);
                (void)w;
                if (have_tio)
                        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        }
        signal(sig, SIG_DFL);
        raise(sig);
}

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ui_attr(struct ui *u, int pair, int extra, bool on)
{
        int a = extra | (u->color && pair ? COLOR_PAIR(pair) : 0);
        if (!u->color && pair == UI_C_BAR)
                a |= A_REVERSE;
        if (!u->color && pair == UI_C_ERROR)
                a |= A_BOLD;
        if (on)
                attron(a);
        else
                attroff(a);
}

int ui_put(int y, int x, const char *s, size_t n, int cols)
{
        char out[2048];
        int w;

        if (cols <= 0)
                return 0;
        w = ui_text_fit(s, n, cols, 0, out, sizeof(out));
        mvaddstr(y, x, out);
        return w;
}

static void colors_init(struct ui *u)
{
        u->color = !u->o->no_color && !getenv("NO_COLOR") && has_colors();
        if (!u->color)
                return;
        start_color();
        use_default_colors();
        init_pair(UI_C_WAITING, COLOR_YELLOW, -1);
        init_pair(UI_C_STREAMING, COLOR_CYAN, -1);
        init_pair(UI_C_DONE, COLOR_GREEN, -1);
        init_pair(UI_C_ERROR, COLOR_RED, -1);
        init_pair(UI_C_KEY, COLOR_BLUE, -1);
        init_pair(UI_C_STRING, COLOR_GREEN, -1);
        init_pair(UI_C_NUMBER, COLOR_MAGENTA, -1);
        init_pair(UI_C_LITERAL, COLOR_YELLOW, -1);
        init_pair(UI_C_BAR, COLOR_BLACK, COLOR_CYAN);
        init_pair(UI_C_SESSION, COLOR_WHITE, -1);
        init_pair(UI_C_HOT, COLOR_MAGENTA, -1);
        init_pair(UI_C_SEL, COLOR_BLACK, COLOR_WHITE);
}

/* ---- replay of a journal file ---- */

static void replay_free(struct ui_replay *r)
{
        free(r->path);
        free(r->data);
        free(r->lines);
        free(r->lens);
        free(r->mono);
        memset(r, 0, sizeof(*r));
}

static int replay_open(struct ui *u, const char *path, char *msg, size_t msgsz)
{
        struct ui_replay *r = &u->replay;
        FILE *f = fopen(path, "rb");
        struct buf b;
        char chunk[65536];
        size_t got, i, cap = 0;
        char *p;

        if (!f) {
                snprintf(msg, msgsz, "cannot open %s: %s", path, strerror(errno));
                return -1;
        }
        buf_init(&b);
        while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
                buf_append(&b, chunk, got);
        fclose(f);
        replay_free(r);
        r->path = xstrdup(path);
        r->speed = 1;
        r->data = buf_detach(&b);
        for (p = r->data; *p;) {
                char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t)(nl - p) : strlen(p);
                if (nl)
                        *nl = '\0';
                if (len) {
                        if (r->n == cap) {
                                cap = cap ? cap * 2 : 256;
                                r->lines = xrealloc(r->lines, cap * sizeof(*r->lines));
                                r->lens = xrealloc(r->lens, cap * sizeof(*r->lens));
                                r->mono = xrealloc(r->mono, cap * sizeof(*r->mono));
                        }
                        r->lines[r->n] = p;
                        r->lens[r->n] = len;
                        r->mono[r->n] = 0;
                        {
                                const char *mn = strstr(p, "\"mono_ns\":");
                                if (mn)
                                        r->mono[r->n] = strtoll(mn + 10, NULL, 10);
                        }
                        r->n++;
                }
                p += len + (nl ? 1 : 0);
                if (!nl)
                        break;
        }
        ui_model_reset(&u->file);
        for (i = 0; i < r->n; i++)
                ui_model_add_line(&u->file, r->lines[i], r->lens[i]);
        r->pos = r->n;
        u->have_file = true;
        u->m = &u->file;
        u->cursor = u->top = 0;
        u->follow = true;
        snprintf(msg, msgsz, "%s: %zu records, %zu requests (read-only; p plays it again)", path,
                 r->n, u->file.j->n_requests);
        return 0;
}

static void replay_step(struct ui *u, size_t n)
{
        struct ui_replay *r = &u->replay;

        while (n-- && r->pos < r->n) {
                ui_model_add_line(&u->file, r->lines[r->pos], r->lens[r->pos]);
                r->pos++;
        }
        u->dirty = true;
}

static void replay_rebase(struct ui_replay *r)
{
        r->start_clock = now_s();
        r->start_mono = r->pos < r->n ? r->mono[r->pos] : 0;
}

static void replay_tick(struct ui *u)
{
        struct ui_replay *r = &u->replay;
        double elapsed;
        int64_t until;

        if (!r->playing)
                return;
        elapsed = (now_s() - r->start_clock) * r->speed;
        until = r->start_mono + (int64_t)(elapsed * 1e9);
        while (r->pos < r->n && (r->mono[r->pos] == 0 || r->mono[r->pos] <= until)) {
                ui_model_add_line(&u->file, r->lines[r->pos], r->lens[r->pos]);
                r->pos++;
                u->stale = true;
        }
        if (r->pos == r->n) {
                r->playing = false;
                snprintf(u->message, sizeof(u->message), "replay finished");
                u->dirty = true;
        }
}

static int replay_key(struct ui *u, enum ui_action a)
{
        struct ui_replay *r = &u->replay;

        if (!u->have_file || u->m != &u->file) {
                snprintf(u->message, sizeof(u->message), "replay keys work on an opened journal");
                return UI_REDRAW;
        }
        switch (a) {
        case UI_ACT_PLAY:
                if (r->playing) {
                        r->playing = false;
                        break;
                }
                if (r->pos >= r->n) {
                        ui_model_reset(&u->file);
                        r->pos = 0;
                        u->cursor = u->top = 0;
                        u->follow = true;
                        ui_detail_close(u);
                }
                r->playing = true;
                replay_rebase(r);
                break;
        case UI_ACT_STEP:
                r->playing = false;
                if (r->pos >= r->n) {
                        ui_model_reset(&u->file);
                        r->pos = 0;
                        ui_detail_close(u);
                }
                replay_step(u, 1);
                break;
        case UI_ACT_FASTER:
                r->speed = r->speed >= 64 ? 64 : r->speed * 2;
                replay_rebase(r);
                break;
        case UI_ACT_SLOWER:
                r->speed = r->speed <= 0.125 ? 0.125 : r->speed / 2;
                replay_rebase(r);
                break;
        default:
                return 0;
        }
        snprintf(u->message, sizeof(u->message), "replay %s  %zu/%zu records  speed x%g",
                 r->playing ? "playing" : "paused", r->pos, r->n, r->speed);
        return UI_REDRAW;
}

/* ---- the prompt on the message line ---- */

static void prompt_start(struct ui *u, int kind, const char *initial)
{
        u->prompt = kind;
        u->input_len = 0;
        u->input[0] = '\0';
        if (initial) {
                size_t n = strlen(initial);
                if (n >= sizeof(u->input))
                        n = sizeof(u->input) - 1;
                memcpy(u->input, initial, n);
                u->input[n] = '\0';
                u->input_len = n;
        }
        curs_set(1);
}

static void search_go(struct ui *u, bool forward)
{
        long at;

        if (!u->search || !*u->search) {
                snprintf(u->message, sizeof(u->message), "no search: press / first");
                return;
        }
        at = ui_model_search(u->m, u->search, u->cursor, forward);
        if (at < 0) {
                snprintf(u->message, sizeof(u->message), "not found: %s", u->search);
                return;
        }
        u->cursor = at;
        u->follow = false;
        snprintf(u->message, sizeof(u->message), "/%s", u->search);
}

static void prompt_done(struct ui *u)
{
        int kind = u->prompt;

        u->prompt = 0;
        curs_set(0);
        if (kind == 'f') {
                ui_model_set_filter(&u->live, u->input);
                ui_model_set_filter(&u->file, u->input);
                u->message[0] = '\0';
                if (u->input_len)
                        snprintf(u->message, sizeof(u->message), "filter: %.400s", u->input);
        } else if (kind == '/') {
                free(u->search);
                u->search = xstrdup(u->input);
                search_go(u, true);
        } else if (kind == 'o') {
                if (!u->input_len) {
                        if (u->o->records) {
                                u->m = &u->live;
                                snprintf(u->message, sizeof(u->message), "back to live");
                        }
                        return;
                }
                ui_detail_close(u);
                u->view = UI_VIEW_LIST;
                replay_open(u, u->input, u->message, sizeof(u->message));
        }
}

static int prompt_key(struct ui *u, int ch, bool is_key)
{
        if (!is_key && (ch == '\n' || ch == '\r')) {
                prompt_done(u);
                return UI_REDRAW;
        }
        if (!is_key && ch == 27) {
                u->prompt = 0;
                curs_set(0);
                return UI_REDRAW;
        }
        if ((is_key && ch == KEY_BACKSPACE) || (!is_key && (ch == 127 || ch == 8))) {
                while (u->input_len > 0) {
                        unsigned char c = (unsigned char)u->input[--u->input_len];
                        if ((c & 0xc0) != 0x80)
                                break;
                }
                u->input[u->input_len] = '\0';
                return UI_REDRAW;
        }
        if (!is_key && ch == 21) { /* ^U */
                u->input_len = 0;
                u->input[0] = '\0';
                return UI_REDRAW;
        }
        if (!is_key && ch >= 0x20) {
                char mb[8];
                unsigned cp = (unsigned)ch;
                size_t k;

                if (cp < 0x80) {
                        mb[0] = (char)cp;
                        k = 1;
                } else if (cp < 0x800) {
                        mb[0] = (char)(0xc0 | (cp >> 6));
                        mb[1] = (char)(0x80 | (cp & 0x3f));
                        k = 2;
                } else if (cp < 0x10000) {
                        mb[0] = (char)(0xe0 | (cp >> 12));
                        mb[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        mb[2] = (char)(0x80 | (cp & 0x3f));
                        k = 3;
                } else {
                        mb[0] = (char)(0xf0 | (cp >> 18));
                        mb[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
                        mb[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        mb[3] = (char)(0x80 | (cp & 0x3f));
                        k = 4;
                }
                if (u->input_len + k < sizeof(u->input)) {
                        memcpy(u->input + u->input_len, mb, k);
                        u->input_len += k;
                        u->input[u->input_len] = '\0';
                }
                return UI_REDRAW;
        }
        return UI_HANDLED;
}

/* ---- drawing ---- */

static void draw(struct ui *u)
{
        int body = u->rows - 3;

        erase();
        getmaxyx(stdscr, u->rows, u->cols);
        if (u->cols < MIN_COLS || u->rows < MIN_ROWS) {
                char msg[64];
                snprintf(msg, sizeof(msg), "terminal too small (%dx%d)", u->cols, u->rows);
                ui_put(0, 0, msg, strlen(msg), u->cols);
                snprintf(msg, sizeof(msg), "need %dx%d; q quits", MIN_COLS, MIN_ROWS);
                if (u->rows > 1)
                        ui_put(1, 0, msg, strlen(msg), u->cols);
                refresh();
                return;
        }
        body = u->rows - 3;
        ui_model_refresh(u->m);
        if (u->view == UI_VIEW_COMPARE)
                ui_compare_draw(u, 0, body + 1);
        else if (u->view == UI_VIEW_DETAIL)
                ui_detail_draw(u, 0, body + 1);
        else
                ui_list_draw(u, 0, body + 1);
        /* Message or prompt line. */
        move(u->rows - 2, 0);
        clrtoeol();
        if (u->prompt) {
                const char *label = u->prompt == 'f'   ? "filter: "
                                    : u->prompt == '/' ? "search: "
                                                       : "open journal (empty: back to live): ";
                int x = ui_put(u->rows - 2, 0, label, strlen(label), u->cols);
                int w = ui_text_width(u->input, u->input_len);
                size_t skip = 0;
                /* Keep the end of a long input in view. */
                while (w > u->cols - x - 1 && skip < u->input_len) {
                        unsigned cp;
                        size_t k = ui_text_decode(u->input + skip, u->input_len - skip, &cp);
                        w -= ui_text_cp_width(cp);
                        skip += k;
                }
                x += ui_put(u->rows - 2, x, u->input + skip, u->input_len - skip, u->cols - x - 1);
                ui_status_draw(u, u->rows - 1);
                move(u->rows - 2, x);
        } else {
                ui_put(u->rows - 2, 0, u->message, strlen(u->message), u->cols);
                ui_status_draw(u, u->rows - 1);
        }
        if (u->picker)
                ui_picker_draw(u);
        if (u->help)
                ui_help_draw(u);
        refresh();
}

/* ---- keys and the mouse ---- */

/* The key handler of the view shown. */
static int view_key(struct ui *u, enum ui_action a)
{
        if (u->view == UI_VIEW_COMPARE)
                return ui_compare_key(u, a, u->rows - 4);
        if (u->view == UI_VIEW_DETAIL)
                return ui_detail_key(u, a, u->rows - 4);
        return ui_list_key(u, a, u->rows - 4);
}

/* A mouse event, mapped by ui_mouse_map and applied as the keys it stands for would be. */
static int on_mouse(struct ui *u)
{
        MEVENT ev;
        enum ui_mouse_button b;
        struct ui_mouse_screen s;
        struct ui_mouse_hit hit;

        if (getmouse(&ev) != OK)
                return UI_HANDLED;
        if (ev.bstate & BUTTON4_PRESSED)
                b = UI_MOUSE_WHEEL_UP;
        else if (ev.bstate & BUTTON5_PRESSED)
                b = UI_MOUSE_WHEEL_DOWN;
        else if (ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED))
                b = UI_MOUSE_CLICK;
        else
                return UI_HANDLED;
        if (u->prompt || u->help || u->picker || u->cols < MIN_COLS || u->rows < MIN_ROWS)
                return UI_HANDLED;
        memset(&s, 0, sizeof(s));
        s.rows = u->rows;
        s.cols = u->cols;
        if (u->view == UI_VIEW_COMPARE) {
                s.pane = UI_MOUSE_COMPARE;
        } else if (u->view == UI_VIEW_DETAIL) {
                s.pane = UI_MOUSE_DETAIL;
                s.top = u->dtop;
                s.cursor = u->dcur;
                s.n = u->doc_valid ? (long)u->doc.n_visible : 0;
        } else {
                s.pane = UI_MOUSE_LIST;
                s.top = u->top;
                s.cursor = u->cursor;
                s.n = (long)u->m->n_rows;
        }
        hit = ui_mouse_map(&s, b, ev.y, ev.x);
        switch (hit.what) {
        case UI_MOUSE_SCROLL:
                for (long k = 0; k < (hit.arg < 0 ? -hit.arg : hit.arg); k++)
                        view_key(u, hit.arg < 0 ? UI_ACT_UP : UI_ACT_DOWN);
                return UI_REDRAW;
        case UI_MOUSE_SELECT:
                if (s.pane == UI_MOUSE_LIST)
                        ui_list_select(u, hit.arg, false);
                else
                        u->dcur = hit.arg;
                return UI_REDRAW;
        case UI_MOUSE_OPEN:
                return view_key(u, s.pane == UI_MOUSE_LIST ? UI_ACT_OPEN : UI_ACT_TOGGLE_FOLD);
        case UI_MOUSE_TAB:
                u->tab = (enum ui_tab)hit.arg;
                return UI_REDRAW;
        default:
                return UI_HANDLED;
        }
}

static int on_key(struct ui *u, int ch, bool is_key)
{
        enum ui_ctx ctx;
        enum ui_action a;
        int key = ch;

        if (is_key && ch == KEY_RESIZE)
                return UI_REDRAW;
        if (is_key && ch == KEY_MOUSE)
                return on_mouse(u);
        if (u->prompt)
                return prompt_key(u, ch, is_key);
        if (!is_key && ch == '\r')
                key = '\n';
        if (u->help)
                return ui_help_key(u, key);
        if (u->cols < MIN_COLS || u->rows < MIN_ROWS)
                return key == 'q' ? UI_QUIT : UI_HANDLED;
        if (u->picker)
                return ui_picker_key(u, key);
        ctx = u->view == UI_VIEW_COMPARE  ? UI_CTX_COMPARE
              : u->view == UI_VIEW_DETAIL ? UI_CTX_DETAIL
                                          : UI_CTX_LIST;
        a = ui_keys_lookup(ctx, key);
        switch (a) {
        case UI_ACT_NONE:
                return UI_HANDLED;
        case UI_ACT_QUIT:
                return UI_QUIT;
        case UI_ACT_HELP:
                u->help = true;
                u->help_top = 0;
                return UI_REDRAW;
        case UI_ACT_REDRAW:
                clearok(curscr, TRUE);
                return UI_REDRAW;
        case UI_ACT_FILTER:
                prompt_start(u, 'f', u->m->filter.text);
                return UI_REDRAW;
        case UI_ACT_SEARCH:
                prompt_start(u, '/', NULL);
                return UI_REDRAW;
        case UI_ACT_SEARCH_NEXT:
        case UI_ACT_SEARCH_PREV:
                search_go(u, a == UI_ACT_SEARCH_NEXT);
                return UI_REDRAW;
        case UI_ACT_OPEN_JOURNAL:
                prompt_start(u, 'o', NULL);
                return UI_REDRAW;
        case UI_ACT_PICKER:
                if (!u->o->switch_model) {
                        snprintf(u->message, sizeof(u->message),
                                 "no proxy is running here: the model cannot be switched");
                        return UI_REDRAW;
                }
                u->picker = true;
                u->picker_resend = false;
                u->picker_cursor = 0;
                return UI_REDRAW;
        case UI_ACT_PLAY:
        case UI_ACT_STEP:
        case UI_ACT_FASTER:
        case UI_ACT_SLOWER:
                return replay_key(u, a);
        case UI_ACT_COMPARE:
                ui_compare_open(u, ui_list_selected(u));
                return UI_REDRAW;
        case UI_ACT_RESEND_TO: {
                if (!ui_list_selected(u)) {
                        snprintf(u->message, sizeof(u->message), "no request selected");
                        return UI_REDRAW;
                }
                u->picker = true;
                u->picker_resend = true;
                u->picker_cursor = 0;
                return UI_REDRAW;
        }
        case UI_ACT_RESEND:
        case UI_ACT_EXPORT_CURL:
        case UI_ACT_EXPORT_BODY: {
                const struct replay_request *r = ui_list_selected(u);
                if (!r) {
                        snprintf(u->message, sizeof(u->message), "no request selected");
                        return UI_REDRAW;
                }
                ui_reload(u, r); /* its client request, if released */
                if (a == UI_ACT_RESEND)
                        ui_resend_start(u->o->listen, r, NULL, u->message, sizeof(u->message));
                else
                        ui_export(r, u->o->listen, a == UI_ACT_EXPORT_BODY, u->message,
                                  sizeof(u->message));
                return UI_REDRAW;
        }
        default:
                break;
        }
        return view_key(u, a);
}

int ui_run(const struct ui_options *o)
{
        struct ui u;
        struct sigaction sa;
        static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
        size_t i;
        int rc = 0;
        bool quit = false;
        double last_record, last_draw;
        double busy_since = 0; /* since when every turn found records; 0: the last found none */
        int last_got = OK;     /* what the last wait for a key gave */

        memset(&u, 0, sizeof(u));
        u.o = o;
        u.follow = true;
        ui_model_init(&u.live);
        ui_model_init(&u.file);
        u.m = &u.live;

        setlocale(LC_ALL, "");
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
                fprintf(stderr, "claude-proxy: the inspector needs a terminal\n");
                rc = -1;
                goto out;
        }
        if (tcgetattr(STDIN_FILENO, &saved_tio) == 0)
                have_tio = 1;
        if (o->replay) {
                char msg[512];
                if (replay_open(&u, o->replay, msg, sizeof(msg)) < 0) {
                        fprintf(stderr, "claude-proxy: %s\n", msg);
                        rc = -1;
                        goto out;
                }
                snprintf(u.message, sizeof(u.message), "%s", msg);
        }
        if (!initscr()) {
                fprintf(stderr, "claude-proxy: cannot initialise the terminal\n");
                rc = -1;
                goto out;
        }
        curses_on = 1;
        atexit(restore_terminal);
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = fatal_signal;
        sigemptyset(&sa.sa_mask);
        for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
                sigaction(fatal[i], &sa, NULL);
        raw();
        noecho();
        keypad(stdscr, TRUE);
        set_escdelay(25);
        curs_set(0);
        /* Clicks and the wheel; press, not click, so a click is not held back to tell it from
         * a double click. Shift-drag still selects text in most terminals. */
        mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
        mouseinterval(0);
        timeout(NAP_MS);
        colors_init(&u);
        getmaxyx(stdscr, u.rows, u.cols);
        u.dirty = true;

        last_record = last_draw = now_s();
        while (!quit) {
                wint_t wch;
                int got, wait_ms, frame_ms;
                double now;

                if (o->records) {
                        struct record rec;
                        size_t n = 0;
                        while (n < POP_PER_TURN && ring_pop(o->records, &rec)) {
                                ui_model_take_record(&u.live, &rec);
                                n++;
                        }
                        if (n) {
                                last_record = now_s();
                                if (busy_since == 0)
                                        busy_since = last_record;
                        } else {
                                busy_since = 0;
                        }
                        if (n && u.m == &u.live)
                                u.stale = true;
                }
                /* The core stopped (SIGTERM): leave as if the user had quit. */
                if (o->core_stopped != NULL && atomic_load(o->core_stopped))
                        quit = true;
                replay_tick(&u);
                if (ui_resend_poll(u.message, sizeof(u.message)))
                        u.dirty = true;
                now = now_s();
                frame_ms = busy_since != 0 && (now - busy_since) * 1000 >= BUSY_AFTER_MS
                               ? BUSY_FRAME_MS
                               : FRAME_MS;
                if (u.dirty || (u.stale && (now - last_draw) * 1000 >= frame_ms)) {
                        draw(&u);
                        u.dirty = u.stale = false;
                        last_draw = now;
                }
                if (u.stale)
                        wait_ms = frame_ms - (int)((now - last_draw) * 1000);
                else if (u.replay.playing || (now - last_record) * 1000 < IDLE_AFTER_MS)
                        wait_ms = NAP_MS;
                else if (o->records != NULL && last_got == ERR && !u.dirty && !ui_resend_busy())
                        wait_ms = 0; /* idle: sleep below */
                else
                        wait_ms = IDLE_MS;
                if (wait_ms == 0) {
                        /* Until a record, a key, a signal (a resize) or the core's stop. Only
                         * after a wait for a key came back empty, so curses holds no input
                         * of its own that the terminal's fd would not show. */
                        ring_wait_fd(o->records, STDIN_FILENO, -1);
                        timeout(0);
                } else {
                        timeout(wait_ms < 1 ? 1 : wait_ms);
                }
                got = last_got = get_wch(&wch);
                if (got == ERR)
                        continue;
                {
                        int f = on_key(&u, (int)wch, got == KEY_CODE_YES);
                        if (f & UI_QUIT)
                                quit = true;
                        if (f & UI_REDRAW)
                                u.dirty = true;
                }
                if (got == KEY_CODE_YES && wch == KEY_RESIZE)
                        u.dirty = true;
        }
        restore_terminal();
        for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
                signal(fatal[i], SIG_DFL);
out:
        ui_compare_close(&u);
        ui_detail_close(&u);
        ui_json_free(&u.doc);
        replay_free(&u.replay);
        ui_model_fini(&u.live);
        ui_model_fini(&u.file);
        free(u.cursor_id);
        free(u.search);
        return rc;
}
