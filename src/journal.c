/*
 * journal: the writer thread (see journal.h).
 *
 * The thread pops records, formats each as one line into a buffer, and writes the buffer when
 * it holds 64 KiB or its oldest line is 200 ms old, then sleeps on the ring. Every line is
 * written whole in one write() of the buffer, so a reader sees either a complete line or, after
 * a crash mid-write, a cut last line it can skip. No fsync: the kernel keeps what was written
 * across a kill -9 of the proxy, and syncing would cost more than the guarantee is worth.
 */
#include "journal.h"

#include "alloc.h"
#include "buf.h"
#include "json.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_BYTES    (64 * 1024)
#define FLUSH_MS       200
#define NAP_MS         5 /* between drains while records keep coming */
#define POP_BATCH      32
#define PREFETCH_LINES 4 /* a chunk record's payload: header and ~200 bytes */
#define PREALLOC_STEP  (8LL << 20)

struct journal {
        char *dir;
        long long max_file;
        long long max_total;
        struct ring *ring;
        pthread_t thread;
        atomic_int stop;
        int fd;
        char day[16];       /* YYYY-MM-DD of the open file */
        int part;           /* rotation index within the day */
        time_t day_checked; /* the second whose day was last checked */
        long long size;     /* bytes in the open file */
        long long prealloc; /* the open file's blocks are allocated up to here (see reserve) */
        bool no_prealloc;   /* the file system cannot (fallocate failed) */
        struct buf out;     /* formatted lines not yet written */
        struct timespec first_pending;
        int pid;
};

char *journal_default_dir(void)
{
        const char *state = getenv("XDG_STATE_HOME");
        const char *home = getenv("HOME");

        if (state != NULL && *state == '/')
                return xasprintf("%s/claude-proxy/journal", state);
        return xasprintf("%s/.local/state/claude-proxy/journal", home != NULL ? home : "");
}

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *path, char **cause)
{
        char *p = xstrdup(path);

        for (char *s = p + 1; *s != '\0'; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                        *cause = xasprintf("cannot create %s: %s", p, strerror(errno));
                        free(p);
                        return -1;
                }
                *s = '/';
        }
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
                *cause = xasprintf("cannot create %s: %s", p, strerror(errno));
                free(p);
                return -1;
        }
        free(p);
        return 0;
}

static void file_name(const struct journal *j, const char *day, int part, char *out, size_t n)
{
        if (part == 0)
                snprintf(out, n, "%s/%s.jsonl", j->dir, day);
        else
                snprintf(out, n, "%s/%s.%d.jsonl", j->dir, day, part);
}

static int is_journal_file(const char *name)
{
        size_t n = strlen(name);
        return n > 6 && strcmp(name + n - 6, ".jsonl") == 0 && name[0] >= '0' && name[0] <= '9';
}

struct old_file {
        char name[256];
        time_t mtime;
        long long size;
};

static int by_mtime(const void *a, const void *b)
{
        const struct old_file *x = a;
        const struct old_file *y = b;
        return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

/* Removes the oldest journal files while the directory holds more than max_total. A file counts
 * with what it takes on disk: a file closed on a new day keeps the blocks reserved past its end
 * (see reserve; giving them back would mean truncating a file another proxy may be appending
 * to), and the cap is about the disk. */
static void enforce_total(struct journal *j, const char *current)
{
        DIR *d = opendir(j->dir);
        struct old_file *files = NULL;
        size_t n = 0;
        long long total = 0;
        struct dirent *e;

        if (d == NULL)
                return;
        while ((e = readdir(d)) != NULL) {
                char path[4096];
                struct stat st;
                if (!is_journal_file(e->d_name))
                        continue;
                snprintf(path, sizeof path, "%s/%s", j->dir, e->d_name);
                if (stat(path, &st) != 0)
                        continue;
                files = xrealloc(files, (n + 1) * sizeof *files);
                snprintf(files[n].name, sizeof files[n].name, "%s", e->d_name);
                files[n].mtime = st.st_mtime;
                files[n].size = (long long)st.st_blocks * 512 > (long long)st.st_size
                                    ? (long long)st.st_blocks * 512
                                    : (long long)st.st_size;
                total += files[n].size;
                n++;
        }
        closedir(d);
        qsort(files, n, sizeof *files, by_mtime);
        for (size_t i = 0; i < n && total > j->max_total; i++) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", j->dir, files[i].name);
                if (strcmp(path, current) == 0)
                        continue;
                if (unlink(path) == 0)
                        total -= files[i].size;
        }
        free(files);
}

/* Opens the file for the record's day, rotating on a new day or when the cap is reached. */
static void open_for(struct journal *j, const struct timespec *wall)
{
        char day[16];
        char path[4096];
        struct tm tm;
        struct stat st;

        /* The day can only change when the second does. */
        if (j->fd >= 0 && wall->tv_sec == j->day_checked && j->size < j->max_file)
                return;
        j->day_checked = wall->tv_sec;
        localtime_r(&wall->tv_sec, &tm);
        strftime(day, sizeof day, "%Y-%m-%d", &tm);
        if (j->fd >= 0 && strcmp(day, j->day) == 0 && j->size < j->max_file)
                return;
        if (j->fd >= 0)
                close(j->fd);
        if (strcmp(day, j->day) != 0) {
                snprintf(j->day, sizeof j->day, "%s", day);
                j->part = 0;
        }
        /* Find the first part of the day that still has room (a restart appends to it). */
        for (;;) {
                file_name(j, j->day, j->part, path, sizeof path);
                if (stat(path, &st) != 0 || st.st_size < j->max_file)
                        break;
                j->part++;
        }
        j->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        j->size = j->fd >= 0 && fstat(j->fd, &st) == 0 ? st.st_size : 0;
        j->prealloc = j->size;
        if (j->fd < 0)
                log_error("journal: cannot open %s: %s", path, strerror(errno));
        enforce_total(j, path);
}

/* Allocates the file's blocks 8 MiB at a time ahead of the writes (fallocate, keeping the size:
 * readers see only what was written). Page by page, ext4's delayed allocation (reserving space
 * and tracking each new block) had been a tenth to a fifth of the writer's CPU time. At most one
 * step stays allocated past the end of the newest file, and never past the size cap. */
static void reserve(struct journal *j, size_t n)
{
        long long end;

        if (j->no_prealloc || j->size + (long long)n <= j->prealloc || j->prealloc >= j->max_file)
                return;
        end = j->size + (long long)n + PREALLOC_STEP;
        if (end > j->max_file)
                end = j->max_file;
        if (fallocate(j->fd, FALLOC_FL_KEEP_SIZE, j->prealloc, end - j->prealloc) != 0)
                j->no_prealloc = errno == EOPNOTSUPP || errno == ENOSYS;
        j->prealloc = end;
}

static void write_out(struct journal *j)
{
        size_t done = 0;

        if (j->fd >= 0)
                reserve(j, j->out.len);

        while (done < j->out.len && j->fd >= 0) {
                ssize_t w = write(j->fd, j->out.data + done, j->out.len - done);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0) {
                        log_error("journal: write failed: %s", strerror(errno));
                        break;
                }
                done += (size_t)w;
        }
        j->size += (long long)done;
        buf_clear(&j->out);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
        return (b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void *writer(void *arg)
{
        struct journal *j = arg;
        struct record batch[POP_BATCH];

        for (;;) {
                bool got = false;
                struct timespec now;

                for (;;) {
                        size_t n = 0;

                        /* Payloads were written by the core on another CPU: take a batch and
                         * prefetch their first lines, so the misses overlap rather than stall
                         * the escaping loop one record at a time. */
                        while (n < POP_BATCH && ring_pop(j->ring, &batch[n])) {
                                const char *p = (const char *)batch[n].payload;
                                if (p != NULL)
                                        for (int l = 0; l < PREFETCH_LINES; l++)
                                                __builtin_prefetch(p + 64 * l);
                                n++;
                        }
                        if (n == 0)
                                break;
                        got = true;
                        for (size_t i = 0; i < n; i++) {
                                struct record *r = &batch[i];
                                open_for(j, &r->wall);
                                if (j->out.len == 0)
                                        clock_gettime(CLOCK_MONOTONIC, &j->first_pending);
                                record_format(r, j->pid, &j->out);
                                buf_putc(&j->out, '\n');
                                record_payload_unref(r->payload);
                                /* A day or size boundary inside the buffer: write what belongs
                                 * to the old file before the next record may open a new one. */
                                if (j->size + (long long)j->out.len >= j->max_file ||
                                    j->out.len >= FLUSH_BYTES)
                                        write_out(j);
                        }
                }
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (j->out.len > 0 && (!got || ms_between(&j->first_pending, &now) >= FLUSH_MS))
                        write_out(j);
                if (atomic_load(&j->stop) && ring_count(j->ring) == 0)
                        break;
                if (got) {
                        /* Records are coming: nap, then take what arrived meanwhile in one
                         * batch. The sleeping flag stays clear, so the core pushes without a
                         * system call instead of waking this thread record by record. */
                        struct timespec nap = {0, NAP_MS * 1000000L};
                        nanosleep(&nap, NULL);
                } else {
                        ring_wait(j->ring, j->out.len > 0 ? FLUSH_MS : 1000);
                }
        }
        write_out(j);
        return NULL;
}

struct journal *journal_new(const struct journal_settings *s, char **cause)
{
        struct journal *j;

        if (make_dirs(s->dir, cause) != 0)
                return NULL;
        if (access(s->dir, W_OK) != 0) {
                *cause = xasprintf("cannot write to %s: %s", s->dir, strerror(errno));
                return NULL;
        }
        j = xcalloc(1, sizeof *j);
        j->dir = xstrdup(s->dir);
        j->max_file = s->max_file > 0 ? s->max_file : 64LL << 20;
        j->max_total = s->max_total > 0 ? s->max_total : 1LL << 30;
        j->ring = ring_new(s->ring_capacity > 0 ? s->ring_capacity : 16384);
        j->fd = -1;
        j->pid = (int)getpid();
        buf_init(&j->out);
        if (pthread_create(&j->thread, NULL, writer, j) != 0) {
                *cause = xasprintf("cannot start the journal thread: %s", strerror(errno));
                ring_free(j->ring);
                free(j->dir);
                free(j);
                return NULL;
        }
        return j;
}

void journal_free(struct journal *j)
{
        if (j == NULL)
                return;
        atomic_store(&j->stop, 1);
        ring_wake(j->ring);
        pthread_join(j->thread, NULL);
        if (j->fd >= 0)
                close(j->fd);
        ring_free(j->ring);
        buf_fini(&j->out);
        free(j->dir);
        free(j);
        /* The writer's last unrefs queued their payloads for the core, which has stopped. */
        record_payload_collect();
}

struct ring *journal_ring(struct journal *j)
{
        return j->ring;
}

const char *journal_dir(const struct journal *j)
{
        return j->dir;
}
