/*
 * Store contract cases for listings by value (scan_by): newest first by
 * the order key a record keeps while it moves between values, pages
 * that neither skip nor repeat while records are added, records leaving
 * on delete, move and expiry, and the refusals.
 */
#include <stdio.h>
#include <string.h>

#include "statusd/util.h"
#include "store_contract_cases.h"

#define FIELD "status"

static void index_status(sd_store *s)
{
    assert_int_equal(sd_store_index(s, SC_NS, FIELD), SD_OK);
}

static sd_err set_status(sd_store *s, const char *id, const char *value)
{
    sd_assign a = sc_set(FIELD, value);
    return sc_update(s, id, SD_UPDATE_EXISTING, 0, &a, 1, NULL);
}

/* The ids of one page of value, joined by ' ', into buf. */
static void page_ids(sd_store *s, const char *value, int64_t before, size_t limit,
                     char *buf, size_t cap, sd_page *p)
{
    assert_int_equal(sd_store_scan_by(s, SC_NS, value, before, limit, p), SD_OK);
    buf[0] = '\0';
    for (size_t i = 0; i < p->count; i++) {
        assert_true(p->keys[i] > 0);
        if (i > 0)
            assert_true(p->keys[i] < p->keys[i - 1]);
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", i > 0 ? " " : "", p->ids[i]);
    }
}

static void test_scan_by_lists_one_value_newest_first(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "failed", 0);
    sc_put1(s, "r3", FIELD, "queued", 60000);
    sc_put1(s, "r4", FIELD, "queued", 0);
    sc_put1(s, "r5", "other", "queued", 0);
    char ids[256];
    sd_page p = SD_PAGE_INIT;
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r4 r3 r1");
    assert_null(p.next_cursor);
    page_ids(s, "failed", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r2");
    page_ids(s, "done", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "");
    assert_null(p.next_cursor);
    page_ids(s, "Queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "");
    sd_page_clear(&p);
}

static void test_scan_by_pages_skip_nothing_while_records_are_added(void **state)
{
    sd_store *s = *state;
    index_status(s);
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "a%d", i);
        sc_put1(s, id, FIELD, "queued", 0);
    }
    char ids[256];
    sd_page p = SD_PAGE_INIT;
    page_ids(s, "queued", 0, 3, ids, sizeof ids, &p);
    assert_string_equal(ids, "a6 a5 a4");
    assert_non_null(p.next_cursor);
    int64_t before = p.keys[p.count - 1];
    sc_put1(s, "b0", FIELD, "queued", 0);
    sc_put1(s, "b1", FIELD, "queued", 0);
    page_ids(s, "queued", before, 3, ids, sizeof ids, &p);
    assert_string_equal(ids, "a3 a2 a1");
    assert_non_null(p.next_cursor);
    before = p.keys[p.count - 1];
    page_ids(s, "queued", before, 3, ids, sizeof ids, &p);
    assert_string_equal(ids, "a0");
    assert_null(p.next_cursor);
    page_ids(s, "queued", 0, 2, ids, sizeof ids, &p);
    assert_string_equal(ids, "b1 b0");
    sd_page_clear(&p);
}

static void test_scan_by_keeps_order_key_when_value_changes(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "queued", 0);
    sc_put1(s, "r3", FIELD, "queued", 0);
    char ids[256];
    sd_page p = SD_PAGE_INIT;
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    int64_t key_r1 = p.keys[2];
    assert_int_equal(set_status(s, "r1", "failed"), SD_OK);
    assert_int_equal(set_status(s, "r3", "failed"), SD_OK);
    page_ids(s, "failed", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r3 r1");
    assert_int_equal(p.keys[1], key_r1);
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r2");
    /* Back to queued: at its old place, not on top. */
    assert_int_equal(set_status(s, "r1", "queued"), SD_OK);
    sc_put1(s, "r4", FIELD, "queued", 0);
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r4 r2 r1");
    /* Other fields and renewals move nothing. */
    sd_assign other = sc_set("progress", "5");
    assert_int_equal(sc_update(s, "r2", SD_UPDATE_EXISTING, 60000, &other, 1, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r1", 60000, &r), SD_OK);
    sd_record_clear(&r);
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r4 r2 r1");
    sd_page_clear(&p);
}

static void test_scan_by_drops_deleted_unset_and_expired_records(void **state)
{
    sd_store *s = *state;
    index_status(s);
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r2", FIELD, "queued", 0);
    sc_put1(s, "r3", FIELD, "queued", 0);
    sc_put1(s, "r4", FIELD, "queued", 50);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_OK);
    sd_assign del = sc_del(FIELD);
    assert_int_equal(sc_update(s, "r2", SD_UPDATE_EXISTING, 0, &del, 1, NULL), SD_OK);
    sd_record r = SD_RECORD_INIT;
    assert_int_equal(sd_store_get(s, SC_NS, "r4", 0, &r), SD_OK);
    sc_wait_past(r.expires_ms);
    sd_record_clear(&r);
    sc_assert_count_by_becomes(s, SC_NS, "queued", 1);
    char ids[256];
    sd_page p = SD_PAGE_INIT;
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r3");
    /* Deleted and created again: a new record, newest. */
    sc_put1(s, "r1", FIELD, "queued", 0);
    sc_put1(s, "r5", FIELD, "queued", 0);
    assert_int_equal(sd_store_del(s, SC_NS, "r1"), SD_OK);
    sc_put1(s, "r1", FIELD, "queued", 0);
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "r1 r5 r3");
    int64_t deleted = 0;
    assert_int_equal(sd_store_clear(s, &deleted), SD_OK);
    page_ids(s, "queued", 0, 10, ids, sizeof ids, &p);
    assert_string_equal(ids, "");
    sd_page_clear(&p);
}

static void test_scan_by_refuses_bad_arguments(void **state)
{
    sd_store *s = *state;
    sd_page p = SD_PAGE_INIT;
    assert_int_equal(sd_store_scan_by(s, SC_NS, "queued", 0, 10, &p), SD_ERR_INVALID);
    index_status(s);
    assert_int_equal(sd_store_scan_by(s, "elsewhere", "queued", 0, 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan_by(s, NULL, "queued", 0, 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan_by(s, SC_NS, NULL, 0, 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan_by(s, SC_NS, "queued", -1, 10, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan_by(s, SC_NS, "queued", 0, 0, &p), SD_ERR_INVALID);
    assert_int_equal(sd_store_scan_by(s, SC_NS, "queued", 0, 10, NULL), SD_ERR_INVALID);
    assert_int_equal(p.count, 0);
}

static const struct CMUnitTest scan_by_tests[] = {
    SC_CASE(test_scan_by_lists_one_value_newest_first),
    SC_CASE(test_scan_by_pages_skip_nothing_while_records_are_added),
    SC_CASE(test_scan_by_keeps_order_key_when_value_changes),
    SC_CASE(test_scan_by_drops_deleted_unset_and_expired_records),
    SC_CASE(test_scan_by_refuses_bad_arguments),
};

const struct CMUnitTest *sc_scan_by_tests(size_t *count)
{
    *count = sizeof scan_by_tests / sizeof scan_by_tests[0];
    return scan_by_tests;
}
