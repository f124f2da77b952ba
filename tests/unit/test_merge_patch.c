/*
 * JSON Merge Patch (RFC 7396): every example of its appendix A and of
 * section 3, member order, absent targets, the patch left untouched,
 * allocation failures at every step, and the check for repeated names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/merge_patch.h"

/* ---- helpers ---- */

static cJSON *parse(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    if (v == NULL)
        fail_msg("test JSON does not parse: %s", text);
    return v;
}

/* The compact text of v; the caller frees it. */
static char *print(const cJSON *v)
{
    char *s = cJSON_PrintUnformatted(v);
    assert_non_null(s);
    return s;
}

/* Applies patch to original and asserts the result's compact text, which
 * pins member order as well as content. */
static void assert_merge(const char *original, const char *patch, const char *want)
{
    cJSON *target = parse(original);
    cJSON *p = parse(patch);
    assert_int_equal(merge_patch_apply(&target, p), SD_OK);
    char *got = print(target);
    if (strcmp(got, want) != 0)
        fail_msg("%s + %s: got %s, want %s", original, patch, got, want);
    free(got);
    cJSON_Delete(p);
    cJSON_Delete(target);
}

/* ---- RFC 7396 appendix A, in its order ---- */

static void test_rfc7396_appendix_a_member_replaced(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
}

static void test_rfc7396_appendix_a_member_added(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
}

static void test_rfc7396_appendix_a_null_removes_the_only_member(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"b\"}", "{\"a\":null}", "{}");
}

static void test_rfc7396_appendix_a_null_removes_one_of_two_members(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
}

static void test_rfc7396_appendix_a_array_replaced_by_string(void **state)
{
    (void)state;
    assert_merge("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
}

static void test_rfc7396_appendix_a_string_replaced_by_array(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
}

static void test_rfc7396_appendix_a_nested_object_merged_and_null_dropped(void **state)
{
    (void)state;
    assert_merge("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                 "{\"a\":{\"b\":\"d\"}}");
}

static void test_rfc7396_appendix_a_arrays_are_replaced_not_merged(void **state)
{
    (void)state;
    assert_merge("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
}

static void test_rfc7396_appendix_a_array_target_replaced_by_array(void **state)
{
    (void)state;
    assert_merge("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
}

static void test_rfc7396_appendix_a_object_replaced_by_array_patch(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
}

static void test_rfc7396_appendix_a_null_patch_replaces_everything(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"foo\"}", "null", "null");
}

static void test_rfc7396_appendix_a_string_patch_replaces_everything(void **state)
{
    (void)state;
    assert_merge("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
}

static void test_rfc7396_appendix_a_null_in_target_is_kept(void **state)
{
    (void)state;
    assert_merge("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
}

static void test_rfc7396_appendix_a_array_target_becomes_object(void **state)
{
    (void)state;
    assert_merge("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
}

static void test_rfc7396_appendix_a_nulls_in_new_nested_objects_are_dropped(void **state)
{
    (void)state;
    assert_merge("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

/* ---- RFC 7396 section 3 ---- */

static void test_rfc7396_section_3_example(void **state)
{
    (void)state;
    assert_merge("{\"title\":\"Goodbye!\",\"author\":{\"givenName\":\"John\","
                 "\"familyName\":\"Doe\"},\"tags\":[\"example\",\"sample\"],"
                 "\"content\":\"This will be unchanged\"}",
                 "{\"title\":\"Hello!\",\"phoneNumber\":\"+01-123-456-7890\","
                 "\"author\":{\"familyName\":null},\"tags\":[\"example\"]}",
                 "{\"title\":\"Hello!\",\"author\":{\"givenName\":\"John\"},"
                 "\"tags\":[\"example\"],\"content\":\"This will be unchanged\","
                 "\"phoneNumber\":\"+01-123-456-7890\"}");
}

/* ---- beyond the RFC's tables ---- */

static void test_replaced_member_keeps_its_position(void **state)
{
    (void)state;
    assert_merge("{\"x\":1,\"y\":{\"k\":1},\"z\":3}", "{\"y\":[2],\"w\":4,\"x\":null}",
                 "{\"y\":[2],\"z\":3,\"w\":4}");
}

static void test_object_member_replacing_a_scalar_drops_its_nulls(void **state)
{
    (void)state;
    assert_merge("{\"a\":7}", "{\"a\":{\"b\":null,\"c\":{\"d\":null,\"e\":1}}}",
                 "{\"a\":{\"c\":{\"e\":1}}}");
}

static void test_deep_merge_keeps_untouched_siblings(void **state)
{
    (void)state;
    assert_merge("{\"a\":{\"b\":{\"c\":1,\"d\":2},\"e\":3},\"f\":4}",
                 "{\"a\":{\"b\":{\"c\":10}}}",
                 "{\"a\":{\"b\":{\"c\":10,\"d\":2},\"e\":3},\"f\":4}");
}

static void test_null_for_an_absent_member_changes_nothing(void **state)
{
    (void)state;
    assert_merge("{\"a\":1}", "{\"b\":null}", "{\"a\":1}");
}

static void test_empty_patch_changes_nothing(void **state)
{
    (void)state;
    assert_merge("{\"a\":[1,{\"b\":null}]}", "{}", "{\"a\":[1,{\"b\":null}]}");
}

static void test_empty_member_name_is_an_ordinary_name(void **state)
{
    (void)state;
    assert_merge("{\"\":1,\"a\":2}", "{\"\":null,\"b\":{\"\":3}}", "{\"a\":2,\"b\":{\"\":3}}");
}

static void test_absent_target_takes_the_patch_without_its_nulls(void **state)
{
    (void)state;
    cJSON *target = NULL;
    cJSON *p = parse("{\"a\":1,\"b\":null,\"c\":{\"d\":null}}");
    assert_int_equal(merge_patch_apply(&target, p), SD_OK);
    char *got = print(target);
    assert_string_equal(got, "{\"a\":1,\"c\":{}}");
    free(got);
    cJSON_Delete(target);

    target = NULL;
    cJSON *scalar = parse("42");
    assert_int_equal(merge_patch_apply(&target, scalar), SD_OK);
    assert_true(cJSON_IsNumber(target));
    assert_int_equal(target->valueint, 42);
    cJSON_Delete(target);
    cJSON_Delete(scalar);
    cJSON_Delete(p);
}

static void test_patch_is_left_unchanged_and_shares_nothing(void **state)
{
    (void)state;
    const char *patch_text = "{\"a\":{\"b\":null,\"c\":[1,2]},\"d\":\"e\",\"f\":null}";
    cJSON *target = parse("{\"a\":5,\"f\":1}");
    cJSON *p = parse(patch_text);
    assert_int_equal(merge_patch_apply(&target, p), SD_OK);
    char *after = print(p);
    assert_string_equal(after, patch_text);
    free(after);
    /* the result owns copies: it outlives the patch (a shared node would
     * be a use after free here, which the sanitizer builds catch) */
    cJSON_Delete(p);
    char *got = print(target);
    assert_string_equal(got, "{\"a\":{\"c\":[1,2]},\"d\":\"e\"}");
    free(got);
    cJSON_Delete(target);
}

/* ---- allocation failures ---- */

static long allocs_left;

static void *failing_malloc(size_t n)
{
    if (allocs_left <= 0)
        return NULL;
    allocs_left--;
    return malloc(n);
}

/* With allocation failing after each possible number of allocations, the
 * merge reports SD_ERR_NOMEM (or, once there are enough, succeeds), and
 * leaves a tree that frees cleanly: no leak, no double free. */
static void test_allocation_failure_at_any_step_leaves_a_freeable_tree(void **state)
{
    (void)state;
    cJSON_Hooks failing = {failing_malloc, free};
    cJSON_Hooks normal = {malloc, free};
    bool succeeded = false;
    for (long budget = 0; budget < 200 && !succeeded; budget++) {
        cJSON *target = parse("{\"a\":{\"b\":1,\"c\":2},\"d\":[1],\"e\":\"x\"}");
        cJSON *p = parse("{\"a\":{\"b\":null,\"n\":{\"m\":null,\"k\":[1,2]}},"
                         "\"d\":{\"z\":true},\"e\":null,\"new\":\"v\"}");
        cJSON_InitHooks(&failing);
        allocs_left = budget;
        sd_err err = merge_patch_apply(&target, p);
        cJSON_InitHooks(&normal);
        if (err == SD_OK) {
            succeeded = true;
            char *got = print(target);
            assert_string_equal(got, "{\"a\":{\"c\":2,\"n\":{\"k\":[1,2]}},"
                                     "\"d\":{\"z\":true},\"new\":\"v\"}");
            free(got);
        } else {
            assert_int_equal(err, SD_ERR_NOMEM);
            assert_non_null(target);
        }
        cJSON_Delete(target);
        cJSON_Delete(p);
    }
    assert_true(succeeded);
}

static void test_non_object_patch_without_memory_keeps_the_target(void **state)
{
    (void)state;
    cJSON_Hooks failing = {failing_malloc, free};
    cJSON_Hooks normal = {malloc, free};
    cJSON *target = parse("{\"a\":1}");
    cJSON *p = parse("[1,2,3]");
    cJSON_InitHooks(&failing);
    allocs_left = 0;
    sd_err err = merge_patch_apply(&target, p);
    cJSON_InitHooks(&normal);
    assert_int_equal(err, SD_ERR_NOMEM);
    char *got = print(target);
    assert_string_equal(got, "{\"a\":1}");
    free(got);
    cJSON_Delete(target);
    cJSON_Delete(p);
}

/* ---- repeated names ---- */

static void assert_unique(const char *text, bool want)
{
    cJSON *v = parse(text);
    bool nomem = true;
    if (merge_patch_names_unique(v, &nomem) != want)
        fail_msg("%s: expected names %s", text, want ? "unique" : "repeated");
    assert_false(nomem);
    cJSON_Delete(v);
}

static void test_names_unique_accepts_documents_without_repeats(void **state)
{
    (void)state;
    assert_unique("{}", true);
    assert_unique("[]", true);
    assert_unique("\"s\"", true);
    assert_unique("null", true);
    assert_unique("{\"a\":1,\"b\":{\"a\":2,\"b\":[{\"a\":3},{\"a\":4}]},\"A\":5}", true);
    assert_unique("[{\"x\":1},{\"x\":2}]", true);
    assert_unique("{\"\":1,\"a\":{\"\":2}}", true);
}

static void test_names_unique_finds_repeats_at_any_depth(void **state)
{
    (void)state;
    assert_unique("{\"a\":1,\"a\":2}", false);
    assert_unique("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}", false);
    assert_unique("{\"a\":{\"x\":1,\"y\":2,\"x\":3}}", false);
    assert_unique("[1,{\"k\":[{\"q\":1,\"q\":1}]}]", false);
    assert_unique("{\"\":1,\"\":2}", false);
}

static void test_names_unique_with_many_members(void **state)
{
    (void)state;
    cJSON *obj = cJSON_CreateObject();
    assert_non_null(obj);
    char name[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "k%d", i);
        assert_non_null(cJSON_AddNumberToObject(obj, name, i));
    }
    bool nomem = true;
    assert_true(merge_patch_names_unique(obj, &nomem));
    assert_false(nomem);
    assert_non_null(cJSON_AddNumberToObject(obj, "k12345", 0));
    assert_false(merge_patch_names_unique(obj, &nomem));
    assert_false(nomem);
    cJSON_Delete(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7396_appendix_a_member_replaced),
        cmocka_unit_test(test_rfc7396_appendix_a_member_added),
        cmocka_unit_test(test_rfc7396_appendix_a_null_removes_the_only_member),
        cmocka_unit_test(test_rfc7396_appendix_a_null_removes_one_of_two_members),
        cmocka_unit_test(test_rfc7396_appendix_a_array_replaced_by_string),
        cmocka_unit_test(test_rfc7396_appendix_a_string_replaced_by_array),
        cmocka_unit_test(test_rfc7396_appendix_a_nested_object_merged_and_null_dropped),
        cmocka_unit_test(test_rfc7396_appendix_a_arrays_are_replaced_not_merged),
        cmocka_unit_test(test_rfc7396_appendix_a_array_target_replaced_by_array),
        cmocka_unit_test(test_rfc7396_appendix_a_object_replaced_by_array_patch),
        cmocka_unit_test(test_rfc7396_appendix_a_null_patch_replaces_everything),
        cmocka_unit_test(test_rfc7396_appendix_a_string_patch_replaces_everything),
        cmocka_unit_test(test_rfc7396_appendix_a_null_in_target_is_kept),
        cmocka_unit_test(test_rfc7396_appendix_a_array_target_becomes_object),
        cmocka_unit_test(test_rfc7396_appendix_a_nulls_in_new_nested_objects_are_dropped),
        cmocka_unit_test(test_rfc7396_section_3_example),
        cmocka_unit_test(test_replaced_member_keeps_its_position),
        cmocka_unit_test(test_object_member_replacing_a_scalar_drops_its_nulls),
        cmocka_unit_test(test_deep_merge_keeps_untouched_siblings),
        cmocka_unit_test(test_null_for_an_absent_member_changes_nothing),
        cmocka_unit_test(test_empty_patch_changes_nothing),
        cmocka_unit_test(test_empty_member_name_is_an_ordinary_name),
        cmocka_unit_test(test_absent_target_takes_the_patch_without_its_nulls),
        cmocka_unit_test(test_patch_is_left_unchanged_and_shares_nothing),
        cmocka_unit_test(test_allocation_failure_at_any_step_leaves_a_freeable_tree),
        cmocka_unit_test(test_non_object_patch_without_memory_keeps_the_target),
        cmocka_unit_test(test_names_unique_accepts_documents_without_repeats),
        cmocka_unit_test(test_names_unique_finds_repeats_at_any_depth),
        cmocka_unit_test(test_names_unique_with_many_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
