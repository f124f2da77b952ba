/* Shared pieces of the configuration tests (see config_test.h). */
#include "config_test.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

const char DEFAULTS_PRINTED[] =
    "bind = 0.0.0.0\n"
    "port = 8080\n"
    "threads = 4\n"
    "max_connections = 1024\n"
    "connection_timeout = 30\n"
    "header_timeout = 10\n"
    "body_timeout = 60\n"
    "per_ip_connection_limit = 64\n"
    "connection_memory_limit = 32768\n"
    "max_body = 65536\n"
    "max_wait = 30\n"
    "max_waiters = 4096\n"
    "store = auto\n"
    "memory_max_bytes = auto\n"
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
    "progress_interval_ms = 250\n"
    "job_kill_grace = 2000\n"
    "drain_timeout = 30\n"
    "demo_step_ms = 300\n"
    "handler_research = builtin:demo\n"
    "handler_upload = builtin:demo\n"
    "handler_env = \"\"\n"
    "session_ttl = 3600\n"
    "conversation_ttl = 3600\n"
    "conversation_max_messages = 50\n"
    "ratelimit_chat = 20\n"
    "ratelimit_submit = 60\n"
    "ratelimit_create = 120\n"
    "ipv6_prefix = 64\n"
    "trusted_proxies = \"\"\n"
    "api_token = \"\"\n"
    "admin_token = \"\"\n"
    "cors_origins = \"\"\n"
    "console = on\n"
    "log_level = info\n"
    "log_format = text\n"
    "access_log = on\n"
    "web_ui = on\n";

const char NON_DEFAULT_CONF[] =
    "bind = ::1\n"
    "port = 9001\n"
    "threads = 8\n"
    "max_connections = 50\n"
    "connection_timeout = 5\n"
    "header_timeout = 3\n"
    "body_timeout = 7\n"
    "per_ip_connection_limit = 0\n"
    "connection_memory_limit = 16384\n"
    "max_body = 1024\n"
    "max_wait = 12\n"
    "max_waiters = 100\n"
    "store = redis\n"
    "memory_max_bytes = 0\n"
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
    "progress_interval_ms = 0\n"
    "job_kill_grace = 0\n"
    "drain_timeout = 0\n"
    "demo_step_ms = 1\n"
    "handler_research = exec:/usr/bin/handler --fast\n"
    "handler_upload = exec:/usr/bin/uploader -q\n"
    "handler_env = OPENAI_API_KEY, HTTPS_PROXY\n"
    "session_ttl = 2592000\n"
    "conversation_ttl = 1\n"
    "conversation_max_messages = 10000\n"
    "ratelimit_chat = 0\n"
    "ratelimit_submit = 1000000\n"
    "ratelimit_create = 0\n"
    "ipv6_prefix = 128\n"
    "trusted_proxies = 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8\n"
    "api_token = api-token-0123456789abcdef\n"
    "admin_token = admin-token-0123456789abcdef\n"
    "cors_origins = https://app.example.com, http://localhost:3000\n"
    "console = off\n"
    "log_level = error\n"
    "log_format = json\n"
    "access_log = off\n"
    "web_ui = off\n";

const char NON_DEFAULT_PRINTED[] =
    "bind = ::1\n"
    "port = 9001\n"
    "threads = 8\n"
    "max_connections = 50\n"
    "connection_timeout = 5\n"
    "header_timeout = 3\n"
    "body_timeout = 7\n"
    "per_ip_connection_limit = 0\n"
    "connection_memory_limit = 16384\n"
    "max_body = 1024\n"
    "max_wait = 12\n"
    "max_waiters = 100\n"
    "store = redis\n"
    "memory_max_bytes = 0\n"
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
    "progress_interval_ms = 0\n"
    "job_kill_grace = 0\n"
    "drain_timeout = 0\n"
    "demo_step_ms = 1\n"
    "handler_research = exec:/usr/bin/handler --fast\n"
    "handler_upload = exec:/usr/bin/uploader -q\n"
    "handler_env = OPENAI_API_KEY, HTTPS_PROXY\n"
    "session_ttl = 2592000\n"
    "conversation_ttl = 1\n"
    "conversation_max_messages = 10000\n"
    "ratelimit_chat = 0\n"
    "ratelimit_submit = 1000000\n"
    "ratelimit_create = 0\n"
    "ipv6_prefix = 128\n"
    "trusted_proxies = 127.0.0.1, 10.0.0.0/8, ::1, fd00::/8\n"
    "api_token = ***\n"
    "admin_token = ***\n"
    "cors_origins = https://app.example.com, http://localhost:3000\n"
    "console = off\n"
    "log_level = error\n"
    "log_format = json\n"
    "access_log = off\n"
    "web_ui = off\n";

int setup(void **state)
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

int teardown(void **state)
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

const char *track(fixture *fx, const char *path)
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

const char *temp_file_n(fixture *fx, const char *data, size_t len)
{
    const char *path;
    int fd = temp_open(fx, &path);
    write_all(fd, data, len);
    assert_int_equal(close(fd), 0);
    return path;
}

const char *temp_file(fixture *fx, const char *text)
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

char *printed(fixture *fx, const sd_config *cfg)
{
    const char *path;
    int fd = temp_open(fx, &path);
    sd_config_print(cfg, fd);
    char *text = slurp_fd(fd);
    assert_int_equal(close(fd), 0);
    return text;
}

char *usage_printed(fixture *fx)
{
    const char *path;
    int fd = temp_open(fx, &path);
    sd_config_usage(fd);
    char *text = slurp_fd(fd);
    assert_int_equal(close(fd), 0);
    return text;
}

void assert_printed(fixture *fx, const sd_config *cfg, const char *expect)
{
    char *text = printed(fx, cfg);
    assert_string_equal(text, expect);
    free(text);
}

void assert_set_error(fixture *fx, const char *key, const char *value, const char *expect)
{
    sd_config before = fx->cfg;
    assert_int_equal(sd_config_set(&fx->cfg, key, value, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, expect);
    assert_memory_equal(&fx->cfg, &before, sizeof before);
}

void assert_set_ok(fixture *fx, const char *key, const char *value)
{
    if (sd_config_set(&fx->cfg, key, value, fx->err, sizeof fx->err) != SD_OK)
        fail_msg("%s = '%s' rejected: %s", key, value, fx->err);
}

sd_err load_env(fixture *fx, char **env)
{
    fx->err[0] = '\0';
    return sd_config_load_env(&fx->cfg, env, fx->err, sizeof fx->err);
}
