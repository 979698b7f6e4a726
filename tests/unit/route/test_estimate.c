/*
 * Unit tests of the wait estimate: agents free now serve the first positions at
 * once; busy agents serve in the order they free up; each served customer keeps
 * its agent busy for a handle time; no agent means no estimate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "route/estimate.h"

static void no_agent_no_estimate(void **state)
{
    (void)state;
    int w[3] = {7, 7, 7};
    tc_estimate_waits(NULL, 0, 60, 3, w);
    assert_int_equal(w[0], -1);
    assert_int_equal(w[2], -1);
}

static void free_agents_first_then_turns(void **state)
{
    (void)state;
    double free_in[2] = {0, 0};
    int w[5];
    tc_estimate_waits(free_in, 2, 100, 5, w);
    assert_int_equal(w[0], 0);
    assert_int_equal(w[1], 0);
    assert_int_equal(w[2], 100);
    assert_int_equal(w[3], 100);
    assert_int_equal(w[4], 200);
}

/* The issue-12 case: one agent deep in a long call. The estimate is the rest of
 * that call, then one handle time per customer ahead, never "less than a minute"
 * forever. */
static void busy_agents_in_the_order_they_free_up(void **state)
{
    (void)state;
    double free_in[3] = {250, 30.2, 90};
    int w[4];
    tc_estimate_waits(free_in, 3, 120, 4, w);
    assert_int_equal(w[0], 31); /* rounded up */
    assert_int_equal(w[1], 90);
    assert_int_equal(w[2], 151); /* 30.2 + 120 */
    assert_int_equal(w[3], 210);
}

static void negative_free_times_count_as_now(void **state)
{
    (void)state;
    double free_in[1] = {-5};
    int w[2];
    tc_estimate_waits(free_in, 1, 60, 2, w);
    assert_int_equal(w[0], 0);
    assert_int_equal(w[1], 60);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_agent_no_estimate),
        cmocka_unit_test(free_agents_first_then_turns),
        cmocka_unit_test(busy_agents_in_the_order_they_free_up),
        cmocka_unit_test(negative_free_times_count_as_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
