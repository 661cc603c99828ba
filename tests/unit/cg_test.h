/* A minimal test harness: CHECK records a failure and goes on; each test binary prints
 * "N passed, N failed" and exits non-zero on any failure. */
#ifndef CG_TEST_H
#define CG_TEST_H

#include <stdio.h>
#include <string.h>

static int cg_test_passed, cg_test_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            cg_test_passed++;                                                                      \
        } else {                                                                                   \
            cg_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && !strcmp(a_, b_)) {                                                         \
            cg_test_passed++;                                                                      \
        } else {                                                                                   \
            cg_test_failed++;                                                                      \
            fprintf(stderr, "%s:%d: CHECK_STR failed: '%s' != '%s'\n", __FILE__, __LINE__,         \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                       \
        }                                                                                          \
    } while (0)

#define RUN(fn)                                                                                    \
    do {                                                                                           \
        int before_ = cg_test_failed;                                                              \
        fn();                                                                                      \
        fprintf(stderr, "%s %s\n", cg_test_failed == before_ ? "ok  " : "FAIL", #fn);              \
    } while (0)

#define TEST_MAIN_END()                                                                            \
    do {                                                                                           \
        printf("%d passed, %d failed\n", cg_test_passed, cg_test_failed);                          \
        return cg_test_failed ? 1 : 0;                                                             \
    } while (0)

#endif
