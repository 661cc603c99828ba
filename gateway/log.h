/* Logging: one line per event to stderr, with level and module tag.
 * Thread-safe (one write(2) per line). Repeats of the same call site can be rate-limited. */
#ifndef CG_LOG_H
#define CG_LOG_H

#include <stdarg.h>
#include <stdint.h>

typedef enum {
    CG_LOG_ERR = 0,
    CG_LOG_WARN,
    CG_LOG_NOTICE,
    CG_LOG_INFO,
    CG_LOG_DEBUG
} cg_log_level_t;

void cg_log_set_level(cg_log_level_t level);
cg_log_level_t cg_log_get_level(void);
int cg_log_level_from_name(const char *name, cg_log_level_t *out);

void cg_log(cg_log_level_t level, const char *tag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cg_vlog(cg_log_level_t level, const char *tag, const char *fmt, va_list ap);

/* A per-call-site limiter: at most `burst` lines per `period_ms`; what was suppressed is
 * counted and reported with the next line that passes. Not shared between threads. */
typedef struct cg_log_limit {
    uint64_t window_start_ms;
    unsigned in_window;
    unsigned suppressed;
} cg_log_limit_t;

void cg_log_limited(cg_log_limit_t *lim, cg_log_level_t level, const char *tag, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Always-on assertion: a broken invariant is a bug, stop before corrupting state. */
#define CG_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            cg_assert_fail(#cond, __FILE__, __LINE__);                                             \
    } while (0)
_Noreturn void cg_assert_fail(const char *expr, const char *file, int line);

uint64_t cg_now_ms(void); /* CLOCK_MONOTONIC */

#endif
