/*
 * Unit tests of the login guard: an address past its failures waits out the
 * window; an account flooded from many addresses is refused to strangers but not
 * from an address it logged in from before; windows and trust run out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "signal/login_guard.h"

#include <errno.h>
#include <stdio.h>

#define T0 1700000000000LL
#define SEC 1000LL

static const tc_login_limits limits = {.max_failures = 3, .window_s = 60, .trust_days = 30};

static void address_waits_out_its_window(void **state)
{
    (void)state;
    tc_login_guard *g = tc_login_guard_create(&limits);
    int retry = 0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_login_guard_check(g, "10.0.0.1", 7, T0 + i * SEC, &retry), 0);
        tc_login_guard_failed(g, "10.0.0.1", 7, T0 + i * SEC);
    }
    assert_int_equal(tc_login_guard_check(g, "10.0.0.1", 7, T0 + 3 * SEC, &retry), -EBUSY);
    assert_int_equal(retry, 57); /* the window began at T0 */
    assert_int_equal(tc_login_guard_check(g, "10.0.0.1", 0, T0 + 3 * SEC, &retry), -EBUSY);
    /* another address is not affected */
    assert_int_equal(tc_login_guard_check(g, "10.0.0.2", 7, T0 + 3 * SEC, &retry), 0);
    assert_int_equal(tc_login_guard_check(g, "10.0.0.1", 7, T0 + 60 * SEC, &retry), 0);
    tc_login_guard_destroy(g);
}

static void flooded_account_still_opens_from_a_trusted_address(void **state)
{
    (void)state;
    tc_login_guard *g = tc_login_guard_create(&limits);
    int retry = 0;
    tc_login_guard_succeeded(g, "10.0.0.9", 7, T0); /* the agent's own desk */
    char addr[32];
    for (int i = 0; i < 6; i++) { /* two wrong tries from each of three addresses */
        snprintf(addr, sizeof addr, "10.1.0.%d", i / 2);
        tc_login_guard_failed(g, addr, 7, T0 + SEC);
    }
    /* a fourth address, never failed itself: refused for the account */
    assert_int_equal(tc_login_guard_check(g, "10.1.0.3", 7, T0 + 2 * SEC, &retry), -EBUSY);
    assert_true(retry >= 1 && retry <= 60);
    /* the trusted address goes through, and so does another account */
    assert_int_equal(tc_login_guard_check(g, "10.0.0.9", 7, T0 + 2 * SEC, &retry), 0);
    assert_true(tc_login_guard_trusted(g, "10.0.0.9", 7, T0 + 2 * SEC));
    assert_false(tc_login_guard_trusted(g, "10.0.0.9", 8, T0 + 2 * SEC));
    assert_false(tc_login_guard_trusted(g, "10.0.0.9", 0, T0 + 2 * SEC));
    assert_int_equal(tc_login_guard_check(g, "10.1.0.3", 8, T0 + 2 * SEC, &retry), 0);
    tc_login_guard_destroy(g);
}

static void success_clears_the_address_and_trust_runs_out(void **state)
{
    (void)state;
    tc_login_guard *g = tc_login_guard_create(&limits);
    int retry = 0;
    tc_login_guard_failed(g, "10.0.0.1", 7, T0);
    tc_login_guard_failed(g, "10.0.0.1", 7, T0);
    tc_login_guard_succeeded(g, "10.0.0.1", 7, T0 + SEC);
    tc_login_guard_failed(g, "10.0.0.1", 7, T0 + 2 * SEC);
    assert_int_equal(tc_login_guard_check(g, "10.0.0.1", 7, T0 + 2 * SEC, &retry), 0);
    int64_t later = T0 + SEC + 30 * 86400 * SEC;
    assert_true(tc_login_guard_trusted(g, "10.0.0.1", 7, later - 1));
    tc_login_guard_prune(g, later);
    assert_false(tc_login_guard_trusted(g, "10.0.0.1", 7, later - 1));
    tc_login_guard_destroy(g);
    tc_login_guard_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(address_waits_out_its_window),
        cmocka_unit_test(flooded_account_still_opens_from_a_trusted_address),
        cmocka_unit_test(success_clears_the_address_and_trust_runs_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
