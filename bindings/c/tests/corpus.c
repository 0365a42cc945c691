/* Runs the shared case corpus (every testdata/NAME.case; format in testdata/README.md) through the
 * C API. Arguments: directories (every *.case file in them, sorted) or .case files.
 * Prints one line per case; exits non-zero when any check fails or a line is not
 * understood. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pluriverse.h"

enum kind { K_NONE, K_MVMAP, K_AWSET, K_PNCOUNTER, K_LWW };

#define MAX_REPLICAS 32
#define MAX_TOKENS 64

typedef struct {
    char name[128];
    void *h; /* pv_mvmap, pv_awset, pv_pncounter or pv_lwwmap, by the case's kind */
    pv_bytes *outbox;
    size_t n_out, cap_out;
} replica;

typedef struct {
    const char *file;
    int line;
    char name[256];
    enum kind kind;
    pv_type key_type, value_type;
    replica r[MAX_REPLICAS];
    size_t n;
    unsigned long checks;
    bool failed;
} runner;

static unsigned long total_cases = 0, failed_cases = 0, total_checks = 0;
static bool broken = false; /* a failure outside any case */

static void fail(runner *c, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s:%d: %s: ", c->file, c->line, c->name[0] ? c->name : "(no case)");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    c->failed = true;
}

/* Checks a library call; on failure says which and why. */
static bool call_ok(runner *c, pv_status s, const char *what) {
    if (s == PV_OK) return true;
    fail(c, "%s failed: %s: %s", what, pv_status_str(s), pv_last_error());
    return false;
}

/* ---- the kinds behind one interface ----------------------------------------------------- */

static pv_status k_new(enum kind k, pv_type kt, pv_type vt, const char *name, void **out) {
    const uint8_t *n = (const uint8_t *)name;
    size_t len = strlen(name);
    switch (k) {
    case K_MVMAP: return pv_mvmap_new(kt, vt, n, len, (pv_mvmap **)out);
    case K_AWSET: return pv_awset_new(kt, n, len, (pv_awset **)out);
    case K_PNCOUNTER: return pv_pncounter_new(kt, n, len, (pv_pncounter **)out);
    case K_LWW: return pv_lwwmap_new(kt, vt, n, len, (pv_lwwmap **)out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static void k_free(enum kind k, void *h) {
    switch (k) {
    case K_MVMAP: pv_mvmap_free(h); break;
    case K_AWSET: pv_awset_free(h); break;
    case K_PNCOUNTER: pv_pncounter_free(h); break;
    case K_LWW: pv_lwwmap_free(h); break;
    default: break;
    }
}

static pv_status k_merge_bytes(enum kind k, void *h, const pv_bytes *b) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_merge_bytes(h, b->data, b->len);
    case K_AWSET: return pv_awset_merge_bytes(h, b->data, b->len);
    case K_PNCOUNTER: return pv_pncounter_merge_bytes(h, b->data, b->len);
    case K_LWW: return pv_lwwmap_merge_bytes(h, b->data, b->len);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_to_bytes(enum kind k, const void *h, pv_bytes *out) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_to_bytes(h, out);
    case K_AWSET: return pv_awset_to_bytes(h, out);
    case K_PNCOUNTER: return pv_pncounter_to_bytes(h, out);
    case K_LWW: return pv_lwwmap_to_bytes(h, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_context(enum kind k, const void *h, pv_bytes *out) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_context(h, out);
    case K_AWSET: return pv_awset_context(h, out);
    case K_PNCOUNTER: return pv_pncounter_context(h, out);
    case K_LWW: return pv_lwwmap_context(h, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_delta_since(enum kind k, const void *h, const pv_bytes *ctx, pv_bytes *out) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_delta_since(h, ctx->data, ctx->len, out);
    case K_AWSET: return pv_awset_delta_since(h, ctx->data, ctx->len, out);
    case K_PNCOUNTER: return pv_pncounter_delta_since(h, ctx->data, ctx->len, out);
    case K_LWW: return pv_lwwmap_delta_since(h, ctx->data, ctx->len, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_digest(enum kind k, const void *h, uint8_t out[16]) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_digest(h, out);
    case K_AWSET: return pv_awset_digest(h, out);
    case K_PNCOUNTER: return pv_pncounter_digest(h, out);
    case K_LWW: return pv_lwwmap_digest(h, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_len(enum kind k, const void *h, size_t *out) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_len(h, out);
    case K_AWSET: return pv_awset_len(h, out);
    case K_PNCOUNTER: return pv_pncounter_len(h, out);
    case K_LWW: return pv_lwwmap_len(h, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

static pv_status k_contains(enum kind k, const void *h, pv_value key, bool *out) {
    switch (k) {
    case K_MVMAP: return pv_mvmap_contains(h, key, out);
    case K_AWSET: return pv_awset_contains(h, key, out);
    case K_PNCOUNTER: return pv_pncounter_contains(h, key, out);
    case K_LWW: return pv_lwwmap_contains(h, key, out);
    default: return PV_INVALID_ARGUMENT;
    }
}

/* ---- parsing ------------------------------------------------------------------------------ */

static bool parse_type(const char *s, pv_type *out) {
    static const struct {
        const char *name;
        pv_type t;
    } types[] = {{"utf8", PV_TYPE_UTF8},   {"binary", PV_TYPE_BINARY},   {"int64", PV_TYPE_INT64},
                 {"uint64", PV_TYPE_UINT64}, {"float64", PV_TYPE_FLOAT64}, {"bool", PV_TYPE_BOOL}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(s, types[i].name) == 0) {
            *out = types[i].t;
            return true;
        }
    }
    return false;
}

static bool parse_u64(const char *s, uint64_t *out) {
    if (*s == '\0' || *s == '-' || *s == '+') return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = (uint64_t)v;
    return true;
}

static bool parse_i64(const char *s, int64_t *out) {
    if (*s == '\0' || *s == '+') return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return false;
    *out = (int64_t)v;
    return true;
}

/* The text `s` as a value of type `t` (borrowing `s` for text and bytes). */
static bool parse_value(const char *s, pv_type t, pv_value *out) {
    switch (t) {
    case PV_TYPE_UTF8: *out = pv_value_utf8(s); return true;
    case PV_TYPE_BINARY: *out = pv_value_binary(s, strlen(s)); return true;
    case PV_TYPE_INT64: {
        int64_t v;
        if (!parse_i64(s, &v)) return false;
        *out = pv_value_int64(v);
        return true;
    }
    case PV_TYPE_UINT64: {
        uint64_t v;
        if (!parse_u64(s, &v)) return false;
        *out = pv_value_uint64(v);
        return true;
    }
    case PV_TYPE_FLOAT64: {
        char *end;
        double v = strtod(s, &end);
        if (*s == '\0' || *end != '\0') return false;
        *out = pv_value_float64(v);
        return true;
    }
    case PV_TYPE_BOOL:
        if (strcmp(s, "true") == 0) *out = pv_value_bool(true);
        else if (strcmp(s, "false") == 0) *out = pv_value_bool(false);
        else return false;
        return true;
    default: return false;
    }
}

static bool values_equal(const pv_value *a, const pv_value *b) {
    if (a->tag != b->tag) return false;
    switch (a->tag) {
    case PV_TYPE_UTF8:
    case PV_TYPE_BINARY: return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
    case PV_TYPE_INT64: return a->int64 == b->int64;
    case PV_TYPE_UINT64: return a->uint64 == b->uint64;
    case PV_TYPE_FLOAT64: return a->float64 == b->float64 || (a->float64 != a->float64 && b->float64 != b->float64);
    case PV_TYPE_BOOL: return a->boolean == b->boolean;
    default: return false;
    }
}

static void describe(const pv_value *v, char *buf, size_t cap) {
    switch (v->tag) {
    case PV_TYPE_UTF8:
    case PV_TYPE_BINARY: snprintf(buf, cap, "%.*s", (int)v->len, (const char *)v->data); break;
    case PV_TYPE_INT64: snprintf(buf, cap, "%" PRId64, v->int64); break;
    case PV_TYPE_UINT64: snprintf(buf, cap, "%" PRIu64, v->uint64); break;
    case PV_TYPE_FLOAT64: snprintf(buf, cap, "%.17g", v->float64); break;
    case PV_TYPE_BOOL: snprintf(buf, cap, "%s", v->boolean ? "true" : "false"); break;
    default: snprintf(buf, cap, "(tag %u)", (unsigned)v->tag); break;
    }
}

/* ---- the case ----------------------------------------------------------------------------- */

static void reset(runner *c) {
    for (size_t i = 0; i < c->n; i++) {
        k_free(c->kind, c->r[i].h);
        for (size_t j = 0; j < c->r[i].n_out; j++) pv_bytes_free(&c->r[i].outbox[j]);
        free(c->r[i].outbox);
    }
    memset(c->r, 0, sizeof c->r);
    c->n = 0;
    c->kind = K_NONE;
    c->key_type = c->value_type = 0;
}

static replica *find(runner *c, const char *name) {
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->r[i].name, name) == 0) return &c->r[i];
    }
    fail(c, "unknown replica %s", name);
    return NULL;
}

/* A place for the next delta of `r`'s outbox. */
static pv_bytes *next_delta(replica *r) {
    if (r->n_out == r->cap_out) {
        size_t cap = r->cap_out ? 2 * r->cap_out : 8;
        pv_bytes *o = realloc(r->outbox, cap * sizeof *o);
        if (o == NULL) {
            perror("realloc");
            exit(2);
        }
        r->outbox = o;
        r->cap_out = cap;
    }
    pv_bytes *b = &r->outbox[r->n_out++];
    b->data = NULL;
    b->len = 0;
    return b;
}

static bool key_of(runner *c, const char *text, pv_value *out) {
    if (parse_value(text, c->key_type, out)) return true;
    fail(c, "bad key %s", text);
    return false;
}

static bool value_of(runner *c, const char *text, pv_value *out) {
    if (parse_value(text, c->value_type, out)) return true;
    fail(c, "bad value %s", text);
    return false;
}

static bool need(runner *c, size_t ntok, size_t min, size_t max, enum kind kind) {
    if (ntok < min || ntok > max) {
        fail(c, "wrong number of arguments");
        return false;
    }
    if (kind != K_NONE && c->kind != kind) {
        fail(c, "operation not for this kind");
        return false;
    }
    return true;
}

/* `<r> <op> ...` */
static void mutate(runner *c, char **t, size_t n) {
    replica *r = find(c, t[0]);
    if (r == NULL) return;
    const char *op = t[1];
    pv_value k, v;
    uint64_t x;
    if (strcmp(op, "set") == 0) {
        if (need(c, n, 4, 4, K_MVMAP) && key_of(c, t[2], &k) && value_of(c, t[3], &v))
            call_ok(c, pv_mvmap_set(r->h, k, v, next_delta(r)), "set");
    } else if (strcmp(op, "remove") == 0) {
        if (!need(c, n, 3, 3, K_NONE) || !key_of(c, t[2], &k)) return;
        if (c->kind == K_MVMAP) call_ok(c, pv_mvmap_remove(r->h, k, next_delta(r)), "remove");
        else if (c->kind == K_AWSET) call_ok(c, pv_awset_remove(r->h, k, next_delta(r)), "remove");
        else fail(c, "remove is for mvmap and awset");
    } else if (strcmp(op, "add") == 0) {
        if (need(c, n, 3, 3, K_AWSET) && key_of(c, t[2], &k))
            call_ok(c, pv_awset_add(r->h, k, next_delta(r)), "add");
    } else if (strcmp(op, "inc") == 0 || strcmp(op, "dec") == 0) {
        if (!need(c, n, 4, 4, K_PNCOUNTER) || !key_of(c, t[2], &k)) return;
        if (!parse_u64(t[3], &x)) {
            fail(c, "bad amount %s", t[3]);
            return;
        }
        if (op[0] == 'i') call_ok(c, pv_pncounter_increment(r->h, k, x, next_delta(r)), "inc");
        else call_ok(c, pv_pncounter_decrement(r->h, k, x, next_delta(r)), "dec");
    } else if (strcmp(op, "lset") == 0) {
        if (!need(c, n, 5, 5, K_LWW) || !key_of(c, t[2], &k) || !value_of(c, t[3], &v)) return;
        if (!parse_u64(t[4], &x)) {
            fail(c, "bad timestamp %s", t[4]);
            return;
        }
        call_ok(c, pv_lwwmap_set(r->h, k, v, x, next_delta(r)), "lset");
    } else if (strcmp(op, "lremove") == 0) {
        if (!need(c, n, 4, 4, K_LWW) || !key_of(c, t[2], &k)) return;
        if (!parse_u64(t[3], &x)) {
            fail(c, "bad timestamp %s", t[3]);
            return;
        }
        call_ok(c, pv_lwwmap_remove(r->h, k, x, next_delta(r)), "lremove");
    } else {
        fail(c, "unknown operation %s", op);
    }
}

static void expect(runner *c, char **t, size_t n) {
    if (n < 4) {
        fail(c, "expect needs a replica, a read and arguments");
        return;
    }
    replica *r = find(c, t[1]);
    if (r == NULL) return;
    const char *what = t[2];
    pv_value k;
    c->checks++;
    if (strcmp(what, "get") == 0) {
        if (!need(c, n, 4, MAX_TOKENS, K_MVMAP) || !key_of(c, t[3], &k)) return;
        pv_values *list = NULL;
        if (!call_ok(c, pv_mvmap_get(r->h, k, &list), "get")) return;
        size_t got = pv_values_len(list), want = n - 4;
        bool used[MAX_TOKENS] = {false};
        bool match = got == want;
        for (size_t i = 0; match && i < want; i++) {
            pv_value w;
            if (!value_of(c, t[4 + i], &w)) {
                match = false;
                break;
            }
            bool found = false;
            for (size_t j = 0; j < got && !found; j++) {
                pv_value g;
                if (!used[j] && pv_values_get(list, j, &g) == PV_OK && values_equal(&g, &w)) {
                    used[j] = found = true;
                }
            }
            match = found;
        }
        if (!match) {
            char buf[1024] = "", one[256];
            for (size_t j = 0; j < got; j++) {
                pv_value g;
                if (pv_values_get(list, j, &g) != PV_OK) continue;
                describe(&g, one, sizeof one);
                strncat(buf, " ", sizeof buf - strlen(buf) - 1);
                strncat(buf, one, sizeof buf - strlen(buf) - 1);
            }
            fail(c, "get %s: got%s", t[3], got ? buf : " nothing");
        }
        pv_values_free(list);
    } else if (strcmp(what, "lget") == 0) {
        if (!need(c, n, 5, 5, K_LWW) || !key_of(c, t[3], &k)) return;
        pv_values *list = NULL;
        if (!call_ok(c, pv_lwwmap_get(r->h, k, &list, NULL), "lget")) return;
        size_t got = pv_values_len(list);
        pv_value g, w;
        if (strcmp(t[4], "-") == 0) {
            if (got != 0) fail(c, "lget %s: expected absent, got %zu values", t[3], got);
        } else if (value_of(c, t[4], &w)) {
            if (got != 1 || pv_values_get(list, 0, &g) != PV_OK || !values_equal(&g, &w)) {
                char one[256] = "nothing";
                if (got == 1 && pv_values_get(list, 0, &g) == PV_OK) describe(&g, one, sizeof one);
                fail(c, "lget %s: expected %s, got %s", t[3], t[4], one);
            }
        }
        pv_values_free(list);
    } else if (strcmp(what, "contains") == 0) {
        if (!need(c, n, 5, 5, K_NONE) || !key_of(c, t[3], &k)) return;
        bool want = strcmp(t[4], "true") == 0, has = false;
        if (!want && strcmp(t[4], "false") != 0) {
            fail(c, "contains expects true or false");
            return;
        }
        if (call_ok(c, k_contains(c->kind, r->h, k, &has), "contains") && has != want)
            fail(c, "contains %s: expected %s", t[3], t[4]);
    } else if (strcmp(what, "value") == 0) {
        if (!need(c, n, 5, 5, K_PNCOUNTER) || !key_of(c, t[3], &k)) return;
        int64_t want, got = 0;
        if (!parse_i64(t[4], &want)) {
            fail(c, "bad number %s", t[4]);
            return;
        }
        if (call_ok(c, pv_pncounter_value(r->h, k, &got), "value") && got != want)
            fail(c, "value %s: expected %" PRId64 ", got %" PRId64, t[3], want, got);
    } else if (strcmp(what, "len") == 0) {
        if (!need(c, n, 4, 4, K_NONE)) return;
        uint64_t want;
        size_t got = 0;
        if (!parse_u64(t[3], &want)) {
            fail(c, "bad length %s", t[3]);
            return;
        }
        if (call_ok(c, k_len(c->kind, r->h, &got), "len") && got != want)
            fail(c, "len: expected %" PRIu64 ", got %zu", want, got);
    } else {
        fail(c, "unknown read %s", what);
    }
}

static void expect_digest(runner *c, char **t, size_t n) {
    if (!need(c, n, 3, 3, K_NONE)) return;
    replica *r = find(c, t[1]);
    if (r == NULL) return;
    c->checks++;
    uint8_t d[16];
    if (!call_ok(c, k_digest(c->kind, r->h, d), "digest")) return;
    char hex[33];
    for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    if (strlen(t[2]) != 32 || strncmp(hex, t[2], 32) != 0) {
        /* case-insensitive hex */
        bool same = strlen(t[2]) == 32;
        for (int i = 0; same && i < 32; i++) {
            char a = t[2][i];
            if (a >= 'A' && a <= 'F') a = (char)(a - 'A' + 'a');
            same = a == hex[i];
        }
        if (!same) fail(c, "digest of %s: expected %s, got %s", t[1], t[2], hex);
    }
}

static void expect_equal(runner *c, char **t, size_t n) {
    if (n < 3) {
        fail(c, "expect-equal needs two or more replicas");
        return;
    }
    replica *first = find(c, t[1]);
    if (first == NULL) return;
    c->checks++;
    uint8_t d0[16];
    pv_bytes b0 = {0};
    if (!call_ok(c, k_digest(c->kind, first->h, d0), "digest") ||
        !call_ok(c, k_to_bytes(c->kind, first->h, &b0), "to_bytes"))
        return;
    for (size_t i = 2; i < n; i++) {
        replica *r = find(c, t[i]);
        if (r == NULL) break;
        uint8_t d[16];
        pv_bytes b = {0};
        if (call_ok(c, k_digest(c->kind, r->h, d), "digest") && memcmp(d, d0, 16) != 0)
            fail(c, "digests of %s and %s differ", t[1], t[i]);
        if (call_ok(c, k_to_bytes(c->kind, r->h, &b), "to_bytes") &&
            (b.len != b0.len || memcmp(b.data, b0.data, b.len) != 0))
            fail(c, "state bytes of %s and %s differ", t[1], t[i]);
        pv_bytes_free(&b);
    }
    pv_bytes_free(&b0);
}

static void transfer(runner *c, char **t, size_t n) {
    const char *cmd = t[0];
    bool deliver = strcmp(cmd, "deliver") == 0;
    if (!need(c, n, deliver ? 4 : 3, deliver ? 4 : 3, K_NONE)) return;
    replica *from = find(c, t[1]), *to = find(c, t[2]);
    if (from == NULL || to == NULL) return;
    if (deliver) {
        uint64_t i;
        if (!parse_u64(t[3], &i) || i >= from->n_out) {
            fail(c, "%s has no delta %s (outbox holds %zu)", t[1], t[3], from->n_out);
            return;
        }
        call_ok(c, k_merge_bytes(c->kind, to->h, &from->outbox[i]), "deliver: merge_bytes");
    } else if (strcmp(cmd, "sync") == 0) {
        pv_bytes ctx = {0}, delta = {0};
        if (call_ok(c, k_context(c->kind, to->h, &ctx), "sync: context") &&
            call_ok(c, k_delta_since(c->kind, from->h, &ctx, &delta), "sync: delta_since"))
            call_ok(c, k_merge_bytes(c->kind, to->h, &delta), "sync: merge_bytes");
        pv_bytes_free(&ctx);
        pv_bytes_free(&delta);
    } else {
        pv_bytes all = {0};
        if (call_ok(c, k_to_bytes(c->kind, from->h, &all), "merge: to_bytes"))
            call_ok(c, k_merge_bytes(c->kind, to->h, &all), "merge: merge_bytes");
        pv_bytes_free(&all);
    }
}

static void finish(runner *c) {
    if (c->name[0] == '\0') return;
    total_cases++;
    total_checks += c->checks;
    if (c->failed) {
        failed_cases++;
        printf("FAIL %s\n", c->name);
    } else if (c->checks == 0) {
        failed_cases++;
        fprintf(stderr, "%s: case %s checks nothing\n", c->file, c->name);
        printf("FAIL %s\n", c->name);
    } else {
        printf("ok   %s (%lu checks)\n", c->name, c->checks);
    }
    reset(c);
    c->name[0] = '\0';
    c->failed = false;
    c->checks = 0;
}

static void run_line(runner *c, char **t, size_t n) {
    const char *cmd = t[0];
    if (strcmp(cmd, "case") == 0) {
        if (c->name[0] != '\0') {
            fail(c, "case without end");
            finish(c);
        }
        snprintf(c->name, sizeof c->name, "%s", n > 1 ? t[1] : "(unnamed)");
        return;
    }
    if (c->name[0] == '\0') {
        fprintf(stderr, "%s:%d: %s outside a case\n", c->file, c->line, cmd);
        broken = true;
        return;
    }
    if (strcmp(cmd, "end") == 0) {
        finish(c);
    } else if (strcmp(cmd, "kind") == 0) {
        if (n < 3 || n > 4) {
            fail(c, "kind needs a kind, a key type and maybe a value type");
            return;
        }
        c->kind = strcmp(t[1], "mvmap") == 0       ? K_MVMAP
                  : strcmp(t[1], "awset") == 0     ? K_AWSET
                  : strcmp(t[1], "pncounter") == 0 ? K_PNCOUNTER
                  : strcmp(t[1], "lww") == 0       ? K_LWW
                                                   : K_NONE;
        bool values = c->kind == K_MVMAP || c->kind == K_LWW;
        if (c->kind == K_NONE || !parse_type(t[2], &c->key_type) || (n == 4) != values ||
            (values && !parse_type(t[3], &c->value_type)))
            fail(c, "bad kind line");
    } else if (strcmp(cmd, "replicas") == 0) {
        if (c->kind == K_NONE) {
            fail(c, "replicas before kind");
            return;
        }
        for (size_t i = 1; i < n && c->n < MAX_REPLICAS; i++) {
            replica *r = &c->r[c->n];
            snprintf(r->name, sizeof r->name, "%s", t[i]);
            if (!call_ok(c, k_new(c->kind, c->key_type, c->value_type, t[i], &r->h), "new")) return;
            c->n++;
        }
    } else if (strcmp(cmd, "deliver") == 0 || strcmp(cmd, "sync") == 0 ||
               strcmp(cmd, "merge") == 0) {
        transfer(c, t, n);
    } else if (strcmp(cmd, "expect") == 0) {
        expect(c, t, n);
    } else if (strcmp(cmd, "expect-digest") == 0) {
        expect_digest(c, t, n);
    } else if (strcmp(cmd, "expect-equal") == 0) {
        expect_equal(c, t, n);
    } else if (n >= 2) {
        mutate(c, t, n);
    } else {
        fail(c, "unknown command %s", cmd);
    }
}

static void run_file(const char *path) {
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        broken = true;
        return;
    }
    runner c;
    memset(&c, 0, sizeof c);
    c.file = path;
    char line[8192];
    while (fgets(line, sizeof line, f) != NULL) {
        c.line++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fail(&c, "line too long");
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        char *tok[MAX_TOKENS];
        size_t n = 0;
        for (char *s = strtok(line, " "); s != NULL && n < MAX_TOKENS; s = strtok(NULL, " ")) tok[n++] = s;
        if (n == 0 || tok[0][0] == '#') continue;
        run_line(&c, tok, n);
    }
    if (c.name[0] != '\0') {
        fail(&c, "case without end at end of file");
        finish(&c);
    }
    reset(&c);
    fclose(f);
}

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        broken = true;
        return;
    }
    char **paths = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 5 && strcmp(e->d_name + len - 5, ".case") == 0) {
            char **p = realloc(paths, (n + 1) * sizeof *paths);
            char *path = malloc(strlen(dir) + len + 2);
            if (p == NULL || path == NULL) {
                perror("malloc");
                exit(2);
            }
            paths = p;
            sprintf(path, "%s/%s", dir, e->d_name);
            paths[n++] = path;
        }
    }
    closedir(d);
    if (n == 0) {
        fprintf(stderr, "%s: no .case files\n", dir);
        broken = true;
    }
    qsort(paths, n, sizeof *paths, by_name);
    for (size_t i = 0; i < n; i++) {
        printf("== %s\n", paths[i]);
        run_file(paths[i]);
        free(paths[i]);
    }
    free(paths);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE.case ...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) run_dir(argv[i]);
        else run_file(argv[i]);
    }
    if (failed_cases != 0 || broken || total_cases == 0) {
        fprintf(stderr, "corpus: %lu of %lu cases FAILED%s\n", failed_cases, total_cases,
                broken ? " (and some files could not be read)" : "");
        return 1;
    }
    printf("corpus: %lu cases, %lu checks passed\n", total_cases, total_checks);
    return 0;
}
