/* tok_encode.c - `parrot tokenizer encode` and `parrot tokenizer decode`.
 *
 * Three forms of ids, documented in docs/tokenizer.md:
 *   text  one decimal id per line (a plain-text input is one document);
 *   jsonl one {"ids":[...]} line per input JSON line (--jsonl), in input order;
 *   bin   the header "PARROTID" + uint32 version 1 + uint32 header size 16, then one record
 *         per document: uint32 count, then count uint32 ids; all little-endian.
 * decode recognises the binary form by its magic, whatever the flags.
 *
 * A plain text is read whole (one document); JSON Lines are streamed by corpus/jsonl.h. Both
 * are encoded in batches of about 16 MiB with the library's
 * pt_bpe_many (tok/encode_many.h), so the per-thread piece caches stay warm from batch to
 * batch; a plain text is cut at pt_bpe_safe_cuts so it is encoded in parallel too.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/json.h"
#include "base/jsonw.h"
#include "base/log.h"
#include "cli/cli.h"
#include "corpus/jsonl.h"
#include "tok/decode.h"
#include "tok/encode_many.h"
#include "tok/tokfile.h"

#define BIN_MAGIC "PARROTID"
#define BIN_HEADER 16u
#define BATCH_BYTES ((size_t)16 << 20)

static const char encode_usage[] =
    "usage: parrot tokenizer encode --tokenizer T [FILE|-] [options]\n"
    "\n"
    "Encodes text to token ids. FILE (default: standard input) is one plain-text document, or JSON Lines with\n"
    "--jsonl, plain or gzip (the string field \"content\", else \"text\", of each line; blank lines are skipped;\n"
    "a malformed line stops the run).\n"
    "\n"
    "  -t, --tokenizer T      a Hugging Face tokenizer.json, or a folder with one, with GPT-2's encoder.json +\n"
    "                         vocab.bpe, or with vocab.json + merges.txt\n"
    "      --jsonl            JSON Lines in; one {\"ids\":[...]} line out per document (with --format text)\n"
    "      --allow-special    recognise added tokens (<|endoftext|>) written in the text; by default the text\n"
    "                         is plain and such strings are encoded as ordinary characters\n"
    "      --format text|bin  text: one id per line (or JSON lines with --jsonl); bin: a 16-byte header then\n"
    "                         per document a uint32 count and its uint32 ids, little-endian (docs/tokenizer.md)\n"
    "  -o, --out OUT          write here (atomically) instead of standard output\n"
    "      --threads N        worker threads (default: all cores)\n"
    "  -q, --quiet            no summary on stderr\n"
    "  -v, --verbose          a summary with the speed on stderr\n";

static const char decode_usage[] =
    "usage: parrot tokenizer decode --tokenizer T [FILE|-] [options]\n"
    "\n"
    "Decodes token ids back to text (the exact bytes that were encoded; added tokens as their text). FILE\n"
    "(default: standard input) holds decimal ids separated by white space, or the binary form of\n"
    "'encode --format bin' (recognised by its header), or {\"ids\":[...]} lines with --jsonl.\n"
    "\n"
    "  -t, --tokenizer T      as for encode\n"
    "      --jsonl            one {\"text\": ...} line out per document (per input line or binary record);\n"
    "                         bytes that are not UTF-8 are written as \\u00XX escapes\n"
    "  -o, --out OUT          write here (atomically) instead of standard output\n"
    "  -q, --quiet, -v, --verbose\n";

/* ---- output: standard output or an atomic file ------------------------------------------ */

typedef struct out {
    pt_afile a;
    int file;
} out;

static int out_open(out *o, const char *path, pt_err *e) {
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) return PT_OK;
    o->file = 1;
    return pt_afile_open(&o->a, path, e);
}
static int out_write(out *o, const void *p, size_t n, pt_err *e) {
    if (o->file) return pt_afile_write(&o->a, p, n, e);
    if (n && fwrite(p, 1, n, stdout) != n) return pt_fail_errno(e, PT_EIO, "standard output: write failed");
    return PT_OK;
}
static int out_commit(out *o, pt_err *e) {
    if (o->file) return pt_afile_commit(&o->a, e);
    if (fflush(stdout)) return pt_fail_errno(e, PT_EIO, "standard output: write failed");
    return PT_OK;
}
static void out_abort(out *o) {
    if (o->file) pt_afile_abort(&o->a);
}

static void put_u32le(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8), p[2] = (unsigned char)(v >> 16),
    p[3] = (unsigned char)(v >> 24);
}
static uint32_t get_u32le(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Appends v in decimal and then c (printf is the bottleneck at 20M ids). b has room. */
static char *put_dec(char *o, uint32_t v, char c) {
    char tmp[10];
    int k = 0;
    do tmp[k++] = (char)('0' + v % 10), v /= 10;
    while (v);
    while (k) *o++ = tmp[--k];
    *o++ = c;
    return o;
}

/* ---- shared option parsing --------------------------------------------------------------- */

enum { O_JSONL = 256, O_SPECIAL, O_FORMAT, O_THREADS };

typedef struct opts {
    const char *tokenizer, *input, *out;
    int jsonl, special, bin, threads;
} opts;

/* Returns -1 to go on, else an exit code. */
static int parse(int argc, char **argv, const char *cmd, const char *usage, int encode, opts *o) {
    static const struct option lo[] = {{"tokenizer", required_argument, 0, 't'},
                                       {"jsonl", no_argument, 0, O_JSONL},
                                       {"allow-special", no_argument, 0, O_SPECIAL},
                                       {"format", required_argument, 0, O_FORMAT},
                                       {"out", required_argument, 0, 'o'},
                                       {"threads", required_argument, 0, O_THREADS},
                                       {"quiet", no_argument, 0, 'q'},
                                       {"verbose", no_argument, 0, 'v'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->threads = pt_cli_default_threads();
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "t:o:qvh", lo, NULL)) != -1) {
        switch (c) {
        case 't': o->tokenizer = optarg; break;
        case 'o': o->out = optarg; break;
        case O_JSONL: o->jsonl = 1; break;
        case O_SPECIAL:
            if (!encode) return pt_cli_usage_error(cmd, "--allow-special is an encode option");
            o->special = 1;
            break;
        case O_FORMAT:
            if (!encode) return pt_cli_usage_error(cmd, "decode recognises the format itself; drop --format");
            if (!strcmp(optarg, "bin")) o->bin = 1;
            else if (strcmp(optarg, "text")) return pt_cli_usage_error(cmd, "bad --format '%s' (text or bin)", optarg);
            break;
        case O_THREADS:
            if (pt_cli_parse_threads(optarg, &o->threads)) return pt_cli_usage_error(cmd, "bad --threads '%s'", optarg);
            break;
        case 'q': pt_log_level = PT_LOG_QUIET; break;
        case 'v': pt_log_level = PT_LOG_VERBOSE; break;
        case 'h': fputs(usage, stdout); return PT_EXIT_OK;
        default: return pt_cli_usage_error(cmd, "unknown option");
        }
    }
    if (!o->tokenizer) return pt_cli_usage_error(cmd, "--tokenizer T is required");
    if (argc - optind > 1) return pt_cli_usage_error(cmd, "give at most one input FILE");
    o->input = optind < argc ? argv[optind] : "-";
    return -1;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- encode ------------------------------------------------------------------------------ */

/* Writes the batch's ids in the output form. */
static int write_batch(out *o, const pt_bpe_ids *r, int bin, int whole, pt_buf *b, pt_buf *acc, pt_err *e) {
    pt_buf_clear(b);
    if (whole) { /* the parts of one plain text: one document */
        size_t n = r->off[r->n];
        if (bin) { /* one record: its count comes first, so the ids wait in acc */
            PT_TRY(pt_buf_reserve(acc, 4 * n, e));
            for (size_t i = 0; i < n; i++) put_u32le((unsigned char *)acc->data + acc->len + 4 * i, r->ids[i]);
            acc->len += 4 * n;
            return PT_OK;
        }
        PT_TRY(pt_buf_reserve(b, 11 * n, e));
        char *w = b->data;
        for (size_t i = 0; i < n; i++) w = put_dec(w, r->ids[i], '\n');
        return out_write(o, b->data, (size_t)(w - b->data), e);
    }
    for (size_t d = 0; d < r->n; d++) {
        size_t a = r->off[d], z = r->off[d + 1];
        if (bin) {
            PT_TRY(pt_buf_reserve(b, 4 * (z - a + 1), e));
            put_u32le((unsigned char *)b->data + b->len, (uint32_t)(z - a));
            b->len += 4;
            for (size_t i = a; i < z; i++, b->len += 4) put_u32le((unsigned char *)b->data + b->len, r->ids[i]);
        } else {
            PT_TRY(pt_buf_reserve(b, 8 + 11 * (z - a) + 3, e));
            char *w = b->data + b->len;
            memcpy(w, "{\"ids\":[", 8), w += 8;
            for (size_t i = a; i < z; i++) w = put_dec(w, r->ids[i], ',');
            if (z > a) w--;
            memcpy(w, "]}\n", 3), w += 3;
            b->len = (size_t)(w - b->data);
        }
    }
    return out_write(o, b->data, b->len, e);
}

typedef struct enc {
    pt_bpe_many *m;
    pt_bpe_ids r;
    pt_buf wb, acc; /* acc: the binary ids of a plain text */
    out o;
    uint64_t docs, bytes, ids;
    double encode_s; /* in pt_bpe_many_encode alone */
} enc;

static int encode_batch(enc *x, const opts *op, const pt_bpe_text *docs, size_t n, int whole, pt_err *e) {
    double t0 = now();
    PT_TRY(pt_bpe_many_encode(x->m, docs, n, &x->r, e));
    x->encode_s += now() - t0;
    x->ids += x->r.off[n];
    for (size_t i = 0; i < n; i++) x->bytes += docs[i].len;
    if (!whole) x->docs += n;
    return write_batch(&x->o, &x->r, op->bin, whole, &x->wb, &x->acc, e);
}

/* A plain text: one document, cut into parts that encode independently. */
static int encode_text(enc *x, const opts *op, const pt_bpe *t, const pt_buf *in, pt_err *e) {
    /* an added token holding "\n" could straddle a cut: then no cuts */
    int cuttable = 1;
    if (op->special)
        for (uint32_t id = 0; id < pt_bpe_vocab_size(t); id++) {
            size_t n;
            unsigned fl;
            const unsigned char *p = pt_bpe_token(t, id, &n, &fl);
            if (p && (fl & PT_BPE_TOKEN_ADDED) && memchr(p, '\n', n)) cuttable = 0;
        }
    size_t part = (size_t)1 << 20, maxc = in->len / part + 1;
    size_t *cuts = pt_malloc(maxc * sizeof *cuts, e);
    pt_bpe_text *docs = pt_malloc((maxc + 1) * sizeof *docs, e);
    int rc = !cuts || !docs ? PT_ENOMEM : PT_OK;
    size_t nc = rc || !cuttable ? 0 : pt_bpe_safe_cuts(in->data, in->len, part, cuts, maxc);
    /* batches of parts, each part a "document" of the batch; the output joins them */
    size_t from = 0, i = 0;
    while (!rc && (i <= nc)) {
        size_t k = 0, bytes = 0;
        while (i <= nc && (k == 0 || bytes < BATCH_BYTES)) {
            size_t to = i < nc ? cuts[i] : in->len;
            docs[k++] = (pt_bpe_text){in->data + from, to - from};
            bytes += to - from;
            from = to, i++;
        }
        rc = encode_batch(x, op, docs, k, 1, e);
    }
    x->docs = 1;
    if (!rc && op->bin) {
        if (x->acc.len / 4 > UINT32_MAX) rc = pt_fail(e, PT_ELIMIT, "%s: more than 2^32 - 1 ids in one document", op->input);
        unsigned char h[4];
        put_u32le(h, (uint32_t)(x->acc.len / 4));
        if (!rc) rc = out_write(&x->o, h, 4, e);
        if (!rc) rc = out_write(&x->o, x->acc.data, x->acc.len, e);
    }
    free(cuts);
    free(docs);
    return rc;
}

/* JSON Lines, streamed by the corpus reader (corpus/jsonl.h: plain or gzip, "content" else
 * "text", blank lines skipped, raw bytes that are not UTF-8 passed through). A malformed line
 * stops the run: skipping it would break the line-for-line correspondence of the output. */
static int encode_jsonl(enc *x, const opts *op, pt_err *e) {
    pt_jsonl_reader *rd = NULL;
    pt_jsonl_opts jo = {.accept_text = 1};
    PT_TRY(pt_jsonl_open_opts(&rd, op->input, &jo, e));
    pt_buf text = {0};
    size_t cap = 0, k = 0;
    size_t *len = NULL;
    pt_bpe_text *docs = NULL;
    int rc = PT_OK, end = 0;
    while (!rc && !end) {
        pt_jsonl_doc d;
        int r = pt_jsonl_next(rd, &d, e);
        if (r == PT_JSONL_DOC) {
            if (k == cap) {
                size_t c = cap ? 2 * cap : 1024;
                size_t *l2 = pt_realloc(len, c * sizeof *len, e);
                if (!l2) { rc = PT_ENOMEM; break; }
                len = l2;
                pt_bpe_text *d2 = pt_realloc(docs, c * sizeof *docs, e);
                if (!d2) { rc = PT_ENOMEM; break; }
                docs = d2, cap = c;
            }
            if ((rc = pt_buf_append(&text, d.content, d.content_len, e))) break;
            len[k++] = d.content_len;
        } else if (r == PT_JSONL_END) {
            end = 1;
        } else {
            rc = e->code ? e->code : PT_EFORMAT;
            break;
        }
        if (k && (end || text.len >= BATCH_BYTES)) {
            size_t at = 0;
            for (size_t i = 0; i < k; i++) docs[i] = (pt_bpe_text){text.data + at, len[i]}, at += len[i];
            rc = encode_batch(x, op, docs, k, 0, e);
            k = 0;
            pt_buf_clear(&text);
        }
    }
    pt_jsonl_close(rd);
    pt_buf_free(&text);
    free(len);
    free(docs);
    return rc;
}

int cmd_tokenizer_encode(int argc, char **argv) {
    const char *cmd = "tokenizer encode";
    opts op;
    int rc = parse(argc, argv, cmd, encode_usage, 1, &op);
    if (rc >= 0) return rc;
    pt_err e = {0};
    pt_bpe *t = NULL;
    if (pt_bpe_load(&t, op.tokenizer, &e)) return pt_cli_report(cmd, &e);
    pt_buf in = {0};
    enc x = {0};
    double t0 = now();
    if (!op.jsonl && (rc = pt_fs_read_all(op.input, &in, &e))) goto done;
    if (!(x.m = pt_bpe_many_new(t, op.threads, op.special ? PT_BPE_MANY_SPECIAL : 0, &e))) {
        rc = e.code;
        goto done;
    }
    double t1 = now();
    if ((rc = out_open(&x.o, op.out, &e))) goto done;
    if (op.bin) {
        unsigned char h[BIN_HEADER];
        memcpy(h, BIN_MAGIC, 8);
        put_u32le(h + 8, 1);
        put_u32le(h + 12, BIN_HEADER);
        rc = out_write(&x.o, h, sizeof h, &e);
    }
    if (!rc) rc = op.jsonl ? encode_jsonl(&x, &op, &e) : encode_text(&x, &op, t, &in, &e);
    if (!rc) rc = out_commit(&x.o, &e);
    else out_abort(&x.o);
    double t2 = now();
    if (!rc)
        pt_verbose("encoded %llu document(s), %llu bytes -> %llu ids on %d thread(s): %.3f s encoding (%.1f MB/s), "
                   "%.3f s with the output, %.3f s reading",
                   (unsigned long long)x.docs, (unsigned long long)x.bytes, (unsigned long long)x.ids, op.threads,
                   x.encode_s, (double)x.bytes / 1e6 / (x.encode_s > 1e-9 ? x.encode_s : 1e-9), t2 - t1, t1 - t0);
done:
    pt_bpe_many_free(x.m);
    pt_bpe_ids_free(&x.r);
    pt_buf_free(&x.wb);
    pt_buf_free(&x.acc);
    pt_buf_free(&in);
    pt_bpe_free(t);
    return rc ? pt_cli_report(cmd, &e) : PT_EXIT_OK;
}

/* ---- decode ------------------------------------------------------------------------------ */

/* Writes one document's bytes: raw, or as a {"text": ...} line. */
static int emit(out *o, const pt_bpe *t, const uint32_t *ids, size_t n, int jsonl, pt_buf *b, pt_buf *j, pt_err *e) {
    pt_buf_clear(b);
    PT_TRY(pt_bpe_decode(t, ids, n, b, e));
    if (!jsonl) return out_write(o, b->data, b->len, e);
    pt_buf_clear(j);
    PT_TRY(pt_buf_append(j, "{\"text\":", 8, e));
    PT_TRY(pt_jsonw_str(j, b->data, b->len, e));
    PT_TRY(pt_buf_append(j, "}\n", 2, e));
    return out_write(o, j->data, j->len, e);
}

typedef struct ids {
    uint32_t *v;
    size_t n, cap;
} ids;
static int ids_push(ids *a, uint32_t v, pt_err *e) {
    if (a->n == a->cap) {
        size_t c = a->cap ? 2 * a->cap : 4096;
        uint32_t *p = pt_realloc(a->v, c * sizeof *p, e);
        if (!p) return PT_ENOMEM;
        a->v = p, a->cap = c;
    }
    a->v[a->n++] = v;
    return PT_OK;
}

static int decode_bin(out *o, const pt_bpe *t, const opts *op, const pt_buf *in, pt_buf *b, pt_buf *j, ids *a,
                      pt_err *e) {
    const unsigned char *p = (const unsigned char *)in->data;
    if (in->len < BIN_HEADER || get_u32le(p + 8) != 1 || get_u32le(p + 12) != BIN_HEADER)
        return pt_fail(e, PT_EFORMAT, "%s: binary ids of an unknown version (this parrot reads version 1)", op->input);
    size_t at = BIN_HEADER;
    for (uint64_t rec = 0; at < in->len; rec++) {
        if (in->len - at < 4) return pt_fail(e, PT_EFORMAT, "%s: truncated at byte %zu (record %llu)", op->input, at,
                                             (unsigned long long)rec);
        size_t n = get_u32le(p + at);
        at += 4;
        if ((in->len - at) / 4 < n)
            return pt_fail(e, PT_EFORMAT, "%s: record %llu says %zu ids but the file ends first", op->input,
                           (unsigned long long)rec, n);
        a->n = 0;
        for (size_t i = 0; i < n; i++) PT_TRY(ids_push(a, get_u32le(p + at + 4 * i), e));
        at += 4 * n;
        if (emit(o, t, a->v, a->n, op->jsonl, b, j, e))
            return pt_err_prefix(e, "%s: record %llu", op->input, (unsigned long long)rec);
    }
    return PT_OK;
}

static int decode_jsonl(out *o, const pt_bpe *t, const opts *op, const pt_buf *in, pt_buf *b, pt_buf *j, ids *a,
                        pt_err *e) {
    const char *p = in->data, *end = in->data + in->len;
    for (size_t line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end, *q = p;
        while (q < le && (*q == ' ' || *q == '\t' || *q == '\r')) q++;
        if (q < le) {
            pt_json_doc *jd = NULL;
            if (pt_json_parse(p, (size_t)(le - p), &jd, e)) return pt_err_prefix(e, "%s:%zu", op->input, line);
            const pt_json *arr = pt_json_get(pt_json_root(jd), "ids");
            int rc = pt_json_type(arr) == PT_JSON_ARRAY ? PT_OK
                                                          : pt_fail(e, PT_EFORMAT, "no \"ids\" array");
            a->n = 0;
            for (size_t i = 0; !rc && i < pt_json_len(arr); i++) {
                int64_t v;
                if (!pt_json_int64(pt_json_at(arr, i), &v) || v < 0 || v > UINT32_MAX)
                    rc = pt_fail(e, PT_EFORMAT, "ids[%zu] is not a token id", i);
                else rc = ids_push(a, (uint32_t)v, e);
            }
            pt_json_free(jd);
            if (!rc) rc = emit(o, t, a->v, a->n, 1, b, j, e);
            if (rc) return pt_err_prefix(e, "%s:%zu", op->input, line);
        }
        p = nl ? nl + 1 : end;
    }
    return PT_OK;
}

/* Decimal ids separated by white space; one document. */
static int decode_text(out *o, const pt_bpe *t, const opts *op, const pt_buf *in, pt_buf *b, pt_buf *j, ids *a,
                       pt_err *e) {
    const char *p = in->data, *end = in->data + in->len;
    size_t line = 1;
    while (p < end) {
        if (*p == '\n') line++;
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
            continue;
        }
        uint64_t v = 0;
        const char *s = p;
        while (p < end && *p >= '0' && *p <= '9' && v <= UINT32_MAX) v = v * 10 + (uint64_t)(*p++ - '0');
        if (p == s || v > UINT32_MAX || (p < end && !strchr(" \t\r\n", *p))) {
            const char *z = s;
            while (z < end && z - s < 20 && !strchr(" \t\r\n", *z)) z++;
            return pt_fail(e, PT_EFORMAT, "%s:%zu: '%.*s' is not a token id", op->input, line, (int)(z - s), s);
        }
        PT_TRY(ids_push(a, (uint32_t)v, e));
    }
    if (emit(o, t, a->v, a->n, op->jsonl, b, j, e)) return pt_err_prefix(e, "%s", op->input);
    return PT_OK;
}

int cmd_tokenizer_decode(int argc, char **argv) {
    const char *cmd = "tokenizer decode";
    opts op;
    int rc = parse(argc, argv, cmd, decode_usage, 0, &op);
    if (rc >= 0) return rc;
    pt_err e = {0};
    pt_bpe *t = NULL;
    if (pt_bpe_load(&t, op.tokenizer, &e)) return pt_cli_report(cmd, &e);
    pt_buf in = {0}, b = {0}, j = {0};
    ids a = {0};
    out o;
    if (!(rc = pt_fs_read_all(op.input, &in, &e)) && !(rc = out_open(&o, op.out, &e))) {
        if (in.len >= 8 && !memcmp(in.data, BIN_MAGIC, 8)) rc = decode_bin(&o, t, &op, &in, &b, &j, &a, &e);
        else if (op.jsonl) rc = decode_jsonl(&o, t, &op, &in, &b, &j, &a, &e);
        else rc = decode_text(&o, t, &op, &in, &b, &j, &a, &e);
        if (!rc) rc = out_commit(&o, &e);
        else out_abort(&o);
    }
    free(a.v);
    pt_buf_free(&in);
    pt_buf_free(&b);
    pt_buf_free(&j);
    pt_bpe_free(t);
    return rc ? pt_cli_report(cmd, &e) : PT_EXIT_OK;
}
