/*
 * Configuration of Redis and of what lives in it: sd_redis_url_parse, the
 * Redis keys and key_prefix, job_lease, the keys of sessions,
 * conversations and rate limits (with SESSION_EXPIRE_TIME), and how
 * sd_config_usage and config/statusd.conf document them. Access keys,
 * the legacy Redis variables and the masking of secrets are in
 * test_config_access.c. Each test gets its own mkdtemp directory (files
 * made with mkstemp) that the teardown removes.
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
#include "http_test.h"

#define URL_FORM "redis://[[user]:password@]host[:port][/db]"

/* ---- helpers ---- */

static void assert_url_ok(fixture *fx, const char *url, const char *host, int port, int db,
                          const char *user, const char *password)
{
    memset(&fx->target, 0x55, sizeof fx->target);
    fx->err[0] = '\0';
    if (sd_redis_url_parse(url, &fx->target, fx->err, sizeof fx->err) != SD_OK)
        fail_msg("'%s' rejected: %s", url, fx->err);
    assert_string_equal(fx->target.host, host);
    assert_int_equal(fx->target.port, port);
    assert_int_equal(fx->target.db, db);
    assert_string_equal(fx->target.username, user);
    assert_string_equal(fx->target.password, password);
}

/* The URL is rejected with exactly reason, and *out is left alone. */
static void assert_url_error(fixture *fx, const char *url, const char *reason)
{
    memset(&fx->target, 0x55, sizeof fx->target);
    sd_redis_target before = fx->target;
    fx->err[0] = '\0';
    assert_int_equal(sd_redis_url_parse(url, &fx->target, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, reason);
    assert_memory_equal(&fx->target, &before, sizeof before);
}

/* ---- sd_redis_url_parse: accepted forms ---- */

static void test_url_full_form(void **state)
{
    assert_url_ok(*state, "redis://alice:s3cret@cache.example.com:6380/5",
                  "cache.example.com", 6380, 5, "alice", "s3cret");
}

static void test_url_without_port_uses_6379(void **state)
{
    assert_url_ok(*state, "redis://cache/3", "cache", 6379, 3, "", "");
    assert_url_ok(*state, "redis://10.1.2.3", "10.1.2.3", 6379, 0, "", "");
}

static void test_url_without_db_uses_0(void **state)
{
    assert_url_ok(*state, "redis://cache:7000", "cache", 7000, 0, "", "");
    assert_url_ok(*state, "redis://cache:7000/", "cache", 7000, 0, "", "");
    assert_url_ok(*state, "redis://redis_1:1/255", "redis_1", 1, 255, "", "");
    assert_url_ok(*state, "redis://h:65535/0", "h", 65535, 0, "", "");
}

static void test_url_user_and_password_forms(void **state)
{
    fixture *fx = *state;
    assert_url_ok(fx, "redis://:pw@cache", "cache", 6379, 0, "", "pw");
    assert_url_ok(fx, "redis://worker:@cache:6390", "cache", 6390, 0, "worker", "");
    assert_url_ok(fx, "redis://u:a:b@cache", "cache", 6379, 0, "u", "a:b");
    assert_url_ok(fx, "REDIS://u:p@Cache.Local", "Cache.Local", 6379, 0, "u", "p");
}

static void test_url_percent_decodes_user_and_password(void **state)
{
    fixture *fx = *state;
    assert_url_ok(fx, "redis://us%65r%3A1:p%40ss%2Fw%25rd%2f%3a@h:6379/2", "h", 6379, 2,
                  "user:1", "p@ss/w%rd/:");
    assert_url_ok(fx, "redis://:%C3%A9t%C3%A9@h", "h", 6379, 0, "", "\xC3\xA9t\xC3\xA9");
}

static void test_url_ipv6_host_in_brackets(void **state)
{
    fixture *fx = *state;
    assert_url_ok(fx, "redis://[::1]:6380/1", "::1", 6380, 1, "", "");
    assert_url_ok(fx, "redis://[2001:db8::5]", "2001:db8::5", 6379, 0, "", "");
    assert_url_ok(fx, "redis://:pw@[::ffff:10.0.0.1]/4", "::ffff:10.0.0.1", 6379, 4, "",
                  "pw");
}

static void test_url_longest_password_fits(void **state)
{
    fixture *fx = *state;
    char url[512], pw[256];
    memset(pw, 'p', 255);
    pw[255] = '\0';
    snprintf(url, sizeof url, "redis://:%s@h", pw);
    assert_url_ok(fx, url, "h", 6379, 0, "", pw);
    snprintf(url, sizeof url, "redis://:%sp@h", pw);
    assert_url_error(fx, url, "password is longer than 255 bytes");
}

/* ---- sd_redis_url_parse: rejected forms ---- */

static void test_url_error_missing_or_other_scheme(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "cache:6379", "must start with redis:// (" URL_FORM ")");
    assert_url_error(fx, "", "must start with redis:// (" URL_FORM ")");
    assert_url_error(fx, "redis:/cache", "must start with redis:// (" URL_FORM ")");
    assert_url_error(fx, "http://cache:6379",
                     "unsupported scheme 'http://' (expected " URL_FORM ")");
    assert_url_error(fx, "unix:///run/redis.sock",
                     "unsupported scheme 'unix://' (expected " URL_FORM ")");
}

static void test_url_error_rediss_is_not_supported(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "rediss://:pw@cache:6380/0",
                     "TLS (rediss://) is not supported; use redis://");
    assert_url_error(fx, "REDISS://cache", "TLS (rediss://) is not supported; use redis://");
}

static void test_url_error_empty_host(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://", "empty host");
    assert_url_error(fx, "redis:///0", "empty host");
    assert_url_error(fx, "redis://:6379", "empty host");
    assert_url_error(fx, "redis://:pw@", "empty host");
    assert_url_error(fx, "redis://u:pw@:6379/0", "empty host");
    assert_url_error(fx, "redis://[]:6379", "empty host");
}

static void test_url_error_bad_host(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://ca$he",
                     "host contains '$'; expected a host name or an IP address");
    assert_url_error(fx, "redis://caf\xC3\xA9",
                     "host contains byte 0xc3; expected a host name or an IP address");
    assert_url_error(fx, "redis://::1:6379", "an IPv6 host must be in brackets ([::1])");
    assert_url_error(fx, "redis://[::1:6379", "'[' without a closing ']' around the IPv6 host");
    assert_url_error(fx, "redis://[cache]", "'[cache]' is not an IPv6 address");
    char url[512];
    snprintf(url, sizeof url, "redis://%0256d", 0);
    assert_url_error(fx, url, "host is longer than 255 bytes");
}

static void test_url_error_bad_port(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://h:0", "port: expected an integer in 1..65535, got '0'");
    assert_url_error(fx, "redis://h:65536/1",
                     "port: expected an integer in 1..65535, got '65536'");
    assert_url_error(fx, "redis://h:", "port: expected an integer in 1..65535, got ''");
    assert_url_error(fx, "redis://h:abc", "port: expected an integer in 1..65535, got 'abc'");
    assert_url_error(fx, "redis://h:-1", "port: expected an integer in 1..65535, got '-1'");
    assert_url_error(fx, "redis://h:+80", "port: expected an integer in 1..65535, got '+80'");
    assert_url_error(fx, "redis://h:6379:1",
                     "an IPv6 host must be in brackets ([::1])");
    /* 61 zeros then 80: the first 63 bytes alone would read as 80. */
    char url[128];
    snprintf(url, sizeof url, "redis://h:%061d80x", 0);
    assert_url_error(fx, url, "port: expected an integer in 1..65535, got '"
                              "000000000000000000000000000000000000000000000000000000000000"
                              "...'");
}

static void test_url_error_bad_db(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://h/256", "db: expected an integer in 0..255, got '256'");
    assert_url_error(fx, "redis://h:6379/-1", "db: expected an integer in 0..255, got '-1'");
    assert_url_error(fx, "redis://h/x", "db: expected an integer in 0..255, got 'x'");
    assert_url_error(fx, "redis://h/99999999999999999999",
                     "db: expected an integer in 0..255, got '99999999999999999999'");
}

static void test_url_error_trailing_junk(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://h:6379/0?timeout=5",
                     "unexpected text '?timeout=5' after the db number");
    assert_url_error(fx, "redis://h/1/2", "unexpected text '/2' after the db number");
    assert_url_error(fx, "redis://[::1]x/0", "unexpected 'x' after the IPv6 host");
    assert_url_error(fx, "redis://h:6379 ", "contains a space at byte 15 (percent-encode it)");
    assert_url_error(fx, "redis://h\n", "contains a control character at byte 10 "
                                        "(percent-encode it)");
}

static void test_url_error_bad_user_part(void **state)
{
    fixture *fx = *state;
    assert_url_error(fx, "redis://secret@h",
                     "expected ':' before the password (user:password@host or :password@host)");
    assert_url_error(fx, "redis://:pa/ss@h",
                     "'@' after the host: percent-encode '@' and '/' in the user name and "
                     "password (%40, %2F)");
    assert_url_error(fx, "redis://:p%zz@h", "password: '%' must be followed by two hex "
                                            "digits (write %25 for '%')");
    assert_url_error(fx, "redis://:pw%4@h", "password: '%' must be followed by two hex "
                                            "digits (write %25 for '%')");
    assert_url_error(fx, "redis://u%:pw@h", "user name: '%' must be followed by two hex "
                                            "digits (write %25 for '%')");
    assert_url_error(fx, "redis://:a%00b@h", "password: %00 is not allowed");
    char url[512];
    snprintf(url, sizeof url, "redis://%0128d:pw@h", 0);
    assert_url_error(fx, url, "user name is longer than 127 bytes");
}

static void test_url_errors_never_contain_the_password(void **state)
{
    fixture *fx = *state;
    static const char *const urls[] = {
        "rediss://:TOPSECRET@h", "http://:TOPSECRET@h", ":TOPSECRET@h:6379",
        "redis://:TOPSECRET@h:99999", "redis://:TOPSECRET@h/x", "redis://:TOPSECRET%zz@h",
        "redis://u:TOPSECRET@", "redis://:TOPSECRET@h/0?x", "redis://:TOPSECRET@[zz]",
        "redis://:TOP/SECRET@h", "redis:TOPSECRET@h", "redis://:TOPSECRET@h$",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        fx->err[0] = '\0';
        assert_int_equal(sd_redis_url_parse(urls[i], &fx->target, fx->err, sizeof fx->err),
                         SD_ERR_INVALID);
        assert_true(fx->err[0] != '\0');
        if (strstr(fx->err, "SECRET") != NULL)
            fail_msg("'%s' gave '%s'", urls[i], fx->err);
    }
    /* err may be NULL. */
    assert_int_equal(sd_redis_url_parse("redis://", &fx->target, NULL, 0), SD_ERR_INVALID);
}

/* ---- the Redis keys ---- */

static void test_redis_url_key_is_validated(void **state)
{
    fixture *fx = *state;
    assert_set_ok(fx, "redis_url", "redis://:pw@cache:6380/2");
    assert_string_equal(fx->cfg.redis_url, "redis://:pw@cache:6380/2");
    assert_set_ok(fx, "redis_url", "");
    assert_string_equal(fx->cfg.redis_url, "");
    assert_set_error(fx, "redis_url", "rediss://cache",
                     "redis_url: TLS (rediss://) is not supported; use redis://");
    assert_set_error(fx, "redis_url", "cache:6379",
                     "redis_url: must start with redis:// (" URL_FORM ")");

    const char *path = temp_file(fx, "\nredis_url = redis://cache:70000\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    char expect[2 * PATH_LEN];
    snprintf(expect, sizeof expect,
             "%s:2: redis_url: port: expected an integer in 1..65535, got '70000'", path);
    assert_string_equal(fx->err, expect);
}

static void test_redis_host_key_accepts_names_and_addresses(void **state)
{
    fixture *fx = *state;
    static const char *const good[] = {"cache.internal", "redis_1", "10.0.0.7", "::1",
                                       "2001:db8::5", ""};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_set_ok(fx, "redis_host", good[i]);
        assert_string_equal(fx->cfg.redis_host, good[i]);
    }
    assert_set_error(fx, "redis_host", "[::1]",
                     "redis_host: '[::1]' is not an IPv6 address (written without brackets "
                     "here)");
    assert_set_error(fx, "redis_host", "cache/0",
                     "redis_host: host contains '/'; expected a host name or an IP address");
    assert_set_error(fx, "redis_host", "redis://cache",
                     "redis_host: 'redis://cache' is not an IPv6 address (written without "
                     "brackets here)");
    char longest[300];
    memset(longest, 'h', 256);
    longest[256] = '\0';
    assert_set_error(fx, "redis_host", longest,
                     "redis_host: value is 256 bytes, longer than the limit of 255");
    longest[255] = '\0';
    assert_set_ok(fx, "redis_host", longest);
}

static void test_redis_integer_keys_check_their_ranges(void **state)
{
    fixture *fx = *state;
    assert_set_error(fx, "redis_port", "0", "redis_port: expected an integer in 1..65535, "
                                            "got '0'");
    assert_set_error(fx, "redis_port", "65536", "redis_port: expected an integer in "
                                                "1..65535, got '65536'");
    assert_set_error(fx, "redis_db", "256", "redis_db: expected an integer in 0..255, "
                                            "got '256'");
    assert_set_error(fx, "redis_db", "-1", "redis_db: expected an integer in 0..255, "
                                           "got '-1'");
    assert_set_error(fx, "redis_timeout_ms", "9", "redis_timeout_ms: expected an integer "
                                                  "in 10..60000, got '9'");
    assert_set_error(fx, "redis_timeout_ms", "60001", "redis_timeout_ms: expected an "
                                                      "integer in 10..60000, got '60001'");
    assert_set_error(fx, "redis_pool_size", "-1", "redis_pool_size: expected an integer "
                                                  "in 0..10000, got '-1'");
    assert_set_error(fx, "redis_pool_size", "10001", "redis_pool_size: expected an "
                                                     "integer in 0..10000, got '10001'");
    assert_set_error(fx, "job_lease", "0", "job_lease: expected an integer in 1..3600, "
                                           "got '0'");
    assert_set_error(fx, "job_lease", "3601", "job_lease: expected an integer in 1..3600, "
                                              "got '3601'");
    assert_set_error(fx, "job_lease", "5s", "job_lease: expected an integer in 1..3600, "
                                            "got '5s'");
    assert_set_error(fx, "max_attempts", "0", "max_attempts: expected an integer in "
                                              "1..100, got '0'");
    assert_set_error(fx, "max_attempts", "101", "max_attempts: expected an integer in "
                                                "1..100, got '101'");
    assert_set_error(fx, "retry_backoff_ms", "-1", "retry_backoff_ms: expected an integer "
                                                   "in 0..3600000, got '-1'");
    assert_set_error(fx, "retry_backoff_max_ms", "3600001",
                     "retry_backoff_max_ms: expected an integer in 0..3600000, "
                     "got '3600001'");
    assert_set_error(fx, "handler_upload", "", "handler_upload: must not be empty");

    const char *path = temp_file(fx, "redis_port = 1\nredis_db = 255\n"
                                     "redis_timeout_ms = 60000\nredis_pool_size = 10000\n"
                                     "job_lease = 3600\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.redis_port, 1);
    assert_int_equal(fx->cfg.redis_db, 255);
    assert_int_equal(fx->cfg.redis_timeout_ms, 60000);
    assert_int_equal(fx->cfg.redis_pool_size, 10000);
    assert_int_equal(fx->cfg.job_lease, 3600);
    assert_set_ok(fx, "redis_timeout_ms", "10");
    assert_set_ok(fx, "job_lease", "1");
    assert_int_equal(fx->cfg.redis_timeout_ms, 10);
    assert_int_equal(fx->cfg.job_lease, 1);
}

static void test_key_prefix_allows_only_scan_safe_characters(void **state)
{
    fixture *fx = *state;
    assert_set_ok(fx, "key_prefix", "a");
    assert_string_equal(fx->cfg.key_prefix, "a");
    assert_set_ok(fx, "key_prefix", "App-1_x.y:z:");
    assert_string_equal(fx->cfg.key_prefix, "App-1_x.y:z:");
    char prefix[80];
    memset(prefix, 'p', 64);
    prefix[64] = '\0';
    assert_set_ok(fx, "key_prefix", prefix);
    assert_string_equal(fx->cfg.key_prefix, prefix);
    strcat(prefix, "p");
    assert_set_error(fx, "key_prefix", prefix,
                     "key_prefix: value is 65 bytes, longer than the limit of 64");
    assert_set_error(fx, "key_prefix", "", "key_prefix: must not be empty");

    static const char *const bad[][2] = {
        {"statusd*", "'*' at byte 8"}, {"st?", "'?' at byte 3"}, {"[ab]", "'[' at byte 1"},
        {"a\\b", "'\\' at byte 2"},   {"a b", "byte 0x20 at byte 2"},
        {"caf\xC3\xA9", "byte 0xc3 at byte 4"}, {"a/b", "'/' at byte 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expect[512];
        snprintf(expect, sizeof expect,
                 "key_prefix: %s is not allowed: use A-Z a-z 0-9 : . _ - (glob "
                 "characters such as * ? [ would break SCAN MATCH)", bad[i][1]);
        assert_set_error(fx, "key_prefix", bad[i][0], expect);
    }
}

static void test_redis_password_errors_do_not_quote_it(void **state)
{
    fixture *fx = *state;
    assert_set_error(fx, "redis_password", "se\tcret",
                     "redis_password: value contains a control character at byte 3");
    char pw[300];
    memset(pw, 's', 256);
    pw[256] = '\0';
    assert_set_error(fx, "redis_password", pw,
                     "redis_password: value is 256 bytes, longer than the limit of 255");
}

/* ---- sessions, conversations, rate limits ---- */

static void test_session_and_limit_keys_check_their_ranges(void **state)
{
    fixture *fx = *state;
    static const struct {
        const char *key, *range, *below, *above;
    } keys[] = {
        {"session_ttl", "1..2592000", "0", "2592001"},
        {"conversation_ttl", "1..2592000", "0", "2592001"},
        {"conversation_max_messages", "1..10000", "0", "10001"},
        {"ratelimit_chat", "0..1000000", "-1", "1000001"},
        {"ratelimit_submit", "0..1000000", "-1", "1000001"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *bad[] = {keys[i].below, keys[i].above, "1m", "", " 5"};
        for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
            char expect[256];
            snprintf(expect, sizeof expect, "%s: expected an integer in %s, got '%s'",
                     keys[i].key, keys[i].range, bad[j]);
            assert_set_error(fx, keys[i].key, bad[j], expect);
        }
    }
    const char *path = temp_file(fx, "session_ttl = 2592000\nconversation_ttl = 1\n"
                                     "conversation_max_messages = 10000\n"
                                     "ratelimit_chat = 0\nratelimit_submit = 1000000\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.session_ttl, 2592000);
    assert_int_equal(fx->cfg.conversation_ttl, 1);
    assert_int_equal(fx->cfg.conversation_max_messages, 10000);
    assert_int_equal(fx->cfg.ratelimit_chat, 0);
    assert_int_equal(fx->cfg.ratelimit_submit, 1000000);
    assert_set_ok(fx, "session_ttl", "1");
    assert_set_ok(fx, "conversation_max_messages", "1");
    assert_int_equal(fx->cfg.session_ttl, 1);
    assert_int_equal(fx->cfg.conversation_max_messages, 1);
}

static void test_env_session_expire_time_sets_session_ttl(void **state)
{
    fixture *fx = *state;
    char *env1[] = {"SESSION_EXPIRE_TIME=7200", NULL};
    assert_int_equal(load_env(fx, env1), SD_OK);
    assert_int_equal(fx->cfg.session_ttl, 7200);
    char *env2[] = {"STATUSD_SESSION_TTL=60", "SESSION_EXPIRE_TIME=7200", NULL};
    assert_int_equal(load_env(fx, env2), SD_OK);
    assert_int_equal(fx->cfg.session_ttl, 60);
    char *env3[] = {"SESSION_EXPIRE_TIME=1h", NULL};
    assert_int_equal(load_env(fx, env3), SD_ERR_INVALID);
    assert_string_equal(fx->err, "environment variable SESSION_EXPIRE_TIME: session_ttl: "
                                 "expected an integer in 1..2592000, got '1h'");
    assert_int_equal(fx->cfg.session_ttl, 60);
    assert_int_equal(fx->cfg.warning_count, 0);
}

/* ---- documentation ---- */

static void test_usage_lists_redis_keys_and_legacy_names(void **state)
{
    fixture *fx = *state;
    char *text = usage_printed(fx);
    static const char *const needles[] = {
        "redis_url = \"\"", "redis_host = \"\"", "redis_port = 6379", "redis_db = 0",
        "redis_password = \"\"", "redis_timeout_ms = 500", "redis_pool_size = 0",
        "key_prefix = statusd:", "job_lease = 30", "also REDIS_URL", "also REDIS_HOST",
        "also REDIS_PORT", "also REDIS_DB", "also REDIS_PASSWORD",
        "also REDIS_CONNECTION_POOL_SIZE", "also PORT", "USE_REDIS", "REDIS_ENABLED",
        "session_ttl = 3600", "conversation_ttl = 3600", "conversation_max_messages = 50",
        "ratelimit_chat = 20", "ratelimit_submit = 60", "trusted_proxies = \"\"",
        "api_token = \"\"", "admin_token = \"\"", "cors_origins = \"\"",
        "also SESSION_EXPIRE_TIME", "also API_TOKEN"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (strstr(text, needles[i]) == NULL)
            fail_msg("usage lacks '%s'", needles[i]);
    free(text);
}

static void test_shipped_conf_documents_redis_setup(void **state)
{
    (void)state;
    char path[PATH_MAX];
    FILE *f = fopen(test_source_path(path, sizeof path, "config/statusd.conf"), "r");
    assert_non_null(f);
    char *conf = calloc(1, 65536);
    assert_non_null(conf);
    size_t n = fread(conf, 1, 65535, f);
    assert_true(n > 0 && n < 65535);
    fclose(f);
    static const char *const needles[] = {
        "STATUSD_REDIS_URL or REDIS_URL", "STATUSD_REDIS_HOST or REDIS_HOST",
        "STATUSD_REDIS_PORT or REDIS_PORT", "STATUSD_REDIS_DB or REDIS_DB",
        "STATUSD_REDIS_PASSWORD or REDIS_PASSWORD",
        "STATUSD_REDIS_POOL_SIZE or REDIS_CONNECTION_POOL_SIZE", "USE_REDIS / REDIS_ENABLED",
        "appendonly yes", "appendfsync everysec", "maxmemory-policy noeviction",
        "worker_lost", "rediss:// (TLS) is not supported",
        "STATUSD_SESSION_TTL or SESSION_EXPIRE_TIME", "STATUSD_API_TOKEN or API_TOKEN",
        "X-Forwarded-For", "Authorization: Bearer <token>", "DELETE /admin/data",
        "https://app.example.com, http://localhost:3000"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (strstr(conf, needles[i]) == NULL)
            fail_msg("config/statusd.conf lacks '%s'", needles[i]);

    /* The sections, in order: the new ones between Jobs and Logging. */
    static const char *const sections[] = {
        "\n# Jobs\n", "\n# Sessions and conversations\n", "\nsession_ttl = ",
        "\nconversation_ttl = ", "\nconversation_max_messages = ", "\n# Rate limits\n",
        "\nratelimit_chat = ", "\nratelimit_submit = ", "\ntrusted_proxies = ",
        "\n# Access\n", "\napi_token = ", "\nadmin_token = ", "\ncors_origins = ",
        "\n# Logging\n"};
    const char *at = conf;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const char *found = strstr(at, sections[i]);
        if (found == NULL)
            fail_msg("config/statusd.conf lacks '%s' after '%s'", sections[i] + 1,
                     i > 0 ? sections[i - 1] + 1 : "the start");
        at = found + 1;
    }
    free(conf);
}

/* Four request threads per HTTP thread, whatever redis_pool_size: they
 * share its connections, they do not each hold one. */
static void test_request_threads_four_per_http_thread_whatever_redis_pool_size(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sd_config_request_threads(&fx->cfg), 16);
    assert_set_ok(fx, "threads", "2");
    assert_int_equal(sd_config_request_threads(&fx->cfg), 8);
    assert_set_ok(fx, "redis_pool_size", "100");
    assert_int_equal(sd_config_request_threads(&fx->cfg), 8);
    assert_set_ok(fx, "redis_pool_size", "1");
    assert_int_equal(sd_config_request_threads(&fx->cfg), 8);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_url_full_form),
        T(test_request_threads_four_per_http_thread_whatever_redis_pool_size),
        T(test_url_without_port_uses_6379),
        T(test_url_without_db_uses_0),
        T(test_url_user_and_password_forms),
        T(test_url_percent_decodes_user_and_password),
        T(test_url_ipv6_host_in_brackets),
        T(test_url_longest_password_fits),
        T(test_url_error_missing_or_other_scheme),
        T(test_url_error_rediss_is_not_supported),
        T(test_url_error_empty_host),
        T(test_url_error_bad_host),
        T(test_url_error_bad_port),
        T(test_url_error_bad_db),
        T(test_url_error_trailing_junk),
        T(test_url_error_bad_user_part),
        T(test_url_errors_never_contain_the_password),
        T(test_redis_url_key_is_validated),
        T(test_redis_host_key_accepts_names_and_addresses),
        T(test_redis_integer_keys_check_their_ranges),
        T(test_key_prefix_allows_only_scan_safe_characters),
        T(test_redis_password_errors_do_not_quote_it),
        T(test_session_and_limit_keys_check_their_ranges),
        T(test_env_session_expire_time_sets_session_ttl),
        T(test_usage_lists_redis_keys_and_legacy_names),
        T(test_shipped_conf_documents_redis_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
