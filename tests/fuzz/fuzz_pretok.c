/* fuzz_pretok.c - libFuzzer target for the pre-tokenizer scanner (tok/pretok.h), with PCRE2
 * as the oracle.
 *
 * Any input: the pieces must tile it (each piece non-empty, starting where the last ended,
 * the last ending at the input's end) and pt_pretok_count must count them. When the input is
 * valid UTF-8 (PCRE2's UTF check, the same rules as base/utf8.h: no surrogates, no overlong
 * forms), every piece must also be PCRE2's match of GPT-2's pattern at that position
 * (compiled UTF | UCP with JIT; \s spelled as the White_Space class, see
 * tests/unit/test_pretok_pcre2.c for why) and end on a character boundary. Invalid input just
 * must not crash and must tile. Each broken check is an abort().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tok/pretok.h"

#include "fuzz.h"


#define WS_CHARS "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"
static const char pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS_CHARS "\\p{L}\\p{N}]+|[" WS_CHARS
                              "]+(?![^" WS_CHARS "])|[" WS_CHARS "]+";

static pcre2_code *re;
static pcre2_match_data *md;

static void init(void) {
    int err;
    PCRE2_SIZE off;
    re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &off, NULL);
    check(re != NULL);
    check(pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0);
    md = pcre2_match_data_create_from_pattern(re, NULL);
    check(md != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!re) init();
    int rc = pcre2_match(re, data, size, 0, 0, md, NULL); /* also the UTF-8 check */
    int valid = !(rc <= PCRE2_ERROR_UTF8_ERR1 && rc >= PCRE2_ERROR_UTF8_ERR21);
    size_t pos = 0, pieces = 0;
    while (pos < size) {
        size_t end = pt_pretok_next(data, size, pos);
        check(end > pos && end <= size);
        if (valid) {
            check(end == size || (data[end] & 0xC0) != 0x80);
            int m = pcre2_jit_match(re, data, size, pos, PCRE2_NO_UTF_CHECK, md, NULL);
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            check(m >= 1 && ov[0] == pos && ov[1] == end);
        }
        pos = end, pieces++;
    }
    check(pt_pretok_count(data, size) == pieces);
    return 0;
}
