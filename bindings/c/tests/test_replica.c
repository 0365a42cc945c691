/* Durable replicas and their sync through the C API: every acknowledged write survives a
 * close and reopen, a second open is refused, two replicas converge over a lossy,
 * duplicating, reordering channel to the union of their writes (checked against a plain
 * record of what was written), every message respects the bound, and corrupted messages and
 * files are refused without changing anything. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

/* ---- temporary directories ---- */

static void make_tmp(char *buf, size_t n, const char *what) {
    snprintf(buf, n, "/tmp/pv-c-%s-XXXXXX", what);
    REQUIRE(mkdtemp(buf) != NULL);
}

/* Removes `dir` and the plain files in it (replica directories have no subdirectories). */
static void remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

/* The path of the first file in `dir` whose name starts with `prefix`; false if none. */
static bool find_file(const char *dir, const char *prefix, char *out, size_t n) {
    DIR *d = opendir(dir);
    if (d == NULL) return false;
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            snprintf(out, n, "%s/%s", dir, e->d_name);
            found = true;
            break;
        }
    }
    closedir(d);
    return found;
}

/* ---- a seeded LCG (the faults of a run replay from its seed) ---- */

static uint64_t lcg_state;
static uint32_t lcg(void) {
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(lcg_state >> 33);
}

/* ---- create, write, close, reopen ---- */

#define N_KEYS 60

static void key_name(char *buf, size_t n, int i) { snprintf(buf, n, "key-%03d", i); }

static void test_durable(void) {
    char dir[64];
    make_tmp(dir, sizeof dir, "durable");
    pv_replica *r = NULL;
    CHECK_OK(pv_replica_create(dir, (const uint8_t *)"paris", 5, PV_KIND_MVMAP, PV_TYPE_UTF8,
                               PV_TYPE_INT64, PV_DURABILITY_SYNCED, &r));
    REQUIRE(r != NULL);

    /* the plain record of what was acknowledged: value per key, or -1 when removed */
    int64_t want[N_KEYS];
    uint64_t last_counter = 0;
    for (int i = 0; i < N_KEYS; i++) {
        char k[32];
        key_name(k, sizeof k, i);
        pv_mvmap *delta = NULL;
        pv_written w;
        CHECK_OK(pv_replica_mvmap_set(r, pv_value_utf8(k), pv_value_int64(i * 10), &delta, &w));
        want[i] = i * 10;
        /* one fresh counter per set, in order; synced before the call returned */
        CHECK(w.first == last_counter + 1 && w.last == w.first);
        CHECK(w.durable);
        last_counter = w.last;
        /* the delta is an ordinary state handle: it holds just this write */
        size_t n = 0;
        CHECK_OK(pv_mvmap_len(delta, &n));
        CHECK(n == 1);
        pv_bytes b = {0};
        CHECK_OK(pv_mvmap_to_bytes(delta, &b));
        CHECK(b.len > 0);
        pv_bytes_free(&b);
        pv_mvmap_free(delta);
        if (i == 20) CHECK_OK(pv_replica_fold(r)); /* a snapshot in the middle */
    }
    for (int i = 0; i < N_KEYS; i += 7) {
        char k[32];
        key_name(k, sizeof k, i);
        pv_written w;
        CHECK_OK(pv_replica_mvmap_remove(r, pv_value_utf8(k), NULL, &w));
        CHECK(w.first == 0 && w.last == 0); /* a remove takes no counter */
        want[i] = -1;
    }
    /* a write of another kind is refused and changes nothing */
    pv_awset *wrong = NULL;
    uint8_t before[16], after[16];
    CHECK_OK(pv_replica_digest(r, before));
    CHECK_STATUS(pv_replica_awset_add(r, pv_value_utf8("x"), &wrong, NULL), PV_TYPE_MISMATCH);
    CHECK(wrong == NULL);
    CHECK_STATUS(pv_replica_mvmap_set(r, pv_value_int64(1), pv_value_int64(1), NULL, NULL),
                 PV_TYPE_MISMATCH);
    CHECK_OK(pv_replica_digest(r, after));
    CHECK(memcmp(before, after, 16) == 0);
    uint64_t issued_before = last_counter;
    pv_bytes writer1 = {0};
    CHECK_OK(pv_replica_writer(r, &writer1));
    CHECK_OK(pv_replica_close(r));

    /* creating over it is refused; opening a directory without a replica too */
    pv_replica *again = NULL;
    CHECK_STATUS(pv_replica_create(dir, (const uint8_t *)"paris", 5, PV_KIND_MVMAP,
                                   PV_TYPE_UTF8, PV_TYPE_INT64, PV_DURABILITY_GROUP, &again),
                 PV_ALREADY_EXISTS);
    CHECK(again == NULL);
    char empty[64];
    make_tmp(empty, sizeof empty, "empty");
    CHECK_STATUS(pv_replica_open(empty, PV_DURABILITY_GROUP, &again), PV_NOT_A_REPLICA);
    CHECK(again == NULL);
    remove_tree(empty);
    CHECK_STATUS(pv_replica_open(NULL, PV_DURABILITY_GROUP, &again), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_replica_open(dir, 0, &again), PV_INVALID_ARGUMENT);
    CHECK(again == NULL);

    /* reopen (twice, the second time after a fold): every acknowledged write is there */
    for (int round = 0; round < 2; round++) {
        CHECK_OK(pv_replica_open(dir, PV_DURABILITY_GROUP, &again));
        REQUIRE(again != NULL);
        CHECK_OK(pv_replica_digest(again, after));
        CHECK(memcmp(before, after, 16) == 0);
        size_t live = 0, len = 0;
        for (int i = 0; i < N_KEYS; i++) {
            char k[32];
            key_name(k, sizeof k, i);
            pv_values *vals = NULL;
            CHECK_OK(pv_replica_get(again, pv_value_utf8(k), &vals));
            if (want[i] < 0) {
                CHECK(pv_values_len(vals) == 0);
            } else {
                live++;
                pv_value v;
                CHECK(pv_values_len(vals) == 1);
                CHECK_OK(pv_values_get(vals, 0, &v));
                CHECK(v.tag == PV_TYPE_INT64 && v.int64 == want[i]);
            }
            pv_values_free(vals);
        }
        CHECK_OK(pv_replica_len(again, &len));
        CHECK(len == live);
        pv_kind kind = 0;
        pv_type kt = 0, vt = 0;
        CHECK_OK(pv_replica_type(again, &kind, &kt, &vt));
        CHECK(kind == PV_KIND_MVMAP && kt == PV_TYPE_UTF8 && vt == PV_TYPE_INT64);
        pv_bytes name = {0}, writer2 = {0};
        CHECK_OK(pv_replica_name(again, &name));
        CHECK(name.len == 5 && memcmp(name.data, "paris", 5) == 0);
        /* a fresh incarnation per open: its counters start again at 1 */
        CHECK_OK(pv_replica_writer(again, &writer2));
        CHECK(writer2.len == writer1.len && memcmp(writer1.data, writer2.data, writer1.len) != 0);
        pv_written w;
        CHECK_OK(pv_replica_mvmap_set(again, pv_value_utf8("fresh"), pv_value_int64(1), NULL, &w));
        CHECK(w.first == 1 && issued_before > 1);
        CHECK(!w.durable); /* group commit: durable at the next sync */
        CHECK_OK(pv_replica_sync(again));
        CHECK_OK(pv_replica_mvmap_remove(again, pv_value_utf8("fresh"), NULL, NULL));
        CHECK_OK(pv_replica_digest(again, before));
        if (round == 0) CHECK_OK(pv_replica_fold(again));
        pv_bytes_free(&name);
        pv_bytes_free(&writer2);
        CHECK_OK(pv_replica_close(again));
        again = NULL;
    }
    pv_bytes_free(&writer1);
    remove_tree(dir);
}

/* ---- one handle per directory ---- */

static void test_locked(void) {
    char dir[64];
    make_tmp(dir, sizeof dir, "locked");
    pv_replica *a = NULL, *b = NULL;
    CHECK_OK(pv_replica_create(dir, (const uint8_t *)"a", 1, PV_KIND_AWSET, PV_TYPE_INT64, 0,
                               PV_DURABILITY_BUFFERED, &a));
    REQUIRE(a != NULL);
    CHECK_STATUS(pv_replica_open(dir, PV_DURABILITY_BUFFERED, &b), PV_LOCKED);
    CHECK(b == NULL);
    CHECK(strstr(pv_last_error(), "open") != NULL);
    CHECK_STATUS(pv_replica_create(dir, (const uint8_t *)"a", 1, PV_KIND_AWSET, PV_TYPE_INT64, 0,
                                   PV_DURABILITY_BUFFERED, &b),
                 PV_LOCKED);
    CHECK(b == NULL);
    CHECK_OK(pv_replica_awset_add(a, pv_value_int64(7), NULL, NULL));
    pv_replica_free(a); /* buffered: the write survives the process, so a free too */
    CHECK_OK(pv_replica_open(dir, PV_DURABILITY_BUFFERED, &b));
    bool has = false;
    CHECK_OK(pv_replica_contains(b, pv_value_int64(7), &has));
    CHECK(has);
    pv_replica_free(b);
    remove_tree(dir);
}

/* ---- a damaged log is refused with the file and offset ---- */

static void test_corrupt_dir(void) {
    char dir[64];
    make_tmp(dir, sizeof dir, "corrupt");
    pv_replica *r = NULL;
    CHECK_OK(pv_replica_create(dir, (const uint8_t *)"c", 1, PV_KIND_PNCOUNTER, PV_TYPE_UTF8, 0,
                               PV_DURABILITY_SYNCED, &r));
    REQUIRE(r != NULL);
    for (int i = 0; i < 10; i++) {
        CHECK_OK(pv_replica_pncounter_increment(r, pv_value_utf8("hits"), 2, NULL, NULL));
    }
    CHECK_OK(pv_replica_pncounter_decrement(r, pv_value_utf8("hits"), 5, NULL, NULL));
    int64_t v = 0;
    CHECK_OK(pv_replica_pncounter_value(r, pv_value_utf8("hits"), &v));
    CHECK(v == 15);
    CHECK_OK(pv_replica_close(r));

    char log[512];
    REQUIRE(find_file(dir, "log-", log, sizeof log));
    FILE *f = fopen(log, "r+b");
    REQUIRE(f != NULL);
    /* a byte inside the first of eleven records: a damaged middle, not a torn tail */
    REQUIRE(fseek(f, 40, SEEK_SET) == 0);
    int c = fgetc(f);
    REQUIRE(c != EOF);
    REQUIRE(fseek(f, 40, SEEK_SET) == 0);
    fputc(c ^ 0x5a, f);
    fclose(f);
    r = NULL;
    CHECK_STATUS(pv_replica_open(dir, PV_DURABILITY_SYNCED, &r), PV_CORRUPT);
    CHECK(r == NULL);
    CHECK(strstr(pv_last_error(), "log-") != NULL);
    CHECK(strstr(pv_last_error(), "damaged") != NULL);
    remove_tree(dir);
}

/* ---- sync over a lossy channel ---- */

#define MAX_MESSAGE 1500 /* an Ethernet frame; the smallest AWSet<int64> bound is about 1.5 KiB */
#define ROUND_MS 500
#define TICK_MS 100
#define PER_SIDE 200 /* a adds 0..199, b adds 1000..1199 */

/* A channel: messages in flight, delivered at the next tick in a shuffled order; a message
 * the faults duplicated is delivered twice. */
typedef struct {
    pv_bytes msg;
    int times;
} in_flight;

typedef struct {
    in_flight *msgs;
    size_t len, cap;
} channel;

static void channel_put(channel *c, pv_bytes m, int times) {
    if (c->len == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        in_flight *grown = realloc(c->msgs, c->cap * sizeof *c->msgs);
        REQUIRE(grown != NULL);
        c->msgs = grown;
    }
    c->msgs[c->len].msg = m;
    c->msgs[c->len].times = times;
    c->len++;
}

static void channel_clear(channel *c) {
    for (size_t i = 0; i < c->len; i++) pv_bytes_free(&c->msgs[i].msg);
    c->len = 0;
}

typedef struct {
    unsigned long sent, dropped, duplicated, oversized, delivered;
} faults;

/* Everything `s` has to send now, against `r`, into the lossy channel `c`. */
static void transmit(pv_sync *s, uint64_t now, const pv_replica *r, channel *c, faults *f) {
    for (;;) {
        pv_bytes m = {0};
        CHECK_OK(pv_sync_poll_transmit(s, now, r, &m));
        if (m.len == 0) break;
        f->sent++;
        if (m.len > MAX_MESSAGE) f->oversized++;
        uint32_t x = lcg() % 12;
        if (x < 4) { /* a third is lost */
            f->dropped++;
            pv_bytes_free(&m);
        } else if (x == 4) { /* some arrive twice */
            f->duplicated++;
            channel_put(c, m, 2);
        } else {
            channel_put(c, m, 1);
        }
    }
}

/* Delivers what is in flight to `s`, shuffled: joined into `r` through
 * pv_sync_handle_replica, or (via_bytes) through the delta's bytes and
 * pv_replica_apply_bytes. */
static void deliver(pv_sync *s, uint64_t now, pv_replica *r, channel *c, bool via_bytes,
                    faults *f) {
    for (size_t i = c->len; i > 1; i--) { /* Fisher-Yates */
        size_t j = lcg() % i;
        in_flight t = c->msgs[i - 1];
        c->msgs[i - 1] = c->msgs[j];
        c->msgs[j] = t;
    }
    for (size_t i = 0; i < c->len; i++) {
        for (int k = 0; k < c->msgs[i].times; k++) {
            const pv_bytes *m = &c->msgs[i].msg;
            f->delivered++;
            if (via_bytes) {
                pv_bytes d = {0};
                CHECK_OK(pv_sync_handle(s, now, m->data, m->len, &d));
                if (d.len != 0) CHECK_OK(pv_replica_apply_bytes(r, d.data, d.len));
                pv_bytes_free(&d);
            } else {
                CHECK_OK(pv_sync_handle_replica(s, now, m->data, m->len, r));
            }
        }
    }
    channel_clear(c);
}

/* The plain record of what was written: 1 when the element was added last, 0 when removed
 * (or never added). Elements 0..PER_SIDE-1 and 1000..1000+PER_SIDE-1. */
static int written_a[PER_SIDE], written_b[PER_SIDE];

static void add(pv_replica *r, pv_sync *s, int64_t elem, bool push) {
    pv_awset *delta = NULL;
    pv_written w;
    CHECK_OK(pv_replica_awset_add(r, pv_value_int64(elem), &delta, &w));
    CHECK(w.first != 0 && w.first == w.last);
    if (push) CHECK_OK(pv_sync_push_awset(s, delta));
    pv_awset_free(delta);
}

static void remove_elem(pv_replica *r, pv_sync *s, int64_t elem) {
    pv_awset *delta = NULL;
    CHECK_OK(pv_replica_awset_remove(r, pv_value_int64(elem), &delta, NULL));
    CHECK_OK(pv_sync_push_awset(s, delta));
    pv_awset_free(delta);
}

static bool same_digest(const pv_replica *a, const pv_replica *b) {
    uint8_t da[16], db[16];
    CHECK_OK(pv_replica_digest(a, da));
    CHECK_OK(pv_replica_digest(b, db));
    return memcmp(da, db, 16) == 0;
}

static void check_union(const pv_replica *r, const char *who) {
    size_t live = 0, len = 0, missing = 0, extra = 0;
    for (int i = 0; i < PER_SIDE; i++) {
        bool has = false;
        CHECK_OK(pv_replica_contains(r, pv_value_int64(i), &has));
        if (written_a[i] && !has) missing++;
        if (!written_a[i] && has) extra++;
        live += (size_t)written_a[i];
        CHECK_OK(pv_replica_contains(r, pv_value_int64(1000 + i), &has));
        if (written_b[i] && !has) missing++;
        if (!written_b[i] && has) extra++;
        live += (size_t)written_b[i];
    }
    CHECK_OK(pv_replica_len(r, &len));
    if (missing || extra || len != live) {
        fprintf(stderr, "%s: %zu missing, %zu extra, %zu held, %zu written\n", who, missing,
                extra, len, live);
    }
    CHECK(missing == 0 && extra == 0 && len == live);
}

static void test_sync(uint64_t seed) {
    lcg_state = seed;
    memset(written_a, 0, sizeof written_a);
    memset(written_b, 0, sizeof written_b);
    char da[64], db[64];
    make_tmp(da, sizeof da, "sync-a");
    make_tmp(db, sizeof db, "sync-b");
    pv_replica *a = NULL, *b = NULL;
    CHECK_OK(pv_replica_create(da, (const uint8_t *)"a", 1, PV_KIND_AWSET, PV_TYPE_INT64, 0,
                               PV_DURABILITY_GROUP, &a));
    CHECK_OK(pv_replica_create(db, (const uint8_t *)"b", 1, PV_KIND_AWSET, PV_TYPE_INT64, 0,
                               PV_DURABILITY_GROUP, &b));
    REQUIRE(a != NULL && b != NULL);
    pv_sync *sa = NULL, *sb = NULL; /* sa: a's machine for peer b; sb: b's for peer a */
    CHECK_OK(pv_sync_new(PV_KIND_AWSET, PV_TYPE_INT64, 0, MAX_MESSAGE, ROUND_MS, &sa));
    CHECK_OK(pv_sync_new(PV_KIND_AWSET, PV_TYPE_INT64, 0, MAX_MESSAGE, ROUND_MS, &sb));
    REQUIRE(sa != NULL && sb != NULL);
    uint64_t t0 = 0;
    CHECK_OK(pv_sync_poll_timeout(sa, &t0));
    CHECK(t0 == 0); /* a round is due at once */

    /* half of each side's writes happen before any sync, unpushed: anti-entropy finds them */
    for (int i = 0; i < PER_SIDE / 2; i++) {
        add(a, sa, i, false);
        written_a[i] = 1;
        add(b, sb, 1000 + i, false);
        written_b[i] = 1;
    }
    channel to_a = {0}, to_b = {0};
    faults f = {0};
    int converged_at = -1;
    const int ticks = 600;
    for (int tick = 0; tick < ticks; tick++) {
        uint64_t now = (uint64_t)tick * TICK_MS;
        /* the rest is written while syncing, pushed, and some removed again */
        if (tick < PER_SIDE / 2 / 5) {
            for (int k = 0; k < 5; k++) {
                int i = PER_SIDE / 2 + tick * 5 + k;
                add(a, sa, i, true);
                written_a[i] = 1;
                add(b, sb, 1000 + i, true);
                written_b[i] = 1;
            }
        }
        if (tick == 30) {
            for (int i = 0; i < PER_SIDE; i += 9) {
                remove_elem(a, sa, i);
                written_a[i] = 0;
                remove_elem(b, sb, 1000 + i);
                written_b[i] = 0;
            }
            CHECK_OK(pv_replica_sync(a)); /* group commit of the batch */
            CHECK_OK(pv_replica_sync(b));
        }
        transmit(sa, now, a, &to_b, &f);
        transmit(sb, now, b, &to_a, &f);
        deliver(sb, now, b, &to_b, true, &f);
        deliver(sa, now, a, &to_a, false, &f);
        if (tick > 30 && same_digest(a, b)) {
            converged_at = tick;
            break;
        }
    }
    if (converged_at < 0) fprintf(stderr, "seed %" PRIu64 ": no convergence\n", seed);
    CHECK(converged_at >= 0);
    CHECK(f.oversized == 0);
    CHECK(f.dropped > 0 && f.duplicated > 0);
    check_union(a, "a");
    check_union(b, "b");

    pv_sync_stats st;
    CHECK_OK(pv_sync_get_stats(sa, &st));
    CHECK(st.bad_messages == 0 && st.rounds > 0);
    CHECK(st.messages_out > 0 && st.bytes_out <= st.messages_out * MAX_MESSAGE);
    uint64_t due = 0;
    CHECK_OK(pv_sync_poll_timeout(sa, &due));
    CHECK(due > 0);
    bool idle = false;
    CHECK_OK(pv_sync_is_idle(sa, &idle));
    printf("seed %" PRIu64 ": converged at tick %d; %lu messages sent, %lu dropped, %lu "
           "duplicated\n",
           seed, converged_at, f.sent, f.dropped, f.duplicated);

    /* what converged survives: b reopened still holds the union */
    CHECK_OK(pv_replica_close(b));
    b = NULL;
    CHECK_OK(pv_replica_open(db, PV_DURABILITY_GROUP, &b));
    REQUIRE(b != NULL);
    check_union(b, "b reopened");
    CHECK(same_digest(a, b));

    channel_clear(&to_a);
    channel_clear(&to_b);
    free(to_a.msgs);
    free(to_b.msgs);
    pv_sync_free(sa);
    pv_sync_free(sb);
    pv_replica_free(a);
    pv_replica_free(b);
    remove_tree(da);
    remove_tree(db);
}

/* ---- corrupted messages are refused and change nothing ---- */

static void test_corrupt_message(void) {
    char da[64], db[64];
    make_tmp(da, sizeof da, "msg-a");
    make_tmp(db, sizeof db, "msg-b");
    pv_replica *a = NULL, *b = NULL;
    CHECK_OK(pv_replica_create(da, (const uint8_t *)"a", 1, PV_KIND_MVMAP, PV_TYPE_UTF8,
                               PV_TYPE_UTF8, PV_DURABILITY_BUFFERED, &a));
    CHECK_OK(pv_replica_create(db, (const uint8_t *)"b", 1, PV_KIND_MVMAP, PV_TYPE_UTF8,
                               PV_TYPE_UTF8, PV_DURABILITY_BUFFERED, &b));
    REQUIRE(a != NULL && b != NULL);
    CHECK_OK(pv_replica_mvmap_set(b, pv_value_utf8("mine"), pv_value_utf8("b"), NULL, NULL));
    pv_sync *sa = NULL, *sb = NULL;
    CHECK_OK(pv_sync_new(PV_KIND_MVMAP, PV_TYPE_UTF8, PV_TYPE_UTF8, 0, 0, &sa));
    CHECK_OK(pv_sync_new(PV_KIND_MVMAP, PV_TYPE_UTF8, PV_TYPE_UTF8, 0, 0, &sb));
    REQUIRE(sa != NULL && sb != NULL);

    pv_mvmap *delta = NULL;
    CHECK_OK(pv_replica_mvmap_set(a, pv_value_utf8("k"), pv_value_utf8("v"), &delta, NULL));
    CHECK_OK(pv_sync_push_mvmap(sa, delta));
    /* a delta of other types is refused at the push */
    pv_mvmap *other = NULL;
    CHECK_OK(pv_mvmap_new(PV_TYPE_INT64, PV_TYPE_INT64, (const uint8_t *)"x", 1, &other));
    CHECK_STATUS(pv_sync_push_mvmap(sa, other), PV_TYPE_MISMATCH);
    pv_mvmap_free(other);
    pv_mvmap_free(delta);
    pv_bytes m = {0};
    /* the first round's summary may come first: take the data message with the delta */
    for (int tries = 0; tries < 8; tries++) {
        CHECK_OK(pv_sync_poll_transmit(sa, 0, a, &m));
        REQUIRE(m.len > 0);
        if (m.len > 8 && m.data[4] == 2) break;
        pv_bytes_free(&m);
        m = (pv_bytes){0};
    }
    REQUIRE(m.len > 8 && m.data[4] == 2); /* a data message (type 2) */

    uint8_t before[16], after[16];
    CHECK_OK(pv_replica_digest(b, before));
    uint8_t *bad = malloc(m.len);
    REQUIRE(bad != NULL);
    /* a byte flipped at several places in the delta's bytes, the magic, a cut */
    size_t at[] = {0, 4, 5, m.len / 3, m.len / 2, m.len - 9, m.len - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        memcpy(bad, m.data, m.len);
        bad[at[i]] ^= 0x40;
        pv_status s = pv_sync_handle_replica(sb, 0, bad, m.len, b);
        if (s == PV_OK) fprintf(stderr, "a flip at byte %zu of %zu was accepted\n", at[i], m.len);
        CHECK(s == PV_DECODE_ERROR || s == PV_TYPE_MISMATCH);
        CHECK(pv_last_error()[0] != '\0');
        pv_bytes d = {0};
        s = pv_sync_handle(sb, 0, bad, m.len, &d);
        CHECK(s != PV_OK && d.data == NULL && d.len == 0);
    }
    CHECK_STATUS(pv_sync_handle_replica(sb, 0, m.data, m.len / 2, b), PV_DECODE_ERROR);
    CHECK_STATUS(pv_sync_handle_replica(sb, 0, (const uint8_t *)"PLS", 3, b), PV_DECODE_ERROR);
    CHECK_STATUS(pv_replica_apply_bytes(b, bad, m.len - 1), PV_DECODE_ERROR);
    CHECK_OK(pv_replica_digest(b, after));
    CHECK(memcmp(before, after, 16) == 0);
    bool has = true;
    CHECK_OK(pv_replica_contains(b, pv_value_utf8("k"), &has));
    CHECK(!has);
    pv_sync_stats st;
    CHECK_OK(pv_sync_get_stats(sb, &st));
    CHECK(st.bad_messages >= 2 * (sizeof at / sizeof at[0]) + 2);
    CHECK(st.deltas_in == 0);

    /* the message itself is accepted, and joins */
    CHECK_OK(pv_sync_handle_replica(sb, 0, m.data, m.len, b));
    CHECK_OK(pv_replica_contains(b, pv_value_utf8("k"), &has));
    CHECK(has);
    /* a bound too small for any message, and codes that name no type, are refused */
    pv_sync *tiny = NULL;
    CHECK_STATUS(pv_sync_new(PV_KIND_MVMAP, PV_TYPE_UTF8, PV_TYPE_UTF8, 16, 0, &tiny),
                 PV_INVALID_ARGUMENT);
    CHECK(tiny == NULL);
    CHECK_STATUS(pv_sync_new(PV_KIND_MVMAP, PV_TYPE_UTF8, 0, 0, 0, &tiny), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_sync_new(9, PV_TYPE_UTF8, PV_TYPE_UTF8, 0, 0, &tiny), PV_INVALID_ARGUMENT);
    CHECK_STATUS(pv_sync_handle_replica(NULL, 0, m.data, m.len, b), PV_INVALID_ARGUMENT);
    pv_bytes none = {0};
    CHECK_STATUS(pv_sync_poll_transmit(sa, 0, NULL, &none), PV_INVALID_ARGUMENT);
    CHECK(none.data == NULL && none.len == 0);

    free(bad);
    pv_bytes_free(&m);
    pv_sync_free(sa);
    pv_sync_free(sb);
    pv_replica_free(a);
    pv_replica_free(b);
    remove_tree(da);
    remove_tree(db);
}

/* ---- a bare state syncs with a replica ---- */

static void test_bare_state(void) {
    char dir[64];
    make_tmp(dir, sizeof dir, "bare");
    pv_replica *r = NULL;
    pv_pncounter *c = NULL;
    CHECK_OK(pv_replica_create(dir, (const uint8_t *)"r", 1, PV_KIND_PNCOUNTER, PV_TYPE_UTF8, 0,
                               PV_DURABILITY_GROUP, &r));
    CHECK_OK(pv_pncounter_new(PV_TYPE_UTF8, (const uint8_t *)"mem", 3, &c));
    REQUIRE(r != NULL && c != NULL);
    pv_sync *sr = NULL, *sc = NULL;
    CHECK_OK(pv_sync_new(PV_KIND_PNCOUNTER, PV_TYPE_UTF8, 0, 4096, ROUND_MS, &sr));
    CHECK_OK(pv_sync_new(PV_KIND_PNCOUNTER, PV_TYPE_UTF8, 0, 4096, ROUND_MS, &sc));
    REQUIRE(sr != NULL && sc != NULL);
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i % 4);
        pv_pncounter *d = NULL;
        CHECK_OK(pv_replica_pncounter_increment(r, pv_value_utf8(k), 3, &d, NULL));
        CHECK_OK(pv_sync_push_pncounter(sr, d));
        pv_pncounter_free(d);
        CHECK_OK(pv_pncounter_decrement(c, pv_value_utf8(k), 1, NULL));
    }
    bool done = false;
    for (int tick = 0; tick < 100 && !done; tick++) {
        uint64_t now = (uint64_t)tick * TICK_MS;
        pv_bytes m = {0};
        for (;;) {
            CHECK_OK(pv_sync_poll_transmit(sr, now, r, &m));
            if (m.len == 0) break;
            pv_bytes d = {0};
            CHECK_OK(pv_sync_handle(sc, now, m.data, m.len, &d));
            if (d.len) CHECK_OK(pv_pncounter_merge_bytes(c, d.data, d.len));
            pv_bytes_free(&d);
            pv_bytes_free(&m);
        }
        for (;;) {
            CHECK_OK(pv_sync_poll_transmit_pncounter(sc, now, c, &m));
            if (m.len == 0) break;
            CHECK_OK(pv_sync_handle_replica(sr, now, m.data, m.len, r));
            pv_bytes_free(&m);
        }
        uint8_t a[16], b[16];
        CHECK_OK(pv_replica_digest(r, a));
        CHECK_OK(pv_pncounter_digest(c, b));
        done = memcmp(a, b, 16) == 0;
    }
    CHECK(done);
    for (int i = 0; i < 4; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        int64_t v1 = 0, v2 = 0;
        CHECK_OK(pv_replica_pncounter_value(r, pv_value_utf8(k), &v1));
        CHECK_OK(pv_pncounter_value(c, pv_value_utf8(k), &v2));
        CHECK(v1 == 5 * 3 - 5 && v2 == v1);
    }
    pv_sync_free(sr);
    pv_sync_free(sc);
    pv_pncounter_free(c);
    CHECK_OK(pv_replica_close(r));
    remove_tree(dir);
}

int main(void) {
    test_durable();
    test_locked();
    test_corrupt_dir();
    for (uint64_t seed = 1; seed <= 3; seed++) test_sync(seed);
    test_corrupt_message();
    test_bare_state();
    return pv_check_report("test_replica");
}
