#ifndef SD_TEST_STORES_H
#define SD_TEST_STORES_H

/*
 * Registering one cmocka test on both stores, so that a failure says
 * which: the memory store and the test group's Redis (redis_server.h).
 * Use inside a `struct CMUnitTest` array.
 */

/* A cmocka test on one store, named "<test> (<store>)". */
#define TEST_ON_STORE(test, setup, teardown, store)                            \
    { #test " (" store ")", test, setup, teardown, NULL }

/* The same test on both stores: "<test> (memory)" and "<test> (redis)". */
#define TEST_ON_BOTH(test, memory_setup, redis_setup, teardown)                \
    TEST_ON_STORE(test, memory_setup, teardown, "memory"),                     \
        TEST_ON_STORE(test, redis_setup, teardown, "redis")

#endif
