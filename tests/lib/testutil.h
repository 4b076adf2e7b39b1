/*
 * testutil: helpers shared by the cmocka programs: reading fixture files and parsing JSON
 * literals in assertions.
 */
#ifndef CP_TESTUTIL_H
#define CP_TESTUTIL_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Reads FIXTURES_DIR/rel into a NUL-terminated heap buffer; fails the test if missing. */
char *testutil_read_fixture(const char *rel, size_t *len);
/* Reads any path. NULL when it cannot be read. */
char *testutil_read_file(const char *path, size_t *len);
/* Calls fn for each line of a file, without its newline; fails the test when it cannot be read. */
void testutil_each_line(const char *path, void (*fn)(void *arg, const char *line, size_t n),
                        void *arg);
/* Parses JSON text; fails the test when it is invalid. */
cJSON *testutil_json(const char *text);
/* True when the two JSON texts/trees are equal (object key order ignored). */
int testutil_json_equal(const cJSON *a, const cJSON *b);

#endif
