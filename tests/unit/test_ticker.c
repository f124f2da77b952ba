/* The ticker: calls every interval, the first at once when asked, and a
 * stop that ends a wait at once and lets a call under way end first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "statusd/ticker.h"
#include "statusd/util.h"

typedef struct counter {
    atomic_int calls;
    atomic_int stopping_seen;   /* calls that saw sd_ticker_stopping */
    atomic_int in_call;         /* a call is under way */
    int64_t hold_ms;            /* each call lasts this long */
} counter;

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void count_tick(void *arg, sd_ticker *t)
{
    counter *c = arg;
    atomic_store(&c->in_call, 1);
    atomic_fetch_add(&c->calls, 1);
    int64_t until = sd_mono_ms() + c->hold_ms;
    while (sd_mono_ms() < until) {
        if (sd_ticker_stopping(t)) {
            atomic_fetch_add(&c->stopping_seen, 1);
            break;
        }
        sleep_ms(5);
    }
    atomic_store(&c->in_call, 0);
}

/* Waits up to 10 s for at least n calls. */
static void wait_calls(counter *c, int n)
{
    int64_t until = sd_mono_ms() + 10000;
    while (atomic_load(&c->calls) < n && sd_mono_ms() < until)
        sleep_ms(5);
    assert_true(atomic_load(&c->calls) >= n);
}

static void test_calls_every_interval_until_stopped(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(20, false, count_tick, &c, &t), SD_OK);
    assert_non_null(t);
    wait_calls(&c, 3);
    sd_ticker_stop(t);
    int after = atomic_load(&c.calls);
    sleep_ms(100);
    assert_int_equal(atomic_load(&c.calls), after);
}

/* Without at_once the first call waits an interval; with it, it comes at
 * once. An hour's interval tells the two apart whatever the machine. */
static void test_first_call_waits_an_interval_unless_at_once(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(3600000, false, count_tick, &c, &t), SD_OK);
    sleep_ms(100);
    sd_ticker_stop(t);
    assert_int_equal(atomic_load(&c.calls), 0);

    counter d = {0};
    assert_int_equal(sd_ticker_start(3600000, true, count_tick, &d, &t), SD_OK);
    wait_calls(&d, 1);
    sd_ticker_stop(t);
    assert_int_equal(atomic_load(&d.calls), 1);
}

/* A stop ends the wait for the next call at once, not after the hour. */
static void test_stop_ends_a_wait_at_once(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(3600000, false, count_tick, &c, &t), SD_OK);
    int64_t began = sd_mono_ms();
    sd_ticker_stop(t);
    assert_true(sd_mono_ms() - began < 5000);
    sd_ticker_stop(NULL);
}

/* A call under way ends before the stop returns, and sees the stop. */
static void test_stop_lets_a_call_under_way_end_and_tells_it(void **state)
{
    (void)state;
    counter c = {0};
    c.hold_ms = 3600000;
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(3600000, true, count_tick, &c, &t), SD_OK);
    wait_calls(&c, 1);
    sd_ticker_stop(t);
    assert_int_equal(atomic_load(&c.in_call), 0);
    assert_int_equal(atomic_load(&c.stopping_seen), 1);
    assert_int_equal(atomic_load(&c.calls), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_every_interval_until_stopped),
        cmocka_unit_test(test_first_call_waits_an_interval_unless_at_once),
        cmocka_unit_test(test_stop_ends_a_wait_at_once),
        cmocka_unit_test(test_stop_lets_a_call_under_way_end_and_tells_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
