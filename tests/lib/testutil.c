/*
 * testutil: fixture and JSON helpers for the unit tests (see testutil.h).
 */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *testutil_read_file(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *data;
        long n;

        if (f == NULL)
                return NULL;
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        data = malloc((size_t)n + 1);
        if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
                free(data);
                fclose(f);
                return NULL;
        }
        data[n] = '\0';
        fclose(f);
        if (len != NULL)
                *len = (size_t)n;
        return data;
}

char *testutil_read_fixture(const char *rel, size_t *len)
{
        char path[1024];
        char *data;

        snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, rel);
        data = testutil_read_file(path, len);
        if (data == NULL)
                fail_msg("cannot read fixture %s", path);
        return data;
}

void testutil_each_line(const char *path, void (*fn)(void *arg, const char *line, size_t n),
                        void *arg)
{
        FILE *f = fopen(path, "r");
        char line[1 << 16];

        if (f == NULL)
                fail_msg("cannot read %s", path);
        while (fgets(line, sizeof line, f) != NULL) {
                size_t n = strlen(line);
                while (n > 0 && line[n - 1] == '\n')
                        n--;
                fn(arg, line, n);
        }
        fclose(f);
}

cJSON *testutil_json(const char *text)
{
        cJSON *j = cJSON_Parse(text);
        if (j == NULL)
                fail_msg("invalid JSON in test: %s", text);
        return j;
}

int testutil_json_equal(const cJSON *a, const cJSON *b)
{
        return cJSON_Compare(a, b, 1);
}
