/*
 * test_ids: SHA-256 against the FIPS 180-4 / NIST example vectors, and the id helpers: random
 * ids, deterministic upstream tool ids per style, client-side id cleaning.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ids.h"
#include "sha256.h"

#include <stdlib.h>
#include <string.h>

static void check_hex(const void *data, size_t len, const char *want)
{
        char hex[65];

        sha256_hex(data, len, hex);
        assert_string_equal(hex, want);
}

static void test_sha256_vectors(void **state)
{
        (void)state;
        check_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        check_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        check_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_million_a(void **state)
{
        size_t n = 1000000;
        char *a = malloc(n);

        (void)state;
        memset(a, 'a', n);
        check_hex(a, n, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        free(a);
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes) take different code paths. */
static void test_sha256_block_edges(void **state)
{
        char buf[130];

        (void)state;
        memset(buf, 'a', sizeof buf);
        check_hex(buf, 55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
        check_hex(buf, 56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
        check_hex(buf, 63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
        check_hex(buf, 64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static int all_in(const char *s, const char *set)
{
        return strspn(s, set) == strlen(s);
}

#define ALNUM "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

static void test_random(void **state)
{
        uint64_t st = 42, st2 = 42;
        char a[64], b[64], c[64];

        (void)state;
        ids_random(a, sizeof a, "msg_", &st);
        ids_random(b, sizeof b, "msg_", &st);
        ids_random(c, sizeof c, "msg_", &st2);
        assert_int_equal(strlen(a), 4 + 24);
        assert_memory_equal(a, "msg_", 4);
        assert_true(all_in(a + 4, ALNUM));
        assert_string_not_equal(a, b);
        assert_string_equal(a, c); /* same seed, same sequence */

        /* A short buffer truncates instead of overflowing. */
        ids_random(a, 8, "toolu_", &st);
        assert_memory_equal(a, "toolu_", 6);
        assert_int_equal(strlen(a), 7);

        /* Two seeds from the OS almost surely differ. */
        assert_true(ids_seed() != ids_seed());
}

static void test_upstream_default(void **state)
{
        char out[64], again[64];
        const char *long_id = "toolu_0123456789012345678901234567890123456789";

        (void)state;
        ids_upstream_tool("toolu_01A09q90qw90lq917835lq9", IDS_STYLE_DEFAULT, out, sizeof out);
        assert_string_equal(out, "toolu_01A09q90qw90lq917835lq9");

        ids_upstream_tool(long_id, IDS_STYLE_DEFAULT, out, sizeof out);
        assert_true(strlen(out) <= 40);
        assert_true(all_in(out, ALNUM "_-"));
        ids_upstream_tool(long_id, IDS_STYLE_DEFAULT, again, sizeof again);
        assert_string_equal(out, again);

        ids_upstream_tool("functions.Bash:0", IDS_STYLE_DEFAULT, out, sizeof out);
        assert_true(all_in(out, ALNUM "_-"));
        assert_true(strlen(out) <= 40);
        ids_upstream_tool("functions.Bash:1", IDS_STYLE_DEFAULT, again, sizeof again);
        assert_string_not_equal(out, again);
}

static void test_upstream_mistral(void **state)
{
        char a[64], b[64], c[64];

        (void)state;
        ids_upstream_tool("toolu_01A09q90qw90lq917835lq9", IDS_STYLE_MISTRAL, a, sizeof a);
        ids_upstream_tool("toolu_01A09q90qw90lq917835lq9", IDS_STYLE_MISTRAL, b, sizeof b);
        ids_upstream_tool("toolu_01A09q90qw90lq917835lq8", IDS_STYLE_MISTRAL, c, sizeof c);
        assert_int_equal(strlen(a), 9);
        assert_true(all_in(a, ALNUM));
        assert_string_equal(a, b);
        assert_string_not_equal(a, c);
        /* An id Mistral itself made comes back unchanged. */
        ids_upstream_tool("Ab3dE6gH9", IDS_STYLE_MISTRAL, b, sizeof b);
        assert_string_equal(b, "Ab3dE6gH9");
}

static void test_client(void **state)
{
        uint64_t st = 1;
        char out[64];

        (void)state;
        ids_client_tool("functions.Bash:0", out, sizeof out, &st);
        assert_string_equal(out, "functions_Bash_0");
        ids_client_tool("call_abc-DEF_123", out, sizeof out, &st);
        assert_string_equal(out, "call_abc-DEF_123");
        ids_client_tool("", out, sizeof out, &st);
        assert_memory_equal(out, "toolu_", 6);
        assert_int_equal(strlen(out), 30);
        ids_client_tool(NULL, out, sizeof out, &st);
        assert_memory_equal(out, "toolu_", 6);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sha256_vectors),
            cmocka_unit_test(test_sha256_million_a),
            cmocka_unit_test(test_sha256_block_edges),
            cmocka_unit_test(test_random),
            cmocka_unit_test(test_upstream_default),
            cmocka_unit_test(test_upstream_mistral),
            cmocka_unit_test(test_client),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
