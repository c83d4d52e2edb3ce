/* test.h - the unit-test harness: one binary per module, each test a function.
 *
 *     TEST(hash_streaming) { CHECK(a == b); CHECK_EQ_U64(x, 3); }
 *     int main(void) { RUN(hash_streaming); return TEST_DONE(); }
 *
 * Each test prints "ok NAME" or "FAIL NAME" (with the failed checks above it); the binary
 * exits non-zero if any failed. tests/run.sh sums these lines over all binaries.
 * Tests that need data find it under $PT_TESTDATA (default tests/data).
 */
#ifndef PT_TEST_H
#define PT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pt_t_failed_, pt_t_npass_, pt_t_nfail_;

#define TEST(name) static void name(void)
#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stdout, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            pt_t_failed_ = 1;                                                           \
        }                                                                               \
    } while (0)
#define CHECK_EQ_U64(a, b)                                                                         \
    do {                                                                                           \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                            \
        if (a_ != b_) {                                                                            \
            fprintf(stdout, "  %s:%d: %s == %" PRIu64 ", expected %" PRIu64 "\n", __FILE__, __LINE__, \
                    #a, a_, b_);                                                                   \
            pt_t_failed_ = 1;                                                                      \
        }                                                                                          \
    } while (0)
#define CHECK_STR(a, b)                                                                          \
    do {                                                                                         \
        const char *a_ = (a), *b_ = (b);                                                         \
        if (!a_ || !b_ || strcmp(a_, b_)) {                                                      \
            fprintf(stdout, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                     \
            pt_t_failed_ = 1;                                                                    \
        }                                                                                        \
    } while (0)
/* For a pt_err-returning call that must succeed. */
#define CHECK_OK(expr, err)                                                                       \
    do {                                                                                          \
        int rc_ = (expr);                                                                         \
        if (rc_) {                                                                                \
            fprintf(stdout, "  %s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, (err)->msg); \
            pt_t_failed_ = 1;                                                                     \
        }                                                                                         \
    } while (0)

#define RUN(name)                                           \
    do {                                                    \
        pt_t_failed_ = 0;                                   \
        name();                                             \
        if (pt_t_failed_) pt_t_nfail_++, printf("FAIL %s\n", #name); \
        else pt_t_npass_++, printf("ok %s\n", #name);       \
        fflush(stdout);                                     \
    } while (0)
#define TEST_DONE() (printf("# %d passed, %d failed\n", pt_t_npass_, pt_t_nfail_), pt_t_nfail_ ? 1 : 0)

static inline const char *pt_test_data(void) {
    const char *d = getenv("PT_TESTDATA");
    return d && *d ? d : "tests/data";
}

#endif
