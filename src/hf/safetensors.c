/* safetensors.c - see safetensors.h. */
#include "hf/safetensors.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/jsonw.h"

/* ---- dtypes ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    int bits;
} dtypes[PT_ST_NDTYPES] = {
    [PT_ST_BOOL] = {"BOOL", 8},         [PT_ST_U8] = {"U8", 8},
    [PT_ST_I8] = {"I8", 8},             [PT_ST_U16] = {"U16", 16},
    [PT_ST_I16] = {"I16", 16},          [PT_ST_F16] = {"F16", 16},
    [PT_ST_BF16] = {"BF16", 16},        [PT_ST_U32] = {"U32", 32},
    [PT_ST_I32] = {"I32", 32},          [PT_ST_F32] = {"F32", 32},
    [PT_ST_U64] = {"U64", 64},          [PT_ST_I64] = {"I64", 64},
    [PT_ST_F64] = {"F64", 64},          [PT_ST_C64] = {"C64", 64},
    [PT_ST_F8_E5M2] = {"F8_E5M2", 8},   [PT_ST_F8_E4M3] = {"F8_E4M3", 8},
    [PT_ST_F8_E8M0] = {"F8_E8M0", 8},   [PT_ST_F8_E4M3FNUZ] = {"F8_E4M3FNUZ", 8},
    [PT_ST_F8_E5M2FNUZ] = {"F8_E5M2FNUZ", 8},
    [PT_ST_F4] = {"F4", 4},             [PT_ST_F6_E2M3] = {"F6_E2M3", 6},
    [PT_ST_F6_E3M2] = {"F6_E3M2", 6},
};

const char *pt_st_dtype_name(int d) { return d >= 0 && d < PT_ST_NDTYPES ? dtypes[d].name : NULL; }
int pt_st_dtype_bits(int d) { return d >= 0 && d < PT_ST_NDTYPES ? dtypes[d].bits : 0; }
int pt_st_dtype_parse(const char *name) {
    for (int d = 0; d < PT_ST_NDTYPES; d++)
        if (!strcmp(dtypes[d].name, name)) return d;
    return -1;
}

/* numel and nbytes of a shape; 0 on overflow or when the bits do not end on a byte. */
static int shape_size(int dtype, int ndim, const int64_t *shape, uint64_t *numel, uint64_t *nbytes) {
    uint64_t n = 1, bits;
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0 || __builtin_mul_overflow(n, (uint64_t)shape[i], &n)) return 0;
    if (__builtin_mul_overflow(n, (uint64_t)pt_st_dtype_bits(dtype), &bits) || bits % 8) return 0;
    *numel = n;
    *nbytes = bits / 8;
    return 1;
}

/* ---- element conversions ----------------------------------------------------------- */

static uint32_t f2u(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float u2f(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float pt_st_bf16_to_f32(uint16_t b) { return u2f((uint32_t)b << 16); }

float pt_st_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) { /* zero or subnormal: mant * 2^-24, exact in a float */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return u2f(sign | 0x7f800000u | mant << 13);
    return u2f(sign | (exp + 112) << 23 | mant << 13);
}

uint16_t pt_st_f32_to_bf16(float f) {
    uint32_t x = f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(x >> 16 | 0x40); /* quiet NaN */
    return (uint16_t)((x + 0x7fffu + (x >> 16 & 1)) >> 16);               /* ties to even */
}

uint16_t pt_st_f32_to_f16(float f) {
    uint32_t x = f2u(f), sign = x >> 16 & 0x8000, a = x & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | (a & 0x7fffff) >> 13); /* quiet NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* >= 65520 (inf included): infinity */
    if (a < 0x38800000u) { /* below 2^-14: an f16 subnormal (or zero, or the smallest normal) */
        /* |f| * 2^24 is exact; rounding it to an integer in the default mode (to nearest
         * even) gives the subnormal's mantissa, 0x400 when it rounds up to the normal */
        return (uint16_t)(sign | (uint32_t)nearbyintf(u2f(a) * 0x1p24f));
    }
    uint32_t h = ((a >> 23) - 112) << 10 | (a & 0x7fffff) >> 13, rem = a & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; /* a carry into the exponent is right */
    return (uint16_t)(sign | h);
}

/* ---- reading ----------------------------------------------------------------------- */

struct pt_st {
    char *path;
    pt_map map;
    pt_json_doc *doc;
    pt_st_tensor *t;       /* buffer order */
    pt_st_tensor **byname; /* sorted by name */
    size_t n;
    const pt_json *meta;   /* the __metadata__ object, or NULL */
};

const char *pt_st_path(const pt_st *f) { return f->path; }
size_t pt_st_count(const pt_st *f) { return f->n; }
const pt_st_tensor *pt_st_at(const pt_st *f, size_t i) { return i < f->n ? &f->t[i] : NULL; }

const pt_st_tensor *pt_st_find(const pt_st *f, const char *name) {
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->byname[mid]->name, name);
        if (c == 0) return f->byname[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

const char *pt_st_meta(const pt_st *f, const char *key) { return pt_json_str(pt_json_get(f->meta, key), NULL); }
size_t pt_st_meta_count(const pt_st *f) { return pt_json_len(f->meta); }
const char *pt_st_meta_at(const pt_st *f, size_t i, const char **value) {
    const char *k = pt_json_key(f->meta, i, NULL);
    if (value) *value = k ? pt_json_str(pt_json_val(f->meta, i), NULL) : NULL;
    return k;
}

void pt_st_close(pt_st *f) {
    if (!f) return;
    pt_map_close(&f->map);
    pt_json_free(f->doc);
    free(f->t);
    free(f->byname);
    free(f->path);
    free(f);
}

static int by_offset(const void *a, const void *b) {
    const pt_st_tensor *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}
static int by_name(const void *a, const void *b) {
    return strcmp((*(pt_st_tensor *const *)a)->name, (*(pt_st_tensor *const *)b)->name);
}

/* A name shortened for messages (names are untrusted and may be huge). */
#define NAME_FMT "'%.200s%s'"
#define NAME_ARG(s) (s), strlen(s) > 200 ? "..." : ""

static int bad(pt_st *f, pt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(pt_st *f, pt_err *e, const char *fmt, ...) {
    char what[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return pt_fail(e, PT_EFORMAT, "%s: %s", f->path, what);
}

/* Fills *t from the header entry v named name; checks everything but the tiling. */
static int parse_entry(pt_st *f, const char *name, size_t nlen, const pt_json *v, uint64_t buflen,
                       pt_st_tensor *t, pt_err *e) {
    if (strlen(name) != nlen) return bad(f, e, "tensor " NAME_FMT ": the name contains a NUL", NAME_ARG(name));
    if (pt_json_type(v) != PT_JSON_OBJECT)
        return bad(f, e, "tensor " NAME_FMT ": entry is not an object", NAME_ARG(name));
    const pt_json *dt = pt_json_get(v, "dtype"), *sh = pt_json_get(v, "shape"), *of = pt_json_get(v, "data_offsets");
    if (!dt || !sh || !of)
        return bad(f, e, "tensor " NAME_FMT ": missing \"%s\"", NAME_ARG(name),
                   !dt ? "dtype" : !sh ? "shape" : "data_offsets");
    const char *dname = pt_json_str(dt, NULL);
    if (!dname) return bad(f, e, "tensor " NAME_FMT ": dtype is not a string", NAME_ARG(name));
    t->name = name;
    t->dtype = pt_st_dtype_parse(dname);
    if (t->dtype < 0) return bad(f, e, "tensor " NAME_FMT ": unknown dtype \"%.40s\"", NAME_ARG(name), dname);
    if (pt_json_type(sh) != PT_JSON_ARRAY)
        return bad(f, e, "tensor " NAME_FMT ": shape is not an array", NAME_ARG(name));
    if (pt_json_len(sh) > PT_ST_MAX_DIMS)
        return bad(f, e, "tensor " NAME_FMT ": %zu dimensions (at most %d)", NAME_ARG(name), pt_json_len(sh),
                   PT_ST_MAX_DIMS);
    t->ndim = (int)pt_json_len(sh);
    for (int i = 0; i < t->ndim; i++)
        if (!pt_json_int64(pt_json_at(sh, (size_t)i), &t->shape[i]) || t->shape[i] < 0)
            return bad(f, e, "tensor " NAME_FMT ": shape[%d] is not a non-negative integer", NAME_ARG(name), i);
    int64_t b, en;
    if (pt_json_type(of) != PT_JSON_ARRAY || pt_json_len(of) != 2 || !pt_json_int64(pt_json_at(of, 0), &b) ||
        !pt_json_int64(pt_json_at(of, 1), &en) || b < 0 || en < b)
        return bad(f, e, "tensor " NAME_FMT ": data_offsets is not [begin, end] with 0 <= begin <= end",
                   NAME_ARG(name));
    if ((uint64_t)en > buflen)
        return bad(f, e, "tensor " NAME_FMT ": data_offsets [%" PRId64 ", %" PRId64 "] beyond the data (%" PRIu64
                   " bytes): truncated file?", NAME_ARG(name), b, en, buflen);
    if (!shape_size(t->dtype, t->ndim, t->shape, &t->numel, &t->nbytes))
        return bad(f, e, "tensor " NAME_FMT ": shape too large or not a whole number of bytes for %s",
                   NAME_ARG(name), dname);
    if (t->nbytes != (uint64_t)(en - b))
        return bad(f, e, "tensor " NAME_FMT ": shape of %" PRIu64 " %s elements needs %" PRIu64
                   " bytes but data_offsets [%" PRId64 ", %" PRId64 "] span %" PRId64, NAME_ARG(name),
                   t->numel, dname, t->nbytes, b, en, en - b);
    t->offset = (uint64_t)b;
    return PT_OK;
}

static int parse(pt_st *f, pt_err *e) {
    const unsigned char *d = f->map.data;
    size_t size = f->map.size;
    if (size < 8) return bad(f, e, "%zu bytes: too short for a safetensors file (8-byte header size first)", size);
    uint64_t hn = 0;
    for (int i = 0; i < 8; i++) hn |= (uint64_t)d[i] << (8 * i);
    if (hn > PT_ST_MAX_HEADER) return bad(f, e, "header size %" PRIu64 " too large (limit %u)", hn, PT_ST_MAX_HEADER);
    if (hn > size - 8)
        return bad(f, e, "header size %" PRIu64 " exceeds the file (%zu bytes after the size): truncated?", hn,
                   size - 8);
    if (hn < 2 || d[8] != '{') return bad(f, e, "the header does not start with '{'");
    if (pt_json_parse((const char *)d + 8, hn, &f->doc, e)) return pt_err_prefix(e, "%s: header", f->path);
    const pt_json *root = pt_json_root(f->doc);
    if (pt_json_type(root) != PT_JSON_OBJECT) return bad(f, e, "the header is not a JSON object");
    uint64_t buflen = size - 8 - hn;
    size_t nm = pt_json_len(root);
    f->t = pt_calloc(nm ? nm : 1, sizeof *f->t, e);
    f->byname = pt_calloc(nm ? nm : 1, sizeof *f->byname, e);
    if (!f->t || !f->byname) return PT_ENOMEM;
    for (size_t i = 0; i < nm; i++) {
        size_t klen;
        const char *k = pt_json_key(root, i, &klen);
        const pt_json *v = pt_json_val(root, i);
        if (!strcmp(k, "__metadata__") && klen == 12) {
            if (f->meta) return bad(f, e, "__metadata__ appears twice");
            if (pt_json_type(v) != PT_JSON_OBJECT) return bad(f, e, "__metadata__ is not an object");
            for (size_t j = 0; j < pt_json_len(v); j++) {
                size_t mk, mv;
                const char *key = pt_json_key(v, j, &mk), *val = pt_json_str(pt_json_val(v, j), &mv);
                if (!val) return bad(f, e, "__metadata__ " NAME_FMT ": value is not a string", NAME_ARG(key));
                if (strlen(key) != mk || strlen(val) != mv)
                    return bad(f, e, "__metadata__ " NAME_FMT ": contains a NUL", NAME_ARG(key));
                for (size_t q = 0; q < j; q++)
                    if (!strcmp(pt_json_key(v, q, NULL), key))
                        return bad(f, e, "__metadata__ " NAME_FMT " appears twice", NAME_ARG(key));
            }
            f->meta = v;
            continue;
        }
        PT_TRY(parse_entry(f, k, klen, v, buflen, &f->t[f->n], e));
        f->n++;
    }
    for (size_t i = 0; i < f->n; i++) f->byname[i] = &f->t[i];
    qsort(f->byname, f->n, sizeof *f->byname, by_name);
    for (size_t i = 1; i < f->n; i++)
        if (!strcmp(f->byname[i - 1]->name, f->byname[i]->name))
            return bad(f, e, "tensor " NAME_FMT " appears twice", NAME_ARG(f->byname[i]->name));
    /* the tiling: sorted by offset, each tensor starts where the previous one ends (sorting
     * moves the tensors, so byname is rebuilt after) */
    qsort(f->t, f->n, sizeof *f->t, by_offset);
    uint64_t at = 0;
    for (size_t i = 0; i < f->n; i++) {
        pt_st_tensor *t = &f->t[i];
        if (t->offset != at)
            return bad(f, e, "tensor " NAME_FMT " at data_offsets [%" PRIu64 ", %" PRIu64 "] %s (%" PRIu64 ")",
                       NAME_ARG(t->name), t->offset, t->offset + t->nbytes,
                       t->offset < at ? "overlaps the previous tensor, which ends at" : "leaves a gap after the previous tensor's end", at);
        at += t->nbytes;
        t->data = d + 8 + hn + t->offset;
    }
    if (at != buflen)
        return bad(f, e, "the tensors cover %" PRIu64 " bytes of the %" PRIu64 "-byte data buffer", at, buflen);
    for (size_t i = 0; i < f->n; i++) f->byname[i] = &f->t[i];
    qsort(f->byname, f->n, sizeof *f->byname, by_name);
    return PT_OK;
}

int pt_st_open(pt_st **out, const char *path, pt_err *e) {
    *out = NULL;
    pt_st *f = pt_calloc(1, sizeof *f, e);
    if (!f) return PT_ENOMEM;
    f->path = strdup(path);
    int rc = f->path ? PT_OK : pt_fail(e, PT_ENOMEM, "%s: out of memory", path);
    if (!rc) rc = pt_map_open(&f->map, path, e);
    if (!rc) rc = parse(f, e);
    if (rc) {
        pt_st_close(f);
        return rc;
    }
    *out = f;
    return PT_OK;
}

/* ---- conversion to f32 ----------------------------------------------------------- */

static float load_elem(const unsigned char *p, int dtype) {
    switch (dtype) {
    case PT_ST_F32: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    case PT_ST_F64: {
        double v;
        memcpy(&v, p, 8);
        return (float)v;
    }
    default: {
        uint16_t h;
        memcpy(&h, p, 2);
        return dtype == PT_ST_F16 ? pt_st_f16_to_f32(h) : pt_st_bf16_to_f32(h);
    }
    }
}

int pt_st_to_f32(const pt_st_tensor *t, float *out, unsigned flags, pt_err *e) {
    int d = t->dtype;
    if (d != PT_ST_F32 && d != PT_ST_F16 && d != PT_ST_BF16 && d != PT_ST_F64)
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": %s cannot be converted to F32", NAME_ARG(t->name),
                       pt_st_dtype_name(d));
    const unsigned char *s = t->data;
    size_t w = (size_t)pt_st_dtype_bits(d) / 8;
    if (!(flags & PT_ST_TRANSPOSE)) {
        if (d == PT_ST_F32) {
            if (t->nbytes) memcpy(out, s, t->nbytes);
        } else {
            for (uint64_t i = 0; i < t->numel; i++) out[i] = load_elem(s + i * w, d);
        }
        return PT_OK;
    }
    if (t->ndim != 2)
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": transposing needs 2 dimensions, not %d", NAME_ARG(t->name),
                       t->ndim);
    /* out [C, R] from data [R, C], in 64x64 tiles so that both sides stay in cache */
    size_t R = (size_t)t->shape[0], C = (size_t)t->shape[1];
    for (size_t i0 = 0; i0 < R; i0 += 64)
        for (size_t j0 = 0; j0 < C; j0 += 64)
            for (size_t i = i0; i < R && i < i0 + 64; i++)
                for (size_t j = j0; j < C && j < j0 + 64; j++) out[j * R + i] = load_elem(s + (i * C + j) * w, d);
    return PT_OK;
}

/* ---- writing ----------------------------------------------------------------------- */

typedef struct entry {
    char *name;
    int dtype, ndim;
    int64_t shape[PT_ST_MAX_DIMS];
    uint64_t numel, nbytes;
    const void *data;
    int from_f32;   /* data is float, converted to dtype on the way */
    unsigned flags; /* PT_ST_TRANSPOSE */
} entry;

struct pt_st_writer {
    entry *ent;
    size_t n, cap;
    char **mkey, **mval;
    size_t nmeta;
};

int pt_st_writer_new(pt_st_writer **w, pt_err *e) {
    *w = pt_calloc(1, sizeof **w, e);
    return *w ? PT_OK : PT_ENOMEM;
}

void pt_st_writer_free(pt_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n; i++) free(w->ent[i].name);
    for (size_t i = 0; i < w->nmeta; i++) free(w->mkey[i]), free(w->mval[i]);
    free(w->ent);
    free(w->mkey);
    free(w->mval);
    free(w);
}

static int add(pt_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape, const void *data,
               int from_f32, unsigned flags, pt_err *e) {
    if (!name || !strcmp(name, "__metadata__"))
        return pt_fail(e, PT_EUSAGE, "safetensors: \"%s\" cannot name a tensor", name ? name : "(null)");
    if (!pt_st_dtype_name(dtype)) return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": bad dtype %d", NAME_ARG(name), dtype);
    if (ndim < 0 || ndim > PT_ST_MAX_DIMS)
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": %d dimensions (0..%d)", NAME_ARG(name), ndim, PT_ST_MAX_DIMS);
    if ((flags & PT_ST_TRANSPOSE) && ndim != 2)
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": transposing needs 2 dimensions", NAME_ARG(name));
    entry t = {.dtype = dtype, .ndim = ndim, .data = data, .from_f32 = from_f32, .flags = flags};
    for (int i = 0; i < ndim; i++) t.shape[i] = shape[i];
    if (!shape_size(dtype, ndim, t.shape, &t.numel, &t.nbytes))
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": negative or too large shape, or not a whole number of bytes",
                       NAME_ARG(name));
    if (t.nbytes && !data) return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": no data", NAME_ARG(name));
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->ent[i].name, name))
            return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT " added twice", NAME_ARG(name));
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        entry *p = pt_realloc(w->ent, cap * sizeof *p, e);
        if (!p) return PT_ENOMEM;
        w->ent = p, w->cap = cap;
    }
    if (!(t.name = strdup(name))) return pt_fail(e, PT_ENOMEM, "out of memory");
    w->ent[w->n++] = t;
    return PT_OK;
}

int pt_st_writer_add(pt_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                     const void *data, pt_err *e) {
    return add(w, name, dtype, ndim, shape, data, 0, 0, e);
}

int pt_st_writer_add_f32(pt_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                         const float *data, unsigned flags, pt_err *e) {
    if (dtype != PT_ST_F32 && dtype != PT_ST_BF16 && dtype != PT_ST_F16)
        return pt_fail(e, PT_EUSAGE, "tensor " NAME_FMT ": float data is written as F32, BF16 or F16, not %s",
                       NAME_ARG(name ? name : "(null)"), pt_st_dtype_name(dtype) ? pt_st_dtype_name(dtype) : "?");
    return add(w, name, dtype, ndim, shape, data, 1, flags, e);
}

int pt_st_writer_meta(pt_st_writer *w, const char *key, const char *value, pt_err *e) {
    char *v = strdup(value);
    if (!v) return pt_fail(e, PT_ENOMEM, "out of memory");
    for (size_t i = 0; i < w->nmeta; i++)
        if (!strcmp(w->mkey[i], key)) {
            free(w->mval[i]);
            w->mval[i] = v;
            return PT_OK;
        }
    char *k = strdup(key);
    char **nk = k ? realloc(w->mkey, (w->nmeta + 1) * sizeof *nk) : NULL;
    if (nk) w->mkey = nk;
    char **nv = nk ? realloc(w->mval, (w->nmeta + 1) * sizeof *nv) : NULL;
    if (nv) w->mval = nv;
    if (!nv) {
        free(k), free(v);
        return pt_fail(e, PT_ENOMEM, "out of memory");
    }
    w->mkey[w->nmeta] = k, w->mval[w->nmeta++] = v;
    return PT_OK;
}

static int header(const pt_st_writer *w, pt_buf *h, pt_err *e) {
    PT_TRY(pt_buf_putc(h, '{', e));
    if (w->nmeta) {
        PT_TRY(pt_jsonw_key(h, "__metadata__", e));
        PT_TRY(pt_buf_putc(h, '{', e));
        for (size_t i = 0; i < w->nmeta; i++) {
            if (i) PT_TRY(pt_buf_putc(h, ',', e));
            PT_TRY(pt_jsonw_key(h, w->mkey[i], e));
            PT_TRY(pt_jsonw_cstr(h, w->mval[i], e));
        }
        PT_TRY(pt_buf_putc(h, '}', e));
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n; i++) {
        const entry *t = &w->ent[i];
        if (i || w->nmeta) PT_TRY(pt_buf_putc(h, ',', e));
        PT_TRY(pt_jsonw_key(h, t->name, e));
        PT_TRY(pt_buf_printf(h, e, "{\"dtype\":\"%s\",\"shape\":[", pt_st_dtype_name(t->dtype)));
        for (int d = 0; d < t->ndim; d++) PT_TRY(pt_buf_printf(h, e, "%s%" PRId64, d ? "," : "", t->shape[d]));
        PT_TRY(pt_buf_printf(h, e, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + t->nbytes));
        off += t->nbytes;
    }
    PT_TRY(pt_buf_putc(h, '}', e));
    while (h->len % 8) PT_TRY(pt_buf_putc(h, ' ', e));
    return PT_OK;
}

#define CHUNK (1u << 18) /* floats per conversion chunk (1 MB) */

/* Writes one float tensor converted (and maybe transposed) through chunk. */
static int write_converted(pt_afile *a, const entry *t, float *fchunk, uint16_t *hchunk, pt_err *e) {
    const float *src = t->data;
    size_t rows = 1, cols = (size_t)t->numel; /* the output as rows x cols */
    if (t->flags & PT_ST_TRANSPOSE) rows = (size_t)t->shape[0], cols = (size_t)t->shape[1];
    if (!rows || !cols) return PT_OK;
    /* a block of whole output rows per chunk (or a piece of one row when rows are long) */
    size_t rb = cols >= CHUNK ? 1 : CHUNK / cols, cb = cols < CHUNK ? cols : CHUNK;
    for (size_t r0 = 0; r0 < rows; r0 += rb) {
        size_t nr = rows - r0 < rb ? rows - r0 : rb;
        for (size_t c0 = 0; c0 < cols; c0 += cb) {
            size_t nc = cols - c0 < cb ? cols - c0 : cb, n = nr * nc;
            const float *f = src + r0 * cols + c0;
            if (t->flags & PT_ST_TRANSPOSE) { /* out (r, c) = src[c * rows + r]: src read in runs of nr */
                for (size_t c = 0; c < nc; c++)
                    for (size_t r = 0; r < nr; r++) fchunk[r * nc + c] = src[(c0 + c) * rows + r0 + r];
                f = fchunk;
            }
            if (t->dtype == PT_ST_F32) {
                PT_TRY(pt_afile_write(a, f, n * 4, e));
                continue;
            }
            if (t->dtype == PT_ST_BF16)
                for (size_t i = 0; i < n; i++) hchunk[i] = pt_st_f32_to_bf16(f[i]);
            else
                for (size_t i = 0; i < n; i++) hchunk[i] = pt_st_f32_to_f16(f[i]);
            PT_TRY(pt_afile_write(a, hchunk, n * 2, e));
        }
    }
    return PT_OK;
}

static int write_all(const pt_st_writer *w, pt_afile *a, pt_err *e) {
    pt_buf h = {0};
    int rc = header(w, &h, e);
    unsigned char n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    if (!rc) rc = pt_afile_write(a, n8, 8, e);
    if (!rc) rc = pt_afile_write(a, h.data, h.len, e);
    pt_buf_free(&h);
    float *fchunk = NULL;
    uint16_t *hchunk = NULL;
    for (size_t i = 0; !rc && i < w->n; i++) {
        const entry *t = &w->ent[i];
        if (!t->from_f32 || (t->dtype == PT_ST_F32 && !(t->flags & PT_ST_TRANSPOSE))) {
            rc = pt_afile_write(a, t->data, t->nbytes, e);
            continue;
        }
        if (!fchunk && (!(fchunk = pt_malloc(CHUNK * sizeof *fchunk, e)) ||
                        !(hchunk = pt_malloc(CHUNK * sizeof *hchunk, e)))) {
            rc = PT_ENOMEM;
            break;
        }
        rc = write_converted(a, t, fchunk, hchunk, e);
    }
    free(fchunk);
    free(hchunk);
    return rc;
}

int pt_st_writer_write(pt_st_writer *w, const char *path, pt_err *e) {
    pt_afile a;
    PT_TRY(pt_afile_open(&a, path, e));
    int rc = write_all(w, &a, e);
    if (rc) {
        pt_afile_abort(&a);
        return rc;
    }
    return pt_afile_commit(&a, e);
}
