/* Clocks, time formatting, ids, number parsing and sd_buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statusd/util.h"

static void test_format_time_is_rfc3339_utc_with_millis(void **state)
{
    (void)state;
    char ts[SD_TIME_LEN];
    sd_format_time(0, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
    sd_format_time(1795312806123LL, ts);
    assert_string_equal(ts, "2026-11-22T02:00:06.123Z");
    sd_format_time(-5, ts);
    assert_string_equal(ts, "1970-01-01T00:00:00.000Z");
}

static void test_uuid_new_is_canonical_v4(void **state)
{
    (void)state;
    char a[SD_UUID_LEN + 1], b[SD_UUID_LEN + 1];
    sd_uuid_new(a);
    sd_uuid_new(b);
    assert_int_equal(strlen(a), SD_UUID_LEN);
    assert_true(sd_uuid_valid(a, strlen(a)));
    assert_string_not_equal(a, b);
    assert_int_equal(a[14], '4');
    /* Every id carries the version and the RFC 4122 variant. */
    for (int i = 0; i < 1000; i++) {
        sd_uuid_new(a);
        assert_true(sd_uuid_valid(a, strlen(a)));
        assert_int_equal(a[14], '4');
        assert_non_null(strchr("89ab", a[19]));
    }
}

static void test_uuid_valid_rejects_non_canonical_forms(void **state)
{
    (void)state;
    const char *good = "0f8fad5b-d9cb-469f-a165-70867728950e";
    assert_true(sd_uuid_valid(good, strlen(good)));
    const char *bad[] = {
        "0F8FAD5B-D9CB-469F-A165-70867728950E", /* upper case */
        "0f8fad5bd9cb469fa16570867728950e",     /* no dashes */
        "{0f8fad5b-d9cb-469f-a165-70867728950e}",
        "0f8fad5b-d9cb-469f-a165-70867728950",  /* short */
        "0f8fad5b-d9cb-469f-a165-70867728950e0",
        "0f8fad5b-d9cb-469f-a165_70867728950e",
        "0f8fad5b-d9cb-469f-a165-70867728950g",
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(sd_uuid_valid(bad[i], strlen(bad[i])));
    assert_false(sd_uuid_valid(NULL, 36));
}

static void test_parse_i64_checks_whole_string_and_range(void **state)
{
    (void)state;
    int64_t v = 0;
    assert_int_equal(sd_parse_i64("42", 0, 100, &v), SD_OK);
    assert_int_equal(v, 42);
    assert_int_equal(sd_parse_i64("-3", -5, 5, &v), SD_OK);
    assert_int_equal(v, -3);
    const char *bad[] = {"", " 1", "+1", "1 ", "1x", "0x10", "101", "-1",
                         "99999999999999999999", "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sd_parse_i64(bad[i], 0, 100, &v), SD_ERR_INVALID);
    assert_int_equal(sd_parse_i64(NULL, 0, 1, &v), SD_ERR_INVALID);
}

static void assert_i64_text(int64_t v, const char *want)
{
    char out[SD_I64_TEXT_LEN];
    size_t i = sd_i64_text(v, out);
    assert_true(i < sizeof out);
    assert_int_equal(sizeof out - i, strlen(want));
    assert_memory_equal(out + i, want, strlen(want));
}

static void test_i64_text_covers_the_whole_range(void **state)
{
    (void)state;
    assert_i64_text(0, "0");
    assert_i64_text(7, "7");
    assert_i64_text(-1, "-1");
    assert_i64_text(1000000, "1000000");
    assert_i64_text(INT64_MAX, "9223372036854775807");
    assert_i64_text(INT64_MIN, "-9223372036854775808");
}

static void test_buf_grows_and_stays_terminated(void **state)
{
    (void)state;
    sd_buf b = SD_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        sd_buf_printf(&b, "%d,", i % 10);
    assert_true(sd_buf_ok(&b));
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    sd_buf_reset(&b);
    assert_int_equal(b.len, 0);
    sd_buf_puts(&b, "x");
    sd_buf_putc(&b, 'y');
    assert_string_equal(b.data, "xy");
    size_t len = 0;
    char *s = sd_buf_steal(&b, &len);
    assert_string_equal(s, "xy");
    assert_int_equal(len, 2);
    assert_null(b.data);
    free(s);
}

static void test_buf_printf_longer_than_stack_buffer(void **state)
{
    (void)state;
    char big[1000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    sd_buf b = SD_BUF_INIT;
    sd_buf_printf(&b, "<%s>", big);
    assert_int_equal(b.len, 1001);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[1000], '>');
    sd_buf_free(&b);
}

static void test_buf_steal_of_empty_buffer_is_empty_string(void **state)
{
    (void)state;
    sd_buf b = SD_BUF_INIT;
    size_t len = 7;
    char *s = sd_buf_steal(&b, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
}

static void test_failed_buf_ignores_appends_and_steals_null(void **state)
{
    (void)state;
    sd_buf b = SD_BUF_INIT;
    sd_buf_puts(&b, "abc");
    b.failed = true;
    sd_buf_puts(&b, "def");
    assert_int_equal(b.len, 3);
    assert_false(sd_buf_ok(&b));
    assert_null(sd_buf_steal(&b, NULL));
}

static void test_sleep_unless_returns_early_when_stopped(void **state)
{
    (void)state;
    volatile int stop = 1;
    assert_true(sd_sleep_ms_unless(60000, &stop));
    stop = 0;
    assert_false(sd_sleep_ms_unless(1, &stop));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_time_is_rfc3339_utc_with_millis),
        cmocka_unit_test(test_uuid_new_is_canonical_v4),
        cmocka_unit_test(test_uuid_valid_rejects_non_canonical_forms),
        cmocka_unit_test(test_parse_i64_checks_whole_string_and_range),
        cmocka_unit_test(test_i64_text_covers_the_whole_range),
        cmocka_unit_test(test_buf_grows_and_stays_terminated),
        cmocka_unit_test(test_buf_printf_longer_than_stack_buffer),
        cmocka_unit_test(test_buf_steal_of_empty_buffer_is_empty_string),
        cmocka_unit_test(test_failed_buf_ignores_appends_and_steals_null),
        cmocka_unit_test(test_sleep_unless_returns_early_when_stopped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
