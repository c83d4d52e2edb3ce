/* pack.c - `parrot pack`: corpus splits -> token shards (see pack.h). */
#include "data/pack.h"

#include <inttypes.h>
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
static const char *const SPLITS[2] = {"train", "valid"};

/* UTF-8 characters of p[0..n): the bytes that do not continue a sequence. */
static uint64_t count_chars(const char *p, uint64_t n) {
    uint64_t c = 0;
    for (uint64_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* Encodes one split of the store into token shards in dir. */
static int pack_split(const pt_pack_opts *o, pt_bpe_many *m, uint32_t vocab, uint32_t eot, pt_hash128 th,
                      const char *dir, const char *split, pt_pack_split *r, pt_err *e) {
    double t0 = pt_now();
    memset(r, 0, sizeof *r);
    pt_store *s = NULL;
    PT_TRY(pt_store_open(&s, o->corpus_dir, split, e));
    pt_tokens_writer *w = NULL;
    int rc = pt_tokens_writer_open(&w, dir, split, vocab, eot, th, o->shard_tokens, e);
    uint64_t n = pt_store_count(s);
    pt_bpe_text *docs = NULL;
    size_t cap_docs = 0;
    pt_bpe_ids ids = {0};
    uint32_t *one = NULL;
    size_t cap_one = 0;
    pt_progress pr;
    pt_progress_start(&pr, split, pt_store_content_bytes(s));
    for (uint64_t i = 0; !rc && i < n;) {
        if (o->cancel && *o->cancel) {
            rc = pt_fail(e, PT_EINTR, "interrupted");
            break;
        }
        /* a batch: documents up to BATCH_BYTES (at least one) */
        size_t nb = 0, bytes = 0;
        while (i + nb < n && (nb == 0 || bytes < BATCH_BYTES)) {
            if (nb == cap_docs) {
                size_t nc = cap_docs ? 2 * cap_docs : 1024;
                pt_bpe_text *nd = pt_realloc(docs, nc * sizeof *nd, e);
                if (!nd) { rc = PT_ENOMEM; break; }
                docs = nd;
                cap_docs = nc;
            }
            pt_doc d;
            pt_store_get(s, i + nb, &d);
            docs[nb].text = d.content ? d.content : "";
            docs[nb].len = d.content_len;
            bytes += d.content_len;
            nb++;
        }
        if (rc) break;
        rc = pt_bpe_many_encode(m, docs, nb, &ids, e);
        for (size_t k = 0; !rc && k < nb; k++) {
            size_t len = ids.off[k + 1] - ids.off[k];
            if (len + 1 > cap_one) {
                size_t nc = (len + 1) * 2;
                uint32_t *no = pt_realloc(one, nc * sizeof *no, e);
                if (!no) { rc = PT_ENOMEM; break; }
                one = no;
                cap_one = nc;
            }
            memcpy(one, ids.ids + ids.off[k], len * sizeof *one);
            one[len] = eot;
            rc = pt_tokens_writer_add(w, one, len + 1, e);
            r->chars += count_chars(docs[k].text, docs[k].len);
        }
        r->bytes += bytes;
        i += nb;
        pt_progress_update(&pr, i, r->bytes);
    }
    pt_progress_end(&pr, n, r->bytes);
    if (!rc) rc = pt_tokens_writer_close(w, &r->shards, &r->tokens, &r->docs, e);
    else pt_tokens_writer_abort(w);
    free(docs);
    free(one);
    pt_bpe_ids_free(&ids);
    pt_store_close(s);
    r->seconds = pt_now() - t0;
    return rc;
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
    for (int k = 0; k < 2 && !rc; k++) {
        rc = pack_split(o, m, r->vocab_size, eot, th, tmp, SPLITS[k], &r->split[k], e);
        if (!rc) {
            const pt_pack_split *s = &r->split[k];
            pt_info("%s: %" PRIu64 " documents, %" PRIu64 " tokens, %.3f chars/token, %u shard%s, %.2f s (%.2f MB/s, "
                    "%.2f M tokens/s)", SPLITS[k], s->docs, s->tokens, s->tokens ? (double)s->chars / s->tokens : 0.0,
                    s->shards, s->shards == 1 ? "" : "s", s->seconds, s->bytes / 1e6 / (s->seconds > 0 ? s->seconds : 1e-9),
                    s->tokens / 1e6 / (s->seconds > 0 ? s->seconds : 1e-9));
        }
    }
    pt_bpe_many_free(m);
    char *tj = rc ? NULL : pt_path_join(tmp, "tokenizer.json");
    if (!rc && !tj) rc = pt_fail(e, PT_ENOMEM, "out of memory");
    if (!rc) rc = pt_bpe_save_hf(t, tj, e);
    free(tj);
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
