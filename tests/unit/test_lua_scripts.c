/*
 * The Redis store's scripts as Redis runs them: each whole script
 * (rd_script_text: prelude, helpers, body) written to a temporary
 * directory and linted by scripts/lint-lua (luacheck, Lua 5.1 with
 * Redis's globals). A script that reads an undefined name, leaves a
 * local of its own unused or does not parse fails here, not on a live
 * server. The linter itself is checked on a script with such a fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "proc.h"
#include "store/redis_scripts.h"

typedef struct fixture {
    char *dir;
    char *files[RD_SCRIPT_N];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    fx->dir = test_tempdir("sd-lua");
    assert_non_null(fx->dir);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    for (size_t i = 0; i < RD_SCRIPT_N; i++)
        free(fx->files[i]);
    test_rmdir(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

/* Runs scripts/lint-lua on the files; its exit status (-1 if it did not
 * run to an exit). */
static int lint(char *const *files, size_t n)
{
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    if (src == NULL || src[0] == '\0')
        fail_msg("SD_TEST_SOURCE_DIR is not set (run the tests through ctest)");
    size_t len = strlen(src) + 64;
    for (size_t i = 0; i < n; i++)
        len += strlen(files[i]) + 3;
    char *cmd = malloc(len);
    assert_non_null(cmd);
    int k = snprintf(cmd, len, "'%s/scripts/lint-lua'", src);
    for (size_t i = 0; i < n; i++)
        k += snprintf(cmd + k, len - (size_t)k, " '%s'", files[i]);
    int status = system(cmd);
    free(cmd);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_every_script_passes_the_lua_linter(void **state)
{
    fixture *fx = *state;
    for (rd_script_id id = 0; id < RD_SCRIPT_N; id++) {
        char *text = rd_script_text(id);
        assert_non_null(text);
        char name[64];
        snprintf(name, sizeof name, "%s.lua", rd_script_name(id));
        fx->files[id] = test_write_file(fx->dir, name, text, 0644);
        assert_non_null(fx->files[id]);
        free(text);
    }
    assert_int_equal(lint(fx->files, RD_SCRIPT_N), 0);
}

/* The linter refuses a one-file script with a fault. */
static void assert_lint_refuses(fixture *fx, const char *text)
{
    fx->files[0] = test_write_file(fx->dir, "bad.lua", text, 0644);
    assert_non_null(fx->files[0]);
    assert_int_equal(lint(fx->files, 1), 1);
}

static void test_the_linter_refuses_an_undefined_name(void **state)
{
    assert_lint_refuses(*state, "local n = tonumber(ARGV[1])\n"
                                "return redis.call('GET', KEYS[1]) .. n .. nn\n");
}

static void test_the_linter_refuses_an_unused_local_of_a_body(void **state)
{
    assert_lint_refuses(*state, "local unused_here = ARGV[1]\n"
                                "return redis.call('GET', KEYS[1])\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_script_passes_the_lua_linter, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_linter_refuses_an_undefined_name, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_the_linter_refuses_an_unused_local_of_a_body,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
