/*
 * Configuration: defaults, the file syntax and each of its errors, the
 * environment, the command line, and the order in which they win. Each
 * test gets its own mkdtemp directory (files made with mkstemp) that the
 * teardown removes.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "statusd/config.h"

#define MAX_FILES 16
#define PATH_LEN 256    /* temp paths: the mkdtemp dir is short */
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

typedef struct fixture {
    char dir[64];
    char files[MAX_FILES][PATH_LEN];
    int nfiles;
    char cwd[PATH_MAX];      /* set when a test changed directory */
    sd_config cfg;
    char err[1024];
} fixture;

static const char *const DEFAULTS_PRINTED =
    "bind = 0.0.0.0\n"
    "port = 8080\n"
    "threads = 4\n"
    "max_connections = 1024\n"
    "connection_timeout = 30\n"
    "per_ip_connection_limit = 64\n"
    "connection_memory_limit = 32768\n"
    "max_body = 65536\n"
    "store = auto\n"
    "redis_url = \"\"\n"
    "redis_host = \"\"\n"
    "redis_port = 6379\n"
    "redis_db = 0\n"
    "redis_password = \"\"\n"
    "redis_timeout_ms = 500\n"
    "redis_pool_size = 0\n"
    "key_prefix = statusd:\n"
    "workers = 4\n"
    "queue_capacity = 1024\n"
    "job_ttl = 3600\n"
    "job_max_age = 86400\n"
    "job_timeout = 300\n"
    "job_lease = 30\n"
    "max_attempts = 3\n"
    "retry_backoff_ms = 1000\n"
    "retry_backoff_max_ms = 60000\n"
    "job_kill_grace = 2000\n"
    "drain_timeout = 30\n"
    "demo_step_ms = 300\n"
    "handler_research = builtin:demo\n"
    "handler_upload = builtin:demo\n"
    "session_ttl = 3600\n"
    "conversation_ttl = 3600\n"
    "conversation_max_messages = 50\n"
    "ratelimit_chat = 20\n"
    "ratelimit_submit = 60\n"
    "trusted_proxies = \"\"\n"
    "api_token = \"\"\n"
    "admin_token = \"\"\n"
    "cors_origins = \"\"\n"
    "log_level = info\n"
    "log_format = text\n";

/* Every key set to a value other than its default. */
static const char *const NON_DEFAULT_CONF =
    "bind = ::1\n"
    "port = 9001\n"
    "threads = 8\n"
    "max_connections = 50\n"
    "connection_timeout = 5\n"
    "per_ip_connection_limit = 0\n"
    "connection_memory_limit = 16384\n"
    "max_body = 1024\n"
    "store = redis\n"
    "redis_url = redis://cache.internal:6380/2\n"
    "redis_host = 10.0.0.5\n"
    "redis_port = 6390\n"
    "redis_db = 3\n"
    "redis_password = hunter2\n"
    "redis_timeout_ms = 10\n"
    "redis_pool_size = 64\n"
    "key_prefix = app1:jobs.\n"
    "workers = 0\n"
    "queue_capacity = 3\n"
    "job_ttl = 60\n"
    "job_max_age = 120\n"
    "job_timeout = 10\n"
    "job_lease = 5\n"
    "max_attempts = 1\n"
    "retry_backoff_ms = 0\n"
    "retry_backoff_max_ms = 3600000\n"
    "job_kill_grace = 0\n"
    "drain_timeout = 0\n"
    "demo_step_ms = 1\n"
    "handler_research = exec:/usr/bin/handler --fast\n"
    "handler_upload = exec:/usr/bin/uploader -q\n"
    "session_ttl = 2592000\n"
    "conversation_ttl = 1\n"
    "conversation_max_messages = 10000\n"
    "ratelimit_chat = 0\n"
    "ratelimit_submit = 1000000\n"
    "trusted_proxies = 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8\n"
    "api_token = api-token-0123456789abcdef\n"
    "admin_token = admin-token-0123456789abcdef\n"
    "cors_origins = https://app.example.com, http://localhost:3000\n"
    "log_level = error\n"
    "log_format = json\n";

/* NON_DEFAULT_CONF as printed: the password and the tokens masked. */
static const char *const NON_DEFAULT_PRINTED =
    "bind = ::1\n"
    "port = 9001\n"
    "threads = 8\n"
    "max_connections = 50\n"
    "connection_timeout = 5\n"
    "per_ip_connection_limit = 0\n"
    "connection_memory_limit = 16384\n"
    "max_body = 1024\n"
    "store = redis\n"
    "redis_url = redis://cache.internal:6380/2\n"
    "redis_host = 10.0.0.5\n"
    "redis_port = 6390\n"
    "redis_db = 3\n"
    "redis_password = ***\n"
    "redis_timeout_ms = 10\n"
    "redis_pool_size = 64\n"
    "key_prefix = app1:jobs.\n"
    "workers = 0\n"
    "queue_capacity = 3\n"
    "job_ttl = 60\n"
    "job_max_age = 120\n"
    "job_timeout = 10\n"
    "job_lease = 5\n"
    "max_attempts = 1\n"
    "retry_backoff_ms = 0\n"
    "retry_backoff_max_ms = 3600000\n"
    "job_kill_grace = 0\n"
    "drain_timeout = 0\n"
    "demo_step_ms = 1\n"
    "handler_research = exec:/usr/bin/handler --fast\n"
    "handler_upload = exec:/usr/bin/uploader -q\n"
    "session_ttl = 2592000\n"
    "conversation_ttl = 1\n"
    "conversation_max_messages = 10000\n"
    "ratelimit_chat = 0\n"
    "ratelimit_submit = 1000000\n"
    "trusted_proxies = 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8\n"
    "api_token = ***\n"
    "admin_token = ***\n"
    "cors_origins = https://app.example.com, http://localhost:3000\n"
    "log_level = error\n"
    "log_format = json\n";

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/statusd-test-config-XXXXXX");
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
    if (fx->cwd[0] != '\0' && chdir(fx->cwd) != 0)
        return -1;
    for (int i = 0; i < fx->nfiles; i++)
        unlink(fx->files[i]);
    char sub[PATH_LEN];
    snprintf(sub, sizeof sub, "%s/config", fx->dir);
    rmdir(sub);
    int rc = rmdir(fx->dir);
    free(fx);
    return rc == 0 ? 0 : -1;
}

/* ---- helpers ---- */

/* Remembers path for the teardown; returns the stored copy. */
static const char *track(fixture *fx, const char *path)
{
    assert_true(fx->nfiles < MAX_FILES);
    assert_true(strlen(path) < PATH_LEN);
    snprintf(fx->files[fx->nfiles], PATH_LEN, "%s", path);
    return fx->files[fx->nfiles++];
}

/* A new empty temp file in the test's directory, open for read and write. */
static int temp_open(fixture *fx, const char **path)
{
    char tmpl[PATH_LEN];
    snprintf(tmpl, sizeof tmpl, "%s/cfg-XXXXXX", fx->dir);
    int fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    *path = track(fx, tmpl);
    return fd;
}

static void write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        assert_true(n > 0);
        data += n;
        len -= (size_t)n;
    }
}

/* Writes len bytes to a new temp file; returns its path. */
static const char *temp_file_n(fixture *fx, const char *data, size_t len)
{
    const char *path;
    int fd = temp_open(fx, &path);
    write_all(fd, data, len);
    assert_int_equal(close(fd), 0);
    return path;
}

static const char *temp_file(fixture *fx, const char *text)
{
    return temp_file_n(fx, text, strlen(text));
}

/* Everything in fd from the start, NUL-terminated; the caller frees it. */
static char *slurp_fd(int fd)
{
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (len + 1 == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        ssize_t n = read(fd, buf + len, cap - len - 1);
        assert_true(n >= 0);
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return buf;
}

static char *printed(fixture *fx, const sd_config *cfg)
{
    const char *path;
    int fd = temp_open(fx, &path);
    sd_config_print(cfg, fd);
    char *text = slurp_fd(fd);
    assert_int_equal(close(fd), 0);
    return text;
}

static void assert_printed(fixture *fx, const sd_config *cfg, const char *expect)
{
    char *text = printed(fx, cfg);
    assert_string_equal(text, expect);
    free(text);
}

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

static sd_err build(fixture *fx, int argc, char **argv, char *const *envp,
                    sd_cli_action *action)
{
    fx->err[0] = '\0';
    return sd_config_build(&fx->cfg, argc, argv, envp, action, fx->err, sizeof fx->err);
}

/* The repo's config/statusd.conf, or NULL when it cannot be found. */
static const char *default_conf_path(char *buf, size_t len)
{
    const char *root = getenv("SD_TEST_SOURCE_DIR");
    if (root != NULL && root[0] != '\0') {
        snprintf(buf, len, "%s/config/statusd.conf", root);
        return access(buf, R_OK) == 0 ? buf : NULL;
    }
    static const char *const tries[] = {"config/statusd.conf", "../config/statusd.conf",
                                        "../../config/statusd.conf"};
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        if (access(tries[i], R_OK) == 0) {
            snprintf(buf, len, "%s", tries[i]);
            return buf;
        }
    }
    return NULL;
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
    assert_int_equal(c->per_ip_connection_limit, 64);
    assert_int_equal(c->connection_memory_limit, 32768);
    assert_int_equal(c->max_body, 65536);
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
    assert_int_equal(c->job_kill_grace, 2000);
    assert_int_equal(c->drain_timeout, 30);
    assert_int_equal(c->demo_step_ms, 300);
    assert_string_equal(c->handler_research, "builtin:demo");
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
    const char *path = default_conf_path(buf, sizeof buf);
    if (path == NULL) {
        print_message("config/statusd.conf not found: set SD_TEST_SOURCE_DIR\n");
        skip();
    }
    fx->cfg.port = 1;    /* the file must set it back */
    assert_int_equal(sd_config_load_file(&fx->cfg, path, fx->err, sizeof fx->err), SD_OK);
    assert_string_equal(fx->cfg.config_path, path);
    assert_printed(fx, &fx->cfg, DEFAULTS_PRINTED);
}

static void test_shipped_conf_sets_every_key(void **state)
{
    fixture *fx = *state;
    char buf[PATH_MAX];
    const char *path = default_conf_path(buf, sizeof buf);
    if (path == NULL) {
        print_message("config/statusd.conf not found: set SD_TEST_SOURCE_DIR\n");
        skip();
    }
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
    assert_int_equal(count, 42);
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
    const char *path;
    int fd = temp_open(fx, &path);
    sd_config_usage(fd);
    char *text = slurp_fd(fd);
    assert_int_equal(close(fd), 0);
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
    char vars[48][1100];
    char *env[49];
    int n = 0;
    const char *p = NON_DEFAULT_CONF;
    while (*p != '\0') {
        size_t klen = strcspn(p, " ");
        const char *v = p + klen + 3;
        size_t vlen = strcspn(v, "\n");
        assert_true(n < 48);
        int w = snprintf(vars[n], sizeof vars[n], "STATUSD_");
        for (size_t i = 0; i < klen; i++)
            vars[n][w++] = (char)(p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
        snprintf(vars[n] + w, sizeof vars[n] - (size_t)w, "=%.*s", (int)vlen, v);
        env[n] = vars[n];
        n++;
        p = v + vlen + 1;
    }
    env[n] = NULL;
    assert_int_equal(n, 42);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
