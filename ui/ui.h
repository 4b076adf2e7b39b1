/*
 * ui: the live inspector (claude-proxy --tui). It runs on its own thread and owns ncurses and
 * its own copy of what it shows; it learns everything from records the core sends through a
 * ring (never by touching core state), and asks the core for changes through callbacks that
 * only queue a command. The screen shows what the core confirmed: a model switch appears when
 * its model_switch record arrives.
 */
#ifndef CP_UI_H
#define CP_UI_H

#include "ring.h"

#include <stdatomic.h>
#include <stdint.h>

struct ui_options {
        /* Live mode: records from the core (the UI is the ring's only consumer). NULL in
         * replay mode. */
        struct ring *records;
        const char *listen;  /* "127.0.0.1:8082", shown in the status bar and used by re-send */
        const char *journal; /* the journal directory, or NULL */
        const char *replay;  /* --replay FILE: show that journal read-only, or NULL */
        int no_color;        /* NO_COLOR is set */

        /* Asks the core to route new requests to model_id (NULL: back to models.yaml
         * routing), for every request (scope NULL) or only those asking for the model named
         * by scope. Returns at once; the core answers with a model_switch record. */
        void (*switch_model)(void *arg, const char *model_id, const char *scope);
        /* Records the core could not queue for the UI so far (safe from the UI thread). */
        uint64_t (*dropped)(void *arg);
        void *arg;
        /* Set (and the records ring woken) when the core has stopped, e.g. on SIGTERM: the UI
         * then exits as if the user had quit. NULL in replay mode. */
        const atomic_int *core_stopped;
};

/* Runs the inspector until the user quits; restores the terminal on every way out. 0 on a
 * normal quit, -1 (with a message on stderr after the terminal is restored) on failure. */
int ui_run(const struct ui_options *o);

#endif
