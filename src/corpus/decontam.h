/* decontam.h - benchmark decontamination for `parrot corpus build --decontaminate FILE`.
 *
 * A pass@k means little if the training corpus holds the benchmark's own problems, which public
 * code often does (HumanEval's problems are on GitHub in many forks). This drops every training
 * document that shares a long run of words with a benchmark item's prompt or canonical solution.
 *
 * The rule: texts are split into words at whitespace (so indentation, blank lines and line
 * breaks do not matter: "normalized whitespace"). A document is contaminated when it contains any
 * run of N consecutive words (N = 20 by default) that occurs in an item's prompt or solution, or,
 * for an item text of fewer than N words but at least 8, that whole text as consecutive words.
 * Shorter texts are too generic to count ("return a + b"). Runs are compared by 64-bit hashes of
 * their words (a false match needs a hash collision: about n/2^64).
 *
 * Items come from JSON Lines, plain or gzip, with HumanEval's fields: "prompt" and
 * "canonical_solution" ("content" and "text" are also taken, for other benchmarks' dumps).
 * Thread-safe once loaded (read only).
 */
#ifndef PT_DECONTAM_H
#define PT_DECONTAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/status.h"

typedef struct pt_decontam pt_decontam;

/* Loads the items of path; ngram 0 means 20. PT_EFORMAT "path:line: why" on a bad line; PT_EUSAGE
 * when the file holds no item text of 8 words or more. */
int pt_decontam_load(pt_decontam **d, const char *path, int ngram, pt_err *e);
void pt_decontam_free(pt_decontam *d); /* NULL is fine */

size_t pt_decontam_items(const pt_decontam *d);   /* item texts taken (prompts + solutions) */
pt_hash128 pt_decontam_hash(const pt_decontam *d); /* of the file's bytes, for the manifest */
int pt_decontam_ngram(const pt_decontam *d);

/* 1 when text[0..n) shares a run as described above with an item, else 0. */
int pt_decontam_match(const pt_decontam *d, const char *text, size_t n);

#endif
