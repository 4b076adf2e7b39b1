/*
 * main: the command line, configuration search, signals and the event loop.
 *
 * Headless by default. -d logs a line per request and reloads models.yaml when it changes
 * (a bad edit keeps the running configuration and says why); -dd also logs the bodies.
 */
#include "alloc.h"
#include "config.h"
#include "journal.h"
#include "log.h"
#include "replay.h"
#include "server.h"
#include "trace.h"

#include "ui.h"

#include <curl/curl.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct cli {
        const char *config;
        const char *host;
        int port; /* -1: not given */
        int debug;
        int tui;
        const char *journal; /* --journal DIR */
        int no_journal;
        long long journal_max_size;
        long long journal_max_total;
        const char *replay; /* --replay FILE (with --tui) */
};

struct app {
        struct event_base *base;
        struct server *server;
        char *config_path;
        struct stat config_stat;
        struct event *reload;
        struct event *grace;
        int signals;
        struct journal *journal;
        struct tui *tui;
};

/*
 * --tui: the proxy runs on a core thread exactly as headless, the inspector on the main thread.
 * The only things that cross: records (the "ui" ring), a model switch asked by the inspector
 * (queued here under a lock and applied on the core thread, which confirms it with a record),
 * the drop count (atomic) and the stop flag. Switches are human-rate, so a lock is simpler
 * than a second ring and costs nothing on the hot path.
 */
struct tui {
        struct app *app;
        struct ring *ring;
        struct event *apply;
        pthread_mutex_t lock;
        bool pending;
        char *model_id;
        char *scope;
        atomic_int core_stopped;
};

static void usage(FILE *f)
{
        fprintf(f,
                "usage: claude-proxy [--config FILE] [-p|--port N] [--host ADDR] [-d|--debug]\n"
                "                    [--journal DIR | --no-journal] [--tui] [--version] [--help]\n"
                "       claude-proxy replay [FILE|DIR] [--session ID --resend [--model MODEL_ID]]\n"
                "\n"
                "Serves the Anthropic Messages API to Claude Code and other clients and\n"
                "translates it for OpenAI-compatible providers (or passes it through to\n"
                "Anthropic-compatible ones), as models.yaml says.\n"
                "\n"
                "  --config FILE  models.yaml to use; otherwise $CLAUDE_PROXY_CONFIG,\n"
                "                 ./models.yaml, then ~/.config/claude-proxy/models.yaml\n"
                "  -p, --port N   port to listen on (default %d; 0 picks a free one)\n"
                "  --host ADDR    address to listen on (default %s)\n"
                "  -d, --debug    development mode: a log line per request and config reload\n"
                "                 on change; -dd also logs request and response bodies\n"
                "  --journal DIR  write the journal (JSONL, every request step) there; default\n"
                "                 $XDG_STATE_HOME/claude-proxy/journal (~/.local/state/...)\n"
                "  --no-journal   do not write a journal\n"
                "  --journal-max-size N   start a new journal file after N bytes (K/M/G\n"
                "                 suffixes; default 64M)\n"
                "  --journal-max-total N  remove the oldest journal files beyond N (default 1G)\n"
                "  --tui          the live inspector (the proxy keeps serving meanwhile)\n"
                "  --tui --replay FILE  open a journal in the inspector, read-only\n"
                "  --version      print the version\n"
                "\n"
                "Environment: MAX_RETRIES (upstream retries before anything reached the\n"
                "client, default 2), and the variables models.yaml names in api_key_name.\n",
                8082, "127.0.0.1");
}

/* "64M" -> 67108864; K, M and G are powers of 1024. */
static int parse_size(const char *s, long long *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || end == s || v <= 0)
                return -1;
        switch (*end) {
        case 'k':
        case 'K':
                v <<= 10;
                end++;
                break;
        case 'm':
        case 'M':
                v <<= 20;
                end++;
                break;
        case 'g':
        case 'G':
                v <<= 30;
                end++;
                break;
        default:
                break;
        }
        if (*end != '\0')
                return -1;
        *out = v;
        return 0;
}

static int parse_cli(int argc, char **argv, struct cli *c)
{
        static const struct option opts[] = {
            {"config", required_argument, NULL, 'c'},
            {"port", required_argument, NULL, 'p'},
            {"host", required_argument, NULL, 'H'},
            {"debug", no_argument, NULL, 'd'},
            {"tui", no_argument, NULL, 't'},
            {"version", no_argument, NULL, 'V'},
            {"journal", required_argument, NULL, 'j'},
            {"no-journal", no_argument, NULL, 'J'},
            {"journal-max-size", required_argument, NULL, 'S'},
            {"journal-max-total", required_argument, NULL, 'T'},
            {"replay", required_argument, NULL, 'R'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
        };
        int ch;

        memset(c, 0, sizeof *c);
        c->port = -1;
        while ((ch = getopt_long(argc, argv, "c:p:dh", opts, NULL)) != -1) {
                char *end;
                switch (ch) {
                case 'c':
                        c->config = optarg;
                        break;
                case 'p':
                        errno = 0;
                        c->port = (int)strtol(optarg, &end, 10);
                        if (errno != 0 || *end != '\0' || c->port < 0 || c->port > 65535) {
                                fprintf(stderr,
                                        "claude-proxy: --port: expected 0-65535, got "
                                        "\"%s\"\n",
                                        optarg);
                                return -1;
                        }
                        break;
                case 'H':
                        c->host = optarg;
                        break;
                case 'd':
                        c->debug++;
                        break;
                case 't':
                        c->tui = 1;
                        break;
                case 'j':
                        c->journal = optarg;
                        break;
                case 'R':
                        c->replay = optarg;
                        break;
                case 'J':
                        c->no_journal = 1;
                        break;
                case 'S':
                case 'T':
                        if (parse_size(optarg, ch == 'S' ? &c->journal_max_size
                                                         : &c->journal_max_total) != 0) {
                                fprintf(stderr,
                                        "claude-proxy: --journal-max-%s: expected a size "
                                        "like 64M, got \"%s\"\n",
                                        ch == 'S' ? "size" : "total", optarg);
                                return -1;
                        }
                        break;
                case 'V':
                        printf("claude-proxy %s\n", CP_VERSION);
                        exit(0);
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return -1;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "claude-proxy: unexpected argument \"%s\"\n", argv[optind]);
                usage(stderr);
                return -1;
        }
        return 0;
}

static void print_config(const struct config *cfg)
{
        for (size_t i = 0; i < cfg->n_warnings; i++)
                log_warn("%s", cfg->warnings[i]);
        fprintf(stderr, "config: %s (%zu model%s)\n", cfg->path ? cfg->path : "-", cfg->n_models,
                cfg->n_models == 1 ? "" : "s");
        for (size_t i = 0; i < cfg->n_models; i++) {
                const struct model_entry *e = &cfg->models[i];
                fprintf(stderr, "  %-28s -> %s @ %s (%s)%s\n", e->model_id, e->model_name,
                        e->api_base, e->direct ? "direct" : "translate",
                        (int)i == cfg->default_model ? "  [default]" : "");
        }
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
        struct app *a = arg;

        (void)fd;
        (void)what;
        log_warn("requests still running after the grace period; exiting");
        event_base_loopexit(a->base, NULL);
}

static void on_drained(void *arg)
{
        struct app *a = arg;
        /* The last answer's final bytes may still sit in evhttp's output buffer: let the loop
         * run a little longer to write them. */
        struct timeval flush = {0, 200000};

        event_base_loopexit(a->base, &flush);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        struct app *a = arg;
        long grace = a->server->settings.shutdown_grace_ms;
        struct timeval tv = {grace / 1000, (grace % 1000) * 1000};

        (void)what;
        if (a->signals++ > 0) {
                event_base_loopexit(a->base, NULL);
                return;
        }
        log_info("%s: finishing %d request(s) in flight, then exiting",
                 sig == SIGINT ? "SIGINT" : "SIGTERM", a->server->live);
        evtimer_add(a->grace, &tv);
        server_drain(a->server, on_drained, a);
}

static int same_stat(const struct stat *a, const struct stat *b)
{
        return a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
               a->st_size == b->st_size && a->st_ino == b->st_ino;
}

/* -d: polled once a second; editors replace files, which a stat comparison sees reliably. */
static void on_reload_tick(evutil_socket_t fd, short what, void *arg)
{
        struct app *a = arg;
        struct config *cfg = NULL;
        char *cause = NULL;
        struct stat st;

        (void)fd;
        (void)what;
        if (stat(a->config_path, &st) != 0 || same_stat(&st, &a->config_stat))
                return;
        a->config_stat = st;
        if (config_load(a->config_path, &cfg, &cause) != 0) {
                log_error("models.yaml changed but does not load; keeping the running "
                          "configuration: %s",
                          cause);
                trace_config(&a->server->recorder, a->config_path, NULL, cause);
                free(cause);
                return;
        }
        log_info("reloaded %s", a->config_path);
        trace_config(&a->server->recorder, a->config_path, cfg, NULL);
        print_config(cfg);
        server_set_config(a->server, cfg);
}

static int start_journal(struct app *a, const struct cli *c)
{
        char *dir = c->journal != NULL ? xstrdup(c->journal) : journal_default_dir();
        struct journal_settings js = {dir, c->journal_max_size, c->journal_max_total, 0};
        char *cause = NULL;

        a->journal = journal_new(&js, &cause);
        if (a->journal == NULL) {
                fprintf(stderr, "claude-proxy: journal: %s (use --journal DIR or --no-journal)\n",
                        cause);
                free(cause);
                free(dir);
                return -1;
        }
        recorder_add_sink(&a->server->recorder, "journal", journal_ring(a->journal));
        server_set_journal_dir(a->server, dir);
        fprintf(stderr, "journal: %s\n", dir);
        free(dir);
        return 0;
}

/* Core thread: applies the switch the inspector asked for. */
static void on_tui_switch(evutil_socket_t fd, short what, void *arg)
{
        struct tui *t = arg;
        char *model_id, *scope, *cause = NULL;
        bool pending;

        (void)fd;
        (void)what;
        pthread_mutex_lock(&t->lock);
        pending = t->pending;
        model_id = t->model_id;
        scope = t->scope;
        t->pending = false;
        t->model_id = NULL;
        t->scope = NULL;
        pthread_mutex_unlock(&t->lock);
        if (pending && server_switch_model(t->app->server, model_id, scope, &cause) != 0) {
                log_warn("model switch refused: %s", cause);
                free(cause);
        }
        free(model_id);
        free(scope);
}

/* UI thread: queues a switch and wakes the core. */
static void tui_switch(void *arg, const char *model_id, const char *scope)
{
        struct tui *t = arg;

        pthread_mutex_lock(&t->lock);
        free(t->model_id);
        free(t->scope);
        t->model_id = model_id != NULL ? xstrdup(model_id) : NULL;
        t->scope = scope != NULL ? xstrdup(scope) : NULL;
        t->pending = true;
        pthread_mutex_unlock(&t->lock);
        event_active(t->apply, EV_READ, 0);
}

static uint64_t tui_dropped(void *arg)
{
        struct tui *t = arg;
        return recorder_dropped(&t->app->server->recorder, "ui");
}

static void *core_thread(void *arg)
{
        struct tui *t = arg;

        event_base_dispatch(t->app->base);
        atomic_store(&t->core_stopped, 1);
        ring_wake(t->ring);
        return NULL;
}

/* The inspector's ring and command path; made before the first record so it sees them all. */
static struct tui *tui_new(struct app *a)
{
        struct tui *t = xcalloc(1, sizeof *t);

        t->app = a;
        t->ring = ring_new(1 << 16);
        pthread_mutex_init(&t->lock, NULL);
        t->apply = event_new(a->base, -1, 0, on_tui_switch, t);
        recorder_add_sink(&a->server->recorder, "ui", t->ring);
        return t;
}

static void tui_free(struct tui *t)
{
        if (t == NULL)
                return;
        event_free(t->apply);
        pthread_mutex_destroy(&t->lock);
        free(t->model_id);
        free(t->scope);
        ring_free(t->ring);
        free(t);
}

/* Runs the inspector on this thread and the proxy on another until the user quits. */
static int run_tui(struct tui *t, const char *listen)
{
        struct ui_options o = {0};
        pthread_t core;
        int rc;

        o.records = t->ring;
        o.listen = listen;
        o.journal = t->app->server->journal_dir;
        o.no_color = getenv("NO_COLOR") != NULL && getenv("NO_COLOR")[0] != '\0';
        o.switch_model = tui_switch;
        o.dropped = tui_dropped;
        o.arg = t;
        o.core_stopped = &t->core_stopped;
        log_set_quiet(1); /* the screen is the inspector's now */
        if (pthread_create(&core, NULL, core_thread, t) != 0) {
                log_set_quiet(0);
                fprintf(stderr, "claude-proxy: cannot start the core thread\n");
                return 1;
        }
        rc = ui_run(&o);
        event_base_loopexit(t->app->base, NULL);
        pthread_join(core, NULL);
        log_set_quiet(0);
        return rc == 0 ? 0 : 1;
}

static void settings_from(const struct cli *c, const struct config *cfg, struct server_settings *s)
{
        server_settings_defaults(s, cfg);
        if (c->host != NULL)
                s->host = c->host;
        if (c->port >= 0)
                s->port = c->port;
        s->debug = c->debug;
}

/*
 * The loop. epoll's changelist applies each socket's additions and removals once per loop
 * iteration instead of one epoll_ctl() per change: a request adds and removes its sockets'
 * read and write interest several times (evhttp's writes, curl's socket callback), and those
 * system calls were a tenth of the proxy's CPU on small requests. The changelist's known
 * pitfall, one open file behind two descriptors (dup), does not occur here.
 */
static struct event_base *new_base(void)
{
        struct event_config *ec = event_config_new();
        struct event_base *base;

        event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        base = event_base_new_with_config(ec);
        event_config_free(ec);
        return base != NULL ? base : event_base_new();
}

int main(int argc, char **argv)
{
        struct cli cli;
        struct app app = {0};
        struct server_settings settings;
        struct config *cfg = NULL;
        char *cause = NULL;
        int rc = 0;
        struct event *sigint;
        struct event *sigterm;

        if (argc > 1 && strcmp(argv[1], "replay") == 0)
                return replay_main(argc - 1, argv + 1);
        if (parse_cli(argc, argv, &cli) != 0)
                return 2;
        alloc_init_cjson();
        curl_global_init(CURL_GLOBAL_DEFAULT);
        signal(SIGPIPE, SIG_IGN);
        if (cli.replay != NULL && !cli.tui) {
                fprintf(stderr, "claude-proxy: --replay goes with --tui (for the headless "
                                "listing use: claude-proxy replay FILE)\n");
                return 2;
        }
        if (cli.tui && cli.replay != NULL) {
                struct ui_options o = {.replay = cli.replay};
                o.no_color = getenv("NO_COLOR") != NULL && getenv("NO_COLOR")[0] != '\0';
                return ui_run(&o) == 0 ? 0 : 1;
        }
        if (cli.tui)
                evthread_use_pthreads(); /* the inspector wakes the core with event_active */
        if (cli.debug)
                log_set_level(LOG_DEBUG);

        app.config_path = config_search(cli.config, &cause);
        if (app.config_path == NULL || config_load(app.config_path, &cfg, &cause) != 0) {
                fprintf(stderr, "claude-proxy: %s\n", cause);
                free(cause);
                free(app.config_path);
                return 1;
        }
        stat(app.config_path, &app.config_stat);
        settings_from(&cli, cfg, &settings);
        print_config(cfg);

        app.base = new_base();
        app.server = server_new(app.base, cfg, &settings, &cause);
        if (app.server == NULL) {
                fprintf(stderr, "claude-proxy: %s\n", cause);
                free(cause);
                event_base_free(app.base);
                free(app.config_path);
                return 1;
        }
        if (!cli.no_journal && start_journal(&app, &cli) != 0) {
                server_free(app.server);
                event_base_free(app.base);
                free(app.config_path);
                return 1;
        }
        if (cli.tui)
                app.tui = tui_new(&app);
        trace_config(&app.server->recorder, app.config_path, app.server->config->cfg, NULL);
        fprintf(stderr, "claude-proxy %s listening on http://%s:%d%s\n", CP_VERSION, settings.host,
                app.server->port,
                cli.debug ? " (development mode: logging requests, reloading config)" : "");
        fprintf(stderr, "use it with:  ANTHROPIC_BASE_URL=http://%s:%d claude\n", settings.host,
                app.server->port);
        fflush(stderr);

        sigint = evsignal_new(app.base, SIGINT, on_signal, &app);
        sigterm = evsignal_new(app.base, SIGTERM, on_signal, &app);
        evsignal_add(sigint, NULL);
        evsignal_add(sigterm, NULL);
        app.grace = evtimer_new(app.base, on_grace, &app);
        if (cli.debug) {
                struct timeval second = {1, 0};
                app.reload = event_new(app.base, -1, EV_PERSIST, on_reload_tick, &app);
                evtimer_add(app.reload, &second);
        }

        if (app.tui != NULL) {
                char listen[300];
                snprintf(listen, sizeof listen, "%s:%d", settings.host, app.server->port);
                rc = run_tui(app.tui, listen);
        } else {
                event_base_dispatch(app.base);
        }

        if (app.reload != NULL)
                event_free(app.reload);
        event_free(app.grace);
        event_free(sigint);
        event_free(sigterm);
        server_free(app.server);
        tui_free(app.tui);         /* after the server: it fed the inspector's ring */
        journal_free(app.journal); /* after the server: its last records are queued */
        event_base_free(app.base);
        free(app.config_path);
        curl_global_cleanup();
        return rc;
}
