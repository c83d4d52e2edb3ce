/* test_passk.c - the unbiased pass@k estimator, and HumanEval problem sets: loading (plain
 * and gzip), malformed lines, --tasks/--limit selection. */
#include <math.h>
#include <unistd.h>

#include "base/fs.h"
#include "eval/passk.h"
#include "eval/problems.h"
#include "test.h"

static int near(double a, double b, double tol) { return fabs(a - b) <= tol; }

/* 1 - C(n-c,k)/C(n,k) the slow way, in long double, for cross-checking. */
static double passk_binomial(long n, long c, long k) {
    if (n - c < k) return 1.0;
    long double num = 1, den = 1; /* C(n-c,k)/C(n,k) = prod_{i<k} (n-c-i)/(n-i) */
    for (long i = 0; i < k; i++) num *= (long double)(n - c - i), den *= (long double)(n - i);
    return (double)(1.0L - num / den);
}

TEST(passk_issue_values) {
    CHECK(near(pt_passk(200, 10, 10), 0.408548, 5e-7));
    CHECK(near(pt_passk(200, 50, 10), 0.947906, 5e-7));
    CHECK(near(pt_passk(10, 3, 5), 0.916667, 5e-7));
    CHECK(near(pt_passk(5, 2, 2), 0.7, 1e-12));
}

TEST(passk_edges) {
    CHECK(pt_passk(10, 0, 1) == 0.0);
    CHECK(pt_passk(10, 10, 10) == 1.0);
    CHECK(pt_passk(10, 6, 5) == 1.0); /* n - c < k: every draw holds a pass */
    CHECK(near(pt_passk(10, 3, 1), 0.3, 1e-12)); /* pass@1 is c/n */
    CHECK(near(pt_passk(1, 1, 1), 1.0, 0));
    CHECK(isnan(pt_passk(5, 2, 6)));
    CHECK(isnan(pt_passk(5, 6, 1)));
    CHECK(isnan(pt_passk(0, 0, 1)));
    CHECK(isnan(pt_passk(5, 2, 0)));
}

TEST(passk_matches_binomials) {
    double worst = 0;
    for (long n = 1; n <= 60; n++)
        for (long c = 0; c <= n; c++)
            for (long k = 1; k <= n; k++) {
                double d = fabs(pt_passk(n, c, k) - passk_binomial(n, c, k));
                if (d > worst) worst = d;
            }
    CHECK(worst < 1e-12);
    /* large n stays finite and monotone in c and k */
    double prev = -1;
    for (long c = 0; c <= 1000; c += 50) {
        double v = pt_passk(1000, c, 100);
        CHECK(v >= prev && v >= 0 && v <= 1);
        prev = v;
    }
}

TEST(passk_mean) {
    long n[] = {5, 5, 10}, c[] = {2, 0, 3};
    CHECK(near(pt_passk_mean(n, c, 3, 2), (0.7 + 0 + pt_passk(10, 3, 2)) / 3, 1e-12));
    CHECK(isnan(pt_passk_mean(n, c, 3, 6))); /* a problem with n < k: no figure */
    CHECK(isnan(pt_passk_mean(n, c, 0, 1)));
}

static char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof path, "/tmp/pt-problems-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    ssize_t w = write(fd, text, strlen(text));
    (void)w;
    close(fd);
    return path;
}

#define PROB(id, ep) "{\"task_id\": \"" id "\", \"prompt\": \"def " ep "():\\n\", \"canonical_solution\": \"    return 1\\n\", " \
                     "\"test\": \"def check(f):\\n    assert f() == 1\\n\", \"entry_point\": \"" ep "\"}\n"

TEST(problems_humaneval_default_set) {
    pt_err e = {0};
    pt_problems ps;
    char path[512];
    snprintf(path, sizeof path, "%s/../../data/humaneval/HumanEval.jsonl.gz", pt_test_data());
    CHECK_OK(pt_problems_load(&ps, path, &e), &e);
    CHECK_EQ_U64(ps.n, 164);
    CHECK_STR(ps.v[0].task_id, "HumanEval/0");
    CHECK_STR(ps.v[0].entry_point, "has_close_elements");
    CHECK_STR(ps.v[163].task_id, "HumanEval/163");
    CHECK(ps.v[163].number == 163);
    CHECK(strstr(ps.v[0].test, "def check(candidate)") != NULL);
    CHECK(pt_problems_find(&ps, "HumanEval/42") == 42);
    CHECK_OK(pt_problems_select(&ps, "0-9,17,HumanEval/42, 163", -1, &e), &e);
    CHECK_EQ_U64(ps.n, 13);
    CHECK_STR(ps.v[10].task_id, "HumanEval/17");
    CHECK_STR(ps.v[12].task_id, "HumanEval/163");
    CHECK_OK(pt_problems_select(&ps, NULL, 4, &e), &e);
    CHECK_EQ_U64(ps.n, 4);
    CHECK_STR(ps.v[3].task_id, "HumanEval/3");
    CHECK(pt_problems_select(&ps, "99", -1, &e) == PT_EUSAGE); /* no longer in the set */
    CHECK(strstr(e.msg, "\"99\"") != NULL);
    CHECK(pt_problems_select(&ps, "5-2", -1, &e) == PT_EUSAGE);
    CHECK_EQ_U64(ps.n, 4);
    pt_problems_free(&ps);
}

TEST(problems_plain_and_errors) {
    pt_err e = {0};
    pt_problems ps;
    char *p = write_tmp(PROB("T/1", "f") "\n  \n" PROB("T/2", "g"));
    CHECK_OK(pt_problems_load(&ps, p, &e), &e);
    CHECK_EQ_U64(ps.n, 2);
    CHECK_STR(ps.v[1].entry_point, "g");
    CHECK_STR(ps.v[1].canonical_solution, "    return 1\n");
    pt_problems_free(&ps);
    unlink(p);
    p = write_tmp(PROB("T/1", "f") "{\"task_id\": \"T/2\", \"prompt\": \"\"}\n");
    CHECK(pt_problems_load(&ps, p, &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, ":2: \"test\" is missing") != NULL);
    unlink(p);
    p = write_tmp(PROB("T/1", "f") PROB("T/1", "f"));
    CHECK(pt_problems_load(&ps, p, &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, "appears twice") != NULL);
    unlink(p);
    p = write_tmp(PROB("T/1", "f") "{\"task_id\": 3,}\n");
    CHECK(pt_problems_load(&ps, p, &e) == PT_EFORMAT);
    CHECK(strstr(e.msg, ":2:") != NULL);
    unlink(p);
    CHECK(pt_problems_load(&ps, "/nonexistent/problems.jsonl", &e) == PT_EIO);
    CHECK(strstr(e.msg, "/nonexistent/problems.jsonl") != NULL);
}

int main(void) {
    RUN(passk_issue_values);
    RUN(passk_edges);
    RUN(passk_matches_binomials);
    RUN(passk_mean);
    RUN(problems_humaneval_default_set);
    RUN(problems_plain_and_errors);
    return TEST_DONE();
}
