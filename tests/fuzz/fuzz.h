/* fuzz.h - shared by the fuzz targets: check() aborts with the failed condition, so that a
 * crash file says what broke (libFuzzer and the replay driver both report an abort). */
#ifndef PT_FUZZ_H
#define PT_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#define check(ok)                                                                   \
    do {                                                                            \
        if (!(ok)) {                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #ok); \
            abort();                                                                \
        }                                                                           \
    } while (0)

#endif
