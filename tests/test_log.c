/*
 * test_log: the redaction every key goes through before it can be printed or recorded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "log.h"

#include <string.h>

static void test_redact(void **state)
{
        char out[48];

        (void)state;
        log_redact("sk-abcdefghijklmnopqrstuvwxyz", out, sizeof out);
        assert_string_equal(out, "sk-a\xE2\x80\xA6(29)");
        log_redact("short", out, sizeof out);
        assert_string_equal(out, "\xE2\x80\xA6(5)");
        log_redact(NULL, out, sizeof out);
        assert_string_equal(out, "(none)");
        log_redact("", out, sizeof out);
        assert_string_equal(out, "(none)");
}

static void test_scrub(void **state)
{
        struct buf b;

        (void)state;
        buf_init(&b);
        buf_puts(&b, "key sk-1234567890 and again sk-1234567890.");
        log_scrub(&b, "sk-1234567890", "sk-1…(13)");
        assert_string_equal(b.data, "key sk-1…(13) and again sk-1…(13).");
        /* Too short to be a key: ordinary text stays as it is. */
        log_scrub(&b, "and", "X");
        assert_non_null(strstr(b.data, "and again"));
        buf_fini(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_redact),
            cmocka_unit_test(test_scrub),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
