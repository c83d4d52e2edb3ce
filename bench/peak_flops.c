/* peak_flops.c - this machine's fp32 FMA peak as parrot train measures it for MFU
 * (pt_train_peak_flops: one core's vector FMA rate, best of 5 short runs, times the threads).
 * usage: build/bench/peak_flops [THREADS]   (default 2); prints FLOP/s. */
#include <stdio.h>
#include <stdlib.h>

#include "train/trainer.h"

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double best = 0;
    for (int i = 0; i < 5; i++) {
        double p = pt_train_peak_flops(threads);
        if (p > best) best = p;
    }
    printf("%.0f\n", best);
    return 0;
}
