/*
 * log: leveled log lines on stderr, journald-friendly.
 *
 * Each line starts with an sd-daemon priority prefix ("<3>" ... "<7>") when
 * stderr is not a terminal, so journald files it at the right level; on a
 * terminal it prints the level's name instead. Any thread may log (a line is
 * one write(2)). Log where a decision is made, once; never per packet.
 */
#pragma once

#include <stdarg.h>

typedef enum tc_log_level {
    TC_LOG_ERROR = 3,
    TC_LOG_WARN = 4,
    TC_LOG_INFO = 6,
    TC_LOG_DEBUG = 7,
} tc_log_level;

/* Sets the lowest level printed. Call once at start-up, before threads start. */
void tc_log_set_level(tc_log_level level);

/* Parses "error", "warn", "info" or "debug"; returns -EINVAL for anything else. */
int tc_log_level_parse(const char *name, tc_log_level *out);

void tc_log(tc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define tc_error(...) tc_log(TC_LOG_ERROR, __VA_ARGS__)
#define tc_warn(...) tc_log(TC_LOG_WARN, __VA_ARGS__)
#define tc_info(...) tc_log(TC_LOG_INFO, __VA_ARGS__)
#define tc_debug(...) tc_log(TC_LOG_DEBUG, __VA_ARGS__)
