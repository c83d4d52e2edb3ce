/* test_base.c - status, buffers, hashing, atomic files. */
#include <unistd.h>

#include "base/buf.h"
#include "base/fs.h"
#include "base/hash.h"
#include "base/status.h"
#include "test.h"

TEST(status_messages) {
    pt_err e = {0};
    CHECK(pt_fail(&e, PT_EFORMAT, "%s: line %d", "a.jsonl", 3) == PT_EFORMAT);
    CHECK_STR(e.msg, "a.jsonl: line 3");
    pt_err_prefix(&e, "reading %s", "x");
    CHECK_STR(e.msg, "reading x: a.jsonl: line 3");
    CHECK_STR(pt_code_name(PT_EIO), "io");
}

TEST(buf_grows) {
    pt_buf b = {0};
    for (int i = 0; i < 10000; i++) CHECK(pt_buf_printf(&b, NULL, "%d,", i % 10) == 0);
    CHECK_EQ_U64(b.len, 20000);
    CHECK(b.data[b.len] == 0);
    pt_buf_free(&b);
}

TEST(hash_streaming_equals_oneshot) {
    char data[1000];
    for (int i = 0; i < 1000; i++) data[i] = (char)(i * 7 + 3);
    for (size_t n = 0; n < 200; n += 7) {
        pt_hash128 one = pt_hash128_of(data, n, 42);
        pt_hasher h;
        pt_hasher_init(&h, 42);
        for (size_t i = 0; i < n;) {
            size_t k = (i * 13 + 1) % 37 + 1;
            if (k > n - i) k = n - i;
            pt_hasher_update(&h, data + i, k);
            i += k;
        }
        pt_hash128 s = pt_hasher_final(&h);
        CHECK(one.lo == s.lo && one.hi == s.hi);
    }
}

TEST(hash_distinguishes) {
    /* length, seed, one bit and zero padding all change the value */
    unsigned char z[64] = {0};
    pt_hash128 a = pt_hash128_of(z, 31, 0), b = pt_hash128_of(z, 32, 0), c = pt_hash128_of(z, 31, 1);
    CHECK(a.lo != b.lo && a.hi != b.hi && a.lo != c.lo);
    int collisions = 0;
    uint64_t prev = pt_hash64(z, 64, 0);
    for (int bit = 0; bit < 512; bit++) {
        z[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        uint64_t h = pt_hash64(z, 64, 0);
        int d = __builtin_popcountll(h ^ prev);
        if (d < 12 || d > 52) collisions++; /* avalanche: ~32 bits differ */
        z[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    CHECK(collisions == 0);
}

TEST(atomic_write_and_abort) {
    char dir[] = "/tmp/pt-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *p = pt_path_join(dir, "f.txt");
    pt_err e = {0};
    CHECK_OK(pt_fs_write_atomic(p, "hello", 5, &e), &e);
    CHECK_EQ_U64(pt_fs_size(p), 5);
    pt_afile a;
    CHECK_OK(pt_afile_open(&a, p, &e), &e);
    pt_afile_write(&a, "xx", 2, &e);
    pt_afile_abort(&a);
    CHECK_EQ_U64(pt_fs_size(p), 5); /* the old content survives an aborted write */
    pt_buf b = {0};
    CHECK_OK(pt_fs_read_all(p, &b, &e), &e);
    CHECK_STR(b.data, "hello");
    CHECK(pt_fs_read_all("/nonexistent/x", &b, &e) == PT_EIO);
    CHECK(strstr(e.msg, "/nonexistent/x") != NULL);
    pt_buf_free(&b);
    CHECK_OK(pt_fs_rm_rf(dir, &e), &e);
    CHECK(!pt_fs_exists(dir));
    free(p);
}

int main(void) {
    RUN(status_messages);
    RUN(buf_grows);
    RUN(hash_streaming_equals_oneshot);
    RUN(hash_distinguishes);
    RUN(atomic_write_and_abort);
    return TEST_DONE();
}
