/*
 * Unit tests of the operator's days: midnight in UTC+8 and in UTC-5, a DST day
 * of 23 and of 25 hours in New York, instants on either side of midnight, and
 * unknown zone names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "telecounter/timezone.h"

#define H (3600 * 1000LL)
/* 2026-12-02 00:00:00 UTC */
#define DEC2 1796169600000LL

static void utc_plus_8(void **state)
{
    (void)state;
    GTimeZone *tz = tc_timezone_open("Asia/Shanghai");
    assert_non_null(tz);
    /* 2026-12-02 10:00 UTC is 18:00 in Shanghai: the day began at 16:00 UTC on the 1st */
    assert_int_equal(tc_timezone_day_start(tz, DEC2 + 10 * H), DEC2 - 8 * H);
    assert_int_equal(tc_timezone_next_day(tz, DEC2 + 10 * H), DEC2 + 16 * H);
    /* one millisecond either side of local midnight */
    assert_int_equal(tc_timezone_day_start(tz, DEC2 + 16 * H - 1), DEC2 - 8 * H);
    assert_int_equal(tc_timezone_day_start(tz, DEC2 + 16 * H), DEC2 + 16 * H);
    g_time_zone_unref(tz);
}

static void utc_minus_5_and_dst(void **state)
{
    (void)state;
    GTimeZone *tz = tc_timezone_open("America/New_York");
    assert_non_null(tz);
    /* 2026-12-02 03:00 UTC is 22:00 on the 1st in New York (EST, UTC-5) */
    assert_int_equal(tc_timezone_day_start(tz, DEC2 + 3 * H), DEC2 - 24 * H + 5 * H);
    /* 2026-03-08: clocks go forward at 02:00 EST, a day of 23 hours */
    const int64_t mar8 = 1772928000000LL;                     /* 2026-03-08 00:00 UTC */
    int64_t start = tc_timezone_day_start(tz, mar8 + 17 * H); /* noon EDT */
    assert_int_equal(start, mar8 + 5 * H);
    assert_int_equal(tc_timezone_next_day(tz, mar8 + 17 * H) - start, 23 * H);
    /* 2026-11-01: back at 02:00 EDT, 25 hours */
    const int64_t nov1 = 1793491200000LL; /* 2026-11-01 00:00 UTC */
    start = tc_timezone_day_start(tz, nov1 + 17 * H);
    assert_int_equal(start, nov1 + 4 * H);
    assert_int_equal(tc_timezone_next_day(tz, nov1 + 17 * H) - start, 25 * H);
    g_time_zone_unref(tz);
}

static void utc_and_unknown_names(void **state)
{
    (void)state;
    GTimeZone *tz = tc_timezone_open("UTC");
    assert_non_null(tz);
    assert_int_equal(tc_timezone_day_start(tz, DEC2 + 1), DEC2);
    assert_int_equal(tc_timezone_day_start(tz, DEC2 - 1), DEC2 - 24 * H);
    g_time_zone_unref(tz);
    assert_null(tc_timezone_open("Mars/Olympus_Mons"));
    assert_null(tc_timezone_open("Asia/Shanghai; rm -rf"));
    tz = tc_timezone_open("");
    assert_non_null(tz);
    g_time_zone_unref(tz);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utc_plus_8),
        cmocka_unit_test(utc_minus_5_and_dst),
        cmocka_unit_test(utc_and_unknown_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
