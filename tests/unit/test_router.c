/* Route matching, 404 vs 405 with Allow, and media-type checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "http/query.h"
#include "http/router.h"

static void h_a(sd_req *r) { (void)r; }
static void h_b(sd_req *r) { (void)r; }
static void h_c(sd_req *r) { (void)r; }

static const sd_route table[] = {
    {"POST", "/research", h_a, SD_ROUTE_BODY, "application/json"},
    {"GET", "/status/:id", h_b, 0, NULL},
    {"DELETE", "/status/:id", h_c, 0, NULL},
    {"GET", "/a/:x/b/:y", h_a, 0, NULL},
    {"GET", "/health", h_b, 0, NULL},
};
#define NT (sizeof table / sizeof table[0])

typedef struct match {
    sd_err err;
    const sd_route *route;
    sd_span params[SD_ROUTE_MAX_PARAMS];
    size_t nparams;
    char allow[64];
} match;

static match run(const char *method, const char *path)
{
    match m;
    memset(&m, 0, sizeof m);
    m.err = sd_router_match(table, NT, method, path, &m.route, m.params,
                            &m.nparams, m.allow, sizeof m.allow);
    return m;
}

static void test_static_route_matches(void **state)
{
    (void)state;
    match m = run("POST", "/research");
    assert_int_equal(m.err, SD_OK);
    assert_ptr_equal(m.route, &table[0]);
    assert_int_equal(m.nparams, 0);
}

static void test_param_route_binds_segment(void **state)
{
    (void)state;
    match m = run("GET", "/status/abc-123");
    assert_int_equal(m.err, SD_OK);
    assert_ptr_equal(m.route, &table[1]);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.params[0].len, 7);
    assert_memory_equal(m.params[0].p, "abc-123", 7);
    m = run("DELETE", "/status/x");
    assert_ptr_equal(m.route, &table[2]);
}

static void test_two_params_bind_in_order(void **state)
{
    (void)state;
    match m = run("GET", "/a/one/b/two");
    assert_int_equal(m.err, SD_OK);
    assert_int_equal(m.nparams, 2);
    assert_memory_equal(m.params[0].p, "one", 3);
    assert_memory_equal(m.params[1].p, "two", 3);
}

static void test_unknown_paths_are_not_found(void **state)
{
    (void)state;
    const char *paths[] = {"/", "", "/researchx", "/research/", "/status",
                           "/status/", "/status/a/b", "//research", "/RESEARCH",
                           "/a/one/b", "/a//b/two"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        match m = run("GET", paths[i]);
        assert_int_equal(m.err, SD_ERR_NOT_FOUND);
        assert_null(m.route);
    }
}

static void test_wrong_method_is_405_with_allow_list(void **state)
{
    (void)state;
    match m = run("PUT", "/status/x");
    assert_int_equal(m.err, SD_ERR_METHOD);
    assert_string_equal(m.allow, "GET, HEAD, DELETE");
    m = run("GET", "/research");
    assert_int_equal(m.err, SD_ERR_METHOD);
    assert_string_equal(m.allow, "POST");
}

static void test_head_is_served_by_get_routes(void **state)
{
    (void)state;
    match m = run("HEAD", "/health");
    assert_int_equal(m.err, SD_OK);
    assert_ptr_equal(m.route, &table[4]);
    m = run("HEAD", "/research");
    assert_int_equal(m.err, SD_ERR_METHOD);
}

static void test_media_type_allows_parameters_and_case(void **state)
{
    (void)state;
    assert_true(sd_media_type_is("application/json", "application/json"));
    assert_true(sd_media_type_is("Application/JSON; charset=utf-8", "application/json"));
    assert_true(sd_media_type_is(" application/json ;charset=UTF-8", "application/json"));
    assert_false(sd_media_type_is("application/jsonx", "application/json"));
    assert_false(sd_media_type_is("text/plain", "application/json"));
    assert_false(sd_media_type_is("application/merge-patch+json", "application/json"));
    assert_false(sd_media_type_is("", "application/json"));
    assert_false(sd_media_type_is(NULL, "application/json"));
}

static void test_media_type_list_accepts_any_of_its_types(void **state)
{
    (void)state;
    static const char list[] = "application/json or application/merge-patch+json";
    assert_true(sd_media_type_in("application/json", list));
    assert_true(sd_media_type_in("application/merge-patch+json; charset=utf-8", list));
    assert_true(sd_media_type_in("application/json", "application/json"));
    assert_false(sd_media_type_in("application/json-patch+json", list));
    assert_false(sd_media_type_in("or", list));
    assert_false(sd_media_type_in(NULL, list));
}

/* ---- percent-decoding and the query string ---- */

static void test_percent_decode_marks_the_first_control_character(void **state)
{
    (void)state;
    char out[32];
    size_t ctl;
    assert_int_equal(sd_percent_decode("a%41+b%zz%4", 11, out, 0, &ctl), 9);
    assert_string_equal(out, "aA+b%zz%4");
    assert_int_equal(ctl, SIZE_MAX);
    assert_int_equal(sd_percent_decode("a+b", 3, out, 1, &ctl), 3);
    assert_string_equal(out, "a b");
    assert_int_equal(sd_percent_decode("ab%00cd", 7, out, 0, &ctl), 5);
    assert_int_equal(ctl, 2);
    assert_memory_equal(out, "ab\0cd", 6);
    sd_percent_decode("x%7f", 4, out, 0, &ctl);
    assert_int_equal(ctl, 1);
    sd_percent_decode("x\ty", 3, out, 0, &ctl);
    assert_int_equal(ctl, 1);
}

static void test_query_keys_match_exactly_and_once(void **state)
{
    (void)state;
    char why[200] = "";
    sd_query q;
    const char *raw = "a=1&b=x%20y&&c&d=&a=2&E=3";
    assert_int_equal(sd_query_parse(raw, strlen(raw), &q, why, sizeof why), SD_OK);
    assert_int_equal(q.n, 6);
    const char *v;
    assert_int_equal(sd_query_get(&q, "b", &v, why, sizeof why), SD_OK);
    assert_string_equal(v, "x y");
    assert_int_equal(sd_query_get(&q, "c", &v, why, sizeof why), SD_OK);
    assert_string_equal(v, "");
    assert_int_equal(sd_query_get(&q, "d", &v, why, sizeof why), SD_OK);
    assert_string_equal(v, "");
    assert_int_equal(sd_query_get(&q, "zz", &v, why, sizeof why), SD_OK);
    assert_null(v);
    assert_int_equal(sd_query_get(&q, "a", &v, why, sizeof why), SD_ERR_INVALID);
    assert_null(v);
    assert_string_equal(why, "the query parameter a is given 2 times; give it once");
    assert_int_equal(sd_query_get(&q, "e", &v, why, sizeof why), SD_ERR_INVALID);
    assert_string_equal(why, "the query parameter E must be spelled e");
    sd_query_free(&q);
}

static void test_query_refuses_control_characters_naming_the_parameter(void **state)
{
    (void)state;
    char why[200] = "";
    sd_query q;
    assert_int_equal(sd_query_parse("confirm=true%00x", 16, &q, why, sizeof why),
                     SD_ERR_INVALID);
    assert_string_equal(why, "the query parameter confirm holds a control character");
    sd_query_free(&q);
    assert_int_equal(sd_query_parse("con%0Afirm=1", 12, &q, why, sizeof why), SD_ERR_INVALID);
    assert_string_equal(why, "the query parameter name con%0Afirm holds a control character");
    sd_query_free(&q);
    /* At most SD_QUERY_MAX_ARGS pairs. */
    char many[200] = "";
    for (int i = 0; i <= SD_QUERY_MAX_ARGS; i++)
        strcat(many, "k=v&");
    assert_int_equal(sd_query_parse(many, strlen(many), &q, why, sizeof why), SD_ERR_INVALID);
    sd_query_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percent_decode_marks_the_first_control_character),
        cmocka_unit_test(test_query_keys_match_exactly_and_once),
        cmocka_unit_test(test_query_refuses_control_characters_naming_the_parameter),
        cmocka_unit_test(test_static_route_matches),
        cmocka_unit_test(test_media_type_list_accepts_any_of_its_types),
        cmocka_unit_test(test_param_route_binds_segment),
        cmocka_unit_test(test_two_params_bind_in_order),
        cmocka_unit_test(test_unknown_paths_are_not_found),
        cmocka_unit_test(test_wrong_method_is_405_with_allow_list),
        cmocka_unit_test(test_head_is_served_by_get_routes),
        cmocka_unit_test(test_media_type_allows_parameters_and_case),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
