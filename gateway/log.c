#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile cg_log_level_t min_level = CG_LOG_NOTICE;
static const char *const level_names[] = {"error", "warn", "notice", "info", "debug"};

void cg_log_set_level(cg_log_level_t level)
{
    min_level = level;
}

cg_log_level_t cg_log_get_level(void)
{
    return min_level;
}

int cg_log_level_from_name(const char *name, cg_log_level_t *out)
{
    for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
        if (!strcmp(name, level_names[i])) {
            *out = (cg_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

uint64_t cg_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cg_vlog(cg_log_level_t level, const char *tag, const char *fmt, va_list ap)
{
    if (level > min_level)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s [%s] ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], tag);
    if (n < 0)
        return;
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    while (len > 0 && line[len - 1] == '\n')
        len--;
    line[len++] = '\n';
    /* One write per line so lines from connector threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}

void cg_log(cg_log_level_t level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cg_vlog(level, tag, fmt, ap);
    va_end(ap);
}

void cg_log_limited(cg_log_limit_t *lim, cg_log_level_t level, const char *tag, const char *fmt,
                    ...)
{
    enum { PERIOD_MS = 10000, BURST = 5 };
    uint64_t now = cg_now_ms();
    if (now - lim->window_start_ms >= PERIOD_MS) {
        lim->window_start_ms = now;
        lim->in_window = 0;
    }
    if (lim->in_window >= BURST) {
        lim->suppressed++;
        return;
    }
    lim->in_window++;
    if (lim->suppressed) {
        cg_log(level, tag, "(%u similar lines suppressed)", lim->suppressed);
        lim->suppressed = 0;
    }
    va_list ap;
    va_start(ap, fmt);
    cg_vlog(level, tag, fmt, ap);
    va_end(ap);
}

void cg_assert_fail(const char *expr, const char *file, int line)
{
    cg_log(CG_LOG_ERR, "assert", "%s:%d: assertion failed: %s", file, line, expr);
    abort();
}
