/* pretok.h - GPT-2's pre-tokenizer: the regex split, as a hand-written scanner.
 *
 * Byte-level BPE never merges across the pieces of this regex (GPT-2's encoder.py,
 * tiktoken's "gpt2", Hugging Face's ByteLevel(use_regex=true)):
 *
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * The alternatives are tried in order at each position (leftmost-first, greedy), and
 * every character matches one of them, so the pieces tile the text. What that means:
 *   - a contraction ('s 't 're 've 'm 'll 'd, lower case only) is a piece when it starts
 *     at the piece boundary; inside a run of punctuation the apostrophe is punctuation;
 *   - a run of letters, of numbers, or of "other" characters (neither letter, number nor
 *     space) is a piece, with one U+0020 space in front of it if there is one;
 *   - a run of whitespace is a piece, except that when a non-space follows it gives
 *     its last character back (`\s+(?!\S)` backtracks one character): that character
 *     starts the next piece - " foo" if it is U+0020 and a letter follows, or a piece of
 *     its own ("\t", "\n") otherwise. At the end of the text the whole run is one piece.
 * Classes (\p{L}, \p{N}, \s = White_Space) come from src/base/unicode_tables.h (bits 3-4), generated
 * from Unicode 14.0.0 (Python 3.11) and checked there against tiktoken, the `regex`
 * module and Hugging Face tokenizers on every assigned code point.
 *
 * Input is UTF-8 but need not be valid: each byte that does not start a well-formed
 * sequence (base/utf8.h's rules, what Python's strict decoder accepts) is a character of
 * its own of class "other" - the same split as the regex on the text decoded with
 * errors="surrogateescape", whose lone surrogates are neither letters, numbers nor spaces.
 *
 * Why a scanner: no regex engine at run time, one pass, ASCII classified by a 128-byte
 * table; a piece is found in a few nanoseconds, far below the cost of its BPE merges.
 * Pure functions: thread-safe.
 */
#ifndef PT_TOK_PRETOK_H
#define PT_TOK_PRETOK_H

#include <stddef.h>

/* The end (exclusive byte offset) of the piece of text[0..n) that starts at byte pos,
 * which must be a piece boundary (0, or an end returned before) and < n. Pieces never
 * split a well-formed UTF-8 sequence. */
size_t pt_pretok_next(const void *text, size_t n, size_t pos);

/* The number of pieces of text[0..n) (0 for n == 0). */
size_t pt_pretok_count(const void *text, size_t n);

#endif
