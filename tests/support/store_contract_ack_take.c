/*
 * Store contract cases for ack_take, the step that ends a run and takes
 * the next: the ack as queue_ack has it (only for the owner, its change
 * tried, the item gone whatever the change gave), then a take as
 * queue_take has it (due items only, earliest first, each with its
 * change, items whose change fails dropped), all or nothing on the ack.
 */
#include <stdint.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

#define Q "cat"
#define LONG_LEASE 60000
#define NOT_TRIED SD_ERR_INTERNAL   /* rec.err before a call */

/* A change conditioned on status == from, setting status = to and
 * adding one to runs. */
typedef struct change {
    const char *from[1];
    sd_assign a[2];
    sd_update u;
    sd_queue_rec rec;
} change;

static void change_init(change *c, const char *ns, const char *from, const char *to)
{
    c->from[0] = from;
    c->a[0] = sc_set("status", to);
    c->a[1] = sc_incr("runs", 1);
    c->u = (sd_update){.mode = SD_UPDATE_EXISTING, .cond_field = "status",
                       .cond_values = c->from, .cond_count = 1, .assign = c->a,
                       .assign_count = 2, .ttl_ms = 60000, .settles = true};
    c->rec = (sd_queue_rec){ns, &c->u, NULL, NOT_TRIED};
}

/* A record id with status, and its item pushed due in delay_ms. */
static void job(sd_store *s, const char *id, const char *status, int64_t delay_ms)
{
    sc_put1(s, id, "status", status, 0);
    assert_int_equal(sd_queue_push(s, Q, id, delay_ms, 0, NULL), SD_OK);
}

/* Takes exactly item for owner (no change). */
static void lease(sd_store *s, const char *owner, const char *item)
{
    sd_queue_take t = {.owner = owner, .lease_ms = LONG_LEASE, .max = 1};
    sd_queue_item it[1];
    size_t n = 0;
    assert_int_equal(sd_queue_take_items(s, Q, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, item);
    sd_queue_items_clear(it, n);
}

/* A record id with status, its item leased to owner. */
static void held(sd_store *s, const char *id, const char *status, const char *owner)
{
    job(s, id, status, 0);
    lease(s, owner, id);
}

static void assert_stats(sd_store *s, int64_t ready, int64_t delayed, int64_t leased)
{
    sc_assert_queue_stats(s, Q, ready, delayed, leased);
}

/* The two changes of a worker ending a run and starting the next. */
typedef struct step {
    change end, start;
    sd_queue_take t;
    sd_queue_item it[2];
    size_t n;
} step;

static void step_init(step *st, const char *next_owner, size_t max)
{
    change_init(&st->end, SC_NS, "running", "done");
    change_init(&st->start, SC_NS, "queued", "running");
    st->t = (sd_queue_take){.owner = next_owner, .lease_ms = LONG_LEASE, .max = max};
    st->n = 99;
}

static sd_err step_run(sd_store *s, step *st, const char *item, const char *owner)
{
    return sd_queue_ack_take(s, Q, item, owner, &st->end.rec, &st->t, &st->start.rec, st->it,
                             &st->n);
}

/* ---- cases ---- */

static void test_ack_take_acks_and_takes_the_next_due_item_with_its_change(void **state)
{
    sd_store *s = *state;
    held(s, "j1", "running", "w1");
    job(s, "j2", "queued", 0);
    sc_sleep_ms(3);
    job(s, "j3", "queued", 0);
    step st;
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_OK);
    assert_int_equal(st.end.rec.err, SD_OK);
    sc_assert_stored(s, "j1", "status", "done");
    assert_int_equal(st.n, 1);
    assert_string_equal(st.it[0].item, "j2");
    sc_assert_field(&st.it[0].rec, "status", "running");
    sc_assert_field(&st.it[0].rec, "runs", "1");
    sc_assert_stored(s, "j2", "status", "running");
    sc_assert_stored(s, "j3", "status", "queued");
    sd_queue_items_clear(st.it, st.n);
    assert_stats(s, 1, 0, 1);
    /* j1 left the queue; j2 is the new owner's, not the old one's. */
    assert_int_equal(sd_queue_ack(s, Q, "j1", "w1", NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_ack(s, Q, "j2", "w1", NULL), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_renew(s, Q, "j2", "w2", LONG_LEASE, NULL), SD_OK);

    /* The next run ends the same way and takes the last one. */
    step_init(&st, "w3", 2);
    assert_int_equal(step_run(s, &st, "j2", "w2"), SD_OK);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.it[0].item, "j3");
    sd_queue_items_clear(st.it, st.n);
    sc_assert_stored(s, "j2", "status", "done");
    assert_stats(s, 0, 0, 1);
}

static void test_ack_take_by_a_non_owner_changes_nothing_and_takes_nothing(void **state)
{
    sd_store *s = *state;
    held(s, "j1", "running", "w1");
    job(s, "j2", "queued", 0);
    step st;
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "j1", "other"), SD_ERR_NOT_FOUND);
    assert_int_equal(st.end.rec.err, NOT_TRIED);
    assert_int_equal(st.start.rec.err, NOT_TRIED);
    assert_int_equal(st.n, 0);
    sc_assert_stored(s, "j1", "status", "running");
    sc_assert_stored(s, "j2", "status", "queued");
    assert_stats(s, 1, 0, 1);

    /* An item waiting (not leased), an item no longer in the queue and a
     * queue never made are not held either. */
    assert_int_equal(step_run(s, &st, "j2", "w1"), SD_ERR_NOT_FOUND);
    assert_int_equal(st.n, 0);
    assert_int_equal(step_run(s, &st, "gone", "w1"), SD_ERR_NOT_FOUND);
    assert_int_equal(sd_queue_ack_take(s, "never", "j1", "w1", &st.end.rec, &st.t,
                                       &st.start.rec, st.it, &st.n),
                     SD_ERR_NOT_FOUND);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.end.rec.err, NOT_TRIED);
    sc_assert_stored(s, "j2", "status", "queued");
    assert_stats(s, 1, 0, 1);
}

static void test_ack_take_of_an_empty_queue_acks_and_takes_nothing(void **state)
{
    sd_store *s = *state;
    held(s, "j1", "running", "w1");
    step st;
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_OK);
    assert_int_equal(st.end.rec.err, SD_OK);
    assert_int_equal(st.n, 0);
    assert_int_equal(st.start.rec.err, NOT_TRIED);
    sc_assert_stored(s, "j1", "status", "done");
    assert_stats(s, 0, 0, 0);
    /* Acked once: a second try is not the owner's any more. */
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_ERR_NOT_FOUND);
}

static void test_ack_take_leaves_a_delayed_item_until_its_time(void **state)
{
    sd_store *s = *state;
    held(s, "j1", "running", "w1");
    job(s, "later", "queued", 60000);
    step st;
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_OK);
    assert_int_equal(st.n, 0);
    sc_assert_stored(s, "later", "status", "queued");
    assert_stats(s, 0, 1, 0);

    /* Due soon: taken once due, not before. */
    held(s, "j2", "running", "w2");
    held(s, "j3", "running", "w3");
    job(s, "soon", "queued", 150);
    step_init(&st, "w4", 1);
    assert_int_equal(step_run(s, &st, "j2", "w2"), SD_OK);
    assert_int_equal(st.n, 0);
    sc_sleep_ms(250);
    step_init(&st, "w4", 1);
    assert_int_equal(step_run(s, &st, "j3", "w3"), SD_OK);
    assert_int_equal(st.n, 1);
    assert_string_equal(st.it[0].item, "soon");
    sd_queue_items_clear(st.it, st.n);
    assert_stats(s, 0, 1, 1);
}

static void test_ack_take_keeps_each_changes_outcome_apart(void **state)
{
    sd_store *s = *state;
    /* The ack's change fails (the run was canceled meanwhile): the item
     * goes all the same, and the take goes on. */
    held(s, "j1", "canceled", "w1");
    /* The first due item's start fails (canceled while waiting): it
     * leaves the queue, and the next one is taken instead. */
    job(s, "j2", "canceled", 0);
    sc_sleep_ms(3);
    job(s, "j3", "queued", 0);
    step st;
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_OK);
    assert_int_equal(st.end.rec.err, SD_ERR_CONFLICT);
    sc_assert_stored(s, "j1", "status", "canceled");
    assert_int_equal(st.n, 1);
    assert_string_equal(st.it[0].item, "j3");
    sc_assert_field(&st.it[0].rec, "status", "running");
    sd_queue_items_clear(st.it, st.n);
    sc_assert_stored(s, "j2", "status", "canceled");
    assert_stats(s, 0, 0, 1);

    /* Without changes: the queue steps alone. */
    job(s, "j4", "queued", 0);
    sd_queue_take t = {.owner = "w3", .lease_ms = LONG_LEASE, .max = 1};
    sd_queue_item it[1];
    size_t n = 0;
    assert_int_equal(sd_queue_ack_take(s, Q, "j3", "w2", NULL, &t, NULL, it, &n), SD_OK);
    assert_int_equal(n, 1);
    assert_string_equal(it[0].item, "j4");
    assert_int_equal(it[0].rec.count, 0);
    sd_queue_items_clear(it, n);
    sc_assert_stored(s, "j4", "status", "queued");
    assert_stats(s, 0, 0, 1);
}

static void test_ack_take_refuses_bad_arguments_touching_nothing(void **state)
{
    sd_store *s = *state;
    held(s, "j1", "running", "w1");
    job(s, "j2", "queued", 0);
    step st;
    step_init(&st, "w2", 1);
    st.t.resume = true;
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_ERR_INVALID);
    step_init(&st, "w2", 1);
    st.t.max = 0;
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_ERR_INVALID);
    step_init(&st, "", 1);
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_ERR_INVALID);
    step_init(&st, "w2", 1);
    assert_int_equal(step_run(s, &st, "", "w1"), SD_ERR_INVALID);
    assert_int_equal(sd_queue_ack_take(s, Q, "j1", "w1", &st.end.rec, NULL, &st.start.rec,
                                       st.it, &st.n),
                     SD_ERR_INVALID);
    /* The two changes must name one namespace. */
    change_init(&st.start, "elsewhere", "queued", "running");
    assert_int_equal(step_run(s, &st, "j1", "w1"), SD_ERR_INVALID);
    assert_int_equal(st.end.rec.err, NOT_TRIED);
    sc_assert_stored(s, "j1", "status", "running");
    sc_assert_stored(s, "j2", "status", "queued");
    assert_stats(s, 1, 0, 1);
}

static const struct CMUnitTest tests[] = {
    SC_CASE(test_ack_take_acks_and_takes_the_next_due_item_with_its_change),
    SC_CASE(test_ack_take_by_a_non_owner_changes_nothing_and_takes_nothing),
    SC_CASE(test_ack_take_of_an_empty_queue_acks_and_takes_nothing),
    SC_CASE(test_ack_take_leaves_a_delayed_item_until_its_time),
    SC_CASE(test_ack_take_keeps_each_changes_outcome_apart),
    SC_CASE(test_ack_take_refuses_bad_arguments_touching_nothing),
};

const struct CMUnitTest *sc_ack_take_tests(size_t *count)
{
    *count = sizeof tests / sizeof tests[0];
    return tests;
}
