/* A tiny check harness shared by the C tests: CHECK counts and reports, the process exits
 * non-zero when any check failed. */
#ifndef PV_CHECK_H
#define PV_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pluriverse.h"

static unsigned long pv_checks_run = 0;
static unsigned long pv_checks_failed = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        pv_checks_run++;                                                                     \
        if (!(cond)) {                                                                       \
            pv_checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n", __FILE__,          \
                    __LINE__, #cond, pv_last_error());                                       \
        }                                                                                    \
    } while (0)

/* The call must return `want`; on PV_OK the last error must be empty, otherwise not. */
#define CHECK_STATUS(call, want)                                                             \
    do {                                                                                     \
        pv_status got_ = (call);                                                             \
        pv_checks_run++;                                                                     \
        const char *err_ = pv_last_error();                                                  \
        int ok_ = got_ == (pv_status)(want) &&                                               \
                  ((want) == PV_OK ? err_[0] == '\0' : err_[0] != '\0');                     \
        if (!ok_) {                                                                          \
            pv_checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (last error: \"%s\")\n",     \
                    __FILE__, __LINE__, #call, pv_status_str(got_), pv_status_str(want),     \
                    err_);                                                                   \
        }                                                                                    \
    } while (0)

#define CHECK_OK(call) CHECK_STATUS(call, PV_OK)

/* Aborts the test when the condition fails (for setup that later checks depend on). */
#define REQUIRE(cond)                                                                        \
    do {                                                                                     \
        int held_ = (cond) ? 1 : 0;                                                          \
        CHECK(held_ && #cond);                                                               \
        if (!held_) {                                                                        \
            fprintf(stderr, "%s:%d: cannot go on\n", __FILE__, __LINE__);                    \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static inline int pv_check_report(const char *name) {
    if (pv_checks_failed != 0) {
        fprintf(stderr, "%s: %lu of %lu checks FAILED\n", name, pv_checks_failed,
                pv_checks_run);
        return 1;
    }
    printf("%s: %lu checks passed\n", name, pv_checks_run);
    return 0;
}

/* xorshift64*: a fixed-seed generator so runs repeat exactly. */
static uint64_t pv_rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rng_next(void) {
    uint64_t x = pv_rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    pv_rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static inline uint64_t rng_below(uint64_t n) { return n == 0 ? 0 : rng_next() % n; }

#endif
