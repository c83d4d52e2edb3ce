/* humaneval.c - the evaluator: a queue of samples, worker threads, one sandbox slot each;
 * see humaneval.h.
 *
 * Samples are kept as separately allocated jobs behind a pointer table, so submitting
 * (which may grow the table) never moves a job a worker is filling in. One mutex guards
 * the table and the counters; a worker holds it only to take a job and to post a result.
 */
#include "eval/humaneval.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "eval/passk.h"

typedef struct job {
    pt_humaneval_sample s;
} job;

typedef struct worker {
    pt_humaneval *ev;
    int slot;
    pthread_t th;
} worker;

struct pt_humaneval {
    const pt_problems *ps;
    pt_humaneval_opts o;
    pt_sandbox *sb;
    worker *w;
    int nw;
    pthread_mutex_t mu;
    pthread_cond_t more, done_cv;
    job **jobs;
    size_t njobs, cap, next, done;
    long *per_problem; /* samples submitted per problem: the next completion_id */
    int closed, failed;
    pt_err err; /* the first harness error of a worker */
    double t0;
};

int pt_humaneval_program(const pt_problem *p, const char *completion, size_t len, pt_buf *b, pt_err *e) {
    PT_TRY(pt_buf_append(b, p->prompt, strlen(p->prompt), e));
    PT_TRY(pt_buf_append(b, completion, len, e));
    PT_TRY(pt_buf_putc(b, '\n', e));
    PT_TRY(pt_buf_append(b, p->test, strlen(p->test), e));
    return pt_buf_printf(b, e, "\ncheck(%s)", p->entry_point);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    pt_humaneval *ev = w->ev;
    pt_buf prog = {0};
    for (;;) {
        pthread_mutex_lock(&ev->mu);
        while (ev->next >= ev->njobs && !ev->closed && !ev->failed) pthread_cond_wait(&ev->more, &ev->mu);
        int stop = ev->failed || (ev->o.cancel && *ev->o.cancel) || ev->next >= ev->njobs;
        job *j = stop ? NULL : ev->jobs[ev->next++];
        pthread_mutex_unlock(&ev->mu);
        if (!j) break;
        pt_err e = {0};
        pt_sandbox_result r = {0};
        pt_buf_clear(&prog);
        int rc = pt_humaneval_program(&ev->ps->v[j->s.problem], j->s.completion, j->s.len, &prog, &e);
        if (!rc) rc = pt_sandbox_run(ev->sb, w->slot, prog.data, prog.len, ev->o.cancel, &r, &e);
        free(r.output);
        if (!rc) {
            j->s.outcome = r.outcome;
            j->s.wall_s = r.wall_s;
            j->s.result = strdup(r.result);
            if (!j->s.result) rc = pt_fail(&e, PT_ENOMEM, "out of memory");
        }
        pthread_mutex_lock(&ev->mu);
        if (rc && !ev->failed) ev->failed = 1, ev->err = e;
        ev->done++;
        if (!rc && ev->o.on_result) ev->o.on_result(ev->o.ctx, &j->s, ev->done, ev->njobs);
        pthread_cond_broadcast(&ev->done_cv);
        pthread_cond_broadcast(&ev->more);
        pthread_mutex_unlock(&ev->mu);
    }
    pt_buf_free(&prog);
    return NULL;
}

static void free_jobs(pt_humaneval *ev) {
    for (size_t i = 0; i < ev->njobs; i++) {
        free(ev->jobs[i]->s.completion);
        free(ev->jobs[i]->s.result);
        free(ev->jobs[i]);
    }
    free(ev->jobs);
    ev->jobs = NULL, ev->njobs = 0;
}

static void destroy(pt_humaneval *ev) {
    pthread_mutex_lock(&ev->mu);
    ev->closed = 1;
    pthread_cond_broadcast(&ev->more);
    pthread_mutex_unlock(&ev->mu);
    for (int i = 0; i < ev->nw; i++) pthread_join(ev->w[i].th, NULL);
    free(ev->w);
    pt_sandbox_close(ev->sb);
    free_jobs(ev);
    free(ev->per_problem);
    pthread_mutex_destroy(&ev->mu);
    pthread_cond_destroy(&ev->more);
    pthread_cond_destroy(&ev->done_cv);
    free(ev);
}

int pt_humaneval_open(pt_humaneval **out, const pt_problems *ps, const pt_humaneval_opts *o, pt_err *e) {
    *out = NULL;
    pt_humaneval *ev = pt_calloc(1, sizeof *ev, e);
    if (!ev) return PT_ENOMEM;
    ev->ps = ps;
    if (o) ev->o = *o;
    if (ev->o.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ev->o.threads = n > 0 ? (int)n : 1;
    }
    if (ev->o.threads > PT_SANDBOX_MAX_SLOTS) ev->o.threads = PT_SANDBOX_MAX_SLOTS;
    ev->o.sandbox.slots = ev->o.threads;
    pthread_mutex_init(&ev->mu, NULL);
    pthread_cond_init(&ev->more, NULL);
    pthread_cond_init(&ev->done_cv, NULL);
    ev->per_problem = pt_calloc(ps->n ? ps->n : 1, sizeof *ev->per_problem, e);
    ev->w = pt_calloc((size_t)ev->o.threads, sizeof *ev->w, e);
    int rc = !ev->per_problem || !ev->w ? PT_ENOMEM : pt_sandbox_open(&ev->sb, &ev->o.sandbox, e);
    if (rc) {
        destroy(ev);
        return rc;
    }
    ev->t0 = pt_now();
    for (int i = 0; i < ev->o.threads; i++) {
        ev->w[i].ev = ev, ev->w[i].slot = i;
        if (pthread_create(&ev->w[i].th, NULL, worker_main, &ev->w[i])) {
            rc = pt_fail(e, PT_EIO, "cannot start evaluation thread %d", i);
            destroy(ev);
            return rc;
        }
        ev->nw = i + 1;
    }
    *out = ev;
    return PT_OK;
}

const char *pt_humaneval_isolation(const pt_humaneval *ev) { return pt_sandbox_describe(ev->sb); }

int pt_humaneval_submit(pt_humaneval *ev, const char *task_id, const char *completion, size_t len, int *accepted,
                        pt_err *e) {
    if (accepted) *accepted = 0;
    long pi = pt_problems_find(ev->ps, task_id);
    if (pi < 0) return PT_OK;
    job *j = pt_calloc(1, sizeof *j, e);
    if (!j) return PT_ENOMEM;
    if (!(j->s.completion = pt_malloc(len + 1, e))) {
        free(j);
        return PT_ENOMEM;
    }
    memcpy(j->s.completion, completion, len);
    j->s.completion[len] = 0;
    j->s.len = len;
    j->s.problem = (size_t)pi;
    pthread_mutex_lock(&ev->mu);
    if (ev->njobs == ev->cap) {
        size_t nc = ev->cap ? ev->cap * 2 : 256;
        job **nj = pt_realloc(ev->jobs, nc * sizeof *nj, e);
        if (!nj) {
            pthread_mutex_unlock(&ev->mu);
            free(j->s.completion);
            free(j);
            return PT_ENOMEM;
        }
        ev->jobs = nj, ev->cap = nc;
    }
    j->s.completion_id = ev->per_problem[pi]++;
    ev->jobs[ev->njobs++] = j;
    pthread_cond_signal(&ev->more);
    pthread_mutex_unlock(&ev->mu);
    if (accepted) *accepted = 1;
    return PT_OK;
}

int pt_humaneval_submit_file(pt_humaneval *ev, const char *path, size_t *skipped, pt_err *e) {
    pt_buf text = {0};
    if (skipped) *skipped = 0;
    int rc = pt_problems_read_file(path, &text, e);
    char *p = text.data, *end = text.data + text.len;
    for (long line = 1; !rc && p && p < end; line++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end, *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < le) {
            pt_json_doc *doc = NULL;
            if ((rc = pt_json_parse(p, (size_t)(le - p), &doc, e))) {
                pt_err_prefix(e, "%s:%ld", path, line);
                break;
            }
            const pt_json *root = pt_json_root(doc);
            const char *tid = pt_json_str(pt_json_get(root, "task_id"), NULL);
            size_t clen = 0;
            const char *comp = pt_json_str(pt_json_get(root, "completion"), &clen);
            if (!tid || !comp) {
                rc = pt_fail(e, PT_EFORMAT, "%s:%ld: a sample needs string fields \"task_id\" and \"completion\"", path, line);
            } else {
                int acc = 0;
                rc = pt_humaneval_submit(ev, tid, comp, clen, &acc, e);
                if (!rc && !acc && skipped) (*skipped)++;
            }
            pt_json_free(doc);
        }
        p = nl ? nl + 1 : end;
    }
    pt_buf_free(&text);
    return rc;
}

int pt_humaneval_finish(pt_humaneval *ev, pt_humaneval_report *rep, pt_err *e) {
    memset(rep, 0, sizeof *rep);
    pthread_mutex_lock(&ev->mu);
    ev->closed = 1;
    pthread_cond_broadcast(&ev->more);
    pthread_mutex_unlock(&ev->mu);
    for (int i = 0; i < ev->nw; i++) pthread_join(ev->w[i].th, NULL);
    ev->nw = 0;
    int rc = PT_OK;
    if (ev->failed) rc = e ? (*e = ev->err, ev->err.code) : ev->err.code;
    else if (ev->o.cancel && *ev->o.cancel) rc = pt_fail(e, PT_EINTR, "evaluation interrupted");
    if (rc) {
        destroy(ev);
        return rc;
    }
    rep->problems = ev->ps;
    rep->n_samples = ev->njobs;
    rep->samples = pt_calloc(ev->njobs ? ev->njobs : 1, sizeof *rep->samples, e);
    rep->n = pt_calloc(ev->ps->n ? ev->ps->n : 1, sizeof *rep->n, e);
    rep->c = pt_calloc(ev->ps->n ? ev->ps->n : 1, sizeof *rep->c, e);
    if (!rep->samples || !rep->n || !rep->c) {
        pt_humaneval_report_free(rep);
        destroy(ev);
        return PT_ENOMEM;
    }
    for (size_t i = 0; i < ev->njobs; i++) {
        pt_humaneval_sample *s = &rep->samples[i];
        *s = ev->jobs[i]->s; /* ownership moves to the report */
        ev->jobs[i]->s.completion = ev->jobs[i]->s.result = NULL;
        rep->n[s->problem]++;
        rep->c[s->problem] += s->outcome == PT_SBX_PASSED;
    }
    rep->isolation = pt_sandbox_isolation(ev->sb);
    snprintf(rep->isolation_desc, sizeof rep->isolation_desc, "%s", pt_sandbox_describe(ev->sb));
    rep->timeout = pt_sandbox_options(ev->sb)->timeout;
    rep->wall_s = pt_now() - ev->t0;
    destroy(ev);
    return PT_OK;
}

void pt_humaneval_report_free(pt_humaneval_report *rep) {
    if (!rep) return;
    for (size_t i = 0; rep->samples && i < rep->n_samples; i++) {
        free(rep->samples[i].completion);
        free(rep->samples[i].result);
    }
    free(rep->samples);
    free(rep->n);
    free(rep->c);
    memset(rep, 0, sizeof *rep);
}

size_t pt_humaneval_attempted(const pt_humaneval_report *rep) {
    size_t a = 0;
    for (size_t i = 0; rep->problems && i < rep->problems->n; i++) a += rep->n[i] > 0;
    return a;
}

double pt_humaneval_passk(const pt_humaneval_report *rep, long k) {
    double sum = 0;
    size_t cnt = 0;
    for (size_t i = 0; rep->problems && i < rep->problems->n; i++) {
        if (!rep->n[i]) continue;
        double v = pt_passk(rep->n[i], rep->c[i], k);
        if (isnan(v)) return NAN;
        sum += v, cnt++;
    }
    return cnt ? sum / (double)cnt : NAN;
}

int pt_humaneval_write_results(const pt_humaneval_report *rep, const char *path, pt_err *e) {
    pt_afile f;
    pt_buf b = {0};
    PT_TRY(pt_afile_open(&f, path, e));
    int rc = PT_OK;
    for (size_t i = 0; !rc && i < rep->n_samples; i++) {
        const pt_humaneval_sample *s = &rep->samples[i];
        pt_buf_clear(&b);
        rc = pt_buf_printf(&b, e, "{\"task_id\": ");
        if (!rc) rc = pt_jsonw_cstr(&b, rep->problems->v[s->problem].task_id, e);
        if (!rc) rc = pt_buf_printf(&b, e, ", \"completion\": ");
        if (!rc) rc = pt_jsonw_str(&b, s->completion, s->len, e);
        if (!rc) rc = pt_buf_printf(&b, e, ", \"result\": ");
        if (!rc) rc = pt_jsonw_cstr(&b, s->result, e);
        if (!rc) rc = pt_buf_printf(&b, e, ", \"passed\": %s}\n", s->outcome == PT_SBX_PASSED ? "true" : "false");
        if (!rc) rc = pt_afile_write(&f, b.data, b.len, e);
    }
    pt_buf_free(&b);
    if (rc) {
        pt_afile_abort(&f);
        return rc;
    }
    return pt_afile_commit(&f, e);
}

int pt_humaneval_summary_json(const pt_humaneval_report *rep, const long *ks, int nk, pt_buf *b, pt_err *e) {
    size_t passed = 0, timed_out = 0;
    for (size_t i = 0; i < rep->n_samples; i++) {
        passed += rep->samples[i].outcome == PT_SBX_PASSED;
        timed_out += rep->samples[i].outcome == PT_SBX_TIMED_OUT;
    }
    PT_TRY(pt_buf_printf(b, e, "{\"problems\": %zu, \"attempted\": %zu, \"samples\": %zu, \"passed\": %zu, \"timed_out\": %zu, \"pass@k\": {",
                         rep->problems->n, pt_humaneval_attempted(rep), rep->n_samples, passed, timed_out));
    int first = 1;
    for (int i = 0; i < nk; i++) {
        double v = pt_humaneval_passk(rep, ks[i]);
        if (isnan(v)) continue;
        PT_TRY(pt_buf_printf(b, e, "%s\"pass@%ld\": ", first ? "" : ", ", ks[i]));
        PT_TRY(pt_jsonw_double(b, v, e));
        first = 0;
    }
    PT_TRY(pt_buf_printf(b, e, "}, \"timeout\": "));
    PT_TRY(pt_jsonw_double(b, rep->timeout, e));
    PT_TRY(pt_buf_printf(b, e, ", \"wall_s\": "));
    PT_TRY(pt_jsonw_double(b, rep->wall_s, e));
    PT_TRY(pt_buf_printf(b, e, ", \"isolation\": "));
    PT_TRY(pt_jsonw_cstr(b, rep->isolation_desc, e));
    PT_TRY(pt_buf_printf(b, e, ", \"isolated\": %s, \"per_problem\": [",
                         (rep->isolation & PT_SBX_FULL) == PT_SBX_FULL ? "true" : "false"));
    first = 1;
    for (size_t i = 0; i < rep->problems->n; i++) {
        PT_TRY(pt_buf_printf(b, e, "%s{\"task_id\": ", first ? "" : ", "));
        PT_TRY(pt_jsonw_cstr(b, rep->problems->v[i].task_id, e));
        PT_TRY(pt_buf_printf(b, e, ", \"n\": %ld, \"c\": %ld}", rep->n[i], rep->c[i]));
        first = 0;
    }
    return pt_buf_printf(b, e, "]}\n");
}
