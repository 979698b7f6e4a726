/*
 * Unit tests of tc_sdp_candidate_reachable: the addresses issue 12 saw the relay
 * send STUN to (0.0.0.0, 255.255.255.255, 224.0.0.251:5353, fe80::1%eth0, ::1,
 * port 0) are refused; ordinary host, srflx and IPv6 candidates pass; loopback
 * and link-local only when allowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/sdp.h"

#include <stdio.h>
#include <string.h>

static bool reach(const char *addr, int port, bool allow_local)
{
    char line[256];
    snprintf(line, sizeof line, "candidate:1 1 udp 2122260223 %s %d typ host", addr, port);
    tc_sdp_candidate c;
    if (tc_sdp_parse_candidate(line, strlen(line), &c) != 0)
        return false; /* the parser refused it already */
    return tc_sdp_candidate_reachable(&c, allow_local);
}

static void hostile_addresses_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "0.0.0.0", "255.255.255.255", "224.0.0.251",  "239.1.2.3",   "240.0.0.1",     "0.1.2.3",
        "::",      "ff02::1",         "fe80::1%eth0", "example.com", "::ffff:0.0.0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(reach(bad[i], 5353, true));
    assert_false(reach("203.0.113.7", 0, true));
    for (int allow = 0; allow < 2; allow++) {
        assert_int_equal(reach("127.0.0.1", 9, allow), allow);
        assert_int_equal(reach("127.5.5.5", 9, allow), allow);
        assert_int_equal(reach("::1", 9, allow), allow);
        assert_int_equal(reach("169.254.10.1", 9, allow), allow);
        assert_int_equal(reach("fe80::1", 9, allow), allow);
        assert_int_equal(reach("::ffff:127.0.0.1", 9, allow), allow);
    }
}

static void ordinary_candidates_pass(void **state)
{
    (void)state;
    const char *good[] = {"203.0.113.7", "10.1.2.3",    "192.168.1.20",
                          "172.16.0.5",  "2001:db8::7", "fd00::1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(reach(good[i], 40000, false));
    assert_false(tc_sdp_candidate_reachable(NULL, true));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hostile_addresses_are_refused),
        cmocka_unit_test(ordinary_candidates_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
