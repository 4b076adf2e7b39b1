/*
 * driver: runs a fuzz target without libFuzzer (see fuzz.h). Every file named on the command
 * line (a directory stands for the files in it) is run as it is, then as ROUNDS seeded
 * mutations of it: bytes replaced by JSON- and SSE-significant ones, inserted, deleted,
 * duplicated, cut short, or spliced with another input. The same inputs and seed always run the
 * same cases, so a failure in CI reproduces; each case is written to <target>-failure.bin in
 * the working directory before the target runs it, so a crash leaves the case behind (the file
 * is removed when every case passed).
 *
 *   fuzz_<name> [--rounds N] [--seed S] PATH...
 */
#include "fuzz.h"

#include "alloc.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

struct input {
        uint8_t *p;
        size_t n;
};

static struct input *inputs;
static size_t n_inputs;

static void add_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        struct input in = {NULL, 0};
        uint8_t chunk[65536];
        size_t got;

        if (f == NULL) {
                perror(path);
                exit(2);
        }
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
                in.p = xrealloc(in.p, in.n + got);
                memcpy(in.p + in.n, chunk, got);
                in.n += got;
        }
        fclose(f);
        inputs = xrealloc(inputs, (n_inputs + 1) * sizeof *inputs);
        inputs[n_inputs++] = in;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of a directory, in name order so runs are deterministic. */
static void add_path(const char *path)
{
        struct stat st;
        DIR *d;
        const struct dirent *e;
        char **names = NULL;
        size_t n = 0;

        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
                add_file(path);
                return;
        }
        d = opendir(path);
        while (d != NULL && (e = readdir(d)) != NULL) {
                if (e->d_name[0] == '.')
                        continue;
                names = xrealloc(names, (n + 1) * sizeof *names);
                names[n++] = xasprintf("%s/%s", path, e->d_name);
        }
        if (d != NULL)
                closedir(d);
        qsort(names, n, sizeof *names, name_cmp);
        for (size_t i = 0; i < n; i++) {
                add_file(names[i]);
                free(names[i]);
        }
        free(names);
}

static uint64_t rng;
static char failure_path[256];

static uint64_t next(void)
{
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static size_t below(size_t n)
{
        return n > 0 ? (size_t)(next() % n) : 0;
}

/* One to four edits of a copy of in; returns the new length. */
static size_t mutate(const struct input *in, uint8_t **out)
{
        static const char special[] =
            "{}[]\":,\\ \n\r\t0-.eE+tfnu\x00\xff\xc3\xa9:data: event: [DONE]";
        size_t cap = in->n * 2 + 64;
        uint8_t *p = xmalloc(cap);
        size_t n = in->n;
        int edits = 1 + (int)below(4);

        memcpy(p, in->p, n);
        for (int e = 0; e < edits; e++) {
                size_t at = below(n + 1), len = 1 + below(16);

                switch (below(6)) {
                case 0: /* replace a byte */
                        if (n > 0)
                                p[below(n)] = (uint8_t)special[below(sizeof special - 1)];
                        break;
                case 1: /* insert a byte */
                        if (n < cap) {
                                memmove(p + at + 1, p + at, n - at);
                                p[at] = (uint8_t)(below(2) ? special[below(sizeof special - 1)]
                                                           : (char)below(256));
                                n++;
                        }
                        break;
                case 2: /* delete a run */
                        if (at < n) {
                                len = len < n - at ? len : n - at;
                                memmove(p + at, p + at + len, n - at - len);
                                n -= len;
                        }
                        break;
                case 3: /* duplicate a run */
                        if (at < n && n + len <= cap) {
                                len = len < n - at ? len : n - at;
                                memmove(p + at + len, p + at, n - at);
                                n += len;
                        }
                        break;
                case 4: /* cut short */
                        n = at < n ? at : n;
                        break;
                default: { /* splice: the start of this with the rest of another input */
                        const struct input *o = &inputs[below(n_inputs)];
                        size_t from = below(o->n + 1), take = o->n - from;

                        if (take > cap - (at < n ? at : n))
                                take = cap - (at < n ? at : n);
                        n = at < n ? at : n;
                        memcpy(p + n, o->p + from, take);
                        n += take;
                }
                }
        }
        *out = p;
        return n;
}

/* Saves the case about to run, so a crash leaves it behind. */
static void keep(const uint8_t *p, size_t n)
{
        FILE *f = fopen(failure_path, "wb");

        if (f != NULL) {
                fwrite(p, 1, n, f);
                fclose(f);
        }
}

int main(int argc, char **argv)
{
        long rounds = 200;
        unsigned long long seed = 1;
        size_t runs = 0;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
                        rounds = atol(argv[++i]);
                else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
                        seed = strtoull(argv[++i], NULL, 10);
                else
                        add_path(argv[i]);
        }
        if (n_inputs == 0) {
                fprintf(stderr, "usage: %s [--rounds N] [--seed S] PATH...\n", argv[0]);
                return 2;
        }
        snprintf(failure_path, sizeof failure_path, "%s-failure.bin",
                 strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 : argv[0]);
        rng = seed * 0x9E3779B97F4A7C15ULL + 1;
        for (size_t i = 0; i < n_inputs; i++) {
                keep(inputs[i].p, inputs[i].n);
                LLVMFuzzerTestOneInput(inputs[i].p, inputs[i].n);
                runs++;
                for (long r = 0; r < rounds; r++) {
                        uint8_t *p;
                        size_t n = mutate(&inputs[i], &p);

                        keep(p, n);
                        LLVMFuzzerTestOneInput(p, n);
                        free(p);
                        runs++;
                }
        }
        remove(failure_path);
        for (size_t i = 0; i < n_inputs; i++)
                free(inputs[i].p);
        free(inputs);
        printf("%s: %zu inputs, %zu runs, no failure\n", argv[0], n_inputs, runs);
        return 0;
}
