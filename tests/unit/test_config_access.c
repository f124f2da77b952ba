/*
 * Configuration of access and of what apps already set: trusted_proxies,
 * api_token and admin_token, cors_origins, the environment names apps use
 * (REDIS_URL, REDIS_PORT, USE_REDIS, REDIS_ENABLED, API_TOKEN, ...) and the
 * masking of secrets in what sd_config_print and --check-config write.
 * Each test gets its own mkdtemp directory (files made with mkstemp) that
 * the teardown removes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config_test.h"

/* ---- helpers ---- */

/* The value sd_config_print shows for key, without its newline. */
static void assert_printed_value(fixture *fx, const char *key, const char *expect)
{
    char *text = printed(fx, &fx->cfg);
    char needle[128];
    snprintf(needle, sizeof needle, "\n%s = ", key);
    const char *line = strstr(text, needle);
    if (line == NULL)
        fail_msg("no line for %s", key);
    line += strlen(needle);
    assert_int_equal(strcspn(line, "\n"), strlen(expect));
    assert_memory_equal(line, expect, strlen(expect));
    free(text);
}

/* ---- trusted_proxies ---- */

static void test_trusted_proxies_accepts_addresses_and_blocks(void **state)
{
    fixture *fx = *state;
    static const char *const good[] = {
        "", "127.0.0.1", "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8", "0.0.0.0/0,::/0",
        "  192.168.0.0/16  ,  172.16.0.0/12 ", "::ffff:10.0.0.0/104"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_set_ok(fx, "trusted_proxies", good[i]);
        assert_string_equal(fx->cfg.trusted_proxies, good[i]);
    }
}

static void test_trusted_proxies_errors_name_the_entry(void **state)
{
    fixture *fx = *state;
    assert_set_error(fx, "trusted_proxies", "127.0.0.1, 10.0.0.1/8",
                     "trusted_proxies: '10.0.0.1/8': address bits are set beyond the /8 "
                     "prefix (the block is 10.0.0.0/8)");
    assert_set_error(fx, "trusted_proxies", "10.0.0.0/8, proxy.internal",
                     "trusted_proxies: 'proxy.internal' is not an IPv4 or IPv6 address");
    assert_set_error(fx, "trusted_proxies", "fd00::/129",
                     "trusted_proxies: 'fd00::/129': the prefix length must be an integer "
                     "in 0..128");
    assert_set_error(fx, "trusted_proxies", "[::1]",
                     "trusted_proxies: '[::1]' is not an IPv4 or IPv6 address (write IPv6 "
                     "addresses without brackets)");
    assert_set_error(fx, "trusted_proxies", "10.0.0.1,",
                     "trusted_proxies: entry 2 is empty (two commas in a row, or a comma at "
                     "an end)");
    char many[1024] = "";
    for (int i = 0; i < 33; i++) {
        size_t used = strlen(many);
        snprintf(many + used, sizeof many - used, "%s10.%d.0.0/16", i ? "," : "", i);
    }
    assert_set_error(fx, "trusted_proxies", many, "trusted_proxies: more than 32 entries");

    const char *path = temp_file(fx, "\n\ntrusted_proxies = 10.0.0.0/8, 192.168.1.1/24\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    char expect[2 * PATH_LEN];
    snprintf(expect, sizeof expect, "%s:3: trusted_proxies: '192.168.1.1/24': address bits "
             "are set beyond the /24 prefix (the block is 192.168.1.0/24)", path);
    assert_string_equal(fx->err, expect);
}

/* ---- tokens ---- */

static void test_tokens_accept_16_printable_characters_or_empty(void **state)
{
    fixture *fx = *state;
    static const char *const keys[] = {"api_token", "admin_token"};
    static const char *const good[] = {"", "0123456789abcdef",
                                       "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
                                       "Zm9vYmFyYmF6cXV4cXV1eA=="};
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            assert_set_ok(fx, keys[k], good[i]);
            const char *field = k == 0 ? fx->cfg.api_token : fx->cfg.admin_token;
            assert_string_equal(field, good[i]);
        }
    }
    char longest[1100];
    memset(longest, 't', 1023);
    longest[1023] = '\0';
    assert_set_ok(fx, "api_token", longest);
    strcat(longest, "t");
    assert_set_error(fx, "api_token", longest,
                     "api_token: value is 1024 bytes, longer than the limit of 1023");
}

static void test_tokens_reject_short_or_unprintable_without_quoting_them(void **state)
{
    fixture *fx = *state;
    static const char *const keys[] = {"api_token", "admin_token"};
    static const char *const bad[][2] = {
        {"SECRETSECRET123", "too short (15 characters); use at least 16 (short tokens "
                            "are guessable; openssl rand -hex 32 makes a good one)"},
        {"S", "too short (1 character); use at least 16 (short tokens are guessable; "
              "openssl rand -hex 32 makes a good one)"},
        {"SECRET SECRET SECRET", "contains a space at byte 7; a token is printable ASCII "
                                 "without spaces"},
        {" SECRETSECRETSECRET", "contains a space at byte 1; a token is printable ASCII "
                                "without spaces"},
        {"SECRET\xC3\xA9SECRETSECRET", "contains a byte that is not printable ASCII at byte "
                                       "7; a token is printable ASCII without spaces"},
        {"SECRET\tSECRETSECRET", "value contains a control character at byte 7"},
    };
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char expect[512];
            snprintf(expect, sizeof expect, "%s: %s", keys[k], bad[i][1]);
            assert_set_error(fx, keys[k], bad[i][0], expect);
            assert_null(strstr(fx->err, "SECRET"));
        }
    }
    char *env[] = {"API_TOKEN=SECRET-short", NULL};
    assert_int_equal(load_env(fx, env), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable API_TOKEN: api_token: too short "
                                 "(12 characters); use at least 16 (short tokens are "
                                 "guessable; openssl rand -hex 32 makes a good one)");
}

static void test_env_api_token_legacy_name(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"API_TOKEN=legacy-token-0123456789", NULL};
    assert_int_equal(load_env(fx, env1), SD_OK);
    assert_string_equal(fx->cfg.api_token, "legacy-token-0123456789");
    char *env2[] = {"API_TOKEN=legacy-token-0123456789",
                    "STATUSD_API_TOKEN=statusd-token-0123456789",
                    "STATUSD_ADMIN_TOKEN=admin-token-0123456789", NULL};
    assert_int_equal(load_env(fx, env2), SD_OK);
    assert_string_equal(fx->cfg.api_token, "statusd-token-0123456789");
    assert_string_equal(fx->cfg.admin_token, "admin-token-0123456789");
    assert_int_equal(fx->cfg.warning_count, 0);
}

/* ---- handler_env ---- */

static void test_handler_env_accepts_variable_names(void **state)
{
    fixture *fx = *state;
    static const char *const good[] = {"", "OPENAI_API_KEY", " HTTPS_PROXY , no_proxy ",
                                       "_X,Y1", "A,,B"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_set_ok(fx, "handler_env", good[i]);
        assert_string_equal(fx->cfg.handler_env, good[i]);
    }
}

static void test_handler_env_refuses_bad_names_and_statusd_secrets(void **state)
{
    fixture *fx = *state;
    assert_set_error(fx, "handler_env", "1ABC",
                     "handler_env: '1ABC' is not a variable name (letters, digits and _, "
                     "not starting with a digit)");
    assert_set_error(fx, "handler_env", "HOME,A-B",
                     "handler_env: 'A-B' is not a variable name (letters, digits and _, "
                     "not starting with a digit)");
    static const char *const secrets[] = {"API_TOKEN", "STATUSD_API_TOKEN",
                                          "STATUSD_ADMIN_TOKEN", "REDIS_PASSWORD",
                                          "STATUSD_REDIS_PASSWORD", "REDIS_URL",
                                          "STATUSD_REDIS_URL"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        char value[64], expect[160];
        snprintf(value, sizeof value, "HOME, %s", secrets[i]);
        snprintf(expect, sizeof expect, "handler_env: %s holds one of statusd's secrets "
                 "and is never passed to handlers", secrets[i]);
        assert_set_error(fx, "handler_env", value, expect);
    }
}

/* ---- cors_origins ---- */

static void test_cors_origins_accepts_origins_or_star(void **state)
{
    fixture *fx = *state;
    static const char *const good[] = {
        "", "*", " * ", "https://app.example.com", "http://localhost:3000",
        "https://app.example.com, http://localhost:3000", "http://127.0.0.1:8080",
        "https://[::1]:8443", "http://[2001:db8::1]", "https://a-b.example.co.uk:65535",
        "https://xn--bcher-kva.example"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_set_ok(fx, "cors_origins", good[i]);
        assert_string_equal(fx->cfg.cors_origins, good[i]);
    }
}

static void test_cors_origins_errors_name_the_origin(void **state)
{
    fixture *fx = *state;
    static const char *const bad[][2] = {
        {"https://app.example.com/", "'https://app.example.com/': an origin has no path, "
                                     "not even a trailing '/' (scheme://host[:port])"},
        {"http://localhost:3000/app", "'http://localhost:3000/app': an origin has no path, "
                                      "not even a trailing '/' (scheme://host[:port])"},
        {"app.example.com", "'app.example.com': expected scheme://host[:port], such as "
                            "https://app.example.com"},
        {"ftp://files.example.com", "'ftp://files.example.com': the scheme must be http:// "
                                    "or https:// (lower case)"},
        {"HTTPS://app.example.com", "'HTTPS://app.example.com': the scheme must be http:// "
                                    "or https:// (lower case)"},
        {"https://App.Example.com", "'https://App.Example.com': write the host in lower "
                                    "case (browsers send it so, and origins are compared "
                                    "exactly)"},
        {"https://", "'https://': no host (expected scheme://host[:port])"},
        {"https://:8080", "'https://:8080': no host (expected scheme://host[:port])"},
        {"http://localhost:0", "'http://localhost:0': the port must be an integer in "
                               "1..65535"},
        {"http://localhost:65536", "'http://localhost:65536': the port must be an integer "
                                   "in 1..65535"},
        {"http://localhost:", "'http://localhost:': the port must be an integer in "
                              "1..65535"},
        {"http://localhost:http", "'http://localhost:http': the port must be an integer "
                                  "in 1..65535"},
        {"https://app.example.com:443", "'https://app.example.com:443': :443 is the default "
                                        "port of https; leave it out (browsers do)"},
        {"http://app.example.com:80", "'http://app.example.com:80': :80 is the default port "
                                      "of http; leave it out (browsers do)"},
        {"https://app.example.com?x=1", "'https://app.example.com?x=1': unexpected '?' after "
                                        "the host (an origin is scheme://host[:port])"},
        {"https://user@app.example.com", "'https://user@app.example.com': unexpected '@' "
                                         "after the host (an origin is "
                                         "scheme://host[:port])"},
        {"https://app_1.example.com", "'https://app_1.example.com': the host contains '_'"},
        {"https://[::1", "'https://[::1': '[' without a matching ']'"},
        {"https://[app]", "'https://[app]': '[app]' is not an IPv6 address"},
        {"https://a.com, *", "'*' allows any origin and must be the only entry"},
        {"*, *", "'*' allows any origin and must be the only entry"},
        {"https://a.com,,https://b.com", "entry 2 is empty (two commas in a row, or a "
                                         "comma at an end)"},
        {"https://a.com,", "entry 2 is empty (two commas in a row, or a comma at an end)"},
        {",", "entry 1 is empty (two commas in a row, or a comma at an end)"},
        {"null", "'null': expected scheme://host[:port], such as https://app.example.com"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expect[512];
        snprintf(expect, sizeof expect, "cors_origins: %s", bad[i][1]);
        assert_set_error(fx, "cors_origins", bad[i][0], expect);
    }
}

/* ---- the environment ---- */

static void test_env_legacy_redis_names_set_their_keys(void **state)
{
    fixture *fx = *state;
    char *env[] = {"REDIS_URL=redis://cache:6380/1", "REDIS_HOST=10.0.0.9",
                   "REDIS_PORT=6390", "REDIS_DB=7", "REDIS_PASSWORD=pw",
                   "REDIS_CONNECTION_POOL_SIZE=32", NULL};
    assert_int_equal(load_env(fx, env), SD_OK);
    assert_string_equal(fx->cfg.redis_url, "redis://cache:6380/1");
    assert_string_equal(fx->cfg.redis_host, "10.0.0.9");
    assert_int_equal(fx->cfg.redis_port, 6390);
    assert_int_equal(fx->cfg.redis_db, 7);
    assert_string_equal(fx->cfg.redis_password, "pw");
    assert_int_equal(fx->cfg.redis_pool_size, 32);
    assert_int_equal(fx->cfg.store, SD_STORE_AUTO);
    assert_int_equal(fx->cfg.warning_count, 0);
}

static void test_env_statusd_names_beat_legacy_redis_names(void **state)
{
    fixture *fx = *state;
    char *env[] = {"STATUSD_REDIS_URL=redis://new:1/2", "REDIS_URL=redis://old:3/4",
                   "REDIS_PORT=1111", "STATUSD_REDIS_PORT=2222",
                   "STATUSD_REDIS_POOL_SIZE=5", "REDIS_CONNECTION_POOL_SIZE=6", NULL};
    assert_int_equal(load_env(fx, env), SD_OK);
    assert_string_equal(fx->cfg.redis_url, "redis://new:1/2");
    assert_int_equal(fx->cfg.redis_port, 2222);
    assert_int_equal(fx->cfg.redis_pool_size, 5);
}

static void test_env_bad_legacy_redis_value_names_the_variable(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"REDIS_PORT=x", NULL};
    assert_int_equal(load_env(fx, env1), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable REDIS_PORT: redis_port: expected an "
                                 "integer in 1..65535, got 'x'");
    char *env2[] = {"REDIS_URL=rediss://:pw@cache", NULL};
    assert_int_equal(load_env(fx, env2), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable REDIS_URL: redis_url: TLS "
                                 "(rediss://) is not supported; use redis://");
    char *env3[] = {"STATUSD_KEY_PREFIX=jobs:*", NULL};
    assert_int_equal(load_env(fx, env3), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable STATUSD_KEY_PREFIX: key_prefix: "
                                 "'*' at byte 6 is not allowed: use A-Z a-z 0-9 : . _ - "
                                 "(glob characters such as * ? [ would break SCAN MATCH)");
    assert_string_equal(fx->cfg.key_prefix, "statusd:");
}

static void test_env_use_redis_and_redis_enabled_map_to_store(void **state)
{
    fixture *fx = *state;
    static const char *const truthy[] = {"true", "1", "yes", "on", "TRUE", "Yes", "oN"};
    static const char *const falsy[] = {"false", "0", "no", "off", "FALSE", "No", "OFF"};
    static const char *const vars[] = {"USE_REDIS", "REDIS_ENABLED"};
    char entry[64];
    char *env[] = {entry, NULL};
    for (size_t v = 0; v < 2; v++) {
        for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
            fx->cfg.store = SD_STORE_AUTO;
            snprintf(entry, sizeof entry, "%s=%s", vars[v], truthy[i]);
            assert_int_equal(load_env(fx, env), SD_OK);
            assert_int_equal(fx->cfg.store, SD_STORE_REDIS);
        }
        for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
            fx->cfg.store = SD_STORE_AUTO;
            snprintf(entry, sizeof entry, "%s=%s", vars[v], falsy[i]);
            assert_int_equal(load_env(fx, env), SD_OK);
            assert_int_equal(fx->cfg.store, SD_STORE_MEMORY);
        }
    }
    char *both[] = {"USE_REDIS=yes", "REDIS_ENABLED=1", NULL};
    assert_int_equal(load_env(fx, both), SD_OK);
    assert_int_equal(fx->cfg.store, SD_STORE_REDIS);
    assert_int_equal(fx->cfg.warning_count, 0);
}

static void test_env_use_redis_bad_value_names_the_variable(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"STATUSD_WORKERS=9", "USE_REDIS=maybe", NULL};
    assert_int_equal(load_env(fx, env1), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable USE_REDIS: expected one of "
                                 "true|1|yes|on|false|0|no|off, got 'maybe'");
    assert_int_equal(fx->cfg.workers, 4);    /* nothing applied */
    assert_int_equal(fx->cfg.store, SD_STORE_AUTO);

    char *env2[] = {"REDIS_ENABLED=", NULL};
    assert_int_equal(load_env(fx, env2), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable REDIS_ENABLED: expected one of "
                                 "true|1|yes|on|false|0|no|off, got ''");

    char *env3[] = {"REDIS_ENABLED=off", "USE_REDIS=true", NULL};
    assert_int_equal(load_env(fx, env3), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variables USE_REDIS and REDIS_ENABLED "
                                 "disagree (store = redis against store = memory)");
    assert_int_equal(fx->cfg.store, SD_STORE_AUTO);
}

static void test_env_statusd_store_beats_use_redis(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"STATUSD_STORE=memory", "USE_REDIS=true", NULL};
    assert_int_equal(load_env(fx, env1), SD_OK);
    assert_int_equal(fx->cfg.store, SD_STORE_MEMORY);
    char *env2[] = {"REDIS_ENABLED=false", "STATUSD_STORE=auto", NULL};
    assert_int_equal(load_env(fx, env2), SD_OK);
    assert_int_equal(fx->cfg.store, SD_STORE_AUTO);
    char *env3[] = {"REDIS_ENABLED=no", NULL};
    assert_int_equal(load_env(fx, env3), SD_OK);
    assert_int_equal(fx->cfg.store, SD_STORE_MEMORY);
}

/* ---- secrets ---- */

static void test_print_masks_redis_password(void **state)
{
    fixture *fx = *state;
    assert_printed_value(fx, "redis_password", "\"\"");
    assert_set_ok(fx, "redis_password", "p#ss word");
    assert_printed_value(fx, "redis_password", "***");
}

static void test_print_masks_password_in_redis_url(void **state)
{
    fixture *fx = *state;
    static const char *const cases[][2] = {
        {"redis://cache:6379/0", "redis://cache:6379/0"},
        {"redis://:pw@cache", "redis://:***@cache"},
        {"redis://bob:pw@cache:6380/1", "redis://bob:***@cache:6380/1"},
        {"redis://bob:@cache", "redis://bob:***@cache"},
        {"redis://u:p%40w@[::1]:6380", "redis://u:***@[::1]:6380"},
        {"redis://u:a@b@cache", "redis://u:***@cache"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_set_ok(fx, "redis_url", cases[i][0]);
        assert_printed_value(fx, "redis_url", cases[i][1]);
    }
    /* A URL that bypassed validation keeps its secret too. */
    snprintf(fx->cfg.redis_url, sizeof fx->cfg.redis_url, "redis://secret@cache");
    assert_printed_value(fx, "redis_url", "redis://***@cache");
    snprintf(fx->cfg.redis_url, sizeof fx->cfg.redis_url, "u:secret@cache");
    assert_printed_value(fx, "redis_url", "u:***@cache");
}

static void test_check_config_output_never_shows_secrets(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "redis_password = file-secret-1\n"
                                     "redis_url = redis://bob:file-secret-2@cache:6380/1\n");
    char *argv[] = {"statusd", "--config", (char *)path, "--check-config", NULL};
    sd_cli_action action;
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv), argv, NULL, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_int_equal(action, SD_CLI_CHECK_CONFIG);
    assert_string_equal(fx->cfg.redis_password, "file-secret-1");
    assert_string_equal(fx->cfg.redis_url, "redis://bob:file-secret-2@cache:6380/1");
    char *text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\nredis_password = ***\n"));
    assert_non_null(strstr(text, "\nredis_url = redis://bob:***@cache:6380/1\n"));
    free(text);

    char *env2[] = {"STATUSD_REDIS_PASSWORD=env-secret-4",
                    "REDIS_URL=redis://:env-secret-5@env-cache", NULL};
    char *argv2[] = {"statusd", "--config", "/dev/null", "--check-config",
                     "--set", "redis_url=redis://u:flag-secret-6@h", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv2), argv2, env2, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.redis_password, "env-secret-4");
    assert_string_equal(fx->cfg.redis_url, "redis://u:flag-secret-6@h");
    text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\nredis_password = ***\n"));
    assert_non_null(strstr(text, "\nredis_url = redis://u:***@h\n"));
    free(text);

    char *env3[] = {"REDIS_PASSWORD=env-secret-7", "REDIS_URL=redis://:env-secret-8@h2",
                    NULL};
    char *argv3[] = {"statusd", "--config", "/dev/null", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv3), argv3, env3, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.redis_password, "env-secret-7");
    text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\nredis_url = redis://:***@h2\n"));
    free(text);
}

static void test_print_masks_tokens(void **state)
{
    fixture *fx = *state;
    assert_printed_value(fx, "api_token", "\"\"");
    assert_printed_value(fx, "admin_token", "\"\"");
    assert_set_ok(fx, "api_token", "#api-token-with-hash");
    assert_set_ok(fx, "admin_token", "admin-token-0123456789");
    assert_printed_value(fx, "api_token", "***");
    assert_printed_value(fx, "admin_token", "***");
}

static void test_check_config_output_never_shows_tokens(void **state)
{
    fixture *fx = *state;
    sd_cli_action action;
    const char *path = temp_file(fx, "api_token = file-secret-api-0001\n"
                                     "admin_token = \"file-secret-admin-02\"\n");
    char *argv1[] = {"statusd", "--config", (char *)path, "--check-config", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv1), argv1, NULL, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_int_equal(action, SD_CLI_CHECK_CONFIG);
    assert_string_equal(fx->cfg.api_token, "file-secret-api-0001");
    assert_string_equal(fx->cfg.admin_token, "file-secret-admin-02");
    char *text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\napi_token = ***\n"));
    assert_non_null(strstr(text, "\nadmin_token = ***\n"));
    free(text);

    char *env2[] = {"API_TOKEN=env-secret-api-00003", "STATUSD_ADMIN_TOKEN=env-secret-admin-4",
                    NULL};
    char *argv2[] = {"statusd", "--config", "/dev/null", "--check-config", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv2), argv2, env2, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.api_token, "env-secret-api-00003");
    assert_string_equal(fx->cfg.admin_token, "env-secret-admin-4");
    text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\napi_token = ***\n"));
    assert_non_null(strstr(text, "\nadmin_token = ***\n"));
    free(text);

    char *argv3[] = {"statusd", "--config", "/dev/null", "--check-config",
                     "--set", "api_token=flag-secret-api-0005",
                     "--set=admin_token=flag-secret-admin-6", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv3), argv3, env2, &action, fx->err,
                                     sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.api_token, "flag-secret-api-0005");
    assert_string_equal(fx->cfg.admin_token, "flag-secret-admin-6");
    text = printed(fx, &fx->cfg);
    assert_null(strstr(text, "secret"));
    assert_non_null(strstr(text, "\napi_token = ***\n"));
    assert_non_null(strstr(text, "\nadmin_token = ***\n"));
    free(text);

    /* A rejected token is not quoted in the error either. */
    char *argv4[] = {"statusd", "--config", "/dev/null", "--set",
                     "api_token=secret 1234567890", NULL};
    assert_int_equal(sd_config_build(&fx->cfg, ARGC(argv4), argv4, NULL, &action, fx->err,
                                     sizeof fx->err), SD_ERR_INVALID);
    assert_string_equal(fx->err, "--set: api_token: contains a space at byte 7; a token is "
                                 "printable ASCII without spaces");
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_trusted_proxies_accepts_addresses_and_blocks),
        T(test_trusted_proxies_errors_name_the_entry),
        T(test_tokens_accept_16_printable_characters_or_empty),
        T(test_tokens_reject_short_or_unprintable_without_quoting_them),
        T(test_env_api_token_legacy_name),
        T(test_handler_env_accepts_variable_names),
        T(test_handler_env_refuses_bad_names_and_statusd_secrets),
        T(test_cors_origins_accepts_origins_or_star),
        T(test_cors_origins_errors_name_the_origin),
        T(test_env_legacy_redis_names_set_their_keys),
        T(test_env_statusd_names_beat_legacy_redis_names),
        T(test_env_bad_legacy_redis_value_names_the_variable),
        T(test_env_use_redis_and_redis_enabled_map_to_store),
        T(test_env_use_redis_bad_value_names_the_variable),
        T(test_env_statusd_store_beats_use_redis),
        T(test_print_masks_redis_password),
        T(test_print_masks_password_in_redis_url),
        T(test_check_config_output_never_shows_secrets),
        T(test_print_masks_tokens),
        T(test_check_config_output_never_shows_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
