/* build.c - see build.h. */
#include "corpus/build.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/fs.h"
#include "base/log.h"
#include "corpus/exact.h"
#include "corpus/manifest.h"
#include "corpus/neardup.h"
#include "corpus/store.h"
#include "corpus/decontam.h"
#include "tok/bpe.h"
#include "tok/tokfile.h"

#define NONE UINT32_MAX
#define SIG_CHUNK 4096

void pt_build_defaults(pt_build_params *p) {
    memset(p, 0, sizeof *p);
    static const char *const py[] = {".py"};
    p->exts = py;
    p->nexts = 1;
    p->min_size = 1024;
    p->max_size = (1u << 20) - 1;
    pt_filter_defaults(&p->filter);
    p->near_dedup = 1;
    pt_minhash_defaults(&p->minhash);
    p->min_token_ratio = 1.5;
    p->valid_fraction = 0.01;
    p->split_seed = 0;
    p->shard_bytes = 256ull << 20;
    p->batch_bytes = 16ull << 20;
    p->threads = 1;
}

int pt_build_is_valid(const char *identity, size_t n, double valid_fraction, uint64_t seed) {
    uint64_t h = pt_hash64(identity, n, seed ^ 0x73706c6974ull /* "split" */);
    return pt_unit_double(h) < valid_fraction;
}

/* Per-document results of one batch. */
typedef struct docres {
    pt_text_stats st;
    uint8_t reason;   /* final decision for steps 1-4 */
    uint8_t freason;  /* step 4's verdict, applied after exact dedup */
    uint32_t stage;   /* index in the stage store, or NONE */
    size_t ntok;      /* distinct tokens (near dedup) */
} docres;

typedef struct builder {
    const pt_build_params *p;
    pt_build_report *r;
    char *tmp;                    /* DIR.tmp-<pid> */
    pt_source *src;
    pt_exact *exact;
    pt_store_writer *stage_w;     /* with near dedup: survivors of steps 1-4, to filter again */
    pt_store_writer *out_w[2];    /* without: train and valid, written directly */
    uint8_t *split_of;            /* without near dedup: per staged doc, 1 = valid */
    pt_neardup *nd;
    uint32_t *copies;             /* per staged doc: exact copies seen, itself included */
    uint64_t ncopies_cap;
    docres *res;
    size_t res_cap;
    uint32_t *sigs;               /* signatures of one chunk: (SIG_CHUNK, num_perm) */
    long chunk[SIG_CHUNK];        /* batch indexes of the chunk's staged documents */
    size_t sigs_cap;
    int nthreads;
    pt_minhash_scratch **mh;      /* per thread */
    pt_bpe *tok;                  /* for the token-ratio filter, or NULL */
    pt_bpe_scratch **tokscr;      /* per thread */
    pt_decontam *decontam;        /* --decontaminate, or NULL */
    pt_progress prog;
} builder;

static int licence_ok(const pt_build_params *p, const char *lic) {
    if (p->nlicenses == 0) return 1;
    if (!lic) return 0;
    for (int i = 0; i < p->nlicenses; i++)
        if (strcasecmp(lic, p->licenses[i]) == 0) return 1;
    return 0;
}

static void where(const builder *b, const pt_batch *bt, const pt_srcdoc *d, char *out, size_t n) {
    int ni;
    const pt_input_info *in = pt_source_inputs(b->src, &ni);
    const char *name = in[d->source].name;
    if (in[d->source].kind == PT_INPUT_JSONL) snprintf(out, n, "%s:%llu", name, (unsigned long long)d->line);
    else if (in[d->source].kind == PT_INPUT_DIR)
        snprintf(out, n, "%s/%s", name, pt_srcdoc_meta(bt, d, PT_META_PATH));
    else snprintf(out, n, "%s", name);
}

static void add_example(char **slots, const char *s) {
    for (int i = 0; i < PT_BUILD_EXAMPLES; i++)
        if (!slots[i]) {
            slots[i] = strdup(s);
            return;
        }
}

static int grow_res(builder *b, size_t ndocs, pt_err *e) {
    if (ndocs > b->res_cap) {
        docres *r = pt_realloc(b->res, ndocs * sizeof *r, e);
        if (!r) return PT_ENOMEM;
        b->res = r;
        b->res_cap = ndocs;
    }
    return PT_OK;
}

static int grow_sigs(builder *b, size_t nstaged, pt_err *e) {
    size_t nsig = nstaged * (size_t)b->p->minhash.num_perm;
    if (nsig > b->sigs_cap) {
        uint32_t *s = pt_realloc(b->sigs, nsig * sizeof *s, e);
        if (!s) return PT_ENOMEM;
        b->sigs = s;
        b->sigs_cap = nsig;
    }
    return PT_OK;
}

static int push_copy(builder *b, pt_err *e) {
    uint64_t n = b->r->staged;
    if (n == b->ncopies_cap) {
        uint64_t cap = b->ncopies_cap ? b->ncopies_cap * 2 : 65536;
        uint32_t *c = pt_realloc(b->copies, cap * sizeof *c, e);
        if (!c) return PT_ENOMEM;
        b->copies = c;
        uint8_t *s = pt_realloc(b->split_of, cap, e);
        if (!s) return PT_ENOMEM;
        b->split_of = s;
        b->ncopies_cap = cap;
    }
    b->copies[n] = 1;
    return PT_OK;
}


/* The identity that decides a document's split: "repo_name/path" for dump records, the
 * path under its input directory for files. */
static size_t identity(const pt_doc *d, int kind, char *buf, size_t cap) {
    if (kind == PT_INPUT_JSONL) {
        if (d->repo_name || d->path)
            return (size_t)snprintf(buf, cap, "%s/%s", d->repo_name ? d->repo_name : "", d->path ? d->path : "");
        pt_hash128 h = pt_hash128_of(d->content, d->content_len, 0); /* no identity: the content */
        pt_hash128_hex(h, buf);
        return 32;
    }
    return (size_t)snprintf(buf, cap, "%s", d->path ? d->path : "");
}

static int doc_split(const builder *b, const pt_doc *d) {
    int ninputs;
    const pt_input_info *in = pt_source_inputs(b->src, &ninputs); /* name and kind are immutable */
    char idbuf[8192];
    size_t idn = identity(d, in[d->source].kind, idbuf, sizeof idbuf);
    if (idn >= sizeof idbuf) idn = sizeof idbuf - 1;
    return pt_build_is_valid(idbuf, idn, b->p->valid_fraction, b->p->split_seed);
}

static int thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Step 4's filters in CodeParrot's order, the token ratio (when a tokenizer is given)
 * between the alphanumeric filter and the random ones, as its filter() has it. */
static int step4_filters(const builder *b, const char *text, size_t n, const pt_text_stats *st, uint64_t ordinal) {
    const pt_filter_params *f = &b->p->filter;
    if (!b->tok) return pt_filter_apply(f, st, ordinal);
    int r = pt_filter_apply_range(f, st, ordinal, PT_DROP_AUTOGEN, PT_DROP_ALPHA);
    if (r) return r;
    if (st->nchars) { /* empty content has no ratio (CodeParrot would divide by zero) */
        size_t ntok = pt_bpe_count(b->tok, text, n, b->tokscr[thread_id()]);
        if (ntok != (size_t)-1 && (double)st->nchars < b->p->min_token_ratio * (double)ntok) return PT_DROP_TOKEN_RATIO;
    }
    return pt_filter_apply_range(f, st, ordinal, PT_DROP_CONFIG_TEST, PT_DROP_FEW_ASSIGN);
}

/* Step 4, then decontamination (--decontaminate) of what step 4 keeps. */
static int step4(const builder *b, const char *text, size_t n, const pt_text_stats *st, uint64_t ordinal) {
    int r = step4_filters(b, text, n, st, ordinal);
    if (!r && b->decontam && pt_decontam_match(b->decontam, text, n)) r = PT_DROP_CONTAMINATED;
    return r;
}

/* Steps 1-4 and the signatures of one batch; staged documents are appended to the stage
 * store and their band hashes to the near-dedup spill files. */
static int process_batch(builder *b, pt_batch *bt, pt_err *e) {
    const pt_build_params *p = b->p;
    pt_build_report *r = b->r;
    PT_TRY(grow_res(b, bt->n, e));
    docres *res = b->res;
    long n = (long)bt->n;

    /* Phase A, parallel: steps 1, 2 and 4's verdict (order-independent). */
#pragma omp parallel for schedule(dynamic, 8) num_threads(b->nthreads)
    for (long i = 0; i < n; i++) {
        const pt_srcdoc *d = &bt->docs[i];
        docres *x = &res[i];
        x->stage = NONE;
        x->ntok = 0;
        x->freason = PT_KEEP;
        if (d->content_len < p->min_size) x->reason = PT_DROP_TOO_SMALL;
        else if (d->content_len > p->max_size) x->reason = PT_DROP_TOO_LARGE;
        else {
            pt_text_analyze(bt->arena.data + d->content_off, d->content_len, &x->st, NULL);
            if (d->surrogate || !x->st.valid_utf8) x->reason = PT_DROP_INVALID_UTF8;
            else if (x->st.has_nul) x->reason = PT_DROP_NUL;
            else {
                x->reason = PT_KEEP;
                if (!licence_ok(p, pt_srcdoc_meta(bt, d, PT_META_LICENSE))) x->freason = PT_DROP_LICENSE;
                else x->freason = (uint8_t)step4(b, bt->arena.data + d->content_off, d->content_len, &x->st, d->ordinal);
            }
        }
    }

    /* Phase B, in input order: exact dedup, then step 4's verdict. */
    size_t nstaged = 0;
    for (long i = 0; i < n; i++) {
        docres *x = &res[i];
        if (x->reason == PT_KEEP) {
            uint32_t stored;
            int inserted;
            uint32_t want = x->freason == PT_KEEP ? (uint32_t)r->staged : NONE;
            if (r->staged >= NONE - 1) return pt_fail(e, PT_ELIMIT, "more than 4 billion documents after filtering");
            PT_TRY(pt_exact_insert(b->exact, x->st.ws_hash, want, &stored, &inserted, e));
            if (!inserted) {
                x->reason = PT_DROP_EXACT_DUP;
                if (stored != NONE) b->copies[stored]++;
            } else if (x->freason != PT_KEEP) {
                x->reason = x->freason;
            } else {
                PT_TRY(push_copy(b, e));
                x->stage = (uint32_t)r->staged++;
                nstaged++;
            }
        }
        const pt_srcdoc *d = &bt->docs[i];
        r->in.docs++;
        r->in.bytes += d->content_len;
        if (x->reason != PT_KEEP) {
            r->dropped[x->reason].docs++;
            r->dropped[x->reason].bytes += d->content_len;
            if (!r->examples[x->reason][PT_BUILD_EXAMPLES - 1]) {
                char w[4200];
                where(b, bt, d, w, sizeof w);
                add_example(r->examples[x->reason], w);
            }
            if (x->reason == PT_DROP_INVALID_UTF8 || x->reason == PT_DROP_NUL) {
                char w[4200];
                where(b, bt, d, w, sizeof w);
                pt_verbose("%s: dropped: %s", w, x->reason == PT_DROP_NUL ? "contains a NUL byte" : "not valid UTF-8");
            }
        }
    }

    /* Phases C and D, in chunks of SIG_CHUNK staged documents so that the signature
     * buffer stays fixed (SIG_CHUNK x num_perm x 4 B) however small the documents are:
     * C computes MinHash signatures in parallel, D stages the documents in order. */
    size_t np = (size_t)p->minhash.num_perm;
    if (p->near_dedup && nstaged) PT_TRY(grow_sigs(b, nstaged < SIG_CHUNK ? nstaged : SIG_CHUNK, e));
    long next = 0; /* scan position in the batch */
    for (size_t done = 0; done < nstaged;) {
        size_t k = 0;
        while (k < SIG_CHUNK && next < n) {
            if (res[next].stage != NONE) b->chunk[k++] = next;
            next++;
        }
        if (p->near_dedup) {
#pragma omp parallel for schedule(dynamic, 4) num_threads(b->nthreads)
            for (long j = 0; j < (long)k; j++) {
                const pt_srcdoc *d = &bt->docs[b->chunk[j]];
                res[b->chunk[j]].ntok = pt_minhash_signature_p(&p->minhash, bt->arena.data + d->content_off,
                                                               d->content_len, b->sigs + (size_t)j * np, b->mh[thread_id()]);
            }
        }
        for (size_t j = 0; j < k; j++) {
            docres *x = &res[b->chunk[j]];
            const pt_srcdoc *d = &bt->docs[b->chunk[j]];
            pt_doc doc;
            memset(&doc, 0, sizeof doc);
            doc.content = bt->arena.data + d->content_off;
            doc.content_len = d->content_len;
            const char **mp[PT_NMETA] = {&doc.repo_name, &doc.path, &doc.license, &doc.size, &doc.copies};
            uint32_t *ml[PT_NMETA] = {&doc.repo_name_len, &doc.path_len, &doc.license_len, &doc.size_len,
                                      &doc.copies_len};
            for (int m = 0; m < PT_NMETA; m++) {
                *mp[m] = pt_srcdoc_meta(bt, d, m);
                *ml[m] = *mp[m] ? d->meta_len[m] : 0;
            }
            doc.source = d->source;
            if (!p->near_dedup) { /* final shards directly; the copies are patched in at the end */
                int v = doc_split(b, &doc);
                b->split_of[x->stage] = (uint8_t)v;
                doc.exact_copies = 1;
                PT_TRY(pt_store_writer_add(b->out_w[v], &doc, e));
                r->out[v].docs++;
                r->out[v].bytes += doc.content_len;
                continue;
            }
            PT_TRY(pt_store_writer_add(b->stage_w, &doc, e));
            if (x->ntok == (size_t)-1) return pt_fail(e, PT_ENOMEM, "out of memory computing a MinHash signature");
            if (x->ntok >= (size_t)p->minhash.min_tokens) PT_TRY(pt_neardup_add(b->nd, x->stage, b->sigs + j * np, e));
        }
        done += k;
    }

    /* Events (unreadable files, malformed lines), reported in input order. */
    const char *ev = bt->events.data;
    for (size_t k = 0; k < bt->nevents; k++) {
        int kind = (unsigned char)ev[0];
        const char *msg = ev + 1;
        r->events[kind]++;
        add_example(r->event_examples[kind], msg);
        if (r->events[kind] <= 20) pt_warn("%s", msg);
        else if (r->events[kind] == 21) pt_warn("further problems of this kind are counted in the manifest only");
        ev = msg + strlen(msg) + 1;
    }
    return PT_OK;
}

static const char *stage_get(void *ctx, uint32_t i, size_t *len) {
    pt_doc d;
    pt_store_get((const pt_store *)ctx, i, &d);
    *len = d.content_len;
    return d.content;
}

/* Steps 5 and 6: near dedup over the staged documents, then the final shards. */
static int finish_near(builder *b, pt_err *e) {
    const pt_build_params *p = b->p;
    pt_build_report *r = b->r;
    pt_store *stage = NULL;
    pt_neardup_result nr;
    memset(&nr, 0, sizeof nr);
    pt_store_writer *w[2] = {NULL, NULL};
    int rc = pt_store_open_flags(&stage, b->tmp, "stage", PT_STORE_OPEN_QUICK, e); /* we just wrote it */
    if (rc) return rc;
    double t0 = pt_now();
    pt_verbose("near dedup: %llu documents, LSH %d bands x %d rows", 0ull + r->staged, p->minhash.bands,
               p->minhash.rows);
    if ((rc = pt_neardup_run(b->nd, r->staged, stage_get, stage, b->nthreads, &nr, e))) goto out;
    r->nd_signed = nr.signed_docs;
    r->nd_pairs = nr.candidate_pairs;
    r->nd_clusters = nr.clusters;
    r->nd_in_clusters = nr.docs_in_clusters;
    r->t_near = pt_now() - t0;
    t0 = pt_now();
    static const char *const names[2] = {"train", "valid"};
    for (int s = 0; s < 2 && !rc; s++) rc = pt_store_writer_open(&w[s], b->tmp, names[s], p->shard_bytes, 0, e);
    if (rc) goto out;
    int ninputs;
    const pt_input_info *in = pt_source_inputs(b->src, &ninputs);
    char idbuf[8192];
    uint32_t shard = 0;
    uint64_t shard_start = 0, shard_end = pt_store_shard_count(stage) ? pt_store_shard_docs(stage, 0) : 0;
    for (uint64_t i = 0; i < r->staged && !rc; i++) {
        if (i == shard_end) { /* keep resident memory small: drop what was read */
            pt_store_shard_release(stage, shard++, UINT64_MAX);
            shard_start = shard_end;
            shard_end += pt_store_shard_docs(stage, shard);
        } else if ((i & 1023) == 0) {
            pt_store_shard_release(stage, shard, i - shard_start);
        }
        pt_doc d;
        pt_store_get(stage, i, &d);
        if (nr.drop[i]) {
            r->dropped[PT_DROP_NEAR_DUP].docs++;
            r->dropped[PT_DROP_NEAR_DUP].bytes += d.content_len;
            if (!r->examples[PT_DROP_NEAR_DUP][PT_BUILD_EXAMPLES - 1]) {
                snprintf(idbuf, sizeof idbuf, "%s/%s", in[d.source].name, d.path ? d.path : "?");
                add_example(r->examples[PT_DROP_NEAR_DUP], idbuf);
            }
            continue;
        }
        d.exact_copies = b->copies[i];
        d.near_copies = nr.near_copies[i];
        int v = doc_split(b, &d);
        rc = pt_store_writer_add(w[v], &d, e);
        r->out[v].docs++;
        r->out[v].bytes += d.content_len;
        if ((i & 1023) == 0 && p->cancel && *p->cancel) rc = pt_fail(e, PT_EINTR, "interrupted");
    }
    for (int s = 0; s < 2; s++) {
        if (!w[s]) continue;
        if (rc) {
            pt_store_writer_abort(w[s]);
            continue;
        }
        pt_store_stats st;
        rc = pt_store_writer_close(w[s], &st, e);
        r->out_shards[s] = st.shards;
    }
    w[0] = w[1] = NULL;
    r->t_write = pt_now() - t0;
out:
    for (int s = 0; s < 2; s++)
        if (w[s]) pt_store_writer_abort(w[s]);
    pt_neardup_result_free(&nr);
    pt_store_close(stage);
    return rc;
}

typedef struct patch_ctx {
    const builder *b;
    int split;
    uint64_t j; /* staged index of the last document returned */
} patch_ctx;

static void next_counts(void *ctx, uint64_t i, uint32_t *exact, uint32_t *near) {
    patch_ctx *pc = ctx;
    (void)i; /* documents come in split order: the next staged one of this split */
    while (pc->b->split_of[pc->j] != pc->split) pc->j++;
    *exact = pc->b->copies[pc->j++];
    *near = 0;
}

/* Without near dedup the shards are complete after the reading pass but for the copies
 * of each document, known only now: patch them in, which also fsyncs each shard. */
static int finish_direct(builder *b, pt_err *e) {
    double t0 = pt_now();
    static const char *const names[2] = {"train", "valid"};
    for (int s = 0; s < 2; s++) {
        pt_store_stats st;
        int rc = pt_store_writer_close(b->out_w[s], &st, e);
        b->out_w[s] = NULL;
        if (rc) return rc;
        b->r->out_shards[s] = st.shards;
        patch_ctx pc = {b, s, 0};
        PT_TRY(pt_store_patch_counts(b->tmp, names[s], next_counts, &pc, e));
    }
    b->r->t_write = pt_now() - t0;
    return PT_OK;
}

/* With near dedup: close the stage, run steps 5 and 6, remove the temporary files. */
static int finish_staged(builder *b, pt_err *e) {
    pt_store_stats sst;
    int rc = pt_store_writer_close(b->stage_w, &sst, e);
    b->stage_w = NULL;
    PT_TRY(rc);
    PT_TRY(finish_near(b, e));
    pt_neardup_close(b->nd);
    b->nd = NULL;
    for (uint64_t s = 0; s < sst.shards; s++) {
        char name[64];
        snprintf(name, sizeof name, "stage-%05llu.pds", (unsigned long long)s);
        char *path = pt_path_join(b->tmp, name);
        rc = path ? pt_fs_rm_rf(path, e) : pt_fail(e, PT_ENOMEM, "out of memory");
        free(path);
        PT_TRY(rc);
    }
    char *nd = pt_path_join(b->tmp, "neardup");
    rc = nd ? pt_fs_rm_rf(nd, e) : pt_fail(e, PT_ENOMEM, "out of memory");
    free(nd);
    return rc;
}

static int check_params(const pt_build_params *p, pt_err *e) {
    if (!p->out_dir || !*p->out_dir) return pt_fail(e, PT_EUSAGE, "no output directory given (-o DIR)");
    if (p->ninputs < 1) return pt_fail(e, PT_EUSAGE, "no inputs given");
    if (p->min_size > p->max_size)
        return pt_fail(e, PT_EUSAGE, "--min-size %llu is larger than --max-size %llu", 0ull + p->min_size,
                       0ull + p->max_size);
    if (!(p->valid_fraction >= 0 && p->valid_fraction <= 1))
        return pt_fail(e, PT_EUSAGE, "--valid-fraction must be between 0 and 1");
    if (p->threads < 1) return pt_fail(e, PT_EUSAGE, "--threads must be at least 1");
    if (p->tokenizer && !(p->min_token_ratio >= 0)) return pt_fail(e, PT_EUSAGE, "--min-token-ratio must be >= 0");
    if (p->near_dedup && !(p->minhash.threshold > 0 && p->minhash.threshold <= 1))
        return pt_fail(e, PT_EUSAGE, "the near-dedup threshold must be in (0, 1]");
    return PT_OK;
}

/* Moves the finished tmp folder to out_dir; with force, an existing out_dir is replaced. */
static int publish(const pt_build_params *p, const char *tmp, pt_err *e) {
    if (pt_fs_exists(p->out_dir)) {
        char *old;
        if (asprintf(&old, "%s.old-%ld", p->out_dir, (long)getpid()) < 0) return pt_fail(e, PT_ENOMEM, "out of memory");
        if (rename(p->out_dir, old) != 0) {
            int rc = pt_fail_errno(e, PT_EIO, "%s: cannot move the old output aside", p->out_dir);
            free(old);
            return rc;
        }
        if (rename(tmp, p->out_dir) != 0) {
            int rc = pt_fail_errno(e, PT_EIO, "%s: cannot rename %s into place", p->out_dir, tmp);
            rename(old, p->out_dir);
            free(old);
            return rc;
        }
        int rc = pt_fs_rm_rf(old, e);
        free(old);
        return rc;
    }
    if (rename(tmp, p->out_dir) != 0) return pt_fail_errno(e, PT_EIO, "%s: cannot rename %s into place", p->out_dir, tmp);
    return PT_OK;
}

int pt_corpus_build(const pt_build_params *p, pt_build_report *r, pt_err *e) {
    memset(r, 0, sizeof *r);
    PT_TRY(check_params(p, e));
    if (pt_fs_exists(p->out_dir) && !p->force)
        return pt_fail(e, PT_EEXIST, "%s: already exists (use --force to replace it)", p->out_dir);
    double t_start = pt_now();
    builder b;
    memset(&b, 0, sizeof b);
    b.p = p;
    b.r = r;
    b.nthreads = p->threads;
    r->bands = p->minhash.bands;
    r->rows = p->minhash.rows;
    int rc = PT_OK;
    if (asprintf(&b.tmp, "%s.tmp-%ld", p->out_dir, (long)getpid()) < 0) return pt_fail(e, PT_ENOMEM, "out of memory");
    if ((rc = pt_fs_rm_rf(b.tmp, e)) || (rc = pt_fs_mkdir_p(b.tmp, e))) goto out;
    b.mh = pt_calloc((size_t)b.nthreads, sizeof *b.mh, e);
    if (!b.mh) {
        rc = PT_ENOMEM;
        goto out;
    }
    for (int t = 0; t < b.nthreads; t++)
        if (!(b.mh[t] = pt_minhash_scratch_new())) {
            rc = pt_fail(e, PT_ENOMEM, "out of memory");
            goto out;
        }
    if (p->decontaminate) {
        if ((rc = pt_decontam_load(&b.decontam, p->decontaminate, p->decontam_ngram, e))) goto out;
        r->decontam_hash = pt_decontam_hash(b.decontam);
        r->decontam_items = pt_decontam_items(b.decontam);
        r->decontam_ngram = pt_decontam_ngram(b.decontam);
    }
    if (p->tokenizer) {
        if ((rc = pt_bpe_load(&b.tok, p->tokenizer, e))) goto out;
        r->tokenizer_hash = pt_bpe_hash(b.tok);
        if (!(b.tokscr = pt_calloc((size_t)b.nthreads, sizeof *b.tokscr, e))) {
            rc = PT_ENOMEM;
            goto out;
        }
        for (int t = 0; t < b.nthreads; t++)
            if (!(b.tokscr[t] = pt_bpe_scratch_new())) {
                rc = pt_fail(e, PT_ENOMEM, "out of memory");
                goto out;
            }
    }
    if ((rc = pt_exact_new(&b.exact, e))) goto out;
    if (!p->near_dedup) {
        static const char *const names[2] = {"train", "valid"};
        for (int s = 0; s < 2; s++)
            if ((rc = pt_store_writer_open(&b.out_w[s], b.tmp, names[s], p->shard_bytes, PT_STORE_NOSYNC, e))) goto out;
    } else {
        if ((rc = pt_store_writer_open(&b.stage_w, b.tmp, "stage", p->shard_bytes, PT_STORE_NOSYNC, e))) goto out;
        char *ndtmp = pt_path_join(b.tmp, "neardup");
        if (!ndtmp) {
            rc = pt_fail(e, PT_ENOMEM, "out of memory");
            goto out;
        }
        rc = pt_fs_mkdir_p(ndtmp, e);
        if (!rc) rc = pt_neardup_open(&b.nd, &p->minhash, ndtmp, e);
        free(ndtmp);
        if (rc) goto out;
    }
    int watched = isatty(2) && pt_log_level >= PT_LOG_INFO; /* then a time-left estimate is worth a pre-walk */
    if ((rc = pt_source_start(&b.src, p->inputs, p->ninputs, p->exts, p->nexts, p->batch_bytes, watched, p->cancel, e)))
        goto out;

    pt_progress_start(&b.prog, "corpus build", pt_source_total_bytes(b.src));
    uint64_t raw = 0;
    pt_batch *bt;
    while ((bt = pt_source_next(b.src))) {
        raw += bt->raw_bytes;
        rc = process_batch(&b, bt, e);
        pt_source_release(b.src, bt);
        if (rc) goto out;
        if (p->cancel && *p->cancel) {
            rc = pt_fail(e, PT_EINTR, "interrupted");
            goto out;
        }
        pt_progress_update(&b.prog, r->in.docs, raw);
    }
    if (p->cancel && *p->cancel) {
        rc = pt_fail(e, PT_EINTR, "interrupted");
        goto out;
    }
    if ((rc = pt_source_finish(b.src, e))) goto out;
    pt_progress_end(&b.prog, r->in.docs, raw);
    r->t_read = pt_now() - t_start;
    r->exact_distinct = pt_exact_count(b.exact);
    r->exact_table_bytes = pt_exact_bytes(b.exact);
    pt_exact_free(b.exact);
    b.exact = NULL;
    if ((rc = p->near_dedup ? finish_staged(&b, e) : finish_direct(&b, e))) goto out;
    r->seconds = pt_now() - t_start;
    r->peak_rss = pt_peak_rss();
    {
        int ninputs;
        const pt_input_info *in = pt_source_inputs(b.src, &ninputs);
        if ((rc = pt_manifest_write(b.tmp, p, r, in, ninputs, e))) goto out;
    }
    rc = publish(p, b.tmp, e);
out:
    if (b.src) pt_source_free(b.src);
    if (b.stage_w) pt_store_writer_abort(b.stage_w);
    for (int s = 0; s < 2; s++)
        if (b.out_w[s]) pt_store_writer_abort(b.out_w[s]);
    if (b.nd) pt_neardup_close(b.nd);
    pt_exact_free(b.exact);
    if (b.tmp && rc) {
        pt_err e2;
        pt_fs_rm_rf(b.tmp, &e2);
    }
    for (int t = 0; t < b.nthreads && b.mh; t++)
        if (b.mh[t]) pt_minhash_scratch_free(b.mh[t]);
    free(b.mh);
    for (int t = 0; t < b.nthreads && b.tokscr; t++)
        if (b.tokscr[t]) pt_bpe_scratch_free(b.tokscr[t]);
    free(b.tokscr);
    pt_bpe_free(b.tok);
    pt_decontam_free(b.decontam);
    free(b.copies);
    free(b.split_of);
    free(b.res);
    free(b.sigs);
    free(b.tmp);
    return rc;
}

void pt_build_report_free(pt_build_report *r) {
    for (int k = 0; k < PT_NDROP; k++)
        for (int i = 0; i < PT_BUILD_EXAMPLES; i++) free(r->examples[k][i]);
    for (int k = 0; k < PT_NEV; k++)
        for (int i = 0; i < PT_BUILD_EXAMPLES; i++) free(r->event_examples[k][i]);
    memset(r, 0, sizeof *r);
}
