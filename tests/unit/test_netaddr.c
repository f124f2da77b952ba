/*
 * netaddr: CIDR lists (trusted_proxies), X-Forwarded-For hops, address
 * text, and the client address that per-client limits are keyed by:
 * forged headers from untrusted peers, chains of proxies, IPv6, IPv4
 * mapped into IPv6, and garbage.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "statusd/netaddr.h"

typedef struct fixture {
    sd_cidr_list list;
    struct sockaddr_storage peer;
    struct sockaddr_storage addr;
    char out[SD_ADDR_TEXT_LEN];
    char err[512];
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

/* ---- helpers ---- */

/* text as a numeric IPv4 or IPv6 sockaddr in *ss (AF_INET6 when it has a
 * ':'); returns it as a sockaddr. */
static const struct sockaddr *sa_make(struct sockaddr_storage *ss, const char *text)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 in6;
        memset(&in6, 0, sizeof in6);
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(40000);
        assert_int_equal(inet_pton(AF_INET6, text, &in6.sin6_addr), 1);
        memcpy(ss, &in6, sizeof in6);
    } else {
        struct sockaddr_in in;
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        in.sin_port = htons(40000);
        assert_int_equal(inet_pton(AF_INET, text, &in.sin_addr), 1);
        memcpy(ss, &in, sizeof in);
    }
    return (const struct sockaddr *)ss;
}

static void list_ok(fixture *fx, const char *text)
{
    fx->err[0] = '\0';
    if (sd_cidr_list_parse(text, &fx->list, fx->err, sizeof fx->err) != SD_OK)
        fail_msg("'%s' rejected: %s", text, fx->err);
}

/* text is rejected with exactly reason, and the list is left alone. */
static void assert_list_error(fixture *fx, const char *text, const char *reason)
{
    memset(&fx->list, 0x5a, sizeof fx->list);
    sd_cidr_list before = fx->list;
    fx->err[0] = '\0';
    assert_int_equal(sd_cidr_list_parse(text, &fx->list, fx->err, sizeof fx->err),
                     SD_ERR_INVALID);
    assert_string_equal(fx->err, reason);
    assert_memory_equal(&fx->list, &before, sizeof before);
}

/* Entry i of the list is family, the address text addr and prefix. */
static void assert_entry(fixture *fx, size_t i, int family, const char *addr,
                         unsigned prefix)
{
    assert_true(i < fx->list.count);
    const sd_cidr *c = &fx->list.items[i];
    unsigned char expect[16] = {0};
    assert_int_equal(inet_pton(family, addr, expect), 1);
    assert_int_equal(c->family, family);
    assert_memory_equal(c->addr, expect, sizeof expect);
    assert_int_equal(c->prefix, prefix);
}

static bool contains(fixture *fx, const char *addr)
{
    struct sockaddr_storage ss;
    return sd_cidr_list_contains(&fx->list, sa_make(&ss, addr));
}

/* sd_addr_parse accepts text and gives the address shown as expect. */
static void assert_addr_ok(fixture *fx, const char *text, int family, const char *expect)
{
    memset(&fx->addr, 0x5a, sizeof fx->addr);
    if (sd_addr_parse(text, strlen(text), &fx->addr) != SD_OK)
        fail_msg("'%s' rejected", text);
    assert_int_equal(fx->addr.ss_family, family);
    if (family == AF_INET) {
        struct sockaddr_in in;
        memcpy(&in, &fx->addr, sizeof in);
        assert_int_equal(in.sin_port, 0);
    } else {
        struct sockaddr_in6 in6;
        memcpy(&in6, &fx->addr, sizeof in6);
        assert_int_equal(in6.sin6_port, 0);
        assert_int_equal(in6.sin6_scope_id, 0);
    }
    sd_addr_text((const struct sockaddr *)&fx->addr, fx->out, sizeof fx->out);
    assert_string_equal(fx->out, expect);
}

static void assert_addr_error(fixture *fx, const char *text, size_t len)
{
    memset(&fx->addr, 0x5a, sizeof fx->addr);
    struct sockaddr_storage before = fx->addr;
    if (sd_addr_parse(text, len, &fx->addr) != SD_ERR_INVALID)
        fail_msg("'%.*s' accepted", (int)len, text);
    assert_memory_equal(&fx->addr, &before, sizeof before);
}

/* The client address for peer (text) and xff with trusted_proxies =
 * trusted; the result is in fx->out. */
static const char *client(fixture *fx, const char *peer, const char *xff,
                          const char *trusted)
{
    list_ok(fx, trusted);
    memset(fx->out, 'x', sizeof fx->out);
    assert_int_equal(sd_client_address(sa_make(&fx->peer, peer), xff, &fx->list, fx->out,
                                       sizeof fx->out), SD_OK);
    return fx->out;
}

#define PROXIES "10.0.0.0/8, ::1, fd00::/8"

/* ---- sd_cidr_list_parse ---- */

static void test_list_empty_text_is_empty_list(void **state)
{
    fixture *fx = *state;
    memset(&fx->list, 0x5a, sizeof fx->list);
    list_ok(fx, "");
    assert_int_equal(fx->list.count, 0);
    list_ok(fx, "   \t ");
    assert_int_equal(fx->list.count, 0);
    assert_false(contains(fx, "10.0.0.1"));
    assert_false(contains(fx, "::1"));
}

static void test_list_bare_addresses_are_single_hosts(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "127.0.0.1,::1");
    assert_int_equal(fx->list.count, 2);
    assert_entry(fx, 0, AF_INET, "127.0.0.1", 32);
    assert_entry(fx, 1, AF_INET6, "::1", 128);
}

static void test_list_blocks_with_blanks_around_entries(void **state)
{
    fixture *fx = *state;
    list_ok(fx, " 127.0.0.1, 10.0.0.0/8 ,\tfd00::/8 ,192.168.1.128/25,0.0.0.0/0, ::/0 ");
    assert_int_equal(fx->list.count, 6);
    assert_entry(fx, 0, AF_INET, "127.0.0.1", 32);
    assert_entry(fx, 1, AF_INET, "10.0.0.0", 8);
    assert_entry(fx, 2, AF_INET6, "fd00::", 8);
    assert_entry(fx, 3, AF_INET, "192.168.1.128", 25);
    assert_entry(fx, 4, AF_INET, "0.0.0.0", 0);
    assert_entry(fx, 5, AF_INET6, "::", 0);
}

static void test_list_mapped_entry_is_stored_as_ipv4(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "::ffff:10.0.0.0/104, ::ffff:192.0.2.7, ::ffff:0.0.0.0/96, ::/64");
    assert_int_equal(fx->list.count, 4);
    assert_entry(fx, 0, AF_INET, "10.0.0.0", 8);
    assert_entry(fx, 1, AF_INET, "192.0.2.7", 32);
    assert_entry(fx, 2, AF_INET, "0.0.0.0", 0);
    assert_entry(fx, 3, AF_INET6, "::", 64);    /* wider than the mapped range: IPv6 */
}

static void test_list_rejects_host_bits_beyond_prefix(void **state)
{
    fixture *fx = *state;
    assert_list_error(fx, "10.0.0.1/8", "'10.0.0.1/8': address bits are set beyond the "
                                        "/8 prefix (the block is 10.0.0.0/8)");
    assert_list_error(fx, "127.0.0.1, 192.168.1.129/25",
                      "'192.168.1.129/25': address bits are set beyond the /25 prefix "
                      "(the block is 192.168.1.128/25)");
    assert_list_error(fx, "fd00::1/8", "'fd00::1/8': address bits are set beyond the /8 "
                                       "prefix (the block is fd00::/8)");
    assert_list_error(fx, "1.2.3.4/0", "'1.2.3.4/0': address bits are set beyond the /0 "
                                       "prefix (the block is 0.0.0.0/0)");
    assert_list_error(fx, "::ffff:10.0.0.1/104",
                      "'::ffff:10.0.0.1/104': address bits are set beyond the /8 prefix "
                      "(the block is 10.0.0.0/8)");
}

static void test_list_rejects_bad_prefix(void **state)
{
    fixture *fx = *state;
    static const char *const v4[] = {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1",
                                     "10.0.0.0/+8", "10.0.0.0/8/8", "10.0.0.0/ 8",
                                     "10.0.0.0/0008", "10.0.0.0/x"};
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++) {
        char expect[256];
        snprintf(expect, sizeof expect,
                 "'%s': the prefix length must be an integer in 0..32", v4[i]);
        assert_list_error(fx, v4[i], expect);
    }
    assert_list_error(fx, "::/129", "'::/129': the prefix length must be an integer in "
                                    "0..128");
}

static void test_list_rejects_text_that_is_no_address(void **state)
{
    fixture *fx = *state;
    static const char *const bad[] = {"localhost", "10.0.0", "10.0.0.256", "1.2.3.4:80",
                                      "fe80::1%eth0", "*", "10.0.0.0 /8", "1.2.3.4 5.6.7.8",
                                      "/8"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char expect[256];
        snprintf(expect, sizeof expect, "'%s' is not an IPv4 or IPv6 address", bad[i]);
        assert_list_error(fx, bad[i], expect);
    }
    assert_list_error(fx, "10.0.0.1, [::1]", "'[::1]' is not an IPv4 or IPv6 address "
                                             "(write IPv6 addresses without brackets)");
    char longest[200], expect[256];
    memset(longest, '1', 100);
    longest[100] = '\0';
    snprintf(expect, sizeof expect, "'%.60s...' is not an IPv4 or IPv6 address", longest);
    assert_list_error(fx, longest, expect);
}

static void test_list_rejects_empty_entries(void **state)
{
    fixture *fx = *state;
    assert_list_error(fx, "10.0.0.1,,::1", "entry 2 is empty (two commas in a row, or a "
                                           "comma at an end)");
    assert_list_error(fx, ",10.0.0.1", "entry 1 is empty (two commas in a row, or a comma "
                                       "at an end)");
    assert_list_error(fx, "10.0.0.1,", "entry 2 is empty (two commas in a row, or a comma "
                                       "at an end)");
    assert_list_error(fx, "10.0.0.1, , ", "entry 2 is empty (two commas in a row, or a "
                                          "comma at an end)");
    assert_list_error(fx, ",", "entry 1 is empty (two commas in a row, or a comma at an "
                               "end)");
}

static void test_list_holds_32_entries_and_no_more(void **state)
{
    fixture *fx = *state;
    char text[1024] = "";
    for (int i = 0; i < SD_CIDR_LIST_MAX; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof text - used, "%s10.0.%d.0/24", i ? ", " : "", i);
    }
    list_ok(fx, text);
    assert_int_equal(fx->list.count, 32);
    assert_entry(fx, 31, AF_INET, "10.0.31.0", 24);
    assert_true(contains(fx, "10.0.31.200"));
    assert_false(contains(fx, "10.0.32.1"));
    strcat(text, ", 10.0.32.0/24");
    assert_list_error(fx, text, "more than 32 entries");
}

static void test_list_error_without_err_buffer(void **state)
{
    fixture *fx = *state;
    assert_int_equal(sd_cidr_list_parse("nope", &fx->list, NULL, 0), SD_ERR_INVALID);
    assert_int_equal(sd_cidr_list_parse("10.0.0.1/8", &fx->list, fx->err, 0),
                     SD_ERR_INVALID);
}

/* ---- sd_cidr_list_contains ---- */

static void test_contains_ipv4_blocks(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "10.0.0.0/8, 192.168.1.0/25, 203.0.113.9");
    assert_true(contains(fx, "10.0.0.0"));
    assert_true(contains(fx, "10.255.255.255"));
    assert_false(contains(fx, "11.0.0.0"));
    assert_false(contains(fx, "9.255.255.255"));
    assert_true(contains(fx, "192.168.1.127"));
    assert_false(contains(fx, "192.168.1.128"));
    assert_true(contains(fx, "203.0.113.9"));
    assert_false(contains(fx, "203.0.113.8"));
    assert_false(contains(fx, "::a00:1"));    /* IPv4-compatible is not mapped */

    list_ok(fx, "0.0.0.0/0");
    assert_true(contains(fx, "255.255.255.255"));
    assert_true(contains(fx, "0.0.0.0"));
    assert_false(contains(fx, "::1"));
}

static void test_contains_ipv6_blocks(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "fd00::/8, ::1, 2001:db8::/33");
    assert_true(contains(fx, "fd12:3456::1"));
    assert_true(contains(fx, "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
    assert_false(contains(fx, "fe00::1"));
    assert_false(contains(fx, "fc00::1"));
    assert_true(contains(fx, "::1"));
    assert_false(contains(fx, "::2"));
    assert_true(contains(fx, "2001:db8:7fff:ffff::1"));
    assert_false(contains(fx, "2001:db8:8000::1"));
    assert_false(contains(fx, "127.0.0.1"));

    list_ok(fx, "::/0");
    assert_true(contains(fx, "2001:db8::1"));
    assert_false(contains(fx, "10.0.0.1"));
}

static void test_contains_mapped_peer_as_its_ipv4_address(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "10.0.0.0/8");
    assert_true(contains(fx, "::ffff:10.1.2.3"));
    assert_false(contains(fx, "::ffff:11.1.2.3"));

    list_ok(fx, "::ffff:10.0.0.0/104");
    assert_true(contains(fx, "10.1.2.3"));
    assert_true(contains(fx, "::ffff:10.1.2.3"));
    assert_false(contains(fx, "11.0.0.1"));

    /* An IPv6 block does not take IPv4 clients of a dual-stack socket. */
    list_ok(fx, "::/0");
    assert_false(contains(fx, "::ffff:10.1.2.3"));
}

static void test_contains_is_false_for_null_and_other_families(void **state)
{
    fixture *fx = *state;
    list_ok(fx, "0.0.0.0/0, ::/0");
    assert_false(sd_cidr_list_contains(&fx->list, NULL));
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    assert_false(sd_cidr_list_contains(&fx->list, (const struct sockaddr *)&un));
    struct sockaddr_storage ss;
    assert_false(sd_cidr_list_contains(NULL, sa_make(&ss, "10.0.0.1")));
}

/* ---- sd_addr_parse and sd_addr_text ---- */

static void test_addr_parse_forms_of_a_hop(void **state)
{
    fixture *fx = *state;
    assert_addr_ok(fx, "192.0.2.7", AF_INET, "192.0.2.7");
    assert_addr_ok(fx, "192.0.2.7:5123", AF_INET, "192.0.2.7");
    assert_addr_ok(fx, "192.0.2.7:0", AF_INET, "192.0.2.7");
    assert_addr_ok(fx, "192.0.2.7:65535", AF_INET, "192.0.2.7");
    assert_addr_ok(fx, "2001:db8::7", AF_INET6, "2001:db8::7");
    assert_addr_ok(fx, "[2001:db8::7]", AF_INET6, "2001:db8::7");
    assert_addr_ok(fx, "[2001:db8::7]:5123", AF_INET6, "2001:db8::7");
    assert_addr_ok(fx, "2001:DB8:0:0:0:0:0:7", AF_INET6, "2001:db8::7");
    assert_addr_ok(fx, " \t198.51.100.1 ", AF_INET, "198.51.100.1");
    assert_addr_ok(fx, " [::1]:80\t", AF_INET6, "::1");
}

static void test_addr_parse_bare_ipv6_never_has_a_port(void **state)
{
    fixture *fx = *state;
    /* What looks like a port is the last group of the address. */
    assert_addr_ok(fx, "2001:db8::1:8080", AF_INET6, "2001:db8::1:8080");
    assert_addr_ok(fx, "fd00::1:443", AF_INET6, "fd00::1:443");
}

static void test_addr_parse_mapped_address_shows_as_ipv4(void **state)
{
    fixture *fx = *state;
    assert_addr_ok(fx, "::ffff:10.1.2.3", AF_INET6, "10.1.2.3");
    assert_addr_ok(fx, "[::ffff:10.1.2.3]:443", AF_INET6, "10.1.2.3");
}

static void test_addr_parse_reads_only_len_bytes(void **state)
{
    fixture *fx = *state;
    const char *text = "10.1.2.3, 10.9.9.9";
    assert_int_equal(sd_addr_parse(text, 8, &fx->addr), SD_OK);
    sd_addr_text((const struct sockaddr *)&fx->addr, fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "10.1.2.3");
}

static void test_addr_parse_rejects_garbage(void **state)
{
    fixture *fx = *state;
    static const char *const bad[] = {
        "", "   ", "unknown", "_hidden", "example.com", "1.2.3", "256.1.1.1",
        "1.2.3.4:", "1.2.3.4:65536", "1.2.3.4:http", "1.2.3.4:-1", "1.2.3.4:+80",
        "1.2.3.4:123456", "1.2.3.4:80:90", "1.2.3.4 5.6.7.8", "[1.2.3.4]", "[1.2.3.4]:80",
        "[::1", "[::1]x", "[::1]:", "[::1]:99999", "[]", "::1]", "fe80::1%eth0",
        "[fe80::1%25eth0]", "\"1.2.3.4\"", "for=1.2.3.4", "1.2.3.4/32", ":::",
        "12345::1", "1.2.3.4\r",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_addr_error(fx, bad[i], strlen(bad[i]));
    assert_addr_error(fx, "1.2.\0.4", 7);
    const char *too_long = "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:1";
    assert_addr_error(fx, too_long, strlen(too_long));
    assert_int_equal(sd_addr_parse(NULL, 0, &fx->addr), SD_ERR_INVALID);

    /* Blanks around a hop do not count against its length. */
    char padded[160];
    memset(padded, ' ', sizeof padded);
    memcpy(padded + 100, "1.2.3.4", 7);
    assert_int_equal(sd_addr_parse(padded, 150, &fx->addr), SD_OK);
    sd_addr_text((const struct sockaddr *)&fx->addr, fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "1.2.3.4");
}

static void test_addr_text_forms_and_truncation(void **state)
{
    fixture *fx = *state;
    struct sockaddr_storage ss;
    sd_addr_text(sa_make(&ss, "203.0.113.9"), fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "203.0.113.9");
    sd_addr_text(sa_make(&ss, "2001:0db8:0000::0001"), fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "2001:db8::1");
    sd_addr_text(sa_make(&ss, "::ffff:192.0.2.1"), fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "192.0.2.1");
    sd_addr_text(sa_make(&ss, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"), fx->out,
                 sizeof fx->out);
    assert_string_equal(fx->out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");

    char small[6];
    sd_addr_text(sa_make(&ss, "203.0.113.9"), small, sizeof small);
    assert_string_equal(small, "203.0");

    strcpy(fx->out, "old");
    sd_addr_text(NULL, fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "");
    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    strcpy(fx->out, "old");
    sd_addr_text((const struct sockaddr *)&un, fx->out, sizeof fx->out);
    assert_string_equal(fx->out, "");
    sd_addr_text(sa_make(&ss, "10.0.0.1"), NULL, 0);    /* no room: nothing written */
}

/* ---- sd_client_address ---- */

static void test_client_untrusted_peer_ignores_forged_xff(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "203.0.113.9", "1.1.1.1", PROXIES), "203.0.113.9");
    assert_string_equal(client(fx, "203.0.113.9", "10.0.0.1, 198.51.100.1", PROXIES),
                        "203.0.113.9");
    assert_string_equal(client(fx, "2001:db8::9", "10.0.0.1", PROXIES), "2001:db8::9");
    assert_string_equal(client(fx, "203.0.113.9", "garbage", PROXIES), "203.0.113.9");
}

static void test_client_without_trusted_proxies_is_the_peer(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "127.0.0.1", "198.51.100.1", ""), "127.0.0.1");
    struct sockaddr_storage ss;
    assert_int_equal(sd_client_address(sa_make(&ss, "127.0.0.1"), "198.51.100.1", NULL,
                                       fx->out, sizeof fx->out), SD_OK);
    assert_string_equal(fx->out, "127.0.0.1");
}

static void test_client_trusted_peer_without_hops_is_the_peer(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "10.0.0.2", NULL, PROXIES), "10.0.0.2");
    assert_string_equal(client(fx, "10.0.0.2", "", PROXIES), "10.0.0.2");
    assert_string_equal(client(fx, "10.0.0.2", " , ,\t", PROXIES), "10.0.0.2");
}

static void test_client_trusted_peer_gives_the_forwarded_address(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7", PROXIES), "198.51.100.7");
    assert_string_equal(client(fx, "::1", "198.51.100.7", PROXIES), "198.51.100.7");
}

static void test_client_chain_takes_rightmost_untrusted_hop(void **state)
{
    fixture *fx = *state;
    /* The client sent "6.6.6.6" itself; the edge proxy appended what it saw. */
    assert_string_equal(client(fx, "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.3", PROXIES),
                        "198.51.100.7");
    assert_string_equal(client(fx, "10.0.0.2", "6.6.6.6,198.51.100.7,10.0.0.4,10.0.0.3",
                               PROXIES), "198.51.100.7");
    /* A forged trusted address on the left is never reached. */
    assert_string_equal(client(fx, "10.0.0.2", "10.9.9.9, 198.51.100.7", PROXIES),
                        "198.51.100.7");
}

static void test_client_all_hops_trusted_gives_leftmost(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "10.0.0.2", "10.0.0.5, 10.0.0.4, 10.0.0.3", PROXIES),
                        "10.0.0.5");
    assert_string_equal(client(fx, "10.0.0.2", "10.0.0.5", PROXIES), "10.0.0.5");
}

static void test_client_malformed_hop_stops_the_walk(void **state)
{
    fixture *fx = *state;
    /* The last hop that parsed, to the right of the garbage. */
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7, garbage, 10.0.0.4", PROXIES),
                        "10.0.0.4");
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7, 10.0.0.5:99999, 10.0.0.4",
                               PROXIES), "10.0.0.4");
    /* Garbage on the right: the peer. */
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7, unknown", PROXIES),
                        "10.0.0.2");
    assert_string_equal(client(fx, "10.0.0.2", "unknown", PROXIES), "10.0.0.2");
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7 203.0.113.1", PROXIES),
                        "10.0.0.2");
    /* Garbage left of the answer does not matter. */
    assert_string_equal(client(fx, "10.0.0.2", "garbage, 198.51.100.7, 10.0.0.4", PROXIES),
                        "198.51.100.7");
}

static void test_client_several_headers_joined_and_empty_elements(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "10.0.0.2", "6.6.6.6,198.51.100.7 ,10.0.0.3", PROXIES),
                        "198.51.100.7");
    assert_string_equal(client(fx, "10.0.0.2", "198.51.100.7,, ,10.0.0.3,", PROXIES),
                        "198.51.100.7");
    assert_string_equal(client(fx, "10.0.0.2", ",10.0.0.3", PROXIES), "10.0.0.3");
}

static void test_client_ipv6_hops_and_ports(void **state)
{
    fixture *fx = *state;
    assert_string_equal(client(fx, "::1", "[2001:db8::7]:4711, fd00::2", PROXIES),
                        "2001:db8::7");
    assert_string_equal(client(fx, "fd00::9", "2001:db8::7", PROXIES), "2001:db8::7");
    assert_string_equal(client(fx, "::1", "198.51.100.7:5555", PROXIES), "198.51.100.7");
    assert_string_equal(client(fx, "::1", "[fd00::3]:443", PROXIES), "fd00::3");
}

static void test_client_mapped_peer_and_hops_count_as_ipv4(void **state)
{
    fixture *fx = *state;
    /* A dual-stack socket reports the proxy 10.0.0.2 as ::ffff:10.0.0.2. */
    assert_string_equal(client(fx, "::ffff:10.0.0.2", "198.51.100.7", PROXIES),
                        "198.51.100.7");
    assert_string_equal(client(fx, "::ffff:203.0.113.9", "198.51.100.7", PROXIES),
                        "203.0.113.9");
    assert_string_equal(client(fx, "10.0.0.2", "::ffff:198.51.100.7, ::ffff:10.0.0.3",
                               PROXIES), "198.51.100.7");
}

static void test_client_long_chain_of_trusted_hops(void **state)
{
    fixture *fx = *state;
    size_t hops = 2000;
    char *xff = malloc(hops * 10 + 32);
    assert_non_null(xff);
    strcpy(xff, "198.51.100.7");
    for (size_t i = 0; i < hops; i++)
        strcat(xff, ",10.0.0.1");
    assert_string_equal(client(fx, "10.0.0.2", xff, PROXIES), "198.51.100.7");
    free(xff);
}

static void test_client_rejects_bad_peer_and_small_buffer(void **state)
{
    fixture *fx = *state;
    list_ok(fx, PROXIES);
    strcpy(fx->out, "old");
    assert_int_equal(sd_client_address(NULL, "1.1.1.1", &fx->list, fx->out, sizeof fx->out),
                     SD_ERR_INVALID);
    assert_string_equal(fx->out, "");

    struct sockaddr_un un;
    memset(&un, 0, sizeof un);
    un.sun_family = AF_UNIX;
    strcpy(fx->out, "old");
    assert_int_equal(sd_client_address((const struct sockaddr *)&un, NULL, &fx->list,
                                       fx->out, sizeof fx->out), SD_ERR_INVALID);
    assert_string_equal(fx->out, "");

    char small[SD_ADDR_TEXT_LEN - 1];
    struct sockaddr_storage ss;
    strcpy(small, "old");
    assert_int_equal(sd_client_address(sa_make(&ss, "10.0.0.2"), NULL, &fx->list, small,
                                       sizeof small), SD_ERR_INVALID);
    assert_string_equal(small, "");
    assert_int_equal(sd_client_address(sa_make(&ss, "10.0.0.2"), NULL, &fx->list, NULL, 0),
                     SD_ERR_INVALID);
}

/* A hop is parsed from exactly its bytes: in a heap block of that size
 * (no NUL after it), a read past the end is an ASan report (make asan). */
static void test_addr_parse_reads_nothing_past_len(void **state)
{
    (void)state;
    static const char *const hops[] = {"192.0.2.7:5123", "[2001:db8::7]:443", "10.0.0.1:",
                                       "10.0.0.1:65535", "10.0.0.1:655359"};
    static const int ok[] = {1, 1, 0, 1, 0};
    for (size_t i = 0; i < sizeof hops / sizeof hops[0]; i++) {
        size_t len = strlen(hops[i]);
        char *exact = malloc(len);
        assert_non_null(exact);
        memcpy(exact, hops[i], len);
        struct sockaddr_storage ss;
        assert_int_equal(sd_addr_parse(exact, len, &ss) == SD_OK, ok[i]);
        free(exact);
    }
    /* Digits after len are not part of the port. */
    struct sockaddr_storage ss;
    assert_int_equal(sd_addr_parse("10.0.0.1:8x", 10, &ss), SD_OK);
    assert_int_equal(sd_addr_parse("10.0.0.1:1x", 11, &ss), SD_ERR_INVALID);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_list_empty_text_is_empty_list),
        T(test_addr_parse_reads_nothing_past_len),
        T(test_list_bare_addresses_are_single_hosts),
        T(test_list_blocks_with_blanks_around_entries),
        T(test_list_mapped_entry_is_stored_as_ipv4),
        T(test_list_rejects_host_bits_beyond_prefix),
        T(test_list_rejects_bad_prefix),
        T(test_list_rejects_text_that_is_no_address),
        T(test_list_rejects_empty_entries),
        T(test_list_holds_32_entries_and_no_more),
        T(test_list_error_without_err_buffer),
        T(test_contains_ipv4_blocks),
        T(test_contains_ipv6_blocks),
        T(test_contains_mapped_peer_as_its_ipv4_address),
        T(test_contains_is_false_for_null_and_other_families),
        T(test_addr_parse_forms_of_a_hop),
        T(test_addr_parse_bare_ipv6_never_has_a_port),
        T(test_addr_parse_mapped_address_shows_as_ipv4),
        T(test_addr_parse_reads_only_len_bytes),
        T(test_addr_parse_rejects_garbage),
        T(test_addr_text_forms_and_truncation),
        T(test_client_untrusted_peer_ignores_forged_xff),
        T(test_client_without_trusted_proxies_is_the_peer),
        T(test_client_trusted_peer_without_hops_is_the_peer),
        T(test_client_trusted_peer_gives_the_forwarded_address),
        T(test_client_chain_takes_rightmost_untrusted_hop),
        T(test_client_all_hops_trusted_gives_leftmost),
        T(test_client_malformed_hop_stops_the_walk),
        T(test_client_several_headers_joined_and_empty_elements),
        T(test_client_ipv6_hops_and_ports),
        T(test_client_mapped_peer_and_hops_count_as_ipv4),
        T(test_client_long_chain_of_trusted_hops),
        T(test_client_rejects_bad_peer_and_small_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
