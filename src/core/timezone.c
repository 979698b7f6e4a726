/*
 * timezone.c: local midnights through GDateTime (see the header). A day's start
 * is found from the local calendar date, so DST days come out 23 or 25 hours.
 */
#include "telecounter/timezone.h"

#include <string.h>

GTimeZone *tc_timezone_open(const char *name)
{
    if (!name || !*name)
        return g_time_zone_new_local();
    return g_time_zone_new_identifier(name); /* NULL for an unknown name */
}

static int64_t local_midnight(GTimeZone *tz, GDateTime *t)
{
    GDateTime *m = g_date_time_new(tz, g_date_time_get_year(t), g_date_time_get_month(t),
                                   g_date_time_get_day_of_month(t), 0, 0, 0);
    int64_t ms = g_date_time_to_unix(m) * 1000;
    g_date_time_unref(m);
    return ms;
}

static GDateTime *local_time(GTimeZone *tz, int64_t now_ms)
{
    GDateTime *utc = g_date_time_new_from_unix_utc(now_ms / 1000 - (now_ms % 1000 < 0));
    GDateTime *t = g_date_time_to_timezone(utc, tz);
    g_date_time_unref(utc);
    return t;
}

int64_t tc_timezone_day_start(GTimeZone *tz, int64_t now_ms)
{
    GDateTime *t = local_time(tz, now_ms);
    int64_t ms = local_midnight(tz, t);
    g_date_time_unref(t);
    return ms;
}

int64_t tc_timezone_next_day(GTimeZone *tz, int64_t now_ms)
{
    GDateTime *t = local_time(tz, now_ms);
    /* noon of the day, plus a day: safe from DST's missing or doubled hour */
    GDateTime *noon = g_date_time_new(tz, g_date_time_get_year(t), g_date_time_get_month(t),
                                      g_date_time_get_day_of_month(t), 12, 0, 0);
    GDateTime *next = g_date_time_add_days(noon, 1);
    int64_t ms = local_midnight(tz, next);
    g_date_time_unref(next);
    g_date_time_unref(noon);
    g_date_time_unref(t);
    return ms;
}
