/* jsonl.c - streaming JSON Lines (plain or gzip) reader; see jsonl.h.
 *
 * Data flow: raw bytes -> (inflate) -> the text window win[pos..end) -> a line at a time ->
 * its fields decoded into obuf. memchr finds newlines (a valid JSON line holds none inside
 * strings, so the first '\n' ends it); `scan` remembers how far the window was searched
 * so a long line is never searched twice. The window is refilled only when it holds no
 * complete line: the partial line is moved to the front and at least `chunk` bytes are
 * read behind it. A line that outgrows max_line is dropped from the window as it streams
 * past (the `skipping` state) and reported once its newline arrives.
 */
#include "corpus/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/json.h"

enum { BLANK = -1 };

struct pt_jsonl_reader {
    char *path; /* for messages: the name given, or "<stdin>" */
    int fd, own_fd;
    size_t max_line, chunk;
    int accept_text; /* a "text" string stands in for an absent "content" */

    /* raw input */
    int started, gz, zinit, in_member, raw_eof;
    z_stream zs;
    unsigned char *in; /* gzip: compressed bytes read ahead */
    size_t in_cap;
    uint64_t raw_bytes;
    pt_hasher hash;

    /* the text window */
    char *win;
    size_t cap, pos, scan, end;
    uint64_t produced; /* text bytes ever appended to the window */
    int text_eof, skipping, done;
    int fatal;             /* set when the input failed; reported once the window is drained */
    int fatal_code;
    char fatal_msg[512];

    /* decoded fields of the current line */
    char *obuf;
    size_t ocap;
    uint64_t line;
};

static void set_fatal(pt_jsonl_reader *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_fatal(pt_jsonl_reader *r, int code, const char *fmt, ...) {
    if (r->fatal) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fatal_msg, sizeof r->fatal_msg, fmt, ap);
    va_end(ap);
    r->fatal = 1;
    r->fatal_code = code;
}

int pt_jsonl_open_opts(pt_jsonl_reader **out, const char *path, const pt_jsonl_opts *opts, pt_err *e) {
    *out = NULL;
    pt_jsonl_reader *r = pt_calloc(1, sizeof *r, e);
    if (!r) return PT_ENOMEM;
    int is_stdin = !strcmp(path, "-");
    r->path = strdup(is_stdin ? "<stdin>" : path);
    if (!r->path) {
        free(r);
        return pt_fail(e, PT_ENOMEM, "out of memory");
    }
    r->max_line = opts && opts->max_line ? opts->max_line : PT_JSONL_MAX_LINE_DEFAULT;
    r->chunk = opts && opts->chunk ? opts->chunk : PT_JSONL_CHUNK_DEFAULT;
    r->accept_text = opts ? opts->accept_text : 0;
    if (is_stdin) {
        r->fd = 0;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            pt_fail_errno(e, PT_EIO, "%s: cannot open", path);
            free(r->path);
            free(r);
            return PT_EIO;
        }
        r->own_fd = 1;
        posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    pt_hasher_init(&r->hash, 0);
    *out = r;
    return PT_OK;
}

int pt_jsonl_open(pt_jsonl_reader **r, const char *path, pt_err *e) { return pt_jsonl_open_opts(r, path, NULL, e); }

void pt_jsonl_close(pt_jsonl_reader *r) {
    if (!r) return;
    if (r->own_fd) close(r->fd);
    if (r->zinit) inflateEnd(&r->zs);
    free(r->in);
    free(r->win);
    free(r->obuf);
    free(r->path);
    free(r);
}

uint64_t pt_jsonl_raw_bytes(const pt_jsonl_reader *r) { return r->raw_bytes; }
uint64_t pt_jsonl_text_bytes(const pt_jsonl_reader *r) { return r->produced - (r->end - r->pos); }
pt_hash128 pt_jsonl_file_hash(const pt_jsonl_reader *r) { return pt_hasher_final(&r->hash); }
int pt_jsonl_is_gzip(const pt_jsonl_reader *r) { return r->gz; }

/* ---- raw input and the window ------------------------------------------------------ */

/* read(2) into buf, hashing what arrives. Returns bytes read, 0 at end, -1 (fatal set). */
static ssize_t read_raw(pt_jsonl_reader *r, void *buf, size_t n) {
    ssize_t got;
    do got = read(r->fd, buf, n);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        set_fatal(r, PT_EIO, "read error: %s", strerror(errno));
        return -1;
    }
    pt_hasher_update(&r->hash, buf, (size_t)got);
    r->raw_bytes += (uint64_t)got;
    return got;
}

/* Moves the partial line to the front and makes room for `chunk` more bytes. The window
 * never needs more than max_line + chunk: a partial line longer than max_line is dropped. */
static int make_room(pt_jsonl_reader *r) {
    if (r->pos) {
        memmove(r->win, r->win + r->pos, r->end - r->pos);
        r->end -= r->pos;
        r->scan -= r->pos;
        r->pos = 0;
    }
    if (r->win && r->cap - r->end >= r->chunk) return PT_OK;
    size_t need = r->end + r->chunk, cap = r->cap ? r->cap * 2 : 2 * r->chunk;
    if (cap > r->max_line + r->chunk) cap = r->max_line + r->chunk;
    if (cap < need) cap = need;
    char *w = realloc(r->win, cap);
    if (!w) {
        set_fatal(r, PT_ENOMEM, "out of memory for a %zu-byte read window", cap);
        return PT_ENOMEM;
    }
    r->win = w;
    r->cap = cap;
    return PT_OK;
}

/* The first read: gzip or not, by the magic bytes. */
static void start(pt_jsonl_reader *r) {
    r->started = 1;
    size_t got = 0;
    while (got < 2) {
        ssize_t n = read_raw(r, r->win + got, r->cap - got);
        if (n < 0) return;
        if (n == 0) break;
        got += (size_t)n;
        if ((unsigned char)r->win[0] != 0x1F) break;
    }
    if (got >= 2 && (unsigned char)r->win[0] == 0x1F && (unsigned char)r->win[1] == 0x8B) {
        r->in_cap = r->chunk > got ? r->chunk : got;
        if (!(r->in = malloc(r->in_cap))) {
            set_fatal(r, PT_ENOMEM, "out of memory");
            return;
        }
        memcpy(r->in, r->win, got);
        if (inflateInit2(&r->zs, 16 + MAX_WBITS) != Z_OK) {
            set_fatal(r, PT_ENOMEM, "cannot start zlib's inflate");
            return;
        }
        r->zinit = 1;
        r->gz = 1;
        r->zs.next_in = r->in;
        r->zs.avail_in = (uInt)got;
        return;
    }
    r->end = got;
    r->produced = got;
    if (got == 0) r->text_eof = 1;
}

static void fill_plain(pt_jsonl_reader *r) {
    ssize_t n = read_raw(r, r->win + r->end, r->chunk);
    if (n < 0) return;
    if (n == 0) r->text_eof = 1;
    r->end += (size_t)n;
    r->produced += (uint64_t)n;
}

/* Inflates until some text arrives, the input ends, or it fails (then fatal is set, after
 * the text produced so far is kept). Concatenated members are decoded in turn. The end of
 * the file is judged only once inflate can make no more progress: with a small output
 * buffer it may hold decoded bits after the last input byte was taken. */
static void fill_gz(pt_jsonl_reader *r) {
    z_stream *z = &r->zs;
    size_t room = r->cap - r->end < r->chunk ? r->cap - r->end : r->chunk;
    z->next_out = (Bytef *)r->win + r->end;
    z->avail_out = (uInt)room;
    while (z->avail_out == room) {
        if (z->avail_in == 0 && !r->raw_eof) {
            ssize_t n = read_raw(r, r->in, r->in_cap);
            if (n < 0) break;
            if (n == 0) r->raw_eof = 1;
            z->next_in = r->in;
            z->avail_in = (uInt)n;
        }
        if (!r->in_member) {
            if (z->avail_in == 0) { /* the file ends after a whole member */
                r->text_eof = 1;
                break;
            }
            inflateReset(z);
            r->in_member = 1;
        }
        int zr = inflate(z, Z_NO_FLUSH);
        if (zr == Z_STREAM_END) {
            r->in_member = 0;
        } else if (zr == Z_BUF_ERROR) { /* no progress possible without more input */
            if (z->avail_in == 0 && r->raw_eof) {
                set_fatal(r, PT_EFORMAT, "truncated gzip stream (the file ends inside a member)");
                break;
            }
            if (z->avail_in != 0) { /* cannot happen with room for output; do not spin */
                set_fatal(r, PT_EINTERNAL, "zlib's inflate made no progress");
                break;
            }
        } else if (zr == Z_MEM_ERROR) {
            set_fatal(r, PT_ENOMEM, "out of memory in zlib's inflate");
            break;
        } else if (zr != Z_OK) { /* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
            set_fatal(r, PT_EFORMAT, "corrupt gzip data (%s)", z->msg ? z->msg : "bad stream");
            break;
        }
    }
    size_t got = room - z->avail_out;
    r->end += got;
    r->produced += got;
}

/* ---- one line ---------------------------------------------------------------------- */

static const char *describe(const char *p, const char *end, char buf[24]) {
    if (p >= end) return "end of line";
    unsigned char c = (unsigned char)*p;
    if (c >= 0x21 && c < 0x7F) snprintf(buf, 24, "'%c'", c);
    else snprintf(buf, 24, "byte 0x%02X", c);
    return buf;
}

static int bad(pt_jsonl_reader *r, pt_err *e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(pt_jsonl_reader *r, pt_err *e, const char *fmt, ...) {
    char why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    pt_fail(e, PT_EFORMAT, "%s:%llu: %s", r->path, (unsigned long long)r->line, why);
    return PT_JSONL_BAD;
}

static int malformed(pt_jsonl_reader *r, pt_err *e, const char *line, const char *at, const char *end,
                     const char *why) {
    char buf[24];
    return bad(r, e, "malformed JSON at column %zu: %s, found %s", (size_t)(at - line) + 1, why,
               describe(at, end, buf));
}

static inline const char *skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    return p;
}

enum { F_CONTENT, F_REPO, F_PATH, F_LICENSE, F_SIZE, F_COPIES, F_TEXT, NFIELDS };

static int field_of(const char *k, size_t n, int text) {
    switch (n) {
    case 4:
        return !memcmp(k, "path", 4)          ? F_PATH
               : !memcmp(k, "size", 4)        ? F_SIZE
               : text && !memcmp(k, "text", 4) ? F_TEXT
                                              : -1;
    case 6: return !memcmp(k, "copies", 6) ? F_COPIES : -1;
    case 7: return !memcmp(k, "content", 7) ? F_CONTENT : !memcmp(k, "license", 7) ? F_LICENSE : -1;
    case 9: return !memcmp(k, "repo_name", 9) ? F_REPO : -1;
    default: return -1;
    }
}

/* Parses line[0..len) into doc. Returns PT_JSONL_DOC, PT_JSONL_BAD or BLANK. */
static int parse_line(pt_jsonl_reader *r, const char *line, size_t len, pt_jsonl_doc *doc, pt_err *e) {
    const char *end = line + len, *p = line;
    const unsigned flags = PT_JSON_LAX_UTF8 | PT_JSON_WTF8;
    if (r->line == 1 && len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3; /* byte-order mark */
    p = skip_ws(p, end);
    if (p == end) return BLANK;
    if (*p != '{') return malformed(r, e, line, p, end, "expected a JSON object");
    /* Every decoded string and number fits: each takes at most its source bytes, NUL
     * included (the quotes, or the delimiter after a number, pay for the NUL). */
    if (r->ocap < len + PT_JSON_STR_PAD + 1) {
        size_t cap = len + PT_JSON_STR_PAD + 1;
        if (cap < 2 * r->ocap) cap = 2 * r->ocap;
        if (cap > r->max_line + PT_JSON_STR_PAD + 1) cap = len + PT_JSON_STR_PAD + 1;
        char *o = realloc(r->obuf, cap);
        if (!o) {
            set_fatal(r, PT_ENOMEM, "out of memory for a %zu-byte line", len);
            return BLANK; /* pt_jsonl_next reports the fatal error */
        }
        r->obuf = o;
        r->ocap = cap;
    }
    char *w = r->obuf;
    const char *val[NFIELDS] = {0};
    size_t vlen[NFIELDS] = {0};
    int content_is_str = -1, surrogate = 0; /* -1: no content key yet */
    int text_is_str = -1, text_surrogate = 0;
    pt_json_scan s;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}') {
        p++;
        goto done;
    }
    for (;;) {
        if (p >= end || *p != '"') return malformed(r, e, line, p, end, "expected a string key");
        const char *q = pt_json_scan_string(p + 1, end, w, flags, &s); /* decoded, not kept */
        if (!q) return malformed(r, e, line, s.at, end, s.why);
        int f = field_of(w, s.len, r->accept_text);
        p = skip_ws(q, end);
        if (p >= end || *p != ':') return malformed(r, e, line, p, end, "expected ':' after the key");
        p = skip_ws(p + 1, end);
        if (f >= 0 && p < end && *p == '"') {
            if (!(q = pt_json_scan_string(p + 1, end, w, flags, &s))) return malformed(r, e, line, s.at, end, s.why);
            val[f] = w;
            vlen[f] = s.len;
            w[s.len] = 0;
            w += s.len + 1;
            if (f == F_CONTENT) content_is_str = 1, surrogate = s.lone_surrogate;
            if (f == F_TEXT) text_is_str = 1, text_surrogate = s.lone_surrogate;
        } else if (f >= 0 && p < end && (*p == '-' || (unsigned)(*p - '0') <= 9)) {
            if (!(q = pt_json_scan_number(p, end, &s))) return malformed(r, e, line, s.at, end, s.why);
            val[f] = w;
            vlen[f] = (size_t)(q - p);
            memcpy(w, p, vlen[f]);
            w[vlen[f]] = 0;
            w += vlen[f] + 1;
            if (f == F_CONTENT) content_is_str = 0;
            if (f == F_TEXT) text_is_str = 0;
        } else {
            if (!(q = pt_json_skip_value(p, end, flags, &s))) return malformed(r, e, line, s.at, end, s.why);
            if (f >= 0) val[f] = NULL, vlen[f] = 0;
            if (f == F_CONTENT) content_is_str = 0;
            if (f == F_TEXT) text_is_str = 0;
        }
        p = skip_ws(q, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}') {
            p++;
            break;
        }
        return malformed(r, e, line, p, end, "expected ',' or '}'");
    }
done:
    p = skip_ws(p, end);
    if (p != end) return malformed(r, e, line, p, end, "trailing characters after the object");
    if (content_is_str < 0 && text_is_str >= 0) { /* accept_text: "text" stands in */
        if (!text_is_str) return bad(r, e, "\"text\" is not a string");
        val[F_CONTENT] = val[F_TEXT], vlen[F_CONTENT] = vlen[F_TEXT];
        content_is_str = 1, surrogate = text_surrogate;
    }
    if (content_is_str < 0) return bad(r, e, r->accept_text ? "no \"content\" or \"text\" field" : "no \"content\" field");
    if (!content_is_str) return bad(r, e, "\"content\" is not a string");
    memset(doc, 0, sizeof *doc);
    doc->content = val[F_CONTENT];
    doc->content_len = vlen[F_CONTENT];
    doc->content_has_surrogate = (uint8_t)surrogate;
    doc->repo_name = val[F_REPO], doc->repo_name_len = vlen[F_REPO];
    doc->path = val[F_PATH], doc->path_len = vlen[F_PATH];
    doc->license = val[F_LICENSE], doc->license_len = vlen[F_LICENSE];
    doc->size = val[F_SIZE], doc->size_len = vlen[F_SIZE];
    doc->copies = val[F_COPIES], doc->copies_len = vlen[F_COPIES];
    doc->line = r->line;
    return PT_JSONL_DOC;
}

static int take_line(pt_jsonl_reader *r, const char *line, size_t len, pt_jsonl_doc *doc, pt_err *e) {
    if (r->skipping || len > r->max_line) {
        r->skipping = 0;
        return bad(r, e, "line too long (more than %zu bytes), skipped", r->max_line);
    }
    return parse_line(r, line, len, doc, e);
}

int pt_jsonl_next(pt_jsonl_reader *r, pt_jsonl_doc *doc, pt_err *e) {
    for (;;) {
        if (r->done) return PT_JSONL_END;
        char *nl = r->end > r->scan ? memchr(r->win + r->scan, '\n', r->end - r->scan) : NULL;
        if (nl) {
            const char *line = r->win + r->pos;
            r->pos = r->scan = (size_t)(nl + 1 - r->win);
            r->line++;
            int k = take_line(r, line, (size_t)(nl - line), doc, e);
            if (k != BLANK) return k;
            if (r->fatal) r->scan = r->pos = r->end; /* out of memory: report it now */
            continue;
        }
        r->scan = r->end;
        if (r->skipping || r->end - r->pos > r->max_line) { /* drop what streams past */
            r->skipping = 1;
            r->pos = r->end;
        }
        if (r->fatal) {
            r->done = 1;
            return pt_fail(e, r->fatal_code, "%s: %s (after line %llu)", r->path, r->fatal_msg,
                           (unsigned long long)r->line),
                   PT_JSONL_FATAL;
        }
        if (r->text_eof) { /* a last line without its newline */
            r->done = 1;
            if (r->end == r->pos && !r->skipping) return PT_JSONL_END;
            const char *line = r->win + r->pos;
            size_t len = r->end - r->pos;
            r->pos = r->scan = r->end;
            r->line++;
            int k = take_line(r, line, len, doc, e);
            if (k != BLANK) return k;
            if (!r->fatal) return PT_JSONL_END;
            r->done = 0;
            continue;
        }
        if (make_room(r)) continue; /* fatal is set */
        if (!r->started) start(r);
        else if (r->gz) fill_gz(r);
        else fill_plain(r);
    }
}
