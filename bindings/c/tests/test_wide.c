/* Issue 13 in C: counters outside int64_t are read whole (`pv_pncounter_value_i128`, two
 * 64-bit halves), and merges refuse forged claims and equivocations with their own status
 * codes, leaving the target unchanged. Expected values are worked out by hand below. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <unistd.h>

#include "check.h"

#define NAME(s) (const uint8_t *)(s), strlen(s)

static int same16(const uint8_t *a, const uint8_t *b) { return memcmp(a, b, 16) == 0; }

/* Three replicas each add UINT64_MAX to "up" and take UINT64_MAX from "down"; one replica
 * also takes 2 from "small". So up = 3 * (2^64 - 1) = 2 * 2^64 + (2^64 - 3): halves
 * (2, UINT64_MAX - 2); down = -(3 * 2^64) + 3: halves (-3, 3); small = -2: halves
 * (-1, UINT64_MAX - 1). */
static void wide_counters(void) {
    const char *names[3] = {"a", "b", "c"};
    pv_pncounter *r[3];
    pv_bytes d[3][2];
    for (int i = 0; i < 3; i++) {
        REQUIRE(pv_pncounter_new(PV_TYPE_UTF8, NAME(names[i]), &r[i]) == PV_OK);
        CHECK_OK(pv_pncounter_increment(r[i], pv_value_utf8("up"), UINT64_MAX, &d[i][0]));
        CHECK_OK(pv_pncounter_decrement(r[i], pv_value_utf8("down"), UINT64_MAX, &d[i][1]));
    }
    CHECK_OK(pv_pncounter_decrement(r[0], pv_value_utf8("small"), 2, NULL));
    for (int i = 1; i < 3; i++) {
        CHECK_OK(pv_pncounter_merge_bytes(r[0], d[i][0].data, d[i][0].len));
        CHECK_OK(pv_pncounter_merge_bytes(r[0], d[i][1].data, d[i][1].len));
    }
    int64_t hi = 42, v = 42;
    uint64_t lo = 42;
    CHECK_OK(pv_pncounter_value_i128(r[0], pv_value_utf8("up"), &hi, &lo));
    CHECK(hi == 2 && lo == UINT64_MAX - 2);
    CHECK_OK(pv_pncounter_value_i128(r[0], pv_value_utf8("down"), &hi, &lo));
    CHECK(hi == -3 && lo == 3);
    CHECK_OK(pv_pncounter_value_i128(r[0], pv_value_utf8("small"), &hi, &lo));
    CHECK(hi == -1 && lo == UINT64_MAX - 1 && (int64_t)lo == -2);
    CHECK_OK(pv_pncounter_value_i128(r[0], pv_value_utf8("absent"), &hi, &lo));
    CHECK(hi == 0 && lo == 0);
    /* the int64_t reader still refuses what does not fit */
    CHECK_STATUS(pv_pncounter_value(r[0], pv_value_utf8("up"), &v), PV_OVERFLOW);
    CHECK(v == 42);
    CHECK_OK(pv_pncounter_value(r[0], pv_value_utf8("small"), &v));
    CHECK(v == -2);
    /* misuse: outputs untouched */
    hi = 7;
    lo = 7;
    CHECK_STATUS(pv_pncounter_value_i128(r[0], pv_value_utf8("up"), NULL, &lo), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_pncounter_value_i128(r[0], pv_value_utf8("up"), &hi, NULL), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_pncounter_value_i128(NULL, pv_value_utf8("up"), &hi, &lo), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_pncounter_value_i128(r[0], pv_value_int64(1), &hi, &lo), PV_TYPE_MISMATCH);
    CHECK(hi == 7 && lo == 7);

    /* a durable replica reads the same */
    char dir[64];
    snprintf(dir, sizeof dir, "/tmp/pv-c-wide-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    pv_replica *rep = NULL;
    REQUIRE(pv_replica_create(dir, NAME("d"), PV_KIND_PNCOUNTER, PV_TYPE_UTF8, 0,
                              PV_DURABILITY_BUFFERED, &rep) == PV_OK);
    CHECK_OK(pv_replica_pncounter_increment(rep, pv_value_utf8("up"), UINT64_MAX, NULL, NULL));
    for (int i = 0; i < 2; i++) {
        CHECK_OK(pv_replica_apply_bytes(rep, d[i][0].data, d[i][0].len));
    }
    CHECK_OK(pv_replica_pncounter_value_i128(rep, pv_value_utf8("up"), &hi, &lo));
    CHECK(hi == 2 && lo == UINT64_MAX - 2);
    CHECK_STATUS(pv_replica_pncounter_value(rep, pv_value_utf8("up"), &v), PV_OVERFLOW);
    CHECK_STATUS(pv_replica_pncounter_value_i128(rep, pv_value_utf8("up"), NULL, &lo),
                 PV_INVALID_ARGUMENT);
    CHECK_OK(pv_replica_close(rep));
    DIR *dd = opendir(dir);
    struct dirent *e;
    char p[512];
    while (dd != NULL && (e = readdir(dd)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (dd != NULL) closedir(dd);
    rmdir(dir);

    for (int i = 0; i < 3; i++) {
        pv_bytes_free(&d[i][0]);
        pv_bytes_free(&d[i][1]);
        pv_pncounter_free(r[i]);
    }
}

/* Two handles writing as "a" bind the dot a:1 to two values (what a forger, or a restored
 * copy writing under its old name, does): the second to reach a peer is PV_EQUIVOCATION.
 * An old copy of "a" given a newer state of "a" is PV_FOREIGN_CLAIM (a rollback). */
static void checked_merges(void) {
    pv_mvmap *a1 = NULL, *a2 = NULL, *peer = NULL, *old = NULL;
    REQUIRE(pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, NAME("a"), &a1) == PV_OK);
    REQUIRE(pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, NAME("a"), &a2) == PV_OK);
    REQUIRE(pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, NAME("p"), &peer) == PV_OK);
    pv_bytes d1 = {0}, d2 = {0}, snap = {0}, now = {0};
    CHECK_OK(pv_mvmap_set(a1, pv_value_utf8("x"), pv_value_int64(1), &d1));
    CHECK_OK(pv_mvmap_set(a2, pv_value_utf8("x"), pv_value_int64(2), &d2));
    CHECK_OK(pv_mvmap_merge_bytes(peer, d1.data, d1.len));
    uint8_t before[16], after[16];
    CHECK_OK(pv_mvmap_digest(peer, before));
    CHECK_STATUS(pv_mvmap_merge_bytes(peer, d2.data, d2.len), PV_EQUIVOCATION);
    CHECK_STATUS(pv_mvmap_merge(peer, a2), PV_EQUIVOCATION);
    CHECK_OK(pv_mvmap_digest(peer, after));
    CHECK(same16(before, after));
    CHECK(strcmp(pv_status_str(PV_EQUIVOCATION), "PV_EQUIVOCATION") == 0);
    CHECK(PV_EQUIVOCATION == 14 && PV_FOREIGN_CLAIM == 12);

    CHECK_OK(pv_mvmap_to_bytes(a1, &snap));
    CHECK_OK(pv_mvmap_set(a1, pv_value_utf8("y"), pv_value_int64(3), NULL));
    CHECK_OK(pv_mvmap_to_bytes(a1, &now));
    REQUIRE(pv_mvmap_from_bytes(snap.data, snap.len, NAME("a"), &old) == PV_OK);
    CHECK_OK(pv_mvmap_digest(old, before));
    CHECK_STATUS(pv_mvmap_merge_bytes(old, now.data, now.len), PV_FOREIGN_CLAIM);
    CHECK_STATUS(pv_mvmap_merge(old, a1), PV_FOREIGN_CLAIM);
    CHECK_OK(pv_mvmap_digest(old, after));
    CHECK(same16(before, after));
    /* honest merges still pass: the peer takes a1's newer state, a1 takes the peer's */
    CHECK_OK(pv_mvmap_merge_bytes(peer, now.data, now.len));
    CHECK_OK(pv_mvmap_merge(a1, peer));

    pv_bytes_free(&d1);
    pv_bytes_free(&d2);
    pv_bytes_free(&snap);
    pv_bytes_free(&now);
    pv_mvmap_free(a1);
    pv_mvmap_free(a2);
    pv_mvmap_free(peer);
    pv_mvmap_free(old);
}

int main(void) {
    wide_counters();
    checked_merges();
    return pv_check_report("test_wide");
}
