/*
 * statusd --probe, the container health check: exit 0 when GET /health on
 * the configured port answers 200, 1 for anything else (nothing
 * listening, another status, silence, not HTTP, a bad configuration), the
 * port and address taken from the same flags, environment and file as
 * the server's. The address rule (wildcards become loopback) is checked
 * on sd_probe_address directly.
 *
 * The probe runs as the real binary ($SD_TEST_BIN) from the source
 * directory with a minimal environment; the servers are a real statusd
 * or a small fake one in a thread that answers what the test says.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_test.h"
#include "statusd/probe.h"
#include "statusd/util.h"

#define PROBE_WAIT_MS 15000    /* far beyond the probe's own 2 s */
#define OUTPUT_MAX 2048

/* ---- running the probe ---- */

typedef struct probe_run {
    int status;                /* from waitpid */
    char output[OUTPUT_MAX];   /* stdout and stderr */
} probe_run;

/* Runs $SD_TEST_BIN --probe with args (NULL-terminated, may be NULL) and
 * env entries (may be NULL) from the source directory; asserts that it
 * exits within PROBE_WAIT_MS (it is killed by pid otherwise). */
static void probe(probe_run *out, const char *const *args, const char *const *env)
{
    const char *bin = getenv("SD_TEST_BIN");
    const char *src = getenv("SD_TEST_SOURCE_DIR");
    assert_non_null(bin);
    assert_non_null(src);
    const char *argv[24] = {bin, "--probe"};
    size_t n = 2;
    for (size_t i = 0; args != NULL && args[i] != NULL && n < 23; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *envp[16] = {"PATH=/usr/bin:/bin"};
    size_t m = 1;
    for (size_t i = 0; env != NULL && env[i] != NULL && m < 15; i++)
        envp[m++] = env[i];
    envp[m] = NULL;

    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(src) != 0 || dup2(fds[1], STDOUT_FILENO) < 0 ||
            dup2(fds[1], STDERR_FILENO) < 0)
            _exit(126);
        execve(bin, (char *const *)argv, (char *const *)envp);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    int64_t deadline = sd_mono_ms() + PROBE_WAIT_MS;
    bool timed_out = false;
    for (;;) {
        int64_t left = deadline - sd_mono_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN, .revents = 0};
        if (poll(&p, 1, (int)left) <= 0)
            continue;
        ssize_t r = read(fds[0], out->output + got, sizeof out->output - 1 - got);
        if (r <= 0)
            break;    /* EOF: the probe exited */
        got += (size_t)r;
        if (got == sizeof out->output - 1)
            break;
    }
    out->output[got] = '\0';
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &out->status, 0), pid);
    if (timed_out)
        fail_msg("statusd --probe still ran after %d ms", PROBE_WAIT_MS);
}

/* Asserts the probe's exit code and that its output contains has. */
static void assert_probe(const probe_run *r, int code, const char *has)
{
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != code ||
        strstr(r->output, has) == NULL)
        fail_msg("expected exit %d with '%s'; got status %d: %s", code, has, r->status,
                 r->output);
}

/* ---- a fake server ---- */

typedef struct fake_server {
    int fd;
    unsigned port;
    const char *answer;        /* sent after the request; NULL: never answer */
    atomic_bool stop;
    pthread_t thread;
} fake_server;

static void *fake_main(void *arg)
{
    fake_server *s = arg;
    int held[8];
    size_t nheld = 0;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        if (s->answer == NULL && nheld < sizeof held / sizeof held[0]) {
            held[nheld++] = c;    /* silence until the test ends */
            continue;
        }
        char req[1024];
        ssize_t n = recv(c, req, sizeof req, 0);
        if (n > 0 && s->answer != NULL)
            (void)!send(c, s->answer, strlen(s->answer), MSG_NOSIGNAL);
        close(c);
    }
    for (size_t i = 0; i < nheld; i++)
        close(held[i]);
    return NULL;
}

/* Listens on addr:port (0: any free port; addr IPv4 or IPv6) and answers
 * every request with answer (NULL: accepts and never answers). Returns
 * false, with nothing started, when addr cannot be bound here (no IPv6). */
static bool fake_start(fake_server *s, const char *addr, unsigned port, const char *answer)
{
    memset(s, 0, sizeof *s);
    s->answer = answer;
    atomic_init(&s->stop, false);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t len;
    if (strchr(addr, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET6, addr, &a6->sin6_addr), 1);
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        assert_int_equal(inet_pton(AF_INET, addr, &a4->sin_addr), 1);
        len = sizeof *a4;
    }
    s->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return false;
    int one = 1;
    assert_int_equal(setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    if (bind(s->fd, (struct sockaddr *)&ss, len) != 0) {
        close(s->fd);
        return false;
    }
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&ss, &len), 0);
    s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, fake_main, s), 0);
    return true;
}

static void fake_stop(fake_server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

static void port_arg(char *out, size_t len, unsigned port) { snprintf(out, len, "%u", port); }

/* ---- against statusd ---- */

static void test_probe_exits_0_when_statusd_answers_200(void **state)
{
    test_statusd *s = *state;
    char port[16];
    port_arg(port, sizeof port, s->proc.port);
    const char *const args[] = {"--port", port, NULL};
    probe_run r;
    probe(&r, args, NULL);
    char want[64];
    snprintf(want, sizeof want, "GET http://127.0.0.1:%s/health: 200", port);
    assert_probe(&r, 0, want);
}

static void test_probe_finds_the_port_in_the_environment_and_the_config_file(void **state)
{
    test_statusd *s = *state;
    char env_port[32];
    snprintf(env_port, sizeof env_port, "STATUSD_PORT=%u", s->proc.port);
    const char *const env[] = {env_port, NULL};
    probe_run r;
    probe(&r, NULL, env);
    assert_probe(&r, 0, ": 200");

    char *dir = test_tempdir("statusd-probe");
    assert_non_null(dir);
    char text[64];
    snprintf(text, sizeof text, "port = %u\n", s->proc.port);
    char *conf = test_write_file(dir, "statusd.conf", text, 0644);
    assert_non_null(conf);
    const char *const args[] = {"--config", conf, NULL};
    probe(&r, args, NULL);
    test_rmdir(dir);
    free(conf);
    free(dir);
    assert_probe(&r, 0, ": 200");
}

static void test_probe_of_an_ipv6_wildcard_listener_uses_ipv6_loopback(void **state)
{
    (void)state;
    /* statusd's IPv6 socket takes IPv6 only: 127.0.0.1 would miss it. */
    fake_server s;
    if (!fake_start(&s, "::1", 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
        skip();    /* no IPv6 loopback on this machine */
    char port[16];
    port_arg(port, sizeof port, s.port);
    const char *const args[] = {"--port", port, "--set", "bind=::", NULL};
    probe_run r;
    probe(&r, args, NULL);
    fake_stop(&s);
    char want[64];
    snprintf(want, sizeof want, "GET http://[::1]:%s/health: 200", port);
    assert_probe(&r, 0, want);
}

/* ---- against other servers ---- */

static void test_probe_exits_1_when_nothing_listens(void **state)
{
    (void)state;
    char port[16];
    port_arg(port, sizeof port, test_free_port());
    const char *const args[] = {"--port", port, NULL};
    probe_run r;
    probe(&r, args, NULL);
    assert_probe(&r, 1, "Connection refused");
}

static void test_probe_exits_1_on_a_status_other_than_200(void **state)
{
    (void)state;
    fake_server s;
    assert_true(fake_start(&s, "127.0.0.1", 0,
                           "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
    char port[16];
    port_arg(port, sizeof port, s.port);
    const char *const args[] = {"--port", port, NULL};
    probe_run r;
    probe(&r, args, NULL);
    fake_stop(&s);
    assert_probe(&r, 1, "answered 503");
}

static void test_probe_exits_1_when_the_server_never_answers(void **state)
{
    (void)state;
    fake_server s;
    assert_true(fake_start(&s, "127.0.0.1", 0, NULL));
    char port[16];
    port_arg(port, sizeof port, s.port);
    const char *const args[] = {"--port", port, NULL};
    probe_run r;
    probe(&r, args, NULL);
    fake_stop(&s);
    assert_probe(&r, 1, "timed out waiting for the answer");
}

static void test_probe_exits_1_on_an_answer_that_is_not_http(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "SSH-2.0-OpenSSH_9.2\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
        "HTTP/1.1 200"};
    static const char *const reasons[] = {
        "not an HTTP status line", "not an HTTP status line", "not an HTTP status line",
        "connection closed inside the status line"};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        fake_server s;
        assert_true(fake_start(&s, "127.0.0.1", 0, answers[i]));
        char port[16];
        port_arg(port, sizeof port, s.port);
        const char *const args[] = {"--port", port, NULL};
        probe_run r;
        probe(&r, args, NULL);
        fake_stop(&s);
        assert_probe(&r, 1, reasons[i]);
    }
}

static void test_probe_connects_to_the_bind_address(void **state)
{
    (void)state;
    fake_server s;
    assert_true(fake_start(&s, "127.0.0.2", 0, "HTTP/1.0 200 OK\r\n\r\n{}"));
    char port[16];
    port_arg(port, sizeof port, s.port);
    const char *const on_bind[] = {"--port", port, "--set", "bind=127.0.0.2", NULL};
    probe_run r;
    probe(&r, on_bind, NULL);
    /* The default bind (0.0.0.0) means 127.0.0.1, where nothing listens. */
    const char *const on_default[] = {"--port", port, NULL};
    probe_run r2;
    probe(&r2, on_default, NULL);
    fake_stop(&s);
    assert_probe(&r, 0, "GET http://127.0.0.2:");
    assert_probe(&r2, 1, "GET http://127.0.0.1:");
}

static void test_probe_exits_1_on_a_bad_configuration(void **state)
{
    (void)state;
    const char *const bad_flag[] = {"--port", "x", NULL};
    probe_run r;
    probe(&r, bad_flag, NULL);
    assert_probe(&r, 1, "--port: port: expected an integer in 1..65535, got 'x'");
    const char *const bad_env[] = {"STATUSD_PORT=0", NULL};
    probe(&r, NULL, bad_env);
    assert_probe(&r, 1, "environment variable STATUSD_PORT");
}

/* ---- the address rule ---- */

static void test_probe_address_maps_wildcards_to_loopback(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"0.0.0.0", "127.0.0.1"}, {"::", "::1"}, {"0:0::0", "::1"},
        {"127.0.0.1", "127.0.0.1"}, {"10.1.2.3", "10.1.2.3"}, {"::1", "::1"},
        {"fd00::5", "fd00::5"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sd_config cfg;
        sd_config_defaults(&cfg);
        snprintf(cfg.bind, sizeof cfg.bind, "%s", cases[i][0]);
        char out[SD_PROBE_ADDR_LEN];
        sd_probe_address(&cfg, out, sizeof out);
        assert_string_equal(out, cases[i][1]);
    }
}

static void test_probe_health_refuses_names_and_port_0(void **state)
{
    (void)state;
    char err[128] = "";
    int status = -1;
    assert_int_equal(sd_probe_health("localhost", 8080, 100, &status, err, sizeof err),
                     SD_ERR_INVALID);
    assert_string_equal(err, "not a numeric address and port: localhost port 8080");
    assert_int_equal(sd_probe_health("127.0.0.1", 0, 100, &status, err, sizeof err),
                     SD_ERR_INVALID);
    assert_int_equal(sd_probe_health("127.0.0.1", 65536, 100, &status, err, sizeof err),
                     SD_ERR_INVALID);
    assert_int_equal(status, -1);
}

static int statusd_setup(void **state) { return test_statusd_setup(state, NULL); }

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_exits_0_when_statusd_answers_200,
                                        statusd_setup, test_statusd_teardown),
        cmocka_unit_test_setup_teardown(
            test_probe_finds_the_port_in_the_environment_and_the_config_file,
            statusd_setup, test_statusd_teardown),
        cmocka_unit_test(test_probe_of_an_ipv6_wildcard_listener_uses_ipv6_loopback),
        cmocka_unit_test(test_probe_exits_1_when_nothing_listens),
        cmocka_unit_test(test_probe_exits_1_on_a_status_other_than_200),
        cmocka_unit_test(test_probe_exits_1_when_the_server_never_answers),
        cmocka_unit_test(test_probe_exits_1_on_an_answer_that_is_not_http),
        cmocka_unit_test(test_probe_connects_to_the_bind_address),
        cmocka_unit_test(test_probe_exits_1_on_a_bad_configuration),
        cmocka_unit_test(test_probe_address_maps_wildcards_to_loopback),
        cmocka_unit_test(test_probe_health_refuses_names_and_port_0),
    };
    return cmocka_run_group_tests_name("probe", tests, NULL, NULL);
}
