/*
 * Replies built in an arena (store/redis_arena.h) are the replies
 * hiredis's own objects give, for every shape a reader meets: strings,
 * statuses, errors, integers, nils, empty and nested arrays, a string
 * and an array larger than a block; whole, fed a byte at a time, and
 * again and again on the same arena, as one reply follows another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "store/redis_arena.h"

/* Replies to check, in the order a reader meets them (a text's length
 * is its own: one holds a NUL). */
#define REPLY(text) {text, sizeof text - 1}
static const struct {
    const char *text;
    size_t len;
} fixed[] = {
    REPLY("+PONG\r\n"),
    REPLY("-ERR wrong number of arguments\r\n"),
    REPLY(":42\r\n"),
    REPLY(":-9223372036854775808\r\n"),
    REPLY("$-1\r\n"),
    REPLY("$0\r\n\r\n"),
    REPLY("$5\r\nh\0llo\r\n"),
    REPLY("*-1\r\n"),
    REPLY("*0\r\n"),
    REPLY("*6\r\n$6\r\nstatus\r\n$9\r\ncompleted\r\n$8\r\nprogress\r\n$3\r\n100\r\n"
          "$5\r\ninput\r\n$2\r\n{}\r\n"),
    REPLY("*3\r\n*2\r\n:1\r\n$-1\r\n*0\r\n*1\r\n*1\r\n+deep\r\n"),
};
#define HASH_REPLY 9
#define NESTED_REPLY 10

static void assert_same_reply(const redisReply *want, const redisReply *got)
{
    assert_non_null(got);
    assert_int_equal(got->type, want->type);
    switch (want->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        assert_int_equal(got->len, want->len);
        assert_memory_equal(got->str, want->str, want->len);
        assert_int_equal(got->str[got->len], '\0');
        break;
    case REDIS_REPLY_INTEGER:
        assert_true(got->integer == want->integer);
        break;
    case REDIS_REPLY_ARRAY:
        assert_int_equal(got->elements, want->elements);
        for (size_t i = 0; i < want->elements; i++)
            assert_same_reply(want->element[i], got->element[i]);
        break;
    default:
        break;
    }
}

/* Feeds the len bytes of text to an arena reader (step bytes at a time)
 * and to one with hiredis's objects, and compares the replies. */
static void check_reply(rd_arena *a, const char *text, size_t len, size_t step)
{
    redisReader *plain = redisReaderCreate();
    redisReader *arena = redisReaderCreate();
    assert_non_null(plain);
    assert_non_null(arena);
    rd_arena_attach(a, arena);
    assert_int_equal(redisReaderFeed(plain, text, len), REDIS_OK);
    void *want = NULL;
    assert_int_equal(redisReaderGetReply(plain, &want), REDIS_OK);
    assert_non_null(want);
    void *got = NULL;
    for (size_t off = 0; off < len; off += step) {
        assert_null(got);
        size_t n = len - off < step ? len - off : step;
        assert_int_equal(redisReaderFeed(arena, text + off, n), REDIS_OK);
        assert_int_equal(redisReaderGetReply(arena, &got), REDIS_OK);
    }
    assert_same_reply(want, got);
    arena->fn->freeObject(got);
    freeReplyObject(want);
    redisReaderFree(plain);
    redisReaderFree(arena);
}

static void test_arena_replies_are_hiredis_replies(void **state)
{
    (void)state;
    rd_arena *a = rd_arena_new();
    assert_non_null(a);
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
            check_reply(a, fixed[i].text, fixed[i].len, fixed[i].len);
            check_reply(a, fixed[i].text, fixed[i].len, 1);
        }
    rd_arena_free(a);
}

static void test_arena_replies_larger_than_a_block(void **state)
{
    (void)state;
    enum { BIG = 100000, ITEMS = 5000 };
    char *text = malloc(BIG + 64);
    assert_non_null(text);
    int n = snprintf(text, 64, "$%d\r\n", BIG);
    memset(text + n, 'x', BIG);
    memcpy(text + n + BIG, "\r\n", 2);
    size_t big_len = (size_t)n + BIG + 2;

    char *many = malloc(ITEMS * 16 + 32);
    assert_non_null(many);
    size_t len = (size_t)snprintf(many, 32, "*%d\r\n", ITEMS);
    for (int i = 0; i < ITEMS; i++)
        len += (size_t)snprintf(many + len, 16, ":%d\r\n", i);

    rd_arena *a = rd_arena_new();
    assert_non_null(a);
    for (int round = 0; round < 3; round++) {
        check_reply(a, text, big_len, big_len);
        check_reply(a, many, len, len);
        check_reply(a, fixed[HASH_REPLY].text, fixed[HASH_REPLY].len, 7);
        check_reply(a, many, len, 1000);
        check_reply(a, text, big_len, 4096);
    }
    rd_arena_free(a);
    free(many);
    free(text);
}

/* A reader freed with a reply half read drops it; the arena goes on. */
static void test_arena_reader_freed_mid_reply(void **state)
{
    (void)state;
    rd_arena *a = rd_arena_new();
    assert_non_null(a);
    redisReader *r = redisReaderCreate();
    assert_non_null(r);
    rd_arena_attach(a, r);
    const char *half = "*3\r\n$3\r\nabc\r\n:5\r\n";
    assert_int_equal(redisReaderFeed(r, half, strlen(half)), REDIS_OK);
    void *got = NULL;
    assert_int_equal(redisReaderGetReply(r, &got), REDIS_OK);
    assert_null(got);
    redisReaderFree(r);
    check_reply(a, fixed[NESTED_REPLY].text, fixed[NESTED_REPLY].len, 1);
    rd_arena_free(a);
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_replies_are_hiredis_replies),
        cmocka_unit_test(test_arena_replies_larger_than_a_block),
        cmocka_unit_test(test_arena_reader_freed_mid_reply),
    };
    return cmocka_run_group_tests_name("redis_arena", tests, NULL, NULL);
}
