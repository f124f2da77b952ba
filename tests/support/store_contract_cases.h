#ifndef STATUSD_TEST_STORE_CONTRACT_CASES_H
#define STATUSD_TEST_STORE_CONTRACT_CASES_H

/*
 * Private to the store contract: what its case files share. Every case
 * runs with sc_setup / sc_teardown, which give it a fresh, cleared store
 * from the factory in *state.
 */

#include <stdbool.h>

#include "store_contract.h"

#define SC_NS "contract"     /* the namespace the cases use */

#define SC_CASE(f) cmocka_unit_test_setup_teardown(f, sc_setup, sc_teardown)

int sc_setup(void **state);
int sc_teardown(void **state);

/* The cases of each file. */
const struct CMUnitTest *sc_hash_tests(size_t *count);
const struct CMUnitTest *sc_data_tests(size_t *count);
const struct CMUnitTest *sc_index_tests(size_t *count);
const struct CMUnitTest *sc_queue_tests(size_t *count);
const struct CMUnitTest *sc_ack_take_tests(size_t *count);
const struct CMUnitTest *sc_scan_by_tests(size_t *count);

void sc_sleep_ms(int64_t ms);
/* Sleeps until the wall clock is safely past expires_ms (which must be
 * set). */
void sc_wait_past(int64_t expires_ms);

/* Assignments; value strings must outlive the update. */
sd_assign sc_set(const char *name, const char *value);
sd_assign sc_setnx(const char *name, const char *value);
sd_assign sc_incr(const char *name, int64_t incr);
sd_assign sc_del(const char *name);

/* One update of SC_NS/id with the given assignments and no condition. */
sd_err sc_update(sd_store *s, const char *id, sd_update_mode mode, int64_t ttl_ms,
                 const sd_assign *a, size_t n, sd_record *out);
/* Creates SC_NS/id with one field name = value; fails the case if not OK. */
void sc_put1(sd_store *s, const char *id, const char *name, const char *value,
             int64_t ttl_ms);

void sc_assert_field(const sd_record *r, const char *name, const char *want);
/* Reads SC_NS/id without renewal and checks one field. */
void sc_assert_stored(sd_store *s, const char *id, const char *name, const char *want);
void sc_assert_absent(sd_store *s, const char *id);
/* Asserts the counts of queue's items: ready, delayed, leased. */
void sc_assert_queue_stats(sd_store *s, const char *queue, int64_t ready, int64_t delayed,
                           int64_t leased);
/* Polls count(ns) until it equals want; fails after a long deadline. */
void sc_assert_count_becomes(sd_store *s, const char *ns, int64_t want);
/* Polls count_by(ns, value) until it equals want; fails after a long
 * deadline. */
void sc_assert_count_by_becomes(sd_store *s, const char *ns, const char *value,
                                int64_t want);

#endif
