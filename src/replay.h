/*
 * replay: reads the journal back (docs/journal-format.md) and regroups its records into
 * sessions and requests, each request with its records in order and a summary derived from
 * them (models, mode, status, tokens, time to first token, duration, stop reason, tool calls,
 * replay_of, failed). `claude-proxy replay` lists that and re-sends a session through the
 * proxy's own pipeline (docs/replay.md); the inspector reuses the reader, fed live records.
 *
 * The reader is incremental: replay_journal_add_line() takes one JSONL line at a time, in any
 * state of a request (a summary is complete once its `end` arrived), and replay_journal_load()
 * is that over a file. Each record is kept as its line, parsed again only when someone looks
 * inside it, so memory stays close to the journal's size.
 *
 * replay_journal_add_record() takes a record straight from a ring (the inspector's feed) without
 * the text round trip: it keeps a copy of the record's payload (the shared one goes back to its
 * producer at once) and the few header fields its line is made of, reads only the members the
 * summary needs (most records need none; a client request's body is scanned, the small payloads
 * read in place with jscan, not parsed), and writes the line only when someone asks for it
 * (replay_record_text, replay_record_parse). Both ways read the same.
 */
#ifndef CP_REPLAY_H
#define CP_REPLAY_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct record_payload;

struct replay_record {
        uint64_t seq;
        int kind;   /* enum record_kind; -1 for a kind this reader does not know */
        char *line; /* the JSON line as read, NUL-terminated, without the newline; NULL for a
                     * record taken from a ring, whose line is made on demand from: */
        size_t len;
        struct record_payload *payload; /* a reference to the ring record's payload, or NULL */
        const char *model;              /* its model (interned by the journal), "" when none */
        int64_t mono_ns;
        int64_t wall_sec;
        int32_t wall_nsec;
        bool raw; /* the payload is the record's raw `data` bytes */
        bool own; /* the payload is this reader's copy, in its request's copies */
};

struct replay_request {
        size_t index; /* in the journal's requests */
        char *id;
        char *session;     /* "" when the records carry none */
        char time[40];     /* wall time of the first record, as written (RFC 3339, UTC) */
        double wall;       /* the same in seconds since the epoch; 0 when unknown */
        char *path;        /* client_request path, NULL when not seen */
        char *model;       /* the model the client asked for, NULL when unknown */
        char *model_id;    /* the entry it was routed to, NULL when unknown */
        char *mode;        /* "translate" or "direct", NULL when unknown */
        int status;        /* HTTP status sent to the client; 0 while unknown */
        bool stream;       /* the client asked for a stream */
        bool count_tokens; /* a /v1/messages/count_tokens request */
        bool has_usage;    /* the token counts below are known */
        long input_tokens; /* Anthropic meaning: excludes cache */
        long output_tokens;
        long cache_read_tokens;
        long cache_creation_tokens;
        long ttft_ms;     /* -1 when unknown */
        long duration_ms; /* -1 when unknown */
        char *stop_reason;
        int tool_calls;
        char **tool_names; /* from the answer the client got, in order */
        size_t n_tool_names;
        int attempts;    /* upstream attempts */
        char *replay_of; /* the original's request id when this is a re-send */
        char *error;     /* "where: message" of the last error record, or NULL */
        bool failed;
        bool ended;           /* the `end` record was seen */
        bool released;        /* its chunk and stream-event records were released (see below) */
        bool bodies_released; /* and every other record too: only this summary stays */
        bool reload_tried;    /* replay_request_reload() was asked to read them back */
        bool reloaded;        /* and it did */
        /* The copies of its ring records' payloads, in blocks (see payload_copy in replay.c):
         * [1] the stream records' (chunks and events), [0] the others'. */
        struct replay_copies *copies[2];

        struct replay_record *records; /* in journal order */
        size_t n_records;

        /* Reader state. */
        size_t cap_records;
        bool usage_from_record; /* a usage record beats counts seen in the answer */
        bool stop_from_end;
        bool tools_from_end;
};

struct replay_session {
        char *id;                         /* "" for requests of no session */
        struct replay_request **requests; /* in order of their first record */
        size_t n_requests;
        size_t cap_requests;
        /* The sessions in order of their latest request (the one whose first record came
         * last): the journal's first_active to last_active. */
        struct replay_session *less_active, *more_active;
};

/* What a session's requests add up to. */
struct replay_totals {
        size_t requests;
        size_t failed;
        long input_tokens;
        long output_tokens;
        long cache_read_tokens;
        long cache_creation_tokens;
        long duration_ms;
        double first_wall; /* earliest request start, 0 when unknown */
        double last_wall;
};

struct replay_journal {
        struct replay_request **requests; /* in order of their first record */
        size_t n_requests;
        struct replay_session **sessions; /* in order of their first record */
        size_t n_sessions;
        struct replay_record *other; /* records of no request: config, model_switch, dropped */
        size_t n_other;
        size_t lines;       /* non-empty lines taken */
        size_t bad_lines;   /* lines skipped because they were not journal records */
        size_t first_bad;   /* line number of the first skipped line, 0 when none */
        bool truncated;     /* the last line of the file did not parse (cut by a crash) */
        uint64_t dropped;   /* sum of `dropped` records' counts */
        bool last_line_bad; /* the line added last was bad (load turns it into truncated) */
        struct replay_session *first_active, *last_active; /* see replay_session */
        struct replay_request *last_request; /* the one the last record went to, or NULL */

        /* Reader state. */
        size_t cap_requests, cap_sessions, cap_other;
        struct replay_index *by_request;
        struct replay_index *by_session;
        struct replay_index *models; /* interned model names of ring records */
        const char *last_model;
        char *scan; /* a record's members in braces, for jscan */
        size_t scan_cap;
        int64_t stamp_sec; /* the second stamp[] was written for */
        char stamp[24];
        double stamp_wall; /* stamp read back by parse_time */
};

struct replay_journal *replay_journal_new(void);
void replay_journal_free(struct replay_journal *j);

/*
 * Takes one journal line (n bytes, no newline needed). Returns 0, or -1 when the line is not a
 * journal record (it is counted in bad_lines and skipped). Blank lines are ignored.
 */
int replay_journal_add_line(struct replay_journal *j, const char *line, size_t n);

struct buf;
struct record;
/*
 * Takes one record as the core thread made it (the inspector's ring, or replay --resend's own),
 * as if its journal line had been read (with pid 0): same summary, same record text. Keeps a
 * copy of its payload (the caller still releases its own). Returns 0.
 */
int replay_journal_add_record(struct replay_journal *j, const struct record *rec);
/* The same, taking (and dropping at once) the caller's payload reference. The request keeps
 * a copy either way: held for thousands of requests, shared payloads kept the producer's
 * allocator from reusing warm memory, which cost the core more than the copy costs here. */
int replay_journal_take_record(struct replay_journal *j, const struct record *rec);

/*
 * Reads a journal file. A last line that does not parse sets truncated (a crash cut it); bad
 * lines elsewhere are skipped and counted. -1 with *cause when the file cannot be read.
 */
int replay_journal_load(const char *path, struct replay_journal **out, char **cause);

struct replay_request *replay_journal_request(const struct replay_journal *j, const char *id);
struct replay_session *replay_journal_session(const struct replay_journal *j, const char *id);
/*
 * The session named by id, or by a prefix of its id that no other session shares. NULL when
 * none matches; *ambiguous is set when several do.
 */
struct replay_session *replay_journal_find_session(const struct replay_journal *j, const char *id,
                                                   bool *ambiguous);

/*
 * Frees the lines of r's upstream_chunk and client_event records, the bulk of a streamed
 * request, keeping its summary and every other record. The inspector does this for old finished
 * requests so that a day of traffic fits in memory; the journal still has the bytes.
 */
void replay_request_release_stream(struct replay_request *r);
/* The same for every record: the summary alone stays. */
void replay_request_release_bodies(struct replay_request *r);
/*
 * Reads a released request's records back from the journal files in dir (the live proxy's
 * journal): the files last written since the request started are scanned, oldest write first,
 * for the lines naming it, until a file that held its `end`. They replace the records r holds;
 * its summary stays as it is. Returns the number of records found, or -1 with *cause (none
 * found: the journal was off, its files were removed, or it dropped them).
 */
long replay_request_reload(struct replay_request *r, const char *dir, char **cause);

void replay_session_totals(const struct replay_session *s, struct replay_totals *out);

/*
 * Appends rec's journal line (no newline) to out: the line as read, or for a ring record the
 * line record_format() writes. r is the request rec belongs to (NULL for j->other records).
 */
void replay_record_text(const struct replay_request *r, const struct replay_record *rec,
                        struct buf *out);
/* The record parsed; the caller deletes it. NULL when it no longer parses (never for kept). */
cJSON *replay_record_parse(const struct replay_request *r, const struct replay_record *rec);
/* Appends the record's `data` string (chunk or stream bytes) as its line would give it. */
void replay_record_data(const struct replay_request *r, const struct replay_record *rec,
                        struct buf *out);
/* The request's first record of that kind (enum record_kind), or NULL. */
const struct replay_record *replay_request_find(const struct replay_request *r, int kind);

/* Prints the listing: every session (or only `only`), one line per request, with totals. */
void replay_print_list(FILE *f, const struct replay_journal *j, const char *file,
                       const struct replay_session *only);

/* `claude-proxy replay ...`: argv[0] is "replay". Returns the process exit code. */
int replay_main(int argc, char **argv);

#endif
