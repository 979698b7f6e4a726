/*
 * clock: the two clocks telecounter uses. Monotonic milliseconds for timers and
 * durations; wall-clock milliseconds since the Unix epoch for records. Domain
 * code takes "now" as a parameter so that tests can drive time; only the edges
 * (main loop, store callers) read these. Any thread.
 */
#pragma once

#include <stdint.h>

int64_t tc_clock_mono_ms(void);
int64_t tc_clock_wall_ms(void);
