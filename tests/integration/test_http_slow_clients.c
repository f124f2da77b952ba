/*
 * Slow clients from many addresses. A slowloris attack holds connections
 * open by sending a request's headers one byte at a time; every byte
 * resets an idle timeout, so only a deadline for the whole header helps,
 * together with a cap on connections waiting for headers that makes room
 * for new clients instead of refusing them.
 *
 * The attack here is scaled to the test machine (2 shared cores): 180
 * connections from 6 loopback addresses (30 each, under the per-address
 * limit of 64), against max_connections = 120 and header_timeout = 2 s,
 * each connection dripping one byte every 300 ms and reopened as soon as
 * it is closed, for 5 s. Without the deadline and the cap, the first 120
 * fill every slot and no other client is answered while they last. The
 * bounds below (an answer within 1 s, every slow connection closed within
 * header_timeout + 2 s) are generous for things that take milliseconds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_test.h"

#define HEADER_TIMEOUT_S 2
#define MAX_CONNECTIONS "120"
#define ADDRESSES 6
#define PER_ADDRESS 30
#define SLOW (ADDRESSES * PER_ADDRESS)
#define DRIP_MS 300
#define ATTACK_MS 5000
#define ANSWER_BOUND_MS 1000
#define CLOSE_BOUND_MS (HEADER_TIMEOUT_S * 1000 + 2000)

static const char DRIP[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

typedef struct slow_conn {
    int fd;            /* -1 when closed and not reopened */
    int64_t opened_ms;
    size_t sent;       /* bytes of DRIP sent */
} slow_conn;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection from 127.0.0.<2 + addr> to the server, non-blocking once
 * connected; -1 when the connect failed. */
static int open_from(unsigned port, int addr)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)addr);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True once the server has closed c (end of stream, or a reset). */
static bool closed_by_server(const slow_conn *c)
{
    char buf[512];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof buf, 0);
        if (n == 0)
            return true;
        if (n < 0)
            return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
        /* An answer (408, say) before the close: read past it. */
    }
}

typedef struct attack {
    unsigned port;
    slow_conn c[SLOW];
    int64_t longest_ms;    /* the longest life of a slow connection seen */
    size_t opened, closed;
} attack;

static void attack_open(attack *a, size_t i)
{
    a->c[i].fd = open_from(a->port, (int)(i % ADDRESSES));
    a->c[i].opened_ms = now_ms();
    a->c[i].sent = 0;
    if (a->c[i].fd < 0)
        fail_msg("could not connect from 127.0.0.%d", 2 + (int)(i % ADDRESSES));
    a->opened++;
}

/* One round: notes the connections the server closed (reopening them
 * when reopen), and drips a byte on the others when drip. A connection
 * seen closed is counted once, when first seen. */
static void attack_round(attack *a, bool reopen, bool drip)
{
    for (size_t i = 0; i < SLOW; i++) {
        slow_conn *c = &a->c[i];
        if (c->fd < 0) {
            if (reopen)
                attack_open(a, i);
            continue;
        }
        if (closed_by_server(c)) {
            int64_t life = now_ms() - c->opened_ms;
            if (life > a->longest_ms)
                a->longest_ms = life;
            close(c->fd);
            c->fd = -1;
            a->closed++;
            if (reopen)
                attack_open(a, i);
            continue;
        }
        if (drip && c->sent < sizeof DRIP - 1) {
            if (send(c->fd, DRIP + c->sent, 1, MSG_NOSIGNAL) == 1)
                c->sent++;
        } else if (drip) {
            (void)send(c->fd, "a", 1, MSG_NOSIGNAL); /* the header never ends */
        }
    }
}

static int slow_setup(void **state)
{
    static const char *const args[] = {
        "--set", "header_timeout=2", "--set", "max_connections=" MAX_CONNECTIONS, "--set",
        "per_ip_connection_limit=64", "--set", "connection_timeout=30", "--set",
        "body_timeout=2", NULL};
    return test_statusd_setup(state, args);
}

static void test_slowloris_from_many_addresses_locks_no_one_out(void **state)
{
    test_statusd *f = *state;
    attack *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->port = f->proc.port;
    for (size_t i = 0; i < SLOW; i++)
        attack_open(a, i);

    int64_t start = now_ms(), next_drip = start, next_client = start + 500;
    int answered = 0, asked = 0;
    while (now_ms() - start < ATTACK_MS) {
        bool drip = now_ms() >= next_drip;
        if (drip)
            next_drip += DRIP_MS;
        /* Closed connections are reopened at the drip pace: an
         * attacker's rate, not a busy loop on 2 cores. */
        attack_round(a, drip, drip);
        if (now_ms() >= next_client) {
            /* A normal client from 127.0.0.1, while the attack runs. */
            next_client += 700;
            asked++;
            int64_t t0 = now_ms();
            http_resp r;
            int rc = http_do(a->port, "GET", "/health", NULL, NULL, &r);
            int64_t took = now_ms() - t0;
            if (rc == 0 && r.status == 200 && took <= ANSWER_BOUND_MS)
                answered++;
            else
                print_message("request %d: rc %d status %d after %lld ms\n", asked, rc,
                              rc == 0 ? r.status : 0, (long long)took);
            if (rc == 0)
                http_resp_free(&r);
        }
        test_sleep_ms(20);
    }
    /* The attack stops; every connection still open must be closed by
     * the server within its bound. */
    int64_t until = now_ms() + CLOSE_BOUND_MS + 1000;
    size_t open_left;
    do {
        attack_round(a, false, true);
        open_left = 0;
        for (size_t i = 0; i < SLOW; i++)
            open_left += a->c[i].fd >= 0;
        if (open_left > 0)
            test_sleep_ms(20);
    } while (open_left > 0 && now_ms() < until);
    print_message("slow connections opened %zu, closed by the server %zu, longest life "
                  "%lld ms; normal requests answered %d of %d\n",
                  a->opened, a->closed, (long long)a->longest_ms, answered, asked);
    for (size_t i = 0; i < SLOW; i++)
        if (a->c[i].fd >= 0)
            close(a->c[i].fd);
    int64_t longest = a->longest_ms;
    free(a);
    assert_true(asked >= 5);
    assert_int_equal(answered, asked);
    assert_int_equal(open_left, 0);
    assert_true(longest <= CLOSE_BOUND_MS);
    assert_true(test_health_ok(f->proc.port));
}

/* Sends a request head on c, then drips body bytes (or, with body NULL,
 * header bytes) every DRIP_MS until the server closes c; the life of c in
 * milliseconds, or -1 when it outlived limit_ms. */
static int64_t drip_until_closed(slow_conn *c, const char *head, int64_t limit_ms)
{
    if (head != NULL)
        assert_int_equal(send(c->fd, head, strlen(head), MSG_NOSIGNAL), (ssize_t)strlen(head));
    while (now_ms() - c->opened_ms <= limit_ms) {
        if (closed_by_server(c))
            return now_ms() - c->opened_ms;
        (void)send(c->fd, head != NULL ? " " : "a", 1, MSG_NOSIGNAL);
        test_sleep_ms(DRIP_MS);
    }
    return -1;
}

/* GET /health on c; asserts a 200 comes back. */
static void health_on(slow_conn *c)
{
    static const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    assert_int_equal(send(c->fd, req, sizeof req - 1, MSG_NOSIGNAL), sizeof req - 1);
    char buf[2048];
    ssize_t n = 0;
    for (int i = 0; i < 500 && n <= 0; i++) {
        n = recv(c->fd, buf, sizeof buf - 1, 0);
        if (n <= 0)
            test_sleep_ms(10);
    }
    assert_true(n > 12);
    assert_memory_equal(buf, "HTTP/1.1 200", 12);
}

static void test_kept_alive_connection_has_a_header_deadline_too(void **state)
{
    test_statusd *f = *state;
    slow_conn c = {open_from(f->proc.port, 0), 0, 0};
    assert_true(c.fd >= 0);
    health_on(&c);
    /* Idle between requests is not waiting for headers: a proxy's pooled
     * connection outlives header_timeout (connection_timeout bounds it). */
    test_sleep_ms(HEADER_TIMEOUT_S * 1000 + 700);
    assert_false(closed_by_server(&c));
    health_on(&c);
    /* The next request trickles in. */
    c.opened_ms = now_ms();
    assert_int_equal(send(c.fd, "GET /health HTTP/1.1\r\nX: ", 26, MSG_NOSIGNAL), 26);
    int64_t life = drip_until_closed(&c, NULL, CLOSE_BOUND_MS);
    close(c.fd);
    assert_true(life >= 0);
}

static void test_trickled_body_is_cut_off_by_body_timeout(void **state)
{
    test_statusd *f = *state;
    slow_conn c = {open_from(f->proc.port, 1), now_ms(), 0};
    assert_true(c.fd >= 0);
    int64_t life = drip_until_closed(&c,
                                     "POST /research HTTP/1.1\r\nHost: x\r\n"
                                     "Content-Type: application/json\r\n"
                                     "Content-Length: 1000\r\n\r\n{\"query\":\"",
                                     2000 + 2000);
    close(c.fd);
    assert_true(life >= 0);
    assert_true(test_health_ok(f->proc.port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slowloris_from_many_addresses_locks_no_one_out),
        cmocka_unit_test(test_kept_alive_connection_has_a_header_deadline_too),
        cmocka_unit_test(test_trickled_body_is_cut_off_by_body_timeout),
    };
    return cmocka_run_group_tests_name("slow clients", tests, slow_setup,
                                       test_statusd_teardown);
}
