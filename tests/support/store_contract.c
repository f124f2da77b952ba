/*
 * The store contract (see store_contract.h): the factory, each case's
 * setup and teardown, the helpers the cases share, and the list of every
 * case. The cases themselves are in store_contract_hash.c (hash records:
 * modes, conditions, assignments, TTL and deadline),
 * store_contract_data.c (lists, listing, counts, rate limits, health,
 * concurrency), store_contract_index.c (counts by the value of an
 * indexed field) and store_contract_queue.c (queues and the record
 * changes they carry).
 */
#include "store_contract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

#define WAIT_LIMIT_MS 10000      /* how long polls wait before failing */
#define MAX_CASES 128

static sd_store_factory contract_factory;
static void *contract_arg;

void sd_store_contract_set_factory(sd_store_factory factory, void *arg)
{
    contract_factory = factory;
    contract_arg = arg;
}

int sc_setup(void **state)
{
    if (contract_factory == NULL)
        return -1;
    sd_store *s = contract_factory(contract_arg);
    if (s == NULL)
        return -1;
    if (sd_store_clear(s, NULL) != SD_OK) {
        sd_store_free(s);
        return -1;
    }
    *state = s;
    return 0;
}

int sc_teardown(void **state)
{
    sd_store *s = *state;
    int rc = sd_store_clear(s, NULL) == SD_OK ? 0 : -1;
    sd_store_free(s);
    return rc;
}

/* ---- helpers (see store_contract_cases.h) ---- */

void sc_sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
}

/* Sleeps until the wall clock is safely past expires_ms. */
void sc_wait_past(int64_t expires_ms)
{
    assert_true(expires_ms > 0);
    while (sd_now_ms() <= expires_ms + 50)
        sc_sleep_ms(10);
}

sd_assign sc_set(const char *name, const char *value)
{
    return (sd_assign){name, SD_ASSIGN_SET, value, strlen(value), 0};
}

sd_assign sc_setnx(const char *name, const char *value)
{
    return (sd_assign){name, SD_ASSIGN_SETNX, value, strlen(value), 0};
}

sd_assign sc_incr(const char *name, int64_t incr)
{
    return (sd_assign){name, SD_ASSIGN_INCR, NULL, 0, incr};
}

sd_assign sc_del(const char *name)
{
    return (sd_assign){name, SD_ASSIGN_DEL, NULL, 0, 0};
}

/* One update with the given assignments and no condition. */
sd_err sc_update(sd_store *s, const char *id, sd_update_mode mode, int64_t ttl_ms,
                  const sd_assign *a, size_t n, sd_record *out)
{
    sd_update u = {mode, NULL, NULL, 0, a, n, ttl_ms, false, 0};
    return sd_store_update(s, SC_NS, id, &u, out);
}

/* Creates id with one field name = value. */
void sc_put1(sd_store *s, const char *id, const char *name, const char *value,
                 int64_t ttl_ms)
{
    sd_assign a = sc_set(name, value);
    assert_int_equal(sc_update(s, id, SD_UPDATE_CREATE, ttl_ms, &a, 1, NULL), SD_OK);
}

void sc_assert_field(const sd_record *r, const char *name, const char *want)
{
    size_t len = 0;
    const char *v = sd_record_get(r, name, &len);
    assert_non_null(v);
    assert_int_equal(len, strlen(want));
    assert_string_equal(v, want);
}

/* Reads id (no renewal) and checks field name. */
void sc_assert_stored(sd_store *s, const char *id, const char *name, const char *want)
{
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, id, 0, &r), SD_OK);
    sc_assert_field(&r, name, want);
    sd_record_clear(&r);
}

void sc_assert_absent(sd_store *s, const char *id)
{
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, id, 0, &r), SD_ERR_NOT_FOUND);
    assert_int_equal(r.count, 0);
}

/* Polls count(ns) until it equals want; fails after WAIT_LIMIT_MS. */
void sc_assert_count_becomes(sd_store *s, const char *ns, int64_t want)
{
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS, n = -1;
    for (;;) {
        assert_int_equal(sd_store_count(s, ns, &n), SD_OK);
        if (n == want || sd_mono_ms() > until)
            break;
        sc_sleep_ms(20);
    }
    assert_int_equal(n, want);
}

/* Polls count_by(ns, value) until it equals want; fails after
 * WAIT_LIMIT_MS. */
void sc_assert_count_by_becomes(sd_store *s, const char *ns, const char *value,
                                int64_t want)
{
    int64_t until = sd_mono_ms() + WAIT_LIMIT_MS, n = -1;
    for (;;) {
        assert_int_equal(sd_store_count_by(s, ns, value, &n), SD_OK);
        if (n == want || sd_mono_ms() > until)
            break;
        sc_sleep_ms(20);
    }
    assert_int_equal(n, want);
}

void sc_assert_queue_stats(sd_store *s, const char *queue, int64_t ready, int64_t delayed,
                           int64_t leased)
{
    sd_queue_stats st;
    assert_int_equal(sd_queue_stats_get(s, queue, &st), SD_OK);
    assert_int_equal(st.ready, ready);
    assert_int_equal(st.delayed, delayed);
    assert_int_equal(st.leased, leased);
}

/* ---- the registry ---- */

const struct CMUnitTest *sd_store_contract_tests(size_t *count)
{
    static struct CMUnitTest all[MAX_CASES];
    const struct CMUnitTest *(*const parts[])(size_t *) = {sc_hash_tests, sc_data_tests,
                                                           sc_index_tests, sc_queue_tests,
                                                           sc_ack_take_tests, sc_scan_by_tests};
    size_t n = 0;
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        size_t k = 0;
        const struct CMUnitTest *t = parts[p](&k);
        if (k > MAX_CASES - n) {
            fprintf(stderr, "store contract: more than %d cases; raise MAX_CASES\n",
                    MAX_CASES);
            abort();
        }
        memcpy(&all[n], t, k * sizeof *t);
        n += k;
    }
    *count = n;
    return all;
}

int sd_store_contract_run(const char *group_name)
{
    size_t n = 0;
    const struct CMUnitTest *tests = sd_store_contract_tests(&n);
    return _cmocka_run_group_tests(group_name, tests, n, NULL, NULL);
}
