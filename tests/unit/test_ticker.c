/* The ticker: calls every interval (counted from the end of one call to
 * the start of the next), the first at once when asked, and a stop that
 * ends a wait at once and lets a call under way end first. Intervals are
 * checked from below only (a loaded machine is late, never early), and a
 * broken stop fails a bound instead of hanging the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "statusd/ticker.h"
#include "statusd/util.h"

#define MAX_CALLS 8

typedef struct counter {
    atomic_int calls;
    atomic_int stopping_seen;   /* calls that saw sd_ticker_stopping */
    atomic_int in_call;         /* a call is under way */
    int64_t hold_ms;            /* each call lasts this long, unless stopped */
    _Atomic int64_t began[MAX_CALLS];   /* monotonic ms each call began */
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
    int k = atomic_load(&c->calls);
    if (k < MAX_CALLS)
        atomic_store(&c->began[k], sd_mono_ms());
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

/* Stops t, asserting it takes less than 20 s. */
static void stop_within_bound(sd_ticker *t)
{
    int64_t began = sd_mono_ms();
    sd_ticker_stop(t);
    assert_true(sd_mono_ms() - began < 20000);
}

static void test_calls_every_interval_until_stopped(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    int64_t started = sd_mono_ms();
    assert_int_equal(sd_ticker_start(20, false, count_tick, &c, &t), SD_OK);
    assert_non_null(t);
    wait_calls(&c, 3);
    stop_within_bound(t);
    /* The third call comes three intervals after the start at the
     * earliest (a millisecond for the clock's rounding). */
    assert_true(atomic_load(&c.began[2]) - started >= 3 * 20 - 1);
    int after = atomic_load(&c.calls);
    sleep_ms(100);
    assert_int_equal(atomic_load(&c.calls), after);
}

/* The interval runs from the end of one call: with calls of 30 ms, the
 * third begins no earlier than three intervals and two calls in. */
static void test_interval_counts_from_the_end_of_a_call(void **state)
{
    (void)state;
    counter c = {0};
    c.hold_ms = 30;
    sd_ticker *t = NULL;
    int64_t started = sd_mono_ms();
    assert_int_equal(sd_ticker_start(20, false, count_tick, &c, &t), SD_OK);
    wait_calls(&c, 3);
    stop_within_bound(t);
    assert_true(atomic_load(&c.began[2]) - started >= 3 * 20 + 2 * 30 - 1);
    assert_true(atomic_load(&c.began[2]) - atomic_load(&c.began[1]) >= 20 + 30 - 1);
}

/* Without at_once the first call waits an interval; with it, it comes at
 * once. A minute's interval tells the two apart whatever the machine. */
static void test_first_call_waits_an_interval_unless_at_once(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(60000, false, count_tick, &c, &t), SD_OK);
    sleep_ms(100);
    stop_within_bound(t);
    assert_int_equal(atomic_load(&c.calls), 0);

    counter d = {0};
    assert_int_equal(sd_ticker_start(60000, true, count_tick, &d, &t), SD_OK);
    wait_calls(&d, 1);
    stop_within_bound(t);
    assert_int_equal(atomic_load(&d.calls), 1);
}

/* A stop ends the wait for the next call at once, not after the minute. */
static void test_stop_ends_a_wait_at_once(void **state)
{
    (void)state;
    counter c = {0};
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(60000, false, count_tick, &c, &t), SD_OK);
    stop_within_bound(t);
    assert_int_equal(atomic_load(&c.calls), 0);
    sd_ticker_stop(NULL);
}

/* A call under way ends before the stop returns, and sees the stop: a
 * call of 30 s ends as soon as it asks. */
static void test_stop_lets_a_call_under_way_end_and_tells_it(void **state)
{
    (void)state;
    counter c = {0};
    c.hold_ms = 30000;
    sd_ticker *t = NULL;
    assert_int_equal(sd_ticker_start(60000, true, count_tick, &c, &t), SD_OK);
    wait_calls(&c, 1);
    stop_within_bound(t);
    assert_int_equal(atomic_load(&c.in_call), 0);
    assert_int_equal(atomic_load(&c.stopping_seen), 1);
    assert_int_equal(atomic_load(&c.calls), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_every_interval_until_stopped),
        cmocka_unit_test(test_interval_counts_from_the_end_of_a_call),
        cmocka_unit_test(test_first_call_waits_an_interval_unless_at_once),
        cmocka_unit_test(test_stop_ends_a_wait_at_once),
        cmocka_unit_test(test_stop_lets_a_call_under_way_end_and_tells_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
