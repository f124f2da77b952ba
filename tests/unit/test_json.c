/* The JSON pre-check (UTF-8, control characters, depth) and helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "statusd/json.h"

static char *nested(int depth, char open, char close)
{
    char *s = malloc((size_t)depth * 2 + 1);
    assert_non_null(s);
    for (int i = 0; i < depth; i++) {
        s[i] = open;
        s[depth * 2 - 1 - i] = close;
    }
    s[depth * 2] = '\0';
    return s;
}

static void test_depth_32_is_accepted_and_33_refused(void **state)
{
    (void)state;
    char *ok = nested(SD_JSON_MAX_DEPTH, '[', ']');
    char *deep = nested(SD_JSON_MAX_DEPTH + 1, '[', ']');
    cJSON *root = NULL;
    assert_int_equal(sd_json_parse(ok, strlen(ok), SD_JSON_MAX_DEPTH, &root), SD_OK);
    cJSON_Delete(root);
    assert_int_equal(sd_json_parse(deep, strlen(deep), SD_JSON_MAX_DEPTH, &root),
                     SD_ERR_TOO_DEEP);
    assert_null(root);
    free(ok);
    free(deep);
}

static void test_depth_beyond_cjson_limit_is_refused_before_parsing(void **state)
{
    (void)state;
    char *deep = nested(100000, '{', '}');
    assert_int_equal(sd_json_check(deep, strlen(deep), SD_JSON_MAX_DEPTH), SD_ERR_TOO_DEEP);
    free(deep);
}

static void test_brackets_inside_strings_do_not_count(void **state)
{
    (void)state;
    const char *s = "{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[\"}";
    assert_int_equal(sd_json_check(s, strlen(s), 2), SD_OK);
}

static void test_invalid_utf8_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "{\"q\":\"\xff\"}",             /* invalid byte */
        "{\"q\":\"\xc3\"}",             /* truncated sequence */
        "{\"q\":\"\xc0\xaf\"}",         /* overlong */
        "{\"q\":\"\xed\xa0\x80\"}",     /* surrogate */
        "{\"q\":\"\xf4\x90\x80\x80\"}", /* past U+10FFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(sd_json_check(bad[i], strlen(bad[i]), 32), SD_ERR_BAD_JSON);
    const char *good = "{\"q\":\"l\xc3\xa9on \xe2\x82\xac \xf0\x9f\xa6\x81\"}";
    assert_int_equal(sd_json_check(good, strlen(good), 32), SD_OK);
}

static void test_nul_and_raw_control_characters_are_refused(void **state)
{
    (void)state;
    const char nul[] = "{\"q\":\"a\0b\"}";
    assert_int_equal(sd_json_check(nul, sizeof nul - 1, 32), SD_ERR_BAD_JSON);
    const char *ctl = "{\"q\":\"a\nb\"}";
    assert_int_equal(sd_json_check(ctl, strlen(ctl), 32), SD_ERR_BAD_JSON);
    const char *esc = "{\"q\":\"a\\u0000b\"}";
    assert_int_equal(sd_json_check(esc, strlen(esc), 32), SD_ERR_BAD_JSON);
    const char *key = "{\"k\\u0000\":1}";
    assert_int_equal(sd_json_check(key, strlen(key), 32), SD_ERR_BAD_JSON);
    const char *fine = "{\"q\":\"a\\u0001\\\\u0000\"}"; /* escaped backslash, then text */
    assert_int_equal(sd_json_check(fine, strlen(fine), 32), SD_OK);
}

static void test_parse_refuses_trailing_garbage_and_accepts_trailing_space(void **state)
{
    (void)state;
    cJSON *root = NULL;
    assert_int_equal(sd_json_parse("{} x", 4, 32, &root), SD_ERR_BAD_JSON);
    assert_int_equal(sd_json_parse("{}{}", 4, 32, &root), SD_ERR_BAD_JSON);
    assert_int_equal(sd_json_parse("{", 1, 32, &root), SD_ERR_BAD_JSON);
    assert_int_equal(sd_json_parse("", 0, 32, &root), SD_ERR_BAD_JSON);
    assert_int_equal(sd_json_parse("{} \r\n", 5, 32, &root), SD_OK);
    assert_true(cJSON_IsObject(root));
    cJSON_Delete(root);
}

static void test_parse_stops_at_given_length(void **state)
{
    (void)state;
    const char text[] = "{\"a\":1}garbage";
    cJSON *root = NULL;
    assert_int_equal(sd_json_parse(text, 7, 32, &root), SD_OK);
    cJSON_Delete(root);
}

static void test_parse_refuses_numbers_out_of_double_range(void **state)
{
    (void)state;
    static const char *const bad[] = {"1e999", "-1e999", "{\"a\":[0,{\"b\":1E+400}]}",
                                      "[1e309]", "{\"ok\":1,\"x\":{\"y\":[1,2,-1e999]}}"};
    static const char *const where[] = {"", "", "a[1].b", "[0]", "x.y[2]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *v = NULL;
        char at[64] = "unset";
        assert_int_equal(sd_json_parse(bad[i], strlen(bad[i]), 32, &v), SD_ERR_INVALID);
        assert_null(v);
        assert_int_equal(sd_json_parse_at(bad[i], strlen(bad[i]), 32, &v, at, sizeof at),
                         SD_ERR_INVALID);
        assert_null(v);
        assert_string_equal(at, where[i]);
    }
    cJSON *v = NULL;
    assert_int_equal(sd_json_parse("[1e308,1e-999,-0]", 17, 32, &v), SD_OK);
    cJSON_Delete(v);
}

static void test_append_string_escapes(void **state)
{
    (void)state;
    sd_buf b = SD_BUF_INIT;
    const char in[] = "a\"b\\c\nd\te\x01" "f\xc3\xa9";
    sd_json_append_string(&b, in, sizeof in - 1);
    assert_string_equal(b.data, "\"a\\\"b\\\\c\\nd\\te\\u0001f\xc3\xa9\"");
    cJSON *root = NULL;
    assert_int_equal(sd_json_parse(b.data, b.len, 32, &root), SD_OK);
    assert_string_equal(root->valuestring, in);
    cJSON_Delete(root);
    sd_buf_free(&b);
}

static void test_utf8_length_counts_code_points(void **state)
{
    (void)state;
    const char *s = "l\xc3\xa9on\xf0\x9f\xa6\x81";
    assert_int_equal(sd_utf8_length(s, strlen(s)), 5);
    assert_int_equal(sd_utf8_length("", 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_32_is_accepted_and_33_refused),
        cmocka_unit_test(test_depth_beyond_cjson_limit_is_refused_before_parsing),
        cmocka_unit_test(test_brackets_inside_strings_do_not_count),
        cmocka_unit_test(test_invalid_utf8_is_refused),
        cmocka_unit_test(test_nul_and_raw_control_characters_are_refused),
        cmocka_unit_test(test_parse_refuses_trailing_garbage_and_accepts_trailing_space),
        cmocka_unit_test(test_parse_stops_at_given_length),
        cmocka_unit_test(test_parse_refuses_numbers_out_of_double_range),
        cmocka_unit_test(test_append_string_escapes),
        cmocka_unit_test(test_utf8_length_counts_code_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
