/* he_generate.h - HumanEval samples from a model: the `--model` path of `parrot eval humaneval`.
 *
 * CodeParrot's protocol (its human_eval.py): each problem's prompt, preceded by end-of-text, is
 * completed n_samples times (temperature 0.2, top-p 0.95, 256 new tokens, stop strings "\nclass",
 * "\ndef", "\n#", "\n@", "\nprint", "\nif"); the completion is cut at the first stop string in the
 * generated text (the Codex/human-eval convention; CodeParrot's script dropped the last block
 * instead, which leaves nothing when no stop string appears). The prompt keeps its trailing newline
 * unless strip_prompt (CodeParrot stripped it).
 *
 * Samples are appended to samples_path ({"task_id", "completion"} a line, human-eval's format) as
 * each batch finishes, and submitted to the evaluator at once, so tests run while the model keeps
 * generating. With resume, the samples already in the file are submitted as they are and only the
 * missing ones generated; sample k of a problem always draws from the generator keyed by (seed,
 * problem number, k), so a resumed run writes what an uninterrupted one would have.
 */
#ifndef PT_HE_GENERATE_H
#define PT_HE_GENERATE_H

#include "eval/humaneval.h"
#include "eval/problems.h"
#include "infer/lm.h"

typedef struct pt_he_gen_opts {
    int n_samples;
    pt_gen_opts gen;          /* stops and eot are filled in from CodeParrot's list / the model when empty */
    int strip_prompt;
    int batch;                /* samples decoded together (≤ the lm's sequences) */
    const char *samples_path; /* required */
    int resume;
    volatile int *cancel;
    /* After each batch: samples generated so far, samples to generate in all. */
    void (*progress)(void *ctx, size_t done, size_t total);
    void *ctx;
} pt_he_gen_opts;

/* CodeParrot's stop strings. */
extern const char *const pt_he_stops[6];

/* Generates (and submits to ev) n_samples completions of every problem of ps. */
int pt_he_generate(pt_lm *lm, const pt_problems *ps, const pt_he_gen_opts *o, pt_humaneval *ev, pt_err *e);

/* The evaluation's record beside the checkpoint it evaluated, written atomically to path
 * (pt_ckpt_sidecar(ckpt, ".humaneval.json")): {"checkpoint", "problems_file", "generation":
 * {n_samples, temperature, top_p, top_k, max_new_tokens, seed}, "summary": pt_humaneval_summary_json}.
 * `parrot export hf` puts it in the model card. */
int pt_he_write_record(const char *path, const char *ckpt, const pt_humaneval_report *rep, const long *ks, int nk,
                       const pt_he_gen_opts *o, pt_err *e);

#endif
