/* test_safetensors.c - safetensors: element conversions (exhaustive for 16-bit, against the
 * F16C instruction for F32 -> F16), writer -> reader round trips with every kind of entry,
 * and a reader that refuses each malformed header with a message saying what is wrong.
 *
 *   test_safetensors                          the unit tests
 *   test_safetensors --write NP.st BF16.st    (for tests/e2e/safetensors.sh) two files from
 *                                             known data: numpy-loadable dtypes, and BF16
 *   test_safetensors --dump FILE              prints metadata and every tensor (see dump())
 */
#include <math.h>
#include <unistd.h>
#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "base/buf.h"
#include "base/fs.h"
#include "hf/safetensors.h"
#include "test.h"

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

/* The e2e data: float i of a tensor has the bits i * 2654435761 + salt (all kinds of floats:
 * NaNs, subnormals, huge values), the same formula as tools/st_check.py. */
static void make_src(float *x, size_t n, uint32_t salt) {
    for (size_t i = 0; i < n; i++) x[i] = u2f((uint32_t)i * 2654435761u + salt);
}

/* ---- conversions ------------------------------------------------------------------- */

TEST(st_f16_roundtrip_exhaustive) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = pt_st_f16_to_f32((uint16_t)h);
        uint16_t back = pt_st_f32_to_f16(f);
        int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff);
        if (nan) bad += !isnan(f) || back != (h | 0x200); /* NaN stays NaN, quieted */
        else bad += back != h;
    }
    CHECK(bad == 0);
    CHECK(pt_st_f16_to_f32(0x3c00) == 1.0f && pt_st_f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(pt_st_f16_to_f32(0x7bff) == 65504.0f && pt_st_f16_to_f32(0xfc00) == -INFINITY);
}

TEST(st_bf16_roundtrip_exhaustive) {
    int bad = 0;
    for (uint32_t b = 0; b < 65536; b++) {
        float f = pt_st_bf16_to_f32((uint16_t)b);
        uint16_t back = pt_st_f32_to_bf16(f);
        int nan = (b & 0x7f80) == 0x7f80 && (b & 0x7f);
        bad += nan ? (!isnan(f) || back != (b | 0x40)) : back != b;
    }
    CHECK(bad == 0);
}

TEST(st_rounding_to_nearest_even) {
    /* BF16: 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even (1); a bit more rounds up */
    CHECK_EQ_U64(pt_st_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
    CHECK_EQ_U64(pt_st_f32_to_bf16(1.0f + 0x1p-7f + 0x1p-8f), 0x3f82); /* odd -> up to even */
    CHECK_EQ_U64(pt_st_f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
    CHECK_EQ_U64(pt_st_f32_to_bf16(u2f(0x7f7fffff)), 0x7f80); /* FLT_MAX overflows to inf */
    CHECK_EQ_U64(pt_st_f32_to_bf16(-0.0f), 0x8000);
    /* F16 */
    CHECK_EQ_U64(pt_st_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
    CHECK_EQ_U64(pt_st_f32_to_f16(1.0f + 0x1p-10f + 0x1p-11f), 0x3c02);
    CHECK_EQ_U64(pt_st_f32_to_f16(65504.0f), 0x7bff);
    CHECK_EQ_U64(pt_st_f32_to_f16(65519.99f), 0x7bff);
    CHECK_EQ_U64(pt_st_f32_to_f16(65520.0f), 0x7c00);
    CHECK_EQ_U64(pt_st_f32_to_f16(0x1p-25f), 0x0000);          /* tie between 0 and 2^-24: even */
    CHECK_EQ_U64(pt_st_f32_to_f16(0x1p-25f + 0x1p-40f), 0x0001);
    CHECK_EQ_U64(pt_st_f32_to_f16(-0x1.ff8p-15f), 0x83ff);     /* the largest subnormal */
    CHECK_EQ_U64(pt_st_f32_to_f16(-0x1.ffcp-15f), 0x8400);     /* a tie rounding up to the smallest normal */
    CHECK_EQ_U64(pt_st_f32_to_f16(1e-30f), 0);
    CHECK_EQ_U64(pt_st_f32_to_f16(NAN) & 0x7e00, 0x7e00);
}

TEST(st_f16_matches_hardware) {
#if defined(__F16C__)
    /* every 61st float (all exponents, many mantissas) against the F16C instruction */
    int bad = 0;
    for (uint64_t u = 0; u < (1ull << 32); u += 61) {
        float f = u2f((uint32_t)u);
        uint16_t want = (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
        uint16_t got = pt_st_f32_to_f16(f);
        if (got != want && !(isnan(f) && (got & 0x7e00) == 0x7e00)) bad++;
    }
    CHECK(bad == 0);
#else
    printf("  (no F16C in this build: skipped)\n");
#endif
}

/* ---- round trips ------------------------------------------------------------------- */

static char *tmpdir(void) {
    char *d = strdup("/tmp/pt-st-XXXXXX");
    return mkdtemp(d) ? d : NULL;
}

TEST(st_roundtrip_every_kind) {
    char *dir = tmpdir();
    char *path = pt_path_join(dir, "m.safetensors");
    pt_err e = {0};
    float a[12], tr[6 * 5];
    make_src(a, 12, 7);
    for (int i = 0; i < 30; i++) tr[i] = (float)i * 0.5f - 3.0f;
    int64_t i64[5] = {-1, 0, 1, INT64_MAX, INT64_MIN};
    uint8_t bools[3] = {1, 0, 1};
    uint16_t f16raw[4] = {0x3c00, 0xc000, 0x7c00, 0x0001};
    float scalar = 3.25f;
    uint8_t f4[2] = {0x12, 0x34};
    pt_st_writer *w;
    CHECK_OK(pt_st_writer_new(&w, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "a", PT_ST_F32, 2, (int64_t[]){3, 4}, a, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "ints", PT_ST_I64, 1, (int64_t[]){5}, i64, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "flags", PT_ST_BOOL, 1, (int64_t[]){3}, bools, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "half", PT_ST_F16, 2, (int64_t[]){2, 2}, f16raw, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "scalar", PT_ST_F32, 0, NULL, &scalar, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "empty", PT_ST_F32, 2, (int64_t[]){0, 3}, NULL, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "nibbles", PT_ST_F4, 1, (int64_t[]){4}, f4, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "a.bf16", PT_ST_BF16, 2, (int64_t[]){3, 4}, a, 0, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "a.f16", PT_ST_F16, 1, (int64_t[]){12}, a, 0, &e), &e);
    /* tr holds [6, 5]; written as its transpose [5, 6] */
    CHECK_OK(pt_st_writer_add_f32(w, "t", PT_ST_F32, 2, (int64_t[]){5, 6}, tr, PT_ST_TRANSPOSE, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "t.bf16", PT_ST_BF16, 2, (int64_t[]){5, 6}, tr, PT_ST_TRANSPOSE, &e), &e);
    CHECK_OK(pt_st_writer_meta(w, "format", "pt", &e), &e);
    CHECK_OK(pt_st_writer_meta(w, "quote\"d \xc3\xa9", "line\nbreak", &e), &e);
    CHECK_OK(pt_st_writer_meta(w, "format", "np", &e), &e); /* replaces */
    CHECK_OK(pt_st_writer_write(w, path, &e), &e);
    pt_st_writer_free(w);

    pt_st *f = NULL;
    CHECK_OK(pt_st_open(&f, path, &e), &e);
    if (!f) return;
    CHECK_EQ_U64(pt_st_count(f), 11);
    const char *order[] = {"a", "ints", "flags", "half", "scalar", "empty", "nibbles", "a.bf16", "a.f16", "t", "t.bf16"};
    for (int i = 0; i < 11; i++) CHECK_STR(pt_st_at(f, (size_t)i)->name, order[i]);
    CHECK(pt_st_at(f, 11) == NULL);
    const pt_st_tensor *t = pt_st_find(f, "a");
    CHECK(t && t->dtype == PT_ST_F32 && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 4 && t->numel == 12);
    CHECK(t && t->nbytes == 48 && !memcmp(t->data, a, 48) && ((uintptr_t)t->data & 7) == 0);
    t = pt_st_find(f, "ints");
    CHECK(t && t->dtype == PT_ST_I64 && !memcmp(t->data, i64, 40));
    t = pt_st_find(f, "flags");
    CHECK(t && t->dtype == PT_ST_BOOL && t->nbytes == 3 && !memcmp(t->data, bools, 3));
    t = pt_st_find(f, "scalar");
    CHECK(t && t->ndim == 0 && t->numel == 1 && t->nbytes == 4);
    t = pt_st_find(f, "empty");
    CHECK(t && t->ndim == 2 && t->numel == 0 && t->nbytes == 0 && t->shape[0] == 0 && t->shape[1] == 3);
    t = pt_st_find(f, "nibbles");
    CHECK(t && t->dtype == PT_ST_F4 && t->numel == 4 && t->nbytes == 2 && !memcmp(t->data, f4, 2));
    float out[64];
    t = pt_st_find(f, "half");
    CHECK_OK(pt_st_to_f32(t, out, 0, &e), &e);
    CHECK(out[0] == 1.0f && out[1] == -2.0f && out[2] == INFINITY && out[3] == 0x1p-24f);
    t = pt_st_find(f, "a.bf16");
    CHECK(t && t->dtype == PT_ST_BF16 && t->nbytes == 24);
    CHECK_OK(pt_st_to_f32(t, out, 0, &e), &e);
    int bad = 0;
    for (int i = 0; i < 12; i++)
        bad += isnan(a[i]) ? !isnan(out[i]) : f2u(out[i]) != (uint32_t)pt_st_f32_to_bf16(a[i]) << 16;
    t = pt_st_find(f, "a.f16");
    CHECK_OK(pt_st_to_f32(t, out, 0, &e), &e);
    for (int i = 0; i < 12; i++)
        bad += isnan(a[i]) ? !isnan(out[i]) : out[i] != pt_st_f16_to_f32(pt_st_f32_to_f16(a[i]));
    t = pt_st_find(f, "t");
    CHECK(t && t->shape[0] == 5 && t->shape[1] == 6);
    CHECK_OK(pt_st_to_f32(t, out, 0, &e), &e);
    for (int r = 0; r < 5; r++)
        for (int c = 0; c < 6; c++) bad += out[r * 6 + c] != tr[c * 5 + r];
    CHECK_OK(pt_st_to_f32(t, out, PT_ST_TRANSPOSE, &e), &e); /* transposed back: the source */
    bad += memcmp(out, tr, sizeof tr) != 0;
    CHECK_OK(pt_st_to_f32(pt_st_find(f, "t.bf16"), out, PT_ST_TRANSPOSE, &e), &e);
    bad += memcmp(out, tr, sizeof tr) != 0; /* these values are exact in bf16 */
    CHECK(bad == 0);
    CHECK(pt_st_to_f32(pt_st_find(f, "ints"), out, 0, &e) == PT_EUSAGE && strstr(e.msg, "'ints'"));
    CHECK(pt_st_to_f32(pt_st_find(f, "half"), out, 0, &e) == PT_OK);
    CHECK(pt_st_to_f32(pt_st_find(f, "a.f16"), out, PT_ST_TRANSPOSE, &e) == PT_EUSAGE);
    CHECK(pt_st_find(f, "nope") == NULL && pt_st_find(f, "") == NULL);
    CHECK_STR(pt_st_meta(f, "format"), "np");
    CHECK_STR(pt_st_meta(f, "quote\"d \xc3\xa9"), "line\nbreak");
    CHECK(pt_st_meta(f, "other") == NULL);
    CHECK_EQ_U64(pt_st_meta_count(f), 2);
    const char *v;
    CHECK_STR(pt_st_meta_at(f, 0, &v), "format");
    CHECK_STR(v, "np");
    CHECK(pt_st_meta_at(f, 2, &v) == NULL && v == NULL);
    pt_st_close(f);
    /* the header size is a multiple of 8, the header starts with the metadata */
    pt_buf b = {0};
    CHECK_OK(pt_fs_read_all(path, &b, &e), &e);
    uint64_t hn;
    memcpy(&hn, b.data, 8);
    CHECK(hn % 8 == 0 && !strncmp(b.data + 8, "{\"__metadata__\":{", 17));
    pt_buf_free(&b);
    free(path);
    CHECK_OK(pt_fs_rm_rf(dir, &e), &e);
    free(dir);
}

TEST(st_chunked_conversion) {
    /* tensors larger than the 1 MB conversion chunk, a row longer than a chunk, transposed */
    char *dir = tmpdir();
    char *path = pt_path_join(dir, "big.safetensors");
    pt_err e = {0};
    enum { R = 700, C = 900, LONG = 300001 };
    float *src = malloc(sizeof(float) * R * C), *lng = malloc(sizeof(float) * 2 * LONG);
    float *out = malloc(sizeof(float) * (R * C > 2 * LONG ? R * C : 2 * LONG));
    for (size_t i = 0; i < (size_t)R * C; i++) src[i] = (float)(i % 509) - 254.0f;
    for (size_t i = 0; i < 2 * (size_t)LONG; i++) lng[i] = (float)(i % 777) - 300.0f;
    pt_st_writer *w;
    CHECK_OK(pt_st_writer_new(&w, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "bf", PT_ST_BF16, 2, (int64_t[]){R, C}, src, 0, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "tr", PT_ST_F16, 2, (int64_t[]){C, R}, src, PT_ST_TRANSPOSE, &e), &e);
    CHECK_OK(pt_st_writer_add_f32(w, "long", PT_ST_F32, 2, (int64_t[]){LONG, 2}, lng, PT_ST_TRANSPOSE, &e), &e);
    CHECK_OK(pt_st_writer_write(w, path, &e), &e);
    pt_st_writer_free(w);
    pt_st *f = NULL;
    CHECK_OK(pt_st_open(&f, path, &e), &e);
    if (!f) return;
    CHECK_OK(pt_st_to_f32(pt_st_find(f, "bf"), out, 0, &e), &e);
    CHECK(memcmp(out, src, sizeof(float) * R * C) == 0); /* integers below 256: exact in bf16 */
    CHECK_OK(pt_st_to_f32(pt_st_find(f, "tr"), out, PT_ST_TRANSPOSE, &e), &e);
    CHECK(memcmp(out, src, sizeof(float) * R * C) == 0);
    CHECK_OK(pt_st_to_f32(pt_st_find(f, "long"), out, PT_ST_TRANSPOSE, &e), &e);
    CHECK(memcmp(out, lng, sizeof(float) * 2 * LONG) == 0);
    pt_st_close(f);
    free(src), free(lng), free(out), free(path);
    CHECK_OK(pt_fs_rm_rf(dir, &e), &e);
    free(dir);
}

TEST(st_writer_refuses) {
    pt_err e = {0};
    float x[4] = {0};
    pt_st_writer *w;
    CHECK_OK(pt_st_writer_new(&w, &e), &e);
    CHECK_OK(pt_st_writer_add(w, "x", PT_ST_F32, 1, (int64_t[]){4}, x, &e), &e);
    CHECK(pt_st_writer_add(w, "x", PT_ST_F32, 1, (int64_t[]){4}, x, &e) == PT_EUSAGE && strstr(e.msg, "twice"));
    CHECK(pt_st_writer_add(w, "__metadata__", PT_ST_F32, 1, (int64_t[]){4}, x, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add(w, "y", PT_ST_F32, 9, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, x, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add(w, "y", PT_ST_F32, 1, (int64_t[]){-1}, x, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add(w, "y", PT_ST_F4, 1, (int64_t[]){3}, x, &e) == PT_EUSAGE); /* 12 bits */
    CHECK(pt_st_writer_add(w, "y", PT_ST_NDTYPES, 1, (int64_t[]){3}, x, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add(w, "y", PT_ST_F32, 1, (int64_t[]){3}, NULL, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add_f32(w, "y", PT_ST_I32, 1, (int64_t[]){4}, x, 0, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_add_f32(w, "y", PT_ST_F32, 1, (int64_t[]){4}, x, PT_ST_TRANSPOSE, &e) == PT_EUSAGE);
    CHECK(pt_st_writer_write(w, "/nonexistent-dir/x.safetensors", &e) == PT_EIO);
    CHECK(strstr(e.msg, "/nonexistent-dir/x.safetensors") != NULL);
    pt_st_writer_free(w);
    pt_st_writer_free(NULL);
    pt_st_close(NULL);
}

/* ---- malformed files --------------------------------------------------------------- */

/* Writes u64 hsize (or strlen(json) when hsize is ~0), json, then nbuf bytes; opens it. */
static int open_raw(const char *path, uint64_t hsize, const char *json, size_t nbuf, pt_err *e) {
    pt_buf b = {0};
    size_t jl = strlen(json);
    uint64_t n = hsize == ~(uint64_t)0 ? jl : hsize;
    pt_buf_append(&b, &n, 8, e);
    pt_buf_append(&b, json, jl, e);
    for (size_t i = 0; i < nbuf; i++) pt_buf_putc(&b, (char)i, e);
    pt_fs_write_atomic(path, b.data, b.len, e);
    pt_buf_free(&b);
    pt_st *f = NULL;
    int rc = pt_st_open(&f, path, e);
    CHECK((rc == 0) == (f != NULL));
    pt_st_close(f);
    return rc;
}

TEST(st_reader_refuses) {
    char *dir = tmpdir();
    char *p = pt_path_join(dir, "bad.safetensors");
    pt_err e = {0};
    const uint64_t J = ~(uint64_t)0;
    static const struct {
        uint64_t hsize;
        const char *json;
        size_t nbuf;
        const char *why;
    } cases[] = {
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, NULL}, /* the valid base */
        {J, "{}", 0, NULL},
        {J, "{\"__metadata__\":{\"k\":\"v\"}}   ", 0, NULL},
        {1000, "{}", 0, "header size 1000 exceeds the file"},
        {(uint64_t)1 << 40, "{}", 0, "too large"},
        {J, "[1,2]", 0, "does not start with '{'"},
        {J, "{\"a\":1,}", 0, "header: malformed JSON"},
        {J, "{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': unknown dtype \"F33\""},
        {J, "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor 'a': missing \"dtype\""},
        {J, "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "missing \"shape\""},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "missing \"data_offsets\""},
        {J, "{\"a\":[]}", 0, "entry is not an object"},
        {J, "{\"a\":{\"dtype\":5,\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype is not a string"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape[0] is not a non-negative"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8, "shape[0] is not a non-negative"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8, "shape is not an array"},
        {J, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1, "9 dimensions"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes but data_offsets [0, 8] span 8"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "0 <= begin <= end"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, "data_offsets is not"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "beyond the data (4 bytes)"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "cover 8 bytes of the 12-byte"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
         12, "tensor 'b' at data_offsets [4, 12] overlaps"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
         12, "tensor 'b' at data_offsets [8, 12] leaves a gap"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
         8, "tensor 'a' appears twice"},
        {J, "{\"a\\u0000b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "contains a NUL"},
        {J, "{\"__metadata__\":{\"k\":1}}", 0, "__metadata__ 'k': value is not a string"},
        {J, "{\"__metadata__\":[]}", 0, "__metadata__ is not an object"},
        {J, "{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}", 0, "__metadata__ 'k' appears twice"},
        {J, "{\"__metadata__\":{},\"__metadata__\":{}}", 0, "__metadata__ appears twice"},
        {J, "{\"a\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", 2, "not a whole number of bytes"},
        {J, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "shape too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memset(&e, 0, sizeof e);
        int rc = open_raw(p, cases[i].hsize, cases[i].json, cases[i].nbuf, &e);
        if (!cases[i].why) {
            if (rc) printf("  case %zu: %s\n", i, e.msg);
            CHECK(rc == 0);
            continue;
        }
        int good = rc == PT_EFORMAT && !strncmp(e.msg, p, strlen(p)) && strstr(e.msg, cases[i].why);
        if (!good) printf("  case %zu: rc %d, message \"%s\", expected \"%s\"\n", i, rc, e.msg, cases[i].why);
        CHECK(good);
    }
    /* too short to hold the size; missing */
    CHECK_OK(pt_fs_write_atomic(p, "abc", 3, &e), &e);
    pt_st *f = (pt_st *)1;
    CHECK(pt_st_open(&f, p, &e) == PT_EFORMAT && f == NULL && strstr(e.msg, "3 bytes: too short"));
    CHECK(pt_st_open(&f, "/nonexistent/x.safetensors", &e) == PT_EIO && strstr(e.msg, "/nonexistent/x.safetensors"));
    free(p);
    CHECK_OK(pt_fs_rm_rf(dir, &e), &e);
    free(dir);
}

/* ---- the e2e driver ---------------------------------------------------------------- */

static int write_e2e(const char *np_path, const char *bf_path) {
    pt_err e = {0};
    float a[3 * 4], h[100], tr[7 * 3], d32[6];
    double d64[5] = {1.5, -2.25, 1e300, 0.1, -0.0};
    int64_t i64[4] = {INT64_MIN, -1, 0, INT64_MAX};
    int32_t i32[3] = {-7, 0, 2147483647};
    uint8_t u8[5] = {0, 1, 127, 128, 255}, b[4] = {1, 0, 0, 1};
    float scalar = -1.75f;
    make_src(a, 12, 1);
    make_src(h, 100, 2);
    make_src(tr, 21, 3);
    make_src(d32, 6, 4);
    pt_st_writer *w;
    int rc = pt_st_writer_new(&w, &e);
    if (!rc) rc = pt_st_writer_add(w, "a", PT_ST_F32, 2, (int64_t[]){3, 4}, a, &e);
    if (!rc) rc = pt_st_writer_add_f32(w, "h.f16", PT_ST_F16, 2, (int64_t[]){10, 10}, h, 0, &e);
    if (!rc) rc = pt_st_writer_add_f32(w, "tr", PT_ST_F32, 2, (int64_t[]){3, 7}, tr, PT_ST_TRANSPOSE, &e);
    if (!rc) rc = pt_st_writer_add(w, "d", PT_ST_F64, 1, (int64_t[]){5}, d64, &e);
    if (!rc) rc = pt_st_writer_add(w, "i64", PT_ST_I64, 1, (int64_t[]){4}, i64, &e);
    if (!rc) rc = pt_st_writer_add(w, "i32", PT_ST_I32, 1, (int64_t[]){3}, i32, &e);
    if (!rc) rc = pt_st_writer_add(w, "u8", PT_ST_U8, 1, (int64_t[]){5}, u8, &e);
    if (!rc) rc = pt_st_writer_add(w, "b", PT_ST_BOOL, 2, (int64_t[]){2, 2}, b, &e);
    if (!rc) rc = pt_st_writer_add(w, "scalar", PT_ST_F32, 0, NULL, &scalar, &e);
    if (!rc) rc = pt_st_writer_add(w, "empty", PT_ST_F32, 3, (int64_t[]){2, 0, 3}, NULL, &e);
    if (!rc) rc = pt_st_writer_meta(w, "format", "pt", &e);
    if (!rc) rc = pt_st_writer_meta(w, "note", "caf\xc3\xa9 \"quoted\"\n", &e);
    if (!rc) rc = pt_st_writer_write(w, np_path, &e);
    pt_st_writer_free(w);
    w = NULL;
    if (!rc) rc = pt_st_writer_new(&w, &e);
    if (!rc) rc = pt_st_writer_add_f32(w, "x.bf16", PT_ST_BF16, 2, (int64_t[]){10, 10}, h, 0, &e);
    if (!rc) rc = pt_st_writer_add_f32(w, "tr.bf16", PT_ST_BF16, 2, (int64_t[]){3, 7}, tr, PT_ST_TRANSPOSE, &e);
    if (!rc) rc = pt_st_writer_add(w, "d32", PT_ST_F32, 1, (int64_t[]){6}, d32, &e);
    if (!rc) rc = pt_st_writer_meta(w, "dtype", "bfloat16", &e);
    if (!rc) rc = pt_st_writer_write(w, bf_path, &e);
    pt_st_writer_free(w);
    if (rc) fprintf(stderr, "%s\n", e.msg);
    return rc ? 1 : 0;
}

/* One line per metadata entry ("meta KEY VALUE", escapes for newline) and per tensor:
 * "tensor NAME DTYPE [SHAPE] HEXBYTES [f32:HEXBITS,...]" (the f32 part for float dtypes). */
static int dump(const char *path) {
    pt_err e = {0};
    pt_st *f;
    if (pt_st_open(&f, path, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return 1;
    }
    for (size_t i = 0; i < pt_st_meta_count(f); i++) {
        const char *v, *k = pt_st_meta_at(f, i, &v);
        printf("meta %s ", k);
        for (; *v; v++) *v == '\n' ? printf("\\n") : putchar(*v);
        putchar('\n');
    }
    for (size_t i = 0; i < pt_st_count(f); i++) {
        const pt_st_tensor *t = pt_st_at(f, i);
        printf("tensor %s %s [", t->name, pt_st_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf("%s%" PRId64, d ? "," : "", t->shape[d]);
        printf("] ");
        for (uint64_t k = 0; k < t->nbytes; k++) printf("%02x", ((const unsigned char *)t->data)[k]);
        if (t->dtype == PT_ST_F32 || t->dtype == PT_ST_F16 || t->dtype == PT_ST_BF16 || t->dtype == PT_ST_F64) {
            float *out = malloc(sizeof(float) * (t->numel + 1));
            pt_st_to_f32(t, out, 0, &e);
            printf(" f32:");
            for (uint64_t k = 0; k < t->numel; k++) printf("%s%08x", k ? "," : "", f2u(out[k]));
            free(out);
        }
        putchar('\n');
    }
    pt_st_close(f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--write")) return write_e2e(argv[2], argv[3]);
    if (argc == 3 && !strcmp(argv[1], "--dump")) return dump(argv[2]);
    RUN(st_f16_roundtrip_exhaustive);
    RUN(st_bf16_roundtrip_exhaustive);
    RUN(st_rounding_to_nearest_even);
    RUN(st_f16_matches_hardware);
    RUN(st_roundtrip_every_kind);
    RUN(st_chunked_conversion);
    RUN(st_writer_refuses);
    RUN(st_reader_refuses);
    return TEST_DONE();
}
