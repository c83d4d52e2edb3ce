/* safetensors.h - Hugging Face safetensors files: read (memory-mapped, validated) and write
 * (streamed, atomic). The interchange format for model weights (GPT-2 import and export).
 *
 * The format (huggingface.co/docs/safetensors):
 *     u64 N (little-endian) | N bytes of JSON header | data buffer
 *     header = {"NAME": {"dtype": "F32", "shape": [2, 3], "data_offsets": [BEGIN, END]}, ...,
 *               "__metadata__": {"key": "value", ...}}   (metadata optional, strings only)
 * Offsets are relative to the buffer start; the tensors tile the buffer exactly (sorted by
 * offset, each begins where the previous ends, the last ends at the end of the file).
 * Writers pad the header with spaces to a multiple of 8, so that the buffer is 8-aligned.
 *
 * Reading: pt_st_open maps the file (pages are read on demand, so a 6 GB gpt2-xl file costs
 * no memory up front) and validates everything before returning, so that no accessor can
 * read outside the file: header size against file size, the JSON (strict, base/json.h),
 * every entry's fields and dtype, shape x dtype size == the offsets' span (overflow-checked),
 * offsets inside the buffer, the tiling (no gap, no overlap, nothing left over), duplicate
 * names. Any violation is PT_EFORMAT "<path>: <what>" naming the tensor. The rules follow
 * the reference implementation (safetensors 0.8): the same 22 dtypes (sub-byte F4/F6 ones
 * must end on a byte boundary) and the same 100 MB header limit. Unknown fields inside a
 * tensor entry are ignored; a name containing a NUL is refused (C strings here).
 *
 * Tensor data is used in place. It is 8-byte aligned in files whose header is padded (every
 * writer's, this one's included) and whose earlier tensors keep the alignment; a file that
 * does not may give an unaligned pointer, so read elements with memcpy or pt_st_to_f32.
 *
 * Writing: a pt_st_writer collects (name, dtype, shape, pointer) entries and metadata, and
 * pt_st_writer_write streams them through base/fs.h's pt_afile (temporary name, fsync,
 * rename): nothing is copied whole - F32 data as-is goes straight to the file, converted or
 * transposed data through a 1 MB chunk - so exporting gpt2-xl needs no second copy of the
 * weights. Tensors are written in the order added; the header (with "__metadata__" first,
 * as Python's writer does) is padded to a multiple of 8.
 *
 * Conversions round to nearest even (as numpy and torch do): F32 -> BF16 and F32 -> F16 on
 * write (overflow gives infinity, NaN stays a quiet NaN of the same sign, F16 keeps
 * subnormals); F16/BF16/F64 -> F32 on read with pt_st_to_f32. PT_ST_TRANSPOSE swaps a 2-D
 * tensor on the way, for Hugging Face's Conv1D weights, stored [in, out] where parrot keeps
 * [out, in].
 *
 * Thread-safety: an open pt_st is read-only, any number of threads may use it; a writer
 * belongs to one thread.
 */
#ifndef PT_HF_SAFETENSORS_H
#define PT_HF_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/status.h"

#define PT_ST_MAX_DIMS 8
#define PT_ST_MAX_HEADER 100000000u /* bytes: the reference implementation's limit */

/* The dtypes of safetensors 0.8, by their header names. */
enum pt_st_dtype {
    PT_ST_BOOL, PT_ST_U8, PT_ST_I8, PT_ST_U16, PT_ST_I16, PT_ST_F16, PT_ST_BF16,
    PT_ST_U32, PT_ST_I32, PT_ST_F32, PT_ST_U64, PT_ST_I64, PT_ST_F64, PT_ST_C64,
    PT_ST_F8_E5M2, PT_ST_F8_E4M3, PT_ST_F8_E8M0, PT_ST_F8_E4M3FNUZ, PT_ST_F8_E5M2FNUZ,
    PT_ST_F4, PT_ST_F6_E2M3, PT_ST_F6_E3M2,
    PT_ST_NDTYPES
};
const char *pt_st_dtype_name(int dtype);  /* "F32"; NULL if out of range */
int pt_st_dtype_parse(const char *name);  /* the enum value, or -1 */
int pt_st_dtype_bits(int dtype);          /* bits per element (4 for F4, 6 for F6_*), 0 if out of range */

/* ---- reading ----------------------------------------------------------------------- */

typedef struct pt_st pt_st;

/* One tensor of an open file; every field stays valid until pt_st_close. */
typedef struct pt_st_tensor {
    const char *name;                /* NUL-terminated */
    int dtype;                       /* enum pt_st_dtype */
    int ndim;                        /* 0 for a scalar */
    int64_t shape[PT_ST_MAX_DIMS];   /* shape[0..ndim); the rest 0 */
    uint64_t numel;                  /* product of the shape (1 for a scalar, 0 if any dim is 0) */
    const void *data;                /* nbytes in the map (maybe unaligned, see above) */
    uint64_t nbytes;
    uint64_t offset;                 /* data_offsets[0], from the buffer start */
} pt_st_tensor;

/* Maps and validates path (see the file comment). On success *f is owned by the caller until
 * pt_st_close; on failure *f is NULL and e says what is wrong: PT_EIO (cannot open/map),
 * PT_EFORMAT "<path>: <what>", PT_ENOMEM. */
int pt_st_open(pt_st **f, const char *path, pt_err *e);
void pt_st_close(pt_st *f); /* NULL is fine; every pointer from f becomes invalid */

const char *pt_st_path(const pt_st *f);
size_t pt_st_count(const pt_st *f);
/* The i-th tensor in buffer order (ascending offsets), i < pt_st_count; NULL otherwise. */
const pt_st_tensor *pt_st_at(const pt_st *f, size_t i);
/* The tensor called name, or NULL (binary search). */
const pt_st_tensor *pt_st_find(const pt_st *f, const char *name);
/* The __metadata__ value of key, or NULL. Metadata in header order: key i (NULL when out of
 * range), its value in *value. Values are NUL-terminated; one containing a NUL is refused at open. */
const char *pt_st_meta(const pt_st *f, const char *key);
size_t pt_st_meta_count(const pt_st *f);
const char *pt_st_meta_at(const pt_st *f, size_t i, const char **value);

#define PT_ST_TRANSPOSE 1u /* 2-D only: the data is the transpose of the shape given */

/* Converts a F32, F16, BF16 or F64 tensor to t->numel floats in out (F64 rounds to nearest).
 * With PT_ST_TRANSPOSE (2-D tensors, shape [R, C]) out gets the transpose, [C, R]. Other
 * dtypes, or the flag on a tensor that is not 2-D: PT_EUSAGE naming the tensor. */
int pt_st_to_f32(const pt_st_tensor *t, float *out, unsigned flags, pt_err *e);

/* Element conversions (round to nearest even; see the file comment). */
float pt_st_f16_to_f32(uint16_t h);
float pt_st_bf16_to_f32(uint16_t b);
uint16_t pt_st_f32_to_f16(float f);
uint16_t pt_st_f32_to_bf16(float f);

/* ---- writing ----------------------------------------------------------------------- */

typedef struct pt_st_writer pt_st_writer;

int pt_st_writer_new(pt_st_writer **w, pt_err *e);
void pt_st_writer_free(pt_st_writer *w); /* NULL is fine */

/* Adds a tensor whose data is already in dtype: numel(shape) x bits / 8 bytes at data (a whole
 * number of bytes). The name is copied; data must stay valid and unchanged until
 * pt_st_writer_write. ndim 0..PT_ST_MAX_DIMS, every dim >= 0. PT_EUSAGE for a bad argument,
 * a duplicate name or the name "__metadata__". */
int pt_st_writer_add(pt_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                     const void *data, pt_err *e);
/* Adds a tensor from float data, written as dtype PT_ST_F32, PT_ST_BF16 or PT_ST_F16 (converted
 * while writing). With PT_ST_TRANSPOSE the shape must be 2-D [R, C] and data holds its
 * transpose, row-major [C, R]. Same contract as pt_st_writer_add otherwise. */
int pt_st_writer_add_f32(pt_st_writer *w, const char *name, int dtype, int ndim, const int64_t *shape,
                         const float *data, unsigned flags, pt_err *e);
/* Sets __metadata__[key] = value (both copied; setting a key again replaces its value). */
int pt_st_writer_meta(pt_st_writer *w, const char *key, const char *value, pt_err *e);

/* Writes the file atomically (path appears only when complete). The writer keeps its entries
 * and can write again. On failure path is untouched and e names the file. */
int pt_st_writer_write(pt_st_writer *w, const char *path, pt_err *e);

#endif
