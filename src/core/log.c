#include "telecounter/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Set once before any thread starts, read-only afterwards. */
static tc_log_level min_level = TC_LOG_INFO;

void tc_log_set_level(tc_log_level level)
{
    min_level = level;
}

int tc_log_level_parse(const char *name, tc_log_level *out)
{
    static const struct {
        const char *name;
        tc_log_level level;
    } names[] = {
        {"error", TC_LOG_ERROR},
        {"warn", TC_LOG_WARN},
        {"info", TC_LOG_INFO},
        {"debug", TC_LOG_DEBUG},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

static const char *level_name(tc_log_level level)
{
    switch (level) {
    case TC_LOG_ERROR:
        return "error";
    case TC_LOG_WARN:
        return "warn";
    case TC_LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void tc_log(tc_log_level level, const char *fmt, ...)
{
    if (level > min_level)
        return;
    char line[1024];
    int n;
    if (isatty(STDERR_FILENO))
        n = snprintf(line, sizeof line, "%-5s ", level_name(level));
    else
        n = snprintf(line, sizeof line, "<%d>", (int)level);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}
