/*
 * Store contract cases for queues: the order items are handed out in,
 * capacity, delays, leases (renew, ack, release, reap, resume), the
 * record change each operation can carry and what its failure does to
 * the queue step, refusals of bad arguments, and concurrent takers and
 * reapers each getting every item exactly once.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

#define Q "cq"
#define LONG_LEASE 60000
#define NOT_TRIED SD_ERR_INTERNAL   /* rec.err before a call */

/* ---- helpers ---- */

static sd_queue_take take_of(const char *owner, size_t max)
{
    return (sd_queue_take){.owner = owner, .lease_ms = LONG_LEASE, .max = max};
}

/* Takes up to max items for owner (no change) into items; returns n. */
static size_t take(sd_store *s, const char *owner, size_t max, sd_queue_item *items)
{
    sd_queue_take t = take_of(owner, max);
    size_t n = 99;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, items, &n), SD_OK);
    return n;
}

/* Takes exactly one item for owner and checks it is want. */
static void take_one(sd_store *s, const char *owner, const char *want)
{
    sd_queue_item it[1];
    assert_int_equal(take(s, owner, 1, it), 1);
    assert_string_equal(it[0].item, want);
    sd_queue_items_clear(it, 1);
}

static void push(sd_store *s, const char *item, int64_t delay_ms)
{
    assert_int_equal(sd_queue_push(s, Q, item, delay_ms, 0, NULL), SD_OK);
}

static void assert_stats(sd_store *s, int64_t ready, int64_t delayed, int64_t leased)
{
    sc_assert_queue_stats(s, Q, ready, delayed, leased);
}

/* A change: status must be one of from (cond on "status"), then status =
 * to; rec.out and rec.err as given. */
typedef struct change {
    sd_assign a[2];
    sd_update u;
    sd_queue_rec rec;
} change;

static void change_init(change *c, const char *from, const char *to, sd_update_mode mode)
{
    static const char *const any[] = {"queued", "running", "done", "canceled"};
    size_t k = 0;
    for (; k < 4 && (from == NULL || strcmp(any[k], from) != 0); k++)
        continue;
    c->a[0] = sc_set("status", to);
    c->a[1] = sc_incr("runs", 1);
    c->u = (sd_update){mode, from != NULL ? "status" : NULL, from != NULL ? &any[k] : NULL,
                       from != NULL ? 1 : 0, c->a, 2, 60000, false, 0};
    c->rec = (sd_queue_rec){SC_NS, &c->u, NULL, NOT_TRIED};
}

/* ---- order, capacity, delays ---- */

static void test_take_hands_out_items_earliest_due_first_and_leases_them(void **state)
{
    sd_store *s = *state;
    push(s, "c", 0);
    sc_sleep_ms(3);
    push(s, "a", 0);
    sc_sleep_ms(3);
    push(s, "b", 0);
    assert_stats(s, 3, 0, 0);
    sd_queue_item it[5];
    assert_int_equal(take(s, "w1", 2, it), 2);
    assert_string_equal(it[0].item, "c");
    assert_string_equal(it[1].item, "a");
    assert_int_equal(it[0].rec.count, 0);
    assert_stats(s, 1, 0, 2);
    assert_int_equal(take(s, "w2", 5, it), 1);
    assert_string_equal(it[0].item, "b");
    assert_int_equal(take(s, "w2", 5, it), 0);
    assert_stats(s, 0, 0, 3);
    sd_queue_items_clear(it, 5);
}

static void test_unknown_queue_is_empty_for_every_operation(void **state)
{
    sd_store *s = *state;
    sd_queue_item it[1];
    sd_queue_take t = take_of("w", 1);
    size_t n = 7;
    assert_int_equal(sd_queue_take_items(s, "never", &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_queue_reap(s, "never", "w", 1000, 1, it, &n), SD_OK);
    assert_int_equal(n, 0);
    sd_queue_stats st = {1, 1, 1};
    assert_int_equal(sd_queue_stats_get(s, "never", &st), SD_OK);
    assert_int_equal(st.ready + st.delayed + st.leased, 0);
    assert_int_equal(sd_queue_renew(s, "never", "x", "w", 1000, NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_ack(s, "never", "x", "w", NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_release(s, "never", "x", "w", 0, NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_remove(s, "never", "x", NULL), SD_ERR_NOT_FOUND);
}

static void test_push_of_an_item_waiting_or_leased_is_exists(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    assert_int_equal(sd_queue_push(s, Q, "a", 0, 0, NULL), SD_ERR_EXISTS);
    take_one(s, "w", "a");
    assert_int_equal(sd_queue_push(s, Q, "a", 5000, 0, NULL), SD_ERR_EXISTS);
    assert_stats(s, 0, 0, 1);
    assert_int_equal(sd_queue_ack(s, Q, "a", "w", NULL), SD_OK);
    push(s, "a", 0);
    assert_stats(s, 1, 0, 0);
}

static void test_capacity_counts_waiting_items_not_leased_ones(void **state)
{
    sd_store *s = *state;
    assert_int_equal(sd_queue_push(s, Q, "a", 0, 2, NULL), SD_OK);
    assert_int_equal(sd_queue_push(s, Q, "b", 60000, 2, NULL), SD_OK);
    assert_int_equal(sd_queue_push(s, Q, "c", 0, 2, NULL), SD_ERR_QUEUE_FULL);
    assert_stats(s, 1, 1, 0);
    take_one(s, "w", "a");
    assert_int_equal(sd_queue_push(s, Q, "c", 0, 2, NULL), SD_OK);
    assert_int_equal(sd_queue_push(s, Q, "d", 0, 2, NULL), SD_ERR_QUEUE_FULL);
    assert_int_equal(sd_queue_push(s, Q, "d", 0, 3, NULL), SD_OK);
    assert_int_equal(sd_queue_push(s, Q, "e", 0, 0, NULL), SD_OK);
    assert_stats(s, 3, 1, 1);
}

static void test_delayed_item_waits_for_its_time_unless_taken_ahead(void **state)
{
    sd_store *s = *state;
    push(s, "late", 1000);
    push(s, "later", 60000);
    assert_stats(s, 0, 2, 0);
    sd_queue_item it[2];
    assert_int_equal(take(s, "w", 2, it), 0);
    int64_t until = sd_mono_ms() + 10000;
    size_t n = 0;
    while (n == 0 && sd_mono_ms() < until) {
        sc_sleep_ms(20);
        n = take(s, "w", 2, it);
    }
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "late");
    assert_stats(s, 0, 1, 1);
    sd_queue_take t = take_of("w", 2);
    t.ahead_ms = 120000;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "later");
    assert_stats(s, 0, 0, 2);
}

/* ---- leases ---- */

static void test_only_the_owner_renews_acks_or_releases(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    push(s, "b", 0);
    take_one(s, "w1", "a");
    for (int i = 0; i < 2; i++) {
        const char *item = i == 0 ? "a" : "b";   /* b waits: no one holds it */
        assert_int_equal(sd_queue_renew(s, Q, item, "w2", 1000, NULL), SD_ERR_NOT_FOUND);
        assert_int_equal(sd_queue_ack(s, Q, item, "w2", NULL), SD_ERR_NOT_FOUND);
        assert_int_equal(sd_queue_release(s, Q, item, "w2", 0, NULL), SD_ERR_NOT_FOUND);
    }
    assert_stats(s, 1, 0, 1);
    assert_int_equal(sd_queue_renew(s, Q, "a", "w1", 1000, NULL), SD_OK);
    assert_int_equal(sd_queue_ack(s, Q, "a", "w1", NULL), SD_OK);
    assert_int_equal(sd_queue_ack(s, Q, "a", "w1", NULL), SD_ERR_NOT_FOUND);
    assert_stats(s, 1, 0, 0);
}

static void test_release_puts_the_item_back_now_or_after_a_delay(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    push(s, "b", 0);
    sd_queue_item it[2];
    assert_int_equal(take(s, "w1", 2, it), 2);
    assert_int_equal(sd_queue_release(s, Q, "a", "w1", 0, NULL), SD_OK);
    assert_int_equal(sd_queue_release(s, Q, "b", "w1", 60000, NULL), SD_OK);
    assert_stats(s, 1, 1, 0);
    assert_int_equal(sd_queue_release(s, Q, "a", "w1", 0, NULL), SD_ERR_NOT_FOUND);
    take_one(s, "w2", "a");
    assert_int_equal(take(s, "w2", 2, it), 0);
    assert_stats(s, 0, 1, 1);
}

static void test_reap_hands_an_expired_lease_to_a_new_owner_once(void **state)
{
    sd_store *s = *state;
    push(s, "long", 0);
    sc_sleep_ms(3);
    push(s, "short", 0);
    sd_queue_item it[4];
    sd_queue_take t = take_of("dead", 1);
    t.lease_ms = 50;
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "long");
    take_one(s, "alive", "short");
    sc_sleep_ms(150);
    assert_int_equal(sd_queue_reap(s, Q, "reaper", 60000, 4, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "long");
    assert_string_equal(it[0].owner, "dead");
    assert_int_equal(sd_queue_reap(s, Q, "other", 60000, 4, it, &n), SD_OK);
    assert_int_equal(n, 0);
    /* The old owner lost it; the new one holds it. */
    assert_int_equal(sd_queue_renew(s, Q, "long", "dead", 1000, NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_ack(s, Q, "long", "dead", NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_release(s, Q, "long", "reaper", 0, NULL), SD_OK);
    assert_stats(s, 1, 0, 1);
    take_one(s, "next", "long");
}

static void test_renewed_lease_is_not_reaped(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    sd_queue_item it[1];
    sd_queue_take t = take_of("w", 1);
    t.lease_ms = 300;
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(sd_queue_renew(s, Q, "a", "w", 60000, NULL), SD_OK);
    sc_sleep_ms(450);
    assert_int_equal(sd_queue_reap(s, Q, "r", 1000, 1, it, &n), SD_OK);
    assert_int_equal(n, 0);
    assert_int_equal(sd_queue_ack(s, Q, "a", "w", NULL), SD_OK);
}

static void test_take_with_resume_gives_back_the_owners_items_first(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    sc_sleep_ms(3);
    push(s, "b", 0);
    sc_sleep_ms(3);
    push(s, "c", 0);
    sd_queue_item it[4];
    assert_int_equal(take(s, "w", 2, it), 2);
    sd_queue_items_clear(it, 2);
    take_one(s, "x", "c");
    push(s, "d", 0);
    sd_queue_take t = take_of("w", 4);
    t.resume = true;
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 3);
    bool seen_a = false, seen_b = false;
    for (size_t i = 0; i < 2; i++) {
        seen_a = seen_a || strcmp(it[i].item, "a") == 0;
        seen_b = seen_b || strcmp(it[i].item, "b") == 0;
    }
    assert_true(seen_a && seen_b);
    assert_string_equal(it[2].item, "d");
    assert_stats(s, 0, 0, 4);
    /* Without resume only new items come. */
    assert_int_equal(take(s, "w", 4, it), 0);
}

/* ---- record changes ---- */

static void test_push_with_a_change_creates_the_record_or_changes_nothing(void **state)
{
    sd_store *s = *state;
    change c;
    change_init(&c, NULL, "queued", SD_UPDATE_CREATE);
    sd_record out = SD_RECORD_INIT;
    c.rec.out = &out;
    assert_int_equal(sd_queue_push(s, Q, "j1", 0, 0, &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_OK);
    sc_assert_field(&out, "status", "queued");
    assert_true(out.expires_ms > sd_now_ms());
    sd_record_clear(&out);
    sc_assert_stored(s, "j1", "status", "queued");

    /* A record that exists already: EXISTS from the change, no item. */
    sc_put1(s, "j2", "status", "done", 0);
    c.rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_push(s, Q, "j2", 0, 0, &c.rec), SD_ERR_EXISTS);
    assert_int_equal(c.rec.err, SD_ERR_EXISTS);
    sc_assert_stored(s, "j2", "status", "done");
    /* A full queue: the change is not tried. */
    c.rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_push(s, Q, "j3", 0, 1, &c.rec), SD_ERR_QUEUE_FULL);
    assert_int_equal(c.rec.err, NOT_TRIED);
    sc_assert_absent(s, "j3");
    assert_stats(s, 1, 0, 0);
    sd_record_clear(&out);
}

static void test_take_applies_its_change_and_drops_items_whose_change_fails(void **state)
{
    sd_store *s = *state;
    assert_int_equal(sd_store_index(s, SC_NS, "status"), SD_OK);
    sc_put1(s, "j1", "status", "queued", 0);
    sc_put1(s, "j2", "status", "canceled", 0);
    sc_put1(s, "j4", "status", "queued", 0);
    push(s, "j1", 0);
    sc_sleep_ms(3);
    push(s, "j2", 0);          /* canceled: dropped */
    sc_sleep_ms(3);
    push(s, "j3", 0);          /* no record: dropped */
    sc_sleep_ms(3);
    push(s, "j4", 0);
    change c;
    change_init(&c, "queued", "running", SD_UPDATE_EXISTING);
    sd_queue_take t = take_of("w", 3);
    sd_queue_item it[3];
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, &c.rec, it, &n), SD_OK);
    assert_int_equal(n, 2);
    assert_string_equal(it[0].item, "j1");
    assert_string_equal(it[1].item, "j4");
    for (size_t i = 0; i < 2; i++) {
        sc_assert_field(&it[i].rec, "status", "running");
        sc_assert_field(&it[i].rec, "runs", "1");
    }
    assert_stats(s, 0, 0, 2);
    sc_assert_stored(s, "j2", "status", "canceled");
    sc_assert_absent(s, "j3");
    sc_assert_count_by_becomes(s, SC_NS, "running", 2);
    sc_assert_count_by_becomes(s, SC_NS, "queued", 0);
    sd_queue_items_clear(it, n);

    /* resume hands the records back as they stand, changed once */
    t.resume = true;
    assert_int_equal(sd_queue_take_items(s, Q, &t, &c.rec, it, &n), SD_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < 2; i++)
        sc_assert_field(&it[i].rec, "runs", "1");
    sd_queue_items_clear(it, n);
}

static void test_ack_and_renew_apply_their_change_only_for_the_owner(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "j1", "status", "running", 0);
    push(s, "j1", 0);
    take_one(s, "w", "j1");
    change c;
    change_init(&c, "running", "done", SD_UPDATE_EXISTING);
    assert_int_equal(sd_queue_renew(s, Q, "j1", "other", 1000, &c.rec), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_ack(s, Q, "j1", "other", &c.rec), SD_ERR_NOT_FOUND);
    assert_int_equal(c.rec.err, NOT_TRIED);
    sc_assert_stored(s, "j1", "status", "running");

    change keep;
    change_init(&keep, "running", "running", SD_UPDATE_EXISTING);
    assert_int_equal(sd_queue_renew(s, Q, "j1", "w", 1000, &keep.rec), SD_OK);
    assert_int_equal(keep.rec.err, SD_OK);
    sc_assert_stored(s, "j1", "runs", "1");

    sd_record out = SD_RECORD_INIT;
    c.rec.out = &out;
    assert_int_equal(sd_queue_ack(s, Q, "j1", "w", &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_OK);
    sc_assert_field(&out, "status", "done");
    sc_assert_field(&out, "runs", "2");
    sd_record_clear(&out);
    assert_stats(s, 0, 0, 0);

    /* A change that fails does not keep the item: the run is over. */
    sc_put1(s, "j2", "status", "canceled", 0);
    push(s, "j2", 0);
    take_one(s, "w", "j2");
    c.rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_renew(s, Q, "j2", "w", 1000, &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_ERR_CONFLICT);
    sc_assert_field(&out, "status", "canceled");
    sd_record_clear(&out);
    assert_int_equal(sd_queue_ack(s, Q, "j2", "w", &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_ERR_CONFLICT);
    sd_record_clear(&out);
    assert_stats(s, 0, 0, 0);
    sc_assert_stored(s, "j2", "status", "canceled");
}

static void test_release_whose_change_fails_drops_the_item(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "j1", "status", "running", 0);
    sc_put1(s, "j2", "status", "canceled", 0);
    push(s, "j1", 0);
    sc_sleep_ms(3);
    push(s, "j2", 0);
    sd_queue_item it[2];
    assert_int_equal(take(s, "w", 2, it), 2);
    change c;
    change_init(&c, "running", "queued", SD_UPDATE_EXISTING);
    assert_int_equal(sd_queue_release(s, Q, "j1", "w", 60000, &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_OK);
    sc_assert_stored(s, "j1", "status", "queued");
    c.rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_release(s, Q, "j2", "w", 0, &c.rec), SD_OK);
    assert_int_equal(c.rec.err, SD_ERR_CONFLICT);
    sc_assert_stored(s, "j2", "status", "canceled");
    assert_stats(s, 0, 1, 0);
    assert_int_equal(sd_queue_push(s, Q, "j2", 0, 0, NULL), SD_OK);
}

static void test_remove_changes_the_record_and_takes_out_a_waiting_item(void **state)
{
    sd_store *s = *state;
    sc_put1(s, "j1", "status", "queued", 0);
    sc_put1(s, "j2", "status", "queued", 0);
    sc_put1(s, "j3", "status", "done", 0);
    push(s, "j1", 60000);
    push(s, "j2", 0);
    push(s, "j3", 0);
    take_one(s, "w", "j2");
    static const char *const live[] = {"queued", "running"};
    sd_assign a = sc_set("status", "canceled");
    sd_update u = {SD_UPDATE_EXISTING, "status", live, 2, &a, 1, 0, false, 0};
    sd_record out = SD_RECORD_INIT;
    sd_queue_rec rec = {SC_NS, &u, &out, NOT_TRIED};
    assert_int_equal(sd_queue_remove(s, Q, "j1", &rec), SD_OK);
    assert_int_equal(rec.err, SD_OK);
    sc_assert_field(&out, "status", "canceled");
    /* Leased: the record changes, the item stays for its owner. */
    rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_remove(s, Q, "j2", &rec), SD_ERR_NOT_FOUND);
    assert_int_equal(rec.err, SD_OK);
    sc_assert_stored(s, "j2", "status", "canceled");
    /* A failed change leaves the item alone. */
    rec.err = NOT_TRIED;
    assert_int_equal(sd_queue_remove(s, Q, "j3", &rec), SD_OK);
    assert_int_equal(rec.err, SD_ERR_CONFLICT);
    sc_assert_field(&out, "status", "done");
    sd_record_clear(&out);
    assert_stats(s, 1, 0, 1);
    assert_int_equal(sd_queue_remove(s, Q, "j3", NULL), SD_OK);
    assert_int_equal(sd_queue_remove(s, Q, "j3", NULL), SD_ERR_NOT_FOUND);
    assert_stats(s, 0, 0, 1);
}

/* ---- refusals ---- */

static void test_queue_operations_refuse_bad_arguments(void **state)
{
    sd_store *s = *state;
    char long_item[SD_QUEUE_ITEM_MAX + 1];
    memset(long_item, 'x', SD_QUEUE_ITEM_MAX);
    long_item[SD_QUEUE_ITEM_MAX] = '\0';
    char longest[SD_QUEUE_ITEM_MAX];
    memset(longest, 'y', SD_QUEUE_ITEM_MAX - 1);
    longest[SD_QUEUE_ITEM_MAX - 1] = '\0';
    assert_int_equal(sd_queue_push(s, "", "a", 0, 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_push(s, NULL, "a", 0, 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_push(s, Q, "", 0, 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_push(s, Q, long_item, 0, 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_push(s, Q, "a", -1, 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_push(s, Q, "a", 0, -1, NULL), SD_ERR_INVALID);
    sd_assign bad = {NULL, SD_ASSIGN_SET, "v", 1, 0};
    sd_update u = {SD_UPDATE_UPSERT, NULL, NULL, 0, &bad, 1, 0, false, 0};
    sd_queue_rec rec = {SC_NS, &u, NULL, NOT_TRIED};
    assert_int_equal(sd_queue_push(s, Q, "a", 0, 0, &rec), SD_ERR_INVALID);
    sd_queue_rec no_ns = {"", &u, NULL, NOT_TRIED};
    assert_int_equal(sd_queue_push(s, Q, "a", 0, 0, &no_ns), SD_ERR_INVALID);
    assert_int_equal(rec.err, NOT_TRIED);
    assert_stats(s, 0, 0, 0);

    push(s, longest, 0);
    sd_queue_item it[1];
    size_t n = 0;
    sd_queue_take t = take_of("w", 1);
    t.lease_ms = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_ERR_INVALID);
    t = take_of("w", 0);
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_ERR_INVALID);
    t = take_of("", 1);
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_ERR_INVALID);
    t = take_of(long_item, 1);
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_ERR_INVALID);
    t = take_of("w", 1);
    t.ahead_ms = -1;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_ERR_INVALID);
    assert_int_equal(sd_queue_renew(s, Q, longest, "w", 0, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_release(s, Q, longest, "w", -5, NULL), SD_ERR_INVALID);
    assert_int_equal(sd_queue_reap(s, Q, "w", 0, 1, it, &n), SD_ERR_INVALID);
    assert_int_equal(sd_queue_reap(s, Q, "w", 1000, 0, it, &n), SD_ERR_INVALID);
    assert_int_equal(sd_queue_stats_get(s, Q, NULL), SD_ERR_INVALID);
    assert_stats(s, 1, 0, 0);
    take_one(s, long_item + 1, longest);
}

static void test_clear_empties_every_queue(void **state)
{
    sd_store *s = *state;
    push(s, "a", 0);
    push(s, "b", 60000);
    take_one(s, "w", "a");
    assert_int_equal(sd_queue_push(s, "other", "x", 0, 0, NULL), SD_OK);
    int64_t deleted = -1;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    assert_int_equal(deleted, 0);
    assert_stats(s, 0, 0, 0);
    assert_int_equal(sd_queue_ack(s, Q, "a", "w", NULL), SD_ERR_NOT_FOUND);
    sd_queue_stats st;
    assert_int_equal(sd_queue_stats_get(s, "other", &st), SD_OK);
    assert_int_equal(st.ready, 0);
    push(s, "a", 0);
}

/* ---- concurrency ---- */

#define RACE_THREADS 4
#define RACE_ITEMS 200

typedef struct racer {
    sd_store *s;
    char owner[24];
    bool reap;                      /* reap instead of take */
    int got[RACE_ITEMS];            /* how many times each item came */
    int errors;
} racer;

static void *racer_main(void *arg)
{
    racer *r = arg;
    sd_queue_item it[8];
    for (int idle = 0; idle < 50;) {
        size_t n = 0;
        sd_err err;
        if (r->reap) {
            err = sd_queue_reap(r->s, Q, r->owner, 60000, 8, it, &n);
        } else {
            sd_queue_take t = take_of(r->owner, 8);
            err = sd_queue_take_items(r->s, Q, &t, NULL, it, &n);
        }
        if (err != SD_OK)
            r->errors++;
        idle = n == 0 ? idle + 1 : 0;
        for (size_t i = 0; i < n; i++) {
            int64_t k = -1;
            if (sd_parse_i64(it[i].item + 1, 0, RACE_ITEMS - 1, &k) == SD_OK)
                r->got[k]++;
            else
                r->errors++;
        }
        sd_queue_items_clear(it, n);
    }
    return NULL;
}

/* Runs RACE_THREADS racers (reap or take) and checks each item came to
 * exactly one of them, once. */
static void race(sd_store *s, bool reap)
{
    static racer r[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].s = s;
        r[i].reap = reap;
        snprintf(r[i].owner, sizeof r[i].owner, "racer%d", i);
        assert_int_equal(pthread_create(&th[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int k = 0; k < RACE_ITEMS; k++) {
        int total = 0;
        for (int i = 0; i < RACE_THREADS; i++)
            total += r[i].got[k];
        assert_int_equal(total, 1);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(r[i].errors, 0);
}

static void push_race_items(sd_store *s)
{
    for (int k = 0; k < RACE_ITEMS; k++) {
        char item[16];
        snprintf(item, sizeof item, "i%d", k);
        push(s, item, 0);
    }
}

static void test_concurrent_takers_get_every_item_exactly_once(void **state)
{
    sd_store *s = *state;
    push_race_items(s);
    race(s, false);
    assert_stats(s, 0, 0, RACE_ITEMS);
}

static void test_concurrent_reapers_get_every_expired_lease_exactly_once(void **state)
{
    sd_store *s = *state;
    push_race_items(s);
    sd_queue_item it[RACE_ITEMS];
    sd_queue_take t = take_of("dead", RACE_ITEMS);
    t.lease_ms = 30;
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, RACE_ITEMS);
    sc_sleep_ms(100);
    race(s, true);
    assert_stats(s, 0, 0, RACE_ITEMS);
}

static const struct CMUnitTest tests[] = {
    SC_CASE(test_take_hands_out_items_earliest_due_first_and_leases_them),
    SC_CASE(test_unknown_queue_is_empty_for_every_operation),
    SC_CASE(test_push_of_an_item_waiting_or_leased_is_exists),
    SC_CASE(test_capacity_counts_waiting_items_not_leased_ones),
    SC_CASE(test_delayed_item_waits_for_its_time_unless_taken_ahead),
    SC_CASE(test_only_the_owner_renews_acks_or_releases),
    SC_CASE(test_release_puts_the_item_back_now_or_after_a_delay),
    SC_CASE(test_reap_hands_an_expired_lease_to_a_new_owner_once),
    SC_CASE(test_renewed_lease_is_not_reaped),
    SC_CASE(test_take_with_resume_gives_back_the_owners_items_first),
    SC_CASE(test_push_with_a_change_creates_the_record_or_changes_nothing),
    SC_CASE(test_take_applies_its_change_and_drops_items_whose_change_fails),
    SC_CASE(test_ack_and_renew_apply_their_change_only_for_the_owner),
    SC_CASE(test_release_whose_change_fails_drops_the_item),
    SC_CASE(test_remove_changes_the_record_and_takes_out_a_waiting_item),
    SC_CASE(test_queue_operations_refuse_bad_arguments),
    SC_CASE(test_clear_empties_every_queue),
    SC_CASE(test_concurrent_takers_get_every_item_exactly_once),
    SC_CASE(test_concurrent_reapers_get_every_expired_lease_exactly_once),
};

const struct CMUnitTest *sc_queue_tests(size_t *count)
{
    *count = sizeof tests / sizeof tests[0];
    return tests;
}
