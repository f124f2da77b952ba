/*
 * Per-address keys (ipv6_prefix) and the per-IP connection counter built
 * on them: two IPv6 addresses of one /64 are one client, of two /64s two;
 * IPv4, also mapped into IPv6, stays its whole address.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "http/connlimit.h"
#include "statusd/netaddr.h"

static const struct sockaddr *addr_of(const char *text, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    assert_int_equal(sd_addr_parse(text, strlen(text), ss), SD_OK);
    return (const struct sockaddr *)ss;
}

static void assert_key(const char *addr, unsigned prefix, const char *want)
{
    struct sockaddr_storage ss;
    char key[SD_ADDR_KEY_LEN];
    sd_addr_limit_key(addr_of(addr, &ss), prefix, key, sizeof key);
    assert_string_equal(key, want);
    sd_client_limit_key(addr, prefix, key, sizeof key);
    assert_string_equal(key, want);
}

static void test_ipv6_key_is_the_network_of_ipv6_prefix_bits(void **state)
{
    (void)state;
    assert_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", 64, "2001:db8:1:2::/64");
    assert_key("2001:db8:1:2::1", 64, "2001:db8:1:2::/64");
    assert_key("2001:db8:1:3::1", 64, "2001:db8:1:3::/64");
    assert_key("2001:db8:1:2:ffff::1", 56, "2001:db8:1::/56");
    assert_key("2001:db8:1:2ff:ffff::1", 57, "2001:db8:1:280::/57");
    assert_key("2001:db8::7", 128, "2001:db8::7");
    assert_key("::1", 64, "::/64");
    assert_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, "8000::/1");
}

static void test_ipv4_and_mapped_ipv4_keys_are_the_whole_address(void **state)
{
    (void)state;
    assert_key("192.0.2.7", 64, "192.0.2.7");
    assert_key("192.0.2.7", 1, "192.0.2.7");
    /* What a dual-stack socket reports for an IPv4 client. */
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.7", &a6.sin6_addr), 1);
    char key[SD_ADDR_KEY_LEN];
    sd_addr_limit_key((const struct sockaddr *)&a6, 64, key, sizeof key);
    assert_string_equal(key, "192.0.2.7");
}

static void test_key_of_what_is_no_address(void **state)
{
    (void)state;
    char key[SD_ADDR_KEY_LEN];
    sd_client_limit_key("unknown", 64, key, sizeof key);
    assert_string_equal(key, "unknown");
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    sd_addr_limit_key((const struct sockaddr *)&un, 64, key, sizeof key);
    assert_string_equal(key, "");
    sd_addr_limit_key(NULL, 64, key, sizeof key);
    assert_string_equal(key, "");
}

static void test_connections_of_one_64_share_the_limit(void **state)
{
    (void)state;
    sd_connlimit *c = NULL;
    assert_int_equal(sd_connlimit_new(2, 64, &c), SD_OK);
    assert_non_null(c);
    struct sockaddr_storage a, b, other, v4;
    addr_of("2001:db8:1:2::a", &a);
    addr_of("2001:db8:1:2:ffff::b", &b);
    addr_of("2001:db8:1:3::a", &other);
    addr_of("192.0.2.7", &v4);
    const struct sockaddr *sa = (const struct sockaddr *)&a, *sb = (const struct sockaddr *)&b;
    const struct sockaddr *so = (const struct sockaddr *)&other;
    const struct sockaddr *s4 = (const struct sockaddr *)&v4;

    assert_true(sd_connlimit_allows(c, sa));
    assert_true(sd_connlimit_enter(c, sa));
    assert_true(sd_connlimit_allows(c, sb));
    assert_true(sd_connlimit_enter(c, sb));
    /* Full for the whole /64, whichever address asks. */
    assert_false(sd_connlimit_allows(c, sa));
    assert_false(sd_connlimit_allows(c, sb));
    assert_int_equal(sd_connlimit_count(c, sa), 2);
    /* Another /64 and an IPv4 client have budgets of their own. */
    assert_true(sd_connlimit_allows(c, so));
    assert_true(sd_connlimit_allows(c, s4));
    assert_true(sd_connlimit_enter(c, so));
    assert_int_equal(sd_connlimit_count(c, so), 1);
    /* A close makes room again. */
    sd_connlimit_leave(c, sa);
    assert_true(sd_connlimit_allows(c, sb));
    sd_connlimit_leave(c, sb);
    sd_connlimit_leave(c, so);
    assert_int_equal(sd_connlimit_count(c, sa), 0);
    assert_int_equal(sd_connlimit_count(c, so), 0);
    sd_connlimit_free(c);
}

static void test_prefix_128_counts_each_ipv6_address_alone(void **state)
{
    (void)state;
    sd_connlimit *c = NULL;
    assert_int_equal(sd_connlimit_new(1, 128, &c), SD_OK);
    assert_non_null(c);
    struct sockaddr_storage a, b;
    addr_of("2001:db8:1:2::a", &a);
    addr_of("2001:db8:1:2::b", &b);
    assert_true(sd_connlimit_enter(c, (const struct sockaddr *)&a));
    assert_false(sd_connlimit_allows(c, (const struct sockaddr *)&a));
    assert_true(sd_connlimit_allows(c, (const struct sockaddr *)&b));
    sd_connlimit_leave(c, (const struct sockaddr *)&a);
    sd_connlimit_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv6_key_is_the_network_of_ipv6_prefix_bits),
        cmocka_unit_test(test_ipv4_and_mapped_ipv4_keys_are_the_whole_address),
        cmocka_unit_test(test_key_of_what_is_no_address),
        cmocka_unit_test(test_connections_of_one_64_share_the_limit),
        cmocka_unit_test(test_prefix_128_counts_each_ipv6_address_alone),
    };
    return cmocka_run_group_tests_name("connlimit", tests, NULL, NULL);
}
