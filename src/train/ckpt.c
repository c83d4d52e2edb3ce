/* ckpt.c - checkpoint files (see ckpt.h for the format). */
#include "train/ckpt.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/hash.h"
#include "base/jsonw.h"

#ifndef PT_VERSION
#define PT_VERSION "0.0.0"
#endif

#define HDR 128
static const char MAGIC[8] = {'P', 'R', 'T', 'C', 'K', 'P', 'T', 0};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

static void put32(unsigned char *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(unsigned char *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const unsigned char *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const unsigned char *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* ---- meta JSON -------------------------------------------------------------------------------- */

static void hex_of(char *out, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static int unhex(const char *hex, size_t len, void *out, size_t n) {
    if (len != 2 * n) return -1;
    unsigned char *b = out;
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        if (sscanf(hex + 2 * i, "%2x", &x) != 1) return -1;
        b[i] = (unsigned char)x;
    }
    return 0;
}

static int meta_json(pt_buf *b, const pt_ckpt_state *st, pt_err *e) {
    const pt_gpt2_config *c = &st->cfg;
    const pt_optim_cfg *o = &st->optim;
    char pos_hex[2 * sizeof(pt_loader_pos) + 1];
    hex_of(pos_hex, &st->pos, sizeof st->pos);
    PT_TRY(pt_buf_printf(b, e,
                         "{\"format\": \"parrot-checkpoint\", \"version\": %u, \"parrot_version\": \"%s\",\n"
                         " \"config\": {\"n_layer\": %d, \"n_embd\": %d, \"n_head\": %d, \"n_positions\": %d, "
                         "\"vocab_size\": %d, \"scale_attn_by_inverse_layer_idx\": %s, "
                         "\"reorder_and_upcast_attn\": %s},\n \"optim\": {",
                         PT_CKPT_VERSION, PT_VERSION, c->n_layer, c->n_embd, c->n_head, c->n_positions, c->vocab_size,
                         c->scale_attn_by_inverse_layer_idx ? "true" : "false",
                         c->reorder_and_upcast_attn ? "true" : "false"));
    const struct { const char *k; double v; } od[] = {{"lr", o->lr},       {"min_lr", o->min_lr},
                                                       {"beta1", o->beta1}, {"beta2", o->beta2},
                                                       {"eps", o->eps},     {"weight_decay", o->weight_decay},
                                                       {"grad_clip", o->grad_clip}};
    for (size_t i = 0; i < sizeof od / sizeof od[0]; i++) {
        PT_TRY(pt_jsonw_key(b, od[i].k, e));
        PT_TRY(pt_jsonw_double(b, od[i].v, e));
        PT_TRY(pt_buf_printf(b, e, ", "));
    }
    PT_TRY(pt_buf_printf(b, e,
                         "\"warmup_steps\": %" PRId64 ", \"max_steps\": %" PRId64 "},\n"
                         " \"train\": {\"batch_size\": %d, \"seq_len\": %d, \"grad_accum\": %d, \"nranks\": %d, "
                         "\"seed\": \"%" PRIu64 "\"},\n"
                         " \"step\": %" PRId64 ", \"tokens\": %" PRIu64 ", \"loader_pos\": %s%s%s, \"loss\": ",
                         o->warmup_steps, o->max_steps, st->batch_size, st->seq_len, st->grad_accum, st->nranks,
                         st->seed, st->step, st->tokens, st->has_pos ? "\"" : "", st->has_pos ? pos_hex : "null",
                         st->has_pos ? "\"" : ""));
    PT_TRY(pt_jsonw_double(b, st->loss, e));
    PT_TRY(pt_buf_printf(b, e, ", \"eval_loss\": "));
    PT_TRY(pt_jsonw_double(b, st->eval_loss, e));
    PT_TRY(pt_buf_printf(b, e, ", \"data\": "));
    if (st->data) PT_TRY(pt_jsonw_cstr(b, st->data, e));
    else PT_TRY(pt_buf_printf(b, e, "null"));
    PT_TRY(pt_buf_printf(b, e, ",\n \"stream\": ["));
    for (int i = 0; i < st->nstream; i++) {
        if (i) PT_TRY(pt_buf_printf(b, e, ", "));
        PT_TRY(pt_jsonw_cstr(b, st->stream[i], e));
    }
    PT_TRY(pt_buf_printf(b, e, "], \"tokenizer\": "));
    if (st->tokenizer_path) PT_TRY(pt_jsonw_cstr(b, st->tokenizer_path, e));
    else PT_TRY(pt_buf_printf(b, e, "null"));
    /* the ranks' streaming positions back to back, in rank order, as one hex string */
    PT_TRY(pt_buf_printf(b, e, ", \"stream_pos\": %s", st->has_stream_pos ? "\"" : "null"));
    for (int i = 0; st->has_stream_pos && i < st->nspos; i++) {
        char spos_hex[2 * sizeof(pt_loader_stream_pos) + 1];
        hex_of(spos_hex, &st->spos[i], sizeof st->spos[i]);
        PT_TRY(pt_buf_printf(b, e, "%s", spos_hex));
    }
    return pt_buf_printf(b, e, "%s}\n", st->has_stream_pos ? "\"" : "");
}

static int get_int(const pt_json *obj, const char *key, int64_t lo, int64_t hi, int64_t *out) {
    const pt_json *v = pt_json_get(obj, key);
    return v && pt_json_int64(v, out) && *out >= lo && *out <= hi ? 0 : -1;
}

static double get_num(const pt_json *obj, const char *key) {
    const pt_json *v = pt_json_get(obj, key);
    return pt_json_type(v) == PT_JSON_NUMBER ? pt_json_num(v) : NAN;
}

static int meta_parse(pt_ckpt *c, const char *path, pt_err *e) {
    pt_ckpt_state *st = &c->st;
    const pt_json *r = pt_json_root(c->meta), *cf = pt_json_get(r, "config"), *o = pt_json_get(r, "optim"),
                  *tr = pt_json_get(r, "train");
    size_t len;
    const char *fmt = pt_json_str(pt_json_get(r, "format"), &len);
    if (!fmt || strcmp(fmt, "parrot-checkpoint") || !cf || !o || !tr)
        return pt_fail(e, PT_EFORMAT, "%s: the metadata is not a parrot checkpoint's", path);
    int64_t v[12];
    if (get_int(cf, "n_layer", 1, 4096, &v[0]) || get_int(cf, "n_embd", 1, 1 << 28, &v[1]) ||
        get_int(cf, "n_head", 1, 1 << 20, &v[2]) || get_int(cf, "n_positions", 1, 1 << 20, &v[3]) ||
        get_int(cf, "vocab_size", 2, 1 << 30, &v[4]) || get_int(o, "warmup_steps", 0, INT64_MAX, &v[5]) ||
        get_int(o, "max_steps", 0, INT64_MAX, &v[6]) || get_int(tr, "batch_size", 1, INT32_MAX, &v[7]) ||
        get_int(tr, "seq_len", 1, INT32_MAX, &v[8]) || get_int(tr, "grad_accum", 1, INT32_MAX, &v[9]) ||
        get_int(tr, "nranks", 1, INT32_MAX, &v[10]) || get_int(r, "step", 0, INT64_MAX, &v[11]))
        return pt_fail(e, PT_EFORMAT, "%s: the metadata lacks a config, optimizer or training field", path);
    st->cfg = (pt_gpt2_config){(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4],
                               pt_json_bool(pt_json_get(cf, "scale_attn_by_inverse_layer_idx")) == 1,
                               pt_json_bool(pt_json_get(cf, "reorder_and_upcast_attn")) == 1};
    st->optim = (pt_optim_cfg){get_num(o, "lr"),    get_num(o, "min_lr"),       get_num(o, "beta1"),
                               get_num(o, "beta2"), get_num(o, "eps"),          get_num(o, "weight_decay"),
                               get_num(o, "grad_clip"), v[5], v[6]};
    st->batch_size = (int)v[7], st->seq_len = (int)v[8], st->grad_accum = (int)v[9], st->nranks = (int)v[10];
    st->step = v[11];
    const char *s = pt_json_str(pt_json_get(tr, "seed"), &len);
    st->seed = s ? strtoull(s, NULL, 10) : 0;
    int64_t tok;
    st->tokens = get_int(r, "tokens", 0, INT64_MAX, &tok) ? 0 : (uint64_t)tok;
    st->loss = get_num(r, "loss"), st->eval_loss = get_num(r, "eval_loss");
    st->data = pt_json_str(pt_json_get(r, "data"), &len);
    const char *hex = pt_json_str(pt_json_get(r, "loader_pos"), &len);
    st->has_pos = hex != NULL;
    if (hex && unhex(hex, len, &st->pos, sizeof st->pos))
        return pt_fail(e, PT_EFORMAT, "%s: malformed loader position", path);
    hex = pt_json_str(pt_json_get(r, "stream_pos"), &len);
    st->has_stream_pos = hex != NULL;
    if (hex) { /* one position per rank */
        const size_t one = 2 * sizeof(pt_loader_stream_pos);
        if (!len || len % one || len / one > INT32_MAX)
            return pt_fail(e, PT_EFORMAT, "%s: malformed streaming position", path);
        st->nspos = (int)(len / one);
        if (!(c->spos_v = pt_calloc((size_t)st->nspos, sizeof *c->spos_v, e))) return e->code;
        for (int i = 0; i < st->nspos; i++)
            if (unhex(hex + i * one, one, &c->spos_v[i], sizeof c->spos_v[i]))
                return pt_fail(e, PT_EFORMAT, "%s: malformed streaming position", path);
        st->spos = c->spos_v;
    }
    st->tokenizer_path = pt_json_str(pt_json_get(r, "tokenizer"), &len);
    const pt_json *sv = pt_json_get(r, "stream");
    size_t ns = pt_json_type(sv) == PT_JSON_ARRAY ? pt_json_len(sv) : 0;
    if (ns) {
        if (!(c->stream_v = pt_calloc(ns, sizeof *c->stream_v, e))) return e->code;
        for (size_t i = 0; i < ns; i++)
            if (!(c->stream_v[i] = pt_json_str(pt_json_at(sv, i), &len)))
                return pt_fail(e, PT_EFORMAT, "%s: malformed stream inputs", path);
        st->stream = c->stream_v, st->nstream = (int)ns;
    }
    pt_err e2 = {0};
    if (pt_gpt2_config_check(&st->cfg, &e2)) return pt_fail(e, PT_EFORMAT, "%s: %s", path, e2.msg);
    return PT_OK;
}

/* ---- write ------------------------------------------------------------------------------------ */

static int space_check(const char *path, uint64_t need, pt_err *e) {
    char *dir = strdup(path);
    if (!dir) return pt_fail(e, PT_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0; else strcpy(dir, ".");
    struct statvfs sv;
    int rc = PT_OK;
    if (!statvfs(dir[0] ? dir : "/", &sv)) {
        uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
        if (avail < need + (need >> 4) + (64u << 20))
            rc = pt_fail(e, PT_EIO, "%s: not enough free space for the checkpoint (%.1f MB needed, %.1f MB free)",
                         path, need / 1e6, avail / 1e6);
    }
    free(dir);
    return rc;
}

static int write_section(pt_afile *a, pt_hasher *h, const void *p, size_t n, pt_err *e) {
    static const unsigned char zero[64];
    PT_TRY(pt_afile_write(a, p, n, e));
    pt_hasher_update(h, p, n);
    size_t pad = align64(n) - n;
    PT_TRY(pt_afile_write(a, zero, pad, e));
    pt_hasher_update(h, zero, pad);
    return PT_OK;
}

/* The moments of a caller that holds them whole. */
typedef struct whole {
    const float *m, *v;
} whole;

static int fill_whole(void *ctx, int which, size_t off, size_t n, float *out, pt_err *e) {
    const whole *w = ctx;
    memcpy(out, (which ? w->v : w->m) + off, n * sizeof(float));
    (void)e;
    return PT_OK;
}

int pt_ckpt_write(const char *path, const pt_ckpt_state *st, const float *params, const float *m, const float *v,
                  size_t n, const char *tok, size_t tok_len, pt_err *e) {
    whole w = {m, v};
    return pt_ckpt_write_filled(path, st, params, m && v ? fill_whole : NULL, &w, n, tok, tok_len, e);
}

int pt_ckpt_write_filled(const char *path, const pt_ckpt_state *st, const float *params, pt_ckpt_fill fill,
                         void *ctx, size_t n, const char *tok, size_t tok_len, pt_err *e) {
    pt_buf meta = {0};
    pt_afile a = {0};
    float *piece = NULL;
    int rc = meta_json(&meta, st, e);
    if (rc) goto done;
    const uint32_t sections = fill ? 3 : 1;
    uint64_t total = HDR + align64(meta.len) + align64(tok_len) + sections * align64(n * sizeof(float));
    if ((rc = space_check(path, total, e)) || (rc = pt_afile_open(&a, path, e))) goto done;
    unsigned char hdr[HDR] = {0};
    if ((rc = pt_afile_write(&a, hdr, HDR, e))) goto done; /* patched at the end with the hash */
    pt_hasher h;
    pt_hasher_init(&h, 0);
    if ((rc = write_section(&a, &h, meta.data, meta.len, e)) || (rc = write_section(&a, &h, tok, tok_len, e)) ||
        (rc = write_section(&a, &h, params, n * sizeof(float), e)))
        goto done;
    if (sections == 3) { /* m then v, a piece at a time: the writer never needs them whole */
        if (!(piece = pt_malloc(PT_CKPT_FILL_PIECE * sizeof(float), e))) {
            rc = e->code;
            goto done;
        }
        for (int which = 0; which < 2 && !rc; which++) {
            for (size_t off = 0; off < n && !rc; off += PT_CKPT_FILL_PIECE) {
                size_t k = n - off < PT_CKPT_FILL_PIECE ? n - off : PT_CKPT_FILL_PIECE;
                if (!(rc = fill(ctx, which, off, k, piece, e))) rc = pt_afile_write(&a, piece, k * sizeof(float), e);
                if (!rc) pt_hasher_update(&h, piece, k * sizeof(float));
            }
            static const unsigned char zero[64];
            size_t pad = align64(n * sizeof(float)) - n * sizeof(float);
            if (!rc) rc = pt_afile_write(&a, zero, pad, e);
            if (!rc) pt_hasher_update(&h, zero, pad);
        }
        if (rc) goto done;
    }
    pt_hash128 sum = pt_hasher_final(&h);
    memcpy(hdr, MAGIC, 8);
    put32(hdr + 8, PT_CKPT_VERSION);
    put32(hdr + 12, HDR);
    put64(hdr + 16, meta.len);
    put64(hdr + 24, tok_len);
    put64(hdr + 32, n);
    put32(hdr + 40, sections);
    put64(hdr + 48, (uint64_t)st->step);
    memcpy(hdr + 56, &sum, 16);
    if ((rc = pt_afile_pwrite(&a, hdr, HDR, 0, e))) goto done;
    rc = pt_afile_commit(&a, e);
done:
    if (rc) pt_afile_abort(&a);
    pt_buf_free(&meta);
    free(piece);
    return rc;
}

/* ---- read ------------------------------------------------------------------------------------- */

void pt_ckpt_close(pt_ckpt *c) {
    pt_map_close(&c->map);
    pt_json_free(c->meta);
    free(c->stream_v);
    free(c->spos_v);
    free(c->path);
    memset(c, 0, sizeof *c);
}

static int open_ckpt(pt_ckpt *c, const char *arg, int verify, pt_err *e) {
    memset(c, 0, sizeof *c);
    PT_TRY(pt_ckpt_resolve(arg, &c->path, e));
    const char *path = c->path;
    int rc = pt_map_open(&c->map, path, e);
    if (rc) goto fail;
    const unsigned char *d = c->map.data;
    size_t size = c->map.size;
    if (size < HDR || memcmp(d, MAGIC, 8)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: not a parrot checkpoint (%s)", path, size < HDR ? "too short" : "wrong magic");
        goto fail;
    }
    if (get32(d + 8) != PT_CKPT_VERSION || get32(d + 12) != HDR) {
        rc = pt_fail(e, PT_EFORMAT, "%s: checkpoint format version %u, this parrot reads version %u", path,
                     get32(d + 8), PT_CKPT_VERSION);
        goto fail;
    }
    uint64_t meta_len = get64(d + 16), tok_len = get64(d + 24), n = get64(d + 32);
    uint32_t sections = get32(d + 40);
    if ((sections != 1 && sections != 3) || meta_len > size || tok_len > size || n > size / sizeof(float) ||
        HDR + align64(meta_len) + align64(tok_len) + sections * align64(n * sizeof(float)) != size) {
        rc = pt_fail(e, PT_EFORMAT, "%s: truncated or corrupt checkpoint (the sizes in the header do not add up to "
                                    "the file's %zu bytes)", path, size);
        goto fail;
    }
    pt_hash128 want, got = verify ? pt_hash128_of(d + HDR, size - HDR, 0) : (pt_hash128){0, 0};
    memcpy(&want, d + 56, 16);
    if (verify && memcmp(&want, &got, sizeof want)) {
        rc = pt_fail(e, PT_EFORMAT, "%s: corrupt checkpoint (content hash mismatch)", path);
        goto fail;
    }
    const unsigned char *p = d + HDR;
    if ((rc = pt_json_parse((const char *)p, meta_len, &c->meta, e))) {
        pt_err_prefix(e, "%s: checkpoint metadata", path);
        goto fail;
    }
    if ((rc = meta_parse(c, path, e))) goto fail;
    p += align64(meta_len);
    c->tok = (const char *)p, c->tok_len = tok_len;
    p += align64(tok_len);
    pt_gpt2_tensor t[PT_GPT2_NTENSORS];
    if (pt_gpt2_layout(&c->st.cfg, t) != n) {
        rc = pt_fail(e, PT_EFORMAT, "%s: %" PRIu64 " parameters stored, the config needs %zu", path, n,
                     pt_gpt2_layout(&c->st.cfg, t));
        goto fail;
    }
    c->n = n;
    c->params = (const float *)p;
    if (sections == 3) {
        c->m = (const float *)(p + align64(n * sizeof(float)));
        c->v = (const float *)(p + 2 * align64(n * sizeof(float)));
    }
    return PT_OK;
fail:
    pt_ckpt_close(c);
    return rc;
}

int pt_ckpt_open(pt_ckpt *c, const char *arg, pt_err *e) { return open_ckpt(c, arg, 1, e); }
int pt_ckpt_open_unverified(pt_ckpt *c, const char *path, pt_err *e) { return open_ckpt(c, path, 0, e); }

/* ---- run folders ------------------------------------------------------------------------------ */

char *pt_ckpt_name(const char *run, int64_t step) {
    char name[64];
    snprintf(name, sizeof name, "ckpt-%08" PRId64 ".ckpt", step);
    return pt_path_join(run, name);
}

/* Steps of the checkpoints in run, ascending; *steps malloc'ed. */
static int list_steps(const char *run, int64_t **steps, size_t *count, pt_err *e) {
    *steps = NULL, *count = 0;
    DIR *d = opendir(run);
    if (!d) return pt_fail_errno(e, PT_EIO, "%s", run);
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        int64_t s;
        int end = 0;
        if (sscanf(de->d_name, "ckpt-%" SCNd64 ".ckpt%n", &s, &end) != 1 || de->d_name[end] || end == 0) continue;
        if (*count == cap) {
            int64_t *ns = pt_realloc(*steps, (cap = cap ? 2 * cap : 16) * sizeof **steps, e);
            if (!ns) { closedir(d); free(*steps); *steps = NULL; return e->code; }
            *steps = ns;
        }
        (*steps)[(*count)++] = s;
    }
    closedir(d);
    for (size_t i = 1; i < *count; i++) /* insertion sort: a run holds few */
        for (size_t j = i; j > 0 && (*steps)[j - 1] > (*steps)[j]; j--) {
            int64_t t = (*steps)[j]; (*steps)[j] = (*steps)[j - 1]; (*steps)[j - 1] = t;
        }
    return PT_OK;
}

int pt_ckpt_resolve(const char *path, char **out, pt_err *e) {
    *out = NULL;
    if (!pt_fs_is_dir(path)) {
        if (!pt_fs_exists(path)) return pt_fail(e, PT_EIO, "%s: no such checkpoint file or run folder", path);
        if (!(*out = strdup(path))) return pt_fail(e, PT_ENOMEM, "out of memory");
        return PT_OK;
    }
    int64_t *steps;
    size_t count;
    PT_TRY(list_steps(path, &steps, &count, e));
    if (count == 0) {
        free(steps);
        return pt_fail(e, PT_EIO, "%s: the run folder holds no checkpoint (ckpt-*.ckpt)", path);
    }
    *out = pt_ckpt_name(path, steps[count - 1]);
    free(steps);
    return *out ? PT_OK : pt_fail(e, PT_ENOMEM, "out of memory");
}

char *pt_ckpt_sidecar(const char *ckpt_path, const char *suffix) {
    size_t n = strlen(ckpt_path);
    if (n >= 5 && !strcmp(ckpt_path + n - 5, ".ckpt")) n -= 5;
    char *p = malloc(n + strlen(suffix) + 1);
    if (p) memcpy(p, ckpt_path, n), strcpy(p + n, suffix);
    return p;
}

int pt_ckpt_prune(const char *run, int keep, pt_err *e) {
    if (keep <= 0) return PT_OK;
    int64_t *steps;
    size_t count;
    PT_TRY(list_steps(run, &steps, &count, e));
    for (size_t i = 0; i + (size_t)keep < count; i++) {
        char *p = pt_ckpt_name(run, steps[i]), *rec = p ? pt_ckpt_sidecar(p, ".humaneval.json") : NULL;
        if (p && unlink(p)) pt_fail_errno(e, PT_EIO, "%s: cannot delete", p);
        if (rec) unlink(rec); /* its evaluation record, if any */
        free(p), free(rec);
    }
    free(steps);
    return PT_OK;
}

void pt_ckpt_clean_tmp(const char *run) {
    DIR *d = opendir(run);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "ckpt-", 5) || !strstr(de->d_name, ".ckpt.tmp-")) continue;
        char *p = pt_path_join(run, de->d_name);
        if (p) unlink(p);
        free(p);
    }
    closedir(d);
}
