/*
 * journal: the JSONL writer (docs/journal-format.md). It runs on its own thread, fed by a ring
 * from the recorder, so the core thread never waits for a disk. Lines are buffered and handed
 * to the kernel at least every 200 ms (or every 64 KiB), which bounds what a crash loses.
 * Files are per day, capped in size with rotation, and the directory is capped in total.
 */
#ifndef CP_JOURNAL_H
#define CP_JOURNAL_H

#include "ring.h"

#include <stdint.h>

struct journal_settings {
        const char *dir;      /* created 0700 if missing */
        long long max_file;   /* bytes per file before rotating */
        long long max_total;  /* bytes of journal files in dir before the oldest go */
        size_t ring_capacity; /* records queued for the writer */
};

struct journal;

/* The default directory: $XDG_STATE_HOME/claude-proxy/journal or ~/.local/state/…. Caller frees. */
char *journal_default_dir(void);
/* Creates the directory and starts the writer. NULL with *cause when the dir is unusable. */
struct journal *journal_new(const struct journal_settings *s, char **cause);
/* Writes everything still queued, stops the thread, frees. */
void journal_free(struct journal *j);
/* The ring the recorder feeds. */
struct ring *journal_ring(struct journal *j);
/* The file being written now (for status lines). Core thread: a copy made at open. */
const char *journal_dir(const struct journal *j);

#endif
