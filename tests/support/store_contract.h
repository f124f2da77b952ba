#ifndef STATUSD_TEST_STORE_CONTRACT_H
#define STATUSD_TEST_STORE_CONTRACT_H

/*
 * The store contract: one set of cmocka cases that every store
 * implementation must pass, so the memory store and the Redis store
 * behave the same. A test program sets a factory and runs the cases:
 *
 *     sd_store_contract_set_factory(make_store, &opts);
 *     return sd_store_contract_run("store_contract_memory");
 *
 * Each case gets a fresh store from the factory, cleared before use, in
 * its setup, and clears and frees it in its teardown. Cases that involve
 * time use short TTLs and wait past the expiry the store reported (or
 * poll with a long deadline); none asserts an upper bound on elapsed time.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "statusd/store.h"

/* Makes a new store for one case; NULL fails the case. */
typedef sd_store *(*sd_store_factory)(void *arg);

/* Sets the factory (and its argument, which must outlive the run) that
 * the cases use. Call before running them. */
void sd_store_contract_set_factory(sd_store_factory factory, void *arg);

/* The cases, each with its setup and teardown; *count gets how many. The
 * array is static: do not free it. */
const struct CMUnitTest *sd_store_contract_tests(size_t *count);

/* Runs every case as one cmocka group; returns the number of failures. */
int sd_store_contract_run(const char *group_name);

#endif
