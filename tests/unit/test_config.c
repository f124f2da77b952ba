/*
 * Configuration: the defaults, the shipped config/statusd.conf, the file
 * syntax and each of its errors, sd_config_set and what sd_config_print
 * and sd_config_usage write. The environment and the command line are in
 * test_config_env.c. Each test gets its own mkdtemp directory (files made
 * with mkstemp) that the teardown removes.
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

/* ---- helpers ---- */

/* Loads text as a file into fx->cfg and checks the error is exactly
 * "<path>:<line>: <rest>". */
static void assert_file_error_n(fixture *fx, const char *data, size_t len, int line,
                                const char *rest)
{
    const char *path = temp_file_n(fx, data, len);
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    char expect[2048];
    snprintf(expect, sizeof expect, "%s:%d: %s", path, line, rest);
    assert_string_equal(fx->err, expect);
}

static void assert_file_error(fixture *fx, const char *text, int line, const char *rest)
{
    assert_file_error_n(fx, text, strlen(text), line, rest);
}

/* ---- defaults ---- */

static void test_defaults_are_the_documented_values(void **state)
{
    fixture *fx = *state;
    sd_config *c = &fx->cfg;
    assert_string_equal(c->bind, "0.0.0.0");
    assert_int_equal(c->port, 8080);
    assert_int_equal(c->threads, 4);
    assert_int_equal(c->max_connections, 1024);
    assert_int_equal(c->connection_timeout, 30);
    assert_int_equal(c->header_timeout, 10);
    assert_int_equal(c->body_timeout, 60);
    assert_int_equal(c->per_ip_connection_limit, 64);
    assert_int_equal(c->connection_memory_limit, 32768);
    assert_int_equal(c->max_body, 65536);
    assert_int_equal(c->max_wait, 30);
    assert_int_equal(c->max_waiters, 4096);
    assert_int_equal(c->store, SD_STORE_AUTO);
    assert_string_equal(c->redis_url, "");
    assert_string_equal(c->redis_host, "");
    assert_int_equal(c->redis_port, 6379);
    assert_int_equal(c->redis_db, 0);
    assert_string_equal(c->redis_password, "");
    assert_int_equal(c->redis_timeout_ms, 500);
    assert_int_equal(c->redis_pool_size, 0);
    assert_string_equal(c->key_prefix, "statusd:");
    assert_int_equal(c->workers, 4);
    assert_int_equal(c->queue_capacity, 1024);
    assert_int_equal(c->job_ttl, 3600);
    assert_int_equal(c->job_max_age, 86400);
    assert_int_equal(c->job_timeout, 300);
    assert_int_equal(c->job_lease, 30);
    assert_int_equal(c->progress_interval_ms, 250);
    assert_int_equal(c->job_kill_grace, 2000);
    assert_int_equal(c->drain_timeout, 30);
    assert_int_equal(c->demo_step_ms, 300);
    assert_string_equal(c->handler_research, "builtin:demo");
    assert_string_equal(c->handler_env, "");
    assert_int_equal(c->session_ttl, 3600);
    assert_int_equal(c->conversation_ttl, 3600);
    assert_int_equal(c->conversation_max_messages, 50);
    assert_int_equal(c->ratelimit_chat, 20);
    assert_int_equal(c->ratelimit_submit, 60);
    assert_string_equal(c->trusted_proxies, "");
    assert_string_equal(c->api_token, "");
    assert_string_equal(c->admin_token, "");
    assert_string_equal(c->cors_origins, "");
    assert_int_equal(c->log_level, SD_LOG_INFO);
    assert_int_equal(c->log_format, SD_LOG_TEXT);
    assert_int_equal(c->access_log, SD_ON);
    assert_int_equal(c->console, SD_ON);
    assert_int_equal(c->web_ui, SD_ON);
    assert_string_equal(c->config_path, "");
    assert_int_equal(c->warning_count, 0);
}

static void test_print_lists_every_key_in_table_order(void **state)
{
    fixture *fx = *state;
    assert_printed(fx, &fx->cfg, DEFAULTS_PRINTED);
}

static void test_shipped_conf_loads_to_exact_defaults(void **state)
{
    fixture *fx = *state;
    char buf[PATH_MAX];
    const char *path = test_source_path(buf, sizeof buf, "config/statusd.conf");
    fx->cfg.port = 1;    /* the file must set it back */
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.config_path, path);
    assert_printed(fx, &fx->cfg, DEFAULTS_PRINTED);
}

static void test_shipped_conf_sets_every_key(void **state)
{
    fixture *fx = *state;
    char buf[PATH_MAX];
    const char *path = test_source_path(buf, sizeof buf, "config/statusd.conf");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *conf = calloc(1, 65536);
    assert_non_null(conf);
    conf[0] = '\n';
    size_t n = fread(conf + 1, 1, 65536 - 2, f);
    assert_true(n > 0 && n < 65536 - 2);
    fclose(f);

    /* The key list is the printed one: every key of the table. */
    char *keys = printed(fx, &fx->cfg);
    int count = 0;
    for (char *line = strtok(keys, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char needle[128];
        snprintf(needle, sizeof needle, "\n%.*s = ", (int)strcspn(line, " "), line);
        if (strstr(conf, needle) == NULL)
            fail_msg("config/statusd.conf has no line '%s'", needle + 1);
        count++;
    }
    assert_int_equal(count, 54);
    free(keys);
    free(conf);
}

/* ---- file syntax ---- */

static void test_file_trims_whitespace_and_comments(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx,
                                 "# a comment\n"
                                 "\n"
                                 "   \t\n"
                                 "   port   =   9090   # trailing comment\n"
                                 "bind=::1\n"
                                 "handler_research = exec:/bin/h#1 --x # comment\n"
                                 "  # indented comment\n"
                                 "threads = 3\r\n"
                                 "workers = 7");    /* no final newline */
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 9090);
    assert_string_equal(fx->cfg.bind, "::1");
    assert_string_equal(fx->cfg.handler_research, "exec:/bin/h#1 --x");
    assert_int_equal(fx->cfg.threads, 3);
    assert_int_equal(fx->cfg.workers, 7);
    assert_int_equal(fx->cfg.queue_capacity, 1024);
    assert_string_equal(fx->cfg.config_path, path);
}

static void test_file_skips_utf8_byte_order_mark(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, "\xEF\xBB\xBFport = 82\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 82);
}

static void test_file_quoted_value_keeps_spaces_hash_and_escapes(void **state)
{
    fixture *fx = *state;
    const char *path =
        temp_file(fx, "handler_research = \"  exec:/x \\\"q\\\" \\\\ # kept  \"   # comment\n"
                      "log_format = \"json\"\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.handler_research, "  exec:/x \"q\" \\ # kept  ");
    assert_int_equal(fx->cfg.log_format, SD_LOG_JSON);
}

static void test_file_sets_every_key(void **state)
{
    fixture *fx = *state;
    const char *path = temp_file(fx, NON_DEFAULT_CONF);
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_printed(fx, &fx->cfg, NON_DEFAULT_PRINTED);
    assert_string_equal(fx->cfg.redis_password, "hunter2");
    assert_string_equal(fx->cfg.api_token, "api-token-0123456789abcdef");
    assert_string_equal(fx->cfg.admin_token, "admin-token-0123456789abcdef");
    assert_string_equal(fx->cfg.trusted_proxies, "127.0.0.1, 10.0.0.0/8, ::1, fd00::/8");
    assert_string_equal(fx->cfg.cors_origins,
                        "https://app.example.com, http://localhost:3000");
    assert_int_equal(fx->cfg.session_ttl, 2592000);
    assert_int_equal(fx->cfg.store, SD_STORE_REDIS);
    assert_int_equal(fx->cfg.log_level, SD_LOG_ERROR);
}

static void test_file_accepts_line_of_exactly_4096_bytes(void **state)
{
    fixture *fx = *state;
    char text[4096 + 32];
    memset(text, ' ', 4096);
    memcpy(text, "# ", 2);
    snprintf(text + 4096, sizeof text - 4096, "\nport = 81\n");
    const char *path = temp_file(fx, text);
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_int_equal(fx->cfg.port, 81);
}

/* ---- file errors ---- */

static void test_file_error_unknown_key(void **state)
{
    assert_file_error(*state, "port = 80\ncolour = red\n", 2, "colour: unknown key");
}

static void test_file_error_missing_equals(void **state)
{
    assert_file_error(*state, "# x\n\nport 8080\n", 3,
                      "port: missing '=' (expected 'key = value')");
}

static void test_file_error_empty_key(void **state)
{
    assert_file_error(*state, "   = 5\n", 1, "empty key before '='");
}

static void test_file_error_integer_with_letters(void **state)
{
    assert_file_error(*state, "port = abc\n", 1,
                      "port: expected an integer in 1..65535, got 'abc'");
}

static void test_file_error_integer_with_trailing_junk(void **state)
{
    assert_file_error(*state, "threads = 4\nport = 80x\n", 2,
                      "port: expected an integer in 1..65535, got '80x'");
}

static void test_file_error_integer_overflow(void **state)
{
    assert_file_error(*state, "queue_capacity = 99999999999999999999\n", 1,
                      "queue_capacity: expected an integer in 1..1000000, "
                      "got '99999999999999999999'");
}

static void test_file_error_integer_out_of_range(void **state)
{
    fixture *fx = *state;
    assert_file_error(fx, "port = 65536\n", 1,
                      "port: expected an integer in 1..65535, got '65536'");
    assert_file_error(fx, "port = 0\n", 1, "port: expected an integer in 1..65535, got '0'");
    assert_file_error(fx, "connection_memory_limit = 16383\n", 1,
                      "connection_memory_limit: expected an integer in 16384..16777216, "
                      "got '16383'");
}

static void test_file_error_negative_integer(void **state)
{
    fixture *fx = *state;
    assert_file_error(fx, "workers = -1\n", 1,
                      "workers: expected an integer in 0..1024, got '-1'");
    assert_file_error(fx, "job_ttl = +5\n", 1,
                      "job_ttl: expected an integer in 1..2592000, got '+5'");
}

static void test_file_error_empty_integer(void **state)
{
    assert_file_error(*state, "port =\n", 1, "port: expected an integer in 1..65535, got ''");
}

static void test_file_error_bad_enum(void **state)
{
    fixture *fx = *state;
    assert_file_error(fx, "store = disk\n", 1,
                      "store: expected one of auto|memory|redis, got 'disk'");
    assert_file_error(fx, "log_level = verbose\n", 1,
                      "log_level: expected one of debug|info|warn|error, got 'verbose'");
    assert_file_error(fx, "log_format = XML\n", 1,
                      "log_format: expected one of text|json, got 'XML'");
    assert_file_error(fx, "access_log = yes\n", 1,
                      "access_log: expected one of off|on, got 'yes'");
}

static void test_file_error_string_too_long(void **state)
{
    fixture *fx = *state;
    char text[2048];
    memset(text, 0, sizeof text);
    strcpy(text, "bind = ");
    memset(text + strlen(text), '1', 64);
    assert_file_error(fx, text, 1, "bind: value is 64 bytes, longer than the limit of 63");

    memset(text, 0, sizeof text);
    strcpy(text, "handler_research = exec:");
    memset(text + strlen(text), 'x', 1024 - 5);
    assert_file_error(fx, text, 1,
                      "handler_research: value is 1024 bytes, longer than the limit of 1023");
}

static void test_file_error_bind_not_numeric_address(void **state)
{
    assert_file_error(*state, "bind = localhost\n", 1,
                      "bind: expected a numeric IPv4 or IPv6 address, got 'localhost'");
}

static void test_file_error_empty_handler(void **state)
{
    assert_file_error(*state, "handler_research = \"\"\n", 1,
                      "handler_research: must not be empty");
}

static void test_file_error_unterminated_quote(void **state)
{
    assert_file_error(*state, "\nhandler_research = \"exec:/bin/x\n", 2,
                      "handler_research: unterminated quote");
}

static void test_file_error_text_after_closing_quote(void **state)
{
    assert_file_error(*state, "bind = \"::1\" x\n", 1,
                      "bind: unexpected text after the closing quote");
}

static void test_file_error_duplicate_key_names_both_lines(void **state)
{
    assert_file_error(*state, "\nport = 80\nthreads = 2\nport = 81\n", 4,
                      "port: duplicate key, first set on line 2");
}

static void test_file_error_line_too_long(void **state)
{
    fixture *fx = *state;
    char text[4097 + 32];
    memset(text, 0, sizeof text);
    strcpy(text, "port = 80\n# ");
    memset(text + strlen(text), 'x', 4097 - 2);
    assert_file_error(fx, text, 2, "line is longer than 4096 bytes");
}

static void test_file_error_nul_byte(void **state)
{
    static const char data[] = "port = 80\nthreads = 2\0\n";
    assert_file_error_n(*state, data, sizeof data - 1, 2, "line contains a NUL byte");
}

static void test_file_error_control_character(void **state)
{
    assert_file_error(*state, "handler_research = \"a\tb\"\n", 1,
                      "handler_research: value contains a control character at byte 2");
}

static void test_file_error_leaves_config_unchanged(void **state)
{
    fixture *fx = *state;
    const char *good = temp_file(fx, "port = 1000\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, good, fx->err, sizeof fx->err), SD_OK);
    const char *bad = temp_file(fx, "port = 2000\nthreads = 9\nbogus = 1\n");
    assert_int_equal(sd_config_load_file(&fx->cfg, bad, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_int_equal(fx->cfg.port, 1000);
    assert_int_equal(fx->cfg.threads, 4);
    assert_string_equal(fx->cfg.config_path, good);
}

static void test_file_missing_is_not_found(void **state)
{
    fixture *fx = *state;
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/absent.conf", fx->dir);
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err),
                     SD_ERR_NOT_FOUND);
    char expect[2 * PATH_LEN];
    snprintf(expect, sizeof expect, "%s: No such file or directory", path);
    assert_string_equal(fx->err, expect);
}

static void test_file_that_is_a_directory_is_invalid(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sd_config_load_file(&fx->cfg, fx->dir, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    char expect[2 * PATH_LEN];
    snprintf(expect, sizeof expect, "%s: Is a directory", fx->dir);
    assert_string_equal(fx->err, expect);
}

/* ---- sd_config_set and printing ---- */

static void test_set_unknown_key_is_not_found(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sd_config_set(&fx->cfg, "Port", "80", fx->err, sizeof fx->err),
                     SD_ERR_NOT_FOUND);
    assert_string_equal(fx->err, "Port: unknown key");
    assert_int_equal(sd_config_set(&fx->cfg, "port", "80", NULL, 0), SD_OK);
    assert_int_equal(fx->cfg.port, 80);
    assert_int_equal(sd_config_set(&fx->cfg, "port", "x", NULL, 0), SD_ERR_INVALID);
    assert_int_equal(fx->cfg.port, 80);
    assert_int_equal(sd_config_set(&fx->cfg, "bind", "1.2.3.4\x01", fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, "bind: value contains a control character at byte 8");
}

static void test_print_quotes_values_the_file_would_misread(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sd_config_set(&fx->cfg, "handler_research", " exec:/x \"q\" # \\ ",
                                   NULL, 0), SD_OK);
    char *text = printed(fx, &fx->cfg);
    assert_non_null(strstr(text, "\nhandler_research = \" exec:/x \\\"q\\\" # \\\\ \"\n"));

    /* What --check-config prints loads back to the same configuration. */
    const char *path = temp_file(fx, text);
    sd_config back;
    sd_config_defaults(&back);
    assert_int_equal(sd_config_load_file(&back, path, fx->err, sizeof fx->err), SD_OK);
    assert_string_equal(back.handler_research, " exec:/x \"q\" # \\ ");
    assert_printed(fx, &back, text);
    free(text);
}

static void test_usage_lists_flags_keys_and_conf_file(void **state)
{
    fixture *fx = *state;
    char *text = usage_printed(fx);
    static const char *const needles[] = {
        "Usage: statusd [options]", "--config PATH", "--port N", "--store KIND",
        "--set KEY=VALUE", "--check-config", "--version", "--help", "-h",
        "STATUSD_<KEY>", "config/statusd.conf"};
    for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
        if (strstr(text, needles[i]) == NULL)
            fail_msg("usage lacks '%s'", needles[i]);
    char *keys = printed(fx, &fx->cfg);
    for (char *line = strtok(keys, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        line[strcspn(line, " ")] = '\0';
        if (strstr(text, line) == NULL)
            fail_msg("usage lacks key '%s'", line);
    }
    free(keys);
    free(text);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_defaults_are_the_documented_values),
        T(test_print_lists_every_key_in_table_order),
        T(test_shipped_conf_loads_to_exact_defaults),
        T(test_shipped_conf_sets_every_key),
        T(test_file_trims_whitespace_and_comments),
        T(test_file_skips_utf8_byte_order_mark),
        T(test_file_quoted_value_keeps_spaces_hash_and_escapes),
        T(test_file_sets_every_key),
        T(test_file_accepts_line_of_exactly_4096_bytes),
        T(test_file_error_unknown_key),
        T(test_file_error_missing_equals),
        T(test_file_error_empty_key),
        T(test_file_error_integer_with_letters),
        T(test_file_error_integer_with_trailing_junk),
        T(test_file_error_integer_overflow),
        T(test_file_error_integer_out_of_range),
        T(test_file_error_negative_integer),
        T(test_file_error_empty_integer),
        T(test_file_error_bad_enum),
        T(test_file_error_string_too_long),
        T(test_file_error_bind_not_numeric_address),
        T(test_file_error_empty_handler),
        T(test_file_error_unterminated_quote),
        T(test_file_error_text_after_closing_quote),
        T(test_file_error_duplicate_key_names_both_lines),
        T(test_file_error_line_too_long),
        T(test_file_error_nul_byte),
        T(test_file_error_control_character),
        T(test_file_error_leaves_config_unchanged),
        T(test_file_missing_is_not_found),
        T(test_file_that_is_a_directory_is_invalid),
        T(test_set_unknown_key_is_not_found),
        T(test_print_quotes_values_the_file_would_misread),
        T(test_usage_lists_flags_keys_and_conf_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
