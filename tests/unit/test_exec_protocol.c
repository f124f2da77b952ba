/*
 * The exec handler's protocol, with no process involved: every shape of a
 * stdout line, the splitting of stdout into capped lines, and the stderr
 * tail that becomes a failed job's message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs/exec_protocol.h"
#include "statusd/json.h"

/* Parses text (a C string) and expects SD_OK. */
static sd_exec_line parse_ok(const char *text)
{
    sd_exec_line l;
    assert_int_equal(sd_exec_parse_line(text, strlen(text), &l), SD_OK);
    return l;
}

/* Parses text and expects the error; *out must hold nothing after it. */
static void parse_fails(const char *text, sd_err want)
{
    sd_exec_line l;
    assert_int_equal(sd_exec_parse_line(text, strlen(text), &l), want);
    assert_false(l.has_progress);
    assert_false(l.has_stage);
    assert_false(l.has_result);
    assert_null(l.stage);
    assert_null(l.result);
    assert_false(l.has_error);
    assert_null(l.error_code);
    assert_null(l.error_message);
}

/* A string of n copies of c, NUL-terminated; the caller frees it. */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- one line ---- */

static void test_progress_only_sets_progress(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"progress\": 40}");
    assert_true(l.has_progress);
    assert_int_equal(l.progress, 40);
    assert_false(l.has_stage);
    assert_false(l.has_result);
    sd_exec_line_free(&l);
}

static void test_progress_bounds_and_integer_valued_floats_are_accepted(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"progress\": 0}");
    assert_int_equal(l.progress, 0);
    l = parse_ok("{\"progress\": 100}");
    assert_int_equal(l.progress, 100);
    l = parse_ok("{\"progress\": 50.0}");
    assert_int_equal(l.progress, 50);
    l = parse_ok("{\"progress\": 1e2}");
    assert_int_equal(l.progress, 100);
}

static void test_stage_only_sets_stage(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"stage\": \"fetching \\\"pages\\\"\"}");
    assert_false(l.has_progress);
    assert_true(l.has_stage);
    assert_string_equal(l.stage, "fetching \"pages\"");
    assert_false(l.has_result);
    sd_exec_line_free(&l);
    assert_null(l.stage);
}

static void test_progress_and_stage_together(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"stage\": \"writing\", \"progress\": 80}");
    assert_true(l.has_progress);
    assert_int_equal(l.progress, 80);
    assert_true(l.has_stage);
    assert_string_equal(l.stage, "writing");
    sd_exec_line_free(&l);
}

static void test_result_only_is_kept_as_compact_json(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"result\": { \"a\" : [1, 2.5, \"x\"], \"b\": {\"c\": null} }}");
    assert_false(l.has_progress);
    assert_false(l.has_stage);
    assert_true(l.has_result);
    assert_string_equal(l.result, "{\"a\":[1,2.5,\"x\"],\"b\":{\"c\":null}}");
    sd_exec_line_free(&l);
}

static void test_result_with_progress_sets_both(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"progress\": 100, \"result\": \"done\"}");
    assert_true(l.has_progress);
    assert_int_equal(l.progress, 100);
    assert_true(l.has_result);
    assert_string_equal(l.result, "\"done\"");
    sd_exec_line_free(&l);
}

static void test_result_null_is_a_result_without_text(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"result\": null}");
    assert_true(l.has_result);
    assert_null(l.result);
    sd_exec_line_free(&l);
}

static void test_error_member_sets_code_and_message(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"progress\":30,\"error\":{\"code\":\"quota\","
                              "\"message\":\"out of credits\"}}");
    assert_true(l.has_error);
    assert_string_equal(l.error_code, "quota");
    assert_string_equal(l.error_message, "out of credits");
    assert_true(l.has_progress);
    sd_exec_line_free(&l);
}

static void test_malformed_error_member_voids_the_line(void **state)
{
    (void)state;
    parse_fails("{\"error\":\"boom\"}", SD_ERR_INVALID);
    parse_fails("{\"error\":{\"message\":\"no code\"}}", SD_ERR_INVALID);
    parse_fails("{\"error\":{\"code\":\"\",\"message\":\"x\"}}", SD_ERR_INVALID);
    parse_fails("{\"error\":{\"code\":\"c\",\"message\":7}}", SD_ERR_INVALID);
    parse_fails("{\"error\":{\"code\":\"a-code-that-is-much-longer-than-forty-seven-bytes-in-all\","
                "\"message\":\"x\"}}", SD_ERR_INVALID);
}

static void test_progress_that_is_not_an_integer_in_range_voids_the_line(void **state)
{
    (void)state;
    parse_fails("{\"progress\": \"50\"}", SD_ERR_INVALID);
    parse_fails("{\"progress\": -1}", SD_ERR_INVALID);
    parse_fails("{\"progress\": 101}", SD_ERR_INVALID);
    parse_fails("{\"progress\": 50.5}", SD_ERR_INVALID);
    parse_fails("{\"progress\": null}", SD_ERR_INVALID);
    parse_fails("{\"progress\": true}", SD_ERR_INVALID);
    parse_fails("{\"progress\": 1e400}", SD_ERR_INVALID);
    /* The other members of such a line are not used either. */
    parse_fails("{\"stage\": \"s\", \"progress\": 101, \"result\": 1}", SD_ERR_INVALID);
}

static void test_stage_null_means_no_stage(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"stage\": null, \"progress\": 10}");
    assert_true(l.has_stage);
    assert_null(l.stage);
    assert_true(l.has_progress);
    assert_int_equal(l.progress, 10);
    sd_exec_line_free(&l);
}

static void test_stage_that_is_not_text_voids_the_line(void **state)
{
    (void)state;
    parse_fails("{\"stage\": 3}", SD_ERR_INVALID);
    parse_fails("{\"stage\": [\"a\"]}", SD_ERR_INVALID);
    parse_fails("{\"result\": 1, \"stage\": false}", SD_ERR_INVALID);
}

static void test_long_stage_is_cut_to_max_bytes(void **state)
{
    (void)state;
    char *stage = repeat('s', 5000);
    char *line = malloc(5100);
    assert_non_null(line);
    snprintf(line, 5100, "{\"stage\": \"%s\"}", stage);
    sd_exec_line l = parse_ok(line);
    assert_int_equal(strlen(l.stage), SD_EXEC_STAGE_MAX);
    assert_memory_equal(l.stage, stage, SD_EXEC_STAGE_MAX);
    sd_exec_line_free(&l);
    free(line);
    free(stage);
}

static void test_stage_cut_never_splits_a_utf8_character(void **state)
{
    (void)state;
    /* 199 bytes, then a 2-byte character that would end at byte 201. */
    char *pad = repeat('a', SD_EXEC_STAGE_MAX - 1);
    char line[400];
    snprintf(line, sizeof line, "{\"stage\": \"%s\xC3\xA9z\"}", pad);
    sd_exec_line l = parse_ok(line);
    assert_string_equal(l.stage, pad);
    sd_exec_line_free(&l);
    /* Exactly 200 bytes are kept as they are. */
    snprintf(line, sizeof line, "{\"stage\": \"%s\xC3\xA9\"}", pad + 1);
    l = parse_ok(line);
    assert_int_equal(strlen(l.stage), SD_EXEC_STAGE_MAX);
    assert_string_equal(l.stage + SD_EXEC_STAGE_MAX - 2, "\xC3\xA9");
    sd_exec_line_free(&l);
    free(pad);
}

static void test_object_without_known_members_is_a_protocol_line_setting_nothing(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok("{\"log\": \"hello\", \"Progress\": 5}");
    assert_false(l.has_progress);
    assert_false(l.has_stage);
    assert_false(l.has_result);
    sd_exec_line_free(&l);
}

static void test_surrounding_white_space_and_crlf_are_accepted(void **state)
{
    (void)state;
    sd_exec_line l = parse_ok(" \t{\"progress\": 7}\r");
    assert_int_equal(l.progress, 7);
}

static void test_non_json_lines_are_not_protocol_lines(void **state)
{
    (void)state;
    parse_fails("hello world", SD_ERR_BAD_JSON);
    parse_fails("{progress: 5}", SD_ERR_BAD_JSON);
    parse_fails("{\"progress\": 5", SD_ERR_BAD_JSON);
    parse_fails("{\"progress\": 5} and more", SD_ERR_BAD_JSON);
    parse_fails("{\"stage\": \"\xFF\xFE\"}", SD_ERR_BAD_JSON);
}

static void test_json_that_is_not_an_object_is_not_a_protocol_line(void **state)
{
    (void)state;
    parse_fails("[{\"progress\": 5}]", SD_ERR_BAD_JSON);
    parse_fails("\"progress\"", SD_ERR_BAD_JSON);
    parse_fails("42", SD_ERR_BAD_JSON);
    parse_fails("null", SD_ERR_BAD_JSON);
}

static void test_empty_and_blank_lines_are_not_protocol_lines(void **state)
{
    (void)state;
    parse_fails("", SD_ERR_BAD_JSON);
    parse_fails("   \t\r", SD_ERR_BAD_JSON);
    sd_exec_line l;
    assert_int_equal(sd_exec_parse_line(NULL, 0, &l), SD_ERR_BAD_JSON);
}

/* {"result": [[[...1...]]]} with the object at depth 1 and `arrays`
 * arrays inside it. */
static char *nested_result(int arrays)
{
    size_t n = (size_t)arrays;
    char *s = malloc(2 * n + 32);
    assert_non_null(s);
    strcpy(s, "{\"result\": ");
    char *p = s + strlen(s);
    memset(p, '[', n);
    p += n;
    *p++ = '1';
    memset(p, ']', n);
    p += n;
    strcpy(p, "}");
    return s;
}

static void test_nesting_deeper_than_the_limit_is_refused(void **state)
{
    (void)state;
    char *ok = nested_result(SD_JSON_MAX_DEPTH - 1);
    sd_exec_line l = parse_ok(ok);
    assert_true(l.has_result);
    assert_int_equal(strlen(l.result), 2 * (SD_JSON_MAX_DEPTH - 1) + 1);
    sd_exec_line_free(&l);
    free(ok);

    char *deep = nested_result(SD_JSON_MAX_DEPTH);
    parse_fails(deep, SD_ERR_TOO_DEEP);
    free(deep);
    char *very_deep = nested_result(100000);
    parse_fails(very_deep, SD_ERR_TOO_DEEP);
    free(very_deep);
}

static void test_huge_line_is_parsed_whole(void **state)
{
    (void)state;
    size_t n = 3 * 1024 * 1024;
    char *text = repeat('x', n);
    char *line = malloc(n + 64);
    assert_non_null(line);
    int len = snprintf(line, n + 64, "{\"progress\": 3, \"result\": \"%s\"}", text);
    sd_exec_line l;
    assert_int_equal(sd_exec_parse_line(line, (size_t)len, &l), SD_OK);
    assert_int_equal(l.progress, 3);
    assert_int_equal(strlen(l.result), n + 2);
    assert_memory_equal(l.result + 1, text, n);
    sd_exec_line_free(&l);
    free(line);
    free(text);
}

static void test_only_len_bytes_are_read(void **state)
{
    (void)state;
    const char *text = "{\"progress\": 9}{\"progress\": 10}";
    sd_exec_line l;
    assert_int_equal(sd_exec_parse_line(text, 15, &l), SD_OK);
    assert_int_equal(l.progress, 9);
}

/* ---- stdout lines ---- */

#define LINES_MAX 8

typedef struct collected {
    size_t n;
    char *lines[LINES_MAX];
    size_t lens[LINES_MAX];
} collected;

static void collect(void *arg, const char *line, size_t len)
{
    collected *c = arg;
    assert_true(c->n < LINES_MAX);
    c->lines[c->n] = malloc(len + 1);
    assert_non_null(c->lines[c->n]);
    memcpy(c->lines[c->n], line, len);
    c->lines[c->n][len] = '\0';
    c->lens[c->n++] = len;
}

static int collected_setup(void **state)
{
    collected *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -1;
    *state = c;
    return 0;
}

static int collected_teardown(void **state)
{
    collected *c = *state;
    for (size_t i = 0; i < c->n; i++)
        free(c->lines[i]);
    free(c);
    return 0;
}

static void test_lines_are_split_across_feeds(void **state)
{
    collected *c = *state;
    sd_exec_lines l = SD_EXEC_LINES_INIT;
    size_t dropped = 0;
    assert_int_equal(sd_exec_lines_feed(&l, "one\ntw", 6, collect, c, &dropped), SD_OK);
    assert_int_equal(sd_exec_lines_feed(&l, "o\n\nfour", 7, collect, c, &dropped), SD_OK);
    assert_int_equal(c->n, 3);
    sd_exec_lines_end(&l, collect, c);
    assert_int_equal(c->n, 4);
    assert_string_equal(c->lines[0], "one");
    assert_string_equal(c->lines[1], "two");
    assert_string_equal(c->lines[2], "");
    assert_string_equal(c->lines[3], "four");
    assert_int_equal(dropped, 0);
}

static void test_end_after_a_newline_delivers_nothing_more(void **state)
{
    collected *c = *state;
    sd_exec_lines l = SD_EXEC_LINES_INIT;
    assert_int_equal(sd_exec_lines_feed(&l, "a\n", 2, collect, c, NULL), SD_OK);
    sd_exec_lines_end(&l, collect, c);
    assert_int_equal(c->n, 1);
}

static void test_line_over_the_cap_is_dropped_whole(void **state)
{
    collected *c = *state;
    sd_exec_lines l = SD_EXEC_LINES_INIT;
    size_t dropped = 0;
    char *big = repeat('x', SD_EXEC_LINE_MAX / 2 + 1);
    /* Two halves and a byte: over the cap by one, across three feeds. */
    assert_int_equal(sd_exec_lines_feed(&l, "first\n", 6, collect, c, &dropped), SD_OK);
    assert_int_equal(sd_exec_lines_feed(&l, big, strlen(big), collect, c, &dropped), SD_OK);
    assert_int_equal(sd_exec_lines_feed(&l, big, strlen(big) - 1, collect, c, &dropped), SD_OK);
    assert_int_equal(dropped, 1);
    assert_int_equal(sd_exec_lines_feed(&l, "tail of it\nnext\n", 16, collect, c, &dropped),
                     SD_OK);
    sd_exec_lines_end(&l, collect, c);
    assert_int_equal(dropped, 1);
    assert_int_equal(c->n, 2);
    assert_string_equal(c->lines[0], "first");
    assert_string_equal(c->lines[1], "next");
    free(big);
}

static void test_line_of_exactly_the_cap_is_kept(void **state)
{
    collected *c = *state;
    sd_exec_lines l = SD_EXEC_LINES_INIT;
    size_t dropped = 0;
    char *max = repeat('y', SD_EXEC_LINE_MAX);
    assert_int_equal(sd_exec_lines_feed(&l, max, SD_EXEC_LINE_MAX, collect, c, &dropped), SD_OK);
    assert_int_equal(sd_exec_lines_feed(&l, "\n", 1, collect, c, &dropped), SD_OK);
    sd_exec_lines_end(&l, collect, c);
    assert_int_equal(dropped, 0);
    assert_int_equal(c->n, 1);
    assert_int_equal(c->lens[0], SD_EXEC_LINE_MAX);
    free(max);
}

static void test_dropped_last_line_without_newline_is_not_delivered(void **state)
{
    collected *c = *state;
    sd_exec_lines l = SD_EXEC_LINES_INIT;
    size_t dropped = 0;
    char *big = repeat('z', SD_EXEC_LINE_MAX + 1);
    assert_int_equal(sd_exec_lines_feed(&l, big, SD_EXEC_LINE_MAX + 1, collect, c, &dropped),
                     SD_OK);
    sd_exec_lines_end(&l, collect, c);
    assert_int_equal(dropped, 1);
    assert_int_equal(c->n, 0);
    free(big);
}

/* ---- stderr tail ---- */

static void test_tail_of_short_output_is_trimmed(void **state)
{
    (void)state;
    sd_exec_tail t;
    memset(&t, 0, sizeof t);
    assert_string_equal(sd_exec_tail_text(&t), "");
    const char *text = "\n  something broke: \"x\"\n\n";
    sd_exec_tail_feed(&t, text, strlen(text));
    assert_string_equal(sd_exec_tail_text(&t), "something broke: \"x\"");
}

static void test_tail_keeps_the_last_bytes_from_a_line_start(void **state)
{
    (void)state;
    sd_exec_tail t;
    memset(&t, 0, sizeof t);
    char line[64];
    /* 200 lines of 32 bytes: 6400 bytes, fed a line at a time. */
    for (int i = 0; i < 200; i++) {
        snprintf(line, sizeof line, "line %03d ......................\n", i);
        assert_int_equal(strlen(line), 32);
        sd_exec_tail_feed(&t, line, 32);
    }
    /* The last 4096 bytes are exactly the last 128 lines. */
    const char *text = sd_exec_tail_text(&t);
    assert_int_equal(strncmp(text, "line 072 ", 9), 0);
    assert_int_equal(strlen(text), 128 * 32 - 1);
    assert_int_equal(strncmp(text + strlen(text) - 31, "line 199 ", 9), 0);
}

static void test_tail_cut_mid_line_starts_at_the_next_line(void **state)
{
    (void)state;
    sd_exec_tail t;
    memset(&t, 0, sizeof t);
    char *big = repeat('a', 10000);
    big[9000] = '\n';
    sd_exec_tail_feed(&t, big, 10000);
    const char *text = sd_exec_tail_text(&t);
    assert_int_equal(strlen(text), 999);
    free(big);
}

static void test_tail_cut_without_line_break_skips_a_split_character(void **state)
{
    (void)state;
    sd_exec_tail t;
    memset(&t, 0, sizeof t);
    /* 1400 three-byte characters; 4096 is not a multiple of 3, so the cut
     * lands on the last byte of one. */
    char text[4200];
    for (size_t i = 0; i < sizeof text; i += 3)
        memcpy(text + i, "\xE2\x82\xAC", 3);
    sd_exec_tail_feed(&t, text, sizeof text);
    const char *msg = sd_exec_tail_text(&t);
    assert_int_equal(strlen(msg), SD_EXEC_TAIL_MAX - 1);
    assert_memory_equal(msg, "\xE2\x82\xAC", 3);
}

static void test_tail_cut_at_a_line_end_keeps_the_next_line(void **state)
{
    (void)state;
    sd_exec_tail t;
    memset(&t, 0, sizeof t);
    char *old = repeat('o', 100);
    old[99] = '\n';
    char *fill = repeat('n', SD_EXEC_TAIL_MAX);
    fill[10] = '\n';
    sd_exec_tail_feed(&t, old, 100);
    sd_exec_tail_feed(&t, fill, SD_EXEC_TAIL_MAX);
    /* Everything old went, the cut fell right after its newline. */
    assert_int_equal(strlen(sd_exec_tail_text(&t)), SD_EXEC_TAIL_MAX);
    free(old);
    free(fill);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress_only_sets_progress),
        cmocka_unit_test(test_progress_bounds_and_integer_valued_floats_are_accepted),
        cmocka_unit_test(test_stage_only_sets_stage),
        cmocka_unit_test(test_progress_and_stage_together),
        cmocka_unit_test(test_result_only_is_kept_as_compact_json),
        cmocka_unit_test(test_result_with_progress_sets_both),
        cmocka_unit_test(test_result_null_is_a_result_without_text),
        cmocka_unit_test(test_error_member_sets_code_and_message),
        cmocka_unit_test(test_malformed_error_member_voids_the_line),
        cmocka_unit_test(test_progress_that_is_not_an_integer_in_range_voids_the_line),
        cmocka_unit_test(test_stage_null_means_no_stage),
        cmocka_unit_test(test_stage_that_is_not_text_voids_the_line),
        cmocka_unit_test(test_long_stage_is_cut_to_max_bytes),
        cmocka_unit_test(test_stage_cut_never_splits_a_utf8_character),
        cmocka_unit_test(test_object_without_known_members_is_a_protocol_line_setting_nothing),
        cmocka_unit_test(test_surrounding_white_space_and_crlf_are_accepted),
        cmocka_unit_test(test_non_json_lines_are_not_protocol_lines),
        cmocka_unit_test(test_json_that_is_not_an_object_is_not_a_protocol_line),
        cmocka_unit_test(test_empty_and_blank_lines_are_not_protocol_lines),
        cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
        cmocka_unit_test(test_huge_line_is_parsed_whole),
        cmocka_unit_test(test_only_len_bytes_are_read),
        cmocka_unit_test_setup_teardown(test_lines_are_split_across_feeds,
                                        collected_setup, collected_teardown),
        cmocka_unit_test_setup_teardown(test_end_after_a_newline_delivers_nothing_more,
                                        collected_setup, collected_teardown),
        cmocka_unit_test_setup_teardown(test_line_over_the_cap_is_dropped_whole,
                                        collected_setup, collected_teardown),
        cmocka_unit_test_setup_teardown(test_line_of_exactly_the_cap_is_kept,
                                        collected_setup, collected_teardown),
        cmocka_unit_test_setup_teardown(test_dropped_last_line_without_newline_is_not_delivered,
                                        collected_setup, collected_teardown),
        cmocka_unit_test(test_tail_of_short_output_is_trimmed),
        cmocka_unit_test(test_tail_keeps_the_last_bytes_from_a_line_start),
        cmocka_unit_test(test_tail_cut_mid_line_starts_at_the_next_line),
        cmocka_unit_test(test_tail_cut_without_line_break_skips_a_split_character),
        cmocka_unit_test(test_tail_cut_at_a_line_end_keeps_the_next_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
