/*
 * Configuration from the environment (STATUSD_<KEY>, PORT, unknown
 * variables and the cap on warnings) and from sd_config_build: which file
 * is read, the command-line flags and --set, the order in which file,
 * environment and flags win, and the actions (--check-config, --version,
 * --help). Each test gets its own mkdtemp directory (files made with
 * mkstemp) that the teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"

/* ---- helpers ---- */

static sd_err build(fixture *fx, int argc, char **argv, char *const *envp,
                    sd_cli_action *action)
{
    fx->err[0] = '\0';
    return sd_config_build(&fx->cfg, argc, argv, envp, action, fx->err, sizeof fx->err);
}

/* ---- environment ---- */

static void test_env_statusd_key_overrides(void **state)
{
    fixture *fx = *state;
    char *env[] = {"HOME=/root", "STATUSD_QUEUE_CAPACITY=77", "STATUSD_STORE=redis",
                   "STATUSD_BIND=::", "STATUSD_HANDLER_RESEARCH=exec:/bin/true -v", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.queue_capacity, 77);
    assert_int_equal(fx->cfg.store, SD_STORE_REDIS);
    assert_string_equal(fx->cfg.bind, "::");
    assert_string_equal(fx->cfg.handler_research, "exec:/bin/true -v");
    assert_int_equal(fx->cfg.warning_count, 0);
}

static void test_env_sets_every_key(void **state)
{
    fixture *fx = *state;
    /* STATUSD_<KEY>=<value> for every line of NON_DEFAULT_CONF. */
    char vars[SD_CONFIG_MAX_KEYS][1100];
    char *env[SD_CONFIG_MAX_KEYS + 1];
    int n = 0;
    const char *p = NON_DEFAULT_CONF;
    while (*p != '\0') {
        size_t klen = strcspn(p, " ");
        const char *v = p + klen + 3;
        size_t vlen = strcspn(v, "\n");
        assert_true(n < SD_CONFIG_MAX_KEYS);
        int w = snprintf(vars[n], sizeof vars[n], "STATUSD_");
        for (size_t i = 0; i < klen; i++)
            vars[n][w++] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
        snprintf(vars[n] + w, sizeof vars[n] - (size_t)w, "=%.*s", (int)vlen, v);
        env[n] = vars[n];
        n++;
        p = v + vlen + 1;
    }
    env[n] = NULL;
    assert_int_equal(n, 54);
    assert_int_equal(sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.warning_count, 0);
    assert_printed(fx, &fx->cfg, NON_DEFAULT_PRINTED);
    assert_string_equal(fx->cfg.redis_password, "hunter2");
    assert_string_equal(fx->cfg.api_token, "api-token-0123456789abcdef");
    assert_string_equal(fx->cfg.admin_token, "admin-token-0123456789abcdef");
}

static void test_env_legacy_port(void **state)
{
    fixture *fx = *state;
    char *env[] = {"PORT=5000", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 5000);
}

static void test_env_statusd_port_beats_legacy_port_in_any_order(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"STATUSD_PORT=6000", "PORT=5000", NULL};
    char *env2[] = {"PORT=5000", "STATUSD_PORT=6001", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env1, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 6000);
    assert_int_equal(sd_config_load_env(&fx->cfg, env2, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 6001);
}

static void test_env_bad_value_names_the_variable(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"STATUSD_WORKERS=3", "STATUSD_PORT=abc", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env1, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable STATUSD_PORT: port: "
                                 "expected an integer in 1..65535, got 'abc'");
    assert_int_equal(fx->cfg.workers, 4);    /* nothing applied */

    char *env2[] = {"PORT=0", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env2, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable PORT: port: "
                                 "expected an integer in 1..65535, got '0'");

    char *env3[] = {"STATUSD_LOG_LEVEL=loud", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env3, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable STATUSD_LOG_LEVEL: log_level: "
                                 "expected one of debug|info|warn|error, got 'loud'");
}

static void test_env_unknown_statusd_variable_warns(void **state)
{
    fixture *fx = *state;
    char *env[] = {"STATUSD_FOO=1", "STATUSD_CONFIG=/nowhere", "STATUSD_port=1",
                   "STATUSD_PORT=81", NULL};
    assert_int_equal(sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 81);
    assert_int_equal(fx->cfg.warning_count, 2);
    assert_string_equal(fx->cfg.warnings[0],
                        "unknown environment variable STATUSD_FOO ignored (no such key)");
    assert_string_equal(fx->cfg.warnings[1],
                        "unknown environment variable STATUSD_port ignored (no such key)");
}

static void test_env_warnings_are_capped(void **state)
{
    fixture *fx = *state;
    char vars[20][32];
    char *env[21];
    for (int i = 0; i < 20; i++) {
        snprintf(vars[i], sizeof vars[i], "STATUSD_X%d=1", i);
        env[i] = vars[i];
    }
    env[20] = NULL;
    assert_int_equal(sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.warning_count, SD_CONFIG_MAX_WARNINGS);
    assert_string_equal(fx->cfg.warnings[0],
                        "unknown environment variable STATUSD_X0 ignored (no such key)");
    assert_string_equal(fx->cfg.warnings[SD_CONFIG_MAX_WARNINGS - 1],
                        "more configuration warnings not shown");
}

/* ---- sd_config_build ---- */

static void test_build_precedence_flags_over_env_over_file(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "port = 1000\nthreads = 3\nworkers = 5\n"
                                     "queue_capacity = 10\nlog_level = debug\n"
                                     "store = redis\n");
    char config_var[2 * PATH_LEN];
    snprintf(config_var, sizeof config_var, "STATUSD_CONFIG=%s", path);
    char *env[] = {config_var, "STATUSD_THREADS=6", "PORT=2000", "STATUSD_WORKERS=7",
                   "STATUSD_STORE=memory", NULL};
    char *argv[] = {"statusd", "--port", "3000", "--set", "workers=8", NULL};
    sd_cli_action action = SD_CLI_HELP;
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_OK);
    assert_int_equal(action, SD_CLI_RUN);
    assert_int_equal(fx->cfg.port, 3000);          /* flag > legacy env > file */
    assert_int_equal(fx->cfg.workers, 8);          /* --set > env > file */
    assert_int_equal(fx->cfg.threads, 6);          /* env > file */
    assert_int_equal(fx->cfg.store, SD_STORE_MEMORY);
    assert_int_equal(fx->cfg.queue_capacity, 10);  /* file > default */
    assert_int_equal(fx->cfg.log_level, SD_LOG_DEBUG);
    assert_int_equal(fx->cfg.job_ttl, 3600);       /* default */
    assert_string_equal(fx->cfg.config_path, path);
    assert_int_equal(fx->cfg.warning_count, 0);

    /* The same call again gives the same result: no hidden parser state. */
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_OK);
    assert_int_equal(fx->cfg.port, 3000);
    assert_int_equal(fx->cfg.workers, 8);
    assert_string_equal(argv[1], "--port");
}

static void test_build_config_flag_beats_statusd_config(void **state)
{
    fixture *fx = *state;
    const char *env_file = temp_file(fx, "port = 1111\n");
    const char *flag_file = temp_file(fx, "port = 2222\n");
    char config_var[2 * PATH_LEN];
    snprintf(config_var, sizeof config_var, "STATUSD_CONFIG=%s", env_file);
    char *env[] = {config_var, NULL};
    sd_cli_action action;

    char *argv0[] = {"statusd", NULL};
    assert_int_equal(build(fx, ARGC(argv0), argv0, env, &action), SD_OK);
    assert_int_equal(fx->cfg.port, 1111);
    assert_string_equal(fx->cfg.config_path, env_file);

    char flag[2 * PATH_LEN];
    snprintf(flag, sizeof flag, "--config=%s", flag_file);
    char *argv1[] = {"statusd", flag, NULL};
    assert_int_equal(build(fx, ARGC(argv1), argv1, env, &action), SD_OK);
    assert_int_equal(fx->cfg.port, 2222);
    assert_string_equal(fx->cfg.config_path, flag_file);

    char *argv2[] = {"statusd", "--config", (char *)flag_file, NULL};
    assert_int_equal(build(fx, ARGC(argv2), argv2, env, &action), SD_OK);
    assert_int_equal(fx->cfg.port, 2222);
}

static void test_build_missing_explicit_config_is_invalid(void **state)
{
    fixture *fx = *state;
    char path[PATH_LEN], expect[2 * PATH_LEN], var[2 * PATH_LEN];
    snprintf(path, sizeof path, "%s/nope.conf", fx->dir);
    sd_cli_action action;

    char *argv[] = {"statusd", "--config", path, NULL};
    assert_int_equal(build(fx, ARGC(argv), argv, NULL, &action), SD_ERR_INVALID);
    snprintf(expect, sizeof expect, "config file %s (from --config) not found", path);
    assert_string_equal(fx->err, expect);

    snprintf(var, sizeof var, "STATUSD_CONFIG=%s", path);
    char *env[] = {var, NULL};
    char *argv0[] = {"statusd", NULL};
    assert_int_equal(build(fx, ARGC(argv0), argv0, env, &action), SD_ERR_INVALID);
    snprintf(expect, sizeof expect, "config file %s (from STATUSD_CONFIG) not found", path);
    assert_string_equal(fx->err, expect);

    char *argv_empty[] = {"statusd", "--config=", NULL};
    assert_int_equal(build(fx, ARGC(argv_empty), argv_empty, NULL, &action), SD_ERR_INVALID);
    assert_string_equal(fx->err, "--config: empty path");
}

static void test_build_bad_file_reports_file_line_and_key(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "port = 80\n\nstore = disk\n");
    char *argv[] = {"statusd", "--config", (char *)path, NULL};
    sd_cli_action action;
    assert_int_equal(build(fx, ARGC(argv), argv, NULL, &action), SD_ERR_INVALID);
    char expect[2 * PATH_LEN];
    snprintf(expect, sizeof expect,
             "%s:3: store: expected one of auto|memory|redis, got 'disk'", path);
    assert_string_equal(fx->err, expect);
}

static void enter_dir(fixture *fx)
{
    assert_non_null(getcwd(fx->cwd, sizeof fx->cwd));
    assert_int_equal(chdir(fx->dir), 0);
}

static void test_build_uses_config_dir_in_working_directory(void **state)
{
    fixture *fx = *state;
    char sub[128], path[PATH_LEN];
    snprintf(sub, sizeof sub, "%s/config", fx->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(path, sizeof path, "%s/statusd.conf", sub);
    FILE *f = fopen(track(fx, path), "w");
    assert_non_null(f);
    assert_true(fputs("port = 4242\n", f) >= 0);
    assert_int_equal(fclose(f), 0);
    enter_dir(fx);

    char *argv[] = {"statusd", NULL};
    char *env[] = {"STATUSD_CONFIG=", NULL};    /* empty means unset */
    sd_cli_action action;
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_OK);
    assert_int_equal(fx->cfg.port, 4242);
    assert_string_equal(fx->cfg.config_path, "config/statusd.conf");
}

static void test_build_without_any_file_uses_defaults(void **state)
{
    fixture *fx = *state;
    if (access("/etc/statusd/statusd.conf", F_OK) == 0) {
        print_message("/etc/statusd/statusd.conf exists on this host\n");
        skip();
    }
    enter_dir(fx);
    char *argv[] = {"statusd", NULL};
    sd_cli_action action;
    fx->cfg.port = 1;
    assert_int_equal(build(fx, ARGC(argv), argv, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_RUN);
    assert_string_equal(fx->cfg.config_path, "");
    assert_printed(fx, &fx->cfg, DEFAULTS_PRINTED);
}

static void test_build_flag_forms_and_set(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "\n");
    char *env[] = {"STATUSD_STORE=redis", "STATUSD_JOB_TTL=5", NULL};
    char *argv[] = {"statusd", "--config", (char *)path, "--port=80", "--store", "memory",
                    "--set", "job_ttl=60", "--set=log_format=json",
                    "--set", "handler_research=exec:/bin/h a=b", "--port", "81", NULL};
    sd_cli_action action;
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_OK);
    assert_int_equal(action, SD_CLI_RUN);
    assert_int_equal(fx->cfg.port, 81);    /* the later flag wins */
    assert_int_equal(fx->cfg.store, SD_STORE_MEMORY);
    assert_int_equal(fx->cfg.job_ttl, 60);
    assert_int_equal(fx->cfg.log_format, SD_LOG_JSON);
    assert_string_equal(fx->cfg.handler_research, "exec:/bin/h a=b");
}

static void assert_build_error(fixture *fx, int argc, char **argv, const char *expect)
{
    sd_cli_action action;
    assert_int_equal(build(fx, argc, argv, NULL, &action), SD_ERR_INVALID);
    assert_string_equal(fx->err, expect);
}

static void test_build_rejects_bad_flags(void **state)
{
    fixture *fx = *state;
    char *unknown[] = {"statusd", "--bogus", NULL};
    assert_build_error(fx, ARGC(unknown), unknown, "unknown option '--bogus' (see --help)");
    char *positional[] = {"statusd", "extra", NULL};
    assert_build_error(fx, ARGC(positional), positional,
                       "unexpected argument 'extra' (see --help)");
    char *no_value[] = {"statusd", "--port", NULL};
    assert_build_error(fx, ARGC(no_value), no_value, "option --port needs a value (--port N)");
    char *no_path[] = {"statusd", "--store", "memory", "--config", NULL};
    assert_build_error(fx, ARGC(no_path), no_path,
                       "option --config needs a value (--config PATH)");
    char *with_value[] = {"statusd", "--help=yes", NULL};
    assert_build_error(fx, ARGC(with_value), with_value, "option --help takes no value");
    char *bad_port[] = {"statusd", "--config", "/dev/null", "--port", "abc", NULL};
    assert_build_error(fx, ARGC(bad_port), bad_port,
                       "--port: port: expected an integer in 1..65535, got 'abc'");
    char *bad_store[] = {"statusd", "--config", "/dev/null", "--store=disk", NULL};
    assert_build_error(fx, ARGC(bad_store), bad_store,
                       "--store: store: expected one of auto|memory|redis, got 'disk'");
}

static void test_build_rejects_bad_set(void **state)
{
    fixture *fx = *state;
    char *no_eq[] = {"statusd", "--config", "/dev/null", "--set", "port", NULL};
    assert_build_error(fx, ARGC(no_eq), no_eq, "--set: expected KEY=VALUE, got 'port'");
    char *no_key[] = {"statusd", "--config", "/dev/null", "--set", "=5", NULL};
    assert_build_error(fx, ARGC(no_key), no_key, "--set: expected KEY=VALUE, got '=5'");
    char *unknown[] = {"statusd", "--config", "/dev/null", "--set", "colour=red", NULL};
    assert_build_error(fx, ARGC(unknown), unknown, "--set: colour: unknown key");
    char *bad[] = {"statusd", "--config", "/dev/null", "--set=workers=-2", NULL};
    assert_build_error(fx, ARGC(bad), bad,
                       "--set: workers: expected an integer in 0..1024, got '-2'");
}

static void test_build_actions(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "threads = 9\n");
    sd_cli_action action;

    char *check[] = {"statusd", "--check-config", "--config", (char *)path, "--port", "99",
                     NULL};
    assert_int_equal(build(fx, ARGC(check), check, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_CHECK_CONFIG);
    assert_int_equal(fx->cfg.threads, 9);    /* the configuration is loaded */
    assert_int_equal(fx->cfg.port, 99);

    char *version[] = {"statusd", "--version", NULL};
    assert_int_equal(build(fx, ARGC(version), version, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_VERSION);

    char *help[] = {"statusd", "--help", NULL};
    assert_int_equal(build(fx, ARGC(help), help, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_HELP);

    char *h[] = {"statusd", "-h", NULL};
    assert_int_equal(build(fx, ARGC(h), h, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_HELP);

    /* Help and version work even when the configuration would not load. */
    char *help_broken[] = {"statusd", "--config", "/nonexistent/statusd.conf", "--help",
                           NULL};
    assert_int_equal(build(fx, ARGC(help_broken), help_broken, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_HELP);

    char *both[] = {"statusd", "--check-config", "--version", NULL};
    assert_int_equal(build(fx, ARGC(both), both, NULL, &action), SD_OK);
    assert_int_equal(action, SD_CLI_VERSION);
}

static void test_build_check_config_still_fails_on_bad_input(void **state)
{
    fixture *fx = *state;
    char *env[] = {"STATUSD_MAX_BODY=1", NULL};
    char *argv[] = {"statusd", "--config", "/dev/null", "--check-config", NULL};
    sd_cli_action action;
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable STATUSD_MAX_BODY: max_body: "
                                 "expected an integer in 1024..16777216, got '1'");
}

/* ---- handler_<kind> ---- */

static void test_kind_handlers_come_from_file_env_and_flags_and_are_printed(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "handler_resize = http://app:8000/resize\n"
                                     "handler_llm = external\n");
    char *env[] = {"STATUSD_HANDLER_LLM=https://app/llm", "STATUSD_HANDLER_THUMB_NAILS="
                   "exec:/bin/true", NULL};
    char *argv[] = {"statusd", "--config", (char *)path, "--check-config",
                    "--set", "handler_resize=external", NULL};
    sd_cli_action action;
    assert_int_equal(build(fx, ARGC(argv), argv, env, &action), SD_OK);
    assert_int_equal(action, SD_CLI_CHECK_CONFIG);
    assert_int_equal(fx->cfg.kind_count, 3);
    assert_string_equal(fx->cfg.kinds[0].kind, "resize");
    assert_string_equal(fx->cfg.kinds[0].spec, "external");
    assert_string_equal(fx->cfg.kinds[1].kind, "llm");
    assert_string_equal(fx->cfg.kinds[1].spec, "https://app/llm");
    assert_string_equal(fx->cfg.kinds[2].kind, "thumb_nails");
    assert_string_equal(fx->cfg.kinds[2].spec, "exec:/bin/true");
    char *text = printed(fx, &fx->cfg);
    assert_non_null(strstr(text, "\nhandler_resize = external\nhandler_llm = https://app/llm\n"
                                 "handler_thumb_nails = exec:/bin/true\n"));
    free(text);
}

static void test_bad_kind_handler_keys_are_refused(void **state)
{
    fixture *fx = *state;
    char key[64];
    assert_int_equal(sd_config_set(&fx->cfg, "handler_Resize", "external", fx->err,
                                   sizeof fx->err), SD_ERR_INVALID);
    assert_string_equal(fx->err, "handler_Resize: unknown key (a job kind is [a-z][a-z0-9_-] "
                                 "of at most 32 characters)");
    assert_int_equal(sd_config_set(&fx->cfg, "handler_", "external", fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_int_equal(sd_config_set(&fx->cfg, "handler_9x", "external", fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_int_equal(sd_config_set(&fx->cfg, "handler_ok", "", fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, "handler_ok: must not be empty");
    assert_int_equal(fx->cfg.kind_count, 0);
    for (int i = 0; i < SD_KINDS_MAX; i++) {
        snprintf(key, sizeof key, "handler_k%d", i);
        assert_int_equal(sd_config_set(&fx->cfg, key, "external", fx->err, sizeof fx->err),
                         SD_OK);
    }
    assert_int_equal(sd_config_set(&fx->cfg, "handler_one_more", "external", fx->err,
                                   sizeof fx->err), SD_ERR_INVALID);
    assert_string_equal(fx->err, "handler_one_more: at most 16 handler_<kind> keys besides "
                                 "handler_research and handler_upload");
    /* a kind set again is replaced, not added */
    assert_int_equal(sd_config_set(&fx->cfg, "handler_k3", "http://x/y", fx->err,
                                   sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.kind_count, SD_KINDS_MAX);
    assert_string_equal(fx->cfg.kinds[3].spec, "http://x/y");

    char *env[] = {"STATUSD_HANDLER_BAD_KIND_=", NULL};
    sd_config cfg;
    sd_config_defaults(&cfg);
    assert_int_equal(sd_config_load_env(&cfg, env, fx->err, sizeof fx->err), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable STATUSD_HANDLER_BAD_KIND_: "
                                 "handler_bad_kind_: must not be empty");
    const char *path = temp_file(fx, "handler_x = external\nhandler_x = external\n");
    sd_config_defaults(&cfg);
    assert_int_equal(sd_config_load_file(&cfg, path, fx->err, sizeof fx->err), SD_ERR_INVALID);
    assert_non_null(strstr(fx->err, ":2: handler_x: duplicate key"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_env_statusd_key_overrides),
        T(test_env_sets_every_key),
        T(test_env_legacy_port),
        T(test_env_statusd_port_beats_legacy_port_in_any_order),
        T(test_env_bad_value_names_the_variable),
        T(test_env_unknown_statusd_variable_warns),
        T(test_env_warnings_are_capped),
        T(test_build_precedence_flags_over_env_over_file),
        T(test_build_config_flag_beats_statusd_config),
        T(test_build_missing_explicit_config_is_invalid),
        T(test_build_bad_file_reports_file_line_and_key),
        T(test_build_uses_config_dir_in_working_directory),
        T(test_build_without_any_file_uses_defaults),
        T(test_build_flag_forms_and_set),
        T(test_build_rejects_bad_flags),
        T(test_build_rejects_bad_set),
        T(test_build_actions),
        T(test_build_check_config_still_fails_on_bad_input),
        T(test_kind_handlers_come_from_file_env_and_flags_and_are_printed),
        T(test_bad_kind_handler_keys_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
