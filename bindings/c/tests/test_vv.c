/* The version-vector kernels against naive C loops: random matrices of many shapes,
 * offsets into larger buffers, extreme counters, and every error path. */
#include <stdint.h>

#include "check.h"

static void naive_merge(uint64_t *a, const uint64_t *b, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (b[i] > a[i]) a[i] = b[i];
    }
}

static void naive_compare(const uint64_t *a, const uint64_t *b, size_t rows, size_t width,
                          uint8_t *out) {
    for (size_t r = 0; r < rows; r++) {
        uint8_t code = 0;
        for (size_t j = 0; j < width; j++) {
            uint64_t x = a[r * width + j], y = b[r * width + j];
            if (x < y) code |= 1;
            if (x > y) code |= 2;
        }
        out[r] = code;
    }
}

/* A counter drawn so that rows are often equal or ordered, with the extremes. */
static uint64_t draw(int spread) {
    switch (rng_below(8)) {
    case 0:
        return 0;
    case 1:
        return UINT64_MAX;
    case 2:
        return UINT64_MAX - 1;
    default:
        return spread ? rng_next() : rng_below(3);
    }
}

static void one_shape(size_t rows, size_t width, size_t off_a, size_t off_b, int spread) {
    size_t n = rows * width;
    uint64_t *abuf = malloc((n + off_a + 1) * sizeof(uint64_t));
    uint64_t *bbuf = malloc((n + off_b + 1) * sizeof(uint64_t));
    uint64_t *want = malloc((n + 1) * sizeof(uint64_t));
    uint8_t *obuf = malloc(rows + 8);
    uint8_t *owant = malloc(rows + 1);
    REQUIRE(abuf && bbuf && want && obuf && owant);
    uint64_t *a = abuf + off_a, *b = bbuf + off_b;
    for (size_t i = 0; i < n; i++) {
        a[i] = draw(spread);
        /* b equal to a about half the time, to get EQUAL/BEFORE/AFTER rows */
        b[i] = rng_below(2) ? a[i] : draw(spread);
    }
    uint8_t *out = obuf + off_a % 8; /* bytes need no alignment */
    naive_compare(a, b, rows, width, owant);
    memset(out, 0xAB, rows);
    CHECK_OK(pv_vv_compare_u64(a, b, rows, width, out));
    CHECK(rows == 0 || memcmp(out, owant, rows) == 0);
    memcpy(want, a, n * sizeof(uint64_t));
    naive_merge(want, b, n);
    CHECK_OK(pv_vv_merge_u64(a, b, rows, width));
    CHECK(n == 0 || memcmp(a, want, n * sizeof(uint64_t)) == 0);
    /* after the merge every row of a dominates b */
    CHECK_OK(pv_vv_compare_u64(a, b, rows, width, out));
    for (size_t r = 0; r < rows; r++) {
        CHECK(out[r] == PV_VV_EQUAL || out[r] == PV_VV_AFTER);
    }
    free(abuf);
    free(bbuf);
    free(want);
    free(obuf);
    free(owant);
}

static void random_shapes(void) {
    static const size_t widths[] = {1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 32, 33, 64, 65};
    static const size_t rows[] = {0, 1, 2, 3, 7, 16, 33, 100};
    for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            for (size_t off = 0; off < 4; off++) {
                one_shape(rows[r], widths[w], off, (off * 3) % 5, (int)(off & 1));
            }
        }
    }
    /* large enough to be split over the thread pool (2^18 counters and more) */
    one_shape(70001, 5, 1, 0, 0);
    one_shape(300007, 1, 0, 3, 1);
}

static void order_codes(void) {
    CHECK(PV_VV_EQUAL == 0 && PV_VV_BEFORE == 1 && PV_VV_AFTER == 2 && PV_VV_CONCURRENT == 3);
    /* the README example: three records, two replicas */
    uint64_t a[] = {3, 1, 0, 2, 5, 5, 1, 9};
    uint64_t b[] = {2, 4, 0, 2, 4, 5, 2, 9};
    uint8_t out[4];
    CHECK_OK(pv_vv_compare_u64(a, b, 4, 2, out));
    CHECK(out[0] == PV_VV_CONCURRENT && out[1] == PV_VV_EQUAL && out[2] == PV_VV_AFTER &&
          out[3] == PV_VV_BEFORE);
    CHECK_OK(pv_vv_merge_u64(a, b, 4, 2));
    uint64_t want[] = {3, 4, 0, 2, 5, 5, 2, 9};
    CHECK(memcmp(a, want, sizeof want) == 0);
    /* one row of UINT64_MAX */
    uint64_t m[] = {UINT64_MAX, 0, UINT64_MAX};
    uint64_t z[] = {0, UINT64_MAX, UINT64_MAX};
    CHECK_OK(pv_vv_compare_u64(m, z, 1, 3, out));
    CHECK(out[0] == PV_VV_CONCURRENT);
    CHECK_OK(pv_vv_merge_u64(m, z, 1, 3));
    CHECK(m[0] == UINT64_MAX && m[1] == UINT64_MAX && m[2] == UINT64_MAX);
}

static void error_paths(void) {
    uint64_t a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint64_t b[8] = {9, 9, 9, 9, 9, 9, 9, 9};
    uint64_t keep[8];
    memcpy(keep, a, sizeof a);
    uint8_t out[4] = {7, 7, 7, 7};

    CHECK_STATUS(pv_vv_merge_u64(NULL, b, 2, 2), PV_INVALID_ARGUMENT);
    CHECK(strstr(pv_last_error(), "pv_vv_merge_u64") != NULL);
    CHECK_STATUS(pv_vv_merge_u64(a, NULL, 2, 2), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_merge_u64(a, b, 2, 0), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_merge_u64(a, b, 0, 0), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_merge_u64(NULL, NULL, 0, 1), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_merge_u64(a, b, SIZE_MAX, 2), PV_OVERFLOW);
    CHECK_STATUS(pv_vv_merge_u64(a, b, SIZE_MAX / 8, 2), PV_OVERFLOW);
    CHECK_STATUS(pv_vv_merge_u64(a, a + 1, 2, 2), PV_INVALID_ARGUMENT); /* overlap */
    uint64_t *mis = (uint64_t *)(void *)((char *)a + 4);
    CHECK_STATUS(pv_vv_merge_u64(mis, b, 1, 1), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_merge_u64(a, (const uint64_t *)(const void *)((const char *)b + 1), 1, 1),
                 PV_INVALID_ARGUMENT);
    CHECK(memcmp(a, keep, sizeof a) == 0);
    CHECK_OK(pv_vv_merge_u64(a, a, 4, 2)); /* a with itself: unchanged */
    CHECK(memcmp(a, keep, sizeof a) == 0);
    CHECK_OK(pv_vv_merge_u64(a, b, 0, 3)); /* zero rows */
    CHECK(memcmp(a, keep, sizeof a) == 0);

    CHECK_STATUS(pv_vv_compare_u64(NULL, b, 2, 2, out), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_compare_u64(a, NULL, 2, 2, out), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_compare_u64(a, b, 2, 2, NULL), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_compare_u64(a, b, 2, 0, out), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_compare_u64(a, b, SIZE_MAX / 2, 3, out), PV_OVERFLOW);
    CHECK_STATUS(pv_vv_compare_u64(a, b, SIZE_MAX / 16, 2, out), PV_OVERFLOW);
    CHECK_STATUS(pv_vv_compare_u64(mis, b, 1, 1, out), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_vv_compare_u64(a, b, 2, 2, (uint8_t *)(void *)(a + 1)), PV_INVALID_ARGUMENT);
    CHECK(out[0] == 7 && out[1] == 7 && out[2] == 7 && out[3] == 7);
    CHECK_OK(pv_vv_compare_u64(a, b, 0, 2, out)); /* zero rows: out untouched */
    CHECK(out[0] == 7);
    CHECK_OK(pv_vv_compare_u64(a, a, 4, 2, out)); /* overlapping inputs are fine */
    CHECK(out[0] == PV_VV_EQUAL && out[3] == PV_VV_EQUAL);
    CHECK_OK(pv_vv_compare_u64(a, a + 2, 2, 2, out));
    CHECK(out[0] == PV_VV_BEFORE && out[1] == PV_VV_BEFORE);
}

static void status_and_errors(void) {
    CHECK(strcmp(pv_status_str(PV_OK), "PV_OK") == 0);
    CHECK(strcmp(pv_status_str(PV_INVALID_ARGUMENT), "PV_INVALID_ARGUMENT") == 0);
    CHECK(strcmp(pv_status_str(PV_DECODE_ERROR), "PV_DECODE_ERROR") == 0);
    CHECK(strcmp(pv_status_str(PV_TYPE_MISMATCH), "PV_TYPE_MISMATCH") == 0);
    CHECK(strcmp(pv_status_str(PV_OVERFLOW), "PV_OVERFLOW") == 0);
    CHECK(strcmp(pv_status_str(PV_PANIC), "PV_PANIC") == 0);
    CHECK(strcmp(pv_status_str(PV_ERROR), "PV_ERROR") == 0);
    CHECK(strcmp(pv_status_str(1000), "PV_UNKNOWN_STATUS") == 0);
    /* frozen values */
    CHECK(PV_OK == 0 && PV_INVALID_ARGUMENT == 1 && PV_DECODE_ERROR == 2 &&
          PV_TYPE_MISMATCH == 3 && PV_OVERFLOW == 4 && PV_PANIC == 5 && PV_ERROR == 6);
    CHECK(strcmp(pv_version(), "0.1.0") == 0);
    uint64_t x = 1;
    CHECK_STATUS(pv_vv_merge_u64(&x, &x, 1, 0), PV_INVALID_ARGUMENT);
    CHECK(strcmp(pv_last_error(), "pv_vv_merge_u64: width is 0") == 0);
    CHECK(strcmp(pv_last_error(), "pv_vv_merge_u64: width is 0") == 0); /* reading keeps it */
    CHECK_OK(pv_vv_merge_u64(&x, &x, 1, 1));
    CHECK(pv_last_error()[0] == '\0');
}

int main(void) {
    status_and_errors();
    order_codes();
    error_paths();
    random_shapes();
    return pv_check_report("test_vv");
}
