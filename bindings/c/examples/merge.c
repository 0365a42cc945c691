/* Merges two replicas' states, as two processes would: each replica writes locally, then
 * ships its whole state as bytes and the other merges them. Prints what converged.
 *
 *   gcc -I bindings/c/include bindings/c/examples/merge.c target/release/libpluriverse.a \
 *       -lpthread -ldl -lm -o merge && ./merge
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pluriverse.h"

/* Stops the program with the library's message when a call fails. */
static void ok(pv_status status, const char *what) {
    if (status != PV_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, pv_status_str(status), pv_last_error());
        exit(1);
    }
}

static void print_digest(const char *name, const uint8_t digest[16]) {
    printf("%-6s digest ", name);
    for (int i = 0; i < 16; i++) printf("%02x", digest[i]);
    printf("\n");
}

static void print_values(const pv_mvmap *m, const char *key) {
    pv_values *values = NULL;
    ok(pv_mvmap_get(m, pv_value_utf8(key), &values), "get");
    printf("%s =", key);
    for (size_t i = 0; i < pv_values_len(values); i++) {
        pv_value v;
        ok(pv_values_get(values, i, &v), "values_get");
        printf(" %" PRId64, v.int64);
    }
    printf("\n");
    pv_values_free(values);
}

int main(void) {
    pv_mvmap *paris = NULL, *tokyo = NULL;
    ok(pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, (const uint8_t *)"paris", 5, &paris), "new");
    ok(pv_mvmap_new(PV_TYPE_UTF8, PV_TYPE_INT64, (const uint8_t *)"tokyo", 5, &tokyo), "new");

    /* concurrent writes: the same key on both sides, and one key each */
    ok(pv_mvmap_set(paris, pv_value_utf8("temperature"), pv_value_int64(21), NULL), "set");
    ok(pv_mvmap_set(paris, pv_value_utf8("humidity"), pv_value_int64(60), NULL), "set");
    ok(pv_mvmap_set(tokyo, pv_value_utf8("temperature"), pv_value_int64(19), NULL), "set");
    ok(pv_mvmap_set(tokyo, pv_value_utf8("wind"), pv_value_int64(12), NULL), "set");

    /* each ships its whole state; the other merges it (twice does no harm) */
    pv_bytes from_paris = {0}, from_tokyo = {0};
    ok(pv_mvmap_to_bytes(paris, &from_paris), "to_bytes");
    ok(pv_mvmap_to_bytes(tokyo, &from_tokyo), "to_bytes");
    ok(pv_mvmap_merge_bytes(tokyo, from_paris.data, from_paris.len), "merge_bytes");
    ok(pv_mvmap_merge_bytes(paris, from_tokyo.data, from_tokyo.len), "merge_bytes");
    ok(pv_mvmap_merge_bytes(paris, from_tokyo.data, from_tokyo.len), "merge_bytes");
    printf("shipped %zu + %zu bytes\n", from_paris.len, from_tokyo.len);
    pv_bytes_free(&from_paris);
    pv_bytes_free(&from_tokyo);

    size_t keys = 0;
    ok(pv_mvmap_len(paris, &keys), "len");
    printf("keys: %zu\n", keys);
    print_values(paris, "temperature"); /* both concurrent values survive */
    print_values(paris, "humidity");
    print_values(paris, "wind");

    uint8_t dp[16], dt[16];
    ok(pv_mvmap_digest(paris, dp), "digest");
    ok(pv_mvmap_digest(tokyo, dt), "digest");
    print_digest("paris", dp);
    print_digest("tokyo", dt);
    int converged = memcmp(dp, dt, 16) == 0 && keys == 3;
    printf("%s\n", converged ? "converged" : "DIVERGED");

    pv_mvmap_free(paris);
    pv_mvmap_free(tokyo);
    return converged ? 0 : 1;
}
