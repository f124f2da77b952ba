/*
 * Configuration of Redis and of what depends on it: sd_redis_url_parse,
 * the Redis keys and key_prefix, job_lease, the keys of sessions,
 * conversations, rate limits and access (trusted_proxies, the tokens,
 * cors_origins), the environment names apps already use (REDIS_URL,
 * USE_REDIS, SESSION_EXPIRE_TIME, API_TOKEN, ...) and the masking of
 * secrets in what sd_config_print writes. Each test gets its own mkdtemp
 * directory (files made with mkstemp) that the teardown removes.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "statusd/config.h"

#define MAX_FILES 8
#define PATH_LEN 256
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)
#define URL_FORM "redis://[[user]:password@]host[:port][/db]"

typedef struct fixture {
    char dir[64];
    char files[MAX_FILES][PATH_LEN];
    int nfiles;
    sd_config cfg;
    sd_redis_target target;
    char err[1024];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/statusd-test-config-redis-XXXXXX");
    if (mkdtemp(fx->dir) == NULL) {
        free(fx);
        return -1;
    }
    sd_config_defaults(&fx->cfg);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    for (int i = 0; i < fx->nfiles; i++)
        unlink(fx->files[i]);
    int rc = rmdir(fx->dir);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ---- */

/* A new empty temp file in the test's directory, open for read and write. */
static int temp_open(fixture *fx, const char **path)
{
    assert_true(fx->nfiles < MAX_FILES);
    char tmpl[PATH_LEN];
    snprintf(tmpl, sizeof tmpl, "%s/cfg-XXXXXX", fx->dir);
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    char *slot = fx->files[fx->nfiles++];
    memcpy(slot, tmpl, sizeof tmpl);
    *path = slot;
    return fd;
}

static const char *temp_file(fixture *fx, const char *text)
{
    const char *path;
    int fd = temp_open(fx, &path);
    size_t len = strlen(text);
    while (len > 0) {
        ssize_t n = write(fd, text, len);
        assert_true(n > 0);
        text += n;
        len -= (size_t)n;
    }
    assert_int_equal(close(fd), 0);
    return path;
}

/* What fn wrote to a temp file, NUL-terminated; the caller frees it. */
static char *captured(fixture *fx, const sd_config *cfg)
{
    const char *path;
    int fd = temp_open(fx, &path);
    if (cfg != NULL)
        sd_config_print(cfg, fd);
    else
        sd_config_usage(fd);
    off_t size = lseek(fd, 0, SEEK_END);
    assert_true(size >= 0);
    char *text = calloc(1, (size_t)size + 1);
    assert_non_null(text);
    assert_int_equal(pread(fd, text, (size_t)size, 0), size);
    assert_int_equal(close(fd), 0);
    return text;
}

/* The value sd_config_print shows for key, without its newline. */
static void assert_printed_value(fixture *fx, const char *key, const char *expect)
{
    char *text = captured(fx, &fx->cfg);
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

/* Setting key to value fails with exactly "key: reason"-style text. */
static void assert_set_error(fixture *fx, const char *key, const char *value,
                             const char *expect)
{
    sd_config before = fx->cfg;
    assert_int_equal(sd_config_set(&fx->cfg, key, value, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, expect);
    assert_memory_equal(&fx->cfg, &before, sizeof before);
}

static void assert_set_ok(fixture *fx, const char *key, const char *value)
{
    if (sd_config_set(&fx->cfg, key, value, fx->err, sizeof fx->err) != SD_OK)
        fail_msg("%s = '%s' rejected: %s", key, value, fx->err);
}

static sd_err load_env(fixture *fx, char **env)
{
    fx->err[0] = '\0';
    return sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err);
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
    char *text = captured(fx, &fx->cfg);
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
    text = captured(fx, &fx->cfg);
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
    text = captured(fx, &fx->cfg);
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
    char *text = captured(fx, &fx->cfg);
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
    text = captured(fx, &fx->cfg);
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
    text = captured(fx, &fx->cfg);
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

/* ---- documentation ---- */

static void test_usage_lists_redis_keys_and_legacy_names(void **state)
{
    fixture *fx = *state;
    char *text = captured(fx, NULL);
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
    const char *root = getenv("SD_TEST_SOURCE_DIR");
    snprintf(path, sizeof path, "%s/config/statusd.conf",
             root != NULL && root[0] != '\0' ? root : ".");
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        print_message("%s not found: set SD_TEST_SOURCE_DIR\n", path);
        skip();
    }
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

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_url_full_form),
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
        T(test_trusted_proxies_accepts_addresses_and_blocks),
        T(test_trusted_proxies_errors_name_the_entry),
        T(test_tokens_accept_16_printable_characters_or_empty),
        T(test_tokens_reject_short_or_unprintable_without_quoting_them),
        T(test_env_api_token_legacy_name),
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
        T(test_usage_lists_redis_keys_and_legacy_names),
        T(test_shipped_conf_documents_redis_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
