/* The fuzzers' decode corpus (fuzz/seeds/decode: valid states, deltas and contexts of every
 * kind and type, and the inputs libFuzzer kept) through the C byte entry points: every
 * from_bytes and merge_bytes answers PV_OK or a decode/type status, never crashes or leaks
 * (this runs under valgrind), and a refused merge leaves the state's digest unchanged. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>

#include "check.h"

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return buf;
}

static int refused(pv_status s) { return s == PV_DECODE_ERROR || s == PV_TYPE_MISMATCH; }

#define ONE_KIND(kind, make)                                                                 \
    do {                                                                                     \
        pv_##kind *h = NULL;                                                                 \
        pv_status s = pv_##kind##_from_bytes(bytes, len, (const uint8_t *)"c", 1, &h);       \
        CHECK(s == PV_OK || refused(s));                                                     \
        CHECK((s == PV_OK) == (h != NULL));                                                  \
        if (h) {                                                                             \
            accepted++;                                                                      \
            pv_##kind##_free(h);                                                             \
        }                                                                                    \
        pv_##kind *t = NULL;                                                                 \
        REQUIRE(make == PV_OK);                                                              \
        uint8_t before[16], after[16];                                                       \
        CHECK_OK(pv_##kind##_digest(t, before));                                             \
        s = pv_##kind##_merge_bytes(t, bytes, len);                                          \
        CHECK(s == PV_OK || refused(s));                                                     \
        CHECK_OK(pv_##kind##_digest(t, after));                                              \
        if (s != PV_OK) CHECK(memcmp(before, after, 16) == 0);                               \
        pv_##kind##_free(t);                                                                 \
    } while (0)

static unsigned long accepted = 0;

static void run(const uint8_t *bytes, size_t len) {
    ONE_KIND(mvmap, pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, (const uint8_t *)"t", 1, &t));
    ONE_KIND(awset, pv_awset_new(PV_TYPE_UTF8, (const uint8_t *)"t", 1, &t));
    ONE_KIND(pncounter, pv_pncounter_new(PV_TYPE_UTF8, (const uint8_t *)"t", 1, &t));
    ONE_KIND(lwwmap, pv_lwwmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, (const uint8_t *)"t", 1, &t));
}

int main(int argc, char **argv) {
    REQUIRE(argc == 2);
    DIR *d = opendir(argv[1]);
    REQUIRE(d != NULL);
    unsigned long files = 0;
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        size_t len = 0;
        uint8_t *bytes = read_file(path, &len);
        if (!bytes) continue;
        files++;
        run(bytes, len);
        /* and a few truncations of every eighth file (valgrind makes each call slow) */
        if (files % 8 == 0)
            for (size_t cut = 0; cut < len; cut += len / 3 + 1) run(bytes, cut);
        free(bytes);
    }
    closedir(d);
    CHECK(files >= 20);
    CHECK(accepted > 0);
    printf("decode corpus: %lu files, %lu accepted decodes\n", files, accepted);
    return pv_check_report("test_decode_corpus");
}
