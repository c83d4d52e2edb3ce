/* crc32c.h - CRC-32C (Castagnoli, reflected polynomial 0x82F63B78).
 *
 * The checksum of TensorFlow's TFRecord framing (train/tfevents), of LevelDB and of iSCSI;
 * chosen there because x86 computes it in hardware. With SSE4.2 (compile-time __SSE4_2__,
 * which -march=native gives on any x86 of the last 15 years) pt_crc32c uses the CRC32
 * instruction 8 bytes at a time; elsewhere it runs a slicing-by-8 table (8 KiB, built once
 * on first use, thread-safe). pt_crc32c_sw is the table version on every build, so the
 * tests can check that both agree.
 *
 * Conventions are zlib's crc32(): the pre- and post-inversion happen inside, so
 *     crc = pt_crc32c(0, a, na); crc = pt_crc32c(crc, b, nb);
 * equals pt_crc32c(0, ab, na + nb), and pt_crc32c(0, "123456789", 9) == 0xE3069283.
 *
 * Thread-safety: every function is pure (the table is built once under pthread_once).
 */
#ifndef PT_CRC32C_H
#define PT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of p[0..n) continued from crc (0 to start). p may be NULL when n == 0. */
uint32_t pt_crc32c(uint32_t crc, const void *p, size_t n);
/* The same value by the portable table (never the CRC32 instruction). */
uint32_t pt_crc32c_sw(uint32_t crc, const void *p, size_t n);
/* 1 when pt_crc32c uses the CRC32 instruction in this build, 0 when it is the table. */
int pt_crc32c_hw(void);

/* The "masked" CRC of TFRecord and LevelDB: a CRC stored next to data that is itself
 * checksummed is rotated and offset, so that a CRC of a CRC does not degenerate. */
static inline uint32_t pt_crc32c_mask(uint32_t crc) {
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}
static inline uint32_t pt_crc32c_unmask(uint32_t m) {
    uint32_t r = m - 0xa282ead8u;
    return (r >> 17) | (r << 15);
}

#endif
