/* pack.c - `parrot pack`: corpus splits -> token shards (see pack.h). */
#include "data/pack.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "corpus/manifest.h"
#include "corpus/store.h"
#include "data/tokens.h"
#include "tok/encode_many.h"
#include "tok/tokfile.h"
#include "tok/tokwrite.h"

#define BATCH_BYTES ((size_t)16 << 20)
#define TAIL_MIN_BYTES ((size_t)1 << 20)
static const char *const SPLITS[2] = {"train", "valid"};

/* UTF-8 characters of p[0..n): the bytes that do not continue a sequence. Counted in 64 KiB
 * chunks with a 32-bit counter, which the compiler vectorizes with 8 lanes instead of 4. */
static uint64_t count_chars(const char *p, uint64_t n) {
    uint64_t c = 0;
    for (uint64_t i = 0; i < n;) {
        uint32_t m = n - i < 65536 ? (uint32_t)(n - i) : 65536, k = 0;
        const unsigned char *q = (const unsigned char *)p + i;
        for (uint32_t j = 0; j < m; j++) k += (q[j] & 0xC0) != 0x80;
        c += k;
        i += m;
    }
    return c;
}

/* ---- one split: the encoder (caller's thread) and a writer thread, double-buffered ----
 *
 * Why: writing is about a tenth of the work (u16 conversion, checksum, the copy into the page
 * cache, the fsync at commit) and, done between batches, it left the encoder threads idle.
 * Here batch k+1 is encoded while the writer thread writes batch k: two batch buffers (jobs)
 * alternate between the two sides, so the encoder only waits when the writer is a whole batch
 * behind. The writer also commits the split's last shard (its fsync) while the encoder has
 * moved on to the next split. */

typedef struct job {
    pt_bpe_text *docs; /* the batch's documents (pointers into the memory-mapped store) */
    size_t nb, cap_docs;
    pt_bpe_ids ids;    /* their ids */
} job;

typedef struct split_run {
    pt_store *s;
    pt_tokens_writer *w;
    pt_pack_split *r;
    double t0;
    job jobs[2];
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int full[2]; /* handed to the writer, not yet written */
    int quit;    /* the encoder handed its last batch */
    int fail;    /* the encoder failed: the writer must not commit */
    int wrc;     /* the writer's status (its message in werr) */
    pt_err werr;
    uint64_t chars;
    pthread_t th;
    int started, sync_ok;
    /* work for the writer before its first batch (it is idle while that batch is encoded) */
    int (*pre)(void *ctx, pt_err *e);
    void *pre_ctx;
} split_run;

static void *writer_main(void *arg) {
    split_run *p = arg;
    pt_err e = {0};
    int rc = p->pre ? p->pre(p->pre_ctx, &e) : PT_OK;
    if (rc) {
        pthread_mutex_lock(&p->mu);
        p->wrc = rc, p->werr = e;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    for (int k = 0;; k ^= 1) {
        pthread_mutex_lock(&p->mu);
        while (!p->full[k] && !p->quit) pthread_cond_wait(&p->cv, &p->mu);
        int have = p->full[k]; /* the jobs are handed in alternation: none pending when quit finds this one empty */
        pthread_mutex_unlock(&p->mu);
        if (!have) break;
        job *j = &p->jobs[k];
        for (size_t d = 0; !rc && d < j->nb; d++) {
            rc = pt_tokens_writer_add_eot(p->w, j->ids.ids + j->ids.off[d], j->ids.off[d + 1] - j->ids.off[d], &e);
            p->chars += count_chars(j->docs[d].text, j->docs[d].len);
        }
        pthread_mutex_lock(&p->mu);
        p->full[k] = 0;
        if (rc && !p->wrc) p->wrc = rc, p->werr = e;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    for (int k = 0; k < 2; k++) { /* the encoder no longer touches them */
        pt_bpe_ids_free(&p->jobs[k].ids);
        free(p->jobs[k].docs);
        p->jobs[k].docs = NULL;
    }
    if (!rc && !p->fail) rc = pt_tokens_writer_close(p->w, &p->r->shards, &p->r->tokens, &p->r->docs, &e);
    else pt_tokens_writer_abort(p->w);
    p->w = NULL;
    pthread_mutex_lock(&p->mu);
    if (rc && !p->wrc) p->wrc = rc, p->werr = e;
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Waits until job k is free; the writer's status. */
static int wait_free(split_run *p, int k) {
    pthread_mutex_lock(&p->mu);
    while (p->full[k] && !p->wrc) pthread_cond_wait(&p->cv, &p->mu);
    int rc = p->wrc;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Encodes one split of the store into token shards in dir, handing batches to the writer
 * thread; returns once the last batch is handed (or on failure). split_finish must follow
 * whenever this was called (it joins the writer and reports). */
static int split_start(split_run *p, const pt_pack_opts *o, pt_bpe_many *m, uint32_t vocab, uint32_t eot,
                       pt_hash128 th, const char *dir, const char *split, pt_pack_split *r, pt_err *e) {
    memset(r, 0, sizeof *r);
    p->r = r;
    p->t0 = pt_now();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->sync_ok = 1;
    /* QUICK: the encoder reads every document by its length anyway; the full open would first
     * touch every document's terminating NUL, one serial pass over the whole split. */
    PT_TRY(pt_store_open_flags(&p->s, o->corpus_dir, split, PT_STORE_OPEN_QUICK, e));
    PT_TRY(pt_tokens_writer_open(&p->w, dir, split, vocab, eot, th, o->shard_tokens, e));
    if (pthread_create(&p->th, NULL, writer_main, p)) {
        pt_tokens_writer_abort(p->w);
        p->w = NULL;
        return pt_fail(e, PT_ENOMEM, "pack: could not start the writer thread");
    }
    p->started = 1;
    uint64_t n = pt_store_count(p->s);
    pt_progress pr;
    pt_progress_start(&pr, split, pt_store_content_bytes(p->s));
    int rc = PT_OK;
    int k = 0;
    size_t batch = o->batch_bytes ? o->batch_bytes : BATCH_BYTES;
    uint64_t total = pt_store_content_bytes(p->s);
    for (uint64_t i = 0; !rc && i < n; k ^= 1) {
        if (o->cancel && *o->cancel) {
            rc = pt_fail(e, PT_EINTR, "interrupted");
            break;
        }
        if (wait_free(p, k)) break; /* the writer failed: split_finish reports it */
        job *j = &p->jobs[k];
        /* a batch: documents up to `want` bytes (at least one). The last two batches' worth
         * goes in quarters: the writing of the last batch is the one part that cannot overlap
         * an encoding, so it is kept small. */
        size_t want = batch;
        uint64_t left = total - r->bytes;
        if (left < 2 * (uint64_t)batch && batch >= 4 * TAIL_MIN_BYTES) {
            want = (size_t)(left / 4);
            if (want < TAIL_MIN_BYTES) want = TAIL_MIN_BYTES;
        }
        size_t nb = 0, bytes = 0;
        while (i + nb < n && (nb == 0 || bytes < want)) {
            if (nb == j->cap_docs) {
                size_t nc = j->cap_docs ? 2 * j->cap_docs : 1024;
                pt_bpe_text *nd = pt_realloc(j->docs, nc * sizeof *nd, e);
                if (!nd) { rc = PT_ENOMEM; break; }
                j->docs = nd;
                j->cap_docs = nc;
            }
            pt_doc d;
            pt_store_get(p->s, i + nb, &d);
            j->docs[nb].text = d.content ? d.content : "";
            j->docs[nb].len = d.content_len;
            bytes += d.content_len;
            nb++;
        }
        if (!rc) rc = pt_bpe_many_encode(m, j->docs, nb, &j->ids, e);
        if (rc) break;
        j->nb = nb;
        pthread_mutex_lock(&p->mu);
        p->full[k] = 1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        r->bytes += bytes;
        i += nb;
        pt_progress_update(&pr, i, r->bytes);
    }
    pt_progress_end(&pr, n, r->bytes);
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    if (rc) p->fail = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Joins the writer (which commits the last shard), frees, and returns the split's status:
 * rc (the encoder's) first, else the writer's. */
static int split_finish(split_run *p, int rc, pt_err *e) {
    if (p->started) {
        if (rc) {
            pthread_mutex_lock(&p->mu);
            p->quit = p->fail = 1;
            pthread_cond_broadcast(&p->cv);
            pthread_mutex_unlock(&p->mu);
        }
        pthread_join(p->th, NULL);
        if (!rc && p->wrc) {
            rc = p->wrc;
            if (e) *e = p->werr;
        }
        p->r->chars = p->chars;
    } else {
        pt_tokens_writer_abort(p->w);
        for (int k = 0; k < 2; k++) {
            pt_bpe_ids_free(&p->jobs[k].ids);
            free(p->jobs[k].docs);
        }
    }
    if (p->sync_ok) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->cv);
    }
    pt_store_close(p->s);
    p->r->seconds = pt_now() - p->t0;
    memset(p, 0, sizeof *p);
    return rc;
}

static void split_info(const char *name, const pt_pack_split *s) {
    pt_info("%s: %" PRIu64 " documents, %" PRIu64 " tokens, %.3f chars/token, %u shard%s, %.2f s (%.2f MB/s, "
            "%.2f M tokens/s)", name, s->docs, s->tokens, s->tokens ? (double)s->chars / s->tokens : 0.0,
            s->shards, s->shards == 1 ? "" : "s", s->seconds, s->bytes / 1e6 / (s->seconds > 0 ? s->seconds : 1e-9),
            s->tokens / 1e6 / (s->seconds > 0 ? s->seconds : 1e-9));
}

static int write_manifest(const char *dir, const pt_pack_opts *o, pt_hash128 corpus_h, pt_hash128 th,
                          const pt_pack_report *r, pt_err *e) {
    pt_buf b = {0};
    char hex[33];
    int rc = pt_buf_printf(&b, e, "{\n  \"format\": \"%s\",\n  \"format_version\": %d,\n  \"parrot_version\": ",
                           PT_PACK_FORMAT, PT_PACK_VERSION);
    if (!rc) rc = pt_jsonw_cstr(&b, o->version ? o->version : "", e);
    if (!rc) rc = pt_buf_printf(&b, e, ",\n  \"command\": ");
    if (!rc) rc = pt_jsonw_cstr(&b, o->command ? o->command : "", e);
    if (!rc) rc = pt_buf_printf(&b, e, ",\n  \"corpus\": {\"path\": ");
    if (!rc) rc = pt_jsonw_cstr(&b, o->corpus_dir, e);
    pt_hash128_hex(corpus_h, hex);
    if (!rc) rc = pt_buf_printf(&b, e, ", \"manifest_hash\": \"%s\"},\n  \"tokenizer\": {\"path\": ", hex);
    if (!rc) rc = pt_jsonw_cstr(&b, o->tokenizer_path, e);
    pt_hash128_hex(th, hex);
    if (!rc)
        rc = pt_buf_printf(&b, e, ", \"file\": \"tokenizer.json\", \"hash\": \"%s\", \"vocab_size\": %u, "
                           "\"eot_id\": %u, \"token_bytes\": %u},\n  \"splits\": {", hex, r->vocab_size, r->eot,
                           r->width);
    for (int k = 0; k < 2 && !rc; k++) {
        const pt_pack_split *s = &r->split[k];
        rc = pt_buf_printf(&b, e, "%s\n    \"%s\": {\"docs\": %" PRIu64 ", \"tokens\": %" PRIu64 ", \"bytes\": %" PRIu64
                           ", \"chars\": %" PRIu64 ", \"chars_per_token\": ", k ? "," : "", SPLITS[k], s->docs,
                           s->tokens, s->bytes, s->chars);
        if (!rc) rc = pt_jsonw_double(&b, s->tokens ? (double)s->chars / (double)s->tokens : 0.0, e);
        if (!rc) rc = pt_buf_printf(&b, e, ", \"shards\": %u, \"seconds\": %.3f}", s->shards, s->seconds);
    }
    if (!rc) rc = pt_buf_printf(&b, e, "\n  },\n  \"seconds\": %.3f\n}\n", r->seconds);
    char *path = rc ? NULL : pt_path_join(dir, "manifest.json");
    if (!rc && !path) rc = pt_fail(e, PT_ENOMEM, "out of memory");
    if (!rc) rc = pt_fs_write_atomic(path, b.data, b.len, e);
    free(path);
    pt_buf_free(&b);
    return rc;
}

typedef struct save_job {
    const pt_bpe *t;
    char *path;
} save_job;

static int save_tokenizer(void *ctx, pt_err *e) {
    save_job *j = ctx;
    return pt_bpe_save_hf(j->t, j->path, e);
}

static int pack_into(const pt_pack_opts *o, const char *tmp, pt_pack_report *r, pt_err *e) {
    double t0 = pt_now();
    pt_buf man = {0};
    PT_TRY(pt_manifest_read(o->corpus_dir, &man, e));
    pt_hash128 corpus_h = pt_hash128_of(man.data, man.len, 0);
    pt_buf_free(&man);
    pt_bpe *t = NULL;
    PT_TRY(pt_bpe_load(&t, o->tokenizer_path, e));
    int rc = PT_OK;
    uint32_t eot = pt_bpe_lookup(t, PT_PACK_EOT_TEXT, strlen(PT_PACK_EOT_TEXT));
    if (eot == PT_BPE_NONE)
        rc = pt_fail(e, PT_EUSAGE, "%s: the tokenizer has no \"%s\" token to end documents with", o->tokenizer_path,
                     PT_PACK_EOT_TEXT);
    pt_hash128 th = pt_bpe_hash(t);
    r->vocab_size = pt_bpe_vocab_size(t);
    r->eot = eot;
    r->width = r->vocab_size <= 65536 ? 2 : 4;
    pt_bpe_many *m = rc ? NULL : pt_bpe_many_new(t, o->threads, 0, e);
    if (!rc && !m) rc = e->code ? e->code : PT_ENOMEM;
    if (!rc) rc = pt_fs_mkdir_p(tmp, e);
    /* train, then valid; train's writer commits its last shard while valid is encoded */
    split_run runs[2];
    memset(runs, 0, sizeof runs);
    /* the copy of the tokenizer is written by train's writer thread while the first batch is
     * encoded */
    save_job sj = {t, rc ? NULL : pt_path_join(tmp, "tokenizer.json")};
    if (!rc && !sj.path) rc = pt_fail(e, PT_ENOMEM, "out of memory");
    runs[0].pre = save_tokenizer, runs[0].pre_ctx = &sj;
    int started[2] = {0, 0}, rcs[2] = {PT_OK, PT_OK};
    for (int k = 0; k < 2 && !rc; k++) {
        started[k] = 1;
        rc = rcs[k] = split_start(&runs[k], o, m, r->vocab_size, eot, th, tmp, SPLITS[k], &r->split[k], e);
    }
    for (int k = 0; k < 2; k++) {
        if (!started[k]) continue;
        pt_err ek = {0};
        int rk = split_finish(&runs[k], rcs[k] ? rcs[k] : rc, &ek);
        if (rk && !rcs[k] && !rc) { /* the writer's failure */
            rc = rk;
            if (e) *e = ek;
        }
        if (!rk && !rc) split_info(SPLITS[k], &r->split[k]);
    }
    pt_bpe_many_free(m);
    free(sj.path);
    pt_bpe_free(t);
    r->seconds = pt_now() - t0;
    if (!rc) rc = write_manifest(tmp, o, corpus_h, th, r, e);
    return rc;
}

int pt_pack_run(const pt_pack_opts *o, pt_pack_report *rep, pt_err *e) {
    pt_pack_report local;
    pt_pack_report *r = rep ? rep : &local;
    memset(r, 0, sizeof *r);
    if (!o->corpus_dir || !o->tokenizer_path || !o->out_dir)
        return pt_fail(e, PT_EUSAGE, "pack: a corpus, a tokenizer and an output are required");
    if (pt_fs_exists(o->out_dir) && !o->force)
        return pt_fail(e, PT_EEXIST, "%s: already exists (use --force to replace it)", o->out_dir);
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-%ld", o->out_dir, (long)getpid()) < 0) return pt_fail(e, PT_ENOMEM, "out of memory");
    int rc = pt_fs_rm_rf(tmp, e);
    if (!rc) rc = pack_into(o, tmp, r, e);
    if (!rc && pt_fs_exists(o->out_dir)) rc = pt_fs_rm_rf(o->out_dir, e); /* force: the new one is complete */
    if (!rc && rename(tmp, o->out_dir)) rc = pt_fail_errno(e, PT_EIO, "%s: cannot rename to %s", tmp, o->out_dir);
    if (rc) pt_fs_rm_rf(tmp, NULL);
    free(tmp);
    return rc;
}
