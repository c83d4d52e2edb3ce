/* exact.h - the exact-duplicate table: 128-bit content keys -> the first occurrence.
 *
 * Open addressing with linear probing over 24-byte slots (key 16 B, value 4 B, used
 * flag), kept at most 5/8 full: about 24/0.625 ~ 38 bytes per distinct document on
 * average and 77 right after a doubling. Keys are pt_hash128 of the content with all
 * whitespace removed; with 128 bits a false match is vanishingly unlikely (~n^2/2^129).
 * Not thread-safe: the build decides duplicates in input order on one thread, which is
 * what makes "the first occurrence" well defined.
 */
#ifndef PT_EXACT_H
#define PT_EXACT_H

#include <stdint.h>

#include "base/hash.h"
#include "base/status.h"

typedef struct pt_exact pt_exact;

int pt_exact_new(pt_exact **t, pt_err *e);
/* Looks key up; if absent inserts it with value v and sets *inserted = 1. Returns the
 * value stored for the key (v when just inserted). On allocation failure returns
 * PT_ENOMEM through the status and leaves the table as it was. */
int pt_exact_insert(pt_exact *t, pt_hash128 key, uint32_t v, uint32_t *stored, int *inserted, pt_err *e);
uint64_t pt_exact_count(const pt_exact *t);
uint64_t pt_exact_bytes(const pt_exact *t); /* memory held */
void pt_exact_free(pt_exact *t);

#endif
