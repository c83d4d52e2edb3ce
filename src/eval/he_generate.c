/* he_generate.c - HumanEval completions from a model (see he_generate.h). */
#include "eval/he_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/jsonw.h"

const char *const pt_he_stops[6] = {"\nclass", "\ndef", "\n#", "\n@", "\nprint", "\nif"};

/* Samples already in the file, per problem; each is submitted. A torn last line (a kill during a
 * write) is dropped and the file cut back to the last whole line. */
static int resume_file(const char *path, const pt_problems *ps, pt_humaneval *ev, long *have, pt_err *e) {
    if (!pt_fs_exists(path)) return PT_OK;
    pt_buf b = {0};
    PT_TRY(pt_fs_read_all(path, &b, e));
    size_t good = 0, line = 0;
    int rc = PT_OK;
    for (size_t i = 0; i < b.len && !rc;) {
        char *nl = memchr(b.data + i, '\n', b.len - i);
        if (!nl) break; /* torn */
        size_t end = (size_t)(nl - b.data);
        line++;
        pt_json_doc *d = NULL;
        if ((rc = pt_json_parse(b.data + i, end - i, &d, e))) {
            pt_err_prefix(e, "%s:%zu", path, line);
            break;
        }
        size_t tl, cl;
        const char *tid = pt_json_str(pt_json_get(pt_json_root(d), "task_id"), &tl);
        const char *comp = pt_json_str(pt_json_get(pt_json_root(d), "completion"), &cl);
        long p = tid ? pt_problems_find(ps, tid) : -1;
        if (!tid || !comp) rc = pt_fail(e, PT_EFORMAT, "%s:%zu: no task_id or completion", path, line);
        else if (p >= 0) have[p]++, rc = pt_humaneval_submit(ev, tid, comp, cl, NULL, e);
        pt_json_free(d);
        i = good = end + 1;
    }
    if (!rc && good < b.len && truncate(path, (off_t)good))
        rc = pt_fail_errno(e, PT_EIO, "%s: cannot cut the torn last line", path);
    pt_buf_free(&b);
    return rc;
}

int pt_he_generate(pt_lm *lm, const pt_problems *ps, const pt_he_gen_opts *o, pt_humaneval *ev, pt_err *e) {
    const int batch = o->batch > 0 ? o->batch : 1;
    long *have = pt_calloc(ps->n ? ps->n : 1, sizeof *have, e);
    if (!have) return e->code;
    int rc = PT_OK;
    if (o->resume) rc = resume_file(o->samples_path, ps, ev, have, e);
    else if (pt_fs_exists(o->samples_path) && unlink(o->samples_path))
        rc = pt_fail_errno(e, PT_EIO, "%s", o->samples_path);
    FILE *f = rc ? NULL : fopen(o->samples_path, "a");
    if (!rc && !f) rc = pt_fail_errno(e, PT_EIO, "%s", o->samples_path);
    pt_gen_opts g = o->gen;
    if (!g.nstops) g.stops = pt_he_stops, g.nstops = 6;
    g.eot = lm->eot;
    size_t total = 0, done = 0;
    for (size_t p = 0; p < ps->n; p++) total += have[p] < o->n_samples ? (size_t)(o->n_samples - have[p]) : 0;
    const uint32_t **prompts = pt_malloc((size_t)batch * sizeof *prompts, e);
    size_t *plen = pt_malloc((size_t)batch * sizeof *plen, e);
    uint64_t *sid = pt_malloc((size_t)batch * sizeof *sid, e);
    pt_gen_result *res = pt_calloc((size_t)batch, sizeof *res, e);
    if (!rc && (!prompts || !plen || !sid || !res)) rc = e->code;
    pt_buf line = {0};
    for (size_t p = 0; p < ps->n && !rc; p++) {
        const pt_problem *pr = &ps->v[p];
        if (have[p] >= o->n_samples) continue;
        size_t len = strlen(pr->prompt);
        if (o->strip_prompt)
            while (len && (pr->prompt[len - 1] == '\n' || pr->prompt[len - 1] == ' ' || pr->prompt[len - 1] == '\t')) len--;
        uint32_t *ids;
        size_t nids;
        if ((rc = pt_lm_encode(lm, pr->prompt, len, lm->eot != PT_BPE_NONE, &ids, &nids, e))) break;
        for (long k = have[p]; k < o->n_samples && !rc; k += batch) {
            int nb = (int)(o->n_samples - k < batch ? o->n_samples - k : batch);
            for (int j = 0; j < nb; j++)
                prompts[j] = ids, plen[j] = nids, sid[j] = ((uint64_t)pr->number << 32) ^ (uint64_t)(k + j);
            rc = pt_generate(lm->inf, lm->tok, prompts, plen, nb, sid, &g, res, NULL, NULL, o->cancel, e);
            for (int j = 0; j < nb && !rc; j++) {
                pt_buf_clear(&line);
                rc = pt_buf_printf(&line, e, "{\"task_id\": ");
                if (!rc) rc = pt_jsonw_cstr(&line, pr->task_id, e);
                if (!rc) rc = pt_buf_printf(&line, e, ", \"completion\": ");
                if (!rc) rc = pt_jsonw_str(&line, res[j].text.data ? res[j].text.data : "", res[j].text.len, e);
                if (!rc) rc = pt_buf_printf(&line, e, "}\n");
                if (!rc && fwrite(line.data, 1, line.len, f) != line.len) rc = pt_fail_errno(e, PT_EIO, "%s", o->samples_path);
                if (!rc) rc = pt_humaneval_submit(ev, pr->task_id, res[j].text.data ? res[j].text.data : "",
                                                  res[j].text.len, NULL, e);
            }
            for (int j = 0; j < nb; j++) pt_gen_result_free(&res[j]);
            if (!rc && fflush(f)) rc = pt_fail_errno(e, PT_EIO, "%s", o->samples_path);
            done += (size_t)nb;
            if (!rc && o->progress) o->progress(o->ctx, done, total);
        }
        free(ids);
    }
    if (f && fclose(f) && !rc) rc = pt_fail_errno(e, PT_EIO, "%s", o->samples_path);
    pt_buf_free(&line);
    free(have), free(prompts), free(plen), free(sid), free(res);
    return rc;
}

int pt_he_write_record(const char *path, const char *ckpt, const pt_humaneval_report *rep, const long *ks, int nk,
                       const pt_he_gen_opts *o, pt_err *e) {
    pt_buf b = {0};
    int rc = pt_buf_printf(&b, e, "{\"checkpoint\": ");
    if (!rc) rc = pt_jsonw_cstr(&b, ckpt, e);
    if (!rc) rc = pt_buf_printf(&b, e, ", \"problems_file\": ");
    if (!rc) rc = pt_jsonw_cstr(&b, rep->problems->path, e);
    if (!rc) rc = pt_buf_printf(&b, e, ",\n \"generation\": {\"n_samples\": %d, \"temperature\": ", o->n_samples);
    if (!rc) rc = pt_jsonw_double(&b, o->gen.temperature, e);
    if (!rc) rc = pt_buf_printf(&b, e, ", \"top_p\": ");
    if (!rc) rc = pt_jsonw_double(&b, o->gen.top_p, e);
    if (!rc) rc = pt_buf_printf(&b, e, ", \"top_k\": %d, \"max_new_tokens\": %d, \"seed\": \"%llu\"},\n \"summary\": ",
                                o->gen.top_k, o->gen.max_new_tokens, (unsigned long long)o->gen.seed);
    if (!rc) rc = pt_humaneval_summary_json(rep, ks, nk, &b, e);
    if (!rc) { /* the summary ends with a newline: close the object before it */
        if (b.len && b.data[b.len - 1] == '\n') b.len--;
        rc = pt_buf_printf(&b, e, "}\n");
    }
    if (!rc) rc = pt_fs_write_atomic(path, b.data, b.len, e);
    pt_buf_free(&b);
    return rc;
}
