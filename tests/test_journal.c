/*
 * test_journal: the writer thread end to end through the recorder: one JSON line per record
 * with the common members, 0700 directory and 0600 files, rotation at the size cap, the total
 * cap removing the oldest files, and drops reported in a dropped record.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "journal.h"
#include "json.h"
#include "recorder.h"
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *temp_dir(void)
{
        char tmpl[] = "/tmp/cp-journal-XXXXXX";
        char *d = mkdtemp(tmpl);
        assert_non_null(d);
        return strdup(d);
}

static void remove_tree(const char *dir)
{
        char cmd[512];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/* Concatenates every journal file in dir (sorted by name) and counts files. */
static char *read_all(const char *dir, int *files)
{
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        size_t cap = 1, len = 0;
        char *all = calloc(1, 1);

        *files = 0;
        for (int i = 0; i < n; i++) {
                char path[1024];
                size_t flen = 0;
                char *data;
                if (strstr(names[i]->d_name, ".jsonl") != NULL) {
                        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
                        data = testutil_read_file(path, &flen);
                        assert_non_null(data);
                        all = realloc(all, cap + len + flen);
                        memcpy(all + len, data, flen);
                        len += flen;
                        all[len] = '\0';
                        cap = len + 1;
                        free(data);
                        (*files)++;
                }
                free(names[i]);
        }
        free(names);
        return all;
}

static void emit_n(struct recorder *r, int n, size_t payload_bytes)
{
        struct buf f;
        char *filler = malloc(payload_bytes + 1);

        memset(filler, 'x', payload_bytes);
        filler[payload_bytes] = '\0';
        for (int i = 0; i < n; i++) {
                buf_init(&f);
                buf_printf(&f, "\"i\":%d,\"data\":\"%s\"", i, filler);
                recorder_emit(r, RECORD_UPSTREAM_CHUNK, "sess", "req_1", "m", &f);
                buf_fini(&f);
        }
        free(filler);
}

static void test_lines_and_permissions(void **state)
{
        char *base = temp_dir();
        char dir[512];
        struct journal_settings js = {dir, 0, 0, 1024};
        struct journal *j;
        struct recorder r;
        struct stat st;
        char *all, *line, *save = NULL;
        int files, count = 0;
        char *cause = NULL;

        (void)state;
        snprintf(dir, sizeof dir, "%s/a/b/journal", base);
        j = journal_new(&js, &cause);
        assert_non_null(j);
        recorder_init(&r);
        recorder_add_sink(&r, "journal", journal_ring(j));
        emit_n(&r, 100, 10);
        recorder_emit(&r, RECORD_CONFIG, NULL, NULL, NULL, NULL);
        journal_free(j);

        assert_int_equal(stat(dir, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0700);
        all = read_all(dir, &files);
        assert_int_equal(files, 1);
        for (line = strtok_r(all, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
                cJSON *rec = cJSON_Parse(line);
                double seq;
                assert_non_null(rec);
                assert_true(json_get_num(rec, "seq", &seq));
                assert_int_equal((long)seq, count + 1);
                assert_non_null(json_get_str(rec, "time"));
                assert_non_null(json_get(rec, "mono_ns"));
                assert_non_null(json_get(rec, "pid"));
                if (count < 100) {
                        assert_string_equal(json_get_str(rec, "kind"), "upstream_chunk");
                        assert_string_equal(json_get_str(rec, "session"), "sess");
                        assert_string_equal(json_get_str(rec, "request"), "req_1");
                        assert_string_equal(json_get_str(rec, "model"), "m");
                } else {
                        assert_string_equal(json_get_str(rec, "kind"), "config");
                        assert_null(json_get(rec, "session"));
                }
                cJSON_Delete(rec);
                count++;
        }
        assert_int_equal(count, 101);
        free(all);
        {
                struct dirent **names;
                int n = scandir(dir, &names, NULL, alphasort);
                for (int i = 0; i < n; i++) {
                        char path[1024];
                        if (strstr(names[i]->d_name, ".jsonl") != NULL) {
                                snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
                                assert_int_equal(stat(path, &st), 0);
                                assert_int_equal(st.st_mode & 0777, 0600);
                                /* Blocks are allocated ahead of the writes, but the size is
                                 * only what was written: whole lines, no zeros after them. */
                                {
                                        FILE *f = fopen(path, "rb");
                                        char *data = malloc((size_t)st.st_size + 1);
                                        assert_non_null(f);
                                        assert_non_null(data);
                                        assert_int_equal(fread(data, 1, (size_t)st.st_size + 1, f),
                                                         st.st_size);
                                        assert_true(st.st_size > 0);
                                        assert_int_equal(data[st.st_size - 1], '\n');
                                        assert_null(memchr(data, '\0', (size_t)st.st_size));
                                        free(data);
                                        fclose(f);
                                }
                        }
                        free(names[i]);
                }
                free(names);
        }
        remove_tree(base);
        free(base);
}

static void test_rotation_and_total_cap(void **state)
{
        char *dir = temp_dir();
        /* ~1 KiB per line: 8 KiB files, at most ~24 KiB kept. */
        struct journal_settings js = {dir, 8 * 1024, 24 * 1024, 4096};
        struct journal *j;
        struct recorder r;
        char *all;
        int files;
        char *cause = NULL;

        (void)state;
        j = journal_new(&js, &cause);
        assert_non_null(j);
        recorder_init(&r);
        recorder_add_sink(&r, "journal", journal_ring(j));
        emit_n(&r, 200, 1000);
        journal_free(j);
        all = read_all(dir, &files);
        assert_true(files >= 2);
        assert_true(files <= 4);
        assert_true(strlen(all) <= 24 * 1024 + 8 * 1024);
        /* Every kept line is whole, and the newest record survived. */
        assert_non_null(strstr(all, "\"i\":199,"));
        {
                char *save = NULL;
                for (char *l = strtok_r(all, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                        cJSON *rec = cJSON_Parse(l);
                        assert_non_null(rec);
                        cJSON_Delete(rec);
                }
        }
        free(all);
        remove_tree(dir);
        free(dir);
}

static void test_drops_are_reported(void **state)
{
        struct ring *ring = ring_new(4);
        struct recorder r;
        struct record rec;
        int kinds[RECORD_KIND_COUNT] = {0};
        bool saw_count = false;

        (void)state;
        recorder_init(&r);
        recorder_add_sink(&r, "journal", ring);
        emit_n(&r, 10, 1); /* 4 fit, 6 dropped */
        assert_int_equal(recorder_dropped(&r, "journal"), 6);
        while (ring_pop(ring, &rec))
                record_payload_unref(rec.payload);
        emit_n(&r, 1, 1); /* a dropped record goes first, then this one */
        while (ring_pop(ring, &rec)) {
                kinds[rec.kind]++;
                if (rec.kind == RECORD_DROPPED)
                        saw_count = strstr(rec.payload->data, "\"count\":6") != NULL;
                record_payload_unref(rec.payload);
        }
        assert_int_equal(kinds[RECORD_DROPPED], 1);
        assert_int_equal(kinds[RECORD_UPSTREAM_CHUNK], 1);
        assert_true(saw_count);
        ring_free(ring);
}

static void test_unusable_dir(void **state)
{
        struct journal_settings js = {"/proc/nope/journal", 0, 0, 0};
        char *cause = NULL;

        (void)state;
        assert_null(journal_new(&js, &cause));
        assert_non_null(strstr(cause, "/proc/nope"));
        free(cause);
}

/* The total cap counts disk blocks: an old file that is small but holds blocks reserved past its
 * end (as a file closed on a new day keeps them) is removed once the blocks exceed the cap. */
static void test_total_cap_counts_blocks(void **state)
{
        char *dir = temp_dir();
        struct journal_settings js = {dir, 64 * 1024, 1024 * 1024, 4096};
        char old[1024];
        struct journal *j;
        struct recorder r;
        struct stat st;
        char *cause = NULL;
        int fd;

        (void)state;
        snprintf(old, sizeof old, "%s/2020-01-01.jsonl", dir);
        fd = open(old, O_WRONLY | O_CREAT, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{}\n", 3), 3);
        if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 << 20) != 0) {
                close(fd); /* a file system without fallocate: nothing to count */
                remove_tree(dir);
                free(dir);
                skip();
        }
        close(fd);
        assert_int_equal(stat(old, &st), 0);
        assert_int_equal(st.st_size, 3);
        assert_true((long long)st.st_blocks * 512 >= 4 << 20);
        j = journal_new(&js, &cause);
        assert_non_null(j);
        recorder_init(&r);
        recorder_add_sink(&r, "journal", journal_ring(j));
        emit_n(&r, 10, 100);
        journal_free(j);
        assert_int_not_equal(stat(old, &st), 0); /* 3 bytes long, 4 MiB on disk: removed */
        remove_tree(dir);
        free(dir);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lines_and_permissions),
            cmocka_unit_test(test_rotation_and_total_cap),
            cmocka_unit_test(test_drops_are_reported),
            cmocka_unit_test(test_total_cap_counts_blocks),
            cmocka_unit_test(test_unusable_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
