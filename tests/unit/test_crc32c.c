/* test_crc32c.c - CRC-32C: the standard check value, known vectors, streaming, and the
 * hardware path against the table on random buffers of odd lengths and alignments. */
#include "base/crc32c.h"
#include "test.h"

TEST(crc32c_check_value) {
    CHECK_EQ_U64(pt_crc32c(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_U64(pt_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    CHECK_EQ_U64(pt_crc32c(0, NULL, 0), 0);
    CHECK_EQ_U64(pt_crc32c(0x1234, NULL, 0), 0x1234);
}

TEST(crc32c_known_vectors) {
    /* RFC 3720 (iSCSI) appendix B.4 */
    unsigned char b[48];
    memset(b, 0, 32);
    CHECK_EQ_U64(pt_crc32c(0, b, 32), 0x8A9136AAu);
    memset(b, 0xff, 32);
    CHECK_EQ_U64(pt_crc32c(0, b, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++) b[i] = (unsigned char)i;
    CHECK_EQ_U64(pt_crc32c(0, b, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++) b[i] = (unsigned char)(31 - i);
    CHECK_EQ_U64(pt_crc32c(0, b, 32), 0x113FDB5Cu);
    static const unsigned char scsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
        0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    CHECK_EQ_U64(pt_crc32c(0, scsi, 48), 0xD9963A56u);
    CHECK_EQ_U64(pt_crc32c_sw(0, scsi, 48), 0xD9963A56u);
}

TEST(crc32c_mask_roundtrip) {
    uint32_t v[] = {0, 1, 0xE3069283u, 0xffffffffu, 0x80000000u};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        CHECK_EQ_U64(pt_crc32c_unmask(pt_crc32c_mask(v[i])), v[i]);
        CHECK(pt_crc32c_mask(v[i]) != v[i]);
    }
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

TEST(crc32c_hw_equals_table_random) {
    enum { N = 70000 };
    unsigned char *buf = malloc(N + 8);
    for (size_t i = 0; i < N + 8; i++) buf[i] = (unsigned char)next();
    printf("  (pt_crc32c uses the %s)\n", pt_crc32c_hw() ? "SSE4.2 CRC32 instruction" : "table");
    int bad = 0;
    for (int t = 0; t < 400; t++) {
        size_t off = next() % 8, n = (next() % (t < 300 ? 200 : N)) | 1; /* odd lengths */
        uint32_t seed = t & 1 ? (uint32_t)next() : 0;
        bad += pt_crc32c(seed, buf + off, n) != pt_crc32c_sw(seed, buf + off, n);
    }
    CHECK(bad == 0);
    free(buf);
}

TEST(crc32c_streaming_equals_oneshot) {
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)next();
    uint32_t one = pt_crc32c(0, buf, sizeof buf);
    for (size_t cut = 0; cut <= sizeof buf; cut += 37) {
        CHECK_EQ_U64(pt_crc32c(pt_crc32c(0, buf, cut), buf + cut, sizeof buf - cut), one);
        CHECK_EQ_U64(pt_crc32c_sw(pt_crc32c_sw(0, buf, cut), buf + cut, sizeof buf - cut), one);
    }
    /* a one-bit change anywhere changes the value */
    buf[500] ^= 4;
    CHECK(pt_crc32c(0, buf, sizeof buf) != one);
}

int main(void) {
    RUN(crc32c_check_value);
    RUN(crc32c_known_vectors);
    RUN(crc32c_mask_roundtrip);
    RUN(crc32c_hw_equals_table_random);
    RUN(crc32c_streaming_equals_oneshot);
    return TEST_DONE();
}
