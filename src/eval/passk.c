/* passk.c - the unbiased pass@k estimator in product form; see passk.h. */
#include "eval/passk.h"

#include <math.h>

double pt_passk(long n, long c, long k) {
    if (n < 1 || c < 0 || c > n || k < 1 || k > n) return NAN;
    if (n - c < k) return 1.0;
    /* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i) */
    double fail = 1.0;
    for (long i = n - c + 1; i <= n; i++) fail *= 1.0 - (double)k / (double)i;
    return 1.0 - fail;
}

double pt_passk_mean(const long *n, const long *c, size_t count, long k) {
    if (!count) return NAN;
    double sum = 0;
    for (size_t i = 0; i < count; i++) {
        double v = pt_passk(n[i], c[i], k);
        if (isnan(v)) return NAN;
        sum += v;
    }
    return sum / (double)count;
}
