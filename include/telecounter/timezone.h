/*
 * timezone: the operator's days. "Today" in the ops figures, and every day,
 * week or month a report counts, begins at midnight in ops.timezone (an IANA
 * name such as Asia/Shanghai; empty = the host's zone), not at 00:00 UTC: an
 * operator in UTC+8 would otherwise get a day that starts at 08:00.
 * A day is 23 or 25 hours long across a DST change. Any thread; pure apart from
 * reading the zone database.
 */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* The zone for name (empty: the host's); NULL if name is not a known zone. */
GTimeZone *tc_timezone_open(const char *name);
/* Start of the local day containing now_ms, and of the next day (ms since the epoch). */
int64_t tc_timezone_day_start(GTimeZone *tz, int64_t now_ms);
int64_t tc_timezone_next_day(GTimeZone *tz, int64_t now_ms);
