/* jsonl.h - the streaming reader of GitHub-dump JSON Lines for `parrot corpus build`.
 *
 * Input: one JSON object per line with the BigQuery/CodeParrot fields repo_name, path,
 * content, size, license, copies (other fields, nested ones included, are checked and
 * ignored), as plain text or gzip. Gzip is recognised by its magic bytes (1F 8B), never by
 * the name; concatenated gzip members (pigz, `cat a.gz b.gz`) are read as one stream.
 * "-" reads standard input.
 *
 * Real dumps are ~180 GB, so the reader streams: it holds a window of text that grows to
 * the longest line seen (at most max_line + read chunk), never the file, plus one buffer
 * for the decoded fields of the current line (at most max_line + 65 bytes): memory stays
 * under 2 x max_line + 2 x chunk whatever the input. A line longer than max_line (default
 * 256 MiB) is reported as too long and skipped as it streams past, without being held.
 * It reads the raw bytes itself (read(2), then zlib's inflate when gzip), so it can hash
 * every raw byte (the provenance hash in the manifest) and tell a truncated gzip (the
 * stream ends inside a member) and a corrupt one (Z_DATA_ERROR, a bad CRC) from a clean
 * end.
 *
 * Lines are judged one at a time, the way `json.loads(line)` would, and a bad line never
 * stops the file: it comes back as PT_JSONL_BAD with "PATH:LINE: why" and the next call
 * goes on. Each line must be a JSON object (RFC 8259, strict grammar: see json.h) with a
 * string "content"; when a key repeats, the last one counts (as in Python). Two things are
 * deliberately NOT errors, so that the build can count such documents as invalid text
 * rather than as malformed lines: raw bytes that are not valid UTF-8 inside strings are
 * passed through unchanged, and a lone surrogate escape (\uD800..\uDFFF not in a valid
 * pair) becomes its 3-byte WTF-8 form (ED A0 80 for \uD800) with content_has_surrogate
 * set - such text fails any UTF-8 check, as a Python str holding a lone surrogate fails
 * .encode("utf-8"). A \u0000 escape yields a NUL byte. Whitespace-only lines (blank, or
 * "\r" from CRLF files) are skipped silently; a UTF-8 byte-order mark at the start of
 * line 1 is ignored; the last line needs no final newline.
 *
 * Speed: lines are found with memchr and strings decoded by the vector scanner of json.h,
 * so plain JSONL reads at well over 1 GB/s per core; gzip is bounded by zlib's inflate.
 *
 * Thread-safety: a reader is used by one thread at a time; separate readers are
 * independent.
 */
#ifndef PT_JSONL_H
#define PT_JSONL_H

#include <stddef.h>
#include <stdint.h>

#include "base/hash.h"
#include "base/status.h"

/* What pt_jsonl_next returns. */
enum {
    PT_JSONL_DOC = 0, /* *doc is filled */
    PT_JSONL_END,     /* the input is finished (also after a FATAL) */
    PT_JSONL_BAD,     /* this line is skipped; e says "PATH:LINE: why" (PT_EFORMAT) */
    PT_JSONL_FATAL,   /* the input cannot be read on; e says "PATH: why (after line N)" */
};

typedef struct pt_jsonl_doc {
    const char *content; /* unescaped bytes (see above for invalid UTF-8 and surrogates);
                            NUL-terminated, but may hold NULs itself: use content_len */
    size_t content_len;
    /* NULL when absent (or null, true/false, an array or an object); strings are their
     * unescaped value, numbers their source text ("1234"); all NUL-terminated. */
    const char *repo_name, *path, *license, *size, *copies;
    size_t repo_name_len, path_len, license_len, size_len, copies_len;
    uint64_t line;                 /* 1-based line number in the (uncompressed) text */
    uint8_t content_has_surrogate; /* a lone surrogate escape was put in content as WTF-8
                                      (raw bytes ED A0..BF are passed through unflagged) */
} pt_jsonl_doc;

typedef struct pt_jsonl_reader pt_jsonl_reader;

#define PT_JSONL_MAX_LINE_DEFAULT ((size_t)256 << 20)
#define PT_JSONL_CHUNK_DEFAULT ((size_t)1 << 20)

/* Tuning; zero fields take the defaults. Tests and the fuzzer use tiny values to exercise
 * the window logic. */
typedef struct pt_jsonl_opts {
    size_t max_line; /* longest line (bytes, without the newline) that is parsed */
    size_t chunk;    /* bytes per read(2) and per inflate output step */
    /* When set, a line without "content" may give its text as a string "text" (other
     * datasets' JSON Lines, for `parrot tokenizer train`); "content" wins when both are
     * there, and doc->content holds whichever was taken. */
    int accept_text;
} pt_jsonl_opts;

/* Opens path ("-" for standard input) for reading. On failure (PT_EIO "PATH: cannot
 * open: ...", PT_ENOMEM) *r is NULL. Nothing is read until the first pt_jsonl_next. */
int pt_jsonl_open(pt_jsonl_reader **r, const char *path, pt_err *e);
int pt_jsonl_open_opts(pt_jsonl_reader **r, const char *path, const pt_jsonl_opts *opts, pt_err *e);

/* The next document. Returns PT_JSONL_DOC (doc filled; its pointers stay valid until the
 * next call on r or pt_jsonl_close), PT_JSONL_END, PT_JSONL_BAD (this line is malformed, is
 * not an object, lacks a string "content", or is longer than max_line: e says
 * "PATH:LINE: why"; the next call goes on with the next line), or PT_JSONL_FATAL (an I/O
 * error, a truncated or corrupt gzip stream, or out of memory: e says
 * "PATH: why (after line N)"; the documents returned before stay valid, every complete
 * line before the damage has been returned, a partial last line is dropped, and the next
 * call returns PT_JSONL_END). */
int pt_jsonl_next(pt_jsonl_reader *r, pt_jsonl_doc *doc, pt_err *e);

/* Bytes of the file read so far (compressed bytes if gzip). */
uint64_t pt_jsonl_raw_bytes(const pt_jsonl_reader *r);
/* Uncompressed bytes consumed so far: every line returned or skipped, with its newline. */
uint64_t pt_jsonl_text_bytes(const pt_jsonl_reader *r);
/* pt_hash128 (seed 0) of the raw file bytes read so far; after PT_JSONL_END (not FATAL)
 * that is the hash of the whole file. */
pt_hash128 pt_jsonl_file_hash(const pt_jsonl_reader *r);
/* 1 if the input is gzip; meaningful after the first pt_jsonl_next. */
int pt_jsonl_is_gzip(const pt_jsonl_reader *r);

/* Closes the file (not standard input) and frees r; NULL is fine. */
void pt_jsonl_close(pt_jsonl_reader *r);

#endif
